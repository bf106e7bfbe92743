//! The Plan: plain, typed data saying what one SCIM operation will do, and why.
//!
//! Every list is in a deterministic order (rule order, then id order), so Plans can be
//! snapshot-tested and diffed. A Plan is never partial: evaluation either returns a whole
//! Plan or an error. The serde names keep the YAML of `provisio explain` readable.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::check::{Action, Situation};
use crate::domain::{
    Entity, EntityType, FieldName, FieldValue, Lifecycle, Origin, PendingRef, ResourceId,
    ResourceKind, UserName,
};
use crate::hooks::Intent;
use crate::scim::error::ScimType;
use crate::scim::route::Method;

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
    /// The userName claim this operation takes or gives back (Users only; unchanged: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<UserNameChange>,
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
    /// Entities created by hook intents (a new `JobTitle`).
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
    pub notes: Vec<Note>,
    /// A password to keep as a hash (`password hash;`), write-only: never serialised, so
    /// never shown by `explain`; the notes say what happens to it.
    #[serde(skip)]
    pub password: Option<PasswordWrite>,
}

/// A password the Plan keeps: as received (the pipeline hashes it before the store sees
/// the Plan), then hashed. Neither form prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordWrite {
    /// As received; the store refuses a Plan still holding one.
    Received(crate::password::Secret),
    /// Hashed with Argon2id.
    Hashed(crate::password::PasswordHash),
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
    /// HTTP method.
    pub method: Method,
    /// Resource kind.
    pub kind: ResourceKind,
    /// Resource id (assigned for a create).
    pub id: ResourceId,
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
        entity_id: ResourceId,
        /// The field matched on.
        by: FieldName,
        /// The rule `match existing by`.
        rule: Origin,
    },
    /// The operation addressed an existing managed resource.
    Existing,
    /// A managed resource with the same natural key already exists in this tenant.
    Duplicate {
        /// Its id.
        existing_id: ResourceId,
    },
    /// The userName is held in another tenant (which one is never revealed).
    TakenElsewhere,
}

/// The chosen action and the rule that chose it. Serialised as `action` (the keyword),
/// `argument` (of `skip FIELD` and `reject SCIMTYPE`) and `rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenAction {
    /// The action.
    pub action: Action,
    /// The rule that chose it.
    pub rule: Origin,
}

impl ChosenAction {
    /// The argument of `skip FIELD` / `reject SCIMTYPE`.
    pub fn argument(&self) -> Option<&str> {
        match &self.action {
            Action::Skip(field) => Some(field),
            Action::Reject(scim_type) => Some(scim_type.as_str()),
            _ => None,
        }
    }
}

impl Serialize for ChosenAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let argument = self.argument();
        let mut s =
            serializer.serialize_struct("ChosenAction", 2 + usize::from(argument.is_some()))?;
        s.serialize_field("action", self.action.keyword())?;
        if let Some(argument) = argument {
            s.serialize_field("argument", argument)?;
        }
        s.serialize_field("rule", &self.rule)?;
        s.end()
    }
}

/// An entity reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EntityRef {
    /// Entity type.
    #[serde(rename = "type")]
    pub entity_type: EntityType,
    /// Entity id.
    pub id: ResourceId,
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

/// The global userName claim of a User before and after the operation (only when it
/// changes, compared on the normalised key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserNameChange {
    /// The name held before (released), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<UserName>,
    /// The name held after (claimed), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<UserName>,
}

/// A lifecycle change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleChange {
    /// State before (`None` for a new entity).
    pub from: Option<Lifecycle>,
    /// State after.
    pub to: Lifecycle,
    /// The rule responsible.
    pub rule: Origin,
}

/// A field write with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldWrite {
    /// The entity written (the operation's own entity, or a waiting user for a link).
    pub entity: EntityRef,
    /// Field name.
    pub field: FieldName,
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
        rule: Origin,
        /// The SCIM source path, as the rules write it.
        path: String,
        /// The raw SCIM value found (null when absent).
        raw: Value,
        /// Transforms applied, in order, as the rules write them.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        transforms: Vec<String>,
    },
    /// A hook intent.
    Hook {
        /// The hook rule.
        rule: Origin,
        /// Script and function (`workflows/job_title.rhai::link_job_title`).
        script: String,
    },
    /// A pending reference resolved by this operation.
    PendingLink {
        /// The mapping rule that asked for the reference.
        rule: Origin,
        /// The key the waiting user gave (an id or userName).
        key: String,
    },
}

impl Provenance {
    /// The rule responsible.
    pub fn rule(&self) -> &Origin {
        match self {
            Provenance::Mapping { rule, .. }
            | Provenance::Hook { rule, .. }
            | Provenance::PendingLink { rule, .. } => rule,
        }
    }
}

/// A mapped field not written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedField {
    /// Field name.
    pub field: FieldName,
    /// Why.
    pub reason: String,
    /// The rule that decided it.
    pub rule: Origin,
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
        resolved_to: ResourceId,
    },
    /// The waiting entity no longer needs it (manager changed, or user deleted).
    Drop {
        /// The reference.
        #[serde(flatten)]
        pending: PendingRef,
    },
}

/// The script function a hook calls; shown `script::function`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookFn {
    /// Script path, relative to the profile folder.
    pub script: String,
    /// Function called.
    pub function: String,
}

impl HookFn {
    /// The function `hook` calls.
    pub fn of(hook: &crate::check::Hook) -> HookFn {
        HookFn {
            script: hook.script_path.clone(),
            function: hook.function.clone(),
        }
    }
}

impl std::fmt::Display for HookFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.script, self.function)
    }
}

/// One hook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookRun {
    /// The hook rule.
    pub rule: Origin,
    /// What it called.
    #[serde(flatten)]
    pub hook: HookFn,
    /// The watched field.
    pub field: FieldName,
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
    pub group: ResourceId,
    /// User id.
    pub user: ResourceId,
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

/// What kind of notification the application would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The invitation email of a new user.
    Invitation,
}

impl NotificationKind {
    /// `invitation`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Invitation => "invitation",
        }
    }
}

/// A notification the application would send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// What kind.
    pub kind: NotificationKind,
    /// To whom (an email or userName).
    pub to: String,
    /// Sent, or suppressed.
    pub sent: bool,
    /// The rule that decided.
    pub rule: Origin,
}

/// What a history entry records a change of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryField {
    /// A field of the entity.
    Field(FieldName),
    /// The lifecycle state (`Lifecycle`).
    Lifecycle,
    /// A group's membership (`Member`).
    Member,
    /// Whether provisioning manages the entity (`Managed`): a pick-up.
    Managed,
}

impl HistoryField {
    /// The field name, `Lifecycle` or `Member`.
    pub fn as_str(&self) -> &str {
        match self {
            HistoryField::Field(name) => name.as_str(),
            HistoryField::Lifecycle => "Lifecycle",
            HistoryField::Member => "Member",
            HistoryField::Managed => "Managed",
        }
    }
}

impl Serialize for HistoryField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One change-history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The entity changed.
    pub entity: EntityRef,
    /// The user's userName when the entity is a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// What changed.
    pub field: HistoryField,
    /// Value before, as text.
    pub before: Option<String>,
    /// Value after, as text.
    pub after: Option<String>,
    /// The rule responsible.
    pub rule: Origin,
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
    pub rule: Origin,
}

/// A note for a human reader of the Plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The request set a password, which is never stored (by this rule, or by default).
    PasswordDiscarded(Origin),
    /// The request set a password, kept only as an Argon2id hash (by this rule).
    PasswordHashed(Origin),
    /// A read-only attribute of the request (as sent) was ignored.
    ReadOnlyIgnored(String),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::PasswordDiscarded(Origin::BuiltIn) => {
                f.write_str("password received and discarded (never stored)")
            }
            Note::PasswordDiscarded(rule) => {
                write!(f, "password received and discarded, never stored ({rule})")
            }
            Note::PasswordHashed(rule) => write!(
                f,
                "password received and kept as an Argon2id hash, write-only: never returned or shown ({rule})"
            ),
            Note::ReadOnlyIgnored(name) => write!(f, "read-only input `{name}` ignored"),
        }
    }
}

impl Serialize for Note {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
