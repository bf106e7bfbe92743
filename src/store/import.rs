//! Importing pre-existing, unmanaged users and groups (`provisio entities import`). The
//! file formats are read by [`crate::import`]; this writes the records.

use std::collections::BTreeMap;

use super::{HistoryRecord, Store, StoreError};
use crate::domain::{Entity, EntityType, FieldName, FieldValue, Lifecycle, TenantId, UserName};

/// One entity to import: its type (`User` or `Group`) and its String fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// `User` or `Group`.
    pub entity_type: String,
    /// Field name -> value; `UserName` is required for a User, `Name` for a Group.
    pub fields: BTreeMap<String, String>,
}

/// What an import created.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    /// The entities created, in file order.
    pub created: Vec<Entity>,
}

impl ImportSummary {
    /// How many entities of a type were created.
    pub fn count(&self, entity_type: &str) -> usize {
        self.created
            .iter()
            .filter(|e| e.entity_type == entity_type)
            .count()
    }
}

/// The unique key field of an importable entity type, with the canonical type name.
fn key_field(entity_type: &str) -> Option<(&'static str, &'static str)> {
    if entity_type.eq_ignore_ascii_case("user") {
        Some(("User", "UserName"))
    } else if entity_type.eq_ignore_ascii_case("group") {
        Some(("Group", "Name"))
    } else {
        None
    }
}

pub(super) fn import(
    store: &Store,
    tenant: &TenantId,
    records: &[ImportRecord],
) -> Result<ImportSummary, StoreError> {
    let mut txn = store.write(tenant)?;
    let mut created = Vec::with_capacity(records.len());
    // In a cluster, each userName is reserved in etcd too: confirmed after the commit,
    // dropped (by the guard) on any way out before it.
    let cluster = store.cluster().cloned();
    let mut reserved = Reserved {
        cluster: cluster.clone(),
        held: Vec::new(),
    };
    for (index, record) in records.iter().enumerate() {
        let number = index + 1;
        let Some((entity_type, key)) = key_field(&record.entity_type) else {
            return Err(StoreError::Import(format!(
                "record {number}: unknown type `{}` (expected User or Group)",
                record.entity_type
            )));
        };
        // Field names are kept as written, except the key, which is found in any case.
        let mut fields: BTreeMap<FieldName, FieldValue> = BTreeMap::new();
        for (name, value) in &record.fields {
            let name = if name.eq_ignore_ascii_case(key) {
                key
            } else {
                name
            };
            fields.insert(FieldName::new(name), FieldValue::String(value.clone()));
        }
        let key_value = match fields.get(key) {
            Some(FieldValue::String(v)) if !v.trim().is_empty() => v.clone(),
            _ => {
                return Err(StoreError::Import(format!(
                    "record {number}: {entity_type} without {key}"
                )));
            }
        };
        let id = store.ids().next_id();
        if entity_type == "User" {
            let name = UserName::new(key_value.as_str()).map_err(|e| {
                StoreError::Import(format!("record {number}: {e}; nothing was imported"))
            })?;
            txn.claim_user_name(&name, &id).map_err(|e| match e {
                StoreError::UserNameTaken(_) => StoreError::Import(format!(
                    "record {number}: userName `{key_value}` is already taken (in this or another instance); nothing was imported"
                )),
                other => other,
            })?;
            if let Some(cluster) = &cluster {
                match cluster.reserve(tenant, &name) {
                    Ok(reservation) => reserved.held.push(reservation),
                    Err(err) => {
                        return Err(match err {
                            StoreError::UserNameTaken(_) => StoreError::Import(format!(
                                "record {number}: userName `{key_value}` is already taken (in this or another instance); nothing was imported"
                            )),
                            other => other,
                        });
                    }
                }
            }
        }
        let entity = Entity {
            id: id.clone(),
            entity_type: EntityType::new(entity_type),
            fields,
            lifecycle: Lifecycle::Active,
            managed: false,
        };
        txn.put_entity(&entity, &[FieldName::new(key)]).map_err(|e| match e {
            StoreError::DuplicateKey { .. } => StoreError::Import(format!(
                "record {number}: {entity_type} `{key_value}` already exists; nothing was imported"
            )),
            other => other,
        })?;
        txn.append_history(HistoryRecord {
            seq: 0,
            time: txn.now(),
            actor: "import".to_owned(),
            entity_type: EntityType::new(entity_type),
            entity_id: id,
            user_name: (entity_type == "User").then(|| key_value.clone()),
            field: "lifecycle".to_owned(),
            before: None,
            after: Some(Lifecycle::Active.as_str().to_owned()),
            rule: "entities import".to_owned(),
        })?;
        created.push(entity);
    }
    txn.commit()?;
    if let Some(cluster) = &cluster {
        for reservation in std::mem::take(&mut reserved.held) {
            cluster.settle(reservation, true);
        }
    }
    Ok(ImportSummary { created })
}

/// userName reservations of an import not committed (yet): dropped with the guard.
struct Reserved {
    cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
    held: Vec<crate::cluster::Reservation>,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            for reservation in self.held.drain(..) {
                cluster.settle(reservation, false);
            }
        }
    }
}
