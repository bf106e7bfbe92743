//! Forwarding a request for a tenant another node owns: the request goes to the owner's
//! advertised origin as it came (method, path, query, headers, `Host` included, body
//! streamed), and the owner's response comes back unchanged, its body streamed. The owner
//! authenticates the key itself, so a revoked key is refused there whatever this node's
//! cache says. An owner that does not answer makes a 503 SCIM Error naming it.

use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{Cluster, TenantEntry};
use crate::scim::error::ScimError;

/// The header a forwarded request carries (the forwarding node's name): its receiver
/// serves it itself and never forwards it again.
pub const FORWARDED: HeaderName = HeaderName::from_static("x-provisio-forwarded-by");

/// How long the owner may take to answer a forwarded request's head.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// A response body: one of ours, or the owner's streamed through.
pub type Body = Either<Full<Bytes>, Incoming>;

/// The HTTP client to other nodes (kept-alive connections, pooled).
pub type HttpClient = Client<HttpConnector, Incoming>;

/// A new client.
#[must_use]
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Whether a node's SCIM listener answers at `url` (any HTTP response counts).
pub async fn probe(url: &str) -> bool {
    let Ok(uri) = format!("{url}/scim/v2/ServiceProviderConfig").parse::<hyper::Uri>() else {
        return false;
    };
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let Ok(request) = Request::get(uri).body(Full::new(Bytes::new())) else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), client.request(request)).await,
        Ok(Ok(_))
    )
}

impl Cluster {
    /// Sends `request` to the owner of `tenant` and returns its response, or a 503 SCIM
    /// Error when the owner does not answer.
    pub async fn forward(
        &self,
        tenant: &str,
        owner: &TenantEntry,
        request: Request<Incoming>,
    ) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str);
        let Ok(uri) = format!("{}{path}", owner.url).parse::<hyper::Uri>() else {
            return refusal(&ScimError::status(
                503,
                format!(
                    "tenant `{tenant}` is served by node `{}`, whose address `{}` is not a URL",
                    owner.node, owner.url
                ),
            ));
        };
        parts.uri = uri;
        if let Ok(value) = HeaderValue::from_str(&self.node) {
            parts.headers.insert(FORWARDED, value);
        }
        let request = Request::from_parts(parts, body);
        match tokio::time::timeout(FORWARD_TIMEOUT, self.http.request(request)).await {
            Ok(Ok(response)) => response.map(Either::Right),
            Ok(Err(err)) => {
                tracing::warn!(%tenant, node = %owner.node, %err, "owner did not answer");
                refusal(&ScimError::status(
                    503,
                    format!(
                        "tenant `{tenant}` is served by node `{}`, which is not answering; its tenants are unavailable until it is back (nothing was changed by this request here)",
                        owner.node
                    ),
                ))
            }
            Err(_) => refusal(&ScimError::status(
                503,
                format!(
                    "tenant `{tenant}` is served by node `{}`, which did not answer within {}s",
                    owner.node,
                    FORWARD_TIMEOUT.as_secs()
                ),
            )),
        }
    }
}

/// A SCIM Error response of ours.
pub fn refusal(error: &ScimError) -> Response<Body> {
    let bytes = serde_json::to_vec(&error.to_json()).unwrap_or_default();
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(bytes))));
    *response.status_mut() =
        StatusCode::from_u16(error.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(crate::server::SCIM_MEDIA_TYPE),
    );
    response
}
