//! The store's error type.

use std::path::PathBuf;

use crate::domain::StateError;

/// Everything a store operation can fail with. Storage failures are wrapped; the others
/// are situations a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (normally a running `provisio serve`) holds the database open.
    #[error(
        "the database {} is in use by a running server (`provisio serve`); stop the server first (Ctrl-C or SIGTERM lets it finish in-flight requests), then run this command again",
        path.display()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// No tenant of this name.
    #[error("unknown tenant `{0}`")]
    UnknownTenant(String),
    /// `create_tenant` with a name that exists.
    #[error("tenant `{0}` already exists")]
    TenantExists(String),
    /// A tenant name outside `[A-Za-z0-9_-]{{1,64}}`.
    #[error("invalid tenant name `{0}`: use 1 to 64 letters, digits, `_` or `-`")]
    InvalidTenantName(String),
    /// No key with this id in this tenant.
    #[error("unknown key id `{0}`")]
    UnknownKey(String),
    /// No key was ever created for this integration user in the tenant.
    #[error("tenant `{tenant}` has no integration user `{user}` (create a key for it first)")]
    UnknownUser {
        /// The tenant.
        tenant: String,
        /// The user named.
        user: String,
    },
    /// The userName is held by another user, in this tenant or another one. The message
    /// never says which.
    #[error("userName `{0}` is already taken")]
    UserNameTaken(String),
    /// An entity of this type already has this unique key value in the tenant.
    #[error("{entity_type} with {field} `{value}` already exists")]
    DuplicateKey {
        /// Entity type.
        entity_type: String,
        /// Unique field.
        field: String,
        /// The value, as given.
        value: String,
    },
    /// An import file that cannot be read as JSON or CSV of entities.
    #[error("import: {0}")]
    Import(String),
    /// A stored row that does not decode: a bug or a damaged file.
    #[error("corrupt row in table `{table}`: {detail}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What failed.
        detail: String,
    },
    /// A row nested too deep to be read back; it is not written.
    #[error("a {table} row nested deeper than {limit} levels cannot be stored")]
    TooDeep {
        /// Table.
        table: &'static str,
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// What a write was planned on has changed since (another write came first): plan it
    /// again on a fresh snapshot. Nothing was written.
    #[error("the state this write was planned on has changed ({0})")]
    Conflict(String),
    /// The cluster's etcd could not be reached (its majority is down): a write that needs
    /// a userName claim or a directory change was refused. Nothing was written.
    #[error("{0}")]
    Unavailable(String),
    /// The writer thread has stopped (the server is shutting down). Nothing was written.
    #[error("the database writer has stopped")]
    WriterStopped,
    /// The operating system could not provide random bytes for a key.
    #[error("no randomness available: {0}")]
    Random(String),
    /// An error of redb or the file system.
    #[error("storage: {0}")]
    Storage(#[from] Box<redb::Error>),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(error: $t) -> Self {
                StoreError::Storage(Box::new(error.into()))
            }
        }
    )*};
}
from_redb!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<StoreError> for StateError {
    fn from(error: StoreError) -> Self {
        StateError(error.to_string())
    }
}
