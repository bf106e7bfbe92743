//! Differential: the same bytes to plain hyper and to hyper through the lenient
//! request-line layer. Through the layer, hyper must parse the same requests as plain
//! hyper (same method, target and body, in the same order), or fewer and then the end: the
//! layer may close early, never read on differently. Targets are compared after the
//! layer's encoding (the one change it makes); where plain hyper refuses a raw target
//! that the layer encoded, the layer may go on.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use provisio::server::lenient::{Framer, LenientRequestLine, MAX_HEADERS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request as hyper parsed it: method, target, body (or a body error).
type Parsed = (String, String, String);

/// The requests hyper parsed from `input`.
async fn parsed(input: &[u8], layered: bool) -> Vec<Parsed> {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let service = service_fn(move |req: Request<Incoming>| {
        let log = Arc::clone(&log);
        async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(body) => format!("{:?}", body.to_bytes()),
                Err(_) => "(body error)".to_owned(),
            };
            log.lock()
                .unwrap()
                .push((parts.method.to_string(), parts.uri.to_string(), body));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_headers(MAX_HEADERS);
    let conn = async move {
        if layered {
            let io = LenientRequestLine::new(server, Duration::from_hours(1));
            let _ = http.serve_connection(TokioIo::new(io), service).await;
        } else {
            let _ = http.serve_connection(TokioIo::new(server), service).await;
        }
    };
    // The client sends everything and keeps the connection open: hyper serves every
    // pipelined request it can frame, then waits. Time is paused, so the timeout below
    // fires as soon as nothing else can run.
    let drive = async move {
        let _ = client.write_all(input).await;
        let mut sink = Vec::new();
        let _ = client.read_to_end(&mut sink).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(conn, drive);
    })
    .await;
    std::mem::take(&mut *seen.lock().unwrap())
}

/// The layer's encoding of a target, applied to what plain hyper saw.
fn encoded(target: &str) -> String {
    let mut out = String::new();
    for byte in target.bytes() {
        if matches!(
            byte,
            b' ' | b'\t' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        ) || byte > 0x7f
        {
            let _ = write!(out, "%{byte:02X}");
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    // FUZZ_DEBUG=1 target/release/http_layer < INPUT shows both parses.
    let debug = std::env::var_os("FUZZ_DEBUG").is_some();
    afl::fuzz!(|input: &[u8]| {
        let mut framer = Framer::new();
        framer.push(input);
        let rewrote = framer.rewrote_a_target();
        let (plain, mut layered) =
            runtime.block_on(async { (parsed(input, false).await, parsed(input, true).await) });
        // A body the layer refused while hyper read it ends the connection there.
        if let Some(cut) = layered.iter().position(|r| r.2 == "(body error)") {
            layered.truncate(cut);
        }
        let plain: Vec<Parsed> = plain
            .into_iter()
            .map(|(method, target, body)| (method, encoded(&target), body))
            .collect();
        if debug {
            eprintln!("plain: {plain:?}\nlayered: {layered:?}\nrewrote: {rewrote}");
        }
        let common = layered.len().min(plain.len());
        assert!(
            layered[..common] == plain[..common] && (layered.len() <= plain.len() || rewrote),
            "input {input:?}\nplain: {plain:?}\nlayered: {layered:?}"
        );
    });
}
