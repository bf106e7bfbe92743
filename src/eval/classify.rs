//! Step 2: the situation and the match-existing outcome, or a refusal the rules cannot
//! overrule (a duplicate natural key in this tenant).

use crate::check::{Action, Situation};
use crate::domain::{Entity, FieldValue, Origin, ResourceId};
use crate::eval::EvalError;
use crate::eval::context::Ctx;
use crate::eval::plan::{ChosenAction, MatchOutcome, Rejection};
use crate::eval::prepare::Subject;
use crate::scim::error::ScimType;
use crate::scim::route::Method;

/// What `classify` found.
pub(crate) enum Classified {
    /// Go on: choose the reaction to this situation.
    Situation(Situation, MatchOutcome),
    /// Refused here, whatever the rules say.
    Refused(Situation, MatchOutcome, ChosenAction, Rejection),
}

/// Classifies the operation; a create that picks up an unmanaged entity takes its id.
pub(crate) fn classify(ctx: &Ctx<'_>, subject: &mut Subject) -> Result<Classified, EvalError> {
    match subject.method {
        Method::Post => classify_create(ctx, subject),
        _ if subject.pick_up => classify_pick_up(ctx, subject),
        Method::Delete => Ok(Classified::Situation(
            Situation::Deleted,
            MatchOutcome::Existing,
        )),
        _ => classify_change(ctx, subject),
    }
}

/// A refusal because another resource already holds the key (a SCIM `uniqueness` 409).
fn duplicate(situation: Situation, existing_id: ResourceId, detail: String) -> Classified {
    refuse(
        situation,
        MatchOutcome::Duplicate { existing_id },
        ScimType::Uniqueness,
        detail,
    )
}

fn refuse(
    situation: Situation,
    matched: MatchOutcome,
    scim_type: ScimType,
    detail: String,
) -> Classified {
    let rule = Origin::BuiltIn;
    Classified::Refused(
        situation,
        matched,
        ChosenAction {
            action: Action::Reject(scim_type),
            rule: rule.clone(),
        },
        Rejection {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail,
            rule,
        },
    )
}

fn classify_create(ctx: &Ctx<'_>, subject: &mut Subject) -> Result<Classified, EvalError> {
    let match_rule = ctx.policy().and_then(|p| p.match_existing.as_ref());
    let key_field = match_rule
        .map(|m| crate::domain::FieldName::new(m.field.as_str()))
        .or_else(|| ctx.natural_key_field());
    let Some(key_field) = key_field else {
        return Ok(Classified::Situation(Situation::Created, MatchOutcome::New));
    };
    let Some(key) = ctx.mapped_text(subject.after(), &key_field) else {
        return Ok(Classified::Situation(Situation::Created, MatchOutcome::New));
    };
    if let Some(existing) = ctx.state.find_entity(&ctx.entity_type, &key_field, &key)? {
        if existing.managed {
            let detail = format!(
                "A {} with {} \"{key}\" already exists here (id {}). Update that resource instead of creating a new one.",
                ctx.kind.as_str(),
                ctx.scim_key_name(),
                existing.id
            );
            return Ok(duplicate(Situation::Created, existing.id, detail));
        }
        let Some(rule) = match_rule else {
            let detail = format!(
                "An existing {} named \"{key}\" was not created by provisioning, and the rules do not pick existing ones up (add `match existing by {key_field};`).",
                ctx.entity_type
            );
            return Ok(refuse(
                Situation::Created,
                MatchOutcome::New,
                ScimType::Uniqueness,
                detail,
            ));
        };
        let matched = MatchOutcome::PickedUp {
            entity_id: existing.id.clone(),
            by: key_field,
            rule: Origin::from(&rule.origin),
        };
        take_over(subject, existing);
        return Ok(Classified::Situation(Situation::Created, matched));
    }
    if taken_elsewhere(ctx, subject)? {
        return Ok(Classified::Situation(
            Situation::UsernameTaken,
            MatchOutcome::TakenElsewhere,
        ));
    }
    Ok(Classified::Situation(Situation::Created, MatchOutcome::New))
}

/// A PUT or PATCH of a pre-existing entity by its id: picked up exactly as a create with
/// its natural key would pick it up (`match existing by`), or refused as that create would
/// be.
fn classify_pick_up(ctx: &Ctx<'_>, subject: &Subject) -> Result<Classified, EvalError> {
    let Some(rule) = ctx.policy().and_then(|p| p.match_existing.as_ref()) else {
        let detail = format!(
            "{} {} was not created by provisioning, and the rules do not pick existing ones up (add `match existing by ...;`).",
            ctx.entity_type, subject.id
        );
        return Ok(refuse(
            Situation::Created,
            MatchOutcome::New,
            ScimType::Uniqueness,
            detail,
        ));
    };
    if subject.user_names.claim != subject.user_names.release && taken_elsewhere(ctx, subject)? {
        return Ok(Classified::Situation(
            Situation::UsernameTaken,
            MatchOutcome::TakenElsewhere,
        ));
    }
    Ok(Classified::Situation(
        Situation::Created,
        MatchOutcome::PickedUp {
            entity_id: subject.id.clone(),
            by: crate::domain::FieldName::new(rule.field.as_str()),
            rule: Origin::from(&rule.origin),
        },
    ))
}

/// Whether the userName the operation claims is held by another tenant.
fn taken_elsewhere(ctx: &Ctx<'_>, subject: &Subject) -> Result<bool, EvalError> {
    match &subject.user_names.claim {
        Some(name) => Ok(ctx.state.user_name_taken_elsewhere(name)?),
        None => Ok(false),
    }
}

/// The SCIM resource takes the picked-up entity's id.
fn take_over(subject: &mut Subject, existing: Entity) {
    subject.id = existing.id.clone();
    if let Some(serde_json::Value::Object(map)) = subject.after.as_mut() {
        map.insert(
            "id".into(),
            serde_json::Value::String(existing.id.to_string()),
        );
    }
    subject.current = existing;
}

fn classify_change(ctx: &Ctx<'_>, subject: &Subject) -> Result<Classified, EvalError> {
    if let Some(key_field) = ctx.natural_key_field() {
        let new_key = ctx.mapped_text(subject.after(), &key_field);
        let old_key = subject
            .current
            .field(key_field.as_str())
            .map(FieldValue::display);
        let changed = match (&new_key, &old_key) {
            (Some(new), Some(old)) => !Ctx::same_key(new, old),
            (Some(_), None) => true,
            _ => false,
        };
        if let (true, Some(key)) = (changed, new_key) {
            if let Some(other) = ctx.state.find_entity(&ctx.entity_type, &key_field, &key)? {
                if other.id != subject.id {
                    let detail = format!(
                        "{} \"{key}\" is already used by another {} here (id {}); choose a different one.",
                        ctx.scim_key_name(),
                        ctx.kind.as_str(),
                        other.id
                    );
                    return Ok(duplicate(Situation::Updated, other.id, detail));
                }
            } else if taken_elsewhere(ctx, subject)? {
                return Ok(Classified::Situation(
                    Situation::UsernameTaken,
                    MatchOutcome::TakenElsewhere,
                ));
            }
        }
    }
    Ok(Classified::Situation(
        activity_change(ctx, subject),
        MatchOutcome::Existing,
    ))
}

/// `updated`, or for a User whose `active` flips, `deactivated`/`reactivated`. A change
/// without `active` keeps it.
fn activity_change(ctx: &Ctx<'_>, subject: &Subject) -> Situation {
    if ctx.kind != crate::domain::ResourceKind::User {
        return Situation::Updated;
    }
    let before_active = subject
        .before
        .as_ref()
        .and_then(|b| crate::eval::value::flag(&b.body, "active"))
        .unwrap_or(true);
    let after_active = crate::eval::value::flag(subject.after(), "active").unwrap_or(before_active);
    match (before_active, after_active) {
        (true, false) => Situation::Deactivated,
        (false, true) => Situation::Reactivated,
        _ => Situation::Updated,
    }
}
