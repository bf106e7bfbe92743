//! PATCH (RFC 7644 §3.5.2) with the Okta and Entra dialects: parse a `PatchOp` body into
//! operations whose targets are resolved once ([`parse_patch`]), split Group member
//! operations from the rest ([`split_members`]), and apply the rest to a canonical resource
//! body atomically, checking the result's invariants ([`apply_patch`]).
//!
//! Dialects handled here: capitalised `op` (`Replace`); pathless add/replace whose value has
//! dotted keys (`name.givenName`), URN-prefixed keys (`urn:…:User:employeeNumber`) or an
//! extension object; `"True"`/`"False"` for booleans; add/replace on
//! `emails[type eq "work"].value` creating the element when none matches; Okta's pathless
//! group rename `{"id", "displayName"}` (the `id` is checked, then ignored); members removed
//! by `members[value eq "id"]` (Okta) or by `members` with a value array (Entra).

mod apply;
mod members;

use serde_json::{Map, Value};

use super::attr::{
    AttrPath, Unresolved, describe, extension_schema, get_ci, is_urn, message_schema_ok, resolve,
};
use super::error::{ScimError, ScimType};
use super::path::{PatchPath, PathError, ValuePath};
use super::schema::{PATCH_OP_SCHEMA, ResourceKind, SchemaDef, schema_by_urn};

pub use apply::{PatchOutcome, apply_patch, changed_attributes};
pub use members::{MemberOp, member_ids, split_members};

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

impl PatchOpKind {
    /// The RFC keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

/// What an operation's `path` names, resolved against the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchTarget {
    /// No path: the value is an object of attributes applied to the resource.
    Resource,
    /// A known attribute, maybe filtered (`emails[type eq "work"]`), maybe a sub-attribute;
    /// never a read-only one.
    Path(ValuePath),
    /// A whole known extension (`urn:…:enterprise:2.0:User`), for `remove`.
    Extension(&'static SchemaDef),
    /// A path into an extension this server does not know, names as sent (`text` is the path
    /// as written: when it names such an extension itself, `remove` drops it whole).
    Foreign {
        /// The path as written.
        text: String,
        /// The path split into URN, attribute and sub-attribute.
        path: AttrPath,
    },
}

/// One validated operation: `remove` always has a path; `add`/`replace` always have a value,
/// an object when pathless.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// What it changes.
    pub target: PatchTarget,
    /// The value, as sent.
    pub value: Option<Value>,
}

/// A validated `PatchOp` message: at least one operation, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order, all or none.
    pub operations: Vec<PatchOperation>,
}

/// Parses and validates a `PatchOp` body for a resource of `kind`.
///
/// `schemas` may be missing (lenient) but, if present, must contain the `PatchOp` URN
/// (`invalidSyntax`); `Operations` must be a non-empty array (`invalidSyntax`); `op` is
/// case-insensitive; a path naming no attribute of the built-in schemas is `invalidPath`; a
/// path targeting a read-only attribute (`id`, `meta`, `groups`) is `mutability`; `remove`
/// without a path is `noTarget`; `add`/`replace` without a value is `invalidValue`.
///
/// # Errors
///
/// As above.
pub fn parse_patch(kind: ResourceKind, body: &Value) -> Result<PatchRequest, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| syntax("the PATCH body must be a JSON object"))?;
    if !message_schema_ok(object, PATCH_OP_SCHEMA) {
        return Err(syntax(format!(
            "`schemas` of a PATCH request must be [\"{PATCH_OP_SCHEMA}\"]"
        )));
    }
    let operations = get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH request needs an `Operations` array"))?;
    if operations.is_empty() {
        return Err(syntax("`Operations` is empty; send at least one operation"));
    }
    let operations = operations
        .iter()
        .enumerate()
        .map(|(index, op)| parse_operation(kind, index, op))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PatchRequest { operations })
}

fn parse_operation(
    kind: ResourceKind,
    index: usize,
    op: &Value,
) -> Result<PatchOperation, ScimError> {
    let number = index + 1;
    let object = op
        .as_object()
        .ok_or_else(|| syntax(format!("operation {number} must be a JSON object")))?;
    let op_name = get_ci(object, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            syntax(format!(
                "operation {number} needs an `op`: add, remove or replace"
            ))
        })?;
    let op_kind = if op_name.eq_ignore_ascii_case("add") {
        PatchOpKind::Add
    } else if op_name.eq_ignore_ascii_case("remove") {
        PatchOpKind::Remove
    } else if op_name.eq_ignore_ascii_case("replace") {
        PatchOpKind::Replace
    } else {
        return Err(syntax(format!(
            "operation {number} has op \"{op_name}\"; use add, remove or replace"
        )));
    };
    let mut value = get_ci(object, "value").cloned();
    let path_text = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(other) => {
            return Err(ScimError::new(
                ScimType::InvalidPath,
                format!(
                    "operation {number}: `path` must be a string, not {}",
                    describe(other)
                ),
            ));
        }
    };
    let target = match path_text {
        None => PatchTarget::Resource,
        // A bare schema URN as path addresses the whole extension (or the resource itself).
        Some(text) => match extension_schema(kind, &text) {
            Some(ext) if op_kind == PatchOpKind::Remove => PatchTarget::Extension(ext),
            Some(ext) => {
                let mut wrapped = Map::new();
                wrapped.insert(ext.id.to_owned(), value.take().unwrap_or(Value::Null));
                value = Some(Value::Object(wrapped));
                PatchTarget::Resource
            }
            None if text.eq_ignore_ascii_case(kind.core_schema().id)
                && op_kind != PatchOpKind::Remove =>
            {
                PatchTarget::Resource
            }
            None => resolve_target(kind, &text, op_kind)?,
        },
    };
    match (op_kind, &target, &value) {
        (PatchOpKind::Remove, PatchTarget::Resource, _) => Err(ScimError::new(
            ScimType::NoTarget,
            format!("operation {number}: remove needs a `path` naming what to remove"),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::new(
            ScimType::InvalidValue,
            format!("operation {number}: {} needs a `value`", op_kind.as_str()),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, PatchTarget::Resource, Some(v))
            if !v.is_object() =>
        {
            Err(ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "operation {number}: without a `path`, the value of {} must be an object of attributes, not {}",
                    op_kind.as_str(),
                    describe(v)
                ),
            ))
        }
        _ => Ok(PatchOperation {
            op: op_kind,
            target,
            value,
        }),
    }
}

/// Resolves a path against the schema: unknown → `invalidPath`; read-only → `mutability`;
/// a bracket filter on a single-valued attribute → `invalidPath`; a path into an extension
/// we do not know → [`PatchTarget::Foreign`].
pub(crate) fn resolve_target(
    kind: ResourceKind,
    text: &str,
    op: PatchOpKind,
) -> Result<PatchTarget, ScimError> {
    let parsed = PatchPath::parse(text)?;
    let cannot = |reason: String| {
        ScimError::new(
            ScimType::InvalidPath,
            format!(
                "the path `{}` cannot be used: {reason}",
                parsed.path.display()
            ),
        )
    };
    match resolve(kind, &parsed.path) {
        Err(Unresolved::UnknownSchema(urn)) if is_urn(text) && schema_by_urn(&urn).is_none() => {
            if parsed.filter.is_some() {
                return Err(cannot(
                    "an extension this server does not know has no schema to filter by".into(),
                ));
            }
            return Ok(PatchTarget::Foreign {
                text: text.to_owned(),
                path: parsed.path,
            });
        }
        Err(e) => return Err(cannot(e.message())),
        Ok(_) => {}
    }
    let path = ValuePath::resolve(kind, &parsed).map_err(|e| match e {
        PathError::Filter(filter_error) => filter_error,
        other => cannot(other.message()),
    })?;
    if path.target().is_read_only() {
        return Err(ScimError::new(
            ScimType::Mutability,
            format!(
                "`{}` is read-only and cannot be changed with {}",
                path.target().canonical(),
                op.as_str()
            ),
        ));
    }
    Ok(PatchTarget::Path(path))
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidSyntax, detail)
}

/// Whether a boolean attribute value reads as `true` (`true` or `"True"`).
pub fn is_true(value: Option<&Value>) -> bool {
    value.and_then(super::attr::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn ops(operations: Value) -> Value {
        let mut body = json!({"schemas": [PATCH_OP_SCHEMA]});
        body["Operations"] = operations;
        body
    }

    fn patch_user(user: &Value, operations: Value) -> Result<PatchOutcome, ScimError> {
        let request = parse_patch(ResourceKind::User, &ops(operations))?;
        apply_patch(ResourceKind::User, "u1", user, &request)
    }

    fn patched(user: &Value, operations: Value) -> Value {
        patch_user(user, operations)
            .unwrap_or_else(|e| panic!("{e}"))
            .resource
    }

    /// The `scimType` a User's PATCH request body is refused with (`None`: it parses).
    fn unparsed(body: &Value) -> Option<ScimType> {
        parse_patch(ResourceKind::User, body).err()?.scim_type
    }

    fn error(user: &Value, operations: Value) -> Option<ScimType> {
        patch_user(user, operations).err().and_then(|e| e.scim_type)
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane",
            "active": true,
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane@home.example", "type": "home"}]
        })
    }

    fn group_split(operations: Value) -> (Vec<MemberOp>, PatchRequest) {
        let request = parse_patch(ResourceKind::Group, &ops(operations)).unwrap();
        split_members(request).unwrap()
    }

    /// Each of `cases` (what it shows, the operations) is refused with `expected`.
    fn refused_as(expected: ScimType, cases: &[(&str, Value)]) {
        for (case, operations) in cases {
            assert_eq!(error(&user(), operations.clone()), Some(expected), "{case}");
        }
    }

    #[test]
    fn refusals_carry_their_scim_type() {
        refused_as(
            ScimType::InvalidValue,
            &[
                (
                    "a string for active",
                    json!([{"op": "replace", "path": "active", "value": "maybe"}]),
                ),
                (
                    "a number for active, pathless",
                    json!([{"op": "replace", "value": {"active": 1}}]),
                ),
            ],
        );
        let unmatched =
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}]);
        refused_as(
            ScimType::NoTarget,
            &[
                ("replace on an unmatched non-eq filter", unmatched),
                ("remove without a path", json!([{"op": "remove"}])),
            ],
        );
        refused_as(
            ScimType::InvalidPath,
            &[
                (
                    "an unknown path",
                    json!([{"op": "replace", "path": "favouriteColour", "value": "red"}]),
                ),
                (
                    "an unknown pathless key",
                    json!([{"op": "replace", "value": {"favouriteColour": "red"}}]),
                ),
                // The first operation is not applied either: operations are atomic.
                (
                    "atomic",
                    json!([{"op": "replace", "path": "active", "value": false}, {"op": "replace", "path": "nope", "value": 1}]),
                ),
            ],
        );
        refused_as(
            ScimType::Mutability,
            &[
                (
                    "a read-only path",
                    json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
                ),
                (
                    "the id",
                    json!([{"op": "replace", "path": "id", "value": "x"}]),
                ),
                (
                    "another id, pathless",
                    json!([{"op": "replace", "value": {"id": "other"}}]),
                ),
            ],
        );
    }

    #[test]
    fn okta_pathless_deactivate() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        );
        assert_eq!(u["active"], json!(false));
    }

    #[test]
    fn entra_capitalised_op_and_string_false() {
        let u = patched(
            &user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        );
        assert_eq!(u["active"], json!(false));
    }

    #[test]
    fn entra_dotted_and_urn_keys() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {
                "name.givenName": "J",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"
            }}]),
        );
        assert_eq!(u["name"], json!({"givenName": "J", "familyName": "Doe"}));
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["employeeNumber"], json!("7"));
        assert!(
            u["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE_USER_SCHEMA))
        );
    }

    #[test]
    fn entra_pathless_value_path_key() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"emails[type eq \"work\"].value": "w@x"}}]),
        );
        assert_eq!(u["emails"][1], json!({"type": "work", "value": "w@x"}));
    }

    #[test]
    fn unqualified_manager_remove() {
        let u = patched(
            &user(),
            json!([{"op": "add", "path": "manager", "value": {"value": "m1"}},
                   {"op": "remove", "path": "manager"}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA], json!({}));
    }

    #[test]
    fn pathless_extension_object() {
        let u = patched(
            &user(),
            json!([{"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"Department": "R&D"}}}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["department"], json!("R&D"));
    }

    #[test]
    fn entra_work_email_created_when_absent() {
        let u = patched(
            &user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@work"}]),
        );
        assert_eq!(u["emails"][1], json!({"type": "work", "value": "j@work"}));
    }

    #[test]
    fn value_path_updates_matching_element() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "new@home"}]),
        );
        assert_eq!(u["emails"], json!([{"value": "new@home", "type": "home"}]));
    }

    #[test]
    fn read_only_pathless_keys_ignored() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"meta": {"created": "x"}, "groups": [], "id": "u1"}}]),
        );
        assert_eq!(u, user());
    }

    #[test]
    fn capitalised_attribute_names() {
        let u = patched(
            &user(),
            json!([{"op": "replace", "path": "Name.GivenName", "value": "J"}]),
        );
        assert_eq!(u["name"]["givenName"], json!("J"));
    }

    #[test]
    fn password_returned_not_stored() {
        let out = patch_user(
            &user(),
            json!([{"op": "replace", "value": {"password": "s3cret"}}]),
        )
        .unwrap();
        assert_eq!(out.password.as_deref(), Some("s3cret"));
        assert!(out.resource.get("password").is_none());
    }

    #[test]
    fn a_password_under_its_urn_is_taken_out_in_a_value_and_a_path() {
        let urn = "urn:ietf:params:scim:schemas:core:2.0:User:password";
        for operations in [
            json!([{"op": "replace", "value": {urn: "s3cret"}}]),
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"PASSWORD": "s3cret"}}}]),
            json!([{"op": "replace", "path": urn, "value": "s3cret"}]),
            json!([{"op": "add", "path": "Password", "value": "s3cret"}]),
        ] {
            let out = patch_user(&user(), operations.clone()).unwrap();
            assert_eq!(out.password.as_deref(), Some("s3cret"), "{operations}");
            assert_eq!(out.resource, user(), "{operations}");
        }
        let e = patch_user(
            &user(),
            json!([{"op": "replace", "path": urn, "value": 1234}]),
        )
        .unwrap_err();
        assert!(!e.detail.contains("1234"), "{}", e.detail);
    }

    #[test]
    fn the_result_keeps_the_resource_invariants() {
        for operations in [
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            json!([{"op": "replace", "value": {"userName": null}}]),
            json!([{"op": "replace", "path": "userName", "value": "a\u{202e}b"}]),
        ] {
            assert_eq!(
                error(&user(), operations.clone()),
                Some(ScimType::InvalidValue),
                "{operations}"
            );
        }
        let many: Vec<Value> = (0..super::super::attr::MAX_VALUES)
            .map(|i| json!({"value": i.to_string()}))
            .collect();
        assert_eq!(
            error(
                &user(),
                json!([{"op": "add", "path": "emails", "value": many}])
            ),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn unknown_names_are_invalid_path_in_paths_and_values() {
        for operations in [
            json!([{"op": "add", "path": "name.junk", "value": "x"}]),
            json!([{"op": "add", "value": {"name.junk": "x"}}]),
            json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:evil": "x"}}]),
            json!([{"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"evil": "x"}}}]),
        ] {
            assert_eq!(
                error(&user(), operations.clone()),
                Some(ScimType::InvalidPath),
                "{operations}"
            );
        }
        assert_eq!(
            error(
                &user(),
                json!([{"op": "add", "path": "name", "value": {"junk": "x"}}])
            ),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn foreign_extensions_are_changed_as_sent() {
        let custom = "urn:example:custom:2.0:User";
        let start = json!({"userName": "a", custom: {"Badge": "7"}});
        let u = patched(
            &start,
            json!([{"op": "replace", "path": format!("{custom}:badge"), "value": "8"},
                   {"op": "add", "value": {format!("{custom}:desk"): "1"}}]),
        );
        assert_eq!(u[custom], json!({"Badge": "8", "desk": "1"}));
        let u = patched(&u, json!([{"op": "remove", "path": custom}]));
        assert_eq!(u, json!({"userName": "a"}));
    }

    #[test]
    fn changed_lists_attributes() {
        let out = patch_user(
            &user(),
            json!([{"op": "replace", "value": {"active": false, "userName": "jane"}}]),
        )
        .unwrap();
        assert_eq!(out.changed, vec!["active".to_owned()]);
    }

    #[test]
    fn remove_by_value_path() {
        let u = patched(
            &user(),
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        );
        assert!(u.get("emails").is_none());
    }

    #[test]
    fn add_to_multi_valued_appends() {
        let u = patched(
            &user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "b", "type": "work", "primary": "True"}]}]),
        );
        assert_eq!(u["emails"][1]["primary"], json!(true));
    }

    #[test]
    fn new_primary_clears_old_primary() {
        let start = json!({"userName": "a", "emails": [{"value": "a", "primary": true}]});
        let u = patched(
            &start,
            json!([{"op": "add", "path": "emails", "value": [{"value": "b", "primary": true}]}]),
        );
        assert_eq!(
            u["emails"],
            json!([{"value": "a", "primary": false}, {"value": "b", "primary": true}])
        );
    }

    #[test]
    fn missing_schemas_is_accepted_but_wrong_is_invalid_syntax() {
        let body = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
        assert!(parse_patch(ResourceKind::User, &body).is_ok());
        let body = json!({"schemas": ["urn:x"], "Operations": [{"op": "replace", "value": {"active": false}}]});
        assert_eq!(unparsed(&body), Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn empty_operations_is_invalid_syntax() {
        assert_eq!(
            unparsed(&json!({"Operations": []})),
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn entra_manager_as_bare_id() {
        let u = patched(
            &user(),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}]),
        );
        assert_eq!(u[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m1"}));
    }

    #[test]
    fn okta_member_remove_by_filter() {
        let (members, _) =
            group_split(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(members, vec![MemberOp::Remove(vec!["u1".into()])]);
    }

    #[test]
    fn entra_member_remove_with_value_array_removes_only_those() {
        let (members, _) =
            group_split(json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]));
        assert_eq!(members, vec![MemberOp::Remove(vec!["u2".into()])]);
    }

    #[test]
    fn remove_members_without_value_removes_all() {
        let (members, _) = group_split(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(members, vec![MemberOp::RemoveAll]);
    }

    #[test]
    fn okta_add_and_remove_in_one_request() {
        let (members, rest) = group_split(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u2", "display": "jane@ex.com"}]}
        ]));
        assert_eq!(
            members,
            vec![
                MemberOp::Remove(vec!["u1".into()]),
                MemberOp::Add(vec!["u2".into()])
            ]
        );
        assert!(rest.operations.is_empty());
    }

    #[test]
    fn entra_add_member_with_null_ref() {
        let (members, _) = group_split(
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}]}]),
        );
        assert_eq!(members, vec![MemberOp::Add(vec!["u3".into()])]);
    }

    #[test]
    fn replace_members_replaces_all() {
        let (members, _) = group_split(
            json!([{"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
        );
        assert_eq!(
            members,
            vec![MemberOp::ReplaceAll(vec!["a".into(), "b".into()])]
        );
    }

    #[test]
    fn pathless_members_split_from_rename() {
        let (members, rest) = group_split(
            json!([{"op": "replace", "value": {"displayName": "X", "members": [{"value": "a"}]}}]),
        );
        assert_eq!(members, vec![MemberOp::ReplaceAll(vec!["a".into()])]);
        assert_eq!(rest.operations.len(), 1);
    }

    #[test]
    fn okta_group_rename_with_id_is_idempotent() {
        let group = json!({"schemas": [crate::scim::schema::GROUP_SCHEMA], "displayName": "Sales"});
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Sales EMEA"}}])),
        )
        .unwrap();
        let once = apply_patch(ResourceKind::Group, "g1", &group, &request).unwrap();
        let twice = apply_patch(ResourceKind::Group, "g1", &once.resource, &request).unwrap();
        assert_eq!(once.resource["displayName"], json!("Sales EMEA"));
        assert_eq!(twice.resource, once.resource);
        assert!(twice.changed.is_empty());
    }

    #[test]
    fn okta_group_rename_with_other_id_is_refused() {
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "replace", "value": {"id": "g2", "displayName": "X"}}])),
        )
        .unwrap();
        let e = apply_patch(ResourceKind::Group, "g1", &json!({}), &request).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn member_filter_other_than_value_is_invalid_path() {
        let request = parse_patch(
            ResourceKind::Group,
            &ops(json!([{"op": "remove", "path": "members[type eq \"User\"]"}])),
        )
        .unwrap();
        assert_eq!(
            split_members(request).unwrap_err().scim_type,
            Some(ScimType::InvalidPath)
        );
    }
}
