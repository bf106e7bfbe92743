//! Retention: the provisioning log and change history are trimmed by age and count per
//! tenant, in the background, so that under a steady load the file stops growing. Outbox
//! notifications are trimmed only once nothing is left to deliver (suppressed ones); a
//! queued, undelivered notification is never dropped.

use redb::ReadableTable;
use serde_json::Value;

use super::query::decode;
use super::records::HistoryRow;
use super::tables::{HISTORY, LOG, OUTBOX, TENANTS};
use super::{LogRecord, Store, StoreError};
use crate::domain::Timestamp;

/// How long, and how many, records a tenant keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Change history older than this many days is dropped.
    pub history_days: u32,
    /// At most this many change-history records per tenant (the newest are kept; the
    /// changes one operation makes are one row, kept or dropped together).
    pub history_count: u64,
    /// Provisioning-log records older than this many days are dropped.
    pub log_days: u32,
    /// At most this many provisioning-log records per tenant.
    pub log_count: u64,
}

impl Default for Retention {
    /// A year of change history (an audit trail an admin is asked about), 90 days of
    /// provisioning log (what Okta's and Entra's own provisioning logs keep, roughly), and
    /// at most a million history and 200,000 log records per tenant.
    fn default() -> Self {
        Retention {
            history_days: 365,
            history_count: 1_000_000,
            log_days: 90,
            log_count: 200_000,
        }
    }
}

/// What one pass dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// History rows (the changes of one operation each; older rows hold one change).
    pub history: u64,
    /// Log records.
    pub log: u64,
    /// Delivered or suppressed outbox notifications.
    pub outbox: u64,
}

/// Rows deleted per write transaction, so that a pass never holds the writer long.
const CHUNK: usize = 5_000;

impl Store {
    /// One retention pass over every tenant.
    pub fn enforce_retention(&self, retention: &Retention) -> Result<Trimmed, StoreError> {
        let now = self.now();
        let day = 86_400i64;
        let history_cut = now.plus_seconds(-i64::from(retention.history_days) * day);
        let log_cut = now.plus_seconds(-i64::from(retention.log_days) * day);
        let tenants: Vec<String> = {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(TENANTS)?;
            let mut names = Vec::new();
            for item in table.iter()? {
                names.push(item?.0.value().to_owned());
            }
            names
        };
        let mut trimmed = Trimmed::default();
        for tenant in &tenants {
            trimmed.history += self.trim(tenant, HISTORY, retention.history_count, |bytes| {
                decode::<HistoryRow>("history", bytes)
                    .map(|row| row.0.first().is_none_or(|r| r.time < history_cut))
            })?;
            trimmed.log += self.trim(tenant, LOG, retention.log_count, |bytes| {
                decode::<LogRecord>("provisioning_log", bytes).map(|r| r.time < log_cut)
            })?;
            trimmed.outbox += self.trim_outbox(tenant, log_cut)?;
        }
        Ok(trimmed)
    }

    /// Drops the oldest records of `tenant` in `def` while there are more than `count` of
    /// them or the oldest one is `expired`. Records are in time order (their key is the
    /// sequence), so the pass stops at the first one kept.
    fn trim(
        &self,
        tenant: &str,
        def: redb::TableDefinition<(&str, u64), &[u8]>,
        count: u64,
        expired: impl Fn(&[u8]) -> Result<bool, StoreError>,
    ) -> Result<u64, StoreError> {
        let mut dropped = 0u64;
        loop {
            let txn = self.begin_write()?;
            let removed = {
                let mut table = txn.open_table(def)?;
                let range = (tenant, 0)..=(tenant, u64::MAX);
                let (first, last) = {
                    let mut iter = table.range(range.clone())?;
                    let first = match iter.next() {
                        Some(item) => item?.0.value().1,
                        None => break,
                    };
                    let last = match iter.next_back() {
                        Some(item) => item?.0.value().1,
                        None => first,
                    };
                    (first, last)
                };
                let held = last - first + 1;
                let over = held.saturating_sub(count);
                let mut doomed = Vec::new();
                for item in table.range(range)? {
                    let (key, value) = item?;
                    let seq = key.value().1;
                    let by_count = seq < first + over;
                    // The newest record always stays: it carries the tenant's sequence.
                    if seq == last || (!by_count && !expired(value.value())?) {
                        break;
                    }
                    doomed.push(seq);
                    if doomed.len() == CHUNK {
                        break;
                    }
                }
                for seq in &doomed {
                    table.remove((tenant, *seq))?;
                }
                doomed.len()
            };
            if removed == 0 {
                txn.abort()?;
                break;
            }
            txn.commit()?;
            dropped += removed as u64;
            if removed < CHUNK {
                break;
            }
        }
        Ok(dropped)
    }

    /// Drops suppressed (never to be delivered) notifications older than `cut`; a queued
    /// one is kept whatever its age.
    fn trim_outbox(&self, tenant: &str, cut: Timestamp) -> Result<u64, StoreError> {
        let txn = self.begin_write()?;
        let removed = {
            let mut table = txn.open_table(OUTBOX)?;
            let mut doomed = Vec::new();
            for item in table.range((tenant, 0)..=(tenant, u64::MAX))? {
                let (key, value) = item?;
                let note: Value = serde_json::from_str(value.value()).unwrap_or(Value::Null);
                let suppressed = note.get("status").and_then(Value::as_str) == Some("suppressed");
                let old = note
                    .get("time")
                    .and_then(Value::as_str)
                    .and_then(Timestamp::parse)
                    .is_some_and(|t| t < cut);
                if suppressed && old {
                    doomed.push(key.value().1);
                }
                if doomed.len() == CHUNK {
                    break;
                }
            }
            for seq in &doomed {
                table.remove((tenant, *seq))?;
            }
            doomed.len() as u64
        };
        txn.commit()?;
        Ok(removed)
    }
}
