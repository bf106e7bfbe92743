//! A lenient request line: Okta sends the userName lookup filter unencoded at times
//! (`GET /Users?filter=userName eq "jane@ex.com" HTTP/1.1`), which HTTP parsers refuse (raw
//! spaces and quotes are not allowed in a request target). This wrapper sits between the
//! socket and hyper and percent-encodes those characters in each request line, so the
//! request reaches the SCIM layer, which decodes it.
//!
//! It follows HTTP/1.1 framing: it buffers each request head (up to [`MAX_HEAD`] bytes) until
//! the blank line, rewrites the request line, then passes the body through untouched
//! (`Content-Length` bytes). After a chunked body, an oversized head or an unreadable head,
//! it passes the rest of the connection through unchanged, and hyper decides.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest request head rewritten; a longer one is passed through as is.
pub const MAX_HEAD: usize = 64 * 1024;

/// The socket wrapper.
#[derive(Debug)]
pub struct LenientRequestLine<S> {
    inner: S,
    state: State,
    /// Bytes of the request head read so far.
    head: Vec<u8>,
    /// Bytes ready for hyper.
    out: Vec<u8>,
    /// How much of `out` hyper has taken.
    taken: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a request head.
    Head,
    /// Passing this many body bytes through.
    Body(u64),
    /// Passing everything through from now on.
    Through,
}

impl<S> LenientRequestLine<S> {
    /// Wraps a socket.
    pub fn new(inner: S) -> LenientRequestLine<S> {
        LenientRequestLine {
            inner,
            state: State::Head,
            head: Vec::new(),
            out: Vec::new(),
            taken: 0,
        }
    }

    /// Moves complete heads (and the body bytes after them) from `head` to `out`.
    fn process(&mut self) {
        loop {
            match self.state {
                State::Through => {
                    self.out.append(&mut self.head);
                    return;
                }
                State::Body(remaining) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.head.len());
                    self.out.extend(self.head.drain(..n));
                    let left = remaining - n as u64;
                    if left > 0 {
                        self.state = State::Body(left);
                        return;
                    }
                    self.state = State::Head;
                }
                State::Head => {
                    let Some(end) = find(&self.head, b"\r\n\r\n") else {
                        if self.head.len() > MAX_HEAD {
                            self.state = State::Through;
                            continue;
                        }
                        return;
                    };
                    let head: Vec<u8> = self.head.drain(..end + 4).collect();
                    let (rewritten, next) = rewrite_head(&head);
                    self.out.extend_from_slice(&rewritten);
                    self.state = next;
                }
            }
        }
    }
}

/// Rewrites the request line of one head and tells how the body is framed.
fn rewrite_head(head: &[u8]) -> (Vec<u8>, State) {
    let Ok(text) = std::str::from_utf8(head) else {
        return (head.to_vec(), State::Through);
    };
    // Empty lines before a request line are allowed (RFC 9112 §2.2): keep them.
    let body = text.trim_start_matches("\r\n");
    let blank = &text[..text.len() - body.len()];
    let (line, rest) = body.split_once("\r\n").unwrap_or((body, ""));
    let mut next = State::Body(0);
    for header in rest.split("\r\n") {
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<u64>() {
                Ok(length) => next = State::Body(length),
                Err(_) => return (head.to_vec(), State::Through),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return (head.to_vec(), State::Through);
        }
    }
    let mut out = Vec::with_capacity(head.len() + 16);
    out.extend_from_slice(blank.as_bytes());
    out.extend_from_slice(fix_request_line(line).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(rest.as_bytes());
    (out, next)
}

/// `METHOD TARGET VERSION` with spaces, quotes and other characters not allowed in a target
/// percent-encoded; any other line is returned as it is.
fn fix_request_line(line: &str) -> String {
    let Some((method, rest)) = line.split_once(' ') else {
        return line.to_string();
    };
    let Some((target, version)) = rest.rsplit_once(' ') else {
        return line.to_string();
    };
    if !version.starts_with("HTTP/")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return line.to_string();
    }
    let mut fixed = String::with_capacity(target.len() + 16);
    for c in target.chars() {
        match c {
            ' ' => fixed.push_str("%20"),
            '"' => fixed.push_str("%22"),
            '<' => fixed.push_str("%3C"),
            '>' => fixed.push_str("%3E"),
            '`' => fixed.push_str("%60"),
            '{' => fixed.push_str("%7B"),
            '}' => fixed.push_str("%7D"),
            '|' => fixed.push_str("%7C"),
            '\\' => fixed.push_str("%5C"),
            '^' => fixed.push_str("%5E"),
            other => fixed.push(other),
        }
    }
    format!("{method} {fixed} {version}")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncRead + Unpin> AsyncRead for LenientRequestLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.taken < this.out.len() {
                let ready = &this.out[this.taken..];
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                this.taken += n;
                if this.taken == this.out.len() {
                    this.out.clear();
                    this.taken = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.state == State::Through && this.head.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Ready(Ok(())) => {
                    let filled = read.filled();
                    if filled.is_empty() {
                        // End of stream: hand over whatever is left, then report the end.
                        this.state = State::Through;
                        this.out.append(&mut this.head);
                        if this.out.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                        continue;
                    }
                    this.head.extend_from_slice(filled);
                    this.process();
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LenientRequestLine<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_spaces_and_quotes_in_the_target_are_encoded() {
        assert_eq!(
            fix_request_line(
                r#"GET /scim/v2/Users?filter=userName eq "jane@ex.com"&startIndex=1 HTTP/1.1"#
            ),
            "GET /scim/v2/Users?filter=userName%20eq%20%22jane@ex.com%22&startIndex=1 HTTP/1.1"
        );
    }

    #[test]
    fn valid_lines_are_unchanged() {
        let line = "GET /scim/v2/Users?filter=userName%20eq%20%22x%22 HTTP/1.1";
        assert_eq!(fix_request_line(line), line);
        assert_eq!(fix_request_line("garbage"), "garbage");
    }

    #[test]
    fn bodies_pass_through_and_the_next_head_is_rewritten() {
        let mut wrapper = LenientRequestLine::new(());
        wrapper.head =
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET aGET /a b HTTP/1.1\r\n\r\n".to_vec();
        wrapper.process();
        assert_eq!(
            String::from_utf8_lossy(&wrapper.out),
            "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET aGET /a%20b HTTP/1.1\r\n\r\n"
        );
        assert_eq!(wrapper.state, State::Head);
    }

    #[test]
    fn chunked_bodies_switch_to_pass_through() {
        let mut wrapper = LenientRequestLine::new(());
        wrapper.head =
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET a\r\n".to_vec();
        wrapper.process();
        assert_eq!(wrapper.state, State::Through);
        assert!(wrapper.head.is_empty());
    }
}
