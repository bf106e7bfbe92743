//! Multi-node (issue 12, docs/cluster.md): a real 3-member etcd cluster and three real
//! `provisio serve --cluster` nodes, all on loopback. Debian's `etcd-server` must be
//! installed (`apt-get install etcd-server`; .ci/run does this); without it these tests
//! fail saying so.
//!
//! Every process is started here and stopped here by its PID (a Drop guard kills what is
//! left when a test fails).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::binary::{json_of, ok, provisio, request};

/// The etcd binary, or a failure saying how to install it.
fn etcd_binary() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let path = Path::new(dir).join("etcd");
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "the cluster tests need etcd: install it with `apt-get install etcd-server` (.ci/run does this in its install section)"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One etcd member.
struct Member {
    name: String,
    client: u16,
    peer: u16,
    child: Option<Child>,
}

/// A 3-member etcd cluster in a temporary folder.
struct Etcd {
    dir: tempfile::TempDir,
    members: Vec<Member>,
}

impl Etcd {
    fn start() -> Etcd {
        let binary = etcd_binary();
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut members: Vec<Member> = (1..=3)
            .map(|i| Member {
                name: format!("m{i}"),
                client: free_port(),
                peer: free_port(),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        for member in &mut members {
            member.child = Some(spawn_member(&binary, dir.path(), member, &initial));
        }
        let etcd = Etcd { dir, members };
        etcd.wait_healthy(Duration::from_secs(30));
        etcd
    }

    fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills member `i` (SIGKILL, by PID).
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data.
    fn restart(&mut self, i: usize) {
        let binary = etcd_binary();
        let initial = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let child = spawn_member(&binary, self.dir.path(), &self.members[i], &initial);
        self.members[i].child = Some(child);
    }

    fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let healthy = self
                .members
                .iter()
                .filter(|m| m.child.is_some())
                .all(|m| health(m.client));
            if healthy {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not become healthy; its logs are in {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

fn spawn_member(binary: &Path, dir: &Path, member: &Member, initial: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{}.log", member.name))).expect("log");
    Command::new(binary)
        .args([
            "--name",
            &member.name,
            "--data-dir",
            &dir.join(&member.name).display().to_string(),
            "--listen-client-urls",
            &format!("http://127.0.0.1:{}", member.client),
            "--advertise-client-urls",
            &format!("http://127.0.0.1:{}", member.client),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{}", member.peer),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{}", member.peer),
            "--initial-cluster",
            initial,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "provisio-test",
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("etcd starts")
}

/// Whether an etcd member answers its /health with a leader.
fn health(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let head = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}

/// A running provisio node.
struct Node {
    name: String,
    db: PathBuf,
    addr: String,
    key: String,
    child: Option<Child>,
}

impl Node {
    fn start(name: &str, dir: &Path, endpoints: &str) -> Node {
        let db = dir.join(format!("{name}.redb"));
        let mut node = Node {
            name: name.to_owned(),
            db,
            addr: String::new(),
            key: String::new(),
            child: None,
        };
        node.launch(endpoints);
        node
    }

    fn launch(&mut self, endpoints: &str) {
        let args = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--cluster",
            endpoints,
            "--node",
            &self.name,
        ];
        let mut child = crate::binary::command(&self.db, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("provisio serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let mut addr = String::new();
        for line in lines.by_ref() {
            let line = line.expect("a line");
            if let Some(found) = line.trim().strip_prefix("prv_") {
                self.key = format!("prv_{found}");
            }
            let url = line
                .strip_prefix("SCIM base URL: http://")
                .map(str::to_owned);
            banner.push(line);
            if let Some(url) = url {
                url.trim_end_matches("/scim/v2").clone_into(&mut addr);
                break;
            }
        }
        if addr.is_empty() {
            let _ = child.wait();
            panic!(
                "node {} did not start: {banner:?}\n{}",
                self.name,
                errors.join().unwrap_or_default()
            );
        }
        std::thread::spawn(move || for _ in lines {});
        self.addr = addr;
        self.child = Some(child);
    }

    /// kill -9, by PID.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, by PID; whether it exited cleanly.
    fn stop(&mut self) -> bool {
        self.child.take().is_some_and(super::binary::stop)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// etcd and three nodes `a`, `b`, `c`, each owning its first-start tenant of its name.
struct Cluster {
    nodes: Vec<Node>,
    etcd: Etcd,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let etcd = Etcd::start();
        let dir = tempfile::tempdir().expect("a temp dir");
        let endpoints = etcd.endpoints();
        let nodes = ["a", "b", "c"]
            .iter()
            .map(|name| Node::start(name, dir.path(), &endpoints))
            .collect::<Vec<_>>();
        for node in &nodes {
            assert!(
                node.key.starts_with("prv_"),
                "node {} printed no key",
                node.name
            );
        }
        // Each node learns the others' keys from its watch of the directory, a moment
        // after they are published: the cluster is formed once every node routes every key.
        for node in &nodes {
            for other in &nodes {
                assert!(
                    eventually(Duration::from_secs(10), || {
                        request(&node.addr, &other.key, "GET", "/Users?count=0", None)
                            .is_some_and(|(status, _)| status == 200)
                    }),
                    "node {} never routed node {}'s key",
                    node.name,
                    other.name
                );
            }
        }
        Cluster {
            nodes,
            etcd,
            _dir: dir,
        }
    }
}

fn user(name: &str) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": name, "primary": true}],
        "active": true
    })
    .to_string()
}

/// POST of a new user named `name` (see [`user`]), which must be answered.
fn post_user(addr: &str, key: &str, name: &str) -> (u16, String) {
    call(addr, key, "POST", "/Users", Some(&user(name)))
}

/// The `detail` of an error answer (empty when there is none).
fn detail_of(text: &str) -> String {
    json_of(text)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// One request that must be answered: its status and the whole answer.
fn call(addr: &str, key: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    request(addr, key, method, path, body).expect("answers")
}

/// A body with every `http://HOST` of a node replaced, to compare answers through nodes.
fn neutral(body: &Value, nodes: &[Node]) -> String {
    let mut text = body.to_string();
    for node in nodes {
        text = text.replace(&node.addr, "NODE");
    }
    text
}

/// Runs `f` until it returns true or `within` passes.
fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The claims in etcd, as `name -> tenant` (read with the etcd client crate).
fn etcd_claims(endpoints: &str) -> std::collections::BTreeMap<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let endpoints: Vec<String> = endpoints.split(',').map(str::to_owned).collect();
        let mut client = etcd_client::Client::connect(&endpoints, None)
            .await
            .expect("etcd answers");
        let response = client
            .get(
                "/provisio/claims/",
                Some(etcd_client::GetOptions::new().with_prefix()),
            )
            .await
            .expect("claims read");
        response
            .kvs()
            .iter()
            .map(|kv| {
                let name = kv.key_str().unwrap_or_default();
                let value: Value = serde_json::from_slice(kv.value()).unwrap_or(Value::Null);
                (
                    name.trim_start_matches("/provisio/claims/").to_owned(),
                    value["tenant"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    })
}

#[test]
fn a_tenant_is_served_identically_through_every_node() {
    let cluster = Cluster::start();
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    // Tenant `a` lives on node a; its key works through b and c.
    let (status, created) = post_user(&b.addr, &a.key, "ada@x.example");
    assert_eq!(status, 201, "{created}");
    let created = json_of(&created);
    let id = created["id"].as_str().expect("an id").to_owned();
    let mut bodies = Vec::new();
    for node in [a, b, c] {
        let (status, got) = call(&node.addr, &a.key, "GET", &format!("/Users/{id}"), None);
        assert_eq!(status, 200, "through {}: {got}", node.name);
        let got = json_of(&got);
        // Locations come from the owner's --public-url (here its listen address), never
        // from the Host header: the same through every node, and every node answers it.
        assert_eq!(
            got["meta"]["location"],
            format!("http://{}/scim/v2/Users/{id}", a.addr).as_str(),
            "through {}: {got}",
            node.name
        );
        bodies.push(neutral(&got, &cluster.nodes));
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0], bodies[2]);
    // Lists, filters and errors too.
    for node in [b, c] {
        let (status, list) = call(
            &node.addr,
            &a.key,
            "GET",
            "/Users?filter=userName%20eq%20%22ada@x.example%22",
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(json_of(&list)["totalResults"], 1);
        let (status, missing) = call(&node.addr, &a.key, "GET", "/Users/nope", None);
        assert_eq!(status, 404, "{missing}");
    }
    // An unknown key is refused by every node.
    for node in [a, b, c] {
        let (status, _) = call(&node.addr, "prv_0000", "GET", "/Users", None);
        assert_eq!(status, 401);
    }
    // A rename moves the claim; a delete releases it: the old name is free everywhere.
    let rename = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "ada2@x.example"}]
    })
    .to_string();
    let (status, text) = call(
        &c.addr,
        &a.key,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&rename),
    );
    assert_eq!(status, 200, "{text}");
    let (status, text) = post_user(&a.addr, &b.key, "ada2@x.example");
    assert_eq!(status, 409, "the new name is claimed: {text}");
    let (status, text) = post_user(&a.addr, &b.key, "ada@x.example");
    assert_eq!(status, 201, "the old name was released: {text}");
    let (status, _) = call(&b.addr, &a.key, "DELETE", &format!("/Users/{id}"), None);
    assert_eq!(status, 204);
    let (status, text) = post_user(&c.addr, &c.key, "ada2@x.example");
    assert_eq!(status, 201, "a deleted user's name is free: {text}");
    // Bulk creates claim too.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "one", "data": serde_json::from_str::<Value>(&user("ada2@x.example")).unwrap()},
            {"method": "POST", "path": "/Users", "bulkId": "two", "data": serde_json::from_str::<Value>(&user("bulk@x.example")).unwrap()}
        ]
    })
    .to_string();
    let (status, text) = call(&b.addr, &a.key, "POST", "/Bulk", Some(&bulk));
    assert_eq!(status, 200, "{text}");
    let statuses: Vec<String> = json_of(&text)["Operations"]
        .as_array()
        .map(|ops| ops.iter().map(|op| op["status"].to_string()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, ["\"409\"", "\"201\""], "{text}");
    assert_eq!(
        etcd_claims(&cluster.etcd.endpoints())
            .get("bulk@x.example")
            .map(String::as_str),
        Some("a")
    );
    // A tenant placed on node c from outside: c creates it; its key works through a.
    let endpoints = cluster.etcd.endpoints();
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args([
            "tenant",
            "create",
            "acme",
            "--node",
            "c",
            "--cluster",
            &endpoints,
        ])
        .output()
        .expect("runs");
    assert!(ok(&out).contains("on node `c`"));
    let acme = super::binary::key_for(&c.db, "acme");
    assert!(
        eventually(Duration::from_secs(5), || request(
            &a.addr, &acme, "GET", "/Users", None
        )
        .is_some_and(|(s, _)| s == 200)),
        "tenant acme through node a"
    );
    let again = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args([
            "tenant",
            "create",
            "acme",
            "--node",
            "b",
            "--cluster",
            &endpoints,
        ])
        .output()
        .expect("runs");
    assert!(
        !again.status.success(),
        "a tenant name is taken once in the cluster"
    );
    // `provisio cluster status` lists the three nodes, up, with their tenants.
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args(["cluster", "status", "--cluster", &cluster.etcd.endpoints()])
        .output()
        .expect("runs");
    let text = ok(&out);
    for name in ["a", "b", "c"] {
        assert!(text.contains(&format!("node {name} ")), "{text}");
    }
    assert_eq!(text.matches("  up  ").count(), 3, "{text}");
}

#[test]
fn the_same_user_name_at_once_on_three_nodes_gets_one_201() {
    let cluster = Cluster::start();
    let endpoints = cluster.etcd.endpoints();
    let rounds = 100;
    let mut winners = std::collections::BTreeMap::new();
    for round in 0..rounds {
        let name = format!("same{round}@x.example");
        let barrier = Arc::new(Barrier::new(3));
        let handles: Vec<_> = cluster
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                // Each tenant's request through a node chosen by round: owners and not.
                let via = cluster.nodes[(i + round) % 3].addr.clone();
                let key = node.key.clone();
                let tenant = node.name.clone();
                let body = user(&name);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let (status, text) = call(&via, &key, "POST", "/Users", Some(&body));
                    (tenant, status, text)
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a thread"))
            .collect();
        let created: Vec<_> = results.iter().filter(|(_, s, _)| *s == 201).collect();
        assert_eq!(created.len(), 1, "round {round}: {results:?}");
        for (tenant, status, text) in &results {
            if *status != 201 {
                assert_eq!(*status, 409, "round {round}: {text}");
                let detail = json_of(text)["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                for other in ["\"a\"", "`a`", "`b`", "`c`", "node"] {
                    assert!(
                        !detail.contains(other),
                        "the 409 names an instance: {detail}"
                    );
                }
                let _ = tenant;
            }
        }
        winners.insert(name.to_lowercase(), created[0].0.clone());
    }
    // etcd holds exactly one owner per name: the tenant that got the 201.
    let claims = etcd_claims(&endpoints);
    for (name, tenant) in &winners {
        assert_eq!(claims.get(name), Some(tenant), "claim of {name}");
    }
    // And each losing tenant holds no such user.
    for node in &cluster.nodes {
        let (_, list) = call(&node.addr, &node.key, "GET", "/Users?count=1000", None);
        let held = json_of(&list)["totalResults"].as_u64().unwrap_or(0);
        let won = winners.values().filter(|t| **t == node.name).count() as u64;
        assert_eq!(held, won, "tenant {}", node.name);
    }
}

#[test]
fn a_revoked_key_is_refused_at_once_on_every_node_and_a_dead_owner_is_a_503() {
    let mut cluster = Cluster::start();
    let a_db = cluster.nodes[0].db.clone();
    let out = ok(&provisio(&a_db, &["key", "create", "--tenant", "a"]));
    let key = out.lines().last().expect("a key").trim().to_owned();
    let id = out
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .expect("a key id")
        .to_owned();
    // The new key reaches every node's directory.
    for node in &cluster.nodes {
        assert!(
            eventually(Duration::from_secs(5), || {
                request(&node.addr, &key, "GET", "/Users", None).is_some_and(|(s, _)| s == 200)
            }),
            "the new key works through {}",
            node.name
        );
    }
    ok(&provisio(&a_db, &["key", "revoke", "--tenant", "a", &id]));
    for node in &cluster.nodes {
        let (status, text) = call(&node.addr, &key, "GET", "/Users", None);
        assert_eq!(
            status, 401,
            "right after the revocation, through {}: {text}",
            node.name
        );
    }
    // An import of pre-existing users claims their userNames in etcd too: a name another
    // tenant holds refuses the whole import, a new one is claimed.
    let (status, _) = post_user(
        &cluster.nodes[1].addr,
        &cluster.nodes[1].key,
        "held@x.example",
    );
    assert_eq!(status, 201);
    let dir = tempfile::tempdir().expect("a temp dir");
    let refused = dir.path().join("refused.csv");
    std::fs::write(
        &refused,
        "type,UserName
User,fresh@x.example
User,held@x.example
",
    )
    .expect("written");
    let out = provisio(
        &a_db,
        &[
            "entities",
            "import",
            "--tenant",
            "a",
            refused.to_str().expect("a path"),
        ],
    );
    assert!(
        !out.status.success(),
        "a name held elsewhere refuses the import"
    );
    let accepted = dir.path().join("accepted.csv");
    std::fs::write(
        &accepted,
        "type,UserName
User,fresh@x.example
",
    )
    .expect("written");
    ok(&provisio(
        &a_db,
        &[
            "entities",
            "import",
            "--tenant",
            "a",
            accepted.to_str().expect("a path"),
        ],
    ));
    let endpoints = cluster.etcd.endpoints();
    assert!(
        eventually(Duration::from_secs(5), || {
            let claims = etcd_claims(&endpoints);
            claims.get("fresh@x.example").map(String::as_str) == Some("a")
                && claims.get("held@x.example").map(String::as_str) == Some("b")
        }),
        "{:?}",
        etcd_claims(&endpoints)
    );
    // Node c dies: its tenant is a 503 naming it from a and b; tenant a is unaffected.
    cluster.nodes[2].kill();
    let c_key = cluster.nodes[2].key.clone();
    for node in &cluster.nodes[..2] {
        let (status, text) = call(&node.addr, &c_key, "GET", "/Users", None);
        assert_eq!(status, 503, "{text}");
        let detail = detail_of(&text);
        assert!(
            detail.contains("node `c`") && detail.contains("not answering"),
            "{detail}"
        );
        let (status, _) = call(&node.addr, &cluster.nodes[0].key, "GET", "/Users", None);
        assert_eq!(status, 200);
    }
}

#[test]
fn etcd_losing_one_member_works_losing_two_refuses_claims_and_recovers() {
    let mut cluster = Cluster::start();
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (a_addr, a_key, b_addr) = (a.addr.clone(), a.key.clone(), b.addr.clone());
    let (status, text) = post_user(&b_addr, &a_key, "before@x.example");
    assert_eq!(status, 201, "{text}");
    let id = json_of(&text)["id"].as_str().expect("id").to_owned();

    // One member down: everything still works.
    cluster.etcd.kill(0);
    for (i, via) in [&a_addr, &b_addr].iter().enumerate() {
        let name = format!("one-down-{i}@x.example");
        let ok = eventually(Duration::from_secs(10), || {
            request(via, &a_key, "POST", "/Users", Some(&user(&name)))
                .is_some_and(|(s, _)| s == 201)
        });
        assert!(ok, "a create with one etcd member down, through {via}");
    }

    // Two down: a create (needs a claim) is a 503 and writes nothing; reads and writes that
    // need no claim go on, also through another node.
    cluster.etcd.kill(1);
    let (status, text) = post_user(&b_addr, &a_key, "refused@x.example");
    assert_eq!(status, 503, "{text}");
    let detail = detail_of(&text);
    assert!(
        detail.contains("etcd") && detail.contains("nothing was changed"),
        "{detail}"
    );
    let (status, list) = call(
        &a_addr,
        &a_key,
        "GET",
        "/Users?filter=userName%20eq%20%22refused@x.example%22",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(json_of(&list)["totalResults"], 0, "nothing half written");
    let (status, _) = call(&b_addr, &a_key, "GET", &format!("/Users/{id}"), None);
    assert_eq!(
        status, 200,
        "a read through another node works from the cache"
    );
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]
    })
    .to_string();
    let (status, text) = call(
        &b_addr,
        &a_key,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&patch),
    );
    assert_eq!(status, 200, "a write that needs no claim works: {text}");

    // They come back: every node catches up without a restart.
    cluster.etcd.restart(0);
    cluster.etcd.restart(1);
    cluster.etcd.wait_healthy(Duration::from_secs(30));
    for (i, node) in cluster.nodes.iter().enumerate() {
        let name = format!("after-{i}@x.example");
        let ok = eventually(Duration::from_secs(20), || {
            request(&node.addr, &node.key, "POST", "/Users", Some(&user(&name)))
                .is_some_and(|(s, _)| s == 201)
        });
        assert!(ok, "node {} creates again once etcd is back", node.name);
    }
    // A reservation whose answer was lost in the outage may have been applied when etcd
    // came back; reconciliation (or its lease's expiry) removes it.
    let endpoints = cluster.etcd.endpoints();
    assert!(
        eventually(Duration::from_secs(15), || !etcd_claims(&endpoints)
            .contains_key("refused@x.example")),
        "{:?}",
        etcd_claims(&endpoints)
    );
    let claims = etcd_claims(&endpoints);
    assert_eq!(
        claims.get("before@x.example").map(String::as_str),
        Some("a")
    );
}

#[test]
fn a_node_killed_mid_create_agrees_with_etcd_after_restart() {
    let mut cluster = Cluster::start();
    let endpoints = cluster.etcd.endpoints();
    let (addr, key) = (cluster.nodes[0].addr.clone(), cluster.nodes[0].key.clone());
    // Creates in flight on four connections while node a is killed.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (addr, key) = (addr.clone(), key.clone());
            std::thread::spawn(move || {
                for i in 0..200 {
                    let name = format!("flight-{t}-{i}@x.example");
                    if request(&addr, &key, "POST", "/Users", Some(&user(&name))).is_none() {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    cluster.nodes[0].kill();
    for handle in handles {
        let _ = handle.join();
    }
    // Restarted, it reconciles with etcd; stopped again, `db verify --cluster` agrees.
    cluster.nodes[0].launch(&endpoints);
    let created = post_user(&cluster.nodes[0].addr, &key, "later@x.example");
    assert_eq!(created.0, 201, "{}", created.1);
    assert!(cluster.nodes[0].stop(), "node a stops cleanly");
    let db = cluster.nodes[0].db.clone();
    let out = provisio(
        &db,
        &["db", "verify", "--cluster", &endpoints, "--node", "a"],
    );
    let text = ok(&out);
    assert!(text.contains("consistent"), "{text}");
    let claims = etcd_claims(&endpoints);
    assert!(
        claims.values().filter(|t| *t == "a").count() > 1,
        "{claims:?}"
    );
}
