//! The one source of new resource and entity ids, injected so that tests are deterministic.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ResourceId;

/// A source of new resource and entity ids. Shared across threads.
pub trait IdSource: Send + Sync + Debug {
    /// A new id, never returned before by this source.
    fn next_id(&self) -> ResourceId;
}

/// Random UUID v4 ids: what the server uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidIds;

impl IdSource for UuidIds {
    fn next_id(&self) -> ResourceId {
        ResourceId::new(uuid::Uuid::new_v4().to_string())
    }
}

/// Deterministic ids `{prefix}1`, `{prefix}2`, ... for tests and `explain`.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: String,
    /// Zero-padded to this many digits (0: no padding).
    width: usize,
    next: AtomicU64,
}

impl SequentialIds {
    /// Ids `{prefix}1`, `{prefix}2`, ...
    pub fn new(prefix: impl Into<String>) -> SequentialIds {
        SequentialIds {
            prefix: prefix.into(),
            width: 0,
            next: AtomicU64::new(1),
        }
    }

    /// UUID-shaped ids `00000000-0000-4000-8000-000000000001`, `...002`, ...
    pub fn uuid_shaped() -> SequentialIds {
        SequentialIds {
            width: 12,
            ..SequentialIds::new("00000000-0000-4000-8000-")
        }
    }
}

impl Default for SequentialIds {
    fn default() -> Self {
        SequentialIds::uuid_shaped()
    }
}

impl IdSource for SequentialIds {
    fn next_id(&self) -> ResourceId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        ResourceId::new(format!("{}{n:0width$}", self.prefix, width = self.width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_distinct() {
        let ids = SequentialIds::default();
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000001");
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000002");
        let ids = SequentialIds::new("new-");
        assert_eq!(ids.next_id(), "new-1");
        assert_eq!(ids.next_id(), "new-2");
    }

    #[test]
    fn uuids_are_distinct() {
        assert_ne!(UuidIds.next_id(), UuidIds.next_id());
    }
}
