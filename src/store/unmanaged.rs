//! The index of pre-existing entities not yet picked up (`UNMANAGED`), kept in step by
//! `put_entity`: SCIM lists them, page by page, for an identity provider's import, at a
//! cost proportional to the page (and to their number for a count), never to the tenant's
//! managed entities.

use redb::{ReadableTable, TableHandle};

use super::query::decode;
use super::tables::{ENTITIES, UNMANAGED};
use super::{Store, StoreError, TenantRead, TenantWrite};
use crate::domain::{Entity, EntityType, Lifecycle, ResourceId, Timestamp};

/// Whether an entity is listed: unmanaged and not deleted.
fn listed(entity: &Entity) -> bool {
    !entity.managed && entity.lifecycle != Lifecycle::Deleted
}

impl TenantWrite {
    /// Moves `new`'s entry in the index of unmanaged entities (`old` is what it replaces).
    pub(crate) fn index_unmanaged(
        &self,
        old: Option<&Entity>,
        new: &Entity,
    ) -> Result<(), StoreError> {
        let was = old.filter(|o| listed(o));
        let is = listed(new);
        if was.is_some_and(|o| o.entity_type == new.entity_type) == is {
            return Ok(());
        }
        let tenant = self.tenant.as_str();
        let id = new.id.as_str();
        let mut table = self.txn().open_table(UNMANAGED)?;
        if let Some(old) = was {
            table.remove((tenant, old.entity_type.as_str(), id))?;
        }
        if is {
            let time = self.now.to_string();
            table.insert((tenant, new.entity_type.as_str(), id), time.as_str())?;
        }
        Ok(())
    }
}

impl TenantRead {
    /// Whether any unmanaged entity of a type is listed: one seek, however many there are.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn any_unmanaged(&self, entity_type: &EntityType) -> Result<bool, StoreError> {
        let table = self.txn.table(UNMANAGED)?;
        let tenant = self.tenant.as_str();
        let first = table.range((tenant, entity_type.as_str(), "")..)?.next();
        Ok(match first {
            Some(item) => {
                let (key, _) = item?;
                let (t, ty, _) = key.value();
                t == tenant && ty == entity_type.as_str()
            }
            None => false,
        })
    }

    /// How many unmanaged entities of a type are listed.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn unmanaged_count(&self, entity_type: &EntityType) -> Result<usize, StoreError> {
        let table = self.txn.table(UNMANAGED)?;
        let tenant = self.tenant.as_str();
        let mut count = 0;
        for item in table.range((tenant, entity_type.as_str(), "")..)? {
            let (key, _) = item?;
            let (t, ty, _) = key.value();
            if t != tenant || ty != entity_type.as_str() {
                break;
            }
            count += 1;
        }
        Ok(count)
    }

    /// At most `count` unmanaged entities of a type in id order, `skip` stepped over, each
    /// with the time it was imported.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn unmanaged_page(
        &self,
        entity_type: &EntityType,
        skip: usize,
        count: usize,
    ) -> Result<Vec<(Entity, Timestamp)>, StoreError> {
        let table = self.txn.table(UNMANAGED)?;
        let tenant = self.tenant.as_str();
        let mut page = Vec::new();
        for item in table
            .range((tenant, entity_type.as_str(), "")..)?
            .skip(skip)
        {
            if page.len() == count {
                break;
            }
            let (key, time) = item?;
            let (t, ty, id) = key.value();
            if t != tenant || ty != entity_type.as_str() {
                break;
            }
            let time = Timestamp::parse(time.value()).unwrap_or(Timestamp::EPOCH);
            if let Some(entity) = self.get_entity(&ResourceId::new(id))? {
                page.push((entity, time));
            }
        }
        Ok(page)
    }

    /// The unmanaged entity of a type with this id, and when it was imported.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn unmanaged(
        &self,
        entity_type: &EntityType,
        id: &ResourceId,
    ) -> Result<Option<(Entity, Timestamp)>, StoreError> {
        let table = self.txn.table(UNMANAGED)?;
        let Some(time) = table.get((self.tenant.as_str(), entity_type.as_str(), id.as_str()))?
        else {
            return Ok(None);
        };
        let time = Timestamp::parse(time.value()).unwrap_or(Timestamp::EPOCH);
        Ok(self.get_entity(id)?.map(|entity| (entity, time)))
    }
}

/// Whether the database already has the index (one made before it existed has not).
pub(super) fn index_exists(db: &super::db::Db) -> Result<bool, StoreError> {
    let txn = db.begin_read()?;
    let found = txn
        .list_tables()?
        .any(|table| table.name() == UNMANAGED.name());
    Ok(found)
}

/// Builds the index from the entities, once, for a database made before it existed.
pub(super) fn backfill(store: &Store) -> Result<(), StoreError> {
    let txn = store.begin_write()?;
    {
        let entities = txn.open_table(ENTITIES)?;
        let mut index = txn.open_table(UNMANAGED)?;
        let time = store.now().to_string();
        for item in entities.iter()? {
            let (key, value) = item?;
            let (tenant, id) = key.value();
            let entity: Entity = decode("entities", value.value())?;
            if listed(&entity) {
                index.insert((tenant, entity.entity_type.as_str(), id), time.as_str())?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}
