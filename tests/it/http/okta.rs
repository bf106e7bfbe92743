//! Okta's requests, as `dialects.md` lists them.

use serde_json::{Value, json};

use super::support::{Server, lifecycle, okta_user, strings};

#[test]
fn connection_test_lists_two_users() {
    let (_server, okta) = Server::with_tenant("acme");
    for name in ["a@ex.com", "b@ex.com", "c@ex.com"] {
        okta.create_user(name);
    }
    let body = okta.get_json("/Users?startIndex=1&count=2");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(body["totalResults"], json!(3));
    assert_eq!(body["startIndex"], json!(1));
    assert_eq!(body["itemsPerPage"], json!(2));
    assert_eq!(body["Resources"].as_array().unwrap().len(), 2);
}

#[test]
fn lookup_of_an_absent_user_name_is_an_empty_list() {
    let (_server, okta) = Server::with_tenant("acme");
    okta.create_user("someone.else@ex.com");
    let encoded = "/Users?filter=userName%20eq%20%22jane%40ex.com%22&startIndex=1&count=100";
    // Unencoded `@` and form-encoded spaces.
    let form = "/Users?filter=userName+eq+%22jane@ex.com%22&startIndex=1&count=100";
    // Nothing encoded at all: raw spaces and quotes in the request line, as Okta sends at
    // times (the server percent-encodes the request line before parsing it).
    let raw = r#"/Users?filter=userName eq "jane@ex.com"&startIndex=1&count=100"#;
    for path in [encoded, form, raw] {
        let body = okta.get_json(path);
        assert_eq!(body["totalResults"], json!(0), "{path}: {body}");
        assert_eq!(body["Resources"], json!([]), "{path}: {body}");
    }
    okta.create_user("jane@ex.com");
    for path in [encoded, form, raw] {
        let body = okta.get_json(path);
        assert_eq!(body["totalResults"], json!(1), "{path}: {body}");
        assert_eq!(body["Resources"][0]["userName"], json!("jane@ex.com"));
    }
}

/// The lookup alone (`userName eq`, answered from the userName index and written from the
/// stored text) answers exactly what the general filter path answers for the same user,
/// groups included, whatever the spelling, window or projection.
#[test]
fn the_lookup_answers_what_the_general_filter_path_answers() {
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    okta.create_user("john@ex.com");
    okta.create_group("Sales", &[&id]);
    let lookup = |filter: &str, rest: &str| {
        let query = super::support::encode(filter);
        okta.get_json(&format!("/Users?filter={query}{rest}"))
    };
    for rest in [
        "",
        "&startIndex=1&count=100",
        "&count=0",
        "&startIndex=2",
        "&attributes=userName,groups",
    ] {
        let alone = lookup(r#"userName eq "JANE@ex.com""#, rest);
        // `and active eq true` takes the general path (filter evaluated on the representation).
        let general = lookup(r#"userName eq "jane@ex.com" and active eq true"#, rest);
        assert_eq!(alone, general, "{rest}");
        assert_eq!(alone["totalResults"], json!(1), "{rest}: {alone}");
    }
    let shown = lookup(r#"userName eq "jane@EX.COM""#, "");
    assert_eq!(shown["Resources"][0]["id"], json!(id));
    assert_eq!(
        shown["Resources"][0]["groups"][0]["display"],
        json!("Sales"),
        "{shown}"
    );
    assert_eq!(
        shown["Resources"][0],
        okta.get_json(&format!("/Users/{id}"))
    );
    assert_eq!(
        lookup(r#"userName eq "nobody@ex.com""#, "")["totalResults"],
        json!(0)
    );
}

#[test]
fn create_with_password_and_empty_groups() {
    let (server, okta) = Server::with_tenant("acme");
    let response = okta
        .post("/Users", &okta_user("test.user@okta.local"))
        .expect(201);
    let body = response.json();
    let id = body["id"].as_str().unwrap();
    assert!(!id.is_empty());
    assert!(body.get("password").is_none(), "{body}");
    assert!(!response.body.windows(8).any(|w| w == b"1mz050nq"));
    assert_eq!(body["userName"], json!("test.user@okta.local"));
    assert_eq!(body["externalId"], json!("ext-test.user@okta.local"));
    assert_eq!(body["active"], json!(true));
    assert_eq!(body["emails"][0]["value"], json!("test.user@okta.local"));
    let location = response.header("location").unwrap();
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    assert_eq!(body["meta"]["location"], json!(location));
    assert!(response.header("etag").is_some());
    okta.get(&format!("/Users/{id}")).expect(200);
    let entity = server.entity("acme", id);
    assert!(entity.managed);
}

#[test]
fn duplicate_create_is_a_uniqueness_conflict() {
    let (_server, okta) = Server::with_tenant("acme");
    okta.create_user("dup@ex.com");
    let mut again = okta_user("DUP@ex.com");
    again["externalId"] = json!("another");
    let error = okta
        .post("/Users", &again)
        .expect_error(409, Some("uniqueness"));
    let detail = error["detail"].as_str().unwrap().to_lowercase();
    assert!(detail.contains("dup@ex.com"), "{error}");
    assert_eq!(okta.user_count("userName pr"), 1);
}

#[test]
fn upper_cased_user_name_filter_matches_and_case_is_stored_as_sent() {
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("Mixed.Case@Ex.com");
    let body = okta.filtered("/Users", "userName eq \"MIXED.CASE@EX.COM\"");
    assert_eq!(body["totalResults"], json!(1), "{body}");
    assert_eq!(body["Resources"][0]["id"], json!(id));
    assert_eq!(body["Resources"][0]["userName"], json!("Mixed.Case@Ex.com"));
    let stored = okta.get_json(&format!("/Users/{id}"));
    assert_eq!(stored["userName"], json!("Mixed.Case@Ex.com"));
}

#[test]
fn put_echoing_meta_and_groups_from_get() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("push@ex.com");
    okta.create_group("Sales", &[&id]);
    let mut user = okta.get_json(&format!("/Users/{id}"));
    assert_eq!(user["groups"][0]["display"], json!("Sales"), "{user}");
    assert!(user["meta"].is_object());
    user["displayName"] = json!("Pushed Name");
    user["name"]["givenName"] = json!("Pushed");
    let body = okta.put(&format!("/Users/{id}"), &user).expect(200).json();
    assert_eq!(body["displayName"], json!("Pushed Name"));
    assert_eq!(
        body["groups"], user["groups"],
        "groups are derived, not rewritten"
    );
    assert_ne!(body["meta"]["version"], user["meta"]["version"]);
    let entity = server.entity("acme", &id);
    assert_eq!(
        serde_json::to_value(&entity.fields["FirstName"]).unwrap(),
        json!("Pushed")
    );
}

#[test]
fn pathless_deactivate_then_reactivate() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("leaver@ex.com");
    let path = format!("/Users/{id}");
    let body = okta.patched(
        &path,
        json!([{"op": "replace", "value": {"active": false}}]),
    );
    assert_eq!(body["active"], json!(false));
    assert_eq!(lifecycle(&server.store, "acme", &id), "Suspended");
    let still_there = okta.get_json(&path);
    assert_eq!(still_there["active"], json!(false));
    let body = okta.patched(&path, json!([{"op": "replace", "value": {"active": true}}]));
    assert_eq!(body["active"], json!(true));
    assert_eq!(lifecycle(&server.store, "acme", &id), "Active");
}

#[test]
fn group_rename_with_id_is_idempotent_and_checks_the_id() {
    let (server, okta) = Server::with_tenant("acme");
    let gid = okta.create_group("Sales", &[]);
    let path = format!("/Groups/{gid}");
    let rename = json!([{"op": "replace", "value": {"id": gid, "displayName": "Sales EMEA"}}]);
    let first = okta.patch_ops(&path, rename.clone());
    assert_eq!(first.status, 204, "{first:?}");
    let state = super::support::tenant_state(&server.store, "acme");
    let second = okta.patch_ops(&path, rename);
    assert_eq!(second.status, 204, "{second:?}");
    let group = okta.get_json(&path);
    assert_eq!(group["displayName"], json!("Sales EMEA"));
    let body = okta.filtered("/Groups", "displayName eq \"Sales EMEA\"");
    assert_eq!(body["totalResults"], json!(1));
    assert_eq!(
        super::support::tenant_state(&server.store, "acme")["entities"],
        state["entities"]
    );

    let before = super::support::tenant_state(&server.store, "acme");
    let wrong =
        json!([{"op": "replace", "value": {"id": "not-this-group", "displayName": "Hijack"}}]);
    let response = okta.patch_ops(&path, wrong);
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(super::support::tenant_state(&server.store, "acme"), before);
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn add_and_remove_members_in_one_patch() {
    let (server, okta) = Server::with_tenant("acme");
    let [jane, john] = ["jane@ex.com", "john@ex.com"].map(|name| okta.create_user(name));
    let gid = okta.create_group("Sales", &[&jane]);
    let path = format!("/Groups/{gid}");
    let response = okta.patch_ops(
        &path,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{jane}\"]")},
            {"op": "add", "path": "members", "value": [{"value": john, "display": "john@ex.com"}]}
        ]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(member_ids(&okta.get_json(&path)), vec![john.clone()]);
    assert_eq!(server.members_of("acme", &gid), vec![john]);
}

#[test]
fn replace_all_members() {
    let (server, okta) = Server::with_tenant("acme");
    let a = okta.create_user("a@ex.com");
    let b = okta.create_user("b@ex.com");
    let c = okta.create_user("c@ex.com");
    let gid = okta.create_group("Sales", &[&a, &b]);
    let path = format!("/Groups/{gid}");
    let response = okta.patch_ops(
        &path,
        json!([{"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    let mut expected = vec![b, c];
    expected.sort();
    assert_eq!(member_ids(&okta.get_json(&path)), expected);
    assert_eq!(server.members_of("acme", &gid), expected);
}

#[test]
fn delete_group_gives_204() {
    let (_server, okta) = Server::with_tenant("acme");
    let jane = okta.create_user("jane@ex.com");
    let gid = okta.create_group("Sales", &[&jane]);
    let response = okta.delete(&format!("/Groups/{gid}")).expect(204);
    assert!(response.body.is_empty());
    okta.get(&format!("/Groups/{gid}")).expect_error(404, None);
    let user = okta.get_json(&format!("/Users/{jane}"));
    assert!(user.get("groups").is_none_or(|g| g == &json!([])), "{user}");
}

#[test]
fn missing_or_wrong_key_is_401_with_an_error_body() {
    let (server, okta) = Server::with_tenant("acme");
    for client in [okta.with_token(None), okta.with_token(Some("prv_wrong"))] {
        let response = client.get("/Users?startIndex=1&count=2");
        let challenge = response.header("www-authenticate").unwrap().to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        response.expect_error(401, None);
    }
    let before = super::support::tenant_state(&server.store, "acme");
    okta.with_token(Some("prv_wrong"))
        .post("/Users", &okta_user("sneaky@ex.com"))
        .expect_error(401, None);
    assert_eq!(super::support::tenant_state(&server.store, "acme"), before);
}

#[test]
fn unknown_id_is_404_with_an_error_body() {
    let (_server, okta) = Server::with_tenant("acme");
    let error = okta.get("/Users/does-not-exist").expect_error(404, None);
    assert!(
        error["detail"].as_str().unwrap().contains("does-not-exist"),
        "{error}"
    );
    okta.get("/Groups/does-not-exist").expect_error(404, None);
}

#[test]
fn import_of_250_users_in_pages_of_100() {
    let (_server, okta) = Server::with_tenant("acme");
    let operations: Vec<Value> = (0..250)
        .map(|n| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
                   "data": okta_user(&format!("user{n:03}@ex.com"))})
        })
        .collect();
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations
    });
    let body = okta.post("/Bulk", &bulk).expect(200).json();
    let results = body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 250);
    assert!(
        results.iter().all(|r| r["status"] == json!("201")),
        "{body}"
    );

    let mut seen = Vec::new();
    for start in [1, 101, 201] {
        let page = okta.get_json(&format!("/Users?startIndex={start}&count=100"));
        assert_eq!(page["totalResults"], json!(250));
        assert_eq!(page["startIndex"], json!(start));
        let resources = page["Resources"].as_array().unwrap();
        let expected = if start == 201 { 50 } else { 100 };
        assert_eq!(page["itemsPerPage"], json!(expected));
        assert_eq!(resources.len(), expected);
        seen.extend(
            resources
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 250, "no duplicates across pages");
    // Stable: the same pages again give the same order.
    let again = okta.get_json("/Users?startIndex=101&count=100");
    let again = strings(&again["Resources"], "id");
    assert_eq!(
        again,
        seen[100..200]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
}

#[test]
fn push_new_group_after_an_empty_lookup() {
    let (_server, okta) = Server::with_tenant("acme");
    let lookup = "/Groups?filter=displayName%20eq%20%22Sales%22&startIndex=1&count=100";
    let body = okta.get_json(lookup);
    assert_eq!(body["totalResults"], json!(0));
    assert_eq!(body["Resources"], json!([]));
    let created = okta
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales", "members": []}),
        )
        .expect(201)
        .json();
    let body = okta.get_json(lookup);
    assert_eq!(body["totalResults"], json!(1));
    assert_eq!(body["Resources"][0]["id"], created["id"]);
}

#[test]
fn put_with_active_false_deactivates() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("noPatch@ex.com");
    let mut user = okta.get_json(&format!("/Users/{id}"));
    user["active"] = json!(false);
    let body = okta.put(&format!("/Users/{id}"), &user).expect(200).json();
    assert_eq!(body["active"], json!(false));
    assert_eq!(lifecycle(&server.store, "acme", &id), "Suspended");
}

#[test]
fn enterprise_attributes_and_phones_without_type() {
    let (server, okta) = Server::with_tenant("acme");
    let mut body = okta_user("phones@ex.com");
    body["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "R&D"});
    body["phoneNumbers"] = json!([
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0101", "type": "mobile"},
        {"value": "+1 555 0102", "primary": true}
    ]);
    let created = okta.post("/Users", &body).expect(201).json();
    assert_eq!(created["phoneNumbers"].as_array().unwrap().len(), 3);
    let id = created["id"].as_str().unwrap();
    let entity = server.entity("acme", id);
    let text = |name: &str| serde_json::to_value(&entity.fields[name]).unwrap();
    assert_eq!(text("OfficePhone"), json!("+1 555 0100"));
    assert_eq!(text("MobilePhone"), json!("+1 555 0101"));
    assert_eq!(text("Department"), json!("R&D"));
}
