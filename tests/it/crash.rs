//! Crash consistency: a server killed with SIGKILL in the middle of a create load loses no
//! create it acknowledged, and the database reopens with its indexes in step. (A process
//! kill leaves the OS page cache intact; losing power is not simulated here. The fsync
//! discipline for that is the writer's: a write is answered only after the durable commit
//! holding it returns.)

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use provisio::scim::schema::ResourceKind;
use provisio::store::Store;
use serde_json::json;

use crate::binary::{json_of, request, serve};

/// POSTs a user; the created id when the server answered 201.
fn create(addr: &str, key: &str, n: usize) -> Option<String> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("crash{n}@ex.com"),
        "name": {"givenName": "Crash", "familyName": format!("Test{n}")},
        "active": true
    })
    .to_string();
    let (status, response) = request(addr, key, "POST", "/Users", Some(&body))?;
    if status != 201 {
        return None;
    }
    json_of(&response)["id"].as_str().map(str::to_string)
}

/// Starts `provisio serve` over `db`: the child, its address and the first-start key.
fn start(db: &std::path::Path) -> (std::process::Child, String, String) {
    let served = serve(db);
    assert!(!served.first_key.is_empty(), "no first-start key");
    (served.child, served.addr, served.first_key)
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("provisio.redb");
    let (mut child, addr, key) = start(&db);
    assert!(create(&addr, &key, 1).is_some());
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("server exits");
    assert!(exit.success(), "{exit:?}");
    // The database is released and holds the user.
    let store = Store::open(&db).expect("released after shutdown");
    let read = store.read(&"default".into()).expect("tenant");
    assert_eq!(read.count(ResourceKind::User).expect("count"), 1);
}

#[test]
fn acknowledged_creates_survive_a_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("provisio.redb");
    let (mut child, addr, key) = start(&db);

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (addr, key) = (addr.clone(), key.clone());
            let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
            thread::spawn(move || {
                for i in 0..400 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match create(&addr, &key, client * 1000 + i) {
                        Some(id) => acknowledged.lock().expect("lock").push(id),
                        None => break,
                    }
                }
            })
        })
        .collect();
    // Kill the server mid-load, once some creates are acknowledged.
    while acknowledged.lock().expect("lock").len() < 60 {
        thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client thread");
    }

    let ids = acknowledged.lock().expect("lock").clone();
    assert!(ids.len() >= 60);
    let store = Store::open(&db).expect("the database opens after the crash");
    let read = store.read(&"default".into()).expect("tenant");
    for id in &ids {
        let id = provisio::domain::ResourceId::new(id.as_str());
        let stored = read
            .get_resource(ResourceKind::User, &id)
            .expect("readable")
            .unwrap_or_else(|| panic!("acknowledged create {id} was lost"));
        let user_name = stored.body["userName"].as_str().expect("userName");
        let user_name = provisio::domain::UserName::new(user_name).expect("valid userName");
        let by_name = read.by_user_name(&user_name).expect("index readable");
        assert_eq!(by_name.map(|r| r.entity.id), Some(id.clone()));
    }
}
