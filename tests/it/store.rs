//! The redb store, against real database files in temporary directories.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use provisio::domain::{
    Entity, EntityType, FieldName, FieldValue, FixedClock, Lifecycle, Meta, PendingRef, ResourceId,
    ResourceKind, SequentialIds, StateView, StoredResource, TenantId, Timestamp, UserName,
};
use provisio::import::parse_import;
use provisio::pipeline::Profile;
use provisio::scim::op::ScimOp;
use provisio::scim::route::Route;
use provisio::store::{
    HistoryRecord, LogRecord, Outcome, PlannedWrite, Store, StoreConfig, StoreError, TenantRead,
};
use serde_json::{Value, json};

const NOW: &str = "2024-05-01T12:00:00Z";

fn store_at(path: &Path) -> Store {
    Store::open_with(
        path,
        StoreConfig {
            clock: Arc::new(FixedClock::at(NOW)),
            ids: Arc::new(SequentialIds::default()),
            ..StoreConfig::default()
        },
    )
    .unwrap()
}

/// A fresh store in the file `name` of a new temp dir, with tenant `a`.
fn file_store(name: &str) -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let store = store_at(&path);
    store.create_tenant("a").unwrap();
    (dir, path, store)
}

/// A fresh store with tenants `a` and `b`.
fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("test.redb"));
    store.create_tenant("a").unwrap();
    store.create_tenant("b").unwrap();
    (dir, store)
}

fn t(name: &str) -> TenantId {
    TenantId::new(name)
}

fn rid(id: &str) -> ResourceId {
    ResourceId::new(id)
}

fn un(name: &str) -> UserName {
    UserName::new(name).unwrap()
}

fn f(name: &str) -> FieldName {
    FieldName::new(name)
}

fn ty(name: &str) -> EntityType {
    EntityType::new(name)
}

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

fn string_fields(pairs: &[(&str, &str)]) -> BTreeMap<FieldName, FieldValue> {
    pairs
        .iter()
        .map(|(k, v)| (f(k), FieldValue::String((*v).to_owned())))
        .collect()
}

/// A managed, active resource at version 1, its entity with these string fields.
fn resource(kind: ResourceKind, body: Value, fields: &[(&str, &str)]) -> StoredResource {
    let entity_type = if kind == ResourceKind::User {
        "User"
    } else {
        "Group"
    };
    let id = body["id"].as_str().unwrap();
    StoredResource {
        kind,
        meta: Meta {
            created: now(),
            last_modified: now(),
            version: 1,
        },
        entity: Entity {
            id: rid(id),
            entity_type: ty(entity_type),
            fields: string_fields(fields),
            lifecycle: Lifecycle::Active,
            managed: true,
        },
        body,
    }
}

fn user(id: &str, user_name: &str, external_id: Option<&str>) -> StoredResource {
    let mut body = json!({"id": id, "userName": user_name});
    if let Some(ext) = external_id {
        body["externalId"] = json!(ext);
    }
    resource(ResourceKind::User, body, &[("UserName", user_name)])
}

fn group(id: &str, name: &str) -> StoredResource {
    let body = json!({"id": id, "DisplayName": name});
    resource(ResourceKind::Group, body, &[("Name", name)])
}

/// A snapshot of `tenant`.
fn snapshot(store: &Store, tenant: &str) -> TenantRead {
    store.read(&t(tenant)).unwrap()
}

/// Writes a user resource with its claimed userName.
fn put_user(store: &Store, tenant: &str, resource: &StoredResource) {
    let mut txn = store.write(&t(tenant)).unwrap();
    let name = un(resource.body["userName"].as_str().unwrap());
    txn.claim_user_name(&name, &resource.entity.id).unwrap();
    txn.put_resource(resource, &[f("UserName")]).unwrap();
    txn.commit().unwrap();
}

fn put_group(store: &Store, tenant: &str, resource: &StoredResource) {
    let mut txn = store.write(&t(tenant)).unwrap();
    txn.put_resource(resource, &[f("Name")]).unwrap();
    txn.commit().unwrap();
}

/// Asserts that a look-up succeeded and found nothing.
#[track_caller]
fn none<T: Debug, E: Debug>(found: Result<Option<T>, E>) {
    let found = found.unwrap();
    assert!(found.is_none(), "{found:?}");
}

/// Asserts that a look-up succeeded and found something.
#[track_caller]
fn some<T, E: Debug>(found: Result<Option<T>, E>) {
    assert!(found.unwrap().is_some());
}

/// Asserts that a listing succeeded and is empty.
#[track_caller]
fn empty<T: Debug, E: Debug>(listed: Result<Vec<T>, E>) {
    let listed = listed.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

fn history_record(user_name: &str, field: &str) -> HistoryRecord {
    HistoryRecord {
        seq: 0,
        time: Timestamp::EPOCH,
        actor: "okta".to_owned(),
        entity_type: ty("User"),
        entity_id: rid("u1"),
        user_name: Some(user_name.to_owned()),
        field: field.to_owned(),
        before: None,
        after: Some("x".to_owned()),
        rule: "default.rules:12".to_owned(),
    }
}

fn log_record(status: u16, outcome: Outcome, request: Option<Value>) -> LogRecord {
    LogRecord {
        seq: 0,
        time: Timestamp::EPOCH,
        actor: "okta".to_owned(),
        method: "POST".to_owned(),
        path: "/scim/v2/Users".to_owned(),
        status,
        outcome,
        scim_type: (outcome != Outcome::Ok).then(|| "uniqueness".to_owned()),
        detail: None,
        request,
    }
}

#[test]
fn resources_round_trip_with_indexes() {
    let (_dir, store) = fresh();
    put_user(&store, "a", &user("u1", "Ann@Example.com", Some("ext-1")));
    put_group(&store, "a", &group("g1", "Sales Team"));

    let read = snapshot(&store, "a");
    assert_eq!(
        read.get_resource(ResourceKind::User, &rid("u1")).unwrap(),
        Some(user("u1", "Ann@Example.com", Some("ext-1")))
    );
    let by_name = read.by_user_name(&un("ann@EXAMPLE.com")).unwrap().unwrap();
    assert_eq!(by_name.entity.id, "u1");
    let by_ext = read
        .body_by_external_id(ResourceKind::User, "ext-1")
        .unwrap();
    assert_eq!(by_ext.map(|r| r.id), Some(rid("u1")));
    none(read.body_by_external_id(ResourceKind::Group, "ext-1"));
    let by_group = read.group_body_by_name("sales team").unwrap();
    assert_eq!(by_group.map(|r| r.id), Some(rid("g1")));
    assert_eq!(read.count(ResourceKind::User).unwrap(), 1);
    assert_eq!(read.count(ResourceKind::Group).unwrap(), 1);
    drop(read);

    // A changed externalId and displayName move their index entries.
    put_user(&store, "a", &user("u1", "Ann@Example.com", Some("ext-2")));
    put_group(&store, "a", &group("g1", "Marketing"));
    let read = snapshot(&store, "a");
    none(read.body_by_external_id(ResourceKind::User, "ext-1"));
    some(read.body_by_external_id(ResourceKind::User, "ext-2"));
    none(read.group_body_by_name("Sales Team"));
    some(read.group_body_by_name("MARKETING"));
    assert_eq!(read.count(ResourceKind::User).unwrap(), 1);
    drop(read);

    let mut txn = store.write(&t("a")).unwrap();
    assert!(
        txn.delete_resource(ResourceKind::Group, &rid("g1"))
            .unwrap()
    );
    assert!(
        !txn.delete_resource(ResourceKind::Group, &rid("g1"))
            .unwrap()
    );
    txn.commit().unwrap();
    let read = snapshot(&store, "a");
    none(read.group_body_by_name("marketing"));
    assert_eq!(read.count(ResourceKind::Group).unwrap(), 0);
    // The entity stays for history.
    some(read.get_entity(&rid("g1")));
}

#[test]
fn paging_is_stable_and_in_id_order() {
    let (_dir, store) = fresh();
    for i in (1..=25).rev() {
        put_user(
            &store,
            "a",
            &user(&format!("u{i:02}"), &format!("user{i}"), None),
        );
    }
    put_user(&store, "b", &user("u00", "other", None));
    let read = snapshot(&store, "a");
    let ids: Vec<String> = (1..=25).map(|i| format!("u{i:02}")).collect();
    assert_eq!(read.list_ids(ResourceKind::User).unwrap(), ids);
    assert_eq!(read.count(ResourceKind::User).unwrap(), 25);
    let page = |start, count| -> Vec<String> {
        read.page(ResourceKind::User, start, count)
            .unwrap()
            .into_iter()
            .map(|r| r.entity.id.into_string())
            .collect()
    };
    assert_eq!(page(1, 10), ids[0..10]);
    assert_eq!(page(11, 10), ids[10..20]);
    assert_eq!(page(21, 10), ids[20..25]);
    assert!(page(26, 10).is_empty());
    assert!(page(1, 0).is_empty());
    assert_eq!(page(0, 2), ids[0..2]);
    let after: Vec<String> = read
        .page_after(ResourceKind::User, Some(&rid("u10")), 3)
        .unwrap()
        .into_iter()
        .map(|r| r.entity.id.into_string())
        .collect();
    assert_eq!(after, ids[10..13]);
    assert_eq!(read.resources(ResourceKind::User).unwrap().len(), 25);
    empty(read.list_ids(ResourceKind::Group));
}

#[test]
fn tenants_are_isolated() {
    let (_dir, store) = fresh();
    put_user(&store, "b", &user("ub", "bob", Some("ext-b")));
    put_group(&store, "b", &group("gb", "B Group"));
    {
        let mut txn = store.write(&t("b")).unwrap();
        txn.add_member(&rid("gb"), &rid("ub")).unwrap();
        txn.add_pending(&PendingRef {
            user_id: "ub".into(),
            field: "DirectManager".into(),
            entity: "User".into(),
            key: "boss".into(),
        })
        .unwrap();
        txn.push_outbox(&json!({"kind": "invite"})).unwrap();
        txn.append_history(history_record("bob", "FirstName"))
            .unwrap();
        txn.commit().unwrap();
    }
    store
        .append_log(&t("b"), &log_record(201, Outcome::Ok, None))
        .unwrap();

    let check = |view: &dyn StateView| {
        none(view.resource(ResourceKind::User, &rid("ub")));
        none(view.resource(ResourceKind::Group, &rid("gb")));
        none(view.entity(&rid("ub")));
        none(view.find_entity(&ty("User"), &f("UserName"), "bob"));
        none(view.find_entity(&ty("Group"), &f("Name"), "b group"));
        assert!(!view.is_member(&rid("gb"), &rid("ub")).unwrap());
        empty(view.members(&rid("gb")));
        empty(view.pending_refs(&ty("User"), &["boss"]));
        // The userName is taken elsewhere, without saying where.
        assert!(view.user_name_taken_elsewhere(&un("BOB")).unwrap());
    };
    let read = snapshot(&store, "a");
    check(&read);
    none(read.by_user_name(&un("bob")));
    none(read.body_by_external_id(ResourceKind::User, "ext-b"));
    none(read.group_body_by_name("b group"));
    empty(read.members_of(&rid("gb")));
    empty(read.groups_of(&rid("ub")));
    none(read.get_entity(&rid("ub")));
    empty(read.entities_of_type(&ty("User")));
    empty(read.list_ids(ResourceKind::User));
    empty(read.page(ResourceKind::User, 1, 100));
    assert_eq!(read.count(ResourceKind::User).unwrap(), 0);
    empty(read.outbox());
    drop(read);
    let write = store.write(&t("a")).unwrap();
    check(&write);
    none(write.get_resource(ResourceKind::User, &rid("ub")));
    drop(write);
    empty(store.history(&t("a"), None));
    empty(store.log(&t("a"), false));

    // Tenant b sees its own; its own userName is not "elsewhere".
    let read = snapshot(&store, "b");
    some(read.by_user_name(&un("BOB")));
    assert!(!read.user_name_taken_elsewhere(&un("bob")).unwrap());
    assert_eq!(read.members_of(&rid("gb")).unwrap(), ["ub"]);
    assert_eq!(read.outbox().unwrap().len(), 1);

    // Tenant a cannot take, nor release, b's userName.
    let mut txn = store.write(&t("a")).unwrap();
    assert!(matches!(
        txn.claim_user_name(&un("Bob"), &rid("ua")),
        Err(StoreError::UserNameTaken(_))
    ));
    assert!(!txn.release_user_name(&un("bob")).unwrap());
    txn.commit().unwrap();
    some(snapshot(&store, "b").by_user_name(&un("bob")));

    assert!(matches!(
        store.read(&t("c")),
        Err(StoreError::UnknownTenant(_))
    ));
    assert!(matches!(
        store.write(&t("c")),
        Err(StoreError::UnknownTenant(_))
    ));
}

#[test]
fn tenant_names_and_listing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("t.redb"));
    assert!(store.is_empty().unwrap());
    store.create_tenant("default").unwrap();
    assert!(!store.is_empty().unwrap());
    assert!(matches!(
        store.create_tenant("default"),
        Err(StoreError::TenantExists(_))
    ));
    for bad in ["", "a b", "ä", "x/y", &"x".repeat(65)] {
        assert!(
            matches!(
                store.create_tenant(bad),
                Err(StoreError::InvalidTenantName(_))
            ),
            "{bad:?}"
        );
    }
    store.create_tenant(&"A-z_9".repeat(12)).unwrap();
    let names: Vec<String> = store
        .list_tenants()
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_string())
        .collect();
    assert_eq!(names, ["A-z_9".repeat(12), "default".to_owned()]);
    assert!(store.tenant_exists(&t("default")).unwrap());
    assert!(!store.tenant_exists(&t("Default")).unwrap());
}

#[test]
fn keys_are_hashed_and_revocable() {
    let (_dir, path, store) = file_store("keys.redb");
    let (id, key) = store.create_key(&t("a"), "okta-integration").unwrap();
    assert!(key.starts_with("prv_") && key.len() == 4 + 64, "{key}");
    let info = store.authenticate(&key).unwrap().unwrap();
    assert_eq!(
        (info.key_id.as_str(), info.tenant.as_str()),
        (id.as_str(), "a")
    );
    assert_eq!(info.user, "okta-integration");

    none(store.authenticate("prv_wrong"));
    none(store.authenticate(""));
    let mut altered = key.clone();
    altered.pop();
    altered.push('x');
    none(store.authenticate(&altered));

    let (id2, key2) = store.create_key(&t("a"), "entra").unwrap();
    assert_ne!(key, key2);
    let listed = store.list_keys(&t("a")).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| !k.revoked && k.created == now()));

    store.revoke_key(&t("a"), &id).unwrap();
    none(store.authenticate(&key));
    some(store.authenticate(&key2));
    let revoked: Vec<bool> = {
        let mut keys = store.list_keys(&t("a")).unwrap();
        keys.sort_by(|x, y| x.key_id.cmp(&y.key_id));
        let mut expected: Vec<(String, bool)> = vec![(id.clone(), true), (id2.clone(), false)];
        expected.sort();
        assert_eq!(
            keys.iter()
                .map(|k| (k.key_id.clone(), k.revoked))
                .collect::<Vec<_>>(),
            expected
        );
        keys.iter().map(|k| k.revoked).collect()
    };
    assert_eq!(revoked.len(), 2);
    assert!(matches!(
        store.revoke_key(&t("a"), "key_nope"),
        Err(StoreError::UnknownKey(_))
    ));
    assert!(matches!(
        store.create_key(&t("zz"), "u"),
        Err(StoreError::UnknownTenant(_))
    ));
    assert!(matches!(
        store.list_keys(&t("zz")),
        Err(StoreError::UnknownTenant(_))
    ));

    // Neither key appears anywhere in the file.
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    for k in [&key, &key2] {
        let needle = k.as_bytes();
        let secret = &needle[4..];
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "key stored in clear"
        );
    }
}

#[test]
fn a_dropped_write_leaves_nothing() {
    let (_dir, store) = fresh();
    {
        let mut txn = store.write(&t("a")).unwrap();
        txn.claim_user_name(&un("ann"), &rid("u1")).unwrap();
        txn.put_resource(&user("u1", "ann", Some("e1")), &[f("UserName")])
            .unwrap();
        txn.add_member(&rid("g1"), &rid("u1")).unwrap();
        txn.push_outbox(&json!({})).unwrap();
        txn.append_history(history_record("ann", "FirstName"))
            .unwrap();
        // The transaction reads its own writes.
        some(txn.resource(ResourceKind::User, &rid("u1")));
        some(txn.find_entity(&ty("User"), &f("UserName"), "ANN"));
        assert!(txn.is_member(&rid("g1"), &rid("u1")).unwrap());
        // A snapshot taken meanwhile does not.
        none(snapshot(&store, "a").by_user_name(&un("ann")));
    }
    let read = snapshot(&store, "a");
    none(read.get_resource(ResourceKind::User, &rid("u1")));
    none(read.get_entity(&rid("u1")));
    none(read.body_by_external_id(ResourceKind::User, "e1"));
    assert!(!read.user_name_taken_elsewhere(&un("ann")).unwrap());
    empty(read.members_of(&rid("g1")));
    empty(read.outbox());
    assert_eq!(read.count(ResourceKind::User).unwrap(), 0);
    empty(store.history(&t("a"), None));
    // The name is free for another tenant.
    put_user(&store, "b", &user("u9", "ANN", None));

    // An explicit abort is the same.
    let mut txn = store.write(&t("a")).unwrap();
    txn.put_resource(&user("u2", "zed", None), &[]).unwrap();
    txn.abort().unwrap();
    none(snapshot(&store, "a").get_entity(&rid("u2")));
}

#[test]
fn a_snapshot_does_not_see_later_commits() {
    let (_dir, store) = fresh();
    let before = snapshot(&store, "a");
    put_user(&store, "a", &user("u1", "ann", None));
    none(before.get_resource(ResourceKind::User, &rid("u1")));
    some(snapshot(&store, "a").get_resource(ResourceKind::User, &rid("u1")));
}

#[test]
fn unique_key_index_follows_field_changes() {
    let (_dir, store) = fresh();
    let mut entity = Entity {
        id: "e1".into(),
        entity_type: "JobTitle".into(),
        fields: string_fields(&[("Name", "Engineer"), ("Code", "ENG")]),
        lifecycle: Lifecycle::Active,
        managed: false,
    };
    let mut txn = store.write(&t("a")).unwrap();
    txn.put_entity(&entity, &[f("Name"), f("Code")]).unwrap();
    txn.commit().unwrap();
    let find = |field: &str, value: &str| {
        snapshot(&store, "a")
            .find_entity(&ty("JobTitle"), &f(field), value)
            .unwrap()
            .map(|e| e.id)
    };
    assert_eq!(find("Name", "ENGINEER"), Some("e1".into()));
    assert_eq!(find("Code", "eng"), Some("e1".into()));
    assert_eq!(find("Name", "eng"), None);
    assert_eq!(
        snapshot(&store, "a")
            .find_entity(&ty("User"), &f("Name"), "engineer")
            .unwrap(),
        None
    );

    // A changed value moves; a field no longer unique leaves the index.
    entity.fields = string_fields(&[("Name", "Senior Engineer"), ("Code", "ENG")]);
    let mut txn = store.write(&t("a")).unwrap();
    txn.put_entity(&entity, &[f("Name")]).unwrap();
    txn.commit().unwrap();
    assert_eq!(find("Name", "engineer"), None);
    assert_eq!(find("Name", "senior engineer"), Some("e1".into()));
    assert_eq!(find("Code", "ENG"), None);

    // Another entity cannot take the same value; the failed transaction is dropped.
    let other = Entity {
        id: "e2".into(),
        entity_type: "JobTitle".into(),
        fields: string_fields(&[("Name", "SENIOR ENGINEER")]),
        lifecycle: Lifecycle::Active,
        managed: false,
    };
    let mut txn = store.write(&t("a")).unwrap();
    assert!(matches!(
        txn.put_entity(&other, &[f("Name")]),
        Err(StoreError::DuplicateKey { .. })
    ));
    drop(txn);
    assert_eq!(find("Name", "senior engineer"), Some("e1".into()));

    // A deleted entity is not found and frees its values.
    entity.lifecycle = Lifecycle::Deleted;
    let mut txn = store.write(&t("a")).unwrap();
    txn.put_entity(&entity, &[f("Name")]).unwrap();
    txn.put_entity(&other, &[f("Name")]).unwrap();
    txn.commit().unwrap();
    assert_eq!(find("Name", "senior engineer"), Some("e2".into()));
    let read = snapshot(&store, "a");
    assert_eq!(read.entities_of_type(&ty("JobTitle")).unwrap().len(), 2);
    assert_eq!(
        read.get_entity(&rid("e1")).unwrap().unwrap().lifecycle,
        Lifecycle::Deleted
    );
}

#[test]
fn memberships_both_directions() {
    let (_dir, store) = fresh();
    let mut txn = store.write(&t("a")).unwrap();
    for u in ["u1", "u2", "u3"] {
        txn.put_resource(&user(u, u, None), &[]).unwrap();
    }
    for g in ["g1", "g2"] {
        txn.put_resource(&group(g, g), &[]).unwrap();
    }
    assert!(txn.add_member(&rid("g1"), &rid("u2")).unwrap());
    assert!(txn.add_member(&rid("g1"), &rid("u1")).unwrap());
    assert!(!txn.add_member(&rid("g1"), &rid("u1")).unwrap());
    assert!(txn.add_member(&rid("g1"), &rid("u3")).unwrap());
    assert!(txn.add_member(&rid("g2"), &rid("u1")).unwrap());
    txn.commit().unwrap();

    let read = snapshot(&store, "a");
    assert_eq!(read.members_of(&rid("g1")).unwrap(), ["u1", "u2", "u3"]);
    assert_eq!(read.members(&rid("g1")).unwrap(), ["u1", "u2", "u3"]);
    assert_eq!(read.groups_of(&rid("u1")).unwrap(), ["g1", "g2"]);
    assert!(read.is_member(&rid("g2"), &rid("u1")).unwrap());
    assert!(!read.is_member(&rid("g2"), &rid("u2")).unwrap());
    drop(read);

    let mut txn = store.write(&t("a")).unwrap();
    assert!(txn.remove_member(&rid("g1"), &rid("u2")).unwrap());
    assert!(!txn.remove_member(&rid("g1"), &rid("u2")).unwrap());
    empty(txn.groups_of(&rid("u2")));
    // Deleting a user removes it from its groups.
    txn.delete_resource(ResourceKind::User, &rid("u1")).unwrap();
    assert_eq!(txn.members_of(&rid("g1")).unwrap(), ["u3"]);
    empty(txn.members_of(&rid("g2")));
    txn.commit().unwrap();

    let mut txn = store.write(&t("a")).unwrap();
    txn.add_member(&rid("g2"), &rid("u3")).unwrap();
    assert!(txn.remove_member(&rid("g1"), &rid("u3")).unwrap());
    assert_eq!(txn.groups_of(&rid("u3")).unwrap(), ["g2"]);
    // Deleting a group removes its rows in both directions.
    txn.delete_resource(ResourceKind::Group, &rid("g2"))
        .unwrap();
    empty(txn.groups_of(&rid("u3")));
    empty(txn.members_of(&rid("g2")));
    txn.commit().unwrap();
}

#[test]
fn pending_refs_by_key_case_insensitive() {
    let (_dir, store) = fresh();
    let manager_by_name = PendingRef {
        user_id: "u2".into(),
        field: "DirectManager".into(),
        entity: "User".into(),
        key: "Boss@Example.com".into(),
    };
    let manager_by_id = PendingRef {
        user_id: "u1".into(),
        field: "DirectManager".into(),
        entity: "User".into(),
        key: "m-42".into(),
    };
    let mut txn = store.write(&t("a")).unwrap();
    txn.add_pending(&manager_by_name).unwrap();
    txn.add_pending(&manager_by_id).unwrap();
    txn.add_pending(&manager_by_id).unwrap();
    txn.commit().unwrap();

    let read = snapshot(&store, "a");
    assert_eq!(
        read.pending_refs(&ty("User"), &["M-42", "boss@example.COM", "m-42"])
            .unwrap(),
        vec![manager_by_id.clone(), manager_by_name.clone()]
    );
    empty(read.pending_refs(&ty("JobTitle"), &["m-42"]));
    empty(read.pending_refs(&ty("User"), &[]));
    drop(read);

    let mut txn = store.write(&t("a")).unwrap();
    assert!(txn.remove_pending(&manager_by_id).unwrap());
    assert!(!txn.remove_pending(&manager_by_id).unwrap());
    txn.commit().unwrap();
    assert_eq!(
        snapshot(&store, "a")
            .pending_refs(&ty("User"), &["m-42", "BOSS@example.com"])
            .unwrap(),
        vec![manager_by_name]
    );
}

#[test]
fn history_appends_and_filters_by_user() {
    let (_dir, store) = fresh();
    let mut txn = store.write(&t("a")).unwrap();
    assert_eq!(
        txn.append_history(history_record("Ann", "FirstName"))
            .unwrap(),
        1
    );
    assert_eq!(
        txn.append_history(history_record("bob", "FirstName"))
            .unwrap(),
        2
    );
    txn.commit().unwrap();
    let mut txn = store.write(&t("a")).unwrap();
    // A given time is ignored: the store stamps every record with its clock.
    let mut explicit = history_record("ANN", "lifecycle");
    explicit.time = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    assert_eq!(txn.append_history(explicit).unwrap(), 3);
    txn.commit().unwrap();
    let mut txn = store.write(&t("b")).unwrap();
    assert_eq!(txn.append_history(history_record("ann", "X")).unwrap(), 1);
    txn.commit().unwrap();

    let all = store.history(&t("a"), None).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].time, now());
    assert_eq!(all[2].time, now());
    let ann = store.history(&t("a"), Some("ann")).unwrap();
    assert_eq!(
        ann.iter().map(|r| r.field.as_str()).collect::<Vec<_>>(),
        ["FirstName", "lifecycle"]
    );
    empty(store.history(&t("a"), Some("nobody")));
    assert!(matches!(
        store.history(&t("zz"), None),
        Err(StoreError::UnknownTenant(_))
    ));
}

#[test]
fn log_masks_and_filters() {
    let (_dir, store) = fresh();
    let body = json!({"userName": "ann", "password": "hunter2", "groups": []});
    assert_eq!(
        store
            .append_log(&t("a"), &log_record(201, Outcome::Ok, Some(body)))
            .unwrap(),
        1
    );
    {
        // A failed operation rolled back; the log still records it.
        let mut txn = store.write(&t("a")).unwrap();
        txn.put_resource(&user("u1", "ann", None), &[]).unwrap();
        drop(txn);
        assert_eq!(
            store
                .append_log(&t("a"), &log_record(409, Outcome::Rejected, None))
                .unwrap(),
            2
        );
    }
    assert_eq!(
        store
            .append_log(&t("a"), &log_record(400, Outcome::Failed, None))
            .unwrap(),
        3
    );

    let all = store.log(&t("a"), false).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].time, now());
    assert_eq!(all[0].request.as_ref().unwrap()["password"], "********");
    let failed = store.log(&t("a"), true).unwrap();
    assert_eq!(
        failed.iter().map(|r| r.status).collect::<Vec<_>>(),
        [409, 400]
    );
    empty(store.log(&t("b"), false));
    assert!(matches!(
        store.append_log(&t("zz"), &log_record(200, Outcome::Ok, None)),
        Err(StoreError::UnknownTenant(_))
    ));
}

#[test]
fn outbox_and_overlays() {
    let (_dir, store) = fresh();
    let mut txn = store.write(&t("a")).unwrap();
    assert_eq!(
        txn.push_outbox(&json!({"suppressed": "invite"})).unwrap(),
        1
    );
    assert_eq!(txn.push_outbox(&json!({"n": 2})).unwrap(), 2);
    txn.commit().unwrap();
    let outbox = snapshot(&store, "a").outbox().unwrap();
    assert_eq!(
        outbox,
        vec![(1, json!({"suppressed": "invite"})), (2, json!({"n": 2}))]
    );

    assert_eq!(store.overlay(&t("a")).unwrap(), None);
    assert_eq!(store.save_overlay(&t("a"), "v1", "test").unwrap(), 1);
    assert_eq!(store.save_overlay(&t("a"), "v2", "test").unwrap(), 2);
    assert_eq!(store.save_overlay(&t("b"), "other", "test").unwrap(), 1);
    assert_eq!(store.overlay(&t("a")).unwrap(), Some((2, "v2".to_owned())));
    assert_eq!(store.overlays(&t("a")).unwrap().len(), 2);
}

#[test]
fn import_json_and_csv() {
    let (_dir, store) = fresh();
    let json = r#"{"users": [{"UserName": "Ann@x.io", "FirstName": "Ann"}, {"username": "bob@x.io"}],
                  "groups": [{"Name": "Clarizen Users"}]}"#;
    let summary = store
        .import_entities(&t("a"), &parse_import(json).unwrap())
        .unwrap();
    assert_eq!((summary.count("User"), summary.count("Group")), (2, 1));
    let csv = "type,UserName,FirstName,LastName,Email,Name\nUser,carol@x.io,Carol,C,carol@x.io,\nGroup,,,,,Sales\n";
    let summary = store
        .import_entities(&t("a"), &parse_import(csv).unwrap())
        .unwrap();
    assert_eq!((summary.count("User"), summary.count("Group")), (1, 1));

    let read = snapshot(&store, "a");
    let ann = read
        .find_entity(&ty("User"), &f("UserName"), "ann@X.IO")
        .unwrap()
        .unwrap();
    assert!(!ann.managed);
    assert_eq!(ann.lifecycle, Lifecycle::Active);
    assert_eq!(ann.fields["FirstName"], FieldValue::String("Ann".into()));
    some(read.find_entity(&ty("User"), &f("UserName"), "BOB@x.io"));
    some(read.find_entity(&ty("Group"), &f("Name"), "clarizen users"));
    let carol = read
        .find_entity(&ty("User"), &f("UserName"), "carol@x.io")
        .unwrap()
        .unwrap();
    assert_eq!(
        carol.fields["Email"],
        FieldValue::String("carol@x.io".into())
    );
    assert!(!carol.fields.contains_key("Name"));
    // Imported entities are not SCIM resources.
    assert_eq!(read.count(ResourceKind::User).unwrap(), 0);
    assert_eq!(read.entities_of_type(&ty("User")).unwrap().len(), 3);
    // The userNames are claimed globally.
    drop(read);
    assert!(
        snapshot(&store, "b")
            .user_name_taken_elsewhere(&un("ANN@x.io"))
            .unwrap()
    );
    assert_eq!(store.history(&t("a"), Some("ann@x.io")).unwrap().len(), 1);
}

#[test]
fn import_conflicts_roll_back_everything() {
    let (_dir, store) = fresh();
    put_user(&store, "b", &user("ub", "taken@x.io", None));
    let before = snapshot(&store, "a")
        .entities_of_type(&ty("User"))
        .unwrap()
        .len();

    let cases = [
        // taken in another tenant
        "type,UserName\nUser,fresh1@x.io\nUser,TAKEN@x.io\n",
        // twice in the file
        "type,UserName\nUser,dup@x.io\nUser,Dup@x.io\n",
        // group twice
        "type,Name\nGroup,G\nGroup,g\n",
        // missing key
        "type,UserName,FirstName\nUser,ok@x.io,A\nUser,,B\n",
        // unknown type
        "type,UserName\nRobot,r2\n",
    ];
    for csv in cases {
        let records = parse_import(csv).unwrap();
        let error = store.import_entities(&t("a"), &records).unwrap_err();
        assert!(matches!(error, StoreError::Import(_)), "{csv}: {error}");
    }
    let read = snapshot(&store, "a");
    assert_eq!(read.entities_of_type(&ty("User")).unwrap().len(), before);
    empty(read.entities_of_type(&ty("Group")));
    assert!(!read.user_name_taken_elsewhere(&un("fresh1@x.io")).unwrap());
    assert!(
        !snapshot(&store, "b")
            .user_name_taken_elsewhere(&un("fresh1@x.io"))
            .unwrap()
    );
    empty(store.history(&t("a"), None));
    assert!(matches!(
        store.import_entities(&t("zz"), &[]),
        Err(StoreError::UnknownTenant(_))
    ));
}

#[test]
fn a_held_database_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.redb");
    let first = Store::open(&path).unwrap();
    let clone = first.clone();
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(
        error.to_string().contains("in use by a running server"),
        "{error}"
    );
    drop(first);
    drop(clone);
    Store::open(&path).unwrap();
}

// ---- the CLI, through the real binary ----

fn provisio(db: &Path, args: &[&str]) -> (bool, String, String) {
    let output = crate::binary::provisio(db, args);
    (
        output.status.code() == Some(0),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The command `args` refuses a missing database, and does not make one.
#[track_caller]
fn refuses_a_missing_database(dir: &Path, args: &[&str]) {
    let absent = dir.join("absent.redb");
    let (ok, _, stderr) = provisio(&absent, args);
    assert!(!ok && stderr.contains("no database"), "{stderr}");
    assert!(!absent.exists());
}

#[test]
fn cli_tenant_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");

    let (ok, _, stderr) = provisio(&db, &["tenant", "list"]);
    assert!(!ok && stderr.contains("no database"), "{stderr}");

    let (ok, stdout, stderr) = provisio(&db, &["tenant", "create", "acme"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("acme"));
    let (ok, _, stderr) = provisio(&db, &["tenant", "create", "acme"]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let (ok, stdout, stderr) = provisio(
        &db,
        &["key", "create", "--tenant", "acme", "--user", "okta"],
    );
    assert!(ok, "{stderr}");
    let key = stdout.lines().last().unwrap().to_owned();
    assert!(key.starts_with("prv_") && !key.contains(' '), "{stdout}");

    let (ok, _, stderr) = provisio(&db, &["key", "create", "--tenant", "nope"]);
    assert!(!ok && stderr.contains("unknown tenant `nope`"), "{stderr}");

    let (ok, stdout, _) = provisio(&db, &["key", "list", "--tenant", "acme"]);
    assert!(ok);
    assert!(stdout.contains("okta") && stdout.contains("no"), "{stdout}");
    assert!(!stdout.contains(&key[4..]), "key list shows the key");
    let key_id = stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let (ok, stdout, _) = provisio(&db, &["tenant", "list"]);
    assert!(ok && stdout.contains("acme"));

    // The key authenticates, until revoked.
    {
        let store = Store::open(&db).unwrap();
        assert_eq!(store.authenticate(&key).unwrap().unwrap().tenant, "acme");
    }
    let (ok, _, stderr) = provisio(&db, &["key", "revoke", "--tenant", "acme", &key_id]);
    assert!(ok, "{stderr}");
    let store = Store::open(&db).unwrap();
    none(store.authenticate(&key));

    // While the database is held, every command fails at once, touching nothing.
    let import = dir.path().join("import.csv");
    std::fs::write(&import, "type,UserName\nUser,ann@x.io\n").unwrap();
    let import = import.to_str().unwrap();
    for args in [
        &["tenant", "create", "other"][..],
        &["tenant", "list"],
        &["key", "create", "--tenant", "acme"],
        &["key", "list", "--tenant", "acme"],
        &["key", "revoke", "--tenant", "acme", &key_id],
        &["entities", "import", "--tenant", "acme", import],
        &["history", "--tenant", "acme"],
        &["log", "--tenant", "acme", "--failed"],
    ] {
        let (ok, stdout, stderr) = provisio(&db, args);
        assert!(!ok, "{args:?}");
        assert!(
            stderr.contains("in use by a running server"),
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    drop(store);
    assert_eq!(Store::open(&db).unwrap().list_tenants().unwrap().len(), 1);
}

#[test]
fn cli_import_history_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");
    assert!(provisio(&db, &["tenant", "create", "acme"]).0);
    let file = dir.path().join("people.json");
    std::fs::write(
        &file,
        r#"{"users":[{"UserName":"ann@x.io"}],"groups":[{"Name":"Sales"}]}"#,
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (ok, stdout, stderr) = provisio(&db, &["entities", "import", "--tenant", "acme", file]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 users and 1 groups"), "{stdout}");
    let (ok, _, stderr) = provisio(&db, &["entities", "import", "--tenant", "acme", file]);
    assert!(!ok && stderr.contains("already taken"), "{stderr}");
    let (ok, _, stderr) = provisio(&db, &["entities", "import", "--tenant", "nope", file]);
    assert!(!ok && stderr.contains("unknown tenant"), "{stderr}");

    {
        let store = Store::open(&db).unwrap();
        store
            .append_log(
                &t("acme"),
                &log_record(409, Outcome::Rejected, Some(json!({"password": "hunter2"}))),
            )
            .unwrap();
        store
            .append_log(&t("acme"), &log_record(201, Outcome::Ok, None))
            .unwrap();
    }
    let (ok, stdout, _) = provisio(&db, &["history", "--tenant", "acme", "--user", "ANN@x.io"]);
    assert!(ok);
    assert!(
        stdout.contains("User ann@x.io") && stdout.contains("(empty) -> Active"),
        "{stdout}"
    );
    assert!(!stdout.contains("Group"), "{stdout}");
    let (ok, stdout, _) = provisio(&db, &["log", "--tenant", "acme", "--failed"]);
    assert!(ok);
    assert!(
        stdout.contains("409") && stdout.contains("uniqueness"),
        "{stdout}"
    );
    assert!(!stdout.contains("201"), "{stdout}");
    assert!(!stdout.contains("hunter2"));
    let (ok, _, stderr) = provisio(&db, &["log", "--tenant", "nope"]);
    assert!(!ok && stderr.contains("unknown tenant"), "{stderr}");
}

#[test]
fn pending_refs_of_a_user() {
    let (_dir, store) = fresh();
    let pending = |user: &str, entity: &str, key: &str| PendingRef {
        user_id: user.into(),
        field: "DirectManager".into(),
        entity: entity.into(),
        key: key.into(),
    };
    let mut txn = store.write(&t("a")).unwrap();
    txn.add_pending(&pending("u1", "User", "boss")).unwrap();
    txn.add_pending(&pending("u1", "JobTitle", "Eng")).unwrap();
    txn.add_pending(&pending("u2", "User", "boss")).unwrap();
    txn.commit().unwrap();
    let mut txn = store.write(&t("b")).unwrap();
    txn.add_pending(&pending("u1", "User", "other")).unwrap();
    txn.commit().unwrap();
    let read = snapshot(&store, "a");
    assert_eq!(
        read.pending_of(&rid("u1")).unwrap(),
        vec![
            pending("u1", "JobTitle", "Eng"),
            pending("u1", "User", "boss")
        ]
    );
    empty(read.pending_of(&rid("u3")));
}

/// A write of a user named `name` to `tenant`, planned on the tenant's current snapshot
/// with the shipped rules. `stale_reads`: drop what the plan read (so the writer cannot
/// see that the state changed), to make a write whose apply fails part-way.
fn planned_create(store: &Store, tenant: &str, name: &str, stale_reads: bool) -> PlannedWrite {
    let rules = provisio::check::load_checked(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen"),
        None,
    )
    .unwrap();
    let profile = Profile::new(Arc::new(rules));
    let op = ScimOp::from_route(
        &Route::Create(ResourceKind::User),
        Some(json!({"userName": name, "name": {"givenName": "G", "familyName": "F"}})),
    )
    .unwrap();
    let read = store.read(&t(tenant)).unwrap();
    let recorder = provisio::domain::Recorder::new(&read);
    let plan = provisio::eval::plan(&profile.rules, &op, &recorder, store.ids()).unwrap();
    let reads = if stale_reads {
        provisio::domain::ReadSet::default()
    } else {
        recorder.into_reads()
    };
    PlannedWrite::new(t(tenant), plan, profile.unique, "test", reads, None).unwrap()
}

#[test]
fn an_operations_changes_are_one_history_row_numbered_each_and_paged_across() {
    let (_dir, store) = fresh();
    // A change written alone first (the form rows had before changes were grouped).
    let mut txn = store.write(&t("a")).unwrap();
    assert_eq!(
        txn.append_history(history_record("old", "Title")).unwrap(),
        1
    );
    txn.commit().unwrap();
    store
        .commit(planned_create(&store, "a", "ann@ex.com", false))
        .unwrap();
    store
        .commit(planned_create(&store, "a", "bob@ex.com", false))
        .unwrap();

    let all = store.history(&t("a"), None).unwrap();
    let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let ann = store.history(&t("a"), Some("ANN@ex.com")).unwrap();
    assert!(ann.len() > 2, "{ann:?}");
    assert!(ann.iter().all(|r| r.time == ann[0].time));
    // Three rows: the old one and one per create.
    assert_eq!(store.usage(0).unwrap().table("history").unwrap().rows, 3);

    // Pages of two walk every change once, newest first, splitting rows.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let query = provisio::store::PageQuery {
            before,
            limit: 2,
            ..Default::default()
        };
        let page = store.history_page(&t("a"), &query).unwrap();
        assert!(page.items.len() <= 2);
        walked.extend(page.items.iter().map(|r| r.seq));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut newest_first = seqs.clone();
    newest_first.reverse();
    assert_eq!(walked, newest_first);
}

#[test]
fn writes_queued_together_stay_all_or_nothing_each() {
    let (_dir, store) = fresh();
    // Planned on snapshots where nothing conflicts. Then tenant b takes the fourth one's
    // name; that write keeps no record of what it read, so the writer cannot see the
    // change, and its apply fails after writing part of its work (dirty).
    let writes = vec![
        planned_create(&store, "a", "one@ex.com", false),
        planned_create(&store, "b", "two@ex.com", false),
        planned_create(&store, "a", "three@ex.com", false),
        planned_create(&store, "a", "taken@ex.com", true),
        planned_create(&store, "a", "five@ex.com", false),
    ];
    put_user(&store, "b", &user("ub", "taken@ex.com", None));
    let ids: Vec<ResourceId> = writes.iter().map(|w| w.plan.entity.id.clone()).collect();
    let results = store.commit_all(writes);
    assert_eq!(results.len(), 5);
    for (n, result) in results.iter().enumerate() {
        if n == 3 {
            assert!(
                matches!(result, Err(StoreError::UserNameTaken(_))),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "write {n}: {result:?}");
        }
    }
    let a = snapshot(&store, "a");
    let b = snapshot(&store, "b");
    for (n, id) in ids.iter().enumerate() {
        let view = if n == 1 { &b } else { &a };
        assert_eq!(
            view.get_resource(ResourceKind::User, id).unwrap().is_some(),
            n != 3,
            "write {n}"
        );
    }
    // Nothing of the failed write is left: no entity, no history, the name still b's.
    none(a.get_entity(&ids[3]));
    some(b.by_user_name(&un("taken@ex.com")));
    let history = store.history(&t("a"), Some("taken@ex.com")).unwrap();
    assert!(history.is_empty(), "{history:?}");
    // Tenant scoping holds inside a batch: b's write is not visible to a.
    none(a.get_entity(&ids[1]));
}

#[test]
fn a_write_planned_on_changed_state_is_refused_and_writes_nothing() {
    let (_dir, store) = fresh();
    let first = planned_create(&store, "a", "same@ex.com", false);
    let second = planned_create(&store, "b", "same@ex.com", false);
    let first_id = first.plan.entity.id.clone();
    let second_id = second.plan.entity.id.clone();
    // Queued together: the second was planned before the first claimed the name.
    let results = store.commit_all(vec![first, second]);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(&results[1], Err(StoreError::Conflict(what)) if what.contains("same@ex.com")),
        "{:?}",
        results[1]
    );
    some(snapshot(&store, "a").get_resource(ResourceKind::User, &first_id));
    let b = snapshot(&store, "b");
    none(b.get_entity(&second_id));
    assert_eq!(b.count(ResourceKind::User).unwrap(), 0);
}

#[test]
fn a_write_for_an_unknown_tenant_fails_alone() {
    let (_dir, store) = fresh();
    let ok1 = planned_create(&store, "a", "ok1@ex.com", false);
    let mut lost = planned_create(&store, "a", "lost@ex.com", false);
    lost.tenant = t("nope");
    let ok2 = planned_create(&store, "a", "ok2@ex.com", false);
    let results = store.commit_all(vec![ok1, lost, ok2]);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(StoreError::UnknownTenant(_))));
    assert!(results[2].is_ok());
    assert_eq!(snapshot(&store, "a").count(ResourceKind::User).unwrap(), 2);
}

/// The shipped profile's unique fields.
fn shipped_unique() -> provisio::domain::UniqueFields {
    let rules = provisio::check::load_checked(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen"),
        None,
    )
    .unwrap();
    Arc::unwrap_or_clone(Profile::new(Arc::new(rules)).unique)
}

#[test]
fn verify_passes_a_consistent_database_and_names_each_inconsistency() {
    let (_dir, path, store) = file_store("verify.redb");
    store.create_tenant("b").unwrap();
    for (tenant, name) in [("a", "ann@ex.com"), ("a", "bob@ex.com"), ("b", "cy@ex.com")] {
        store
            .commit(planned_create(&store, tenant, name, false))
            .unwrap();
    }
    put_group(&store, "a", &group("g1", "Sales"));
    let ann = snapshot(&store, "a")
        .by_user_name(&un("ann@ex.com"))
        .unwrap()
        .unwrap();
    let mut txn = store.write(&t("a")).unwrap();
    txn.add_member(&rid("g1"), ann.id()).unwrap();
    txn.commit().unwrap();
    store
        .import_entities(
            &t("a"),
            &parse_import("type,UserName\nUser,legacy@ex.com\n").unwrap(),
        )
        .unwrap();
    let unique = shipped_unique();
    let report = store.verify(&unique).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert!(report.rows["resources"] >= 4, "{:?}", report.rows);

    // Break it three ways, below the store's invariants.
    let mut txn = store.write(&t("a")).unwrap();
    txn.claim_user_name(&un("ghost@ex.com"), &rid("nobody"))
        .unwrap();
    txn.put_resource(
        &user("u-unclaimed", "unclaimed@ex.com", None),
        &[f("UserName")],
    )
    .unwrap();
    let mut dangling = ann.entity.clone();
    dangling.fields.insert(
        f("DirectManager"),
        FieldValue::Ref {
            entity: ty("User"),
            id: rid("missing-manager"),
        },
    );
    txn.put_entity(&dangling, &[f("UserName")]).unwrap();
    txn.commit().unwrap();
    let report = store.verify(&unique).unwrap();
    let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(report.problems.len(), 3, "{text:#?}");
    assert!(
        text.iter()
            .any(|p| p.starts_with("entities:") && p.contains("missing-manager")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("user_names:") && p.contains("ghost@ex.com")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("u-unclaimed") && p.contains("not claimed")),
        "{text:#?}"
    );

    // The command line says the same, and exits 1.
    drop(store);
    let (ok, stdout, stderr) = provisio(&path, &["db", "verify"]);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("ghost@ex.com") && stdout.contains("missing-manager"),
        "{stdout}"
    );
    assert!(stderr.contains("3 inconsistencies"), "{stderr}");
}

/// A store on a file holding one provisioned user, `ann@ex.com` of tenant `a`.
fn file_store_with_ann(name: &str) -> (tempfile::TempDir, PathBuf, Store) {
    let (dir, path, store) = file_store(name);
    store
        .commit(planned_create(&store, "a", "ann@ex.com", false))
        .unwrap();
    (dir, path, store)
}

#[test]
fn verify_from_the_command_line_on_a_clean_database() {
    let (dir, path, store) = file_store_with_ann("clean.redb");
    drop(store);
    let (ok, stdout, stderr) = provisio(&path, &["db", "verify"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("consistent"), "{stdout}");
    refuses_a_missing_database(dir.path(), &["db", "verify"]);
}

#[cfg(unix)]
#[test]
fn a_new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, _store) = file_store("private.redb");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn retention_trims_by_count_and_age_and_the_file_stops_growing() {
    let (_dir, path, store) = file_store("retention.redb");
    let retention = provisio::store::Retention {
        history_days: 365,
        history_count: 500,
        log_days: 90,
        log_count: 500,
    };
    let mut sizes = Vec::new();
    for round in 0..6 {
        for _ in 0..10 {
            let mut txn = store.write(&t("a")).unwrap();
            for n in 0..300 {
                let body = json!({"userName": format!("user{round}-{n}@ex.com"), "padding": "x".repeat(2000)});
                txn.append_log(&log_record(200, Outcome::Ok, Some(body)))
                    .unwrap();
                txn.append_history(history_record("ann", "Title")).unwrap();
            }
            txn.commit().unwrap();
        }
        let trimmed = store.enforce_retention(&retention).unwrap();
        assert_eq!(
            trimmed.log,
            if round == 0 { 2_500 } else { 3_000 },
            "round {round}"
        );
        assert_eq!(store.log(&t("a"), false).unwrap().len(), 500);
        assert_eq!(store.history(&t("a"), None).unwrap().len(), 500);
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    // The newest are kept, with their sequence numbers.
    let log = store.log(&t("a"), false).unwrap();
    assert_eq!(log.last().unwrap().seq, 18_000);
    assert_eq!(log.first().unwrap().seq, 17_501);
    // Once retention applies, the file reuses its freed pages instead of growing.
    assert!(
        sizes[5] <= sizes[2] + sizes[2] / 10,
        "the file kept growing: {sizes:?}"
    );
    // Without retention it would hold the ~36 MB written.
    assert!(sizes[5] < 24 << 20, "{sizes:?}");
    // Nothing is kept by age that is too old, and a queued notification always stays.
    let mut txn = store.write(&t("a")).unwrap();
    txn.push_outbox(
        &json!({"kind": "invitation", "status": "queued", "time": "2000-01-01T00:00:00Z"}),
    )
    .unwrap();
    txn.push_outbox(
        &json!({"kind": "invitation", "status": "suppressed", "time": "2000-01-01T00:00:00Z"}),
    )
    .unwrap();
    txn.commit().unwrap();
    let trimmed = store.enforce_retention(&retention).unwrap();
    assert_eq!(trimmed.outbox, 1);
    let outbox = snapshot(&store, "a").outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].1["status"], json!("queued"));
    let report = store.verify(&shipped_unique()).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}

#[test]
fn stats_count_every_table_row_and_the_bytes_per_resource() {
    let (dir, path, store) = file_store("stats.redb");
    for name in ["ann@ex.com", "bob@ex.com", "cy@ex.com"] {
        store
            .commit(planned_create(&store, "a", name, false))
            .unwrap();
    }
    let file = std::fs::metadata(&path).unwrap().len();
    let usage = store.usage(file).unwrap();
    assert_eq!(usage.table("resources").map(|t| t.rows), Some(3));
    assert_eq!(usage.table("user_names").map(|t| t.rows), Some(3));
    assert_eq!(usage.table("tenants").map(|t| t.rows), Some(1));
    let resources = usage.table("resources").unwrap();
    assert!(resources.stored > 0 && resources.total() >= resources.stored);
    assert!(usage.in_tables() <= usage.file_bytes, "{usage:?}");
    let totals: Vec<u64> = usage
        .tables
        .iter()
        .map(provisio::store::TableUsage::total)
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "largest first");
    drop(store);
    let (ok, stdout, stderr) = provisio(&path, &["db", "stats"]);
    assert!(ok, "{stdout}{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("resources "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(row.split_whitespace().nth(1), Some("3"), "{row}");
    assert!(stdout.contains("per stored resource (3)"), "{stdout}");
    refuses_a_missing_database(dir.path(), &["db", "stats"]);
}

#[test]
fn compact_gives_freed_pages_back_and_keeps_every_row() {
    let (dir, path, store) = file_store_with_ann("compact.redb");
    // ~20,000 history rows, then retention keeps 100: their pages are free but the file
    // keeps its size.
    for _ in 0..4 {
        let mut txn = store.write(&t("a")).unwrap();
        txn.append_history_all((0..5000).map(|_| history_record("ann", "FirstName")))
            .unwrap();
        txn.commit().unwrap();
    }
    let retention = provisio::store::Retention {
        history_days: 365_000,
        history_count: 100,
        log_days: 365_000,
        log_count: 100,
    };
    store.enforce_retention(&retention).unwrap();
    let kept = store.history(&t("a"), None).unwrap().len();
    drop(store);
    let grown = std::fs::metadata(&path).unwrap().len();

    let (ok, stdout, stderr) = provisio(&path, &["db", "compact"]);
    assert!(ok, "{stdout}{stderr}");
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after < grown / 2, "{grown} -> {after}: {stdout}");
    assert!(
        stdout.contains(&format!("{grown} bytes before, {after} after")),
        "{stdout}"
    );

    // Every row reads back, and every index still agrees with it.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.history(&t("a"), None).unwrap().len(), kept);
    let read = snapshot(&store, "a");
    assert!(read.user_body_by_name(&un("ann@ex.com")).unwrap().is_some());
    drop(read);
    let report = store.verify(&shipped_unique()).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);

    // An open database is refused with the lock error, and left as it was.
    let (ok, _, stderr) = provisio(&path, &["db", "compact"]);
    assert!(!ok && stderr.contains("in use"), "{stderr}");
    drop(store);
    refuses_a_missing_database(dir.path(), &["db", "compact"]);
}
