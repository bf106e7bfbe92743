//! Step 1: the operation applied to the stored resource — the resource before and after,
//! the entity as it is now, and the userName before and after.

use serde_json::{Map, Value};

use crate::domain::{Entity, IdSource, ResourceId, ResourceKind, StoredResource, UserName};
use crate::eval::EvalError;
use crate::eval::context::Ctx;
use crate::eval::plan::{Note, UserNameChange};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::op::ScimOp;
use crate::scim::patch::{self, MemberOp};
use crate::scim::resource;
use crate::scim::route::Method;

/// The resource an operation is about, before and after it.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub method: Method,
    /// The resource id (assigned for a create; a picked-up entity's id after `classify`).
    pub id: ResourceId,
    pub before: Option<StoredResource>,
    /// The body after the operation; `None` for a delete.
    pub after: Option<Value>,
    /// The entity as it is now (a blank one for a new entity).
    pub current: Entity,
    pub member_ops: Vec<MemberOp>,
    /// The userName held before (`release`) and after (`claim`) the operation (Users
    /// only; equal when it does not change).
    pub user_names: UserNameChange,
    pub notes: Vec<Note>,
    /// A password to keep as a hash (`password hash;`).
    pub password: Option<crate::password::Secret>,
    /// A PUT or PATCH addressed a pre-existing (unmanaged) entity by its id: a pick-up.
    pub pick_up: bool,
}

impl Subject {
    /// The resource guards are evaluated on: after the operation, or before a delete.
    pub fn guard_resource(&self) -> &Value {
        static NULL: Value = Value::Null;
        match (&self.after, &self.before) {
            (Some(after), _) => after,
            (None, Some(before)) => &before.body,
            (None, None) => &NULL,
        }
    }

    /// The body after the operation (null for a delete).
    pub fn after(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.after.as_ref().unwrap_or(&NULL)
    }
}

/// Applies the operation to the stored resource (if any).
pub(crate) fn prepare(
    ctx: &Ctx<'_>,
    op: &ScimOp,
    ids: &dyn IdSource,
) -> Result<Subject, EvalError> {
    let kind = op.kind();
    let unmanaged = unmanaged_subject(ctx, op)?;
    let load = |id: &ResourceId| load_before(ctx, kind, unmanaged.as_ref(), id);
    let mut notes = Vec::new();
    let mut received: Option<&str> = None;
    let patched_password;
    let (id, before, after, member_ops) = match op {
        ScimOp::Create { input, ignored, .. } => {
            received = input.password.as_deref();
            notes.extend(ignored.iter().cloned().map(Note::ReadOnlyIgnored));
            let id = ids.next_id();
            let after = with_id(input.body.clone(), &id);
            let members = member_ops(input.members.as_deref(), MemberOp::Add);
            (id, None, Some(after), members)
        }
        ScimOp::Replace {
            id, input, ignored, ..
        } => {
            let before = load(id)?;
            received = input.password.as_deref();
            notes.extend(ignored.iter().cloned().map(Note::ReadOnlyIgnored));
            let after = with_id(
                resource::replace_preserving(&before.body, input.body.clone()),
                id,
            );
            let members = member_ops(input.members.as_deref(), MemberOp::ReplaceAll);
            (id.clone(), Some(before), Some(after), members)
        }
        ScimOp::Patch {
            id,
            request,
            members,
            ..
        } => {
            let before = load(id)?;
            let patched = patch::apply_patch(kind, id.as_str(), &before.body, request)?;
            patched_password = patched.password;
            received = patched_password.as_deref();
            let after = with_id(patched.resource, id);
            (id.clone(), Some(before), Some(after), members.clone())
        }
        ScimOp::Delete { id, .. } => (id.clone(), Some(load(id)?), None, Vec::new()),
    };
    let password = received.and_then(|text| password_policy(ctx, text, &mut notes));
    let current = match &before {
        Some(before) => before.entity.clone(),
        None => Entity::new(id.clone(), ctx.entity_type.clone()),
    };
    let pick_up = unmanaged.is_some();
    // The name an imported user holds (claimed at import) is given back if the write
    // changes it.
    let name_before = before
        .as_ref()
        .and_then(|b| user_name_in(&b.body).ok().flatten());
    // A picked-up entity has no stored resource before this write.
    let before = before.filter(|_| !pick_up);
    let user_names = if kind == ResourceKind::User {
        UserNameChange {
            release: name_before,
            claim: match &after {
                Some(body) => Some(user_name_in(body)?.ok_or_else(|| {
                    ScimError::new(
                        ScimType::InvalidValue,
                        "userName is required and cannot be removed; send a userName",
                    )
                })?),
                None => None,
            },
        }
    } else {
        UserNameChange::default()
    };
    Ok(Subject {
        method: op.method(),
        id,
        before,
        after,
        current,
        member_ops,
        user_names,
        notes,
        password,
        pick_up,
    })
}

/// A PUT or PATCH of a pre-existing entity listed for an import (no SCIM resource yet,
/// not managed, not deleted, of the operation's entity type): the write picks it up.
fn unmanaged_subject(ctx: &Ctx<'_>, op: &ScimOp) -> Result<Option<Entity>, EvalError> {
    Ok(match op {
        ScimOp::Replace { id, .. } | ScimOp::Patch { id, .. }
            if ctx.state.resource(op.kind(), id)?.is_none() =>
        {
            ctx.state
                .entity(id)?
                .filter(|e| !e.managed && e.lifecycle != crate::domain::Lifecycle::Deleted)
                .filter(|e| e.entity_type == ctx.entity_type)
        }
        _ => None,
    })
}

/// The resource before the write: the stored one, or for a picked-up entity its rendered
/// resource (which stands for the one before). An unknown id is a SCIM 404.
fn load_before(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    unmanaged: Option<&Entity>,
    id: &ResourceId,
) -> Result<StoredResource, EvalError> {
    match unmanaged {
        Some(entity) => Ok(StoredResource {
            kind,
            body: crate::eval::reverse::resource_of(ctx.rules, kind, entity),
            meta: crate::domain::Meta {
                created: crate::domain::Timestamp::EPOCH,
                last_modified: crate::domain::Timestamp::EPOCH,
                version: 0,
            },
            entity: entity.clone(),
        }),
        None => ctx
            .state
            .resource(kind, id)?
            .ok_or_else(|| EvalError::Scim(ScimError::not_found(kind.as_str(), id.as_str()))),
    }
}

/// What the policy's `password` line does with a received password: the note saying so,
/// and the password when it is to be kept as a hash.
fn password_policy(
    ctx: &Ctx<'_>,
    text: &str,
    notes: &mut Vec<Note>,
) -> Option<crate::password::Secret> {
    let rule = ctx.policy().and_then(|p| p.password.as_ref());
    let origin = rule.map_or(crate::domain::Origin::BuiltIn, |r| {
        crate::domain::Origin::from(&r.origin)
    });
    if let Some(crate::check::PasswordPolicy::Hash) = rule.map(|r| r.policy) {
        notes.insert(0, Note::PasswordHashed(origin));
        Some(crate::password::Secret::new(text))
    } else {
        notes.insert(0, Note::PasswordDiscarded(origin));
        None
    }
}

/// The valid userName of a User body, if it has one.
fn user_name_in(body: &Value) -> Result<Option<UserName>, ScimError> {
    match crate::eval::value::attribute(body, "userName") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => UserName::new(text.as_str()).map(Some).map_err(|e| {
            ScimError::new(
                ScimType::InvalidValue,
                format!("{e}; send a valid userName"),
            )
        }),
        Some(_) => Err(ScimError::new(
            ScimType::InvalidValue,
            "userName must be a string",
        )),
    }
}

/// The body with `id` first, where a reader looks for it.
/// The member operation of a create or replace: `op` with the members sent, if any.
fn member_ops(members: Option<&[String]>, op: fn(Vec<String>) -> MemberOp) -> Vec<MemberOp> {
    members.map(|m| op(m.to_vec())).into_iter().collect()
}

fn with_id(body: Value, id: &ResourceId) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.shift_insert(0, "id".into(), Value::String(id.to_string()));
    Value::Object(map)
}
