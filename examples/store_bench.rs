//! Store throughput: durable creates one fsync each, indexed lookups and paging. Run with
//! `cargo run --release --example store_bench -- [USERS]`. (Writes through the writer
//! thread, which commits concurrent writes together, are measured by `loadgen`.)

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over request counts and durations, far below 2^52"
)]

use std::collections::BTreeMap;
use std::time::Instant;

use provisio::domain::{
    Entity, EntityType, FieldName, FieldValue, Lifecycle, Meta, ResourceId, ResourceKind,
    StoredResource, TenantId, UserName,
};
use provisio::store::{Store, StoreError};
use serde_json::json;

fn user(store: &Store, n: usize) -> StoredResource {
    let id = store.ids().next_id();
    let name = format!("user{n}@example.com");
    let now = store.now();
    StoredResource {
        kind: ResourceKind::User,
        body: json!({"id": id, "userName": name, "externalId": format!("ext-{n}")}),
        meta: Meta {
            created: now,
            last_modified: now,
            version: 1,
        },
        entity: Entity {
            id,
            entity_type: EntityType::new("User"),
            fields: BTreeMap::from([(FieldName::new("UserName"), FieldValue::String(name))]),
            lifecycle: Lifecycle::Active,
            managed: true,
        },
    }
}

fn create(store: &Store, tenant: &TenantId, n: usize) -> Result<(), StoreError> {
    let resource = user(store, n);
    let mut txn = store.write(tenant)?;
    let name = UserName::new(resource.body["userName"].as_str().unwrap_or_default())
        .map_err(|e| StoreError::Import(e.to_string()))?;
    txn.claim_user_name(&name, &resource.entity.id)?;
    txn.put_resource(&resource, &[FieldName::new("UserName")])?;
    txn.commit()
}

fn main() -> Result<(), StoreError> {
    let users: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let dir = std::env::temp_dir().join(format!("provisio-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Import(e.to_string()))?;
    let store = Store::open(dir.join("bench.redb"))?;
    store.create_tenant("bench")?;

    let tenant = TenantId::new("bench");
    let start = Instant::now();
    for n in 0..users {
        create(&store, &tenant, n)?;
    }
    let elapsed = start.elapsed();
    println!(
        "durable creates:        {users:>7} in {elapsed:>10.2?} ({:.0}/s)",
        users as f64 / elapsed.as_secs_f64()
    );

    let read = store.read(&tenant)?;
    let start = Instant::now();
    for n in 0..users {
        let name = UserName::new(format!("USER{n}@example.com"))
            .map_err(|e| StoreError::Import(e.to_string()))?;
        let found = read.by_user_name(&name)?;
        assert!(found.is_some());
    }
    let elapsed = start.elapsed();
    println!(
        "userName lookups:       {users:>7} in {elapsed:>10.2?} ({:.0}/s)",
        users as f64 / elapsed.as_secs_f64()
    );

    let start = Instant::now();
    let mut after: Option<ResourceId> = None;
    let mut seen = 0;
    loop {
        let page = read.page_after(ResourceKind::User, after.as_ref(), 100)?;
        let Some(last) = page.last() else { break };
        after = Some(last.entity.id.clone());
        seen += page.len();
    }
    println!(
        "cursor paging by 100:   {seen:>7} in {:>10.2?}",
        start.elapsed()
    );
    drop(read);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
