//! Editions and roles over HTTP (issue 8): a tenant on an edition that may not provision is
//! refused on every SCIM request, discovery included, with only the refusal logged; a key
//! whose integration user has too weak a role is refused until the role is raised, live.
//! The offline CLI sets both, and the server it starts next obeys them.

use std::path::Path;
use std::process::Output;

use provisio::store::Outcome;
use serde_json::json;

use super::support::{Client, Server, okta_user, tenant_state};

/// Every kind of SCIM request a key can make: discovery, reads, a write.
fn every_kind_of_request(okta: &Client) -> Vec<(String, super::support::Response)> {
    vec![
        ("GET /ServiceProviderConfig".into(), okta.get("/ServiceProviderConfig")),
        ("GET /Schemas".into(), okta.get("/Schemas")),
        ("GET /ResourceTypes".into(), okta.get("/ResourceTypes")),
        ("GET /Users".into(), okta.get("/Users?startIndex=1&count=2")),
        ("GET /Groups".into(), okta.get("/Groups")),
        ("POST /Users".into(), okta.post("/Users", &okta_user("ann@ex.com"))),
        ("POST /Bulk".into(), okta.post("/Bulk", &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "a", "data": okta_user("bob@ex.com")}]
        }))),
    ]
}

/// Runs `provisio ARGS --db DB`, which must fail; returns its standard error.
/// A temp dir and the path of a database in it, not made yet.
fn new_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("provisio.redb");
    (dir, db)
}

/// A server whose tenant `acme` has the Professional edition (which may not provision).
fn professional() -> Server {
    let server = Server::start();
    let store = &server.store;
    store
        .create_tenant_with("acme", Some("Professional"))
        .unwrap();
    server
}

/// The standard error of a command that must have failed.
#[track_caller]
fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// `provisio tenant create acme --edition EDITION`.
fn create_acme(db: &Path, edition: &str) -> Output {
    crate::binary::provisio(db, &["tenant", "create", "acme", "--edition", edition])
}

fn provisio(db: &Path, args: &[&str]) -> String {
    let output = crate::binary::provisio(db, args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_refused_edition_gets_403_on_every_request_and_only_the_refusal_is_written() {
    let server = professional();
    let (_, key) = server
        .store
        .create_key(&"acme".into(), "okta-integration")
        .unwrap();
    let okta = server.client(Some(key));
    let before = tenant_state(&server.store, "acme");
    let requests = every_kind_of_request(&okta);
    for (what, response) in requests {
        let body = response.expect_error(403, None);
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("Professional edition"), "{what}: {detail}");
        assert!(
            detail.contains("the Enterprise and Unlimited editions"),
            "{what}: {detail}"
        );
    }
    // Nothing but the refusals: no user, no entity, no history, no outbox.
    assert_eq!(tenant_state(&server.store, "acme"), before);
    let log = server.store.log(&"acme".into(), false).unwrap();
    assert_eq!(log.len(), 7, "{log:?}");
    assert!(
        log.iter()
            .all(|r| r.status == 403 && r.outcome == Outcome::Rejected)
    );
    assert!(
        log.iter()
            .all(|r| r.actor == "okta-integration" && r.request.is_none())
    );
    assert_eq!(log[3].path, "/scim/v2/Users?startIndex=1&count=2");

    // The operator upgrades the instance: the next request goes through, no restart.
    let changed = server
        .admin()
        .patch("/tenants/acme", &json!({"edition": "unlimited"}))
        .expect(200)
        .json();
    assert_eq!(changed["edition"], json!("Unlimited"));
    okta.get("/ServiceProviderConfig").expect(200);
    okta.create_user("ann@ex.com");
}

#[test]
fn discovery_without_a_key_is_still_answered() {
    let server = professional();
    server
        .client(None)
        .get("/ServiceProviderConfig")
        .expect(200);
}

#[test]
fn a_too_weak_role_is_refused_and_raising_it_lets_the_next_request_through() {
    let server = Server::start();
    server.store.create_tenant("acme").unwrap();
    let (_, key) = server
        .store
        .create_key_with_role(&"acme".into(), "okta-integration", Some("Full User"))
        .unwrap();
    let okta = server.client(Some(key));
    let body = okta.refused_user("ann@ex.com", 403, None);
    assert_eq!(
        body["detail"],
        json!(
            "The integration user \"okta-integration\" has the role Full User, but provisioning needs at least Lite Admin (or Admin). Give \"okta-integration\" the role Lite Admin and send the request again; nothing was changed."
        )
    );
    okta.get("/Users").expect_error(403, None);

    let user = "/tenants/acme/integration-users/okta-integration";
    let raised = server
        .admin()
        .put(user, &json!({"role": "lite admin"}))
        .expect(200)
        .json();
    assert_eq!(raised["role"], json!("Lite Admin"));
    assert_eq!(raised["may_provision"], json!(true));
    let id = okta.create_user("ann@ex.com");
    let history = server.store.history(&"acme".into(), None).unwrap();
    assert!(
        history
            .iter()
            .filter(|r| r.entity_id == id)
            .all(|r| r.actor == "okta-integration"),
        "{history:?}"
    );

    // Lowering it again refuses the next request again.
    server
        .admin()
        .put(user, &json!({"role": "Email User"}))
        .expect(200);
    okta.get(&format!("/Users/{id}")).expect_error(403, None);
}

#[test]
fn the_offline_cli_sets_editions_and_roles_and_the_server_obeys() {
    let (_dir, db) = new_db();
    let out = crate::binary::ok(&create_acme(&db, "professional"));
    assert!(
        out.contains("created tenant `acme` (Professional edition)"),
        "{out}"
    );
    let out = provisio(
        &db,
        &[
            "key",
            "create",
            "--tenant",
            "acme",
            "--user",
            "okta",
            "--role",
            "full user",
        ],
    );
    assert!(out.contains("integration user `okta` (Full User)"), "{out}");
    let key = out.lines().last().unwrap().to_owned();
    let listed = provisio(&db, &["tenant", "list"]);
    assert!(listed.contains("EDITION"), "{listed}");
    assert!(listed.contains("Professional"), "{listed}");
    let keys = provisio(&db, &["key", "list", "--tenant", "acme"]);
    assert!(keys.contains("ROLE"), "{keys}");
    assert!(keys.contains("Full User"), "{keys}");

    refused_with(&db, &key, "Professional");

    let out = provisio(&db, &["tenant", "set", "acme", "--edition", "Enterprise"]);
    assert!(out.contains("edition Professional -> Enterprise"), "{out}");
    refused_with(&db, &key, "role Full User");

    let out = provisio(
        &db,
        &["user", "role", "--tenant", "acme", "okta", "Lite Admin"],
    );
    assert!(out.contains("role Full User -> Lite Admin"), "{out}");
    let users = provisio(&db, &["user", "list", "--tenant", "acme"]);
    assert!(
        users.contains("Lite Admin") && users.contains("yes"),
        "{users}"
    );
    let server = Server::start_on(&db);
    server.client(Some(key)).create_user("ann@ex.com");
}

/// A server over `db` refuses `key` with 403, its detail naming `why`.
#[track_caller]
fn refused_with(db: &Path, key: &str, why: &str) {
    let server = Server::start_on(db);
    let okta = server.client(Some(key.to_owned()));
    let detail = okta.get("/Users").expect_error(403, None)["detail"].clone();
    assert!(detail.as_str().unwrap().contains(why), "{detail}");
}

#[test]
fn misspelt_editions_and_roles_are_refused_with_a_suggestion_and_change_nothing() {
    let (_dir, db) = new_db();
    let stderr = failed(&create_acme(&db, "Enterprize"));
    assert!(stderr.contains("did you mean `Enterprise`?"), "{stderr}");
    assert!(!db.exists(), "no database was created");

    provisio(&db, &["tenant", "create", "acme"]);
    provisio(
        &db,
        &["key", "create", "--tenant", "acme", "--user", "okta"],
    );
    let stderr = failed(&crate::binary::provisio(
        &db,
        &["user", "role", "--tenant", "acme", "okta", "Lite Admn"],
    ));
    assert!(stderr.contains("did you mean `Lite Admin`?"), "{stderr}");
    let users = provisio(&db, &["user", "list", "--tenant", "acme"]);
    assert!(users.contains("Lite Admin (default)"), "{users}");
    let tenants = provisio(&db, &["tenant", "list"]);
    assert!(tenants.contains("Enterprise"), "{tenants}");
}
