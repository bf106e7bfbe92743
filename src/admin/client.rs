//! The CLI's way to a running server: while `provisio serve` holds the database, it keeps
//! its admin URL and a token beside it (`DB.admin`, readable by its owner only), and the
//! commands that would open the database call the admin API instead.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The credential file of the server holding `db`.
pub fn credential_path(db: &Path) -> PathBuf {
    let mut name = db
        .file_name()
        .map(std::ffi::OsString::from)
        .unwrap_or_default();
    name.push(".admin");
    db.with_file_name(name)
}

/// Why the CLI could not reach the server holding the database.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The credential file is unreadable or malformed.
    #[error("cannot read {}: {detail}", path.display())]
    Credential {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The server did not answer (it may have stopped without removing its file).
    #[error("the server that holds the database does not answer at {url} ({detail}); if it is not running, delete {}", path.display())]
    Unreachable {
        /// The admin URL tried.
        url: String,
        /// The credential file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// A client of a running server's admin API, found from its database path.
#[derive(Debug, Clone)]
pub struct AdminClient {
    /// `host:port` of the admin listener.
    authority: String,
    token: String,
    path: PathBuf,
}

/// An admin API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body (null when empty).
    pub body: Value,
}

impl ClientReply {
    /// The `detail` of an error answer.
    pub fn detail(&self) -> String {
        self.body.get("detail").and_then(Value::as_str).map_or_else(
            || format!("the server answered {}", self.status),
            str::to_owned,
        )
    }
}

impl AdminClient {
    /// The client of the server holding `db`, when a server left its credential beside it.
    pub fn discover(db: &Path) -> Result<Option<AdminClient>, ClientError> {
        let path = credential_path(db);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(ClientError::Credential {
                    path,
                    detail: err.to_string(),
                });
            }
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| ClientError::Credential {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let url = value.get("url").and_then(Value::as_str).unwrap_or_default();
        let token = value
            .get("token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(authority) = url.strip_prefix("http://").filter(|a| !a.is_empty()) else {
            return Err(ClientError::Credential {
                path,
                detail: "no admin URL in it".into(),
            });
        };
        Ok(Some(AdminClient {
            authority: authority.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            path,
        }))
    }

    /// Calls `METHOD /admin/v1{path}` with an optional body; blocks until the answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<ClientReply, ClientError> {
        let unreachable = |detail: String| ClientError::Unreachable {
            url: format!("http://{}", self.authority),
            path: self.path.clone(),
            detail,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        runtime.block_on(async {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
            tokio::spawn(connection);
            let request = hyper::Request::builder()
                .method(method)
                .uri(format!("{}{path}", super::http::API_BASE))
                .header(hyper::header::HOST, &self.authority)
                .header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                )
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| unreachable(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            Ok(ClientReply { status, body })
        })
    }
}
