//! [`ScimOp`]: one SCIM write operation, parsed and validated at the edge. The body of a
//! create or replace is normalised ([`ResourceInput`]); a PATCH body is a parsed
//! [`PatchRequest`] with Group member operations split off. Nothing later re-reads the raw
//! request.

use serde_json::Value;

use super::error::{ScimError, ScimType};
use super::patch::{self, MemberOp, PatchRequest};
use super::resource::{self, ResourceInput};
use super::route::{Method, Route};
use crate::domain::{ResourceId, ResourceKind};

/// A SCIM write operation, dialect-normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimOp {
    /// `POST /Users` or `POST /Groups`.
    Create {
        /// Resource kind.
        kind: ResourceKind,
        /// The normalised body.
        input: ResourceInput,
        /// Read-only attributes the client sent, which are ignored (as sent).
        ignored: Vec<String>,
    },
    /// `PUT /Users/{id}`.
    Replace {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: ResourceId,
        /// The normalised body.
        input: ResourceInput,
        /// Read-only attributes the client sent, which are ignored (as sent).
        ignored: Vec<String>,
    },
    /// `PATCH /Users/{id}`.
    Patch {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: ResourceId,
        /// The operations on attributes other than Group `members`.
        request: PatchRequest,
        /// Group membership changes, in request order (always empty for Users).
        members: Vec<MemberOp>,
    },
    /// `DELETE /Users/{id}`.
    Delete {
        /// Resource kind.
        kind: ResourceKind,
        /// Resource id.
        id: ResourceId,
    },
}

impl ScimOp {
    /// Builds the operation of a write route from its body (parsed JSON; `None` when the
    /// request had none). A route that is not a write is refused.
    pub fn from_route(route: &Route, body: Option<Value>) -> Result<ScimOp, ScimError> {
        let need_body = |body: Option<Value>, method: Method| {
            body.ok_or_else(|| {
                ScimError::new(
                    ScimType::InvalidSyntax,
                    format!("{method} needs a JSON body"),
                )
            })
        };
        match route {
            Route::Create(kind) => {
                let body = need_body(body, Method::Post)?;
                let ignored = read_only_keys(&body);
                Ok(ScimOp::Create {
                    kind: *kind,
                    input: resource::normalize_input(*kind, body)?,
                    ignored,
                })
            }
            Route::Replace(kind, id) => {
                let body = need_body(body, Method::Put)?;
                let ignored = read_only_keys(&body);
                Ok(ScimOp::Replace {
                    kind: *kind,
                    id: id.clone(),
                    input: resource::normalize_input(*kind, body)?,
                    ignored,
                })
            }
            Route::Patch(kind, id) => {
                let body = need_body(body, Method::Patch)?;
                let request = patch::parse_patch(*kind, &body)?;
                let (members, request) = if *kind == ResourceKind::Group {
                    patch::split_members(request)?
                } else {
                    (Vec::new(), request)
                };
                Ok(ScimOp::Patch {
                    kind: *kind,
                    id: id.clone(),
                    request,
                    members,
                })
            }
            Route::Delete(kind, id) => Ok(ScimOp::Delete {
                kind: *kind,
                id: id.clone(),
            }),
            _ => Err(ScimError::status(
                405,
                "this endpoint does not take a write operation",
            )),
        }
    }

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
    pub fn method(&self) -> Method {
        match self {
            ScimOp::Create { .. } => Method::Post,
            ScimOp::Replace { .. } => Method::Put,
            ScimOp::Patch { .. } => Method::Patch,
            ScimOp::Delete { .. } => Method::Delete,
        }
    }

    /// The addressed resource id (`None` for a create).
    pub fn id(&self) -> Option<&ResourceId> {
        match self {
            ScimOp::Create { .. } => None,
            ScimOp::Replace { id, .. } | ScimOp::Patch { id, .. } | ScimOp::Delete { id, .. } => {
                Some(id)
            }
        }
    }
}

/// The read-only attributes a create or replace body carries (`id`, `meta`, `groups`), as
/// sent: they are ignored, and the Plan notes it.
fn read_only_keys(body: &Value) -> Vec<String> {
    body.as_object()
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
        .unwrap_or_default()
}
