//! Step 7: the Plan — what the steps decided, with the history it records. Also the small
//! decisions of step 6 (lifecycle, invitation) and the wording of refusals.

use crate::check::Situation;
use crate::domain::{FieldName, FieldValue, Lifecycle, Origin, ResourceKind};
use crate::eval::context::Ctx;
use crate::eval::groups::GroupEffects;
use crate::eval::intents::HookEffects;
use crate::eval::plan::{
    ChosenAction, EntityRef, HistoryEntry, HistoryField, LifecycleChange, MatchOutcome,
    Notification, NotificationKind, Operation, PendingChange, Plan, Rejection, ResourceWrite,
    SkippedField, UserNameChange,
};
use crate::eval::prepare::Subject;
use crate::eval::refs::user_name_of;
use crate::eval::value::text_of;
use crate::eval::writes::Writes;
use crate::scim::error::ScimType;

/// What an operation that goes ahead does, gathered from the steps.
pub(crate) struct Outcome {
    pub resource: Fate,
    pub also: Vec<Situation>,
    pub lifecycle: Option<LifecycleChange>,
    pub writes: Writes,
    pub skipped: Vec<SkippedField>,
    pub pending: Vec<PendingChange>,
    pub hooks: HookEffects,
    pub notifications: Vec<Notification>,
    pub groups: GroupEffects,
    /// A password to keep as a hash, when the action writes the entity.
    pub password: Option<crate::password::Secret>,
}

impl Outcome {
    pub fn new(writes: Writes) -> Outcome {
        Outcome {
            resource: Fate::Keep,
            also: Vec::new(),
            lifecycle: None,
            writes,
            skipped: Vec::new(),
            pending: Vec::new(),
            hooks: HookEffects::default(),
            notifications: Vec::new(),
            groups: GroupEffects::default(),
            password: None,
        }
    }
}

/// A refused operation: nothing but the refusal and the notes is in its Plan.
pub(crate) struct Refusal {
    pub situation: Situation,
    pub also: Vec<Situation>,
    pub matched: MatchOutcome,
    pub chosen: ChosenAction,
    pub rejection: Rejection,
}

impl Refusal {
    /// A refusal in one situation only.
    pub(crate) fn new(
        situation: Situation,
        matched: MatchOutcome,
        chosen: ChosenAction,
        rejection: Rejection,
    ) -> Refusal {
        Refusal {
            situation,
            also: Vec::new(),
            matched,
            chosen,
            rejection,
        }
    }
}

pub(crate) fn own_ref(ctx: &Ctx<'_>, subject: &Subject) -> EntityRef {
    EntityRef {
        entity_type: ctx.entity_type.clone(),
        id: subject.id.clone(),
    }
}

/// What becomes of the stored resource; the body after the operation is moved into the
/// Plan's [`ResourceWrite::Put`] by [`finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Store the body after the operation.
    Put,
    /// Remove it.
    Delete,
    /// Leave it.
    Keep,
}

/// What the resource becomes: the body after the operation, or gone.
pub(crate) fn put_or_delete(subject: &Subject) -> Fate {
    if subject.after.is_some() {
        Fate::Put
    } else {
        Fate::Delete
    }
}

/// The refusal a reaction `reject SCIMTYPE` gives.
pub(crate) fn rejection(
    ctx: &Ctx<'_>,
    subject: &Subject,
    situation: Situation,
    scim_type: ScimType,
    rule: &Origin,
) -> Rejection {
    let detail = match situation {
        Situation::UsernameTaken => format!(
            "The userName \"{}\" is already in use in another instance of this application. Choose a different userName, or remove the user from the other instance first.",
            ctx.mapped_text(subject.after(), &FieldName::new("UserName"))
                .or_else(
                    || crate::eval::value::attribute(subject.after(), "userName").and_then(text_of)
                )
                .unwrap_or_default()
        ),
        situation => format!(
            "The provisioning rules refuse this change ({}: reject {}).",
            situation.as_str(),
            scim_type.as_str()
        ),
    };
    Rejection {
        status: scim_type.status(),
        scim_type: Some(scim_type),
        detail,
        rule: rule.clone(),
    }
}

/// The lifecycle a created entity starts in: suspended when created inactive.
pub(crate) fn created_lifecycle(subject: &Subject) -> Lifecycle {
    if crate::eval::value::flag(subject.after(), "active") == Some(false) {
        Lifecycle::Suspended
    } else {
        Lifecycle::Active
    }
}

/// The change to `to`: from nothing for a new entity, else only when it differs.
pub(crate) fn lifecycle_change(
    subject: &Subject,
    matched: &MatchOutcome,
    to: Lifecycle,
    rule: &Origin,
) -> Option<LifecycleChange> {
    let exists = subject.before.is_some() || matches!(matched, MatchOutcome::PickedUp { .. });
    let from = subject.current.lifecycle;
    if exists && from == to {
        return None;
    }
    Some(LifecycleChange {
        from: exists.then_some(from),
        to,
        rule: rule.clone(),
    })
}

/// The userName of the operation's own user, from its natural key field.
pub(crate) fn own_user_name(ctx: &Ctx<'_>, writes: &Writes) -> Option<String> {
    if ctx.kind != ResourceKind::User {
        return None;
    }
    let field = ctx.natural_key_field()?;
    writes
        .after
        .get(&field)
        .or_else(|| writes.before.get(&field))
        .map(FieldValue::display)
}

/// The invitation a new user would get, sent or suppressed by `invite`.
pub(crate) fn invitation(
    ctx: &Ctx<'_>,
    matched: &MatchOutcome,
    writes: &Writes,
) -> Option<Notification> {
    if ctx.kind != ResourceKind::User || !matches!(matched, MatchOutcome::New) {
        return None;
    }
    let to = writes
        .after
        .get("Email")
        .map(FieldValue::display)
        .or_else(|| own_user_name(ctx, writes))
        .unwrap_or_default();
    let (sent, rule) = match ctx.policy().and_then(|p| p.invite.as_ref()) {
        Some(invite) => (invite.send, Origin::from(&invite.origin)),
        None => (true, Origin::BuiltIn),
    };
    Some(Notification {
        kind: NotificationKind::Invitation,
        to,
        sent,
        rule,
    })
}

fn operation(ctx: &Ctx<'_>, subject: &Subject) -> Operation {
    Operation {
        method: subject.method,
        kind: ctx.kind,
        id: subject.id.clone(),
    }
}

/// The Plan of a refused operation.
pub(crate) fn refused(ctx: &Ctx<'_>, subject: Subject, refusal: Refusal) -> Plan {
    let entity = own_ref(ctx, &subject);
    Plan {
        operation: operation(ctx, &subject),
        situation: refusal.situation,
        also: refusal.also,
        matched: refusal.matched,
        action: refusal.chosen,
        entity,
        resource: ResourceWrite::Keep,
        user_name: None,
        lifecycle: None,
        writes: Vec::new(),
        skipped: Vec::new(),
        pending: Vec::new(),
        created_entities: Vec::new(),
        hooks: Vec::new(),
        memberships: Vec::new(),
        cascades: Vec::new(),
        notifications: Vec::new(),
        history: Vec::new(),
        rejection: Some(refusal.rejection),
        notes: subject.notes,
        password: None,
    }
}

/// The Plan of an operation that goes ahead.
pub(crate) fn finish(
    ctx: &Ctx<'_>,
    mut subject: Subject,
    situation: Situation,
    matched: MatchOutcome,
    chosen: ChosenAction,
    outcome: Outcome,
) -> Plan {
    let own = own_ref(ctx, &subject);
    let own_name = own_user_name(ctx, &outcome.writes);
    let Outcome {
        resource,
        also,
        lifecycle,
        writes,
        skipped,
        mut pending,
        hooks:
            HookEffects {
                runs: hook_runs,
                created,
                history: extra_history,
            },
        notifications,
        groups,
        password,
    } = outcome;
    let mut writes = writes.list;
    writes.extend(groups.links.writes);
    pending.extend(groups.links.pending);

    let mut history = Vec::new();
    if let MatchOutcome::PickedUp { by, rule, .. } = &matched {
        history.push(HistoryEntry {
            entity: own.clone(),
            user_name: own_name.clone(),
            field: HistoryField::Managed,
            before: Some("unmanaged".to_owned()),
            after: Some(format!("managed (picked up by {by})")),
            rule: rule.clone(),
        });
    }
    for write in &writes {
        let user_name = if write.entity == own {
            own_name.clone()
        } else {
            user_name_of(ctx, &write.entity.id).ok().flatten()
        };
        history.push(HistoryEntry {
            entity: write.entity.clone(),
            user_name,
            field: HistoryField::Field(write.field.clone()),
            before: write.before.as_ref().map(FieldValue::display),
            after: write.after.as_ref().map(FieldValue::display),
            rule: write.source.rule().clone(),
        });
    }
    if let Some(change) = &lifecycle {
        history.push(lifecycle_entry(own.clone(), own_name.clone(), change));
    }
    history.extend(extra_history);
    history.extend(groups.history);
    for cascade in &groups.cascades {
        if let Some(change) = &cascade.lifecycle {
            history.push(lifecycle_entry(
                cascade.user.clone(),
                cascade.user_name.clone(),
                change,
            ));
        }
    }
    let user_name = user_name_change(&subject, resource);
    let resource = match resource {
        Fate::Put => ResourceWrite::Put {
            body: subject.after.take().unwrap_or_default(),
        },
        Fate::Delete => ResourceWrite::Delete,
        Fate::Keep => ResourceWrite::Keep,
    };
    Plan {
        operation: operation(ctx, &subject),
        situation,
        also,
        matched,
        action: chosen,
        entity: own,
        resource,
        user_name,
        lifecycle,
        writes,
        skipped,
        pending,
        created_entities: created,
        hooks: hook_runs,
        memberships: groups.memberships,
        cascades: groups.cascades,
        notifications,
        history,
        rejection: None,
        notes: subject.notes,
        password: password.map(crate::eval::plan::PasswordWrite::Received),
    }
}

fn lifecycle_entry(
    entity: EntityRef,
    user_name: Option<String>,
    change: &LifecycleChange,
) -> HistoryEntry {
    HistoryEntry {
        entity,
        user_name,
        field: HistoryField::Lifecycle,
        before: change.from.map(|l| l.as_str().to_string()),
        after: Some(change.to.as_str().to_string()),
        rule: change.rule.clone(),
    }
}

/// The claim the resource write takes or gives back, when it changes.
fn user_name_change(subject: &Subject, resource: Fate) -> Option<UserNameChange> {
    let change = match resource {
        Fate::Put => subject.user_names.clone(),
        Fate::Delete => UserNameChange {
            release: subject.user_names.release.clone(),
            claim: None,
        },
        Fate::Keep => return None,
    };
    (change.release != change.claim).then_some(change)
}
