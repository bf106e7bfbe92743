//! Crash consistency: a server killed with SIGKILL in the middle of a create load loses no
//! create it acknowledged, and the database reopens with its indexes in step. (A process
//! kill leaves the OS page cache intact; losing power is not simulated here. The fsync
//! discipline for that is group commit: a write is answered only after a sync covers it.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use provisio::scim::schema::ResourceKind;
use provisio::store::Store;
use serde_json::{Value, json};

/// POSTs a user; the created id when the server answered 201.
fn create(addr: &str, key: &str, n: usize) -> Option<String> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("crash{n}@ex.com"),
        "name": {"givenName": "Crash", "familyName": format!("Test{n}")},
        "active": true
    })
    .to_string();
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    if !response.starts_with("HTTP/1.1 201") {
        return None;
    }
    let json = response.split("\r\n\r\n").nth(1)?;
    let value: Value = serde_json::from_str(json).ok()?;
    value["id"].as_str().map(str::to_string)
}

/// Starts `provisio serve` on a free loopback port over `db`; the child, its address and the
/// first-start key.
fn start(db: &std::path::Path) -> (std::process::Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("provisio serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut key = String::new();
    let mut addr = String::new();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line of output");
        if let Some(found) = line.trim().strip_prefix("prv_") {
            key = format!("prv_{found}");
        }
        if let Some(url) = line.strip_prefix("SCIM base URL: http://") {
            addr = url.trim_end_matches("/scim/v2").to_string();
            break;
        }
    }
    assert!(!key.is_empty() && !addr.is_empty(), "server did not start");
    // Keep reading stdout so the server never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});
    (child, addr, key)
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
