//! The offline operator commands: tenants, keys, entity import, history and log.
//!
//! Each opens the database itself; while a server holds it, each fails at once (exit 1)
//! with a message saying so, and touches nothing.

use std::path::Path;
use std::process::ExitCode;

use provisio::import::parse_import;
use provisio::store::{HistoryRecord, LogRecord, Store, StoreError};

use crate::{
    DbArgs, HistoryArgs, ImportArgs, KeyCreateArgs, KeyListArgs, KeyRevokeArgs, LogArgs,
    OverlaySetArgs, OverlayTenantArgs, TenantCreateArgs,
};

/// `provisio tenant create`
pub fn tenant_create(args: TenantCreateArgs) -> ExitCode {
    run("tenant create", || {
        let rules = super::access::profile(args.rules.as_deref())?;
        let edition = provisio::eval::access::edition_name(&rules, args.edition.as_deref())
            .map_err(|e| e.to_string())?;
        let store = open(&args.db, true)?;
        let tenant = store.create_tenant_with(&args.name, edition.as_deref())?;
        println!(
            "created tenant `{}` ({} edition)",
            tenant.name,
            tenant.edition.as_deref().unwrap_or("no")
        );
        println!(
            "next: provisio key create --tenant {} --db {}",
            tenant.name,
            args.db.db.display()
        );
        Ok(())
    })
}

/// `provisio tenant list`
pub fn tenant_list(args: crate::TenantListArgs) -> ExitCode {
    run("tenant list", || {
        let rules = super::access::profile(args.rules.as_deref())?;
        let default = rules.editions.as_ref().map(|e| e.default.as_str());
        let store = open(&args.db, false)?;
        let rows = store
            .list_tenants()?
            .into_iter()
            .map(|t| {
                let edition = provisio::eval::access::shown(t.edition.as_deref(), default);
                vec![t.name.to_string(), edition, t.created.to_string()]
            })
            .collect();
        print!("{}", render_table(&["TENANT", "EDITION", "CREATED"], rows));
        Ok(())
    })
}

/// `provisio key create`: the key alone on the last line of stdout.
pub fn key_create(args: KeyCreateArgs) -> ExitCode {
    run("key create", || {
        let rules = super::access::profile(args.rules.as_deref())?;
        let role = provisio::eval::access::role_name(&rules, args.role.as_deref())
            .map_err(|e| e.to_string())?;
        let store = open(&args.db, false)?;
        let (key_id, key) =
            store.create_key_with_role(&args.tenant, &args.user, role.as_deref())?;
        let role = super::access::role_of(&store, &rules, &args.tenant, &args.user)?;
        println!(
            "API key {key_id} for tenant `{}`, integration user `{}` ({role}).",
            args.tenant, args.user
        );
        println!(
            "Paste it as the Bearer token (API token) in the identity provider; it is shown only this once."
        );
        println!("{key}");
        Ok(())
    })
}

/// `provisio key list`
pub fn key_list(args: KeyListArgs) -> ExitCode {
    run("key list", || {
        let rules = super::access::profile(args.rules.as_deref())?;
        let store = open(&args.db, false)?;
        let roles = super::access::roles_by_user(&store, &rules, &args.tenant)?;
        let rows = store
            .list_keys(&args.tenant)?
            .into_iter()
            .map(|k| {
                let revoked = if k.revoked { "yes" } else { "no" };
                let role = roles
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
        print!(
            "{}",
            render_table(&["ID", "USER", "ROLE", "CREATED", "REVOKED"], rows)
        );
        Ok(())
    })
}

/// `provisio key revoke`
pub fn key_revoke(args: KeyRevokeArgs) -> ExitCode {
    run("key revoke", || {
        let store = open(&args.db, false)?;
        store.revoke_key(&args.tenant, &args.id)?;
        println!("revoked key {} of tenant `{}`", args.id, args.tenant);
        Ok(())
    })
}

/// `provisio entities import`
pub fn entities_import(args: ImportArgs) -> ExitCode {
    run("entities import", || {
        let text = std::fs::read_to_string(&args.file)
            .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
        let records = parse_import(&text)?;
        let store = open(&args.db, false)?;
        let summary = store.import_entities(&args.tenant, &records)?;
        println!(
            "imported {} users and {} groups into tenant `{}` (unmanaged, Active)",
            summary.count("User"),
            summary.count("Group"),
            args.tenant
        );
        Ok(())
    })
}

/// `provisio history`
pub fn history(args: HistoryArgs) -> ExitCode {
    run("history", || {
        let store = open(&args.db, false)?;
        let records = store.history(&args.tenant, args.user.as_deref())?;
        print!("{}", render_history(&records));
        Ok(())
    })
}

/// `provisio log`
pub fn log(args: LogArgs) -> ExitCode {
    run("log", || {
        let store = open(&args.db, false)?;
        let records = store.log(&args.tenant, args.failed)?;
        print!("{}", render_log(&records));
        Ok(())
    })
}

/// Runs a command body; any error is printed as `provisio CMD: message` with exit 1.
/// `provisio overlay set`: checked against the profile first; saved only when clean.
pub fn overlay_set(args: OverlaySetArgs) -> ExitCode {
    run("overlay set", || {
        let store = open(&args.db, false)?;
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
        println!(
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
pub fn overlay_show(args: OverlayTenantArgs) -> ExitCode {
    run("overlay show", || {
        let store = open(&args.db, false)?;
        match store.overlay(&args.tenant)? {
            Some((version, text)) if !text.trim().is_empty() => {
                println!("# overlay v{version} of tenant `{}`", args.tenant);
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
            _ => println!(
                "tenant `{}` has no overlay: the profile's defaults apply",
                args.tenant
            ),
        }
        Ok(())
    })
}

/// `provisio overlay reset`: restore the defaults (an empty overlay, as a new version).
pub fn overlay_reset(args: OverlayTenantArgs) -> ExitCode {
    run("overlay reset", || {
        let store = open(&args.db, false)?;
        let version = store.save_overlay(&args.tenant, "", &cli_user())?;
        println!(
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
            eprintln!("provisio {command}: {error}");
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
    ImportFile(#[from] provisio::import::ImportFileError),
    #[error("{0}")]
    Message(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Message(message)
    }
}

/// Opens the database; only `tenant create` may create the file.
pub(super) fn open(args: &DbArgs, create: bool) -> Result<Store, CliError> {
    let path: &Path = &args.db;
    if !create && !path.exists() {
        return Err(CliError::Message(format!(
            "no database at {} (create a tenant first with `provisio tenant create NAME --db {}`, or pass --db)",
            path.display(),
            path.display()
        )));
    }
    Ok(Store::open(path)?)
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
/// Newlines inside cells are shown as spaces so each row stays one line.
pub(super) fn render_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|c| c.replace(['\n', '\r'], " "))
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
