//! Load generator: drives the real `provisio serve` (the release binary beside this
//! example, a separate process on loopback) and prints every figure of the performance
//! targets as a ratio to a limit measured in the same run:
//!
//! - the raw durable single-commit rate: one fsync'd redb write transaction per SCIM-sized
//!   record (~1 KiB) plus its userName index entry, on the same disk;
//! - a bare hyper server answering a fixed body: the HTTP ceiling of this machine;
//! - creates and `PATCH`es at 16 and 64 connections against the first; GET by id and Okta's
//!   `userName` lookup at 16 connections against the second; p99 of each;
//! - a tenant of `--users` users (seeded through SCIM, concurrently), then the same at
//!   `--big` users: each rate as a ratio to its rate at the smaller size; RSS; start-up time;
//! - adding and removing one member of a group of `--group` members against a group of 10;
//!   a GET of the big group with `excludedAttributes=members`;
//! - bytes per provisioned user.
//!
//! `cargo build --release && cargo run --release --example loadgen -- [--users N] [--big N]
//! [--group N] [--requests N] [--cache-mib N]` (the last is passed to the server). Request counts are bounded; client and server share the
//! machine's cores.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over request counts and durations, far below 2^52"
)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Response, server::conn::http1};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

struct Settings {
    users: usize,
    big: usize,
    group: usize,
    requests: usize,
    /// `--cache-mib` for the server, when not its default.
    cache_mib: Option<usize>,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Settings {
        users: value("--users", 10_000),
        big: value("--big", 100_000),
        group: value("--group", 100_000),
        requests: value("--requests", 20_000),
        cache_mib: Some(value("--cache-mib", 0)).filter(|&mib| mib > 0),
    }
}

/// One keep-alive HTTP/1.1 connection.
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

#[derive(Clone, Copy)]
struct Rate {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.per_second,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
}

/// Runs `total` requests over `connections` keep-alive connections; every answer must have
/// status `expect`.
#[allow(
    clippy::needless_pass_by_value,
    reason = "the caller hands the request maker over; every connection thread clones it"
)]
fn run(
    addr: SocketAddr,
    token: &str,
    total: usize,
    connections: usize,
    expect: &'static [u16],
    make: Arc<MakeRequest>,
) -> Rate {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|_| {
            let (next, make, token) = (Arc::clone(&next), Arc::clone(&make), token.to_string());
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
                    assert!(expect.contains(&status), "{method} {path}: {status} {text}");
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
    Rate {
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

/// Durable commits per second of one redb write transaction holding a ~1 KiB record and
/// its userName index entry: the durable-write limit of this disk.
fn durable_commit_rate(dir: &Path, commits: usize) -> f64 {
    const ROWS: redb::TableDefinition<(&str, &str), &[u8]> = redb::TableDefinition::new("rows");
    const NAMES: redb::TableDefinition<&str, (&str, &str)> = redb::TableDefinition::new("names");
    let db = redb::Database::create(dir.join("raw.redb")).expect("raw redb");
    let record = user_body(0).repeat(4);
    let record = &record.as_bytes()[..1024];
    let start = Instant::now();
    for i in 0..commits {
        let id = format!("{i:036}");
        let name = format!("user{i}@raw.local");
        let txn = db.begin_write().expect("begin");
        {
            txn.open_table(ROWS)
                .expect("rows")
                .insert(("t", id.as_str()), record)
                .expect("row");
            txn.open_table(NAMES)
                .expect("names")
                .insert(name.as_str(), ("t", id.as_str()))
                .expect("name");
        }
        txn.commit().expect("commit");
    }
    commits as f64 / start.elapsed().as_secs_f64()
}

/// A bare hyper server answering every request with a fixed `ListResponse`: the HTTP limit.
fn bare_server(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#,
                        ))))
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        addr
    })
}

/// The `provisio` binary built beside this example (`target/release/provisio`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("provisio");
    assert!(
        bin.exists(),
        "build the server first: cargo build --release ({} is missing)",
        bin.display()
    );
    bin
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `provisio serve` on `db`; returns once it answers, with the time it took.
    fn start(db: &Path) -> (Server, Duration) {
        let started = Instant::now();
        let mut child = Command::new(binary())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(db)
            .args(
                settings()
                    .cache_mib
                    .map(|mib| ["--cache-mib".to_string(), mib.to_string()])
                    .into_iter()
                    .flatten(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("provisio serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.expect("output");
            if let Some(url) = line.strip_prefix("SCIM base URL: http://") {
                addr = url.trim_end_matches("/scim/v2").parse().ok();
                break;
            }
        }
        thread::spawn(move || for _ in lines {});
        let addr = addr.expect("the server prints its URL");
        loop {
            if let Ok(mut stream) = TcpStream::connect(addr) {
                let _ = stream.write_all(b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                if stream.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1 200")
                {
                    break;
                }
            }
            thread::sleep(Duration::from_millis(5));
        }
        (Server { child, addr }, started.elapsed())
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn key(db: &Path) -> String {
    let run = |args: &[&str]| {
        let out = Command::new(binary())
            .args(args)
            .arg("--db")
            .arg(db)
            .output()
            .expect("provisio runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    run(&["tenant", "create", "load"]);
    run(&["key", "create", "--tenant", "load", "--user", "loadgen"])
}

/// Creates users `from..to` through SCIM over 16 connections; their ids in order.
fn seed(addr: SocketAddr, token: &str, from: usize, to: usize) -> (Rate, Vec<String>) {
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); to - from]));
    let next = Arc::new(AtomicUsize::new(from));
    let start = Instant::now();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (ids, next, token) = (Arc::clone(&ids), Arc::clone(&next), token.to_string());
            thread::spawn(move || {
                let mut conn = Conn::open(addr);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    let (status, text) =
                        conn.call("POST", "/scim/v2/Users", &token, Some(&user_body(i)));
                    assert_eq!(status, 201, "{text}");
                    let id = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_string));
                    ids.lock().expect("ids")[i - from] = id.unwrap_or_default();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("seeder");
    }
    let per_second = (to - from) as f64 / start.elapsed().as_secs_f64();
    let ids = Arc::try_unwrap(ids)
        .map(|m| m.into_inner().unwrap_or_default())
        .unwrap_or_default();
    (
        Rate {
            per_second,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
        },
        ids,
    )
}

struct Workloads {
    get: Rate,
    lookup: Rate,
    patch16: Rate,
    patch64: Rate,
    create16: Rate,
    create64: Rate,
}

fn workloads(
    addr: SocketAddr,
    token: &str,
    ids: &Arc<Vec<String>>,
    users: usize,
    requests: usize,
    fresh_from: usize,
) -> Workloads {
    // The reads: `requests` GETs over 16 connections, of the path made from each number.
    let gets = |path: Box<dyn Fn(usize) -> String + Send + Sync>| {
        run(
            addr,
            token,
            requests,
            16,
            &[200],
            Arc::new(move |i| ("GET", path(i), None)),
        )
    };
    let by_id = {
        let ids = Arc::clone(ids);
        gets(Box::new(move |i| {
            format!("/scim/v2/Users/{}", ids[(i * 7919) % ids.len()])
        }))
    };
    let lookup = gets(Box::new(move |i| {
        let n = (i * 7919) % users;
        format!(
            "/scim/v2/Users?filter=userName%20eq%20%22LOAD.user{n}%40okta.local%22&startIndex=1&count=100"
        )
    }));
    let writes = requests / 4;
    let patch = |connections: usize, offset: usize| {
        let ids = Arc::clone(ids);
        run(
            addr,
            token,
            writes,
            connections,
            &[200],
            Arc::new(move |i| {
                let active = (i / ids.len()) % 2 == 1;
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}]})
                .to_string();
                (
                    "PATCH",
                    format!("/scim/v2/Users/{}", ids[(i + offset) % ids.len()]),
                    Some(body),
                )
            }),
        )
    };
    let patch16 = patch(16, 0);
    let patch64 = patch(64, writes);
    let create = |connections: usize, from: usize| {
        run(
            addr,
            token,
            writes,
            connections,
            &[201],
            Arc::new(move |i| {
                (
                    "POST",
                    "/scim/v2/Users".to_string(),
                    Some(user_body(from + i)),
                )
            }),
        )
    };
    let create16 = create(16, fresh_from);
    let create64 = create(64, fresh_from + writes);
    Workloads {
        get: by_id,
        lookup,
        patch16,
        patch64,
        create16,
        create64,
    }
}

fn group_membership(
    addr: SocketAddr,
    token: &str,
    members: &[String],
    ops: usize,
) -> (Rate, Rate, String) {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("group of {}", members.len())}).to_string();
    let mut conn = Conn::open(addr);
    let (status, text) = conn.call("POST", "/scim/v2/Groups", token, Some(&body));
    assert_eq!(status, 201, "{text}");
    let gid = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    for chunk in members.chunks(1000) {
        let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": value}]}).to_string();
        let (status, text) = conn.call(
            "PATCH",
            &format!("/scim/v2/Groups/{gid}"),
            token,
            Some(&ops),
        );
        assert_eq!(status, 204, "{text}");
    }
    let mover = Arc::new(members.last().cloned().unwrap_or_default());
    let path = format!("/scim/v2/Groups/{gid}");
    let toggle = {
        let (mover, path) = (Arc::clone(&mover), path.clone());
        run(
            addr,
            token,
            ops,
            1,
            &[204],
            Arc::new(move |i| {
                let op = if i % 2 == 0 {
                    json!({"op": "remove", "path": format!("members[value eq \"{mover}\"]")})
                } else {
                    json!({"op": "add", "path": "members", "value": [{"value": *mover}]})
                };
                ("PATCH", path.clone(), Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}).to_string()))
            }),
        )
    };
    let get = run(
        addr,
        token,
        ops,
        1,
        &[200],
        Arc::new(move |_| ("GET", format!("{path}?excludedAttributes=members"), None)),
    );
    (toggle, get, gid)
}

fn main() {
    let s = settings();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    let commit_rate = durable_commit_rate(dir.path(), 500);
    let bare_addr = bare_server(&runtime);
    let bare = run(
        bare_addr,
        "-",
        s.requests,
        16,
        &[200],
        Arc::new(|_| ("GET", "/".to_string(), None)),
    );
    println!("limits (same run, same disk):");
    println!("  raw durable redb commit (1 KiB record + userName index): {commit_rate:>8.0}/s");
    println!("  bare hyper server, 16 connections:                      {bare}");

    let db = dir.path().join("provisio.redb");
    let token = key(&db);
    let (server, _) = Server::start(&db);
    let (seeding, ids) = seed(server.addr, &token, 0, s.users);
    let ids = Arc::new(ids);
    println!(
        "\ntenant of {} users (seeded through SCIM at {:.0}/s over 16 connections):",
        s.users, seeding.per_second
    );
    let small = workloads(server.addr, &token, &ids, s.users, s.requests, 10_000_000);
    report(&small, bare, commit_rate);
    let rss_small = server.rss_mib();

    println!("\ngrowing the tenant to {} users...", s.big);
    let (seeding_big, more) = seed(server.addr, &token, s.users, s.big);
    let mut all: Vec<String> = ids.iter().cloned().collect();
    all.extend(more);
    let all = Arc::new(all);
    server.stop();

    let (server, startup) = Server::start(&db);
    println!(
        "tenant of {} users (seeding at {:.0}/s, {:.2}x the rate at {}), restarted in {:.0} ms (target < 1000):",
        s.big,
        seeding_big.per_second,
        seeding_big.per_second / seeding.per_second,
        s.users,
        startup.as_secs_f64() * 1e3
    );
    // The restart left redb's cache empty: one untimed-for-the-ratios pass reads every
    // user once (its rate is printed: the cold figure), then the workloads run warm.
    let cold = {
        let all = Arc::clone(&all);
        run(
            server.addr,
            &token,
            all.len(),
            16,
            &[200],
            Arc::new(move |i| ("GET", format!("/scim/v2/Users/{}", all[i]), None)),
        )
    };
    println!("  first GET of every user after the restart (cold cache): {cold}");
    let big = workloads(server.addr, &token, &all, s.big, s.requests, 20_000_000);
    report(&big, bare, commit_rate);
    let ratio = |a: Rate, b: Rate| a.per_second / b.per_second;
    println!(
        "  at {} vs {} users (target >= 0.8 each): GET {:.2}x, lookup {:.2}x, PATCH {:.2}x, POST {:.2}x",
        s.big,
        s.users,
        ratio(big.get, small.get),
        ratio(big.lookup, small.lookup),
        ratio(big.patch16, small.patch16),
        ratio(big.create16, small.create16)
    );
    let rss_big = server.rss_mib();
    println!(
        "  server RSS: {rss_small:.0} MiB at {} users, {rss_big:.0} MiB at {} users (target < 300)",
        s.users, s.big
    );
    // The groups come after the 100,000-user workloads, so that those run the same requests
    // as at 10,000 (users in no group; a user in a group also reads the group's name). Both
    // groups in the same tenant, measured back to back.
    let small_group: Vec<String> = all.iter().take(10).cloned().collect();
    let big_members: Vec<String> = all.iter().take(s.group).cloned().collect();
    let (toggle_small, get_small, _) = group_membership(server.addr, &token, &small_group, 400);
    let (toggle_big, get_big, _) = group_membership(server.addr, &token, &big_members, 400);
    server.stop();
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());
    let stats = Command::new(binary())
        .args(["db", "stats", "--db"])
        .arg(&db)
        .output()
        .expect("provisio db stats");
    let stats = String::from_utf8_lossy(&stats.stdout).into_owned();

    report_groups(s.group, [toggle_small, toggle_big], [get_small, get_big]);

    // The seeded users, and the POSTs of the workloads at both sizes.
    let provisioned = s.big + 4 * (s.requests / 4);
    println!(
        "\nstorage: {:.1} MiB for ~{} users with their history and log: {:.0} bytes per provisioned user",
        db_bytes as f64 / 1_048_576.0,
        provisioned,
        db_bytes as f64 / provisioned as f64
    );
    for line in stats.lines() {
        println!("  {line}");
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// One tenant size's rates, each against its limit from the same run.
fn report(w: &Workloads, bare: Rate, commit_rate: f64) {
    println!(
        "  GET /Users/{{id}}          16 conns {}   {:.2}x the bare server (target >= 0.5)",
        w.get,
        w.get.per_second / bare.per_second
    );
    println!(
        "  Okta userName lookup     16 conns {}   {:.2}x the bare server (target >= 0.4)",
        w.lookup,
        w.lookup.per_second / bare.per_second
    );
    println!(
        "  PATCH active             16 conns {}   {:.2}x the raw commit rate (target >= 1)",
        w.patch16,
        w.patch16.per_second / commit_rate
    );
    println!(
        "  PATCH active             64 conns {}   {:.2}x the raw commit rate (target >= 2)",
        w.patch64,
        w.patch64.per_second / commit_rate
    );
    println!(
        "  POST /Users              16 conns {}   {:.2}x the raw commit rate (target >= 1)",
        w.create16,
        w.create16.per_second / commit_rate
    );
    println!(
        "  POST /Users              64 conns {}   {:.2}x the raw commit rate (target >= 2)",
        w.create64,
        w.create64.per_second / commit_rate
    );
}

/// Adding/removing one member and reading a group, at 10 members and at `group`.
fn report_groups(
    group: usize,
    [toggle_small, toggle_big]: [Rate; 2],
    [get_small, get_big]: [Rate; 2],
) {
    println!("\nlarge groups:");
    println!("  add/remove one member, group of 10:        {toggle_small}");
    println!(
        "  add/remove one member, group of {:<9} {toggle_big}   {:.2}x the cost at 10 (target <= 1.5)",
        group,
        toggle_small.per_second / toggle_big.per_second
    );
    println!("  GET excludedAttributes=members, 10:        {get_small}");
    println!(
        "  GET excludedAttributes=members, {:<9} {get_big}   {:.2}x the cost at 10",
        group,
        get_small.per_second / get_big.per_second
    );
}
