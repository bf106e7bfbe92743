//! `explain`: evaluate one HTTP-shaped SCIM request against a STATE.json, without applying.
//!
//! The request file has the shape `{"method": "PATCH", "path": "/Users/2819c223", "body": {...}}`,
//! so the same file can be replayed against a running server.

use serde::Deserialize;
use serde_json::Value;

use crate::check::CheckedRules;
use crate::domain::SequentialIds;
use crate::eval::memory::{MemoryState, StateFileError};
use crate::eval::{EvalError, Plan, plan};
use crate::scim::op::ScimOp;
use crate::scim::route::route_path;

/// Why `explain` could not produce a Plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplainError {
    /// The request file is not a SCIM write request.
    #[error("request file: {0}")]
    Request(String),
    /// The state file was refused.
    #[error(transparent)]
    State(#[from] StateFileError),
    /// Evaluation failed (the same error the server would answer with).
    #[error("the operation fails: {}", .0.to_scim().detail)]
    Eval(#[from] EvalError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
}

/// Parses an HTTP-shaped request document into a [`ScimOp`].
pub fn parse_request(text: &str) -> Result<ScimOp, ExplainError> {
    let request: RequestFile = serde_json::from_str(text).map_err(|e| {
        ExplainError::Request(format!("expected {{\"method\", \"path\", \"body\"}}: {e}"))
    })?;
    let route = route_path(&request.method, &request.path)
        .map_err(|e| ExplainError::Request(e.to_string()))?;
    if !route.is_write() {
        return Err(ExplainError::Request(format!(
            "{} {} is not a SCIM write operation; explain takes POST, PUT, PATCH or DELETE on /Users or /Groups",
            request.method, request.path
        )));
    }
    // A body the server would refuse is the operation's failure, not a malformed file.
    ScimOp::from_route(&route, request.body).map_err(|e| ExplainError::Eval(EvalError::Scim(e)))
}

/// Evaluates the request in `op_text` against the state in `state_text`. New ids are
/// deterministic: `new-1`, `new-2`, ...
pub fn explain(
    rules: &CheckedRules,
    state_text: &str,
    op_text: &str,
) -> Result<Plan, ExplainError> {
    let state = MemoryState::from_json(state_text)?;
    let op = parse_request(op_text)?;
    Ok(plan(rules, &op, &state, &SequentialIds::new("new-"))?)
}
