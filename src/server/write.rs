//! The SCIM write handlers: one operation, and `/Bulk`. Each parses its request into a
//! [`ScimOp`] at the edge, hands it to [`pipeline::write`], records the outcome in the
//! provisioning log and chooses the SCIM response.

use hyper::header;
use serde_json::Value;

use crate::domain::{ResourceKind, TenantId};
use crate::pipeline::{self, Applied, Wait, WriteError, WriteRequest};
use crate::scim::bulk::{self, BulkIds, BulkMethod, BulkOperation, BulkResult};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::etag::etag;
use crate::scim::op::ScimOp;
use crate::scim::project;
use crate::scim::redact;
use crate::scim::route::{Method, Route, route};
use crate::server::handlers::{
    self, asks_for_attributes, projection_of, represent, storage, tenant,
};
use crate::server::{App, Call, Reply, error_reply};
use crate::store::{Encoded, LogRecord, Outcome, StoreError};

/// What the provisioning log records of one write request.
struct LogEntry {
    tenant: TenantId,
    actor: String,
    method: String,
    path: String,
    request: Option<Value>,
}

impl LogEntry {
    fn record(&self, status: u16, outcome: Outcome, error: Option<&ScimError>) -> LogRecord {
        LogRecord {
            request: self.request.clone(),
            ..self.record_without_request(status, outcome, error)
        }
    }

    fn record_without_request(
        &self,
        status: u16,
        outcome: Outcome,
        error: Option<&ScimError>,
    ) -> LogRecord {
        LogRecord {
            seq: 0,
            time: crate::domain::Timestamp::EPOCH,
            actor: self.actor.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            status,
            outcome,
            scim_type: error
                .and_then(|e| e.scim_type)
                .map(|t| t.as_str().to_string()),
            detail: error.map(|e| e.detail.clone()),
            request: None,
        }
    }

    /// The encoded record of the request's success. The request moves into it and comes
    /// back masked, kept for a failure's record (masked again there, which changes nothing).
    fn success(&mut self, status: u16) -> Result<Encoded, StoreError> {
        let record = LogRecord {
            request: self.request.take(),
            ..self.record_without_request(status, Outcome::Ok, None)
        };
        let (encoded, request) = Encoded::log_giving_back(record);
        self.request = request;
        encoded
    }

    /// The reply to a failed write, and its record, to write in a transaction of its own
    /// (the operation's rolled back).
    fn failed(&self, error: &ScimError, outcome: Outcome) -> Answer {
        let record = self.record(error.status, outcome, Some(error));
        (
            error_reply(error),
            Some(Box::new((self.tenant.clone(), record))),
        )
    }

    /// Records a failed write in a transaction of its own, waiting for it.
    fn record_failure(&self, app: &App, error: &ScimError, outcome: Outcome) {
        let record = self.record(error.status, outcome, Some(error));
        logged(app.store.append_log(&self.tenant, &record));
    }
}

/// The SCIM error a client receives for a failed write, and how the log records it.
fn scim_error(err: &WriteError) -> (ScimError, Outcome) {
    match err {
        WriteError::Request(err) => (err.clone(), Outcome::Failed),
        WriteError::Eval(err) => (err.to_scim(), Outcome::Failed),
        WriteError::Rejected(rejection) => (
            ScimError {
                status: rejection.status,
                scim_type: rejection.scim_type,
                detail: rejection.detail.clone(),
            },
            Outcome::Rejected,
        ),
        WriteError::Store(StoreError::UserNameTaken(name)) => (
            ScimError::new(
                ScimType::Uniqueness,
                format!("the userName \"{name}\" is already in use"),
            ),
            Outcome::Failed,
        ),
        WriteError::Store(StoreError::DuplicateKey { value, .. }) => (
            ScimError::new(
                ScimType::Uniqueness,
                format!("\"{value}\" is already in use by another resource here"),
            ),
            Outcome::Failed,
        ),
        WriteError::Store(StoreError::Unavailable(detail)) => {
            (ScimError::status(503, detail.clone()), Outcome::Failed)
        }
        WriteError::Store(StoreError::UnknownTenant(_)) => (
            ScimError::status(401, "the API key's tenant no longer exists"),
            Outcome::Failed,
        ),
        WriteError::Store(other) => (storage(clone_store_error(other)), Outcome::Failed),
        WriteError::Password(err) => {
            tracing::error!(%err, "password hashing failed");
            (
                ScimError::status(
                    500,
                    "the password could not be stored safely; nothing was changed, try again",
                ),
                Outcome::Failed,
            )
        }
        WriteError::Busy => (
            ScimError::status(
                503,
                "the resource kept changing while this write was prepared; nothing was changed, try again",
            ),
            Outcome::Failed,
        ),
    }
}

/// A loggable copy of a store error (the error itself is not `Clone`).
fn clone_store_error(err: &StoreError) -> StoreError {
    StoreError::Corrupt {
        table: "write",
        detail: err.to_string(),
    }
}

/// The status of a successful write: 201 for a create, 204 for a delete and, unless the
/// client asks for attributes, for a group PATCH (RFC 7644 §3.5.2: membership is a
/// relation, and one member added must not load all the others); else 200.
fn success_status(op: &ScimOp, query: &str) -> u16 {
    match op {
        ScimOp::Create { .. } => 201,
        ScimOp::Delete { .. } => 204,
        ScimOp::Patch { kind, .. }
            if *kind == ResourceKind::Group && !asks_for_attributes(query) =>
        {
            204
        }
        _ => 200,
    }
}

/// A write request taken from its call, with what its log record says of it.
struct Begun {
    entry: LogEntry,
    request: WriteRequest,
    status: u16,
}

/// The reply to a write, and the provisioning-log record of its failure, if it failed (a
/// success is recorded in its own transaction).
type Answer = (Reply, Option<Box<(TenantId, LogRecord)>>);

/// One write, with its outcome recorded in the provisioning log: a success in the
/// operation's own transaction, a failure in a transaction of its own. Waits for the
/// commit: call it off the reactor.
pub(super) fn write_logged(app: &App, call: &Call, body: Option<Value>) -> Reply {
    pipeline::on_thread(write_logged_with(app, call, body, Wait::Thread)).unwrap_or_else(|| {
        error_reply(&ScimError::status(
            500,
            "the write was left unfinished; nothing is known to have changed, try again",
        ))
    })
}

/// [`write_logged`] on the calling task, without a cluster ([`pipeline::write_async`]).
pub(super) async fn write_logged_async(app: &App, call: &Call, body: Option<Value>) -> Reply {
    write_logged_with(app, call, body, Wait::Task).await
}

async fn write_logged_with(app: &App, call: &Call, body: Option<Value>, wait: Wait) -> Reply {
    let (reply, failure) = match begin(call, body) {
        Ok(begun) => {
            let applied = pipeline::write_with(
                &app.store,
                &app.profile_for(&begun.request.tenant),
                app.store.ids(),
                &begun.request,
                wait,
            )
            .await;
            answer(app, call, &begun, applied)
        }
        Err(answer) => answer,
    };
    if let Some(failure) = failure {
        let (tenant, record) = (&failure.0, &failure.1);
        logged(match wait {
            Wait::Thread => app.store.append_log(tenant, record),
            Wait::Task => app.store.append_log_async(tenant, record).await,
        });
    }
    reply
}

fn logged(result: Result<u64, StoreError>) {
    if let Err(err) = result {
        tracing::error!(%err, "could not write the provisioning log");
    }
}

/// Parses the call into a write request.
fn begin(call: &Call, body: Option<Value>) -> Result<Begun, Answer> {
    let (tenant, actor) = tenant(call).map_err(|err| (error_reply(&err), None))?;
    let mut entry = LogEntry {
        tenant: tenant.clone(),
        actor: actor.to_owned(),
        method: call.method.to_string(),
        path: call.path.clone(),
        // Masked where every log record is encoded (`Encoded::log`), the one place.
        request: body.clone(),
    };
    let op = match ScimOp::from_route(&call.route, body) {
        Ok(op) => op,
        Err(err) => return Err(entry.failed(&err, Outcome::Failed)),
    };
    let status = success_status(&op, &call.query);
    let success_log = match entry.success(status) {
        Ok(record) => record,
        Err(err) => return Err(entry.failed(&storage(err), Outcome::Failed)),
    };
    let request = WriteRequest {
        tenant: tenant.clone(),
        actor: actor.to_owned(),
        op,
        if_match: call.preconditions.if_match.clone(),
        success_log,
    };
    Ok(Begun {
        entry,
        request,
        status,
    })
}

/// The reply to a write that was tried.
fn answer(app: &App, call: &Call, begun: &Begun, applied: Result<Applied, WriteError>) -> Answer {
    let Begun {
        entry,
        request,
        status,
    } = begun;
    let status = *status;
    let applied = match applied {
        Ok(applied) => applied,
        Err(err) => {
            let (error, outcome) = scim_error(&err);
            return entry.failed(&error, outcome);
        }
    };
    let kind = request.op.kind();
    let id = applied.written.id;
    let version = applied
        .written
        .meta
        .map(|m| m.version.to_string())
        .unwrap_or_default();
    if status == 204 {
        let reply = Reply::empty(204);
        return if matches!(request.op, ScimOp::Delete { .. }) {
            (reply, None)
        } else {
            (reply.with_header(header::ETAG, etag(&version)), None)
        };
    }
    let read = handlers::key(call).and_then(|key| app.store.read_for(key).map_err(storage));
    let body = read.and_then(|read| {
        read.get_resource_row(kind, &id)
            .map_err(storage)?
            .map(|row| {
                represent(
                    &read,
                    &call.base_url,
                    kind,
                    &id,
                    &handlers::stored_row(&row)?,
                    &projection_of(kind, &call.query),
                )
            })
            .transpose()
    });
    let body = match body {
        Ok(Some(body)) => body,
        Ok(None) => {
            return (
                error_reply(&ScimError::not_found(kind.as_str(), id.as_str())),
                None,
            );
        }
        Err(err) => return (error_reply(&err), None),
    };
    let mut reply = Reply::with_body(status, body).with_header(header::ETAG, etag(&version));
    if status == 201 {
        reply = reply.with_header(
            header::LOCATION,
            project::location(&call.base_url, kind, id.as_str()),
        );
    }
    (reply, None)
}

/// `POST /Bulk`: the operations in bulkId dependency order, each one write of its own.
pub(super) fn bulk_request(
    app: &App,
    call: &Call,
    body: Option<Value>,
) -> Result<Reply, ScimError> {
    let (tenant, actor) = tenant(call)?;
    let body = body.unwrap_or(Value::Null);
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

/// One operation of a Bulk request, routed by the one router.
fn bulk_one(
    app: &App,
    tenant: &TenantId,
    actor: &str,
    call: &Call,
    op: &BulkOperation,
    ids: &mut BulkIds,
) -> BulkResult {
    let path = match &op.id {
        Some(id) => format!("/{}/{id}", op.kind.endpoint()),
        None => format!("/{}", op.kind.endpoint()),
    };
    let entry = LogEntry {
        tenant: tenant.clone(),
        actor: actor.to_owned(),
        method: op.method.as_str().to_owned(),
        path: format!("{} {path}", call.path),
        request: op.data.clone().map(|mut data| {
            redact::redact(op.kind, &mut data);
            data
        }),
    };
    let parsed = route(op.method.as_str(), &path)
        .map_err(|e| ScimError::new(ScimType::InvalidSyntax, e.to_string()))
        .and_then(|route| match route {
            Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Delete(..) => {
                ScimOp::from_route(&route, op.data.clone())
            }
            _ => Err(ScimError::new(
                ScimType::InvalidSyntax,
                "this bulk operation lacks the path id or data its method needs",
            )),
        });
    let scim_op = match parsed {
        Ok(scim_op) => scim_op,
        Err(err) => {
            entry.record_failure(app, &err, Outcome::Failed);
            return BulkResult::error(op, &err);
        }
    };
    let status = match scim_op.method() {
        Method::Post => 201,
        Method::Delete => 204,
        _ => 200,
    };
    let success_log = match Encoded::log(entry.record(status, Outcome::Ok, None)) {
        Ok(record) => record,
        Err(err) => {
            let err = storage(err);
            entry.record_failure(app, &err, Outcome::Failed);
            return BulkResult::error(op, &err);
        }
    };
    let request = WriteRequest {
        tenant: tenant.clone(),
        actor: actor.to_owned(),
        op: scim_op,
        if_match: op.version.clone(),
        success_log,
    };
    match pipeline::write(
        &app.store,
        &app.profile_for(tenant),
        app.store.ids(),
        &request,
    ) {
        Ok(applied) => {
            let id = applied.written.id;
            if let (BulkMethod::Post, Some(bulk_id)) = (op.method, &op.bulk_id) {
                ids.insert(bulk_id, id.as_str());
            }
            BulkResult {
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                location: Some(project::location(&call.base_url, op.kind, id.as_str())),
                version: applied.written.meta.map(|m| etag(&m.version.to_string())),
                status,
                response: None,
            }
        }
        Err(err) => {
            let (error, outcome) = scim_error(&err);
            entry.record_failure(app, &error, outcome);
            BulkResult::error(op, &error)
        }
    }
}
