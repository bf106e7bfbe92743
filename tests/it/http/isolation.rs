//! Tenant isolation and the global userName uniqueness, over HTTP.

use serde_json::json;

use super::support::{PATCH_OP, Server, tenant_state};

#[test]
fn a_key_of_one_tenant_never_reaches_another() {
    let (server, a) = Server::with_tenant("alpha");
    let b = server.tenant("beta");
    let b_user = b.create_user("bob@beta.example");
    let b_group = b.create_group("Beta Team", &[&b_user]);
    a.create_user("ann@alpha.example");
    let b_before = tenant_state(&server.store, "beta");

    for path in [format!("/Users/{b_user}"), format!("/Groups/{b_group}")] {
        a.get(&path).expect_error(404, None);
        let patch = json!({"schemas": [PATCH_OP],
                           "Operations": [{"op": "replace", "value": {"displayName": "Hijacked"}}]});
        a.patch(&path, &patch).expect_error(404, None);
        a.delete(&path).expect_error(404, None);
    }
    assert_eq!(tenant_state(&server.store, "beta"), b_before);

    let users = a.get_json("/Users?startIndex=1&count=100");
    assert_eq!(users["totalResults"], json!(1));
    assert_eq!(
        users["Resources"][0]["userName"],
        json!("ann@alpha.example")
    );
    let groups = a.get_json("/Groups");
    assert_eq!(groups["totalResults"], json!(0));
    assert_eq!(a.user_count("userName eq \"bob@beta.example\""), 0);
    assert_eq!(a.user_count("userName co \"beta\""), 0);
    let found = a.filtered("/Groups", "displayName eq \"Beta Team\"");
    assert_eq!(found["totalResults"], json!(0));
    let search = a
        .post(
            "/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName pr"}),
        )
        .expect(200)
        .json();
    assert_eq!(search["totalResults"], json!(1), "{search}");
}

#[test]
fn user_name_taken_in_another_tenant_is_a_conflict_that_names_no_tenant() {
    let (server, a) = Server::with_tenant("alpha");
    let b = server.tenant("beta");
    a.create_user("shared@example.com");
    let b_before = tenant_state(&server.store, "beta");
    let error = b.refused_user("Shared@Example.com", 409, Some("uniqueness"));
    let detail = error["detail"].as_str().unwrap();
    assert!(!detail.to_lowercase().contains("alpha"), "{detail}");
    assert_eq!(tenant_state(&server.store, "beta"), b_before);
    assert_eq!(b.user_count("userName pr"), 0);
    let log = server.store.log(&"beta".into(), true).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.status, 409);
    assert_eq!(last.scim_type.as_deref(), Some("uniqueness"));
}
