//! PATCH (RFC 7644 §3.5.2) with the Okta and Entra dialects: parse a PatchOp body,
//! split Group member operations from the rest ([`split_members`]), and apply the rest to a
//! resource body atomically ([`apply_patch`]).
//!
//! Dialects handled here: capitalised `op` (`Replace`); pathless add/replace whose value has
//! dotted keys (`name.givenName`), URN-prefixed keys (`urn:…:User:employeeNumber`) or an
//! extension object; `"True"`/`"False"` for booleans; add/replace on
//! `emails[type eq "work"].value` creating the element when none matches; Okta's pathless
//! group rename `{"id", "displayName"}` (the `id` is checked, then ignored); members removed
//! by `members[value eq "id"]` (Okta) or by `members` with a value array (Entra).

use serde_json::{Map, Value};

use super::attr::{
    AttrPath, Resolved, as_bool, describe, extension_schema, get_ci, is_read_only, key_ci,
    normalize_single, normalize_value, remove_ci, resolve,
};
use super::error::{ScimError, ScimType};
use super::filter::{CompareOp, Filter};
use super::path::PatchPath;
use super::schema::{AttrType, AttributeDef, Mutability, PATCH_OP_SCHEMA, ResourceKind, SchemaDef};

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

impl PatchOpKind {
    /// The RFC keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

/// One validated operation: `path` resolves against the schema and does not target a
/// read-only attribute; `remove` always has a path; `add`/`replace` always have a value.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target; `None` means the resource itself (value is an object of attributes).
    pub path: Option<PatchPath>,
    /// The value, as sent.
    pub value: Option<Value>,
}

/// A validated PatchOp message: at least one operation, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order, all or none.
    pub operations: Vec<PatchOperation>,
}

/// A change to a Group's membership, which storage keeps as a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    /// Add these member ids (already-present ids are not an error).
    Add(Vec<String>),
    /// Remove these member ids (absent ids are not an error).
    Remove(Vec<String>),
    /// Remove every member.
    RemoveAll,
    /// Make the members exactly these ids.
    ReplaceAll(Vec<String>),
}

/// The result of applying operations to a resource body.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new body (no `password`; `id`/`meta` left as they were in the input).
    pub resource: Value,
    /// A password the request set; the caller hashes or drops it, never stores it in clear.
    pub password: Option<String>,
    /// Canonical names of the attributes whose value changed, in body order: top-level names
    /// (`active`, `name`, `emails`) and, for the extension, `urn:…:User:department`.
    pub changed: Vec<String>,
}

/// Parses and validates a PatchOp body for a resource of `kind`.
///
/// `schemas` may be missing (lenient) but, if present, must contain the PatchOp URN
/// (`invalidSyntax`); `Operations` must be a non-empty array (`invalidSyntax`); `op` is
/// case-insensitive; a path naming no attribute of the built-in schemas is `invalidPath`; a
/// path targeting a read-only attribute (`id`, `meta`, `groups`) is `mutability`; `remove`
/// without a path is `noTarget`; `add`/`replace` without a value is `invalidValue`.
pub fn parse_patch(kind: ResourceKind, body: &Value) -> Result<PatchRequest, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| syntax("the PATCH body must be a JSON object"))?;
    if let Some(schemas) = get_ci(object, "schemas") {
        let listed = schemas.as_array().is_some_and(|list| {
            list.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !listed {
            return Err(syntax(format!(
                "`schemas` of a PATCH request must be [\"{PATCH_OP_SCHEMA}\"]"
            )));
        }
    }
    let operations = get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH request needs an `Operations` array"))?;
    if operations.is_empty() {
        return Err(syntax("`Operations` is empty; send at least one operation"));
    }
    let operations = operations
        .iter()
        .enumerate()
        .map(|(index, op)| parse_operation(kind, index, op))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PatchRequest { operations })
}

fn parse_operation(
    kind: ResourceKind,
    index: usize,
    op: &Value,
) -> Result<PatchOperation, ScimError> {
    let number = index + 1;
    let object = op
        .as_object()
        .ok_or_else(|| syntax(format!("operation {number} must be a JSON object")))?;
    let op_name = get_ci(object, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            syntax(format!(
                "operation {number} needs an `op`: add, remove or replace"
            ))
        })?;
    let op_kind = if op_name.eq_ignore_ascii_case("add") {
        PatchOpKind::Add
    } else if op_name.eq_ignore_ascii_case("remove") {
        PatchOpKind::Remove
    } else if op_name.eq_ignore_ascii_case("replace") {
        PatchOpKind::Replace
    } else {
        return Err(syntax(format!(
            "operation {number} has op \"{op_name}\"; use add, remove or replace"
        )));
    };
    let value = get_ci(object, "value").cloned();
    let path_text = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(other) => {
            return Err(ScimError::new(
                ScimType::InvalidPath,
                format!(
                    "operation {number}: `path` must be a string, not {}",
                    describe(other)
                ),
            ));
        }
    };
    // A bare schema URN as path addresses the whole extension (or the resource itself).
    if let Some(text) = &path_text
        && op_kind != PatchOpKind::Remove
    {
        if let Some(ext) = extension_schema(kind, text) {
            let mut wrapped = Map::new();
            wrapped.insert(ext.id.to_owned(), value.unwrap_or(Value::Null));
            return Ok(PatchOperation {
                op: op_kind,
                path: None,
                value: Some(Value::Object(wrapped)),
            });
        }
        if text.eq_ignore_ascii_case(kind.core_schema().id) {
            return Ok(PatchOperation {
                op: op_kind,
                path: None,
                value,
            });
        }
    }
    let path = match path_text {
        Some(text) if extension_schema(kind, &text).is_some() => {
            // `remove` of a whole extension; applied by `apply_operation`.
            Some(PatchPath::parse(&text)?)
        }
        Some(text) => {
            let parsed = PatchPath::parse(&text)?;
            check_target(kind, &parsed, op_kind)?;
            Some(parsed)
        }
        None => None,
    };
    match (op_kind, &path, &value) {
        (PatchOpKind::Remove, None, _) => Err(ScimError::new(
            ScimType::NoTarget,
            format!("operation {number}: remove needs a `path` naming what to remove"),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::new(
            ScimType::InvalidValue,
            format!("operation {number}: {} needs a `value`", op_kind.as_str()),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "operation {number}: without a `path`, the value of {} must be an object of attributes, not {}",
                    op_kind.as_str(),
                    describe(v)
                ),
            ))
        }
        _ => Ok(PatchOperation {
            op: op_kind,
            path,
            value,
        }),
    }
}

/// Resolves a path against the schema: unknown → `invalidPath`; read-only → `mutability`;
/// a bracket filter on a single-valued attribute → `invalidPath`.
fn check_target(
    kind: ResourceKind,
    path: &PatchPath,
    op: PatchOpKind,
) -> Result<Resolved, ScimError> {
    let resolved = resolve(kind, &path.path).map_err(|e| {
        ScimError::new(
            ScimType::InvalidPath,
            format!(
                "the path `{}` cannot be used: {}",
                path.path.display(),
                e.message()
            ),
        )
    })?;
    if is_read_only(resolved.def) || resolved.sub.is_some_and(is_read_only) {
        return Err(ScimError::new(
            ScimType::Mutability,
            format!(
                "`{}` is read-only and cannot be changed with {}",
                resolved.canonical(),
                op.as_str()
            ),
        ));
    }
    if let Some(filter) = &path.filter {
        if !resolved.def.multi_valued || resolved.def.ty != AttrType::Complex {
            return Err(ScimError::new(
                ScimType::InvalidPath,
                format!(
                    "`{}` is not a multi-valued attribute, so it cannot be followed by a [filter]",
                    resolved.def.name
                ),
            ));
        }
        filter.validate_element(resolved.def)?;
    }
    Ok(resolved)
}

/// Splits a Group PATCH into membership changes and the remaining operations.
///
/// Member operations come from: `add` with path `members` (ids from each element's `value`);
/// `replace` with path `members` ([`MemberOp::ReplaceAll`]); `remove` with path
/// `members[value eq "id"]` (or an `or` of such terms); `remove` with path `members` and a
/// value array (Entra: only those are removed) or without a value ([`MemberOp::RemoveAll`]);
/// and a `members` key inside a pathless add/replace value. Other bracket filters on
/// `members`, and paths into member sub-attributes, are `invalidPath`/`mutability`.
/// The order of member operations is the request order.
pub fn split_members(request: PatchRequest) -> Result<(Vec<MemberOp>, PatchRequest), ScimError> {
    let mut members = Vec::new();
    let mut rest = Vec::new();
    for operation in request.operations {
        match &operation.path {
            Some(path) if is_members(&path.path) => {
                members.push(member_op(&operation, path)?);
            }
            Some(_) => rest.push(operation),
            None => {
                let Some(Value::Object(map)) = &operation.value else {
                    rest.push(operation);
                    continue;
                };
                let mut map = map.clone();
                if let Some(value) = remove_ci(&mut map, "members") {
                    let ids = member_ids(&value)?;
                    members.push(match operation.op {
                        PatchOpKind::Add => MemberOp::Add(ids),
                        _ => MemberOp::ReplaceAll(ids),
                    });
                }
                if !map.is_empty() {
                    rest.push(PatchOperation {
                        op: operation.op,
                        path: None,
                        value: Some(Value::Object(map)),
                    });
                }
            }
        }
    }
    Ok((members, PatchRequest { operations: rest }))
}

fn is_members(path: &AttrPath) -> bool {
    path.attr.eq_ignore_ascii_case("members")
        && path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(super::schema::GROUP_SCHEMA))
}

fn member_op(operation: &PatchOperation, path: &PatchPath) -> Result<MemberOp, ScimError> {
    if path.path.sub.is_some() {
        return Err(ScimError::new(
            ScimType::Mutability,
            "the sub-attributes of a member cannot be changed; add or remove the member instead",
        ));
    }
    let value = operation.value.as_ref().filter(|v| !v.is_null());
    match (&path.filter, operation.op) {
        (Some(filter), PatchOpKind::Remove) => Ok(MemberOp::Remove(ids_in_filter(filter)?)),
        (Some(_), _) => Err(ScimError::new(
            ScimType::InvalidPath,
            "a [filter] on members is only supported with remove; use add or replace with path `members`",
        )),
        (None, PatchOpKind::Add) => Ok(MemberOp::Add(member_ids(value.unwrap_or(&Value::Null))?)),
        (None, PatchOpKind::Replace) => Ok(MemberOp::ReplaceAll(member_ids(
            value.unwrap_or(&Value::Null),
        )?)),
        (None, PatchOpKind::Remove) => match value {
            None => Ok(MemberOp::RemoveAll),
            Some(v) => Ok(MemberOp::Remove(member_ids(v)?)),
        },
    }
}

/// The ids of `members[value eq "a" or value eq "b"]`.
fn ids_in_filter(filter: &Filter) -> Result<Vec<String>, ScimError> {
    let unsupported = || {
        ScimError::new(
            ScimType::InvalidPath,
            "members can only be selected by id, as in members[value eq \"<user id>\"]",
        )
    };
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(id),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.attr.eq_ignore_ascii_case("value") =>
        {
            Ok(vec![id.clone()])
        }
        Filter::Or(operands) => {
            let mut ids = Vec::new();
            for operand in operands {
                ids.extend(ids_in_filter(operand)?);
            }
            Ok(ids)
        }
        _ => Err(unsupported()),
    }
}

/// Member ids from a value: an array (or one) of `{"value": id, ...}` objects or id strings;
/// `display`, `$ref` and `type` are ignored. `null` is no members.
pub fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(id) if !id.is_empty() => Ok(id.clone()),
            Value::Object(map) => match get_ci(map, "value") {
                Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
                _ => Err(missing_member_id()),
            },
            _ => Err(missing_member_id()),
        })
        .collect()
}

fn missing_member_id() -> ScimError {
    ScimError::new(
        ScimType::InvalidValue,
        "each member needs a `value` holding the member's id, as in {\"value\": \"<user id>\"}",
    )
}

/// Applies the operations to `resource` (the stored body of resource `id`) in order, on a
/// copy: either every operation succeeds and the new body is returned, or the first error is.
/// Member operations should have been split off first ([`split_members`]); any left are
/// applied to a JSON `members` array.
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
    Ok(PatchOutcome {
        resource: Value::Object(work),
        password,
        changed,
    })
}

fn apply_operation(
    kind: ResourceKind,
    id: &str,
    work: &mut Map<String, Value>,
    operation: &PatchOperation,
    password: &mut Option<String>,
) -> Result<(), ScimError> {
    let value = operation.value.clone().unwrap_or(Value::Null);
    // `remove` of a whole extension (`urn:…:enterprise:2.0:User`).
    if let Some(ext) = operation
        .path
        .as_ref()
        .and_then(|path| whole_extension(kind, path))
    {
        // Only `remove` reaches here: parsing turns add/replace into a pathless value.
        if let Some(key) = key_ci(work, ext.id) {
            work.remove(&key);
        }
        remove_schema_urn(work, ext.id);
        return Ok(());
    }
    match &operation.path {
        Some(path) => {
            let resolved = check_target(kind, path, operation.op)?;
            let target = Target {
                resolved,
                filter: path.filter.as_ref(),
            };
            if resolved.def.mutability == Mutability::WriteOnly {
                if operation.op != PatchOpKind::Remove {
                    *password = Some(password_string(&value)?);
                }
                return Ok(());
            }
            match operation.op {
                PatchOpKind::Remove => remove(work, &target, operation.value.as_ref()),
                op => set(work, &target, op, value),
            }
        }
        None => {
            let Value::Object(map) = value else {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    "without a `path`, the value must be an object of attributes",
                ));
            };
            for (resolved, filter, value) in expand_pathless(kind, id, map, password)? {
                let target = Target {
                    resolved,
                    filter: filter.as_ref(),
                };
                set(work, &target, operation.op, value)?;
            }
            Ok(())
        }
    }
}

/// The extension a path names as a whole, when it is exactly an extension URN.
fn whole_extension(kind: ResourceKind, path: &PatchPath) -> Option<&'static SchemaDef> {
    if path.filter.is_some() || path.path.sub.is_some() {
        return None;
    }
    let urn = path.path.urn.as_deref()?;
    extension_schema(kind, &format!("{urn}:{}", path.path.attr))
}

/// Drops an extension URN from `schemas` (the extension's attributes are gone).
fn remove_schema_urn(work: &mut Map<String, Value>, urn: &str) {
    if let Some(key) = key_ci(work, "schemas")
        && let Some(Value::Array(schemas)) = work.get_mut(&key)
    {
        schemas.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    }
}

/// A resolved target: where, and which elements.
struct Target<'a> {
    resolved: Resolved,
    filter: Option<&'a Filter>,
}

/// Turns a pathless value into (target, value) pairs: dotted keys, URN-prefixed keys and
/// extension objects are expanded; `schemas` and read-only attributes are skipped, but an
/// `id` different from the resource id is `mutability`; `password` is taken out. A key with
/// a value filter (`emails[type eq "work"].value`, Entra) is a full path.
fn expand_pathless(
    kind: ResourceKind,
    id: &str,
    map: Map<String, Value>,
    password: &mut Option<String>,
) -> Result<Vec<(Resolved, Option<Filter>, Value)>, ScimError> {
    let mut out = Vec::new();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if key.contains('[') {
            let path = PatchPath::parse(&key)?;
            let resolved = check_target(kind, &path, PatchOpKind::Replace)?;
            out.push((resolved, path.filter, value));
            continue;
        }
        if key.eq_ignore_ascii_case(kind.core_schema().id) {
            if let Value::Object(inner) = value {
                out.extend(expand_pathless(kind, id, inner, password)?);
            }
            continue;
        }
        if let Some(ext) = extension_schema(kind, &key) {
            match value {
                Value::Object(inner) => {
                    for (sub_key, sub_value) in inner {
                        if sub_key.eq_ignore_ascii_case("schemas") {
                            continue;
                        }
                        let path = AttrPath::parse(&sub_key)
                            .map(|mut p| {
                                p.urn = Some(ext.id.to_owned());
                                p
                            })
                            .map_err(|e| unknown_key(&sub_key, &e))?;
                        if let Some((r, v)) = pathless_entry(kind, id, &path, sub_value, password)?
                        {
                            out.push((r, None, v));
                        }
                    }
                }
                Value::Null => {}
                other => {
                    return Err(ScimError::new(
                        ScimType::InvalidValue,
                        format!("`{}` must be an object, not {}", ext.id, describe(&other)),
                    ));
                }
            }
            continue;
        }
        let path = AttrPath::parse(&key).map_err(|e| unknown_key(&key, &e))?;
        if let Some((r, v)) = pathless_entry(kind, id, &path, value, password)? {
            out.push((r, None, v));
        }
    }
    Ok(out)
}

fn pathless_entry(
    kind: ResourceKind,
    id: &str,
    path: &AttrPath,
    value: Value,
    password: &mut Option<String>,
) -> Result<Option<(Resolved, Value)>, ScimError> {
    let resolved = resolve(kind, path).map_err(|e| unknown_key(&path.display(), &e.message()))?;
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
    if is_read_only(resolved.def) || resolved.sub.is_some_and(is_read_only) {
        return Ok(None);
    }
    if resolved.def.mutability == Mutability::WriteOnly {
        *password = Some(password_string(&value)?);
        return Ok(None);
    }
    Ok(Some((resolved, value)))
}

fn unknown_key(key: &str, reason: &str) -> ScimError {
    ScimError::new(
        ScimType::InvalidPath,
        format!("the value names `{key}`, which cannot be set: {reason}"),
    )
}

fn password_string(value: &Value) -> Result<String, ScimError> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        ScimError::new(
            ScimType::InvalidValue,
            format!("`password` must be a string, not {}", describe(value)),
        )
    })
}

/// The object holding the target attribute: the body itself, or the extension object
/// (created, and its URN added to `schemas`, when `create`).
fn container<'a>(
    work: &'a mut Map<String, Value>,
    resolved: &Resolved,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let Some(ext) = resolved.extension else {
        return Some(work);
    };
    let key = match key_ci(work, ext.id) {
        Some(key) => key,
        None if create => {
            add_schema_urn(work, ext.id);
            work.insert(ext.id.to_owned(), Value::Object(Map::new()));
            ext.id.to_owned()
        }
        None => return None,
    };
    let slot = work.get_mut(&key)?;
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
        && !list
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    {
        list.push(Value::String(urn.to_owned()));
    }
}

/// Puts `value` under the canonical name, replacing any other spelling of the key.
fn put(object: &mut Map<String, Value>, name: &str, value: Value) {
    if let Some(existing) = key_ci(object, name)
        && existing != name
    {
        object.shift_remove(&existing);
    }
    object.insert(name.to_owned(), value);
}

fn set(
    work: &mut Map<String, Value>,
    target: &Target<'_>,
    op: PatchOpKind,
    value: Value,
) -> Result<(), ScimError> {
    let resolved = target.resolved;
    let def = resolved.def;
    let label = resolved.canonical();
    let Some(object) = container(work, &resolved, true) else {
        return Ok(());
    };
    if let Some(filter) = target.filter {
        return set_filtered(object, def, resolved.sub, filter, value, &label);
    }
    match resolved.sub {
        Some(sub) => {
            let normalized = normalize_value(sub, value, &label)?;
            if def.multi_valued {
                let Some(Value::Array(items)) =
                    key_ci(object, def.name).and_then(|k| object.get_mut(&k))
                else {
                    return Err(no_target(&label, "the attribute has no values"));
                };
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    put_or_remove(item, sub.name, normalized.clone());
                }
                return Ok(());
            }
            let slot = key_ci(object, def.name).unwrap_or_else(|| def.name.to_owned());
            let entry = object
                .entry(slot)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(inner) = entry.as_object_mut() {
                put_or_remove(inner, sub.name, normalized);
            }
            Ok(())
        }
        None => {
            let normalized = normalize_value(def, value, &label)?;
            if normalized.is_null() {
                remove_ci(object, def.name);
                return Ok(());
            }
            let existing = get_ci(object, def.name).cloned();
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
            put(object, def.name, merged);
            Ok(())
        }
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
        remove_ci(object, name);
    } else {
        put(object, name, value);
    }
}

/// add/replace on `attr[filter]` or `attr[filter].sub`: updates every matching element;
/// when none matches and the filter is made of `eq` terms (`type eq "work"`), creates the
/// element from them (Entra); otherwise `noTarget`.
fn set_filtered(
    object: &mut Map<String, Value>,
    def: &'static AttributeDef,
    sub: Option<&'static AttributeDef>,
    filter: &Filter,
    value: Value,
    label: &str,
) -> Result<(), ScimError> {
    let patch = match sub {
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
    let key = key_ci(object, def.name).unwrap_or_else(|| def.name.to_owned());
    let slot = object
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Some(items) = slot.as_array_mut() else {
        return Ok(());
    };
    if patch.get("primary") == Some(&Value::Bool(true)) {
        for item in items.iter_mut() {
            if !filter.matches_element(Some(def), item) {
                clear_primary(item);
            }
        }
    }
    let mut matched = false;
    for item in items.iter_mut() {
        if filter.matches_element(Some(def), item)
            && let Some(element) = item.as_object_mut()
        {
            matched = true;
            for (k, v) in &patch {
                put_or_remove(element, k, v.clone());
            }
        }
    }
    if matched {
        return Ok(());
    }
    let Some(mut element) = template(def, filter) else {
        return Err(no_target(
            label,
            "no element matches the filter, and it is not made of `eq` terms to create one from",
        ));
    };
    for (k, v) in patch {
        if !v.is_null() {
            element.insert(k, v);
        }
    }
    items.push(Value::Object(element));
    Ok(())
}

/// The element a filter of `eq` terms describes (`type eq "work" and primary eq true`).
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

fn remove(
    work: &mut Map<String, Value>,
    target: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let resolved = target.resolved;
    let def = resolved.def;
    let Some(object) = container(work, &resolved, false) else {
        return Ok(());
    };
    let Some(key) = key_ci(object, def.name) else {
        return Ok(());
    };
    match (target.filter, resolved.sub) {
        (None, None) => {
            match value.filter(|v| !v.is_null() && def.multi_valued) {
                // Entra: remove with a value array removes only those values.
                Some(values) => remove_values(object, &key, values),
                None => {
                    object.shift_remove(&key);
                }
            }
        }
        (None, Some(sub)) => {
            if let Some(slot) = object.get_mut(&key) {
                match slot {
                    Value::Array(items) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            remove_ci(item, sub.name);
                        }
                    }
                    Value::Object(inner) => {
                        remove_ci(inner, sub.name);
                    }
                    _ => {}
                }
            }
        }
        (Some(filter), sub) => {
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                match sub {
                    None => items.retain(|item| !filter.matches_element(Some(def), item)),
                    Some(sub) => {
                        for item in items.iter_mut() {
                            if filter.matches_element(Some(def), item)
                                && let Some(element) = item.as_object_mut()
                            {
                                remove_ci(element, sub.name);
                            }
                        }
                    }
                }
            }
        }
    }
    if matches!(object.get(&key), Some(Value::Array(items)) if items.is_empty()) {
        object.shift_remove(&key);
    }
    Ok(())
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
            .and_then(|o| get_ci(o, "value"))
            .cloned()
            .unwrap_or_else(|| v.clone())
    };
    let doomed: Vec<Value> = doomed.into_iter().map(identity).collect();
    if let Some(Value::Array(items)) = object.get_mut(key) {
        items.retain(|item| !doomed.contains(&identity(item)));
    }
}

fn no_target(label: &str, why: &str) -> ScimError {
    ScimError::new(ScimType::NoTarget, format!("`{label}`: {why}"))
}

/// Canonical names of attributes whose value differs between two bodies.
pub fn changed_attributes(
    kind: ResourceKind,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<String> {
    let mut changed = Vec::new();
    let mut keys: Vec<&String> = after.keys().collect();
    keys.extend(before.keys().filter(|k| !after.contains_key(*k)));
    for key in keys {
        let old = get_ci(before, key);
        let new = get_ci(after, key);
        if old == new {
            continue;
        }
        match extension_schema(kind, key) {
            Some(ext) => {
                let empty = Map::new();
                let old = old.and_then(Value::as_object).unwrap_or(&empty);
                let new = new.and_then(Value::as_object).unwrap_or(&empty);
                let mut sub_keys: Vec<&String> = new.keys().collect();
                sub_keys.extend(old.keys().filter(|k| !new.contains_key(*k)));
                for sub in sub_keys {
                    if get_ci(old, sub) != get_ci(new, sub) {
                        let name = ext.attribute(sub).map_or(sub.as_str(), |a| a.name);
                        changed.push(format!("{}:{name}", ext.id));
                    }
                }
            }
            None => {
                let name = kind
                    .core_schema()
                    .attribute(key)
                    .map_or(key.as_str(), |a| a.name);
                if !changed.iter().any(|c| c == name) {
                    changed.push(name.to_owned());
                }
            }
        }
    }
    changed
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidSyntax, detail)
}

/// Whether a boolean attribute value reads as `true` (`true` or `"True"`).
pub fn is_true(value: Option<&Value>) -> bool {
    value.and_then(as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn ops(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
    }

    fn patch_user(user: &Value, operations: Value) -> Result<PatchOutcome, ScimError> {
        let request = parse_patch(ResourceKind::User, &ops(operations))?;
        apply_patch(ResourceKind::User, "u1", user, &request)
    }

    fn patched(user: &Value, operations: Value) -> Value {
        patch_user(user, operations)
            .unwrap_or_else(|e| panic!("{e}"))
            .resource
    }

    fn error(user: &Value, operations: Value) -> Option<ScimType> {
        patch_user(user, operations).err().and_then(|e| e.scim_type)
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane",
            "active": true,
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane@home.example", "type": "home"}]
        })
    }

    fn group_split(operations: Value) -> (Vec<MemberOp>, PatchRequest) {
        let request = parse_patch(ResourceKind::Group, &ops(operations)).unwrap();
        split_members(request).unwrap()
    }

    #[test]
    fn okta_pathless_deactivate() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        );
        assert_eq!(u["active"], json!(false));
    }

    #[test]
    fn entra_capitalised_op_and_string_false() {
        let u = patched(
            &user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        );
        assert_eq!(u["active"], json!(false));
    }

    #[test]
    fn wrong_type_for_active_is_invalid_value() {
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
        );
        assert_eq!(e, Some(ScimType::InvalidValue));
        let e = error(&user(), json!([{"op": "replace", "value": {"active": 1}}]));
        assert_eq!(e, Some(ScimType::InvalidValue));
    }

    #[test]
    fn entra_dotted_and_urn_keys() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {
                "name.givenName": "J",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"
            }}]),
        );
        assert_eq!(u["name"], json!({"givenName": "J", "familyName": "Doe"}));
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["employeeNumber"], json!("7"));
        assert!(
            u["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE_USER_SCHEMA))
        );
    }

    #[test]
    fn entra_pathless_value_path_key() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"emails[type eq \"work\"].value": "w@x"}}]),
        );
        assert_eq!(u["emails"][1], json!({"type": "work", "value": "w@x"}));
    }

    #[test]
    fn unqualified_manager_remove() {
        let u = patched(
            &user(),
            json!([{"op": "add", "path": "manager", "value": {"value": "m1"}},
                   {"op": "remove", "path": "manager"}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA], json!({}));
    }

    #[test]
    fn pathless_extension_object() {
        let u = patched(
            &user(),
            json!([{"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"Department": "R&D"}}}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["department"], json!("R&D"));
    }

    #[test]
    fn entra_work_email_created_when_absent() {
        let u = patched(
            &user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@work"}]),
        );
        assert_eq!(u["emails"][1], json!({"type": "work", "value": "j@work"}));
    }

    #[test]
    fn value_path_updates_matching_element() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "new@home"}]),
        );
        assert_eq!(u["emails"], json!([{"value": "new@home", "type": "home"}]));
    }

    #[test]
    fn replace_on_unmatched_non_eq_filter_is_no_target() {
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}]),
        );
        assert_eq!(e, Some(ScimType::NoTarget));
    }

    #[test]
    fn remove_without_path_is_no_target() {
        assert_eq!(
            error(&user(), json!([{"op": "remove"}])),
            Some(ScimType::NoTarget)
        );
    }

    #[test]
    fn unknown_path_is_invalid_path() {
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "favouriteColour", "value": "red"}]),
        );
        assert_eq!(e, Some(ScimType::InvalidPath));
    }

    #[test]
    fn unknown_pathless_key_is_invalid_path() {
        let e = error(
            &user(),
            json!([{"op": "replace", "value": {"favouriteColour": "red"}}]),
        );
        assert_eq!(e, Some(ScimType::InvalidPath));
    }

    #[test]
    fn read_only_path_is_mutability() {
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
        );
        assert_eq!(e, Some(ScimType::Mutability));
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        );
        assert_eq!(e, Some(ScimType::Mutability));
    }

    #[test]
    fn read_only_pathless_keys_ignored() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"meta": {"created": "x"}, "groups": [], "id": "u1"}}]),
        );
        assert_eq!(u, user());
    }

    #[test]
    fn pathless_id_mismatch_is_mutability() {
        let e = error(
            &user(),
            json!([{"op": "replace", "value": {"id": "other"}}]),
        );
        assert_eq!(e, Some(ScimType::Mutability));
    }

    #[test]
    fn capitalised_attribute_names() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "path": "Name.GivenName", "value": "J"}]),
        );
        assert_eq!(u["name"]["givenName"], json!("J"));
    }

    #[test]
    fn password_returned_not_stored() {
        let out = patch_user(
            &user(),
            json!([{"op": "replace", "value": {"password": "s3cret"}}]),
        )
        .unwrap();
        assert_eq!(out.password.as_deref(), Some("s3cret"));
        assert!(out.resource.get("password").is_none());
    }

    #[test]
    fn operations_are_atomic() {
        let e = error(
            &user(),
            json!([{"op": "replace", "path": "active", "value": false},
                   {"op": "replace", "path": "nope", "value": 1}]),
        );
        assert_eq!(e, Some(ScimType::InvalidPath));
    }

    #[test]
    fn changed_lists_attributes() {
        let out = patch_user(
            &user(),
            json!([{"op": "replace", "value": {"active": false, "userName": "jane"}}]),
        )
        .unwrap();
        assert_eq!(out.changed, vec!["active".to_owned()]);
    }

    #[test]
    fn remove_by_value_path() {
        let u = patched(
            &user(),
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        );
        assert!(u.get("emails").is_none());
    }

    #[test]
    fn add_to_multi_valued_appends() {
        let u = patched(
            &user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "b", "type": "work", "primary": "True"}]}]),
        );
        assert_eq!(u["emails"][1]["primary"], json!(true));
    }

    #[test]
    fn new_primary_clears_old_primary() {
        let start = json!({"userName": "a", "emails": [{"value": "a", "primary": true}]});
        let u = patched(
            &start,
            json!([{"op": "add", "path": "emails", "value": [{"value": "b", "primary": true}]}]),
        );
        assert_eq!(
            u["emails"],
            json!([{"value": "a", "primary": false}, {"value": "b", "primary": true}])
        );
    }

    #[test]
    fn missing_schemas_is_accepted_but_wrong_is_invalid_syntax() {
        let body = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
        assert!(parse_patch(ResourceKind::User, &body).is_ok());
        let body = json!({"schemas": ["urn:x"], "Operations": [{"op": "replace", "value": {"active": false}}]});
        assert_eq!(
            parse_patch(ResourceKind::User, &body)
                .unwrap_err()
                .scim_type,
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn empty_operations_is_invalid_syntax() {
        let body = json!({"Operations": []});
        assert_eq!(
            parse_patch(ResourceKind::User, &body)
                .unwrap_err()
                .scim_type,
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn entra_manager_as_bare_id() {
        let u = patched(
            &user(),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m1"}));
    }

    #[test]
    fn okta_member_remove_by_filter() {
        let (members, _) =
            group_split(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(members, vec![MemberOp::Remove(vec!["u1".into()])]);
    }

    #[test]
    fn entra_member_remove_with_value_array_removes_only_those() {
        let (members, _) =
            group_split(json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]));
        assert_eq!(members, vec![MemberOp::Remove(vec!["u2".into()])]);
    }

    #[test]
    fn remove_members_without_value_removes_all() {
        let (members, _) = group_split(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(members, vec![MemberOp::RemoveAll]);
    }

    #[test]
    fn okta_add_and_remove_in_one_request() {
        let (members, rest) = group_split(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u2", "display": "jane@ex.com"}]}
        ]));
        assert_eq!(
            members,
            vec![
                MemberOp::Remove(vec!["u1".into()]),
                MemberOp::Add(vec!["u2".into()])
            ]
        );
        assert!(rest.operations.is_empty());
    }

    #[test]
    fn entra_add_member_with_null_ref() {
        let (members, _) = group_split(
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}]}]),
        );
        assert_eq!(members, vec![MemberOp::Add(vec!["u3".into()])]);
    }

    #[test]
    fn replace_members_replaces_all() {
        let (members, _) = group_split(
            json!([{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
        );
        assert_eq!(
            members,
            vec![MemberOp::ReplaceAll(vec!["a".into(), "b".into()])]
        );
    }

    #[test]
    fn pathless_members_split_from_rename() {
        let (members, rest) = group_split(
            json!([{"op": "replace", "value": {"displayName": "X", "members": [{"value": "a"}]}}]),
        );
        assert_eq!(members, vec![MemberOp::ReplaceAll(vec!["a".into()])]);
        assert_eq!(rest.operations.len(), 1);
    }

    #[test]
    fn okta_group_rename_with_id_is_idempotent() {
        let group = json!({"schemas": [crate::scim::schema::GROUP_SCHEMA], "displayName": "Sales"});
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Sales EMEA"}}])),
        )
        .unwrap();
        let once = apply_patch(ResourceKind::Group, "g1", &group, &request).unwrap();
        let twice = apply_patch(ResourceKind::Group, "g1", &once.resource, &request).unwrap();
        assert_eq!(once.resource["displayName"], json!("Sales EMEA"));
        assert_eq!(twice.resource, once.resource);
        assert!(twice.changed.is_empty());
    }

    #[test]
    fn okta_group_rename_with_other_id_is_refused() {
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "replace", "value": {"id": "g2", "displayName": "X"}}])),
        )
        .unwrap();
        let e = apply_patch(ResourceKind::Group, "g1", &json!({}), &request).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn member_filter_other_than_value_is_invalid_path() {
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "remove", "path": "members[type eq \"User\"]"}])),
        )
        .unwrap();
        assert_eq!(
            split_members(request).unwrap_err().scim_type,
            Some(ScimType::InvalidPath)
        );
    }
}
