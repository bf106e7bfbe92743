//! Representation (RFC 7644 §3.4.2.5, §3.9): the response JSON built from a stored body,
//! `id` and `meta` (plus a User's derived `groups` or a Group's `members`), then narrowed by
//! `attributes` / `excludedAttributes`. A secret (`returned: never`, `mutability: writeOnly`:
//! `password`) never appears, under any spelling.

use serde_json::{Map, Value};

use super::attr::{AttrPath, extension_schema, resolve};
use super::etag::etag;
use super::schema::ResourceKind;

/// The server-kept facts that become `meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// RFC 3339 creation instant.
    pub created: String,
    /// RFC 3339 last modification instant.
    pub last_modified: String,
    /// The version (published as `W/"<version>"`).
    pub version: String,
}

/// `{base_url}/{Users|Groups}/{id}`; `base_url` has no trailing slash (`https://h/scim/v2`).
#[must_use]
pub fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!(
        "{}/{}/{id}",
        base_url.trim_end_matches('/'),
        kind.endpoint()
    )
}

/// One element of a User's `groups` or a Group's `members`: `value`, `$ref`, `type` and,
/// when known, `display`. `target` is the kind of the referenced resource.
#[must_use]
pub fn member_ref(base_url: &str, target: ResourceKind, id: &str, display: Option<&str>) -> Value {
    let mut out = Map::new();
    out.insert("value".into(), Value::String(id.to_owned()));
    out.insert("$ref".into(), Value::String(location(base_url, target, id)));
    if let Some(display) = display {
        out.insert("display".into(), Value::String(display.to_owned()));
    }
    out.insert("type".into(), Value::String(target.as_str().to_owned()));
    Value::Object(out)
}

/// The full representation: `schemas`, `id`, the stored attributes (any `id`, `meta`,
/// `groups`, `members` in `body` are ignored, and so is any key naming a secret, even one
/// stored before bodies were canonical), `related` as `groups` (User) or `members` (Group)
/// when given, and `meta` with `resourceType`, `created`, `lastModified`, `location` and
/// `version`.
#[must_use]
pub fn build_resource(
    kind: ResourceKind,
    base_url: &str,
    id: &str,
    body: &Value,
    meta: &Meta,
    related: Option<Vec<Value>>,
) -> Value {
    let empty = Map::new();
    let stored = body.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    let schemas = stored
        .get("schemas")
        .filter(|s| s.is_array())
        .cloned()
        .unwrap_or_else(|| default_schemas(kind, stored));
    out.insert("schemas".into(), schemas);
    out.insert("id".into(), Value::String(id.to_owned()));
    let related_name = match kind {
        ResourceKind::User => "groups",
        ResourceKind::Group => "members",
    };
    for (key, value) in stored {
        if ["schemas", "id", "meta", related_name].contains(&key.as_str()) {
            continue;
        }
        // Stored bodies are canonical and never hold a secret (refused at ingest); a
        // secret found anyway is left out by its schema name, without resolving each key.
        if let Some(ext) = kind.extensions().iter().find(|e| e.id == key.as_str()) {
            let mut inner = value.clone();
            if let Some(map) = inner.as_object_mut() {
                map.retain(|name, _| ext.attribute(name).is_none_or(|a| !a.is_secret()));
            }
            out.insert(key.clone(), inner);
            continue;
        }
        let mut names = key.rsplit(':').next().unwrap_or(key).split('.');
        if names.any(|name| {
            kind.core_schema()
                .attribute(name)
                .is_some_and(super::schema::AttributeDef::is_secret)
        }) {
            continue;
        }
        out.insert(key.clone(), value.clone());
    }
    if let Some(related) = related {
        out.insert(related_name.into(), Value::Array(related));
    }
    let mut meta_out = Map::new();
    meta_out.insert("resourceType".into(), kind.as_str().into());
    meta_out.insert("created".into(), meta.created.clone().into());
    meta_out.insert("lastModified".into(), meta.last_modified.clone().into());
    meta_out.insert("location".into(), location(base_url, kind, id).into());
    meta_out.insert("version".into(), etag(&meta.version).into());
    out.insert("meta".into(), Value::Object(meta_out));
    Value::Object(out)
}

fn default_schemas(kind: ResourceKind, stored: &Map<String, Value>) -> Value {
    let mut list = vec![Value::String(kind.core_schema().id.to_owned())];
    for ext in kind.extensions() {
        if stored.contains_key(ext.id) {
            list.push(Value::String(ext.id.to_owned()));
        }
    }
    Value::Array(list)
}

/// One `attributes` / `excludedAttributes` entry, in canonical names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    /// The extension URN key, or `None` for the top level.
    extension: Option<&'static str>,
    /// The attribute; `None` selects the whole extension.
    attr: Option<&'static str>,
    /// The sub-attribute.
    sub: Option<&'static str>,
}

impl Selector {
    /// The canonical selector an entry names; `None` for an empty or unknown name.
    fn parse(kind: ResourceKind, item: &str) -> Option<Selector> {
        let item = item.trim();
        if item.is_empty() {
            return None;
        }
        if let Some(ext) = extension_schema(kind, item) {
            return Some(Selector {
                extension: Some(ext.id),
                attr: None,
                sub: None,
            });
        }
        let resolved = resolve(kind, &AttrPath::parse(item).ok()?).ok()?;
        Some(Selector {
            extension: resolved.extension.map(|ext| ext.id),
            attr: Some(resolved.def.name),
            sub: resolved.sub.map(|sub| sub.name),
        })
    }
}

/// Which attributes a response carries: from the `attributes` and `excludedAttributes`
/// parameters (comma-separated; names resolved as everywhere else: any case, dotted and
/// URN-qualified; unknown names are ignored). `id` and `schemas` are always returned, a
/// secret never.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<Selector>,
    excluded: Vec<Selector>,
}

impl Projection {
    /// Every default attribute (no parameters).
    #[must_use]
    pub fn all() -> Projection {
        Projection::default()
    }

    /// Parses the two parameters as sent (already percent-decoded).
    #[must_use]
    pub fn parse(
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
    ) -> Projection {
        let split = |list: Option<&str>| -> Vec<Selector> {
            list.unwrap_or_default()
                .split(',')
                .filter_map(|item| Selector::parse(kind, item))
                .collect()
        };
        Projection {
            attributes: split(attributes),
            excluded: split(excluded_attributes),
        }
    }

    /// Parses lists given as arrays of names (a `SearchRequest` body).
    #[must_use]
    pub fn from_lists(
        kind: ResourceKind,
        attributes: &[String],
        excluded: &[String],
    ) -> Projection {
        Projection::parse(kind, Some(&attributes.join(",")), Some(&excluded.join(",")))
    }

    /// Whether the response will carry top-level attribute `name` (canonical: `members`,
    /// `groups`), so the caller can skip loading what will not be shown.
    #[must_use]
    pub fn includes(&self, name: &str) -> bool {
        let named = |s: &Selector| s.extension.is_none() && s.attr == Some(name);
        if self.excluded.iter().any(|s| named(s) && s.sub.is_none()) {
            return false;
        }
        self.attributes.is_empty() || self.attributes.iter().any(named)
    }

    /// Applies the projection to a full representation (canonical names).
    pub fn apply(&self, kind: ResourceKind, resource: Value) -> Value {
        let Value::Object(mut map) = resource else {
            return resource;
        };
        for def in kind.core_schema().attributes {
            if def.is_secret() {
                map.shift_remove(def.name);
            }
        }
        for ext in kind.extensions() {
            if let Some(inner) = map.get_mut(ext.id).and_then(Value::as_object_mut) {
                for def in ext.attributes.iter().filter(|a| a.is_secret()) {
                    inner.shift_remove(def.name);
                }
            }
        }
        if !self.attributes.is_empty() {
            map = self.keep_selected(map);
        }
        for selector in &self.excluded {
            exclude(&mut map, selector);
        }
        Value::Object(map)
    }

    fn keep_selected(&self, map: Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in map {
            if key == "id" || key == "schemas" {
                out.insert(key, value);
                continue;
            }
            let in_extension: Vec<&Selector> = self
                .attributes
                .iter()
                .filter(|s| s.extension == Some(key.as_str()))
                .collect();
            if !in_extension.is_empty() {
                if in_extension.iter().any(|s| s.attr.is_none()) {
                    out.insert(key, value);
                } else if let Value::Object(inner) = value {
                    let picked = pick(inner, &in_extension);
                    if !picked.is_empty() {
                        out.insert(key, Value::Object(picked));
                    }
                }
                continue;
            }
            let top: Vec<&Selector> = self
                .attributes
                .iter()
                .filter(|s| s.extension.is_none())
                .collect();
            let mut single = Map::new();
            single.insert(key.clone(), value);
            let picked = pick(single, &top);
            out.extend(picked);
        }
        out
    }
}

/// Keeps the attributes of `object` named by `selectors` (whole, or only sub-attributes).
fn pick(object: Map<String, Value>, selectors: &[&Selector]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let matching: Vec<&&Selector> = selectors
            .iter()
            .filter(|s| s.attr == Some(key.as_str()))
            .collect();
        if matching.is_empty() {
            continue;
        }
        if matching.iter().any(|s| s.sub.is_none()) {
            out.insert(key, value);
            continue;
        }
        let subs: Vec<&str> = matching.iter().filter_map(|s| s.sub).collect();
        let keep_subs = |element: &Map<String, Value>| -> Map<String, Value> {
            element
                .iter()
                .filter(|(k, _)| subs.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        match value {
            Value::Object(inner) => {
                let kept = keep_subs(&inner);
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|e| Value::Object(keep_subs(e)))
                    .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                    .collect();
                if !kept.is_empty() {
                    out.insert(key, Value::Array(kept));
                }
            }
            _ => {}
        }
    }
    out
}

fn exclude(map: &mut Map<String, Value>, selector: &Selector) {
    let target = match selector.extension {
        Some(ext) => {
            if selector.attr.is_none() {
                map.shift_remove(ext);
                return;
            }
            match map.get_mut(ext).and_then(Value::as_object_mut) {
                Some(inner) => inner,
                None => return,
            }
        }
        None => map,
    };
    let Some(attr) = selector.attr else {
        return;
    };
    if attr == "id" || attr == "schemas" {
        return;
    }
    match selector.sub {
        None => {
            target.shift_remove(attr);
        }
        Some(sub) => match target.get_mut(attr) {
            Some(Value::Object(inner)) => {
                inner.shift_remove(sub);
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.shift_remove(sub);
                }
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn meta() -> Meta {
        Meta {
            created: "2024-01-01T00:00:00Z".into(),
            last_modified: "2024-01-02T00:00:00Z".into(),
            version: "3".into(),
        }
    }

    fn full_user() -> Value {
        let body = json!({
            "userName": "jane", "password": "leak", "active": true,
            "name": {"givenName": "J", "familyName": "D"},
            "emails": [{"value": "a", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"department": "R&D", "costCenter": "1"}
        });
        build_resource(
            ResourceKind::User,
            "https://h/scim/v2",
            "u1",
            &body,
            &meta(),
            Some(vec![]),
        )
    }

    fn project(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(ResourceKind::User, attrs, excluded)
            .apply(ResourceKind::User, full_user())
    }

    #[test]
    fn builds_meta_and_id() {
        let u = full_user();
        assert_eq!(u["id"], json!("u1"));
        assert_eq!(u["meta"]["location"], json!("https://h/scim/v2/Users/u1"));
        assert_eq!(u["meta"]["version"], json!("W/\"3\""));
        assert_eq!(u["meta"]["resourceType"], json!("User"));
        assert_eq!(
            u["schemas"],
            json!([crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
    }

    #[test]
    fn password_never_returned() {
        assert!(full_user().get("password").is_none());
        assert!(
            project(Some("password,userName"), None)
                .get("password")
                .is_none()
        );
    }

    #[test]
    fn a_secret_stored_under_any_spelling_is_never_returned() {
        let body = json!({
            "userName": "jane",
            "urn:ietf:params:scim:schemas:core:2.0:User:password": "leak1",
            "PASSWORD": "leak2",
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"}
        });
        let user = build_resource(ResourceKind::User, "https://h", "u1", &body, &meta(), None);
        assert!(!user.to_string().contains("leak"), "{user}");
        assert_eq!(user[ENTERPRISE_USER_SCHEMA], json!({"department": "R&D"}));
    }

    #[test]
    fn attributes_keep_id_and_schemas() {
        let u = project(Some("UserName"), None);
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schemas", "id", "userName"]);
    }

    #[test]
    fn attributes_with_sub_and_urn() {
        let u = project(
            Some(
                "name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
            None,
        );
        assert_eq!(u["name"], json!({"givenName": "J"}));
        assert_eq!(u[ENTERPRISE_USER_SCHEMA], json!({"department": "R&D"}));
    }

    #[test]
    fn excluded_attributes() {
        let u = project(None, Some("emails, name.familyName ,id"));
        assert!(u.get("emails").is_none());
        assert_eq!(u["name"], json!({"givenName": "J"}));
        assert_eq!(u["id"], json!("u1"));
    }

    #[test]
    fn entra_excluded_members() {
        let group = build_resource(
            ResourceKind::Group,
            "https://h/scim/v2",
            "g1",
            &json!({"displayName": "S"}),
            &meta(),
            Some(vec![member_ref(
                "https://h/scim/v2",
                ResourceKind::User,
                "u1",
                None,
            )]),
        );
        let projection = Projection::parse(ResourceKind::Group, None, Some("members"));
        assert!(!projection.includes("members"));
        assert!(
            projection
                .apply(ResourceKind::Group, group)
                .get("members")
                .is_none()
        );
    }

    #[test]
    fn includes_respects_attributes() {
        let p = Projection::parse(ResourceKind::Group, Some("displayName"), None);
        assert!(!p.includes("members"));
        assert!(Projection::all().includes("members"));
    }
}
