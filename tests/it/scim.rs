//! The SCIM layer end to end, without HTTP or storage: the request bodies of dialects.md go
//! through the same calls the server makes (normalise, patch, represent, project, list).

use provisio::scim::error::ScimType;
use provisio::scim::filter::{IndexedAttr, equality_hint};
use provisio::scim::list::{list_response, parse_list_query};
use provisio::scim::patch::{MemberOp, apply_patch, parse_patch, split_members};
use provisio::scim::project::{Meta, Projection, build_resource};
use provisio::scim::resource::{normalize_input, replace_preserving};
use provisio::scim::schema::ResourceKind;
use serde_json::{Value, json};

const BASE: &str = "https://provisio.test/scim/v2";

/// When the represented resources were created (and last modified: they are at version 1).
const CREATED: &str = "2024-05-01T10:00:00Z";

fn okta_user() -> Value {
    json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
     "userName":"test.user@okta.local",
     "name":{"givenName":"Test","familyName":"User"},
     "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
     "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
     "groups":[],"password":"1mz050nq","active":true})
}

fn represent(kind: ResourceKind, id: &str, body: &Value) -> Value {
    let meta = Meta {
        created: CREATED.into(),
        last_modified: CREATED.into(),
        version: "1".into(),
    };
    build_resource(kind, BASE, id, body.clone(), &meta, Some(vec![]))
}

#[test]
fn okta_create_then_lookup_in_upper_case() {
    let input = normalize_input(ResourceKind::User, okta_user()).unwrap();
    assert_eq!(input.password.as_deref(), Some("1mz050nq"));
    let user = represent(ResourceKind::User, "u1", &input.body);
    assert!(user.get("password").is_none());

    let query = parse_list_query(
        ResourceKind::User,
        "filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100",
    )
    .unwrap();
    let filter = query.filter.as_ref().unwrap();
    // The index is asked for the userName's PRECIS key, which the filter compares.
    assert_eq!(
        equality_hint(filter),
        Some((IndexedAttr::UserName, "test.user@okta.local".into()))
    );
    let page: Vec<Value> = [user]
        .into_iter()
        .filter(|u| filter.matches(ResourceKind::User, u))
        .collect();
    let response = list_response(page, 1, query.start_index);
    assert_eq!(response["totalResults"], json!(1));
    assert_eq!(
        response["Resources"][0]["userName"],
        json!("test.user@okta.local")
    );
}

#[test]
fn okta_put_echoing_meta_and_groups_then_deactivate() {
    let stored = normalize_input(ResourceKind::User, okta_user())
        .unwrap()
        .body;
    let mut echoed = represent(ResourceKind::User, "u1", &stored);
    echoed["displayName"] = json!("Renamed");
    echoed.as_object_mut().unwrap().remove("active");
    let put = normalize_input(ResourceKind::User, echoed).unwrap();
    let replaced = replace_preserving(&stored, put.body);
    assert_eq!(replaced["active"], json!(true));
    assert!(replaced.get("meta").is_none() && replaced.get("id").is_none());

    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","value":{"active":false}}]});
    let request = parse_patch(ResourceKind::User, &body).unwrap();
    let outcome = apply_patch(ResourceKind::User, "u1", &replaced, &request).unwrap();
    assert_eq!(outcome.resource["active"], json!(false));
    assert_eq!(outcome.changed, vec!["active".to_owned()]);
}

#[test]
fn okta_group_push_rename_and_membership_delta() {
    let group = normalize_input(
        ResourceKind::Group,
        json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","members":[]}),
    )
    .unwrap();
    let body = json!({"Operations":[
        {"op":"replace","value":{"id":"g1","displayName":"Sales EMEA"}},
        {"op":"remove","path":"members[value eq \"u1\"]"},
        {"op":"add","path":"members","value":[{"value":"u2","display":"jane@ex.com"}]}
    ]});
    let request = parse_patch(ResourceKind::Group, &body).unwrap();
    let (members, rest) = split_members(request).unwrap();
    assert_eq!(
        members,
        vec![
            MemberOp::Remove(vec!["u1".into()]),
            MemberOp::Add(vec!["u2".into()])
        ]
    );
    let outcome = apply_patch(ResourceKind::Group, "g1", &group.body, &rest).unwrap();
    assert_eq!(outcome.resource["displayName"], json!("Sales EMEA"));
}

#[test]
fn entra_user_sequence() {
    let created = normalize_input(
        ResourceKind::User,
        json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId":"e1","UserName":"Jane@Contoso.com","active":"True",
            "emails":[{"primary":"True","type":"home","value":"j@home"}],
            "name":{"formatted":"Jane D","familyName":"D","givenName":"Jane"},
            "roles":[],"meta":{"resourceType":"User"}}),
    )
    .unwrap()
    .body;
    assert_eq!(created["userName"], json!("Jane@Contoso.com"));
    assert_eq!(created["active"], json!(true));
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
        {"op":"Replace","path":"emails[type eq \"work\"].value","value":"j@work"},
        {"op":"Replace","path":"active","value":"False"},
        {"op":"replace","value":{"name.givenName":"J",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7"}}
    ]});
    let request = parse_patch(ResourceKind::User, &body).unwrap();
    let outcome = apply_patch(ResourceKind::User, "u1", &created, &request).unwrap();
    let user = represent(ResourceKind::User, "u1", &outcome.resource);
    let found = provisio::scim::filter::parse_filter(
        ResourceKind::User,
        r#"emails[type eq "work"].value eq "J@WORK" and active eq "False""#,
    )
    .unwrap();
    assert!(found.matches(ResourceKind::User, &user));
    assert_eq!(user["name"]["givenName"], json!("J"));
}

#[test]
fn entra_group_without_members_in_answer() {
    let group = normalize_input(
        ResourceKind::Group,
        json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName":"Eng"}),
    )
    .unwrap();
    let query = parse_list_query(
        ResourceKind::Group,
        r#"excludedAttributes=members&filter=displayName eq "eng""#,
    )
    .unwrap();
    assert!(!query.projection.includes("members"));
    let shown = query.projection.apply(
        ResourceKind::Group,
        represent(ResourceKind::Group, "g1", &group.body),
    );
    assert!(shown.get("members").is_none());
    assert!(query.filter.unwrap().matches(ResourceKind::Group, &shown));
}

#[test]
fn bad_input_gets_the_right_scim_type() {
    let deep = format!(
        "filter={}userName pr{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let e = parse_list_query(ResourceKind::User, &deep).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    let e = parse_patch(ResourceKind::User, &json!({"Operations":[{"op":"remove"}]})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    let e = parse_patch(
        ResourceKind::User,
        &json!({"Operations":[{"op":"replace","path":"nickname2","value":"x"}]}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e =
        normalize_input(ResourceKind::User, json!({"userName":"a","active":"maybe"})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert_eq!(Projection::all(), Projection::default());
}

#[test]
fn one_value_path_for_patch_paths_and_mapping_sources() {
    use provisio::scim::filter::{CompareOp, Filter};
    use provisio::scim::path::ValuePath;
    let body = normalize_input(
        ResourceKind::User,
        json!({"userName": "jane@ex.com",
               "PhoneNumbers": [{"value": "1", "type": "mobile"}, {"value": "2", "Type": "Work"}],
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "boss"},
               "emails": [{"value": "j@ex.com", "primary": "True"}]}),
    )
    .unwrap()
    .body;
    // A PATCH path, in any spelling, and a rules source given in parts are the same path.
    let from_text =
        ValuePath::parse(ResourceKind::User, r#"phonenumbers[TYPE eq "work"].VALUE"#).unwrap();
    let from_parts = ValuePath::new(
        ResourceKind::User,
        None,
        "phoneNumbers",
        Filter::parse(r#"type eq "work""#).ok(),
        Some("value"),
    )
    .unwrap();
    assert_eq!(from_text, from_parts);
    assert_eq!(
        from_text.to_string(),
        r#"phoneNumbers[type eq "work"].value"#
    );
    assert_eq!(from_text.select(&body), Some(&json!("2")));
    let manager = ValuePath::parse(ResourceKind::User, "manager.value").unwrap();
    assert_eq!(manager.select(&body), Some(&json!("boss")));
    // Guards compare with the one comparison: string booleans, case-insensitive strings.
    let primary = ValuePath::parse(ResourceKind::User, "emails.primary").unwrap();
    assert!(primary.matches(&body, CompareOp::Eq, &json!(true)));
    let user_name = ValuePath::parse(ResourceKind::User, "userName").unwrap();
    assert!(user_name.matches(&body, CompareOp::Eq, &json!("JANE@EX.COM")));
    assert!(
        ValuePath::parse(ResourceKind::User, "title")
            .unwrap()
            .matches(&body, CompareOp::Eq, &Value::Null)
    );
}
