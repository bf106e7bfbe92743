//! Several provisio nodes, one etcd (issue 12, `docs/cluster.md`).
//!
//! Each tenant lives in one node's redb file, as on a single node. etcd holds what spans the
//! nodes, under [`PREFIX`]:
//!
//! ```text
//! /provisio/dir/nodes/NODE       {"url", "admin"}        under the node's lease: alive
//! /provisio/dir/tenants/TENANT   {"node", "url", ready}   the owner and its SCIM origin
//! /provisio/dir/keys/SHA256      {"tenant"}               an unrevoked API key's tenant
//! /provisio/claims/NAME          {"tenant", "node"}       a global userName claim
//! ```
//!
//! The directory (`dir/`) is cached in every node and kept current by a watch; it routes
//! requests ([`forward`]). Claims are never cached: a create or rename reserves the
//! normalised name with a put-if-absent transaction (`create_revision == 0`) under the
//! node's lease, commits locally, then confirms (the key is put again without the lease),
//! or deletes it when the local commit failed. A node that dies in between leaves a
//! reservation that expires with its lease; a starting node (and one whose etcd came back)
//! reconciles its local claims with etcd ([`Cluster::reconcile`]).
//!
//! Every etcd call has a deadline ([`OP_TIMEOUT`]) and asks for a leader: with a majority
//! down it fails fast, and the request that needed it is answered 503 with nothing written.

mod claims;
pub mod forward;
mod remote;

pub use claims::verify_claims;
pub use remote::{NodeStatus, place_remote, status};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, KeyValue,
    PutOptions, Txn, TxnOp, TxnOpResponse, WatchOptions,
};
use serde::{Deserialize, Serialize};

use crate::domain::TenantId;
use crate::store::{Store, StoreError};

/// Every key this cluster writes starts with it.
pub const PREFIX: &str = "/provisio/";
/// How long one etcd call may take before the request that needed it is refused.
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// The node lease's time to live: a dead node's reservations and presence vanish after it.
pub const LEASE_TTL: i64 = 6;

fn dir_prefix() -> String {
    format!("{PREFIX}dir/")
}
fn node_key(node: &str) -> String {
    format!("{PREFIX}dir/nodes/{node}")
}
fn tenant_key(tenant: &str) -> String {
    format!("{PREFIX}dir/tenants/{tenant}")
}
fn api_key_key(hash: &str) -> String {
    format!("{PREFIX}dir/keys/{hash}")
}
fn claims_prefix() -> String {
    format!("{PREFIX}claims/")
}
fn claim_key(name: &str) -> String {
    format!("{PREFIX}claims/{name}")
}

/// How to join a cluster.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// etcd endpoints (`http://127.0.0.1:2379`, ...).
    pub endpoints: Vec<String>,
    /// This node's name (`[A-Za-z0-9_-]{1,64}`).
    pub node: String,
    /// The origin other nodes reach this node's SCIM listener at (`http://host:port`).
    pub advertise: String,
    /// This node's admin listener, shown by `provisio cluster status`.
    pub admin: String,
}

/// A node's directory entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeEntry {
    /// SCIM origin.
    pub url: String,
    /// Admin origin.
    #[serde(default)]
    pub admin: String,
}

/// A tenant's directory entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TenantEntry {
    /// The owning node.
    pub node: String,
    /// Its SCIM origin.
    pub url: String,
    /// Whether the owner has created it (a tenant placed by `tenant create --node` is not,
    /// until the owner sees the entry).
    #[serde(default)]
    pub ready: bool,
}

/// A key's directory entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct KeyEntry {
    tenant: String,
}

/// A userName claim's value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClaimEntry {
    /// The tenant holding the name.
    pub tenant: String,
    /// Its node.
    pub node: String,
}

/// The cached directory.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// Live nodes.
    pub nodes: HashMap<String, NodeEntry>,
    /// Tenants.
    pub tenants: HashMap<String, TenantEntry>,
    /// Key hash -> tenant.
    pub keys: HashMap<String, String>,
}

impl Directory {
    fn apply(&mut self, kv: &KeyValue, deleted: bool) {
        let Ok(key) = kv.key_str() else { return };
        let Some(rest) = key.strip_prefix(&dir_prefix()) else {
            return;
        };
        let Some((kind, name)) = rest.split_once('/') else {
            return;
        };
        let name = name.to_owned();
        match kind {
            "nodes" => {
                if deleted {
                    self.nodes.remove(&name);
                } else if let Ok(entry) = serde_json::from_slice(kv.value()) {
                    self.nodes.insert(name, entry);
                }
            }
            "tenants" => {
                if deleted {
                    self.tenants.remove(&name);
                } else if let Ok(entry) = serde_json::from_slice(kv.value()) {
                    self.tenants.insert(name, entry);
                }
            }
            "keys" => {
                if deleted {
                    self.keys.remove(&name);
                } else if let Ok(entry) = serde_json::from_slice::<KeyEntry>(kv.value()) {
                    self.keys.insert(name, entry.tenant);
                }
            }
            _ => {}
        }
    }
}

/// A reserved (or already held) claim, to settle after the local commit.
#[derive(Debug)]
pub struct Reservation {
    key: String,
    /// The create revision of our reservation; 0 when the tenant already held the name
    /// (nothing to confirm or drop).
    revision: i64,
    value: Vec<u8>,
}

/// A claim change to make in etcd after a local commit.
#[derive(Debug, Clone)]
enum Pending {
    /// Confirm (`committed`) or drop our reservation.
    Settle {
        key: String,
        revision: i64,
        value: Vec<u8>,
        committed: bool,
    },
    /// Delete the claim if it still has this value.
    Release { key: String, value: Vec<u8> },
    /// Delete a reservation whose answer was lost (it may have been applied after all),
    /// if it is still under `lease` with this value: nothing was committed for it.
    Abandon {
        key: String,
        value: Vec<u8>,
        lease: i64,
    },
}

impl Pending {
    /// Makes the change; `Ok` also when the claim was no longer ours (nothing to do).
    async fn run(self, mut kv: etcd_client::KvClient) -> Result<(), StoreError> {
        let txn = match self {
            Pending::Settle {
                key,
                revision,
                value,
                committed,
            } => {
                let ours = Compare::create_revision(key.clone(), CompareOp::Equal, revision);
                let op = if committed {
                    TxnOp::put(key, value, None)
                } else {
                    TxnOp::delete(key, None)
                };
                Txn::new().when(vec![ours]).and_then(vec![op])
            }
            Pending::Abandon { key, value, lease } => Txn::new()
                .when(vec![
                    Compare::value(key.clone(), CompareOp::Equal, value),
                    Compare::lease(key.clone(), CompareOp::Equal, lease),
                ])
                .and_then(vec![TxnOp::delete(key, None)]),
            Pending::Release { key, value } => {
                let ours = Compare::value(key.clone(), CompareOp::Equal, value);
                Txn::new()
                    .when(vec![ours])
                    .and_then(vec![TxnOp::delete(key, None)])
            }
        };
        timed(kv.txn(txn)).await.map(|_| ())
    }
}

/// This node's handle on the cluster. Shared by the store (claims, directory writes) and
/// the server (routing).
pub struct Cluster {
    client: Client,
    runtime: tokio::runtime::Handle,
    node: String,
    advertise: String,
    admin: String,
    /// The node lease (0 while there is none: etcd was unreachable).
    lease: AtomicI64,
    /// Whether the last etcd call succeeded.
    healthy: AtomicBool,
    directory: RwLock<Directory>,
    store: Store,
    /// Connections to the other nodes, for forwarding.
    http: forward::HttpClient,
    /// Claim changes etcd did not answer, retried by the keep-alive task.
    unsettled: Arc<std::sync::Mutex<Vec<Pending>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("advertise", &self.advertise)
            .finish_non_exhaustive()
    }
}

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// etcd did not answer.
    #[error("cannot reach etcd at {endpoints}: {detail}")]
    Unreachable {
        /// The endpoints tried.
        endpoints: String,
        /// What failed.
        detail: String,
    },
    /// The node name is not valid.
    #[error("invalid node name `{0}`: use 1 to 64 letters, digits, `_` or `-`")]
    InvalidNode(String),
    /// Another live node has this name.
    #[error("node `{0}` is already running (another process holds its name in etcd)")]
    NodeTaken(String),
    /// A local tenant is owned by another node in the directory.
    #[error("tenant `{tenant}` is in this database but the directory places it on node `{node}`")]
    TenantElsewhere {
        /// The tenant.
        tenant: String,
        /// Its owner in the directory.
        node: String,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// An etcd failure as the store reports it: 503, nothing written.
fn unavailable(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!(
        "the cluster's etcd cannot be reached ({detail}); this change needs it, so nothing was changed: try again once etcd has a majority"
    ))
}

/// Connects to etcd (each call with a deadline, requiring a leader).
///
/// # Errors
///
/// When no endpoint can be used (a malformed URL).
pub async fn connect(endpoints: &[String]) -> Result<Client, etcd_client::Error> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(OP_TIMEOUT)
        .with_require_leader(true)
        .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2));
    Client::connect(endpoints, Some(options)).await
}

/// Connects for a command run outside any node (`cluster place`, `status`, claims checks):
/// at most 5s, the error as the command reports it.
async fn reach(endpoints: &[String]) -> Result<Client, String> {
    tokio::time::timeout(Duration::from_secs(5), connect(endpoints))
        .await
        .map_err(|_| "cannot reach etcd: no answer within 5s".to_string())?
        .map_err(|e| format!("cannot reach etcd: {e}"))
}

/// The entry the transaction's get found, when it found one and it reads back as `T`.
fn got_entry<T: serde::de::DeserializeOwned>(response: &etcd_client::TxnResponse) -> Option<T> {
    response
        .op_responses()
        .into_iter()
        .find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().cloned(),
            _ => None,
        })
        .and_then(|kv| serde_json::from_slice(kv.value()).ok())
}

/// Runs `fut` with the deadline.
async fn timed<T>(
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(unavailable(err)),
        Err(_) => Err(unavailable(format!(
            "no answer within {}s",
            OP_TIMEOUT.as_secs()
        ))),
    }
}

impl Cluster {
    /// Joins: connects, takes the node's name under a lease, loads the directory, places
    /// this database's tenants and keys in it, reconciles the claims, and starts the
    /// keep-alive and watch tasks on the current runtime.
    ///
    /// # Errors
    ///
    /// When etcd does not answer, the node name is invalid or taken, or a tenant of this database is placed on another node.
    pub async fn join(store: Store, config: JoinConfig) -> Result<Arc<Cluster>, JoinError> {
        if !TenantId::is_valid(&config.node) {
            return Err(JoinError::InvalidNode(config.node));
        }
        let endpoints = config.endpoints.join(",");
        let unreachable = |detail: String| JoinError::Unreachable {
            endpoints: endpoints.clone(),
            detail,
        };
        let client = tokio::time::timeout(Duration::from_secs(5), connect(&config.endpoints))
            .await
            .map_err(|_| unreachable("no answer within 5s".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let cluster = Arc::new(Cluster {
            client,
            runtime: tokio::runtime::Handle::current(),
            node: config.node,
            advertise: config.advertise,
            admin: config.admin,
            lease: AtomicI64::new(0),
            healthy: AtomicBool::new(true),
            directory: RwLock::default(),
            store: store.clone(),
            http: forward::client(),
            unsettled: Arc::default(),
        });
        let mut attempt = 0;
        loop {
            attempt += 1;
            match cluster.take_lease().await {
                Ok(()) => break,
                Err(StoreError::TenantExists(_)) if attempt < 10 => {
                    // A previous run of this node, killed: its lease has not expired yet.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(StoreError::TenantExists(_)) => {
                    return Err(JoinError::NodeTaken(cluster.node.clone()));
                }
                Err(err) => return Err(unreachable(err.to_string())),
            }
        }
        let revision = cluster
            .load_directory()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        store.set_cluster(Arc::clone(&cluster));
        cluster.publish_local().await?;
        if let Err(err) = cluster.reconcile().await {
            tracing::warn!(%err, "claims reconciliation failed; it runs again when etcd answers");
        }
        tokio::spawn(Arc::clone(&cluster).keep_alive());
        tokio::spawn(Arc::clone(&cluster).watch(revision));
        Ok(cluster)
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// This node's advertised SCIM origin.
    pub fn advertise(&self) -> &str {
        &self.advertise
    }

    /// A copy of the cached directory.
    pub fn directory(&self) -> Directory {
        self.directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The owner of the key with this hex hash, when it is another node: the tenant and
    /// its entry.
    pub fn remote_owner(&self, key_hash: &str) -> Option<(String, TenantEntry)> {
        let directory = self
            .directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tenant = directory.keys.get(key_hash)?;
        let entry = directory.tenants.get(tenant)?;
        (entry.node != self.node).then(|| (tenant.clone(), entry.clone()))
    }

    /// Runs an etcd future from synchronous code (the store's callers run on blocking
    /// threads); never blocks the runtime's workers without telling it.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        let wait = || {
            rx.recv()
                .unwrap_or_else(|_| Err(unavailable("the runtime stopped")))
        };
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        self.healthy.store(
            !matches!(result, Err(StoreError::Unavailable(_))),
            Ordering::Relaxed,
        );
        result
    }

    /// Fails when etcd does not answer (a linearizable read of this node's entry).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when etcd does not answer in time.
    pub fn reachable(&self) -> Result<(), StoreError> {
        let mut kv = self.client.kv_client();
        let key = node_key(&self.node);
        self.block(async move { timed(kv.get(key, None)).await.map(|_| ()) })
    }

    /// Before a tenant is created locally: places it on this node in the directory
    /// (put-if-absent). [`StoreError::TenantExists`] when another node has it.
    ///
    /// # Errors
    ///
    /// [`StoreError::TenantExists`] as above, [`StoreError::Unavailable`] without etcd.
    pub fn place_tenant(&self, tenant: &str) -> Result<(), StoreError> {
        let key = tenant_key(tenant);
        let value = serde_json::to_vec(&TenantEntry {
            node: self.node.clone(),
            url: self.advertise.clone(),
            ready: true,
        })
        .unwrap_or_default();
        let mut kv = self.client.kv_client();
        let node = self.node.clone();
        let tenant = tenant.to_owned();
        self.block(async move {
            let txn = Txn::new()
                .when(vec![Compare::create_revision(
                    key.clone(),
                    CompareOp::Equal,
                    0,
                )])
                .and_then(vec![TxnOp::put(key.clone(), value.clone(), None)])
                .or_else(vec![TxnOp::get(key.clone(), None)]);
            let response = timed(kv.txn(txn)).await?;
            if response.succeeded() {
                return Ok(());
            }
            let entry: Option<TenantEntry> = got_entry(&response);
            match entry {
                Some(entry) if entry.node == node => {
                    timed(kv.put(key, value, None)).await?;
                    Ok(())
                }
                _ => Err(StoreError::TenantExists(tenant)),
            }
        })
    }

    /// Before a key is committed locally: names its tenant in the directory.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when etcd does not answer in time.
    pub fn publish_key(&self, hash: &str, tenant: &str) -> Result<(), StoreError> {
        let key = api_key_key(hash);
        let value = serde_json::to_vec(&KeyEntry {
            tenant: tenant.to_owned(),
        })
        .unwrap_or_default();
        let mut kv = self.client.kv_client();
        self.block(async move { timed(kv.put(key, value, None)).await.map(|_| ()) })
    }

    /// Before a revocation is committed locally: removes the key from the directory, so
    /// every node's watch forgets it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when etcd does not answer in time.
    pub fn withdraw_key(&self, hash: &str) -> Result<(), StoreError> {
        let key = api_key_key(hash);
        let mut kv = self.client.kv_client();
        self.block(async move { timed(kv.delete(key, None)).await.map(|_| ()) })
    }

    /// Grants a lease and puts this node's entry under it (put-if-absent:
    /// [`StoreError::TenantExists`] while another process holds the name).
    async fn take_lease(&self) -> Result<(), StoreError> {
        let mut lease_client = self.client.lease_client();
        let lease = timed(lease_client.grant(LEASE_TTL, None)).await?.id();
        let key = node_key(&self.node);
        let value = serde_json::to_vec(&NodeEntry {
            url: self.advertise.clone(),
            admin: self.admin.clone(),
        })
        .unwrap_or_default();
        let mut kv = self.client.kv_client();
        let txn = Txn::new()
            .when(vec![Compare::create_revision(
                key.clone(),
                CompareOp::Equal,
                0,
            )])
            .and_then(vec![TxnOp::put(
                key,
                value,
                Some(PutOptions::new().with_lease(lease)),
            )]);
        let response = timed(kv.txn(txn)).await?;
        if !response.succeeded() {
            let _ = timed(lease_client.revoke(lease)).await;
            return Err(StoreError::TenantExists(self.node.clone()));
        }
        self.lease.store(lease, Ordering::Relaxed);
        Ok(())
    }

    /// Loads the directory; returns the revision it was read at.
    async fn load_directory(&self) -> Result<i64, StoreError> {
        let mut kv = self.client.kv_client();
        let response = timed(kv.get(dir_prefix(), Some(GetOptions::new().with_prefix()))).await?;
        let mut directory = Directory::default();
        for kv in response.kvs() {
            directory.apply(kv, false);
        }
        *self
            .directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = directory;
        Ok(response
            .header()
            .map_or(0, etcd_client::ResponseHeader::revision))
    }

    /// Writes this database's tenants and unrevoked keys to the directory (a database that
    /// served alone before joins with what it has).
    async fn publish_local(&self) -> Result<(), JoinError> {
        let store = self.store.clone();
        let (tenants, keys) = tokio::task::spawn_blocking(move || {
            Ok::<_, StoreError>((store.list_tenants()?, store.key_hashes()?))
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let directory = self.directory();
        let mut kv = self.client.kv_client();
        for tenant in tenants {
            let name = tenant.name.as_str();
            match directory.tenants.get(name) {
                Some(entry) if entry.node != self.node => {
                    return Err(JoinError::TenantElsewhere {
                        tenant: name.to_owned(),
                        node: entry.node.clone(),
                    });
                }
                Some(entry) if entry.url == self.advertise && entry.ready => {}
                _ => {
                    let value = serde_json::to_vec(&TenantEntry {
                        node: self.node.clone(),
                        url: self.advertise.clone(),
                        ready: true,
                    })
                    .unwrap_or_default();
                    timed(kv.put(tenant_key(name), value, None)).await?;
                }
            }
        }
        for (hash, tenant) in keys {
            if directory.keys.get(&hash).map(String::as_str) != Some(tenant.as_str()) {
                let value = serde_json::to_vec(&KeyEntry {
                    tenant: tenant.as_str().to_owned(),
                })
                .unwrap_or_default();
                timed(kv.put(api_key_key(&hash), value, None)).await?;
            }
        }
        self.load_directory().await?;
        Ok(())
    }

    /// Keeps the node lease alive; when etcd was lost long enough for it to expire, takes a
    /// new one, publishes again and reconciles.
    async fn keep_alive(self: Arc<Self>) {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let mut lost = false;
        loop {
            interval.tick().await;
            let lease = self.lease.load(Ordering::Relaxed);
            let alive = if lease == 0 {
                false
            } else {
                let mut client = self.client.lease_client();
                match timed(client.time_to_live(lease, None)).await {
                    Ok(ttl) if ttl.ttl() > 0 => {
                        let mut keeper = self.client.lease_client();
                        match timed(keeper.keep_alive(lease)).await {
                            Ok((mut keeper, mut stream)) => {
                                let sent = keeper.keep_alive().await.is_ok();
                                sent && matches!(
                                    tokio::time::timeout(OP_TIMEOUT, stream.message()).await,
                                    Ok(Ok(Some(_)))
                                )
                            }
                            Err(_) => false,
                        }
                    }
                    Ok(_) => {
                        // Expired while etcd was away.
                        self.lease.store(0, Ordering::Relaxed);
                        false
                    }
                    Err(_) => {
                        lost = true;
                        self.healthy.store(false, Ordering::Relaxed);
                        continue;
                    }
                }
            };
            if alive {
                self.retry_unsettled().await;
                if lost {
                    lost = false;
                    self.healthy.store(true, Ordering::Relaxed);
                    if let Err(err) = self.reconcile().await {
                        tracing::warn!(%err, "claims reconciliation failed");
                        lost = true;
                    }
                }
                continue;
            }
            lost = true;
            self.lease.store(0, Ordering::Relaxed);
            let key = node_key(&self.node);
            let mut kv = self.client.kv_client();
            // Our old entry, if its lease has not lapsed everywhere yet, is ours to replace.
            let _ = timed(kv.delete(key, Some(DeleteOptions::new()))).await;
            match self.take_lease().await {
                Ok(()) => {
                    tracing::info!("etcd answers again: node lease renewed");
                    if let Err(err) = self.publish_local().await {
                        tracing::warn!(%err, "could not publish this node's tenants");
                    }
                    // A reservation whose answer was lost in the outage may have been
                    // applied after all: reconciliation deletes it (it holds no local claim).
                    match self.reconcile().await {
                        Ok(_) => lost = false,
                        Err(err) => tracing::warn!(%err, "claims reconciliation failed"),
                    }
                }
                Err(err) => tracing::debug!(%err, "etcd still unreachable"),
            }
        }
    }

    /// Keeps the cached directory current; after an error, loads it again and watches on.
    async fn watch(self: Arc<Self>, mut revision: i64) {
        loop {
            let mut watch = self.client.watch_client();
            let options = WatchOptions::new()
                .with_prefix()
                .with_start_revision(revision + 1);
            match watch.watch(dir_prefix(), Some(options)).await {
                Ok(mut stream) => {
                    while let Ok(Some(response)) = stream.message().await {
                        if response.canceled() {
                            break;
                        }
                        let mut placed = Vec::new();
                        {
                            let mut directory = self
                                .directory
                                .write()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            for event in response.events() {
                                if let Some(kv) = event.kv() {
                                    revision = revision.max(kv.mod_revision());
                                    let deleted = event.event_type() == EventType::Delete;
                                    directory.apply(kv, deleted);
                                    if !deleted && let Some(tenant) = self.placed_here(kv) {
                                        placed.push(tenant);
                                    }
                                }
                            }
                        }
                        for tenant in placed {
                            self.create_placed(tenant).await;
                        }
                    }
                }
                Err(err) => tracing::debug!(%err, "watch failed"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            match self.load_directory().await {
                Ok(now) => revision = now,
                Err(err) => tracing::debug!(%err, "directory reload failed"),
            }
        }
    }

    /// A tenant entry placing a tenant on this node that is not ready yet.
    fn placed_here(&self, kv: &KeyValue) -> Option<String> {
        let key = kv.key_str().ok()?;
        let name = key.strip_prefix(&format!("{PREFIX}dir/tenants/"))?;
        let entry: TenantEntry = serde_json::from_slice(kv.value()).ok()?;
        (entry.node == self.node && !entry.ready).then(|| name.to_owned())
    }

    /// Creates a tenant placed on this node by `provisio tenant create --node`.
    async fn create_placed(&self, tenant: String) {
        let store = self.store.clone();
        let name = tenant.clone();
        let created = tokio::task::spawn_blocking(move || match store.create_tenant(&name) {
            Ok(_) | Err(StoreError::TenantExists(_)) => Ok(()),
            Err(err) => Err(err),
        })
        .await;
        match created {
            Ok(Ok(())) => tracing::info!(%tenant, "tenant placed on this node: created"),
            Ok(Err(err)) => tracing::error!(%tenant, %err, "could not create a placed tenant"),
            Err(err) => tracing::error!(%tenant, %err, "could not create a placed tenant"),
        }
    }
}
