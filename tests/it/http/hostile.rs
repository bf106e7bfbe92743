//! Hostile and careless input at the SCIM layer (issue 9 items 1, 2, 3, 4, 8): secrets under
//! every spelling, nesting, sizes, duplicate names and parameters, broken invariants after
//! PATCH, Unicode userNames, unknown attributes. Each answer is exact, and a refused request
//! changes nothing.

use serde_json::{Value, json};

use super::bad_input::unchanged;
use super::support::{Client, Server, USER_SCHEMA, encode, items, okta_user};

const CORE_PASSWORD: &str = "urn:ietf:params:scim:schemas:core:2.0:User:password";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Whether `haystack` holds `needle`'s bytes anywhere.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Stops the server and returns the bytes of its database file.
fn database_bytes(server: Server) -> Vec<u8> {
    let (_dir, path) = server.finish();
    std::fs::read(path).unwrap()
}

#[test]
fn a_password_under_any_spelling_is_never_stored_returned_or_logged() {
    let (server, okta) = Server::with_tenant("acme");
    let secrets: Vec<String> = (0..7).map(|i| format!("Hunter2-secret-{i}-zq")).collect();
    let mut ids = Vec::new();
    // POST, with each spelling of the attribute.
    for (i, key) in [
        "password",
        "PASSWORD",
        CORE_PASSWORD,
        "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:Password",
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = okta_user(&format!("user{i}@ex.com"));
        let object = body.as_object_mut().unwrap();
        object.remove("password");
        object.insert(key.to_owned(), json!(secrets[i]));
        let response = okta.post("/Users", &body).expect(201);
        assert!(!contains(&response.body, &secrets[i]), "POST with {key}");
        ids.push(response.json()["id"].as_str().unwrap().to_owned());
    }
    // PUT with the URN-qualified name.
    let mut put = okta_user("user0@ex.com");
    put.as_object_mut().unwrap().remove("password");
    put[CORE_PASSWORD] = json!(secrets[4]);
    let response = okta.put(&format!("/Users/{}", ids[0]), &put).expect(200);
    assert!(!contains(&response.body, &secrets[4]), "PUT");
    // PATCH: a pathless value holding the URN-qualified name, and a path naming it.
    let response = okta
        .patch_ops(
            &format!("/Users/{}", ids[1]),
            json!([{"op": "replace", "value": {CORE_PASSWORD: secrets[5]}}]),
        )
        .expect(200);
    assert!(!contains(&response.body, &secrets[5]), "PATCH value");
    let response = okta
        .patch_ops(
            &format!("/Users/{}", ids[2]),
            json!([{"op": "replace", "path": CORE_PASSWORD, "value": secrets[6]}]),
        )
        .expect(200);
    assert!(!contains(&response.body, &secrets[6]), "PATCH path");
    // Nothing returns it: GET, list, list asking for it.
    for id in &ids {
        let response = okta.get(&format!("/Users/{id}")).expect(200);
        let body = response.json();
        assert!(body.get("password").is_none() && body.get(CORE_PASSWORD).is_none());
        assert!(secrets.iter().all(|s| !contains(&response.body, s)));
    }
    for query in ["", "?attributes=password,userName", "?sortBy=userName"] {
        let response = okta.get(&format!("/Users{query}")).expect(200);
        assert_eq!(response.json()["totalResults"], json!(4), "{query}");
        assert!(
            secrets.iter().all(|s| !contains(&response.body, s)),
            "{query}"
        );
    }
    // The log masks it; the database file holds it nowhere (resources, history, log).
    let log = server.store.log(&"acme".into(), false).unwrap();
    assert_eq!(log.len(), 7);
    let bytes = database_bytes(server);
    for secret in &secrets {
        assert!(
            !contains(&bytes, secret),
            "{secret} is in the database file"
        );
    }
}

#[test]
fn a_numeric_password_is_refused_without_being_echoed_or_logged() {
    let (server, okta) = Server::with_tenant("acme");
    let mut body = okta_user("jane@ex.com");
    body["password"] = json!(918_273_645);
    let response = unchanged(&server, || okta.post("/Users", &body));
    let error = response.expect_error(400, Some("invalidValue"));
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("password"), "{detail}");
    assert!(!detail.contains("918273645"), "{detail}");
    let log = server.store.log(&"acme".into(), false).unwrap();
    assert_eq!(log.len(), 1);
    assert!(!log[0].detail.as_deref().unwrap_or("").contains("918273645"));
    assert!(!contains(&database_bytes(server), "918273645"));
}

#[test]
fn the_password_cannot_be_filtered_or_sorted_on() {
    let (_server, okta) = Server::with_tenant("acme");
    okta.create_user("jane@ex.com");
    let filter = encode(r#"password eq "1mz050nq""#);
    okta.get(&format!("/Users?filter={filter}"))
        .expect_error(400, Some("invalidFilter"));
    okta.get("/Users?sortBy=password")
        .expect_error(400, Some("invalidValue"));
}

#[test]
fn a_password_in_a_bulk_request_is_neither_stored_nor_logged() {
    let (server, okta) = Server::with_tenant("acme");
    let mut user = okta_user("bulk@ex.com");
    user.as_object_mut().unwrap().remove("password");
    user[CORE_PASSWORD] = json!("Bulk-secret-one-zq");
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "bulkId": "u", "path": "/Users", "data": user},
            {"method": "PATCH", "path": "/Users/bulkId:u", "data": {"Operations": [
                {"op": "replace", "path": "PassWord", "value": "Bulk-secret-two-zq"},
                {"op": "replace", "value": {CORE_PASSWORD: "Bulk-secret-three-zq"}}
            ]}}
        ]
    });
    let response = okta.post("/Bulk", &bulk).expect(200).json();
    let statuses: Vec<&Value> = items(&response["Operations"])
        .map(|op| &op["status"])
        .collect();
    assert_eq!(statuses, [&json!("201"), &json!("200")], "{response}");
    let bytes = database_bytes(server);
    for secret in [
        "Bulk-secret-one-zq",
        "Bulk-secret-two-zq",
        "Bulk-secret-three-zq",
    ] {
        assert!(
            !contains(&bytes, secret),
            "{secret} is in the database file"
        );
    }
}

/// `depth` nested objects: `{"a": {"a": ... {} ... }}`.
fn nested(depth: usize) -> String {
    format!(
        "{}{{}}{}",
        "{\"a\": ".repeat(depth - 1),
        "}".repeat(depth - 1)
    )
}

#[test]
fn a_deeply_nested_body_is_invalid_syntax_and_the_log_stays_readable() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    let deep_user = format!(
        r#"{{"schemas": ["{USER_SCHEMA}"], "userName": "deep@ex.com", "x509Certificates": [{}]}}"#,
        nested(124)
    );
    let deep_patch = format!(
        r#"{{"Operations": [{{"op": "replace", "path": "displayName", "value": {}}}]}}"#,
        nested(123)
    );
    unchanged(&server, || {
        let error = okta
            .send_text("POST", "/Users", &deep_user)
            .expect_error(400, Some("invalidSyntax"));
        assert!(error["detail"].as_str().unwrap().contains("32"), "{error}");
        okta.send_text("PATCH", &format!("/Users/{id}"), &deep_patch)
            .expect_error(400, Some("invalidSyntax"));
    });
    // What `provisio log` reads is still readable: the one create.
    let log = server.store.log(&"acme".into(), false).unwrap();
    assert_eq!(log.len(), 1);
}

#[test]
fn more_than_a_thousand_values_are_refused() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    let emails: Vec<Value> = (0..20_000)
        .map(|i| json!({"value": format!("{i}@ex.com")}))
        .collect();
    let mut body = okta_user("many@ex.com");
    body["emails"] = Value::Array(emails);
    let almost: Vec<Value> = (0..999)
        .map(|i| json!({"value": format!("{i}@ex.com")}))
        .collect();
    unchanged(&server, || {
        let error = okta
            .post("/Users", &body)
            .expect_error(400, Some("invalidValue"));
        assert!(
            error["detail"].as_str().unwrap().contains("emails"),
            "{error}"
        );
        // 1 + 999 values is the most a user may hold; two more PATCHes cannot grow past it.
        okta.patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "emails", "value": almost},
                   {"op": "add", "path": "emails", "value": [{"value": "one-too-many@ex.com"}]}]),
        )
        .expect_error(400, Some("invalidValue"));
    });
    okta.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "emails", "value": almost}]),
    )
    .expect(200);
}

#[test]
fn keys_differing_only_in_case_are_invalid_syntax_naming_both() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    let body = format!(
        r#"{{"schemas": ["{USER_SCHEMA}"], "userName": "a@ex.com", "USERNAME": "b@ex.com"}}"#
    );
    let spelt_twice = json!({"userName": "a@ex.com", "urn:ietf:params:scim:schemas:core:2.0:User:userName": "b@ex.com"});
    unchanged(&server, || {
        let error = okta
            .send_text("POST", "/Users", &body)
            .expect_error(400, Some("invalidSyntax"));
        let detail = error["detail"].as_str().unwrap();
        assert!(
            detail.contains("`userName`") && detail.contains("`USERNAME`"),
            "{detail}"
        );
        okta.post("/Users", &spelt_twice)
            .expect_error(400, Some("invalidSyntax"));
        let patch = r#"{"Operations": [{"op": "replace", "value": {"displayName": "a", "DisplayName": "b"}}]}"#;
        okta.send_text("PATCH", &format!("/Users/{id}"), patch)
            .expect_error(400, Some("invalidSyntax"));
    });
}

#[test]
fn a_repeated_list_parameter_is_invalid_value() {
    let (_server, okta) = Server::with_tenant("acme");
    okta.create_user("jane@ex.com");
    let one = encode(r#"userName eq "jane@ex.com""#);
    let other = encode(r#"userName eq "nobody@ex.com""#);
    let error = okta
        .get(&format!("/Users?filter={one}&filter={other}"))
        .expect_error(400, Some("invalidValue"));
    assert!(
        error["detail"].as_str().unwrap().contains("filter"),
        "{error}"
    );
    okta.get("/Users?count=1&COUNT=2")
        .expect_error(400, Some("invalidValue"));
    okta.get(&format!("/Users?filter={one}&count=1"))
        .expect(200);
}

#[test]
fn duplicate_bulk_ids_are_invalid_value_and_nothing_runs() {
    let (server, okta) = Server::with_tenant("acme");
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "bulkId": "u", "path": "/Users", "data": okta_user("a@ex.com")},
            {"method": "POST", "bulkId": "u", "path": "/Users", "data": okta_user("b@ex.com")}
        ]
    });
    let error = unchanged(&server, || {
        okta.post("/Bulk", &bulk)
            .expect_error(400, Some("invalidValue"))
    });
    assert!(
        error["detail"].as_str().unwrap().contains("\"u\""),
        "{error}"
    );
}

#[test]
fn patch_keeps_the_required_user_name() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    let path = format!("/Users/{id}");
    unchanged(&server, || {
        for operations in [
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            json!([{"op": "replace", "path": "userName", "value": "   "}]),
            json!([{"op": "replace", "value": {"userName": null}}]),
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:userName": ""}}]),
        ] {
            let error = okta
                .patch_ops(&path, operations.clone())
                .expect_error(400, Some("invalidValue"));
            assert!(
                error["detail"].as_str().unwrap().contains("userName"),
                "{operations}: {error}"
            );
        }
        // A userName PRECIS refuses (a NUL) gives its reason.
        let error = okta
            .patch_ops(
                &path,
                json!([{"op": "replace", "path": "userName", "value": "ja\u{0}ne@ex.com"}]),
            )
            .expect_error(400, Some("invalidValue"));
        assert!(
            error["detail"].as_str().unwrap().contains("U+0000"),
            "{error}"
        );
    });
    // A group keeps its displayName the same way.
    let group = okta.create_group("Sales", &[]);
    unchanged(&server, || {
        okta.patch_ops(
            &format!("/Groups/{group}"),
            json!([{"op": "remove", "path": "displayName"}]),
        )
        .expect_error(400, Some("invalidValue"));
    });
}

#[test]
fn user_name_filters_compare_on_the_precis_key() {
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jos\u{e9}@ex.com");
    for filter in [
        // NFD, upper case NFC, full-width: all the same name.
        "userName eq \"jose\u{301}@ex.com\"",
        "userName eq \"JOS\u{c9}@EX.COM\"",
        "userName eq \"\u{ff4a}os\u{e9}@ex.com\"",
        "userName sw \"JOSE\u{301}\"",
        "userName co \"se\u{301}@\"",
        "userName eq \"jose\u{301}@ex.com\" and active eq true",
    ] {
        let body = okta.filtered("/Users", filter);
        assert_eq!(body["totalResults"], json!(1), "{filter}");
        assert_eq!(body["Resources"][0]["id"], json!(id), "{filter}");
        // Stored and returned as sent.
        assert_eq!(body["Resources"][0]["userName"], json!("jos\u{e9}@ex.com"));
    }
    assert_eq!(okta.user_count("userName eq \"jose@ex.com\""), 0);
}

fn refused(okta: &Client, server: &Server, id: &str) {
    let mut evil = okta_user("evil@ex.com");
    evil["evil"] = json!("x");
    let mut junk = okta_user("junk@ex.com");
    junk["name"]["junk"] = json!("x");
    let mut typo = okta_user("typo@ex.com");
    typo["titel"] = json!("Boss");
    unchanged(server, || {
        for (body, why) in [
            (&evil, "`evil`"),
            (&junk, "junk"),
            (&typo, "did you mean `title`"),
        ] {
            let error = okta
                .post("/Users", body)
                .expect_error(400, Some("invalidValue"));
            assert!(error["detail"].as_str().unwrap().contains(why), "{error}");
        }
        let mut put = okta_user("jane@ex.com");
        put["evil"] = json!("x");
        okta.put(&format!("/Users/{id}"), &put)
            .expect_error(400, Some("invalidValue"));
        for operations in [
            json!([{"op": "add", "value": {"evil": "x"}}]),
            json!([{"op": "add", "value": {"name.junk": "x"}}]),
            json!([{"op": "add", "path": "evil", "value": "x"}]),
            json!([{"op": "add", "path": "name.junk", "value": "x"}]),
        ] {
            okta.patch_ops(&format!("/Users/{id}"), operations)
                .expect_error(400, Some("invalidPath"));
        }
        okta.patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "name", "value": {"junk": "x"}}]),
        )
        .expect_error(400, Some("invalidValue"));
    });
}

#[test]
fn unknown_attributes_are_refused_by_post_put_and_patch_alike() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("jane@ex.com");
    refused(&okta, &server, &id);
}

#[test]
fn a_foreign_extension_is_kept_and_patch_can_change_and_remove_it() {
    let (_server, okta) = Server::with_tenant("acme");
    let mut body = okta_user("jane@ex.com");
    body["schemas"] = json!([USER_SCHEMA, CUSTOM]);
    body[CUSTOM] = json!({"badge": "7", "floor": "2"});
    let created = okta.post("/Users", &body).expect(201).json();
    assert_eq!(created[CUSTOM], json!({"badge": "7", "floor": "2"}));
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    okta.patch_ops(
        &path,
        json!([{"op": "replace", "path": format!("{CUSTOM}:badge"), "value": "8"},
               {"op": "remove", "path": format!("{CUSTOM}:floor")},
               {"op": "add", "value": {format!("{CUSTOM}:desk"): "12"}}]),
    )
    .expect(200);
    let got = okta.get_json(&path);
    assert_eq!(got[CUSTOM], json!({"badge": "8", "desk": "12"}));
    let found = okta.filtered("/Users", &format!("{CUSTOM}:badge eq \"8\""));
    assert_eq!(found["totalResults"], json!(1));
    okta.patch_ops(&path, json!([{"op": "remove", "path": CUSTOM}]))
        .expect(200);
    assert!(okta.get_json(&path).get(CUSTOM).is_none());
}

#[test]
fn read_only_input_is_ignored_at_every_level() {
    let (_server, okta) = Server::with_tenant("acme");
    let mut body = okta_user("jane@ex.com");
    body["schemas"] = json!([
        USER_SCHEMA,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"manager": {"value": "m1", "displayName": "Claimed Boss"}});
    body["id"] = json!("chosen-by-client");
    body["meta"] = json!({"created": "1999-01-01T00:00:00Z"});
    let created = okta.post("/Users", &body).expect(201).json();
    assert_ne!(created["id"], json!("chosen-by-client"));
    assert_ne!(created["meta"]["created"], json!("1999-01-01T00:00:00Z"));
    assert_eq!(
        created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "m1"})
    );
}

#[test]
fn one_user_name_under_every_unicode_spelling_is_one_user_in_every_tenant() {
    let (server, acme) = Server::with_tenant("acme");
    let other = server.tenant("other");
    let nfd_id = acme.create_user("jose\u{301}@ex.com");
    // NFC, upper case, full width, spaces around: the same name, in this tenant...
    let spellings = [
        "jos\u{e9}@ex.com",
        "JOS\u{c9}@EX.COM",
        "\u{ff4a}os\u{e9}@ex.com",
        " jose\u{301}@ex.com ",
    ];
    for spelling in spellings {
        acme.refused_user(spelling, 409, Some("uniqueness"));
        // ...and in another: the cross-instance rule holds under every spelling.
        other.refused_user(spelling, 409, Some("uniqueness"));
    }
    let found = acme.filtered("/Users", "userName eq \"jos\u{e9}@ex.com\"");
    assert_eq!(found["Resources"][0]["id"], json!(nfd_id), "{found}");
    // Invisible and control characters make no name at all.
    for bad in [
        "jo\u{200b}se@ex.com",
        "jo\u{0}se@ex.com",
        "\u{202e}moc.xe@esoj",
        "jo\u{1b}[31mse@ex.com",
    ] {
        acme.refused_user(bad, 400, Some("invalidValue"));
    }
    assert_eq!(acme.user_count("userName pr"), 1);
    assert_eq!(other.user_count("userName pr"), 0);
}

#[test]
fn a_number_reads_back_as_it_was_stored() {
    // Found by the ingest fuzzer: serde_json's default float parsing is best-effort, so
    // 999999999998448299999999 became 9.999999999984484e23 in the 201 and read back from the
    // row as 9.999999999984483e23.
    let (_server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("float@ex.com");
    let text = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:x:custom:1.0:User:score","value":999999999998448299999999}]}"#;
    let answered = okta
        .send_text("PATCH", &format!("/Users/{id}"), text)
        .expect(200)
        .json();
    let read = okta.get_json(&format!("/Users/{id}"));
    let ext = "urn:x:custom:1.0:User";
    assert_eq!(
        answered[ext]["score"], read[ext]["score"],
        "{answered} / {read}"
    );
    assert_eq!(
        read[ext]["score"].as_f64(),
        Some(999_999_999_998_448_299_999_999_f64)
    );
}
