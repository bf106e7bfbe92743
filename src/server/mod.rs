//! The hyper server: connection loop ([`conn`]), routing by hand ([`route`]), Bearer-key
//! auth, body limits, and the SCIM handlers ([`handlers`]).
//!
//! One write request reads top to bottom: route ([`crate::scim::route`]) -> auth -> body
//! (limit, JSON) -> [`ScimOp`](crate::scim::op::ScimOp) -> [`pipeline::write`]
//! (plan on a snapshot, commit through the store's writer) -> provisioning log ->
//! representation rebuilt from the stored resource. Every failure becomes a SCIM Error
//! response, chosen here at the edge; a request is answered or, when its framing is
//! ambiguous (see [`lenient`]), refused with hyper's own 400 before the connection closes.

mod access;
pub mod conn;
pub mod handlers;
pub mod lenient;
mod unmanaged;
mod write;

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use crate::domain::TenantId;
use crate::pipeline::{Profile, Profiles};
use crate::scim::bulk::MAX_PAYLOAD_SIZE;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::route::{self, Route, RouteError};
use crate::store::{KeyInfo, Store};

pub use conn::{serve, shutdown_signal};

/// The media type of every response body.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 beyond it); also the advertised bulk
    /// `maxPayloadSize`.
    pub max_body_bytes: usize,
    /// The server's public URL (`https://scim.example.com`, no trailing slash): every
    /// `meta.location` and `$ref` starts with it. A setting, never the client's `Host`
    /// header, so a client cannot make the server hand out links to another host.
    pub public_url: String,
    /// How long a client may take to send a request's headers; then the connection closes.
    pub header_read_timeout: std::time::Duration,
    /// How long a client may take to send a request's body, from the end of its headers;
    /// then the read fails and the connection closes.
    pub body_read_timeout: std::time::Duration,
    /// Most connections served at once; a connection beyond it gets a 503 and is closed at
    /// once, while the others are served on.
    pub max_connections: usize,
}

impl ServerConfig {
    /// Defaults for a server reachable as `http://{listen}` (`listen` is `host:port`).
    pub fn new(listen: impl std::fmt::Display) -> ServerConfig {
        ServerConfig {
            max_body_bytes: MAX_PAYLOAD_SIZE,
            public_url: format!("http://{listen}"),
            header_read_timeout: conn::HEADER_READ_TIMEOUT,
            body_read_timeout: conn::BODY_READ_TIMEOUT,
            max_connections: conn::MAX_CONNECTIONS,
        }
    }
}

/// Everything a request handler needs: the store, the checked rules, the settings.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub store: Store,
    /// Every tenant's rules (the profile, and overlays saved while serving).
    pub profiles: Arc<Profiles>,
    /// Settings.
    pub config: ServerConfig,
}

/// What a handler answers: status, JSON body (none for 204/304), extra headers.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Option<ReplyBody>,
    /// Extra headers (`Location`, `ETag`).
    pub headers: Vec<(header::HeaderName, String)>,
}

/// A reply's JSON body: a value to serialise, or JSON text already written.
#[derive(Debug)]
pub enum ReplyBody {
    /// A value, serialised when the response is sent.
    Value(Value),
    /// JSON text (a representation written straight from the stored row).
    Text(Vec<u8>),
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::with_body(status, ReplyBody::Value(body))
    }

    /// A reply with this body.
    pub fn with_body(status: u16, body: ReplyBody) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// A reply without a body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// A request as the handlers see it: routed, authenticated, body parsed.
#[derive(Debug, Clone)]
pub struct Call {
    /// The route.
    pub route: Route,
    /// For a list route, its query parsed (once).
    pub list: Option<Result<crate::scim::list::ListQuery, ScimError>>,
    /// The caller's key (`None` only for open endpoints).
    pub key: Option<KeyInfo>,
    /// HTTP method, as sent.
    pub method: Method,
    /// Request path as sent.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Parsed JSON body, if the method carries one.
    pub body: Option<Value>,
    /// `If-Match` and `If-None-Match`.
    pub preconditions: crate::scim::etag::Preconditions,
    /// The SCIM base URL for `meta.location` (`http://host/scim/v2`).
    pub base_url: String,
}

impl App {
    /// The rules for a tenant's next operation: its overlay's, else the profile's.
    pub fn profile_for(&self, tenant: &TenantId) -> Profile {
        self.profiles.for_tenant(tenant)
    }

    /// Answers one request: in a cluster, one whose key belongs to a tenant another node
    /// owns is forwarded there ([`crate::cluster::forward`]); every other request is
    /// [`handle`](Self::handle)d here.
    pub async fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Response<crate::cluster::forward::Body> {
        if let Some(cluster) = self.store.cluster()
            && !req
                .headers()
                .contains_key(crate::cluster::forward::FORWARDED)
            && let Some(token) = bearer(req.headers())
            && let Some((tenant, owner)) = cluster.remote_owner(&crate::store::key_hash_hex(token))
        {
            let cluster = Arc::clone(cluster);
            return cluster.forward(&tenant, &owner, req).await;
        }
        self.handle(req).await.map(http_body_util::Either::Left)
    }

    /// Handles one request; never fails: every error is a SCIM Error response.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let reply = match self.prepare(req).await {
            Ok(call) if handlers::is_quick(&call) => {
                // A read of a few rows: cheaper here than a hop to the blocking pool.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handlers::dispatch(&self, call)
                }))
                .unwrap_or_else(|_| panicked())
            }
            Ok(mut call) if handlers::is_single_write(&call) && self.store.cluster().is_none() => {
                // Planning a write is a bounded piece of CPU work (no scan): it runs here,
                // and the wait for its commit holds no thread (Argon2id hashing goes to the
                // blocking pool).
                let body = call.body.take();
                let write = write::write_logged_async(&self, &call, body);
                futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(write))
                    .await
                    .unwrap_or_else(|_| panicked())
            }
            Ok(call) => {
                let app = Arc::clone(&self);
                // Scans, bulk requests and clustered writes wait on other work; keep them
                // off the reactor.
                tokio::task::spawn_blocking(move || handlers::dispatch(&app, call))
                    .await
                    .unwrap_or_else(|_| panicked())
            }
            Err(reply) => reply,
        };
        render(reply)
    }

    /// Routes, authenticates and reads the body.
    async fn prepare(&self, req: Request<Incoming>) -> Result<Call, Reply> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or("").to_string();
        let Some(rest) = route::strip_base(&path) else {
            return Err(error_reply(&ScimError::status(
                404,
                format!("{path} is not under the SCIM base path; use /scim/v2"),
            )));
        };
        let base = &path[..path.len() - rest.len()];
        let route = route::route(parts.method.as_str(), rest).map_err(|err| match &err {
            RouteError::NotFound(_) => error_reply(&ScimError::status(404, err.to_string())),
            RouteError::MethodNotAllowed { allow, .. } => {
                error_reply(&ScimError::status(405, err.to_string()))
                    .with_header(header::ALLOW, *allow)
            }
        })?;
        let key = if route.needs_auth() {
            Some(self.authenticate(&parts.headers)?)
        } else {
            self.optional_key(&parts.headers)
        };
        if let Some(key) = &key {
            self.admit(key, parts.method.as_str(), &parts.uri)?;
        }
        let base_url = format!("{}{base}", self.config.public_url);
        let has_body = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
        let body = if has_body {
            Some(self.read_json(&parts.headers, body).await?)
        } else {
            None
        };
        let header_text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let list = match &route {
            Route::List(kind) => Some(crate::scim::list::parse_list_query(*kind, &query)),
            _ => None,
        };
        Ok(Call {
            list,
            route,
            key,
            method: parts.method.clone(),
            preconditions: crate::scim::etag::Preconditions {
                if_match: header_text(header::IF_MATCH),
                if_none_match: header_text(header::IF_NONE_MATCH),
            },
            path,
            query,
            body,
            base_url,
        })
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<KeyInfo, Reply> {
        let unauthorized = |detail: &str| {
            error_reply(&ScimError::status(401, detail))
                .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"provisio\"")
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "missing Authorization header; send `Authorization: Bearer <API key>`",
            ));
        };
        let text = value.to_str().unwrap_or("");
        let token = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <API key>`",
            ));
        };
        match self.store.authenticate(token) {
            Ok(Some(info)) => Ok(info),
            Ok(None) => Err(unauthorized(
                "the API key is not valid (unknown or revoked); create one with `provisio key create`",
            )),
            Err(err) => {
                tracing::error!(%err, "key lookup failed");
                Err(error_reply(&ScimError::status(
                    500,
                    "could not check the API key; try again",
                )))
            }
        }
    }

    async fn read_json(&self, headers: &HeaderMap, body: Incoming) -> Result<Value, Reply> {
        let limit = self.config.max_body_bytes;
        let too_large = || {
            error_reply(&ScimError {
                status: 413,
                scim_type: Some(ScimType::TooMany),
                detail: format!("the request body is larger than the {limit} bytes allowed"),
            })
        };
        if let Some(content_type) = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            let media = content_type.split(';').next().unwrap_or("").trim();
            if !media.is_empty() && !media.to_ascii_lowercase().contains("json") {
                return Err(error_reply(&ScimError::status(
                    415,
                    format!(
                        "the body must be application/scim+json or application/json, not {media}"
                    ),
                )));
            }
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => {
                if err
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return Err(too_large());
                }
                return Err(error_reply(&ScimError::new(
                    ScimType::InvalidSyntax,
                    "the request body could not be read",
                )));
            }
        };
        crate::scim::resource::parse_json(&bytes).map_err(|e| error_reply(&e))
    }
}

/// The token of an `Authorization: Bearer` header, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let text = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The answer to a request whose handler panicked (a bug; nothing was written).
fn panicked() -> Reply {
    tracing::error!("handler panicked");
    error_reply(&ScimError::status(
        500,
        "internal error while handling the request; nothing was changed",
    ))
}

/// The Error response for a SCIM error.
pub fn error_reply(err: &ScimError) -> Reply {
    Reply::json(err.status, err.to_json())
}

fn render(reply: Reply) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let has_body = reply.body.is_some();
    let mut response = Response::new(Full::new(match reply.body {
        Some(ReplyBody::Value(body)) => Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        Some(ReplyBody::Text(text)) => Bytes::from(text),
        None => Bytes::new(),
    }));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_MEDIA_TYPE),
        );
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    response
}
