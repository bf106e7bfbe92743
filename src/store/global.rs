//! The store's side of a cluster (see [`crate::cluster`]): global userName claims reserved
//! in etcd around each local commit, directory entries written with tenants and keys, and
//! the local facts start-up reconciliation compares with etcd.
//!
//! Without a cluster (the default) none of this runs: [`Store::commit_all`] goes straight
//! to the writer thread.

use std::sync::Arc;

use redb::ReadableTable;

use super::tables::{KEYS, USER_NAMES};
use super::{Store, StoreError, StoredKey, decode};
use crate::cluster::{Cluster, Reservation};
use crate::domain::{TenantId, UserName};
use crate::store::{PlannedWrite, Written};

/// What one write needs of etcd around its local commit.
#[derive(Default)]
struct Around {
    /// The name reserved before the commit, to confirm or drop after it.
    reserved: Option<Reservation>,
    /// The name released by the commit, to release in etcd after it.
    release: Option<(TenantId, UserName)>,
}

impl Store {
    /// Joins this store to a cluster: from now on every userName claim is reserved in etcd
    /// and every tenant and key is written to its directory. Set once, while starting.
    pub fn set_cluster(&self, cluster: Arc<Cluster>) {
        let _ = self.cluster.set(cluster);
    }

    /// The cluster this store is part of, if any.
    #[must_use]
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    /// Every local userName claim: `(normalised name, tenant)`.
    ///
    /// # Errors
    ///
    /// When the database cannot be read.
    pub fn user_name_claims(&self) -> Result<Vec<(String, TenantId)>, StoreError> {
        let txn = self.db.begin_read()?;
        txn.open_table(USER_NAMES)?
            .iter()?
            .map(|item| {
                let (name, holder) = item?;
                Ok((name.value().to_owned(), TenantId::new(holder.value().0)))
            })
            .collect()
    }

    /// Every unrevoked key: `(hex SHA-256, tenant)`.
    ///
    /// # Errors
    ///
    /// When the database cannot be read.
    pub fn key_hashes(&self) -> Result<Vec<(String, TenantId)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KEYS)?;
        let mut keys = Vec::new();
        for item in table.iter()? {
            let (_, value) = item?;
            let stored: StoredKey = decode("api_keys", value.value())?;
            if !stored.record.revoked {
                keys.push((hex(&stored.hash), stored.record.tenant));
            }
        }
        Ok(keys)
    }

    /// [`commit_all`](Store::commit_all) in a cluster: each write's new userName is reserved
    /// in etcd first (a write whose name is taken elsewhere, or that cannot reach etcd, is
    /// answered without being written), the others commit locally, then each reservation is
    /// confirmed (committed) or dropped (not), and each released name is released.
    pub(super) fn commit_clustered(
        &self,
        cluster: &Cluster,
        writes: Vec<PlannedWrite>,
    ) -> Vec<Result<Written, StoreError>> {
        let count = writes.len();
        let mut results: Vec<Option<Result<Written, StoreError>>> =
            (0..count).map(|_| None).collect();
        let mut around: Vec<Around> = (0..count).map(|_| Around::default()).collect();
        let mut passed = Vec::with_capacity(count);
        let mut positions = Vec::with_capacity(count);
        for (index, write) in writes.into_iter().enumerate() {
            match prepare(cluster, &write) {
                Ok(needs) => {
                    around[index] = needs;
                    passed.push(write);
                    positions.push(index);
                }
                Err(err) => results[index] = Some(Err(err)),
            }
        }
        let committed = self.commit_local(passed);
        for (index, result) in positions.into_iter().zip(committed) {
            let needs = std::mem::take(&mut around[index]);
            let ok = result.is_ok();
            if let Some(reserved) = needs.reserved {
                cluster.settle(reserved, ok);
            }
            if ok && let Some((tenant, name)) = needs.release {
                cluster.release(&tenant, &name);
            }
            results[index] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(StoreError::WriterStopped)))
            .collect()
    }
}

/// Reserves the write's new userName, or checks that etcd answers for the one it releases.
fn prepare(cluster: &Cluster, write: &PlannedWrite) -> Result<Around, StoreError> {
    let mut needs = Around::default();
    if write.plan.is_rejected() {
        return Ok(needs);
    }
    let Some(change) = &write.plan.user_name else {
        return Ok(needs);
    };
    if let Some(name) = &change.claim {
        needs.reserved = Some(cluster.reserve(&write.tenant, name)?);
    }
    if let Some(name) = &change.release {
        if needs.reserved.is_none() {
            // A release needs etcd too: refuse now rather than leave a claim behind.
            cluster.reachable()?;
        }
        needs.release = Some((write.tenant.clone(), name.clone()));
    }
    Ok(needs)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
