//! Per-tenant overlays end to end through the binary: `provisio overlay set` checks and
//! saves, `provisio serve` applies each tenant's overlay to that tenant only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;

fn provisio(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisio"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("provisio runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn key_for(db: &Path, tenant: &str) -> String {
    let output = provisio(db, &["key", "create", "--tenant", tenant]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
        .lines()
        .last()
        .expect("the key on the last line")
        .to_string()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn post_user(addr: &str, key: &str, user_name: &str) -> u16 {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Cos", "familyName": "Center"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "fin-042"},
        "active": true
    })
    .to_string();
    let mut stream = TcpStream::connect(addr).expect("connect");
    let request = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("answer");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_tenant_overlay_applies_to_that_tenant_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("provisio.redb");
    for tenant in ["acme", "other"] {
        assert!(
            provisio(&db, &["tenant", "create", tenant])
                .status
                .success()
        );
    }
    let acme_key = key_for(&db, "acme");
    let other_key = key_for(&db, "other");

    // A broken overlay is refused and nothing is saved.
    let broken = dir.path().join("broken.rules");
    std::fs::write(&broken, "mapping User {\n  UserName <- displayName;\n}\n").expect("write");
    let output = provisio(
        &db,
        &[
            "overlay",
            "set",
            "--tenant",
            "acme",
            broken.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(
        message.contains("locked") && message.contains("nothing was saved"),
        "{message}"
    );
    let shown = provisio(&db, &["overlay", "show", "--tenant", "acme"]);
    assert!(
        text(&shown.stdout).contains("no overlay"),
        "{}",
        text(&shown.stdout)
    );

    let overlay = fixture("tests/fixtures/ops/overlay/overlay.rules");
    let output = provisio(
        &db,
        &[
            "overlay",
            "set",
            "--tenant",
            "acme",
            overlay.to_str().expect("utf-8"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("saved overlay v1"),
        "{}",
        text(&output.stdout)
    );

    let mut server = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut addr = String::new();
    let mut announced = false;
    for line in lines.by_ref() {
        let line = line.expect("line");
        announced |= line.contains("tenant `acme` uses its overlay v1");
        if let Some(url) = line.strip_prefix("SCIM base URL: http://") {
            addr = url.trim_end_matches("/scim/v2").to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert!(announced, "serve did not announce the overlay");
    assert_eq!(post_user(&addr, &acme_key, "cc@acme.com"), 201);
    assert_eq!(post_user(&addr, &other_key, "cc@other.com"), 201);
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(server.wait().expect("exits").success());

    let acme = text(&provisio(&db, &["history", "--tenant", "acme"]).stdout);
    assert!(
        acme.contains("CostCenter")
            && acme.contains("FIN-042")
            && acme.contains("overlay-v1.rules:3"),
        "{acme}"
    );
    let other = text(&provisio(&db, &["history", "--tenant", "other"]).stdout);
    assert!(!other.contains("CostCenter"), "{other}");

    let output = provisio(&db, &["overlay", "reset", "--tenant", "acme"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = provisio(&db, &["overlay", "show", "--tenant", "acme"]);
    assert!(
        text(&shown.stdout).contains("no overlay"),
        "{}",
        text(&shown.stdout)
    );
}
