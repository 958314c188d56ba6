//! The little HTTP the web port speaks: request heads read with
//! `httparse` (bounded, with a deadline), and the few responses it sends.
//!
//! Only what a browser needs to load the app and open its two WebSockets:
//! `GET`/`HEAD` of the embedded files, and the WebSocket upgrade. No
//! request body is ever read (a request that announces one is refused),
//! and no part of a path reaches the file system (see `assets`).

use std::io::{self, Read};
use std::time::Instant;

use crate::transport::Stream;

/// Largest request head (request line and headers): a browser's is well
/// under 2 KiB; more is refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// Most headers in one request.
const MAX_HEADERS: usize = 48;

/// The parts of a request the web port looks at.
#[derive(Debug, Default)]
pub struct Head {
    pub method: String,
    /// The path, without its query string.
    pub path: String,
    pub host: Option<String>,
    pub origin: Option<String>,
    /// `Upgrade: websocket` was asked for.
    pub upgrade: bool,
    pub ws_key: Option<String>,
    pub ws_version: Option<String>,
    pub forwarded_for: Option<String>,
    /// The client asks to close after this request (`Connection: close`,
    /// or HTTP/1.0).
    pub close: bool,
    /// The request announces a body (which is never read).
    pub body: bool,
    /// The browser takes a gzipped body (`Accept-Encoding`).
    pub gzip: bool,
    /// The validators of the copy the browser has (`If-None-Match`).
    pub if_none_match: Option<String>,
}

/// Why a request head could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// Longer than [`MAX_HEAD`].
    TooLarge,
    /// Not HTTP.
    Bad,
    Io(io::Error),
}

/// Reads request heads one after the other from a connection, keeping
/// what came after one head for the next (or for the WebSocket).
#[derive(Default)]
pub struct HeadReader {
    buf: Vec<u8>,
}

impl HeadReader {
    /// The next request's head; `Ok(None)` if the connection ends, or
    /// stays silent until `deadline`, before one begins.
    pub fn read(&mut self, stream: &Stream, deadline: Instant) -> Result<Option<Head>, HeadError> {
        loop {
            if let Some((head, used)) = parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(head));
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return if self.buf.is_empty() { Ok(None) } else { Err(HeadError::Bad) };
            }
            stream.set_read_timeout(Some(left)).map_err(HeadError::Io)?;
            let mut chunk = [0u8; 2048];
            let want = chunk.len().min(MAX_HEAD - self.buf.len());
            match (&*stream).read(&mut chunk[..want]) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return if self.buf.is_empty() { Ok(None) } else { Err(HeadError::Bad) };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// What the client sent after the last head: the first bytes of its
    /// WebSocket, if it did not wait for the `101`.
    pub fn into_rest(self) -> Vec<u8> {
        self.buf
    }
}

/// A whole head at the start of `buf` and its length, or `None` if more
/// bytes are needed.
fn parse(buf: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let used = match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Bad),
    };
    let path = request.path.unwrap_or("/");
    let mut head = Head {
        method: request.method.unwrap_or("").to_string(),
        path: path.split(['?', '#']).next().unwrap_or("/").to_string(),
        close: request.version != Some(1),
        ..Head::default()
    };
    for header in request.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else { continue };
        let value = value.trim();
        let name = header.name;
        if name.eq_ignore_ascii_case("host") {
            head.host = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("origin") {
            head.origin = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("upgrade") {
            head.upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            let has = |word: &str| value.split(',').any(|v| v.trim().eq_ignore_ascii_case(word));
            head.close = has("close") || (head.close && !has("keep-alive"));
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            head.ws_key = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            head.ws_version = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            head.forwarded_for = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            head.body |= value != "0";
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.body = true;
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            head.gzip = accepts_gzip(value);
        } else if name.eq_ignore_ascii_case("if-none-match") {
            head.if_none_match = Some(value.to_string());
        }
    }
    Ok(Some((head, used)))
}

/// Whether an `Accept-Encoding` value takes gzip: `gzip` (or `*`) listed
/// without `q=0` (RFC 9110 §12.5.3).
pub fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        let refused =
            parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// The headers every response carries: no script but the app's own
/// files (`default-src 'self'`: no inline script, nothing from another
/// host), never inside another site's frame, and types taken as given.
/// Images may also come from `blob:` URLs (1.2, §21): the bytes of
/// a file the page fetched itself over its logged-in WebSocket; and so
/// may a voice message's sound (`media-src`).
pub const SECURITY_HEADERS: &str = "Content-Security-Policy: default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; frame-ancestors 'none'\r\n\
     X-Content-Type-Options: nosniff\r\n\
     Referrer-Policy: no-referrer\r\n";

/// A response head with a body of `len` bytes of `mime`.
pub fn response_head(status: &str, mime: &str, len: usize, close: bool) -> String {
    response_head_with(status, mime, len, close, "")
}

/// The same, with `extra` headers (each ending `\r\n`): a file's `ETag`
/// and `Content-Encoding`.
pub fn response_head_with(status: &str, mime: &str, len: usize, close: bool, extra: &str) -> String {
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {len}\r\n\
         Cache-Control: no-cache\r\n{extra}{SECURITY_HEADERS}Connection: {connection}\r\n\r\n"
    )
}

/// `304 Not Modified`: the browser's copy (`etag`) is the file; no body.
pub fn not_modified(etag: &str, close: bool) -> String {
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nCache-Control: no-cache\r\nVary: Accept-Encoding\r\n\
         {SECURITY_HEADERS}Connection: {connection}\r\n\r\n"
    )
}

/// A whole plain-text response: an error and its reason, for a person.
pub fn text_response(status: &str, text: &str, close: bool) -> String {
    let body = format!("{text}\n");
    response_head(status, "text/plain; charset=utf-8", body.len(), close) + &body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        for yes in ["gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8", "*", "GZIP"] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in ["", "identity", "br", "gzip;q=0", "gzip; q=0.0, br", "x-gzip"] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn a_browser_upgrade_is_understood() {
        let request = b"GET /ws/send?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n\
            Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8080\r\n\r\n\x81";
        let (head, used) = parse(request).unwrap().unwrap();
        assert_eq!(used, request.len() - 1);
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/ws/send");
        assert!(head.upgrade && !head.close && !head.body);
        assert_eq!(head.host.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(head.origin.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(head.ws_version.as_deref(), Some("13"));
    }

    #[test]
    fn partial_and_broken_heads() {
        assert!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        assert!(matches!(parse(b"\x16\x03\x01 hello"), Err(HeadError::Bad)));
        let (head, _) = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(head.close);
        let (head, _) = parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").unwrap().unwrap();
        assert!(head.body);
    }

    #[test]
    fn too_many_headers_are_refused() {
        let mut request = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            request.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&request), Err(HeadError::TooLarge)));
    }

    #[test]
    fn responses_carry_the_policy() {
        let text = text_response("404 Not Found", "no such file", true);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(text.contains("Content-Security-Policy: default-src 'self'"));
        assert!(text.ends_with("\r\n\r\nno such file\n"));
        assert!(text.contains("Content-Length: 13\r\n"));
    }
}
