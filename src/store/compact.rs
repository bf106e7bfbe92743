//! `provisio db compact`: hands the pages freed by deletes and retention back to the file
//! system. redb reuses freed pages but never shrinks its file; this rewrites it in place.

use std::path::Path;

use redb::{Database, DatabaseError};

use super::{Store, StoreError};

/// The file's size before and after a compaction, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Before.
    pub before: u64,
    /// After.
    pub after: u64,
}

/// The most passes: each moves what it can towards the start of the file.
const MAX_PASSES: usize = 16;

impl Store {
    /// Compacts the database file at `path`, which must exist and which no process may
    /// have open (a running server holds it: [`StoreError::Locked`]). Nothing stored
    /// changes; an interrupted compaction leaves the database as it was.
    ///
    /// # Errors
    ///
    /// [`StoreError::Locked`], or a storage failure.
    pub fn compact(path: &Path) -> Result<Compacted, StoreError> {
        let size = |path: &Path| {
            std::fs::metadata(path)
                .map(|meta| meta.len())
                .map_err(|e| StoreError::Storage(Box::new(redb::Error::Io(e))))
        };
        let before = size(path)?;
        let mut db = Database::open(path).map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
                StoreError::Locked {
                    path: path.to_owned(),
                }
            }
            other => StoreError::Storage(Box::new(other.into())),
        })?;
        for _ in 0..MAX_PASSES {
            let moved = db
                .compact()
                .map_err(|e| StoreError::Storage(Box::new(e.into())))?;
            if !moved {
                break;
            }
        }
        drop(db);
        Ok(Compacted {
            before,
            after: size(path)?,
        })
    }
}
