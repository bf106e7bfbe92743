//! The operator's operations, one function each, authorised and audited in one place. The
//! JSON API and the page are thin views over these; neither does anything on its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::check::RulesDiagnostic;
use crate::domain::{
    Entity, FieldName, FieldValue, PendingRef, Recorder, ResourceId, ResourceKind, SequentialIds,
    StoredResource, TenantId, Timestamp,
};
use crate::eval::{self, Plan};
use crate::pipeline::{Profiles, overlay_file_name};
use crate::scim::op::ScimOp;
use crate::scim::route::route_path;
use crate::store::{
    AuditRecord, HistoryRecord, ImportSummary, KeyRecord, LogRecord, OperatorRecord, OperatorScope,
    OverlayVersion, Page, PageQuery, Store, StoreError, TenantRecord,
};

/// Why an admin operation did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The operator may not reach this (another tenant, or an all-tenants action).
    #[error("{0}")]
    Forbidden(String),
    /// No such tenant, key, entity or version.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or names something invalid.
    #[error("{0}")]
    Invalid(String),
    /// Rules that do not check; every diagnostic is here.
    #[error("the overlay does not check ({} diagnostics); nothing was saved", .0.len())]
    Rules(Vec<RulesDiagnostic>),
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> AdminError {
        match err {
            StoreError::UnknownTenant(name) => {
                AdminError::NotFound(format!("there is no tenant `{name}`"))
            }
            StoreError::UnknownKey(id) => AdminError::NotFound(format!("there is no `{id}`")),
            StoreError::TenantExists(name) => {
                AdminError::Invalid(format!("tenant `{name}` already exists"))
            }
            StoreError::InvalidTenantName(name) => AdminError::Invalid(format!(
                "invalid tenant name `{name}`: use 1 to 64 letters, digits, `_` or `-`"
            )),
            StoreError::Import(detail) => AdminError::Invalid(detail),
            err @ StoreError::UnknownUser { .. } => AdminError::NotFound(err.to_string()),
            other => AdminError::Store(other),
        }
    }
}

/// The admin surface's state: the store and the live rules of every tenant.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The database.
    pub store: Store,
    /// Every tenant's rules; an overlay saved here is used from the tenant's next operation.
    pub profiles: Arc<Profiles>,
}

/// A key just created: its record, and the key itself (shown this once).
#[derive(Debug, Clone, Serialize)]
pub struct CreatedKey {
    /// The key's id.
    pub key_id: String,
    /// The key; only its hash is kept.
    pub key: String,
}

/// A tenant's overlay: the version in use and its text.
#[derive(Debug, Clone, Serialize)]
pub struct OverlayView {
    /// The latest saved version (0: never saved).
    pub version: u64,
    /// Its text (empty: the defaults).
    pub text: String,
    /// Every saved version, oldest first, with who and when.
    pub versions: Vec<OverlayVersion>,
}

/// The Clarizen side of one user or group: its fields, each with the rule or hook that
/// set it last, its groups or members, and what waits for it.
#[derive(Debug, Clone, Serialize)]
pub struct EntityView {
    /// The entity.
    pub entity: Entity,
    /// Its SCIM resource, when provisioned.
    pub resource: Option<Value>,
    /// For each field: its value as text (a reference shown by name) and where it came from.
    pub fields: Vec<FieldView>,
    /// A user's groups, or a group's members: `(id, name)`.
    pub related: Vec<(ResourceId, String)>,
    /// References this entity waits for (a manager not provisioned yet).
    pub pending: Vec<PendingRef>,
}

/// One field of an [`EntityView`].
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    /// Field name.
    pub field: FieldName,
    /// The value as a person reads it (a reference by the referred entity's name).
    pub value: String,
    /// The rule `file:line` or hook that set it last, when history knows.
    pub rule: Option<String>,
    /// When, and by which integration user.
    pub time: Option<Timestamp>,
    /// The integration user.
    pub actor: Option<String>,
}

/// What a rules change would do to the tenant's stored users.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Users looked at.
    pub users: usize,
    /// Users whose Clarizen fields would change.
    pub changed: usize,
    /// Per field, how many users it would change for.
    pub fields: BTreeMap<String, usize>,
    /// A few examples: userName and the writes.
    pub examples: Vec<PreviewExample>,
    /// Users the new rules would refuse or fail on, with why.
    pub failures: Vec<(String, String)>,
}

/// One user's changes in a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewExample {
    /// The userName.
    pub user_name: String,
    /// `field: before -> after`.
    pub changes: Vec<String>,
}

/// How many examples a preview shows.
const PREVIEW_EXAMPLES: usize = 5;

impl Admin {
    pub(super) fn reach(operator: &OperatorRecord, tenant: &TenantId) -> Result<(), AdminError> {
        if operator.scope.reaches(tenant) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(format!(
                "operator `{}` may not reach tenant `{tenant}`",
                operator.name
            )))
        }
    }

    pub(super) fn all_tenants(operator: &OperatorRecord, what: &str) -> Result<(), AdminError> {
        match operator.scope {
            OperatorScope::All => Ok(()),
            OperatorScope::Tenant(_) => Err(AdminError::Forbidden(format!(
                "{what} needs an all-tenants operator; `{}` is scoped to one tenant",
                operator.name
            ))),
        }
    }

    pub(super) fn audit(
        &self,
        operator: &OperatorRecord,
        action: &str,
        tenant: Option<&TenantId>,
        target: Option<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), AdminError> {
        self.store.append_audit(AuditRecord {
            seq: 0,
            time: Timestamp::EPOCH,
            operator: format!("{} ({})", operator.name, operator.id),
            action: action.to_owned(),
            tenant: tenant.cloned(),
            target,
            before,
            after,
        })?;
        Ok(())
    }

    // ---- tenants, keys, operators ----

    /// The tenants the operator reaches.
    pub fn tenants(&self, operator: &OperatorRecord) -> Result<Vec<TenantRecord>, AdminError> {
        Ok(self
            .store
            .list_tenants()?
            .into_iter()
            .filter(|t| operator.scope.reaches(&t.name))
            .collect())
    }

    /// Creates a tenant on `edition` (`None`: the profile's default edition; all-tenants
    /// operators only).
    pub fn create_tenant(
        &self,
        operator: &OperatorRecord,
        name: &str,
        edition: Option<&str>,
    ) -> Result<TenantRecord, AdminError> {
        Admin::all_tenants(operator, "creating a tenant")?;
        let edition = self.edition_name(edition)?;
        let record = self.store.create_tenant_with(name, edition.as_deref())?;
        self.audit(
            operator,
            "tenant.create",
            Some(&record.name),
            None,
            None,
            Some(json!(record)),
        )?;
        Ok(record)
    }

    /// A tenant's keys (never the keys).
    pub fn keys(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
    ) -> Result<Vec<KeyRecord>, AdminError> {
        Admin::reach(operator, tenant)?;
        Ok(self.store.list_keys(tenant)?)
    }

    /// Creates a key for an integration user (with `role`, or keeping its role; a new user
    /// without one gets the profile's default); the key is in the answer, once.
    pub fn create_key(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        user: &str,
        role: Option<&str>,
    ) -> Result<CreatedKey, AdminError> {
        Admin::reach(operator, tenant)?;
        let user = user.trim();
        if user.is_empty() || user.chars().any(char::is_control) {
            return Err(AdminError::Invalid(
                "the integration user must be a non-empty name without control characters".into(),
            ));
        }
        let role = self.role_name(role)?;
        let (key_id, key) = self
            .store
            .create_key_with_role(tenant, user, role.as_deref())?;
        self.audit(
            operator,
            "key.create",
            Some(tenant),
            Some(key_id.clone()),
            None,
            Some(json!({"key_id": key_id, "user": user, "role": role})),
        )?;
        Ok(CreatedKey { key_id, key })
    }

    /// Revokes a key; it is refused from the next request on.
    pub fn revoke_key(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        key_id: &str,
    ) -> Result<(), AdminError> {
        Admin::reach(operator, tenant)?;
        let before = self
            .store
            .list_keys(tenant)?
            .into_iter()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| {
                AdminError::NotFound(format!("tenant `{tenant}` has no key `{key_id}`"))
            })?;
        self.store.revoke_key(tenant, key_id)?;
        self.audit(
            operator,
            "key.revoke",
            Some(tenant),
            Some(key_id.to_owned()),
            Some(json!({"revoked": before.revoked})),
            Some(json!({"revoked": true})),
        )
    }

    /// Every operator (all-tenants operators only).
    pub fn operators(&self, operator: &OperatorRecord) -> Result<Vec<OperatorRecord>, AdminError> {
        Admin::all_tenants(operator, "listing operators")?;
        Ok(self.store.list_operators()?)
    }

    /// Creates an operator (all-tenants operators only); its token is in the answer, once.
    pub fn create_operator(
        &self,
        operator: &OperatorRecord,
        name: &str,
        scope: OperatorScope,
    ) -> Result<(OperatorRecord, String), AdminError> {
        Admin::all_tenants(operator, "creating an operator")?;
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(AdminError::Invalid(
                "an operator needs a name without control characters".into(),
            ));
        }
        let (record, token) = self.store.create_operator(name.trim(), scope)?;
        self.audit(
            operator,
            "operator.create",
            None,
            Some(record.id.clone()),
            None,
            Some(json!(record)),
        )?;
        Ok((record, token))
    }

    /// Revokes an operator (all-tenants operators only).
    pub fn revoke_operator(
        &self,
        operator: &OperatorRecord,
        id: &str,
    ) -> Result<OperatorRecord, AdminError> {
        Admin::all_tenants(operator, "revoking an operator")?;
        let record = self.store.revoke_operator(id)?;
        self.audit(
            operator,
            "operator.revoke",
            None,
            Some(id.to_owned()),
            None,
            Some(json!(record)),
        )?;
        Ok(record)
    }

    /// The admin audit log: all of it for an all-tenants operator, else the tenant's.
    pub fn audit_log(
        &self,
        operator: &OperatorRecord,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<AuditRecord>, AdminError> {
        let tenant = match &operator.scope {
            OperatorScope::All => None,
            OperatorScope::Tenant(tenant) => Some(tenant),
        };
        Ok(self.store.audit(tenant, before, limit)?)
    }

    // ---- overlays ----

    /// A tenant's overlay and its versions.
    pub fn overlay(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
    ) -> Result<OverlayView, AdminError> {
        Admin::reach(operator, tenant)?;
        let (version, text) = self.store.overlay(tenant)?.unwrap_or_default();
        Ok(OverlayView {
            version,
            text,
            versions: self.store.overlay_versions(tenant)?,
        })
    }

    /// Checks an overlay text against the profile, saving nothing: every diagnostic.
    pub fn check_overlay(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        text: &str,
    ) -> Result<Vec<RulesDiagnostic>, AdminError> {
        Admin::reach(operator, tenant)?;
        let next = self.store.overlay(tenant)?.map_or(1, |(v, _)| v + 1);
        Ok(self
            .profiles
            .check_overlay(&overlay_file_name(next), text)
            .diagnostics)
    }

    /// Saves an overlay as the tenant's next version and applies it to its next operation;
    /// refused with every diagnostic, saving nothing, when it does not check. Empty text
    /// restores the defaults.
    pub fn save_overlay(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        text: &str,
    ) -> Result<u64, AdminError> {
        Admin::reach(operator, tenant)?;
        let previous = self.store.overlay(tenant)?;
        let next = previous.as_ref().map_or(1, |(v, _)| v + 1);
        let report = self.profiles.check_overlay(&overlay_file_name(next), text);
        if report.rules.is_none() {
            return Err(AdminError::Rules(report.diagnostics));
        }
        let author = format!("{} ({})", operator.name, operator.id);
        let version = self.store.save_overlay(tenant, text, &author)?;
        self.profiles
            .apply_overlay(tenant, version, text)
            .map_err(|refused| AdminError::Rules(refused.diagnostics))?;
        self.audit(
            operator,
            if text.trim().is_empty() {
                "overlay.restore_defaults"
            } else {
                "overlay.save"
            },
            Some(tenant),
            Some(format!("v{version}")),
            previous.map(|(v, t)| json!({"version": v, "text": t})),
            Some(json!({"version": version, "text": text})),
        )?;
        Ok(version)
    }

    /// Saves the text of an earlier version as the next version.
    pub fn restore_overlay(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        version: u64,
    ) -> Result<u64, AdminError> {
        Admin::reach(operator, tenant)?;
        let text = self
            .store
            .overlays(tenant)?
            .into_iter()
            .find(|(v, _)| *v == version)
            .map(|(_, text)| text)
            .ok_or_else(|| {
                AdminError::NotFound(format!("tenant `{tenant}` has no overlay v{version}"))
            })?;
        self.save_overlay(operator, tenant, &text)
    }

    // ---- history, log, entities ----

    /// A page of the tenant's change history, newest first.
    pub fn history(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        query: &PageQuery,
    ) -> Result<Page<HistoryRecord>, AdminError> {
        Admin::reach(operator, tenant)?;
        Ok(self.store.history_page(tenant, query)?)
    }

    /// A page of the tenant's provisioning log, newest first.
    pub fn log(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        query: &PageQuery,
    ) -> Result<Page<LogRecord>, AdminError> {
        Admin::reach(operator, tenant)?;
        Ok(self.store.log_page(tenant, query)?)
    }

    /// Users or groups whose userName or displayName contains `text` (case-insensitive),
    /// provisioned ones first, then pre-existing (unmanaged) ones; at most `limit`.
    pub fn search(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        kind: ResourceKind,
        text: &str,
        limit: usize,
    ) -> Result<Vec<(ResourceId, String, bool)>, AdminError> {
        Admin::reach(operator, tenant)?;
        let wanted = text.trim().to_lowercase();
        let read = self.store.read(tenant)?;
        let key = match kind {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        };
        let mut found = Vec::new();
        for resource in read.resources(kind)? {
            let name = resource
                .body
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name.to_lowercase().contains(&wanted) {
                found.push((resource.entity.id.clone(), name.to_owned(), true));
            }
        }
        let entity_type = self
            .profiles
            .base()
            .rules
            .entity_of(kind)
            .map(|d| d.name.clone());
        let field = match kind {
            ResourceKind::User => "UserName",
            ResourceKind::Group => "Name",
        };
        if let Some(entity_type) = entity_type {
            for entity in read.entities_of_type(&entity_type.as_str().into())? {
                if entity.managed || entity.lifecycle == crate::domain::Lifecycle::Deleted {
                    continue;
                }
                let name = entity
                    .field(field)
                    .map(FieldValue::display)
                    .unwrap_or_default();
                if name.to_lowercase().contains(&wanted) {
                    found.push((entity.id.clone(), name, false));
                }
            }
        }
        found.truncate(limit.clamp(1, 1000));
        Ok(found)
    }

    /// The Clarizen side of one entity, with where each field came from.
    pub fn entity(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> Result<EntityView, AdminError> {
        Admin::reach(operator, tenant)?;
        let read = self.store.read(tenant)?;
        let entity = read
            .get_entity(id)?
            .ok_or_else(|| AdminError::NotFound(format!("tenant `{tenant}` has no entity {id}")))?;
        let kind = ResourceKind::parse(entity.entity_type.as_str());
        let resource: Option<StoredResource> = match kind {
            Some(kind) => read.get_resource(kind, id)?,
            None => None,
        };
        let mut last: BTreeMap<String, HistoryRecord> = BTreeMap::new();
        for record in self.store.history(tenant, None)? {
            if record.entity_id == *id {
                last.insert(record.field.clone(), record);
            }
        }
        let mut fields = Vec::new();
        for (field, value) in &entity.fields {
            let shown = match value {
                FieldValue::Ref { id: target, .. } => match read.get_entity(target)? {
                    Some(target) => name_of(&target).unwrap_or_else(|| target.id.to_string()),
                    None => format!("{target} (missing)"),
                },
                other => other.display(),
            };
            let origin = last.get(field.as_str());
            fields.push(FieldView {
                field: field.clone(),
                value: shown,
                rule: origin.map(|r| r.rule.clone()),
                time: origin.map(|r| r.time),
                actor: origin.map(|r| r.actor.clone()),
            });
        }
        let related_ids = match kind {
            Some(ResourceKind::User) => read.groups_of(id)?,
            Some(ResourceKind::Group) => read.members_of(id)?,
            None => Vec::new(),
        };
        let mut related = Vec::new();
        for other in related_ids {
            let name = read
                .get_entity(&other)?
                .and_then(|e| name_of(&e))
                .unwrap_or_else(|| other.to_string());
            related.push((other, name));
        }
        let pending = read.pending_of(id)?;
        Ok(EntityView {
            entity,
            resource: resource.map(|r| r.body),
            fields,
            related,
            pending,
        })
    }

    /// The names entities are known by (a user's `UserName`, a group's or `JobTitle`'s `Name`),
    /// to show references by name; an id the tenant does not hold, or an entity without a
    /// name, is left out.
    ///
    /// # Errors
    ///
    /// [`AdminError::Forbidden`] for a tenant the operator does not reach; a store error.
    pub fn names(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        ids: &std::collections::BTreeSet<ResourceId>,
    ) -> Result<BTreeMap<ResourceId, String>, AdminError> {
        Admin::reach(operator, tenant)?;
        let read = self.store.read(tenant)?;
        let mut names = BTreeMap::new();
        for id in ids {
            if let Some(name) = read.get_entity(id)?.as_ref().and_then(name_of) {
                names.insert(id.clone(), name);
            }
        }
        Ok(names)
    }

    /// Imports pre-existing entities from a JSON or CSV import file's text.
    pub fn import(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        text: &str,
    ) -> Result<ImportSummary, AdminError> {
        Admin::reach(operator, tenant)?;
        let records =
            crate::import::parse_import(text).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let summary = self.store.import_entities(tenant, &records)?;
        self.audit(
            operator,
            "entities.import",
            Some(tenant),
            None,
            None,
            Some(json!({"users": summary.count("User"), "groups": summary.count("Group")})),
        )?;
        Ok(summary)
    }

    // ---- explain and preview ----

    /// What one SCIM write request would do to the live state, without applying it. The
    /// request is `{"method", "path", "body"}`, as for `provisio explain`.
    pub fn explain(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        request: &Value,
    ) -> Result<Plan, AdminError> {
        Admin::reach(operator, tenant)?;
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = request
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let route = route_path(method, path).map_err(|e| AdminError::Invalid(e.to_string()))?;
        if !route.is_write() {
            return Err(AdminError::Invalid(format!(
                "{method} {path} is not a SCIM write; explain takes POST, PUT, PATCH or DELETE on /Users or /Groups"
            )));
        }
        let op = ScimOp::from_route(&route, request.get("body").cloned())
            .map_err(|e| AdminError::Invalid(e.detail))?;
        let read = self.store.read(tenant)?;
        let profile = self.profiles.for_tenant(tenant);
        eval::plan(&profile.rules, &op, &read, &SequentialIds::new("new-"))
            .map_err(|e| AdminError::Invalid(e.to_scim().detail))
    }

    /// What overlay `text` would change for the tenant's stored users: each user's stored
    /// resource is planned as a PUT of itself under the new rules, against the live state,
    /// and nothing is written.
    pub fn preview(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        text: &str,
    ) -> Result<Preview, AdminError> {
        Admin::reach(operator, tenant)?;
        let report = self.profiles.check_overlay("preview.rules", text);
        let rules = report.rules.ok_or(AdminError::Rules(report.diagnostics))?;
        let read = self.store.read(tenant)?;
        let mut preview = Preview::default();
        for resource in read.resources(ResourceKind::User)? {
            preview.users += 1;
            let user_name = resource
                .body
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let op = ScimOp::from_route(
                &crate::scim::route::Route::Replace(ResourceKind::User, resource.entity.id.clone()),
                Some(resource.body.clone()),
            );
            let recorder = Recorder::new(&read);
            let plan = op.map_err(|e| e.detail).and_then(|op| {
                eval::plan(&rules, &op, &recorder, &SequentialIds::new("preview-"))
                    .map_err(|e| e.to_scim().detail)
            });
            let plan = match plan {
                Ok(plan) if plan.is_rejected() => {
                    let detail = plan.rejection.map(|r| r.detail).unwrap_or_default();
                    preview.failures.push((user_name, detail));
                    continue;
                }
                Ok(plan) => plan,
                Err(detail) => {
                    preview.failures.push((user_name, detail));
                    continue;
                }
            };
            let own: Vec<_> = plan
                .writes
                .iter()
                .filter(|w| w.entity == plan.entity)
                .collect();
            if own.is_empty() {
                continue;
            }
            preview.changed += 1;
            for write in &own {
                *preview.fields.entry(write.field.to_string()).or_default() += 1;
            }
            if preview.examples.len() < PREVIEW_EXAMPLES {
                preview.examples.push(PreviewExample {
                    user_name,
                    changes: own
                        .iter()
                        .map(|w| {
                            format!(
                                "{}: {} -> {}",
                                w.field,
                                w.before
                                    .as_ref()
                                    .map_or("(empty)".into(), FieldValue::display),
                                w.after
                                    .as_ref()
                                    .map_or("(empty)".into(), FieldValue::display)
                            )
                        })
                        .collect(),
                });
            }
        }
        Ok(preview)
    }
}

/// The name an entity is known by (its `UserName` or Name field).
fn name_of(entity: &Entity) -> Option<String> {
    ["UserName", "Name"]
        .iter()
        .find_map(|f| entity.field(f))
        .map(FieldValue::display)
}
