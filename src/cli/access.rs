//! The commands about what keys may do: a tenant's edition (`tenant set`) and the roles of
//! integration users (`user role`, `user list`). Names are checked against the profile's
//! `editions` and `roles`; the change applies from the key's next request.

use std::collections::BTreeMap;
use std::process::ExitCode;

use provisio::check::CheckedRules;
use provisio::domain::TenantId;
use provisio::eval::access::{UnknownName, edition_name, role_name, shown};
use provisio::store::Store;

use serde_json::{Value, json};

use super::admin::{CliError, Db, open, render_table, run};
use crate::cli::output::{print_block, say};
use crate::{KeyListArgs, ProfileArgs, TenantSetArgs, UserRoleArgs};

impl ProfileArgs {
    /// The checked profile whose editions and roles apply (as for `serve`).
    pub(super) fn checked(&self) -> Result<CheckedRules, CliError> {
        super::load_rules(self.rules.as_deref(), None)
            .map(|(rules, _)| rules)
            .map_err(|e| CliError::Message(e.to_string()))
    }
}

/// `given` checked against the profile's editions or roles (`check`: [`edition_name`] or
/// [`role_name`]), as the profile spells it.
fn declared(
    rules: &CheckedRules,
    check: fn(&CheckedRules, Option<&str>) -> Result<Option<String>, UnknownName>,
    given: &str,
) -> Result<String, CliError> {
    Ok(check(rules, Some(given))
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| given.to_owned()))
}

/// Each integration user's role as shown: its own, or the profile's default.
pub(super) fn roles_by_user(
    store: &Store,
    rules: &CheckedRules,
    tenant: &TenantId,
) -> Result<BTreeMap<String, String>, CliError> {
    let default = rules.roles.as_ref().map(|r| r.default.as_str());
    Ok(store
        .list_users(tenant)?
        .into_iter()
        .map(|u| (u.user, shown(u.role.as_deref(), default)))
        .collect())
}

/// One integration user's role as shown.
pub(super) fn role_of(
    store: &Store,
    rules: &CheckedRules,
    tenant: &TenantId,
    user: &str,
) -> Result<String, CliError> {
    Ok(roles_by_user(store, rules, tenant)?
        .remove(user)
        .unwrap_or_else(|| "-".to_owned()))
}

/// `provisio tenant set NAME --edition EDITION`
pub fn tenant_set(args: &TenantSetArgs) -> ExitCode {
    run("tenant set", || {
        let rules = args.profile.checked()?;
        let edition = declared(&rules, edition_name, &args.edition)?;
        let default = rules.editions.as_ref().map(|e| e.default.as_str());
        let after_edition = match open(&args.db, false)? {
            Db::Local(store) => {
                let (before, after) = store.set_edition(&args.name, &edition)?;
                say!(
                    "tenant `{}`: edition {} -> {}",
                    after.name,
                    shown(before.edition.as_deref(), default),
                    shown(after.edition.as_deref(), default)
                );
                after.edition
            }
            Db::Remote(api) => {
                let after: Value = api.call(
                    "PATCH",
                    &format!("/tenants/{}", args.name),
                    Some(json!({"edition": edition}).to_string().into_bytes()),
                )?;
                let edition = after["edition"].as_str().map(str::to_owned);
                say!(
                    "tenant `{}`: edition {} (on the running server; from the next request)",
                    args.name,
                    shown(edition.as_deref(), default)
                );
                edition
            }
        };
        if let Err(refused) =
            provisio::eval::access::admit(&rules, after_edition.as_deref(), "", None)
        {
            say!("note: {refused}");
        }
        Ok(())
    })
}

/// `provisio user role --tenant T USER ROLE`
pub fn user_role(args: &UserRoleArgs) -> ExitCode {
    run("user role", || {
        let rules = args.profile.checked()?;
        let role = declared(&rules, role_name, &args.role)?;
        let default = rules.roles.as_ref().map(|r| r.default.as_str());
        match open(&args.db, false)? {
            Db::Local(store) => {
                let (before, after) = store.set_role(&args.tenant, &args.user, &role)?;
                say!(
                    "integration user `{}` of tenant `{}`: role {} -> {}",
                    after.user,
                    args.tenant,
                    shown(before.role.as_deref(), default),
                    shown(after.role.as_deref(), default)
                );
            }
            Db::Remote(api) => {
                let _: Value = api.call(
                    "PUT",
                    &format!(
                        "/tenants/{}/integration-users/{}",
                        args.tenant,
                        percent_encoding::utf8_percent_encode(
                            &args.user,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    Some(json!({"role": role}).to_string().into_bytes()),
                )?;
                say!(
                    "integration user `{}` of tenant `{}`: role {} (on the running server; from the next request)",
                    args.user,
                    args.tenant,
                    shown(Some(&role), default)
                );
            }
        }
        Ok(())
    })
}

/// `provisio user list --tenant T`
pub fn user_list(args: &KeyListArgs) -> ExitCode {
    run("user list", || {
        let rules = args.profile.checked()?;
        let default = rules.roles.as_ref().map(|r| r.default.as_str());
        let users: Vec<provisio::store::IntegrationUser> = match open(&args.db, false)? {
            Db::Local(store) => store.list_users(&args.tenant)?,
            Db::Remote(api) => api.get(&format!("/tenants/{}/integration-users", args.tenant))?,
        };
        let rows = users
            .into_iter()
            .map(|u| {
                let may = rules
                    .roles
                    .as_ref()
                    .is_none_or(|r| r.may_provision(u.role.as_deref().unwrap_or(&r.default)));
                vec![
                    u.user,
                    shown(u.role.as_deref(), default),
                    if may { "yes" } else { "no" }.to_owned(),
                    u.created.to_string(),
                ]
            })
            .collect();
        print_block(&render_table(
            &["USER", "ROLE", "PROVISIONS", "CREATED"],
            rows,
        ));
        Ok(())
    })
}
