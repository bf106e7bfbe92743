//! `meta.location` comes from `--public-url` (or the listen address), never from the
//! client's `Host` header; a malformed `--public-url` stops `serve` before it touches the
//! database.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::binary::{json_of, stop};

fn serve(db: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisio"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .arg("--db")
        .arg(db);
    command
}

#[test]
fn a_malformed_public_url_is_refused_before_the_database_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.redb");
    for bad in [
        "ftp://scim.example.com",
        "https://",
        "https://scim.example.com/?x=1",
        "https://user@scim.example.com",
        "scim.example.com",
    ] {
        let out = serve(&db, &["--public-url", bad]).output().unwrap();
        assert!(!out.status.success(), "{bad} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--public-url"), "{bad}: {stderr}");
        assert!(!db.exists(), "{bad}: the database was created");
    }
}

#[test]
fn locations_start_with_the_public_url_whatever_the_host_header_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.redb");
    let mut child = serve(&db, &["--public-url", "https://scim.example.com/acme/"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut addr, mut key, mut base) = (String::new(), String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(found) = line.trim().strip_prefix("prv_") {
            key = format!("prv_{found}");
        }
        if let Some(found) = line.strip_prefix("SCIM listening on ") {
            addr = found.to_owned();
        }
        if let Some(found) = line.strip_prefix("SCIM base URL: ") {
            base = found.to_owned();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(base, "https://scim.example.com/acme/scim/v2");
    assert!(!addr.is_empty() && !key.is_empty());

    let call = |method: &str, path: &str, host: &str, body: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "{method} /scim/v2{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let created = call(
        "POST",
        "/Users",
        "evil.example",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"host@ex.com"}"#,
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let user = json_of(&created);
    let location = user["meta"]["location"].as_str().unwrap().to_owned();
    let id = user["id"].as_str().unwrap();
    assert_eq!(location, format!("{base}/Users/{id}"));
    let header = created
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or(l.strip_prefix("Location: "))
        })
        .unwrap_or_default();
    assert_eq!(header, location, "{created}");

    let read = call("GET", &format!("/Users/{id}"), "other.example:9999", "");
    assert_eq!(
        json_of(&read)["meta"]["location"],
        location.as_str(),
        "{read}"
    );
    let listed = call("GET", "/Users", "", "");
    assert_eq!(
        json_of(&listed)["Resources"][0]["meta"]["location"],
        location.as_str(),
        "{listed}"
    );
    assert!(stop(child));
}
