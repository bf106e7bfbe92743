//! The application side of provisioning: entities with typed fields and a lifecycle, and
//! the stored SCIM resources that feed them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EntityType, FieldName, ResourceId, Timestamp};

/// The two resource types provisio serves. (The SCIM layer adds their schemas:
/// `scim::schema`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    /// `/Users`: the core User schema with the enterprise extension.
    User,
    /// `/Groups`: the core Group schema.
    Group,
}

impl ResourceKind {
    /// Every kind, in order.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The resource type name, as in `meta.resourceType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint path segment, `Users` or `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// Parses `User`/`Group` (case-insensitive, as written in rules files).
    pub fn parse(name: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
    }

    /// Parses the endpoint segment `Users`/`Groups` (case-insensitive).
    pub fn from_endpoint(segment: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.endpoint().eq_ignore_ascii_case(segment))
    }
}

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

/// A typed value of an entity field. Stored as JSON: a string, a boolean, an integer, or
/// `{"ref": TYPE, "id": ID}` for a reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A reference to another entity: `{"ref": "User", "id": "..."}`.
    Ref {
        /// Entity type referred to.
        #[serde(rename = "ref")]
        entity: EntityType,
        /// Its id.
        id: ResourceId,
    },
    /// Text (also `DateTime`, as RFC 3339 text).
    String(String),
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
}

/// Read by the JSON type at hand (an untagged derive tries each variant in turn, building an
/// error for each miss: it was a tenth of a lookup's CPU).
impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FieldValue;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, a boolean, an integer or {\"ref\", \"id\"}")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::String(v.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<FieldValue, E> {
                Ok(FieldValue::String(v))
            }

            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Bool(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Int(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FieldValue, E> {
                i64::try_from(v)
                    .map(FieldValue::Int)
                    .map_err(|_| E::custom(format!("{v} is too large for an Int field")))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FieldValue, A::Error> {
                let (mut entity, mut id) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "ref" => entity = Some(map.next_value::<EntityType>()?),
                        "id" => id = Some(map.next_value::<ResourceId>()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["ref", "id"]));
                        }
                    }
                }
                match (entity, id) {
                    (Some(entity), Some(id)) => Ok(FieldValue::Ref { entity, id }),
                    (None, _) => Err(serde::de::Error::missing_field("ref")),
                    (_, None) => Err(serde::de::Error::missing_field("id")),
                }
            }
        }

        deserializer.deserialize_any(Visitor)
    }
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

/// An application entity (Clarizen's User, Group, `JobTitle`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Entity id. For a managed User or Group it is also the SCIM resource id.
    pub id: ResourceId,
    /// Entity type, a name from the target schema.
    #[serde(rename = "type")]
    pub entity_type: EntityType,
    /// Field values; an absent key means the field is empty.
    #[serde(default)]
    pub fields: BTreeMap<FieldName, FieldValue>,
    /// Lifecycle state.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// Provisioned by SCIM (true) or pre-existing and not yet picked up (false).
    #[serde(default)]
    pub managed: bool,
}

impl Entity {
    /// A new, empty, active, managed entity.
    pub fn new(id: ResourceId, entity_type: EntityType) -> Entity {
        Entity {
            id,
            entity_type,
            fields: BTreeMap::new(),
            lifecycle: Lifecycle::Active,
            managed: true,
        }
    }

    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.get(name)
    }
}

/// A stored SCIM resource with the entity it feeds. The entity shares the resource's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    /// Resource kind.
    pub kind: ResourceKind,
    /// The resource as last sent by the client (attribute names canonical, unknown
    /// extension attributes kept), with `id`, without `meta`, without `password`, and for
    /// groups without `members` (membership is a relation of its own).
    pub body: Value,
    /// Resource metadata.
    pub meta: Meta,
    /// The application entity.
    pub entity: Entity,
}

impl StoredResource {
    /// The resource (and entity) id.
    pub fn id(&self) -> &ResourceId {
        &self.entity.id
    }
}

/// The SCIM half of a stored resource, without its entity: what a SCIM read shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBody {
    /// Resource kind.
    pub kind: ResourceKind,
    /// Resource id.
    pub id: ResourceId,
    /// The stored body (canonical, with `id`).
    pub body: Value,
    /// Resource metadata.
    pub meta: Meta,
}

/// `meta` of a stored resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Creation time.
    pub created: Timestamp,
    /// Last modification time.
    pub last_modified: Timestamp,
    /// Version counter; the `ETag` is `W/"<version>"`.
    pub version: u64,
}

/// A reference that could not be resolved yet: `user_id`'s `field` should point at the
/// entity of type `entity` whose SCIM id or natural key is `key`, once it is provisioned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PendingRef {
    /// The entity waiting (the user whose manager is missing).
    pub user_id: ResourceId,
    /// The Ref field to set (`DirectManager`).
    pub field: FieldName,
    /// Entity type referred to (`User`).
    pub entity: EntityType,
    /// The value the client sent: a SCIM id or a userName. Matched case-insensitively.
    pub key: String,
}

/// The unique fields of each entity type (from the target schema): what the store indexes
/// so that `find_entity` answers in one read and a second holder of a value is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UniqueFields(BTreeMap<EntityType, Vec<FieldName>>);

impl UniqueFields {
    /// From `(entity type, its unique fields)` pairs.
    pub fn new(fields: impl IntoIterator<Item = (EntityType, Vec<FieldName>)>) -> UniqueFields {
        UniqueFields(fields.into_iter().collect())
    }

    /// The unique fields of `entity_type` (none when unknown).
    pub fn of(&self, entity_type: &EntityType) -> &[FieldName] {
        self.0.get(entity_type).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_read_back_as_written() {
        for value in [
            FieldValue::String("x".into()),
            FieldValue::Bool(true),
            FieldValue::Int(-7),
            FieldValue::Ref {
                entity: EntityType::new("User"),
                id: ResourceId::new("u1"),
            },
        ] {
            let text = serde_json::to_string(&value).unwrap_or_default();
            let back: Result<FieldValue, _> = serde_json::from_str(&text);
            assert_eq!(back.ok(), Some(value), "{text}");
        }
        assert!(serde_json::from_str::<FieldValue>(r#"{"ref": "User"}"#).is_err());
        assert!(serde_json::from_str::<FieldValue>("1.5").is_err());
    }
}
