//! Import files of pre-existing, unmanaged users and groups (`provisio entities import`),
//! JSON or CSV, read into [`ImportRecord`]s for [`Store::import_entities`]. The formats are
//! documented in `docs/import.md`.
//!
//! [`Store::import_entities`]: crate::store::Store::import_entities

use std::collections::BTreeMap;

use serde_json::Value;

use crate::store::ImportRecord;

/// Why an import file was refused; nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("import: {0}")]
pub struct ImportFileError(pub String);

/// Parses an import file: JSON when its first non-blank character is `{`, CSV otherwise.
///
/// JSON: `{"users": [{"UserName": "..", "FirstName": ..}], "groups": [{"Name": ".."}]}`,
/// String values only. CSV: a header row naming `type` and the field columns
/// (`type,UserName,FirstName,LastName,Email,Name`), one entity per row, `type` being
/// `User` or `Group`, empty cells meaning no value; RFC 4180 quoting as the `csv` crate
/// reads it (a quote left open takes the rest of the file into its cell, and a userName
/// holding a line break is then refused).
pub fn parse_import(text: &str) -> Result<Vec<ImportRecord>, ImportFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        parse_json(text)
    } else {
        parse_csv(text)
    }
}

fn parse_json(text: &str) -> Result<Vec<ImportRecord>, ImportFileError> {
    let err = |m: String| ImportFileError(m);
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

fn parse_csv(text: &str) -> Result<Vec<ImportRecord>, ImportFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(ImportFileError("empty CSV file".into()));
    }
    let Some(type_column) = header.iter().position(|h| h.eq_ignore_ascii_case("type")) else {
        return Err(ImportFileError(
            "CSV header must name a `type` column (type,UserName,FirstName,LastName,Email,Name)"
                .into(),
        ));
    };
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e))?;
        let line = row.position().map_or(0, csv::Position::line);
        if row.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if row.len() != header.len() {
            return Err(ImportFileError(format!(
                "CSV line {line}: {} cells, the header has {}",
                row.len(),
                header.len()
            )));
        }
        let mut fields = BTreeMap::new();
        let mut entity_type = String::new();
        for (index, (column, cell)) in header.iter().zip(row.iter()).enumerate() {
            if index == type_column {
                cell.trim().clone_into(&mut entity_type);
            } else if !cell.is_empty() {
                fields.insert(column.clone(), cell.to_owned());
            }
        }
        if entity_type.is_empty() {
            return Err(ImportFileError(format!("CSV line {line}: empty `type`")));
        }
        records.push(ImportRecord {
            entity_type,
            fields,
        });
    }
    Ok(records)
}

fn csv_error(err: &csv::Error) -> ImportFileError {
    match err.position() {
        Some(position) => ImportFileError(format!("CSV line {}: {err}", position.line())),
        None => ImportFileError(format!("CSV: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of an import file that must parse into `count` of them.
    fn parsed(text: &str, count: usize) -> Vec<ImportRecord> {
        let records = parse_import(text).unwrap();
        assert_eq!(records.len(), count);
        records
    }

    #[test]
    fn csv_quoting() {
        let records = parsed(
            "type,UserName,Title\r\nUser,\"x,\"\"y\"\"\",z\nUser,b,\"multi\nline\"\n",
            2,
        );
        assert_eq!(records[0].fields["UserName"], "x,\"y\"");
        assert_eq!(records[1].fields["Title"], "multi\nline");
    }

    #[test]
    fn csv_records() {
        let records = parsed(
            "type,UserName,FirstName,Name\nUser,ann@x.io,Ann,\ngroup,,,Sales\n\n",
            2,
        );
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
        let wide = parse_import("type,UserName\nUser,a,b");
        assert!(
            wide.as_ref().is_err_and(|e| e.0.contains("line 2")),
            "{wide:?}"
        );
        assert!(parse_import("").is_err());
    }

    #[test]
    fn json_records() {
        let records = parsed(
            r#"{"users":[{"UserName":"a","FirstName":"A","Email":null}],"groups":[{"Name":"G"}]}"#,
            2,
        );
        assert_eq!(records[0].fields.len(), 2);
        assert_eq!(records[1].entity_type, "Group");
        assert!(parse_import(r#"{"people":[]}"#).is_err());
        assert!(parse_import(r#"{"users":[{"UserName":1}]}"#).is_err());
        assert!(parse_import("{").is_err());
    }
}
