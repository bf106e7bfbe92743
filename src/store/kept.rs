//! The tables a [`TenantWrite`](super::TenantWrite) keeps open for its whole transaction.
//!
//! Opening a table in a redb write transaction looks its name up in the table tree: a
//! create opened ~15 tables, one at a time, and those opens were 14% of the writer thread's
//! time. A write transaction now opens the tables writes touch once, when it begins, and
//! every write and every query of the transaction goes through them (redb refuses a second
//! open of a table that is open, so nothing may open them beside these).

use redb::Value as RedbValue;
use redb::{Key, MultimapTable, MultimapTableHandle, Table, TableError, TableHandle};

use super::db::WriteTxn;
use super::tables::{
    ENTITIES, EXTERNAL_IDS, GROUP_NAMES, HISTORY, LOG, MEMBER_OF, MEMBERS, OUTBOX, PENDING,
    RESOURCE_COUNTS, RESOURCES, TENANTS, UNIQUE_KEYS, USER_NAMES,
};

type S = &'static str;

/// The kept tables of one write transaction, and the transaction for the others.
pub(crate) struct Kept<'t> {
    pub(crate) txn: &'t WriteTxn,
    pub(crate) tenants: Table<'t, S, &'static [u8]>,
    pub(crate) resources: Table<'t, (S, S, S), &'static [u8]>,
    pub(crate) resource_counts: Table<'t, (S, S), u64>,
    pub(crate) entities: Table<'t, (S, S), &'static [u8]>,
    pub(crate) user_names: Table<'t, S, (S, S)>,
    pub(crate) external_ids: Table<'t, (S, S, S), S>,
    pub(crate) group_names: Table<'t, (S, S), S>,
    pub(crate) unique_keys: Table<'t, (S, S, S, S), S>,
    pub(crate) outbox: Table<'t, (S, u64), S>,
    pub(crate) history: Table<'t, (S, u64), &'static [u8]>,
    pub(crate) log: Table<'t, (S, u64), &'static [u8]>,
    pub(crate) members: MultimapTable<'t, (S, S), S>,
    pub(crate) member_of: MultimapTable<'t, (S, S), S>,
    pub(crate) pending: MultimapTable<'t, (S, S, S), (S, S, S)>,
}

impl<'t> Kept<'t> {
    /// Opens every kept table of `txn`.
    pub(crate) fn open(txn: &'t WriteTxn) -> Result<Kept<'t>, TableError> {
        Ok(Kept {
            txn,
            tenants: txn.open_table(TENANTS)?,
            resources: txn.open_table(RESOURCES)?,
            resource_counts: txn.open_table(RESOURCE_COUNTS)?,
            entities: txn.open_table(ENTITIES)?,
            user_names: txn.open_table(USER_NAMES)?,
            external_ids: txn.open_table(EXTERNAL_IDS)?,
            group_names: txn.open_table(GROUP_NAMES)?,
            unique_keys: txn.open_table(UNIQUE_KEYS)?,
            outbox: txn.open_table(OUTBOX)?,
            history: txn.open_table(HISTORY)?,
            log: txn.open_table(LOG)?,
            members: txn.open_multimap_table(MEMBERS)?,
            member_of: txn.open_multimap_table(MEMBER_OF)?,
            pending: txn.open_multimap_table(PENDING)?,
        })
    }
}

/// The key and value types of tables: for each, which kept table (by name) has them. A
/// table read through a [`Txn`](super::query::Txn) must have its types listed here; one of
/// those types that is not kept is opened for the query.
pub(crate) trait KeptTable<K: Key + 'static, V: RedbValue + 'static> {
    /// The kept table called `name`, if it is one of these types.
    fn kept<'a, 't>(kept: &'a Kept<'t>, name: &str) -> Option<&'a Table<'t, K, V>>;
    /// The same, to write.
    fn kept_mut<'a, 't>(kept: &'a mut Kept<'t>, name: &str) -> Option<&'a mut Table<'t, K, V>>;
}

/// [`KeptTable`] for multimaps.
pub(crate) trait KeptMultimap<K: Key + 'static, V: Key + 'static> {
    /// The kept multimap called `name`, if it is one of these types.
    fn kept<'a, 't>(kept: &'a Kept<'t>, name: &str) -> Option<&'a MultimapTable<'t, K, V>>;
    /// The same, to write.
    fn kept_mut<'a, 't>(
        kept: &'a mut Kept<'t>,
        name: &str,
    ) -> Option<&'a mut MultimapTable<'t, K, V>>;
}

/// The implementor of [`KeptTable`] and [`KeptMultimap`].
pub(crate) struct Types;

/// `KeptTable<K, V> for Types`: the kept fields of those types, found by name.
macro_rules! kept_types {
    ($trait:ident, $table:ident: $($k:ty, $v:ty => [$($field:ident),*];)*) => {
        $(
            impl $trait<$k, $v> for Types {
                fn kept<'a, 't>(kept: &'a Kept<'t>, name: &str) -> Option<&'a $table<'t, $k, $v>> {
                    $(
                        if name == kept.$field.name() {
                            return Some(&kept.$field);
                        }
                    )*
                    let _ = (kept, name);
                    None
                }

                fn kept_mut<'a, 't>(
                    kept: &'a mut Kept<'t>,
                    name: &str,
                ) -> Option<&'a mut $table<'t, $k, $v>> {
                    $(
                        if name == kept.$field.name() {
                            return Some(&mut kept.$field);
                        }
                    )*
                    let _ = (kept, name);
                    None
                }
            }
        )*
    };
}

kept_types! { KeptTable, Table:
    S, &'static [u8] => [tenants];
    (S, S, S), &'static [u8] => [resources];
    (S, S), u64 => [resource_counts];
    (S, S), &'static [u8] => [entities];
    S, (S, S) => [user_names];
    (S, S, S), S => [external_ids];
    (S, S), S => [group_names];
    (S, S, S, S), S => [unique_keys];
    (S, u64), S => [outbox];
    (S, u64), &'static [u8] => [history, log];
}

kept_types! { KeptMultimap, MultimapTable:
    (S, S), S => [members, member_of];
    (S, S, S), (S, S, S) => [pending];
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use redb::{Database, ReadableTable, TableDefinition};

    use super::*;
    use crate::store::db::Db;
    use crate::store::query::Txn;
    use crate::store::tables::{KEY_IDS, OVERLAY_META, PASSWORD_HASHES, UNMANAGED};

    fn db(dir: &std::path::Path) -> Arc<Db> {
        Arc::new(Db::create(&Database::builder(), &dir.join("db.redb")).unwrap())
    }

    fn is_kept<K: Key + Send + Sync + 'static, V: RedbValue + Send + Sync + 'static>(
        kept: &Kept<'_>,
        def: TableDefinition<'_, K, V>,
    ) -> bool
    where
        Types: KeptTable<K, V>,
    {
        matches!(kept.table(def).unwrap(), super::super::db::Tab::Kept(_))
    }

    #[test]
    fn each_kept_table_answers_under_its_name_and_a_table_of_the_same_types_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let txn = db.begin_write().unwrap();
        let kept = Kept::open(&txn).unwrap();
        assert!(is_kept(&kept, TENANTS));
        assert!(is_kept(&kept, RESOURCES));
        assert!(is_kept(&kept, RESOURCE_COUNTS));
        assert!(is_kept(&kept, ENTITIES));
        assert!(is_kept(&kept, USER_NAMES));
        assert!(is_kept(&kept, EXTERNAL_IDS));
        assert!(is_kept(&kept, GROUP_NAMES));
        assert!(is_kept(&kept, UNIQUE_KEYS));
        assert!(is_kept(&kept, OUTBOX));
        assert!(is_kept(&kept, HISTORY));
        assert!(is_kept(&kept, LOG));
        // Same key and value types as kept ones, other names: opened for the query.
        assert!(!is_kept(&kept, UNMANAGED));
        assert!(!is_kept(&kept, PASSWORD_HASHES));
        assert!(!is_kept(&kept, KEY_IDS));
        assert!(!is_kept(&kept, OVERLAY_META));
        for def in [MEMBERS, MEMBER_OF] {
            let table = kept.multimap(def).unwrap();
            assert!(matches!(table, super::super::db::Tab::Kept(_)));
        }
        assert!(matches!(
            kept.multimap(PENDING).unwrap(),
            super::super::db::Tab::Kept(_)
        ));
    }

    #[test]
    fn a_kept_table_reads_its_own_writes_and_they_are_committed_when_the_tables_close() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let txn = db.begin_write().unwrap();
        {
            let mut kept = Kept::open(&txn).unwrap();
            kept.outbox.insert(("a", 1), "one").unwrap();
            <Types as KeptTable<(S, u64), &[u8]>>::kept_mut(&mut kept, "provisioning_log")
                .unwrap()
                .insert(("a", 1), b"log".as_slice())
                .unwrap();
            assert!(<Types as KeptTable<(S, u64), &[u8]>>::kept_mut(&mut kept, "outbox").is_none());
            assert!(
                <Types as KeptMultimap<(S, S), S>>::kept_mut(&mut kept, "pending_refs").is_none()
            );
            let outbox = kept.table(OUTBOX).unwrap();
            assert_eq!(outbox.get(("a", 1)).unwrap().unwrap().value(), "one");
            // A table that is not kept is opened and closed for the query, beside the kept.
            let unmanaged = kept.table(UNMANAGED).unwrap();
            assert!(unmanaged.get(("a", "User", "x")).unwrap().is_none());
        }
        txn.commit().unwrap();
        let snapshot = db.snapshot().unwrap();
        let outbox = snapshot.table(OUTBOX).unwrap();
        assert_eq!(outbox.get(("a", 1)).unwrap().unwrap().value(), "one");
        let log = snapshot.table(LOG).unwrap();
        assert_eq!(log.get(("a", 1)).unwrap().unwrap().value(), b"log");
    }
}
