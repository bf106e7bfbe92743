//! A real server on `127.0.0.1:0` over a redb file in a temp dir, and a tiny blocking
//! HTTP/1.1 client (one connection per request, `Connection: close`, read to EOF).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use provisio::domain::{Entity, PendingRef, ResourceId};
use provisio::scim::schema::ResourceKind;
use provisio::server::{App, ServerConfig, serve};
use provisio::store::{ImportSummary, Store};
use serde_json::{Value, json};

/// The shipped Clarizen profile.
pub const CLARIZEN_RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/clarizen");
/// The SCIM base path.
pub const BASE: &str = "/scim/v2";
/// The schema URNs the tests send, the server's own.
pub use provisio::scim::schema::{
    ENTERPRISE_USER_SCHEMA as ENTERPRISE, GROUP_SCHEMA, PATCH_OP_SCHEMA as PATCH_OP, USER_SCHEMA,
};
/// The sync group of the Clarizen profile.
pub const SYNC_GROUP: &str = "Clarizen Users";

/// A running server, stopped (and its runtime joined) on drop.
pub struct Server {
    /// The store the server writes to (shared with it).
    pub store: Store,
    /// The redb file.
    pub db_path: PathBuf,
    addr: SocketAddr,
    admin_addr: SocketAddr,
    /// The token of an all-tenants operator, for the admin API.
    pub admin_token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    /// The server's loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin listener's loopback address (the API and the page).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// A server with the shipped Clarizen rules over a fresh database.
    pub fn start() -> Server {
        Server::start_with_rules(Path::new(CLARIZEN_RULES))
    }

    /// A server with the rules in `rules` over a fresh database.
    pub fn start_with_rules(rules: &Path) -> Server {
        Server::start_configured(rules, |_| {})
    }

    /// A server whose settings `configure` adjusts.
    pub fn start_configured(rules: &Path, configure: fn(&mut ServerConfig)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("provisio.redb");
        let mut server = Server::start_at(rules, &db_path, configure);
        server.dir = Some(dir);
        server
    }

    /// A server with the shipped Clarizen rules over the database at `db_path` (made by
    /// the offline CLI, or kept from an earlier server); the caller keeps its folder.
    pub fn start_on(db_path: &Path) -> Server {
        Server::start_at(Path::new(CLARIZEN_RULES), db_path, |_| {})
    }

    fn start_at(rules: &Path, db_path: &Path, configure: fn(&mut ServerConfig)) -> Server {
        let rules = provisio::pipeline::Profiles::check(
            provisio::check::ProfileSources::load(rules, None).unwrap(),
        )
        .unwrap();
        let store = Store::open(db_path).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let admin_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let admin_addr = admin_listener.local_addr().unwrap();
        admin_listener.set_nonblocking(true).unwrap();
        let (_, admin_token) = store
            .create_operator("test admin", provisio::store::OperatorScope::All)
            .unwrap();
        let mut config = ServerConfig::new(addr.to_string());
        configure(&mut config);
        let profiles = Arc::new(rules);
        let admin = Arc::new(provisio::admin::Admin {
            store: store.clone(),
            profiles: Arc::clone(&profiles),
        });
        let app = Arc::new(App {
            store: store.clone(),
            profiles,
            config,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let admin_listener = tokio::net::TcpListener::from_std(admin_listener).unwrap();
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let mut admin_stopped = stopped.clone();
                let admin_task = tokio::spawn(provisio::admin::http::serve_admin(
                    admin_listener,
                    admin,
                    async move {
                        let _ = admin_stopped.wait_for(|s| *s).await;
                    },
                ));
                serve(listener, app, async move {
                    let _ = rx.await;
                    let _ = stop.send(true);
                })
                .await;
                let _ = admin_task.await;
            });
        });
        Server {
            store,
            db_path: db_path.to_owned(),
            addr,
            admin_addr,
            admin_token,
            shutdown: Some(tx),
            thread: Some(thread),
            dir: None,
        }
    }

    /// Creates a tenant and a key for it; returns a client using that key.
    pub fn tenant(&self, name: &str) -> Client {
        self.store.create_tenant(name).unwrap();
        let (_key_id, key) = self
            .store
            .create_key(&name.into(), "okta-integration")
            .unwrap();
        self.client(Some(key))
    }

    /// A server with the shipped Clarizen rules and one tenant `name`; returns it with a
    /// client using a key of that tenant.
    pub fn with_tenant(name: &str) -> (Server, Client) {
        let server = Server::start();
        let client = server.tenant(name);
        (server, client)
    }

    /// A client sending `token` as its Bearer key (none when `None`).
    pub fn client(&self, token: Option<String>) -> Client {
        Client {
            addr: self.addr,
            base: BASE,
            token,
        }
    }

    /// A client of the admin API (`/admin/v1`) as the all-tenants test operator.
    pub fn admin(&self) -> Client {
        self.admin_as(Some(&self.admin_token))
    }

    /// A client of the admin API sending `token` (none when `None`).
    pub fn admin_as(&self, token: Option<&str>) -> Client {
        Client {
            addr: self.admin_addr,
            base: "/admin/v1",
            token: token.map(str::to_owned),
        }
    }

    /// Stops the server and waits for it; the store stays usable through `self.store`.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Server {
    /// Imports the entities of the import file `file` into `tenant`.
    pub fn import(&self, tenant: &str, file: &str) -> ImportSummary {
        let records = provisio::import::parse_import(file).unwrap();
        self.store
            .import_entities(&tenant.into(), &records)
            .unwrap()
    }

    /// The entity `id` of `tenant` (panics when there is none).
    pub fn entity(&self, tenant: &str, id: &str) -> Entity {
        let read = self.store.read(&tenant.into()).unwrap();
        read.get_entity(&id.into()).unwrap().unwrap()
    }

    /// Every entity of type `entity_type` of `tenant`.
    pub fn entities(&self, tenant: &str, entity_type: &str) -> Vec<Entity> {
        let read = self.store.read(&tenant.into()).unwrap();
        read.entities_of_type(&entity_type.into()).unwrap()
    }

    /// The members of group `group` of `tenant`, as the store has them.
    pub fn members_of(&self, tenant: &str, group: &str) -> Vec<ResourceId> {
        let read = self.store.read(&tenant.into()).unwrap();
        read.members_of(&group.into()).unwrap()
    }

    /// The references of user `user` of `tenant` that wait for their target.
    pub fn pending_of(&self, tenant: &str, user: &str) -> Vec<PendingRef> {
        let read = self.store.read(&tenant.into()).unwrap();
        read.pending_of(&user.into()).unwrap()
    }

    /// Stops the server and closes the database; returns the temp dir (keep it alive)
    /// and the database path, for the offline CLI.
    pub fn finish(mut self) -> (tempfile::TempDir, PathBuf) {
        self.stop();
        let dir = self.dir.take().unwrap();
        let path = self.db_path.clone();
        drop(self);
        (dir, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A blocking client for one server and key.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    base: &'static str,
    token: Option<String>,
}

/// A response as received.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (panics with the body text if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body when it differs; returns `self`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Response {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts a SCIM Error with this status (as a string) and `scimType`; returns the body.
    #[track_caller]
    pub fn expect_error(self, status: u16, scim_type: Option<&str>) -> Value {
        let body = self.expect(status).json();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{body}"
        );
        assert_eq!(body["status"], json!(status.to_string()), "{body}");
        assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        body
    }
}

impl Client {
    /// The same server with another key.
    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            addr: self.addr,
            base: self.base,
            token: token.map(str::to_owned),
        }
    }

    /// `GET BASE+path`.
    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    /// `GET BASE+path`, asserted 200; returns the body as JSON.
    #[track_caller]
    pub fn get_json(&self, path: &str) -> Value {
        self.get(path).expect(200).json()
    }

    /// `POST BASE+path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.send("POST", path, &[], Some(body.to_string().as_bytes()))
    }

    /// `POST BASE+path` with a JSON body, asserted `status`; returns the answer as JSON.
    #[track_caller]
    pub fn post_json(&self, path: &str, body: &Value, status: u16) -> Value {
        self.post(path, body).expect(status).json()
    }

    /// `PUT BASE+path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.send("PUT", path, &[], Some(body.to_string().as_bytes()))
    }

    /// `PATCH BASE+path` with a JSON body.
    pub fn patch(&self, path: &str, body: &Value) -> Response {
        self.send("PATCH", path, &[], Some(body.to_string().as_bytes()))
    }

    /// `PATCH BASE+path` with a `PatchOp` of these operations, asserted 200; returns the
    /// resource as JSON.
    #[track_caller]
    pub fn patched(&self, path: &str, operations: Value) -> Value {
        self.patch_ops(path, operations).expect(200).json()
    }

    /// `PATCH BASE+path` with a `PatchOp` of these operations.
    pub fn patch_ops(&self, path: &str, operations: Value) -> Response {
        self.patch(
            path,
            &json!({"schemas": [PATCH_OP], "Operations": operations}),
        )
    }

    /// `DELETE BASE+path`.
    pub fn delete(&self, path: &str) -> Response {
        self.send("DELETE", path, &[], None)
    }

    /// `METHOD BASE+path` with `body` sent as it is (it need not be JSON).
    pub fn send_text(&self, method: &str, path: &str, body: &str) -> Response {
        self.send(method, path, &[], Some(body.as_bytes()))
    }

    /// Sends one request for `base+path` on a new connection and reads the response to EOF.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let mut stream = connect(self.addr);
        let bearer = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let mut all: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("Authorization", b.as_str()))
            .collect();
        all.extend_from_slice(headers);
        let head = request_head(
            &format!("{method} {}{path}", self.base),
            self.addr,
            "application/scim+json",
            &all,
            body.map(|body| ("application/scim+json", body.len())),
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body.unwrap_or_default());
        // A server refusing a body early may close before reading it all; the answer
        // it sent first is what counts.
        let _ = stream.write_all(&request);
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(err) if !raw.is_empty() => {
                    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
                    break;
                }
                Err(err) => panic!("{method} {path}: reading the response failed: {err}"),
            }
        }
        parse_response(&raw)
    }
}

/// The head of an HTTP/1.1 request that closes its connection: `request_line` (method and
/// target), `Host`, `Accept`, the `headers` in order, then `Content-Type` and
/// `Content-Length` for a body of that type and length.
pub fn request_head(
    request_line: &str,
    addr: SocketAddr,
    accept: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, usize)>,
) -> String {
    let mut head = format!(
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: {accept}\r\n"
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if let Some((content_type, length)) = body {
        let _ = write!(
            head,
            "Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
        );
    }
    head.push_str("\r\n");
    head
}

/// A new connection to `addr`, whose reads give up after 30 seconds.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    let timeout = Duration::from_secs(30);
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream
}

fn parse_response(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    } else if let Some(length) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse::<usize>().unwrap())
    {
        assert_eq!(body.len(), length, "truncated body");
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

// ---- request bodies ----

/// Okta's create body for `user_name` (with `password`, `groups: []` and `externalId`).
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": format!("ext-{user_name}"),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// A group body with these member ids.
pub fn group_body(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members})
}

/// The elements of the JSON array `array` (panics when it is not an array).
pub fn items(array: &Value) -> std::slice::Iter<'_, Value> {
    array.as_array().unwrap().iter()
}

/// The string `key` of each element of the JSON array `array`, in order.
pub fn strings<'a>(array: &'a Value, key: &str) -> Vec<&'a str> {
    items(array)
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

/// The percent-encoding of a filter for a query string.
pub fn encode(filter: &str) -> String {
    percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Client {
    /// `POST BASE+path` with `body`, asserted 201; returns the created resource's id.
    #[track_caller]
    pub fn create(&self, path: &str, body: &Value) -> String {
        let created = self.post(path, body).expect(201).json();
        created["id"].as_str().unwrap().to_owned()
    }

    /// Creates a user with Okta's body; returns its id.
    #[track_caller]
    pub fn create_user(&self, user_name: &str) -> String {
        self.create("/Users", &okta_user(user_name))
    }

    /// Posts Okta's create body for `user_name`; asserts this SCIM error and returns it.
    #[track_caller]
    pub fn refused_user(&self, user_name: &str, status: u16, scim_type: Option<&str>) -> Value {
        let response = self.post("/Users", &okta_user(user_name));
        response.expect_error(status, scim_type)
    }

    /// Creates a group with these members; returns its id.
    #[track_caller]
    pub fn create_group(&self, name: &str, members: &[&str]) -> String {
        self.create("/Groups", &group_body(name, members))
    }

    /// `GET path?filter=…` (the filter percent-encoded), asserted 200; returns the list.
    #[track_caller]
    pub fn filtered(&self, path: &str, filter: &str) -> Value {
        let query = encode(filter);
        self.get_json(&format!("{path}?filter={query}"))
    }

    /// The `totalResults` of a filtered user list.
    #[track_caller]
    pub fn user_count(&self, filter: &str) -> u64 {
        self.filtered("/Users", filter)["totalResults"]
            .as_u64()
            .unwrap()
    }
}

// ---- application side ----

/// Everything a write could change in a tenant, as one comparable value: resources,
/// entities, memberships, outbox, history and pending references.
pub fn tenant_state(store: &Store, tenant: &str) -> Value {
    let read = store.read(&tenant.into()).unwrap();
    let mut resources = Vec::new();
    let mut memberships = Vec::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        for resource in read.resources(kind).unwrap() {
            if kind == ResourceKind::Group {
                memberships.push(json!([
                    resource.entity.id,
                    read.members_of(&resource.entity.id).unwrap()
                ]));
            }
            resources.push(serde_json::to_value(&resource).unwrap());
        }
    }
    let mut entities = Vec::new();
    let mut pending = Vec::new();
    for entity_type in ["User", "Group", "JobTitle"] {
        for entity in read.entities_of_type(&entity_type.into()).unwrap() {
            if entity_type == "User" {
                pending.push(serde_json::to_value(read.pending_of(&entity.id).unwrap()).unwrap());
            }
            entities.push(serde_json::to_value(&entity).unwrap());
        }
    }
    let outbox: Vec<Value> = read.outbox().unwrap().into_iter().map(|(_, v)| v).collect();
    let history = serde_json::to_value(store.history(&tenant.into(), None).unwrap()).unwrap();
    json!({
        "resources": resources,
        "memberships": memberships,
        "entities": entities,
        "pending": pending,
        "outbox": outbox,
        "history": history,
    })
}

/// The lifecycle of an entity (`Active`, `Suspended`, `Deleted`).
pub fn lifecycle(store: &Store, tenant: &str, id: &str) -> String {
    let entity = store
        .read(&tenant.into())
        .unwrap()
        .get_entity(&id.into())
        .unwrap()
        .unwrap();
    entity.lifecycle.as_str().to_owned()
}
