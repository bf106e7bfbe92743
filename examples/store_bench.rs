//! Store throughput: durable creates one fsync each, group-committed creates, indexed
//! lookups and paging. Run with `cargo run --release --example store_bench -- [USERS]`.

use std::collections::BTreeMap;
use std::time::Instant;

use provisio::eval::state::{Entity, FieldValue, Lifecycle, Meta, StoredResource};
use provisio::scim::schema::ResourceKind;
use provisio::store::{Store, StoreError};
use serde_json::json;

fn user(store: &Store, n: usize) -> StoredResource {
    let id = store.next_id();
    let name = format!("user{n}@example.com");
    let now = store.now();
    StoredResource {
        kind: ResourceKind::User,
        body: json!({"id": id, "userName": name, "externalId": format!("ext-{n}")}),
        meta: Meta {
            created: now.clone(),
            last_modified: now,
            version: 1,
        },
        entity: Entity {
            id,
            entity_type: "User".into(),
            fields: BTreeMap::from([("UserName".to_owned(), FieldValue::String(name))]),
            lifecycle: Lifecycle::Active,
            managed: true,
        },
    }
}

fn create(store: &Store, n: usize, durable: bool) -> Result<(), StoreError> {
    let resource = user(store, n);
    let mut txn = store.write("bench")?;
    let name = resource.body["userName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    txn.claim_user_name(&name, &resource.entity.id)?;
    txn.put_resource(&resource, &["UserName"])?;
    if durable {
        txn.commit()
    } else {
        txn.commit_unsynced()
    }
}

fn main() -> Result<(), StoreError> {
    let users: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let dir = std::env::temp_dir().join(format!("provisio-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Import(e.to_string()))?;
    let store = Store::open(dir.join("bench.redb"))?;
    store.create_tenant("bench")?;

    let durable = users.min(500);
    let start = Instant::now();
    for n in 0..durable {
        create(&store, n, true)?;
    }
    let elapsed = start.elapsed();
    println!(
        "durable creates:        {durable:>7} in {elapsed:>10.2?} ({:.0}/s)",
        durable as f64 / elapsed.as_secs_f64()
    );

    let start = Instant::now();
    for n in durable..users {
        create(&store, n, false)?;
        if n % 32 == 31 {
            store.sync()?;
        }
    }
    store.sync()?;
    let elapsed = start.elapsed();
    let grouped = users - durable;
    println!(
        "group-committed (x32):  {grouped:>7} in {elapsed:>10.2?} ({:.0}/s)",
        grouped as f64 / elapsed.as_secs_f64()
    );

    let read = store.read("bench")?;
    let start = Instant::now();
    for n in 0..users {
        let found = read.by_user_name(&format!("USER{n}@example.com"))?;
        assert!(found.is_some());
    }
    let elapsed = start.elapsed();
    println!(
        "userName lookups:       {users:>7} in {elapsed:>10.2?} ({:.0}/s)",
        users as f64 / elapsed.as_secs_f64()
    );

    let start = Instant::now();
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let page = read.page_after(ResourceKind::User, after.as_deref(), 100)?;
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
