//! The admin operations on what keys may do: a tenant's edition and the roles of its
//! integration users. Names are checked against the profile's `editions` and `roles`;
//! every change is audited and applies from the key's next request.

use serde::Serialize;
use serde_json::json;

use super::service::{Admin, AdminError};
use crate::domain::{TenantId, Timestamp};
use crate::eval::access::{edition_name, role_name};
use crate::store::{OperatorRecord, TenantRecord};

/// An integration user as the admin surface shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationUserView {
    /// The user's name.
    pub user: String,
    /// Its role, as the profile spells it (the profile's default when it has none of its
    /// own).
    pub role: Option<String>,
    /// Whether the role is the profile's default because none was given.
    pub default_role: bool,
    /// Whether its keys may provision (edition aside).
    pub may_provision: bool,
    /// When its first key was created.
    pub created: Timestamp,
}

/// The editions and roles the profile declares, for forms: `(names, default)` each; empty
/// when the profile declares none.
#[derive(Debug, Clone, Default)]
pub struct AccessChoices {
    /// The editions, as the profile spells them.
    pub editions: Vec<String>,
    /// The edition a new tenant gets when none is chosen.
    pub default_edition: Option<String>,
    /// The roles, strongest first.
    pub roles: Vec<String>,
    /// The role a new integration user gets when none is chosen.
    pub default_role: Option<String>,
}

impl Admin {
    /// The editions and roles the profile declares.
    #[must_use]
    pub fn access_choices(&self) -> AccessChoices {
        let rules = &self.profiles.base().rules;
        let owned = |names: Vec<&str>| names.into_iter().map(str::to_owned).collect();
        AccessChoices {
            editions: rules
                .editions
                .as_ref()
                .map_or_else(Vec::new, |e| owned(e.names())),
            default_edition: rules.editions.as_ref().map(|e| e.default.clone()),
            roles: rules
                .roles
                .as_ref()
                .map_or_else(Vec::new, |r| owned(r.names())),
            default_role: rules.roles.as_ref().map(|r| r.default.clone()),
        }
    }

    /// `edition` checked against the profile (`None`: its default).
    pub(super) fn edition_name(&self, edition: Option<&str>) -> Result<Option<String>, AdminError> {
        edition_name(&self.profiles.base().rules, edition)
            .map_err(|e| AdminError::Invalid(e.to_string()))
    }

    /// `role` checked against the profile (`None` stays `None`).
    pub(super) fn role_name(&self, role: Option<&str>) -> Result<Option<String>, AdminError> {
        role_name(&self.profiles.base().rules, role).map_err(|e| AdminError::Invalid(e.to_string()))
    }

    /// One tenant's record.
    ///
    /// # Errors
    ///
    /// [`AdminError`]: another tenant, no such tenant, or the store failed.
    pub fn tenant(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
    ) -> Result<TenantRecord, AdminError> {
        Admin::reach(operator, tenant)?;
        Ok(self.store.tenant(tenant)?)
    }

    /// Changes a tenant's edition (all-tenants operators only: a tenant does not choose
    /// what it may do).
    ///
    /// # Errors
    ///
    /// [`AdminError`]: not an all-tenants operator, an edition the profile does not declare, no such tenant, or the store failed.
    pub fn set_edition(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        edition: &str,
    ) -> Result<TenantRecord, AdminError> {
        Admin::all_tenants(operator, "changing a tenant's edition")?;
        let edition = self
            .edition_name(Some(edition))?
            .unwrap_or_else(|| edition.trim().to_owned());
        let (before, after) = self.store.set_edition(tenant, &edition)?;
        self.audit(
            operator,
            "tenant.set_edition",
            Some(tenant),
            None,
            Some(json!({"edition": before.edition})),
            Some(json!({"edition": after.edition})),
        )?;
        Ok(after)
    }

    /// A tenant's integration users and their roles.
    ///
    /// # Errors
    ///
    /// [`AdminError`]: another tenant, no such tenant, or the store failed.
    pub fn integration_users(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
    ) -> Result<Vec<IntegrationUserView>, AdminError> {
        Admin::reach(operator, tenant)?;
        let rules = &self.profiles.base().rules;
        Ok(self
            .store
            .list_users(tenant)?
            .into_iter()
            .map(|u| {
                let default = rules.roles.as_ref().map(|r| r.default.clone());
                let role = u.role.clone().or_else(|| default.clone());
                let may_provision = rules
                    .roles
                    .as_ref()
                    .is_none_or(|r| role.as_deref().is_some_and(|n| r.may_provision(n)));
                IntegrationUserView {
                    user: u.user,
                    default_role: u.role.is_none() && default.is_some(),
                    role,
                    may_provision,
                    created: u.created,
                }
            })
            .collect())
    }

    /// Changes an integration user's role.
    ///
    /// # Errors
    ///
    /// [`AdminError`]: another tenant, a role the profile does not declare, no such tenant or user, or the store failed.
    pub fn set_role(
        &self,
        operator: &OperatorRecord,
        tenant: &TenantId,
        user: &str,
        role: &str,
    ) -> Result<IntegrationUserView, AdminError> {
        Admin::reach(operator, tenant)?;
        let role = self
            .role_name(Some(role))?
            .unwrap_or_else(|| role.trim().to_owned());
        let (before, after) = self.store.set_role(tenant, user, &role)?;
        self.audit(
            operator,
            "user.set_role",
            Some(tenant),
            Some(user.to_owned()),
            Some(json!({"role": before.role})),
            Some(json!({"role": after.role})),
        )?;
        self.integration_users(operator, tenant)?
            .into_iter()
            .find(|u| u.user == user)
            .ok_or_else(|| {
                AdminError::NotFound(format!(
                    "tenant `{tenant}` has no integration user `{user}`"
                ))
            })
    }
}
