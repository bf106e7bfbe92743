//! Small conversions between SCIM JSON values, entity field values and hook values.

use serde_json::Value;

use crate::check::Transform;
use crate::domain::FieldValue;
use crate::hooks::HookValue;

/// A scalar JSON value as text; objects, arrays and null have none.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Applies the String transforms (`ref` is not one; it is skipped); an empty result is
/// absent.
pub(crate) fn string_transforms(
    mut value: Option<String>,
    transforms: &[Transform],
) -> Option<String> {
    for transform in transforms {
        value = match transform {
            Transform::Trim => value.map(|v| v.trim().to_string()),
            Transform::Lower => value.map(|v| v.to_lowercase()),
            Transform::Upper => value.map(|v| v.to_uppercase()),
            Transform::Truncate(n) => value.map(|v| v.chars().take(*n).collect()),
            Transform::Default(d) => match value {
                Some(v) if !v.is_empty() => Some(v),
                _ => Some(d.clone()),
            },
            Transform::Ref(_) => value,
        };
    }
    value.filter(|v| !v.is_empty())
}

/// A field value as a hook sees it (a reference is its id).
pub(crate) fn hook_value(value: Option<&FieldValue>) -> HookValue {
    match value {
        None => HookValue::Null,
        Some(FieldValue::String(s)) => HookValue::String(s.clone()),
        Some(FieldValue::Bool(b)) => HookValue::Bool(*b),
        Some(FieldValue::Int(i)) => HookValue::Int(*i),
        Some(FieldValue::Ref { id, .. }) => HookValue::String(id.to_string()),
    }
}

/// The value a checked source path selects in a canonical resource (the first non-null
/// one), as the SCIM layer resolves it.
pub(crate) fn select(resource: &Value, path: &crate::check::SourcePath) -> Option<Value> {
    path.value.select(resource).cloned()
}

/// Whether a guard holds on a canonical resource: every term, compared by the SCIM
/// layer's one comparison (Entra's `"True"`/`"False"` equal the booleans).
pub(crate) fn guard_holds(resource: &Value, guard: &crate::check::Guard) -> bool {
    guard.all.iter().all(|term| {
        term.path
            .value
            .matches(resource, term.op, &term.value.to_json())
    })
}

/// A top-level attribute of a canonical resource body (exact name).
pub(crate) fn attribute<'v>(body: &'v Value, name: &str) -> Option<&'v Value> {
    body.as_object()?.get(name)
}

/// A boolean attribute, `"True"`/`"False"` read as booleans.
pub(crate) fn flag(body: &Value, name: &str) -> Option<bool> {
    attribute(body, name).and_then(crate::scim::attr::as_bool)
}
