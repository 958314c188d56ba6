//! One push, one HTTPS request (RFC 8030 §5): a `POST` of the encrypted
//! body to the subscription's endpoint over rustls, on a connection of its
//! own (`Connection: close`), by the sending thread that holds it. A few
//! dozen lines of HTTP/1.1 instead of a client crate: the request is one
//! shape, and the answer is read for its status and `Retry-After` only.
//!
//! Every step has a deadline ([`CONNECT_TIMEOUT`], [`IO_TIMEOUT`]) and
//! the answer's head is read up to [`MAX_HEAD`] bytes: a push service
//! that never answers holds a sending thread for seconds, not for ever.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::endpoint::Endpoint;
use crate::transport::tls::Tls;

/// How long a connection to a push service may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one read or one write may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of the answer read: its status line and headers.
pub const MAX_HEAD: usize = 16 * 1024;

/// A push request's headers besides those of every request.
pub struct Headers<'a> {
    pub ttl_s: u32,
    pub urgency: &'a str,
    pub topic: &'a str,
    /// `vapid t=…, k=…`.
    pub authorization: &'a str,
}

/// What the push service answered: its status, and `Retry-After` in
/// seconds if it said one.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
}

/// POSTs `body` to `endpoint`, at one of its addresses checked just now
/// (`loopback`: `--push-test-ca`'s exception).
pub fn post(tls: &Tls, endpoint: &Endpoint, loopback: bool, h: &Headers, body: &[u8]) -> io::Result<Answer> {
    let addrs =
        endpoint.addresses(loopback).map_err(|why| io::Error::new(io::ErrorKind::PermissionDenied, why))?;
    let mut last = io::Error::new(io::ErrorKind::NotConnected, "no address");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut tls = rustls::StreamOwned::new(tls.client(&endpoint.host)?, tcp);
    let host = endpoint.origin();
    let host = host.trim_start_matches("https://");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nTTL: {}\r\nUrgency: {}\r\nTopic: {}\r\nAuthorization: {}\r\n\
         Content-Encoding: aes128gcm\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        endpoint.target,
        h.ttl_s,
        h.urgency,
        h.topic,
        h.authorization,
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    tls.write_all(&request)?;
    tls.flush()?;
    read_answer(&mut tls)
}

/// Reads the answer's head and parses it.
fn read_answer(from: &mut impl Read) -> io::Result<Answer> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the push service's answer head is too long",
            ));
        }
    }
    parse_head(&String::from_utf8_lossy(&head))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "the push service's answer is not HTTP"))
}

/// The status and `Retry-After` (seconds; an HTTP date is taken as no
/// advice) of an answer's head.
fn parse_head(head: &str) -> Option<Answer> {
    let mut lines = head.split("\r\n");
    let status = lines.next()?.strip_prefix("HTTP/1.")?.get(2..)?.split(' ').next()?.parse().ok()?;
    let retry_after = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Some(Answer { status, retry_after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_its_status_and_retry_after() {
        let a = parse_head("HTTP/1.1 201 Created\r\nLocation: /m/1\r\n\r\n").unwrap();
        assert_eq!((a.status, a.retry_after), (201, None));
        let a = parse_head("HTTP/1.1 429 Too Many\r\nretry-after:  2\r\n\r\n").unwrap();
        assert_eq!((a.status, a.retry_after), (429, Some(Duration::from_secs(2))));
        let a = parse_head("HTTP/1.0 503 x\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n\r\n").unwrap();
        assert_eq!((a.status, a.retry_after), (503, None));
        assert!(parse_head("SSH-2.0-x\r\n").is_none());
        assert!(parse_head("").is_none());
    }
}
