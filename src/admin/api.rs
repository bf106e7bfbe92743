//! The admin JSON API, `/admin/v1/...`, documented with an example of each call in
//! `docs/admin-api.md`. Every call authenticates an operator token (`Authorization: Bearer
//! pva_...`) and maps to one [`Admin`] operation; errors are `{"error", "detail"}` (and
//! `"diagnostics"` for rules that do not check).

use serde::Deserialize;
use serde_json::{Value, json};

use super::service::{Admin, AdminError};
use crate::domain::{ResourceId, ResourceKind, TenantId, Timestamp};
use crate::store::{OperatorRecord, OperatorScope, Outcome, PageQuery};

/// A request to the API, read and authenticated by the HTTP layer.
#[derive(Debug)]
pub struct ApiRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path segments after `/admin/v1`, percent-decoded.
    pub segments: Vec<String>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// The body, as sent.
    pub body: &'a [u8],
}

/// An API answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl ApiReply {
    fn ok(body: Value) -> ApiReply {
        ApiReply { status: 200, body }
    }

    fn created(body: Value) -> ApiReply {
        ApiReply { status: 201, body }
    }

    /// An error reply.
    pub fn error(status: u16, error: &str, detail: impl Into<String>) -> ApiReply {
        ApiReply {
            status,
            body: json!({"error": error, "detail": detail.into()}),
        }
    }
}

impl From<AdminError> for ApiReply {
    fn from(err: AdminError) -> ApiReply {
        match err {
            AdminError::Forbidden(detail) => ApiReply::error(403, "forbidden", detail),
            AdminError::NotFound(detail) => ApiReply::error(404, "not_found", detail),
            AdminError::Invalid(detail) => ApiReply::error(400, "invalid", detail),
            AdminError::Rules(diagnostics) => ApiReply {
                status: 422,
                body: json!({
                    "error": "rules",
                    "detail": format!("the overlay does not check: {} diagnostic(s); nothing was saved", diagnostics.len()),
                    "diagnostics": diagnostics,
                }),
            },
            AdminError::Store(crate::store::StoreError::Unavailable(detail)) => {
                ApiReply::error(503, "unavailable", detail)
            }
            AdminError::Store(err) => {
                tracing::error!(%err, "admin: storage error");
                ApiReply::error(
                    500,
                    "storage",
                    "the database could not be read or written; nothing was changed, try again",
                )
            }
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiReply> {
    let value = crate::scim::resource::parse_json(body)
        .map_err(|e| ApiReply::error(400, "invalid_json", e.detail))?;
    serde_json::from_value(value).map_err(|e| ApiReply::error(400, "invalid_body", e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
    #[serde(default)]
    edition: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantChange {
    edition: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    user: String,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOperator {
    name: String,
    #[serde(default)]
    tenant: Option<TenantId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverlayText {
    text: String,
}

fn query<'q>(request: &'q ApiRequest<'_>, name: &str) -> Option<&'q str> {
    request
        .query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn number(request: &ApiRequest<'_>, name: &str) -> Result<Option<u64>, ApiReply> {
    query(request, name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiReply::error(
                    400,
                    "invalid_query",
                    format!("`{name}` must be a whole number, not `{v}`"),
                )
            })
        })
        .transpose()
}

fn time(request: &ApiRequest<'_>, name: &str) -> Result<Option<Timestamp>, ApiReply> {
    query(request, name)
        .map(|v| {
            Timestamp::parse(v).ok_or_else(|| {
                ApiReply::error(
                    400,
                    "invalid_query",
                    format!("`{name}` must be an RFC 3339 time (2026-01-31T12:00:00Z), not `{v}`"),
                )
            })
        })
        .transpose()
}

/// The filters and cursor of a history or log listing.
fn page_query(request: &ApiRequest<'_>) -> Result<PageQuery, ApiReply> {
    let outcomes = match query(request, "outcome") {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|o| match o.trim() {
                "ok" => Ok(Outcome::Ok),
                "failed" => Ok(Outcome::Failed),
                "rejected" => Ok(Outcome::Rejected),
                other => Err(ApiReply::error(
                    400,
                    "invalid_query",
                    format!("unknown outcome `{other}`: use ok, failed or rejected"),
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(PageQuery {
        user: query(request, "user").map(str::to_owned),
        field: query(request, "field").map(str::to_owned),
        outcomes,
        from: time(request, "from")?,
        to: time(request, "to")?,
        before: number(request, "before")?,
        limit: usize::try_from(number(request, "limit")?.unwrap_or(0)).unwrap_or(1000),
    })
}

fn not_found(request: &ApiRequest<'_>) -> ApiReply {
    ApiReply::error(
        404,
        "not_found",
        format!(
            "there is no admin endpoint {} /admin/v1/{}",
            request.method,
            request.segments.join("/")
        ),
    )
}

fn method_not_allowed(request: &ApiRequest<'_>, allowed: &str) -> ApiReply {
    ApiReply::error(
        405,
        "method_not_allowed",
        format!(
            "{} is not allowed on /admin/v1/{}; allowed: {allowed}",
            request.method,
            request.segments.join("/")
        ),
    )
}

/// Answers one authenticated API request.
pub fn handle(admin: &Admin, operator: &OperatorRecord, request: &ApiRequest<'_>) -> ApiReply {
    match dispatch(admin, operator, request) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A 200 reply with the JSON of what an [`Admin`] operation answered.
fn ok_json<T: serde::Serialize>(answer: Result<T, AdminError>) -> Result<ApiReply, ApiReply> {
    Ok(ApiReply::ok(to_json(&answer?)))
}

/// A 201 reply with the JSON of what an [`Admin`] operation created.
fn created_json<T: serde::Serialize>(answer: Result<T, AdminError>) -> Result<ApiReply, ApiReply> {
    Ok(ApiReply::created(to_json(&answer?)))
}

fn dispatch(
    admin: &Admin,
    operator: &OperatorRecord,
    request: &ApiRequest<'_>,
) -> Result<ApiReply, ApiReply> {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let method = request.method;
    match segments.as_slice() {
        ["whoami"] => Ok(ApiReply::ok(to_json(operator))),
        ["tenants"] => match method {
            "GET" => ok_json(admin.tenants(operator)),
            "POST" => {
                let new: NewTenant = parse(request.body)?;
                created_json(admin.create_tenant(operator, &new.name, new.edition.as_deref()))
            }
            _ => Err(method_not_allowed(request, "GET, POST")),
        },
        ["tenants", tenant, rest @ ..] => {
            let tenant = TenantId::new(*tenant);
            let cx = TenantCall {
                admin,
                operator,
                request,
                tenant: &tenant,
            };
            tenant_call(&cx, rest)
        }
        ["operators"] => match method {
            "GET" => ok_json(admin.operators(operator)),
            "POST" => {
                let new: NewOperator = parse(request.body)?;
                let scope = new.tenant.map_or(OperatorScope::All, OperatorScope::Tenant);
                let (record, token) = admin.create_operator(operator, &new.name, scope)?;
                Ok(ApiReply::created(
                    json!({"operator": record, "token": token}),
                ))
            }
            _ => Err(method_not_allowed(request, "GET, POST")),
        },
        ["operators", id] => match method {
            "DELETE" => ok_json(admin.revoke_operator(operator, id)),
            _ => Err(method_not_allowed(request, "DELETE")),
        },
        ["audit"] => match method {
            "GET" => {
                let before = number(request, "before")?;
                let limit = usize::try_from(number(request, "limit")?.unwrap_or(0)).unwrap_or(1000);
                ok_json(admin.audit_log(operator, before, limit))
            }
            _ => Err(method_not_allowed(request, "GET")),
        },
        _ => Err(not_found(request)),
    }
}

/// One call on a tenant's part of the API: who asks, the request, the tenant.
#[derive(Clone, Copy)]
struct TenantCall<'a, 'r> {
    admin: &'a Admin,
    operator: &'a OperatorRecord,
    request: &'a ApiRequest<'r>,
    tenant: &'a TenantId,
}

fn tenant_call(cx: &TenantCall<'_, '_>, rest: &[&str]) -> Result<ApiReply, ApiReply> {
    let method = cx.request.method;
    match rest {
        [] => match method {
            "GET" => ok_json(cx.admin.tenant(cx.operator, cx.tenant)),
            "PATCH" => {
                let change: TenantChange = parse(cx.request.body)?;
                ok_json(
                    cx.admin
                        .set_edition(cx.operator, cx.tenant, &change.edition),
                )
            }
            _ => Err(method_not_allowed(cx.request, "GET, PATCH")),
        },
        ["integration-users"] => match method {
            "GET" => ok_json(cx.admin.integration_users(cx.operator, cx.tenant)),
            _ => Err(method_not_allowed(cx.request, "GET")),
        },
        ["integration-users", user] => match method {
            "PUT" => {
                let change: RoleChange = parse(cx.request.body)?;
                ok_json(
                    cx.admin
                        .set_role(cx.operator, cx.tenant, user, &change.role),
                )
            }
            _ => Err(method_not_allowed(cx.request, "PUT")),
        },
        ["keys"] => match method {
            "GET" => ok_json(cx.admin.keys(cx.operator, cx.tenant)),
            "POST" => {
                let new: NewKey = parse(cx.request.body)?;
                created_json(cx.admin.create_key(
                    cx.operator,
                    cx.tenant,
                    &new.user,
                    new.role.as_deref(),
                ))
            }
            _ => Err(method_not_allowed(cx.request, "GET, POST")),
        },
        ["keys", id] => match method {
            "DELETE" => {
                cx.admin.revoke_key(cx.operator, cx.tenant, id)?;
                Ok(ApiReply::ok(json!({"key_id": id, "revoked": true})))
            }
            _ => Err(method_not_allowed(cx.request, "DELETE")),
        },
        ["overlay", overlay_rest @ ..] => overlay_call(cx, overlay_rest),
        _ => records_call(cx, rest),
    }
}

/// `/tenants/NAME/overlay/...`: the tenant's rules overlay, its check, preview and versions.
fn overlay_call(cx: &TenantCall<'_, '_>, rest: &[&str]) -> Result<ApiReply, ApiReply> {
    let method = cx.request.method;
    match rest {
        [] => match method {
            "GET" => ok_json(cx.admin.overlay(cx.operator, cx.tenant)),
            "PUT" => {
                let overlay: OverlayText = parse(cx.request.body)?;
                let version = cx
                    .admin
                    .save_overlay(cx.operator, cx.tenant, &overlay.text)?;
                Ok(ApiReply::ok(json!({"version": version})))
            }
            "DELETE" => {
                let version = cx.admin.save_overlay(cx.operator, cx.tenant, "")?;
                Ok(ApiReply::ok(json!({"version": version, "defaults": true})))
            }
            _ => Err(method_not_allowed(cx.request, "GET, PUT, DELETE")),
        },
        ["check"] => match method {
            "POST" => {
                let overlay: OverlayText = parse(cx.request.body)?;
                let diagnostics = cx
                    .admin
                    .check_overlay(cx.operator, cx.tenant, &overlay.text)?;
                let clean = diagnostics.iter().all(|d| !d.is_error());
                Ok(ApiReply::ok(
                    json!({"ok": clean, "diagnostics": diagnostics}),
                ))
            }
            _ => Err(method_not_allowed(cx.request, "POST")),
        },
        ["preview"] => match method {
            "POST" => {
                let overlay: OverlayText = parse(cx.request.body)?;
                ok_json(cx.admin.preview(cx.operator, cx.tenant, &overlay.text))
            }
            _ => Err(method_not_allowed(cx.request, "POST")),
        },
        ["versions", version, "restore"] => match method {
            "POST" => {
                let version: u64 = version.parse().map_err(|_| {
                    ApiReply::error(
                        400,
                        "invalid",
                        format!("`{version}` is not a version number"),
                    )
                })?;
                let saved = cx.admin.restore_overlay(cx.operator, cx.tenant, version)?;
                Ok(ApiReply::ok(
                    json!({"version": saved, "restored_from": version}),
                ))
            }
            _ => Err(method_not_allowed(cx.request, "POST")),
        },
        _ => Err(not_found(cx.request)),
    }
}

/// `/tenants/NAME/{history,log,users,groups,entities,import,explain}`: what the tenant holds.
fn records_call(cx: &TenantCall<'_, '_>, rest: &[&str]) -> Result<ApiReply, ApiReply> {
    let method = cx.request.method;
    match rest {
        [listing @ ("history" | "log")] => match method {
            "GET" => {
                let page = page_query(cx.request)?;
                if *listing == "history" {
                    ok_json(cx.admin.history(cx.operator, cx.tenant, &page))
                } else {
                    ok_json(cx.admin.log(cx.operator, cx.tenant, &page))
                }
            }
            _ => Err(method_not_allowed(cx.request, "GET")),
        },
        [collection @ ("users" | "groups")] => match method {
            "GET" => {
                let kind = if *collection == "users" {
                    ResourceKind::User
                } else {
                    ResourceKind::Group
                };
                let limit =
                    usize::try_from(number(cx.request, "limit")?.unwrap_or(50)).unwrap_or(1000);
                let found = cx.admin.search(
                    cx.operator,
                    cx.tenant,
                    kind,
                    query(cx.request, "q").unwrap_or(""),
                    limit,
                )?;
                let items: Vec<Value> = found
                    .into_iter()
                    .map(|(id, name, managed)| json!({"id": id, "name": name, "managed": managed}))
                    .collect();
                Ok(ApiReply::ok(json!({"items": items})))
            }
            _ => Err(method_not_allowed(cx.request, "GET")),
        },
        ["entities", id] => match method {
            "GET" => ok_json(
                cx.admin
                    .entity(cx.operator, cx.tenant, &ResourceId::new(*id)),
            ),
            _ => Err(method_not_allowed(cx.request, "GET")),
        },
        ["import"] => match method {
            "POST" => {
                let text = std::str::from_utf8(cx.request.body).map_err(|_| {
                    ApiReply::error(400, "invalid_body", "the import file must be UTF-8")
                })?;
                // The body is the import file itself, CSV or JSON (the format is told by
                // its first character, as for `provisio entities import`).
                let summary = cx.admin.import(cx.operator, cx.tenant, text)?;
                Ok(ApiReply::created(json!({
                    "users": summary.count("User"),
                    "groups": summary.count("Group"),
                    "created": summary.created,
                })))
            }
            _ => Err(method_not_allowed(cx.request, "POST")),
        },
        ["explain"] => match method {
            "POST" => {
                let body: Value = parse(cx.request.body)?;
                ok_json(cx.admin.explain(cx.operator, cx.tenant, &body))
            }
            _ => Err(method_not_allowed(cx.request, "POST")),
        },
        _ => Err(not_found(cx.request)),
    }
}
