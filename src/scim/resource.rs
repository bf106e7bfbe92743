//! User and Group bodies: POST/PUT input made canonical ([`normalize_input`]), the invariants
//! every stored body keeps after any change ([`validate`]), and the PUT merge rule for
//! `active` ([`replace_preserving`]).
//!
//! Canonical form: core and common attributes at the top level in their schema spelling,
//! extension attributes under their schema's URN (also spelt canonically), sub-attributes
//! as the schema spells them; read-only input dropped; write-only input (`password`) taken
//! out, never stored; Group `members` taken out (membership is a relation). Attributes of an
//! extension this server does not know stay as sent under their URN. Any other name that is
//! not an attribute of the resource type is refused (400 `invalidValue`), as PATCH refuses
//! such a path: what cannot be changed by PATCH is never stored.

use serde_json::{Map, Value};

use super::attr::{
    AttrPath, Key, Resolved, at_most_max_values, classify_key, describe_type, extension_schema,
    is_urn, key_ci, normalize_value, resolve,
};
use super::error::{ScimError, ScimType};
use super::patch::member_ids;
use super::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, Matching, ResourceKind, schema_by_urn,
};
use crate::domain::UserName;

pub use super::ingest::{MAX_DEPTH, parse_json};

/// A normalised POST/PUT body, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInput {
    /// The body to store, canonical (see the module documentation); no `id`, `meta`,
    /// `groups`, `password` or (Groups) `members`.
    pub body: Value,
    /// The password sent, if any; hash or drop it, never store it in clear.
    pub password: Option<String>,
    /// Group member ids (from each member's `value`), when the body had `members`;
    /// `None` when it had none (always `None` for Users).
    pub members: Option<Vec<String>>,
}

/// Normalises a User or Group body sent with POST or PUT, then [`validate`]s it.
///
/// The body must be an object (`invalidSyntax`); `schemas`, when present, must list the core
/// schema of `kind` (`invalidSyntax`; extra URNs such as Entra's are kept); two keys naming
/// one attribute (`userName` and `urn:…:User:userName`) are `invalidSyntax`; a name that is
/// no attribute of `kind` is `invalidValue` with a suggestion; a known attribute of the wrong
/// type is `invalidValue` naming it (a password's value is never echoed).
///
/// # Errors
///
/// As above.
pub fn normalize_input(kind: ResourceKind, body: Value) -> Result<ResourceInput, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("a {} must be a JSON object", kind.as_str()),
        ));
    };
    let mut builder = Canonical::new(kind);
    for (key, value) in map {
        builder.add(&key, value)?;
    }
    builder.finish()
}

/// Builds a canonical body key by key, remembering how each attribute was sent so that two
/// spellings of one are refused naming both.
struct Canonical {
    kind: ResourceKind,
    out: Map<String, Value>,
    /// (canonical name, key as sent) of every leaf set so far.
    sent: Vec<(String, String)>,
    password: Option<String>,
    members: Option<Vec<String>>,
}

impl Canonical {
    fn new(kind: ResourceKind) -> Canonical {
        Canonical {
            kind,
            out: Map::new(),
            sent: Vec::new(),
            password: None,
            members: None,
        }
    }

    fn add(&mut self, key: &str, value: Value) -> Result<(), ScimError> {
        let kind = self.kind;
        let classified = classify_key(kind, key, value.is_object()).map_err(|e| {
            ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "{}; the attributes of a {} are listed at /Schemas",
                    e.message(),
                    kind.as_str()
                ),
            )
        })?;
        match classified {
            Key::Schemas => {
                self.claim("schemas", key)?;
                let schemas = check_schemas(kind, value)?;
                self.out.insert("schemas".into(), schemas);
            }
            Key::CoreSchema => match value {
                Value::Object(inner) => {
                    for (inner_key, inner_value) in inner {
                        let qualified = format!("{}:{inner_key}", kind.core_schema().id);
                        let path = AttrPath::parse(&qualified).map_err(|e| unknown(kind, &e))?;
                        let resolved =
                            resolve(kind, &path).map_err(|e| unknown(kind, &e.message()))?;
                        self.assign(resolved, inner_value, &qualified)?;
                    }
                }
                Value::Null => {}
                other => return Err(not_an_object(key, &other)),
            },
            Key::Extension(ext) => match value {
                Value::Object(inner) => {
                    if !self.out.contains_key(ext.id) {
                        self.out
                            .insert(ext.id.to_owned(), Value::Object(Map::new()));
                    }
                    for (inner_key, inner_value) in inner {
                        let qualified = format!("{}:{inner_key}", ext.id);
                        let path = AttrPath::parse(&qualified).map_err(|e| unknown(kind, &e))?;
                        let resolved =
                            resolve(kind, &path).map_err(|e| unknown(kind, &e.message()))?;
                        self.assign(resolved, inner_value, &qualified)?;
                    }
                }
                Value::Null => {}
                other => return Err(not_an_object(ext.id, &other)),
            },
            Key::Attribute(resolved) => self.assign(resolved, value, key)?,
            Key::ForeignExtension => {
                self.claim(&key.to_ascii_lowercase(), key)?;
                if key_ci(&self.out, key).is_some() {
                    return Err(ScimError::new(
                        ScimType::InvalidSyntax,
                        format!(
                            "the request sends `{key}` both whole and attribute by attribute; send it once"
                        ),
                    ));
                }
                self.out.insert(key.to_owned(), value);
            }
            Key::ForeignAttribute(path) => {
                let urn = path.urn.clone().unwrap_or_default();
                self.claim(&path.display().to_ascii_lowercase(), key)?;
                let slot = key_ci(&self.out, &urn).unwrap_or(urn);
                let container = self
                    .out
                    .entry(slot)
                    .or_insert_with(|| Value::Object(Map::new()));
                let Some(container) = container.as_object_mut() else {
                    return Err(ScimError::new(
                        ScimType::InvalidSyntax,
                        format!("`{key}` adds to an extension the request also sends whole"),
                    ));
                };
                match &path.sub {
                    None => {
                        container.insert(path.attr.clone(), value);
                    }
                    Some(sub) => {
                        let inner = container
                            .entry(path.attr.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Some(inner) = inner.as_object_mut() {
                            inner.insert(sub.clone(), value);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Records that `canonical` was set by `key`; a second key for it is `invalidSyntax`.
    fn claim(&mut self, canonical: &str, key: &str) -> Result<(), ScimError> {
        if let Some((_, first)) = self.sent.iter().find(|(name, _)| name == canonical) {
            return Err(ScimError::new(
                ScimType::InvalidSyntax,
                format!(
                    "the request sets `{canonical}` twice, as `{first}` and as `{key}`; send it once"
                ),
            ));
        }
        self.sent.push((canonical.to_owned(), key.to_owned()));
        Ok(())
    }

    fn assign(&mut self, resolved: Resolved, value: Value, key: &str) -> Result<(), ScimError> {
        let kind = self.kind;
        let canonical = resolved.canonical();
        if kind == ResourceKind::Group
            && resolved.extension.is_none()
            && resolved.def.name == "members"
        {
            if resolved.sub.is_some() {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("`{key}`: send members as an array of {{\"value\": \"<id>\"}}"),
                ));
            }
            self.claim(&canonical, key)?;
            self.members = Some(member_ids(&value)?);
            return Ok(());
        }
        if resolved.is_secret() {
            self.claim(&canonical, key)?;
            if resolved.sub.is_some() {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("`{canonical}` has no sub-attributes"),
                ));
            }
            self.password = password_string(&canonical, value)?;
            return Ok(());
        }
        if resolved.is_read_only() {
            return Ok(());
        }
        let container = match resolved.extension {
            None => &mut self.out,
            Some(ext) => {
                let slot = self
                    .out
                    .entry(ext.id.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                match slot.as_object_mut() {
                    Some(container) => container,
                    None => return Err(not_an_object(ext.id, &Value::Null)),
                }
            }
        };
        let def = resolved.def;
        let mut claims = Vec::new();
        if let Some(sub) = resolved.sub {
            if def.multi_valued {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!(
                        "`{key}` names a sub-attribute of every `{}` value; send `{}` as an array of objects",
                        def.name, def.name
                    ),
                ));
            }
            let normalized = normalize_value(sub, value, &canonical)?;
            if !normalized.is_null() {
                let slot = container
                    .entry(def.name.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(object) = slot.as_object_mut() {
                    object.insert(sub.name.to_owned(), normalized);
                }
            }
            claims.push(canonical);
        } else {
            let normalized = normalize_value(def, value, &canonical)?;
            match normalized {
                Value::Null => claims.push(canonical),
                Value::Object(new) if def.ty == AttrType::Complex && !def.multi_valued => {
                    claims.extend(new.keys().map(|sub| format!("{canonical}.{sub}")));
                    let slot = container
                        .entry(def.name.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(object) = slot.as_object_mut() {
                        object.extend(new);
                    }
                }
                other => {
                    container.insert(def.name.to_owned(), other);
                    claims.push(canonical);
                }
            }
        }
        for claim in claims {
            self.claim(&claim, key)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ResourceInput, ScimError> {
        let kind = self.kind;
        // Extensions sent with no attribute left (all read-only or null) are dropped.
        for ext in kind.extensions() {
            if self
                .out
                .get(ext.id)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                self.out.shift_remove(ext.id);
            }
        }
        let present: Vec<&'static str> = kind
            .extensions()
            .iter()
            .filter(|ext| self.out.contains_key(ext.id))
            .map(|ext| ext.id)
            .collect();
        if let Some(Value::Array(schemas)) = self.out.get_mut("schemas") {
            for urn in present {
                if !schemas.iter().any(|s| s.as_str() == Some(urn)) {
                    schemas.push(Value::String(urn.to_owned()));
                }
            }
        }
        let body = Value::Object(self.out);
        validate(kind, &body)?;
        Ok(ResourceInput {
            body,
            password: self.password,
            members: self.members,
        })
    }
}

fn unknown(kind: ResourceKind, reason: &str) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        format!(
            "{reason}; the attributes of a {} are listed at /Schemas",
            kind.as_str()
        ),
    )
}

fn not_an_object(name: &str, value: &Value) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        format!("`{name}` must be an object, not {}", describe_type(value)),
    )
}

/// The text of a write-only attribute; its value is never echoed.
pub(crate) fn password_string(label: &str, value: Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(ScimError::new(
            ScimType::InvalidValue,
            format!("`{label}` must be a string, not {}", describe_type(&other)),
        )),
    }
}

/// `schemas` must be an array of strings listing the core schema of `kind`; known URNs are
/// spelt canonically, others kept as sent.
fn check_schemas(kind: ResourceKind, value: Value) -> Result<Value, ScimError> {
    let core = kind.core_schema().id;
    let refused = || {
        ScimError::new(
            ScimType::InvalidSyntax,
            format!("`schemas` of a {} must include \"{core}\"", kind.as_str()),
        )
    };
    let Value::Array(list) = value else {
        return Err(refused());
    };
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let Value::String(urn) = item else {
            return Err(refused());
        };
        let canonical = schema_by_urn(&urn).map_or(urn, |s| s.id.to_owned());
        if !out
            .iter()
            .any(|v: &Value| v.as_str() == Some(canonical.as_str()))
        {
            out.push(Value::String(canonical));
        }
    }
    if !out.iter().any(|s| s.as_str() == Some(core)) {
        return Err(refused());
    }
    Ok(Value::Array(out))
}

/// Checks the invariants of a whole resource body, as stored after any change (POST, PUT or
/// PATCH): every key canonical and an attribute of `kind` (or of a foreign extension, kept as
/// sent); every value of its attribute's type, multi-valued ones arrays of at most
/// [`MAX_VALUES`](super::attr::MAX_VALUES); no secret; the required attributes (`userName` for a User, `displayName`
/// for a Group) present and non-empty; the userName valid under PRECIS (RFC 8265), else 400
/// `invalidValue` with the reason.
///
/// # Errors
///
/// `invalidValue` naming the broken invariant (`invalidSyntax` for a body that is not an
/// object or a malformed `schemas`).
pub fn validate(kind: ResourceKind, body: &Value) -> Result<(), ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            format!("a {} must be a JSON object", kind.as_str()),
        ));
    };
    for (key, value) in map {
        if key == "schemas" {
            if !value
                .as_array()
                .is_some_and(|list| list.iter().all(Value::is_string))
            {
                return Err(ScimError::new(
                    ScimType::InvalidSyntax,
                    "`schemas` must be an array of schema URNs",
                ));
            }
        } else if let Some(ext) = kind.extensions().iter().find(|ext| ext.id == key) {
            let Value::Object(inner) = value else {
                return Err(not_an_object(ext.id, value));
            };
            for (name, inner_value) in inner {
                let def = ext
                    .attributes
                    .iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| not_canonical(kind, &format!("{}:{name}", ext.id)))?;
                check_value(def, inner_value, &format!("{}:{name}", ext.id))?;
            }
        } else if let Some(def) = kind
            .core_schema()
            .attributes
            .iter()
            .chain(COMMON_ATTRIBUTES)
            .find(|a| a.name == key)
        {
            check_value(def, value, key)?;
        } else if is_urn(key)
            && schema_by_urn(key).is_none()
            && extension_schema(kind, key).is_none()
        {
            check_foreign(value, key)?;
        } else {
            return Err(not_canonical(kind, key));
        }
    }
    for def in kind.core_schema().attributes.iter().filter(|a| a.required) {
        match map.get(def.name) {
            Some(Value::String(text)) if !text.trim().is_empty() => {
                if def.matching == Matching::UserName {
                    UserName::new(text.as_str())
                        .map_err(|e| ScimError::new(ScimType::InvalidValue, format!("{e}")))?;
                }
            }
            _ => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("a {} needs a non-empty `{}`", kind.as_str(), def.name),
                ));
            }
        }
    }
    Ok(())
}

fn not_canonical(kind: ResourceKind, name: &str) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        format!(
            "`{name}` is not an attribute of a {}; the attributes are listed at /Schemas",
            kind.as_str()
        ),
    )
}

/// Checks a stored value's type (canonical JSON types, no coercion) and size.
fn check_value(def: &'static AttributeDef, value: &Value, label: &str) -> Result<(), ScimError> {
    if def.is_secret() {
        return Err(ScimError::new(
            ScimType::InvalidValue,
            format!("`{label}` is write-only and is never stored"),
        ));
    }
    if value.is_null() {
        return Ok(());
    }
    if def.multi_valued {
        let Value::Array(items) = value else {
            return Err(wrong_type(label, "an array", value));
        };
        at_most_max_values(items.len(), &format!("`{label}` would hold"))?;
        return items
            .iter()
            .try_for_each(|item| check_single(def, item, label));
    }
    check_single(def, value, label)
}

fn check_single(def: &'static AttributeDef, value: &Value, label: &str) -> Result<(), ScimError> {
    let ok = match def.ty {
        AttrType::Boolean => value.is_boolean(),
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => {
            value.is_string()
        }
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        AttrType::Complex => {
            let Value::Object(map) = value else {
                return Err(wrong_type(label, "an object", value));
            };
            for (name, sub_value) in map {
                let sub = def
                    .sub_attributes
                    .iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| {
                        ScimError::new(
                            ScimType::InvalidValue,
                            format!("`{label}` cannot hold `{name}`; it is not one of its sub-attributes"),
                        )
                    })?;
                check_value(sub, sub_value, &format!("{label}.{name}"))?;
            }
            true
        }
    };
    if ok {
        Ok(())
    } else {
        Err(wrong_type(label, def.ty.as_str(), value))
    }
}

fn wrong_type(label: &str, expected: &str, value: &Value) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        format!(
            "`{label}` must be {expected}, but it would be {}",
            describe_type(value)
        ),
    )
}

/// A foreign extension's value is kept as sent; only its size is bounded.
fn check_foreign(value: &Value, label: &str) -> Result<(), ScimError> {
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Array(items) => {
                at_most_max_values(items.len(), &format!("`{label}` holds an array of"))?;
                stack.extend(items);
            }
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// The PUT rule: `new` replaces `old` entirely, except that when `new` has no `active`,
/// the old `active` is kept (Okta sends PUTs without it). Both bodies are canonical.
#[must_use]
pub fn replace_preserving(old: &Value, new: Value) -> Value {
    let Value::Object(mut new_map) = new else {
        return new;
    };
    if !new_map.contains_key("active")
        && let Some(active) = old.get("active")
    {
        new_map.insert("active".into(), active.clone());
    }
    Value::Object(new_map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::attr::MAX_VALUES;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user(body: Value) -> ResourceInput {
        normalize_input(ResourceKind::User, body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn user_err(body: Value) -> ScimError {
        normalize_input(ResourceKind::User, body).unwrap_err()
    }

    fn user_err_type(body: Value) -> Option<ScimType> {
        user_err(body).scim_type
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
    fn every_spelling_of_password_is_taken_out() {
        for key in [
            "password",
            "PASSWORD",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "urn:ietf:params:scim:schemas:core:2.0:User:PassWord",
        ] {
            let input = user(json!({"userName": "a", key: "s3cret"}));
            assert_eq!(input.password.as_deref(), Some("s3cret"), "{key}");
            assert_eq!(input.body, json!({"userName": "a"}), "{key}");
        }
        let input = user(json!({"userName": "a", USER_SCHEMA: {"password": "s3cret"}}));
        assert_eq!(input.password.as_deref(), Some("s3cret"));
        assert_eq!(input.body, json!({"userName": "a"}));
    }

    #[test]
    fn a_numeric_password_is_refused_without_echo() {
        let e = user_err(json!({"userName": "a", "password": 55_512_345}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(!e.detail.contains("55512345"), "{}", e.detail);
    }

    #[test]
    fn qualified_and_dotted_names_are_placed_canonically() {
        let input = user(json!({
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "a",
            "name.givenName": "J",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
            "manager": {"value": "m"}
        }));
        assert_eq!(
            input.body,
            json!({"userName": "a", "name": {"givenName": "J"},
                   ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "m"}}})
        );
    }

    #[test]
    fn two_spellings_of_one_attribute_are_refused_naming_both() {
        let e = user_err(json!({
            "userName": "a",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "b"
        }));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(e.detail.contains("`userName`"), "{}", e.detail);
        assert!(e.detail.contains(USER_SCHEMA), "{}", e.detail);
        let e =
            user_err(json!({"userName": "a", "name": {"givenName": "x"}, "name.givenName": "y"}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(
            user(json!({"userName": "a", "name": {"givenName": "x"}, "name.familyName": "y"})).body
                ["name"]
                .get("familyName")
                .is_some()
        );
    }

    #[test]
    fn unknown_attributes_are_refused_with_a_suggestion() {
        let e = user_err(json!({"userName": "a", "evil": "x"}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("`evil`"), "{}", e.detail);
        let e = user_err(json!({"userName": "a", "titel": "x"}));
        assert!(e.detail.contains("did you mean `title`"), "{}", e.detail);
        let e = user_err(json!({"userName": "a", "name": {"junk": "x"}}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("junk"), "{}", e.detail);
        let e = user_err(json!({"userName": "a", "name.junk": "x"}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn foreign_extensions_are_kept_as_sent() {
        let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        let input = user(json!({"userName": "a", custom: {"Badge": "7"}}));
        assert_eq!(input.body[custom], json!({"Badge": "7"}));
        let input = user(json!({"userName": "a", format!("{custom}:Badge"): "7"}));
        assert_eq!(input.body[custom], json!({"Badge": "7"}));
        let e =
            user_err(json!({"userName": "a", format!("{custom}:Badge"): "7", custom: {"x": 1}}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn string_primary_coerced() {
        let input = user(json!({"userName": "a", "emails": [{"value": "x", "primary": "True"}]}));
        assert_eq!(input.body["emails"][0]["primary"], json!(true));
    }

    #[test]
    fn wrong_active_type_is_invalid_value() {
        assert_eq!(
            user_err_type(json!({"userName": "a", "active": 3})),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn missing_user_name_is_invalid_value() {
        assert_eq!(
            user_err_type(json!({"displayName": "a"})),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn user_name_must_pass_precis() {
        let e = user_err(json!({"userName": "ja\u{0}ne"}));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("U+0000"), "{}", e.detail);
    }

    #[test]
    fn missing_schemas_accepted_wrong_schemas_refused() {
        assert!(normalize_input(ResourceKind::User, json!({"userName": "a"})).is_ok());
        assert_eq!(
            user_err_type(json!({"schemas": [GROUP_SCHEMA], "userName": "a"})),
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn non_object_is_invalid_syntax() {
        assert_eq!(user_err_type(json!([1])), Some(ScimType::InvalidSyntax));
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
    fn group_members_are_exempt_from_the_value_limit() {
        let members: Vec<Value> = (0..5 * MAX_VALUES)
            .map(|i| json!({"value": format!("u{i}")}))
            .collect();
        let input = normalize_input(
            ResourceKind::Group,
            json!({"displayName": "Everyone", "members": members}),
        )
        .unwrap();
        assert_eq!(input.members.map(|m| m.len()), Some(5 * MAX_VALUES));
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
    fn validate_refuses_what_a_patch_could_leave() {
        let v = |body: Value| validate(ResourceKind::User, &body).map_err(|e| e.scim_type);
        assert_eq!(v(json!({"userName": "a", "id": "u1"})), Ok(()));
        assert_eq!(v(json!({"id": "u1"})), Err(Some(ScimType::InvalidValue)));
        assert_eq!(
            v(json!({"userName": " "})),
            Err(Some(ScimType::InvalidValue))
        );
        assert_eq!(v(json!({"userName": 7})), Err(Some(ScimType::InvalidValue)));
        assert_eq!(
            v(json!({"userName": "a", "active": "yes"})),
            Err(Some(ScimType::InvalidValue))
        );
        assert_eq!(
            v(json!({"userName": "a", "password": "x"})),
            Err(Some(ScimType::InvalidValue))
        );
        assert_eq!(
            v(json!({"userName": "a", "evil": 1})),
            Err(Some(ScimType::InvalidValue))
        );
        let many: Vec<Value> = (0..=MAX_VALUES)
            .map(|i| json!({"value": i.to_string()}))
            .collect();
        assert_eq!(
            v(json!({"userName": "a", "emails": many})),
            Err(Some(ScimType::InvalidValue))
        );
        let group = |body: Value| validate(ResourceKind::Group, &body).map_err(|e| e.scim_type);
        assert_eq!(
            group(json!({"displayName": ""})),
            Err(Some(ScimType::InvalidValue))
        );
        assert_eq!(group(json!({"displayName": "S"})), Ok(()));
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
