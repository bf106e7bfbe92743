//! An in-memory tenant state, read from a STATE.json file: what `provisio explain` and the
//! outcome snapshot tests evaluate against. The format is documented in `docs/explain.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{
    Answer, Entity, EntityType, FieldName, FieldValue, Lifecycle, Meta, PendingRef, ResourceId,
    ResourceKind, StateView, StoredResource, Timestamp, UserName, fold, same_name,
};

/// A tenant's state held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    resources: BTreeMap<(ResourceKind, ResourceId), StoredResource>,
    entities: BTreeMap<ResourceId, Entity>,
    /// group id -> member user ids.
    members: BTreeMap<ResourceId, BTreeSet<ResourceId>>,
    taken_elsewhere: BTreeSet<UserName>,
    pending: Vec<PendingRef>,
}

/// Why a STATE.json file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state file: {0}")]
pub struct StateFileError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    #[serde(default)]
    users: Vec<EntityRecord>,
    #[serde(default)]
    groups: Vec<EntityRecord>,
    #[serde(default)]
    entities: Vec<EntityRecord>,
    #[serde(default)]
    memberships: BTreeMap<ResourceId, Vec<ResourceId>>,
    #[serde(default)]
    taken_elsewhere: Vec<String>,
    #[serde(default)]
    pending: Vec<PendingRef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityRecord {
    id: ResourceId,
    #[serde(rename = "type")]
    entity_type: Option<EntityType>,
    #[serde(default)]
    fields: BTreeMap<FieldName, FieldValue>,
    #[serde(default)]
    lifecycle: Lifecycle,
    #[serde(default)]
    managed: Option<bool>,
    #[serde(default)]
    resource: Option<Value>,
}

impl MemoryState {
    /// Reads and validates a STATE.json document. A state that contradicts itself
    /// (duplicate ids or keys, a managed user without a resource, a membership naming an
    /// unknown user...) is refused with a message naming the problem.
    pub fn from_json(text: &str) -> Result<MemoryState, StateFileError> {
        let file: StateFile = serde_json::from_str(text)
            .map_err(|e| StateFileError(format!("not a valid state document: {e}")))?;
        let mut state = MemoryState::default();
        let kinds = [
            (ResourceKind::User, EntityType::new("User"), file.users),
            (ResourceKind::Group, EntityType::new("Group"), file.groups),
        ];
        for (kind, default_type, records) in kinds {
            for record in records {
                state.add(Some(kind), &default_type, record)?;
            }
        }
        for record in file.entities {
            let Some(entity_type) = record.entity_type.clone() else {
                return Err(StateFileError(format!(
                    "entity {} needs a \"type\" (e.g. \"JobTitle\")",
                    record.id
                )));
            };
            state.add(None, &entity_type, record)?;
        }
        for (group, users) in file.memberships {
            if !state
                .resources
                .contains_key(&(ResourceKind::Group, group.clone()))
            {
                return Err(StateFileError(format!(
                    "memberships name group {group}, which is not a provisioned group"
                )));
            }
            for user in users {
                if !state
                    .resources
                    .contains_key(&(ResourceKind::User, user.clone()))
                {
                    return Err(StateFileError(format!(
                        "group {group} lists member {user}, which is not a provisioned user"
                    )));
                }
                state.members.entry(group.clone()).or_default().insert(user);
            }
        }
        for name in &file.taken_elsewhere {
            let name = UserName::new(name.as_str())
                .map_err(|e| StateFileError(format!("taken_elsewhere: \"{name}\": {e}")))?;
            state.taken_elsewhere.insert(name);
        }
        for pending in &file.pending {
            if !state.entities.contains_key(&pending.user_id) {
                return Err(StateFileError(format!(
                    "a pending reference waits for user {}, who is not in the state",
                    pending.user_id
                )));
            }
        }
        state.pending = file.pending;
        state.check_unique_user_names()?;
        Ok(state)
    }

    fn add(
        &mut self,
        kind: Option<ResourceKind>,
        entity_type: &EntityType,
        record: EntityRecord,
    ) -> Result<(), StateFileError> {
        if self.entities.contains_key(&record.id) {
            return Err(StateFileError(format!("id {} is used twice", record.id)));
        }
        let managed = record.managed.unwrap_or(record.resource.is_some());
        let entity = Entity {
            id: record.id.clone(),
            entity_type: record.entity_type.unwrap_or_else(|| entity_type.clone()),
            fields: record.fields,
            lifecycle: record.lifecycle,
            managed,
        };
        match (kind, record.resource) {
            (Some(kind), Some(mut body)) => {
                if !managed {
                    return Err(StateFileError(format!(
                        "{} {} has a SCIM resource but \"managed\": false; unmanaged entities have no resource",
                        kind.as_str(),
                        record.id
                    )));
                }
                let Some(map) = body.as_object_mut() else {
                    return Err(StateFileError(format!(
                        "the resource of {} {} must be a JSON object",
                        kind.as_str(),
                        record.id
                    )));
                };
                match map.get("id").and_then(Value::as_str) {
                    Some(id) if id != record.id.as_str() => {
                        return Err(StateFileError(format!(
                            "{} {}: its resource says id {id}",
                            kind.as_str(),
                            record.id
                        )));
                    }
                    _ => {}
                }
                // Stored bodies are canonical (as the server stores them): the resource is
                // read as a request body would be.
                let input = crate::scim::resource::normalize_input(kind, body).map_err(|e| {
                    StateFileError(format!(
                        "the resource of {} {} is not a valid {}: {}",
                        kind.as_str(),
                        record.id,
                        kind.as_str(),
                        e.detail
                    ))
                })?;
                let mut body = input.body;
                if let Some(map) = body.as_object_mut() {
                    map.shift_insert(0, "id".into(), Value::String(record.id.to_string()));
                }
                let stored = StoredResource {
                    kind,
                    body,
                    meta: Meta {
                        created: fixture_time(),
                        last_modified: fixture_time(),
                        version: 1,
                    },
                    entity: entity.clone(),
                };
                self.resources.insert((kind, record.id.clone()), stored);
            }
            (Some(kind), None) if managed => {
                return Err(StateFileError(format!(
                    "{} {} is managed but has no \"resource\"",
                    kind.as_str(),
                    record.id
                )));
            }
            _ => {}
        }
        self.entities.insert(record.id, entity);
        Ok(())
    }

    fn check_unique_user_names(&self) -> Result<(), StateFileError> {
        let mut seen: BTreeMap<(EntityType, &str, String), &ResourceId> = BTreeMap::new();
        for entity in self.entities.values() {
            if entity.lifecycle == Lifecycle::Deleted {
                continue;
            }
            for key in ["UserName", "Name"] {
                if let Some(value) = entity.fields.get(key) {
                    let k = (entity.entity_type.clone(), key, fold(&value.display()));
                    if let Some(other) = seen.insert(k, &entity.id) {
                        return Err(StateFileError(format!(
                            "{} {} and {other} have the same {key} \"{}\"",
                            entity.entity_type,
                            entity.id,
                            value.display()
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl MemoryState {
    /// Every resource, in kind and id order.
    pub fn resources(&self) -> impl Iterator<Item = &StoredResource> {
        self.resources.values()
    }

    /// Every entity (with or without a resource), in id order.
    pub fn entities(&self) -> impl Iterator<Item = &Entity> {
        self.entities.values()
    }

    /// Every group's member ids, in group id order.
    pub fn memberships(&self) -> impl Iterator<Item = (&ResourceId, &BTreeSet<ResourceId>)> {
        self.members.iter()
    }

    /// The userNames another tenant holds.
    pub fn taken_elsewhere(&self) -> impl Iterator<Item = &UserName> {
        self.taken_elsewhere.iter()
    }

    /// The pending references.
    pub fn pending(&self) -> &[PendingRef] {
        &self.pending
    }
}

impl StateView for MemoryState {
    fn resource(&self, kind: ResourceKind, id: &ResourceId) -> Answer<Option<StoredResource>> {
        Ok(self.resources.get(&(kind, id.clone())).cloned())
    }

    fn entity(&self, id: &ResourceId) -> Answer<Option<Entity>> {
        Ok(self.entities.get(id).cloned())
    }

    fn find_entity(&self, ty: &EntityType, field: &FieldName, key: &str) -> Answer<Option<Entity>> {
        Ok(self
            .entities
            .values()
            .find(|e| {
                e.entity_type == *ty
                    && e.lifecycle != Lifecycle::Deleted
                    && e.fields
                        .get(field)
                        .is_some_and(|v| same_name(&v.display(), key))
            })
            .cloned())
    }

    fn user_name_taken_elsewhere(&self, user_name: &UserName) -> Answer<bool> {
        Ok(self.taken_elsewhere.contains(user_name))
    }

    fn is_member(&self, group: &ResourceId, user: &ResourceId) -> Answer<bool> {
        Ok(self.members.get(group).is_some_and(|m| m.contains(user)))
    }

    fn members(&self, group: &ResourceId) -> Answer<Vec<ResourceId>> {
        Ok(self
            .members
            .get(group)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn pending_refs(&self, entity: &EntityType, keys: &[&str]) -> Answer<Vec<PendingRef>> {
        let mut found: Vec<PendingRef> = self
            .pending
            .iter()
            .filter(|p| p.entity == *entity && keys.iter().any(|k| same_name(k, &p.key)))
            .cloned()
            .collect();
        found.sort();
        Ok(found)
    }
}

/// The `meta` time of every resource of a state file: 2026-01-01T00:00:00Z.
fn fixture_time() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600)
}
