//! Bad input over HTTP: each gets the right status and `scimType`, and nothing is written.

use std::path::Path;

use serde_json::json;

use super::support::{CLARIZEN_RULES, Client, Server, encode, okta_user, tenant_state};

/// A server with one user in tenant `acme`; returns the server, its client and the user id.
/// The `ETag` of the resource at `path`.
fn etag_of(client: &Client, path: &str) -> String {
    let response = client.get(path).expect(200);
    response.header("etag").unwrap().to_owned()
}

fn with_user() -> (Server, Client, String) {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    (server, okta, id)
}

/// Runs `request` and asserts that no state of tenant `acme` changed.
#[track_caller]
pub(super) fn unchanged<T>(server: &Server, request: impl FnOnce() -> T) -> T {
    let before = tenant_state(&server.store, "acme");
    let result = request();
    assert_eq!(
        tenant_state(&server.store, "acme"),
        before,
        "something was written"
    );
    result
}

#[test]
fn malformed_json_patch() {
    let (server, okta, id) = with_user();
    unchanged(&server, || {
        okta.send(
            "PATCH",
            &format!("/Users/{id}"),
            &[],
            Some(b"{\"Operations\": [{\"op\": \"replace\", \"value\": {\"active\": false}}"),
        )
        .expect_error(400, Some("invalidSyntax"))
    });
}

#[test]
fn oversized_body_is_413() {
    let (server, okta, _) = with_user();
    let mut body = okta_user("big@ex.com");
    body["displayName"] = json!("x".repeat(1024 * 1024 + 1));
    unchanged(&server, || {
        okta.post("/Users", &body)
            .expect_error(413, Some("tooMany"))
    });
    assert_eq!(okta.user_count("userName eq \"big@ex.com\""), 0);
}

#[test]
fn ten_thousand_nested_parentheses_in_a_filter() {
    let (server, okta, _) = with_user();
    let deep = format!(
        "{}userName eq \"jane@ex.com\"{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    // Parentheses may stand raw in a query; keep the URI short enough for the parser.
    let query = encode(&deep).replace("%28", "(").replace("%29", ")");
    unchanged(&server, || {
        okta.get(&format!("/Users?filter={query}"))
            .expect_error(400, Some("invalidFilter"));
        okta.post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": deep}),
        )
        .expect_error(400, Some("invalidFilter"));
    });
    // The server still answers.
    assert_eq!(okta.user_count("userName eq \"jane@ex.com\""), 1);
}

#[test]
fn unknown_patch_path_is_invalid_path() {
    let (server, okta, id) = with_user();
    let error = unchanged(&server, || {
        okta.patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "displayName", "value": "Applied?"},
                {"op": "replace", "path": "favouriteColour", "value": "green"}
            ]),
        )
        .expect_error(400, Some("invalidPath"))
    });
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("favouriteColour"),
        "{error}"
    );
}

#[test]
fn wrong_type_for_active_is_invalid_value() {
    let (server, okta, id) = with_user();
    unchanged(&server, || {
        okta.patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": 42}]),
        )
        .expect_error(400, Some("invalidValue"));
        let mut body = okta_user("typed@ex.com");
        body["active"] = json!({"yes": true});
        okta.post("/Users", &body)
            .expect_error(400, Some("invalidValue"));
    });
}

#[test]
fn mismatched_or_invalid_if_match_is_412() {
    let (server, okta, id) = with_user();
    let path = format!("/Users/{id}");
    let etag = etag_of(&okta, &path);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "value": {"displayName": "Changed"}}]})
    .to_string();
    unchanged(&server, || {
        for stale in ["W/\"999\"", "not-an-etag"] {
            let response = okta.send(
                "PATCH",
                &path,
                &[("If-Match", stale)],
                Some(patch.as_bytes()),
            );
            response.expect_error(412, None);
        }
        okta.send("DELETE", &path, &[("If-Match", "W/\"999\"")], None)
            .expect_error(412, None);
    });
    // The current ETag passes.
    okta.send(
        "PATCH",
        &path,
        &[("If-Match", &etag)],
        Some(patch.as_bytes()),
    )
    .expect(200);
}

#[test]
fn matching_if_none_match_is_304() {
    let (_server, okta, id) = with_user();
    let path = format!("/Users/{id}");
    let etag = etag_of(&okta, &path);
    let response = okta
        .send("GET", &path, &[("If-None-Match", &etag)], None)
        .expect(304);
    assert!(response.body.is_empty());
    okta.send("GET", &path, &[("If-None-Match", "W/\"999\"")], None)
        .expect(200);
}

#[test]
fn an_id_that_is_not_ours_is_404() {
    let (server, okta, _) = with_user();
    let other = server.tenant("other");
    let foreign = other.create_user("foreign@ex.com");
    unchanged(&server, || {
        for id in ["no-such-id", foreign.as_str()] {
            let path = format!("/Users/{id}");
            okta.patch_ops(
                &path,
                json!([{"op": "replace", "value": {"active": false}}]),
            )
            .expect_error(404, None);
            okta.put(&path, &okta_user("jane@ex.com"))
                .expect_error(404, None);
            okta.delete(&path).expect_error(404, None);
        }
    });
}

/// Copies a profile folder (one level of subfolders).
fn copy_rules(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_rules(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_hook_exceeding_its_limits_fails_the_operation() {
    let rules = tempfile::tempdir().unwrap();
    copy_rules(Path::new(CLARIZEN_RULES), rules.path());
    std::fs::write(
        rules.path().join("workflows/job_title.rhai"),
        "// A runaway workflow.\nfn link_job_title(user, before, after) {\n    let n = 0;\n    loop { n += 1; }\n}\n",
    )
    .unwrap();
    let server = Server::start_with_rules(rules.path());
    let okta = server.tenant("acme");
    let id = okta.create_user("jane@ex.com");
    let error = unchanged(&server, || {
        okta.patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "Engineer"}]),
        )
        .expect_error(400, Some("invalidValue"))
    });
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("job_title.rhai"), "{detail}");
    assert!(detail.contains("limit"), "{detail}");
    assert_eq!(
        okta.get(&format!("/Users/{id}"))
            .expect(200)
            .json()
            .get("title"),
        None
    );
}
