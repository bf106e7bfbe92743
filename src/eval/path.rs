//! Reading checked source paths and guards out of a SCIM resource (JSON).
//!
//! Attribute names match case-insensitively. In value filters, strings compare
//! case-insensitively and the strings `"True"`/`"False"` equal the booleans (Entra sends
//! them). A path through a multi-valued attribute takes the first matching element.

use serde_json::Value;

pub use crate::scim::attr::as_bool;

use crate::check::{Comparison, Guard, Literal, SourcePath, ValueFilter};
use crate::scim::filter::CompareOp;
use crate::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};

/// Looks a key up in a JSON object, case-insensitively (exact match first).
pub fn get_ci<'v>(object: &'v Value, key: &str) -> Option<&'v Value> {
    crate::scim::attr::get_ci(object.as_object()?, key)
}

/// The value a source path selects in `resource`, or `None` when absent or null.
pub fn select(resource: &Value, path: &SourcePath) -> Option<Value> {
    let root = if path.schema == USER_SCHEMA || path.schema == GROUP_SCHEMA {
        resource
    } else {
        get_ci(resource, &path.schema)?
    };
    let mut current: Vec<&Value> = vec![root];
    for segment in &path.segments {
        let mut next = Vec::new();
        for value in current {
            let Some(child) = get_ci(value, &segment.name) else {
                continue;
            };
            match child {
                Value::Array(items) => next.extend(items.iter().filter(|item| {
                    segment
                        .filter
                        .as_ref()
                        .is_none_or(|filter| matches_filter(item, filter))
                })),
                Value::Null => {}
                other => {
                    if segment
                        .filter
                        .as_ref()
                        .is_none_or(|filter| matches_filter(other, filter))
                    {
                        next.push(other);
                    }
                }
            }
        }
        current = next;
    }
    current.into_iter().find(|v| !v.is_null()).cloned()
}

/// Whether an element of a multi-valued attribute satisfies a value filter.
pub fn matches_filter(element: &Value, filter: &ValueFilter) -> bool {
    filter.all.iter().all(|c| matches_comparison(element, c))
}

fn matches_comparison(element: &Value, comparison: &Comparison) -> bool {
    let value = get_ci(element, &comparison.attribute);
    compare(value, comparison.op, &comparison.value)
}

/// Compares a JSON value (possibly absent) with a literal.
pub fn compare(value: Option<&Value>, op: CompareOp, literal: &Literal) -> bool {
    let value = value.filter(|v| !v.is_null());
    let equal = match (value, literal) {
        (None, Literal::Null) => true,
        (None, _) | (Some(_), Literal::Null) => false,
        (Some(v), Literal::Bool(b)) => as_bool(v) == Some(*b),
        (Some(v), Literal::Int(i)) => v.as_i64() == Some(*i),
        (Some(v), Literal::String(s)) => match v {
            Value::String(text) => {
                return string_op(text, op, s);
            }
            Value::Bool(_) => as_bool(v) == as_bool(&Value::String(s.clone())),
            Value::Number(n) => n.to_string() == *s,
            _ => false,
        },
    };
    match op {
        CompareOp::Eq => equal,
        CompareOp::Ne => !equal,
        // String operators never match a non-string; ordering operators never reach here
        // (the checker refuses them in rules).
        CompareOp::Co
        | CompareOp::Sw
        | CompareOp::Ew
        | CompareOp::Gt
        | CompareOp::Ge
        | CompareOp::Lt
        | CompareOp::Le => false,
    }
}

fn string_op(text: &str, op: CompareOp, literal: &str) -> bool {
    let text = text.to_lowercase();
    let literal = literal.to_lowercase();
    match op {
        CompareOp::Eq => text == literal,
        CompareOp::Ne => text != literal,
        CompareOp::Co => text.contains(&literal),
        CompareOp::Sw => text.starts_with(&literal),
        CompareOp::Ew => text.ends_with(&literal),
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => false,
    }
}

/// Whether a guard holds on `resource`.
pub fn guard_holds(resource: &Value, guard: &Guard) -> bool {
    guard.all.iter().all(|term| {
        let value = select(resource, &term.path);
        compare(value.as_ref(), term.op, &term.value)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::check::PathSegment;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;

    fn path(schema: &str, segments: &[(&str, Option<ValueFilter>)]) -> SourcePath {
        SourcePath {
            schema: schema.to_string(),
            segments: segments
                .iter()
                .map(|(name, filter)| PathSegment {
                    name: name.to_string(),
                    filter: filter.clone(),
                })
                .collect(),
        }
    }

    fn filter(attribute: &str, value: Literal) -> Option<ValueFilter> {
        Some(ValueFilter {
            all: vec![Comparison {
                attribute: attribute.into(),
                op: CompareOp::Eq,
                value,
            }],
        })
    }

    #[test]
    fn value_filter_picks_the_matching_element() {
        let user = json!({"phoneNumbers": [
            {"type": "mobile", "value": "1"}, {"type": "Work", "value": "2"}]});
        let p = path(
            USER_SCHEMA,
            &[
                (
                    "phoneNumbers",
                    filter("type", Literal::String("work".into())),
                ),
                ("value", None),
            ],
        );
        assert_eq!(select(&user, &p), Some(json!("2")));
    }

    #[test]
    fn string_booleans_match_boolean_literals() {
        let user = json!({"emails": [{"primary": "False", "value": "a"}, {"primary": "True", "value": "b"}]});
        let p = path(
            USER_SCHEMA,
            &[
                ("emails", filter("primary", Literal::Bool(true))),
                ("value", None),
            ],
        );
        assert_eq!(select(&user, &p), Some(json!("b")));
    }

    #[test]
    fn extension_paths_read_under_the_urn_case_insensitively() {
        let user = json!({"URN:IETF:params:scim:schemas:extension:enterprise:2.0:User":
            {"Manager": {"value": "m1"}}});
        let p = path(
            ENTERPRISE_USER_SCHEMA,
            &[("manager", None), ("value", None)],
        );
        assert_eq!(select(&user, &p), Some(json!("m1")));
    }

    #[test]
    fn absent_and_null_are_none() {
        let user = json!({"title": null});
        assert_eq!(select(&user, &path(USER_SCHEMA, &[("title", None)])), None);
        assert_eq!(
            select(&user, &path(USER_SCHEMA, &[("nickName", None)])),
            None
        );
    }
}
