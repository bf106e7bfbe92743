//! `ScimOp`: one SCIM write operation as it reaches evaluation, and its preparation into the
//! resource before and after the operation.

use serde_json::{Map, Value};

use crate::eval::EvalError;
use crate::eval::adapter;
use crate::eval::state::{StateView, StoredResource};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::ResourceKind;

/// A SCIM write operation, dialect quirks still in its body (they are normalised here).
#[derive(Debug, Clone, PartialEq)]
pub enum ScimOp {
    /// `POST /Users` or `POST /Groups`.
    Create {
        /// Resource kind.
        kind: ResourceKind,
        /// The request body.
        body: Value,
    },
    /// `PUT /Users/{id}`.
    Replace {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: String,
        /// The request body.
        body: Value,
    },
    /// `PATCH /Users/{id}` with a PatchOp body.
    Patch {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: String,
        /// The PatchOp message.
        body: Value,
    },
    /// `DELETE /Users/{id}`.
    Delete {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: String,
    },
}

impl ScimOp {
    /// The resource kind.
    pub fn kind(&self) -> ResourceKind {
        match self {
            ScimOp::Create { kind, .. }
            | ScimOp::Replace { kind, .. }
            | ScimOp::Patch { kind, .. }
            | ScimOp::Delete { kind, .. } => *kind,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &'static str {
        match self {
            ScimOp::Create { .. } => "POST",
            ScimOp::Replace { .. } => "PUT",
            ScimOp::Patch { .. } => "PATCH",
            ScimOp::Delete { .. } => "DELETE",
        }
    }

    /// Builds an operation from an HTTP method, a path relative to the SCIM base
    /// (`/Users/2819c223`, also accepted with a `/scim/v2` or `/v2` prefix) and a body.
    pub fn from_http(method: &str, path: &str, body: Option<Value>) -> Result<ScimOp, ScimError> {
        let trimmed = path.trim_end_matches('/');
        let trimmed = trimmed
            .strip_prefix("/scim/v2")
            .or_else(|| trimmed.strip_prefix("/v2"))
            .unwrap_or(trimmed);
        let mut parts = trimmed.trim_start_matches('/').split('/');
        let kind = match parts.next() {
            Some(p) if p.eq_ignore_ascii_case("Users") => ResourceKind::User,
            Some(p) if p.eq_ignore_ascii_case("Groups") => ResourceKind::Group,
            _ => {
                return Err(ScimError::status(
                    404,
                    format!("{path} is not a SCIM write endpoint; expected /Users or /Groups"),
                ));
            }
        };
        let id = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
        if parts.next().is_some() {
            return Err(ScimError::status(
                404,
                format!("{path} is not a SCIM resource path"),
            ));
        }
        let need_body = |body: Option<Value>| {
            body.ok_or_else(|| {
                ScimError::new(
                    ScimType::InvalidSyntax,
                    format!("{method} {path} needs a JSON body"),
                )
            })
        };
        let method_upper = method.to_ascii_uppercase();
        match (method_upper.as_str(), id) {
            ("POST", None) => Ok(ScimOp::Create {
                kind,
                body: need_body(body)?,
            }),
            ("PUT", Some(id)) => Ok(ScimOp::Replace {
                kind,
                id,
                body: need_body(body)?,
            }),
            ("PATCH", Some(id)) => Ok(ScimOp::Patch {
                kind,
                id,
                body: need_body(body)?,
            }),
            ("DELETE", Some(id)) => Ok(ScimOp::Delete { kind, id }),
            (m, _) => Err(ScimError::status(
                405,
                format!("{m} {path} is not a SCIM write operation"),
            )),
        }
    }
}

pub use crate::scim::patch::MemberOp;

/// An operation prepared for evaluation: the resource before and after.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub kind: ResourceKind,
    pub method: &'static str,
    /// The resource id (assigned for a create).
    pub id: String,
    pub before: Option<StoredResource>,
    /// The body after the operation; `None` for a delete.
    pub after: Option<Value>,
    pub member_ops: Vec<MemberOp>,
    pub notes: Vec<String>,
}

/// Applies the operation to the stored resource (if any), yielding the body after it.
pub(crate) fn prepare(
    op: &ScimOp,
    state: &dyn StateView,
    new_id: impl FnOnce() -> String,
) -> Result<Prepared, EvalError> {
    let kind = op.kind();
    let load = |id: &str| -> Result<StoredResource, EvalError> {
        state
            .resource(kind, id)?
            .ok_or_else(|| EvalError::Scim(ScimError::not_found(kind.as_str(), id)))
    };
    let mut notes = Vec::new();
    match op {
        ScimOp::Create { body, .. } => {
            let input = adapter::prepare_input(kind, body)?;
            note_input(&input, &mut notes);
            let id = new_id();
            let mut after = input.body;
            set_id(&mut after, &id);
            Ok(Prepared {
                kind,
                method: op.method(),
                id,
                before: None,
                after: Some(after),
                member_ops: input.members.map(MemberOp::Add).into_iter().collect(),
                notes,
            })
        }
        ScimOp::Replace { id, body, .. } => {
            let before = load(id)?;
            let input = adapter::prepare_input(kind, body)?;
            note_input(&input, &mut notes);
            let mut after = adapter::replace_preserving(&before.body, input.body);
            set_id(&mut after, id);
            Ok(Prepared {
                kind,
                method: op.method(),
                id: id.clone(),
                after: Some(after),
                before: Some(before),
                member_ops: input
                    .members
                    .map(MemberOp::ReplaceAll)
                    .into_iter()
                    .collect(),
                notes,
            })
        }
        ScimOp::Patch { id, body, .. } => {
            let before = load(id)?;
            let patched = adapter::apply_patch(kind, id, &before.body, body)?;
            if patched.password_set {
                notes.push("password received and discarded (never stored)".into());
            }
            let mut after = patched.body;
            set_id(&mut after, id);
            Ok(Prepared {
                kind,
                method: op.method(),
                id: id.clone(),
                after: Some(after),
                before: Some(before),
                member_ops: patched.members,
                notes,
            })
        }
        ScimOp::Delete { id, .. } => {
            let before = load(id)?;
            Ok(Prepared {
                kind,
                method: op.method(),
                id: id.clone(),
                before: Some(before),
                after: None,
                member_ops: Vec::new(),
                notes,
            })
        }
    }
}

fn note_input(input: &adapter::PreparedInput, notes: &mut Vec<String>) {
    if input.password_set {
        notes.push("password received and discarded (never stored)".into());
    }
    for ignored in &input.ignored {
        notes.push(format!("read-only input `{ignored}` ignored"));
    }
}

fn set_id(body: &mut Value, id: &str) {
    if !body.is_object() {
        *body = Value::Object(Map::new());
    }
    if let Some(map) = body.as_object_mut() {
        // `id` first, where a reader looks for it.
        map.shift_insert(0, "id".into(), Value::String(id.to_string()));
    }
}
