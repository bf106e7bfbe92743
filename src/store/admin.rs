//! The operator side of the store: operator tokens (hashed like API keys) with their scope,
//! the admin audit log, and the filtered, paged reads of history and provisioning log the
//! admin surface serves.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::query::{decode, encode, require_tenant, update_row};
use super::records::{HistoryRow, SeqRow};
use super::tables::{ADMIN_AUDIT, HISTORY, LOG, OPERATOR_IDS, OPERATORS, TENANTS};
use super::{
    Credential, HistoryRecord, LogRecord, Outcome, Store, StoreError, key_hash, random_hex,
    valid_credential,
};
use crate::domain::{TenantId, Timestamp, fold};

/// The prefix of every operator token.
pub const OPERATOR_PREFIX: &str = "pva_";

/// What an operator may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "tenant")]
pub enum OperatorScope {
    /// Every tenant, and the operators themselves.
    All,
    /// One tenant only.
    Tenant(TenantId),
}

impl OperatorScope {
    /// Whether this scope reaches `tenant`.
    pub fn reaches(&self, tenant: &TenantId) -> bool {
        match self {
            OperatorScope::All => true,
            OperatorScope::Tenant(own) => own == tenant,
        }
    }
}

/// An operator, as listed: never the token, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRecord {
    /// Operator id (not secret).
    pub id: String,
    /// A name for people (`alice`, `local CLI`).
    pub name: String,
    /// What it may reach.
    pub scope: OperatorScope,
    /// Creation time.
    pub created: Timestamp,
    /// Revoked operators never authenticate.
    pub revoked: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredOperator {
    hash: [u8; 32],
    record: OperatorRecord,
}

impl Credential for StoredOperator {
    fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    fn revoked(&self) -> bool {
        self.record.revoked
    }
}

/// One write made through the admin surface (API, page or CLI through the server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Sequence number, assigned when appended.
    pub seq: u64,
    /// When, set when appended.
    pub time: Timestamp,
    /// The operator (`name (id)`).
    pub operator: String,
    /// What was done (`key.create`, `overlay.save`).
    pub action: String,
    /// The tenant concerned, if any.
    pub tenant: Option<TenantId>,
    /// What it was done to (a key id, an overlay version).
    pub target: Option<String>,
    /// The state before, when it has one (never a secret).
    pub before: Option<Value>,
    /// The state after (never a secret).
    pub after: Option<Value>,
}

/// Filters and a cursor for reading history or log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// Only records of this userName (history: compared folded).
    pub user: Option<String>,
    /// Only changes of this field (history; case-insensitive).
    pub field: Option<String>,
    /// Only these outcomes (log).
    pub outcomes: Vec<Outcome>,
    /// Only records at or after this time.
    pub from: Option<Timestamp>,
    /// Only records before this time.
    pub to: Option<Timestamp>,
    /// Only records older than this sequence number (the cursor of the previous page).
    pub before: Option<u64>,
    /// At most this many (1 to 1000; 0 means 100).
    pub limit: usize,
}

impl PageQuery {
    fn limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(1000),
        }
    }

    fn in_time(&self, time: Timestamp) -> bool {
        self.from.is_none_or(|from| time >= from) && self.to.is_none_or(|to| time < to)
    }
}

/// One page of records, newest first, and the cursor of the next (older) page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next: Option<u64>,
}

impl Store {
    /// Creates an operator; returns its record and token (`pva_` + 64 hex digits), shown
    /// once: only its SHA-256 is stored. A tenant scope must name an existing tenant.
    pub fn create_operator(
        &self,
        name: &str,
        scope: OperatorScope,
    ) -> Result<(OperatorRecord, String), StoreError> {
        let token = format!("{OPERATOR_PREFIX}{}", random_hex::<32>()?);
        let hash = key_hash(&token);
        let txn = self.begin_write()?;
        let record = {
            if let OperatorScope::Tenant(tenant) = &scope
                && txn.open_table(TENANTS)?.get(tenant.as_str())?.is_none()
            {
                return Err(StoreError::UnknownTenant(tenant.to_string()));
            }
            let mut ids = txn.open_table(OPERATOR_IDS)?;
            let id = loop {
                let candidate = format!("op_{}", random_hex::<8>()?);
                if ids.get(candidate.as_str())?.is_none() {
                    break candidate;
                }
            };
            ids.insert(id.as_str(), hash.as_slice())?;
            let record = OperatorRecord {
                id,
                name: name.to_owned(),
                scope,
                created: self.now(),
                revoked: false,
            };
            let bytes = encode(
                "operators",
                &StoredOperator {
                    hash,
                    record: record.clone(),
                },
            )?;
            txn.open_table(OPERATORS)?
                .insert(hash.as_slice(), bytes.as_slice())?;
            record
        };
        txn.commit()?;
        Ok((record, token))
    }

    /// The operator of a valid, unrevoked token; `None` otherwise.
    pub fn authenticate_operator(&self, token: &str) -> Result<Option<OperatorRecord>, StoreError> {
        let hash = key_hash(token);
        let txn = self.db.begin_read()?;
        let stored = valid_credential::<StoredOperator>(&txn, OPERATORS, "operators", &hash)?;
        Ok(stored.map(|s| s.record))
    }

    /// Every operator, in id order.
    pub fn list_operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(OPERATOR_IDS)?;
        let operators = txn.open_table(OPERATORS)?;
        let mut records = Vec::new();
        for item in ids.iter()? {
            let (_, hash) = item?;
            if let Some(guard) = operators.get(hash.value())? {
                records.push(decode::<StoredOperator>("operators", guard.value())?.record);
            }
        }
        Ok(records)
    }

    /// Revokes an operator by id; it never authenticates again. Returns its record.
    pub fn revoke_operator(&self, id: &str) -> Result<OperatorRecord, StoreError> {
        let txn = self.begin_write()?;
        let record = {
            let hash = match txn.open_table(OPERATOR_IDS)?.get(id)? {
                Some(guard) => guard.value().to_vec(),
                None => return Err(StoreError::UnknownKey(id.to_owned())),
            };
            let mut table = txn.open_table(OPERATORS)?;
            let revoke = |s: &mut StoredOperator| s.record.revoked = true;
            update_row(&mut table, "operators", &hash, id, revoke)?.record
        };
        txn.commit()?;
        Ok(record)
    }

    /// Appends to the admin audit log; assigns its sequence number (returned) and time.
    pub fn append_audit(&self, mut record: AuditRecord) -> Result<u64, StoreError> {
        let txn = self.begin_write()?;
        let seq = {
            let mut table = txn.open_table(ADMIN_AUDIT)?;
            let last = table.last()?.map_or(0, |(k, _)| k.value());
            record.seq = last + 1;
            record.time = self.now();
            let bytes = encode("admin_audit", &record)?;
            table.insert(record.seq, bytes.as_slice())?;
            record.seq
        };
        txn.commit()?;
        Ok(seq)
    }

    /// The admin audit log, newest first; with `tenant`, only what concerns it.
    pub fn audit(
        &self,
        tenant: Option<&TenantId>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let query = PageQuery {
            before,
            limit,
            ..PageQuery::default()
        };
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ADMIN_AUDIT)?;
        let end = query.before.unwrap_or(u64::MAX);
        let mut items = Vec::new();
        let mut next = None;
        for item in table.range(..end)?.rev() {
            let (_, value) = item?;
            let record: AuditRecord = decode("admin_audit", value.value())?;
            if tenant.is_some_and(|t| record.tenant.as_ref() != Some(t)) {
                continue;
            }
            if items.len() == query.limit() {
                next = items.last().map(|r: &AuditRecord| r.seq);
                break;
            }
            items.push(record);
        }
        Ok(Page { items, next })
    }

    /// One page of a tenant's change history, newest first.
    pub fn history_page(
        &self,
        tenant: &TenantId,
        query: &PageQuery,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        let user = query.user.as_deref().map(fold);
        self.seq_page::<HistoryRow>(tenant, HISTORY, "history", query, |r: &HistoryRecord| {
            query.in_time(r.time)
                && user
                    .as_ref()
                    .is_none_or(|u| r.user_name.as_deref().is_some_and(|n| fold(n) == *u))
                && query
                    .field
                    .as_ref()
                    .is_none_or(|f| r.field.eq_ignore_ascii_case(f))
        })
    }

    /// One page of a tenant's provisioning log, newest first.
    pub fn log_page(
        &self,
        tenant: &TenantId,
        query: &PageQuery,
    ) -> Result<Page<LogRecord>, StoreError> {
        self.seq_page::<LogRecord>(tenant, LOG, "provisioning_log", query, |r: &LogRecord| {
            query.in_time(r.time)
                && (query.outcomes.is_empty() || query.outcomes.contains(&r.outcome))
                && query.user.as_ref().is_none_or(|u| {
                    r.request
                        .as_ref()
                        .and_then(|b| b.get("userName"))
                        .and_then(Value::as_str)
                        .is_some_and(|n| fold(n) == fold(u))
                })
        })
    }

    /// One page of an append-only table, newest first: the records each row holds
    /// (a history row holds an operation's changes, keyed by the last one's sequence
    /// number) that `keep` keeps, before `query.before`.
    fn seq_page<R: SeqRow>(
        &self,
        tenant: &TenantId,
        def: redb::TableDefinition<(&str, u64), &[u8]>,
        name: &'static str,
        query: &PageQuery,
        keep: impl Fn(&R::Record) -> bool,
    ) -> Result<Page<R::Record>, StoreError> {
        let tenant = tenant.as_str();
        let txn = self.db.begin_read()?;
        require_tenant(&txn.open_table(TENANTS)?, tenant)?;
        let table = txn.open_table(def)?;
        let before = query.before.unwrap_or(u64::MAX);
        // The row holding the record just before `before` is keyed at or after it.
        let end = match table.range((tenant, before)..=(tenant, u64::MAX))?.next() {
            Some(item) => item?.0.value().1,
            None => u64::MAX,
        };
        let mut items: Vec<R::Record> = Vec::new();
        let mut next = None;
        'rows: for item in table.range((tenant, 0)..=(tenant, end))?.rev() {
            let (_, value) = item?;
            let row: R = decode(name, value.value())?;
            for record in row.records().into_iter().rev() {
                if R::seq_of(&record) >= before || !keep(&record) {
                    continue;
                }
                if items.len() == query.limit() {
                    next = items.last().map(R::seq_of);
                    break 'rows;
                }
                items.push(record);
            }
        }
        Ok(Page { items, next })
    }
}
