//! The Clarizen One defaults of `rules/clarizen`, observed through SCIM and through the
//! store's change history, outbox and pending references.

use std::process::Command;

use provisio::domain::FieldValue;
use provisio::store::{HistoryRecord, Store};
use serde_json::json;

use super::support::{Client, ENTERPRISE, SYNC_GROUP, Server, lifecycle, okta_user};

/// The `file:line` of the rule in `default.rules` whose text contains `needle`.
fn rule(needle: &str) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/clarizen/default.rules"
    ))
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no rule `{needle}`"));
    format!("default.rules:{}", line + 1)
}

/// The lifecycle history entries of one entity, as `(before, after, rule)`.
fn lifecycle_history(
    store: &Store,
    tenant: &str,
    id: &str,
) -> Vec<(Option<String>, Option<String>, String)> {
    store
        .history(&tenant.into(), None)
        .unwrap()
        .into_iter()
        .filter(|r: &HistoryRecord| r.entity_id == id && r.field.eq_ignore_ascii_case("lifecycle"))
        .map(|r| (r.before, r.after, r.rule))
        .collect()
}

fn field(store: &Store, id: &str, name: &str) -> Option<FieldValue> {
    let entity = store
        .read(&"acme".into())
        .unwrap()
        .get_entity(&id.into())
        .unwrap()
        .unwrap();
    entity.fields.get(name).cloned()
}

fn user_ref(id: &str) -> FieldValue {
    FieldValue::Ref {
        entity: "User".into(),
        id: id.into(),
    }
}

fn add_member(client: &Client, group: &str, user: &str) {
    let response = client.patch_ops(
        &format!("/Groups/{group}"),
        json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
}

#[test]
fn deactivate_suspends_with_a_history_entry() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("leaver@ex.com");
    okta.create_group(SYNC_GROUP, &[&id]);
    okta.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .expect(200);
    assert_eq!(lifecycle(&server.store, "acme", &id), "Suspended");
    let entries = lifecycle_history(&server.store, "acme", &id);
    let last = entries.last().unwrap();
    assert_eq!(last.1.as_deref(), Some("Suspended"), "{entries:?}");
    assert!(
        [
            rule("on deactivated"),
            rule("on updated when active == false")
        ]
        .contains(&last.2),
        "{entries:?}"
    );
    // The operator sees the same through the CLI, once the server is gone.
    let (_dir, db) = server.finish();
    let output = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args([
            "history",
            "--tenant",
            "acme",
            "--user",
            "leaver@ex.com",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("Suspended"), "{stdout}");
    assert!(stdout.contains(&last.2), "{stdout}");
}

/// The optional group scope, chosen by the tenant's overlay (live, through the admin API).
fn push_group_scope(server: &Server, tenant: &str) {
    let text = format!("scope {{ sync_group \"{SYNC_GROUP}\"; }}\n");
    server
        .admin()
        .put(
            &format!("/tenants/{tenant}/overlay"),
            &json!({ "text": text }),
        )
        .expect(200);
}

/// Creates a user whose manager is `manager` (an id or a userName); returns its id.
fn create_with_manager(okta: &Client, user_name: &str, manager: &str) -> String {
    let mut body = okta_user(user_name);
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    body[ENTERPRISE] = json!({"manager": {"value": manager}});
    okta.create("/Users", &body)
}

fn pending_count(store: &Store, id: &str) -> usize {
    store
        .read(&"acme".into())
        .unwrap()
        .pending_of(&id.into())
        .unwrap()
        .len()
}

#[test]
fn a_manager_provisioned_later_is_linked_with_no_group_pushed() {
    let (server, okta) = Server::with_tenant("acme");
    // Okta assigns people directly and pushes no group at all.
    let worker = create_with_manager(&okta, "worker@ex.com", "boss@ex.com");
    assert_eq!(field(&server.store, &worker, "DirectManager"), None);
    assert_eq!(pending_count(&server.store, &worker), 1);

    let boss = okta.create_user("boss@ex.com");
    assert_eq!(
        field(&server.store, &worker, "DirectManager"),
        Some(user_ref(&boss))
    );
    assert_eq!(pending_count(&server.store, &worker), 0);
    let linked = server
        .store
        .history(&"acme".into(), Some("worker@ex.com"))
        .unwrap()
        .into_iter()
        .find(|r| r.field == "DirectManager")
        .expect("the link is in the history");
    assert_eq!(
        linked.after.as_deref(),
        Some(format!("User:{boss}").as_str())
    );
    assert_eq!(linked.actor, "okta-integration");
}

#[test]
fn a_manager_never_provisioned_stays_unlinked_and_is_never_created() {
    let (server, okta) = Server::with_tenant("acme");
    let worker = create_with_manager(&okta, "worker@ex.com", "ghost@ex.com");
    okta.create_user("someone-else@ex.com");
    assert_eq!(field(&server.store, &worker, "DirectManager"), None);
    assert_eq!(pending_count(&server.store, &worker), 1);
    let users = server.entities("acme", "User");
    assert_eq!(users.len(), 2, "the manager is not created: {users:?}");
    assert_eq!(okta.user_count("userName eq \"ghost@ex.com\""), 0);
}

#[test]
fn without_a_group_scope_leaving_a_pushed_group_suspends_no_one() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("mover@ex.com");
    let group = okta.create_group(SYNC_GROUP, &[&id]);
    let response = okta.patch_ops(
        &format!("/Groups/{group}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(lifecycle(&server.store, "acme", &id), "Active");
}

#[test]
fn leaving_the_sync_group_suspends_with_the_group_scope() {
    let (server, okta) = Server::with_tenant("acme");
    push_group_scope(&server, "acme");
    let id = okta.create_user("mover@ex.com");
    let sync = okta.create_group(SYNC_GROUP, &[&id]);
    assert_eq!(lifecycle(&server.store, "acme", &id), "Active");
    let response = okta.patch_ops(
        &format!("/Groups/{sync}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(lifecycle(&server.store, "acme", &id), "Suspended");
    let entries = lifecycle_history(&server.store, "acme", &id);
    let last = entries.last().unwrap();
    assert_eq!(last.1.as_deref(), Some("Suspended"), "{entries:?}");
    assert_eq!(last.2, rule("on left_scope"), "{entries:?}");
    // Still a SCIM user, just suspended in the application.
    okta.get(&format!("/Users/{id}")).expect(200);
}

#[test]
fn delete_marks_deleted() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("gone@ex.com");
    okta.delete(&format!("/Users/{id}")).expect(204);
    assert_eq!(lifecycle(&server.store, "acme", &id), "Deleted");
    let entries = lifecycle_history(&server.store, "acme", &id);
    let last = entries.last().unwrap();
    assert_eq!(last.1.as_deref(), Some("Deleted"), "{entries:?}");
    assert_eq!(last.2, rule("on deleted"), "{entries:?}");
}

#[test]
fn imported_unmanaged_user_and_group_are_picked_up() {
    let (server, okta) = Server::with_tenant("acme");
    let file = r#"{"users": [{"UserName": "Ann@Example.com", "FirstName": "Ann"}],
                   "groups": [{"Name": "Sales"}]}"#;
    let summary = server.import("acme", file);
    let imported_user = summary.created[0].id.clone();
    let imported_group = summary.created[1].id.clone();

    let user = okta
        .post("/Users", &okta_user("ann@example.com"))
        .expect(201)
        .json();
    assert_eq!(user["id"], json!(imported_user));
    let group = okta.create_group("sales", &[imported_user.as_str()]);
    assert_eq!(group, imported_group);

    let read = server.store.read(&"acme".into()).unwrap();
    let users = read.entities_of_type(&"User".into()).unwrap();
    assert_eq!(users.len(), 1, "no duplicate: {users:?}");
    assert!(users[0].managed);
    let groups = read.entities_of_type(&"Group".into()).unwrap();
    assert_eq!(groups.len(), 1, "no duplicate: {groups:?}");
    assert!(groups[0].managed);
    assert_eq!(
        read.members_of(&group.as_str().into()).unwrap(),
        vec![imported_user]
    );
}

#[test]
fn with_the_group_scope_a_manager_is_linked_when_it_joins_the_sync_group() {
    let (server, okta) = Server::with_tenant("acme");
    push_group_scope(&server, "acme");
    let boss = okta.create_user("boss@ex.com");
    let sync = okta.create_group(SYNC_GROUP, &[]);
    let mut body = okta_user("worker@ex.com");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    body[ENTERPRISE] = json!({"manager": {"value": boss, "displayName": "Boss"}});
    let worker = okta.create("/Users", &body);
    add_member(&okta, &sync, &worker);
    assert_eq!(field(&server.store, &worker, "DirectManager"), None);
    let pending = server.pending_of("acme", &worker);
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].field, "DirectManager");

    add_member(&okta, &sync, &boss);
    assert_eq!(
        field(&server.store, &worker, "DirectManager"),
        Some(user_ref(&boss))
    );
    assert!(server.pending_of("acme", &worker).is_empty());
}

#[test]
fn job_title_hook_creates_then_links_the_job_title() {
    let (server, okta) = Server::with_tenant("acme");
    let mut first = okta_user("first@ex.com");
    first["title"] = json!("Engineer");
    let first = okta.create("/Users", &first);
    let titles = server.entities("acme", "JobTitle");
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert_eq!(
        titles[0].fields["Name"],
        FieldValue::String("Engineer".to_owned())
    );
    let title_ref = FieldValue::Ref {
        entity: "JobTitle".into(),
        id: titles[0].id.clone(),
    };
    assert_eq!(
        field(&server.store, &first, "JobTitle"),
        Some(title_ref.clone())
    );

    let second = okta.create_user("second@ex.com");
    okta.patch_ops(
        &format!("/Users/{second}"),
        json!([{"op": "replace", "path": "title", "value": "Engineer"}]),
    )
    .expect(200);
    let titles = server.entities("acme", "JobTitle");
    assert_eq!(titles.len(), 1, "linked, not created again: {titles:?}");
    assert_eq!(field(&server.store, &second, "JobTitle"), Some(title_ref));
}

#[test]
fn no_invitation_is_ever_sent() {
    let (server, okta) = Server::with_tenant("acme");
    let a = okta.create_user("a@ex.com");
    let b = okta.create_user("b@ex.com");
    okta.create_group(SYNC_GROUP, &[&a, &b]);
    let outbox = server.store.read(&"acme".into()).unwrap().outbox().unwrap();
    assert!(
        !outbox.is_empty(),
        "the suppressed invitations are recorded"
    );
    for (_, notification) in &outbox {
        assert_eq!(notification["kind"], json!("invitation"), "{notification}");
        assert_eq!(
            notification["status"],
            json!("suppressed"),
            "{notification}"
        );
        assert_eq!(
            notification["rule"],
            json!(rule("invite never")),
            "{notification}"
        );
    }
}
