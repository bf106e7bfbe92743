//! The evaluator's use of the SCIM layer's input handling: POST/PUT body normalisation and
//! PATCH application, with group members split off as a relation.

use serde_json::Value;

use crate::scim::error::ScimError;
use crate::scim::patch::{self, MemberOp};
use crate::scim::resource;
use crate::scim::schema::ResourceKind;

/// A create or replace body, normalised.
pub(crate) struct PreparedInput {
    pub body: Value,
    pub members: Option<Vec<String>>,
    pub password_set: bool,
    /// Read-only attributes the client sent, which were ignored.
    pub ignored: Vec<String>,
}

/// A PATCH applied.
pub(crate) struct Patched {
    pub body: Value,
    pub members: Vec<MemberOp>,
    pub password_set: bool,
}

pub(crate) fn prepare_input(kind: ResourceKind, body: &Value) -> Result<PreparedInput, ScimError> {
    let ignored = body
        .as_object()
        .map(|map| {
            map.keys()
                .filter(|k| {
                    ["id", "meta", "groups"]
                        .iter()
                        .any(|r| k.eq_ignore_ascii_case(r))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let input = resource::normalize_input(kind, body.clone())?;
    Ok(PreparedInput {
        body: input.body,
        members: input.members,
        password_set: input.password.is_some(),
        ignored,
    })
}

pub(crate) fn replace_preserving(old: &Value, new: Value) -> Value {
    resource::replace_preserving(old, new)
}

pub(crate) fn apply_patch(
    kind: ResourceKind,
    id: &str,
    before: &Value,
    body: &Value,
) -> Result<Patched, ScimError> {
    let request = patch::parse_patch(kind, body)?;
    let (members, rest) = if kind == ResourceKind::Group {
        patch::split_members(request)?
    } else {
        (Vec::new(), request)
    };
    let outcome = patch::apply_patch(kind, id, before, &rest)?;
    Ok(Patched {
        body: outcome.resource,
        members,
        password_set: outcome.password.is_some(),
    })
}
