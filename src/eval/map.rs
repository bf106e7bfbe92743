//! Step 4: the mappings — each SCIM source value, through its transforms, to its target
//! field; a reference whose target is not provisioned meets `manager_out_of_scope`.

use serde_json::Value;

use crate::check::{Action, FieldType, Mapping, Situation, Transform};
use crate::domain::{EntityType, FieldName, FieldValue, Origin, PendingRef};
use crate::eval::EvalError;
use crate::eval::choose::choose;
use crate::eval::context::Ctx;
use crate::eval::plan::{ChosenAction, PendingChange, Provenance, Rejection, SkippedField};
use crate::eval::prepare::Subject;
use crate::eval::refs::resolve_ref;
use crate::eval::value::{string_transforms, text_of};
use crate::eval::writes::Writes;

/// What the mappings did.
pub(crate) struct Mapped {
    pub writes: Writes,
    pub skipped: Vec<SkippedField>,
    pub pending: Vec<PendingChange>,
    /// Further situations met (`manager_out_of_scope`).
    pub also: Vec<Situation>,
    /// A reaction to a further situation refused the operation.
    pub refused: Option<(ChosenAction, Rejection)>,
}

enum Converted {
    Value(Option<FieldValue>),
    Unresolved { key: String, entity: EntityType },
}

/// Runs every mapping of the kind over the resource after the operation.
pub(crate) fn map_fields(
    ctx: &Ctx<'_>,
    subject: &Subject,
    situation: Situation,
    chosen: &ChosenAction,
    mut writes: Writes,
) -> Result<Mapped, EvalError> {
    let mut skipped = Vec::new();
    let mut pending = Vec::new();
    let mut also = Vec::new();
    for mapping in ctx.mappings() {
        let target = FieldName::new(mapping.target.as_str());
        let raw = crate::eval::value::select(subject.after(), &mapping.source);
        let value = match convert(ctx, subject, mapping, raw.as_ref())? {
            Converted::Value(value) => value,
            Converted::Unresolved { key, entity } => {
                if !also.contains(&Situation::ManagerOutOfScope) {
                    also.push(Situation::ManagerOutOfScope);
                }
                let reaction = choose(
                    ctx.rules,
                    ctx.kind,
                    Situation::ManagerOutOfScope,
                    subject.after(),
                );
                match &reaction.action {
                    Action::Reject(scim_type) => {
                        let rejection = Rejection {
                            status: scim_type.status(),
                            scim_type: Some(*scim_type),
                            detail: format!(
                                "{target} \"{key}\" is not provisioned in this instance, and the rules refuse the change."
                            ),
                            rule: reaction.rule.clone(),
                        };
                        return Ok(Mapped {
                            writes,
                            skipped,
                            pending,
                            also,
                            refused: Some((reaction, rejection)),
                        });
                    }
                    Action::Skip(field) if *field == mapping.target => {
                        skipped.push(SkippedField {
                            field: target.clone(),
                            reason: format!(
                                "{entity} \"{key}\" is not provisioned or is outside the sync scope; it will be linked when provisioned"
                            ),
                            rule: reaction.rule,
                        });
                        let wanted = PendingRef {
                            user_id: subject.id.clone(),
                            field: target,
                            entity: entity.clone(),
                            key: key.clone(),
                        };
                        let already = ctx
                            .state
                            .pending_refs(&entity, &[key.as_str()])?
                            .into_iter()
                            .any(|p| p.user_id == wanted.user_id && p.field == wanted.field);
                        if !already {
                            pending.push(PendingChange::Create { pending: wanted });
                        }
                    }
                    _ => skipped.push(SkippedField {
                        field: target,
                        reason: format!(
                            "{entity} \"{key}\" is not provisioned or is outside the sync scope"
                        ),
                        rule: reaction.rule,
                    }),
                }
                continue;
            }
        };
        if let Action::Skip(field) = &chosen.action
            && *field == mapping.target
        {
            skipped.push(SkippedField {
                field: target,
                reason: format!("the reaction to {} skips it", situation.as_str()),
                rule: chosen.rule.clone(),
            });
            continue;
        }
        let source = Provenance::Mapping {
            rule: Origin::from(&mapping.origin),
            path: mapping.source.to_string(),
            raw: raw.unwrap_or(Value::Null),
            transforms: mapping.transforms.iter().map(ToString::to_string).collect(),
        };
        writes.set(&target, value, source);
    }
    Ok(Mapped {
        writes,
        skipped,
        pending,
        also,
        refused: None,
    })
}

/// Converts a raw SCIM value through the mapping's transforms to the target type.
fn convert(
    ctx: &Ctx<'_>,
    subject: &Subject,
    mapping: &Mapping,
    raw: Option<&Value>,
) -> Result<Converted, EvalError> {
    let reference = mapping.transforms.iter().find_map(|t| match t {
        Transform::Ref(entity) => Some(EntityType::new(entity.as_str())),
        _ => None,
    });
    if let Some(entity) = reference {
        let Some(key) = string_transforms(raw.and_then(text_of), &mapping.transforms) else {
            return Ok(Converted::Value(None));
        };
        return Ok(match resolve_ref(ctx, subject, &entity, &key)? {
            Some(id) => Converted::Value(Some(FieldValue::Ref { entity, id })),
            None => Converted::Unresolved { key, entity },
        });
    }
    let value = match &mapping.target_type {
        FieldType::Bool => raw
            .and_then(crate::scim::attr::as_bool)
            .map(FieldValue::Bool),
        FieldType::Int => raw
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .map(FieldValue::Int),
        FieldType::String | FieldType::DateTime | FieldType::Ref(_) => {
            string_transforms(raw.and_then(text_of), &mapping.transforms).map(FieldValue::String)
        }
    };
    Ok(Converted::Value(value))
}
