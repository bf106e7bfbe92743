//! PATCH parsing and application on arbitrary JSON, against a stored user and group: an
//! error or a new body, never a panic; a successful PATCH yields an object.

use provisio::scim::patch::{apply_patch, parse_patch};
use provisio::scim::schema::ResourceKind;
use serde_json::{Value, json};

fn main() {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "jane@ex.com",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@ex.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "1", "type": "work"}, {"value": "2", "type": "mobile"}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "u2"}}
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Team",
        "members": [{"value": "u1"}]
    });
    afl::fuzz!(|input: &[u8]| {
        let Ok(body) = serde_json::from_slice::<Value>(input) else {
            return;
        };
        for (kind, resource) in [(ResourceKind::User, &user), (ResourceKind::Group, &group)] {
            let Ok(request) = parse_patch(kind, &body) else {
                continue;
            };
            let id = resource["id"].as_str().unwrap_or_default();
            if let Ok(outcome) = apply_patch(kind, id, resource, &request) {
                assert!(outcome.resource.is_object(), "{body}");
            }
        }
    });
}
