//! The admin listener: HTTP/1.1 on its own port, the API under `/admin/v1`, the page
//! everywhere else.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::api::{self, ApiReply, ApiRequest};
use super::page::{self, Page};
use super::service::Admin;
use crate::store::OperatorRecord;

/// The largest admin request body (an import file, an overlay).
pub const MAX_ADMIN_BODY: usize = 4 * 1024 * 1024;

/// The API's base path.
pub const API_BASE: &str = "/admin/v1";

/// Serves the admin surface on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    admin: Arc<Admin>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let page = Arc::new(Page::new());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let admin = Arc::clone(&admin);
                let page = Arc::clone(&page);
                let service = service_fn(move |req: Request<Incoming>| {
                    let admin = Arc::clone(&admin);
                    let page = Arc::clone(&page);
                    async move { Ok::<_, Infallible>(handle(admin, page, req).await) }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = watched.await {
                        tracing::debug!(%err, "admin connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}

async fn handle(
    admin: Arc<Admin>,
    page: Arc<Page>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == API_BASE || path.starts_with(&format!("{API_BASE}/")) {
        let reply = api_call(admin, req).await;
        return json_response(&reply);
    }
    page::handle(admin, page, req).await
}

async fn api_call(admin: Arc<Admin>, req: Request<Incoming>) -> ApiReply {
    let (parts, body) = req.into_parts();
    let operator = match authenticate(&admin, &parts.headers) {
        Ok(operator) => operator,
        Err(reply) => return reply,
    };
    let bytes = match Limited::new(body, MAX_ADMIN_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return ApiReply::error(
                413,
                "too_large",
                format!("the request body is larger than the {MAX_ADMIN_BODY} bytes allowed"),
            );
        }
    };
    let rest = parts.uri.path()[API_BASE.len()..]
        .trim_matches('/')
        .to_owned();
    let segments: Vec<String> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
    };
    let query = crate::scim::list::query_pairs(parts.uri.query().unwrap_or(""));
    let method = parts.method.as_str().to_owned();
    let joined = tokio::task::spawn_blocking(move || {
        let request = ApiRequest {
            method: &method,
            segments,
            query,
            body: &bytes,
        };
        api::handle(&admin, &operator, &request)
    })
    .await;
    joined.unwrap_or_else(|err| {
        tracing::error!(%err, "admin handler panicked");
        ApiReply::error(500, "internal", "internal error; nothing was changed")
    })
}

fn authenticate(admin: &Admin, headers: &hyper::HeaderMap) -> Result<OperatorRecord, ApiReply> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(ApiReply::error(
            401,
            "unauthorized",
            "send `Authorization: Bearer <operator token>` (create one with `provisio operator create`)",
        ));
    };
    match admin.store.authenticate_operator(token) {
        Ok(Some(operator)) => Ok(operator),
        Ok(None) => Err(ApiReply::error(
            401,
            "unauthorized",
            "the operator token is not valid (unknown or revoked)",
        )),
        Err(err) => {
            tracing::error!(%err, "operator lookup failed");
            Err(ApiReply::error(
                500,
                "storage",
                "could not check the operator token; try again",
            ))
        }
    }
}

fn json_response(reply: &ApiReply) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec_pretty(&reply.body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if reply.status == 401 {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"provisio-admin\""),
        );
    }
    response
}
