//! The rest of the surface: discovery, `.search`, and the provisioning log.

use serde_json::json;

use super::support::{Server, okta_user};

#[test]
fn discovery_is_read_only() {
    let (_server, okta) = Server::with_tenant("acme");
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let response = okta.send(method, path, &[], Some(b"{}"));
            assert_eq!(response.header("allow"), Some("GET"), "{method} {path}");
            response.expect_error(405, None);
        }
        okta.get(path).expect(200);
    }
}

#[test]
fn service_provider_config_is_open() {
    let server = Server::start();
    let anonymous = server.client(None);
    let body = anonymous.get_json("/ServiceProviderConfig");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(body["patch"]["supported"], json!(true));
    anonymous.get("/Schemas").expect_error(401, None);
}

#[test]
fn search_by_post() {
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    okta.create_user("john@ex.com");
    let body = okta
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName sw \"JANE\"", "startIndex": 1, "count": 10,
                    "attributes": ["userName"]}),
        )
        .expect(200)
        .json();
    assert_eq!(body["totalResults"], json!(1), "{body}");
    assert_eq!(body["Resources"][0]["id"], json!(id));
    assert_eq!(body["Resources"][0]["userName"], json!("jane@ex.com"));
    assert!(body["Resources"][0].get("emails").is_none(), "{body}");
}

#[test]
fn provisioning_log_records_failures_without_the_password() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    okta.refused_user("jane@ex.com", 409, Some("uniqueness"));
    okta.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "password", "value": "n3w-s3cret"},
               {"op": "replace", "path": "nope", "value": 1}]),
    )
    .expect_error(400, Some("invalidPath"));

    let failed = server.store.log(&"acme".into(), true).unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].method, "POST");
    assert_eq!(failed[0].status, 409);
    assert_eq!(failed[0].scim_type.as_deref(), Some("uniqueness"));
    assert!(failed[0].detail.is_some());
    // A failure after the success's record was made keeps the request, masked.
    let refused = failed[0]
        .request
        .as_ref()
        .expect("the refused create's body");
    assert_eq!(refused["userName"], json!("jane@ex.com"), "{refused}");
    assert_eq!(refused["password"], json!("********"), "{refused}");
    assert_eq!(failed[1].method, "PATCH");
    assert_eq!(failed[1].scim_type.as_deref(), Some("invalidPath"));
    let patch = failed[1]
        .request
        .as_ref()
        .expect("the refused PATCH's body");
    assert_eq!(
        patch["Operations"][0]["value"],
        json!("********"),
        "{patch}"
    );
    assert_eq!(patch["Operations"][1]["path"], json!("nope"), "{patch}");
    let all = server.store.log(&"acme".into(), false).unwrap();
    assert_eq!(all.len(), 3, "the successful create too");
    let text = serde_json::to_string(&all.iter().map(|r| &r.request).collect::<Vec<_>>()).unwrap();
    assert!(!text.contains("1mz050nq"), "{text}");
    assert!(!text.contains("n3w-s3cret"), "{text}");
    assert!(
        text.contains("jane@ex.com"),
        "the rest of the request is kept"
    );
}

#[test]
fn group_patch_answers_204_unless_attributes_are_asked_for() {
    let (_server, okta) = Server::with_tenant("acme");
    let user = okta.create_user("jane@ex.com");
    let group = okta.create_group("Sales", &[]);
    let add = json!([{"op": "add", "path": "members", "value": [{"value": user}]}]);
    let response = okta.patch_ops(&format!("/Groups/{group}"), add);
    assert_eq!(
        response.status,
        204,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert!(response.body.is_empty());
    assert_eq!(response.header("etag"), Some("W/\"2\""));
    let body = okta.patched(
        &format!("/Groups/{group}?attributes=displayName,members"),
        json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}]),
    );
    assert_eq!(body["displayName"], json!("Sales EMEA"));
    assert_eq!(body["members"][0]["value"], json!(user));
}

#[test]
fn a_patch_keeps_created_bumps_the_version_and_writes_the_entity() {
    let (_server, okta) = Server::with_tenant("acme");
    let user = okta.create_user("jane@ex.com");
    let path = format!("/Users/{user}");
    let first = okta.get_json(&path);
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    let patched = okta.patched(&path, off);
    assert_eq!(patched["active"], json!(false), "{patched}");
    let title = json!([{"op": "replace", "path": "title", "value": "Engineer"}]);
    let response = okta.patch_ops(&path, title);
    assert_eq!(response.header("etag"), Some("W/\"3\""));
    let now = okta.get_json(&path);
    assert_eq!(now["meta"]["created"], first["meta"]["created"], "{now}");
    assert_eq!(now["meta"]["version"], json!("W/\"3\""), "{now}");
    assert_eq!(
        now["active"],
        json!(false),
        "the first PATCH is kept: {now}"
    );
    assert_eq!(now["title"], json!("Engineer"), "{now}");
}

/// A bulk operation creating group `name` (bulkId `bulk_id`) with the member created by
/// the operation of bulkId `member`.
fn bulk_group(bulk_id: &str, name: &str, member: &str) -> serde_json::Value {
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"displayName": name, "members": [{"value": format!("bulkId:{member}")}]}})
}

fn bulk(operations: serde_json::Value, fail_on_errors: Option<u64>) -> serde_json::Value {
    let mut request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations
    });
    if let Some(n) = fail_on_errors {
        request["failOnErrors"] = json!(n);
    }
    request
}

#[test]
fn bulk_resolves_bulk_id_references() {
    let (_server, okta) = Server::with_tenant("acme");
    // The group refers to a user created later in the same request.
    let request = bulk(
        json!([
            bulk_group("g1", "Sales", "u1"),
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": okta_user("ann@ex.com")}
        ]),
        None,
    );
    let body = okta.post("/Bulk", &request).expect(200).json();
    let results = body["Operations"].as_array().expect("operations");
    assert!(
        results.iter().all(|r| r["status"] == json!("201")),
        "{body}"
    );
    let group_location = results
        .iter()
        .find(|r| r["bulkId"] == json!("g1"))
        .and_then(|r| r["location"].as_str())
        .expect("group location");
    let group_id = group_location.rsplit('/').next().expect("id");
    let group = okta.get_json(&format!("/Groups/{group_id}"));
    let user = okta.get_json("/Users?filter=userName%20eq%20%22ann@ex.com%22");
    assert_eq!(
        group["members"][0]["value"], user["Resources"][0]["id"],
        "{group}"
    );
}

#[test]
fn bulk_reports_cycles_and_stops_after_fail_on_errors() {
    let (_server, okta) = Server::with_tenant("acme");
    let cyclic = bulk(
        json!([bulk_group("a", "A", "b"), bulk_group("b", "B", "a")]),
        None,
    );
    let body = okta.post("/Bulk", &cyclic).expect(200).json();
    let results = body["Operations"].as_array().expect("operations");
    assert_eq!(results.len(), 2, "{body}");
    assert!(
        results.iter().all(|r| r["status"] == json!("409")),
        "{body}"
    );
    assert_eq!(okta.get_json("/Groups")["totalResults"], json!(0));

    // Two failing operations, failOnErrors 1: the third is not run.
    let failing = bulk(
        json!([
            {"method": "PATCH", "path": "/Users/nope-1", "data": {"Operations": [{"op": "replace", "value": {"active": false}}]}},
            {"method": "DELETE", "path": "/Users/nope-2"},
            {"method": "POST", "path": "/Users", "data": okta_user("late@ex.com")}
        ]),
        Some(1),
    );
    let body = okta.post("/Bulk", &failing).expect(200).json();
    let results = body["Operations"].as_array().expect("operations");
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["status"], json!("404"));
    assert_eq!(okta.get_json("/Users")["totalResults"], json!(0));
}

#[test]
fn bulk_over_the_advertised_limit_is_refused() {
    let (_server, okta) = Server::with_tenant("acme");
    let operations: Vec<serde_json::Value> = (0..1001)
        .map(|n| json!({"method": "DELETE", "path": format!("/Users/x{n}")}))
        .collect();
    let error = okta
        .post("/Bulk", &bulk(json!(operations), None))
        .expect_error(413, Some("tooMany"));
    assert!(
        error["detail"].as_str().unwrap_or("").contains("1000"),
        "{error}"
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let server = Server::start_configured(
        std::path::Path::new(super::support::CLARIZEN_RULES),
        |config| config.header_read_timeout = Duration::from_millis(300),
    );
    let mut stream = std::net::TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let started = Instant::now();
    stream
        .write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")
        .expect("partial head");
    let mut rest = Vec::new();
    // The server closes the connection (possibly after a 408): the read ends, not blocks.
    let _ = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed too early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "not cut off: {waited:?}");
    // The server still serves others.
    server
        .client(None)
        .get("/ServiceProviderConfig")
        .expect(200);
}

#[test]
fn root_search_resolves_attributes_for_each_kind() {
    let (_server, okta) = Server::with_tenant("acme");
    let user = okta.create_user("ann@ex.com");
    okta.create_group("Sales", &[&user]);
    let found = okta
        .post(
            "/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "excludedAttributes": ["members", "groups"]}),
        )
        .expect(200)
        .json();
    let resources = found["Resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2, "{found}");
    for resource in resources {
        assert!(resource.get("members").is_none(), "{resource}");
        assert!(resource.get("groups").is_none(), "{resource}");
    }
}

#[test]
fn an_extension_value_may_repeat_its_schemas() {
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("ann@ex.com");
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for op in ["add", "replace"] {
        let body = okta
            .patch_ops(
                &format!("/Users/{id}"),
                json!([{"op": op, "path": enterprise,
                        "value": {"schemas": [enterprise], "department": format!("R&D {op}")}}]),
            )
            .expect(200)
            .json();
        assert_eq!(
            body[enterprise]["department"],
            json!(format!("R&D {op}")),
            "{body}"
        );
    }
}
