//! The one comparison of SCIM values: what `eq`, `co`, `gt` and the rest mean for a value of
//! a given attribute, used by filters ([`super::filter`]), value paths ([`super::path`]),
//! PATCH element selection and the rules' guards and value filters, and the one ordering
//! used by `sortBy`.
//!
//! - Booleans: the strings `"True"`/`"False"` (any case, as Entra sends them) equal the
//!   booleans; only `eq`/`ne` apply.
//! - Strings: case-insensitive unless the attribute is `caseExact`; `userName` compares on its
//!   PRECIS key ([`crate::domain::user_name_key`]), so NFC and NFD, or full-width forms, are
//!   one name; `dateTime` values compare as instants ([`crate::domain::Timestamp`]).
//! - Numbers as numbers; a complex value compares by its `value` sub-attribute.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::attr::as_bool;
use super::filter::CompareOp;
use super::schema::{AttrType, AttributeDef, Matching};
use crate::domain::{Timestamp, user_name_key};

/// Whether one attribute value (`actual`, of attribute `def` when known) stands in relation
/// `op` to the literal `expected`. `ne` here is "not equal" of this one value; a filter's `ne`
/// over a multi-valued attribute is "no value equal" ([`super::filter::Filter`]).
#[must_use]
pub fn compare(
    op: CompareOp,
    actual: &Value,
    expected: &Value,
    def: Option<&AttributeDef>,
) -> bool {
    if let Value::Object(map) = actual {
        return match map.get("value") {
            Some(inner) if !inner.is_object() => {
                let value_def =
                    def.and_then(|d| d.sub_attributes.iter().find(|a| a.name == "value"));
                compare(op, inner, expected, value_def)
            }
            _ => false,
        };
    }
    let boolean = def.is_some_and(|d| d.ty == AttrType::Boolean)
        || actual.is_boolean()
        || expected.is_boolean();
    if boolean {
        return match (as_bool(actual), as_bool(expected)) {
            (Some(a), Some(e)) => match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                _ => false,
            },
            _ => op == CompareOp::Ne,
        };
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => ordered(op, a.partial_cmp(&e)),
            _ => false,
        },
        (Value::String(a), Value::String(e)) => compare_strings(op, a, e, def),
        (Value::Number(a), Value::String(e)) => compare_strings(op, &a.to_string(), e, def),
        (Value::String(a), Value::Number(e)) => match (a.trim().parse::<f64>(), e.as_f64()) {
            (Ok(a), Some(e)) => ordered(op, a.partial_cmp(&e)),
            _ => op == CompareOp::Ne,
        },
        _ => op == CompareOp::Ne,
    }
}

/// The order of two values of attribute `def`, for `sortBy`: strings as [`compare`] sees them
/// (case, userName keys, instants), numbers as numbers, `false` before `true`.
#[must_use]
pub fn order(a: &Value, b: &Value, def: Option<&AttributeDef>) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if let Some(ordering) = instants(x, y, def) {
                return ordering;
            }
            fold(x, def).cmp(&fold(y, def))
        }
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// The form a string of attribute `def` is compared in: its userName key, itself when
/// caseExact, else its lower case. A text that is no valid userName compares by lower case
/// (it equals no stored userName, whose keys are all valid).
#[must_use]
pub fn fold<'t>(text: &'t str, def: Option<&AttributeDef>) -> Cow<'t, str> {
    match def {
        Some(d) if d.matching == Matching::UserName => {
            Cow::Owned(user_name_key(text).unwrap_or_else(|_| text.to_lowercase()))
        }
        Some(d) if d.matching == Matching::Exact => Cow::Borrowed(text),
        _ => Cow::Owned(text.to_lowercase()),
    }
}

fn instants(a: &str, b: &str, def: Option<&AttributeDef>) -> Option<Ordering> {
    if !def.is_some_and(|d| d.ty == AttrType::DateTime) {
        return None;
    }
    Some(Timestamp::parse(a)?.cmp(&Timestamp::parse(b)?))
}

fn compare_strings(
    op: CompareOp,
    actual: &str,
    expected: &str,
    def: Option<&AttributeDef>,
) -> bool {
    if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        && let Some(ordering) = instants(actual, expected, def)
    {
        return ordered(op, Some(ordering));
    }
    let (a, e) = (fold(actual, def), fold(expected, def));
    match op {
        CompareOp::Co => a.contains(e.as_ref()),
        CompareOp::Sw => a.starts_with(e.as_ref()),
        CompareOp::Ew => a.ends_with(e.as_ref()),
        _ => ordered(op, Some(a.cmp(&e))),
    }
}

fn ordered(op: CompareOp, ordering: Option<Ordering>) -> bool {
    let Some(ordering) = ordering else {
        return op == CompareOp::Ne;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ResourceKind, USER};
    use serde_json::json;

    fn user_attr(name: &str) -> Option<&'static AttributeDef> {
        USER.attribute(name)
    }

    #[test]
    fn string_booleans_equal_booleans() {
        let active = user_attr("active");
        assert!(compare(CompareOp::Eq, &json!("True"), &json!(true), active));
        assert!(compare(
            CompareOp::Eq,
            &json!(false),
            &json!("FALSE"),
            active
        ));
        assert!(compare(
            CompareOp::Ne,
            &json!("True"),
            &json!(false),
            active
        ));
        assert!(!compare(CompareOp::Gt, &json!(true), &json!(false), active));
    }

    #[test]
    fn strings_are_case_insensitive_unless_case_exact() {
        let title = user_attr("title");
        assert!(compare(
            CompareOp::Eq,
            &json!("Boss"),
            &json!("BOSS"),
            title
        ));
        let external_id = crate::scim::attr::common_attribute("externalId");
        assert!(!compare(
            CompareOp::Eq,
            &json!("AbC"),
            &json!("abc"),
            external_id
        ));
    }

    #[test]
    fn user_names_compare_on_their_precis_key() {
        let user_name = ResourceKind::User.core_schema().attribute("userName");
        let nfc = json!("jos\u{e9}@ex.com");
        for same in [
            "jose\u{301}@ex.com",
            "JOS\u{c9}@EX.COM",
            "\u{ff4a}os\u{e9}@ex.com",
        ] {
            assert!(
                compare(CompareOp::Eq, &nfc, &json!(same), user_name),
                "{same}"
            );
        }
        assert!(compare(
            CompareOp::Sw,
            &nfc,
            &json!("JOSE\u{301}"),
            user_name
        ));
        assert!(!compare(
            CompareOp::Eq,
            &nfc,
            &json!("jose@ex.com"),
            user_name
        ));
        assert!(!compare(
            CompareOp::Eq,
            &json!("jane"),
            &json!("ja\u{0}ne"),
            user_name
        ));
    }

    #[test]
    fn datetimes_compare_as_instants() {
        let created =
            crate::scim::attr::common_attribute("meta").and_then(|m| m.sub_attribute("created"));
        let z = json!("2024-05-01T10:00:00Z");
        assert!(compare(
            CompareOp::Eq,
            &z,
            &json!("2024-05-01T12:00:00+02:00"),
            created
        ));
        assert!(compare(
            CompareOp::Lt,
            &z,
            &json!("2024-05-01T10:00:00.5Z"),
            created
        ));
        assert_eq!(
            order(&z, &json!("2024-05-01T11:00:00+02:00"), created),
            Ordering::Greater
        );
    }

    #[test]
    fn complex_values_compare_by_value() {
        let emails = user_attr("emails");
        assert!(compare(
            CompareOp::Eq,
            &json!({"value": "A@x"}),
            &json!("a@x"),
            emails
        ));
    }
}
