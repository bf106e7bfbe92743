//! Applying PATCH operations to a canonical resource body, on a copy, all or none; the
//! result must keep the resource's invariants ([`crate::scim::resource::validate`]).

use serde_json::{Map, Value};

use super::{PatchOpKind, PatchOperation, PatchRequest, PatchTarget, resolve_target};
use crate::scim::attr::{
    AttrPath, Key, Resolved, classify_key, describe, key_ci, normalize_single, normalize_value,
    resolve,
};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::ValuePath;
use crate::scim::resource::{password_string, validate};
use crate::scim::schema::{AttributeDef, ResourceKind, SchemaDef};

/// The result of applying operations to a resource body.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new body, canonical (no `password`; `id`/`meta` left as they were in the input).
    pub resource: Value,
    /// A password the request set; the caller hashes or drops it, never stores it in clear.
    pub password: Option<String>,
    /// Canonical names of the attributes whose value changed, in body order: top-level names
    /// (`active`, `name`, `emails`) and, for the extension, `urn:…:User:department`.
    pub changed: Vec<String>,
}

/// Applies the operations to `resource` (the canonical stored body of resource `id`) in
/// order, on a copy: either every operation succeeds and the result passes
/// [`validate`] (a PATCH cannot remove or empty `userName`, nor grow `emails` past the
/// limit), and the new body is returned, or the first error is. Member operations should
/// have been split off first ([`super::split_members`]); any left are applied to a JSON
/// `members` array.
///
/// # Errors
///
/// The first failing operation's error (`noTarget`, `invalidValue`, `invalidPath`,
/// `mutability`), or [`validate`]'s for the result.
pub fn apply_patch(
    kind: ResourceKind,
    id: &str,
    resource: &Value,
    request: &PatchRequest,
) -> Result<PatchOutcome, ScimError> {
    let mut work = match resource {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let mut password = None;
    for operation in &request.operations {
        apply_operation(kind, id, &mut work, operation, &mut password)?;
    }
    let before = resource.as_object().cloned().unwrap_or_default();
    let changed = changed_attributes(kind, &before, &work);
    let resource = Value::Object(work);
    validate(kind, &resource)?;
    Ok(PatchOutcome {
        resource,
        password,
        changed,
    })
}

/// One (target, value) of a pathless value, after expansion.
enum Entry {
    Known(ValuePath, Value),
    Foreign(AttrPath, Value),
}

fn apply_operation(
    kind: ResourceKind,
    id: &str,
    work: &mut Map<String, Value>,
    operation: &PatchOperation,
    password: &mut Option<String>,
) -> Result<(), ScimError> {
    let value = operation.value.clone().unwrap_or(Value::Null);
    match &operation.target {
        PatchTarget::Extension(ext) => {
            // Only `remove` reaches here: parsing turns add/replace into a pathless value.
            work.shift_remove(ext.id);
            remove_schema_urn(work, ext.id);
            Ok(())
        }
        PatchTarget::Path(path) => {
            if path.is_secret() {
                if operation.op != PatchOpKind::Remove {
                    *password = password_string(&path.target().canonical(), value)?;
                }
                return Ok(());
            }
            match operation.op {
                PatchOpKind::Remove => {
                    remove(work, path, operation.value.as_ref());
                    Ok(())
                }
                op => set(work, path, op, value),
            }
        }
        PatchTarget::Foreign { text, path } => {
            match operation.op {
                PatchOpKind::Remove => remove_foreign(work, text, path),
                _ => set_foreign(work, path, value),
            }
            Ok(())
        }
        PatchTarget::Resource => {
            let Value::Object(map) = value else {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    "without a `path`, the value must be an object of attributes",
                ));
            };
            for entry in expand_pathless(kind, id, map, password)? {
                match entry {
                    Entry::Known(path, value) => set(work, &path, operation.op, value)?,
                    Entry::Foreign(path, value) => set_foreign(work, &path, value),
                }
            }
            Ok(())
        }
    }
}

/// Drops an extension URN from `schemas` (the extension's attributes are gone).
fn remove_schema_urn(work: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(schemas)) = work.get_mut("schemas") {
        schemas.retain(|s| s.as_str() != Some(urn));
    }
}

/// Turns a pathless value into targets and values: every key is resolved as a body key is
/// ([`classify_key`]: plain, dotted, URN-qualified, an extension object, a foreign
/// extension); `schemas` and read-only attributes are skipped, but an `id` different from
/// the resource id is `mutability`; a password is taken out. A key with a value filter
/// (`emails[type eq "work"].value`, Entra) is a full path. An unknown name is `invalidPath`.
fn expand_pathless(
    kind: ResourceKind,
    id: &str,
    map: Map<String, Value>,
    password: &mut Option<String>,
) -> Result<Vec<Entry>, ScimError> {
    let mut out = Vec::new();
    for (key, value) in map {
        if key.contains('[') {
            match resolve_target(kind, &key, PatchOpKind::Replace)? {
                PatchTarget::Path(path) if path.is_secret() => {
                    *password = password_string(&path.target().canonical(), value)?;
                }
                PatchTarget::Path(path) => out.push(Entry::Known(path, value)),
                _ => return Err(unknown_key(&key, "it names no attribute")),
            }
            continue;
        }
        let classified = classify_key(kind, &key, value.is_object())
            .map_err(|e| unknown_key(&key, &e.message()))?;
        match classified {
            Key::Schemas => {}
            Key::CoreSchema => match value {
                Value::Object(inner) => out.extend(expand_pathless(kind, id, inner, password)?),
                Value::Null => {}
                other => return Err(not_an_object(kind.core_schema().id, &other)),
            },
            Key::Extension(ext) => match value {
                Value::Object(inner) => {
                    for (sub_key, sub_value) in inner {
                        // A `schemas` inside an extension's object (some clients repeat
                        // it there) says nothing to set.
                        if sub_key.eq_ignore_ascii_case("schemas") {
                            continue;
                        }
                        let qualified = format!("{}:{sub_key}", ext.id);
                        let resolved = AttrPath::parse(&qualified)
                            .map_err(|e| unknown_key(&qualified, &e))
                            .and_then(|path| {
                                resolve(kind, &path)
                                    .map_err(|e| unknown_key(&qualified, &e.message()))
                            })?;
                        if let Some(entry) = pathless_entry(id, resolved, sub_value, password)? {
                            out.push(entry);
                        }
                    }
                }
                Value::Null => {}
                other => return Err(not_an_object(ext.id, &other)),
            },
            Key::Attribute(resolved) => {
                if let Some(entry) = pathless_entry(id, resolved, value, password)? {
                    out.push(entry);
                }
            }
            Key::ForeignExtension => {
                if let Value::Object(inner) = value {
                    for (attr, inner_value) in inner {
                        let path = AttrPath {
                            urn: Some(key.clone()),
                            attr,
                            sub: None,
                        };
                        out.push(Entry::Foreign(path, inner_value));
                    }
                }
            }
            Key::ForeignAttribute(path) => out.push(Entry::Foreign(path, value)),
        }
    }
    Ok(out)
}

fn pathless_entry(
    id: &str,
    resolved: Resolved,
    value: Value,
    password: &mut Option<String>,
) -> Result<Option<Entry>, ScimError> {
    if resolved.extension.is_none() && resolved.sub.is_none() && resolved.def.name == "id" {
        return match value.as_str() {
            Some(sent) if sent == id => Ok(None),
            _ => Err(ScimError::new(
                ScimType::Mutability,
                format!(
                    "the value carries id {} but this resource's id is \"{id}\"; an id cannot be changed",
                    describe(&value)
                ),
            )),
        };
    }
    if resolved.is_read_only() {
        return Ok(None);
    }
    if resolved.is_secret() {
        *password = password_string(&resolved.canonical(), value)?;
        return Ok(None);
    }
    Ok(Some(Entry::Known(ValuePath::of(resolved), value)))
}

fn unknown_key(key: &str, reason: &str) -> ScimError {
    ScimError::new(
        ScimType::InvalidPath,
        format!("the value names `{key}`, which cannot be set: {reason}"),
    )
}

fn not_an_object(name: &str, value: &Value) -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        format!("`{name}` must be an object, not {}", describe(value)),
    )
}

/// The object holding the target attribute: the body itself, or the extension object
/// (created, and its URN added to `schemas`, when `create`).
fn container<'a>(
    work: &'a mut Map<String, Value>,
    extension: Option<&'static SchemaDef>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let Some(ext) = extension else {
        return Some(work);
    };
    if !work.contains_key(ext.id) {
        if !create {
            return None;
        }
        add_schema_urn(work, ext.id);
        work.insert(ext.id.to_owned(), Value::Object(Map::new()));
    }
    let slot = work.get_mut(ext.id)?;
    if !slot.is_object() {
        if !create {
            return None;
        }
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

fn add_schema_urn(work: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(list)) = work.get_mut("schemas")
        && !list.iter().any(|s| s.as_str() == Some(urn))
    {
        list.push(Value::String(urn.to_owned()));
    }
}

fn set(
    work: &mut Map<String, Value>,
    path: &ValuePath,
    op: PatchOpKind,
    value: Value,
) -> Result<(), ScimError> {
    let resolved = path.target();
    let def = resolved.def;
    let label = resolved.canonical();
    let Some(object) = container(work, resolved.extension, true) else {
        return Ok(());
    };
    if path.filter().is_some() {
        return set_filtered(object, path, value, &label);
    }
    if let Some(sub) = resolved.sub {
        let normalized = normalize_value(sub, value, &label)?;
        if def.multi_valued {
            let Some(Value::Array(items)) = object.get_mut(def.name) else {
                return Err(no_target(&label, "the attribute has no values"));
            };
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                put_or_remove(item, sub.name, normalized.clone());
            }
            return Ok(());
        }
        let entry = object
            .entry(def.name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Some(inner) = entry.as_object_mut() {
            put_or_remove(inner, sub.name, normalized);
        }
        Ok(())
    } else {
        let normalized = normalize_value(def, value, &label)?;
        if normalized.is_null() {
            object.shift_remove(def.name);
            return Ok(());
        }
        let existing = object.get(def.name).cloned();
        let merged = match (existing, normalized, op) {
            (Some(Value::Array(mut old)), Value::Array(new), PatchOpKind::Add) => {
                // RFC 7643 §2.4: at most one element is primary; the newest wins.
                if new.iter().any(is_primary) {
                    old.iter_mut().for_each(clear_primary);
                }
                for item in new {
                    if !old.contains(&item) {
                        old.push(item);
                    }
                }
                Value::Array(old)
            }
            (Some(Value::Object(mut old)), Value::Object(new), _) if !def.multi_valued => {
                for (k, v) in new {
                    old.insert(k, v);
                }
                Value::Object(old)
            }
            (_, new, _) => new,
        };
        object.insert(def.name.to_owned(), merged);
        Ok(())
    }
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(item: &mut Value) {
    if let Some(object) = item.as_object_mut()
        && object.get("primary") == Some(&Value::Bool(true))
    {
        object.insert("primary".into(), Value::Bool(false));
    }
}

fn put_or_remove(object: &mut Map<String, Value>, name: &str, value: Value) {
    if value.is_null() {
        object.shift_remove(name);
    } else {
        object.insert(name.to_owned(), value);
    }
}

/// add/replace on `attr[filter]` or `attr[filter].sub`: updates every matching element;
/// when none matches and the filter is made of `eq` terms (`type eq "work"`), creates the
/// element from them (Entra); otherwise `noTarget`.
fn set_filtered(
    object: &mut Map<String, Value>,
    path: &ValuePath,
    value: Value,
    label: &str,
) -> Result<(), ScimError> {
    let def = path.attribute();
    let changes = match path.sub() {
        Some(sub) => {
            let mut one = Map::new();
            one.insert(sub.name.to_owned(), normalize_value(sub, value, label)?);
            one
        }
        None => match normalize_single(def, value, label)? {
            Value::Object(map) => map,
            other => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("`{label}` needs an object value, not {}", describe(&other)),
                ));
            }
        },
    };
    let slot = object
        .entry(def.name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Some(items) = slot.as_array_mut() else {
        return Ok(());
    };
    if changes.get("primary") == Some(&Value::Bool(true)) {
        for item in items.iter_mut() {
            if !path.selects_element(item) {
                clear_primary(item);
            }
        }
    }
    let mut matched = false;
    for item in items.iter_mut() {
        if path.selects_element(item)
            && let Some(element) = item.as_object_mut()
        {
            matched = true;
            for (k, v) in &changes {
                put_or_remove(element, k, v.clone());
            }
        }
    }
    if matched {
        return Ok(());
    }
    let Some(mut element) = path.filter().and_then(|f| template(def, f)) else {
        return Err(no_target(
            label,
            "no element matches the filter, and it is not made of `eq` terms to create one from",
        ));
    };
    for (k, v) in changes {
        if !v.is_null() {
            element.insert(k, v);
        }
    }
    items.push(Value::Object(element));
    Ok(())
}

/// The element a resolved filter of `eq` terms describes (`type eq "work" and primary eq
/// true`).
fn template(def: &'static AttributeDef, filter: &Filter) -> Option<Map<String, Value>> {
    let mut element = Map::new();
    let terms: Vec<&Filter> = match filter {
        Filter::And(operands) => operands.iter().collect(),
        single => vec![single],
    };
    for term in terms {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } = term
        else {
            return None;
        };
        if path.urn.is_some() || path.sub.is_some() || value.is_null() {
            return None;
        }
        let sub = def.sub_attribute(&path.attr)?;
        let value = normalize_single(sub, value.clone(), sub.name).ok()?;
        element.insert(sub.name.to_owned(), value);
    }
    Some(element)
}

fn remove(work: &mut Map<String, Value>, path: &ValuePath, value: Option<&Value>) {
    let resolved = path.target();
    let def = resolved.def;
    let Some(object) = container(work, resolved.extension, false) else {
        return;
    };
    if !object.contains_key(def.name) {
        return;
    }
    match (path.filter(), resolved.sub) {
        (None, None) => {
            match value.filter(|v| !v.is_null() && def.multi_valued) {
                // Entra: remove with a value array removes only those values.
                Some(values) => remove_values(object, def.name, values),
                None => {
                    object.shift_remove(def.name);
                }
            }
        }
        (None, Some(sub)) => match object.get_mut(def.name) {
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.shift_remove(sub.name);
                }
            }
            Some(Value::Object(inner)) => {
                inner.shift_remove(sub.name);
            }
            _ => {}
        },
        (Some(_), sub) => {
            if let Some(Value::Array(items)) = object.get_mut(def.name) {
                match sub {
                    None => items.retain(|item| !path.selects_element(item)),
                    Some(sub) => {
                        for item in items.iter_mut() {
                            if path.selects_element(item)
                                && let Some(element) = item.as_object_mut()
                            {
                                element.shift_remove(sub.name);
                            }
                        }
                    }
                }
            }
        }
    }
    if matches!(object.get(def.name), Some(Value::Array(items)) if items.is_empty()) {
        object.shift_remove(def.name);
    }
}

/// Removes the elements equal to one of `values` (compared by their `value` sub-attribute
/// when both are objects that have one).
fn remove_values(object: &mut Map<String, Value>, key: &str, values: &Value) {
    let doomed: Vec<&Value> = match values {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let identity = |v: &Value| -> Value {
        v.as_object()
            .and_then(|o| crate::scim::attr::get_ci(o, "value"))
            .cloned()
            .unwrap_or_else(|| v.clone())
    };
    let doomed: Vec<Value> = doomed.into_iter().map(identity).collect();
    if let Some(Value::Array(items)) = object.get_mut(key) {
        items.retain(|item| !doomed.contains(&identity(item)));
    }
}

/// Sets an attribute of a foreign extension, kept as sent under its URN (an existing key of
/// that URN, in whatever case it was sent, is reused); `null` removes it.
fn set_foreign(work: &mut Map<String, Value>, path: &AttrPath, value: Value) {
    let Some(urn) = &path.urn else {
        return;
    };
    let slot = key_ci(work, urn).unwrap_or_else(|| urn.clone());
    let container = work
        .entry(slot.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !container.is_object() {
        *container = Value::Object(Map::new());
    }
    let Some(container) = container.as_object_mut() else {
        return;
    };
    let attr = key_ci(container, &path.attr).unwrap_or_else(|| path.attr.clone());
    match &path.sub {
        None if value.is_null() => {
            container.shift_remove(&attr);
        }
        None => {
            container.insert(attr, value);
        }
        Some(sub) => {
            let inner = container
                .entry(attr)
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Some(inner) = inner.as_object_mut() {
                let sub = key_ci(inner, sub).unwrap_or_else(|| sub.clone());
                put_or_remove(inner, &sub, value);
            }
        }
    }
    drop_if_empty(work, &slot);
}

/// Removes a foreign extension (when `text` is its URN) or one of its attributes.
fn remove_foreign(work: &mut Map<String, Value>, text: &str, path: &AttrPath) {
    if path.sub.is_none()
        && let Some(key) = key_ci(work, text)
    {
        work.shift_remove(&key);
        return;
    }
    let Some(slot) = path.urn.as_deref().and_then(|urn| key_ci(work, urn)) else {
        return;
    };
    if let Some(container) = work.get_mut(&slot).and_then(Value::as_object_mut)
        && let Some(attr) = key_ci(container, &path.attr)
    {
        match &path.sub {
            None => {
                container.shift_remove(&attr);
            }
            Some(sub) => {
                if let Some(inner) = container.get_mut(&attr).and_then(Value::as_object_mut)
                    && let Some(sub) = key_ci(inner, sub)
                {
                    inner.shift_remove(&sub);
                }
            }
        }
    }
    drop_if_empty(work, &slot);
}

fn drop_if_empty(work: &mut Map<String, Value>, key: &str) {
    if work
        .get(key)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        work.shift_remove(key);
    }
}

fn no_target(label: &str, why: &str) -> ScimError {
    ScimError::new(ScimType::NoTarget, format!("`{label}`: {why}"))
}

/// Canonical names of attributes whose value differs between two canonical bodies:
/// top-level names, `urn:…:User:department` for an extension's attributes, and a foreign
/// extension's URN as sent.
pub fn changed_attributes(
    kind: ResourceKind,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<String> {
    let mut changed = Vec::new();
    let mut keys: Vec<&String> = after.keys().collect();
    keys.extend(before.keys().filter(|k| !after.contains_key(*k)));
    for key in keys {
        let old = before.get(key);
        let new = after.get(key);
        if old == new {
            continue;
        }
        match kind.extensions().iter().find(|ext| ext.id == key) {
            Some(ext) => {
                let empty = Map::new();
                let old = old.and_then(Value::as_object).unwrap_or(&empty);
                let new = new.and_then(Value::as_object).unwrap_or(&empty);
                let mut sub_keys: Vec<&String> = new.keys().collect();
                sub_keys.extend(old.keys().filter(|k| !new.contains_key(*k)));
                for sub in sub_keys {
                    if old.get(sub) != new.get(sub) {
                        changed.push(format!("{}:{sub}", ext.id));
                    }
                }
            }
            None => {
                if !changed.iter().any(|c| c == key) {
                    changed.push(key.clone());
                }
            }
        }
    }
    changed
}
