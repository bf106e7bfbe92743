//! Global userName claims in etcd: reserve under the node's lease, settle after the local
//! commit, release, reconcile at start, and compare a database with etcd.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use etcd_client::{Compare, CompareOp, GetOptions, KeyValue, PutOptions, Txn, TxnOp};

use super::{
    ClaimEntry, Cluster, Pending, Reservation, claim_key, claims_prefix, got_entry, reach, timed,
    unavailable,
};
use crate::domain::{TenantId, UserName};
use crate::store::{Store, StoreError};

impl Cluster {
    pub(super) fn claim_value(&self, tenant: &TenantId) -> Vec<u8> {
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
        let holder: Option<ClaimEntry> = got_entry(&response);
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

    pub(super) fn finish(&self, pending: Pending) {
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
    pub(super) async fn retry_unsettled(&self) {
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
    let client = reach(endpoints).await?;
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
