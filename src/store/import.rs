//! `provisio entities import`: pre-existing, unmanaged users and groups from JSON or CSV.
//! The formats are documented in `docs/import.md`.

use std::collections::BTreeMap;

use serde_json::Value;

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

/// Parses an import file: JSON when its first non-blank character is `{`, CSV otherwise.
///
/// JSON: `{"users": [{"UserName": "..", "FirstName": ..}], "groups": [{"Name": ".."}]}`,
/// String values only. CSV: a header row naming `type` and the field columns
/// (`type,UserName,FirstName,LastName,Email,Name`), one entity per row, `type` being
/// `User` or `Group`, empty cells meaning no value; RFC 4180 quoting.
pub fn parse_import(text: &str) -> Result<Vec<ImportRecord>, StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        parse_json(text)
    } else {
        parse_csv(text)
    }
}

fn parse_json(text: &str) -> Result<Vec<ImportRecord>, StoreError> {
    let err = |m: String| StoreError::Import(m);
    let document: Value =
        serde_json::from_str(text).map_err(|e| err(format!("invalid JSON: {e}")))?;
    let Value::Object(top) = document else {
        return Err(err("expected an object with `users` and/or `groups`".into()));
    };
    let mut records = Vec::new();
    for (section, items) in top {
        let entity_type = if section.eq_ignore_ascii_case("users") {
            "User"
        } else if section.eq_ignore_ascii_case("groups") {
            "Group"
        } else {
            return Err(err(format!(
                "unknown section `{section}`: expected `users` or `groups`"
            )));
        };
        let Value::Array(items) = items else {
            return Err(err(format!("`{section}` must be an array")));
        };
        for (index, item) in items.into_iter().enumerate() {
            let Value::Object(item) = item else {
                return Err(err(format!("{section}[{index}] must be an object")));
            };
            let mut fields = BTreeMap::new();
            for (name, value) in item {
                match value {
                    Value::String(s) => {
                        fields.insert(name, s);
                    }
                    Value::Null => {}
                    _ => {
                        return Err(err(format!("{section}[{index}].{name} must be a string")));
                    }
                }
            }
            records.push(ImportRecord {
                entity_type: entity_type.to_owned(),
                fields,
            });
        }
    }
    Ok(records)
}

fn parse_csv(text: &str) -> Result<Vec<ImportRecord>, StoreError> {
    let rows = csv_rows(text)?;
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(StoreError::Import("empty CSV file".into()));
    };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    let Some(type_column) = header.iter().position(|h| h.eq_ignore_ascii_case("type")) else {
        return Err(StoreError::Import(
            "CSV header must name a `type` column (type,UserName,FirstName,LastName,Email,Name)"
                .into(),
        ));
    };
    let mut records = Vec::new();
    for (line, row) in rows {
        if row.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if row.len() != header.len() {
            return Err(StoreError::Import(format!(
                "CSV line {line}: {} cells, the header has {}",
                row.len(),
                header.len()
            )));
        }
        let mut fields = BTreeMap::new();
        let mut entity_type = String::new();
        for (index, (column, cell)) in header.iter().zip(row).enumerate() {
            if index == type_column {
                entity_type = cell.trim().to_owned();
            } else if !cell.is_empty() {
                fields.insert(column.clone(), cell);
            }
        }
        if entity_type.is_empty() {
            return Err(StoreError::Import(format!("CSV line {line}: empty `type`")));
        }
        records.push(ImportRecord {
            entity_type,
            fields,
        });
    }
    Ok(records)
}

/// Splits CSV text into rows of cells (RFC 4180: quoted cells, `""` escapes, CRLF or LF),
/// each with its 1-based starting line number.
fn csv_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, StoreError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut row_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => in_quotes = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            _ => cell.push(c),
        }
    }
    if in_quotes {
        return Err(StoreError::Import(format!(
            "CSV line {row_line}: unterminated quoted cell"
        )));
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push((row_line, row));
    }
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        let rows = csv_rows("a,b\r\n\"x,\"\"y\"\"\",z\n\"multi\nline\",\n").unwrap();
        assert_eq!(
            rows,
            vec![
                (1, vec!["a".to_owned(), "b".to_owned()]),
                (2, vec!["x,\"y\"".to_owned(), "z".to_owned()]),
                (3, vec!["multi\nline".to_owned(), String::new()]),
            ]
        );
        assert!(csv_rows("\"open").is_err());
    }

    #[test]
    fn csv_records() {
        let records =
            parse_import("type,UserName,FirstName,Name\nUser,ann@x.io,Ann,\ngroup,,,Sales\n\n")
                .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].entity_type, "User");
        assert_eq!(
            records[0].fields.get("FirstName").map(String::as_str),
            Some("Ann")
        );
        assert!(!records[0].fields.contains_key("Name"));
        assert_eq!(
            records[1].fields.get("Name").map(String::as_str),
            Some("Sales")
        );
        assert!(parse_import("UserName\nann").is_err());
        assert!(parse_import("type,UserName\nUser,a,b").is_err());
    }

    #[test]
    fn json_records() {
        let records = parse_import(
            r#"{"users":[{"UserName":"a","FirstName":"A","Email":null}],"groups":[{"Name":"G"}]}"#,
        )
        .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].fields.len(), 2);
        assert_eq!(records[1].entity_type, "Group");
        assert!(parse_import(r#"{"people":[]}"#).is_err());
        assert!(parse_import(r#"{"users":[{"UserName":1}]}"#).is_err());
        assert!(parse_import("{").is_err());
    }
}
