//! What a tenant's keys may do: the tenant's edition and each integration user's role.
//! The store keeps the names as given; which names exist, and which may provision, is the
//! profile's (`check::Editions`, `check::Roles`).

use redb::ReadableTable;

use super::query::{decode, each_of_tenant, encode, require_tenant};
use super::tables::{INTEGRATION_USERS, TENANTS};
use super::{IntegrationUser, KeyRecord, Store, StoreError, TenantRecord};
use crate::domain::{TenantId, Timestamp};

/// Creates the user record of `user` if absent; sets its role when `role` is given.
pub(super) fn upsert_user(
    txn: &redb::WriteTransaction,
    tenant: &str,
    user: &str,
    role: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(INTEGRATION_USERS)?;
    let existing: Option<IntegrationUser> = match table.get((tenant, user))? {
        Some(guard) => Some(decode("integration_users", guard.value())?),
        None => None,
    };
    let record = match existing {
        Some(mut record) => {
            if role.is_none() {
                return Ok(());
            }
            record.role = role.map(str::to_owned);
            record
        }
        None => IntegrationUser {
            tenant: TenantId::new(tenant),
            user: user.to_owned(),
            role: role.map(str::to_owned),
            created: now,
        },
    };
    let bytes = encode("integration_users", &record)?;
    table.insert((tenant, user), bytes.as_slice())?;
    Ok(())
}

/// The edition of a key's tenant and the role of its user, read in `txn`.
pub(super) fn edition_and_role(
    txn: &redb::ReadTransaction,
    key: &KeyRecord,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let tenant = key.tenant.as_str();
    let edition = match txn.open_table(TENANTS)?.get(tenant)? {
        Some(guard) => decode::<TenantRecord>("tenants", guard.value())?.edition,
        None => None,
    };
    let role = match txn
        .open_table(INTEGRATION_USERS)?
        .get((tenant, key.user.as_str()))?
    {
        Some(guard) => decode::<IntegrationUser>("integration_users", guard.value())?.role,
        None => None,
    };
    Ok((edition, role))
}

impl Store {
    /// Sets a tenant's edition (the caller checks the name against the profile); its keys
    /// carry the new edition from their next request. Returns the record before and after.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownTenant`], or a storage failure.
    pub fn set_edition(
        &self,
        tenant: &TenantId,
        edition: &str,
    ) -> Result<(TenantRecord, TenantRecord), StoreError> {
        let txn = self.begin_write()?;
        let (before, after) = {
            let mut table = txn.open_table(TENANTS)?;
            let before: TenantRecord = match table.get(tenant.as_str())? {
                Some(guard) => decode("tenants", guard.value())?,
                None => return Err(StoreError::UnknownTenant(tenant.to_string())),
            };
            let mut after = before.clone();
            after.edition = Some(edition.to_owned());
            let bytes = encode("tenants", &after)?;
            table.insert(tenant.as_str(), bytes.as_slice())?;
            (before, after)
        };
        txn.commit()?;
        self.forget_keys();
        Ok((before, after))
    }

    /// One tenant's record.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownTenant`], or a storage failure.
    pub fn tenant(&self, tenant: &TenantId) -> Result<TenantRecord, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TENANTS)?;
        match table.get(tenant.as_str())? {
            Some(guard) => decode("tenants", guard.value()),
            None => Err(StoreError::UnknownTenant(tenant.to_string())),
        }
    }

    /// A tenant's integration users, in name order.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownTenant`], or a storage failure.
    pub fn list_users(&self, tenant: &TenantId) -> Result<Vec<IntegrationUser>, StoreError> {
        let name = tenant.as_str();
        let txn = self.db.begin_read()?;
        require_tenant(&txn.open_table(TENANTS)?, name)?;
        let mut users = Vec::new();
        each_of_tenant(&txn.open_table(INTEGRATION_USERS)?, name, |bytes| {
            users.push(decode("integration_users", bytes)?);
            Ok(())
        })?;
        Ok(users)
    }

    /// Sets an integration user's role (the caller checks the name against the profile);
    /// its keys carry the new role from their next request. Returns the record before and
    /// after.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownTenant`], [`StoreError::UnknownUser`], or a storage failure.
    pub fn set_role(
        &self,
        tenant: &TenantId,
        user: &str,
        role: &str,
    ) -> Result<(IntegrationUser, IntegrationUser), StoreError> {
        let name = tenant.as_str();
        let txn = self.begin_write()?;
        let (before, after) = {
            require_tenant(&txn.open_table(TENANTS)?, name)?;
            let mut table = txn.open_table(INTEGRATION_USERS)?;
            let before: IntegrationUser = match table.get((name, user))? {
                Some(guard) => decode("integration_users", guard.value())?,
                None => {
                    return Err(StoreError::UnknownUser {
                        tenant: name.to_owned(),
                        user: user.to_owned(),
                    });
                }
            };
            let mut after = before.clone();
            after.role = Some(role.to_owned());
            let bytes = encode("integration_users", &after)?;
            table.insert((name, user), bytes.as_slice())?;
            (before, after)
        };
        txn.commit()?;
        self.forget_keys();
        Ok((before, after))
    }
}
