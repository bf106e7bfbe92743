//! [`TenantRead`] and the queries shared with [`TenantWrite`].

use std::sync::Arc;

use super::db::Snapshot;
use serde_json::Value;

use super::StoreError;
use super::query::{Queries, RawRow};
use super::write::TenantWrite;
use crate::domain::{
    Entity, EntityType, FieldName, Meta, PendingRef, ResourceBody, ResourceId, ResourceKind,
    StateError, StateView, StoredResource, TenantId, UserName,
};

/// A consistent snapshot of one tenant's state. Never blocks writers, never sees writes
/// committed after it began.
pub struct TenantRead {
    pub(crate) txn: Arc<Snapshot>,
    pub(crate) tenant: TenantId,
}

impl TenantRead {
    /// The tenant this snapshot is scoped to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The snapshot, for the queries.
    fn snapshot(&self) -> &Snapshot {
        &self.txn
    }
}

/// Methods answered by the [`Queries`] of `self`, one a line:
/// `name(args) -> T = query(arguments);` becomes `fn name(&self, args) -> Result<T, E>`.
macro_rules! forward {
    ($vis:vis $err:ty; $($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
        = $query:ident($($call:expr),*);)*) => {
        $(
            $(#[$doc])*
            #[allow(clippy::needless_question_mark)]
            $vis fn $name(&self, $($arg: $ty),*) -> Result<$ret, $err> {
                Ok(self.q().$query($($call),*)?)
            }
        )*
    };
}

/// The same query methods on a read snapshot and on a write transaction.
macro_rules! queries {
    ($ty:ty => $view:ident) => {
        impl $ty {
            fn q(&self) -> Queries<'_, impl super::query::Txn> {
                Queries {
                    txn: self.$view(),
                    tenant: self.tenant.as_str(),
                }
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

            forward! { pub StoreError;
                /// A resource of this tenant by kind and id, joined with its entity.
                get_resource(kind: ResourceKind, id: &ResourceId) -> Option<StoredResource>
                    = resource(kind, id.as_str());
                /// A resource's `meta` and entity, its body not built.
                get_resource_head(kind: ResourceKind, id: &ResourceId) -> Option<(Meta, Entity)>
                    = resource_head(kind, id.as_str());
                /// A resource's body and `meta`, without reading its entity.
                get_resource_body(kind: ResourceKind, id: &ResourceId) -> Option<(Value, Meta)>
                    = resource_body(kind, id.as_str());
                /// A resource's row as its stored JSON text, unparsed: what is shown of it
                /// is written straight from that text.
                get_resource_row(kind: ResourceKind, id: &ResourceId) -> Option<RawRow>
                    = resource_row(kind, id.as_str());
                /// This tenant's user holding `user_name`: its id and row as stored text.
                user_row_by_name(user_name: &UserName) -> Option<(ResourceId, RawRow)>
                    = user_row_by_name(user_name);
                /// This tenant's user holding `user_name`, body and meta only.
                user_body_by_name(user_name: &UserName) -> Option<ResourceBody>
                    = user_body_by_name(user_name);
                /// The resource of a kind with this externalId, body and meta only.
                body_by_external_id(kind: ResourceKind, external_id: &str) -> Option<ResourceBody>
                    = body_by_external_id(kind, external_id);
                /// The group with this displayName (case-insensitive), body and meta only.
                group_body_by_name(name: &str) -> Option<ResourceBody> = group_body_by_name(name);
                /// Bodies of a kind in id order from the 1-based `start_index`, at most `count`
                /// (`usize::MAX`: all), without their entities.
                page_bodies(kind: ResourceKind, start_index: usize, count: usize) -> Vec<ResourceBody>
                    = bodies(kind, start_index.saturating_sub(1), count);
                /// The ids of every resource of a kind, in id order (the stable list order).
                list_ids(kind: ResourceKind) -> Vec<ResourceId> = list_ids(kind);
                /// Every resource of a kind, in id order (for filters no index answers).
                resources(kind: ResourceKind) -> Vec<StoredResource> = resources(kind);
                /// At most `count` resources in id order from the 1-based `start_index`
                /// (0 is taken as 1). Skipped rows are stepped over, not decoded.
                page(kind: ResourceKind, start_index: usize, count: usize) -> Vec<StoredResource>
                    = page(kind, start_index, count);
                /// At most `count` resources in id order after the id `after` (exclusive), or
                /// from the first: a cursor page whose cost is proportional to the page.
                page_after(kind: ResourceKind, after: Option<&ResourceId>, count: usize)
                    -> Vec<StoredResource> = page_after(kind, after.map(ResourceId::as_str), count);
                /// The number of resources of a kind (one read).
                count(kind: ResourceKind) -> u64 = count(kind);
                /// This tenant's User resource holding `user_name`, through the global index.
                /// A name held in another tenant gives `None`.
                by_user_name(user_name: &UserName) -> Option<StoredResource>
                    = by_user_name(user_name);
                /// Member user ids of a group, in id order.
                members_of(group: &ResourceId) -> Vec<ResourceId> = members_of(group.as_str());
                /// A group's `displayName`, when it is a string (the rest of it unread).
                group_display_name(id: &ResourceId) -> Option<String>
                    = group_display_name(id.as_str());
                /// Group ids a user is a member of, in id order.
                groups_of(user: &ResourceId) -> Vec<ResourceId> = groups_of(user.as_str());
                /// An entity of this tenant by id (managed or not).
                get_entity(id: &ResourceId) -> Option<Entity> = entity(id.as_str());
                /// Every entity of a type, in id order (including `Deleted` ones).
                entities_of_type(entity_type: &EntityType) -> Vec<Entity>
                    = entities_of_type(entity_type);
                /// Every pending reference waiting on behalf of `user_id` (to drop them when
                /// that user is deleted or its reference is set), in a stable order. Scans the
                /// tenant's pending references.
                pending_of(user_id: &ResourceId) -> Vec<PendingRef> = pending_of(user_id.as_str());
                /// The tenant's outbox: `(seq, notification)` in order.
                outbox() -> Vec<(u64, Value)> = outbox();
            }
        }

        impl StateView for $ty {
            forward! { StateError;
                resource(kind: ResourceKind, id: &ResourceId) -> Option<StoredResource>
                    = resource(kind, id.as_str());
                resource_stamp(kind: ResourceKind, id: &ResourceId) -> Option<(u64, Entity)>
                    = resource_stamp(kind, id.as_str());
                entity(id: &ResourceId) -> Option<Entity> = entity(id.as_str());
                find_entity(entity_type: &EntityType, field: &FieldName, value: &str)
                    -> Option<Entity> = find_entity(entity_type, field, value);
                user_name_taken_elsewhere(user_name: &UserName) -> bool
                    = user_name_taken_elsewhere(user_name);
                is_member(group: &ResourceId, user: &ResourceId) -> bool
                    = is_member(group.as_str(), user.as_str());
                members(group: &ResourceId) -> Vec<ResourceId> = members_of(group.as_str());
                pending_refs(entity: &EntityType, keys: &[&str]) -> Vec<PendingRef>
                    = pending_refs(entity, keys);
            }
        }
    };
}

queries!(TenantRead => snapshot);
queries!(TenantWrite => kept);
