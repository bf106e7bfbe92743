//! Group membership in PATCH: membership is a relation of its own in storage, so member
//! operations are split from the rest of a Group PATCH as [`MemberOp`]s.

use serde_json::{Map, Value};

use super::{PatchOpKind, PatchOperation, PatchRequest, PatchTarget};
use crate::scim::attr::{Key, classify_key, get_ci};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::ValuePath;
use crate::scim::schema::ResourceKind;

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

/// Splits a Group PATCH into membership changes and the remaining operations.
///
/// Member operations come from: `add` with path `members` (ids from each element's `value`);
/// `replace` with path `members` ([`MemberOp::ReplaceAll`]); `remove` with path
/// `members[value eq "id"]` (or an `or` of such terms); `remove` with path `members` and a
/// value array (Entra: only those are removed) or without a value ([`MemberOp::RemoveAll`]);
/// and a `members` key inside a pathless add/replace value. Other bracket filters on
/// `members`, and paths into member sub-attributes, are `invalidPath`/`mutability`.
/// The order of member operations is the request order.
///
/// # Errors
///
/// `invalidPath`, `mutability` or `invalidValue` for a member operation that is not
/// supported.
pub fn split_members(request: PatchRequest) -> Result<(Vec<MemberOp>, PatchRequest), ScimError> {
    let mut members = Vec::new();
    let mut rest = Vec::new();
    for operation in request.operations {
        match &operation.target {
            PatchTarget::Path(path) if is_members(path) => {
                members.push(member_op(&operation, path)?);
            }
            PatchTarget::Resource => {
                let Some(Value::Object(map)) = &operation.value else {
                    rest.push(operation);
                    continue;
                };
                let mut kept = Map::new();
                for (key, value) in map {
                    if names_members(key) {
                        let ids = member_ids(value)?;
                        members.push(match operation.op {
                            PatchOpKind::Add => MemberOp::Add(ids),
                            _ => MemberOp::ReplaceAll(ids),
                        });
                    } else {
                        kept.insert(key.clone(), value.clone());
                    }
                }
                if !kept.is_empty() {
                    rest.push(PatchOperation {
                        op: operation.op,
                        target: PatchTarget::Resource,
                        value: Some(Value::Object(kept)),
                    });
                }
            }
            _ => rest.push(operation),
        }
    }
    Ok((members, PatchRequest { operations: rest }))
}

fn is_members(path: &ValuePath) -> bool {
    let target = path.target();
    target.extension.is_none() && target.def.name == "members"
}

fn names_members(key: &str) -> bool {
    matches!(
        classify_key(ResourceKind::Group, key, false),
        Ok(Key::Attribute(r)) if r.extension.is_none() && r.sub.is_none() && r.def.name == "members"
    )
}

fn member_op(operation: &PatchOperation, path: &ValuePath) -> Result<MemberOp, ScimError> {
    if path.sub().is_some() {
        return Err(ScimError::new(
            ScimType::Mutability,
            "the sub-attributes of a member cannot be changed; add or remove the member instead",
        ));
    }
    let value = operation.value.as_ref().filter(|v| !v.is_null());
    match (path.filter(), operation.op) {
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

/// The ids of `members[value eq "a" or value eq "b"]` (a resolved filter).
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
        } if path.urn.is_none() && path.sub.is_none() && path.attr == "value" => {
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
///
/// # Errors
///
/// `invalidValue` for a member without an id.
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
