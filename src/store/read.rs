//! [`TenantRead`] and the queries shared with [`TenantWrite`].

use redb::ReadTransaction;
use serde_json::Value;

use super::StoreError;
use super::query::Queries;
use super::write::TenantWrite;
use crate::domain::{
    Entity, EntityType, FieldName, PendingRef, ResourceBody, ResourceId, ResourceKind, StateError,
    StateView, StoredResource, TenantId, UserName,
};

/// A consistent snapshot of one tenant's state. Never blocks writers, never sees writes
/// committed after it began.
pub struct TenantRead {
    pub(crate) txn: ReadTransaction,
    pub(crate) tenant: TenantId,
}

impl TenantRead {
    /// The tenant this snapshot is scoped to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

/// The same query methods on a read snapshot and on a write transaction.
macro_rules! queries {
    ($ty:ty) => {
        impl $ty {
            fn q(&self) -> Queries<'_, impl super::query::Txn> {
                Queries {
                    txn: &self.txn,
                    tenant: self.tenant.as_str(),
                }
            }

            /// A resource of this tenant by kind and id, joined with its entity.
            pub fn get_resource(
                &self,
                kind: ResourceKind,
                id: &ResourceId,
            ) -> Result<Option<StoredResource>, StoreError> {
                self.q().resource(kind, id.as_str())
            }

            /// A resource's body and `meta`, without reading its entity.
            pub fn get_resource_body(
                &self,
                kind: ResourceKind,
                id: &ResourceId,
            ) -> Result<Option<(Value, crate::domain::Meta)>, StoreError> {
                self.q().resource_body(kind, id.as_str())
            }

            /// A resource's body as its stored JSON text, unparsed, and its `meta`: what
            /// is shown of it can be written straight from that text.
            pub fn get_resource_raw(
                &self,
                kind: ResourceKind,
                id: &ResourceId,
            ) -> Result<Option<(Box<serde_json::value::RawValue>, crate::domain::Meta)>, StoreError>
            {
                self.q().resource_raw(kind, id.as_str())
            }

            /// The id of the entity of a type whose unique field holds `value` (matched
            /// case-insensitively), without reading the entity.
            pub fn entity_id_by_key(
                &self,
                entity_type: &EntityType,
                field: &FieldName,
                value: &str,
            ) -> Result<Option<ResourceId>, StoreError> {
                Ok(self
                    .q()
                    .entity_id_by_key(entity_type, field, value)?
                    .map(ResourceId::new))
            }

            /// This tenant's user holding `user_name`: id, body as stored text, `meta`.
            pub fn user_raw_by_name(
                &self,
                user_name: &UserName,
            ) -> Result<
                Option<(
                    ResourceId,
                    Box<serde_json::value::RawValue>,
                    crate::domain::Meta,
                )>,
                StoreError,
            > {
                self.q().user_raw_by_name(user_name)
            }

            /// This tenant's user holding `user_name`, body and meta only.
            pub fn user_body_by_name(
                &self,
                user_name: &UserName,
            ) -> Result<Option<ResourceBody>, StoreError> {
                self.q().user_body_by_name(user_name)
            }

            /// The resource of a kind with this externalId, body and meta only.
            pub fn body_by_external_id(
                &self,
                kind: ResourceKind,
                external_id: &str,
            ) -> Result<Option<ResourceBody>, StoreError> {
                self.q().body_by_external_id(kind, external_id)
            }

            /// The group with this displayName (case-insensitive), body and meta only.
            pub fn group_body_by_name(
                &self,
                name: &str,
            ) -> Result<Option<ResourceBody>, StoreError> {
                self.q().group_body_by_name(name)
            }

            /// Bodies of a kind in id order from the 1-based `start_index`, at most `count`
            /// (`usize::MAX`: all), without their entities.
            pub fn page_bodies(
                &self,
                kind: ResourceKind,
                start_index: usize,
                count: usize,
            ) -> Result<Vec<ResourceBody>, StoreError> {
                self.q().bodies(kind, start_index.saturating_sub(1), count)
            }

            /// The ids of every resource of a kind, in id order (the stable list order).
            pub fn list_ids(&self, kind: ResourceKind) -> Result<Vec<ResourceId>, StoreError> {
                self.q().list_ids(kind)
            }

            /// Every resource of a kind, in id order (for filters no index answers).
            pub fn resources(&self, kind: ResourceKind) -> Result<Vec<StoredResource>, StoreError> {
                self.q().resources(kind)
            }

            /// At most `count` resources in id order from the 1-based `start_index`
            /// (0 is taken as 1). Skipped rows are stepped over, not decoded.
            pub fn page(
                &self,
                kind: ResourceKind,
                start_index: usize,
                count: usize,
            ) -> Result<Vec<StoredResource>, StoreError> {
                self.q().page(kind, start_index, count)
            }

            /// At most `count` resources in id order after the id `after` (exclusive), or
            /// from the first: a cursor page whose cost is proportional to the page.
            pub fn page_after(
                &self,
                kind: ResourceKind,
                after: Option<&ResourceId>,
                count: usize,
            ) -> Result<Vec<StoredResource>, StoreError> {
                self.q()
                    .page_after(kind, after.map(ResourceId::as_str), count)
            }

            /// The number of resources of a kind (one read).
            pub fn count(&self, kind: ResourceKind) -> Result<u64, StoreError> {
                self.q().count(kind)
            }

            /// This tenant's User resource holding `user_name`, through the global index.
            /// A name held in another tenant gives `None`.
            pub fn by_user_name(
                &self,
                user_name: &UserName,
            ) -> Result<Option<StoredResource>, StoreError> {
                self.q().by_user_name(user_name)
            }

            /// The resource of a kind with this externalId (exact match).
            pub fn by_external_id(
                &self,
                kind: ResourceKind,
                external_id: &str,
            ) -> Result<Option<StoredResource>, StoreError> {
                self.q().by_external_id(kind, external_id)
            }

            /// The Group resource with this displayName (case-insensitive).
            pub fn by_group_name(&self, name: &str) -> Result<Option<StoredResource>, StoreError> {
                self.q().by_group_name(name)
            }

            /// Member user ids of a group, in id order.
            pub fn members_of(&self, group: &ResourceId) -> Result<Vec<ResourceId>, StoreError> {
                self.q().members_of(group.as_str())
            }

            /// A group's `displayName`, when it is a string (the rest of it unread).
            pub fn group_display_name(
                &self,
                id: &ResourceId,
            ) -> Result<Option<String>, StoreError> {
                self.q().group_display_name(id.as_str())
            }

            /// Group ids a user is a member of, in id order.
            pub fn groups_of(&self, user: &ResourceId) -> Result<Vec<ResourceId>, StoreError> {
                self.q().groups_of(user.as_str())
            }

            /// An entity of this tenant by id (managed or not).
            pub fn get_entity(&self, id: &ResourceId) -> Result<Option<Entity>, StoreError> {
                self.q().entity(id.as_str())
            }

            /// Every entity of a type, in id order (including `Deleted` ones).
            pub fn entities_of_type(
                &self,
                entity_type: &EntityType,
            ) -> Result<Vec<Entity>, StoreError> {
                self.q().entities_of_type(entity_type)
            }

            /// Every pending reference waiting on behalf of `user_id` (to drop them when
            /// that user is deleted or its reference is set), in a stable order. Scans the
            /// tenant's pending references.
            pub fn pending_of(&self, user_id: &ResourceId) -> Result<Vec<PendingRef>, StoreError> {
                self.q().pending_of(user_id.as_str())
            }

            /// The tenant's outbox: `(seq, notification)` in order.
            pub fn outbox(&self) -> Result<Vec<(u64, Value)>, StoreError> {
                self.q().outbox()
            }
        }

        impl StateView for $ty {
            fn resource(
                &self,
                kind: ResourceKind,
                id: &ResourceId,
            ) -> Result<Option<StoredResource>, StateError> {
                Ok(self.q().resource(kind, id.as_str())?)
            }

            fn entity(&self, id: &ResourceId) -> Result<Option<Entity>, StateError> {
                Ok(self.q().entity(id.as_str())?)
            }

            fn find_entity(
                &self,
                entity_type: &EntityType,
                field: &FieldName,
                value: &str,
            ) -> Result<Option<Entity>, StateError> {
                Ok(self.q().find_entity(entity_type, field, value)?)
            }

            fn user_name_taken_elsewhere(&self, user_name: &UserName) -> Result<bool, StateError> {
                Ok(self.q().user_name_taken_elsewhere(user_name)?)
            }

            fn is_member(&self, group: &ResourceId, user: &ResourceId) -> Result<bool, StateError> {
                Ok(self.q().is_member(group.as_str(), user.as_str())?)
            }

            fn members(&self, group: &ResourceId) -> Result<Vec<ResourceId>, StateError> {
                Ok(self.q().members_of(group.as_str())?)
            }

            fn pending_refs(
                &self,
                entity: &EntityType,
                keys: &[&str],
            ) -> Result<Vec<PendingRef>, StateError> {
                Ok(self.q().pending_refs(entity, keys)?)
            }
        }
    };
}

queries!(TenantRead);
queries!(TenantWrite);
