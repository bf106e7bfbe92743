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

pub mod forward;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, KeyValue,
    PutOptions, Txn, TxnOp, TxnOpResponse, WatchOptions,
};
use serde::{Deserialize, Serialize};

use crate::domain::{TenantId, UserName};
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

    fn claim_value(&self, tenant: &TenantId) -> Vec<u8> {
        serde_json::to_vec(&ClaimEntry {
            tenant: tenant.as_str().to_owned(),
            node: self.node.clone(),
        })
        .unwrap_or_default()
    }

    /// Reserves `name` for `tenant` before the local commit: put-if-absent under the node
    /// lease. [`StoreError::UserNameTaken`] when another tenant holds it (the detail names
    /// no instance), [`StoreError::Unavailable`] when etcd does not answer.
    ///
    /// # Errors
    ///
    /// [`StoreError::UserNameTaken`] or [`StoreError::Unavailable`], as above.
    pub fn reserve(&self, tenant: &TenantId, name: &UserName) -> Result<Reservation, StoreError> {
        let lease = self.lease.load(Ordering::Relaxed);
        if lease == 0 {
            return Err(unavailable("this node holds no lease"));
        }
        let key = claim_key(name.key());
        let value = self.claim_value(tenant);
        let mut kv = self.client.kv_client();
        let (k, v) = (key.clone(), value.clone());
        let answer = self.block(async move {
            let txn = Txn::new()
                .when(vec![Compare::create_revision(
                    k.clone(),
                    CompareOp::Equal,
                    0,
                )])
                .and_then(vec![TxnOp::put(
                    k.clone(),
                    v,
                    Some(PutOptions::new().with_lease(lease)),
                )])
                .or_else(vec![TxnOp::get(k, None)]);
            timed(kv.txn(txn)).await
        });
        let response = match answer {
            Ok(response) => response,
            Err(err) => {
                // The put may still be applied once etcd has a leader again: drop it then.
                self.unsettled
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(Pending::Abandon { key, value, lease });
                return Err(err);
            }
        };
        if response.succeeded() {
            let revision = response
                .header()
                .map_or(0, etcd_client::ResponseHeader::revision);
            return Ok(Reservation {
                key,
                revision,
                value,
            });
        }
        let holder = response.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().cloned(),
            _ => None,
        });
        let holder: Option<ClaimEntry> =
            holder.and_then(|kv| serde_json::from_slice(kv.value()).ok());
        match holder {
            // The tenant holds it already: the local index decides (same user or 409).
            Some(entry) if entry.tenant == tenant.as_str() => Ok(Reservation {
                key,
                revision: 0,
                value,
            }),
            _ => Err(StoreError::UserNameTaken(name.to_string())),
        }
    }

    /// After the local commit: confirms the reservation (put again without the lease, if it
    /// is still ours) or drops it, in the background (the name is already held either way:
    /// the reply need not wait). When etcd does not answer, it is retried by the
    /// keep-alive task until it does; a node that dies first leaves it to reconciliation.
    pub fn settle(&self, reservation: Reservation, committed: bool) {
        if reservation.revision == 0 {
            return;
        }
        let pending = Pending::Settle {
            key: reservation.key,
            revision: reservation.revision,
            value: reservation.value,
            committed,
        };
        let kv = self.client.kv_client();
        let unsettled = Arc::clone(&self.unsettled);
        self.runtime.spawn(async move {
            if let Err(err) = pending.clone().run(kv).await {
                tracing::warn!(%err, "a userName reservation could not be settled; retried when etcd answers");
                unsettled
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(pending);
            }
        });
    }

    /// After a local commit that released `name`: deletes the claim if `tenant` holds it
    /// (retried like [`settle`](Self::settle) when etcd does not answer).
    pub fn release(&self, tenant: &TenantId, name: &UserName) {
        let pending = Pending::Release {
            key: claim_key(name.key()),
            value: self.claim_value(tenant),
        };
        self.finish(pending);
    }

    fn finish(&self, pending: Pending) {
        let kv = self.client.kv_client();
        let attempt = pending.clone();
        if let Err(err) = self.block(async move { attempt.run(kv).await }) {
            tracing::warn!(%err, "a userName claim could not be settled; retried when etcd answers");
            self.unsettled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(pending);
        }
    }

    /// Retries the settlements etcd did not answer; keeps those it still does not.
    async fn retry_unsettled(&self) {
        let pending: Vec<Pending> = std::mem::take(
            &mut *self
                .unsettled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for item in pending {
            if item.clone().run(self.client.kv_client()).await.is_err() {
                self.unsettled
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(item);
            }
        }
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
            let existing = response.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().cloned(),
                _ => None,
            });
            let entry: Option<TenantEntry> =
                existing.and_then(|kv| serde_json::from_slice(kv.value()).ok());
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

    /// Makes etcd's claims agree with this node's: every local claim is put (without a
    /// lease) if absent or still a reservation; every confirmed claim naming this node
    /// that the database no longer holds is deleted. Returns the claims another tenant
    /// holds in etcd while this database holds them too (never expected; logged).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when etcd does not answer; the database's read errors.
    pub async fn reconcile(&self) -> Result<Vec<String>, StoreError> {
        let mut kv = self.client.kv_client();
        // etcd first, then the database: a claim confirmed in etcd was committed locally
        // before, so the database read after it has it.
        let response =
            timed(kv.get(claims_prefix(), Some(GetOptions::new().with_prefix()))).await?;
        let store = self.store.clone();
        let local = tokio::task::spawn_blocking(move || store.user_name_claims())
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let local: HashMap<String, TenantId> = local.into_iter().collect();
        let current = self.lease.load(Ordering::Relaxed);
        let mut remote: HashMap<String, (ClaimEntry, KeyValue)> = HashMap::new();
        for item in response.kvs() {
            let Ok(key) = item.key_str() else { continue };
            let Some(name) = key.strip_prefix(&claims_prefix()) else {
                continue;
            };
            if let Ok(entry) = serde_json::from_slice::<ClaimEntry>(item.value()) {
                remote.insert(name.to_owned(), (entry, item.clone()));
            }
        }
        let mut conflicts = Vec::new();
        for (name, tenant) in &local {
            let key = claim_key(name);
            let value = self.claim_value(tenant);
            match remote.get(name) {
                Some((entry, item)) if entry.tenant == tenant.as_str() => {
                    if item.lease() != 0 && item.lease() != current {
                        // A reservation of an earlier run, committed locally: confirm it.
                        let ours = Compare::mod_revision(
                            key.clone(),
                            CompareOp::Equal,
                            item.mod_revision(),
                        );
                        timed(
                            kv.txn(
                                Txn::new()
                                    .when(vec![ours])
                                    .and_then(vec![TxnOp::put(key, value, None)]),
                            ),
                        )
                        .await?;
                    }
                }
                Some((entry, _)) => {
                    tracing::error!(
                        user_name = %name,
                        local = %tenant,
                        etcd = %entry.tenant,
                        "a userName is held here and by another tenant in etcd"
                    );
                    conflicts.push(name.clone());
                }
                None => {
                    let absent = Compare::create_revision(key.clone(), CompareOp::Equal, 0);
                    let response = timed(
                        kv.txn(
                            Txn::new()
                                .when(vec![absent])
                                .and_then(vec![TxnOp::put(key, value, None)]),
                        ),
                    )
                    .await?;
                    if !response.succeeded() {
                        tracing::debug!(user_name = %name, "claimed meanwhile; checked next time");
                    }
                }
            }
        }
        for (name, (entry, item)) in &remote {
            let held = local.get(name).is_some_and(|t| t.as_str() == entry.tenant);
            let ours = entry.node == self.node;
            let in_flight = item.lease() != 0 && item.lease() == current;
            if ours && !held && !in_flight {
                let key = claim_key(name);
                let unchanged =
                    Compare::mod_revision(key.clone(), CompareOp::Equal, item.mod_revision());
                timed(
                    kv.txn(
                        Txn::new()
                            .when(vec![unchanged])
                            .and_then(vec![TxnOp::delete(key, None)]),
                    ),
                )
                .await?;
            }
        }
        Ok(conflicts)
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

/// Places a tenant on `node` from outside any node (`provisio tenant create --node`): the
/// entry is written not ready; the owner creates the tenant when its watch sees it and marks
/// it ready. Waits for that (at most `wait`).
///
/// # Errors
///
/// When etcd does not answer, the node is not running, the name is taken or invalid, or the node does not create the tenant within `wait`.
pub async fn place_remote(
    endpoints: &[String],
    tenant: &str,
    node: &str,
    wait: Duration,
) -> Result<TenantEntry, String> {
    if !TenantId::is_valid(tenant) {
        return Err(format!(
            "invalid tenant name `{tenant}`: use 1 to 64 letters, digits, `_` or `-`"
        ));
    }
    let client = tokio::time::timeout(Duration::from_secs(5), connect(endpoints))
        .await
        .map_err(|_| "cannot reach etcd: no answer within 5s".to_string())?
        .map_err(|e| format!("cannot reach etcd: {e}"))?;
    let mut kv = client.kv_client();
    let node_entry = timed(kv.get(node_key(node), None))
        .await
        .map_err(|e| e.to_string())?;
    let Some(node_kv) = node_entry.kvs().first() else {
        return Err(format!(
            "node `{node}` is not running (it has no entry in etcd); start it first"
        ));
    };
    let node_entry: NodeEntry =
        serde_json::from_slice(node_kv.value()).map_err(|e| format!("bad node entry: {e}"))?;
    let key = tenant_key(tenant);
    let value = serde_json::to_vec(&TenantEntry {
        node: node.to_owned(),
        url: node_entry.url,
        ready: false,
    })
    .unwrap_or_default();
    let txn = Txn::new()
        .when(vec![Compare::create_revision(
            key.clone(),
            CompareOp::Equal,
            0,
        )])
        .and_then(vec![TxnOp::put(key.clone(), value, None)]);
    let response = timed(kv.txn(txn)).await.map_err(|e| e.to_string())?;
    if !response.succeeded() {
        return Err(format!("tenant `{tenant}` already exists"));
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let got = timed(kv.get(key.clone(), None))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(entry) = got
            .kvs()
            .first()
            .and_then(|kv| serde_json::from_slice::<TenantEntry>(kv.value()).ok())
            && entry.ready
        {
            return Ok(entry);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "node `{node}` did not create tenant `{tenant}` within {}s (the placement stays; it creates it when it sees it)",
                wait.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One node as `provisio cluster status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Name.
    pub node: String,
    /// Whether it holds a live lease in etcd.
    pub alive: bool,
    /// SCIM origin.
    pub url: String,
    /// Whether its SCIM listener answered just now.
    pub answers: bool,
    /// Its tenants.
    pub tenants: Vec<String>,
}

/// The cluster as etcd has it, each live node probed over HTTP.
///
/// # Errors
///
/// When etcd does not answer.
pub async fn status(endpoints: &[String]) -> Result<Vec<NodeStatus>, String> {
    let client = tokio::time::timeout(Duration::from_secs(5), connect(endpoints))
        .await
        .map_err(|_| "cannot reach etcd: no answer within 5s".to_string())?
        .map_err(|e| format!("cannot reach etcd: {e}"))?;
    let mut kv = client.kv_client();
    let response = timed(kv.get(dir_prefix(), Some(GetOptions::new().with_prefix())))
        .await
        .map_err(|e| e.to_string())?;
    let mut directory = Directory::default();
    for kv in response.kvs() {
        directory.apply(kv, false);
    }
    let mut names: Vec<String> = directory
        .nodes
        .keys()
        .chain(directory.tenants.values().map(|t| &t.node))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let node = directory.nodes.get(&name);
        let url = node.map_or_else(
            || {
                directory
                    .tenants
                    .values()
                    .find(|t| t.node == name)
                    .map(|t| t.url.clone())
                    .unwrap_or_default()
            },
            |n| n.url.clone(),
        );
        let answers = forward::probe(&url).await;
        let mut tenants: Vec<String> = directory
            .tenants
            .iter()
            .filter(|(_, t)| t.node == name)
            .map(|(n, _)| n.clone())
            .collect();
        tenants.sort();
        out.push(NodeStatus {
            node: name,
            alive: node.is_some(),
            url,
            answers,
            tenants,
        });
    }
    Ok(out)
}

/// What `provisio db verify --cluster` finds between a database and etcd's claims.
///
/// # Errors
///
/// When etcd does not answer or the database cannot be read.
pub async fn verify_claims(
    endpoints: &[String],
    node: &str,
    store: &Store,
) -> Result<Vec<String>, String> {
    let client = tokio::time::timeout(Duration::from_secs(5), connect(endpoints))
        .await
        .map_err(|_| "cannot reach etcd: no answer within 5s".to_string())?
        .map_err(|e| format!("cannot reach etcd: {e}"))?;
    let mut kv = client.kv_client();
    let response = timed(kv.get(claims_prefix(), Some(GetOptions::new().with_prefix())))
        .await
        .map_err(|e| e.to_string())?;
    let local: HashMap<String, TenantId> = store
        .user_name_claims()
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let mut remote: HashMap<String, ClaimEntry> = HashMap::new();
    for item in response.kvs() {
        let Ok(key) = item.key_str() else { continue };
        let Some(name) = key.strip_prefix(&claims_prefix()) else {
            continue;
        };
        if let Ok(entry) = serde_json::from_slice::<ClaimEntry>(item.value()) {
            remote.insert(name.to_owned(), entry);
        }
    }
    let mut problems = Vec::new();
    for (name, tenant) in &local {
        match remote.get(name) {
            Some(entry) if entry.tenant == tenant.as_str() => {}
            Some(entry) => problems.push(format!(
                "userName claim `{name}` of tenant `{tenant}` is held in etcd by tenant `{}` (node `{}`)",
                entry.tenant, entry.node
            )),
            None => problems.push(format!(
                "userName claim `{name}` of tenant `{tenant}` is missing in etcd"
            )),
        }
    }
    for (name, entry) in &remote {
        if entry.node == node && !local.contains_key(name) {
            problems.push(format!(
                "etcd claims userName `{name}` for tenant `{}` on this node, which does not hold it",
                entry.tenant
            ));
        }
    }
    problems.sort();
    Ok(problems)
}
