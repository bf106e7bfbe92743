//! Okta's requests, as `dialects.md` lists them.

use serde_json::{Value, json};

use super::support::{Server, encode, group_body, lifecycle, okta_user};

#[test]
fn connection_test_lists_two_users() {
    let server = Server::start();
    let okta = server.tenant("acme");
    for name in ["a@ex.com", "b@ex.com", "c@ex.com"] {
        okta.create_user(name);
    }
    let body = okta.get("/Users?startIndex=1&count=2").expect(200).json();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(body["totalResults"], json!(3));
    assert_eq!(body["startIndex"], json!(1));
    assert_eq!(body["itemsPerPage"], json!(2));
    assert_eq!(body["Resources"].as_array().unwrap().len(), 2);
}
