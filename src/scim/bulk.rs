//! Bulk (RFC 7644 §3.7): parse and bound a `BulkRequest`, order operations so that
//! `bulkId:` references point at already-created resources, substitute the created ids, and
//! build the `BulkResponse`. The server executes each operation.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::attr::{get_ci, message_schema_ok};
use super::error::{ScimError, ScimType};
use super::schema::{BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ResourceKind};

/// The most operations one `BulkRequest` may carry (advertised in `ServiceProviderConfig`).
pub const MAX_OPERATIONS: usize = 1000;
/// The largest `BulkRequest` body, in bytes (advertised in `ServiceProviderConfig`).
pub const MAX_PAYLOAD_SIZE: usize = 1_048_576;

/// An HTTP method allowed in a bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    /// `POST`: create.
    Post,
    /// `PUT`: replace.
    Put,
    /// `PATCH`: modify.
    Patch,
    /// `DELETE`: delete.
    Delete,
}

impl BulkMethod {
    /// The method name in upper case.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a `BulkRequest`.
#[derive(Debug, Clone)]
pub struct BulkOperation {
    /// The method.
    pub method: BulkMethod,
    /// The client's temporary id for a resource this operation creates.
    pub bulk_id: Option<String>,
    /// The resource type addressed.
    pub kind: ResourceKind,
    /// The resource id (`None` for POST); may be `bulkId:x` until resolved.
    pub id: Option<String>,
    /// The body (POST, PUT, PATCH).
    pub data: Option<Value>,
    /// The `version` (an `ETag` for If-Match).
    pub version: Option<String>,
}

/// A parsed `BulkRequest`: at most [`MAX_OPERATIONS`] operations.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    /// Stop after this many errors (`None`: run every operation).
    pub fail_on_errors: Option<usize>,
    /// The operations, in request order.
    pub operations: Vec<BulkOperation>,
}

/// Refuses a body larger than [`MAX_PAYLOAD_SIZE`]: 413 with `tooMany`.
///
/// # Errors
///
/// 413 `tooMany` past [`MAX_PAYLOAD_SIZE`].
pub fn check_payload_size(bytes: usize) -> Result<(), ScimError> {
    if bytes > MAX_PAYLOAD_SIZE {
        return Err(too_large(format!(
            "the bulk request is {bytes} bytes; the limit is {MAX_PAYLOAD_SIZE}"
        )));
    }
    Ok(())
}

fn too_large(detail: String) -> ScimError {
    ScimError {
        status: 413,
        scim_type: Some(ScimType::TooMany),
        detail,
    }
}

/// Parses a `BulkRequest` body. Missing `schemas` is accepted, a wrong one is `invalidSyntax`;
/// `Operations` must be an array of at most [`MAX_OPERATIONS`] (else 413 `tooMany`); each
/// needs a `method`, a `path` of `/Users`, `/Groups` or `/{Users|Groups}/{id}` (an id for
/// PUT/PATCH/DELETE, none for POST), and `data` for POST/PUT/PATCH; two operations with one
/// `bulkId` are 400 `invalidValue` (a reference to it would be ambiguous).
///
/// # Errors
///
/// `invalidSyntax`, `invalidValue` or 413 `tooMany`, as above.
pub fn parse_bulk(body: &Value) -> Result<BulkRequest, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| syntax("the bulk request must be a JSON object".into()))?;
    if !message_schema_ok(object, BULK_REQUEST_SCHEMA) {
        return Err(syntax(format!(
            "`schemas` of a bulk request must be [\"{BULK_REQUEST_SCHEMA}\"]"
        )));
    }
    let fail_on_errors = match get_ci(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .ok_or_else(|| {
                    ScimError::new(
                        ScimType::InvalidValue,
                        "failOnErrors must be a positive integer",
                    )
                })?,
        ),
    };
    let operations = get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a bulk request needs an `Operations` array".into()))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(too_large(format!(
            "the bulk request has {} operations; the limit is {MAX_OPERATIONS}",
            operations.len()
        )));
    }
    let operations = operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i + 1, op))
        .collect::<Result<Vec<_>, _>>()?;
    let mut declared: HashMap<&str, usize> = HashMap::new();
    for (index, op) in operations.iter().enumerate() {
        if let Some(bulk_id) = op.bulk_id.as_deref()
            && let Some(first) = declared.insert(bulk_id, index + 1)
        {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "operations {first} and {} both declare bulkId \"{bulk_id}\"; each operation needs its own bulkId",
                    index + 1
                ),
            ));
        }
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

fn parse_operation(number: usize, op: &Value) -> Result<BulkOperation, ScimError> {
    let object = op
        .as_object()
        .ok_or_else(|| syntax(format!("bulk operation {number} must be an object")))?;
    let text = |name: &str| {
        get_ci(object, name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let method_name = text("method").unwrap_or_default();
    let method = [
        BulkMethod::Post,
        BulkMethod::Put,
        BulkMethod::Patch,
        BulkMethod::Delete,
    ]
    .into_iter()
    .find(|m| m.as_str().eq_ignore_ascii_case(&method_name))
    .ok_or_else(|| {
        syntax(format!(
            "bulk operation {number} has method \"{method_name}\"; use POST, PUT, PATCH or DELETE"
        ))
    })?;
    let path = text("path").ok_or_else(|| {
        syntax(format!(
            "bulk operation {number} needs a `path` such as /Users"
        ))
    })?;
    let (kind, id) = parse_path(&path).ok_or_else(|| {
        syntax(format!(
            "bulk operation {number}: `{path}` is not /Users, /Groups or /Users/{{id}}"
        ))
    })?;
    match (method, &id) {
        (BulkMethod::Post, Some(_)) => {
            return Err(syntax(format!(
                "bulk operation {number}: POST goes to /{} without an id",
                kind.endpoint()
            )));
        }
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
            return Err(syntax(format!(
                "bulk operation {number}: {} needs a path with an id, as /{}/{{id}}",
                method.as_str(),
                kind.endpoint()
            )));
        }
        _ => {}
    }
    let data = get_ci(object, "data").filter(|d| !d.is_null()).cloned();
    if data.is_none() && method != BulkMethod::Delete {
        return Err(syntax(format!(
            "bulk operation {number}: {} needs `data`",
            method.as_str()
        )));
    }
    Ok(BulkOperation {
        method,
        bulk_id: text("bulkId"),
        kind,
        id,
        data,
        version: text("version"),
    })
}

fn parse_path(path: &str) -> Option<(ResourceKind, Option<String>)> {
    let trimmed = path.trim().trim_start_matches('/');
    let (endpoint, id) = match trimmed.split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (trimmed, None),
    };
    let kind = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.endpoint().eq_ignore_ascii_case(endpoint))?;
    match id {
        Some(id) if id.is_empty() || id.contains('/') => None,
        id => Some((kind, id.map(str::to_owned))),
    }
}

/// The bulkIds an operation refers to (`bulkId:x` as its id or as any string in `data`).
pub fn references(op: &BulkOperation) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(reference) = op.id.as_deref().and_then(bulk_reference) {
        out.insert(reference.to_owned());
    }
    if let Some(data) = &op.data {
        collect_references(data, &mut out);
    }
    out
}

fn bulk_reference(text: &str) -> Option<&str> {
    text.strip_prefix("bulkId:").filter(|r| !r.is_empty())
}

fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(r) = bulk_reference(s) {
                out.insert(r.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// The order to run operations in, and those that cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPlan {
    /// Indices into the operations: request order, except that an operation referring to
    /// `bulkId:x` runs after the POST that declares `x`.
    pub order: Vec<usize>,
    /// Indices of operations caught in (or waiting on) a reference cycle: answer each with
    /// [`circular_reference`] (409).
    pub cyclic: Vec<usize>,
}

/// Orders operations by their bulkId references (RFC 7644 §3.7.2). References to bulkIds
/// no operation declares do not constrain the order; [`BulkIds::resolve`] reports them.
#[must_use]
pub fn execution_order(operations: &[BulkOperation]) -> BulkPlan {
    let declared: HashMap<&str, usize> = operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == BulkMethod::Post)
        .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    let depends: Vec<Vec<usize>> = operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            references(op)
                .iter()
                .filter_map(|r| declared.get(r.as_str()).copied())
                .filter(|j| *j != i)
                .collect()
        })
        .collect();
    let self_referencing: BTreeSet<usize> = operations
        .iter()
        .enumerate()
        .filter(|(i, op)| {
            op.bulk_id
                .as_deref()
                .is_some_and(|b| references(op).contains(b) && declared.get(b) == Some(i))
        })
        .map(|(i, _)| i)
        .collect();
    let mut done = vec![false; operations.len()];
    let mut order = Vec::with_capacity(operations.len());
    loop {
        let next = (0..operations.len()).find(|&i| {
            !done.get(i).copied().unwrap_or(true)
                && !self_referencing.contains(&i)
                && depends
                    .get(i)
                    .is_some_and(|deps| deps.iter().all(|j| done.get(*j).copied().unwrap_or(false)))
        });
        let Some(i) = next else { break };
        if let Some(flag) = done.get_mut(i) {
            *flag = true;
        }
        order.push(i);
    }
    let cyclic = (0..operations.len())
        .filter(|i| !done.get(*i).copied().unwrap_or(false))
        .collect();
    BulkPlan { order, cyclic }
}

/// The 409 answer for an operation in a reference cycle.
#[must_use]
pub fn circular_reference(op: &BulkOperation) -> ScimError {
    ScimError {
        status: 409,
        scim_type: Some(ScimType::InvalidValue),
        detail: format!(
            "{} {} is part of a circular bulkId reference and was not run; create the resources first, then link them",
            op.method.as_str(),
            op.bulk_id.as_deref().unwrap_or(op.kind.endpoint())
        ),
    }
}

/// The ids created so far in a bulk job, by bulkId.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkIds {
    ids: HashMap<String, String>,
}

impl BulkIds {
    /// No ids yet.
    #[must_use]
    pub fn new() -> BulkIds {
        BulkIds::default()
    }

    /// Records that the POST with `bulk_id` created resource `id`.
    pub fn insert(&mut self, bulk_id: &str, id: &str) {
        self.ids.insert(bulk_id.to_owned(), id.to_owned());
    }

    /// The operation with every `bulkId:x` (as its id, or as a string anywhere in `data`)
    /// replaced by the created id. An unknown or not-yet-created bulkId is 409
    /// `invalidValue`.
    ///
    /// # Errors
    ///
    /// 409 `invalidValue` for a bulkId no earlier operation created.
    pub fn resolve(&self, op: &BulkOperation) -> Result<BulkOperation, ScimError> {
        let mut out = op.clone();
        if let Some(id) = &op.id
            && let Some(reference) = bulk_reference(id)
        {
            out.id = Some(self.lookup(reference)?);
        }
        if let Some(data) = out.data.as_mut() {
            self.substitute(data)?;
        }
        Ok(out)
    }

    fn lookup(&self, reference: &str) -> Result<String, ScimError> {
        self.ids.get(reference).cloned().ok_or_else(|| ScimError {
            status: 409,
            scim_type: Some(ScimType::InvalidValue),
            detail: format!(
                "bulkId \"{reference}\" does not name a resource created earlier in this request"
            ),
        })
    }

    fn substitute(&self, value: &mut Value) -> Result<(), ScimError> {
        match value {
            Value::String(s) => {
                if let Some(reference) = bulk_reference(s) {
                    *s = self.lookup(reference)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|v| self.substitute(v)),
            Value::Object(map) => map.values_mut().try_for_each(|v| self.substitute(v)),
            _ => Ok(()),
        }
    }
}

/// The outcome of one bulk operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    /// The method of the operation.
    pub method: BulkMethod,
    /// Its bulkId, echoed.
    pub bulk_id: Option<String>,
    /// The resource URI (for successful POST/PUT/PATCH).
    pub location: Option<String>,
    /// The resource's new `ETag`.
    pub version: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// The Error body on failure (or a resource body, if the server chooses to return it).
    pub response: Option<Value>,
}

impl BulkResult {
    /// The result of an operation that failed with `error`.
    #[must_use]
    pub fn error(op: &BulkOperation, error: &ScimError) -> BulkResult {
        BulkResult {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            location: None,
            version: None,
            status: error.status,
            response: Some(error.to_json()),
        }
    }
}

/// The `BulkResponse`, with `status` as a string in each operation, in the order given.
#[must_use]
pub fn bulk_response(results: &[BulkResult]) -> Value {
    let operations: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut op = Map::new();
            op.insert("method".into(), json!(r.method.as_str()));
            if let Some(b) = &r.bulk_id {
                op.insert("bulkId".into(), json!(b));
            }
            if let Some(v) = &r.version {
                op.insert("version".into(), json!(v));
            }
            if let Some(l) = &r.location {
                op.insert("location".into(), json!(l));
            }
            op.insert("status".into(), json!(r.status.to_string()));
            if let Some(resp) = &r.response {
                op.insert("response".into(), resp.clone());
            }
            Value::Object(op)
        })
        .collect();
    json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations})
}

fn syntax(detail: String) -> ScimError {
    ScimError::new(ScimType::InvalidSyntax, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operations: &Value) -> BulkRequest {
        parse_bulk(&json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_operations() {
        let r = request(&json!([
            {"method": "post", "bulkId": "q", "path": "/Users", "data": {"userName": "a"}},
            {"method": "DELETE", "path": "/Groups/g1", "version": "W/\"1\""}
        ]));
        assert_eq!(r.operations[0].method, BulkMethod::Post);
        assert_eq!(r.operations[1].id.as_deref(), Some("g1"));
    }

    #[test]
    fn duplicate_bulk_ids_are_invalid_value() {
        let e = parse_bulk(&json!({"Operations": [
            {"method": "POST", "bulkId": "q", "path": "/Users", "data": {"userName": "a"}},
            {"method": "POST", "bulkId": "q", "path": "/Users", "data": {"userName": "b"}}
        ]}))
        .unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
        assert!(e.detail.contains("\"q\""), "{}", e.detail);
    }

    #[test]
    fn too_many_operations_is_413() {
        let ops: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|_| json!({"method": "DELETE", "path": "/Users/x"}))
            .collect();
        let e = parse_bulk(&json!({"Operations": ops})).unwrap_err();
        assert_eq!((e.status, e.scim_type), (413, Some(ScimType::TooMany)));
    }

    #[test]
    fn oversized_payload_is_413() {
        assert_eq!(
            check_payload_size(MAX_PAYLOAD_SIZE + 1).unwrap_err().status,
            413
        );
    }

    #[test]
    fn post_with_id_is_invalid_syntax() {
        let e = parse_bulk(
            &json!({"Operations": [{"method": "POST", "path": "/Users/x", "data": {}}]}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn forward_reference_is_reordered_and_resolved() {
        let r = request(&json!([
            {"method": "POST", "bulkId": "g", "path": "/Groups",
             "data": {"displayName": "G", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "bulkId": "u", "path": "/Users", "data": {"userName": "a"}}
        ]));
        let plan = execution_order(&r.operations);
        assert_eq!(
            plan,
            BulkPlan {
                order: vec![1, 0],
                cyclic: vec![]
            }
        );
        let mut ids = BulkIds::new();
        ids.insert("u", "id-1");
        let resolved = ids.resolve(&r.operations[0]).unwrap();
        assert_eq!(resolved.data.unwrap()["members"][0]["value"], json!("id-1"));
    }

    #[test]
    fn cycles_are_reported() {
        let r = request(&json!([
            {"method": "POST", "bulkId": "a", "path": "/Groups", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "bulkId": "b", "path": "/Groups", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "bulkId": "c", "path": "/Users", "data": {"userName": "c"}}
        ]));
        let plan = execution_order(&r.operations);
        assert_eq!(
            plan,
            BulkPlan {
                order: vec![2],
                cyclic: vec![0, 1]
            }
        );
        assert_eq!(circular_reference(&r.operations[0]).status, 409);
    }

    #[test]
    fn unresolved_reference_is_409() {
        let r = request(
            &json!([{"method": "PATCH", "path": "/Users/bulkId:nope", "data": {"Operations": []}}]),
        );
        let e = BulkIds::new().resolve(&r.operations[0]).unwrap_err();
        assert_eq!(e.status, 409);
    }

    #[test]
    fn response_has_string_status() {
        let out = bulk_response(&[BulkResult {
            method: BulkMethod::Post,
            bulk_id: Some("q".into()),
            location: Some("https://h/Users/1".into()),
            version: Some("W/\"1\"".into()),
            status: 201,
            response: None,
        }]);
        assert_eq!(out["Operations"][0]["status"], json!("201"));
        assert_eq!(out["schemas"], json!([BULK_RESPONSE_SCHEMA]));
    }
}
