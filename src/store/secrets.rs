//! Kept passwords: an Argon2id hash per entity (`password hash;`), written with the Plan
//! that kept it and removed with the resource. No read returns a hash; a snapshot only
//! answers whether a password matches.

use super::tables::PASSWORD_HASHES;
use super::{StoreError, TenantRead, TenantWrite};
use crate::domain::ResourceId;
use crate::password::{PasswordHash, verify};

impl TenantWrite {
    /// Keeps `hash` as the password of entity `id` (replacing any earlier one).
    pub(crate) fn put_password_hash(
        &mut self,
        id: &ResourceId,
        hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let mut table = self.txn().open_table(PASSWORD_HASHES)?;
        table.insert((self.tenant.as_str(), id.as_str()), hash.as_str())?;
        Ok(())
    }

    /// Forgets the password of entity `id`, if it has one.
    pub(crate) fn remove_password_hash(&mut self, id: &ResourceId) -> Result<(), StoreError> {
        let mut table = self.txn().open_table(PASSWORD_HASHES)?;
        table.remove((self.tenant.as_str(), id.as_str()))?;
        Ok(())
    }
}

impl TenantRead {
    /// Whether entity `id` has a kept password and `candidate` is it (Argon2id verify).
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn password_matches(&self, id: &ResourceId, candidate: &str) -> Result<bool, StoreError> {
        let table = self.txn.table(PASSWORD_HASHES)?;
        let Some(guard) = table.get((self.tenant.as_str(), id.as_str()))? else {
            return Ok(false);
        };
        Ok(verify(guard.value(), candidate))
    }

    /// Whether entity `id` has a kept password.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn has_password(&self, id: &ResourceId) -> Result<bool, StoreError> {
        let table = self.txn.table(PASSWORD_HASHES)?;
        Ok(table.get((self.tenant.as_str(), id.as_str()))?.is_some())
    }
}
