//! The evaluator's view of the SCIM layer's input handling: body preparation and PATCH.
//! TEMPORARY minimal version until the scim module's resource/patch functions land.

use serde_json::Value;

use crate::eval::op::MemberOp;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::ResourceKind;

/// A create or replace body, prepared.
pub(crate) struct PreparedInput {
    pub body: Value,
    pub members: Option<Vec<String>>,
    pub password_set: bool,
    pub ignored: Vec<String>,
}

/// A PATCH applied.
pub(crate) struct Patched {
    pub body: Value,
    pub members: Vec<MemberOp>,
    pub password_set: bool,
}

pub(crate) fn prepare_input(kind: ResourceKind, body: &Value) -> Result<PreparedInput, ScimError> {
    let Some(map) = body.as_object() else {
        return Err(ScimError::new(
            ScimType::InvalidSyntax,
            "the body must be a JSON object",
        ));
    };
    let mut out = serde_json::Map::new();
    let mut members = None;
    let mut password_set = false;
    let mut ignored = Vec::new();
    for (k, v) in map {
        let lower = k.to_ascii_lowercase();
        match lower.as_str() {
            "id" | "meta" | "groups" => ignored.push(k.clone()),
            "password" => password_set = true,
            "members" if kind == ResourceKind::Group => {
                members = Some(
                    v.as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|m| m.get("value").and_then(Value::as_str))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                );
            }
            "active" => {
                let b = crate::eval::path::as_bool(v).ok_or_else(|| {
                    ScimError::new(ScimType::InvalidValue, "active must be a boolean")
                })?;
                out.insert("active".into(), Value::Bool(b));
            }
            "username" => {
                out.insert("userName".into(), v.clone());
            }
            "displayname" => {
                out.insert("displayName".into(), v.clone());
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(PreparedInput {
        body: Value::Object(out),
        members,
        password_set,
        ignored,
    })
}

pub(crate) fn replace_preserving(old: &Value, mut new: Value) -> Value {
    if let (Some(active), Some(map)) = (old.get("active"), new.as_object_mut())
        && !map.contains_key("active")
    {
        map.insert("active".into(), active.clone());
    }
    new
}

pub(crate) fn apply_patch(
    kind: ResourceKind,
    _id: &str,
    before: &Value,
    patch: &Value,
) -> Result<Patched, ScimError> {
    let mut body = before.clone();
    let mut members = Vec::new();
    let ops = patch
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::new(ScimType::InvalidSyntax, "Operations missing"))?;
    for op in ops {
        let verb = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let path = op.get("path").and_then(Value::as_str);
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match (verb.as_str(), path) {
            ("replace" | "add", None) => {
                if let (Some(map), Some(obj)) = (body.as_object_mut(), value.as_object()) {
                    for (k, v) in obj {
                        if k == "id" {
                            continue;
                        }
                        let v = if k.eq_ignore_ascii_case("active") {
                            Value::Bool(crate::eval::path::as_bool(v).unwrap_or(false))
                        } else {
                            v.clone()
                        };
                        map.insert(k.clone(), v);
                    }
                }
            }
            ("replace" | "add", Some(p)) if kind == ResourceKind::Group && p == "members" => {
                let ids = value
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m.get("value").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                members.push(if verb == "add" {
                    MemberOp::Add(ids)
                } else {
                    MemberOp::ReplaceAll(ids)
                });
            }
            ("replace" | "add", Some(p)) => {
                if let Some(map) = body.as_object_mut() {
                    let v = if p.eq_ignore_ascii_case("active") {
                        Value::Bool(crate::eval::path::as_bool(&value).unwrap_or(false))
                    } else {
                        value
                    };
                    map.insert(p.to_string(), v);
                }
            }
            ("remove", Some(p)) if kind == ResourceKind::Group && p.starts_with("members[") => {
                let id = p.split('"').nth(1).unwrap_or("").to_string();
                members.push(MemberOp::Remove(vec![id]));
            }
            ("remove", Some(p)) => {
                if let Some(map) = body.as_object_mut() {
                    map.shift_remove(p);
                }
            }
            _ => return Err(ScimError::new(ScimType::InvalidSyntax, "unsupported op")),
        }
    }
    Ok(Patched {
        body,
        members,
        password_set: false,
    })
}
