//! The operator commands: tenants, keys, entity import, overlays, history and log.
//!
//! Each opens the database itself, or, while a server holds it, goes through that server's
//! admin API (found from the database path: the server keeps its URL and a token beside the
//! file, readable by its owner only), so every command works while serving. A missing
//! database file is an error naming the path (only `tenant create` creates one).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use provisio::admin::client::{AdminClient, ClientError};
use provisio::import::parse_import;
use provisio::store::{HistoryRecord, KeyRecord, LogRecord, Store, StoreError, TenantRecord};
use serde_json::{Value, json};

use crate::cli::output::{Layout, complain, escape, print_block, say};
use crate::{
    DbArgs, HistoryArgs, ImportArgs, KeyCreateArgs, KeyListArgs, KeyRevokeArgs, LogArgs,
    OverlaySetArgs, OverlayTenantArgs, TenantCreateArgs,
};

/// `provisio tenant create`
pub fn tenant_create(args: &TenantCreateArgs) -> ExitCode {
    run("tenant create", || {
        let rules = args.profile.checked()?;
        let edition = provisio::eval::access::edition_name(&rules, args.edition.as_deref())
            .map_err(|e| e.to_string())?;
        let tenant: TenantRecord = match open(&args.db, true)? {
            Db::Local(store) => store.create_tenant_with(&args.name, edition.as_deref())?,
            Db::Remote(api) => api.json(
                "POST",
                "/tenants",
                &json!({"name": args.name, "edition": edition}),
            )?,
        };
        say!(
            "created tenant `{}` ({} edition)",
            tenant.name,
            tenant.edition.as_deref().unwrap_or("no")
        );
        say!(
            "next: provisio key create --tenant {} --db {}",
            tenant.name,
            args.db.db.display()
        );
        Ok(())
    })
}

/// `provisio tenant list`
pub fn tenant_list(args: &crate::TenantListArgs) -> ExitCode {
    run("tenant list", || {
        let rules = args.profile.checked()?;
        let default = rules.editions.as_ref().map(|e| e.default.as_str());
        let tenants: Vec<TenantRecord> = match open(&args.db, false)? {
            Db::Local(store) => store.list_tenants()?,
            Db::Remote(api) => api.get("/tenants")?,
        };
        let rows = tenants
            .into_iter()
            .map(|t| {
                let edition = provisio::eval::access::shown(t.edition.as_deref(), default);
                vec![t.name.to_string(), edition, t.created.to_string()]
            })
            .collect();
        print_block(&render_table(&["TENANT", "EDITION", "CREATED"], rows));
        Ok(())
    })
}

/// `provisio key create`: the key alone on the last line of stdout.
pub fn key_create(args: &KeyCreateArgs) -> ExitCode {
    run("key create", || {
        let rules = args.profile.checked()?;
        let role = provisio::eval::access::role_name(&rules, args.role.as_deref())
            .map_err(|e| e.to_string())?;
        let (key_id, key, role) = match open(&args.db, false)? {
            Db::Local(store) => {
                let (key_id, key) =
                    store.create_key_with_role(&args.tenant, &args.user, role.as_deref())?;
                let role = super::access::role_of(&store, &rules, &args.tenant, &args.user)?;
                (key_id, key, role)
            }
            Db::Remote(api) => {
                let created: Value = api.json(
                    "POST",
                    &format!("/tenants/{}/keys", args.tenant),
                    &json!({"user": args.user, "role": role}),
                )?;
                let text = |k: &str| created[k].as_str().unwrap_or_default().to_owned();
                let role_of_user = api.roles(&args.tenant)?;
                let role = role_of_user
                    .get(&args.user)
                    .cloned()
                    .unwrap_or_else(|| "-".to_owned());
                (text("key_id"), text("key"), role)
            }
        };
        say!(
            "API key {key_id} for tenant `{}`, integration user `{}` ({role}).",
            args.tenant,
            args.user
        );
        say!(
            "Paste it as the Bearer token (API token) in the identity provider; it is shown only this once."
        );
        say!("{key}");
        Ok(())
    })
}

/// `provisio key list`
pub fn key_list(args: &KeyListArgs) -> ExitCode {
    run("key list", || {
        let rules = args.profile.checked()?;
        let (keys, role_of_user): (Vec<KeyRecord>, _) = match open(&args.db, false)? {
            Db::Local(store) => (
                store.list_keys(&args.tenant)?,
                super::access::roles_by_user(&store, &rules, &args.tenant)?,
            ),
            Db::Remote(api) => (
                api.get(&format!("/tenants/{}/keys", args.tenant))?,
                api.roles(&args.tenant)?,
            ),
        };
        let rows = keys
            .into_iter()
            .map(|k| {
                let revoked = if k.revoked { "yes" } else { "no" };
                let role = role_of_user
                    .get(&k.user)
                    .cloned()
                    .unwrap_or_else(|| "-".to_owned());
                vec![
                    k.key_id,
                    k.user,
                    role,
                    k.created.to_string(),
                    revoked.to_owned(),
                ]
            })
            .collect();
        print_block(&render_table(
            &["ID", "USER", "ROLE", "CREATED", "REVOKED"],
            rows,
        ));
        Ok(())
    })
}

/// `provisio key revoke`
pub fn key_revoke(args: &KeyRevokeArgs) -> ExitCode {
    run("key revoke", || {
        match open(&args.db, false)? {
            Db::Local(store) => store.revoke_key(&args.tenant, &args.id)?,
            Db::Remote(api) => {
                let _: Value = api.call(
                    "DELETE",
                    &format!("/tenants/{}/keys/{}", args.tenant, args.id),
                    None,
                )?;
            }
        }
        say!("revoked key {} of tenant `{}`", args.id, args.tenant);
        Ok(())
    })
}

/// `provisio entities import`
pub fn entities_import(args: &ImportArgs) -> ExitCode {
    run("entities import", || {
        let text = std::fs::read_to_string(&args.file)
            .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
        let records = parse_import(&text)?;
        let (users, groups) = match open(&args.db, false)? {
            Db::Local(store) => {
                let summary = store.import_entities(&args.tenant, &records)?;
                (summary.count("User"), summary.count("Group"))
            }
            Db::Remote(api) => {
                let summary: Value = api.call(
                    "POST",
                    &format!("/tenants/{}/import", args.tenant),
                    Some(text.into_bytes()),
                )?;
                let count =
                    |k: &str| usize::try_from(summary[k].as_u64().unwrap_or(0)).unwrap_or(0);
                (count("users"), count("groups"))
            }
        };
        say!(
            "imported {users} users and {groups} groups into tenant `{}` (unmanaged, Active)",
            args.tenant
        );
        Ok(())
    })
}

/// `provisio history`
pub fn history(args: &HistoryArgs) -> ExitCode {
    run("history", || {
        let records = match open(&args.db, false)? {
            Db::Local(store) => store.history(&args.tenant, args.user.as_deref())?,
            Db::Remote(api) => {
                let mut query = String::new();
                if let Some(user) = &args.user {
                    query = format!("user={}", encode(user));
                }
                api.all_pages(&format!("/tenants/{}/history", args.tenant), &query)?
            }
        };
        print_block(&render_history(&records));
        Ok(())
    })
}

/// `provisio log`
pub fn log(args: &LogArgs) -> ExitCode {
    run("log", || {
        let records = match open(&args.db, false)? {
            Db::Local(store) => store.log(&args.tenant, args.failed)?,
            Db::Remote(api) => {
                let query = if args.failed {
                    "outcome=failed,rejected"
                } else {
                    ""
                };
                api.all_pages(&format!("/tenants/{}/log", args.tenant), query)?
            }
        };
        print_block(&render_log(&records));
        Ok(())
    })
}

/// Runs a command body; any error is printed as `provisio CMD: message` with exit 1.
/// `provisio overlay set`: checked against the profile first; saved only when clean.
pub fn overlay_set(args: &OverlaySetArgs) -> ExitCode {
    run("overlay set", || {
        let store = match open(&args.db, false)? {
            Db::Local(store) => store,
            Db::Remote(api) => {
                // The server checks it against the profile it serves, and applies it to
                // the tenant's next operation.
                let text = std::fs::read_to_string(&args.file)
                    .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
                let saved: Value = api.json(
                    "PUT",
                    &format!("/tenants/{}/overlay", args.tenant),
                    &json!({"text": text}),
                )?;
                say!(
                    "saved overlay v{} for tenant `{}` on the running server; it applies to the tenant's next operation",
                    saved["version"],
                    args.tenant
                );
                return Ok(());
            }
        };
        if !store.tenant_exists(&args.tenant)? {
            return Err(StoreError::UnknownTenant(args.tenant.to_string()).into());
        }
        let (sources, origin) = super::profile_sources(args.rules.as_deref())
            .map_err(|e| CliError::Message(e.to_string()))?;
        let overlay =
            super::read_overlay(&args.file).map_err(|e| CliError::Message(e.to_string()))?;
        let text = overlay.text.clone();
        let rules = super::check_with_overlay(sources, Some(overlay)).map_err(|e| {
            CliError::Message(format!(
                "{e}\nnothing was saved; `provisio check --overlay {}` shows the full diagnostics",
                args.file.display()
            ))
        })?;
        let version = store.save_overlay(&args.tenant, &text, &cli_user())?;
        say!(
            "saved overlay v{version} for tenant `{}` (checked against {origin}: {} user mappings); it applies from the next `provisio serve`",
            args.tenant,
            rules
                .mappings(provisio::scim::schema::ResourceKind::User)
                .len()
        );
        Ok(())
    })
}

/// `provisio overlay show`
pub fn overlay_show(args: &OverlayTenantArgs) -> ExitCode {
    run("overlay show", || {
        let overlay = match open(&args.db, false)? {
            Db::Local(store) => store.overlay(&args.tenant)?,
            Db::Remote(api) => {
                let view: Value = api.get(&format!("/tenants/{}/overlay", args.tenant))?;
                view["version"]
                    .as_u64()
                    .filter(|v| *v > 0)
                    .map(|v| (v, view["text"].as_str().unwrap_or_default().to_owned()))
            }
        };
        match overlay {
            Some((version, text)) if !text.trim().is_empty() => {
                say!("# overlay v{version} of tenant `{}`", args.tenant);
                print_block(&text);
                if !text.ends_with('\n') {
                    say!();
                }
            }
            _ => say!(
                "tenant `{}` has no overlay: the profile's defaults apply",
                args.tenant
            ),
        }
        Ok(())
    })
}

/// `provisio overlay reset`: restore the defaults (an empty overlay, as a new version).
pub fn overlay_reset(args: &OverlayTenantArgs) -> ExitCode {
    run("overlay reset", || {
        let version = match open(&args.db, false)? {
            Db::Local(store) => store.save_overlay(&args.tenant, "", &cli_user())?,
            Db::Remote(api) => {
                let saved: Value =
                    api.call("DELETE", &format!("/tenants/{}/overlay", args.tenant), None)?;
                saved["version"].as_u64().unwrap_or_default()
            }
        };
        say!(
            "tenant `{}` restored to the profile's defaults (overlay v{version} is empty)",
            args.tenant
        );
        Ok(())
    })
}

pub(super) fn run(command: &str, body: impl FnOnce() -> Result<(), CliError>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            complain!("provisio {command}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A command failure: a store error or a message.
#[derive(Debug, thiserror::Error)]
pub(super) enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    ImportFile(#[from] provisio::import::ImportFileError),
    #[error("{0}")]
    Message(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Message(message)
    }
}

/// Where a command's work goes: the database file itself, or the admin API of the
/// server that holds it.
pub(super) enum Db {
    Local(Store),
    Remote(Api),
}

/// Opens the database (only `tenant create` may create the file); when a running server
/// holds it, its admin API instead.
pub(super) fn open(args: &DbArgs, create: bool) -> Result<Db, CliError> {
    let path: &Path = &args.db;
    if !create && !path.exists() {
        return Err(CliError::Message(format!(
            "no database at {} (create a tenant first with `provisio tenant create NAME --db {}`, or pass --db)",
            path.display(),
            path.display()
        )));
    }
    match Store::open(path) {
        Ok(store) => Ok(Db::Local(store)),
        Err(locked @ StoreError::Locked { .. }) => match AdminClient::discover(path)? {
            Some(client) => Ok(Db::Remote(Api(client))),
            None => Err(locked.into()),
        },
        Err(other) => Err(other.into()),
    }
}

/// The admin API of the server holding the database, answers as the commands need them.
pub(super) struct Api(AdminClient);

impl Api {
    /// A call whose answer must be 2xx; the detail of any other answer is the error.
    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Value, CliError> {
        let reply = self.0.call(method, path, body)?;
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        let mut message = reply.detail();
        if let Some(diagnostics) = reply.body.get("diagnostics").and_then(Value::as_array) {
            for d in diagnostics {
                let _ = write!(
                    message,
                    "\n  {}:{}: {}: {}",
                    d["file"].as_str().unwrap_or_default(),
                    d["line"],
                    d["code"].as_str().unwrap_or_default(),
                    d["message"].as_str().unwrap_or_default()
                );
            }
        }
        Err(CliError::Message(message))
    }

    pub(super) fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        let value = self.call("GET", path, None)?;
        serde_json::from_value(value)
            .map_err(|e| CliError::Message(format!("unexpected answer from the server: {e}")))
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<T, CliError> {
        let value = self.call(method, path, Some(body.to_string().into_bytes()))?;
        serde_json::from_value(value)
            .map_err(|e| CliError::Message(format!("unexpected answer from the server: {e}")))
    }

    /// Each integration user's role as shown (its own, or the profile's default).
    pub(super) fn roles(
        &self,
        tenant: &provisio::domain::TenantId,
    ) -> Result<std::collections::BTreeMap<String, String>, CliError> {
        /// One row of `GET /tenants/T/integration-users` (the role already defaulted).
        #[derive(serde::Deserialize)]
        struct Row {
            user: String,
            role: Option<String>,
            default_role: bool,
        }
        let users: Vec<Row> = self.get(&format!("/tenants/{tenant}/integration-users"))?;
        Ok(users
            .into_iter()
            .map(|u| {
                let shown = match (u.role, u.default_role) {
                    (Some(role), true) => format!("{role} (default)"),
                    (Some(role), false) => role,
                    (None, _) => "-".to_owned(),
                };
                (u.user, shown)
            })
            .collect())
    }

    /// Every record of a paged listing, oldest first (the API pages newest first).
    fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<Vec<T>, CliError> {
        let mut records = Vec::new();
        let mut before: Option<u64> = None;
        loop {
            let mut url = format!("{path}?limit=1000");
            if !query.is_empty() {
                url.push('&');
                url.push_str(query);
            }
            if let Some(before) = before {
                let _ = write!(url, "&before={before}");
            }
            let page: Value = self.call("GET", &url, None)?;
            let items: Vec<T> = serde_json::from_value(page["items"].clone()).map_err(|e| {
                CliError::Message(format!("unexpected answer from the server: {e}"))
            })?;
            records.extend(items);
            match page["next"].as_u64() {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        records.reverse();
        Ok(records)
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn render_history(records: &[HistoryRecord]) -> String {
    let rows = records
        .iter()
        .map(|r| {
            let entity = match &r.user_name {
                Some(name) => format!("{} {name}", r.entity_type),
                None => format!("{} {}", r.entity_type, r.entity_id),
            };
            let change = format!(
                "{} -> {}",
                r.before.as_deref().unwrap_or("(empty)"),
                r.after.as_deref().unwrap_or("(empty)")
            );
            vec![
                r.time.to_string(),
                r.actor.clone(),
                entity,
                r.field.clone(),
                change,
                r.rule.clone(),
            ]
        })
        .collect();
    render_table(
        &["TIME", "WHO", "ENTITY", "FIELD", "BEFORE -> AFTER", "RULE"],
        rows,
    )
}

fn render_log(records: &[LogRecord]) -> String {
    let rows = records
        .iter()
        .map(|r| {
            vec![
                r.time.to_string(),
                r.method.clone(),
                r.path.clone(),
                r.status.to_string(),
                r.outcome.as_str().to_owned(),
                r.scim_type.clone().unwrap_or_else(|| "-".to_owned()),
                r.detail.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    render_table(
        &[
            "TIME", "METHOD", "PATH", "STATUS", "OUTCOME", "SCIMTYPE", "DETAIL",
        ],
        rows,
    )
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
/// Each cell is escaped as one line ([`Layout::Line`]), so each row stays one line and no
/// cell can drive the terminal.
pub(super) fn render_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| escape(&cell, Layout::Line).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let last = row.len().saturating_sub(1);
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(width - cell.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// Who runs the command, for the record (`cli:USER`).
fn cli_user() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned())
    )
}
