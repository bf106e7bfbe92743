//! The open database, and the read snapshot shared by the requests that start between two
//! commits.
//!
//! A read transaction costs more than its lookups: `begin_read` registers it, and every
//! table it reads is found by name in the table tree and opened. Between two commits every
//! new read transaction would see the same state, so [`Db::snapshot`] hands out one
//! [`Snapshot`] until the next commit, with the tables it has opened kept open.
//!
//! Read-your-writes: every write transaction is a [`WriteTxn`] (the [`Database`] is not
//! reachable otherwise), and its [`commit`](WriteTxn::commit) retires the shared snapshot
//! before it returns, so before any write is acknowledged. A request that starts after that
//! takes a snapshot begun after the commit. A snapshot begun while a commit was finishing
//! is used by its request but not shared ([`Db::snapshot`] checks the commit count).
//!
//! Retiring at each commit also keeps a shared snapshot from holding pages: redb reuses
//! the pages a commit frees only once no read transaction older than the commit is alive,
//! and a retired snapshot lives only as long as the requests already using it.

use std::any::Any;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use redb::{
    Builder, CommitError, Database, DatabaseError, Key, MultimapTableDefinition,
    MultimapTableHandle, ReadOnlyMultimapTable, ReadOnlyTable, ReadTransaction, ReadableDatabase,
    StorageError, TableDefinition, TableError, TableHandle, TransactionError, Value as RedbValue,
    WriteTransaction,
};

/// The database file, open. Write transactions are [`WriteTxn`]s; reads are fresh
/// transactions ([`Db::begin_read`]) or the shared [`Snapshot`].
#[derive(Debug)]
pub(crate) struct Db {
    database: Database,
    /// Commits made through this handle, each counted once it has returned.
    commits: AtomicU64,
    /// The snapshot shared until the next commit, with the commit count it was begun at.
    shared: Mutex<Option<(u64, Arc<Snapshot>)>>,
}

impl Db {
    /// Opens (or creates) the database at `path` with `builder`'s settings.
    pub(crate) fn create(builder: &Builder, path: &Path) -> Result<Db, DatabaseError> {
        Ok(Db {
            database: builder.create(path)?,
            commits: AtomicU64::new(0),
            shared: Mutex::new(None),
        })
    }

    /// A write transaction whose commit retires the shared snapshot.
    pub(crate) fn begin_write(self: &Arc<Db>) -> Result<WriteTxn, TransactionError> {
        Ok(WriteTxn {
            txn: self.database.begin_write()?,
            db: Arc::clone(self),
        })
    }

    /// A read transaction of its own (for reads outside a request: stats, checks, scans).
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, TransactionError> {
        self.database.begin_read()
    }

    /// The snapshot of the last commit, shared with every request that takes it before
    /// the next commit.
    pub(crate) fn snapshot(&self) -> Result<Arc<Snapshot>, TransactionError> {
        let commits = self.commits.load(Ordering::Acquire);
        if let Some((at, snapshot)) = self.slot().as_ref()
            && *at == commits
        {
            return Ok(Arc::clone(snapshot));
        }
        let snapshot = Arc::new(Snapshot::new(self.database.begin_read()?));
        self.share(commits, &snapshot);
        Ok(snapshot)
    }

    /// Shares `snapshot`, begun after `commits` commits had returned, unless another
    /// commit has returned since: it may have begun before that one.
    fn share(&self, commits: u64, snapshot: &Arc<Snapshot>) {
        let retired = {
            let mut slot = self.slot();
            if self.commits.load(Ordering::Acquire) == commits {
                slot.replace((commits, Arc::clone(snapshot)))
            } else {
                None
            }
        };
        drop(retired);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(u64, Arc<Snapshot>)>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A commit returned: the shared snapshot no longer shows the last state.
    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::AcqRel);
        let retired = self.slot().take();
        // The retired snapshot closes here unless a request still reads it.
        drop(retired);
    }
}

/// A write transaction of a [`Db`]: redb's, with a commit that retires the shared snapshot.
pub(crate) struct WriteTxn {
    txn: WriteTransaction,
    db: Arc<Db>,
}

impl WriteTxn {
    /// Commits (durably, unless the durability was lowered), then retires the shared
    /// snapshot; a read that starts once this has returned sees the commit.
    pub(crate) fn commit(self) -> Result<(), CommitError> {
        let WriteTxn { txn, db } = self;
        let result = txn.commit();
        // A failed commit may still have reached the file: retire either way.
        db.committed();
        result
    }

    /// Discards every write (the same as dropping the transaction).
    pub(crate) fn abort(self) -> Result<(), StorageError> {
        self.txn.abort()
    }
}

impl Deref for WriteTxn {
    type Target = WriteTransaction;

    fn deref(&self) -> &WriteTransaction {
        &self.txn
    }
}

impl DerefMut for WriteTxn {
    fn deref_mut(&mut self) -> &mut WriteTransaction {
        &mut self.txn
    }
}

/// The tables a snapshot keeps open once read: those a SCIM request reads.
const KEPT_TABLES: [&str; 10] = [
    "tenants",
    "resources",
    "resource_counts",
    "entities",
    "user_names",
    "external_ids",
    "group_names",
    "entity_unique_keys",
    "unmanaged_entities",
    "password_hashes",
];

/// The multimap tables a snapshot keeps open once read.
const KEPT_MULTIMAPS: [&str; 3] = ["members", "member_of", "pending_refs"];

/// An opened table, typed ([`ReadOnlyTable`] or [`ReadOnlyMultimapTable`]).
type Opened = Box<dyn Any + Send + Sync>;

/// A read transaction with the tables it has read kept open.
pub(crate) struct Snapshot {
    txn: ReadTransaction,
    tables: [OnceLock<Opened>; KEPT_TABLES.len()],
    multimaps: [OnceLock<Opened>; KEPT_MULTIMAPS.len()],
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

/// A table of a transaction: kept open by a [`Snapshot`], or opened for one query.
pub(crate) enum Tab<'a, T> {
    /// Kept open by the snapshot.
    Kept(&'a T),
    /// Opened for this query.
    Own(T),
}

impl<T> Deref for Tab<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Tab::Kept(table) => table,
            Tab::Own(table) => table,
        }
    }
}

impl Snapshot {
    fn new(txn: ReadTransaction) -> Snapshot {
        Snapshot {
            txn,
            tables: std::array::from_fn(|_| OnceLock::new()),
            multimaps: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// A table, opened once for the snapshot when it is one of [`KEPT_TABLES`].
    pub(crate) fn table<K: Key + Send + Sync + 'static, V: RedbValue + Send + Sync + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Tab<'_, ReadOnlyTable<K, V>>, TableError> {
        let Some(at) = KEPT_TABLES.iter().position(|name| *name == def.name()) else {
            return self.txn.open_table(def).map(Tab::Own);
        };
        kept(&self.tables[at], || self.txn.open_table(def))
    }

    /// A multimap table, opened once for the snapshot when it is one of [`KEPT_MULTIMAPS`].
    pub(crate) fn multimap<K: Key + Send + Sync + 'static, V: Key + Send + Sync + 'static>(
        &self,
        def: MultimapTableDefinition<'_, K, V>,
    ) -> Result<Tab<'_, ReadOnlyMultimapTable<K, V>>, TableError> {
        let Some(at) = KEPT_MULTIMAPS.iter().position(|name| *name == def.name()) else {
            return self.txn.open_multimap_table(def).map(Tab::Own);
        };
        kept(&self.multimaps[at], || self.txn.open_multimap_table(def))
    }
}

/// The table kept in `cell`, opened by `open` the first time. A table of other types
/// under a kept name (none is defined so) is opened for the one query.
fn kept<T: Any + Send + Sync>(
    cell: &OnceLock<Opened>,
    open: impl Fn() -> Result<T, TableError>,
) -> Result<Tab<'_, T>, TableError> {
    let opened = if let Some(opened) = cell.get() {
        opened
    } else {
        let table = open()?;
        // Two requests may open it at once: one is kept, the other dropped.
        let _ = cell.set(Box::new(table));
        cell.get().expect("set above")
    };
    match opened.downcast_ref::<T>() {
        Some(table) => Ok(Tab::Kept(table)),
        None => open().map(Tab::Own),
    }
}

#[cfg(test)]
mod tests {
    use redb::TableDefinition;

    use super::*;

    const T: TableDefinition<&str, u64> = TableDefinition::new("resources");
    const OTHER: TableDefinition<&str, u64> = TableDefinition::new("not_kept");

    fn db(dir: &Path) -> Arc<Db> {
        let db = Arc::new(Db::create(&Database::builder(), &dir.join("db.redb")).unwrap());
        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("a", 1).unwrap();
        txn.open_table(OTHER).unwrap().insert("a", 1).unwrap();
        txn.commit().unwrap();
        db
    }

    fn read(snapshot: &Snapshot, def: TableDefinition<&str, u64>) -> Option<u64> {
        let table = snapshot.table(def).unwrap();
        table.get("a").unwrap().map(|v| v.value())
    }

    #[test]
    fn a_snapshot_is_shared_until_a_commit_and_the_next_one_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let first = db.snapshot().unwrap();
        assert!(Arc::ptr_eq(&first, &db.snapshot().unwrap()));
        assert_eq!(read(&first, T), Some(1));

        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("a", 2).unwrap();
        txn.commit().unwrap();

        let second = db.snapshot().unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(read(&second, T), Some(2));
        // The one taken before the commit still reads its own state.
        assert_eq!(read(&first, T), Some(1));
        assert!(Arc::ptr_eq(&second, &db.snapshot().unwrap()));
    }

    #[test]
    fn an_aborted_or_dropped_write_keeps_the_shared_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let first = db.snapshot().unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("a", 3).unwrap();
        txn.abort().unwrap();
        drop(db.begin_write().unwrap());
        assert!(Arc::ptr_eq(&first, &db.snapshot().unwrap()));
        assert_eq!(read(&db.snapshot().unwrap(), T), Some(1));
    }

    #[test]
    fn a_kept_table_is_opened_once_and_another_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let snapshot = db.snapshot().unwrap();
        let (a, b) = (snapshot.table(T).unwrap(), snapshot.table(T).unwrap());
        assert!(matches!((&a, &b), (Tab::Kept(x), Tab::Kept(y)) if std::ptr::eq(*x, *y)));
        assert!(matches!(snapshot.table(OTHER).unwrap(), Tab::Own(_)));
        assert_eq!(read(&snapshot, OTHER), Some(1));
        // The same name with other types is opened for the query (and refused by redb).
        let typed: TableDefinition<&str, &str> = TableDefinition::new("resources");
        assert!(snapshot.table(typed).is_err());
    }

    #[test]
    fn a_snapshot_begun_before_a_commit_returned_is_not_shared() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let counted = db.commits.load(Ordering::Acquire);
        let early = Arc::new(Snapshot::new(db.begin_read().unwrap()));
        let txn = db.begin_write().unwrap();
        txn.open_table(T).unwrap().insert("a", 4).unwrap();
        txn.commit().unwrap();
        db.share(counted, &early);
        assert!(db.slot().is_none());
        let fresh = db.snapshot().unwrap();
        assert!(!Arc::ptr_eq(&early, &fresh));
        assert_eq!(read(&fresh, T), Some(4));
        // Shared when no commit came between.
        db.share(db.commits.load(Ordering::Acquire), &early);
        assert!(Arc::ptr_eq(&early, &db.snapshot().unwrap()));
    }
}
