//! A lenient request line in front of hyper, and nothing else lenient.
//!
//! Okta sends the userName lookup filter unencoded at times
//! (`GET /Users?filter=userName eq "jane@ex.com" HTTP/1.1`), which HTTP parsers refuse (raw
//! spaces are not allowed in a request target). [`LenientRequestLine`] sits between the
//! socket and hyper and percent-encodes such bytes in each request target, so the request
//! reaches the SCIM layer, which decodes it. It changes no other byte.
//!
//! A layer that rewrites bytes in front of a parser must never disagree with that parser
//! about where a message ends, or a request hidden in a body gets executed (request
//! smuggling). So the [`Framer`] accepts a strict subset of what hyper accepts and frames it
//! with hyper's own rules (RFC 9112 §6): every line ends in CRLF, a head has at most one
//! `Content-Length` (digits only) or one `Transfer-Encoding: chunked` (never both), a
//! chunked body follows the chunk grammar exactly. Whatever it accepts, hyper frames the
//! same way. Anything else in a head is refused: instead of the head, hyper gets a message
//! it rejects itself ([`Refusal::poison`]), so hyper answers it 400 (431 for an oversized
//! head) after the responses to the requests before it, and closes; nothing more of the
//! connection is read. A refusal inside a chunked body (hyper is already reading it) fails
//! the read, which closes the connection.
//!
//! Scanning is linear: each byte of a head is looked at once when it arrives, however it is
//! split across reads ([`Framer::examined`] counts), and a head is capped at [`MAX_HEAD`].
//! A body that does not arrive within the body-read timeout fails the read
//! ([`LenientRequestLine::new`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The largest request head accepted, leading empty lines included; a longer one gets 431.
pub const MAX_HEAD: usize = 64 * 1024;

/// The most header fields hyper parses in a head (`http1::Builder::max_headers`); the
/// oversized-head refusal relies on it (see [`Refusal::poison`]).
pub const MAX_HEADERS: usize = 100;

/// The longest chunk extension or trailer section accepted in a chunked body.
const MAX_CHUNK_META: usize = 4096;

/// Why the layer refused a connection's input. Each is a head or body hyper might frame
/// differently from a naive reader, or that no SCIM client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A LF not preceded by CR, or a CR not followed by LF.
    #[error("a line in the request head does not end in CRLF")]
    BareLineEnd,
    /// A header line starting with a space or tab (obsolete line folding).
    #[error("obsolete line folding in the request head")]
    ObsFold,
    /// A control character other than tab in the head.
    #[error("a control character in the request head")]
    ControlCharacter,
    /// A request line that is not `METHOD TARGET HTTP/1.x`.
    #[error("a malformed request line")]
    MalformedRequestLine,
    /// A header line without a `token:` name.
    #[error("a malformed header line")]
    MalformedHeader,
    /// A `Content-Length` that is not digits only.
    #[error("an invalid Content-Length")]
    InvalidContentLength,
    /// More than one `Content-Length` field, even with equal values.
    #[error("more than one Content-Length")]
    DuplicateContentLength,
    /// A `Transfer-Encoding` other than one field `chunked` on HTTP/1.1.
    #[error("a Transfer-Encoding other than a single `chunked`")]
    UnsupportedTransferEncoding,
    /// `Transfer-Encoding` and `Content-Length` in one head.
    #[error("both Transfer-Encoding and Content-Length")]
    TransferEncodingWithContentLength,
    /// A `CONNECT` request (it would turn the connection into a tunnel).
    #[error("CONNECT is not served")]
    Connect,
    /// A head longer than [`MAX_HEAD`].
    #[error("a request head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// A chunked body that does not follow the chunk grammar exactly.
    #[error("a malformed chunked body")]
    MalformedChunk,
    /// The body did not arrive within the body-read timeout.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
}

impl Refusal {
    /// What hyper gets instead of a refused head: a message that hyper's own parser rejects,
    /// so that hyper answers it in order (after earlier pipelined requests) and closes.
    /// `HeadTooLarge` gets one header field more than [`MAX_HEADERS`] (hyper answers 431);
    /// the others get a NUL where the method belongs (hyper answers 400).
    #[must_use]
    pub fn poison(self) -> Vec<u8> {
        if self == Refusal::HeadTooLarge {
            let mut poison = b"GET / HTTP/1.1\r\n".to_vec();
            for _ in 0..=MAX_HEADERS {
                poison.extend_from_slice(b"x:\r\n");
            }
            poison.extend_from_slice(b"\r\n");
            poison
        } else {
            b"\0\r\n\r\n".to_vec()
        }
    }
}

/// Where the framer is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a request head.
    Head,
    /// Passing this many more body bytes through.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Chunk),
    /// Nothing more goes to hyper: a refused head was replaced by its poison, or the
    /// socket ended. Hyper reads the end of the stream after what is pending.
    Closed,
    /// A body was refused while hyper reads it: the next read fails.
    Failed(Refusal),
}

/// The chunked-body grammar (RFC 9112 §7.1), as hyper's decoder reads it, minus its
/// leniencies (whitespace after the size, bare LF in a trailer line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before the first digit of a chunk size.
    Start,
    /// In the chunk size.
    Size(u64),
    /// In a chunk extension.
    Extension(u64),
    /// After the CR of a size line.
    SizeLf(u64),
    /// This many data bytes left.
    Data(u64),
    /// After the data, expecting CR.
    DataCr,
    /// After the data's CR, expecting LF.
    DataLf,
    /// After the last chunk's size line or a trailer line: CR or a trailer field.
    EndCr,
    /// In a trailer line.
    Trailer,
    /// After a trailer line's CR.
    TrailerLf,
    /// After the final CR.
    EndLf,
}

/// What the head read so far says about the message.
#[derive(Debug, Default, Clone)]
struct HeadScan {
    /// Bytes of leading empty lines passed before this head (they count to the cap).
    skipped: usize,
    /// Where the current line starts in the head buffer.
    line_start: usize,
    /// The last byte scanned was a CR.
    after_cr: bool,
    /// End of the request line in the head buffer (without its CRLF), once read.
    request_line_end: Option<usize>,
    /// The request is HTTP/1.0.
    http10: bool,
    /// The `Content-Length`, if one was sent.
    content_length: Option<u64>,
    /// A `Transfer-Encoding: chunked` was sent.
    chunked: bool,
}

/// The sans-I/O core of [`LenientRequestLine`]: bytes from the client go in
/// ([`Framer::push`]), bytes for hyper come out ([`Framer::pending`]), every request line
/// rewritten and everything else unchanged, or a refusal.
#[derive(Debug)]
pub struct Framer {
    state: State,
    /// The head being collected.
    head: Vec<u8>,
    scan: HeadScan,
    /// Bytes of extensions or trailers in the current chunked body.
    chunk_meta: usize,
    /// Bytes ready for hyper, of which `taken` were handed over.
    out: Vec<u8>,
    taken: usize,
    examined: u64,
    /// A request target had a byte encoded.
    rewrote: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer at the start of a connection.
    #[must_use]
    pub fn new() -> Framer {
        Framer {
            state: State::Head,
            head: Vec::new(),
            scan: HeadScan::default(),
            chunk_meta: 0,
            out: Vec::new(),
            taken: 0,
            examined: 0,
            rewrote: false,
        }
    }

    /// Bytes ready for hyper that it has not taken yet.
    #[must_use]
    pub fn pending(&self) -> &[u8] {
        &self.out[self.taken..]
    }

    /// Marks `n` bytes of [`Framer::pending`] as handed to hyper.
    pub fn advance(&mut self, n: usize) {
        self.taken = (self.taken + n).min(self.out.len());
        if self.taken == self.out.len() {
            self.out.clear();
            self.taken = 0;
        }
    }

    /// How many bytes of heads and chunk framing were looked at so far (body data is
    /// copied, not looked at). Each arriving byte is looked at a bounded number of times.
    #[must_use]
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// Whether some request target had a byte percent-encoded so far (the one change the
    /// layer makes; without it, hyper reads what the client sent).
    #[must_use]
    pub fn rewrote_a_target(&self) -> bool {
        self.rewrote
    }

    /// The refusal that stopped this connection, if any.
    #[must_use]
    pub fn refusal(&self) -> Option<Refusal> {
        match self.state {
            State::Failed(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// Whether hyper must see the end of the stream once [`Framer::pending`] is empty.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether a body is being read (the body-read timeout runs).
    #[must_use]
    pub fn in_body(&self) -> bool {
        matches!(self.state, State::Length(_) | State::Chunked(_))
    }

    /// The socket ended: a partial head is dropped, and hyper sees the end after what is
    /// pending (mid-body, hyper reports the body incomplete).
    pub fn finish(&mut self) {
        if !matches!(self.state, State::Failed(_)) {
            self.state = State::Closed;
        }
        self.head.clear();
    }

    /// Fails the connection: a refused body, or a timeout.
    pub fn fail(&mut self, refusal: Refusal) {
        self.state = State::Failed(refusal);
        self.head.clear();
    }

    /// Takes bytes from the client.
    pub fn push(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            match self.state {
                State::Closed | State::Failed(_) => return,
                State::Length(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    self.out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Length(left)
                    };
                }
                State::Chunked(Chunk::Data(left)) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    self.out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = State::Chunked(if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left)
                    });
                }
                State::Chunked(chunk) => {
                    self.examined += 1;
                    let byte = input[0];
                    input = &input[1..];
                    match self.chunk_step(chunk, byte) {
                        Ok(Some(next)) => {
                            self.out.push(byte);
                            self.state = State::Chunked(next);
                        }
                        Ok(None) => {
                            self.out.push(byte);
                            self.state = State::Head;
                        }
                        Err(refusal) => self.fail(refusal),
                    }
                }
                State::Head => {
                    let used = self.head_bytes(input);
                    input = &input[used..];
                }
            }
        }
    }

    /// Scans head bytes until the head ends or is refused; returns how many it took.
    fn head_bytes(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() {
            // A run of bytes that are neither a line end nor a control character is taken
            // whole: [`head_byte`](Self::head_byte) would only append each.
            if !self.scan.after_cr {
                let run = input[i..]
                    .iter()
                    .position(|&b| !is_plain_head_byte(b))
                    .unwrap_or(input.len() - i);
                if run > 0 {
                    self.examined += run as u64;
                    if self.head.len() + run + self.scan.skipped > MAX_HEAD {
                        self.refuse_head(Refusal::HeadTooLarge);
                        return input.len();
                    }
                    self.head.extend_from_slice(&input[i..i + run]);
                    i += run;
                    continue;
                }
            }
            self.examined += 1;
            match self.head_byte(input[i]) {
                Ok(false) => i += 1,
                Ok(true) => return i + 1,
                Err(refusal) => {
                    self.refuse_head(refusal);
                    return input.len();
                }
            }
        }
        input.len()
    }

    /// One head byte; `Ok(true)` when it ended the head.
    fn head_byte(&mut self, byte: u8) -> Result<bool, Refusal> {
        if self.scan.after_cr {
            if byte != b'\n' {
                return Err(Refusal::BareLineEnd);
            }
            self.scan.after_cr = false;
            self.head.push(byte);
            return self.end_line();
        }
        match byte {
            b'\r' => self.scan.after_cr = true,
            b'\n' => return Err(Refusal::BareLineEnd),
            b'\t' => {}
            0..0x20 | 0x7f => return Err(Refusal::ControlCharacter),
            _ => {}
        }
        self.head.push(byte);
        if self.head.len() + self.scan.skipped > MAX_HEAD {
            return Err(Refusal::HeadTooLarge);
        }
        Ok(false)
    }

    /// A line of the head ended (its CRLF is in the buffer); `Ok(true)` at the blank line.
    fn end_line(&mut self) -> Result<bool, Refusal> {
        let start = self.scan.line_start;
        let end = self.head.len() - 2;
        self.examined += (end - start) as u64;
        if start == end {
            if self.scan.request_line_end.is_none() {
                // Empty lines before a request line are allowed (RFC 9112 §2.2) and skipped
                // by hyper: they pass through at once, counted against the cap.
                self.scan.skipped += 2;
                self.out.extend_from_slice(b"\r\n");
                self.head.clear();
                return Ok(false);
            }
            self.end_head()?;
            return Ok(true);
        }
        if self.scan.request_line_end.is_none() {
            self.request_line(start, end)?;
            self.scan.request_line_end = Some(end);
        } else {
            self.header_line(start, end)?;
        }
        self.scan.line_start = self.head.len();
        Ok(false)
    }

    fn request_line(&mut self, start: usize, end: usize) -> Result<(), Refusal> {
        let line = &self.head[start..end];
        let (Some(first), Some(last)) = (
            line.iter().position(|&b| b == b' '),
            line.iter().rposition(|&b| b == b' '),
        ) else {
            return Err(Refusal::MalformedRequestLine);
        };
        let method = &line[..first];
        let version = &line[last + 1..];
        if first == last || method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
            return Err(Refusal::MalformedRequestLine);
        }
        match version {
            b"HTTP/1.1" => {}
            b"HTTP/1.0" => self.scan.http10 = true,
            _ => return Err(Refusal::MalformedRequestLine),
        }
        if method == b"CONNECT" {
            return Err(Refusal::Connect);
        }
        Ok(())
    }

    fn header_line(&mut self, start: usize, end: usize) -> Result<(), Refusal> {
        let line = &self.head[start..end];
        if matches!(line[0], b' ' | b'\t') {
            return Err(Refusal::ObsFold);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(Refusal::MalformedHeader)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(Refusal::MalformedHeader);
        }
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            if self.scan.content_length.is_some() {
                return Err(Refusal::DuplicateContentLength);
            }
            self.scan.content_length = Some(parse_length(value)?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if self.scan.chunked || !value.eq_ignore_ascii_case(b"chunked") {
                return Err(Refusal::UnsupportedTransferEncoding);
            }
            self.scan.chunked = true;
        }
        Ok(())
    }

    /// The head is complete and checked: hand it over with its target encoded.
    fn end_head(&mut self) -> Result<(), Refusal> {
        let scan = std::mem::take(&mut self.scan);
        if scan.chunked && scan.content_length.is_some() {
            return Err(Refusal::TransferEncodingWithContentLength);
        }
        if scan.chunked && scan.http10 {
            return Err(Refusal::UnsupportedTransferEncoding);
        }
        let line_end = scan.request_line_end.unwrap_or(0);
        let before = self.out.len();
        encode_request_line(&self.head[..line_end], &mut self.out);
        self.rewrote |= self.out.len() - before != line_end;
        self.out.extend_from_slice(&self.head[line_end..]);
        self.head.clear();
        self.state = match (scan.chunked, scan.content_length) {
            (true, _) => {
                self.chunk_meta = 0;
                State::Chunked(Chunk::Start)
            }
            (false, Some(length)) if length > 0 => State::Length(length),
            _ => State::Head,
        };
        Ok(())
    }

    fn refuse_head(&mut self, refusal: Refusal) {
        tracing::debug!(%refusal, "refused a request head");
        self.out.extend_from_slice(&refusal.poison());
        self.head.clear();
        self.state = State::Closed;
    }

    /// One framing byte of a chunked body; `Ok(None)` when it ended the body.
    fn chunk_step(&mut self, chunk: Chunk, byte: u8) -> Result<Option<Chunk>, Refusal> {
        let bad = Refusal::MalformedChunk;
        let next = match (chunk, byte) {
            (Chunk::Start, _) => Chunk::Size(hex_digit(byte).ok_or(bad)?),
            (Chunk::Size(size), b';') => Chunk::Extension(size),
            (Chunk::Size(size) | Chunk::Extension(size), b'\r') => Chunk::SizeLf(size),
            (Chunk::Size(size), _) => {
                let digit = hex_digit(byte).ok_or(bad)?;
                let size = size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(bad)?;
                Chunk::Size(size)
            }
            (Chunk::Extension(size), _) => {
                self.meta_byte(byte)?;
                Chunk::Extension(size)
            }
            (Chunk::SizeLf(0) | Chunk::TrailerLf, b'\n') => Chunk::EndCr,
            (Chunk::SizeLf(size), b'\n') => Chunk::Data(size),
            (Chunk::DataCr, b'\r') => Chunk::DataLf,
            (Chunk::DataLf, b'\n') => Chunk::Start,
            (Chunk::EndCr, b'\r') => Chunk::EndLf,
            (Chunk::Trailer, b'\r') => Chunk::TrailerLf,
            (Chunk::EndCr | Chunk::Trailer, _) => {
                self.meta_byte(byte)?;
                Chunk::Trailer
            }
            (Chunk::EndLf, b'\n') => return Ok(None),
            _ => return Err(bad),
        };
        Ok(Some(next))
    }

    /// A byte of a chunk extension or trailer: no control characters but tab, bounded.
    fn meta_byte(&mut self, byte: u8) -> Result<(), Refusal> {
        self.chunk_meta += 1;
        let control = byte != b'\t' && (byte < 0x20 || byte == 0x7f);
        if control || self.chunk_meta > MAX_CHUNK_META {
            return Err(Refusal::MalformedChunk);
        }
        Ok(())
    }
}

/// A head byte [`Framer::head_byte`] only appends: not CR, LF or a control character
/// other than tab.
fn is_plain_head_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= 0x20 && byte != 0x7f)
}

/// `tchar` of RFC 9110 §5.6.2: what a method or a field name is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn hex_digit(byte: u8) -> Option<u64> {
    char::from(byte).to_digit(16).map(u64::from)
}

/// A `Content-Length` value: one to nineteen digits (hyper's limit is close to `u64::MAX`).
fn parse_length(value: &[u8]) -> Result<u64, Refusal> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::InvalidContentLength);
    }
    value
        .iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(Refusal::InvalidContentLength)
}

/// Appends `METHOD TARGET VERSION` (a checked request line) with every byte of the target
/// that a request target may not hold percent-encoded: space, tab, ``"<>\^`{|}``, and bytes
/// above 0x7f (UTF-8 sent raw).
fn encode_request_line(line: &[u8], out: &mut Vec<u8>) {
    let first = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let last = line.iter().rposition(|&b| b == b' ').unwrap_or(line.len());
    if first >= last {
        out.extend_from_slice(line);
        return;
    }
    out.extend_from_slice(&line[..=first]);
    for &byte in &line[first + 1..last] {
        if matches!(
            byte,
            b' ' | b'\t' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        ) || byte > 0x7f
        {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.push(byte);
        }
    }
    out.extend_from_slice(&line[last..]);
}

/// The socket wrapper hyper reads through; writes pass straight to the socket.
#[derive(Debug)]
pub struct LenientRequestLine<S> {
    inner: S,
    framer: Framer,
    body_timeout: Duration,
    /// Runs while a body is read; armed when the head before it is complete.
    body_deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> LenientRequestLine<S> {
    /// Wraps a socket. A body must arrive whole within `body_timeout` of its head (counted
    /// while hyper waits for it), else the read fails and the connection closes.
    pub fn new(inner: S, body_timeout: Duration) -> LenientRequestLine<S> {
        LenientRequestLine {
            inner,
            framer: Framer::new(),
            body_timeout,
            body_deadline: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LenientRequestLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            let ready = this.framer.pending();
            if !ready.is_empty() {
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                this.framer.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(refusal) = this.framer.refusal() {
                let kind = if refusal == Refusal::BodyTimeout {
                    io::ErrorKind::TimedOut
                } else {
                    io::ErrorKind::InvalidData
                };
                return Poll::Ready(Err(io::Error::new(kind, refusal)));
            }
            if this.framer.is_closed() {
                return Poll::Ready(Ok(()));
            }
            if !this.framer.in_body() {
                this.body_deadline = None;
            } else if this.body_deadline.is_none() {
                this.body_deadline = Some(Box::pin(tokio::time::sleep(this.body_timeout)));
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => {
                    let expired = this
                        .body_deadline
                        .as_mut()
                        .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                    if !expired {
                        return Poll::Pending;
                    }
                    tracing::debug!("a request body did not arrive in time");
                    this.framer.fail(Refusal::BodyTimeout);
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Ready(Ok(())) if read.filled().is_empty() => this.framer.finish(),
                Poll::Ready(Ok(())) => this.framer.push(read.filled()),
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

    /// Everything the framer hands to hyper for `input` pushed in one piece.
    fn framed(input: &[u8]) -> (Vec<u8>, Framer) {
        let mut framer = Framer::new();
        framer.push(input);
        (framer.pending().to_vec(), framer)
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// `input`, pushed in one piece, reaches hyper as `expected`, and the framer waits
    /// for the next head.
    fn frames_as(input: &[u8], expected: &str) {
        let (out, framer) = framed(input);
        assert_eq!(text(&out), expected);
        assert_eq!(framer.state, State::Head);
    }

    #[test]
    fn raw_spaces_quotes_and_utf8_in_the_target_are_encoded() {
        frames_as(
            "GET /scim/v2/Users?filter=userName eq \"josé@ex.com\"&startIndex=1 HTTP/1.1\r\nHost: a b\r\n\r\n"
                .as_bytes(),
            "GET /scim/v2/Users?filter=userName%20eq%20%22jos%C3%A9@ex.com%22&startIndex=1 HTTP/1.1\r\nHost: a b\r\n\r\n",
        );
    }

    #[test]
    fn valid_heads_are_unchanged() {
        let head = "GET /scim/v2/Users?filter=userName%20eq%20%22x%22 HTTP/1.1\r\nHost: x\r\nX-T:\ta\t\r\n\r\n";
        frames_as(head.as_bytes(), head);
    }

    #[test]
    fn bodies_pass_through_and_the_next_head_is_rewritten() {
        frames_as(
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET aGET /a b HTTP/1.1\r\n\r\n",
            "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET aGET /a%20b HTTP/1.1\r\n\r\n",
        );
    }

    #[test]
    fn chunked_bodies_are_framed_and_the_next_head_is_rewritten() {
        // The body is untouched, the next target encoded.
        let input = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nGET a\r\n0\r\nX-T: 1\r\n\r\nGET /a b HTTP/1.1\r\n\r\n";
        frames_as(input.as_bytes(), &input.replace("/a b", "/a%20b"));
    }

    #[test]
    fn leading_empty_lines_pass_through() {
        let (out, _) = framed(b"\r\n\r\nGET /a b HTTP/1.1\r\n\r\n");
        assert_eq!(text(&out), "\r\n\r\nGET /a%20b HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn every_ambiguous_head_is_refused_with_hyper_s_400() {
        let cases: &[(&[u8], Refusal)] = &[
            (b"GET / HTTP/1.1\nHost: x\n\n", Refusal::BareLineEnd),
            (
                b"POST / HTTP/1.1\r\nHost: x\nContent-Length: 4\r\n\r\nabcd",
                Refusal::BareLineEnd,
            ),
            (b"GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n", Refusal::BareLineEnd),
            (b"\nGET / HTTP/1.1\r\n\r\n", Refusal::BareLineEnd),
            (b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", Refusal::ObsFold),
            (b"GET / HTTP/1.1\r\nA: b\0\r\n\r\n", Refusal::ControlCharacter),
            (b"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", Refusal::ControlCharacter),
            (b"GET / HTTP/1.1\r\nA: b\x1f\r\n\r\n", Refusal::ControlCharacter),
            (b"GET / HTTP/1.1\r\nA : b\r\n\r\n", Refusal::MalformedHeader),
            (b"GET / HTTP/1.1\r\nnocolon\r\n\r\n", Refusal::MalformedHeader),
            (b"GET /\r\n\r\n", Refusal::MalformedRequestLine),
            (b"GET / HTTP/2.0\r\n\r\n", Refusal::MalformedRequestLine),
            (b"G(T / HTTP/1.1\r\n\r\n", Refusal::MalformedRequestLine),
            (b"CONNECT a:1 HTTP/1.1\r\n\r\n", Refusal::Connect),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
                Refusal::DuplicateContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n",
                Refusal::InvalidContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +4\r\n\r\n",
                Refusal::InvalidContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::TransferEncodingWithContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Refusal::UnsupportedTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::UnsupportedTransferEncoding,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::UnsupportedTransferEncoding,
            ),
        ];
        for (input, refusal) in cases {
            let mut prefix = b"GET /first HTTP/1.1\r\n\r\n".to_vec();
            prefix.extend_from_slice(input);
            let (out, framer) = framed(&prefix);
            let mut expected = b"GET /first HTTP/1.1\r\n\r\n".to_vec();
            expected.extend_from_slice(&refusal.poison());
            assert_eq!(text(&out), text(&expected), "{}", text(input));
            assert!(framer.is_closed(), "{}", text(input));
        }
    }

    #[test]
    fn a_bare_lf_is_refused_as_soon_as_it_arrives() {
        let (out, framer) = framed(b"GET / HTTP/1.1\nHo");
        assert_eq!(out, Refusal::BareLineEnd.poison());
        assert!(framer.is_closed());
    }

    #[test]
    fn malformed_chunks_fail_the_body() {
        for body in [
            &b"5 \r\nabcde\r\n0\r\n\r\n"[..],
            b"5\nabcde\r\n0\r\n\r\n",
            b"5\r\nabcdeX\r\n0\r\n\r\n",
            b"x\r\n",
            b"0\r\nX: a\nb\r\n\r\n",
            b"0\r\n\n",
            b"fffffffffffffffff\r\n",
        ] {
            let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            input.extend_from_slice(body);
            let (_, framer) = framed(&input);
            assert_eq!(
                framer.refusal(),
                Some(Refusal::MalformedChunk),
                "{}",
                text(body)
            );
        }
    }

    #[test]
    fn a_byte_at_a_time_gives_the_same_output() {
        let input = b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPOST /q HTTP/1.1\r\nContent-Length: 3\r\n\r\nx yGET /c d HTTP/1.1\r\n\r\n";
        let (whole, _) = framed(input);
        let mut framer = Framer::new();
        let mut bytewise = Vec::new();
        for byte in input {
            framer.push(&[*byte]);
            bytewise.extend_from_slice(framer.pending());
            let n = framer.pending().len();
            framer.advance(n);
        }
        assert_eq!(text(&bytewise), text(&whole));
    }

    #[test]
    fn a_head_sent_a_byte_at_a_time_is_scanned_once() {
        // 64 KiB of header, one byte per read: every byte is looked at a bounded number
        // of times (the old scan looked at the whole buffer again on every read).
        let mut framer = Framer::new();
        let mut sent = 0u64;
        framer.push(b"GET / HTTP/1.1\r\n");
        sent += 16;
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        while sent + line.len() as u64 + 2 < MAX_HEAD as u64 {
            for byte in line {
                framer.push(&[*byte]);
            }
            sent += line.len() as u64;
        }
        framer.push(b"\r\n");
        sent += 2;
        assert!(framer.pending().starts_with(b"GET / HTTP/1.1\r\nX-Filler"));
        assert!(
            framer.examined() <= 2 * sent,
            "{} bytes examined for {sent} sent",
            framer.examined()
        );
    }

    #[test]
    fn an_oversized_head_is_refused_with_hyper_s_431() {
        let mut framer = Framer::new();
        framer.push(b"GET / HTTP/1.1\r\nX: ");
        framer.push(&vec![b'a'; MAX_HEAD]);
        assert_eq!(framer.pending(), Refusal::HeadTooLarge.poison());
        assert!(framer.is_closed());
        // Leading empty lines count too.
        let (out, _) = framed(&b"\r\n".repeat(MAX_HEAD));
        assert!(out.ends_with(&Refusal::HeadTooLarge.poison()));
        assert!(out.len() <= MAX_HEAD + 2 + Refusal::HeadTooLarge.poison().len());
    }

    #[test]
    fn a_head_holding_exactly_the_cap_is_taken_and_one_byte_more_is_431() {
        let start = b"GET / HTTP/1.1\r\nX: ";
        for (extra, refused) in [(0, false), (1, true)] {
            let filler = vec![b'a'; MAX_HEAD - start.len() + extra];
            let mut whole = Framer::new();
            whole.push(start);
            whole.push(&filler);
            let mut bytewise = Framer::new();
            bytewise.push(start);
            for byte in &filler {
                bytewise.push(&[*byte]);
            }
            for framer in [whole, bytewise] {
                assert_eq!(framer.is_closed(), refused, "{extra} over");
                let poisoned = framer.pending() == Refusal::HeadTooLarge.poison();
                assert_eq!(poisoned, refused, "{extra} over");
            }
        }
    }

    #[test]
    fn every_short_head_tail_frames_alike_whole_and_a_byte_at_a_time() {
        // After a request line, every text of up to 5 bytes over line ends, controls, a
        // tab, a space, a colon and letters, then a blank line: a run of plain bytes taken
        // whole must frame (and refuse) exactly as the same bytes one by one.
        let alphabet = [b'\r', b'\n', b'\t', 0x01, 0x7f, b' ', b':', b'a', 0xc3];
        let mut tails: Vec<Vec<u8>> = vec![Vec::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            tails = tails
                .iter()
                .flat_map(|t| alphabet.iter().map(move |b| [t.as_slice(), &[*b]].concat()))
                .collect();
            all.extend(tails.iter().cloned());
        }
        assert!(all.len() > 60_000);
        for tail in &all {
            let input = [b"GET / HTTP/1.1\r\nA: b".as_slice(), tail, b"\r\n\r\n"].concat();
            let (whole, whole_framer) = framed(&input);
            let mut framer = Framer::new();
            let mut bytewise = Vec::new();
            for byte in &input {
                framer.push(&[*byte]);
                bytewise.extend_from_slice(framer.pending());
                let n = framer.pending().len();
                framer.advance(n);
            }
            assert_eq!(bytewise, whole, "{:?}", text(tail));
            assert_eq!(framer.refusal(), whole_framer.refusal(), "{:?}", text(tail));
            assert_eq!(
                framer.examined(),
                whole_framer.examined(),
                "{:?}",
                text(tail)
            );
        }
    }

    #[test]
    fn the_431_poison_has_one_header_more_than_hyper_parses() {
        let poison = Refusal::HeadTooLarge.poison();
        let lines = text(&poison).matches("x:\r\n").count();
        assert_eq!(lines, MAX_HEADERS + 1);
    }
}
