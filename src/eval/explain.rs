//! `explain`: evaluate one HTTP-shaped SCIM request against a STATE.json, without applying.
//!
//! The request file has the shape `{"method": "PATCH", "path": "/Users/2819c223", "body": {...}}`,
//! so the same file can be replayed against a running server.

use serde::Deserialize;
use serde_json::Value;

use crate::check::CheckedRules;
use crate::eval::memory::{MemoryState, StateFileError};
use crate::eval::{EvalError, Plan, ScimOp, SequentialIds, plan_with};

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
    ScimOp::from_http(&request.method, &request.path, request.body)
        .map_err(|e| ExplainError::Request(e.detail))
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
    Ok(plan_with(
        rules,
        &op,
        &state,
        &mut SequentialIds::new("new-"),
    )?)
}
