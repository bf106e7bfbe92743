//! [`TenantWrite`]: one write transaction scoped to one tenant.

use redb::{Durability, MultimapTableDefinition, MultimapTableHandle, ReadableTable, TableHandle};

use super::db::{Db, WriteTxn};
use super::kept::{Kept, KeptMultimap, KeptTable, Types};
use serde_json::Value;
use serde_json::value::RawValue;

use super::StoreError;
use super::prepared::{Encoded, encode_body, time_json};
use super::query::{ResourceRow, ResourceRowRef, decode, encode, encode_flat, fold, last_seq};
use super::records::HistoryRecord;
use super::tables::{HISTORY, LOG, MEMBER_OF, MEMBERS};
use crate::domain::{
    Entity, FieldName, FieldValue, Lifecycle, PendingRef, ResourceId, ResourceKind, StoredResource,
    TenantId, Timestamp, UserName,
};
use crate::scim::attr::get_ci;

/// One write transaction over one tenant's state. Implements
/// [`StateView`](crate::domain::StateView), reading its own uncommitted writes.
///
/// Nothing is visible to others until [`commit`](TenantWrite::commit), which is durable
/// when it returns. Dropping it without committing discards every write. After any error
/// from a write method the transaction may hold part of that write: drop it.
pub struct TenantWrite {
    /// The transaction and the tables it keeps open ([`Kept`]): every table access of a
    /// `TenantWrite` goes through them.
    cell: WriteCell,
    pub(crate) tenant: TenantId,
    pub(crate) now: Timestamp,
    /// `now` as the JSON text an appended record holds.
    now_json: String,
    /// The last sequence number given out this transaction, per (table, tenant): a batch
    /// appending many records reads each table's last key once.
    seqs: Vec<(&'static str, TenantId, u64)>,
}

self_cell::self_cell!(
    /// A write transaction with its kept tables, which borrow it (the crate keeps the two
    /// together and drops the tables first).
    struct WriteCell {
        owner: WriteTxn,
        #[covariant]
        dependent: Kept,
    }
);

impl TenantWrite {
    /// A durable write transaction scoped to `tenant`, which must exist.
    pub(crate) fn begin(
        db: &std::sync::Arc<Db>,
        tenant: &TenantId,
        now: Timestamp,
    ) -> Result<TenantWrite, StoreError> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let cell = WriteCell::try_new(txn, |txn| Kept::open(txn))?;
        let mut write = TenantWrite {
            cell,
            tenant: tenant.clone(),
            now,
            now_json: time_json(now),
            seqs: Vec::new(),
        };
        write.scope(tenant)?;
        Ok(write)
    }

    /// Scopes the transaction to `tenant`, which must exist (the writer thread moves one
    /// transaction from tenant to tenant within a batch).
    pub(crate) fn scope(&mut self, tenant: &TenantId) -> Result<(), StoreError> {
        if self.kept().tenants.get(tenant.as_str())?.is_none() {
            return Err(StoreError::UnknownTenant(tenant.to_string()));
        }
        self.tenant.clone_from(tenant);
        Ok(())
    }

    /// The kept tables, for reading.
    pub(crate) fn kept(&self) -> &Kept<'_> {
        self.cell.borrow_dependent()
    }

    /// The transaction, for a table that is not kept.
    pub(crate) fn txn(&self) -> &WriteTxn {
        self.cell.borrow_owner()
    }

    /// The tenant this transaction is scoped to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The time of this transaction (from the store's clock, taken once when it began),
    /// for `meta` and history.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Writes a resource and its entity (`resource.entity`, which must have the same id),
    /// keeping the externalId index and, for a group, the displayName index in step with
    /// the body (attribute names matched case-insensitively). `unique_fields` are passed to
    /// [`put_entity`](Self::put_entity). The userName index is NOT touched: use
    /// [`claim_user_name`](Self::claim_user_name).
    pub fn put_resource(
        &mut self,
        resource: &StoredResource,
        unique_fields: &[FieldName],
    ) -> Result<(), StoreError> {
        self.put_resource_parts(
            resource.kind,
            &resource.body,
            &encode_body(&resource.body)?,
            &resource.meta,
            &resource.entity,
            unique_fields,
        )
    }

    /// [`put_resource`](Self::put_resource) from its parts, borrowed, with the body also
    /// as the JSON text it is stored as ([`encode_body`]).
    pub fn put_resource_parts(
        &mut self,
        kind: ResourceKind,
        body: &Value,
        text: &RawValue,
        meta: &crate::domain::Meta,
        entity: &Entity,
        unique_fields: &[FieldName],
    ) -> Result<(), StoreError> {
        let id = entity.id.as_str();
        // The body's depth was checked when it was encoded; meta is flat.
        let row = encode_flat("resources", &ResourceRowRef { body: text, meta })?;
        let tenant = self.tenant.as_str();
        let old_body: Option<Value> = self.cell.with_dependent_mut(|_, kept| {
            let old = kept
                .resources
                .insert((tenant, kind.as_str(), id), row.as_slice())?;
            Ok::<_, StoreError>(match old {
                Some(guard) => Some(decode::<ResourceRow>("resources", guard.value())?.body),
                None => None,
            })
        })?;
        if old_body.is_none() {
            self.bump_count(kind, 1)?;
        }
        self.reindex(kind, id, old_body.as_ref(), Some(body))?;
        self.put_entity(entity, unique_fields)
    }

    /// Deletes a resource: its row, its externalId and group-name index entries, and its
    /// membership rows in both directions (a group's members, or a user's groups). The
    /// entity stays (write its `Deleted` lifecycle with [`put_entity`](Self::put_entity));
    /// the userName stays claimed until [`release_user_name`](Self::release_user_name).
    /// Returns whether the resource existed.
    pub fn delete_resource(
        &mut self,
        kind: ResourceKind,
        id: &ResourceId,
    ) -> Result<bool, StoreError> {
        let tenant = self.tenant.as_str();
        let id = id.as_str();
        let old_body = self.cell.with_dependent_mut(|_, kept| {
            let old = kept.resources.remove((tenant, kind.as_str(), id))?;
            match old {
                Some(guard) => {
                    decode::<ResourceRow>("resources", guard.value()).map(|r| Some(r.body))
                }
                None => Ok(None),
            }
        })?;
        let Some(old_body) = old_body else {
            return Ok(false);
        };
        self.bump_count(kind, -1)?;
        self.reindex(kind, id, Some(&old_body), None)?;
        match kind {
            ResourceKind::Group => {
                self.detach(MEMBERS, MEMBER_OF, id)?;
            }
            ResourceKind::User => {
                self.detach(MEMBER_OF, MEMBERS, id)?;
            }
        }
        Ok(true)
    }

    fn bump_count(&mut self, kind: ResourceKind, delta: i64) -> Result<(), StoreError> {
        let key = (self.tenant.as_str(), kind.as_str());
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.resource_counts;
            let current = table.get(key)?.map_or(0, |g| g.value());
            let next = current.saturating_add_signed(delta);
            table.insert(key, next)?;
            Ok(())
        })
    }

    /// Moves the externalId and group-name index entries of `id` from `old` to `new`.
    fn reindex(
        &mut self,
        kind: ResourceKind,
        id: &str,
        old: Option<&Value>,
        new: Option<&Value>,
    ) -> Result<(), StoreError> {
        let tenant = self.tenant.as_str();
        let text = |body: Option<&Value>, name: &str| {
            body.and_then(Value::as_object)
                .and_then(|b| get_ci(b, name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (old_ext, new_ext) = (text(old, "externalId"), text(new, "externalId"));
        let (old_name, new_name) = if kind == ResourceKind::Group {
            (
                text(old, "displayName").map(|n| fold(&n)),
                text(new, "displayName").map(|n| fold(&n)),
            )
        } else {
            (None, None)
        };
        self.cell.with_dependent_mut(|_, kept| {
            if old_ext != new_ext {
                let table = &mut kept.external_ids;
                if let Some(old_ext) = &old_ext {
                    let key = (tenant, kind.as_str(), old_ext.as_str());
                    if table.get(key)?.is_some_and(|g| g.value() == id) {
                        table.remove(key)?;
                    }
                }
                if let Some(new_ext) = &new_ext {
                    table.insert((tenant, kind.as_str(), new_ext.as_str()), id)?;
                }
            }
            if old_name != new_name {
                let table = &mut kept.group_names;
                if let Some(old_name) = &old_name {
                    let key = (tenant, old_name.as_str());
                    if table.get(key)?.is_some_and(|g| g.value() == id) {
                        table.remove(key)?;
                    }
                }
                if let Some(new_name) = &new_name {
                    table.insert((tenant, new_name.as_str()), id)?;
                }
            }
            Ok(())
        })
    }

    /// Writes an entity, keeping the unique-key index (used by `find_entity`) in step: the
    /// String values of `unique_fields` are indexed case-insensitively, and every index entry
    /// of the previous version that no longer applies is removed. A `Deleted` entity keeps no
    /// index entries. Fails with [`StoreError::DuplicateKey`] when another live entity of the
    /// same type holds one of the values.
    pub fn put_entity(
        &mut self,
        entity: &Entity,
        unique_fields: &[FieldName],
    ) -> Result<(), StoreError> {
        let tenant = self.tenant.as_str();
        let id = entity.id.as_str();
        let bytes = encode("entities", entity)?;
        let old: Option<Entity> = self.cell.with_dependent_mut(|_, kept| {
            let old = kept.entities.insert((tenant, id), bytes.as_slice())?;
            Ok::<_, StoreError>(match old {
                Some(guard) => Some(decode("entities", guard.value())?),
                None => None,
            })
        })?;
        self.index_unmanaged(old.as_ref(), entity)?;
        let wanted: Vec<(&str, String)> = if entity.lifecycle == Lifecycle::Deleted {
            Vec::new()
        } else {
            unique_fields
                .iter()
                .filter_map(|field| match entity.fields.get(field) {
                    Some(FieldValue::String(value)) => Some((field.as_str(), fold(value))),
                    _ => None,
                })
                .collect()
        };
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.unique_keys;
            Self::move_keys(table, tenant, id, entity, old.as_ref(), &wanted)
        })
    }

    /// The unique-key index entries of `entity` (id `id`): the entries of `old` that are not
    /// `wanted` any more are removed, and each of `wanted` is added, unless another entity
    /// holds it.
    fn move_keys(
        table: &mut redb::Table<
            '_,
            (&'static str, &'static str, &'static str, &'static str),
            &'static str,
        >,
        tenant: &str,
        id: &str,
        entity: &Entity,
        old: Option<&Entity>,
        wanted: &[(&str, String)],
    ) -> Result<(), StoreError> {
        if let Some(old) = old {
            for (field, value) in &old.fields {
                let FieldValue::String(value) = value else {
                    continue;
                };
                let folded = fold(value);
                if wanted
                    .iter()
                    .any(|(f, v)| *f == field.as_str() && *v == folded)
                {
                    continue;
                }
                let key = (
                    tenant,
                    old.entity_type.as_str(),
                    field.as_str(),
                    folded.as_str(),
                );
                if table.get(key)?.is_some_and(|g| g.value() == id) {
                    table.remove(key)?;
                }
            }
        }
        for (field, folded) in wanted {
            let key = (tenant, entity.entity_type.as_str(), *field, folded.as_str());
            if let Some(holder) = table.get(key)? {
                if holder.value() != id {
                    let value = match entity.fields.get(*field) {
                        Some(v) => v.display(),
                        None => folded.clone(),
                    };
                    return Err(StoreError::DuplicateKey {
                        entity_type: entity.entity_type.to_string(),
                        field: (*field).to_owned(),
                        value,
                    });
                }
                continue;
            }
            table.insert(key, id)?;
        }
        Ok(())
    }

    /// Claims a userName (case-insensitive) for user `id` of this tenant in the GLOBAL
    /// index. Claiming a name this user already holds is a no-op; a name held by anyone
    /// else, in any tenant, fails with [`StoreError::UserNameTaken`].
    pub fn claim_user_name(
        &mut self,
        user_name: &UserName,
        id: &ResourceId,
    ) -> Result<(), StoreError> {
        let ours = self.tenant.as_str();
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.user_names;
            if let Some(holder) = table.get(user_name.key())? {
                let (tenant, holder_id) = holder.value();
                if tenant == ours && holder_id == id.as_str() {
                    return Ok(());
                }
                return Err(StoreError::UserNameTaken(user_name.to_string()));
            }
            table.insert(user_name.key(), (ours, id.as_str()))?;
            Ok(())
        })
    }

    /// Releases a userName held by this tenant. A name held by another tenant is left
    /// alone. Returns whether it was released.
    pub fn release_user_name(&mut self, user_name: &UserName) -> Result<bool, StoreError> {
        let tenant = self.tenant.as_str();
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.user_names;
            let ours = table
                .get(user_name.key())?
                .is_some_and(|holder| holder.value().0 == tenant);
            if ours {
                table.remove(user_name.key())?;
            }
            Ok(ours)
        })
    }

    /// Adds `user` to `group` (both directions). Returns false if already a member.
    /// Costs the same whatever the group's size.
    pub fn add_member(
        &mut self,
        group: &ResourceId,
        user: &ResourceId,
    ) -> Result<bool, StoreError> {
        self.set_member(group, user, true).map(|existed| !existed)
    }

    /// Removes `user` from `group` (both directions). Returns whether it was a member.
    pub fn remove_member(
        &mut self,
        group: &ResourceId,
        user: &ResourceId,
    ) -> Result<bool, StoreError> {
        self.set_member(group, user, false)
    }

    /// Inserts (`member`) or removes the pair in `MEMBERS` and its mirror in `MEMBER_OF`;
    /// returns whether the pair existed before.
    fn set_member(
        &mut self,
        group: &ResourceId,
        user: &ResourceId,
        member: bool,
    ) -> Result<bool, StoreError> {
        let tenant = self.tenant.as_str();
        let (group, user) = (group.as_str(), user.as_str());
        self.cell.with_dependent_mut(|_, kept| {
            let existed = if member {
                kept.members.insert((tenant, group), user)?
            } else {
                kept.members.remove((tenant, group), user)?
            };
            if member {
                kept.member_of.insert((tenant, user), group)?;
            } else {
                kept.member_of.remove((tenant, user), group)?;
            }
            Ok(existed)
        })
    }

    /// Removes every row of `key` from the `forward` membership multimap and the matching
    /// rows from its mirror `backward`; returns the other ends removed, in order.
    fn detach(
        &mut self,
        forward: MultimapTableDefinition<'static, (&'static str, &'static str), &'static str>,
        backward: MultimapTableDefinition<'static, (&'static str, &'static str), &'static str>,
        key: &str,
    ) -> Result<Vec<String>, StoreError> {
        let tenant = self.tenant.as_str();
        self.cell.with_dependent_mut(|_, kept| {
            let table = <Types as KeptMultimap<(&str, &str), &str>>::kept_mut(kept, forward.name())
                .ok_or_else(|| unkept(forward.name()))?;
            let mut others = Vec::new();
            for value in table.remove_all((tenant, key))? {
                others.push(value?.value().to_owned());
            }
            let table =
                <Types as KeptMultimap<(&str, &str), &str>>::kept_mut(kept, backward.name())
                    .ok_or_else(|| unkept(backward.name()))?;
            for other in &others {
                table.remove((tenant, other.as_str()), key)?;
            }
            Ok(others)
        })
    }

    /// Records a reference waiting for an entity (keyed by `entity` and the folded `key`).
    pub fn add_pending(&mut self, pending: &PendingRef) -> Result<(), StoreError> {
        let folded = fold(&pending.key);
        let (key, value) = pending_row(self.tenant.as_str(), pending, &folded);
        self.cell.with_dependent_mut(|_, kept| {
            kept.pending.insert(key, value)?;
            Ok(())
        })
    }

    /// Removes a pending reference (as returned by `pending_refs`). Returns whether it
    /// existed.
    pub fn remove_pending(&mut self, pending: &PendingRef) -> Result<bool, StoreError> {
        let folded = fold(&pending.key);
        let (key, value) = pending_row(self.tenant.as_str(), pending, &folded);
        self.cell
            .with_dependent_mut(|_, kept| Ok(kept.pending.remove(key, value)?))
    }

    /// The next sequence number of `table` for this tenant.
    fn next_seq<T, V>(
        seqs: &mut Vec<(&'static str, TenantId, u64)>,
        name: &'static str,
        tenant: &TenantId,
        table: &T,
    ) -> Result<u64, StoreError>
    where
        T: ReadableTable<(&'static str, u64), V>,
        V: redb::Value + 'static,
    {
        // A batch names few tenants: a scan, with no key built per record.
        if let Some((_, _, last)) = seqs.iter_mut().find(|(n, t, _)| *n == name && t == tenant) {
            *last += 1;
            return Ok(*last);
        }
        let next = last_seq(table, tenant.as_str())? + 1;
        seqs.push((name, tenant.clone(), next));
        Ok(next)
    }

    /// Marks the sequence numbers of `name` up to `last` as given out.
    fn reserve_to(
        seqs: &mut [(&'static str, TenantId, u64)],
        name: &'static str,
        tenant: &TenantId,
        last: u64,
    ) {
        if let Some((_, _, given)) = seqs.iter_mut().find(|(n, t, _)| *n == name && t == tenant) {
            *given = (*given).max(last);
        }
    }

    /// Appends a notification to the tenant's outbox; returns its sequence number.
    pub fn push_outbox(&mut self, notification: &impl serde::Serialize) -> Result<u64, StoreError> {
        let text = serde_json::to_string(notification).map_err(|e| StoreError::Corrupt {
            table: "outbox",
            detail: e.to_string(),
        })?;
        let (seqs, tenant) = (&mut self.seqs, &self.tenant);
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.outbox;
            let seq = Self::next_seq(seqs, "outbox", tenant, table)?;
            table.insert((tenant.as_str(), seq), text.as_str())?;
            Ok(seq)
        })
    }

    /// Appends a change to the tenant's history: assigns `seq` (returned) and the
    /// transaction's time.
    pub fn append_history(&mut self, record: HistoryRecord) -> Result<u64, StoreError> {
        self.append_history_all([record])
    }

    /// [`append_history`](Self::append_history) for several records, in order (the table
    /// opened once); returns the last sequence number (0 for none).
    pub fn append_history_all(
        &mut self,
        records: impl IntoIterator<Item = HistoryRecord>,
    ) -> Result<u64, StoreError> {
        let encoded = records
            .into_iter()
            .map(|record| Encoded::history(&record))
            .collect::<Result<Vec<_>, _>>()?;
        self.append_encoded(HISTORY, "history", &encoded)
    }

    /// Appends a provisioning-log record in this transaction (for an operation that
    /// succeeds: it is recorded exactly when the operation is). Secrets in the request are
    /// masked; its time is the transaction's. Returns its sequence number.
    pub fn append_log(&mut self, record: &super::LogRecord) -> Result<u64, StoreError> {
        self.append_encoded(LOG, "log", &[Encoded::log(record.clone())?])
    }

    /// Appends the changes of one operation, encoded as one row
    /// ([`Encoded::plan_history`]) of `count` records, to the history: numbered from the next
    /// sequence number on, keyed by the last one (returned).
    pub(crate) fn append_history_row(
        &mut self,
        row: &Encoded,
        count: usize,
    ) -> Result<u64, StoreError> {
        let (seqs, tenant, now_json) = (&mut self.seqs, &self.tenant, &self.now_json);
        self.cell.with_dependent_mut(|_, kept| {
            let table = &mut kept.history;
            let first = Self::next_seq(seqs, "history", tenant, table)?;
            let last = first + count.saturating_sub(1) as u64;
            Self::reserve_to(seqs, "history", tenant, last);
            let row = row.stamped(first, now_json);
            table.insert((tenant.as_str(), last), row.as_slice())?;
            Ok(last)
        })
    }

    /// Appends records encoded beforehand ([`Encoded`]) to the append-only `table`
    /// (called `name`), in order, each with its sequence number and the transaction's
    /// time; returns the last sequence number (0 for none).
    pub(crate) fn append_encoded(
        &mut self,
        table: redb::TableDefinition<(&'static str, u64), &'static [u8]>,
        name: &'static str,
        records: &[Encoded],
    ) -> Result<u64, StoreError> {
        let (seqs, tenant, now_json) = (&mut self.seqs, &self.tenant, &self.now_json);
        self.cell.with_dependent_mut(|_, kept| {
            let table = <Types as KeptTable<_, &[u8]>>::kept_mut(kept, table.name())
                .ok_or_else(|| unkept(table.name()))?;
            let mut seq = 0;
            for record in records {
                seq = Self::next_seq(seqs, name, tenant, table)?;
                let row = record.stamped(seq, now_json);
                table.insert((tenant.as_str(), seq), row.as_slice())?;
            }
            Ok(seq)
        })
    }

    /// Commits durably: when this returns `Ok`, every write survives a crash.
    pub fn commit(self) -> Result<(), StoreError> {
        // The kept tables close first: each writes its root back to the transaction.
        self.cell.into_owner().commit()?;
        Ok(())
    }

    /// Discards every write (the same as dropping the transaction).
    pub fn abort(self) -> Result<(), StoreError> {
        self.cell.into_owner().abort()?;
        Ok(())
    }
}

/// A table a `TenantWrite` was asked to write that it does not keep open.
fn unkept(name: &str) -> StoreError {
    StoreError::Corrupt {
        table: "writer",
        detail: format!("table `{name}` is not kept open by the write transaction"),
    }
}

/// A `PENDING` row: (tenant, entity type, folded key) -> (waiting user, field, key as sent).
type PendingRow<'a> = ((&'a str, &'a str, &'a str), (&'a str, &'a str, &'a str));

fn pending_row<'a>(tenant: &'a str, pending: &'a PendingRef, folded: &'a str) -> PendingRow<'a> {
    (
        (tenant, pending.entity.as_str(), folded),
        (
            pending.user_id.as_str(),
            pending.field.as_str(),
            pending.key.as_str(),
        ),
    )
}
