//! `provisio db verify`: every index, claim, count, membership direction and reference
//! checked against the rows they index, offline, in one read snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use redb::{ReadTransaction, ReadableMultimapTable, ReadableTable};
use serde_json::Value;

use super::query::{ResourceRow, decode, fold};
use super::records::{HistoryRow, LogRecord, TenantRecord};
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

/// Every entity, by `(tenant, id)`.
type Entities = BTreeMap<(String, String), Entity>;
/// Every resource body, by `(tenant, kind, id)`.
type Resources = BTreeMap<Key3, Value>;

/// One pass after another over one read snapshot, gathering the report.
struct Checker<'t> {
    txn: &'t ReadTransaction,
    report: VerifyReport,
}

impl Checker<'_> {
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
            txn: &txn,
            report: VerifyReport::default(),
        };
        let tenants = checker.tenants()?;
        let entities = checker.entities()?;
        let resources = checker.resources(&entities)?;
        checker.counts(&resources)?;
        checker.user_names(&resources, &entities)?;
        checker.attribute_indexes(&resources)?;
        checker.unique_keys(&entities, unique)?;
        checker.memberships(&resources)?;
        checker.references(&entities)?;
        checker.unmanaged(&entities)?;
        checker.keys_and_logs(&tenants)?;
        Ok(checker.report)
    }
}

impl Checker<'_> {
    fn tenants(&mut self) -> Result<BTreeSet<String>, StoreError> {
        let txn = self.txn;
        let mut names = BTreeSet::new();
        for item in txn.open_table(TENANTS)?.iter()? {
            let (key, value) = item?;
            self.counted("tenants");
            match decode::<TenantRecord>("tenants", value.value()) {
                Ok(record) if record.name == key.value() => {}
                Ok(record) => self.problem(
                    "tenants",
                    format!("row `{}` holds tenant `{}`", key.value(), record.name),
                ),
                Err(err) => self.problem("tenants", err.to_string()),
            }
            names.insert(key.value().to_owned());
        }
        Ok(names)
    }

    /// The index of unmanaged entities: exactly the unmanaged, live ones, under their type.
    fn unmanaged(&mut self, entities: &Entities) -> Result<(), StoreError> {
        let txn = self.txn;
        let mut indexed = BTreeSet::new();
        for item in txn.open_table(super::tables::UNMANAGED)?.iter()? {
            let (key, _) = item?;
            let (tenant, entity_type, id) = key.value();
            self.counted("unmanaged_entities");
            match entities.get(&(tenant.to_owned(), id.to_owned())) {
                Some(e)
                    if !e.managed
                        && e.lifecycle != Lifecycle::Deleted
                        && e.entity_type == entity_type => {}
                _ => self.problem(
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
                self.problem(
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
    fn entities(&mut self) -> Result<Entities, StoreError> {
        let txn = self.txn;
        let mut all = BTreeMap::new();
        for item in txn.open_table(ENTITIES)?.iter()? {
            let (key, value) = item?;
            let (tenant, id) = key.value();
            self.counted("entities");
            match decode::<Entity>("entities", value.value()) {
                Ok(entity) if entity.id == id => {
                    all.insert((tenant.to_owned(), id.to_owned()), entity);
                }
                Ok(entity) => self.problem(
                    "entities",
                    format!("{tenant}/{id} holds entity {}", entity.id),
                ),
                Err(err) => self.problem("entities", format!("{tenant}/{id}: {err}")),
            }
        }
        Ok(all)
    }

    /// `(tenant, kind, id) -> body`.
    fn resources(&mut self, entities: &Entities) -> Result<Resources, StoreError> {
        let txn = self.txn;
        let mut all = BTreeMap::new();
        for item in txn.open_table(RESOURCES)?.iter()? {
            let (key, value) = item?;
            let (tenant, kind, id) = key.value();
            self.counted("resources");
            let row = match decode::<ResourceRow>("resources", value.value()) {
                Ok(row) => row,
                Err(err) => {
                    self.problem("resources", format!("{tenant}/{kind}/{id}: {err}"));
                    continue;
                }
            };
            match entities.get(&(tenant.to_owned(), id.to_owned())) {
                None => self.problem("resources", format!("{tenant} {kind} {id} has no entity")),
                Some(entity) if !entity.managed || entity.lifecycle == Lifecycle::Deleted => self.problem(
                    "entities",
                    format!(
                        "{tenant} {kind} {id} has a resource but its entity is not a live, managed one"
                    ),
                ),
                Some(_) => {}
            }
            if row.body.get("id").and_then(Value::as_str) != Some(id) {
                self.problem(
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

    fn counts(&mut self, resources: &Resources) -> Result<(), StoreError> {
        let txn = self.txn;
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
                self.problem(
                    "resource_counts",
                    format!("{} {}: counted {s}, but {a} rows", key.0, key.1),
                );
            }
        }
        Ok(())
    }

    fn user_names(&mut self, resources: &Resources, entities: &Entities) -> Result<(), StoreError> {
        let txn = self.txn;
        let user = ResourceKind::User.as_str();
        let mut claims: BTreeMap<String, (String, String)> = BTreeMap::new();
        for item in txn.open_table(USER_NAMES)?.iter()? {
            let (key, value) = item?;
            self.counted("user_names");
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
                self.problem(
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
                self.problem("resources", format!("{tenant} User {id} has no userName"));
                continue;
            };
            match user_name_key(name) {
                Ok(key) => match claims.get(&key) {
                    Some((t, i)) if t == tenant && i == id => {}
                    Some((t, i)) => self.problem(
                        "user_names",
                        format!("{tenant} User {id} holds `{key}`, but the claim is {t}/{i}'s"),
                    ),
                    None => self.problem(
                        "user_names",
                        format!("{tenant} User {id}: its userName `{key}` is not claimed"),
                    ),
                },
                Err(err) => self.problem("resources", format!("{tenant} User {id}: {err}")),
            }
        }
        Ok(())
    }

    fn attribute_indexes(&mut self, resources: &Resources) -> Result<(), StoreError> {
        let txn = self.txn;
        for item in txn.open_table(EXTERNAL_IDS)?.iter()? {
            let (key, value) = item?;
            self.counted("external_ids");
            let (tenant, kind, external_id) = key.value();
            let id = value.value();
            let holds = resources
                .get(&(tenant.to_owned(), kind.to_owned(), id.to_owned()))
                .and_then(|b| text(b, "externalId"))
                == Some(external_id);
            if !holds {
                self.problem(
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
                self.problem(
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
                    _ => self.problem(
                        "group_names",
                        format!("{tenant} Group {id}: displayName `{name}` is not indexed to it"),
                    ),
                }
            }
        }
        for item in groups.iter()? {
            let (key, value) = item?;
            self.counted("group_names");
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
                self.problem(
                    "group_names",
                    format!(
                        "{tenant} group name `{folded}` points at {id}, which is not that group"
                    ),
                );
            }
        }
        Ok(())
    }

    fn unique_keys(
        &mut self,
        entities: &Entities,
        unique: &UniqueFields,
    ) -> Result<(), StoreError> {
        let txn = self.txn;
        let table = txn.open_table(UNIQUE_KEYS)?;
        for item in table.iter()? {
            let (key, value) = item?;
            self.counted("entity_unique_keys");
            let (tenant, entity_type, field, folded) = key.value();
            let id = value.value();
            let holds = entities
                .get(&(tenant.to_owned(), id.to_owned()))
                .filter(|e| e.entity_type == entity_type && e.lifecycle != Lifecycle::Deleted)
                .and_then(|e| e.fields.get(field))
                .is_some_and(|v| matches!(v, FieldValue::String(s) if fold(s) == folded));
            if !holds {
                self.problem(
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
                    _ => self.problem(
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

    fn memberships(&mut self, resources: &Resources) -> Result<(), StoreError> {
        let txn = self.txn;
        let is = |tenant: &str, kind: ResourceKind, id: &str| {
            resources.contains_key(&(tenant.to_owned(), kind.as_str().to_owned(), id.to_owned()))
        };
        let mut forward = BTreeSet::new();
        for item in txn.open_multimap_table(MEMBERS)?.iter()? {
            let (key, values) = item?;
            let (tenant, group) = key.value();
            for value in values {
                let user = value?.value().to_owned();
                self.counted("members");
                if !is(tenant, ResourceKind::Group, group) || !is(tenant, ResourceKind::User, &user)
                {
                    self.problem(
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
                self.counted("member_of");
                backward.insert((
                    tenant.to_owned(),
                    value?.value().to_owned(),
                    user.to_owned(),
                ));
            }
        }
        for (tenant, group, user) in forward.difference(&backward) {
            self.problem(
                "member_of",
                format!("{tenant}: {user} in {group} has no member_of row"),
            );
        }
        for (tenant, group, user) in backward.difference(&forward) {
            self.problem(
                "members",
                format!("{tenant}: {user} in {group} has no members row"),
            );
        }
        Ok(())
    }

    fn references(&mut self, entities: &Entities) -> Result<(), StoreError> {
        let txn = self.txn;
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
                        self.problem(
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
                self.counted("pending_refs");
                let guard = value?;
                let (user, field, _) = guard.value();
                if !entities.contains_key(&(tenant.to_owned(), user.to_owned())) {
                    self.problem(
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
        &mut self,
        table: redb::TableDefinition<(&str, u64), &[u8]>,
        name: &'static str,
    ) -> Result<(), StoreError> {
        let txn = self.txn;
        for item in txn.open_table(table)?.iter()? {
            let (key, value) = item?;
            self.counted(name);
            if let Err(err) = decode::<R>(name, value.value()) {
                let (tenant, seq) = key.value();
                self.problem(name, format!("{tenant} #{seq} does not read back: {err}"));
            }
        }
        Ok(())
    }

    fn keys_and_logs(&mut self, tenants: &BTreeSet<String>) -> Result<(), StoreError> {
        let txn = self.txn;
        let keys = txn.open_table(KEYS)?;
        for item in txn.open_table(KEY_IDS)?.iter()? {
            let (key, hash) = item?;
            self.counted("api_key_ids");
            let (tenant, key_id) = key.value();
            let found = keys
                .get(hash.value())?
                .map(|g| decode::<StoredKey>("api_keys", g.value()))
                .transpose();
            match found {
                Ok(Some(stored))
                    if stored.record.tenant == tenant && stored.record.key_id == key_id => {}
                Ok(_) => self.problem(
                    "api_key_ids",
                    format!("{tenant} key {key_id} has no matching key row"),
                ),
                Err(err) => self.problem("api_keys", err.to_string()),
            }
        }
        for item in keys.iter()? {
            let (_, value) = item?;
            self.counted("api_keys");
            match decode::<StoredKey>("api_keys", value.value()) {
                Ok(stored) if !tenants.contains(stored.record.tenant.as_str()) => self.problem(
                    "api_keys",
                    format!(
                        "key {} belongs to unknown tenant {}",
                        stored.record.key_id, stored.record.tenant
                    ),
                ),
                Ok(_) => {}
                Err(err) => self.problem("api_keys", err.to_string()),
            }
        }
        self.records::<HistoryRow>(HISTORY, "history")?;
        self.records::<LogRecord>(LOG, "provisioning_log")?;
        for item in txn.open_table(OUTBOX)?.iter()? {
            let (key, value) = item?;
            self.counted("outbox");
            if serde_json::from_str::<Value>(value.value()).is_err() {
                let (tenant, seq) = key.value();
                self.problem("outbox", format!("{tenant} #{seq} does not read back"));
            }
        }
        Ok(())
    }
}

fn text<'v>(body: &'v Value, name: &str) -> Option<&'v str> {
    body.as_object()
        .and_then(|b| get_ci(b, name))
        .and_then(Value::as_str)
}
