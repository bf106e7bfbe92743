//! `provisio serve`: open the database, check the rules, listen, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use provisio::server::{App, ServerConfig, serve, shutdown_signal};
use provisio::store::Store;

use crate::ServeArgs;
use crate::cli::output::{complain, say};

/// The tenant created on first start with an empty database.
const FIRST_TENANT: &str = "default";
/// The integration user of the first key.
const FIRST_USER: &str = "okta-integration";

/// Runs `provisio serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (sources, rules_origin) = match super::profile_sources(args.rules.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            complain!("provisio serve: {err}");
            return ExitCode::FAILURE;
        }
    };
    let rules = match super::check_with_overlay(sources.clone(), None) {
        Ok(rules) => rules,
        Err(err) => {
            complain!("provisio serve: {err}");
            complain!("(run `provisio check` on the profile for the full diagnostics)");
            return ExitCode::FAILURE;
        }
    };
    let store = match Store::open(&args.db) {
        Ok(store) => store,
        Err(err) => {
            complain!("provisio serve: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            complain!("provisio serve: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(listener) => listener,
            Err(err) => {
                complain!("provisio serve: cannot listen on {}: {err}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => {
                complain!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        };
        match first_start(&store) {
            Ok(Some(key)) => {
                say!("First start: created tenant `{FIRST_TENANT}` and an API key for it (shown once):");
                say!("  {key}");
            }
            Ok(None) => {}
            Err(err) => {
                complain!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        }
        let overlays = match tenant_overlays(&store, &sources) {
            Ok(overlays) => overlays,
            Err(message) => {
                complain!("provisio serve: {message}");
                return ExitCode::FAILURE;
            }
        };
        for (tenant, (version, _)) in &overlays {
            say!("tenant `{tenant}` uses its overlay v{version}");
        }
        say!("provisio serving rules `{}` from {rules_origin}", rules.name);
        say!("SCIM base URL: http://{addr}/scim/v2");
        let app = Arc::new(App {
            store,
            rules: Arc::new(rules),
            overlays: overlays
                .into_iter()
                .map(|(tenant, (_, rules))| (tenant, Arc::new(rules)))
                .collect(),
            config: ServerConfig::new(addr.to_string()),
        });
        serve(listener, app, shutdown_signal()).await;
        say!("provisio: stopped");
        ExitCode::SUCCESS
    })
}

/// On an empty database, creates the first tenant and returns a new key for it.
fn first_start(store: &Store) -> Result<Option<String>, provisio::store::StoreError> {
    if !store.is_empty()? {
        return Ok(None);
    }
    store.create_tenant(FIRST_TENANT)?;
    let (_id, key) = store.create_key(FIRST_TENANT, FIRST_USER)?;
    Ok(Some(key))
}

/// Every tenant's current non-empty overlay, checked against the profile: tenant ->
/// (version, rules). An overlay that no longer checks (the profile changed since it was
/// saved) stops the start, naming the tenant.
fn tenant_overlays(
    store: &Store,
    profile: &provisio::check::ProfileSources,
) -> Result<std::collections::BTreeMap<String, (u64, provisio::check::CheckedRules)>, String> {
    let mut overlays = std::collections::BTreeMap::new();
    for tenant in store.list_tenants().map_err(|e| e.to_string())? {
        let Some((version, text)) = store.overlay(&tenant.name).map_err(|e| e.to_string())? else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let source = provisio::check::SourceFile::new(format!("overlay-v{version}.rules"), text);
        let rules = super::check_with_overlay(profile.clone(), Some(source)).map_err(|e| {
            format!(
                "the overlay v{version} of tenant `{}` no longer checks against the profile: {e}\n(fix it with `provisio overlay set`, or `provisio overlay reset --tenant {}`)",
                tenant.name, tenant.name
            )
        })?;
        overlays.insert(tenant.name, (version, rules));
    }
    Ok(overlays)
}
