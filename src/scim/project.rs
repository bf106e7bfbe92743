//! Representation (RFC 7644 §3.4.2.5, §3.9): the response JSON built from a stored body,
//! `id` and `meta` (plus a User's derived `groups` or a Group's `members`), then narrowed by
//! `attributes` / `excludedAttributes`. A secret (`returned: never`, `mutability: writeOnly`:
//! `password`) never appears, under any spelling.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::attr::{AttrPath, extension_schema, resolve};
use super::etag::etag;
use super::schema::{ResourceKind, SchemaDef};

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

/// The full representation (`body` is consumed: its values move into it): `schemas`, `id`,
/// the stored attributes (any `id`, `meta`,
/// `groups`, `members` in `body` are ignored, and so is any key naming a secret, even one
/// stored before bodies were canonical), `related` as `groups` (User) or `members` (Group)
/// when given, and `meta` with `resourceType`, `created`, `lastModified`, `location` and
/// `version`.
#[must_use]
pub fn build_resource(
    kind: ResourceKind,
    base_url: &str,
    id: &str,
    body: Value,
    meta: &Meta,
    related: Option<Vec<Value>>,
) -> Value {
    let stored = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut out = Map::new();
    let schemas = stored
        .get("schemas")
        .filter(|s| s.is_array())
        .cloned()
        .unwrap_or_else(|| default_schemas(kind, |key| stored.contains_key(key)));
    out.insert("schemas".into(), schemas);
    out.insert("id".into(), Value::String(id.to_owned()));
    for (key, value) in stored {
        match shown_as(kind, &key) {
            Shown::Hidden => {}
            Shown::AsIs => {
                out.insert(key, value);
            }
            Shown::Extension(ext) => {
                out.insert(key, without_secrets(ext, value));
            }
        }
    }
    if let Some(related) = related {
        out.insert(related_name(kind).into(), Value::Array(related));
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

/// The default representation (no `attributes` or `excludedAttributes`: what
/// [`build_resource`] then [`Projection::all`] give, key for key, byte for byte) written
/// straight from the stored JSON text of `body`, without building a [`Value`] of it: the
/// GET of a resource by id. `created`, `last_modified` and `version` are `meta`'s.
///
/// # Errors
/// `body` is not a JSON object (a corrupt row).
pub fn write_resource(
    kind: ResourceKind,
    base_url: &str,
    id: &str,
    body: &RawValue,
    meta: &crate::domain::Meta,
    related: Option<&[Value]>,
) -> Result<Vec<u8>, serde_json::Error> {
    let fields: RawFields = serde_json::from_str(body.get())?;
    write_fields(kind, base_url, id, &fields, meta, related)
}

/// [`write_resource`] from a body already read into its top-level members (a
/// [`StoredRow`]'s, read in one pass with its `meta`).
///
/// # Errors
/// An extension's value is not JSON (a corrupt row).
pub fn write_fields(
    kind: ResourceKind,
    base_url: &str,
    id: &str,
    fields: &RawFields,
    meta: &crate::domain::Meta,
    related: Option<&[Value]>,
) -> Result<Vec<u8>, serde_json::Error> {
    let fields = &fields.0;
    let stored = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, v)| *v);
    let text: usize = fields
        .iter()
        .map(|(key, v)| key.len() + v.get().len() + 4)
        .sum();
    let mut out = Vec::with_capacity(text + 256);
    let mut object = JsonObject::open(&mut out);
    match stored("schemas").filter(|s| s.get().starts_with('[')) {
        Some(schemas) => object.field("schemas", schemas)?,
        None => object.field(
            "schemas",
            &default_schemas(kind, |key| stored(key).is_some()),
        )?,
    }
    object.field("id", id)?;
    for (key, value) in fields {
        match shown_as(kind, key) {
            Shown::Hidden => {}
            Shown::AsIs => object.field(key, *value)?,
            Shown::Extension(ext) => {
                object.field(
                    key,
                    &without_secrets(ext, serde_json::from_str(value.get())?),
                )?;
            }
        }
    }
    if let Some(related) = related {
        object.field(related_name(kind), related)?;
    }
    let mut meta_out = object.object("meta")?;
    meta_out.field("resourceType", kind.as_str())?;
    meta_out.field("created", &meta.created)?;
    meta_out.field("lastModified", &meta.last_modified)?;
    meta_out.field("location", &location(base_url, kind, id))?;
    meta_out.field("version", &etag(&meta.version.to_string()))?;
    meta_out.close();
    object.close();
    Ok(out)
}

/// A JSON object written key by key into a buffer.
struct JsonObject<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> JsonObject<'o> {
    fn open(out: &'o mut Vec<u8>) -> JsonObject<'o> {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    fn key(&mut self, key: &str) -> Result<(), serde_json::Error> {
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.push(b':');
        Ok(())
    }

    fn field<V: serde::Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &V,
    ) -> Result<(), serde_json::Error> {
        self.key(key)?;
        serde_json::to_writer(&mut *self.out, value)
    }

    /// A member whose value is an object, written next.
    fn object(&mut self, key: &str) -> Result<JsonObject<'_>, serde_json::Error> {
        self.key(key)?;
        Ok(JsonObject::open(self.out))
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// The top-level members of a stored JSON object, in order, each value left as its text.
pub struct RawFields<'a>(Vec<(std::borrow::Cow<'a, str>, &'a RawValue)>);

impl RawFields<'_> {
    /// The object as a [`Value`] (each member parsed).
    ///
    /// # Errors
    /// A member's text is not JSON (a corrupt row).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        let mut map = Map::with_capacity(self.0.len());
        for (key, value) in &self.0 {
            map.insert(key.clone().into_owned(), serde_json::from_str(value.get())?);
        }
        Ok(Value::Object(map))
    }
}

/// A stored resource row (`{"body": {...}, "meta": {...}}`, the store's `RawRow` text) read
/// in one pass: the body's top-level members as their text, and its `meta`.
#[derive(serde::Deserialize)]
pub struct StoredRow<'a> {
    /// The body's members.
    #[serde(borrow)]
    pub body: RawFields<'a>,
    /// Its `meta`.
    pub meta: crate::domain::Meta,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<RawFields<'de>, M::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Key(key)) = map.next_key()? {
                    fields.push((key, map.next_value()?));
                }
                Ok(RawFields(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// An object key, borrowed from the text unless it holds an escape.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// What a representation does with one top-level key of a stored body.
enum Shown {
    /// Left out: `schemas`, `id`, `meta` and the relation are the server's; a secret never
    /// appears.
    Hidden,
    /// Shown as stored.
    AsIs,
    /// An extension object, shown without its secret attributes.
    Extension(&'static SchemaDef),
}

fn shown_as(kind: ResourceKind, key: &str) -> Shown {
    if ["schemas", "id", "meta", related_name(kind)].contains(&key) {
        return Shown::Hidden;
    }
    // Stored bodies are canonical and never hold a secret (refused at ingest); a secret
    // found anyway is left out by its schema name, without resolving each key.
    if let Some(ext) = kind.extensions().iter().find(|e| e.id == key) {
        return Shown::Extension(ext);
    }
    let mut names = key.rsplit(':').next().unwrap_or(key).split('.');
    if names.any(|name| {
        kind.core_schema()
            .attribute(name)
            .is_some_and(super::schema::AttributeDef::is_secret)
    }) {
        Shown::Hidden
    } else {
        Shown::AsIs
    }
}

/// The member a representation derives: a User's `groups`, a Group's `members`.
fn related_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "groups",
        ResourceKind::Group => "members",
    }
}

/// An extension object without its secret attributes.
fn without_secrets(ext: &'static SchemaDef, mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|name, _| ext.attribute(name).is_none_or(|a| !a.is_secret()));
    }
    value
}

fn default_schemas(kind: ResourceKind, stored: impl Fn(&str) -> bool) -> Value {
    let mut list = vec![Value::String(kind.core_schema().id.to_owned())];
    for ext in kind.extensions() {
        if stored(ext.id) {
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
            body,
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
        let user = build_resource(ResourceKind::User, "https://h", "u1", body, &meta(), None);
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
            json!({"displayName": "S"}),
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

    /// [`write_resource`] writes, byte for byte, what [`build_resource`] then
    /// [`Projection::all`] serialise to, for bodies with and without `schemas`, with an
    /// extension, with keys the server owns or that name a secret, and with escapes.
    #[test]
    fn written_representation_is_the_built_one() {
        let stored_meta = crate::domain::Meta {
            created: crate::domain::Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
            last_modified: crate::domain::Timestamp::parse("2024-01-02T03:04:05.123Z").unwrap(),
            version: 7,
        };
        let meta = Meta {
            created: stored_meta.created.to_string(),
            last_modified: stored_meta.last_modified.to_string(),
            version: stored_meta.version.to_string(),
        };
        let bodies = [
            (
                ResourceKind::User,
                json!({"userName": "jane", "active": true}),
            ),
            (
                ResourceKind::User,
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
                    "id": "spoofed", "meta": {"version": "W/\"99\""}, "groups": [{"value": "g"}],
                    "userName": "j\"a\\ne\u{e9}", "password": "leak", "name.password": "x",
                    "na\u{1}me": {"givenName": "J\n"}, "title": 1.5, "n": -3, "big": u64::MAX,
                    ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "m"}}
                }),
            ),
            (
                ResourceKind::User,
                json!({"schemas": "not a list", ENTERPRISE_USER_SCHEMA: {}}),
            ),
            (
                ResourceKind::Group,
                json!({"displayName": "G", "members": [{"value": "u"}]}),
            ),
        ];
        for (kind, body) in bodies {
            let related = vec![member_ref(
                "https://h/scim/v2",
                ResourceKind::Group,
                "g1",
                Some("G1"),
            )];
            let built = build_resource(
                kind,
                "https://h/scim/v2",
                "r1",
                body.clone(),
                &meta,
                Some(related.clone()),
            );
            let expected = serde_json::to_vec(&Projection::all().apply(kind, built)).unwrap();
            let raw = serde_json::value::to_raw_value(&body).unwrap();
            let written = write_resource(
                kind,
                "https://h/scim/v2",
                "r1",
                &raw,
                &stored_meta,
                Some(&related),
            )
            .unwrap();
            assert_eq!(
                String::from_utf8(written.clone()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
            // The same, read from a whole stored row in one pass.
            let row = serde_json::to_string(&json!({"body": body, "meta": stored_meta})).unwrap();
            let stored: StoredRow = serde_json::from_str(&row).unwrap();
            assert_eq!(stored.meta, stored_meta);
            assert_eq!(stored.body.to_value().unwrap(), body);
            let from_row = write_fields(
                kind,
                "https://h/scim/v2",
                "r1",
                &stored.body,
                &stored.meta,
                Some(&related),
            )
            .unwrap();
            assert_eq!(from_row, written);
        }
        let not_an_object = serde_json::value::to_raw_value(&json!([1])).unwrap();
        assert!(
            write_resource(
                ResourceKind::User,
                "https://h",
                "r1",
                &not_an_object,
                &stored_meta,
                None
            )
            .is_err()
        );
    }
}
