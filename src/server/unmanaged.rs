//! Pre-existing entities in SCIM reads, for an identity provider's import (Okta's "Import"
//! reads `GET /Users` and `GET /Groups` page by page): the tenant's unmanaged users and
//! groups are listed after its provisioned resources, with their entity ids, rendered from
//! their fields (`eval::reverse`), so the import matches them by userName or group name. A
//! write to one picks it up (`eval::prepare`).

use std::sync::Arc;

use crate::check::CheckedRules;
use crate::domain::{
    EntityType, FieldName, Lifecycle, Meta, ResourceId, ResourceKind, StoredResource, TenantId,
    Timestamp,
};
use crate::eval::reverse::resource_of;
use crate::scim::filter::{IndexedAttr, equality_hint};
use crate::scim::list::ListQuery;
use crate::server::App;
use crate::store::{StoreError, TenantRead};

/// The rules of a tenant and the entity type a kind's unmanaged entities have, when the
/// rules map the kind.
pub(super) struct Listed {
    rules: Arc<CheckedRules>,
    kind: ResourceKind,
    entity_type: EntityType,
}

impl Listed {
    /// What a tenant lists of a kind's unmanaged entities.
    pub(super) fn of(app: &App, tenant: &TenantId, kind: ResourceKind) -> Option<Listed> {
        let rules = app.profile_for(tenant).rules;
        let entity_type = EntityType::new(rules.entity_of(kind)?.name.as_str());
        Some(Listed {
            rules,
            kind,
            entity_type,
        })
    }

    /// An unmanaged entity as a stored resource: its rendered body, `meta` from its import
    /// (version 0: it has never been written through SCIM).
    fn resource(&self, entity: crate::domain::Entity, imported: Timestamp) -> StoredResource {
        StoredResource {
            kind: self.kind,
            body: resource_of(&self.rules, self.kind, &entity),
            meta: Meta {
                created: imported,
                last_modified: imported,
                version: 0,
            },
            entity,
        }
    }

    /// How many are listed.
    pub(super) fn count(&self, read: &TenantRead) -> Result<usize, StoreError> {
        read.unmanaged_count(&self.entity_type)
    }

    /// At most `count` of them in id order, `skip` stepped over.
    pub(super) fn page(
        &self,
        read: &TenantRead,
        skip: usize,
        count: usize,
    ) -> Result<Vec<StoredResource>, StoreError> {
        Ok(read
            .unmanaged_page(&self.entity_type, skip, count)?
            .into_iter()
            .map(|(entity, time)| self.resource(entity, time))
            .collect())
    }

    /// The one with this id.
    pub(super) fn get(
        &self,
        read: &TenantRead,
        id: &ResourceId,
    ) -> Result<Option<StoredResource>, StoreError> {
        Ok(read
            .unmanaged(&self.entity_type, id)?
            .map(|(entity, time)| self.resource(entity, time)))
    }

    /// The ones a filter can match: through the natural-key index for an equality on
    /// `userName` / `displayName`, none for `externalId` (they have none), else all.
    pub(super) fn candidates(
        &self,
        read: &TenantRead,
        query: &ListQuery,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let hint = query.filter.as_ref().and_then(equality_hint);
        let by_key = match (self.kind, hint) {
            (_, Some((IndexedAttr::ExternalId, _))) => return Ok(Vec::new()),
            (ResourceKind::User, Some((IndexedAttr::UserName, value)))
            | (ResourceKind::Group, Some((IndexedAttr::DisplayName, value))) => value,
            _ => return self.page(read, 0, usize::MAX),
        };
        let Some(key) = self
            .rules
            .entity_of(self.kind)
            .and_then(crate::check::EntityDef::natural_key)
        else {
            return Ok(Vec::new());
        };
        // Most tenants list none (nothing imported, or all of it provisioned since): one
        // seek of the small unmanaged index instead of the key index and then it.
        if !read.any_unmanaged(&self.entity_type)? {
            return Ok(Vec::new());
        }
        // A provisioned holder of the key has no row in the unmanaged index: looked up by
        // id there, it is passed over without its entity being read.
        let Some(id) = read.entity_id_by_key(
            &self.entity_type,
            &FieldName::new(key.name.as_str()),
            &by_key,
        )?
        else {
            return Ok(Vec::new());
        };
        Ok(self
            .get(read, &id)?
            .filter(|r| !r.entity.managed && r.entity.lifecycle != Lifecycle::Deleted)
            .into_iter()
            .collect())
    }
}
