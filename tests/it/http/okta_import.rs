//! Okta's import (issue 8): pre-existing users and groups (`entities import`, not yet
//! picked up) are listed by `GET /Users` and `GET /Groups`, filters included, with stable
//! ids and consistent paging, rendered from their fields; a PUT or PATCH to one picks it
//! up, in the history.

use serde_json::{Value, json};

use super::support::{CLARIZEN_RULES, Server, items, okta_user};

fn ids(page: &Value) -> Vec<String> {
    items(&page["Resources"])
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_okta_import_finds_a_pre_existing_user_and_a_write_picks_it_up() {
    let (server, okta) = Server::with_tenant("acme");
    let file = r#"{"users": [{"UserName": "Ann@Example.com", "FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com"},
                             {"UserName": "cy@example.com"}],
                   "groups": [{"Name": "Finance"}]}"#;
    let summary = server.import("acme", file);
    let ann = summary.created[0].id.to_string();
    let cy = summary.created[1].id.to_string();
    let finance = summary.created[2].id.to_string();
    let bob = okta.create_user("bob@example.com");

    // Page by page, as Okta imports: provisioned first, then pre-existing, ids stable.
    let mut seen = Vec::new();
    for start in 1..=4 {
        let page = okta.get_json(&format!("/Users?startIndex={start}&count=1"));
        assert_eq!(page["totalResults"], json!(3), "{page}");
        assert_eq!(page["startIndex"], json!(start));
        seen.extend(ids(&page));
    }
    let mut expected_unmanaged = [ann.clone(), cy.clone()];
    expected_unmanaged.sort();
    assert_eq!(seen[0], bob);
    assert_eq!(seen[1..], expected_unmanaged[..]);
    let all = okta.get_json("/Users?startIndex=1&count=10");
    assert_eq!(ids(&all), seen);

    // Okta matches by userName: a filter in any case finds the imported user.
    let found = okta.filtered("/Users", "userName eq \"ann@EXAMPLE.com\"");
    assert_eq!(found["totalResults"], json!(1), "{found}");
    let user = &found["Resources"][0];
    assert_eq!(user["id"], json!(ann));
    assert_eq!(user["userName"], json!("Ann@Example.com"));
    assert_eq!(
        user["name"],
        json!({"givenName": "Ann", "familyName": "Lee"})
    );
    assert_eq!(
        user["emails"],
        json!([{"primary": true, "value": "ann@example.com"}])
    );
    assert_eq!(user["active"], json!(true));
    assert_eq!(user["meta"]["resourceType"], json!("User"));
    let starts = okta.filtered("/Users", "userName sw \"c\"");
    assert_eq!(ids(&starts), vec![cy.clone()]);
    let group = okta.filtered("/Groups", "displayName eq \"finance\"");
    assert_eq!(ids(&group), vec![finance.clone()]);
    assert_eq!(group["Resources"][0]["displayName"], json!("Finance"));
    let by_id = okta.get(&format!("/Users/{ann}")).expect(200);
    assert_eq!(by_id.json()["userName"], json!("Ann@Example.com"));

    // Okta links the app user and pushes its profile: the PUT picks the entity up.
    let mut body = okta_user("ann@example.com");
    body["id"] = json!(ann);
    let put = okta.put(&format!("/Users/{ann}"), &body).expect(200).json();
    assert_eq!(put["id"], json!(ann));
    let read = server.store.read(&"acme".into()).unwrap();
    let entity = read.get_entity(&ann.as_str().into()).unwrap().unwrap();
    assert!(entity.managed);
    assert_eq!(
        read.entities_of_type(&"User".into()).unwrap().len(),
        3,
        "no duplicate"
    );
    drop(read);
    let history = server
        .store
        .history(&"acme".into(), Some("ann@example.com"))
        .unwrap();
    let picked = history
        .iter()
        .find(|r| r.field == "Managed")
        .expect("the pick-up is in the history");
    assert_eq!(
        picked.after.as_deref(),
        Some("managed (picked up by UserName)")
    );
    assert_eq!(picked.actor, "okta-integration");
    // Still three users, ann now among the provisioned ones.
    let all = okta.get_json("/Users?startIndex=1&count=10");
    assert_eq!(all["totalResults"], json!(3));
    assert_eq!(ids(&all)[2], cy);

    // A group push to the imported group's id picks it up too.
    let response = okta.patch_ops(
        &format!("/Groups/{finance}"),
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
    );
    assert_eq!(response.status, 204, "{response:?}");
    let read = server.store.read(&"acme".into()).unwrap();
    assert!(
        read.get_entity(&finance.as_str().into())
            .unwrap()
            .unwrap()
            .managed
    );
    assert_eq!(
        read.members_of(&finance.as_str().into()).unwrap(),
        vec![provisio::domain::ResourceId::new(bob.as_str())]
    );
    drop(read);
    let groups = okta.get_json("/Groups");
    assert_eq!(groups["totalResults"], json!(1));
    // An unknown id is still unknown.
    okta.get("/Users/nope").expect_error(404, None);

    // The index of pre-existing entities is in step with them (cy is still listed).
    let rules = provisio::check::load_checked(std::path::Path::new(CLARIZEN_RULES), None).unwrap();
    let unique = provisio::pipeline::Profile::new(std::sync::Arc::new(rules)).unique;
    let report = server.store.verify(&unique).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.rows["unmanaged_entities"], 1, "{:?}", report.rows);
}
