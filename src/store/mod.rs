//! Storage in redb (DESIGN §9): tenants, API keys, resources and entities with their
//! indexes, memberships, pending references, outbox, change history, provisioning log and
//! tenant overlays, in one database file.
//!
//! A [`Store`] is cheap to clone and shared by the server's tasks. Every tenant-scoped
//! read or write goes through [`Store::read`] ([`TenantRead`], a snapshot that never blocks
//! writers) or [`Store::write`] ([`TenantWrite`], one durable all-or-nothing transaction);
//! both implement [`StateView`](crate::eval::state::StateView) for the evaluator.

mod access;
mod admin;
mod apply;
mod compact;
mod db;
mod error;
mod global;
mod import;
mod kept;
mod prepared;
mod query;
mod read;
mod records;
mod retention;
mod secrets;
mod stats;
mod tables;
mod unmanaged;
mod verify;
mod write;
mod writer;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, DatabaseError, Durability, ReadableTable, ReadableTableMetadata};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::{Clock, IdSource, SystemClock, TenantId, Timestamp, UuidIds, fold};

pub use admin::{AuditRecord, OPERATOR_PREFIX, OperatorRecord, OperatorScope, Page, PageQuery};
pub use apply::apply;
pub use compact::Compacted;
pub use error::StoreError;
pub use import::{ImportRecord, ImportSummary};
pub use prepared::{Encoded, encode_body};
pub use query::RawRow;
pub use read::TenantRead;
pub use records::{
    HistoryRecord, IntegrationUser, KeyInfo, KeyRecord, LogRecord, Outcome, TenantRecord,
    mask_secrets,
};
pub use retention::{Retention, Trimmed};
pub use stats::{TableUsage, Usage};
pub use verify::{Inconsistency, VerifyReport};
pub use write::TenantWrite;

pub use writer::{MAX_BATCH, PlannedWrite, Written};

use query::{decode, encode, last_seq};
use tables::{
    ENTITIES, EXTERNAL_IDS, GROUP_NAMES, HISTORY, KEY_IDS, KEYS, LOG, MEMBER_OF, MEMBERS, OUTBOX,
    OVERLAYS, PENDING, RESOURCE_COUNTS, RESOURCES, TENANTS, UNIQUE_KEYS, USER_NAMES,
};

/// The prefix of every API key, so a leaked key is recognisable.
pub const KEY_PREFIX: &str = "prv_";

/// Where time and new ids come from. The default is the system clock and UUID v4 ids;
/// tests inject fixed ones.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Time source for `meta`, history, log, keys and tenants.
    pub clock: Arc<dyn Clock>,
    /// Id source for new resources and entities (the server's and imports).
    pub ids: Arc<dyn IdSource>,
    /// Bytes of redb's page cache (reads and uncommitted writes). Pages beyond it are read
    /// from the operating system's file cache, which is not counted in the process's RSS.
    pub cache_bytes: usize,
}

/// The default page cache, in MiB (redb's own default is 1 GiB). A 100,000-user tenant's
/// read set (its resources and userName index, ~100 MiB) does not fit, but a page missed
/// here is a pread from the OS file cache: 160 MiB measured no faster for GET or the Okta
/// lookup at 100k users (within 2% over six alternating pairs), for twice the RSS.
pub const DEFAULT_CACHE_MIB: usize = 64;

/// [`DEFAULT_CACHE_MIB`] in bytes.
pub const DEFAULT_CACHE_BYTES: usize = DEFAULT_CACHE_MIB * 1024 * 1024;

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidIds),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// The database. Clones share one open file.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<db::Db>,
    config: StoreConfig,
    /// Valid keys already seen, by hash: a request authenticates without a read
    /// transaction. Revoking a key removes it here in the same call, so it is refused on
    /// its next request (only this process writes the file while it is open).
    key_cache: Arc<std::sync::RwLock<KeyCache>>,
    /// The writer thread, started on first use.
    writer: Arc<std::sync::OnceLock<Result<writer::Writer, String>>>,
    /// The cluster this store is part of (`provisio serve --cluster`), if any.
    cluster: Arc<std::sync::OnceLock<Arc<crate::cluster::Cluster>>>,
}

impl Store {
    /// Opens the database at `path`, creating it (and every table) if absent.
    ///
    /// Fails fast with [`StoreError::Locked`] when another process holds it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, StoreConfig::default())
    }

    /// [`Store::open`] with an injected clock and id source.
    pub fn open_with(path: impl AsRef<Path>, config: StoreConfig) -> Result<Store, StoreError> {
        let path = path.as_ref();
        create_private(path)?;
        let mut builder = Database::builder();
        builder.set_cache_size(config.cache_bytes);
        let db = db::Db::create(&builder, path).map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
                StoreError::Locked {
                    path: path.to_owned(),
                }
            }
            other => StoreError::Storage(Box::new(other.into())),
        })?;
        let store = Store {
            db: Arc::new(db),
            config,
            key_cache: Arc::default(),
            writer: Arc::default(),
            cluster: Arc::default(),
        };
        let had_index = unmanaged::index_exists(&store.db)?;
        store.create_tables()?;
        if !had_index {
            unmanaged::backfill(&store)?;
        }
        Ok(store)
    }

    /// Creates every table, so that read transactions always find them.
    fn create_tables(&self) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            txn.open_table(TENANTS)?;
            txn.open_table(KEYS)?;
            txn.open_table(KEY_IDS)?;
            txn.open_table(RESOURCES)?;
            txn.open_table(RESOURCE_COUNTS)?;
            txn.open_table(ENTITIES)?;
            txn.open_table(USER_NAMES)?;
            txn.open_table(EXTERNAL_IDS)?;
            txn.open_table(GROUP_NAMES)?;
            txn.open_table(UNIQUE_KEYS)?;
            txn.open_multimap_table(MEMBERS)?;
            txn.open_multimap_table(MEMBER_OF)?;
            txn.open_multimap_table(PENDING)?;
            txn.open_table(OUTBOX)?;
            txn.open_table(HISTORY)?;
            txn.open_table(LOG)?;
            txn.open_table(OVERLAYS)?;
            txn.open_table(tables::OPERATORS)?;
            txn.open_table(tables::OPERATOR_IDS)?;
            txn.open_table(tables::ADMIN_AUDIT)?;
            txn.open_table(tables::OVERLAY_META)?;
            txn.open_table(tables::INTEGRATION_USERS)?;
            txn.open_table(tables::PASSWORD_HASHES)?;
            txn.open_table(tables::UNMANAGED)?;
        }
        txn.commit()?;
        Ok(())
    }

    fn begin_write(&self) -> Result<db::WriteTxn, StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        Ok(txn)
    }

    /// The current time from the store's clock.
    pub fn now(&self) -> Timestamp {
        self.config.clock.now()
    }

    /// The store's id source.
    pub fn ids(&self) -> &dyn IdSource {
        self.config.ids.as_ref()
    }

    fn writer(&self) -> Result<&writer::Writer, StoreError> {
        let writer = self.writer.get_or_init(|| {
            writer::Writer::start(Arc::clone(&self.db), Arc::clone(&self.config.clock))
                .map_err(|e| e.to_string())
        });
        writer.as_ref().map_err(|detail| StoreError::Corrupt {
            table: "writer",
            detail: detail.clone(),
        })
    }

    /// Applies a planned write through the writer thread, which commits concurrent writes
    /// together in one durable transaction, each still all-or-nothing (see
    /// [`PlannedWrite`]). Returns once the write is durable, or failed and left nothing.
    /// [`StoreError::Conflict`] says the state it was planned on changed: plan again.
    pub fn commit(&self, write: PlannedWrite) -> Result<Written, StoreError> {
        let mut results = self.commit_all(vec![write]);
        results.pop().unwrap_or(Err(StoreError::WriterStopped))
    }

    /// [`commit`](Self::commit) for writes queued together: they run in one transaction
    /// (unless one spoils it, see [`PlannedWrite`]), in order; one result each, in order.
    pub fn commit_all(&self, writes: Vec<PlannedWrite>) -> Vec<Result<Written, StoreError>> {
        match self.cluster.get() {
            Some(cluster) => self.commit_clustered(cluster, writes),
            None => self.commit_local(writes),
        }
    }

    /// [`commit`](Self::commit) for an async caller: the write waits for its batch without
    /// holding a thread. Without a cluster only: a clustered commit reserves its userName
    /// in etcd around the local one, and is refused here with [`StoreError::Unavailable`]
    /// (call [`commit`](Self::commit) off the reactor instead).
    pub async fn commit_async(&self, write: PlannedWrite) -> Result<Written, StoreError> {
        if self.cluster.get().is_some() {
            return Err(StoreError::Unavailable(
                "a clustered write commits through etcd; this one was not written".into(),
            ));
        }
        self.writer()?.commit_async(write).await
    }

    /// [`append_log`](Self::append_log) for an async caller.
    pub async fn append_log_async(
        &self,
        tenant: &TenantId,
        record: &LogRecord,
    ) -> Result<u64, StoreError> {
        let record = Encoded::log(record.clone())?;
        self.writer()?.log_async(tenant.clone(), record).await
    }

    fn commit_local(&self, writes: Vec<PlannedWrite>) -> Vec<Result<Written, StoreError>> {
        match self.writer() {
            Ok(batcher) => batcher.commit_all(writes),
            Err(_) => writes
                .iter()
                .map(|_| Err(StoreError::WriterStopped))
                .collect(),
        }
    }

    /// Begins a write transaction scoped to `tenant` (which must exist), for one-off
    /// writes outside the request path (tests, import). Write transactions are serialised:
    /// this waits for the one in progress, if any.
    pub fn write(&self, tenant: &TenantId) -> Result<TenantWrite, StoreError> {
        TenantWrite::begin(&self.db, tenant, self.now())
    }

    /// A read snapshot of the tenant of an authenticated key, without [`read`](Self::read)'s
    /// lookup of the tenant: a key is made only for an existing tenant, and no tenant is
    /// ever removed. What a SCIM read of a resource or a list starts with.
    pub fn read_for(&self, key: &KeyInfo) -> Result<TenantRead, StoreError> {
        Ok(TenantRead {
            txn: self.db.snapshot()?,
            tenant: key.tenant.clone(),
        })
    }

    /// Begins a read snapshot scoped to `tenant` (which must exist).
    pub fn read(&self, tenant: &TenantId) -> Result<TenantRead, StoreError> {
        let txn = self.db.snapshot()?;
        {
            let table = txn.table(TENANTS)?;
            if table.get(tenant.as_str())?.is_none() {
                return Err(StoreError::UnknownTenant(tenant.to_string()));
            }
        }
        Ok(TenantRead {
            txn,
            tenant: tenant.clone(),
        })
    }

    // ---- tenants ----

    /// Creates a tenant on the profile's default edition. Names match
    /// `[A-Za-z0-9_-]{1,64}`; an existing name is an error.
    pub fn create_tenant(&self, name: &str) -> Result<TenantRecord, StoreError> {
        self.create_tenant_with(name, None)
    }

    /// Creates a tenant on `edition` (`None`: the profile's default; the caller checks the
    /// name against the profile). Names match `[A-Za-z0-9_-]{1,64}`; an existing name is an
    /// error.
    pub fn create_tenant_with(
        &self,
        name: &str,
        edition: Option<&str>,
    ) -> Result<TenantRecord, StoreError> {
        if !TenantId::is_valid(name) {
            return Err(StoreError::InvalidTenantName(name.to_owned()));
        }
        let record = TenantRecord {
            name: TenantId::new(name),
            created: self.now(),
            edition: edition.map(str::to_owned),
        };
        let bytes = encode("tenants", &record)?;
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(TENANTS)?;
            if table.get(name)?.is_some() {
                return Err(StoreError::TenantExists(name.to_owned()));
            }
            table.insert(name, bytes.as_slice())?;
        }
        if let Some(cluster) = self.cluster.get() {
            cluster.place_tenant(name)?;
        }
        txn.commit()?;
        Ok(record)
    }

    /// Every tenant, in name order.
    pub fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        let mut tenants = Vec::new();
        for item in table.iter()? {
            let (_, value) = item?;
            tenants.push(decode("tenants", value.value())?);
        }
        Ok(tenants)
    }

    /// Whether a tenant of this name exists.
    pub fn tenant_exists(&self, name: &TenantId) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        Ok(table.get(name.as_str())?.is_some())
    }

    /// Whether no tenant exists yet (a fresh database).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        Ok(table.is_empty()?)
    }

    fn require_tenant(&self, name: &str) -> Result<(), StoreError> {
        if self.tenant_exists(&TenantId::new(name))? {
            Ok(())
        } else {
            Err(StoreError::UnknownTenant(name.to_owned()))
        }
    }

    // ---- API keys ----

    /// Creates an API key for `tenant` and integration `user`. Returns the key id and the
    /// key (`prv_` + 64 hex digits of 32 random bytes); only the key's SHA-256 is stored,
    /// so this is the one time it can be shown.
    pub fn create_key(
        &self,
        tenant: &TenantId,
        user: &str,
    ) -> Result<(String, String), StoreError> {
        self.create_key_with_role(tenant, user, None)
    }

    /// [`create_key`](Self::create_key) for a user with `role` (the caller checks the name
    /// against the profile): a new user gets it (`None`: the profile's default role); an
    /// existing user's role changes to it when given, and is kept otherwise.
    pub fn create_key_with_role(
        &self,
        tenant: &TenantId,
        user: &str,
        role: Option<&str>,
    ) -> Result<(String, String), StoreError> {
        let tenant = tenant.as_str();
        let secret = random_hex::<32>()?;
        let key = format!("{KEY_PREFIX}{secret}");
        let hash = key_hash(&key);
        let txn = self.begin_write()?;
        let key_id = {
            query::require_tenant(&txn.open_table(TENANTS)?, tenant)?;
            let mut ids = txn.open_table(KEY_IDS)?;
            // An id is never reused: a key whose id was overwritten could not be revoked.
            let key_id = loop {
                let candidate = format!("key_{}", random_hex::<8>()?);
                if ids.get((tenant, candidate.as_str()))?.is_none() {
                    break candidate;
                }
            };
            ids.insert((tenant, key_id.as_str()), hash.as_slice())?;
            let record = KeyRecord {
                key_id: key_id.clone(),
                tenant: TenantId::new(tenant),
                user: user.to_owned(),
                created: self.now(),
                revoked: false,
            };
            let bytes = encode("api_keys", &StoredKey { hash, record })?;
            txn.open_table(KEYS)?
                .insert(hash.as_slice(), bytes.as_slice())?;
            access::upsert_user(&txn, tenant, user, role, self.now())?;
            key_id
        };
        if let Some(cluster) = self.cluster.get() {
            cluster.publish_key(&global::hex(&hash), tenant)?;
        }
        txn.commit()?;
        if role.is_some() {
            // What the user's other keys identify has changed.
            self.forget_keys();
        }
        Ok((key_id, key))
    }

    /// The tenant and integration user of a valid, unrevoked key; `None` otherwise.
    pub fn authenticate(&self, key: &str) -> Result<Option<KeyInfo>, StoreError> {
        let hash = key_hash(key);
        let generation = {
            let cache = self
                .key_cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(info) = cache.keys.get(&hash) {
                return Ok(Some(info.clone()));
            }
            cache.generation
        };
        let txn = self.db.begin_read()?;
        let Some(stored) = valid_credential::<StoredKey>(&txn, KEYS, "api_keys", &hash)? else {
            return Ok(None);
        };
        let (edition, role) = access::edition_and_role(&txn, &stored.record)?;
        let info = KeyInfo {
            key_id: stored.record.key_id,
            tenant: stored.record.tenant,
            user: stored.record.user,
            edition,
            role,
        };
        let mut cache = self
            .key_cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A revocation since this read began may have made what it read stale.
        if cache.generation == generation {
            cache.keys.insert(hash, info.clone());
        }
        Ok(Some(info))
    }

    /// A tenant's keys in id order (never the keys, never their hashes).
    pub fn list_keys(&self, tenant: &TenantId) -> Result<Vec<KeyRecord>, StoreError> {
        let tenant = tenant.as_str();
        let txn = self.db.begin_read()?;
        query::require_tenant(&txn.open_table(TENANTS)?, tenant)?;
        let keys = txn.open_table(KEYS)?;
        let mut records = Vec::new();
        query::each_of_tenant(&txn.open_table(KEY_IDS)?, tenant, |hash| {
            if let Some(guard) = keys.get(hash)? {
                records.push(decode::<StoredKey>("api_keys", guard.value())?.record);
            }
            Ok(())
        })?;
        Ok(records)
    }

    /// Revokes a key of `tenant` by id; it never authenticates again. Revoking twice is
    /// not an error.
    pub fn revoke_key(&self, tenant: &TenantId, key_id: &str) -> Result<(), StoreError> {
        let tenant = tenant.as_str();
        let txn = self.begin_write()?;
        {
            query::require_tenant(&txn.open_table(TENANTS)?, tenant)?;
            let hash = match txn.open_table(KEY_IDS)?.get((tenant, key_id))? {
                Some(guard) => guard.value().to_vec(),
                None => return Err(StoreError::UnknownKey(key_id.to_owned())),
            };
            let mut keys = txn.open_table(KEYS)?;
            query::update_row::<StoredKey>(&mut keys, "api_keys", &hash, key_id, |s| {
                s.record.revoked = true;
            })?;
            if let Some(cluster) = self.cluster.get() {
                cluster.withdraw_key(&global::hex(&hash))?;
            }
        }
        txn.commit()?;
        self.forget_keys();
        Ok(())
    }

    /// Empties the key cache (after a revocation or a change to what a key identifies):
    /// every key is read from the table again on its next use.
    pub(crate) fn forget_keys(&self) {
        let mut cache = self
            .key_cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.keys.clear();
        cache.generation += 1;
    }

    // ---- history, log, overlays ----

    /// A tenant's change history in order; with `user_name`, only records whose userName
    /// matches it case-insensitively.
    pub fn history(
        &self,
        tenant: &TenantId,
        user_name: Option<&str>,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        let wanted = user_name.map(fold);
        let rows: Vec<records::HistoryRow> = self.scan_seq(tenant, HISTORY, "history")?;
        Ok(rows
            .into_iter()
            .flat_map(|row| row.0)
            .filter(|r| match &wanted {
                None => true,
                Some(w) => r.user_name.as_deref().is_some_and(|u| fold(u) == *w),
            })
            .collect())
    }

    /// Appends to a tenant's provisioning log, apart from any operation (so that it
    /// records failures whose operation rolled back), through the writer thread: durable
    /// when this returns. Masks secrets in `request`; assigns `seq` (returned) and the time.
    pub fn append_log(&self, tenant: &TenantId, record: &LogRecord) -> Result<u64, StoreError> {
        self.writer()?
            .log(tenant.clone(), Encoded::log(record.clone())?)
    }

    /// A tenant's provisioning log in order; with `failed_only`, only records whose
    /// outcome is not `ok` (failed or rejected).
    pub fn log(&self, tenant: &TenantId, failed_only: bool) -> Result<Vec<LogRecord>, StoreError> {
        let records: Vec<LogRecord> = self.scan_seq(tenant, LOG, "provisioning_log")?;
        Ok(records
            .into_iter()
            .filter(|r| !failed_only || r.outcome != Outcome::Ok)
            .collect())
    }

    fn scan_seq<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        def: redb::TableDefinition<(&str, u64), &[u8]>,
        name: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let tenant = tenant.as_str();
        let txn = self.db.begin_read()?;
        query::require_tenant(&txn.open_table(TENANTS)?, tenant)?;
        let table = txn.open_table(def)?;
        let mut records = Vec::new();
        for item in table.range((tenant, 0)..=(tenant, u64::MAX))? {
            records.push(decode(name, item?.1.value())?);
        }
        Ok(records)
    }

    /// Saves a new version of a tenant's overlay text (empty text = restore defaults) by
    /// `author`; returns its version, counting from 1.
    pub fn save_overlay(
        &self,
        tenant: &TenantId,
        text: &str,
        author: &str,
    ) -> Result<u64, StoreError> {
        let tenant = tenant.as_str();
        let txn = self.begin_write()?;
        let version = {
            query::require_tenant(&txn.open_table(TENANTS)?, tenant)?;
            let mut table = txn.open_table(OVERLAYS)?;
            let version = last_seq(&table, tenant)? + 1;
            table.insert((tenant, version), text)?;
            let meta = encode(
                "overlay_meta",
                &OverlayVersion {
                    version,
                    author: author.to_owned(),
                    time: self.now(),
                },
            )?;
            txn.open_table(tables::OVERLAY_META)?
                .insert((tenant, version), meta.as_slice())?;
            version
        };
        txn.commit()?;
        Ok(version)
    }

    /// Who saved each overlay version of a tenant, and when, oldest first.
    pub fn overlay_versions(&self, tenant: &TenantId) -> Result<Vec<OverlayVersion>, StoreError> {
        self.require_tenant(tenant.as_str())?;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::OVERLAY_META)?;
        let mut versions = Vec::new();
        for item in table.range((tenant.as_str(), 0)..=(tenant.as_str(), u64::MAX))? {
            versions.push(decode("overlay_meta", item?.1.value())?);
        }
        Ok(versions)
    }

    /// The latest overlay of a tenant as `(version, text)`, or `None` if never saved.
    pub fn overlay(&self, tenant: &TenantId) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self.overlays(tenant)?.pop())
    }

    /// Every saved overlay version of a tenant, oldest first.
    pub fn overlays(&self, tenant: &TenantId) -> Result<Vec<(u64, String)>, StoreError> {
        let tenant = tenant.as_str();
        self.require_tenant(tenant)?;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(OVERLAYS)?;
        let mut versions = Vec::new();
        for item in table.range((tenant, 0)..=(tenant, u64::MAX))? {
            let (key, value) = item?;
            versions.push((key.value().1, value.value().to_owned()));
        }
        Ok(versions)
    }

    /// Imports pre-existing entities as unmanaged (`managed: false`, `Active`) with new
    /// ids, in one transaction: either every record is imported or none is.
    ///
    /// A user's `UserName` is claimed in the global userName index and indexed as the
    /// User unique key; a group's `Name` as the Group unique key. A name already taken
    /// (in any tenant for users, in this tenant for groups), or twice in the file, fails
    /// the whole import.
    pub fn import_entities(
        &self,
        tenant: &TenantId,
        records: &[ImportRecord],
    ) -> Result<ImportSummary, StoreError> {
        import::import(self, tenant, records)
    }
}

/// Creates the database file, readable and writable by its owner only, when it does not
/// exist (redb then initialises the empty file). An existing file is left as it is.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::Storage(Box::new(redb::Error::Io(err)))),
    }
}

/// Valid keys by hash, and a generation counted up by every revocation.
#[derive(Debug, Default)]
struct KeyCache {
    keys: std::collections::HashMap<[u8; 32], KeyInfo>,
    generation: u64,
}

/// Who saved an overlay version, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OverlayVersion {
    /// The version.
    pub version: u64,
    /// The operator or CLI user who saved it.
    pub author: String,
    /// When.
    pub time: Timestamp,
}

/// A key row: the record and the hash it is stored under, compared in constant time.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredKey {
    hash: [u8; 32],
    record: KeyRecord,
}

/// A stored credential (an API key or an operator token): its hash and whether it is
/// revoked.
trait Credential: serde::de::DeserializeOwned {
    fn hash(&self) -> &[u8; 32];
    fn revoked(&self) -> bool;
}

impl Credential for StoredKey {
    fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    fn revoked(&self) -> bool {
        self.record.revoked
    }
}

/// The credential stored under `hash` in `table` (named `name`) when its stored hash
/// matches, compared in constant time, and it is not revoked.
fn valid_credential<T: Credential>(
    txn: &redb::ReadTransaction,
    table: redb::TableDefinition<&[u8], &[u8]>,
    name: &'static str,
    hash: &[u8; 32],
) -> Result<Option<T>, StoreError> {
    let table = txn.open_table(table)?;
    let Some(guard) = table.get(hash.as_slice())? else {
        return Ok(None);
    };
    let stored: T = decode(name, guard.value())?;
    let matches: bool = stored.hash().ct_eq(hash).into();
    Ok((matches && !stored.revoked()).then_some(stored))
}

/// The hex SHA-256 of an API key, as the cluster directory names it.
pub fn key_hash_hex(key: &str) -> String {
    global::hex(&key_hash(key))
}

fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn random_hex<const N: usize>() -> Result<String, StoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(bytes
        .iter()
        .fold(String::with_capacity(2 * N), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync>() {}
    fn movable<T: Send>() {}

    #[test]
    fn handles_cross_threads() {
        shareable::<Store>();
        movable::<TenantWrite>();
        movable::<TenantRead>();
    }
}
