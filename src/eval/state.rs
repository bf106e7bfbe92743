//! What the evaluator may read of a tenant's state: the [`StateView`] trait and the
//! application-side data model (entities with typed fields, lifecycle, managed flag).
//!
//! In tests an in-memory fixture implements [`StateView`]; in the server a redb transaction
//! does (`crate::store`). Every method is scoped to one tenant, fixed when the view is made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scim::schema::ResourceKind;

/// An entity's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lifecycle {
    /// Can sign in.
    #[default]
    Active,
    /// Kept, but cannot sign in (deactivated, or out of the sync scope).
    Suspended,
    /// Deleted in the application; kept for history.
    Deleted,
}

impl Lifecycle {
    /// `Active`, `Suspended` or `Deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "Active",
            Lifecycle::Suspended => "Suspended",
            Lifecycle::Deleted => "Deleted",
        }
    }
}

/// A typed value of an entity field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A reference to another entity: `{"ref": "User", "id": "..."}`.
    Ref {
        /// Entity type referred to.
        #[serde(rename = "ref")]
        entity: String,
        /// Its id.
        id: String,
    },
    /// Text (also DateTime, as RFC 3339 text).
    String(String),
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
}

impl FieldValue {
    /// The value as text, for history and hooks.
    pub fn display(&self) -> String {
        match self {
            FieldValue::String(s) => s.clone(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::Ref { entity, id } => format!("{entity}:{id}"),
        }
    }
}

/// An application entity (Clarizen's User, Group, JobTitle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Entity id. For a managed User or Group it is also the SCIM resource id.
    pub id: String,
    /// Entity type, a name from the target schema.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Field values; an absent key means the field is empty.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldValue>,
    /// Lifecycle state.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// Provisioned by SCIM (true) or pre-existing and not yet picked up (false).
    #[serde(default)]
    pub managed: bool,
}

/// A stored SCIM resource with the entity it feeds. The entity shares the resource's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    /// Resource kind.
    pub kind: ResourceKind,
    /// The resource as last sent by the client (attribute case preserved, unknown
    /// extension attributes kept), with `id`, without `meta`, without `password`, and for
    /// groups without `members` (membership is a relation of its own).
    pub body: Value,
    /// Resource metadata.
    pub meta: Meta,
    /// The application entity.
    pub entity: Entity,
}

/// `meta` of a stored resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 last modification time.
    pub last_modified: String,
    /// Version counter; the ETag is `W/"<version>"`.
    pub version: u64,
}

/// A reference that could not be resolved yet: `user_id`'s `field` should point at the
/// entity of type `entity` whose SCIM id or natural key is `key`, once it is provisioned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PendingRef {
    /// The entity waiting (the user whose manager is missing).
    pub user_id: String,
    /// The Ref field to set (`DirectManager`).
    pub field: String,
    /// Entity type referred to (`User`).
    pub entity: String,
    /// The value the client sent: a SCIM id or a userName. Matched case-insensitively.
    pub key: String,
}

/// A failure reading state (a storage error); evaluation stops with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading state: {0}")]
pub struct StateError(pub String);

/// Read access to one tenant's state, as the evaluator needs it.
pub trait StateView {
    /// A managed resource by kind and id, or `None`.
    fn resource(&self, kind: ResourceKind, id: &str) -> Result<Option<StoredResource>, StateError>;

    /// An entity by id (managed or not), or `None`.
    fn entity(&self, id: &str) -> Result<Option<Entity>, StateError>;

    /// The entity of `entity_type` whose unique String `field` equals `value`,
    /// compared case-insensitively, or `None`. Deleted entities are not found.
    fn find_entity(
        &self,
        entity_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Option<Entity>, StateError>;

    /// Whether another tenant holds this userName (case-insensitive). Never says which.
    fn user_name_taken_elsewhere(&self, user_name: &str) -> Result<bool, StateError>;

    /// Whether `user_id` is a member of `group_id`.
    fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StateError>;

    /// All member ids of a group, in id order. Used only for a replace of all members.
    fn members(&self, group_id: &str) -> Result<Vec<String>, StateError>;

    /// Pending references waiting for an entity of type `entity` with one of these keys
    /// (SCIM id or natural key; compared case-insensitively), in a stable order.
    fn pending_refs(&self, entity: &str, keys: &[&str]) -> Result<Vec<PendingRef>, StateError>;
}
