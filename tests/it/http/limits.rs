//! Stalls and caps at the connection level (issue 9, item 8): a body-read timeout and a
//! connection cap, each with small settings.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use provisio::server::ServerConfig;
use serde_json::json;

use super::smuggling::exchange;
use super::support::{BASE, CLARIZEN_RULES, Server, okta_user};

fn short_body_timeout(config: &mut ServerConfig) {
    config.body_read_timeout = Duration::from_millis(300);
}

fn two_connections(config: &mut ServerConfig) {
    config.max_connections = 2;
}

fn with_key(server: &Server) -> String {
    server.store.create_tenant("acme").unwrap();
    server
        .store
        .create_key(&"acme".into(), "okta-integration")
        .unwrap()
        .1
}

/// Reads exactly one response (this server always sends `content-length`) off a
/// keep-alive connection; returns its status.
fn read_one(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed mid-response");
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let length: usize = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

fn config_request() -> String {
    format!("GET {BASE}/ServiceProviderConfig HTTP/1.1\r\nHost: h\r\n\r\n")
}

#[test]
fn a_client_that_stalls_mid_body_is_cut_off_and_nothing_is_written() {
    let server = Server::start_configured(Path::new(CLARIZEN_RULES), short_body_timeout);
    let key = with_key(&server);
    let body = okta_user("stalled@ex.com").to_string();
    let half = &body[..body.len() / 2];
    let stream = format!(
        "POST {BASE}/Users HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {key}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{half}",
        body.len()
    );
    // Without a body timeout the server waits for the rest for ever; the read gives up
    // after 10 s and the exchange reports the connection still open.
    let exchange = exchange(server.addr(), stream.as_bytes(), Duration::from_secs(10));
    assert!(exchange.closed, "{exchange:?}");
    assert_eq!(exchange.statuses(), [400], "{exchange:?}");
    let error: serde_json::Value = serde_json::from_slice(&exchange.responses[0].body).unwrap();
    assert_eq!(error["scimType"], json!("invalidSyntax"), "{error}");
    let client = server.client(Some(key));
    assert_eq!(client.user_count("userName eq \"stalled@ex.com\""), 0);
}

#[test]
fn a_body_that_arrives_in_time_is_served_under_a_short_timeout() {
    let server = Server::start_configured(Path::new(CLARIZEN_RULES), short_body_timeout);
    let client = server.client(Some(with_key(&server)));
    client
        .post("/Users", &okta_user("quick@ex.com"))
        .expect(201);
}

#[test]
fn connections_beyond_the_cap_get_503_and_the_others_are_served() {
    let server = Server::start_configured(Path::new(CLARIZEN_RULES), two_connections);
    let open = || {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(config_request().as_bytes()).unwrap();
        assert_eq!(read_one(&mut stream), 200);
        stream
    };
    let mut first = open();
    let mut second = open();
    // The third is answered at once and closed.
    let refused = exchange(server.addr(), b"", Duration::from_secs(10));
    assert!(refused.closed, "{refused:?}");
    assert_eq!(refused.statuses(), [503], "{refused:?}");
    let error: serde_json::Value = serde_json::from_slice(&refused.responses[0].body).unwrap();
    assert_eq!(error["status"], json!("503"), "{error}");
    assert_eq!(
        error["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    // The two served ones go on.
    for stream in [&mut first, &mut second] {
        stream.write_all(config_request().as_bytes()).unwrap();
        assert_eq!(read_one(stream), 200);
    }
    // Once one closes, a new connection is served again (the slot frees when the server
    // has seen the close, so allow it a moment).
    drop(first);
    let mut served = false;
    for _ in 0..100 {
        let request = format!(
            "GET {BASE}/ServiceProviderConfig HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        );
        let answer = exchange(server.addr(), request.as_bytes(), Duration::from_secs(10));
        if answer.statuses() == [200] {
            served = true;
            break;
        }
        assert_eq!(answer.statuses(), [503], "{answer:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "no connection was served after one closed");
    second.write_all(config_request().as_bytes()).unwrap();
    assert_eq!(read_one(&mut second), 200);
}
