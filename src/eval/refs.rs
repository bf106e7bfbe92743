//! References between entities: resolving a mapped reference (a manager given by SCIM id or
//! userName) to a provisioned, in-scope entity, and the sync scope itself.

use crate::domain::{Entity, EntityType, FieldName, Lifecycle, ResourceId, ResourceKind};
use crate::eval::EvalError;
use crate::eval::context::Ctx;
use crate::eval::prepare::Subject;
use crate::eval::value::text_of;

/// Resolves a reference key (a SCIM id, or the natural key such as a userName) to the id of
/// a provisioned, in-scope entity of type `entity`; `None` when there is none (yet).
pub(crate) fn resolve_ref(
    ctx: &Ctx<'_>,
    subject: &Subject,
    entity: &EntityType,
    key: &str,
) -> Result<Option<ResourceId>, EvalError> {
    // The operation's own entity may be named (a user who is their own manager).
    if *entity == ctx.entity_type
        && (key == subject.id.as_str()
            || ctx
                .natural_key_field()
                .and_then(|f| ctx.mapped_text(subject.after(), &f))
                .is_some_and(|k| Ctx::same_key(&k, key)))
    {
        return Ok(None);
    }
    let kind = ResourceKind::parse(entity.as_str()).filter(|k| {
        ctx.rules
            .entity_of(*k)
            .is_some_and(|d| d.name == entity.as_str())
    });
    let mut found = match kind {
        Some(kind) => ctx
            .state
            .resource(kind, &ResourceId::new(key))?
            .map(|r| r.entity),
        None => None,
    };
    if found.is_none() {
        let natural = ctx
            .rules
            .target
            .entities
            .get(entity.as_str())
            .and_then(crate::check::EntityDef::natural_key);
        if let Some(field) = natural {
            found = ctx
                .state
                .find_entity(entity, &FieldName::new(field.name.as_str()), key)?;
        }
    }
    let Some(found) = found else {
        return Ok(None);
    };
    if found.entity_type != *entity || !in_scope(ctx, &found)? {
        return Ok(None);
    }
    Ok(Some(found.id))
}

/// Whether an entity is provisioned and inside the sync scope.
pub(crate) fn in_scope(ctx: &Ctx<'_>, entity: &Entity) -> Result<bool, EvalError> {
    if !entity.managed || entity.lifecycle == Lifecycle::Deleted {
        return Ok(false);
    }
    if Some(&entity.entity_type) != ctx.user_entity().as_ref() {
        return Ok(true);
    }
    let Some(scope) = &ctx.rules.scope else {
        return Ok(true);
    };
    let Some(group) = sync_group_id(ctx, &scope.sync_group)? else {
        return Ok(false);
    };
    Ok(ctx.state.is_member(&group, &entity.id)?)
}

/// The id of the provisioned group named `name`, if any.
fn sync_group_id(ctx: &Ctx<'_>, name: &str) -> Result<Option<ResourceId>, EvalError> {
    let Some(def) = ctx.rules.entity_of(ResourceKind::Group) else {
        return Ok(None);
    };
    let Some(key) = def.natural_key() else {
        return Ok(None);
    };
    Ok(ctx
        .state
        .find_entity(
            &EntityType::new(def.name.as_str()),
            &FieldName::new(key.name.as_str()),
            name,
        )?
        .filter(|e| e.managed)
        .map(|e| e.id))
}

/// The userName of a provisioned user, for history and cascades.
pub(crate) fn user_name_of(ctx: &Ctx<'_>, user: &ResourceId) -> Result<Option<String>, EvalError> {
    let Some(resource) = ctx.state.resource(ResourceKind::User, user)? else {
        return Ok(None);
    };
    Ok(crate::eval::value::attribute(&resource.body, "userName").and_then(text_of))
}
