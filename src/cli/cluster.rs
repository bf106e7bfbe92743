//! `provisio cluster status`, `provisio tenant create --node`, and the etcd side of
//! `provisio db verify --cluster` (see docs/cluster.md).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use provisio::store::Store;

use crate::cli::output::{complain, say};
use crate::cli::serve::split_endpoints;
use crate::{ClusterArgs, TenantCreateArgs};

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// `provisio cluster status`: one line per node, then its tenants.
pub fn status(args: &ClusterArgs) -> ExitCode {
    let endpoints = split_endpoints(&args.cluster);
    let result = runtime().and_then(|rt| rt.block_on(provisio::cluster::status(&endpoints)));
    match result {
        Ok(nodes) => {
            if nodes.is_empty() {
                say!("no nodes have joined this cluster yet");
            }
            for node in nodes {
                let health = match (node.alive, node.answers) {
                    (true, true) => "up",
                    (true, false) => "registered, not answering",
                    (false, true) => "answering, no lease in etcd",
                    (false, false) => "down",
                };
                say!(
                    "node {}  {}  {health}  {} tenants",
                    node.node,
                    node.url,
                    node.tenants.len()
                );
                for tenant in node.tenants {
                    say!("  {tenant}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            complain!("provisio cluster status: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `provisio tenant create NAME --node NODE --cluster ENDPOINTS`: places the tenant on
/// that node through etcd; the node creates it.
pub fn tenant_create(args: &TenantCreateArgs) -> ExitCode {
    let (Some(node), Some(cluster)) = (&args.node, &args.cluster) else {
        complain!("provisio tenant create: --node needs --cluster ENDPOINTS");
        return ExitCode::FAILURE;
    };
    if args.edition.is_some() {
        complain!(
            "provisio tenant create: --edition cannot be given with --node yet; set it on the owner with `provisio tenant set`"
        );
        return ExitCode::FAILURE;
    }
    let endpoints = split_endpoints(cluster);
    let result = runtime().and_then(|rt| {
        rt.block_on(provisio::cluster::place_remote(
            &endpoints,
            &args.name,
            node,
            Duration::from_secs(10),
        ))
    });
    match result {
        Ok(entry) => {
            say!(
                "created tenant `{}` on node `{}` ({})",
                args.name,
                entry.node,
                entry.url
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            complain!("provisio tenant create: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The differences between the database's userName claims and etcd's, for `db verify`.
pub fn verify_claims(endpoints: &str, node: &str, db: &Path) -> Result<Vec<String>, String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let endpoints = split_endpoints(endpoints);
    runtime()?.block_on(provisio::cluster::verify_claims(&endpoints, node, &store))
}
