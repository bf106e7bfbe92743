//! Step 5: the workflow hooks on changed fields (sandboxed rhai), and their intents
//! validated against the target schema.

use std::collections::BTreeMap;

use crate::check::{FieldType, Hook};
use crate::domain::{Entity, EntityType, FieldName, FieldValue, IdSource, Origin};
use crate::eval::EvalError;
use crate::eval::context::Ctx;
use crate::eval::plan::{EntityRef, HistoryEntry, HistoryField, HookFn, HookRun, Provenance};
use crate::eval::value::hook_value;
use crate::eval::writes::Writes;
use crate::hooks::{self, HookValue, Intent};

/// What the hooks did.
pub(crate) struct Hooked {
    pub writes: Writes,
    pub effects: HookEffects,
}

/// What the hooks did besides writing fields.
#[derive(Default)]
pub(crate) struct HookEffects {
    pub runs: Vec<HookRun>,
    /// Entities the intents created (a new `JobTitle`).
    pub created: Vec<Entity>,
    /// History of the created entities.
    pub history: Vec<HistoryEntry>,
}

/// Runs every hook of the kind whose watched field this operation changes.
pub(crate) fn run_hooks(
    ctx: &Ctx<'_>,
    writes: Writes,
    ids: &dyn IdSource,
) -> Result<Hooked, EvalError> {
    let mut out = Hooked {
        writes,
        effects: HookEffects::default(),
    };
    for hook in ctx.rules.hooks(ctx.kind) {
        let field = FieldName::new(hook.field.as_str());
        let before = out.writes.before.get(&field).cloned();
        let after = out.writes.after.get(&field).cloned();
        if before == after {
            continue;
        }
        let user: BTreeMap<String, HookValue> = out
            .writes
            .after
            .iter()
            .map(|(k, v)| (k.to_string(), hook_value(Some(v))))
            .collect();
        let intents = hooks::run_hook(
            &hook.script,
            &hook.function,
            &user,
            &hook_value(before.as_ref()),
            &hook_value(after.as_ref()),
        )?;
        let rule = Origin::from(&hook.origin);
        for intent in &intents {
            apply_intent(ctx, hook, &rule, intent, &mut out, ids)?;
        }
        out.effects.runs.push(HookRun {
            rule,
            hook: HookFn::of(hook),
            field,
            before,
            after,
            intents,
        });
    }
    Ok(out)
}

fn apply_intent(
    ctx: &Ctx<'_>,
    hook: &Hook,
    rule: &Origin,
    intent: &Intent,
    out: &mut Hooked,
    ids: &dyn IdSource,
) -> Result<(), EvalError> {
    let script = HookFn::of(hook).to_string();
    let invalid = |detail: String| EvalError::InvalidIntent {
        script: script.clone(),
        detail,
    };
    let provenance = Provenance::Hook {
        rule: rule.clone(),
        script: script.clone(),
    };
    match intent {
        Intent::Log { .. } => Ok(()),
        Intent::Link { entity, key } => {
            let def = ctx.rules.target.entities.get(entity).ok_or_else(|| {
                invalid(format!(
                    "link: there is no entity `{entity}` in the target schema"
                ))
            })?;
            let natural = def.natural_key().ok_or_else(|| {
                invalid(format!(
                    "link: entity `{entity}` has no unique String field to find it by"
                ))
            })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(invalid(format!("link: an empty {entity} name")));
            }
            let field = ctx
                .entity_def
                .and_then(|d| {
                    d.fields
                        .iter()
                        .find(|f| f.ty == FieldType::Ref(entity.clone()))
                })
                .map(|f| FieldName::new(f.name.as_str()))
                .ok_or_else(|| {
                    invalid(format!(
                        "link: {} has no Ref<{entity}> field",
                        ctx.entity_type
                    ))
                })?;
            let entity = EntityType::new(entity.as_str());
            let id = find_or_create(
                ctx,
                &entity,
                &FieldName::new(natural.name.as_str()),
                key,
                rule,
                out,
                ids,
            )?;
            out.writes
                .set(&field, Some(FieldValue::Ref { entity, id }), provenance);
            Ok(())
        }
        Intent::Set { field, value } => {
            let def = ctx.entity_def.and_then(|d| d.field(field)).ok_or_else(|| {
                invalid(format!("set: {} has no field `{field}`", ctx.entity_type))
            })?;
            let typed = match (&def.ty, value) {
                (_, HookValue::Null) => None,
                (FieldType::String | FieldType::DateTime, HookValue::String(s)) => {
                    Some(FieldValue::String(s.clone()))
                }
                (FieldType::Bool, HookValue::Bool(b)) => Some(FieldValue::Bool(*b)),
                (FieldType::Int, HookValue::Int(i)) => Some(FieldValue::Int(*i)),
                (FieldType::Ref(target), HookValue::String(id)) => {
                    let target = EntityType::new(target.as_str());
                    let id = crate::domain::ResourceId::new(id.as_str());
                    let exists = ctx
                        .state
                        .entity(&id)?
                        .is_some_and(|e| e.entity_type == target)
                        || out.effects.created.iter().any(|e| e.id == id);
                    if !exists {
                        return Err(invalid(format!("set: no {target} with id {id}")));
                    }
                    Some(FieldValue::Ref { entity: target, id })
                }
                (ty, other) => {
                    return Err(invalid(format!(
                        "set: field `{field}` is {ty}, not {}",
                        serde_json::to_string(other).unwrap_or_default()
                    )));
                }
            };
            out.writes
                .set(&FieldName::new(field.as_str()), typed, provenance);
            Ok(())
        }
    }
}

/// The entity of `entity` whose `key_field` is `key`: one this operation already created,
/// one in the state, or a new unmanaged one (recorded in history).
fn find_or_create(
    ctx: &Ctx<'_>,
    entity: &EntityType,
    key_field: &FieldName,
    key: &str,
    rule: &Origin,
    out: &mut Hooked,
    ids: &dyn IdSource,
) -> Result<crate::domain::ResourceId, EvalError> {
    let made_here = out.effects.created.iter().find(|e| {
        e.entity_type == *entity
            && e.fields
                .get(key_field)
                .is_some_and(|v| Ctx::same_key(&v.display(), key))
    });
    if let Some(made) = made_here {
        return Ok(made.id.clone());
    }
    if let Some(found) = ctx.state.find_entity(entity, key_field, key)? {
        return Ok(found.id);
    }
    let id = ids.next_id();
    let mut created = Entity::new(id.clone(), entity.clone());
    created.managed = false;
    created
        .fields
        .insert(key_field.clone(), FieldValue::String(key.to_string()));
    out.effects.history.push(HistoryEntry {
        entity: EntityRef {
            entity_type: entity.clone(),
            id: id.clone(),
        },
        user_name: None,
        field: HistoryField::Field(key_field.clone()),
        before: None,
        after: Some(key.to_string()),
        rule: rule.clone(),
    });
    out.effects.created.push(created);
    Ok(id)
}
