//! Evaluation: `CheckedRules` + one SCIM operation + the current state -> [`Plan`].
//!
//! [`plan`] is one chain of value-returning steps, each in its own module and its own
//! `tracing` span (`RUST_LOG=provisio=debug` shows one request's path):
//! 1. [`prepare`](prepare::prepare): the resource before and after the operation;
//! 2. [`classify`](classify::classify): the situation and the match-existing outcome;
//! 3. [`choose`](choose::choose): the reaction (first guard that holds wins);
//! 4. [`map_fields`](map::map_fields): mappings, references, `manager_out_of_scope`;
//! 5. [`run_hooks`](intents::run_hooks): sandboxed rhai hooks and their intents;
//! 6. lifecycle and notifications; [`group_effects`](groups::group_effects): memberships
//!    and scope; links waiting for a newly provisioned user;
//! 7. [`finish`]: the Plan, with its history.
//!
//! Nothing here writes: applying the Plan is the store's job.

pub mod access;
pub mod explain;
pub mod memory;
pub mod plan;
pub mod reverse;

mod choose;
mod classify;
mod context;
mod finish;
mod groups;
mod intents;
mod map;
mod prepare;
mod refs;
mod value;
mod writes;

use tracing::debug_span;

use crate::check::{Action, CheckedRules, Situation};
use crate::domain::{IdSource, Lifecycle, StateError, StateView};
use crate::hooks::HookError;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::op::ScimOp;

pub use plan::Plan;

use classify::Classified;
use context::Ctx;
use finish::{Outcome, Refusal};
use plan::{ChosenAction, MatchOutcome};
use writes::Writes;

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
    State(#[from] StateError),
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
            EvalError::State(_) => ScimError::status(
                500,
                "the server could not read its database; nothing was changed, try again",
            ),
        }
    }
}

/// Evaluates one operation against the state, taking new ids from `ids`.
pub fn plan(
    rules: &CheckedRules,
    op: &ScimOp,
    state: &dyn StateView,
    ids: &dyn IdSource,
) -> Result<Plan, EvalError> {
    let ctx = Ctx::new(rules, state, op.kind());
    let mut subject = debug_span!("prepare").in_scope(|| prepare::prepare(&ctx, op, ids))?;
    let classified = debug_span!("classify").in_scope(|| classify::classify(&ctx, &mut subject))?;
    let (situation, matched) = match classified {
        Classified::Refused(situation, matched, chosen, rejection) => {
            return Ok(finish::refused(
                &ctx,
                subject,
                Refusal::new(situation, matched, chosen, rejection),
            ));
        }
        Classified::Situation(situation, matched) => (situation, matched),
    };
    let chosen = debug_span!("choose", situation = situation.as_str())
        .in_scope(|| choose::choose(rules, ctx.kind, situation, subject.guard_resource()));
    tracing::debug!(action = chosen.action.keyword(), rule = %chosen.rule, "reaction");
    react(&ctx, subject, situation, matched, chosen, ids)
}

/// Steps 4 to 7: carries out the chosen action.
fn react(
    ctx: &Ctx<'_>,
    subject: prepare::Subject,
    situation: Situation,
    matched: MatchOutcome,
    chosen: ChosenAction,
    ids: &dyn IdSource,
) -> Result<Plan, EvalError> {
    let own = finish::own_ref(ctx, &subject);
    let mut outcome = Outcome::new(Writes::new(own, &subject.current));
    match &chosen.action {
        Action::Reject(scim_type) => {
            let rejection = finish::rejection(ctx, &subject, situation, *scim_type, &chosen.rule);
            return Ok(finish::refused(
                ctx,
                subject,
                Refusal::new(situation, matched, chosen, rejection),
            ));
        }
        Action::Delete => {
            outcome.resource = finish::Fate::Delete;
            outcome.lifecycle =
                finish::lifecycle_change(&subject, &matched, Lifecycle::Deleted, &chosen.rule);
            outcome.groups = debug_span!("group_effects")
                .in_scope(|| groups::group_effects(ctx, &subject, &chosen.action, &chosen.rule))?;
            return Ok(finish::finish(
                ctx, subject, situation, matched, chosen, outcome,
            ));
        }
        Action::Ignore => {
            outcome.resource = finish::put_or_delete(&subject);
            return Ok(finish::finish(
                ctx, subject, situation, matched, chosen, outcome,
            ));
        }
        Action::Create | Action::Update | Action::Suspend | Action::Activate | Action::Skip(_) => {}
    }
    outcome.resource = finish::put_or_delete(&subject);
    // Only an action that writes the entity keeps a password (as a hash).
    outcome.password.clone_from(&subject.password);
    let mapped = debug_span!("map_fields")
        .in_scope(|| map::map_fields(ctx, &subject, situation, &chosen, outcome.writes.clone()))?;
    if let Some((chosen, rejection)) = mapped.refused {
        return Ok(finish::refused(
            ctx,
            subject,
            Refusal {
                situation,
                also: mapped.also,
                matched,
                chosen,
                rejection,
            },
        ));
    }
    outcome.skipped = mapped.skipped;
    outcome.pending = mapped.pending;
    outcome.also = mapped.also;
    let hooked =
        debug_span!("run_hooks").in_scope(|| intents::run_hooks(ctx, mapped.writes, ids))?;
    outcome.writes = hooked.writes;
    outcome.hooks = hooked.effects;
    let to = match &chosen.action {
        Action::Create => Some(finish::created_lifecycle(&subject)),
        Action::Suspend => Some(Lifecycle::Suspended),
        Action::Activate => Some(Lifecycle::Active),
        _ => None,
    };
    if let Some(to) = to {
        outcome.lifecycle = finish::lifecycle_change(&subject, &matched, to, &chosen.rule);
    }
    if matches!(chosen.action, Action::Create) {
        outcome
            .notifications
            .extend(finish::invitation(ctx, &matched, &outcome.writes));
    }
    outcome.groups = debug_span!("group_effects")
        .in_scope(|| groups::group_effects(ctx, &subject, &chosen.action, &chosen.rule))?;
    // A user who is now provisioned and in scope satisfies references waiting for them.
    if ctx.kind == crate::domain::ResourceKind::User
        && matches!(chosen.action, Action::Create)
        && ctx.rules.scope.is_none()
    {
        let user_name = finish::own_user_name(ctx, &outcome.writes);
        groups::resolve_waiting(
            ctx,
            &subject,
            &subject.id,
            user_name.as_deref(),
            &mut outcome.groups.links,
        )?;
    }
    Ok(finish::finish(
        ctx, subject, situation, matched, chosen, outcome,
    ))
}
