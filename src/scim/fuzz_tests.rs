//! Property tests: no input makes the SCIM layer panic.

use proptest::prelude::*;
use serde_json::json;

use super::filter::{Filter, parse_filter};
use super::list::parse_list_query;
use super::patch::{apply_patch, parse_patch, split_members};
use super::path::PatchPath;
use super::schema::ResourceKind;

fn filterish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "userName",
        "emails",
        "[",
        "]",
        "(",
        ")",
        " ",
        "eq",
        "pr",
        "and",
        "or",
        "not",
        "\"x\"",
        "\"",
        "\\",
        ".",
        ":",
        "value",
        "type",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        "1",
        "-2.5e3",
        "true",
        "null",
        "\u{e9}",
        "name.givenName",
        "co",
        "gt",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn filters_never_panic(input in filterish()) {
        let user = json!({"userName": "x", "emails": [{"value": "x", "type": "work"}], "name": {"givenName": "x"}});
        if let Ok(filter) = parse_filter(ResourceKind::User, &input) {
            let _ = filter.matches(ResourceKind::User, &user);
        }
        let _ = Filter::parse(&input);
    }

    #[test]
    fn arbitrary_text_never_panics(input in ".{0,64}") {
        let _ = Filter::parse(&input);
        let _ = PatchPath::parse(&input);
        let _ = parse_list_query(ResourceKind::Group, &input);
    }

    #[test]
    fn patch_paths_never_panic(path in filterish(), value in prop::sample::select(vec![
        json!(null), json!("True"), json!(3), json!({"value": "v"}), json!([{"value": "v"}]), json!({}),
    ]), op in prop::sample::select(vec!["add", "Replace", "remove"])) {
        let body = json!({"Operations": [{"op": op, "path": path, "value": value}]});
        let user = json!({"userName": "x", "emails": [{"value": "x", "type": "work"}]});
        if let Ok(request) = parse_patch(ResourceKind::User, &body) {
            let _ = apply_patch(ResourceKind::User, "u1", &user, &request);
        }
        if let Ok(request) = parse_patch(ResourceKind::Group, &body) {
            let _ = split_members(request);
        }
    }
}
