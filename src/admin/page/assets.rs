//! The stylesheet and the optional script, embedded in the binary (no build step).

use hyper::body::Bytes;

use super::Reply;

/// The stylesheet.
const STYLE: &str = include_str!("../../../assets/style.css");
/// The progressive enhancements (copy button, confirmations); every page works without it.
const SCRIPT: &str = include_str!("../../../assets/page.js");

/// Serves `/assets/NAME`.
pub(super) fn serve(name: &str) -> Reply {
    let found = match name {
        "style.css" => Some(("text/css; charset=utf-8", STYLE)),
        "page.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        _ => None,
    };
    let (status, content_type, body) = match found {
        Some((content_type, body)) => (200, content_type, body),
        None => (404, "text/plain; charset=utf-8", "no such asset"),
    };
    Reply {
        status,
        content_type,
        body: Bytes::from_static(body.as_bytes()),
        location: None,
        cookie: None,
    }
}
