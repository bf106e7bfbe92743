//! Step 6: group membership and its scope effects, and the links waiting for a user who
//! is now provisioned and in scope.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::check::{Action, Situation};
use crate::domain::{
    EntityType, FieldValue, Lifecycle, Origin, ResourceId, ResourceKind, StoredResource, same_name,
};
use crate::eval::EvalError;
use crate::eval::choose::choose;
use crate::eval::context::Ctx;
use crate::eval::plan::{
    Cascade, EntityRef, FieldWrite, HistoryEntry, HistoryField, LifecycleChange, MembershipChange,
    PendingChange, Provenance,
};
use crate::eval::prepare::Subject;
use crate::eval::refs::user_name_of;
use crate::eval::value::text_of;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::patch::MemberOp;

/// Links made to users waiting for a reference, and the pending references they settle.
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub writes: Vec<FieldWrite>,
    pub pending: Vec<PendingChange>,
    /// Users whose waiting references were already settled.
    done: BTreeSet<ResourceId>,
}

/// What a group operation does beyond its own resource.
#[derive(Debug, Default)]
pub(crate) struct GroupEffects {
    pub memberships: Vec<MembershipChange>,
    pub cascades: Vec<Cascade>,
    pub history: Vec<HistoryEntry>,
    pub links: Links,
}

/// Links every user waiting for `user_id` (by id or userName) to it.
pub(crate) fn resolve_waiting(
    ctx: &Ctx<'_>,
    subject: &Subject,
    user_id: &ResourceId,
    user_name: Option<&str>,
    links: &mut Links,
) -> Result<(), EvalError> {
    if !links.done.insert(user_id.clone()) {
        return Ok(());
    }
    let user_type = ctx.user_entity().unwrap_or_else(|| EntityType::new("User"));
    let mut keys = vec![user_id.as_str()];
    if let Some(name) = user_name {
        keys.push(name);
    }
    let mut waiting = ctx.state.pending_refs(&user_type, &keys)?;
    waiting.sort();
    for pending in waiting {
        let waiter = if pending.user_id == subject.id {
            None
        } else {
            ctx.state.resource(ResourceKind::User, &pending.user_id)?
        };
        let mapping = ctx
            .rules
            .mappings(ResourceKind::User)
            .iter()
            .find(|m| m.target == pending.field.as_str());
        let still_wanted = waiter.as_ref().zip(mapping).is_some_and(|(w, m)| {
            w.entity.lifecycle != Lifecycle::Deleted
                && crate::eval::value::select(&w.body, &m.source)
                    .and_then(|v| text_of(&v))
                    .is_some_and(|k| same_name(k.trim(), &pending.key))
        });
        let rule = mapping.map_or(Origin::BuiltIn, |m| Origin::from(&m.origin));
        let Some(waiter) = waiter.filter(|_| still_wanted) else {
            links.pending.push(PendingChange::Drop { pending });
            continue;
        };
        let after = FieldValue::Ref {
            entity: user_type.clone(),
            id: user_id.clone(),
        };
        let before = waiter.entity.fields.get(&pending.field).cloned();
        if before.as_ref() != Some(&after) {
            links.writes.push(FieldWrite {
                entity: EntityRef {
                    entity_type: waiter.entity.entity_type.clone(),
                    id: waiter.entity.id.clone(),
                },
                field: pending.field.clone(),
                before,
                after: Some(after),
                source: Provenance::PendingLink {
                    rule,
                    key: pending.key.clone(),
                },
            });
        }
        links.pending.push(PendingChange::Resolve {
            pending,
            resolved_to: user_id.clone(),
        });
    }
    Ok(())
}

/// Membership changes of a group operation, over the stored relation, and who left and
/// entered the sync scope.
pub(crate) fn group_effects(
    ctx: &Ctx<'_>,
    subject: &Subject,
    action: &Action,
    rule: &Origin,
) -> Result<GroupEffects, EvalError> {
    let mut effects = GroupEffects::default();
    if ctx.kind != ResourceKind::Group {
        return Ok(effects);
    }
    let group = &subject.id;
    let exists_before = subject.before.is_some();
    let deleting = matches!(action, Action::Delete);
    let name_of = |body: Option<&Value>| {
        body.and_then(|b| crate::eval::value::attribute(b, "displayName"))
            .and_then(text_of)
    };
    let scope_name = ctx.rules.scope.as_ref().map(|s| s.sync_group.as_str());
    let is_sync =
        |name: Option<String>| matches!((scope_name, name), (Some(s), Some(n)) if same_name(s, &n));
    let sync_before = exists_before && is_sync(name_of(subject.before.as_ref().map(|b| &b.body)));
    let sync_after = !deleting && is_sync(name_of(subject.after.as_ref()));

    let (original, overlay) = net_membership(ctx, group, exists_before, &subject.member_ops)?;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (user, member) in &overlay {
        if original.get(user).copied().unwrap_or(false) == *member {
            continue;
        }
        effects.memberships.push(MembershipChange {
            group: group.clone(),
            user: user.clone(),
            added: *member,
        });
        let label = user_name_of(ctx, user)?.unwrap_or_else(|| user.to_string());
        effects.history.push(HistoryEntry {
            entity: EntityRef {
                entity_type: ctx.entity_type.clone(),
                id: group.clone(),
            },
            user_name: None,
            field: HistoryField::Member,
            before: (!*member).then(|| label.clone()),
            after: member.then_some(label),
            rule: rule.clone(),
        });
        if *member {
            added.push(user.clone());
        } else {
            removed.push(user.clone());
        }
    }
    let (left, entered): (Vec<ResourceId>, Vec<ResourceId>) = match (sync_before, sync_after) {
        (true, true) => (removed, added),
        (true, false) => {
            let mut all: BTreeSet<ResourceId> = ctx.state.members(group)?.into_iter().collect();
            all.extend(removed);
            for user in &added {
                all.remove(user);
            }
            (all.into_iter().collect(), Vec::new())
        }
        (false, true) => {
            let mut all: BTreeSet<ResourceId> = if exists_before {
                ctx.state.members(group)?.into_iter().collect()
            } else {
                BTreeSet::new()
            };
            for user in &removed {
                all.remove(user);
            }
            all.extend(added);
            (Vec::new(), all.into_iter().collect())
        }
        (false, false) => (Vec::new(), Vec::new()),
    };
    for user in left {
        effects
            .cascades
            .extend(scope_change(ctx, &user, Situation::LeftScope)?);
    }
    for user in entered {
        let user_name = user_name_of(ctx, &user)?;
        resolve_waiting(
            ctx,
            subject,
            &user,
            user_name.as_deref(),
            &mut effects.links,
        )?;
        effects
            .cascades
            .extend(scope_change(ctx, &user, Situation::Reactivated)?);
    }
    Ok(effects)
}

/// Each user the member operations touch: member before (`original`) and after
/// (`overlay`), the operations applied in order.
#[allow(clippy::type_complexity)]
fn net_membership(
    ctx: &Ctx<'_>,
    group: &ResourceId,
    exists_before: bool,
    ops: &[MemberOp],
) -> Result<(BTreeMap<ResourceId, bool>, BTreeMap<ResourceId, bool>), EvalError> {
    let mut overlay: BTreeMap<ResourceId, bool> = BTreeMap::new();
    let mut original: BTreeMap<ResourceId, bool> = BTreeMap::new();
    let remember =
        |original: &mut BTreeMap<ResourceId, bool>, user: &ResourceId| -> Result<(), EvalError> {
            if !original.contains_key(user) {
                let member = exists_before && ctx.state.is_member(group, user)?;
                original.insert(user.clone(), member);
            }
            Ok(())
        };
    for op in ops {
        match op {
            MemberOp::Add(users) => {
                for user in users {
                    let user = ResourceId::new(user.as_str());
                    check_member(ctx, &user)?;
                    remember(&mut original, &user)?;
                    overlay.insert(user, true);
                }
            }
            MemberOp::Remove(users) => {
                for user in users {
                    let user = ResourceId::new(user.as_str());
                    remember(&mut original, &user)?;
                    overlay.insert(user, false);
                }
            }
            MemberOp::RemoveAll | MemberOp::ReplaceAll(_) => {
                let stored = if exists_before {
                    ctx.state.members(group)?
                } else {
                    Vec::new()
                };
                for user in stored {
                    original.entry(user.clone()).or_insert(true);
                    overlay.insert(user, false);
                }
                for (user, member) in &mut overlay {
                    if *member {
                        original.entry(user.clone()).or_insert(false);
                    }
                    *member = false;
                }
                if let MemberOp::ReplaceAll(users) = op {
                    for user in users {
                        let user = ResourceId::new(user.as_str());
                        check_member(ctx, &user)?;
                        remember(&mut original, &user)?;
                        overlay.insert(user, true);
                    }
                }
            }
        }
    }
    Ok((original, overlay))
}

fn check_member(ctx: &Ctx<'_>, user: &ResourceId) -> Result<(), EvalError> {
    if ctx.state.resource(ResourceKind::User, user)?.is_some() {
        return Ok(());
    }
    if ctx.state.resource(ResourceKind::Group, user)?.is_some() {
        return Err(ScimError::new(
            ScimType::InvalidValue,
            format!(
                "member {user} is a group; nested groups are not supported, add its users instead"
            ),
        )
        .into());
    }
    Err(ScimError::new(
        ScimType::InvalidValue,
        format!("member {user} is not a provisioned user here; provision the user before adding them to a group"),
    )
    .into())
}

/// A user left the sync scope (`LeftScope`), or entered it (`Reactivated`, applied only to
/// a suspended user whose SCIM resource is active).
fn scope_change(
    ctx: &Ctx<'_>,
    user: &ResourceId,
    situation: Situation,
) -> Result<Option<Cascade>, EvalError> {
    let Some(resource) = ctx.state.resource(ResourceKind::User, user)? else {
        return Ok(None);
    };
    let StoredResource { body, entity, .. } = resource;
    if entity.lifecycle == Lifecycle::Deleted {
        return Ok(None);
    }
    if situation == Situation::Reactivated
        && (entity.lifecycle != Lifecycle::Suspended
            || crate::eval::value::flag(&body, "active") == Some(false))
    {
        return Ok(None);
    }
    let chosen = choose(ctx.rules, ResourceKind::User, situation, &body);
    let to = match chosen.action {
        Action::Suspend => Some(Lifecycle::Suspended),
        Action::Activate => Some(Lifecycle::Active),
        _ => None,
    };
    let lifecycle = to
        .filter(|to| *to != entity.lifecycle)
        .map(|to| LifecycleChange {
            from: Some(entity.lifecycle),
            to,
            rule: chosen.rule.clone(),
        });
    Ok(Some(Cascade {
        user: EntityRef {
            entity_type: entity.entity_type.clone(),
            id: entity.id.clone(),
        },
        user_name: crate::eval::value::attribute(&body, "userName").and_then(text_of),
        situation,
        action: chosen,
        lifecycle,
    }))
}
