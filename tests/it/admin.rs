//! The admin API over HTTP against a real server (SCIM and admin listeners on loopback,
//! a redb file): every endpoint, scoped operators, live effect on SCIM, the audit log,
//! and bad input (a clear error, nothing changed).

use serde_json::{Value, json};

use crate::http::support::{
    Client, ENTERPRISE, SYNC_GROUP, Server, USER_SCHEMA, items, okta_user, strings,
};

const OVERLAY: &str = "mapping User {\n  custom CostCenter <- enterprise.costCenter | trim | upper;\n  remove MobilePhone;\n}\n";

fn error_of(response: crate::http::support::Response, status: u16) -> Value {
    let body = response.expect(status).json();
    assert!(body["error"].is_string(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

fn costly_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": "Cos", "familyName": "Center"},
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        ENTERPRISE: {"costCenter": " fin-042 "},
        "active": true
    })
}

#[test]
fn operators_authenticate_and_unknown_tokens_are_refused() {
    let server = Server::start();
    let me = server.admin().get("/whoami").expect(200).json();
    assert_eq!(me["name"], json!("test admin"));
    assert_eq!(me["scope"], json!({"kind": "all"}));
    let refused = server.admin_as(None).get("/whoami");
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"provisio-admin\"")
    );
    error_of(refused, 401);
    error_of(server.admin_as(Some("pva_nope")).get("/tenants"), 401);
    // A SCIM key is not an operator token.
    server.store.create_tenant("acme").unwrap();
    let (_, key) = server.store.create_key(&"acme".into(), "okta").unwrap();
    error_of(server.admin_as(Some(&key)).get("/tenants"), 401);
}

#[test]
fn tenants_and_keys_live() {
    let server = Server::start();
    let admin = server.admin();
    let created = admin.post_json("/tenants", &json!({"name": "acme"}), 201);
    assert_eq!(created["name"], json!("acme"));
    error_of(admin.post("/tenants", &json!({"name": "acme"})), 400);
    error_of(admin.post("/tenants", &json!({"name": "no spaces"})), 400);
    let tenants = admin.get_json("/tenants");
    assert_eq!(tenants.as_array().map(Vec::len), Some(1));

    let key = admin.post_json(
        "/tenants/acme/keys",
        &json!({"user": "okta-integration"}),
        201,
    );
    let secret = key["key"].as_str().unwrap().to_owned();
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("prv_"));
    // The key works at once, and the listing never shows it.
    let scim = server.client(Some(secret.clone()));
    scim.post("/Users", &okta_user("ann@ex.com")).expect(201);
    let listed = admin.get_json("/tenants/acme/keys");
    assert_eq!(listed[0]["key_id"], json!(key_id));
    assert!(!listed.to_string().contains(&secret[4..]), "{listed}");

    // Revoked: the very next SCIM request is refused.
    admin
        .send("DELETE", &format!("/tenants/acme/keys/{key_id}"), &[], None)
        .expect(200);
    scim.get("/Users").expect_error(401, None);
    error_of(
        admin.send("DELETE", "/tenants/acme/keys/key_nope", &[], None),
        404,
    );
    error_of(admin.get("/tenants/nope/keys"), 404);
}

#[test]
fn an_overlay_saved_live_applies_to_the_next_operation() {
    let (server, scim) = Server::with_tenant("acme");
    let admin = server.admin();
    scim.post("/Users", &costly_user("before@ex.com"))
        .expect(201);

    // A broken overlay: every diagnostic, nothing saved.
    let broken = "mapping User {\n  custom CostCentre <- enterprise.costCentr;\n}\n";
    let check = admin.post_json("/tenants/acme/overlay/check", &json!({"text": broken}), 200);
    assert_eq!(check["ok"], json!(false));
    assert!(
        check["diagnostics"]
            .to_string()
            .contains("did you mean `CostCenter`?"),
        "{check}"
    );
    let refused = error_of(
        admin.put("/tenants/acme/overlay", &json!({"text": broken})),
        422,
    );
    assert!(
        refused["diagnostics"][0]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("rules::")),
        "{refused}"
    );
    assert_eq!(admin.get_json("/tenants/acme/overlay")["version"], json!(0));

    // Preview: what the good one would change for stored users, writing nothing.
    let preview = admin.post_json(
        "/tenants/acme/overlay/preview",
        &json!({"text": OVERLAY}),
        200,
    );
    assert_eq!(preview["users"], json!(1), "{preview}");
    assert_eq!(preview["changed"], json!(1), "{preview}");
    assert_eq!(preview["fields"]["CostCenter"], json!(1), "{preview}");
    assert!(
        preview["examples"][0]["changes"]
            .to_string()
            .contains("FIN-042"),
        "{preview}"
    );

    // Saved: the next create uses it, with no restart.
    let saved = admin
        .put("/tenants/acme/overlay", &json!({"text": OVERLAY}))
        .expect(200)
        .json();
    assert_eq!(saved["version"], json!(1));
    let id = scim.create("/Users", &costly_user("after@ex.com"));
    let view = admin.get_json(&format!("/tenants/acme/entities/{id}"));
    let field = |name: &str| {
        items(&view["fields"])
            .find(|f| f["field"] == json!(name))
            .cloned()
    };
    assert_eq!(
        field("CostCenter").unwrap()["value"],
        json!("FIN-042"),
        "{view}"
    );
    assert_eq!(
        field("CostCenter").unwrap()["rule"],
        json!("overlay-v1.rules:2"),
        "{view}"
    );
    assert!(field("MobilePhone").is_none(), "{view}");

    let overlay = admin.get_json("/tenants/acme/overlay");
    assert_eq!(
        overlay["versions"][0]["author"],
        json!(format!("test admin ({})", admin_id(&server)))
    );
    // Restore defaults, then v1 again (as v3).
    assert_eq!(
        admin
            .send("DELETE", "/tenants/acme/overlay", &[], None)
            .expect(200)
            .json()["version"],
        json!(2)
    );
    let plain = scim.create("/Users", &costly_user("plain@ex.com"));
    let plain_view = admin.get_json(&format!("/tenants/acme/entities/{plain}"));
    assert!(!plain_view.to_string().contains("FIN-042"), "{plain_view}");
    let restored = admin.post_json("/tenants/acme/overlay/versions/1/restore", &json!({}), 200);
    assert_eq!(restored, json!({"version": 3, "restored_from": 1}));
    error_of(
        admin.post("/tenants/acme/overlay/versions/9/restore", &json!({})),
        404,
    );
}

fn admin_id(server: &Server) -> String {
    server.admin().get("/whoami").expect(200).json()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn history_and_log_filter_and_page() {
    let (server, scim) = Server::with_tenant("acme");
    let admin = server.admin();
    for n in 0..5 {
        scim.post("/Users", &okta_user(&format!("user{n}@ex.com")))
            .expect(201);
    }
    scim.refused_user("user0@ex.com", 409, Some("uniqueness"));

    let all = admin.get_json("/tenants/acme/history?limit=1000");
    let total = all["items"].as_array().unwrap().len();
    assert!(total >= 10, "{all}");
    let first = admin.get_json("/tenants/acme/history?limit=3");
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let next = first["next"].as_u64().expect("a next page");
    let second = admin.get_json(&format!("/tenants/acme/history?limit=3&before={next}"));
    let seqs = |page: &Value| {
        items(&page["items"])
            .map(|r| r["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let (a, b) = (seqs(&first), seqs(&second));
    assert!(
        a.windows(2).all(|w| w[0] > w[1]) && b[0] < a[2],
        "{a:?} {b:?}"
    );

    let one = admin.get_json("/tenants/acme/history?user=USER3@EX.COM");
    assert!(
        items(&one["items"]).all(|r| r["user_name"] == json!("user3@ex.com")),
        "{one}"
    );
    assert!(!one["items"].as_array().unwrap().is_empty());
    let field = admin.get_json("/tenants/acme/history?field=lifecycle");
    assert_eq!(field["items"].as_array().unwrap().len(), 5, "{field}");

    let failed = admin.get_json("/tenants/acme/log?outcome=failed,rejected");
    assert_eq!(failed["items"].as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed["items"][0]["status"], json!(409));
    assert_eq!(
        failed["items"][0]["request"]["password"],
        json!("********"),
        "{failed}"
    );
    let future = admin.get_json("/tenants/acme/log?from=2999-01-01T00:00:00Z");
    assert_eq!(future["items"], json!([]));

    error_of(admin.get("/tenants/acme/log?outcome=maybe"), 400);
    error_of(admin.get("/tenants/acme/history?from=yesterday"), 400);
    error_of(admin.get("/tenants/acme/history?limit=-1"), 400);
}

#[test]
fn entities_search_import_and_explain() {
    let (server, scim) = Server::with_tenant("acme");
    let admin = server.admin();
    let boss = scim.create("/Users", &okta_user("boss@ex.com"));
    scim.create_group(SYNC_GROUP, &[&boss]);

    let imported = admin
        .send(
            "POST",
            "/tenants/acme/import",
            &[],
            Some(b"type,UserName,FirstName\nUser,legacy@ex.com,Leg\n"),
        )
        .expect(201)
        .json();
    assert_eq!(imported["users"], json!(1));
    let found = admin.get_json("/tenants/acme/users?q=LEG");
    assert_eq!(found["items"][0]["name"], json!("legacy@ex.com"), "{found}");
    assert_eq!(found["items"][0]["managed"], json!(false), "{found}");
    error_of(
        admin.send(
            "POST",
            "/tenants/acme/import",
            &[],
            Some(b"type,UserName\nUser,legacy@ex.com\n"),
        ),
        400,
    );

    // Explain against the live state: the pick-up of the imported user, nothing written.
    let mut body = okta_user("Legacy@ex.com");
    body[ENTERPRISE] = json!({"manager": {"value": boss}});
    body["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    let plan = admin.post_json(
        "/tenants/acme/explain",
        &json!({"method": "POST", "path": "/Users", "body": body}),
        200,
    );
    assert_eq!(plan["match"]["outcome"], json!("picked_up"), "{plan}");
    assert_eq!(
        admin.get_json("/tenants/acme/users?q=legacy")["items"][0]["managed"],
        json!(false)
    );
    error_of(
        admin.post(
            "/tenants/acme/explain",
            &json!({"method": "GET", "path": "/Users"}),
        ),
        400,
    );

    // Provisioned for real: the entity view names the manager and the rule of each field.
    let id = scim.create("/Users", &body);
    let view = admin.get_json(&format!("/tenants/acme/entities/{id}"));
    let manager = items(&view["fields"])
        .find(|f| f["field"] == json!("DirectManager"))
        .cloned()
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(manager["value"], json!("boss@ex.com"), "{view}");
    assert!(
        manager["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("default.rules:")),
        "{view}"
    );
    assert_eq!(view["entity"]["managed"], json!(true));
    error_of(admin.get("/tenants/acme/entities/nope"), 404);
}

#[test]
fn a_tenant_operator_reaches_only_its_tenant_and_writes_are_audited() {
    let (server, _acme) = Server::with_tenant("acme");
    let _other = server.tenant("other");
    let admin = server.admin();
    let created = admin.post_json(
        "/operators",
        &json!({"name": "acme admin", "tenant": "acme"}),
        201,
    );
    let token = created["token"].as_str().unwrap().to_owned();
    let scoped = server.admin_as(Some(&token));

    let tenants = scoped.get_json("/tenants");
    assert_eq!(tenants.as_array().unwrap().len(), 1);
    assert_eq!(tenants[0]["name"], json!("acme"));
    for path in [
        "/tenants/other/keys",
        "/tenants/other/history",
        "/tenants/other/log",
        "/tenants/other/overlay",
        "/tenants/other/users",
    ] {
        error_of(scoped.get(path), 403);
    }
    error_of(
        scoped.post("/tenants/other/keys", &json!({"user": "x"})),
        403,
    );
    error_of(scoped.post("/tenants", &json!({"name": "mine"})), 403);
    error_of(scoped.get("/operators"), 403);
    assert_eq!(
        server.store.list_keys(&"other".into()).unwrap().len(),
        1,
        "nothing changed"
    );

    let key = scoped.post_json("/tenants/acme/keys", &json!({"user": "entra"}), 201);
    let audit = admin.get_json("/audit");
    let actions: Vec<&str> = items(&audit["items"])
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["key.create", "operator.create"], "{audit}");
    assert_eq!(audit["items"][0]["tenant"], json!("acme"));
    assert!(
        audit["items"][0]["operator"]
            .as_str()
            .unwrap()
            .starts_with("acme admin")
    );
    assert!(
        !audit.to_string().contains(key["key"].as_str().unwrap()),
        "a key in the audit log"
    );
    assert!(
        !audit.to_string().contains(&token),
        "a token in the audit log"
    );
    // The scoped operator sees its tenant's audit entries only.
    let own = scoped.get_json("/audit");
    assert_eq!(own["items"].as_array().unwrap().len(), 1, "{own}");

    // Revoked, refused at once.
    let op_id = created["operator"]["id"].as_str().unwrap();
    admin
        .send("DELETE", &format!("/operators/{op_id}"), &[], None)
        .expect(200);
    error_of(scoped.get("/tenants"), 401);
}

#[test]
fn bad_admin_requests_get_a_clear_error_and_change_nothing() {
    let server = Server::start();
    let admin = server.admin();
    error_of(admin.send("POST", "/tenants", &[], Some(b"{not json")), 400);
    error_of(
        admin.post("/tenants", &json!({"name": "a", "extra": 1})),
        400,
    );
    error_of(admin.post("/tenants", &json!({"nom": "a"})), 400);
    error_of(admin.get("/nowhere"), 404);
    error_of(admin.send("PATCH", "/tenants", &[], None), 405);
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    error_of(admin.send_text("POST", "/tenants", &deep), 400);
    let big = vec![b' '; 5 * 1024 * 1024];
    error_of(admin.send("POST", "/tenants", &[], Some(&big)), 413);
    assert!(server.store.list_tenants().unwrap().is_empty());
    assert!(server.store.audit(None, None, 10).unwrap().items.is_empty());
}

#[test]
fn editions_and_integration_user_roles_are_managed_and_audited() {
    let server = Server::start();
    let admin = server.admin();
    let created = admin.post_json(
        "/tenants",
        &json!({"name": "acme", "edition": "PROFESSIONAL"}),
        201,
    );
    assert_eq!(created["edition"], json!("Professional"));
    let default = admin.post_json("/tenants", &json!({"name": "beta"}), 201);
    assert_eq!(default["edition"], json!("Enterprise"));
    let misspelt = error_of(
        admin.post("/tenants", &json!({"name": "gamma", "edition": "Unlimted"})),
        400,
    );
    assert!(
        misspelt["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean `Unlimited`?"),
        "{misspelt}"
    );
    error_of(admin.get("/tenants/gamma"), 404);

    let patch = |client: &Client, path: &str, body: &Value| {
        client.send("PATCH", path, &[], Some(body.to_string().as_bytes()))
    };
    let changed = patch(&admin, "/tenants/acme", &json!({"edition": "enterprise"}))
        .expect(200)
        .json();
    assert_eq!(changed["edition"], json!("Enterprise"));
    assert_eq!(
        admin.get_json("/tenants/acme")["edition"],
        json!("Enterprise")
    );

    let key = admin.post_json(
        "/tenants/acme/keys",
        &json!({"user": "okta", "role": "full user"}),
        201,
    );
    assert!(key["key"].as_str().unwrap().starts_with("prv_"));
    admin
        .post("/tenants/acme/keys", &json!({"user": "entra"}))
        .expect(201);
    let users = admin.get_json("/tenants/acme/integration-users");
    assert_eq!(
        users,
        json!([
            {"user": "entra", "role": "Lite Admin", "default_role": true, "may_provision": true, "created": users[0]["created"]},
            {"user": "okta", "role": "Full User", "default_role": false, "may_provision": false, "created": users[1]["created"]},
        ])
    );
    let raised = admin
        .put(
            "/tenants/acme/integration-users/okta",
            &json!({"role": "Admin"}),
        )
        .expect(200)
        .json();
    assert_eq!(raised["role"], json!("Admin"));
    assert_eq!(raised["may_provision"], json!(true));
    error_of(
        admin.put(
            "/tenants/acme/integration-users/nobody",
            &json!({"role": "Admin"}),
        ),
        404,
    );
    error_of(
        admin.put(
            "/tenants/acme/integration-users/okta",
            &json!({"role": "Owner"}),
        ),
        400,
    );
    error_of(
        admin.put("/tenants/acme/integration-users/okta", &json!({"rank": 1})),
        400,
    );

    // A tenant's operator may manage its users' roles, never its own edition.
    let (_, token) = server
        .store
        .create_operator(
            "acme admin",
            provisio::store::OperatorScope::Tenant("acme".into()),
        )
        .unwrap();
    let scoped = server.admin_as(Some(&token));
    error_of(
        patch(&scoped, "/tenants/acme", &json!({"edition": "Unlimited"})),
        403,
    );
    scoped
        .put(
            "/tenants/acme/integration-users/okta",
            &json!({"role": "Lite Admin"}),
        )
        .expect(200);
    error_of(scoped.get("/tenants/beta/integration-users"), 403);

    let audit = admin.get_json("/audit");
    let actions = strings(&audit["items"], "action");
    assert_eq!(
        actions,
        [
            "user.set_role",
            "user.set_role",
            "key.create",
            "key.create",
            "tenant.set_edition",
            "tenant.create",
            "tenant.create",
        ]
    );
    let set_edition = &audit["items"][4];
    assert_eq!(set_edition["before"], json!({"edition": "Professional"}));
    assert_eq!(set_edition["after"], json!({"edition": "Enterprise"}));
    let set_role = &audit["items"][1];
    assert_eq!(set_role["target"], json!("okta"));
    assert_eq!(set_role["before"], json!({"role": "Full User"}));
    assert_eq!(set_role["after"], json!({"role": "Admin"}));
}
