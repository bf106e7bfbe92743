//! Load generator: drives the real `provisio serve` (the release binary beside this
//! example, separate processes on loopback) and prints every figure of the performance
//! targets as a ratio to a limit measured in the same run:
//!
//! - the raw durable single-commit rate: one fsync'd redb write transaction per SCIM-sized
//!   record (~1 KiB) plus its userName index entry, on the same disk;
//! - a bare hyper server answering a fixed body: the HTTP ceiling of this machine;
//! - creates and `PATCH`es at 16 and 64 connections against the first; GET by id and Okta's
//!   `userName` lookup at 16 connections against the second; p99 of each;
//! - two tenants on two servers at once, of `--users` and of `--big` users (seeded through
//!   SCIM, concurrently): each rate of the big one as a ratio to the small one's; RSS;
//!   start-up time;
//! - adding and removing one member of a group of `--group` members against a group of 10;
//!   a GET of the big group with `excludedAttributes=members`;
//! - bytes per provisioned user.
//!
//! The machine's speed drifts within a run (by a quarter, within seconds, on the 2-core
//! machine this was written on), so no ratio compares figures taken apart: each workload
//! runs in rounds ([`ROUNDS`] for writes, [`READ_ROUNDS`] for reads), and each round runs it
//! on its limit, the small tenant and the big one back to back (the other way round every
//! other round).
//!
//! `cargo build --release && cargo run --release --example loadgen -- [--users N] [--big N]
//! [--group N] [--requests N] [--cache-mib N]` (the last is passed to the servers). Request
//! counts are bounded; client and servers share the machine's cores.

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

/// One timed run: how many requests (or commits) in how long, and each one's latency
/// (none for the raw commits, which are timed as a whole).
struct Sample {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

#[derive(Clone, Copy)]
struct Rate {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Rate {
    /// The rate of runs taken together: all their requests over all their time, and the
    /// percentiles of all their latencies.
    fn of(samples: &[Sample]) -> Rate {
        let requests: usize = samples.iter().map(|s| s.requests).sum();
        let elapsed: Duration = samples.iter().map(|s| s.elapsed).sum();
        let mut latencies: Vec<Duration> = samples
            .iter()
            .flat_map(|s| s.latencies.iter().copied())
            .collect();
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * q) as usize)
                .copied()
                .unwrap_or_default()
        };
        Rate {
            per_second: requests as f64 / elapsed.as_secs_f64(),
            p50: at(0.5),
            p99: at(0.99),
        }
    }
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
) -> Sample {
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
    let latencies: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    Sample {
        requests: total,
        elapsed: start.elapsed(),
        latencies,
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

/// One redb write transaction holding a ~1 KiB record and its userName index entry,
/// committed durably: the durable-write limit of this disk, measured in bursts between the
/// write workloads.
struct RawCommits {
    db: redb::Database,
    record: Vec<u8>,
    done: usize,
}

impl RawCommits {
    const ROWS: redb::TableDefinition<'static, (&'static str, &'static str), &'static [u8]> =
        redb::TableDefinition::new("rows");
    const NAMES: redb::TableDefinition<'static, &'static str, (&'static str, &'static str)> =
        redb::TableDefinition::new("names");

    fn open(dir: &Path) -> RawCommits {
        let record = user_body(0).repeat(4);
        RawCommits {
            db: redb::Database::create(dir.join("raw.redb")).expect("raw redb"),
            record: record.as_bytes()[..1024].to_vec(),
            done: 0,
        }
    }

    /// `commits` more durable commits, timed.
    fn burst(&mut self, commits: usize) -> Sample {
        let start = Instant::now();
        for i in self.done..self.done + commits {
            let id = format!("{i:036}");
            let name = format!("user{i}@raw.local");
            let txn = self.db.begin_write().expect("begin");
            {
                txn.open_table(Self::ROWS)
                    .expect("rows")
                    .insert(("t", id.as_str()), self.record.as_slice())
                    .expect("row");
                txn.open_table(Self::NAMES)
                    .expect("names")
                    .insert(name.as_str(), ("t", id.as_str()))
                    .expect("name");
            }
            txn.commit().expect("commit");
        }
        self.done += commits;
        Sample {
            requests: commits,
            elapsed: start.elapsed(),
            latencies: Vec::new(),
        }
    }
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
/// Creates users `from..to` over 16 connections into `ids` (indexed from 0) and returns the
/// run as a sample (no latencies are kept).
fn seed(addr: SocketAddr, token: &str, from: usize, to: usize, ids: &mut [String]) -> Sample {
    let made = Arc::new(std::sync::Mutex::new(vec![String::new(); to - from]));
    let next = Arc::new(AtomicUsize::new(from));
    let start = Instant::now();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (made, next, token) = (Arc::clone(&made), Arc::clone(&next), token.to_string());
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
                    made.lock().expect("ids")[i - from] = id.unwrap_or_default();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("seeder");
    }
    let elapsed = start.elapsed();
    let made = std::mem::take(&mut *made.lock().expect("ids"));
    for (slot, id) in ids[from..to].iter_mut().zip(made) {
        *slot = id;
    }
    Sample {
        requests: to - from,
        elapsed,
        latencies: Vec::new(),
    }
}

/// Rounds of the seeding: each seeds a tenth of both tenants, the two in alternating order,
/// so both rates span the same stretch of the machine's time. Seeded one after the other,
/// the 10,000 users took ~2 s, and the big tenant's ratio to them came out 0.68x to 1.39x
/// over runs of one build.
const SEED_ROUNDS: usize = 10;

/// Seeds both tenants in `SEED_ROUNDS` alternating rounds and returns their rates.
fn seed_both(tenants: [&mut Tenant; 2]) -> [Rate; 2] {
    let mut ids: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| vec![String::new(); t.users])
        .collect();
    let mut samples = [Vec::new(), Vec::new()];
    for round in 0..SEED_ROUNDS {
        for t in alternate(round) {
            let users = tenants[t].users;
            let (from, to) = (
                users * round / SEED_ROUNDS,
                users * (round + 1) / SEED_ROUNDS,
            );
            let (addr, token) = (tenants[t].addr, tenants[t].token.clone());
            samples[t].push(seed(addr, &token, from, to, &mut ids[t]));
        }
    }
    for (tenant, ids) in tenants.into_iter().zip(ids) {
        tenant.ids = Arc::new(ids);
    }
    [Rate::of(&samples[0]), Rate::of(&samples[1])]
}

/// A tenant on a server of its own: where it listens, its key, its users.
struct Tenant {
    addr: SocketAddr,
    token: String,
    ids: Arc<Vec<String>>,
    /// Its seeded users (the lookups ask for these).
    users: usize,
    /// The number of the next user its creates make (distinct per tenant).
    fresh: usize,
}

/// Into how many rounds each workload is split. A round runs it on the limit, the small
/// tenant and the big one in turn (the other way round every other round), so that the
/// machine's drift within a run falls on all three alike.
const ROUNDS: usize = 3;

/// Rounds of the reads, each of `--requests` / 2 requests per side. A read round of 6,667
/// requests took 0.1-0.2 s, and the machine's stalls (its memory reclaim daemon takes up to
/// 50 ms of CPU a second) moved single runs' read ratios by a quarter; 60,000 requests a
/// side in six rounds span several seconds.
const READ_ROUNDS: usize = 6;

/// Which of the three a round step runs.
#[derive(Clone, Copy)]
enum Side {
    Limit,
    Small,
    Big,
}

/// One workload at both sizes and its limit, each over all its rounds.
struct Measured {
    limit: Rate,
    small: Rate,
    big: Rate,
}

fn interleaved(rounds: usize, mut step: impl FnMut(Side, usize) -> Sample) -> Measured {
    let (mut limit, mut small, mut big) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Side::Limit, Side::Small, Side::Big]
        } else {
            [Side::Big, Side::Small, Side::Limit]
        };
        for side in order {
            let sample = step(side, round);
            match side {
                Side::Limit => limit.push(sample),
                Side::Small => small.push(sample),
                Side::Big => big.push(sample),
            }
        }
    }
    Measured {
        limit: Rate::of(&limit),
        small: Rate::of(&small),
        big: Rate::of(&big),
    }
}

struct Workloads {
    get: Measured,
    lookup: Measured,
    patch16: Measured,
    patch64: Measured,
    create16: Measured,
    create64: Measured,
}

/// `n` GETs over 16 connections of the paths `path` makes of the request numbers of the
/// `round`th stretch: `(i + round * n) * 7919`, spread over the tenant.
fn gets(
    t: &Tenant,
    n: usize,
    round: usize,
    path: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Sample {
    let offset = round * n;
    run(
        t.addr,
        &t.token,
        n,
        16,
        &[200],
        Arc::new(move |i| ("GET", path((i + offset) * 7919), None)),
    )
}

/// GETs of `n` users by id.
fn get_by_id(t: &Tenant, n: usize, round: usize) -> Sample {
    let ids = Arc::clone(&t.ids);
    gets(t, n, round, move |k| {
        format!("/scim/v2/Users/{}", ids[k % ids.len()])
    })
}

/// Okta's lookup of `n` seeded users by `userName` (in another case than sent).
fn lookup(t: &Tenant, n: usize, round: usize) -> Sample {
    let users = t.users;
    gets(t, n, round, move |k| {
        format!(
            "/scim/v2/Users?filter=userName%20eq%20%22LOAD.user{}%40okta.local%22&startIndex=1&count=100",
            k % users
        )
    })
}

/// `n` `PATCH`es of `active` over `connections`, from user `offset` on.
fn patch(t: &Tenant, n: usize, connections: usize, offset: usize) -> Sample {
    let ids = Arc::clone(&t.ids);
    run(
        t.addr,
        &t.token,
        n,
        connections,
        &[200],
        Arc::new(move |i| {
            let active = ((i + offset) / ids.len()) % 2 == 1;
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
}

/// `n` creates of new users over `connections`.
fn create(t: &mut Tenant, n: usize, connections: usize) -> Sample {
    let from = t.fresh;
    t.fresh += n;
    run(
        t.addr,
        &t.token,
        n,
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
}

/// Every workload, interleaved between the two tenants and its limit: the reads against
/// the bare server, the writes against bursts of raw durable commits.
fn workloads(
    small: &mut Tenant,
    big: &mut Tenant,
    bare: SocketAddr,
    raw: &mut RawCommits,
    requests: usize,
) -> Workloads {
    let reads = requests / 2;
    let writes = requests / 4 / ROUNDS;
    let bare_run = |n: usize| {
        run(
            bare,
            "-",
            n,
            16,
            &[200],
            Arc::new(|_| ("GET", "/".to_string(), None)),
        )
    };
    let get = interleaved(READ_ROUNDS, |side, round| match side {
        Side::Limit => bare_run(reads),
        Side::Small => get_by_id(small, reads, round),
        Side::Big => get_by_id(big, reads, round),
    });
    let lookup = interleaved(READ_ROUNDS, |side, round| match side {
        Side::Limit => bare_run(reads),
        Side::Small => lookup(small, reads, round),
        Side::Big => lookup(big, reads, round),
    });
    // A burst of raw commits as long as a write run takes, roughly.
    let burst = writes / 3;
    let mut patches = |connections: usize, first: usize| {
        interleaved(ROUNDS, |side, round| match side {
            Side::Limit => raw.burst(burst),
            Side::Small => patch(small, writes, connections, first + round * writes),
            Side::Big => patch(big, writes, connections, first + round * writes),
        })
    };
    let patch16 = patches(16, 0);
    let patch64 = patches(64, ROUNDS * writes);
    let mut creates = |connections: usize| {
        interleaved(ROUNDS, |side, _| match side {
            Side::Limit => raw.burst(burst),
            Side::Small => create(small, writes, connections),
            Side::Big => create(big, writes, connections),
        })
    };
    let create16 = creates(16);
    let create64 = creates(64);
    Workloads {
        get,
        lookup,
        patch16,
        patch64,
        create16,
        create64,
    }
}

/// A group of `members` in the tenant at `addr`: its id, and the member the workload
/// removes and adds back.
fn make_group(addr: SocketAddr, token: &str, members: &[String]) -> (String, String) {
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
    (gid, members.last().cloned().unwrap_or_default())
}

/// `ops` (even) `PATCH`es of the group on one connection, removing its member `mover` and
/// adding it back in turn.
fn toggle_member(addr: SocketAddr, token: &str, gid: &str, mover: &str, ops: usize) -> Sample {
    let (mover, path) = (mover.to_string(), format!("/scim/v2/Groups/{gid}"));
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
                json!({"op": "add", "path": "members", "value": [{"value": mover}]})
            };
            ("PATCH", path.clone(), Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}).to_string()))
        }),
    )
}

/// `ops` GETs of the group without its members, on one connection.
fn get_group(addr: SocketAddr, token: &str, gid: &str, ops: usize) -> Sample {
    let path = format!("/scim/v2/Groups/{gid}?excludedAttributes=members");
    run(
        addr,
        token,
        ops,
        1,
        &[200],
        Arc::new(move |_| ("GET", path.clone(), None)),
    )
}

/// Rounds of large-group GETs (6,000 of each group in all).
const GROUP_GET_ROUNDS: usize = 12;

/// The order of the two groups in a round: each goes first in every other one.
fn alternate(round: usize) -> [usize; 2] {
    if round.is_multiple_of(2) {
        [0, 1]
    } else {
        [1, 0]
    }
}

/// Toggling one member and reading each group, in rounds alternating between the two
/// groups: their rates, each over all its rounds.
fn group_workloads(
    addr: SocketAddr,
    token: &str,
    groups: &[(String, String); 2],
) -> ([Rate; 2], [Rate; 2]) {
    let (mut toggles, mut gets) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for round in 0..ROUNDS {
        for g in alternate(round) {
            toggles[g].push(toggle_member(addr, token, &groups[g].0, &groups[g].1, 200));
        }
    }
    // A GET takes ~0.1 ms on one connection: 2,000 at a time gave 0.83x to 1.61x over
    // runs of one build, so they alternate in shorter rounds.
    for round in 0..GROUP_GET_ROUNDS {
        for g in alternate(round) {
            gets[g].push(get_group(
                addr,
                token,
                &groups[g].0,
                6000 / GROUP_GET_ROUNDS,
            ));
        }
    }
    (
        [Rate::of(&toggles[0]), Rate::of(&toggles[1])],
        [Rate::of(&gets[0]), Rate::of(&gets[1])],
    )
}

/// Starts a server on a fresh database with a tenant and key; `seed_both` fills it.
fn tenant(dir: &Path, name: &str, users: usize, fresh: usize) -> (Server, Tenant) {
    let db = dir.join(format!("{name}.redb"));
    let token = key(&db);
    let (server, _) = Server::start(&db);
    let tenant = Tenant {
        addr: server.addr,
        token,
        ids: Arc::new(Vec::new()),
        users,
        fresh,
    };
    (server, tenant)
}

fn main() {
    let s = settings();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let bare = bare_server(&runtime);
    let mut raw = RawCommits::open(dir.path());

    let (small_server, mut small) = tenant(dir.path(), "small", s.users, 10_000_000);
    let (big_server, mut big) = tenant(dir.path(), "big", s.big, 20_000_000);
    let [small_seeding, big_seeding] = seed_both([&mut small, &mut big]);
    println!(
        "tenant of {} users, seeded through SCIM over 16 connections at {:.0}/s (in {SEED_ROUNDS} rounds, alternating with the big tenant)",
        s.users, small_seeding.per_second
    );
    let big_db = dir.path().join("big.redb");
    big_server.stop();
    let (big_server, startup) = Server::start(&big_db);
    big.addr = big_server.addr;
    println!(
        "tenant of {} users, seeded at {:.0}/s ({:.2}x the rate of the {}-user tenant, target >= 0.8), restarted in {:.0} ms (target < 1000)",
        s.big,
        big_seeding.per_second,
        big_seeding.per_second / small_seeding.per_second,
        s.users,
        startup.as_secs_f64() * 1e3
    );
    // The restart left redb's cache empty: one pass reads every user once (its rate is
    // printed: the cold figure), then the workloads run warm.
    let cold = {
        let ids = Arc::clone(&big.ids);
        Rate::of(&[run(
            big.addr,
            &big.token,
            ids.len(),
            16,
            &[200],
            Arc::new(move |i| ("GET", format!("/scim/v2/Users/{}", ids[i]), None)),
        )])
    };
    println!("  first GET of every user after the restart (cold cache): {cold}");

    println!(
        "\neach workload in rounds ({READ_ROUNDS} for reads, {ROUNDS} for writes) of limit, {} users, {} users (reversed every other round);",
        s.users, s.big
    );
    println!(
        "each figure over all its rounds; limits: the bare hyper server for the reads, raw durable"
    );
    println!(
        "redb commits (one ~1 KiB record + userName index entry each, fsync'd, same disk) for the writes"
    );
    let w = workloads(&mut small, &mut big, bare, &mut raw, s.requests);
    report(&w, s.users, s.big);
    let (rss_small, rss_big) = (small_server.rss_mib(), big_server.rss_mib());
    println!(
        "  server RSS: {rss_small:.0} MiB at {} users, {rss_big:.0} MiB at {} users (target < 300)",
        s.users, s.big
    );
    small_server.stop();

    // The groups come after the workloads, so that those run the same requests at both
    // sizes (users in no group; a user in a group also reads the group's name). Both
    // groups in the big tenant, measured back to back.
    let small_group: Vec<String> = big.ids.iter().take(10).cloned().collect();
    let big_members: Vec<String> = big.ids.iter().take(s.group).cloned().collect();
    let groups = [
        make_group(big.addr, &big.token, &small_group),
        make_group(big.addr, &big.token, &big_members),
    ];
    let (toggles, gets) = group_workloads(big.addr, &big.token, &groups);
    big_server.stop();
    let db_bytes = std::fs::metadata(&big_db).map_or(0, |m| m.len());
    let stats = Command::new(binary())
        .args(["db", "stats", "--db"])
        .arg(&big_db)
        .output()
        .expect("provisio db stats");
    let stats = String::from_utf8_lossy(&stats.stdout).into_owned();

    report_groups(s.group, toggles, gets);

    // The seeded users, and the POSTs of the workloads.
    let provisioned = s.big + (big.fresh - 20_000_000);
    println!(
        "\nstorage of the big tenant: {:.1} MiB for {} users with their history and log: {:.0} bytes per provisioned user",
        db_bytes as f64 / 1_048_576.0,
        provisioned,
        db_bytes as f64 / provisioned as f64
    );
    // redb grows its file ahead of what it holds (doubling it while it is under one 4 GiB
    // region), so the file's figure steps from run to run; its tables' does not.
    if let Some(tables) = table_bytes(&stats) {
        println!(
            "  of which in its tables: {:.1} MiB, {:.0} bytes per provisioned user (the file grows ahead in steps)",
            tables as f64 / 1_048_576.0,
            tables as f64 / provisioned as f64
        );
    }
    for line in stats.lines() {
        println!("  {line}");
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// The bytes `provisio db stats` counts in the tables (`N bytes in tables, ...`).
fn table_bytes(stats: &str) -> Option<u64> {
    stats
        .lines()
        .find_map(|line| line.trim().split_once(" bytes in tables"))
        .and_then(|(bytes, _)| bytes.parse().ok())
}

/// Every workload's rates at both sizes, each against its limit from the same rounds, and
/// the big tenant's against the small one's.
fn report(w: &Workloads, users: usize, big: usize) {
    let rows: [(&str, &Measured, &str, f64); 6] = [
        (
            "GET /Users/{id}       16 conns",
            &w.get,
            "the bare server",
            0.5,
        ),
        (
            "Okta userName lookup  16 conns",
            &w.lookup,
            "the bare server",
            0.4,
        ),
        (
            "PATCH active          16 conns",
            &w.patch16,
            "raw commits",
            1.0,
        ),
        (
            "PATCH active          64 conns",
            &w.patch64,
            "raw commits",
            2.0,
        ),
        (
            "POST /Users           16 conns",
            &w.create16,
            "raw commits",
            1.0,
        ),
        (
            "POST /Users           64 conns",
            &w.create64,
            "raw commits",
            2.0,
        ),
    ];
    for (name, m, limit, target) in rows {
        println!("  {name}   limit ({limit}) {:>8.0}/s", m.limit.per_second);
        for (size, rate) in [(users, m.small), (big, m.big)] {
            println!(
                "    {size:>7} users {rate}   {:.2}x the limit (target >= {target})",
                rate.per_second / m.limit.per_second
            );
        }
    }
    let ratio = |m: &Measured| m.big.per_second / m.small.per_second;
    println!(
        "  at {big} vs {users} users (target >= 0.8 each): GET {:.2}x, lookup {:.2}x, PATCH {:.2}x, POST {:.2}x",
        ratio(&w.get),
        ratio(&w.lookup),
        ratio(&w.patch16),
        ratio(&w.create16)
    );
}

/// Adding/removing one member and reading a group, at 10 members and at `group`.
fn report_groups(
    group: usize,
    [toggle_small, toggle_big]: [Rate; 2],
    [get_small, get_big]: [Rate; 2],
) {
    println!(
        "\nlarge groups (toggles in {ROUNDS} rounds, GETs in {GROUP_GET_ROUNDS}, alternating between the two):"
    );
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
