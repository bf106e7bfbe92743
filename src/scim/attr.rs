//! Attribute names, once: the syntax of a name (`name.givenName`, `urn:...:User:manager.value`),
//! its resolution to ONE canonical schema attribute ([`resolve`], [`classify_key`]), and the
//! coercion of values written to it ([`normalize_value`]: types, `"True"`/`"False"`,
//! canonical sub-attribute names, read-only sub-attributes dropped, unknown ones refused).
//!
//! Every name a client sends goes through here at the edge, so resource bodies are stored in
//! canonical form (core attributes at the top level in their schema spelling, extension
//! attributes under their URN) and later code looks keys up exactly. The case-insensitive
//! lookups ([`get_ci`]) are for protocol messages (`PatchOp`, `SearchRequest`, `BulkRequest`), whose
//! keys are never stored.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, ResourceKind, SchemaDef, schema_by_urn,
};
use crate::domain::suggest::did_you_mean;

/// The most values a multi-valued attribute may hold (Group `members` excepted: membership is
/// a relation, bounded by the body size).
pub const MAX_VALUES: usize = 1000;

/// `invalidValue` when `count` is over [`MAX_VALUES`]; `what` says what holds them
/// (`` `emails` has ``).
pub(crate) fn at_most_max_values(count: usize, what: &str) -> Result<(), ScimError> {
    if count > MAX_VALUES {
        return Err(ScimError::new(
            ScimType::InvalidValue,
            format!("{what} {count} values; at most {MAX_VALUES} are accepted"),
        ));
    }
    Ok(())
}

/// An attribute path as written by a client: an optional schema URN, an attribute name and an
/// optional sub-attribute name, all as sent (case is resolved by [`resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    pub urn: Option<String>,
    /// The attribute name (`manager`).
    pub attr: String,
    /// The sub-attribute name (`value`).
    pub sub: Option<String>,
}

impl AttrPath {
    /// Splits a path token: everything up to the last `:` is the URN, the rest is
    /// `attr` or `attr.sub`. Returns a person-readable reason when the token is malformed.
    ///
    /// # Errors
    ///
    /// A reason a person can read when the token is not an attribute path.
    pub fn parse(token: &str) -> Result<AttrPath, String> {
        let token = token.trim();
        let (urn, rest) = match token.rfind(':') {
            Some(i) => (Some(&token[..i]), &token[i + 1..]),
            None => (None, token),
        };
        let mut parts = rest.split('.');
        let attr = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(format!(
                "`{token}` has more than one `.`; a path is `attribute` or `attribute.subAttribute`"
            ));
        }
        if attr.is_empty() || sub.is_some_and(str::is_empty) || urn.is_some_and(str::is_empty) {
            return Err(format!("`{token}` is not an attribute path"));
        }
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// A path naming only `attr` (no URN, no sub-attribute).
    #[must_use]
    pub fn simple(attr: &str) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.to_owned(),
            sub: None,
        }
    }

    /// The path as the client wrote it, for error details.
    #[must_use]
    pub fn display(&self) -> String {
        let mut out = String::new();
        if let Some(urn) = &self.urn {
            out.push_str(urn);
            out.push(':');
        }
        out.push_str(&self.attr);
        if let Some(sub) = &self.sub {
            out.push('.');
            out.push_str(sub);
        }
        out
    }
}

/// A canonical schema attribute, and optionally one of its sub-attributes: where it lives in
/// a resource body and its definition.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// `Some(schema)` for an extension attribute (kept under the schema URN key),
    /// `None` for a core or common attribute (kept at the top level).
    pub extension: Option<&'static SchemaDef>,
    /// The attribute.
    pub def: &'static AttributeDef,
    /// The sub-attribute, when the path names one.
    pub sub: Option<&'static AttributeDef>,
}

impl PartialEq for Resolved {
    fn eq(&self, other: &Resolved) -> bool {
        let same_ext = match (self.extension, other.extension) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        };
        let same_sub = match (self.sub, other.sub) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        };
        same_ext && same_sub && std::ptr::eq(self.def, other.def)
    }
}

impl Resolved {
    /// The canonical path (`name.givenName`, `urn:…:User:department`), as reported in
    /// errors and change lists.
    #[must_use]
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        if let Some(ext) = self.extension {
            out.push_str(ext.id);
            out.push(':');
        }
        out.push_str(self.def.name);
        if let Some(sub) = self.sub {
            out.push('.');
            out.push_str(sub.name);
        }
        out
    }

    /// The definition the path ends at (the sub-attribute if any).
    #[must_use]
    pub fn leaf(&self) -> &'static AttributeDef {
        self.sub.unwrap_or(self.def)
    }

    /// The attribute without its sub-attribute.
    #[must_use]
    pub fn attribute(&self) -> Resolved {
        Resolved { sub: None, ..*self }
    }

    /// Whether the path names a secret (write-only or never returned) anywhere along it.
    pub fn is_secret(&self) -> bool {
        self.def.is_secret() || self.sub.is_some_and(AttributeDef::is_secret)
    }

    /// Whether client input for the path is ignored (read-only anywhere along it).
    pub fn is_read_only(&self) -> bool {
        self.def.is_read_only() || self.sub.is_some_and(AttributeDef::is_read_only)
    }

    /// The attribute's value in a canonical body (`None` when absent).
    #[must_use]
    pub fn get<'v>(&self, body: &'v Map<String, Value>) -> Option<&'v Value> {
        let container = match self.extension {
            Some(ext) => body.get(ext.id)?.as_object()?,
            None => body,
        };
        container.get(self.def.name)
    }
}

/// Why a name did not resolve. Each variant carries the facts; [`Unresolved::message`] words
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The URN names no schema this resource type accepts.
    UnknownSchema(String),
    /// The attribute does not exist (with a suggestion, when one is close).
    UnknownAttribute(String, Option<&'static str>),
    /// The sub-attribute does not exist on this attribute (`attr.sub` as sent, suggestion).
    UnknownSubAttribute(String, Option<&'static str>),
    /// The name is not an attribute path at all (the reason).
    Malformed(String),
}

impl Unresolved {
    /// A sentence for an error `detail`.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Unresolved::UnknownSchema(urn) => format!("`{urn}` is not a schema of this resource"),
            Unresolved::UnknownAttribute(name, hint) => {
                format!("`{name}` is not a known attribute{}", suggestion(*hint))
            }
            Unresolved::UnknownSubAttribute(name, hint) => {
                format!("`{name}` is not a known sub-attribute{}", suggestion(*hint))
            }
            Unresolved::Malformed(reason) => reason.clone(),
        }
    }
}

fn suggestion(hint: Option<&str>) -> String {
    hint.map(|h| format!("; did you mean `{h}`?"))
        .unwrap_or_default()
}

/// Resolves a path against the schemas of `kind`, case-insensitively. A URN equal to the
/// core schema addresses the top level; an extension URN addresses that extension; an
/// unqualified name that is not a core attribute is looked up in the extensions.
///
/// # Errors
///
/// [`Unresolved`] naming the schema, attribute or sub-attribute that does not exist, with a
/// suggestion when one is close.
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Result<Resolved, Unresolved> {
    let (extension, def) = match &path.urn {
        Some(urn) if urn.eq_ignore_ascii_case(kind.core_schema().id) => {
            (None, core_attribute(kind, &path.attr)?)
        }
        Some(urn) => {
            let ext = extension_schema(kind, urn)
                .ok_or_else(|| Unresolved::UnknownSchema(urn.clone()))?;
            let def = ext.attribute(&path.attr).ok_or_else(|| {
                Unresolved::UnknownAttribute(
                    path.attr.clone(),
                    did_you_mean(&path.attr, ext.attribute_names()),
                )
            })?;
            (Some(ext), def)
        }
        None => match core_or_common(kind, &path.attr) {
            Some(def) => (None, def),
            // Lenient: an unqualified extension attribute (`manager`, `department`), as
            // some clients send, resolves to its extension when no core attribute has the name.
            // (The suggestion, an edit-distance search, is computed only on failure.)
            None => kind
                .extensions()
                .iter()
                .find_map(|ext| ext.attribute(&path.attr).map(|def| (Some(*ext), def)))
                .ok_or_else(|| unknown_core(kind, &path.attr))?,
        },
    };
    let sub = match &path.sub {
        None => None,
        Some(name) => Some(sub_attribute(def, name)?),
    };
    Ok(Resolved {
        extension,
        def,
        sub,
    })
}

/// The sub-attribute `name` of `def`, case-insensitively, or why not.
///
/// # Errors
///
/// [`Unresolved::UnknownSubAttribute`], with a suggestion when one is close.
pub fn sub_attribute(
    def: &'static AttributeDef,
    name: &str,
) -> Result<&'static AttributeDef, Unresolved> {
    def.sub_attribute(name).ok_or_else(|| {
        Unresolved::UnknownSubAttribute(
            format!("{}.{name}", def.name),
            did_you_mean(name, def.sub_attributes.iter().map(|a| a.name)),
        )
    })
}

/// Finds a top-level core or common (`id`, `externalId`, `meta`) attribute.
fn core_attribute(kind: ResourceKind, name: &str) -> Result<&'static AttributeDef, Unresolved> {
    core_or_common(kind, name).ok_or_else(|| unknown_core(kind, name))
}

fn core_or_common(kind: ResourceKind, name: &str) -> Option<&'static AttributeDef> {
    kind.core_schema()
        .attribute(name)
        .or_else(|| common_attribute(name))
}

/// `name` is no core attribute: the error, with the closest name as a suggestion.
fn unknown_core(kind: ResourceKind, name: &str) -> Unresolved {
    let names = kind
        .core_schema()
        .attribute_names()
        .chain(COMMON_ATTRIBUTES.iter().map(|a| a.name));
    Unresolved::UnknownAttribute(name.to_owned(), did_you_mean(name, names))
}

/// Finds one of the common attributes (`id`, `externalId`, `meta`), case-insensitively.
#[must_use]
pub fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    COMMON_ATTRIBUTES
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Finds the extension schema of `kind` whose URN equals `key` (case-insensitively).
#[must_use]
pub fn extension_schema(kind: ResourceKind, key: &str) -> Option<&'static SchemaDef> {
    kind.extensions()
        .iter()
        .copied()
        .find(|s| s.id.eq_ignore_ascii_case(key))
}

/// What one key of a resource body, or of a pathless PATCH value, names.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// `schemas`.
    Schemas,
    /// The core schema URN: its value is an object of core attributes.
    CoreSchema,
    /// A known extension URN: its value is an object of that extension's attributes.
    Extension(&'static SchemaDef),
    /// A known attribute, written plain (`userName`), dotted (`name.givenName`) or
    /// URN-qualified (`urn:…:User:password`, `urn:…:enterprise:2.0:User:manager`).
    Attribute(Resolved),
    /// An extension this server does not know (Entra's custom ones): the key is its URN and
    /// the value its object, kept as sent.
    ForeignExtension,
    /// An attribute of an extension this server does not know: `urn:…:attr[.sub]`, with a
    /// value that is not an object. Kept as sent under the URN.
    ForeignAttribute(AttrPath),
}

/// Classifies a body key for resources of `kind`. A key beginning with `urn:` that names no
/// schema of ours is a foreign extension (when `value_is_object`) or an attribute of one;
/// any other unresolvable key is an error naming it, with a suggestion when one is close.
///
/// # Errors
///
/// [`Unresolved`] when the key names nothing of `kind` and no foreign extension.
pub fn classify_key(
    kind: ResourceKind,
    key: &str,
    value_is_object: bool,
) -> Result<Key, Unresolved> {
    if key.eq_ignore_ascii_case("schemas") {
        return Ok(Key::Schemas);
    }
    if key.eq_ignore_ascii_case(kind.core_schema().id) {
        return Ok(Key::CoreSchema);
    }
    if let Some(ext) = extension_schema(kind, key) {
        return Ok(Key::Extension(ext));
    }
    if schema_by_urn(key).is_some() {
        // A schema of ours, but not of this resource type (a Group URN in a User).
        return Err(Unresolved::UnknownSchema(key.to_owned()));
    }
    let path = AttrPath::parse(key).map_err(Unresolved::Malformed)?;
    match resolve(kind, &path) {
        Ok(resolved) => Ok(Key::Attribute(resolved)),
        Err(Unresolved::UnknownSchema(urn)) if is_urn(key) && schema_by_urn(&urn).is_none() => {
            if value_is_object && path.sub.is_none() {
                Ok(Key::ForeignExtension)
            } else {
                Ok(Key::ForeignAttribute(path))
            }
        }
        Err(other) => Err(other),
    }
}

/// Whether `text` starts with `urn:` (any case).
#[must_use]
pub fn is_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Looks a key up case-insensitively, preferring an exact match. For protocol messages only:
/// stored bodies are canonical and are read with exact keys.
#[must_use]
pub fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key actually present for `key`, matched case-insensitively (exact match preferred).
/// Used for the keys of foreign extensions, which are kept as sent.
#[must_use]
pub fn key_ci(object: &Map<String, Value>, key: &str) -> Option<String> {
    if object.contains_key(key) {
        return Some(key.to_owned());
    }
    object.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Whether a protocol message's `schemas`, when it has one, lists `urn` (case-insensitively);
/// a message without `schemas` passes (clients often leave it out).
#[must_use]
pub fn message_schema_ok(message: &Map<String, Value>, urn: &str) -> bool {
    get_ci(message, "schemas").is_none_or(|schemas| {
        schemas.as_array().is_some_and(|list| {
            list.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
        })
    })
}

/// Reads a `"true"`/`"false"` string (any case) or a JSON boolean.
#[must_use]
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Checks and normalises a value written to attribute `def`: booleans from `"True"`/`"False"`,
/// numbers for string attributes as strings, sub-attribute names in their schema case,
/// read-only sub-attributes dropped, unknown ones refused, a single value for a multi-valued
/// attribute wrapped in an array (at most [`MAX_VALUES`]); `null` sub-attributes dropped.
/// `label` names the attribute in the error detail; a secret's value is never echoed.
///
/// # Errors
///
/// `invalidValue` for a value of the wrong type, an unknown sub-attribute or more than
/// [`MAX_VALUES`] values; `invalidSyntax` for one sub-attribute sent under two spellings.
pub fn normalize_value(
    def: &'static AttributeDef,
    value: Value,
    label: &str,
) -> Result<Value, ScimError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if def.multi_valued {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        at_most_max_values(items.len(), &format!("`{label}` has"))?;
        let normalized = items
            .into_iter()
            .filter(|item| !item.is_null())
            .map(|item| normalize_single(def, item, label))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(normalized));
    }
    normalize_single(def, value, label)
}

/// Normalises one value (one element of a multi-valued attribute).
///
/// # Errors
///
/// As [`normalize_value`].
pub fn normalize_single(
    def: &'static AttributeDef,
    value: Value,
    label: &str,
) -> Result<Value, ScimError> {
    let wrong = |expected: &str, got: &Value| {
        let sent = if def.is_secret() {
            describe_type(got)
        } else {
            describe(got)
        };
        ScimError::new(
            ScimType::InvalidValue,
            format!("`{label}` must be {expected}, but the request sent {sent}"),
        )
    };
    match def.ty {
        AttrType::Boolean => as_bool(&value)
            .map(Value::Bool)
            .ok_or_else(|| wrong("true or false", &value)),
        AttrType::Complex => match value {
            Value::Object(map) => normalize_complex(def, map, label),
            // Entra sends a manager (or member) as a bare id string.
            Value::String(id) if def.sub_attribute("value").is_some() => {
                let mut out = Map::new();
                out.insert("value".into(), Value::String(id));
                Ok(Value::Object(out))
            }
            other => Err(wrong("an object", &other)),
        },
        AttrType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| wrong("an integer", &value)),
            _ => Err(wrong("an integer", &value)),
        },
        AttrType::Decimal => match &value {
            Value::Number(_) => Ok(value),
            _ => Err(wrong("a number", &value)),
        },
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => {
            match value {
                Value::String(_) => Ok(value),
                Value::Number(n) => Ok(Value::String(n.to_string())),
                other => Err(wrong("a string", &other)),
            }
        }
    }
}

/// The sub-attributes of a complex value, canonical; read-only ones dropped, unknown ones
/// refused, two spellings of one sub-attribute refused.
fn normalize_complex(
    def: &'static AttributeDef,
    map: Map<String, Value>,
    label: &str,
) -> Result<Value, ScimError> {
    let mut out = Map::new();
    let mut sent_as: Vec<(&'static str, String)> = Vec::new();
    for (key, sub_value) in map {
        let sub = sub_attribute(def, &key).map_err(|e| {
            ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "`{label}` cannot hold `{key}`: {} (its sub-attributes are {})",
                    e.message(),
                    names(def.sub_attributes)
                ),
            )
        })?;
        if let Some((_, first)) = sent_as.iter().find(|(name, _)| *name == sub.name) {
            return Err(ScimError::new(
                ScimType::InvalidSyntax,
                format!(
                    "`{label}` sets `{}` twice, as `{first}` and as `{key}`; send it once",
                    sub.name
                ),
            ));
        }
        sent_as.push((sub.name, key));
        if sub.is_read_only() {
            continue;
        }
        let sub_label = format!("{label}.{}", sub.name);
        let normalized = normalize_value(sub, sub_value, &sub_label)?;
        if !normalized.is_null() {
            out.insert(sub.name.to_owned(), normalized);
        }
    }
    Ok(Value::Object(out))
}

/// `a, b and c` of the attributes' names.
#[must_use]
pub fn names(defs: &[AttributeDef]) -> String {
    let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A short description of a JSON value for error details (`the number 3`).
#[must_use]
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The type of a JSON value, without the value (`a number`), for secrets.
#[must_use]
pub fn describe_type(value: &Value) -> String {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
    .to_owned()
}

/// Whether a client may write this attribute (readOnly attributes are ignored in bodies and
/// refused as PATCH targets).
#[must_use]
pub fn is_read_only(def: &AttributeDef) -> bool {
    def.is_read_only()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn key(s: &str, object: bool) -> Key {
        classify_key(ResourceKind::User, s, object).unwrap_or_else(|e| panic!("{}", e.message()))
    }

    fn def(name: &str) -> &'static AttributeDef {
        ResourceKind::User
            .core_schema()
            .attribute(name)
            .unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn splits_urn_attr_and_sub() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(p.urn.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("manager", Some("value"))
        );
    }

    #[test]
    fn resolves_case_insensitively() {
        let r = resolve(ResourceKind::User, &path("NAME.GivenName")).unwrap();
        assert_eq!(r.canonical(), "name.givenName");
    }

    #[test]
    fn resolves_common_attributes() {
        let r = resolve(ResourceKind::Group, &path("externalid")).unwrap();
        assert_eq!(r.canonical(), "externalId");
    }

    #[test]
    fn unqualified_extension_attribute_resolves() {
        let r = resolve(ResourceKind::User, &path("department")).unwrap();
        assert_eq!(
            r.canonical(),
            format!("{ENTERPRISE_USER_SCHEMA}:department")
        );
    }

    #[test]
    fn suggests_close_names() {
        let err = resolve(ResourceKind::User, &path("userNme")).unwrap_err();
        assert!(err.message().contains("did you mean `userName`"));
        let err = resolve(ResourceKind::User, &path("name.givenNme")).unwrap_err();
        assert!(err.message().contains("did you mean `givenName`"));
    }

    #[test]
    fn every_spelling_of_password_is_one_attribute() {
        let plain = key("password", false);
        for spelling in [
            "PASSWORD",
            "Password",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:PASSWORD",
        ] {
            assert_eq!(key(spelling, false), plain, "{spelling}");
        }
        let Key::Attribute(resolved) = plain else {
            panic!("{plain:?}")
        };
        assert!(resolved.is_secret());
    }

    #[test]
    fn keys_of_extensions_and_dotted_names() {
        assert_eq!(
            key(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
                true
            ),
            Key::Extension(&crate::scim::schema::ENTERPRISE_USER)
        );
        assert_eq!(key(USER_SCHEMA, true), Key::CoreSchema);
        let Key::Attribute(r) = key(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            true,
        ) else {
            panic!()
        };
        assert_eq!(r.canonical(), format!("{ENTERPRISE_USER_SCHEMA}:manager"));
        let Key::Attribute(r) = key("name.GIVENNAME", false) else {
            panic!()
        };
        assert_eq!(r.canonical(), "name.givenName");
    }

    #[test]
    fn foreign_extensions_are_recognised_and_junk_is_not() {
        let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        assert_eq!(key(custom, true), Key::ForeignExtension);
        assert!(matches!(
            key(&format!("{custom}:badge"), false),
            Key::ForeignAttribute(p) if p.attr == "badge" && p.urn.as_deref() == Some(custom)
        ));
        assert!(matches!(
            classify_key(ResourceKind::User, "evil", false),
            Err(Unresolved::UnknownAttribute(..))
        ));
        assert!(matches!(
            classify_key(ResourceKind::User, "name.junk", false),
            Err(Unresolved::UnknownSubAttribute(..))
        ));
        assert!(matches!(
            classify_key(ResourceKind::User, crate::scim::schema::GROUP_SCHEMA, true),
            Err(Unresolved::UnknownSchema(_))
        ));
    }

    #[test]
    fn coerces_string_booleans() {
        assert_eq!(
            normalize_value(def("active"), Value::from("False"), "active").unwrap(),
            Value::Bool(false)
        );
    }

    #[test]
    fn rejects_number_for_boolean() {
        let err = normalize_value(def("active"), Value::from(3), "active").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("`active`"));
        assert!(err.detail.contains("the number 3"));
    }

    #[test]
    fn a_secret_is_not_echoed_in_a_type_error() {
        let err = normalize_value(def("password"), json!(true), "password").unwrap_err();
        assert!(!err.detail.contains("true"), "{}", err.detail);
        assert!(err.detail.contains("a boolean"), "{}", err.detail);
        let err = normalize_value(def("title"), json!(true), "title").unwrap_err();
        assert!(err.detail.contains("the boolean true"), "{}", err.detail);
    }

    #[test]
    fn unknown_sub_attribute_is_refused_with_a_suggestion() {
        let err = normalize_value(def("name"), json!({"givenNme": "J"}), "name").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("givenName"), "{}", err.detail);
    }

    #[test]
    fn read_only_sub_attributes_are_dropped() {
        let manager = crate::scim::schema::ENTERPRISE_USER
            .attribute("manager")
            .unwrap();
        assert_eq!(
            normalize_value(manager, json!({"value": "m", "DisplayName": "Boss"}), "m").unwrap(),
            json!({"value": "m"})
        );
    }

    #[test]
    fn two_spellings_of_a_sub_attribute_are_refused() {
        let err = normalize_value(
            def("name"),
            json!({"givenName": "a", "GIVENNAME": "b"}),
            "name",
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn too_many_values_are_refused() {
        let many: Vec<Value> = (0..=MAX_VALUES).map(|i| json!({"value": i})).collect();
        let err = normalize_value(def("emails"), Value::Array(many), "emails").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("1001"), "{}", err.detail);
    }
}
