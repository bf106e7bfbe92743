//! Evaluation: `CheckedRules` + one SCIM operation + the current state -> [`Plan`].
//!
//! [`plan`] is one ordered chain, and each step is a function below, in this order:
//! 1. prepare the operation: the resource before and after it ([`op`]);
//! 2. classify the situation and the match-existing outcome ([`classify`]);
//! 3. select the reaction: for the situation, the first reaction whose guard holds wins;
//! 4. map fields, resolving references (a missing manager meets `manager_out_of_scope`);
//! 5. run hooks on changed fields (sandboxed rhai) and validate their intents;
//! 6. membership and scope effects (groups), lifecycle, notifications, history.
//!
//! Nothing here writes: applying the Plan is the store's job.

pub mod adapter;
pub mod explain;
pub mod memory;
pub mod op;
pub mod path;
pub mod plan;
pub mod state;

mod engine;

use crate::check::CheckedRules;
use crate::hooks::HookError;
use crate::scim::error::{ScimError, ScimType};

pub use engine::{IdSource, SequentialIds, UuidIds};
pub use op::{MemberOp, ScimOp};
pub use plan::Plan;
pub use state::StateView;

/// Why an operation could not be evaluated. No Plan is produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The request itself is wrong (bad body, unknown path, id not found...).
    #[error("{0}")]
    Scim(#[from] ScimError),
    /// A workflow hook failed or hit a sandbox limit.
    #[error("{0}")]
    Hook(#[from] HookError),
    /// A hook recorded an intent the target schema does not allow.
    #[error("hook {script} recorded an invalid intent: {detail}")]
    InvalidIntent {
        /// Script name.
        script: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Reading state failed.
    #[error("{0}")]
    State(#[from] state::StateError),
}

impl EvalError {
    /// The SCIM error a client receives for this failure.
    pub fn to_scim(&self) -> ScimError {
        match self {
            EvalError::Scim(err) => err.clone(),
            EvalError::Hook(err) => ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "the workflow rule {} could not run for this change, so nothing was saved: {}{}",
                    err.script,
                    err.reason,
                    err.line.map(|l| format!(" (line {l})")).unwrap_or_default()
                ),
            ),
            EvalError::InvalidIntent { script, detail } => ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "the workflow rule {script} asked for something not allowed, so nothing was saved: {detail}"
                ),
            ),
            EvalError::State(err) => ScimError::status(500, err.to_string()),
        }
    }
}

/// Evaluates one operation against the state, with fresh UUIDs for new ids.
pub fn plan(rules: &CheckedRules, op: &ScimOp, state: &dyn StateView) -> Result<Plan, EvalError> {
    plan_with(rules, op, state, &mut UuidIds)
}

/// Evaluates one operation, taking new ids from `ids` (deterministic in tests).
pub fn plan_with(
    rules: &CheckedRules,
    op: &ScimOp,
    state: &dyn StateView,
    ids: &mut dyn IdSource,
) -> Result<Plan, EvalError> {
    engine::evaluate(rules, op, state, ids)
}
