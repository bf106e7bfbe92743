//! The real `provisio` binary, for the tests that drive it: one-shot commands and a
//! running `provisio serve` on free loopback ports.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

use crate::http::support::{ENTERPRISE, USER_SCHEMA};

/// Runs `provisio ARGS --db DB` from the project folder.
pub fn provisio(db: &Path, args: &[&str]) -> Output {
    command(db, args).output().expect("provisio runs")
}

/// The command `provisio ARGS --db DB`, run from the project folder.
pub fn command(db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisio"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command.args(args).arg("--db").arg(db);
    command
}

/// Any free port of the loopback interface.
const FREE_PORT: &str = "127.0.0.1:0";

/// Standard output of a command that must succeed (both streams shown when it did not).
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `provisio overlay set --tenant TENANT FILE`: checks the overlay in `file` and saves it.
pub fn set_overlay(db: &Path, tenant: &str, file: &Path) -> Output {
    let file = file.to_str().expect("a UTF-8 path");
    provisio(db, &["overlay", "set", "--tenant", tenant, file])
}

/// A User body with the enterprise extension: these given and family names and this
/// `costCenter`, active.
pub fn enterprise_user(user_name: &str, name: [&str; 2], cost_center: &str) -> Value {
    let [given, family] = name;
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        ENTERPRISE: {"costCenter": cost_center},
        "active": true
    })
}

/// A new key for `tenant` (`provisio key create` prints it alone on its last line).
pub fn key_for(db: &Path, tenant: &str) -> String {
    let out = ok(&provisio(db, &["key", "create", "--tenant", tenant]));
    out.lines().last().expect("the key").trim().to_string()
}

/// A running `provisio serve`.
pub struct Served {
    /// The process.
    pub child: Child,
    /// `host:port` of its SCIM listener.
    pub addr: String,
    /// The key printed on a first start (empty otherwise).
    pub first_key: String,
    /// Every line it printed up to its SCIM base URL.
    pub banner: Vec<String>,
}

/// Starts `provisio serve` over `db` (SCIM and admin on free loopback ports) and reads its
/// banner; its further output is drained so it never blocks.
pub fn serve(db: &Path) -> Served {
    serve_with(db, &[])
}

/// [`serve`] with more arguments (`--public-url URL`).
pub fn serve_with(db: &Path, extra: &[&str]) -> Served {
    let mut args = vec!["serve", "--listen", FREE_PORT, "--admin-listen", FREE_PORT];
    args.extend_from_slice(extra);
    let mut child = command(db, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("provisio serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut first_key, mut addr, mut banner) = (String::new(), String::new(), Vec::new());
    for line in lines.by_ref() {
        let line = line.expect("a line of output");
        if let Some(found) = line.trim().strip_prefix("prv_") {
            first_key = format!("prv_{found}");
        }
        if let Some(found) = line.strip_prefix("SCIM listening on ") {
            found.clone_into(&mut addr);
        }
        let done = line.starts_with("SCIM base URL: ");
        banner.push(line);
        if done {
            break;
        }
    }
    assert!(!addr.is_empty(), "the server did not start: {banner:?}");
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        addr,
        first_key,
        banner,
    }
}

/// One request on a connection of its own, read to its end: the status and the whole
/// answer, or `None` when the server did not answer (it was killed).
pub fn request(
    addr: &str,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let body = body.unwrap_or("");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    let head = format!(
        "{method} /scim/v2{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    Some((status, response))
}

/// The JSON body of a whole answer (`Null` when it has none).
pub fn json_of(response: &str) -> serde_json::Value {
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .filter(|body| !body.is_empty())
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Stops a server with SIGTERM and waits for it; whether it exited cleanly.
pub fn stop(mut child: Child) -> bool {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().is_ok_and(|status| status.success())
}
