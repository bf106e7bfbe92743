//! `provisio serve`: open the database, check the rules, listen, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use provisio::pipeline::Profiles;
use provisio::server::{App, ServerConfig, serve, shutdown_signal};
use provisio::store::Store;

use crate::ServeArgs;

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
            eprintln!("provisio serve: {err}");
            return ExitCode::FAILURE;
        }
    };
    let rules = match super::check_with_overlay(sources.clone(), None) {
        Ok(rules) => rules,
        Err(err) => {
            eprintln!("provisio serve: {err}");
            eprintln!("(run `provisio check` on the profile for the full diagnostics)");
            return ExitCode::FAILURE;
        }
    };
    let store = match Store::open(&args.db) {
        Ok(store) => store,
        Err(err) => {
            eprintln!("provisio serve: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("provisio serve: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("provisio serve: cannot listen on {}: {err}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => {
                eprintln!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        };
        match first_start(&store) {
            Ok(Some(key)) => {
                println!("First start: created tenant `{FIRST_TENANT}` and an API key for it (shown once):");
                println!("  {key}");
            }
            Ok(None) => {}
            Err(err) => {
                eprintln!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        }
        let profiles = Arc::new(Profiles::new(sources, Arc::new(rules)));
        match profiles.load_overlays(&store) {
            Ok(loaded) => {
                for (tenant, version) in loaded {
                    println!("tenant `{tenant}` uses its overlay v{version}");
                }
            }
            Err(message) => {
                eprintln!("provisio serve: {message}");
                return ExitCode::FAILURE;
            }
        }
        println!(
            "provisio serving rules `{}` from {rules_origin}",
            profiles.base().rules.name
        );
        println!("SCIM base URL: http://{addr}/scim/v2");
        let app = Arc::new(App {
            store,
            profiles,
            config: ServerConfig::new(addr.to_string()),
        });
        serve(listener, app, shutdown_signal()).await;
        println!("provisio: stopped");
        ExitCode::SUCCESS
    })
}

/// On an empty database, creates the first tenant and returns a new key for it.
fn first_start(store: &Store) -> Result<Option<String>, provisio::store::StoreError> {
    if !store.is_empty()? {
        return Ok(None);
    }
    let tenant = store.create_tenant(FIRST_TENANT)?;
    let (_id, key) = store.create_key(&tenant.name, FIRST_USER)?;
    Ok(Some(key))
}
