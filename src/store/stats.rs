//! What the database file holds, table by table: rows and bytes (stored, B-tree metadata,
//! fragmentation), for `provisio db stats` and the load generator's bytes per user.

use redb::ReadableTableMetadata;
use serde::Serialize;

use super::{Store, StoreError};

/// One table's share of the file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableUsage {
    /// The table's name.
    pub name: String,
    /// Its rows (for a multimap table: its keys' values, each counted).
    pub rows: u64,
    /// Bytes of keys and values in its leaves.
    pub stored: u64,
    /// Bytes of B-tree structure (branch pages, headers).
    pub metadata: u64,
    /// Bytes of its pages left unused.
    pub fragmented: u64,
}

impl TableUsage {
    /// Every byte the table occupies.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.stored + self.metadata + self.fragmented
    }
}

/// The whole file's usage.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// Every table, largest first.
    pub tables: Vec<TableUsage>,
    /// The file's size on disk.
    pub file_bytes: u64,
}

impl Usage {
    /// Bytes in all tables.
    #[must_use]
    pub fn in_tables(&self) -> u64 {
        self.tables.iter().map(TableUsage::total).sum()
    }

    /// One table's usage, by name.
    #[must_use]
    pub fn table(&self, name: &str) -> Option<&TableUsage> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl Store {
    /// Rows and bytes per table, read from one snapshot.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the file cannot be read.
    pub fn usage(&self, file_bytes: u64) -> Result<Usage, StoreError> {
        let txn = self.db.begin_read()?;
        let mut tables = Vec::new();
        for handle in txn.list_tables()? {
            let table = txn.open_untyped_table(handle)?;
            tables.push(usage_of(redb::TableHandle::name(&table), &table)?);
        }
        for handle in txn.list_multimap_tables()? {
            let table = txn.open_untyped_multimap_table(handle)?;
            tables.push(usage_of(redb::MultimapTableHandle::name(&table), &table)?);
        }
        tables.sort_by(|a, b| b.total().cmp(&a.total()).then(a.name.cmp(&b.name)));
        Ok(Usage { tables, file_bytes })
    }
}

/// The usage of one table, plain or multimap, named `name`.
fn usage_of(name: &str, table: &impl ReadableTableMetadata) -> Result<TableUsage, StoreError> {
    let rows = table.len()?;
    let stats = table.stats()?;
    Ok(TableUsage {
        name: name.to_owned(),
        rows,
        stored: stats.stored_bytes(),
        metadata: stats.metadata_bytes(),
        fragmented: stats.fragmented_bytes(),
    })
}
