//! `meta.location` comes from `--public-url` (or the listen address), never from the
//! client's `Host` header; a malformed `--public-url` stops `serve` before it touches the
//! database.

use crate::binary::{command, json_of, serve_with, stop};

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
        let out = command(
            &db,
            &["serve", "--listen", "127.0.0.1:0", "--public-url", bad],
        )
        .output()
        .unwrap();
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
    let served = serve_with(&db, &["--public-url", "https://scim.example.com/acme/"]);
    let base = "https://scim.example.com/acme/scim/v2";
    assert_eq!(
        served.banner.last().unwrap(),
        &format!("SCIM base URL: {base}")
    );
    let (addr, key) = (served.addr.as_str(), served.first_key.as_str());

    let call = |method: &str, path: &str, host: &str, body: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
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
    assert!(stop(served.child));
}
