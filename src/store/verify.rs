//! `provisio db verify`: every index, claim, count, membership direction and reference
//! checked against the rows they index, offline, in one read snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use redb::{ReadTransaction, ReadableDatabase, ReadableMultimapTable, ReadableTable};
use serde_json::Value;

use super::query::{ResourceRow, decode, fold};
use super::records::{HistoryRecord, LogRecord, TenantRecord};
use super::tables::{
    ENTITIES, EXTERNAL_IDS, GROUP_NAMES, HISTORY, KEY_IDS, KEYS, LOG, MEMBER_OF, MEMBERS, OUTBOX,
    PENDING, RESOURCE_COUNTS, RESOURCES, TENANTS, UNIQUE_KEYS, USER_NAMES,
};
use super::{Store, StoreError, StoredKey};
use crate::domain::{Entity, FieldValue, Lifecycle, ResourceKind, UniqueFields, user_name_key};
use crate::scim::attr::get_ci;

/// One inconsistency between rows and what indexes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency {
    /// The table at fault (where the stale or missing entry is).
    pub table: &'static str,
    /// What is wrong, naming the tenant and ids.
    pub detail: String,
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.table, self.detail)
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Rows examined, per table.
    pub rows: BTreeMap<&'static str, usize>,
    /// Every inconsistency, in table order.
    pub problems: Vec<Inconsistency>,
}

impl VerifyReport {
    /// Whether everything is consistent.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

type Key3 = (String, String, String);

struct Checker {
    report: VerifyReport,
}

impl Checker {
    fn problem(&mut self, table: &'static str, detail: String) {
        self.report.problems.push(Inconsistency { table, detail });
    }

    fn counted(&mut self, table: &'static str) {
        *self.report.rows.entry(table).or_default() += 1;
    }
}

impl Store {
    /// Checks every index and relation against the rows (see the module doc). `unique`
    /// holds the target schema's unique fields (the indexed ones).
    pub fn verify(&self, unique: &UniqueFields) -> Result<VerifyReport, StoreError> {
        let txn = self.db.begin_read()?;
        let mut checker = Checker {
            report: VerifyReport::default(),
        };
        let tenants = tenants(&txn, &mut checker)?;
        let entities = entities(&txn, &mut checker)?;
        let resources = resources(&txn, &mut checker, &entities)?;
        counts(&txn, &mut checker, &resources)?;
        user_names(&txn, &mut checker, &resources, &entities)?;
        attribute_indexes(&txn, &mut checker, &resources)?;
        unique_keys(&txn, &mut checker, &entities, unique)?;
        memberships(&txn, &mut checker, &resources)?;
        references(&txn, &mut checker, &entities)?;
        unmanaged(&txn, &mut checker, &entities)?;
        keys_and_logs(&txn, &mut checker, &tenants)?;
        Ok(checker.report)
    }
}

fn tenants(txn: &ReadTransaction, c: &mut Checker) -> Result<BTreeSet<String>, StoreError> {
    let mut names = BTreeSet::new();
    for item in txn.open_table(TENANTS)?.iter()? {
        let (key, value) = item?;
        c.counted("tenants");
        match decode::<TenantRecord>("tenants", value.value()) {
            Ok(record) if record.name == key.value() => {}
            Ok(record) => c.problem(
                "tenants",
                format!("row `{}` holds tenant `{}`", key.value(), record.name),
            ),
            Err(err) => c.problem("tenants", err.to_string()),
        }
        names.insert(key.value().to_owned());
    }
    Ok(names)
}

/// The index of unmanaged entities: exactly the unmanaged, live ones, under their type.
fn unmanaged(
    txn: &ReadTransaction,
    c: &mut Checker,
    entities: &BTreeMap<(String, String), Entity>,
) -> Result<(), StoreError> {
    let mut indexed = BTreeSet::new();
    for item in txn.open_table(super::tables::UNMANAGED)?.iter()? {
        let (key, _) = item?;
        let (tenant, entity_type, id) = key.value();
        c.counted("unmanaged_entities");
        match entities.get(&(tenant.to_owned(), id.to_owned())) {
            Some(e)
                if !e.managed
                    && e.lifecycle != Lifecycle::Deleted
                    && e.entity_type == entity_type => {}
            _ => c.problem(
                "unmanaged_entities",
                format!("{tenant}/{entity_type}/{id} is not an unmanaged, live {entity_type}"),
            ),
        }
        indexed.insert((tenant.to_owned(), id.to_owned()));
    }
    for ((tenant, id), entity) in entities {
        if !entity.managed
            && entity.lifecycle != Lifecycle::Deleted
            && !indexed.contains(&(tenant.clone(), id.clone()))
        {
            c.problem(
                "unmanaged_entities",
                format!(
                    "unmanaged {} {tenant}/{id} is not listed",
                    entity.entity_type
                ),
            );
        }
    }
    Ok(())
}

/// `(tenant, id) -> Entity`.
fn entities(
    txn: &ReadTransaction,
    c: &mut Checker,
) -> Result<BTreeMap<(String, String), Entity>, StoreError> {
    let mut all = BTreeMap::new();
    for item in txn.open_table(ENTITIES)?.iter()? {
        let (key, value) = item?;
        let (tenant, id) = key.value();
        c.counted("entities");
        match decode::<Entity>("entities", value.value()) {
            Ok(entity) if entity.id == id => {
                all.insert((tenant.to_owned(), id.to_owned()), entity);
            }
            Ok(entity) => c.problem(
                "entities",
                format!("{tenant}/{id} holds entity {}", entity.id),
            ),
            Err(err) => c.problem("entities", format!("{tenant}/{id}: {err}")),
        }
    }
    Ok(all)
}

/// `(tenant, kind, id) -> body`.
fn resources(
    txn: &ReadTransaction,
    c: &mut Checker,
    entities: &BTreeMap<(String, String), Entity>,
) -> Result<BTreeMap<Key3, Value>, StoreError> {
    let mut all = BTreeMap::new();
    for item in txn.open_table(RESOURCES)?.iter()? {
        let (key, value) = item?;
        let (tenant, kind, id) = key.value();
        c.counted("resources");
        let row = match decode::<ResourceRow>("resources", value.value()) {
            Ok(row) => row,
            Err(err) => {
                c.problem("resources", format!("{tenant}/{kind}/{id}: {err}"));
                continue;
            }
        };
        match entities.get(&(tenant.to_owned(), id.to_owned())) {
            None => c.problem("resources", format!("{tenant} {kind} {id} has no entity")),
            Some(entity) if !entity.managed || entity.lifecycle == Lifecycle::Deleted => c.problem(
                "entities",
                format!(
                    "{tenant} {kind} {id} has a resource but its entity is not a live, managed one"
                ),
            ),
            Some(_) => {}
        }
        if row.body.get("id").and_then(Value::as_str) != Some(id) {
            c.problem(
                "resources",
                format!("{tenant} {kind} {id}: its body has another id"),
            );
        }
        all.insert(
            (tenant.to_owned(), kind.to_owned(), id.to_owned()),
            row.body,
        );
    }
    Ok(all)
}

fn counts(
    txn: &ReadTransaction,
    c: &mut Checker,
    resources: &BTreeMap<Key3, Value>,
) -> Result<(), StoreError> {
    let mut actual: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (tenant, kind, _) in resources.keys() {
        *actual.entry((tenant.clone(), kind.clone())).or_default() += 1;
    }
    let mut stored: BTreeMap<(String, String), u64> = BTreeMap::new();
    for item in txn.open_table(RESOURCE_COUNTS)?.iter()? {
        let (key, value) = item?;
        let (tenant, kind) = key.value();
        stored.insert((tenant.to_owned(), kind.to_owned()), value.value());
    }
    let keys: BTreeSet<&(String, String)> = actual.keys().chain(stored.keys()).collect();
    for key in keys {
        let (a, s) = (
            actual.get(key).copied().unwrap_or(0),
            stored.get(key).copied().unwrap_or(0),
        );
        if a != s {
            c.problem(
                "resource_counts",
                format!("{} {}: counted {s}, but {a} rows", key.0, key.1),
            );
        }
    }
    Ok(())
}

fn text<'v>(body: &'v Value, name: &str) -> Option<&'v str> {
    body.as_object()
        .and_then(|b| get_ci(b, name))
        .and_then(Value::as_str)
}

fn user_names(
    txn: &ReadTransaction,
    c: &mut Checker,
    resources: &BTreeMap<Key3, Value>,
    entities: &BTreeMap<(String, String), Entity>,
) -> Result<(), StoreError> {
    let user = ResourceKind::User.as_str();
    let mut claims: BTreeMap<String, (String, String)> = BTreeMap::new();
    for item in txn.open_table(USER_NAMES)?.iter()? {
        let (key, value) = item?;
        c.counted("user_names");
        let (tenant, id) = value.value();
        claims.insert(key.value().to_owned(), (tenant.to_owned(), id.to_owned()));
    }
    for (key, (tenant, id)) in &claims {
        let by_resource = resources
            .get(&(tenant.clone(), user.to_owned(), id.clone()))
            .and_then(|b| text(b, "userName"))
            .map(user_name_key);
        // An imported, unmanaged user holds its name by its UserName field.
        let by_entity = entities
            .get(&(tenant.clone(), id.clone()))
            .filter(|e| !e.managed && e.lifecycle != Lifecycle::Deleted)
            .and_then(|e| match e.fields.get("UserName") {
                Some(FieldValue::String(name)) => Some(user_name_key(name)),
                _ => None,
            });
        let holds = [by_resource, by_entity]
            .into_iter()
            .flatten()
            .any(|k| k.as_deref() == Ok(key.as_str()));
        if !holds {
            c.problem(
                "user_names",
                format!(
                    "the claim `{key}` points at {tenant}/{id}, which does not hold that userName"
                ),
            );
        }
    }
    for ((tenant, kind, id), body) in resources {
        if kind != user {
            continue;
        }
        let Some(name) = text(body, "userName") else {
            c.problem("resources", format!("{tenant} User {id} has no userName"));
            continue;
        };
        match user_name_key(name) {
            Ok(key) => match claims.get(&key) {
                Some((t, i)) if t == tenant && i == id => {}
                Some((t, i)) => c.problem(
                    "user_names",
                    format!("{tenant} User {id} holds `{key}`, but the claim is {t}/{i}'s"),
                ),
                None => c.problem(
                    "user_names",
                    format!("{tenant} User {id}: its userName `{key}` is not claimed"),
                ),
            },
            Err(err) => c.problem("resources", format!("{tenant} User {id}: {err}")),
        }
    }
    Ok(())
}

fn attribute_indexes(
    txn: &ReadTransaction,
    c: &mut Checker,
    resources: &BTreeMap<Key3, Value>,
) -> Result<(), StoreError> {
    for item in txn.open_table(EXTERNAL_IDS)?.iter()? {
        let (key, value) = item?;
        c.counted("external_ids");
        let (tenant, kind, external_id) = key.value();
        let id = value.value();
        let holds = resources
            .get(&(tenant.to_owned(), kind.to_owned(), id.to_owned()))
            .and_then(|b| text(b, "externalId"))
            == Some(external_id);
        if !holds {
            c.problem(
                "external_ids",
                format!("{tenant} {kind} externalId `{external_id}` points at {id}, which does not have it"),
            );
        }
    }
    let external = txn.open_table(EXTERNAL_IDS)?;
    let groups = txn.open_table(GROUP_NAMES)?;
    for ((tenant, kind, id), body) in resources {
        if let Some(external_id) = text(body, "externalId")
            && external
                .get((tenant.as_str(), kind.as_str(), external_id))?
                .is_none()
        {
            c.problem(
                "external_ids",
                format!("{tenant} {kind} {id}: externalId `{external_id}` is not indexed"),
            );
        }
        if kind == ResourceKind::Group.as_str() {
            let Some(name) = text(body, "displayName") else {
                continue;
            };
            let folded = fold(name);
            match groups.get((tenant.as_str(), folded.as_str()))? {
                Some(holder) if holder.value() == id => {}
                _ => c.problem(
                    "group_names",
                    format!("{tenant} Group {id}: displayName `{name}` is not indexed to it"),
                ),
            }
        }
    }
    for item in groups.iter()? {
        let (key, value) = item?;
        c.counted("group_names");
        let (tenant, folded) = key.value();
        let id = value.value();
        let holds = resources
            .get(&(
                tenant.to_owned(),
                ResourceKind::Group.as_str().to_owned(),
                id.to_owned(),
            ))
            .and_then(|b| text(b, "displayName"))
            .is_some_and(|name| fold(name) == folded);
        if !holds {
            c.problem(
                "group_names",
                format!("{tenant} group name `{folded}` points at {id}, which is not that group"),
            );
        }
    }
    Ok(())
}

fn unique_keys(
    txn: &ReadTransaction,
    c: &mut Checker,
    entities: &BTreeMap<(String, String), Entity>,
    unique: &UniqueFields,
) -> Result<(), StoreError> {
    let table = txn.open_table(UNIQUE_KEYS)?;
    for item in table.iter()? {
        let (key, value) = item?;
        c.counted("entity_unique_keys");
        let (tenant, entity_type, field, folded) = key.value();
        let id = value.value();
        let holds = entities
            .get(&(tenant.to_owned(), id.to_owned()))
            .filter(|e| e.entity_type == entity_type && e.lifecycle != Lifecycle::Deleted)
            .and_then(|e| e.fields.get(field))
            .is_some_and(|v| matches!(v, FieldValue::String(s) if fold(s) == folded));
        if !holds {
            c.problem(
                "entity_unique_keys",
                format!("{tenant} {entity_type}.{field} `{folded}` points at {id}, which does not hold it"),
            );
        }
    }
    for ((tenant, id), entity) in entities {
        if entity.lifecycle == Lifecycle::Deleted {
            continue;
        }
        for field in unique.of(&entity.entity_type) {
            let Some(FieldValue::String(value)) = entity.fields.get(field) else {
                continue;
            };
            let folded = fold(value);
            let key = (
                tenant.as_str(),
                entity.entity_type.as_str(),
                field.as_str(),
                folded.as_str(),
            );
            match table.get(key)? {
                Some(holder) if holder.value() == id => {}
                _ => c.problem(
                    "entity_unique_keys",
                    format!(
                        "{tenant} {} {id}: {field} `{value}` is not indexed to it",
                        entity.entity_type
                    ),
                ),
            }
        }
    }
    Ok(())
}

fn memberships(
    txn: &ReadTransaction,
    c: &mut Checker,
    resources: &BTreeMap<Key3, Value>,
) -> Result<(), StoreError> {
    let is = |tenant: &str, kind: ResourceKind, id: &str| {
        resources.contains_key(&(tenant.to_owned(), kind.as_str().to_owned(), id.to_owned()))
    };
    let mut forward = BTreeSet::new();
    for item in txn.open_multimap_table(MEMBERS)?.iter()? {
        let (key, values) = item?;
        let (tenant, group) = key.value();
        for value in values {
            let user = value?.value().to_owned();
            c.counted("members");
            if !is(tenant, ResourceKind::Group, group) || !is(tenant, ResourceKind::User, &user) {
                c.problem(
                    "members",
                    format!("{tenant}: group {group} lists {user}, but one of them is not a provisioned resource"),
                );
            }
            forward.insert((tenant.to_owned(), group.to_owned(), user));
        }
    }
    let mut backward = BTreeSet::new();
    for item in txn.open_multimap_table(MEMBER_OF)?.iter()? {
        let (key, values) = item?;
        let (tenant, user) = key.value();
        for value in values {
            c.counted("member_of");
            backward.insert((
                tenant.to_owned(),
                value?.value().to_owned(),
                user.to_owned(),
            ));
        }
    }
    for (tenant, group, user) in forward.difference(&backward) {
        c.problem(
            "member_of",
            format!("{tenant}: {user} in {group} has no member_of row"),
        );
    }
    for (tenant, group, user) in backward.difference(&forward) {
        c.problem(
            "members",
            format!("{tenant}: {user} in {group} has no members row"),
        );
    }
    Ok(())
}

fn references(
    txn: &ReadTransaction,
    c: &mut Checker,
    entities: &BTreeMap<(String, String), Entity>,
) -> Result<(), StoreError> {
    for ((tenant, id), entity) in entities {
        for (field, value) in &entity.fields {
            if let FieldValue::Ref {
                entity: ty,
                id: target,
            } = value
            {
                let found = entities
                    .get(&(tenant.clone(), target.to_string()))
                    .is_some_and(|t| t.entity_type == *ty);
                if !found {
                    c.problem(
                        "entities",
                        format!("{tenant} {} {id}: {field} refers to {ty} {target}, which does not exist", entity.entity_type),
                    );
                }
            }
        }
    }
    for item in txn.open_multimap_table(PENDING)?.iter()? {
        let (key, values) = item?;
        let (tenant, _, _) = key.value();
        for value in values {
            c.counted("pending_refs");
            let guard = value?;
            let (user, field, _) = guard.value();
            if !entities.contains_key(&(tenant.to_owned(), user.to_owned())) {
                c.problem(
                    "pending_refs",
                    format!(
                        "{tenant}: a reference waits for {user}.{field}, but {user} does not exist"
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Every record of a per-tenant, sequence-numbered table (history, provisioning log) must
/// decode as `R`.
fn records<R: serde::de::DeserializeOwned>(
    txn: &ReadTransaction,
    c: &mut Checker,
    table: redb::TableDefinition<(&str, u64), &[u8]>,
    name: &'static str,
) -> Result<(), StoreError> {
    for item in txn.open_table(table)?.iter()? {
        let (key, value) = item?;
        c.counted(name);
        if let Err(err) = decode::<R>(name, value.value()) {
            let (tenant, seq) = key.value();
            c.problem(name, format!("{tenant} #{seq} does not read back: {err}"));
        }
    }
    Ok(())
}

fn keys_and_logs(
    txn: &ReadTransaction,
    c: &mut Checker,
    tenants: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let keys = txn.open_table(KEYS)?;
    for item in txn.open_table(KEY_IDS)?.iter()? {
        let (key, hash) = item?;
        c.counted("api_key_ids");
        let (tenant, key_id) = key.value();
        let found = keys
            .get(hash.value())?
            .map(|g| decode::<StoredKey>("api_keys", g.value()))
            .transpose();
        match found {
            Ok(Some(stored))
                if stored.record.tenant == tenant && stored.record.key_id == key_id => {}
            Ok(_) => c.problem(
                "api_key_ids",
                format!("{tenant} key {key_id} has no matching key row"),
            ),
            Err(err) => c.problem("api_keys", err.to_string()),
        }
    }
    for item in keys.iter()? {
        let (_, value) = item?;
        c.counted("api_keys");
        match decode::<StoredKey>("api_keys", value.value()) {
            Ok(stored) if !tenants.contains(stored.record.tenant.as_str()) => c.problem(
                "api_keys",
                format!(
                    "key {} belongs to unknown tenant {}",
                    stored.record.key_id, stored.record.tenant
                ),
            ),
            Ok(_) => {}
            Err(err) => c.problem("api_keys", err.to_string()),
        }
    }
    records::<HistoryRecord>(txn, c, HISTORY, "history")?;
    records::<LogRecord>(txn, c, LOG, "provisioning_log")?;
    for item in txn.open_table(OUTBOX)?.iter()? {
        let (key, value) = item?;
        c.counted("outbox");
        if serde_json::from_str::<Value>(value.value()).is_err() {
            let (tenant, seq) = key.value();
            c.problem("outbox", format!("{tenant} #{seq} does not read back"));
        }
    }
    Ok(())
}
