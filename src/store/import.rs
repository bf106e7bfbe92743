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
    Ok(ImportSummary { created })
}
