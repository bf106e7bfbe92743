//! The Plan: plain data saying what one SCIM operation will do, and why.
//!
//! Every list is in a deterministic order (rule order, then id order), so Plans can be
//! snapshot-tested and diffed. A Plan is never partial: evaluation either returns a whole
//! Plan or an error.

use serde::Serialize;
use serde_json::Value;

use crate::check::Situation;
use crate::eval::state::{Entity, FieldValue, Lifecycle, PendingRef};
use crate::hooks::Intent;
use crate::scim::error::ScimType;
use crate::scim::schema::ResourceKind;

/// The outcome of evaluating one operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The operation, as evaluated.
    pub operation: Operation,
    /// The primary situation.
    pub situation: Situation,
    /// Further situations met along the way (`manager_out_of_scope`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Situation>,
    /// How the resource matched existing state.
    #[serde(rename = "match")]
    pub matched: MatchOutcome,
    /// The chosen action and the rule that chose it.
    pub action: ChosenAction,
    /// The entity the operation is about (id shared with the SCIM resource).
    pub entity: EntityRef,
    /// What happens to the stored SCIM resource.
    pub resource: ResourceWrite,
    /// A lifecycle change of the entity, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleChange>,
    /// Field writes with provenance, in mapping order (then hook and link writes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<FieldWrite>,
    /// Mapped fields not written, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedField>,
    /// Pending references created or resolved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingChange>,
    /// Entities created by hook intents (a new JobTitle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub created_entities: Vec<Entity>,
    /// Hook runs with the intents they recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRun>,
    /// Group membership changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<MembershipChange>,
    /// Effects on other users (leaving or entering the sync scope).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cascades: Vec<Cascade>,
    /// Notifications, sent or suppressed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    /// The change-history entries this operation records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Set when the operation is refused; nothing else in the Plan is applied then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// Notes for a human reader (password discarded, readOnly input ignored, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether the operation is refused.
    pub fn is_rejected(&self) -> bool {
        self.rejection.is_some()
    }
}

/// The operation evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// HTTP method (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// Resource kind.
    pub kind: ResourceKind,
    /// Resource id (assigned for a create).
    pub id: String,
}

/// How an incoming resource matched existing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum MatchOutcome {
    /// No entity existed: a new one is created.
    New,
    /// An unmanaged entity with the same natural key was picked up.
    PickedUp {
        /// The entity's id (the SCIM resource takes it).
        entity_id: String,
        /// The field matched on.
        by: String,
        /// The rule `match existing by`.
        rule: String,
    },
    /// The operation addressed an existing managed resource.
    Existing,
    /// A managed resource with the same natural key already exists in this tenant.
    Duplicate {
        /// Its id.
        existing_id: String,
    },
    /// The userName is held in another tenant (which one is never revealed).
    TakenElsewhere,
}

/// The chosen action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChosenAction {
    /// The action keyword (`create`, `suspend`, `reject`...).
    pub action: String,
    /// The action's argument (`skip FIELD`, `reject SCIMTYPE`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// The rule that chose it (`default.rules:31`), or `built-in` for a built-in default.
    pub rule: String,
}

/// An entity reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EntityRef {
    /// Entity type.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Entity id.
    pub id: String,
}

/// What happens to the stored SCIM resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "write")]
pub enum ResourceWrite {
    /// Store this body (create or replace).
    Put {
        /// The body to store (no `meta`, no `password`, no group `members`).
        body: Value,
    },
    /// Remove the resource.
    Delete,
    /// Leave the stored resource as it is.
    Keep,
}

/// A lifecycle change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleChange {
    /// State before (`None` for a new entity).
    pub from: Option<Lifecycle>,
    /// State after.
    pub to: Lifecycle,
    /// The rule responsible.
    pub rule: String,
}

/// A field write with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldWrite {
    /// The entity written (the operation's own entity, or a waiting user for a link).
    pub entity: EntityRef,
    /// Field name.
    pub field: String,
    /// Value before.
    pub before: Option<FieldValue>,
    /// Value after; `None` clears the field.
    pub after: Option<FieldValue>,
    /// Where the value came from.
    pub source: Provenance,
}

/// Where a written value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum Provenance {
    /// A mapping.
    Mapping {
        /// The mapping rule (`default.rules:12`).
        rule: String,
        /// The SCIM source path.
        path: String,
        /// The raw SCIM value found (null when absent).
        raw: Value,
        /// Transforms applied, in order.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        transforms: Vec<String>,
    },
    /// A hook intent.
    Hook {
        /// The hook rule.
        rule: String,
        /// Script and function.
        script: String,
    },
    /// A pending reference resolved by this operation.
    PendingLink {
        /// The mapping rule that asked for the reference.
        rule: String,
        /// The key the waiting user gave (an id or userName).
        key: String,
    },
}

/// A mapped field not written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedField {
    /// Field name.
    pub field: String,
    /// Why.
    pub reason: String,
    /// The rule that decided it.
    pub rule: String,
}

/// A pending reference created or resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum PendingChange {
    /// Wait for this reference.
    Create {
        /// The reference.
        #[serde(flatten)]
        pending: PendingRef,
    },
    /// The awaited entity is now provisioned: link it.
    Resolve {
        /// The reference.
        #[serde(flatten)]
        pending: PendingRef,
        /// The id it resolved to.
        resolved_to: String,
    },
    /// The waiting entity no longer needs it (manager changed, or user deleted).
    Drop {
        /// The reference.
        #[serde(flatten)]
        pending: PendingRef,
    },
}

/// One hook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookRun {
    /// The hook rule.
    pub rule: String,
    /// Script path.
    pub script: String,
    /// Function called.
    pub function: String,
    /// The watched field.
    pub field: String,
    /// Its value before.
    pub before: Option<FieldValue>,
    /// Its value after.
    pub after: Option<FieldValue>,
    /// Intents recorded, in order.
    pub intents: Vec<Intent>,
}

/// A membership change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MembershipChange {
    /// Group id.
    pub group: String,
    /// User id.
    pub user: String,
    /// Added (true) or removed (false).
    pub added: bool,
}

/// The effect of this operation on another user (scope changes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cascade {
    /// The user.
    pub user: EntityRef,
    /// The user's userName, for readers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The situation it met.
    pub situation: Situation,
    /// The action chosen.
    pub action: ChosenAction,
    /// Its lifecycle change, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleChange>,
}

/// A notification the application would send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// What kind (`invitation`).
    pub kind: String,
    /// To whom (an email or userName).
    pub to: String,
    /// Sent, or suppressed.
    pub sent: bool,
    /// The rule that decided.
    pub rule: String,
}

/// One change-history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The entity changed.
    pub entity: EntityRef,
    /// The user's userName when the entity is a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Field (or `Lifecycle`, `Member`).
    pub field: String,
    /// Value before, as text.
    pub before: Option<String>,
    /// Value after, as text.
    pub after: Option<String>,
    /// The rule responsible.
    pub rule: String,
}

/// Why an operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// HTTP status.
    pub status: u16,
    /// SCIM error type.
    pub scim_type: Option<ScimType>,
    /// Detail for the administrator.
    pub detail: String,
    /// The rule that refused it.
    pub rule: String,
}
