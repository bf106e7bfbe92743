//! An in-memory tenant state, read from a STATE.json file: what `provisio explain` and the
//! outcome snapshot tests evaluate against. The format is documented in `docs/explain.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::eval::state::{
    Entity, FieldValue, Lifecycle, Meta, PendingRef, StateError, StateView, StoredResource,
};
use crate::scim::schema::ResourceKind;

/// A tenant's state held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    resources: BTreeMap<(ResourceKind, String), StoredResource>,
    entities: BTreeMap<String, Entity>,
    /// group id -> member user ids.
    members: BTreeMap<String, BTreeSet<String>>,
    taken_elsewhere: BTreeSet<String>,
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
    memberships: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    taken_elsewhere: Vec<String>,
    #[serde(default)]
    pending: Vec<PendingRef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityRecord {
    id: String,
    #[serde(rename = "type")]
    entity_type: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, FieldValue>,
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
            (ResourceKind::User, "User", file.users),
            (ResourceKind::Group, "Group", file.groups),
        ];
        for (kind, default_type, records) in kinds {
            for record in records {
                state.add(Some(kind), default_type, record)?;
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
        state.taken_elsewhere = file
            .taken_elsewhere
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
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
        entity_type: &str,
        record: EntityRecord,
    ) -> Result<(), StateFileError> {
        if self.entities.contains_key(&record.id) {
            return Err(StateFileError(format!("id {} is used twice", record.id)));
        }
        let managed = record.managed.unwrap_or(record.resource.is_some());
        let entity = Entity {
            id: record.id.clone(),
            entity_type: record
                .entity_type
                .unwrap_or_else(|| entity_type.to_string()),
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
                    Some(id) if id != record.id => {
                        return Err(StateFileError(format!(
                            "{} {}: its resource says id {id}",
                            kind.as_str(),
                            record.id
                        )));
                    }
                    _ => {}
                }
                map.insert("id".into(), Value::String(record.id.clone()));
                let stored = StoredResource {
                    kind,
                    body,
                    meta: Meta {
                        created: "2026-01-01T00:00:00Z".into(),
                        last_modified: "2026-01-01T00:00:00Z".into(),
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
        let mut seen: BTreeMap<(String, String, String), &str> = BTreeMap::new();
        for entity in self.entities.values() {
            if entity.lifecycle == Lifecycle::Deleted {
                continue;
            }
            for key in ["UserName", "Name"] {
                if let Some(value) = entity.fields.get(key) {
                    let k = (
                        entity.entity_type.clone(),
                        key.to_string(),
                        value.display().to_lowercase(),
                    );
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

impl StateView for MemoryState {
    fn resource(&self, kind: ResourceKind, id: &str) -> Result<Option<StoredResource>, StateError> {
        Ok(self.resources.get(&(kind, id.to_string())).cloned())
    }

    fn entity(&self, id: &str) -> Result<Option<Entity>, StateError> {
        Ok(self.entities.get(id).cloned())
    }

    fn find_entity(
        &self,
        entity_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Option<Entity>, StateError> {
        Ok(self
            .entities
            .values()
            .find(|e| {
                e.entity_type == entity_type
                    && e.lifecycle != Lifecycle::Deleted
                    && e.fields
                        .get(field)
                        .is_some_and(|v| v.display().eq_ignore_ascii_case(value))
            })
            .cloned())
    }

    fn user_name_taken_elsewhere(&self, user_name: &str) -> Result<bool, StateError> {
        Ok(self.taken_elsewhere.contains(&user_name.to_lowercase()))
    }

    fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StateError> {
        Ok(self
            .members
            .get(group_id)
            .is_some_and(|m| m.contains(user_id)))
    }

    fn members(&self, group_id: &str) -> Result<Vec<String>, StateError> {
        Ok(self
            .members
            .get(group_id)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn pending_refs(&self, entity: &str, keys: &[&str]) -> Result<Vec<PendingRef>, StateError> {
        let mut found: Vec<PendingRef> = self
            .pending
            .iter()
            .filter(|p| p.entity == entity && keys.iter().any(|k| k.eq_ignore_ascii_case(&p.key)))
            .cloned()
            .collect();
        found.sort();
        Ok(found)
    }
}
