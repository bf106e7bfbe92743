//! Reads shared by read and write transactions: one implementation over either.

use std::ops::Deref;

use redb::{
    Key, MultimapTableDefinition, MultimapTableHandle, ReadOnlyMultimapTable, ReadOnlyTable,
    ReadableMultimapTable, ReadableTable, TableDefinition, TableError, TableHandle,
    Value as RedbValue,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::StoreError;
use super::db::{Snapshot, Tab};
use super::kept::{Kept, KeptMultimap, KeptTable, Types};
use super::tables::{
    ENTITIES, EXTERNAL_IDS, GROUP_NAMES, MEMBER_OF, MEMBERS, OUTBOX, PENDING, RESOURCE_COUNTS,
    RESOURCES, UNIQUE_KEYS, USER_NAMES,
};
use crate::domain::{
    Entity, EntityType, FieldName, Lifecycle, Meta, PendingRef, ResourceBody, ResourceId,
    ResourceKind, StoredResource, UserName,
};

/// A redb transaction tables can be read through: a read or a write transaction.
pub(crate) trait Txn {
    /// An open table.
    type Table<'a, K: Key + 'static, V: RedbValue + 'static>: Deref<Target: ReadableTable<K, V>>
    where
        Self: 'a;
    /// An open multimap table.
    type Multimap<'a, K: Key + 'static, V: Key + 'static>: Deref<
        Target: ReadableMultimapTable<K, V>,
    >
    where
        Self: 'a;

    /// Opens a table for reading (its key and value types must be listed in
    /// [`KeptTable`]: a write transaction may hold it open already).
    fn table<'a, K: Key + Send + Sync + 'static, V: RedbValue + Send + Sync + 'static>(
        &'a self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Self::Table<'a, K, V>, TableError>
    where
        Types: KeptTable<K, V>;

    /// Opens a multimap table for reading (see [`KeptMultimap`]).
    fn multimap<'a, K: Key + Send + Sync + 'static, V: Key + Send + Sync + 'static>(
        &'a self,
        def: MultimapTableDefinition<'_, K, V>,
    ) -> Result<Self::Multimap<'a, K, V>, TableError>
    where
        Types: KeptMultimap<K, V>;
}

impl Txn for Snapshot {
    type Table<'a, K: Key + 'static, V: RedbValue + 'static> = Tab<'a, ReadOnlyTable<K, V>>;
    type Multimap<'a, K: Key + 'static, V: Key + 'static> = Tab<'a, ReadOnlyMultimapTable<K, V>>;

    fn table<'a, K: Key + Send + Sync + 'static, V: RedbValue + Send + Sync + 'static>(
        &'a self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Self::Table<'a, K, V>, TableError>
    where
        Types: KeptTable<K, V>,
    {
        Snapshot::table(self, def)
    }

    fn multimap<'a, K: Key + Send + Sync + 'static, V: Key + Send + Sync + 'static>(
        &'a self,
        def: MultimapTableDefinition<'_, K, V>,
    ) -> Result<Self::Multimap<'a, K, V>, TableError>
    where
        Types: KeptMultimap<K, V>,
    {
        Snapshot::multimap(self, def)
    }
}

impl Txn for Kept<'_> {
    type Table<'a, K: Key + 'static, V: RedbValue + 'static>
        = Tab<'a, redb::Table<'a, K, V>>
    where
        Self: 'a;
    type Multimap<'a, K: Key + 'static, V: Key + 'static>
        = Tab<'a, redb::MultimapTable<'a, K, V>>
    where
        Self: 'a;

    fn table<'a, K: Key + Send + Sync + 'static, V: RedbValue + Send + Sync + 'static>(
        &'a self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Self::Table<'a, K, V>, TableError>
    where
        Types: KeptTable<K, V>,
    {
        match <Types as KeptTable<K, V>>::kept(self, def.name()) {
            Some(table) => Ok(Tab::Kept(table)),
            None => self.txn.open_table(def).map(Tab::Own),
        }
    }

    fn multimap<'a, K: Key + Send + Sync + 'static, V: Key + Send + Sync + 'static>(
        &'a self,
        def: MultimapTableDefinition<'_, K, V>,
    ) -> Result<Self::Multimap<'a, K, V>, TableError>
    where
        Types: KeptMultimap<K, V>,
    {
        match <Types as KeptMultimap<K, V>>::kept(self, def.name()) {
            Some(table) => Ok(Tab::Kept(table)),
            None => self.txn.open_multimap_table(def).map(Tab::Own),
        }
    }
}

/// A resource row: the entity half lives in `ENTITIES` under the same id.
#[derive(Serialize, Deserialize)]
pub(crate) struct ResourceRow {
    pub(crate) body: Value,
    pub(crate) meta: Meta,
}

/// A resource row as its stored JSON text, `{"body": {...}, "meta": {...}}`: what a read
/// shows of a resource is written from it in one pass (`scim::project::StoredRow`).
#[derive(Debug)]
pub struct RawRow(Box<str>);

impl RawRow {
    /// The row's JSON text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

/// A resource row to write, borrowed (the same bytes as [`ResourceRow`]).
#[derive(Serialize)]
pub(crate) struct ResourceRowRef<'a> {
    pub(crate) body: &'a serde_json::value::RawValue,
    pub(crate) meta: &'a Meta,
}

/// Decodes a JSON row.
pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// [`StoreError::UnknownTenant`] unless `tenants` (the tenants table) holds `tenant`.
pub(crate) fn require_tenant(
    tenants: &impl ReadableTable<&'static str, &'static [u8]>,
    tenant: &str,
) -> Result<(), StoreError> {
    if tenants.get(tenant)?.is_none() {
        return Err(StoreError::UnknownTenant(tenant.to_owned()));
    }
    Ok(())
}

/// Calls `each` with the value of every row of `table` keyed `(tenant, …)`, in key order.
pub(crate) fn each_of_tenant<V: redb::Value + 'static>(
    table: &(impl ReadableTable<(&'static str, &'static str), V> + ?Sized),
    tenant: &str,
    mut each: impl FnMut(V::SelfType<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for item in table.range((tenant, "")..)? {
        let (key, value) = item?;
        if key.value().0 != tenant {
            break;
        }
        each(value.value())?;
    }
    Ok(())
}

/// Reads the row at `key` of `table` (named `name`), changes it and writes it back;
/// a missing row is [`StoreError::UnknownKey`] of `id`. Returns the changed row.
pub(crate) fn update_row<T: Serialize + DeserializeOwned>(
    table: &mut redb::Table<&[u8], &[u8]>,
    name: &'static str,
    key: &[u8],
    id: &str,
    change: impl FnOnce(&mut T),
) -> Result<T, StoreError> {
    let Some(bytes) = table.get(key)?.map(|guard| guard.value().to_vec()) else {
        return Err(StoreError::UnknownKey(id.to_owned()));
    };
    let mut row: T = decode(name, &bytes)?;
    change(&mut row);
    table.insert(key, encode(name, &row)?.as_slice())?;
    Ok(row)
}

/// The deepest nesting a stored row may have: [`decode`] (`serde_json`) reads up to 128
/// levels, so a row is refused at write time well before that, never at read time.
pub(crate) const MAX_ROW_DEPTH: usize = 100;

/// Encodes a row whose type holds no JSON value of its own (only strings, numbers and
/// records of them), so its nesting is fixed by the type and never near [`MAX_ROW_DEPTH`].
pub(crate) fn encode_flat<T: Serialize>(
    table: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// Encodes a JSON row; refuses one nested deeper than [`MAX_ROW_DEPTH`], which could not
/// be read back.
pub(crate) fn encode<T: Serialize>(table: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    let bytes = encode_flat(table, value)?;
    if crate::domain::nests_deeper(&bytes, b"{[", b"}]", MAX_ROW_DEPTH) {
        return Err(StoreError::TooDeep {
            table,
            limit: MAX_ROW_DEPTH,
        });
    }
    Ok(bytes)
}

/// The case-folded form every case-insensitive index is keyed by (the one fold).
pub(crate) use crate::domain::fold;

/// Every read of one tenant's state, over a read or a write transaction.
pub(crate) struct Queries<'a, X: Txn> {
    pub(crate) txn: &'a X,
    pub(crate) tenant: &'a str,
}

impl<X: Txn> Queries<'_, X> {
    pub(crate) fn resource(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let row = {
            let table = self.txn.table(RESOURCES)?;
            let Some(guard) = table.get((self.tenant, kind.as_str(), id))? else {
                return Ok(None);
            };
            decode::<ResourceRow>("resources", guard.value())?
        };
        self.join(kind, id, row).map(Some)
    }

    /// A resource's version and entity, its body skipped unbuilt (what a write checks
    /// still holds).
    pub(crate) fn resource_stamp(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(u64, Entity)>, StoreError> {
        Ok(self
            .resource_head(kind, id)?
            .map(|(meta, entity)| (meta.version, entity)))
    }

    /// A resource's `meta` and entity, its body skipped unbuilt (what a write of it
    /// starts from).
    pub(crate) fn resource_head(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(Meta, Entity)>, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            meta: Meta,
        }
        let meta = {
            let table = self.txn.table(RESOURCES)?;
            let Some(guard) = table.get((self.tenant, kind.as_str(), id))? else {
                return Ok(None);
            };
            decode::<Head>("resources", guard.value())?.meta
        };
        let entity = self.entity_of(kind, id)?;
        Ok(Some((meta, entity)))
    }

    /// A resource's body and meta without its entity (what a SCIM read shows).
    pub(crate) fn resource_body(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<(Value, Meta)>, StoreError> {
        let table = self.txn.table(RESOURCES)?;
        let Some(guard) = table.get((self.tenant, kind.as_str(), id))? else {
            return Ok(None);
        };
        let row = decode::<ResourceRow>("resources", guard.value())?;
        Ok(Some((row.body, row.meta)))
    }

    /// A resource's row as its stored text (not parsed).
    pub(crate) fn resource_row(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<RawRow>, StoreError> {
        let table = self.txn.table(RESOURCES)?;
        let Some(guard) = table.get((self.tenant, kind.as_str(), id))? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(guard.value()).map_err(|e| StoreError::Corrupt {
            table: "resources",
            detail: e.to_string(),
        })?;
        Ok(Some(RawRow(text.into())))
    }

    fn join(
        &self,
        kind: ResourceKind,
        id: &str,
        row: ResourceRow,
    ) -> Result<StoredResource, StoreError> {
        let entity = self.entity_of(kind, id)?;
        Ok(StoredResource {
            kind,
            body: row.body,
            meta: row.meta,
            entity,
        })
    }

    /// The entity of a managed resource, which every resource row has.
    fn entity_of(&self, kind: ResourceKind, id: &str) -> Result<Entity, StoreError> {
        self.entity(id)?.ok_or_else(|| StoreError::Corrupt {
            table: "resources",
            detail: format!("{} {id} has no entity", kind.as_str()),
        })
    }

    pub(crate) fn entity(&self, id: &str) -> Result<Option<Entity>, StoreError> {
        let table = self.txn.table(ENTITIES)?;
        match table.get((self.tenant, id))? {
            Some(guard) => decode("entities", guard.value()).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn find_entity(
        &self,
        entity_type: &EntityType,
        field: &FieldName,
        value: &str,
    ) -> Result<Option<Entity>, StoreError> {
        let Some(id) = self.entity_id_by_key(entity_type, field, value)? else {
            return Ok(None);
        };
        Ok(self
            .entity(&id)?
            .filter(|e| e.lifecycle != Lifecycle::Deleted && e.entity_type == *entity_type))
    }

    /// The id the unique-key index holds for an entity type's field value (matched
    /// case-insensitively), without reading the entity.
    pub(crate) fn entity_id_by_key(
        &self,
        entity_type: &EntityType,
        field: &FieldName,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let table = self.txn.table(UNIQUE_KEYS)?;
        let folded = fold(value);
        Ok(table
            .get((
                self.tenant,
                entity_type.as_str(),
                field.as_str(),
                folded.as_str(),
            ))?
            .map(|guard| guard.value().to_owned()))
    }

    /// The (tenant, id) holding a userName, globally.
    pub(crate) fn user_name_owner(
        &self,
        user_name: &UserName,
    ) -> Result<Option<(String, ResourceId)>, StoreError> {
        let table = self.txn.table(USER_NAMES)?;
        Ok(table.get(user_name.key())?.map(|guard| {
            let (tenant, id) = guard.value();
            (tenant.to_owned(), ResourceId::new(id))
        }))
    }

    pub(crate) fn user_name_taken_elsewhere(
        &self,
        user_name: &UserName,
    ) -> Result<bool, StoreError> {
        Ok(self
            .user_name_owner(user_name)?
            .is_some_and(|(tenant, _)| tenant != self.tenant))
    }

    /// The id of this tenant's user holding `user_name` (the claim is global: another
    /// tenant's holder is not this tenant's user).
    fn own_user_id(&self, user_name: &UserName) -> Result<Option<ResourceId>, StoreError> {
        Ok(self
            .user_name_owner(user_name)?
            .and_then(|(tenant, id)| (tenant == self.tenant).then_some(id)))
    }

    /// The id of this tenant's resource of `kind` with this externalId.
    fn id_by_external_id(
        &self,
        kind: ResourceKind,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let table = self.txn.table(EXTERNAL_IDS)?;
        Ok(table
            .get((self.tenant, kind.as_str(), external_id))?
            .map(|guard| guard.value().to_owned()))
    }

    /// The id of this tenant's group with this displayName (matched case-insensitively).
    fn group_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        let table = self.txn.table(GROUP_NAMES)?;
        let folded = fold(name);
        Ok(table
            .get((self.tenant, folded.as_str()))?
            .map(|guard| guard.value().to_owned()))
    }

    /// The body of this tenant's user holding `user_name`, without its entity.
    pub(crate) fn user_body_by_name(
        &self,
        user_name: &UserName,
    ) -> Result<Option<ResourceBody>, StoreError> {
        self.own_user_id(user_name)?
            .map_or(Ok(None), |id| self.body(ResourceKind::User, id.as_str()))
    }

    /// This tenant's user holding `user_name`: its id and its row as stored text.
    pub(crate) fn user_row_by_name(
        &self,
        user_name: &UserName,
    ) -> Result<Option<(ResourceId, RawRow)>, StoreError> {
        let Some(id) = self.own_user_id(user_name)? else {
            return Ok(None);
        };
        Ok(self
            .resource_row(ResourceKind::User, id.as_str())?
            .map(|row| (id, row)))
    }

    /// The body of the resource of `kind` with this externalId, without its entity.
    pub(crate) fn body_by_external_id(
        &self,
        kind: ResourceKind,
        external_id: &str,
    ) -> Result<Option<ResourceBody>, StoreError> {
        self.id_by_external_id(kind, external_id)?
            .map_or(Ok(None), |id| self.body(kind, &id))
    }

    /// The body of the group with this displayName, without its entity.
    pub(crate) fn group_body_by_name(
        &self,
        name: &str,
    ) -> Result<Option<ResourceBody>, StoreError> {
        self.group_id_by_name(name)?
            .map_or(Ok(None), |id| self.body(ResourceKind::Group, &id))
    }

    fn body(&self, kind: ResourceKind, id: &str) -> Result<Option<ResourceBody>, StoreError> {
        Ok(self
            .resource_body(kind, id)?
            .map(|(body, meta)| ResourceBody {
                kind,
                id: ResourceId::new(id),
                body,
                meta,
            }))
    }

    /// Bodies of a kind in id order, skipping `skip`, at most `count` (no entities).
    pub(crate) fn bodies(
        &self,
        kind: ResourceKind,
        skip: usize,
        count: usize,
    ) -> Result<Vec<ResourceBody>, StoreError> {
        Ok(self
            .rows(kind, None, skip, count)?
            .into_iter()
            .map(|(id, row)| ResourceBody {
                kind,
                id: ResourceId::new(id),
                body: row.body,
                meta: row.meta,
            })
            .collect())
    }

    pub(crate) fn by_user_name(
        &self,
        user_name: &UserName,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.own_user_id(user_name)?.map_or(Ok(None), |id| {
            self.resource(ResourceKind::User, id.as_str())
        })
    }

    /// Whether `user` is a member of `group`, read from the user's side (its groups, a
    /// handful) so that the cost does not grow with the group.
    pub(crate) fn is_member(&self, group: &str, user: &str) -> Result<bool, StoreError> {
        let table = self.txn.multimap(MEMBER_OF)?;
        for value in table.get((self.tenant, user))? {
            if value?.value() == group {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn members_of(&self, group: &str) -> Result<Vec<ResourceId>, StoreError> {
        self.linked(MEMBERS, group)
    }

    pub(crate) fn groups_of(&self, user: &str) -> Result<Vec<ResourceId>, StoreError> {
        self.linked(MEMBER_OF, user)
    }

    /// The ids a membership table ([`MEMBERS`] or [`MEMBER_OF`]) holds for `id`, in order.
    fn linked(
        &self,
        table: MultimapTableDefinition<(&str, &str), &str>,
        id: &str,
    ) -> Result<Vec<ResourceId>, StoreError> {
        let table = self.txn.multimap(table)?;
        let mut ids = Vec::new();
        for value in table.get((self.tenant, id))? {
            ids.push(ResourceId::new(value?.value()));
        }
        Ok(ids)
    }

    /// A group's `displayName` (when it is a string), read without building the rest of
    /// its body: each group a User's representation names.
    pub(crate) fn group_display_name(&self, id: &str) -> Result<Option<String>, StoreError> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(rename = "displayName")]
            display_name: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Row {
            body: Named,
        }
        let table = self.txn.table(RESOURCES)?;
        let Some(guard) = table.get((self.tenant, ResourceKind::Group.as_str(), id))? else {
            return Ok(None);
        };
        let row = decode::<Row>("resources", guard.value())?;
        Ok(row
            .body
            .display_name
            .and_then(|name| name.as_str().map(str::to_owned)))
    }

    pub(crate) fn pending_refs(
        &self,
        entity: &EntityType,
        keys: &[&str],
    ) -> Result<Vec<PendingRef>, StoreError> {
        let table = self.txn.multimap(PENDING)?;
        let mut refs = Vec::new();
        for key in keys {
            let folded = fold(key);
            for value in table.get((self.tenant, entity.as_str(), folded.as_str()))? {
                let guard = value?;
                let (user_id, field, key) = guard.value();
                refs.push(PendingRef {
                    user_id: ResourceId::new(user_id),
                    field: FieldName::new(field),
                    entity: entity.clone(),
                    key: key.to_owned(),
                });
            }
        }
        refs.sort();
        refs.dedup();
        Ok(refs)
    }

    pub(crate) fn pending_of(&self, user_id: &str) -> Result<Vec<PendingRef>, StoreError> {
        let table = self.txn.multimap(PENDING)?;
        let mut refs = Vec::new();
        for item in table.range((self.tenant, "", "")..)? {
            let (key, values) = item?;
            let (tenant, entity, _) = key.value();
            if tenant != self.tenant {
                break;
            }
            for value in values {
                let guard = value?;
                let (waiting, field, key) = guard.value();
                if waiting == user_id {
                    refs.push(PendingRef {
                        user_id: ResourceId::new(waiting),
                        field: FieldName::new(field),
                        entity: EntityType::new(entity),
                        key: key.to_owned(),
                    });
                }
            }
        }
        refs.sort();
        Ok(refs)
    }

    pub(crate) fn count(&self, kind: ResourceKind) -> Result<u64, StoreError> {
        let table = self.txn.table(RESOURCE_COUNTS)?;
        Ok(table
            .get((self.tenant, kind.as_str()))?
            .map_or(0, |g| g.value()))
    }

    /// Visits the resources of a kind in id order, starting after `after` (exclusive) or at
    /// the first; stops when `visit` returns false.
    fn scan(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        mut visit: impl FnMut(&str, &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let table = self.txn.table(RESOURCES)?;
        let start = (self.tenant, kind.as_str(), after.unwrap_or(""));
        for item in table.range(start..)? {
            let (key, value) = item?;
            let (tenant, k, id) = key.value();
            if tenant != self.tenant || k != kind.as_str() {
                break;
            }
            if after.is_some_and(|a| a == id) {
                continue;
            }
            if !visit(id, value.value())? {
                break;
            }
        }
        Ok(())
    }

    pub(crate) fn list_ids(&self, kind: ResourceKind) -> Result<Vec<ResourceId>, StoreError> {
        let mut ids = Vec::new();
        self.scan(kind, None, |id, _| {
            ids.push(ResourceId::new(id));
            Ok(true)
        })?;
        Ok(ids)
    }

    /// Rows of a kind in id order after `after` (exclusive) or from the first, skipping
    /// `skip` (stepped over, not decoded), at most `count`.
    fn rows(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        skip: usize,
        count: usize,
    ) -> Result<Vec<(String, ResourceRow)>, StoreError> {
        let mut rows = Vec::new();
        let mut skipped = 0;
        if count > 0 {
            self.scan(kind, after, |id, bytes| {
                if skipped < skip {
                    skipped += 1;
                    return Ok(true);
                }
                rows.push((id.to_owned(), decode::<ResourceRow>("resources", bytes)?));
                Ok(rows.len() < count)
            })?;
        }
        Ok(rows)
    }

    fn collect_rows(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        skip: usize,
        count: usize,
    ) -> Result<Vec<StoredResource>, StoreError> {
        self.rows(kind, after, skip, count)?
            .into_iter()
            .map(|(id, row)| self.join(kind, &id, row))
            .collect()
    }

    pub(crate) fn page(
        &self,
        kind: ResourceKind,
        start_index: usize,
        count: usize,
    ) -> Result<Vec<StoredResource>, StoreError> {
        self.collect_rows(kind, None, start_index.saturating_sub(1), count)
    }

    pub(crate) fn page_after(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<StoredResource>, StoreError> {
        self.collect_rows(kind, after, 0, count)
    }

    pub(crate) fn resources(&self, kind: ResourceKind) -> Result<Vec<StoredResource>, StoreError> {
        self.collect_rows(kind, None, 0, usize::MAX)
    }

    pub(crate) fn entities_of_type(
        &self,
        entity_type: &EntityType,
    ) -> Result<Vec<Entity>, StoreError> {
        let mut entities = Vec::new();
        each_of_tenant(&*self.txn.table(ENTITIES)?, self.tenant, |bytes| {
            let entity: Entity = decode("entities", bytes)?;
            if entity.entity_type == *entity_type {
                entities.push(entity);
            }
            Ok(())
        })?;
        Ok(entities)
    }

    pub(crate) fn outbox(&self) -> Result<Vec<(u64, Value)>, StoreError> {
        let table = self.txn.table(OUTBOX)?;
        let mut items = Vec::new();
        for item in table.range((self.tenant, 0)..=(self.tenant, u64::MAX))? {
            let (key, value) = item?;
            items.push((key.value().1, decode("outbox", value.value().as_bytes())?));
        }
        Ok(items)
    }
}

/// The last sequence number used in a `(tenant, seq)` table, 0 when empty.
pub(crate) fn last_seq<T, V>(table: &T, tenant: &str) -> Result<u64, StoreError>
where
    T: ReadableTable<(&'static str, u64), V>,
    V: RedbValue + 'static,
{
    Ok(
        match table.range((tenant, 0)..=(tenant, u64::MAX))?.next_back() {
            Some(item) => item?.0.value().1,
            None => 0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_too_deep_to_read_back_is_refused_at_write() {
        let mut value = serde_json::json!(1);
        for _ in 0..MAX_ROW_DEPTH {
            value = serde_json::json!([value]);
        }
        assert!(encode("t", &value).is_ok());
        let readable: Vec<u8> = encode("t", &value).unwrap_or_default();
        assert!(decode::<Value>("t", &readable).is_ok());
        let deeper = serde_json::json!([value]);
        assert!(matches!(
            encode("t", &deeper),
            Err(StoreError::TooDeep {
                limit: MAX_ROW_DEPTH,
                ..
            })
        ));
    }
}
