//! Rows encoded before they reach the writer thread, so that the writer, the one serial
//! step of every write, only stamps and copies bytes.
//!
//! - An append-only record (change history, provisioning log) is encoded whole on the
//!   caller's thread but for its first two fields, `seq` and `time`, which only the writer
//!   knows: [`Encoded`] keeps the JSON after them, and the writer writes
//!   `{"seq":N,"time":"T",` before it. The row is byte for byte what encoding the whole
//!   record gives, so it reads back as the same record.
//! - A resource body is encoded to JSON text ([`encode_body`]); the writer puts it into its
//!   row with `meta` around it, unparsed.

use serde_json::value::RawValue;

use super::StoreError;
use super::query::{MAX_ROW_DEPTH, encode, encode_flat};
use super::records::{ChangeView, HistoryRecord, HistoryRow, LogRecord};
use crate::domain::Timestamp;
use crate::eval::plan::HistoryEntry;

/// An append-only record encoded but for its `seq` and `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The JSON of the record after its `time` field: `"actor":…}`.
    rest: Vec<u8>,
}

impl Encoded {
    /// A history record; its `seq` and `time` are ignored (the writer assigns them).
    pub fn history(record: &HistoryRecord) -> Result<Encoded, StoreError> {
        // Only strings: its nesting is fixed by its type, no depth scan needed.
        Encoded::after_stamp("history", encode_flat("history", record)?)
    }

    /// The changes of one operation (at least one), as one history row (see
    /// `HistoryRow`) numbered from the `seq` the writer stamps; they share the time it
    /// stamps, and the first one's actor. The writes go through [`Encoded::plan_history`];
    /// this is the records' form of it, kept as the tests' reference.
    #[cfg(test)]
    pub fn history_row(records: &[HistoryRecord]) -> Result<Encoded, StoreError> {
        let bytes = HistoryRow::group_json(records).map_err(|e| StoreError::Corrupt {
            table: "history",
            detail: e.to_string(),
        })?;
        Encoded::after_stamp("history", bytes)
    }

    /// A Plan's change history (at least one entry) as one row by `actor`, written from
    /// the Plan's own text, numbered from the `seq` the writer stamps (see `HistoryRow`).
    pub fn plan_history(actor: &str, entries: &[HistoryEntry]) -> Result<Encoded, StoreError> {
        let changes: Vec<ChangeView<'_>> = entries
            .iter()
            .map(|entry| ChangeView {
                entity_type: &entry.entity.entity_type,
                entity_id: &entry.entity.id,
                user_name: entry.user_name.as_deref(),
                field: entry.field.as_str(),
                before: entry.before.as_deref(),
                after: entry.after.as_deref(),
                rule: &entry.rule,
            })
            .collect();
        let bytes =
            HistoryRow::changes_json(0, Timestamp::EPOCH, actor, &changes).map_err(|e| {
                StoreError::Corrupt {
                    table: "history",
                    detail: e.to_string(),
                }
            })?;
        Encoded::after_stamp("history", bytes)
    }

    /// A provisioning-log record with every secret its request carries masked; its `seq`
    /// and `time` are ignored (the writer assigns them).
    pub fn log(record: LogRecord) -> Result<Encoded, StoreError> {
        Encoded::log_giving_back(record).0
    }

    /// [`Encoded::log`], giving back the record's request as masked, for the caller to
    /// log it again without another copy.
    pub fn log_giving_back(
        mut record: LogRecord,
    ) -> (Result<Encoded, StoreError>, Option<serde_json::Value>) {
        if let Some(request) = &mut record.request {
            super::mask_secrets(request);
        }
        let encoded = encode("provisioning_log", &record)
            .and_then(|bytes| Encoded::after_stamp("provisioning_log", bytes));
        (encoded, record.request)
    }

    /// Keeps what follows the leading `{"seq":N,"time":"T",` of an encoded record.
    fn after_stamp(table: &'static str, mut bytes: Vec<u8>) -> Result<Encoded, StoreError> {
        let start = stamp_len(&bytes).ok_or_else(|| StoreError::Corrupt {
            table,
            detail: "an append-only record must begin with its seq and time fields".into(),
        })?;
        bytes.drain(..start);
        Ok(Encoded { rest: bytes })
    }

    /// The whole row: `seq` and the JSON text of `time` (see [`time_json`]) before the rest.
    pub(crate) fn stamped(&self, seq: u64, time_json: &str) -> Vec<u8> {
        let mut row = Vec::with_capacity(self.rest.len() + time_json.len() + 32);
        self.stamp_into(&mut row, seq, time_json);
        row
    }

    fn stamp_into(&self, row: &mut Vec<u8>, seq: u64, time_json: &str) {
        row.extend_from_slice(b"{\"seq\":");
        row.extend_from_slice(seq.to_string().as_bytes());
        row.extend_from_slice(b",\"time\":");
        row.extend_from_slice(time_json.as_bytes());
        row.push(b',');
        row.extend_from_slice(&self.rest);
    }
}

/// The JSON text of a record's `time`, as [`Encoded::stamped`] writes it.
pub(crate) fn time_json(time: Timestamp) -> String {
    // A timestamp is RFC 3339 text: no character in it needs escaping.
    format!("\"{time}\"")
}

/// The length of `{"seq":DIGITS,"time":"TEXT",` at the start of `bytes`, if it is there.
fn stamp_len(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest[digits..].strip_prefix(b",\"time\":\"")?;
    let text = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    rest[text..].strip_prefix(b"\",")?;
    (digits > 0).then(|| bytes.len() - rest.len() + text + 2)
}

/// A resource body as the JSON text its row holds, refused when the row would nest deeper
/// than a row may (the row adds one level around it).
pub fn encode_body(body: &serde_json::Value) -> Result<Box<RawValue>, StoreError> {
    let text = serde_json::to_string(body).map_err(|e| StoreError::Corrupt {
        table: "resources",
        detail: e.to_string(),
    })?;
    if crate::domain::nests_deeper(text.as_bytes(), b"{[", b"}]", MAX_ROW_DEPTH - 1) {
        return Err(StoreError::TooDeep {
            table: "resources",
            limit: MAX_ROW_DEPTH,
        });
    }
    RawValue::from_string(text).map_err(|e| StoreError::Corrupt {
        table: "resources",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntityType, ResourceId};
    use crate::store::Outcome;
    use serde_json::json;

    fn history(seq: u64, time: Timestamp) -> HistoryRecord {
        HistoryRecord {
            seq,
            time,
            actor: "okta \"integration\"".into(),
            entity_type: EntityType::new("User"),
            entity_id: ResourceId::new("u1"),
            user_name: Some("ann@example.com".into()),
            field: "Title".into(),
            before: None,
            after: Some("Boss, \\ of all".into()),
            rule: "default.rules:12".into(),
        }
    }

    #[test]
    fn a_stamped_record_is_the_record_encoded_whole() {
        let time = Timestamp::parse("2026-12-02T10:00:00.5Z").unwrap();
        let encoded = Encoded::history(&history(0, Timestamp::EPOCH)).unwrap();
        let row = encoded.stamped(41, &time_json(time));
        assert_eq!(row, serde_json::to_vec(&history(41, time)).unwrap());
        let back: HistoryRecord = serde_json::from_slice(&row).unwrap();
        assert_eq!(back, history(41, time));
    }

    #[test]
    fn an_operations_changes_read_back_from_one_row() {
        let time = Timestamp::parse("2026-12-02T10:00:00Z").unwrap();
        let mut other = history(0, Timestamp::EPOCH);
        other.entity_id = ResourceId::new("m1");
        other.user_name = None;
        other.field = "Manager".into();
        let row = Encoded::history_row(&[
            history(0, Timestamp::EPOCH),
            other.clone(),
            history(0, Timestamp::EPOCH),
        ])
        .unwrap()
        .stamped(5, &time_json(time));
        let back: HistoryRow = serde_json::from_slice(&row).unwrap();
        let mut expected = vec![history(5, time), other, history(7, time)];
        expected[1].seq = 6;
        expected[1].time = time;
        assert_eq!(back.0, expected);
        // Shared fields are written once.
        let text = String::from_utf8(row).unwrap();
        assert_eq!(text.matches("okta").count(), 1, "{text}");
        assert_eq!(text.matches("ann@example.com").count(), 1, "{text}");
        // A row of the older form, one record alone, reads back as a row of one.
        let one = Encoded::history(&history(0, Timestamp::EPOCH))
            .unwrap()
            .stamped(3, &time_json(time));
        let one: HistoryRow = serde_json::from_slice(&one).unwrap();
        assert_eq!(one.0, vec![history(3, time)]);
        assert!(Encoded::history_row(&[]).is_err());
    }

    #[test]
    fn a_plans_history_is_the_row_its_records_make() {
        use crate::domain::{FieldName, Origin, RuleOrigin};
        use crate::eval::plan::{EntityRef, HistoryField};
        let user = EntityRef {
            entity_type: EntityType::new("User"),
            id: ResourceId::new("u1"),
        };
        let manager = EntityRef {
            entity_type: EntityType::new("User"),
            id: ResourceId::new("m\"1"),
        };
        let rule = |line| {
            Origin::Rule(RuleOrigin {
                file: "default \"x\".rules".into(),
                line,
            })
        };
        let entries = vec![
            HistoryEntry {
                entity: user.clone(),
                user_name: Some("ann@example.com".into()),
                field: HistoryField::Field(FieldName::new("Title")),
                before: None,
                after: Some("Boss, \\ of \"all\"\n".into()),
                rule: rule(12),
            },
            HistoryEntry {
                entity: manager,
                user_name: None,
                field: HistoryField::Field(FieldName::new("DirectManager")),
                before: Some("old".into()),
                after: None,
                rule: Origin::BuiltIn,
            },
            HistoryEntry {
                entity: user,
                user_name: Some("ann@example.com".into()),
                field: HistoryField::Lifecycle,
                before: Some("Active".into()),
                after: Some("Suspended".into()),
                rule: rule(40),
            },
        ];
        let records: Vec<HistoryRecord> = entries
            .iter()
            .map(|entry| HistoryRecord {
                seq: 0,
                time: Timestamp::EPOCH,
                actor: "okta \"integration\"".into(),
                entity_type: entry.entity.entity_type.clone(),
                entity_id: entry.entity.id.clone(),
                user_name: entry.user_name.clone(),
                field: entry.field.as_str().to_owned(),
                before: entry.before.clone(),
                after: entry.after.clone(),
                rule: entry.rule.to_string(),
            })
            .collect();
        let time = Timestamp::parse("2026-12-03T10:00:00Z").unwrap();
        let planned = Encoded::plan_history("okta \"integration\"", &entries).unwrap();
        assert_eq!(planned, Encoded::history_row(&records).unwrap());
        let back: HistoryRow =
            serde_json::from_slice(&planned.stamped(9, &time_json(time))).unwrap();
        assert_eq!(back.0.len(), 3);
        assert_eq!(back.0[1].entity_id, ResourceId::new("m\"1"));
        assert_eq!(back.0[1].rule, "built-in");
        assert_eq!(back.0[2].seq, 11);
        assert_eq!(back.0[2].rule, "default \"x\".rules:40");
        assert!(Encoded::plan_history("okta", &[]).is_err());
    }

    #[test]
    fn a_log_record_is_masked_when_encoded() {
        let record = LogRecord {
            seq: 7,
            time: Timestamp::EPOCH,
            actor: "okta".into(),
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status: 201,
            outcome: Outcome::Ok,
            scim_type: None,
            detail: None,
            request: Some(json!({"userName": "a", "PassWord": "s3cret"})),
        };
        let row = Encoded::log(record)
            .unwrap()
            .stamped(1, &time_json(Timestamp::EPOCH));
        let text = String::from_utf8(row).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        let back: LogRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back.seq, 1);
        assert_eq!(
            back.request,
            Some(json!({"userName": "a", "PassWord": "********"}))
        );
    }

    #[test]
    fn a_body_too_deep_for_its_row_is_refused() {
        let mut deep = json!("leaf");
        for _ in 0..MAX_ROW_DEPTH - 1 {
            deep = json!([deep]);
        }
        assert!(matches!(
            encode_body(&json!({ "x": deep })),
            Err(StoreError::TooDeep { .. })
        ));
        let mut fits = json!("leaf");
        for _ in 0..MAX_ROW_DEPTH - 2 {
            fits = json!([fits]);
        }
        assert!(encode_body(&fits).is_ok());
    }

    #[test]
    fn the_stamp_is_found_only_where_a_record_begins_with_it() {
        assert_eq!(stamp_len(br#"{"seq":0,"time":"x","a":1}"#), Some(20));
        assert_eq!(stamp_len(br#"{"seq":,"time":"x","a":1}"#), None);
        assert_eq!(stamp_len(br#"{"time":"x","seq":0,"a":1}"#), None);
        assert_eq!(stamp_len(br#"{"seq":0,"time":"x"}"#), None);
    }
}
