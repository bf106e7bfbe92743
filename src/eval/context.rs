//! The read-only context every evaluation step shares: the rules, the state, and what the
//! rules say about the operation's resource kind.

use serde_json::Value;

use crate::check::{CheckedRules, EntityDef, Mapping, Policy};
use crate::domain::{EntityType, FieldName, ResourceKind, StateView, same_name};
use crate::eval::value::{string_transforms, text_of};

/// What the steps of one evaluation read and never change.
pub(crate) struct Ctx<'a> {
    pub rules: &'a CheckedRules,
    pub state: &'a dyn StateView,
    pub kind: ResourceKind,
    /// The entity the kind maps to, if the rules map it.
    pub entity_def: Option<&'a EntityDef>,
    /// Its type (the kind's name when unmapped).
    pub entity_type: EntityType,
}

impl<'a> Ctx<'a> {
    pub fn new(rules: &'a CheckedRules, state: &'a dyn StateView, kind: ResourceKind) -> Ctx<'a> {
        let entity_def = rules.entity_of(kind);
        let entity_type = EntityType::new(entity_def.map_or(kind.as_str(), |d| d.name.as_str()));
        Ctx {
            rules,
            state,
            kind,
            entity_def,
            entity_type,
        }
    }

    pub fn policy(&self) -> Option<&'a Policy> {
        self.rules.policy(self.kind)
    }

    pub fn mappings(&self) -> &'a [Mapping] {
        self.rules.mappings(self.kind)
    }

    /// The unique String field the kind's entity is known by (`UserName`, `Name`).
    pub fn natural_key_field(&self) -> Option<FieldName> {
        self.entity_def
            .and_then(EntityDef::natural_key)
            .map(|f| FieldName::new(f.name.as_str()))
    }

    /// The entity type Users map to (`User`), if they are mapped.
    pub fn user_entity(&self) -> Option<EntityType> {
        self.rules
            .entity_of(ResourceKind::User)
            .map(|d| EntityType::new(d.name.as_str()))
    }

    /// The text the mapping for `field` yields on `resource`.
    pub fn mapped_text(&self, resource: &Value, field: &FieldName) -> Option<String> {
        let mapping = self
            .mappings()
            .iter()
            .find(|m| m.target == field.as_str())?;
        let raw = crate::eval::value::select(resource, &mapping.source)?;
        string_transforms(text_of(&raw), &mapping.transforms)
    }

    /// The name clients know the natural key by (`userName`, `displayName`).
    pub fn scim_key_name(&self) -> &'static str {
        match self.kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    /// Whether two natural-key values name the same entity (one fold for all).
    pub fn same_key(a: &str, b: &str) -> bool {
        same_name(a, b)
    }
}
