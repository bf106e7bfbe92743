//! What runs from outside any node: placing a tenant on a node, the cluster's status.

use std::time::Duration;

use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp};
use serde::Serialize;

use super::{
    Directory, NodeEntry, TenantEntry, dir_prefix, forward, node_key, reach, tenant_key, timed,
};
use crate::domain::TenantId;

/// Places a tenant on `node` from outside any node (`provisio tenant create --node`): the
/// entry is written not ready; the owner creates the tenant when its watch sees it and marks
/// it ready. Waits for that (at most `wait`).
///
/// # Errors
///
/// When etcd does not answer, the node is not running, the name is taken or invalid, or the node does not create the tenant within `wait`.
pub async fn place_remote(
    endpoints: &[String],
    tenant: &str,
    node: &str,
    wait: Duration,
) -> Result<TenantEntry, String> {
    if !TenantId::is_valid(tenant) {
        return Err(format!(
            "invalid tenant name `{tenant}`: use 1 to 64 letters, digits, `_` or `-`"
        ));
    }
    let client = reach(endpoints).await?;
    let mut kv = client.kv_client();
    let node_entry = timed(kv.get(node_key(node), None))
        .await
        .map_err(|e| e.to_string())?;
    let Some(node_kv) = node_entry.kvs().first() else {
        return Err(format!(
            "node `{node}` is not running (it has no entry in etcd); start it first"
        ));
    };
    let node_entry: NodeEntry =
        serde_json::from_slice(node_kv.value()).map_err(|e| format!("bad node entry: {e}"))?;
    let key = tenant_key(tenant);
    let value = serde_json::to_vec(&TenantEntry {
        node: node.to_owned(),
        url: node_entry.url,
        ready: false,
    })
    .unwrap_or_default();
    let txn = Txn::new()
        .when(vec![Compare::create_revision(
            key.clone(),
            CompareOp::Equal,
            0,
        )])
        .and_then(vec![TxnOp::put(key.clone(), value, None)]);
    let response = timed(kv.txn(txn)).await.map_err(|e| e.to_string())?;
    if !response.succeeded() {
        return Err(format!("tenant `{tenant}` already exists"));
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let got = timed(kv.get(key.clone(), None))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(entry) = got
            .kvs()
            .first()
            .and_then(|kv| serde_json::from_slice::<TenantEntry>(kv.value()).ok())
            && entry.ready
        {
            return Ok(entry);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "node `{node}` did not create tenant `{tenant}` within {}s (the placement stays; it creates it when it sees it)",
                wait.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One node as `provisio cluster status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Name.
    pub node: String,
    /// Whether it holds a live lease in etcd.
    pub alive: bool,
    /// SCIM origin.
    pub url: String,
    /// Whether its SCIM listener answered just now.
    pub answers: bool,
    /// Its tenants.
    pub tenants: Vec<String>,
}

/// The cluster as etcd has it, each live node probed over HTTP.
///
/// # Errors
///
/// When etcd does not answer.
pub async fn status(endpoints: &[String]) -> Result<Vec<NodeStatus>, String> {
    let client = reach(endpoints).await?;
    let mut kv = client.kv_client();
    let response = timed(kv.get(dir_prefix(), Some(GetOptions::new().with_prefix())))
        .await
        .map_err(|e| e.to_string())?;
    let mut directory = Directory::default();
    for kv in response.kvs() {
        directory.apply(kv, false);
    }
    let mut names: Vec<String> = directory
        .nodes
        .keys()
        .chain(directory.tenants.values().map(|t| &t.node))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let node = directory.nodes.get(&name);
        let url = node.map_or_else(
            || {
                directory
                    .tenants
                    .values()
                    .find(|t| t.node == name)
                    .map(|t| t.url.clone())
                    .unwrap_or_default()
            },
            |n| n.url.clone(),
        );
        let answers = forward::probe(&url).await;
        let mut tenants: Vec<String> = directory
            .tenants
            .iter()
            .filter(|(_, t)| t.node == name)
            .map(|(n, _)| n.clone())
            .collect();
        tenants.sort();
        out.push(NodeStatus {
            node: name,
            alive: node.is_some(),
            url,
            answers,
            tenants,
        });
    }
    Ok(out)
}
