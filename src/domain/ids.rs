//! The one source of new resource and entity ids, injected so that tests are deterministic.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ResourceId;

/// A source of new resource and entity ids. Shared across threads.
pub trait IdSource: Send + Sync + Debug {
    /// A new id, never returned before by this source.
    fn next_id(&self) -> ResourceId;
}

/// Time-ordered UUID v7 ids (RFC 9562): what the server uses. Ids made one after the
/// other sort one after the other, so a batch of creates lands in the last leaf pages of
/// the resource and entity tables instead of dirtying one random page each; the rest of an
/// id (74 bits) is random, so ids stay unguessable.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidIds;

impl IdSource for UuidIds {
    fn next_id(&self) -> ResourceId {
        ResourceId::new(uuid::Uuid::now_v7().to_string())
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
    fn uuids_are_distinct_version_7_and_in_order() {
        let ids: Vec<ResourceId> = (0..1000).map(|_| UuidIds.next_id()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0].as_str() < pair[1].as_str(), "{pair:?}");
        }
        let parsed = uuid::Uuid::parse_str(ids[0].as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }
}
