//! The kill -9 soak: twenty times, a real server under a mixed write load across two
//! tenants (creates, `PATCHes`, PUTs, group membership changes, deletes) is killed with
//! SIGKILL at a random instant and restarted. After each kill:
//! - `provisio db verify` finds every index, claim, membership direction and reference
//!   consistent with the rows;
//! - every acknowledged write is there, and the one write each client had in flight is
//!   either wholly applied or not at all.
//!
//! Bounded: twenty cycles of a few hundred milliseconds of load, four clients.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::binary::{json_of, provisio, serve};

const CYCLES: usize = 20;

/// xorshift64: a seeded, reproducible stream (the seed is printed on failure).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Starts `provisio serve` over `db`; the child and its address.
fn start(db: &Path) -> (Child, String) {
    let served = serve(db);
    (served.child, served.addr)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserModel {
    user_name: String,
    display: String,
    title: Option<String>,
}

/// What one client believes is stored, from acknowledged writes only.
#[derive(Debug, Clone, Default)]
struct Model {
    users: BTreeMap<String, UserModel>,
    group: Option<String>,
    members: BTreeSet<String>,
    created: usize,
}

/// A write sent but not answered: it may or may not have been applied.
#[derive(Debug, Clone)]
enum InFlight {
    CreateUser(UserModel),
    CreateGroup(String),
    Replace(String, UserModel),
    Delete(String),
    Member(String, bool),
}

struct Client {
    tenant: &'static str,
    key: String,
    prefix: String,
    model: Model,
    in_flight: Option<InFlight>,
    /// Writes acknowledged so far.
    acknowledged: usize,
}

fn user_body(user: &UserModel) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user.user_name,
        "displayName": user.display,
        "name": {"givenName": "Soak", "familyName": user.display},
        "active": true
    });
    if let Some(title) = &user.title {
        body["title"] = json!(title);
    }
    body
}

impl Client {
    /// One request with this client's key on its own connection: the status and JSON
    /// body, or `None` when the server did not answer (it was killed).
    fn send(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        let body = body.map(Value::to_string);
        let (status, response) =
            crate::binary::request(addr, &self.key, method, path, body.as_deref())?;
        Some((status, json_of(&response)))
    }

    /// `GET path` of a server that must answer.
    fn get(&self, addr: &str, path: &str) -> (u16, Value) {
        self.send(addr, "GET", path, None)
            .expect("the restarted server answers")
    }

    /// Sends writes until the server stops answering (or `stop`); the write then in flight
    /// is remembered.
    fn run(&mut self, addr: &str, rng: &mut Rng, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let Some(group) = self.model.group.clone() else {
                let name = format!("{}-group", self.prefix);
                self.in_flight = Some(InFlight::CreateGroup(name.clone()));
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
                let Some((status, json)) = self.send(addr, "POST", "/Groups", Some(&body)) else {
                    return;
                };
                assert_eq!(status, 201, "{json}");
                self.model.group = json["id"].as_str().map(str::to_string);
                self.in_flight = None;
                continue;
            };
            let ids: Vec<String> = self.model.users.keys().cloned().collect();
            let pick = |rng: &mut Rng| ids[rng.below(ids.len() as u64) as usize].clone();
            let choice = if ids.is_empty() { 0 } else { rng.below(6) };
            let answered = match choice {
                0 | 1 if ids.len() < 8 => {
                    self.model.created += 1;
                    let user = UserModel {
                        user_name: format!("{}-{}@ex.com", self.prefix, self.model.created),
                        display: format!("User {}", self.model.created),
                        title: None,
                    };
                    self.in_flight = Some(InFlight::CreateUser(user.clone()));
                    self.send(addr, "POST", "/Users", Some(&user_body(&user)))
                        .map(|(status, json)| {
                            assert_eq!(status, 201, "{json}");
                            let id = json["id"].as_str().expect("id").to_string();
                            self.model.users.insert(id, user);
                        })
                }
                0..=2 => {
                    let id = pick(rng);
                    let mut user = self.model.users[&id].clone();
                    user.title = Some(format!("Title {}", rng.below(1000)));
                    self.in_flight = Some(InFlight::Replace(id.clone(), user.clone()));
                    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": user.title}]});
                    self.send(addr, "PATCH", &format!("/Users/{id}"), Some(&ops))
                        .map(|(status, json)| {
                            assert_eq!(status, 200, "{json}");
                            self.model.users.insert(id, user);
                        })
                }
                3 => {
                    let id = pick(rng);
                    let mut user = self.model.users[&id].clone();
                    user.display = format!("Renamed {}", rng.below(1000));
                    user.title = None;
                    self.in_flight = Some(InFlight::Replace(id.clone(), user.clone()));
                    self.send(
                        addr,
                        "PUT",
                        &format!("/Users/{id}"),
                        Some(&user_body(&user)),
                    )
                    .map(|(status, json)| {
                        assert_eq!(status, 200, "{json}");
                        self.model.users.insert(id, user);
                    })
                }
                4 => {
                    let id = pick(rng);
                    let add = !self.model.members.contains(&id);
                    self.in_flight = Some(InFlight::Member(id.clone(), add));
                    let op = if add {
                        json!({"op": "add", "path": "members", "value": [{"value": id}]})
                    } else {
                        json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")})
                    };
                    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
                    self.send(addr, "PATCH", &format!("/Groups/{group}"), Some(&ops))
                        .map(|(status, json)| {
                            assert_eq!(status, 204, "{json}");
                            if add {
                                self.model.members.insert(id);
                            } else {
                                self.model.members.remove(&id);
                            }
                        })
                }
                _ => {
                    let id = pick(rng);
                    self.in_flight = Some(InFlight::Delete(id.clone()));
                    self.send(addr, "DELETE", &format!("/Users/{id}"), None)
                        .map(|(status, json)| {
                            assert_eq!(status, 204, "{json}");
                            self.model.users.remove(&id);
                            self.model.members.remove(&id);
                        })
                }
            };
            if answered.is_none() {
                return;
            }
            self.acknowledged += 1;
            self.in_flight = None;
        }
    }

    /// After a restart: every acknowledged write is there; the write in flight is wholly
    /// applied or not at all (the model takes whichever it was).
    fn check(&mut self, addr: &str, cycle: usize) {
        match self.in_flight.take() {
            Some(InFlight::CreateUser(user)) => {
                let filter = format!("/Users?filter=userName%20eq%20%22{}%22", user.user_name);
                let (_, list) = self.get(addr, &filter);
                match list["Resources"].as_array().map(Vec::as_slice) {
                    Some([found]) => {
                        let id = found["id"].as_str().expect("id").to_string();
                        self.model.users.insert(id, user);
                    }
                    Some([]) | None => {}
                    Some(more) => panic!(
                        "cycle {cycle}: {} users named {}",
                        more.len(),
                        user.user_name
                    ),
                }
            }
            Some(InFlight::CreateGroup(name)) => {
                let (_, list) = self.get(
                    addr,
                    &format!("/Groups?filter=displayName%20eq%20%22{name}%22"),
                );
                if let Some(found) = list["Resources"].get(0) {
                    self.model.group = found["id"].as_str().map(str::to_string);
                }
            }
            Some(InFlight::Replace(id, user)) => {
                let (_, found) = self.get(addr, &format!("/Users/{id}"));
                if found["displayName"] == json!(user.display)
                    && found.get("title") == user.title.as_ref().map(|t| json!(t)).as_ref()
                {
                    self.model.users.insert(id, user);
                }
            }
            Some(InFlight::Delete(id)) => {
                let (status, _) = self.get(addr, &format!("/Users/{id}"));
                if status == 404 {
                    self.model.users.remove(&id);
                    self.model.members.remove(&id);
                }
            }
            Some(InFlight::Member(id, add)) => {
                if let Some(group) = &self.model.group {
                    let (_, found) = self.get(addr, &format!("/Groups/{group}"));
                    let member = found["members"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|m| m["value"] == json!(id)));
                    if member == add {
                        if add {
                            self.model.members.insert(id);
                        } else {
                            self.model.members.remove(&id);
                        }
                    }
                }
            }
            None => {}
        }
        for (id, user) in &self.model.users {
            let (status, found) = self.get(addr, &format!("/Users/{id}"));
            assert_eq!(
                status, 200,
                "cycle {cycle}: acknowledged user {id} of {} lost",
                self.tenant
            );
            assert_eq!(found["userName"], json!(user.user_name), "cycle {cycle}");
            assert_eq!(
                found["displayName"],
                json!(user.display),
                "cycle {cycle}: {found}"
            );
            assert_eq!(
                found.get("title"),
                user.title.as_ref().map(|t| json!(t)).as_ref(),
                "cycle {cycle}: {found}"
            );
        }
        if let Some(group) = &self.model.group {
            let (status, found) = self.get(addr, &format!("/Groups/{group}"));
            assert_eq!(status, 200, "cycle {cycle}: acknowledged group lost");
            let members: BTreeSet<String> = found["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|m| m["value"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                members, self.model.members,
                "cycle {cycle}: members of {group}"
            );
        }
        let (_, all) = self.get(addr, "/Users?count=1000");
        let stored: BTreeSet<String> = all["Resources"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|u| u["userName"].as_str())
                    .filter(|n| n.starts_with(&format!("{}-", self.prefix)))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let expected: BTreeSet<String> = self
            .model
            .users
            .values()
            .map(|u| u.user_name.clone())
            .collect();
        assert_eq!(
            stored, expected,
            "cycle {cycle}: users of client {}",
            self.prefix
        );
    }
}

#[test]
fn twenty_kills_lose_no_acknowledged_write_and_half_apply_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("soak.redb");
    let mut keys = BTreeMap::new();
    for tenant in ["a", "b"] {
        assert!(
            provisio(&db, &["tenant", "create", tenant])
                .status
                .success()
        );
        let out = provisio(
            &db,
            &["key", "create", "--tenant", tenant, "--user", "soak"],
        );
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        keys.insert(
            tenant,
            text.lines().last().expect("the key").trim().to_string(),
        );
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("soak seed {seed}");
    let mut rng = Rng(seed);
    let mut clients: Vec<Client> = [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")]
        .into_iter()
        .map(|(tenant, prefix)| Client {
            tenant,
            key: keys[tenant].clone(),
            prefix: prefix.to_string(),
            model: Model::default(),
            in_flight: None,
            acknowledged: 0,
        })
        .collect();
    for cycle in 1..=CYCLES {
        let (mut child, addr) = start(&db);
        for client in &mut clients {
            client.check(&addr, cycle);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = clients
            .drain(..)
            .map(|mut client| {
                let (addr, stop) = (addr.clone(), Arc::clone(&stop));
                let mut rng = Rng(rng.next() | 1);
                thread::spawn(move || {
                    client.run(&addr, &mut rng, &stop);
                    client
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(100 + rng.below(300)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        stop.store(true, Ordering::Relaxed);
        clients = handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect();
        let verify = provisio(&db, &["db", "verify"]);
        assert!(
            verify.status.success(),
            "cycle {cycle} (seed {seed}): {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    let (mut child, addr) = start(&db);
    for client in &mut clients {
        client.check(&addr, CYCLES + 1);
    }
    child.kill().expect("stop");
    child.wait().expect("reaped");
    let acknowledged: usize = clients.iter().map(|c| c.acknowledged).sum();
    eprintln!("soak: {acknowledged} acknowledged writes over {CYCLES} kills");
    // Each cycle runs at least 100 ms of load: far more than one write per client.
    assert!(
        acknowledged > CYCLES * 4,
        "the load barely ran: {acknowledged}"
    );
}
