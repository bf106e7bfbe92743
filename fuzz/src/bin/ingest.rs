//! JSON ingest through to a stored row: a body that parses and normalises is written to a
//! real store (a temp redb file) and must read back exactly as written.

use std::sync::atomic::{AtomicU64, Ordering};

use provisio::domain::{Entity, EntityType, Meta, ResourceId, StoredResource, TenantId, Timestamp};
use provisio::scim::resource::{normalize_input, parse_json};
use provisio::scim::schema::ResourceKind;
use provisio::store::Store;
use serde_json::Value;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("fuzz.redb")).unwrap();
    let tenant = store.create_tenant("fuzz").unwrap().name;
    let ids = AtomicU64::new(0);
    // A panic aborts the process (that is the crash AFL records): no state outlives it.
    let store = std::panic::AssertUnwindSafe(store);
    afl::fuzz!(|input: &[u8]| {
        let Ok(body) = parse_json(input) else {
            return;
        };
        for kind in [ResourceKind::User, ResourceKind::Group] {
            if let Ok(normalized) = normalize_input(kind, body.clone()) {
                let id = ResourceId::new(format!("r{}", ids.fetch_add(1, Ordering::Relaxed)));
                store_and_read_back(&store, &tenant, kind, &id, normalized.body);
            }
        }
    });
}

/// Writes the resource (as the handlers do, with its id) and reads it back.
fn store_and_read_back(
    store: &Store,
    tenant: &TenantId,
    kind: ResourceKind,
    id: &ResourceId,
    mut body: Value,
) {
    if let Value::Object(map) = &mut body {
        map.insert("id".into(), Value::String(id.to_string()));
    }
    let at = Timestamp::from_unix_seconds(1_767_225_600);
    let resource = StoredResource {
        kind,
        body,
        meta: Meta {
            created: at,
            last_modified: at,
            version: 1,
        },
        entity: Entity::new(id.clone(), EntityType::new(kind.as_str())),
    };
    let mut write = store.write(tenant).unwrap();
    if write.put_resource(&resource, &[]).is_err() {
        // Refused (an index conflict): nothing to read back.
        let _ = write.abort();
        return;
    }
    write.commit().unwrap();
    let read = store.read(tenant).unwrap();
    let back = read
        .get_resource(kind, id)
        .unwrap_or_else(|err| panic!("a stored row does not read back: {err}"));
    assert_eq!(back.as_ref(), Some(&resource), "the row read back differs");
}
