//! Attribute paths (`name.givenName`, `urn:...:User:manager.value`), their resolution against
//! the built-in schemas, case-insensitive JSON access, and value normalisation (type checks,
//! `"True"`/`"False"` coercion, canonical sub-attribute names) shared by PATCH and resource input.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, Mutability, ResourceKind, SchemaDef,
};

/// An attribute path as written by a client: an optional schema URN, an attribute name and an
/// optional sub-attribute name, all as sent (case is resolved later).
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
    pub fn simple(attr: &str) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.to_owned(),
            sub: None,
        }
    }

    /// The path as the client wrote it, for error details.
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

/// Where a resolved attribute lives in a resource body.
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

impl Resolved {
    /// The canonical path (`name.givenName`, `urn:…:User:department`), as reported in
    /// errors and change lists.
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
    pub fn leaf(&self) -> &'static AttributeDef {
        self.sub.unwrap_or(self.def)
    }
}

/// Why a path did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The URN names no schema this resource type accepts.
    UnknownSchema(String),
    /// The attribute does not exist (with a suggestion, when one is close).
    UnknownAttribute(String, Option<&'static str>),
    /// The sub-attribute does not exist on this attribute.
    UnknownSubAttribute(String, Option<&'static str>),
}

impl Unresolved {
    /// A sentence for an error `detail`.
    pub fn message(&self) -> String {
        match self {
            Unresolved::UnknownSchema(urn) => format!("`{urn}` is not a schema of this resource"),
            Unresolved::UnknownAttribute(name, hint) => {
                format!("`{name}` is not a known attribute{}", did_you_mean(*hint))
            }
            Unresolved::UnknownSubAttribute(name, hint) => {
                format!(
                    "`{name}` is not a known sub-attribute{}",
                    did_you_mean(*hint)
                )
            }
        }
    }
}

fn did_you_mean(hint: Option<&str>) -> String {
    hint.map(|h| format!("; did you mean `{h}`?"))
        .unwrap_or_default()
}

/// Resolves a path against the schemas of `kind`, case-insensitively. A URN equal to the
/// core schema addresses the top level; an extension URN addresses that extension; an
/// unqualified name that is not a core attribute is looked up in the extensions.
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Result<Resolved, Unresolved> {
    let (extension, def) = match &path.urn {
        Some(urn) if urn.eq_ignore_ascii_case(kind.core_schema().id) => {
            (None, core_attribute(kind, &path.attr)?)
        }
        Some(urn) => {
            let ext = kind
                .extensions()
                .iter()
                .copied()
                .find(|s| s.id.eq_ignore_ascii_case(urn))
                .ok_or_else(|| Unresolved::UnknownSchema(urn.clone()))?;
            let def = ext.attribute(&path.attr).ok_or_else(|| {
                let names: Vec<&'static str> = ext.attribute_names().collect();
                Unresolved::UnknownAttribute(path.attr.clone(), suggest(&path.attr, &names))
            })?;
            (Some(ext), def)
        }
        None => match core_attribute(kind, &path.attr) {
            Ok(def) => (None, def),
            // Lenient: an unqualified extension attribute (`manager`, `department`), as
            // some clients send, resolves to its extension when no core attribute has the name.
            Err(e) => kind
                .extensions()
                .iter()
                .find_map(|ext| ext.attribute(&path.attr).map(|def| (Some(*ext), def)))
                .ok_or(e)?,
        },
    };
    let sub = match &path.sub {
        None => None,
        Some(name) => Some(def.sub_attribute(name).ok_or_else(|| {
            let names: Vec<&'static str> = def.sub_attributes.iter().map(|a| a.name).collect();
            Unresolved::UnknownSubAttribute(format!("{}.{name}", def.name), suggest(name, &names))
        })?),
    };
    Ok(Resolved {
        extension,
        def,
        sub,
    })
}

/// Finds a top-level core or common (`id`, `externalId`, `meta`) attribute.
fn core_attribute(kind: ResourceKind, name: &str) -> Result<&'static AttributeDef, Unresolved> {
    kind.core_schema()
        .attribute(name)
        .or_else(|| common_attribute(name))
        .ok_or_else(|| {
            let names: Vec<&'static str> = kind
                .core_schema()
                .attribute_names()
                .chain(COMMON_ATTRIBUTES.iter().map(|a| a.name))
                .collect();
            Unresolved::UnknownAttribute(name.to_owned(), suggest(name, &names))
        })
}

/// Finds one of the common attributes (`id`, `externalId`, `meta`), case-insensitively.
pub fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    COMMON_ATTRIBUTES
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Finds the extension schema of `kind` whose URN equals `key` (case-insensitively).
pub fn extension_schema(kind: ResourceKind, key: &str) -> Option<&'static SchemaDef> {
    kind.extensions()
        .iter()
        .copied()
        .find(|s| s.id.eq_ignore_ascii_case(key))
}

/// The closest candidate: an exact case-insensitive match, else a candidate that shares a
/// long prefix or is within a small edit distance.
fn suggest(name: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for &candidate in candidates {
        let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
        if distance <= 2.max(candidate.len() / 4) && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = if ca == *cb {
                prev
            } else {
                1 + prev.min(above).min(left)
            };
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Looks a key up case-insensitively, preferring an exact match.
pub fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key actually stored for `key`, matched case-insensitively (exact match preferred).
pub fn key_ci(object: &Map<String, Value>, key: &str) -> Option<String> {
    if object.contains_key(key) {
        return Some(key.to_owned());
    }
    object.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Removes `key` (case-insensitively; every spelling) and returns the last value removed.
pub fn remove_ci(object: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let keys: Vec<String> = object
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut removed = None;
    for k in keys {
        removed = object.shift_remove(&k).or(removed);
    }
    removed
}

/// Reads a `"true"`/`"false"` string (any case) or a JSON boolean.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Checks and normalises a value written to attribute `def`: booleans from `"True"`/`"False"`,
/// numbers for string attributes as strings, known sub-attribute names in their RFC case,
/// a single value for a multi-valued attribute wrapped in an array; `null` sub-attributes
/// dropped. `label` names the attribute in the error detail.
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
pub fn normalize_single(
    def: &'static AttributeDef,
    value: Value,
    label: &str,
) -> Result<Value, ScimError> {
    let wrong = |expected: &str, got: &Value| {
        ScimError::new(
            ScimType::InvalidValue,
            format!(
                "`{label}` must be {expected}, but the request sent {}",
                describe(got)
            ),
        )
    };
    match def.ty {
        AttrType::Boolean => as_bool(&value)
            .map(Value::Bool)
            .ok_or_else(|| wrong("true or false", &value)),
        AttrType::Complex => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, sub_value) in map {
                    match def.sub_attribute(&key) {
                        Some(sub) => {
                            let sub_label = format!("{label}.{}", sub.name);
                            let normalized = normalize_value(sub, sub_value, &sub_label)?;
                            if !normalized.is_null() {
                                out.insert(sub.name.to_owned(), normalized);
                            }
                        }
                        None if def.sub_attributes.is_empty() => {
                            out.insert(key, sub_value);
                        }
                        None => {
                            if !sub_value.is_null() {
                                out.insert(key, sub_value);
                            }
                        }
                    }
                }
                Ok(Value::Object(out))
            }
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

/// A short description of a JSON value for error details (`the number 3`).
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

/// Whether a client may write this attribute (readOnly attributes are ignored in bodies and
/// refused as PATCH targets).
pub fn is_read_only(def: &AttributeDef) -> bool {
    def.mutability == Mutability::ReadOnly
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap_or_else(|e| panic!("{e}"))
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
    }

    #[test]
    fn coerces_string_booleans() {
        let def = ResourceKind::User
            .core_schema()
            .attribute("active")
            .unwrap();
        assert_eq!(
            normalize_value(def, Value::from("False"), "active").unwrap(),
            Value::Bool(false)
        );
    }

    #[test]
    fn rejects_number_for_boolean() {
        let def = ResourceKind::User
            .core_schema()
            .attribute("active")
            .unwrap();
        let err = normalize_value(def, Value::from(3), "active").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("`active`"));
    }
}
