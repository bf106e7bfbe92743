//! Microsoft Entra ID's requests, as `dialects.md` lists them.

use serde_json::{Value, json};

use super::support::{
    Client, ENTERPRISE, GROUP_SCHEMA, Server, USER_SCHEMA, encode, lifecycle, tenant_state,
};

/// Entra's create body: core + enterprise schemas, `roles: []`, `meta` to be ignored.
fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": format!("entra-{user_name}"),
        "userName": user_name,
        "active": true,
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "roles": [],
        "meta": {"resourceType": "User"}
    })
}

fn create(entra: &Client, user_name: &str) -> String {
    let body = entra
        .post("/Users", &entra_user(user_name))
        .expect(201)
        .json();
    body["id"].as_str().unwrap().to_owned()
}

fn field(server: &Server, id: &str, name: &str) -> Option<Value> {
    let entity = server.entity("contoso", id);
    entity
        .fields
        .get(name)
        .map(|v| serde_json::to_value(v).unwrap())
}

#[test]
fn create_ignores_meta_and_accepts_empty_roles() {
    let (_server, entra) = Server::with_tenant("contoso");
    let body = entra
        .post("/Users", &entra_user("ada@contoso.com"))
        .expect(201)
        .json();
    assert_eq!(body["meta"]["resourceType"], json!("User"));
    assert!(body["meta"]["created"].is_string(), "{body}");
    assert_eq!(body["name"]["givenName"], json!("Ada"));
}

#[test]
fn capitalised_replace_op() {
    let (server, entra) = Server::with_tenant("contoso");
    let id = create(&entra, "ada@contoso.com");
    let body = entra.patched(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Countess"}]),
    );
    assert_eq!(body["displayName"], json!("Countess"));
    assert_eq!(field(&server, &id, "DisplayName"), Some(json!("Countess")));
}

#[test]
fn active_as_false_and_true_strings() {
    let (server, entra) = Server::with_tenant("contoso");
    let id = create(&entra, "ada@contoso.com");
    let path = format!("/Users/{id}");
    for (sent, active, state) in [("False", false, "Suspended"), ("True", true, "Active")] {
        let op = json!([{"op": "Replace", "path": "active", "value": sent}]);
        entra.patch_ops(&path, op).expect(200);
        assert_eq!(entra.get_json(&path)["active"], json!(active));
        assert_eq!(lifecycle(&server.store, "contoso", &id), state);
    }
}

#[test]
fn dotted_key_pathless_replace() {
    let (server, entra) = Server::with_tenant("contoso");
    let id = create(&entra, "ada@contoso.com");
    let body = entra
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {
                "name.givenName": "Augusta",
                format!("{ENTERPRISE}:department"): "Analytical Engines"
            }}]),
        )
        .expect(200)
        .json();
    assert_eq!(body["name"]["givenName"], json!("Augusta"));
    assert_eq!(body["name"]["familyName"], json!("Lovelace"));
    assert_eq!(body[ENTERPRISE]["department"], json!("Analytical Engines"));
    assert!(body.get("name.givenName").is_none(), "{body}");
    assert_eq!(field(&server, &id, "FirstName"), Some(json!("Augusta")));
    assert_eq!(
        field(&server, &id, "Department"),
        Some(json!("Analytical Engines"))
    );
}

#[test]
fn add_to_absent_work_email_creates_the_element() {
    let (_server, entra) = Server::with_tenant("contoso");
    let id = create(&entra, "ada@contoso.com");
    let body = entra.patched(&format!("/Users/{id}"), json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada@work.example"}]));
    let emails = body["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "{body}");
    assert_eq!(emails[0]["type"], json!("work"));
    assert_eq!(emails[0]["value"], json!("ada@work.example"));
    // And it is found by the filter Entra uses.
    let list = entra.filtered(
        "/Users",
        "emails[type eq \"work\"].value eq \"ada@work.example\"",
    );
    assert_eq!(list["totalResults"], json!(1));
}

#[test]
fn group_with_extra_schema_urn() {
    let (_server, entra) = Server::with_tenant("contoso");
    let body = json!({
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Engineers",
        "meta": {"resourceType": "Group"}
    });
    let created = entra.post("/Groups", &body).expect(201).json();
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["displayName"], json!("Engineers"));
    entra.get(&format!("/Groups/{id}")).expect(200);
}

#[test]
fn excluded_members_on_list_and_get() {
    let (_server, entra) = Server::with_tenant("contoso");
    let ada = create(&entra, "ada@contoso.com");
    let gid = entra.create_group("Engineers", &[&ada]);
    let full = entra.get_json(&format!("/Groups/{gid}"));
    assert_eq!(full["members"][0]["value"], json!(ada));

    let filter = encode("displayName eq \"Engineers\"");
    let list = entra
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={filter}"
        ))
        .expect(200)
        .json();
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["displayName"], json!("Engineers"));
    assert!(list["Resources"][0].get("members").is_none(), "{list}");
    let one = entra.get_json(&format!("/Groups/{gid}?excludedAttributes=members"));
    assert_eq!(one["id"], json!(gid));
    assert!(one.get("members").is_none(), "{one}");
}

#[test]
fn add_member_with_null_ref_then_remove_with_value_array_removes_only_those() {
    let (server, entra) = Server::with_tenant("contoso");
    let ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| create(&entra, &format!("{n}@contoso.com")))
        .collect();
    let gid = entra.create_group("Engineers", &[]);
    let path = format!("/Groups/{gid}");
    let added: Vec<Value> = ids
        .iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect();
    let response = entra.patch_ops(
        &path,
        json!([{"op": "Add", "path": "members", "value": added}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    let response = entra.patch_ops(
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    let mut expected = vec![ids[0].clone(), ids[2].clone()];
    expected.sort();
    assert_eq!(server.members_of("contoso", &gid), expected);
}

#[test]
fn capitalised_attribute_names_in_body_and_filter() {
    let (server, entra) = Server::with_tenant("contoso");
    let body = json!({"schemas": [USER_SCHEMA], "UserName": "Grace@Contoso.com", "Active": true});
    let created = entra.post("/Users", &body).expect(201).json();
    let id = created["id"].as_str().unwrap();
    assert_eq!(entra.user_count("UserName eq \"grace@contoso.com\""), 1);
    let stored = server
        .store
        .read(&"contoso".into())
        .unwrap()
        .by_user_name(&provisio::domain::UserName::new("grace@contoso.com").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(stored.entity.id, id);
    entra.create_group("Engineers", &[]);
    let list = entra.filtered("/Groups", "DisplayName eq \"engineers\"");
    assert_eq!(list["totalResults"], json!(1), "{list}");
}

#[test]
fn malformed_json_is_invalid_syntax() {
    let (server, entra) = Server::with_tenant("contoso");
    let before = tenant_state(&server.store, "contoso");
    entra
        .send(
            "POST",
            "/Users",
            &[],
            Some(b"{\"userName\": \"ada@contoso.com\","),
        )
        .expect_error(400, Some("invalidSyntax"));
    assert_eq!(tenant_state(&server.store, "contoso"), before);
}

#[test]
fn delete_user_then_get_is_404() {
    let (server, entra) = Server::with_tenant("contoso");
    let id = create(&entra, "ada@contoso.com");
    let response = entra.delete(&format!("/Users/{id}")).expect(204);
    assert!(response.body.is_empty());
    entra.get(&format!("/Users/{id}")).expect_error(404, None);
    assert_eq!(entra.user_count("userName eq \"ada@contoso.com\""), 0);
    assert_eq!(lifecycle(&server.store, "contoso", &id), "Deleted");
}

#[test]
fn primary_as_a_string_in_bodies_and_filters() {
    let (server, entra) = Server::with_tenant("contoso");
    let mut body = entra_user("ada@contoso.com");
    body["addresses"] = json!([{"type": "work", "country": "GB", "primary": "True"}]);
    body["emails"] = json!([{"type": "work", "value": "ada@contoso.com", "primary": "True"}]);
    let id = entra.create("/Users", &body);
    assert_eq!(field(&server, &id, "Country"), Some(json!("GB")));
    assert_eq!(field(&server, &id, "Email"), Some(json!("ada@contoso.com")));
    assert_eq!(entra.user_count("addresses[primary eq \"True\"]"), 1);
}
