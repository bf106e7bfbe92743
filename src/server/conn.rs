//! The connection loop: accept on a TCP listener up to a connection cap, serve HTTP/1.1
//! through the lenient request-line layer with header- and body-read timeouts, and shut
//! down gracefully (in-flight requests finish) when told to.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::scim::error::ScimError;
use crate::server::App;
use crate::server::lenient::{self, LenientRequestLine};

/// How long a client may take to send a request's headers, by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body, by default.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most connections served at once, by default.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long in-flight requests get to finish after shutdown is requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish (up to [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(app.config.header_read_timeout)
        .max_headers(lenient::MAX_HEADERS)
        .keep_alive(true);
    let connections = Arc::new(Semaphore::new(
        app.config.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let busy = busy_response(app.config.max_connections);
    let body_timeout = app.config.body_read_timeout;
    // Warn once per run of refusals, not once per refused connection.
    let mut at_cap = false;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                    if !at_cap {
                        tracing::warn!(
                            max = app.config.max_connections,
                            "at the connection cap: refusing new connections with 503"
                        );
                        at_cap = true;
                    }
                    refuse(&stream, &busy);
                    continue;
                };
                at_cap = false;
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let service = service_fn(move |req: Request<Incoming>| {
                    let app = Arc::clone(&app);
                    async move { Ok::<Response<crate::cluster::forward::Body>, Infallible>(app.respond(req).await) }
                });
                let io = TokioIo::new(LenientRequestLine::new(stream, body_timeout));
                let conn = http.serve_connection(io, service);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = watched.await {
                        tracing::debug!(%err, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
}

/// The whole answer to a connection beyond the cap: 503 with a SCIM Error, then close.
fn busy_response(max_connections: usize) -> Vec<u8> {
    let error = ScimError::status(
        503,
        format!(
            "the server is serving its maximum of {max_connections} connections; retry shortly"
        ),
    );
    let body = error.to_json().to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        crate::server::SCIM_MEDIA_TYPE,
        body.len()
    )
    .into_bytes()
}

/// Answers a connection beyond the cap without waiting: the 503 goes into the fresh
/// socket's send buffer (or is lost, if even that would block), and the socket closes.
fn refuse(stream: &TcpStream, busy: &[u8]) {
    let _ = stream.try_write(busy);
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
