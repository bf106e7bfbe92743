//! The evaluation steps behind [`crate::eval::plan`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::check::{
    Action, CheckedRules, EntityDef, FieldType, Mapping, Policy, Situation, Transform,
};
use crate::eval::EvalError;
use crate::eval::op::{self, MemberOp, Prepared, ScimOp};
use crate::eval::path::{self, as_bool, get_ci};
use crate::eval::plan::{
    Cascade, ChosenAction, EntityRef, FieldWrite, HistoryEntry, HookRun, LifecycleChange,
    MatchOutcome, MembershipChange, Notification, Operation, PendingChange, Plan, Provenance,
    Rejection, ResourceWrite, SkippedField,
};
use crate::eval::state::{Entity, FieldValue, Lifecycle, PendingRef, StateView, StoredResource};
use crate::hooks::{self, HookValue, Intent};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::ResourceKind;

/// Where new ids come from.
pub trait IdSource {
    /// A fresh, unique id.
    fn next_id(&mut self) -> String;
}

/// Random UUID v4 ids: what the server uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl IdSource for UuidIds {
    fn next_id(&mut self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Deterministic ids `PREFIX1`, `PREFIX2`, ...: for tests and `explain`.
#[derive(Debug, Clone)]
pub struct SequentialIds {
    prefix: String,
    next: u64,
}

impl SequentialIds {
    /// Ids `{prefix}1`, `{prefix}2`, ...
    pub fn new(prefix: impl Into<String>) -> SequentialIds {
        SequentialIds {
            prefix: prefix.into(),
            next: 1,
        }
    }
}

impl IdSource for SequentialIds {
    fn next_id(&mut self) -> String {
        let id = format!("{}{}", self.prefix, self.next);
        self.next += 1;
        id
    }
}

const BUILT_IN: &str = "built-in";

pub(crate) fn evaluate(
    rules: &CheckedRules,
    op: &ScimOp,
    state: &dyn StateView,
    ids: &mut dyn IdSource,
) -> Result<Plan, EvalError> {
    let prepared = op::prepare(op, state, || ids.next_id())?;
    let mut eval = Eval::new(rules, state, ids, prepared);
    eval.classify()?;
    if eval.rejection.is_none() {
        eval.react()?;
    }
    Ok(eval.finish())
}

/// The state of one evaluation, filled in step by step.
struct Eval<'a> {
    rules: &'a CheckedRules,
    state: &'a dyn StateView,
    ids: &'a mut dyn IdSource,
    p: Prepared,
    entity_def: Option<&'a EntityDef>,
    entity_type: String,
    /// The entity as it is now (a blank one for a new entity).
    current: Entity,
    /// Its fields after this operation's writes.
    fields: BTreeMap<String, FieldValue>,
    situation: Situation,
    also: Vec<Situation>,
    matched: MatchOutcome,
    action: ChosenAction,
    chosen: Action,
    resource: ResourceWrite,
    lifecycle: Option<LifecycleChange>,
    writes: Vec<FieldWrite>,
    skipped: Vec<SkippedField>,
    pending: Vec<PendingChange>,
    created: Vec<Entity>,
    hook_runs: Vec<HookRun>,
    memberships: Vec<MembershipChange>,
    cascades: Vec<Cascade>,
    notifications: Vec<Notification>,
    extra_history: Vec<HistoryEntry>,
    rejection: Option<Rejection>,
    /// Entity ids whose pending references this operation already resolved.
    resolved_for: BTreeSet<String>,
}

impl<'a> Eval<'a> {
    fn new(
        rules: &'a CheckedRules,
        state: &'a dyn StateView,
        ids: &'a mut dyn IdSource,
        p: Prepared,
    ) -> Eval<'a> {
        let entity_def = rules.entity_of(p.kind);
        let entity_type = entity_def
            .map(|d| d.name.clone())
            .unwrap_or_else(|| p.kind.as_str().to_string());
        let current = match &p.before {
            Some(before) => before.entity.clone(),
            None => Entity {
                id: p.id.clone(),
                entity_type: entity_type.clone(),
                fields: BTreeMap::new(),
                lifecycle: Lifecycle::Active,
                managed: true,
            },
        };
        let fields = current.fields.clone();
        Eval {
            rules,
            state,
            ids,
            entity_def,
            entity_type,
            fields,
            current,
            situation: Situation::Updated,
            also: Vec::new(),
            matched: MatchOutcome::Existing,
            action: ChosenAction {
                action: "update".into(),
                argument: None,
                rule: BUILT_IN.into(),
            },
            chosen: Action::Update,
            resource: ResourceWrite::Keep,
            lifecycle: None,
            writes: Vec::new(),
            skipped: Vec::new(),
            pending: Vec::new(),
            created: Vec::new(),
            hook_runs: Vec::new(),
            memberships: Vec::new(),
            cascades: Vec::new(),
            notifications: Vec::new(),
            extra_history: Vec::new(),
            rejection: None,
            resolved_for: BTreeSet::new(),
            p,
        }
    }

    fn policy(&self) -> Option<&'a Policy> {
        self.rules.policy(self.p.kind)
    }

    fn after(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.p.after.as_ref().unwrap_or(&NULL)
    }

    /// Step 2: the situation and the match-existing outcome.
    fn classify(&mut self) -> Result<(), EvalError> {
        match self.p.method {
            "POST" => self.classify_create(),
            "DELETE" => {
                self.situation = Situation::Deleted;
                Ok(())
            }
            _ => self.classify_change(),
        }
    }

    fn classify_create(&mut self) -> Result<(), EvalError> {
        self.situation = Situation::Created;
        self.matched = MatchOutcome::New;
        let match_rule = self.policy().and_then(|p| p.match_existing.as_ref());
        let key_field = match_rule
            .map(|m| m.field.clone())
            .or_else(|| self.natural_key_field());
        let Some(key_field) = key_field else {
            return Ok(());
        };
        let Some(key) = self.mapped_text(&key_field) else {
            return Ok(());
        };
        if let Some(existing) = self
            .state
            .find_entity(&self.entity_type, &key_field, &key)?
        {
            if existing.managed {
                self.matched = MatchOutcome::Duplicate {
                    existing_id: existing.id.clone(),
                };
                self.reject(
                    ScimType::Uniqueness,
                    format!(
                        "A {} with {} \"{}\" already exists here (id {}). Update that resource instead of creating a new one.",
                        self.p.kind.as_str(),
                        self.scim_key_name(),
                        key,
                        existing.id
                    ),
                    BUILT_IN.into(),
                );
                return Ok(());
            }
            let Some(rule) = match_rule else {
                self.reject(
                    ScimType::Uniqueness,
                    format!(
                        "An existing {} named \"{key}\" was not created by provisioning, and the rules do not pick existing ones up (add `match existing by {key_field};`).",
                        self.entity_type
                    ),
                    BUILT_IN.into(),
                );
                return Ok(());
            };
            self.matched = MatchOutcome::PickedUp {
                entity_id: existing.id.clone(),
                by: key_field,
                rule: rule.origin.to_string(),
            };
            self.take_over(existing);
            return Ok(());
        }
        if self.p.kind == ResourceKind::User && self.state.user_name_taken_elsewhere(&key)? {
            self.matched = MatchOutcome::TakenElsewhere;
            self.situation = Situation::UsernameTaken;
        }
        Ok(())
    }

    /// The SCIM resource takes the picked-up entity's id.
    fn take_over(&mut self, existing: Entity) {
        self.p.id = existing.id.clone();
        if let Some(Value::Object(map)) = self.p.after.as_mut() {
            map.insert("id".into(), Value::String(existing.id.clone()));
        }
        self.fields = existing.fields.clone();
        self.current = existing;
    }

    fn classify_change(&mut self) -> Result<(), EvalError> {
        self.matched = MatchOutcome::Existing;
        if let Some(key_field) = self.natural_key_field() {
            let new_key = self.mapped_text(&key_field);
            let old_key = self.current.fields.get(&key_field).map(FieldValue::display);
            let changed = match (&new_key, &old_key) {
                (Some(n), Some(o)) => !n.eq_ignore_ascii_case(o),
                (Some(_), None) => true,
                _ => false,
            };
            if let (true, Some(key)) = (changed, new_key) {
                if let Some(other) = self
                    .state
                    .find_entity(&self.entity_type, &key_field, &key)?
                {
                    if other.id != self.p.id {
                        self.matched = MatchOutcome::Duplicate {
                            existing_id: other.id.clone(),
                        };
                        self.reject(
                            ScimType::Uniqueness,
                            format!(
                                "{} \"{key}\" is already used by another {} here (id {}); choose a different one.",
                                self.scim_key_name(),
                                self.p.kind.as_str(),
                                other.id
                            ),
                            BUILT_IN.into(),
                        );
                        return Ok(());
                    }
                } else if self.p.kind == ResourceKind::User
                    && self.state.user_name_taken_elsewhere(&key)?
                {
                    self.matched = MatchOutcome::TakenElsewhere;
                    self.situation = Situation::UsernameTaken;
                    return Ok(());
                }
            }
        }
        self.situation = Situation::Updated;
        if self.p.kind == ResourceKind::User {
            let before_active = self
                .p
                .before
                .as_ref()
                .and_then(|b| get_ci(&b.body, "active"))
                .and_then(as_bool)
                .unwrap_or(true);
            let after_active = get_ci(self.after(), "active")
                .and_then(as_bool)
                .unwrap_or(before_active);
            self.situation = match (before_active, after_active) {
                (true, false) => Situation::Deactivated,
                (false, true) => Situation::Reactivated,
                _ => Situation::Updated,
            };
        }
        Ok(())
    }

    /// The name clients know the natural key by (`userName`, `displayName`).
    fn scim_key_name(&self) -> &'static str {
        match self.p.kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    fn natural_key_field(&self) -> Option<String> {
        self.entity_def
            .and_then(EntityDef::natural_key)
            .map(|f| f.name.clone())
    }

    /// The text a mapping for `field` yields on the resource after the operation.
    fn mapped_text(&self, field: &str) -> Option<String> {
        let mapping = self
            .rules
            .mappings(self.p.kind)
            .iter()
            .find(|m| m.target == field)?;
        let raw = path::select(self.after(), &mapping.source)?;
        let text = text_of(&raw)?;
        string_transforms(Some(text), &mapping.transforms)
    }

    /// Chooses the reaction of this operation's kind for `situation`.
    fn choose(&self, situation: Situation, resource: &Value) -> (Action, String) {
        choose_reaction(self.rules, self.p.kind, situation, resource)
    }

    fn reject(&mut self, scim_type: ScimType, detail: String, rule: String) {
        self.action = ChosenAction {
            action: "reject".into(),
            argument: Some(scim_type.as_str().into()),
            rule: rule.clone(),
        };
        self.chosen = Action::Reject(scim_type);
        self.rejection = Some(Rejection {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail,
            rule,
        });
    }

    /// Steps 3 to 6: select the reaction and carry it out.
    fn react(&mut self) -> Result<(), EvalError> {
        let (action, rule) = self.choose(self.situation, self.guard_resource());
        self.action = ChosenAction {
            action: action.keyword().into(),
            argument: match &action {
                Action::Skip(f) => Some(f.clone()),
                Action::Reject(t) => Some(t.as_str().into()),
                _ => None,
            },
            rule: rule.clone(),
        };
        self.chosen = action.clone();
        match action {
            Action::Reject(scim_type) => {
                let detail = self.rejection_detail(scim_type);
                self.reject(scim_type, detail, rule);
                return Ok(());
            }
            Action::Delete => {
                self.resource = ResourceWrite::Delete;
                self.set_lifecycle(Lifecycle::Deleted, &rule);
                self.group_effects()?;
                return Ok(());
            }
            Action::Ignore => {
                self.resource = self.put_or_delete();
                return Ok(());
            }
            Action::Create
            | Action::Update
            | Action::Suspend
            | Action::Activate
            | Action::Skip(_) => {}
        }
        self.resource = self.put_or_delete();
        self.map_fields()?;
        if self.rejection.is_some() {
            return Ok(());
        }
        self.run_hooks()?;
        match &self.chosen {
            Action::Create => {
                let inactive = get_ci(self.after(), "active").and_then(as_bool) == Some(false);
                let to = if inactive {
                    Lifecycle::Suspended
                } else {
                    Lifecycle::Active
                };
                if self.p.before.is_none() && !matches!(self.matched, MatchOutcome::PickedUp { .. })
                {
                    self.lifecycle = Some(LifecycleChange {
                        from: None,
                        to,
                        rule: rule.clone(),
                    });
                } else {
                    self.set_lifecycle(to, &rule);
                }
                self.invitation();
            }
            Action::Suspend => self.set_lifecycle(Lifecycle::Suspended, &rule),
            Action::Activate => self.set_lifecycle(Lifecycle::Active, &rule),
            _ => {}
        }
        self.group_effects()?;
        // A user who is now provisioned and in scope satisfies references waiting for them.
        if self.p.kind == ResourceKind::User
            && matches!(self.chosen, Action::Create)
            && self.rules.scope.is_none()
        {
            let id = self.p.id.clone();
            let user_name = self.own_user_name();
            self.resolve_waiting(&id, user_name.as_deref())?;
        }
        Ok(())
    }

    /// What the resource becomes; a `Put`'s body is moved in from `p.after` by `finish`.
    fn put_or_delete(&self) -> ResourceWrite {
        match &self.p.after {
            Some(_) => ResourceWrite::Put { body: Value::Null },
            None => ResourceWrite::Delete,
        }
    }

    /// The resource guards are evaluated on: after the operation, or before a delete.
    fn guard_resource(&self) -> &Value {
        match (&self.p.after, &self.p.before) {
            (Some(after), _) => after,
            (None, Some(before)) => &before.body,
            (None, None) => &Value::Null,
        }
    }

    fn rejection_detail(&self, scim_type: ScimType) -> String {
        match self.situation {
            Situation::UsernameTaken => format!(
                "The userName \"{}\" is already in use in another instance of this application. Choose a different userName, or remove the user from the other instance first.",
                self.mapped_text("UserName")
                    .or_else(|| get_ci(self.after(), "userName").and_then(text_of))
                    .unwrap_or_default()
            ),
            situation => format!(
                "The provisioning rules refuse this change ({}: reject {}).",
                situation.as_str(),
                scim_type.as_str()
            ),
        }
    }

    fn set_lifecycle(&mut self, to: Lifecycle, rule: &str) {
        let from = self.current.lifecycle;
        if self.p.before.is_some() || matches!(self.matched, MatchOutcome::PickedUp { .. }) {
            if from != to {
                self.lifecycle = Some(LifecycleChange {
                    from: Some(from),
                    to,
                    rule: rule.to_string(),
                });
            }
        } else {
            self.lifecycle = Some(LifecycleChange {
                from: None,
                to,
                rule: rule.to_string(),
            });
        }
    }

    /// Step 4: mappings.
    fn map_fields(&mut self) -> Result<(), EvalError> {
        let mappings: &'a [Mapping] = self.rules.mappings(self.p.kind);
        for mapping in mappings {
            let raw = path::select(self.after(), &mapping.source);
            let converted = self.convert(mapping, raw.as_ref())?;
            let value = match converted {
                Converted::Value(value) => value,
                Converted::Unresolved { key, entity } => {
                    self.unresolved_reference(mapping, key, entity)?;
                    if self.rejection.is_some() {
                        return Ok(());
                    }
                    continue;
                }
            };
            if let Action::Skip(field) = &self.chosen
                && *field == mapping.target
            {
                self.skipped.push(SkippedField {
                    field: mapping.target.clone(),
                    reason: format!("the reaction to {} skips it", self.situation.as_str()),
                    rule: self.action.rule.clone(),
                });
                continue;
            }
            let provenance = Provenance::Mapping {
                rule: mapping.origin.to_string(),
                path: mapping.source.to_string(),
                raw: raw.unwrap_or(Value::Null),
                transforms: mapping.transforms.iter().map(ToString::to_string).collect(),
            };
            let entity = self.own_ref();
            self.write(entity, &mapping.target, value, provenance);
        }
        Ok(())
    }

    fn own_ref(&self) -> EntityRef {
        EntityRef {
            entity_type: self.entity_type.clone(),
            id: self.p.id.clone(),
        }
    }

    /// Records a write to the operation's own entity when the value changes.
    fn write(
        &mut self,
        entity: EntityRef,
        field: &str,
        value: Option<FieldValue>,
        source: Provenance,
    ) {
        let before = self.current.fields.get(field).cloned();
        let previous = self.fields.get(field).cloned();
        if previous == value {
            return;
        }
        match &value {
            Some(v) => self.fields.insert(field.to_string(), v.clone()),
            None => self.fields.remove(field),
        };
        self.writes
            .retain(|w| !(w.entity == entity && w.field == field));
        if before == value {
            return;
        }
        self.writes.push(FieldWrite {
            entity,
            field: field.to_string(),
            before,
            after: value,
            source,
        });
    }

    /// Converts a raw SCIM value through the mapping's transforms to the target type.
    fn convert(&mut self, mapping: &Mapping, raw: Option<&Value>) -> Result<Converted, EvalError> {
        let reference = mapping.transforms.iter().find_map(|t| match t {
            Transform::Ref(entity) => Some(entity.clone()),
            _ => None,
        });
        if let Some(entity) = reference {
            let string_part: Vec<Transform> = mapping
                .transforms
                .iter()
                .filter(|t| !matches!(t, Transform::Ref(_)))
                .cloned()
                .collect();
            let Some(key) = string_transforms(raw.and_then(text_of), &string_part) else {
                return Ok(Converted::Value(None));
            };
            return Ok(match self.resolve_ref(&entity, &key)? {
                Some(id) => Converted::Value(Some(FieldValue::Ref { entity, id })),
                None => Converted::Unresolved { key, entity },
            });
        }
        let value = match &mapping.target_type {
            FieldType::Bool => raw.and_then(as_bool).map(FieldValue::Bool),
            FieldType::Int => raw
                .and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                })
                .map(FieldValue::Int),
            FieldType::String | FieldType::DateTime | FieldType::Ref(_) => {
                string_transforms(raw.and_then(text_of), &mapping.transforms)
                    .map(FieldValue::String)
            }
        };
        Ok(Converted::Value(value))
    }

    /// Resolves a reference key (a SCIM id, or the natural key such as a userName) to the
    /// id of a provisioned, in-scope entity.
    fn resolve_ref(&self, entity: &str, key: &str) -> Result<Option<String>, EvalError> {
        // The operation's own entity may be named (a user who is their own manager).
        if entity == self.entity_type
            && (key == self.p.id
                || self
                    .natural_key_field()
                    .and_then(|f| self.mapped_text(&f))
                    .is_some_and(|k| k.eq_ignore_ascii_case(key)))
        {
            return Ok(None);
        }
        let kind = ResourceKind::parse(entity)
            .filter(|k| self.rules.entity_of(*k).is_some_and(|d| d.name == entity));
        let mut found = match kind {
            Some(kind) => self.state.resource(kind, key)?.map(|r| r.entity),
            None => None,
        };
        if found.is_none() {
            let natural = self
                .rules
                .target
                .entities
                .get(entity)
                .and_then(EntityDef::natural_key);
            if let Some(field) = natural {
                found = self.state.find_entity(entity, &field.name, key)?;
            }
        }
        let Some(found) = found else {
            return Ok(None);
        };
        if found.entity_type != entity || !self.in_scope(&found)? {
            return Ok(None);
        }
        Ok(Some(found.id))
    }

    /// Whether an entity is provisioned and inside the sync scope.
    fn in_scope(&self, entity: &Entity) -> Result<bool, EvalError> {
        if !entity.managed || entity.lifecycle == Lifecycle::Deleted {
            return Ok(false);
        }
        let user_entity = self
            .rules
            .entity_of(ResourceKind::User)
            .map(|d| d.name.as_str());
        if Some(entity.entity_type.as_str()) != user_entity {
            return Ok(true);
        }
        let Some(scope) = &self.rules.scope else {
            return Ok(true);
        };
        let Some(group) = self.sync_group_id(&scope.sync_group)? else {
            return Ok(false);
        };
        Ok(self.state.is_member(&group, &entity.id)?)
    }

    fn sync_group_id(&self, name: &str) -> Result<Option<String>, EvalError> {
        let Some(def) = self.rules.entity_of(ResourceKind::Group) else {
            return Ok(None);
        };
        let Some(key) = def.natural_key() else {
            return Ok(None);
        };
        Ok(self
            .state
            .find_entity(&def.name, &key.name, name)?
            .filter(|e| e.managed)
            .map(|e| e.id))
    }

    /// A reference whose target is not provisioned (or out of scope).
    fn unresolved_reference(
        &mut self,
        mapping: &Mapping,
        key: String,
        entity: String,
    ) -> Result<(), EvalError> {
        if !self.also.contains(&Situation::ManagerOutOfScope) {
            self.also.push(Situation::ManagerOutOfScope);
        }
        let (action, rule) = self.choose(Situation::ManagerOutOfScope, self.after());
        match action {
            Action::Reject(scim_type) => {
                let detail = format!(
                    "{} \"{key}\" is not provisioned in this instance, and the rules refuse the change.",
                    mapping.target
                );
                self.reject(scim_type, detail, rule);
            }
            Action::Skip(field) if field == mapping.target => {
                self.skipped.push(SkippedField {
                    field: mapping.target.clone(),
                    reason: format!(
                        "{entity} \"{key}\" is not provisioned or is outside the sync scope; it will be linked when provisioned"
                    ),
                    rule,
                });
                let pending = PendingRef {
                    user_id: self.p.id.clone(),
                    field: mapping.target.clone(),
                    entity: entity.clone(),
                    key: key.clone(),
                };
                let already = self
                    .state
                    .pending_refs(&entity, &[key.as_str()])?
                    .into_iter()
                    .any(|p| p.user_id == pending.user_id && p.field == pending.field);
                if !already {
                    self.pending.push(PendingChange::Create { pending });
                }
            }
            _ => {
                self.skipped.push(SkippedField {
                    field: mapping.target.clone(),
                    reason: format!(
                        "{entity} \"{key}\" is not provisioned or is outside the sync scope"
                    ),
                    rule,
                });
            }
        }
        Ok(())
    }

    /// Links every user waiting for `user_id` (by id or userName) to it.
    fn resolve_waiting(&mut self, user_id: &str, user_name: Option<&str>) -> Result<(), EvalError> {
        if !self.resolved_for.insert(user_id.to_string()) {
            return Ok(());
        }
        let user_type = self
            .rules
            .entity_of(ResourceKind::User)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| "User".into());
        let mut keys = vec![user_id];
        if let Some(name) = user_name {
            keys.push(name);
        }
        let mut waiting = self.state.pending_refs(&user_type, &keys)?;
        waiting.sort();
        for pending in waiting {
            let waiter = if pending.user_id == self.p.id {
                None
            } else {
                self.state.resource(ResourceKind::User, &pending.user_id)?
            };
            let mapping = self
                .rules
                .mappings(ResourceKind::User)
                .iter()
                .find(|m| m.target == pending.field);
            let still_wanted = waiter.as_ref().zip(mapping).is_some_and(|(w, m)| {
                w.entity.lifecycle != Lifecycle::Deleted
                    && path::select(&w.body, &m.source)
                        .and_then(|v| text_of(&v))
                        .is_some_and(|k| k.trim().eq_ignore_ascii_case(&pending.key))
            });
            let rule = mapping.map(|m| m.origin.to_string()).unwrap_or_default();
            let Some(waiter) = waiter.filter(|_| still_wanted) else {
                self.pending.push(PendingChange::Drop { pending });
                continue;
            };
            let after = FieldValue::Ref {
                entity: user_type.clone(),
                id: user_id.to_string(),
            };
            let before = waiter.entity.fields.get(&pending.field).cloned();
            if before.as_ref() != Some(&after) {
                self.writes.push(FieldWrite {
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
            self.pending.push(PendingChange::Resolve {
                pending,
                resolved_to: user_id.to_string(),
            });
        }
        Ok(())
    }

    /// Step 5: hooks on changed fields.
    fn run_hooks(&mut self) -> Result<(), EvalError> {
        for hook in self.rules.hooks(self.p.kind) {
            let before = self.current.fields.get(&hook.field).cloned();
            let after = self.fields.get(&hook.field).cloned();
            if before == after {
                continue;
            }
            let user: BTreeMap<String, HookValue> = self
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), hook_value(Some(v))))
                .collect();
            let intents = hooks::run_hook(
                &hook.script,
                &hook.function,
                &user,
                &hook_value(before.as_ref()),
                &hook_value(after.as_ref()),
            )?;
            let rule = hook.origin.to_string();
            let script = format!("{}::{}", hook.script_path, hook.function);
            for intent in &intents {
                self.apply_intent(intent, &rule, &script)?;
            }
            self.hook_runs.push(HookRun {
                rule,
                script: hook.script_path.clone(),
                function: hook.function.clone(),
                field: hook.field.clone(),
                before,
                after,
                intents,
            });
        }
        Ok(())
    }

    fn apply_intent(&mut self, intent: &Intent, rule: &str, script: &str) -> Result<(), EvalError> {
        let invalid = |detail: String| EvalError::InvalidIntent {
            script: script.to_string(),
            detail,
        };
        let provenance = Provenance::Hook {
            rule: rule.to_string(),
            script: script.to_string(),
        };
        match intent {
            Intent::Log { .. } => Ok(()),
            Intent::Link { entity, key } => {
                let def = self.rules.target.entities.get(entity).ok_or_else(|| {
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
                let field = self
                    .entity_def
                    .and_then(|d| {
                        d.fields
                            .iter()
                            .find(|f| f.ty == FieldType::Ref(entity.clone()))
                    })
                    .map(|f| f.name.clone())
                    .ok_or_else(|| {
                        invalid(format!(
                            "link: {} has no Ref<{entity}> field",
                            self.entity_type
                        ))
                    })?;
                let id = self.find_or_create(entity, &natural.name, key, rule)?;
                let own = self.own_ref();
                self.write(
                    own,
                    &field,
                    Some(FieldValue::Ref {
                        entity: entity.clone(),
                        id,
                    }),
                    provenance,
                );
                Ok(())
            }
            Intent::Set { field, value } => {
                let def = self
                    .entity_def
                    .and_then(|d| d.field(field))
                    .ok_or_else(|| {
                        invalid(format!("set: {} has no field `{field}`", self.entity_type))
                    })?;
                let typed = match (&def.ty, value) {
                    (_, HookValue::Null) => None,
                    (FieldType::String | FieldType::DateTime, HookValue::String(s)) => {
                        Some(FieldValue::String(s.clone()))
                    }
                    (FieldType::Bool, HookValue::Bool(b)) => Some(FieldValue::Bool(*b)),
                    (FieldType::Int, HookValue::Int(i)) => Some(FieldValue::Int(*i)),
                    (FieldType::Ref(target), HookValue::String(id)) => {
                        let exists = self
                            .state
                            .entity(id)?
                            .is_some_and(|e| &e.entity_type == target)
                            || self.created.iter().any(|e| &e.id == id);
                        if !exists {
                            return Err(invalid(format!("set: no {target} with id {id}")));
                        }
                        Some(FieldValue::Ref {
                            entity: target.clone(),
                            id: id.clone(),
                        })
                    }
                    (ty, other) => {
                        return Err(invalid(format!(
                            "set: field `{field}` is {ty}, not {}",
                            serde_json::to_string(other).unwrap_or_default()
                        )));
                    }
                };
                let own = self.own_ref();
                self.write(own, field, typed, provenance);
                Ok(())
            }
        }
    }

    fn find_or_create(
        &mut self,
        entity: &str,
        key_field: &str,
        key: &str,
        rule: &str,
    ) -> Result<String, EvalError> {
        let made_here = self.created.iter().find(|e| {
            e.entity_type == entity
                && e.fields
                    .get(key_field)
                    .is_some_and(|v| v.display().eq_ignore_ascii_case(key))
        });
        if let Some(made) = made_here {
            return Ok(made.id.clone());
        }
        if let Some(found) = self.state.find_entity(entity, key_field, key)? {
            return Ok(found.id);
        }
        let id = self.ids.next_id();
        let created = Entity {
            id: id.clone(),
            entity_type: entity.to_string(),
            fields: BTreeMap::from([(key_field.to_string(), FieldValue::String(key.to_string()))]),
            lifecycle: Lifecycle::Active,
            managed: false,
        };
        self.extra_history.push(HistoryEntry {
            entity: EntityRef {
                entity_type: entity.to_string(),
                id: id.clone(),
            },
            user_name: None,
            field: key_field.to_string(),
            before: None,
            after: Some(key.to_string()),
            rule: rule.to_string(),
        });
        self.created.push(created);
        Ok(id)
    }

    fn own_user_name(&self) -> Option<String> {
        if self.p.kind != ResourceKind::User {
            return None;
        }
        let field = self.natural_key_field()?;
        self.fields
            .get(&field)
            .or_else(|| self.current.fields.get(&field))
            .map(FieldValue::display)
    }

    fn invitation(&mut self) {
        if self.p.kind != ResourceKind::User || !matches!(self.matched, MatchOutcome::New) {
            return;
        }
        let to = self
            .fields
            .get("Email")
            .map(FieldValue::display)
            .or_else(|| self.own_user_name())
            .unwrap_or_default();
        let (sent, rule) = match self.policy().and_then(|p| p.invite.as_ref()) {
            Some(invite) => (invite.send, invite.origin.to_string()),
            None => (true, BUILT_IN.to_string()),
        };
        self.notifications.push(Notification {
            kind: "invitation".into(),
            to,
            sent,
            rule,
        });
    }

    /// Step 6 for groups: membership changes and their scope effects.
    fn group_effects(&mut self) -> Result<(), EvalError> {
        if self.p.kind != ResourceKind::Group {
            return Ok(());
        }
        let group = self.p.id.clone();
        let exists_before = self.p.before.is_some();
        let deleting = matches!(self.chosen, Action::Delete);
        let name_of = |body: Option<&Value>| {
            body.and_then(|b| get_ci(b, "displayName"))
                .and_then(text_of)
        };
        let scope_name = self.rules.scope.as_ref().map(|s| s.sync_group.clone());
        let is_sync = |name: Option<String>| matches!((&scope_name, name), (Some(s), Some(n)) if s.eq_ignore_ascii_case(&n));
        let sync_before =
            exists_before && is_sync(name_of(self.p.before.as_ref().map(|b| &b.body)));
        let sync_after = !deleting && is_sync(name_of(self.p.after.as_ref()));

        // Effective membership changes, applied in order over the stored relation.
        let mut overlay: BTreeMap<String, bool> = BTreeMap::new();
        let mut original: BTreeMap<String, bool> = BTreeMap::new();
        let ops = std::mem::take(&mut self.p.member_ops);
        for op in &ops {
            match op {
                MemberOp::Add(users) => {
                    for user in users {
                        self.check_member(user)?;
                        self.remember(&mut original, &group, user, exists_before)?;
                        overlay.insert(user.clone(), true);
                    }
                }
                MemberOp::Remove(users) => {
                    for user in users {
                        self.remember(&mut original, &group, user, exists_before)?;
                        overlay.insert(user.clone(), false);
                    }
                }
                MemberOp::RemoveAll | MemberOp::ReplaceAll(_) => {
                    let stored = if exists_before {
                        self.state.members(&group)?
                    } else {
                        Vec::new()
                    };
                    for user in stored {
                        original.entry(user.clone()).or_insert(true);
                        overlay.insert(user, false);
                    }
                    for (user, member) in overlay.iter_mut() {
                        if *member {
                            original.entry(user.clone()).or_insert(false);
                        }
                        *member = false;
                    }
                    if let MemberOp::ReplaceAll(users) = op {
                        for user in users {
                            self.check_member(user)?;
                            self.remember(&mut original, &group, user, exists_before)?;
                            overlay.insert(user.clone(), true);
                        }
                    }
                }
            }
        }
        self.p.member_ops = ops;
        let rule = self.action.rule.clone();
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for (user, member) in &overlay {
            if original.get(user).copied().unwrap_or(false) == *member {
                continue;
            }
            self.memberships.push(MembershipChange {
                group: group.clone(),
                user: user.clone(),
                added: *member,
            });
            let user_name = self.user_name_of(user)?;
            let label = user_name.clone().unwrap_or_else(|| user.clone());
            self.extra_history.push(HistoryEntry {
                entity: self.own_ref(),
                user_name: None,
                field: "Member".into(),
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
        // Scope: who left and who entered the sync group.
        let (left, entered): (Vec<String>, Vec<String>) = match (sync_before, sync_after) {
            (true, true) => (removed, added),
            (true, false) => {
                let mut all: BTreeSet<String> = self.state.members(&group)?.into_iter().collect();
                for user in &removed {
                    all.insert(user.clone());
                }
                for user in &added {
                    all.remove(user);
                }
                (all.into_iter().collect(), Vec::new())
            }
            (false, true) => {
                let mut all: BTreeSet<String> = if exists_before {
                    self.state.members(&group)?.into_iter().collect()
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
            self.scope_change(&user, Situation::LeftScope)?;
        }
        for user in entered {
            let user_name = self.user_name_of(&user)?;
            self.resolve_waiting(&user, user_name.as_deref())?;
            self.scope_change(&user, Situation::Reactivated)?;
        }
        Ok(())
    }

    fn remember(
        &self,
        original: &mut BTreeMap<String, bool>,
        group: &str,
        user: &str,
        exists_before: bool,
    ) -> Result<(), EvalError> {
        if !original.contains_key(user) {
            let member = exists_before && self.state.is_member(group, user)?;
            original.insert(user.to_string(), member);
        }
        Ok(())
    }

    fn check_member(&self, user: &str) -> Result<(), EvalError> {
        if self.state.resource(ResourceKind::User, user)?.is_some() {
            return Ok(());
        }
        if self.state.resource(ResourceKind::Group, user)?.is_some() {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                format!("member {user} is a group; nested groups are not supported, add its users instead"),
            )
            .into());
        }
        Err(ScimError::new(
            ScimType::InvalidValue,
            format!("member {user} is not a provisioned user here; provision the user before adding them to a group"),
        )
        .into())
    }

    fn user_name_of(&self, user: &str) -> Result<Option<String>, EvalError> {
        let Some(resource) = self.state.resource(ResourceKind::User, user)? else {
            return Ok(None);
        };
        Ok(get_ci(&resource.body, "userName").and_then(text_of))
    }

    /// A user left the sync scope (`LeftScope`), or entered it (`Reactivated`, applied only
    /// to a suspended user whose SCIM resource is active).
    fn scope_change(&mut self, user: &str, situation: Situation) -> Result<(), EvalError> {
        let Some(resource) = self.state.resource(ResourceKind::User, user)? else {
            return Ok(());
        };
        let StoredResource { body, entity, .. } = resource;
        if entity.lifecycle == Lifecycle::Deleted {
            return Ok(());
        }
        if situation == Situation::Reactivated
            && (entity.lifecycle != Lifecycle::Suspended
                || get_ci(&body, "active").and_then(as_bool) == Some(false))
        {
            return Ok(());
        }
        let (action, rule) = choose_reaction(self.rules, ResourceKind::User, situation, &body);
        let to = match action {
            Action::Suspend => Some(Lifecycle::Suspended),
            Action::Activate => Some(Lifecycle::Active),
            _ => None,
        };
        let lifecycle = to
            .filter(|to| *to != entity.lifecycle)
            .map(|to| LifecycleChange {
                from: Some(entity.lifecycle),
                to,
                rule: rule.clone(),
            });
        self.cascades.push(Cascade {
            user: EntityRef {
                entity_type: entity.entity_type.clone(),
                id: entity.id.clone(),
            },
            user_name: get_ci(&body, "userName").and_then(text_of),
            situation,
            action: ChosenAction {
                action: action.keyword().into(),
                argument: None,
                rule,
            },
            lifecycle,
        });
        Ok(())
    }

    fn finish(self) -> Plan {
        let mut history = Vec::new();
        if self.rejection.is_none() {
            for write in &self.writes {
                let user_name = if write.entity.id == self.p.id {
                    self.own_user_name()
                } else {
                    self.user_name_of(&write.entity.id).ok().flatten()
                };
                let rule = match &write.source {
                    Provenance::Mapping { rule, .. }
                    | Provenance::Hook { rule, .. }
                    | Provenance::PendingLink { rule, .. } => rule.clone(),
                };
                history.push(HistoryEntry {
                    entity: write.entity.clone(),
                    user_name,
                    field: write.field.clone(),
                    before: write.before.as_ref().map(FieldValue::display),
                    after: write.after.as_ref().map(FieldValue::display),
                    rule,
                });
            }
            if let Some(change) = &self.lifecycle {
                history.push(HistoryEntry {
                    entity: self.own_ref(),
                    user_name: self.own_user_name(),
                    field: "Lifecycle".into(),
                    before: change.from.map(|l| l.as_str().to_string()),
                    after: Some(change.to.as_str().to_string()),
                    rule: change.rule.clone(),
                });
            }
            history.extend(self.extra_history.iter().cloned());
            for cascade in &self.cascades {
                if let Some(change) = &cascade.lifecycle {
                    history.push(HistoryEntry {
                        entity: cascade.user.clone(),
                        user_name: cascade.user_name.clone(),
                        field: "Lifecycle".into(),
                        before: change.from.map(|l| l.as_str().to_string()),
                        after: Some(change.to.as_str().to_string()),
                        rule: change.rule.clone(),
                    });
                }
            }
        }
        let rejected = self.rejection.is_some();
        let entity = self.own_ref();
        Plan {
            operation: Operation {
                method: self.p.method.to_string(),
                kind: self.p.kind,
                id: self.p.id.clone(),
            },
            situation: self.situation,
            also: self.also,
            matched: self.matched,
            action: self.action,
            entity,
            resource: match self.resource {
                _ if rejected => ResourceWrite::Keep,
                ResourceWrite::Put { .. } => ResourceWrite::Put {
                    body: self.p.after.unwrap_or_default(),
                },
                other => other,
            },
            lifecycle: if rejected { None } else { self.lifecycle },
            writes: if rejected { Vec::new() } else { self.writes },
            skipped: if rejected { Vec::new() } else { self.skipped },
            pending: if rejected { Vec::new() } else { self.pending },
            created_entities: if rejected { Vec::new() } else { self.created },
            hooks: if rejected { Vec::new() } else { self.hook_runs },
            memberships: if rejected {
                Vec::new()
            } else {
                self.memberships
            },
            cascades: if rejected { Vec::new() } else { self.cascades },
            notifications: if rejected {
                Vec::new()
            } else {
                self.notifications
            },
            history,
            rejection: self.rejection,
            notes: self.p.notes,
        }
    }
}

enum Converted {
    Value(Option<FieldValue>),
    Unresolved { key: String, entity: String },
}

/// The reaction of `kind`'s policy to `situation`: the first whose guard holds on
/// `resource`, else the built-in default; with the rule that chose it.
fn choose_reaction(
    rules: &CheckedRules,
    kind: ResourceKind,
    situation: Situation,
    resource: &Value,
) -> (Action, String) {
    let chosen = rules.policy(kind).and_then(|policy| {
        policy.reactions_for(situation).find(|reaction| {
            reaction
                .guard
                .as_ref()
                .is_none_or(|g| path::guard_holds(resource, g))
        })
    });
    match chosen {
        Some(reaction) => (reaction.action.clone(), reaction.origin.to_string()),
        None => (built_in_action(situation), BUILT_IN.into()),
    }
}

/// What a situation does when the rules say nothing about it.
fn built_in_action(situation: Situation) -> Action {
    match situation {
        Situation::Created => Action::Create,
        Situation::Updated => Action::Update,
        Situation::Deactivated => Action::Suspend,
        Situation::Reactivated => Action::Activate,
        Situation::LeftScope => Action::Ignore,
        Situation::Deleted => Action::Delete,
        Situation::ManagerOutOfScope => Action::Ignore,
        Situation::UsernameTaken => Action::Reject(ScimType::Uniqueness),
    }
}

/// A scalar JSON value as text; objects, arrays and null have none.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Applies the String transforms; an empty result is absent.
fn string_transforms(mut value: Option<String>, transforms: &[Transform]) -> Option<String> {
    for transform in transforms {
        value = match transform {
            Transform::Trim => value.map(|v| v.trim().to_string()),
            Transform::Lower => value.map(|v| v.to_lowercase()),
            Transform::Upper => value.map(|v| v.to_uppercase()),
            Transform::Truncate(n) => value.map(|v| v.chars().take(*n).collect()),
            Transform::Default(d) => match value {
                Some(v) if !v.is_empty() => Some(v),
                _ => Some(d.clone()),
            },
            Transform::Ref(_) => value,
        };
    }
    value.filter(|v| !v.is_empty())
}

fn hook_value(value: Option<&FieldValue>) -> HookValue {
    match value {
        None => HookValue::Null,
        Some(FieldValue::String(s)) => HookValue::String(s.clone()),
        Some(FieldValue::Bool(b)) => HookValue::Bool(*b),
        Some(FieldValue::Int(i)) => HookValue::Int(*i),
        Some(FieldValue::Ref { id, .. }) => HookValue::String(id.clone()),
    }
}
