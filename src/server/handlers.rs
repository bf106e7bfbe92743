//! The SCIM handlers. Each runs synchronously (on a blocking thread) and returns a [`Reply`].

use hyper::header;
use serde_json::Value;

use crate::eval::state::StoredResource;
use std::sync::Arc;

use crate::check::CheckedRules;
use crate::eval::{self, EvalError, IdSource, ScimOp};
use crate::scim::bulk::{self, BulkIds, BulkMethod, BulkOperation, BulkResult};
use crate::scim::discovery;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::etag::{Precondition, etag, evaluate_preconditions};
use crate::scim::filter::{IndexedAttr, equality_hint};
use crate::scim::list::{ListQuery, list_response, parse_list_query, parse_search_request};
use crate::scim::project::{self, Projection, build_resource, member_ref};
use crate::scim::redact;
use crate::scim::schema::ResourceKind;
use crate::server::route::Route;
use crate::server::{App, Call, Reply, error_reply};
use crate::store::{
    self, JobStatus, LogRecord, Outcome, StoreError, TenantRead, TenantWrite, WriteJob,
};

/// Runs the handler for a routed, authenticated call.
pub fn dispatch(app: &App, call: Call) -> Reply {
    let result = match &call.route {
        Route::ServiceProviderConfig => Ok(Reply::json(
            200,
            discovery::service_provider_config(&call.base_url),
        )),
        Route::Schemas => Ok(Reply::json(200, discovery::schemas(&call.base_url))),
        Route::Schema(urn) => discovery::schema(&call.base_url, urn)
            .map(|s| Reply::json(200, s))
            .ok_or_else(|| ScimError::status(404, format!("no schema {urn}"))),
        Route::ResourceTypes => Ok(Reply::json(200, discovery::resource_types(&call.base_url))),
        Route::ResourceType(name) => discovery::resource_type(&call.base_url, name)
            .map(|s| Reply::json(200, s))
            .ok_or_else(|| ScimError::status(404, format!("no resource type {name}"))),
        Route::List(kind) => {
            parse_list_query(*kind, &call.query).and_then(|q| list(app, &call, &[*kind], &q))
        }
        Route::Search(kind) => search(app, &call, &[*kind]),
        Route::SearchAll => search(app, &call, &[ResourceKind::User, ResourceKind::Group]),
        Route::Get(kind, id) => get(app, &call, *kind, id),
        Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Delete(..) => {
            return write_logged(app, &call);
        }
        Route::Bulk => bulk_request(app, &call),
    };
    result.unwrap_or_else(|err| error_reply(&err))
}

fn tenant(call: &Call) -> Result<(&str, &str), ScimError> {
    call.key
        .as_ref()
        .map(|k| (k.tenant.as_str(), k.user.as_str()))
        .ok_or_else(|| ScimError::status(401, "this endpoint needs an API key"))
}

fn storage(err: StoreError) -> ScimError {
    tracing::error!(%err, "storage error");
    ScimError::status(
        500,
        "the server could not read or write its database; nothing was changed, try again",
    )
}

fn meta_of(stored: &StoredResource) -> project::Meta {
    project::Meta {
        created: stored.meta.created.clone(),
        last_modified: stored.meta.last_modified.clone(),
        version: stored.meta.version.to_string(),
    }
}

/// The full representation of a stored resource, with `groups` (User) or `members`
/// (Group) loaded only when the projection shows them.
fn representation(
    read: &TenantRead,
    base_url: &str,
    stored: &StoredResource,
    projection: &Projection,
) -> Result<Value, StoreError> {
    let kind = stored.kind;
    let id = stored.entity.id.as_str();
    let related = match kind {
        ResourceKind::User if projection.includes("groups") => {
            let mut groups = Vec::new();
            for group in read.groups_of(id)? {
                let display = read
                    .get_resource(ResourceKind::Group, &group)?
                    .and_then(|g| text(&g.body, "displayName"));
                groups.push(member_ref(
                    base_url,
                    ResourceKind::Group,
                    &group,
                    display.as_deref(),
                ));
            }
            Some(groups)
        }
        ResourceKind::Group if projection.includes("members") => {
            let mut members = Vec::new();
            // `display` is not published for members (it is not stored), so not returned.
            for user in read.members_of(id)? {
                members.push(member_ref(base_url, ResourceKind::User, &user, None));
            }
            Some(members)
        }
        _ => None,
    };
    let full = build_resource(kind, base_url, id, &stored.body, &meta_of(stored), related);
    Ok(projection.apply(kind, full))
}

fn text(body: &Value, key: &str) -> Option<String> {
    crate::eval::path::get_ci(body, key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn projection_of(kind: ResourceKind, query: &str) -> Projection {
    let pairs = crate::scim::list::query_pairs(query);
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::parse(kind, find("attributes"), find("excludedAttributes"))
}

/// Whether the query names `attributes` or `excludedAttributes`.
fn asks_for_attributes(query: &str) -> bool {
    crate::scim::list::query_pairs(query).iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes")
    })
}

fn get(app: &App, call: &Call, kind: ResourceKind, id: &str) -> Result<Reply, ScimError> {
    let (tenant, _) = tenant(call)?;
    let read = app.store.read(tenant).map_err(storage)?;
    let stored = read.get_resource(kind, id).map_err(storage)?;
    let version = stored.as_ref().map(|s| s.meta.version.to_string());
    let precondition = evaluate_preconditions(
        version.as_deref(),
        call.if_match.as_deref(),
        call.if_none_match.as_deref(),
        true,
    )?;
    let Some(stored) = stored else {
        return Err(ScimError::not_found(kind.as_str(), id));
    };
    let tag = etag(&stored.meta.version.to_string());
    if precondition == Precondition::NotModified {
        return Ok(Reply::empty(304).with_header(header::ETAG, tag));
    }
    let projection = projection_of(kind, &call.query);
    let body = representation(&read, &call.base_url, &stored, &projection).map_err(storage)?;
    Ok(Reply::json(200, body).with_header(header::ETAG, tag))
}

fn search(app: &App, call: &Call, kinds: &[ResourceKind]) -> Result<Reply, ScimError> {
    let body = call.body.clone().unwrap_or(Value::Null);
    // At the root, a filter need only make sense for one of the kinds.
    let mut first_error = None;
    let mut usable = Vec::new();
    let mut query = None;
    for kind in kinds {
        match parse_search_request(*kind, &body) {
            Ok(q) => {
                usable.push(*kind);
                query.get_or_insert(q);
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match query {
        Some(q) => list(app, call, &usable, &q),
        None => Err(first_error.unwrap_or_else(|| {
            ScimError::new(
                ScimType::InvalidSyntax,
                "the search request could not be read",
            )
        })),
    }
}

fn list(
    app: &App,
    call: &Call,
    kinds: &[ResourceKind],
    query: &ListQuery,
) -> Result<Reply, ScimError> {
    let (tenant, _) = tenant(call)?;
    let read = app.store.read(tenant).map_err(storage)?;
    // One kind, no filter, no sort: page straight from the table, in id order.
    if let ([kind], None, None) = (kinds, &query.filter, &query.sort_by)
        && !query.descending
    {
        let total = read.count(*kind).map_err(storage)? as usize;
        let page = if query.count == 0 {
            Vec::new()
        } else {
            read.page(*kind, query.start_index, query.count)
                .map_err(storage)?
        };
        let mut resources = Vec::with_capacity(page.len());
        for stored in &page {
            resources.push(
                representation(&read, &call.base_url, stored, &query.projection)
                    .map_err(storage)?,
            );
        }
        return Ok(Reply::json(
            200,
            list_response(resources, total, query.start_index),
        ));
    }
    let mut matched: Vec<(StoredResource, Value)> = Vec::new();
    for kind in kinds {
        for stored in candidates(&read, *kind, query).map_err(storage)? {
            let plain = build_resource(
                *kind,
                &call.base_url,
                &stored.entity.id,
                &stored.body,
                &meta_of(&stored),
                None,
            );
            if query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(*kind, &plain))
            {
                matched.push((stored, plain));
            }
        }
    }
    matched.sort_by(|(a, ra), (b, rb)| {
        if a.kind == b.kind {
            query.compare(ra, rb)
        } else {
            a.kind.cmp(&b.kind)
        }
    });
    let total = matched.len();
    let window = query.window(total);
    let mut resources = Vec::with_capacity(window.len());
    for (stored, _) in &matched[window] {
        resources.push(
            representation(&read, &call.base_url, stored, &query.projection).map_err(storage)?,
        );
    }
    Ok(Reply::json(
        200,
        list_response(resources, total, query.start_index),
    ))
}

/// The resources a filter can match: through an index when it is an equality on an
/// indexed attribute, otherwise all of the kind.
fn candidates(
    read: &TenantRead,
    kind: ResourceKind,
    query: &ListQuery,
) -> Result<Vec<StoredResource>, StoreError> {
    let hint = query.filter.as_ref().and_then(equality_hint);
    match (kind, hint) {
        (ResourceKind::User, Some((IndexedAttr::UserName, value))) => {
            Ok(read.by_user_name(&value)?.into_iter().collect())
        }
        (_, Some((IndexedAttr::ExternalId, value))) => {
            Ok(read.by_external_id(kind, &value)?.into_iter().collect())
        }
        (ResourceKind::Group, Some((IndexedAttr::DisplayName, value))) => {
            Ok(read.by_group_name(&value)?.into_iter().collect())
        }
        _ => read.resources(kind),
    }
}

/// A write, with its outcome recorded in the provisioning log: a success in the
/// operation's own transaction, a failure in a transaction of its own (the operation's
/// rolled back).
fn write_logged(app: &App, call: &Call) -> Reply {
    let entry = call.key.as_ref().map(|key| LogEntry {
        tenant: key.tenant.clone(),
        actor: key.user.clone(),
        method: call.method.to_string(),
        path: call.path.clone(),
        request: call.body.clone().map(|mut body| {
            redact::redact_all(&mut body);
            body
        }),
    });
    match write(app, call, entry.as_ref()) {
        Ok(reply) => reply,
        Err(failure) => {
            if let Some(entry) = &entry {
                entry.record_failure(app, &failure);
            }
            error_reply(&failure.error)
        }
    }
}

/// What the provisioning log records of one write request.
struct LogEntry {
    tenant: String,
    actor: String,
    method: String,
    path: String,
    request: Option<Value>,
}

impl LogEntry {
    fn record(&self, status: u16, outcome: Outcome, error: Option<&ScimError>) -> LogRecord {
        LogRecord {
            seq: 0,
            time: String::new(),
            actor: self.actor.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            status,
            outcome,
            scim_type: error
                .and_then(|e| e.scim_type)
                .map(|t| t.as_str().to_string()),
            detail: error.map(|e| e.detail.clone()),
            request: self.request.clone(),
        }
    }

    fn record_failure(&self, app: &App, failure: &Failure) {
        let outcome = if failure.rejected {
            Outcome::Rejected
        } else {
            Outcome::Failed
        };
        let record = self.record(failure.error.status, outcome, Some(&failure.error));
        if let Err(err) = app.store.append_log(&self.tenant, record) {
            tracing::error!(%err, "could not write the provisioning log");
        }
    }
}

/// A failed write: the error, and whether the rules refused it (vs. a bad request).
struct Failure {
    error: ScimError,
    rejected: bool,
}

impl From<ScimError> for Failure {
    fn from(error: ScimError) -> Failure {
        Failure {
            error,
            rejected: false,
        }
    }
}

/// Ids from the store's id source, so a server with injected ids is deterministic.
struct StoreIds<'t>(&'t TenantWrite);

impl IdSource for StoreIds<'_> {
    fn next_id(&mut self) -> String {
        self.0.next_id()
    }
}

fn write(app: &App, call: &Call, log: Option<&LogEntry>) -> Result<Reply, Failure> {
    let (tenant, actor) = tenant(call)?;
    let body = call.body.clone();
    let (op, kind) = match (&call.route, body) {
        (Route::Create(kind), Some(body)) => (ScimOp::Create { kind: *kind, body }, *kind),
        (Route::Replace(kind, id), Some(body)) => (
            ScimOp::Replace {
                kind: *kind,
                id: id.clone(),
                body,
            },
            *kind,
        ),
        (Route::Patch(kind, id), Some(body)) => (
            ScimOp::Patch {
                kind: *kind,
                id: id.clone(),
                body,
            },
            *kind,
        ),
        (Route::Delete(kind, id), _) => (
            ScimOp::Delete {
                kind: *kind,
                id: id.clone(),
            },
            *kind,
        ),
        _ => {
            return Err(
                ScimError::new(ScimType::InvalidSyntax, "this request needs a JSON body").into(),
            );
        }
    };
    // A group PATCH answers 204 unless the client asks for attributes (RFC 7644 §3.5.2):
    // membership is a relation, and one member added must not load all the others.
    let status = match op {
        ScimOp::Create { .. } => 201,
        ScimOp::Delete { .. } => 204,
        ScimOp::Patch { .. }
            if kind == ResourceKind::Group && !asks_for_attributes(&call.query) =>
        {
            204
        }
        _ => 200,
    };
    let success = log.map(|entry| entry.record(status, Outcome::Ok, None));
    let (id, version) = apply_op(app, tenant, actor, &op, call.if_match.as_deref(), success)?;
    if status == 204 {
        let reply = Reply::empty(204);
        return Ok(if matches!(op, ScimOp::Delete { .. }) {
            reply
        } else {
            reply.with_header(header::ETAG, etag(&version))
        });
    }
    let read = app.store.read(tenant).map_err(storage)?;
    let stored = read
        .get_resource(kind, &id)
        .map_err(storage)?
        .ok_or_else(|| ScimError::not_found(kind.as_str(), &id))?;
    let projection = projection_of(kind, &call.query);
    let representation =
        representation(&read, &call.base_url, &stored, &projection).map_err(storage)?;
    let mut reply = Reply::json(status, representation).with_header(header::ETAG, etag(&version));
    if status == 201 {
        reply = reply.with_header(
            header::LOCATION,
            project::location(&call.base_url, kind, &id),
        );
    }
    Ok(reply)
}

/// Evaluates and applies one operation through the store's batch writer; returns the
/// resource id and its new version once the write is durable.
fn apply_op(
    app: &App,
    tenant: &str,
    actor: &str,
    op: &ScimOp,
    if_match: Option<&str>,
    success_log: Option<LogRecord>,
) -> Result<(String, String), Failure> {
    let (sender, receiver) = std::sync::mpsc::channel();
    app.store.submit(Box::new(OpJob {
        rules: Arc::clone(app.rules_for(tenant)),
        tenant: tenant.to_string(),
        actor: actor.to_string(),
        op: op.clone(),
        if_match: if_match.map(str::to_string),
        success_log,
        result: None,
        reply: sender,
    }));
    receiver.recv().unwrap_or_else(|_| {
        Err(Failure::from(ScimError::status(
            500,
            "the write did not complete; nothing was changed, try again",
        )))
    })
}

/// One SCIM write as a job of the store's batch writer.
struct OpJob {
    rules: Arc<CheckedRules>,
    tenant: String,
    actor: String,
    op: ScimOp,
    if_match: Option<String>,
    success_log: Option<LogRecord>,
    result: Option<Result<(String, String), Failure>>,
    reply: std::sync::mpsc::Sender<Result<(String, String), Failure>>,
}

impl WriteJob for OpJob {
    fn tenant(&self) -> &str {
        &self.tenant
    }

    fn run(&mut self, txn: &mut TenantWrite) -> JobStatus {
        let (status, result) = self.attempt(txn);
        self.result = Some(result);
        status
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(err), Some(Ok(_)) | None) => Err(Failure::from(storage(err))),
            (Err(_), Some(Err(failure))) => Err(failure),
            (Ok(()), None) => Err(Failure::from(ScimError::status(
                500,
                "the write did not run; nothing was changed, try again",
            ))),
        };
        let _ = self.reply.send(result);
    }
}

impl OpJob {
    /// Preconditions, plan, apply and the success log, in `txn`. Failures before `apply`
    /// write nothing (clean); a failure during it leaves partial writes (dirty).
    fn attempt(&self, txn: &mut TenantWrite) -> (JobStatus, Result<(String, String), Failure>) {
        let clean = |failure: Failure| (JobStatus::FailedClean, Err(failure));
        let dirty = |failure: Failure| (JobStatus::FailedDirty, Err(failure));
        let op = &self.op;
        if let ScimOp::Replace { kind, id, .. }
        | ScimOp::Patch { kind, id, .. }
        | ScimOp::Delete { kind, id } = op
            && self.if_match.is_some()
        {
            let version = match txn.get_resource(*kind, id) {
                Ok(current) => current.map(|c| c.meta.version.to_string()),
                Err(err) => return clean(Failure::from(storage(err))),
            };
            if let Err(err) =
                evaluate_preconditions(version.as_deref(), self.if_match.as_deref(), None, false)
            {
                return clean(Failure::from(err));
            }
        }
        let plan = {
            let mut ids = StoreIds(txn);
            eval::plan_with(&self.rules, op, &*txn, &mut ids)
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(EvalError::State(e)) => {
                return clean(Failure::from(storage(StoreError::Corrupt {
                    table: "state",
                    detail: e.0,
                })));
            }
            Err(other) => return clean(Failure::from(other.to_scim())),
        };
        if let Some(rejection) = &plan.rejection {
            return clean(Failure {
                error: ScimError {
                    status: rejection.status,
                    scim_type: rejection.scim_type,
                    detail: rejection.detail.clone(),
                },
                rejected: true,
            });
        }
        if let Err(err) = store::apply(txn, &self.rules, &plan, &self.actor) {
            return dirty(match err {
                StoreError::UserNameTaken(name) => Failure::from(ScimError::new(
                    ScimType::Uniqueness,
                    format!("the userName \"{name}\" is already in use"),
                )),
                StoreError::DuplicateKey { value, .. } => Failure::from(ScimError::new(
                    ScimType::Uniqueness,
                    format!("\"{value}\" is already in use by another resource here"),
                )),
                other => Failure::from(storage(other)),
            });
        }
        let id = plan.entity.id.clone();
        let version = match txn.get_resource(op.kind(), &id) {
            Ok(stored) => stored
                .map(|s| s.meta.version.to_string())
                .unwrap_or_default(),
            Err(err) => return dirty(Failure::from(storage(err))),
        };
        if let Some(record) = &self.success_log
            && let Err(err) = txn.append_log(record.clone())
        {
            return dirty(Failure::from(storage(err)));
        }
        (JobStatus::Done, Ok((id, version)))
    }
}

fn bulk_request(app: &App, call: &Call) -> Result<Reply, ScimError> {
    let (tenant, actor) = tenant(call)?;
    let body = call.body.clone().unwrap_or(Value::Null);
    let request = bulk::parse_bulk(&body)?;
    let order = bulk::execution_order(&request.operations);
    let mut results: Vec<Option<BulkResult>> = vec![None; request.operations.len()];
    for index in &order.cyclic {
        if let Some(op) = request.operations.get(*index) {
            results[*index] = Some(BulkResult::error(op, &bulk::circular_reference(op)));
        }
    }
    let mut ids = BulkIds::new();
    let mut errors = 0usize;
    for index in order.order {
        if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let Some(op) = request.operations.get(index) else {
            continue;
        };
        let result = match ids.resolve(op) {
            Ok(resolved) => bulk_one(app, tenant, actor, call, &resolved, &mut ids),
            Err(err) => BulkResult::error(op, &err),
        };
        if result.status >= 400 {
            errors += 1;
        }
        results[index] = Some(result);
    }
    let done: Vec<BulkResult> = results.into_iter().flatten().collect();
    Ok(Reply::json(200, bulk::bulk_response(&done)))
}

fn bulk_one(
    app: &App,
    tenant: &str,
    actor: &str,
    call: &Call,
    op: &BulkOperation,
    ids: &mut BulkIds,
) -> BulkResult {
    let scim_op = match (op.method, op.id.clone(), op.data.clone()) {
        (BulkMethod::Post, _, Some(body)) => ScimOp::Create {
            kind: op.kind,
            body,
        },
        (BulkMethod::Put, Some(id), Some(body)) => ScimOp::Replace {
            kind: op.kind,
            id,
            body,
        },
        (BulkMethod::Patch, Some(id), Some(body)) => ScimOp::Patch {
            kind: op.kind,
            id,
            body,
        },
        (BulkMethod::Delete, Some(id), _) => ScimOp::Delete { kind: op.kind, id },
        _ => {
            return BulkResult::error(
                op,
                &ScimError::new(
                    ScimType::InvalidSyntax,
                    "this bulk operation lacks the path id or data its method needs",
                ),
            );
        }
    };
    let status = match op.method {
        BulkMethod::Post => 201,
        BulkMethod::Delete => 204,
        _ => 200,
    };
    let entry = LogEntry {
        tenant: tenant.to_string(),
        actor: actor.to_string(),
        method: scim_op.method().to_string(),
        path: format!(
            "{} /{}{}",
            call.path,
            op.kind.endpoint(),
            op.id
                .as_deref()
                .map(|id| format!("/{id}"))
                .unwrap_or_default()
        ),
        request: op.data.clone().map(|mut data| {
            redact::redact(op.kind, &mut data);
            data
        }),
    };
    let success = entry.record(status, Outcome::Ok, None);
    match apply_op(
        app,
        tenant,
        actor,
        &scim_op,
        op.version.as_deref(),
        Some(success),
    ) {
        Ok((id, version)) => {
            if let (BulkMethod::Post, Some(bulk_id)) = (op.method, &op.bulk_id) {
                ids.insert(bulk_id, &id);
            }
            let deleted = op.method == BulkMethod::Delete;
            BulkResult {
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                location: Some(project::location(&call.base_url, op.kind, &id)),
                version: (!deleted).then(|| etag(&version)),
                status,
                response: None,
            }
        }
        Err(failure) => {
            entry.record_failure(app, &failure);
            BulkResult::error(op, &failure.error)
        }
    }
}
