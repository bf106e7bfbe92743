//! A pre-existing (unmanaged) entity as a SCIM resource, for an identity provider's import:
//! the reverse of the profile's locked mappings (`UserName <- userName` gives `userName`,
//! `Email <- emails[primary eq true].value` gives `emails: [{primary: true, value}]`), so
//! that Okta matches it by userName or group name. Only String fields are shown.

use serde_json::{Map, Value, json};

use crate::check::{CheckedRules, FieldType, Literal, PathSegment};
use crate::domain::{Entity, FieldValue, Lifecycle, ResourceKind};
use crate::scim::filter::CompareOp;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// The SCIM body (without `meta`) an unmanaged entity is listed with: `schemas`, `id`, each
/// locked String mapping reversed, and for a user `active` (false when suspended).
#[must_use]
pub fn resource_of(rules: &CheckedRules, kind: ResourceKind, entity: &Entity) -> Value {
    let core = match kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    let mut body = Map::new();
    let mut schemas = vec![Value::from(core)];
    body.insert("id".into(), Value::from(entity.id.as_str()));
    for mapping in rules.mappings(kind) {
        if !mapping.locked || mapping.target_type != FieldType::String {
            continue;
        }
        let Some(FieldValue::String(value)) = entity.field(&mapping.target) else {
            continue;
        };
        let target = if mapping.source.schema == ENTERPRISE_USER_SCHEMA {
            if !schemas.iter().any(|s| s == ENTERPRISE_USER_SCHEMA) {
                schemas.push(Value::from(ENTERPRISE_USER_SCHEMA));
            }
            match body
                .entry(ENTERPRISE_USER_SCHEMA)
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(extension) => extension,
                _ => continue,
            }
        } else {
            &mut body
        };
        put(target, &mapping.source.segments, value);
    }
    if kind == ResourceKind::User {
        body.insert(
            "active".into(),
            Value::Bool(entity.lifecycle != Lifecycle::Suspended),
        );
    }
    body.shift_insert(0, "schemas".into(), Value::Array(schemas));
    Value::Object(body)
}

/// Writes `value` at `segments` under `object`, creating what is missing; a segment with a
/// value filter selects (or adds) the element whose `eq` comparisons hold.
fn put(object: &mut Map<String, Value>, segments: &[PathSegment], value: &str) {
    let Some((segment, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        object.insert(segment.name.clone(), Value::from(value));
        return;
    }
    let Some(filter) = &segment.filter else {
        let inner = object
            .entry(segment.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(inner) = inner {
            put(inner, rest, value);
        }
        return;
    };
    let wanted: Vec<(&str, Value)> = filter
        .all
        .iter()
        .filter(|c| c.op == CompareOp::Eq)
        .filter_map(|c| literal(&c.value).map(|v| (c.attribute.as_str(), v)))
        .collect();
    let Value::Array(elements) = object
        .entry(segment.name.clone())
        .or_insert_with(|| Value::Array(Vec::new()))
    else {
        return;
    };
    let matches = |element: &Value| wanted.iter().all(|(name, v)| element.get(*name) == Some(v));
    let index = if let Some(index) = elements.iter().position(matches) {
        index
    } else {
        let element: Map<String, Value> = wanted
            .iter()
            .map(|(name, v)| ((*name).to_owned(), v.clone()))
            .collect();
        elements.push(Value::Object(element));
        elements.len() - 1
    };
    if let Some(Value::Object(element)) = elements.get_mut(index) {
        put(element, rest, value);
    }
}

fn literal(value: &Literal) -> Option<Value> {
    match value {
        Literal::String(s) => Some(json!(s)),
        Literal::Bool(b) => Some(json!(b)),
        Literal::Int(i) => Some(json!(i)),
        Literal::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntityType, FieldName, ResourceId};

    use crate::check::checked_clarizen as rules;

    #[test]
    fn a_user_is_its_locked_mappings_reversed() {
        let mut entity = Entity::new(ResourceId::new("legacy-7"), EntityType::new("User"));
        entity.managed = false;
        for (field, value) in [
            ("UserName", "Legacy@Ex.com"),
            ("FirstName", "Old"),
            ("LastName", "Timer"),
            ("Email", "legacy@ex.com"),
            ("OfficePhone", "+1 555 0100"),
        ] {
            entity
                .fields
                .insert(FieldName::new(field), FieldValue::String(value.into()));
        }
        assert_eq!(
            resource_of(&rules(), ResourceKind::User, &entity),
            json!({
                "schemas": [USER_SCHEMA],
                "id": "legacy-7",
                "userName": "Legacy@Ex.com",
                "name": {"givenName": "Old", "familyName": "Timer"},
                "emails": [{"primary": true, "value": "legacy@ex.com"}],
                "active": true
            })
        );
    }

    #[test]
    fn a_group_is_its_name() {
        let mut entity = Entity::new(ResourceId::new("g1"), EntityType::new("Group"));
        entity
            .fields
            .insert(FieldName::new("Name"), FieldValue::String("Finance".into()));
        assert_eq!(
            resource_of(&rules(), ResourceKind::Group, &entity),
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Finance"})
        );
    }
}
