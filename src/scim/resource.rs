//! POST/PUT bodies of Users and Groups: JSON parsing, schema-aware normalisation (known
//! attribute names in RFC case, `"True"`/`"False"` as booleans, type checks), read-only input
//! dropped, `password` and Group `members` taken out, and the PUT merge rule for `active`.

use serde_json::{Map, Value};

use super::attr::{
    AttrPath, describe, extension_schema, get_ci, is_read_only, normalize_value, resolve,
};
use super::error::{ScimError, ScimType};
use super::patch::member_ids;
use super::schema::{Mutability, ResourceKind};

/// A normalised POST/PUT body, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInput {
    /// The body to store: no `id`, `meta`, `groups`, `password` or (Groups) `members`; known
    /// attribute names in RFC case; unknown attributes as sent.
    pub body: Value,
    /// The password sent, if any; hash or drop it, never store it in clear.
    pub password: Option<String>,
    /// Group member ids (from each member's `value`), when the body had `members`;
    /// `None` when it had none (always `None` for Users).
    pub members: Option<Vec<String>>,
}

/// Parses a request body; malformed JSON is 400 `invalidSyntax` naming line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new(
            ScimType::InvalidSyntax,
            format!(
                "the request body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Normalises a User or Group body sent with POST or PUT.
///
/// The body must be an object (`invalidSyntax`); `schemas`, when present, must list the core
/// schema of `kind` (`invalidSyntax`; extra URNs such as Entra's are kept); `userName` (User)
/// or `displayName` (Group) is required (`invalidValue`); a known attribute of the wrong type
/// is `invalidValue` naming it. `id`, `meta` and `groups` are dropped.
pub fn normalize_input(kind: ResourceKind, body: Value) -> Result<ResourceInput, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("a {} must be a JSON object", kind.as_str()),
        ));
    };
    let mut out = Map::new();
    let mut password = None;
    let mut members = None;
    let mut extensions_present = Vec::new();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".into(), check_schemas(kind, value)?);
            continue;
        }
        if let Some(ext) = extension_schema(kind, &key) {
            let Value::Object(inner) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("`{}` must be an object, not {}", ext.id, describe(&value)),
                ));
            };
            let mut normalized = Map::new();
            for (sub_key, sub_value) in inner {
                match ext.attribute(&sub_key) {
                    Some(def) if is_read_only(def) => {}
                    Some(def) => {
                        let v =
                            normalize_value(def, sub_value, &format!("{}:{}", ext.id, def.name))?;
                        if !v.is_null() {
                            normalized.insert(def.name.to_owned(), v);
                        }
                    }
                    None => {
                        normalized.insert(sub_key, sub_value);
                    }
                }
            }
            extensions_present.push(ext.id);
            out.insert(ext.id.to_owned(), Value::Object(normalized));
            continue;
        }
        let Ok(resolved) = resolve(kind, &AttrPath::simple(&key)) else {
            out.insert(key, value);
            continue;
        };
        let def = resolved.def;
        if key.contains(['.', ':']) {
            out.insert(key, value);
            continue;
        }
        if kind == ResourceKind::Group && def.name == "members" {
            members = Some(member_ids(&value)?);
            continue;
        }
        if def.mutability == Mutability::WriteOnly {
            password = match value {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => {
                    return Err(ScimError::new(
                        ScimType::InvalidValue,
                        format!("`password` must be a string, not {}", describe(&other)),
                    ));
                }
            };
            continue;
        }
        if is_read_only(def) {
            continue;
        }
        let normalized = normalize_value(def, value, def.name)?;
        if normalized.is_null() {
            out.shift_remove(def.name);
        } else {
            out.insert(def.name.to_owned(), normalized);
        }
    }
    if let Some(Value::Array(schemas)) = out.get_mut("schemas") {
        for urn in extensions_present {
            if !schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
            {
                schemas.push(Value::String(urn.to_owned()));
            }
        }
    }
    let required = match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    };
    match out.get(required) {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                format!("a {} needs a non-empty `{required}`", kind.as_str()),
            ));
        }
    }
    Ok(ResourceInput {
        body: Value::Object(out),
        password,
        members,
    })
}

fn check_schemas(kind: ResourceKind, value: Value) -> Result<Value, ScimError> {
    let core = kind.core_schema().id;
    let listed = value.as_array().is_some_and(|list| {
        list.iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core)))
    });
    let all_strings = value
        .as_array()
        .is_some_and(|list| list.iter().all(Value::is_string));
    if !listed || !all_strings {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("`schemas` of a {} must include \"{core}\"", kind.as_str()),
        ));
    }
    Ok(value)
}

/// The PUT rule: `new` replaces `old` entirely, except that when `new` has no `active`,
/// the old `active` is kept (Okta sends PUTs without it).
pub fn replace_preserving(old: &Value, new: Value) -> Value {
    let Value::Object(mut new_map) = new else {
        return new;
    };
    if get_ci(&new_map, "active").is_none()
        && let Some(active) = old.as_object().and_then(|o| get_ci(o, "active"))
    {
        new_map.insert("active".into(), active.clone());
    }
    Value::Object(new_map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user(body: Value) -> ResourceInput {
        normalize_input(ResourceKind::User, body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn user_err(body: Value) -> Option<ScimType> {
        normalize_input(ResourceKind::User, body)
            .err()
            .and_then(|e| e.scim_type)
    }

    #[test]
    fn okta_create_body() {
        let input = user(json!({
            "schemas": [USER_SCHEMA], "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": true
        }));
        assert_eq!(input.password.as_deref(), Some("1mz050nq"));
        assert!(input.body.get("password").is_none());
        assert!(input.body.get("groups").is_none());
        assert_eq!(input.body["externalId"], json!("00ujl29u0le5T6Aj10h7"));
    }

    #[test]
    fn entra_meta_and_id_ignored() {
        let input = user(
            json!({"userName": "a", "id": "x", "meta": {"resourceType": "User"}, "roles": []}),
        );
        assert_eq!(input.body, json!({"userName": "a", "roles": []}));
    }

    #[test]
    fn capitalised_names_canonicalised() {
        let input = user(json!({"UserName": "a", "Active": "True", "Name": {"GivenName": "J"}}));
        assert_eq!(
            input.body,
            json!({"userName": "a", "active": true, "name": {"givenName": "J"}})
        );
    }

    #[test]
    fn unknown_attributes_kept_as_sent() {
        let input = user(json!({"userName": "a", "favouriteColour": "Red"}));
        assert_eq!(input.body["favouriteColour"], json!("Red"));
    }

    #[test]
    fn string_primary_coerced() {
        let input = user(json!({"userName": "a", "emails": [{"value": "x", "primary": "True"}]}));
        assert_eq!(input.body["emails"][0]["primary"], json!(true));
    }

    #[test]
    fn wrong_active_type_is_invalid_value() {
        assert_eq!(
            user_err(json!({"userName": "a", "active": 3})),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn missing_user_name_is_invalid_value() {
        assert_eq!(
            user_err(json!({"displayName": "a"})),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn missing_schemas_accepted_wrong_schemas_refused() {
        assert!(normalize_input(ResourceKind::User, json!({"userName": "a"})).is_ok());
        assert_eq!(
            user_err(json!({"schemas": [GROUP_SCHEMA], "userName": "a"})),
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn non_object_is_invalid_syntax() {
        assert_eq!(user_err(json!([1])), Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn malformed_json_is_invalid_syntax() {
        let e = parse_json(b"{\"userName\": ").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn enterprise_extension_normalised() {
        let input = user(json!({
            "schemas": [USER_SCHEMA], "userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D", "manager": {"value": "m"}}
        }));
        assert_eq!(
            input.body[ENTERPRISE_USER_SCHEMA]["department"],
            json!("R&D")
        );
        assert_eq!(
            input.body["schemas"],
            json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
    }

    #[test]
    fn entra_extra_group_schema_tolerated_and_members_split() {
        let input = normalize_input(
            ResourceKind::Group,
            json!({
                "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Sales", "members": [{"value": "u1", "display": "x"}]
            }),
        )
        .unwrap();
        assert_eq!(input.members, Some(vec!["u1".to_owned()]));
        assert!(input.body.get("members").is_none());
    }

    #[test]
    fn okta_group_create_with_empty_members() {
        let input = normalize_input(
            ResourceKind::Group,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": []}),
        )
        .unwrap();
        assert_eq!(input.members, Some(vec![]));
    }

    #[test]
    fn put_without_active_keeps_old_active() {
        let merged = replace_preserving(
            &json!({"userName": "a", "active": false}),
            json!({"userName": "b"}),
        );
        assert_eq!(merged, json!({"userName": "b", "active": false}));
    }

    #[test]
    fn put_with_active_replaces_it() {
        let merged = replace_preserving(&json!({"active": false}), json!({"active": true}));
        assert_eq!(merged, json!({"active": true}));
    }
}
