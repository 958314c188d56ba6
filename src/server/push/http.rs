//! One push, one HTTPS request (RFC 8030 §5): a `POST` of the encrypted
//! body to the subscription's endpoint over TLS ([`Stream`], rustls), on
//! a connection of its own (`Connection: close`), by the sending thread
//! that holds it. A few dozen lines of HTTP/1.1 instead of a client
//! crate: the request is one shape, and the answer is read for its
//! status and `Retry-After` only.
//!
//! One deadline ([`ATTEMPT`]) covers the whole exchange: the name's
//! lookup, the connection, the TLS handshake, the request, the answer's
//! head (at most [`MAX_HEAD`] bytes). Every wait is for what is left of
//! it, not a timeout of its own: a push service that sends a byte every
//! few seconds (in its handshake, or after it) holds a sending thread
//! for [`ATTEMPT`] at most, however it spreads its bytes. The exchange
//! ends with the answer's head: its body, if any, is never read (the
//! connection is closed; the status says all a push needs).

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::endpoint::Endpoint;
use crate::transport::Stream;
use crate::transport::tls::Tls;

/// How long one attempt may take, all of it.
pub const ATTEMPT: Duration = Duration::from_secs(10);
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
/// (`loopback`: `--push-test-ca`'s exception), all of it before `deadline`.
pub fn post(
    tls: &Tls,
    (endpoint, loopback): (&Endpoint, bool),
    h: &Headers,
    body: &[u8],
    deadline: Instant,
) -> io::Result<Answer> {
    let addrs = endpoint
        .addresses_by(loopback, deadline)
        .map_err(|why| io::Error::new(io::ErrorKind::PermissionDenied, why))?;
    let tcp = connect(&addrs, deadline)?;
    let timed_out = |e: io::Error, what: &str| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => late(what),
        _ => e,
    };
    let tls = Stream::connect(tcp, Some(tls), &endpoint.host, deadline)
        .map_err(|e| timed_out(e, "TLS handshake"))?;
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
    tls.write_all_by(&request, deadline).map_err(|e| timed_out(e, "request"))?;
    let answer = read_answer(&tls, deadline).map_err(|e| timed_out(e, "answer"));
    let _ = tls.shutdown(std::net::Shutdown::Both);
    answer
}

/// A connection to the first of `addrs` that takes one before `deadline`.
fn connect(addrs: &[SocketAddr], deadline: Instant) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotConnected, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, left(deadline, "connection")?) {
            Ok(tcp) => return Ok(tcp),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => last = late("connection"),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// What is left of `deadline`, or the error of `what` that ran out of it.
fn left(deadline: Instant, what: &str) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() { Err(late(what)) } else { Ok(left) }
}

fn late(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the attempt's {} s ran out in its {what}", ATTEMPT.as_secs()),
    )
}

/// Reads the answer's head, each read waiting for what is left of
/// `deadline`, and parses it.
fn read_answer(stream: &Stream, deadline: Instant) -> io::Result<Answer> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        stream.set_read_timeout(Some(left(deadline, "answer")?))?;
        let n = match (&*stream).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(late("answer")),
            Err(e) => return Err(e),
        };
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

    /// A service that sends a TLS record's first bytes, one every 200 ms
    /// (each within any per-read timeout), is given up at the attempt's
    /// deadline, in its handshake.
    #[test]
    fn a_service_that_drips_its_handshake_is_given_up_at_the_deadline() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    for byte in [0x16u8, 3, 3, 0x40, 0].iter().chain(std::iter::repeat(&0)) {
                        if stream.write_all(&[*byte]).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                });
            }
        });
        let tls = Tls::system_and(None, "").unwrap();
        let endpoint = Endpoint::parse(&format!("https://127.0.0.1:{port}/push")).unwrap();
        let headers = Headers { ttl_s: 60, urgency: "normal", topic: "t", authorization: "vapid" };
        let began = Instant::now();
        let deadline = began + Duration::from_secs(1);
        let e = post(&tls, (&endpoint, true), &headers, b"x", deadline).unwrap_err();
        let took = began.elapsed();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains("TLS handshake"), "{e}");
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "{took:?}");
    }
}
