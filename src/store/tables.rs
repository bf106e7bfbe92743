//! Table definitions. Every per-tenant key starts with the tenant name, so a tenant's rows
//! are one contiguous key range and no query can step into another tenant's range.
//!
//! Values are JSON bytes unless noted; index values are plain ids.

use redb::{MultimapTableDefinition, TableDefinition};

/// `tenant -> TenantRecord`.
pub(crate) const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");

/// `sha256(key) -> KeyRecord`. The key itself is never stored.
pub(crate) const KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("api_keys");

/// `(tenant, key_id) -> sha256(key)`, to list and revoke a tenant's keys by id.
pub(crate) const KEY_IDS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("api_key_ids");

/// `(tenant, kind, id) -> ResourceRow` (body and meta; the entity lives in [`ENTITIES`]).
pub(crate) const RESOURCES: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("resources");

/// `(tenant, kind) -> number of resources`, so `totalResults` costs one read.
pub(crate) const RESOURCE_COUNTS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("resource_counts");

/// `(tenant, id) -> Entity`.
pub(crate) const ENTITIES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("entities");

/// GLOBAL: `lower(userName) -> (tenant, id)`. userName is unique across tenants.
pub(crate) const USER_NAMES: TableDefinition<&str, (&str, &str)> =
    TableDefinition::new("user_names");

/// `(tenant, kind, externalId) -> id`.
pub(crate) const EXTERNAL_IDS: TableDefinition<(&str, &str, &str), &str> =
    TableDefinition::new("external_ids");

/// `(tenant, lower(displayName)) -> group id`.
pub(crate) const GROUP_NAMES: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("group_names");

/// `(tenant, entity_type, field, lower(value)) -> entity id`.
pub(crate) const UNIQUE_KEYS: TableDefinition<(&str, &str, &str, &str), &str> =
    TableDefinition::new("entity_unique_keys");

/// `(tenant, group) -> user`.
pub(crate) const MEMBERS: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("members");

/// `(tenant, user) -> group`.
pub(crate) const MEMBER_OF: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("member_of");

/// `(tenant, entity_type, lower(key)) -> (user_id, field, key as sent)`.
pub(crate) const PENDING: MultimapTableDefinition<(&str, &str, &str), (&str, &str, &str)> =
    MultimapTableDefinition::new("pending_refs");

/// `(tenant, seq) -> notification JSON`.
pub(crate) const OUTBOX: TableDefinition<(&str, u64), &str> = TableDefinition::new("outbox");

/// `(tenant, seq) -> HistoryRecord`, append-only.
pub(crate) const HISTORY: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("history");

/// `(tenant, seq) -> LogRecord`, append-only.
pub(crate) const LOG: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("provisioning_log");

/// `(tenant, version) -> overlay rules text`.
pub(crate) const OVERLAYS: TableDefinition<(&str, u64), &str> = TableDefinition::new("overlays");

/// `sha256(operator token) -> StoredOperator`. The token itself is never stored.
pub(crate) const OPERATORS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("operators");

/// `operator id -> sha256(token)`, to list and revoke operators by id.
pub(crate) const OPERATOR_IDS: TableDefinition<&str, &[u8]> = TableDefinition::new("operator_ids");

/// `seq -> AuditRecord`, append-only: every write made through the admin surface.
pub(crate) const ADMIN_AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("admin_audit");

/// `(tenant, version) -> {"author", "time"}`: who saved each overlay version, and when.
pub(crate) const OVERLAY_META: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("overlay_meta");

/// `(tenant, integration user) -> IntegrationUser`: each key's user and its role.
pub(crate) const INTEGRATION_USERS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("integration_users");

/// `(tenant, entity id) -> Argon2id hash (PHC string)` of a kept password (`password hash;`).
/// Write-only: no read path returns it; `TenantRead::password_matches` only compares.
pub(crate) const PASSWORD_HASHES: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("password_hashes");

/// `(tenant, entity_type, id) -> import time (RFC 3339)`: the pre-existing entities not yet
/// picked up (unmanaged, not deleted), which SCIM lists for an identity provider's import.
pub(crate) const UNMANAGED: TableDefinition<(&str, &str, &str), &str> =
    TableDefinition::new("unmanaged_entities");
