//! Load generator: drives a real provisio server over loopback and reports throughput and
//! latency as ratios against limits measured in the same run.
//!
//! `cargo run --release --example loadgen -- [CREATES] [READS] [CONNECTIONS]`
//!
//! It starts, in this process, (a) provisio on `127.0.0.1:0` with a fresh redb file and the
//! shipped Clarizen rules, and (b) a bare hyper server that answers every request with a
//! fixed JSON body: the ceiling for HTTP on this machine. It also measures (c) raw durable
//! redb commits per second on the same disk: the ceiling for durable writes. Then it runs,
//! over keep-alive connections: Okta creates (POST /Users), GET by id, the Okta lookup
//! (`filter=userName eq "x"`), and GETs against the bare server. Request counts are bounded.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Response, server::conn::http1};
use hyper_util::rt::TokioIo;
use provisio::check::ProfileSources;
use provisio::pipeline::Profiles;
use provisio::server::{App, ServerConfig, serve};
use provisio::store::Store;
use serde_json::{Value, json};

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to loopback");
        stream.set_nodelay(true).ok();
        Conn {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
            writer: stream,
        }
    }

    /// Sends one request and reads the response; returns (status, body).
    fn call(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: loadgen\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer
            .write_all(request.as_bytes())
            .expect("write request");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0; length];
        self.reader.read_exact(&mut buf).expect("body");
        (status, String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Method, path and body of request `i`.
type MakeRequest = dyn Fn(usize) -> (&'static str, String, Option<String>) + Send + Sync;

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `total` requests over `connections` keep-alive connections; `make(i)` gives the
/// method, path and body of request `i`; `expect` is the status every answer must have.
fn run(
    addr: SocketAddr,
    token: &str,
    total: usize,
    connections: usize,
    expect: u16,
    make: Arc<MakeRequest>,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|_| {
            let next = Arc::clone(&next);
            let make = Arc::clone(&make);
            let token = token.to_string();
            thread::spawn(move || {
                let mut conn = Conn::open(addr);
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (method, path, body) = make(i);
                    let t = Instant::now();
                    let (status, text) = conn.call(method, &path, &token, body.as_deref());
                    latencies.push(t.elapsed());
                    assert_eq!(status, expect, "{method} {path}: {text}");
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    let elapsed = start.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    Run {
        per_second: total as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn user_body(i: usize) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("load.user{i}@okta.local"),
        "name": {"givenName": "Load", "familyName": format!("User{i}")},
        "emails": [{"primary": true, "value": format!("load.user{i}@okta.local"), "type": "work"}],
        "displayName": format!("Load User {i}"), "externalId": format!("00u{i}"),
        "title": if i.is_multiple_of(2) { "Engineer" } else { "Manager" },
        "groups": [], "password": "x", "active": true
    })
    .to_string()
}

/// Durable single-row redb commits per second on this disk.
fn durable_commit_rate(dir: &Path, commits: usize) -> f64 {
    const TABLE: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("t");
    let db = redb::Database::create(dir.join("raw.redb")).expect("raw redb");
    let start = Instant::now();
    for i in 0..commits as u64 {
        let txn = db.begin_write().expect("begin");
        {
            let mut table = txn.open_table(TABLE).expect("table");
            table.insert(i, i).expect("insert");
        }
        txn.commit().expect("commit");
    }
    commits as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let creates = args.first().copied().unwrap_or(2_000);
    let reads = args.get(1).copied().unwrap_or(20_000);
    let connections = args.get(2).copied().unwrap_or(8);
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = ProfileSources::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen"),
        None,
    )
    .expect("shipped rules load");
    let rules = Profiles::check(sources).expect("shipped rules check");
    let store = Store::open(dir.path().join("provisio.redb")).expect("store");
    store.create_tenant("load").expect("tenant");
    let (_, token) = store.create_key(&"load".into(), "loadgen").expect("key");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (addr, null_addr) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Arc::new(App {
            store,
            profiles: Arc::new(rules),
            config: ServerConfig::new(addr.to_string()),
        });
        tokio::spawn(serve(listener, app, std::future::pending()));
        let null = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let null_addr = null.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((stream, _)) = null.accept().await {
                tokio::spawn(async move {
                    let service = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#,
                        ))))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, null_addr)
    });

    let commit_rate = durable_commit_rate(dir.path(), 300);
    println!("raw durable redb commits: {commit_rate:.0}/s (the durable-write ceiling)");

    let created = run(
        addr,
        &token,
        creates,
        connections,
        201,
        Arc::new(|i| ("POST", "/scim/v2/Users".to_string(), Some(user_body(i)))),
    );
    println!(
        "POST /Users (Okta create, rules + hook + durable commit + log): {:.0}/s, p50 {:?}, p99 {:?}; {:.2}x the raw durable commit rate",
        created.per_second,
        created.p50,
        created.p99,
        created.per_second / commit_rate
    );

    // Ids of the users created, for GET by id.
    let mut conn = Conn::open(addr);
    let (_, page) = conn.call("GET", "/scim/v2/Users?count=1000", &token, None);
    let ids: Vec<String> = serde_json::from_str::<Value>(&page)
        .ok()
        .and_then(|v| v.get("Resources").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let ids = Arc::new(ids);
    let null = run(
        null_addr,
        &token,
        reads,
        connections,
        200,
        Arc::new(|_| ("GET", "/".to_string(), None)),
    );
    let by_id = {
        let ids = Arc::clone(&ids);
        run(
            addr,
            &token,
            reads,
            connections,
            200,
            Arc::new(move |i| {
                (
                    "GET",
                    format!("/scim/v2/Users/{}", ids[i % ids.len()]),
                    None,
                )
            }),
        )
    };
    let lookup = run(
        addr,
        &token,
        reads,
        connections,
        200,
        Arc::new(move |i| {
            let n = i % creates;
            (
                "GET",
                format!(
                    "/scim/v2/Users?filter=userName%20eq%20%22LOAD.user{n}%40okta.local%22&startIndex=1&count=100"
                ),
                None,
            )
        }),
    );
    println!(
        "bare hyper server (fixed body): {:.0}/s, p50 {:?}, p99 {:?} (the HTTP ceiling)",
        null.per_second, null.p50, null.p99
    );
    println!(
        "GET /Users/{{id}}: {:.0}/s, p50 {:?}, p99 {:?}; {:.2}x the bare server",
        by_id.per_second,
        by_id.p50,
        by_id.p99,
        by_id.per_second / null.per_second
    );
    println!(
        "GET /Users?filter=userName eq (Okta lookup, other case): {:.0}/s, p50 {:?}, p99 {:?}; {:.2}x the bare server",
        lookup.per_second,
        lookup.p50,
        lookup.p99,
        lookup.per_second / null.per_second
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
}
