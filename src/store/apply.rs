//! `apply`: write everything a [`Plan`] says, inside one [`TenantWrite`].
//!
//! The caller commits (durably) or drops the transaction; any error here leaves the
//! transaction to be dropped, so an operation is applied whole or not at all.

use serde::Serialize;

use std::borrow::Cow;

use crate::domain::{Entity, Meta, Origin, ResourceId, Timestamp, UniqueFields};
use crate::eval::plan::{Notification, PasswordWrite, PendingChange, Plan, ResourceWrite};
use crate::store::{PlannedWrite, StoreError, TenantWrite, encode_body};

/// Applies a planned write whose Plan is not a rejection (a rejection writes nothing).
/// Returns the resource's `meta` after the write (`None`: deleted, kept as it was, or
/// rejected).
pub fn apply(txn: &mut TenantWrite, write: &PlannedWrite) -> Result<Option<Meta>, StoreError> {
    let (plan, unique) = (&write.plan, &*write.unique);
    if plan.is_rejected() {
        return Ok(None);
    }
    let kind = plan.operation.kind;
    let id = &plan.entity.id;
    let now = txn.now();
    // The operation's own entity: current fields + its writes + its lifecycle. The body
    // before is not built: the Plan made the one written.
    let (before, mut entity) = match txn.get_resource_head(kind, id)? {
        Some((meta, entity)) => (Some(meta), entity),
        None => match txn.get_entity(id)? {
            Some(existing) => (None, existing),
            None => (
                None,
                Entity::new(id.clone(), plan.entity.entity_type.clone()),
            ),
        },
    };
    entity.managed = true;
    for write in plan.writes.iter().filter(|w| w.entity == plan.entity) {
        match &write.after {
            Some(value) => entity.fields.insert(write.field.clone(), value.clone()),
            None => entity.fields.remove(&write.field),
        };
    }
    if let Some(change) = &plan.lifecycle {
        entity.lifecycle = change.to;
    }
    let own_unique = unique.of(&entity.entity_type);

    // Entities created by hooks first, so references to them are valid.
    for created in &plan.created_entities {
        txn.put_entity(created, unique.of(&created.entity_type))?;
    }

    if let Some(change) = &plan.user_name {
        if let Some(old) = &change.release {
            txn.release_user_name(old)?;
        }
        if let Some(new) = &change.claim {
            txn.claim_user_name(new, id)?;
        }
    }
    let written = match &plan.resource {
        ResourceWrite::Put { body } => {
            let meta = match &before {
                Some(before) => Meta {
                    created: before.created,
                    last_modified: now,
                    version: before.version + 1,
                },
                None => Meta {
                    created: now,
                    last_modified: now,
                    version: 1,
                },
            };
            let text = match &write.body {
                Some(text) => Cow::Borrowed(&**text),
                None => Cow::Owned(encode_body(body)?),
            };
            txn.put_resource_parts(kind, body, &text, &meta, &entity, own_unique)?;
            Some(meta)
        }
        ResourceWrite::Delete => {
            txn.delete_resource(kind, id)?;
            txn.put_entity(&entity, own_unique)?;
            None
        }
        ResourceWrite::Keep => {
            txn.put_entity(&entity, own_unique)?;
            before
        }
    };

    apply_relations(txn, plan, unique)?;
    apply_records(txn, plan)?;
    if let Some((row, count)) = &write.history {
        txn.append_history_row(row, *count)?;
    }
    Ok(written)
}

/// The Plan's writes beyond its own entity: other entities' fields, memberships, cascaded
/// lifecycles and pending references.
fn apply_relations(
    txn: &mut TenantWrite,
    plan: &Plan,
    unique: &UniqueFields,
) -> Result<(), StoreError> {
    let id = &plan.entity.id;
    // Writes to other entities (users linked to a manager who just arrived).
    for write in plan.writes.iter().filter(|w| w.entity != plan.entity) {
        let Some(mut other) = txn.get_entity(&write.entity.id)? else {
            continue;
        };
        match &write.after {
            Some(value) => other.fields.insert(write.field.clone(), value.clone()),
            None => other.fields.remove(&write.field),
        };
        txn.put_entity(&other, unique.of(&other.entity_type))?;
    }

    for change in &plan.memberships {
        if change.added {
            txn.add_member(&change.group, &change.user)?;
        } else {
            txn.remove_member(&change.group, &change.user)?;
        }
    }

    for cascade in &plan.cascades {
        let Some(change) = &cascade.lifecycle else {
            continue;
        };
        let Some(mut user) = txn.get_entity(&cascade.user.id)? else {
            continue;
        };
        user.lifecycle = change.to;
        txn.put_entity(&user, unique.of(&user.entity_type))?;
    }

    for pending in &plan.pending {
        match pending {
            PendingChange::Create { pending } => txn.add_pending(pending)?,
            PendingChange::Resolve { pending, .. } | PendingChange::Drop { pending } => {
                txn.remove_pending(pending)?;
            }
        }
    }
    if plan.resource == ResourceWrite::Delete {
        for pending in txn.pending_of(id)? {
            txn.remove_pending(&pending)?;
        }
    }
    Ok(())
}

/// The Plan's records but its history: the password hash and notifications (to the outbox).
fn apply_records(txn: &mut TenantWrite, plan: &Plan) -> Result<(), StoreError> {
    let id = &plan.entity.id;
    let now = txn.now();
    match (&plan.password, &plan.resource) {
        (_, ResourceWrite::Delete) => txn.remove_password_hash(id)?,
        (Some(PasswordWrite::Hashed(hash)), _) => txn.put_password_hash(id, hash)?,
        (Some(PasswordWrite::Received(_)), _) => {
            return Err(StoreError::Corrupt {
                table: "plan",
                detail: "a password reached the store unhashed; nothing was written".into(),
            });
        }
        (None, _) => {}
    }

    for notification in &plan.notifications {
        txn.push_outbox(&OutboxRow::of(notification, id, now))?;
    }

    Ok(())
}

/// A notification as its outbox row holds it, written from the Plan's text.
#[derive(Debug, Serialize)]
struct OutboxRow<'a> {
    kind: &'static str,
    to: &'a str,
    status: &'static str,
    /// Written as its text, `file:line`.
    rule: &'a Origin,
    entity: &'a ResourceId,
    time: Timestamp,
}

impl<'a> OutboxRow<'a> {
    fn of(notification: &'a Notification, entity: &'a ResourceId, time: Timestamp) -> Self {
        OutboxRow {
            kind: notification.kind.as_str(),
            to: &notification.to,
            status: if notification.sent {
                "queued"
            } else {
                "suppressed"
            },
            rule: &notification.rule,
            entity,
            time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RuleOrigin;
    use crate::eval::plan::NotificationKind;
    use serde_json::json;

    #[test]
    fn an_outbox_row_is_the_notification_as_it_was_written_as_json() {
        let time = Timestamp::parse("2026-12-03T10:00:00.25Z").unwrap();
        let id = ResourceId::new("u\"1");
        for (sent, rule) in [
            (
                true,
                Origin::Rule(RuleOrigin {
                    file: "default.rules".into(),
                    line: 29,
                }),
            ),
            (false, Origin::BuiltIn),
        ] {
            let notification = Notification {
                kind: NotificationKind::Invitation,
                to: "ann \"a\"@example.com".into(),
                sent,
                rule,
            };
            // The row as it was made before: a JSON value, in this key order.
            let before = json!({
                "kind": notification.kind.as_str(),
                "to": notification.to,
                "status": if notification.sent { "queued" } else { "suppressed" },
                "rule": notification.rule.to_string(),
                "entity": id,
                "time": time,
            })
            .to_string();
            let row = serde_json::to_string(&OutboxRow::of(&notification, &id, time)).unwrap();
            assert_eq!(row, before);
        }
    }
}
