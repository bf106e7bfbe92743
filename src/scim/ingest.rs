//! Request bodies as bytes become JSON here, and only here, under limits that keep what is
//! stored readable: at most [`MAX_DEPTH`] levels of objects and arrays (checked by a scan
//! that does not recurse, before the parser runs), and no object holding one key twice, in
//! the same or a different case (`userName` and `USERNAME`), since attribute names are
//! case-insensitive and "the last one wins" would be a silent guess.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::error::{ScimError, ScimType};

/// The deepest nesting of objects and arrays accepted in a request body. A SCIM body needs
/// about eight (a Bulk request carrying a PATCH of an address); `serde_json` refuses 128 when
/// reading back, so everything stored stays readable.
pub const MAX_DEPTH: usize = 32;

/// Parses a request body. Malformed JSON, nesting deeper than [`MAX_DEPTH`] and duplicate
/// keys (in any case) are 400 `invalidSyntax` naming what and where.
///
/// # Errors
///
/// `invalidSyntax`, as above.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimError> {
    check_depth(bytes)?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = CheckedValue
        .deserialize(&mut deserializer)
        .map_err(|e| json_error(&e))?;
    deserializer.end().map_err(|e| json_error(&e))?;
    Ok(value)
}

/// Refuses input nested deeper than [`MAX_DEPTH`].
fn check_depth(bytes: &[u8]) -> Result<(), ScimError> {
    if nests_deeper(bytes, b"{[", b"}]", MAX_DEPTH) {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!(
                "the request body nests objects and arrays more than {MAX_DEPTH} deep; no SCIM request needs that many levels"
            ),
        ));
    }
    Ok(())
}

pub(crate) use crate::domain::nests_deeper;

fn json_error(error: &serde_json::Error) -> ScimError {
    let text = error.to_string();
    let detail = if error.is_data() {
        // Our own refusal (a duplicate key): its message, then the position.
        let message = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(message, _)| message);
        format!(
            "{message} (line {}, column {})",
            error.line(),
            error.column()
        )
    } else {
        format!(
            "the request body is not valid JSON (line {}, column {}): {text}",
            error.line(),
            error.column()
        )
    };
    ScimError::new(ScimType::InvalidSyntax, detail)
}

/// Builds a [`Value`] like `serde_json`'s own, refusing an object with a key twice (any case).
struct CheckedValue;

impl<'de> DeserializeSeed<'de> for CheckedValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CheckedValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(CheckedValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        while let Some(key) = access.next_key::<String>()? {
            let folded = key.to_lowercase();
            if let Some(first) = seen.get(&folded) {
                let message = if *first == key {
                    format!(
                        "the request body has the key `{key}` twice in one object; send it once"
                    )
                } else {
                    format!(
                        "the request body has both `{first}` and `{key}` in one object; attribute names are case-insensitive, so these name the same attribute: send it once"
                    )
                };
                return Err(de::Error::custom(message));
            }
            let value = access.next_value_seed(CheckedValue)?;
            seen.insert(folded, key.clone());
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(text: &str) -> ScimError {
        parse_json(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"a": [1, -2, 2.5, true, null, "x\u00e9"], "b": {"c": {}}}"#;
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse_json(text.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn malformed_json_is_invalid_syntax() {
        let e = error("{\"userName\": ");
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(e.detail.contains("not valid JSON"), "{}", e.detail);
        assert_eq!(error("{} {}").scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = error(&deep);
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(e.detail.contains("32"), "{}", e.detail);
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_json(fine.as_bytes()).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse_json(too_deep.as_bytes()).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = json!({"displayName": "[[[[{{{{\\\"".repeat(20)}).to_string();
        assert!(parse_json(text.as_bytes()).is_ok());
    }

    #[test]
    fn keys_differing_only_in_case_are_refused_naming_both() {
        let e = error(r#"{"userName": "a", "USERNAME": "b"}"#);
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(
            e.detail.contains("`userName`") && e.detail.contains("`USERNAME`"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("line 1"), "{}", e.detail);
        let nested = error(r#"{"name": {"givenName": "a", "givenname": "b"}}"#);
        assert!(nested.detail.contains("`givenname`"), "{}", nested.detail);
        let exact = error(r#"{"Operations": [{"op": "add", "op": "remove"}]}"#);
        assert!(exact.detail.contains("`op` twice"), "{}", exact.detail);
    }
}
