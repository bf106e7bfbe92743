//! Plain records the store keeps: tenants, keys, change history, provisioning log.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{EntityType, ResourceId, TenantId, Timestamp};

/// A tenant (one application instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Name, matching `[A-Za-z0-9_-]{1,64}`.
    pub name: TenantId,
    /// Creation time.
    pub created: Timestamp,
    /// The application edition (`Enterprise`), as the profile spells it; `None`: the
    /// profile's default edition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
}

/// The integration user a tenant's keys act for, and its role in the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationUser {
    /// Tenant.
    pub tenant: TenantId,
    /// The user's name, as given to `key create --user`.
    pub user: String,
    /// Its role (`Lite Admin`), as the profile spells it; `None`: the profile's default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// When its first key was created.
    pub created: Timestamp,
}

/// What an authenticated API key identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's id (not secret).
    pub key_id: String,
    /// The tenant every request with this key is scoped to.
    pub tenant: TenantId,
    /// The integration user changes are recorded under.
    pub user: String,
    /// The tenant's edition (`None`: the profile's default).
    pub edition: Option<String>,
    /// The integration user's role (`None`: the profile's default).
    pub role: Option<String>,
}

/// A stored API key, as listed: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Key id, shown by `key list`, used by `key revoke`.
    pub key_id: String,
    /// Tenant.
    pub tenant: TenantId,
    /// Integration user.
    pub user: String,
    /// Creation time.
    pub created: Timestamp,
    /// Revoked keys never authenticate.
    pub revoked: bool,
}

/// One field change of one entity, append-only. The changes one operation makes share
/// one sequence number (they are one row, [`HistoryRow`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// Per-tenant sequence number, assigned by `append_history` (the given value is ignored).
    pub seq: u64,
    /// When, set by `append_history` (the given value is ignored).
    pub time: Timestamp,
    /// Who: the integration user of the API key (or `import`).
    pub actor: String,
    /// Entity type (`User`).
    pub entity_type: EntityType,
    /// Entity id.
    pub entity_id: ResourceId,
    /// The userName of the user concerned, for `history --user`.
    pub user_name: Option<String>,
    /// Field name, or a lifecycle pseudo-field such as `lifecycle`.
    pub field: String,
    /// Value before, as text; `None` when empty.
    pub before: Option<String>,
    /// Value after, as text; `None` when emptied.
    pub after: Option<String>,
    /// The rule that caused it, `file:line`.
    pub rule: String,
}

/// One row of the change history: the changes of one operation, numbered from the row's
/// `seq` on, with what they share written once (time, actor, and the entity most of them
/// concern). A row written before changes were grouped, or by `append_history`, is one
/// [`HistoryRecord`] alone, and reads back as a row of one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HistoryRow(pub(crate) Vec<HistoryRecord>);

/// The entity a change concerns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct Subject {
    entity_type: EntityType,
    entity_id: ResourceId,
    user_name: Option<String>,
}

/// One change of a grouped row: its entity only where it is not the row's.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct Change {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<Subject>,
    field: String,
    before: Option<String>,
    after: Option<String>,
    rule: String,
}

/// A history row as stored: one record (its fields; no `changes`), or a group. Read
/// back through this owned form; written through the borrowed ones below
/// ([`HistoryRow::changes_json`]), which the tests hold to what this form serialises as.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct StoredRow {
    seq: u64,
    time: Timestamp,
    actor: String,
    entity_type: EntityType,
    entity_id: ResourceId,
    user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<Change>>,
}

impl HistoryRow {
    /// The stored form of the changes of one operation (at least one): `seq` and `time`
    /// are the first record's, and every record shares its time and actor. The writes go
    /// through [`HistoryRow::changes_json`] from a Plan; this is the records' form of it,
    /// kept as the tests' reference.
    #[cfg(test)]
    pub(crate) fn group_json(records: &[HistoryRecord]) -> Result<Vec<u8>, serde_json::Error> {
        let Some(first) = records.first() else {
            return Err(no_change());
        };
        let changes: Vec<ChangeView<'_>> = records
            .iter()
            .map(|r| ChangeView {
                entity_type: &r.entity_type,
                entity_id: &r.entity_id,
                user_name: r.user_name.as_deref(),
                field: &r.field,
                before: r.before.as_deref(),
                after: r.after.as_deref(),
                rule: &r.rule,
            })
            .collect();
        HistoryRow::changes_json(first.seq, first.time, &first.actor, &changes)
    }

    /// The stored form of `changes` (at least one) by `actor`, numbered from `seq` and made
    /// at `time`, written from borrowed text: what the owned stored row of the same changes
    /// serialises as, and reads back from.
    pub(crate) fn changes_json(
        seq: u64,
        time: Timestamp,
        actor: &str,
        changes: &[ChangeView<'_>],
    ) -> Result<Vec<u8>, serde_json::Error> {
        let Some(first) = changes.first() else {
            return Err(no_change());
        };
        let shared = first.subject();
        serde_json::to_vec(&GroupOut {
            seq,
            time,
            actor,
            entity_type: shared.entity_type,
            entity_id: shared.entity_id,
            user_name: shared.user_name,
            changes: changes
                .iter()
                .map(|change| ChangeOut {
                    subject: Some(change.subject()).filter(|s| *s != shared),
                    field: change.field,
                    before: change.before,
                    after: change.after,
                    rule: change.rule,
                })
                .collect(),
        })
    }
}

fn no_change() -> serde_json::Error {
    serde::ser::Error::custom("a history row holds at least one change")
}

/// One change of an operation, borrowed from a record or from a Plan, as a history row is
/// written from it ([`HistoryRow::changes_json`]).
pub(crate) struct ChangeView<'a> {
    pub(crate) entity_type: &'a EntityType,
    pub(crate) entity_id: &'a ResourceId,
    pub(crate) user_name: Option<&'a str>,
    pub(crate) field: &'a str,
    pub(crate) before: Option<&'a str>,
    pub(crate) after: Option<&'a str>,
    /// The rule, written as its text (`file:line`).
    pub(crate) rule: &'a dyn std::fmt::Display,
}

impl<'a> ChangeView<'a> {
    fn subject(&self) -> SubjectOut<'a> {
        SubjectOut {
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            user_name: self.user_name,
        }
    }
}

/// [`Subject`] as written, borrowed.
#[derive(Serialize, PartialEq)]
struct SubjectOut<'a> {
    entity_type: &'a EntityType,
    entity_id: &'a ResourceId,
    user_name: Option<&'a str>,
}

/// [`Change`] as written, borrowed.
#[derive(Serialize)]
struct ChangeOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<SubjectOut<'a>>,
    field: &'a str,
    before: Option<&'a str>,
    after: Option<&'a str>,
    #[serde(serialize_with = "as_text")]
    rule: &'a dyn std::fmt::Display,
}

/// A grouped [`StoredRow`] as written, borrowed: the fields it skips when they are empty
/// are left out.
#[derive(Serialize)]
struct GroupOut<'a> {
    seq: u64,
    time: Timestamp,
    actor: &'a str,
    entity_type: &'a EntityType,
    entity_id: &'a ResourceId,
    user_name: Option<&'a str>,
    changes: Vec<ChangeOut<'a>>,
}

fn as_text<S: serde::Serializer>(
    value: &&dyn std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl<'de> Deserialize<'de> for HistoryRow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let row = StoredRow::deserialize(deserializer)?;
        let subject = Subject {
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            user_name: row.user_name,
        };
        let record = |seq, subject: Subject, field, before, after, rule| HistoryRecord {
            seq,
            time: row.time,
            actor: row.actor.clone(),
            entity_type: subject.entity_type,
            entity_id: subject.entity_id,
            user_name: subject.user_name,
            field,
            before,
            after,
            rule,
        };
        let Some(changes) = row.changes else {
            let (Some(field), Some(rule)) = (row.field, row.rule) else {
                return Err(serde::de::Error::custom(
                    "a history row holds either a change or `changes`",
                ));
            };
            return Ok(HistoryRow(vec![record(
                row.seq, subject, field, row.before, row.after, rule,
            )]));
        };
        Ok(HistoryRow(
            changes
                .into_iter()
                .zip(row.seq..)
                .map(|(change, seq)| {
                    let subject = change.subject.unwrap_or_else(|| subject.clone());
                    record(
                        seq,
                        subject,
                        change.field,
                        change.before,
                        change.after,
                        change.rule,
                    )
                })
                .collect(),
        ))
    }
}

/// A row of an append-only table keyed `(tenant, seq)`: the records it holds, each with its
/// own sequence number.
pub(crate) trait SeqRow: serde::de::DeserializeOwned {
    /// What the row holds.
    type Record;
    /// Its records, in order.
    fn records(self) -> Vec<Self::Record>;
    /// A record's sequence number.
    fn seq_of(record: &Self::Record) -> u64;
}

impl SeqRow for HistoryRow {
    type Record = HistoryRecord;
    fn records(self) -> Vec<HistoryRecord> {
        self.0
    }
    fn seq_of(record: &HistoryRecord) -> u64 {
        record.seq
    }
}

impl SeqRow for LogRecord {
    type Record = LogRecord;
    fn records(self) -> Vec<LogRecord> {
        vec![self]
    }
    fn seq_of(record: &LogRecord) -> u64 {
        record.seq
    }
}

/// How a provisioning request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Applied (or nothing to do).
    Ok,
    /// Failed: bad input or an internal error; nothing written.
    Failed,
    /// Refused by a rule (`reject`); nothing written.
    Rejected,
}

impl Outcome {
    /// `ok`, `failed` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One provisioning request as received and how it ended, append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Per-tenant sequence number, assigned by `append_log` (the given value is ignored).
    #[serde(default)]
    pub seq: u64,
    /// When, set by `append_log` (the given value is ignored).
    pub time: Timestamp,
    /// Integration user of the API key.
    pub actor: String,
    /// HTTP method.
    pub method: String,
    /// Request path (with query).
    pub path: String,
    /// HTTP status of the response.
    pub status: u16,
    /// How it ended.
    pub outcome: Outcome,
    /// SCIM error type, if any.
    pub scim_type: Option<String>,
    /// Error detail, if any.
    pub detail: Option<String>,
    /// The request body, with secrets masked by `append_log`.
    pub request: Option<Value>,
}

/// Masks every secret a request body may carry (`password` under any spelling, the `value`
/// of a PATCH operation whose `path` names it), at any depth: the SCIM layer's schema-driven
/// redaction, [`crate::scim::redact::redact_all`], applied to everything the log stores.
pub fn mask_secrets(value: &mut Value) {
    crate::scim::redact::redact_all(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_password_at_any_depth() {
        let mut body = json!({
            "userName": "a",
            "password": "s3cret",
            "Operations": [{"op": "replace", "value": {"Password": "x", "other": 1}}],
            "nested": {"deeper": {"password": {"even": "objects"}}}
        });
        mask_secrets(&mut body);
        assert_eq!(
            body,
            json!({
                "userName": "a",
                "password": "********",
                "Operations": [{"op": "replace", "value": {"Password": "********", "other": 1}}],
                "nested": {"deeper": {"password": "********"}}
            })
        );
        assert!(!body.to_string().contains("s3cret"));
    }

    #[test]
    fn masks_patch_value_with_password_path() {
        let mut body = json!(["password", {"op": "replace", "Path": "urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD", "value": "p"}, {"path": "title", "value": "boss"}]);
        mask_secrets(&mut body);
        // A PATCH op naming `password` in its path carries the secret in `value`.
        assert_eq!(
            body,
            json!(["password", {"op": "replace", "Path": "urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD", "value": "********"}, {"path": "title", "value": "boss"}])
        );
    }

    #[test]
    fn a_grouped_row_is_written_as_the_stored_row_it_reads_back_as() {
        let record =
            |id: &str, name: Option<&str>, field: &str, after: Option<&str>| HistoryRecord {
                seq: 4,
                time: Timestamp::parse("2026-12-03T10:00:00Z").unwrap(),
                actor: "okta".into(),
                entity_type: EntityType::new("User"),
                entity_id: ResourceId::new(id),
                user_name: name.map(str::to_owned),
                field: field.into(),
                before: Some("b\u{e9}\"".into()),
                after: after.map(str::to_owned),
                rule: "default.rules:3".into(),
            };
        let records = [
            record("u1", Some("ann"), "Title", Some("x")),
            record("m1", None, "DirectManager", None),
            record("u1", Some("ann"), "Lifecycle", Some("Suspended")),
        ];
        let owned = |r: &HistoryRecord| Subject {
            entity_type: r.entity_type.clone(),
            entity_id: r.entity_id.clone(),
            user_name: r.user_name.clone(),
        };
        // The owned form, whose `Deserialize` reads the row back.
        let stored = StoredRow {
            seq: 4,
            time: records[0].time,
            actor: "okta".into(),
            entity_type: records[0].entity_type.clone(),
            entity_id: records[0].entity_id.clone(),
            user_name: records[0].user_name.clone(),
            field: None,
            before: None,
            after: None,
            rule: None,
            changes: Some(
                records
                    .iter()
                    .map(|r| Change {
                        subject: Some(owned(r)).filter(|s| *s != owned(&records[0])),
                        field: r.field.clone(),
                        before: r.before.clone(),
                        after: r.after.clone(),
                        rule: r.rule.clone(),
                    })
                    .collect(),
            ),
        };
        let written = HistoryRow::group_json(&records).unwrap();
        assert_eq!(
            String::from_utf8(written.clone()).unwrap(),
            serde_json::to_string(&stored).unwrap()
        );
        let back: HistoryRow = serde_json::from_slice(&written).unwrap();
        let numbered: Vec<u64> = back.0.iter().map(|r| r.seq).collect();
        assert_eq!(numbered, [4, 5, 6]);
        assert_eq!(back.0[1].user_name, None);
        assert_eq!(back.0[2].field, "Lifecycle");
    }
}
