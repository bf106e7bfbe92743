//! `provisio serve`: open the database, check the rules, listen, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use provisio::admin::Admin;
use provisio::admin::http::serve_admin;
use provisio::pipeline::Profiles;
use provisio::server::{App, ServerConfig, serve, shutdown_signal};
use provisio::store::{OperatorScope, Retention, Store, StoreConfig};

use crate::ServeArgs;
use crate::cli::output::{complain, say};

/// The tenant created on first start with an empty database.
const FIRST_TENANT: &str = "default";
/// The integration user of the first key.
const FIRST_USER: &str = "okta-integration";

/// `--public-url`, checked: `http://` or `https://`, a host, an optional path, no query,
/// fragment or user info; without its trailing `/`.
fn public_url(text: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "--public-url {text:?} {why}; give the URL clients reach the server at, like https://scim.example.com"
        ))
    };
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return refuse("does not start with http:// or https://");
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return refuse("has no host");
    }
    if rest.contains(['?', '#', '@']) || !rest.chars().all(|c| c.is_ascii_graphic()) {
        return refuse("may hold only a host and a path (no query, fragment, user or spaces)");
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Runs `provisio serve`.
#[allow(
    clippy::too_many_lines,
    reason = "start-up in order: every step reports its own failure and stops"
)]
pub fn run(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let public_url = match args.public_url.as_deref().map(public_url).transpose() {
        Ok(url) => url,
        Err(err) => {
            complain!("provisio serve: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    let config = StoreConfig {
        cache_bytes: args.cache_mib.saturating_mul(1024 * 1024),
        ..StoreConfig::default()
    };
    let store = match Store::open_with(&args.db, config) {
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
        let (listener, addr) = match listen(&args.listen).await {
            Ok(bound) => bound,
            Err(err) => {
                complain!("provisio serve: cannot listen on {}: {err}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
        let profiles = Arc::new(Profiles::new(sources, Arc::new(rules)));
        match profiles.load_overlays(&store) {
            Ok(loaded) => {
                for (tenant, version) in loaded {
                    say!("tenant `{tenant}` uses its overlay v{version}");
                }
            }
            Err(message) => {
                complain!("provisio serve: {message}");
                return ExitCode::FAILURE;
            }
        }
        let (admin_listener, admin_addr) = match listen(&args.admin_listen).await {
            Ok(bound) => bound,
            Err(err) => {
                complain!(
                    "provisio serve: cannot listen on {} for the admin page and API: {err} (choose another with --admin-listen)",
                    args.admin_listen
                );
                return ExitCode::FAILURE;
            }
        };
        if let Some(endpoints) = &args.cluster {
            let Some(node) = args.node.clone() else {
                complain!("provisio serve: --cluster needs --node NAME (this node's name)");
                return ExitCode::FAILURE;
            };
            let join = provisio::cluster::JoinConfig {
                endpoints: split_endpoints(endpoints),
                node,
                advertise: args
                    .advertise
                    .clone()
                    .map_or_else(|| format!("http://{addr}"), |a| a.trim_end_matches('/').to_owned()),
                admin: format!("http://{admin_addr}"),
            };
            match provisio::cluster::Cluster::join(store.clone(), join).await {
                Ok(cluster) => say!(
                    "Cluster: node `{}`, advertised at {}",
                    cluster.node(),
                    cluster.advertise()
                ),
                Err(err) => {
                    complain!("provisio serve: cannot join the cluster: {err}");
                    return ExitCode::FAILURE;
                }
            }
        } else if args.node.is_some() || args.advertise.is_some() {
            complain!("provisio serve: --node and --advertise need --cluster ENDPOINTS");
            return ExitCode::FAILURE;
        }
        let first_tenant = args.node.as_deref().filter(|_| args.cluster.is_some()).unwrap_or(FIRST_TENANT);
        match first_start(&store, first_tenant) {
            Ok(Some((key, token))) => {
                say!("First start: created tenant `{first_tenant}` and an API key for it (shown once):");
                say!("  {key}");
                say!("and an operator token for the admin page (shown once):");
                say!("  {token}");
            }
            Ok(None) => {}
            Err(err) => {
                complain!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        }
        let local = match LocalCredential::write(&store, &args.db, admin_addr) {
            Ok(local) => local,
            Err(err) => {
                complain!("provisio serve: {err}");
                return ExitCode::FAILURE;
            }
        };
        say!(
            "provisio serving rules `{}` from {rules_origin}",
            profiles.base().rules.name
        );
        say!("Admin page: http://{admin_addr}/");
        say!("SCIM listening on {addr}");
        say!("SCIM base URL: {public_url}/scim/v2");
        let admin = Arc::new(Admin {
            store: store.clone(),
            profiles: Arc::clone(&profiles),
        });
        let app = Arc::new(App {
            store: store.clone(),
            profiles,
            config: ServerConfig {
                body_read_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
                max_connections: args.max_connections.max(1),
                public_url,
                ..ServerConfig::new(addr)
            },
        });
        // One signal stops both listeners (a watch, so neither can miss it).
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let mut admin_stopped = stopped.clone();
        let admin_task = tokio::spawn(serve_admin(admin_listener, admin, async move {
            let _ = admin_stopped.wait_for(|stop| *stop).await;
        }));
        let retention = Retention {
            history_days: args.keep_history_days,
            history_count: args.keep_history.max(1),
            log_days: args.keep_log_days,
            log_count: args.keep_log.max(1),
        };
        let retention_task = tokio::spawn(retain(
            store.clone(),
            retention,
            std::time::Duration::from_secs(args.retention_every.max(1)),
            stopped.clone(),
        ));
        let mut scim_stopped = stopped;
        serve(listener, app, async move {
            let _ = scim_stopped.wait_for(|stop| *stop).await;
        })
        .await;
        let _ = admin_task.await;
        let _ = retention_task.await;
        local.remove(&store);
        say!("provisio: stopped");
        ExitCode::SUCCESS
    })
}

/// A listener on `address`, and the address it got (the port chosen for `:0`).
async fn listen(address: &str) -> std::io::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Enforces retention every `every` (first right after start) until stopped.
async fn retain(
    store: Store,
    retention: Retention,
    every: std::time::Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let pass = store.clone();
        match tokio::task::spawn_blocking(move || pass.enforce_retention(&retention)).await {
            Ok(Ok(trimmed)) if trimmed != provisio::store::Trimmed::default() => {
                tracing::info!(?trimmed, "retention");
            }
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(%err, "retention pass failed"),
            Err(err) => tracing::warn!(%err, "retention pass panicked"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// The credential the CLI uses to reach this server's admin API while it holds the
/// database: a file beside the database (`DB.admin`), readable by its owner only, holding
/// the admin URL and the token of an operator that lives as long as this server.
struct LocalCredential {
    path: std::path::PathBuf,
    operator: String,
}

impl LocalCredential {
    fn write(
        store: &Store,
        db: &std::path::Path,
        admin: std::net::SocketAddr,
    ) -> Result<LocalCredential, String> {
        let (operator, token) = store
            .create_operator("local CLI", OperatorScope::All)
            .map_err(|e| e.to_string())?;
        let path = provisio::admin::client::credential_path(db);
        let _ = std::fs::remove_file(&path);
        let text =
            serde_json::json!({"url": format!("http://{admin}"), "token": token}).to_string();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
        if let Err(err) = written {
            let _ = store.revoke_operator(&operator.id);
            return Err(format!("cannot write {}: {err}", path.display()));
        }
        Ok(LocalCredential {
            path,
            operator: operator.id,
        })
    }

    /// Removes the file and revokes its operator (at shutdown).
    fn remove(self, store: &Store) {
        let _ = std::fs::remove_file(&self.path);
        if let Err(err) = store.revoke_operator(&self.operator) {
            tracing::warn!(%err, "could not revoke the local CLI operator");
        }
    }
}

/// On an empty database, creates the first tenant and returns a new key for it, and the
/// token of a first all-tenants operator (for the admin page).
fn first_start(
    store: &Store,
    name: &str,
) -> Result<Option<(String, String)>, provisio::store::StoreError> {
    if !store.is_empty()? {
        return Ok(None);
    }
    let tenant = store.create_tenant(name)?;
    let (_id, key) = store.create_key(&tenant.name, FIRST_USER)?;
    let (_, token) = store.create_operator("admin", OperatorScope::All)?;
    Ok(Some((key, token)))
}

/// `http://a:2379,http://b:2379` as a list (a bare `host:port` gets `http://`).
pub fn split_endpoints(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            if e.contains("://") {
                e.to_owned()
            } else {
                format!("http://{e}")
            }
        })
        .collect()
}
