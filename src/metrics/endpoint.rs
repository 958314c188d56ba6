//! `--metrics ADDR`: the metrics over HTTP, for Prometheus and `wachat top`.
//!
//! One listener and one thread, which answers its connections one at a
//! time: a scrape is a few kilobytes every few seconds, and a client that
//! dawdles holds the thread for at most [`DEADLINE`], never a chat
//! handler. The request head is read with the web port's bounded reader
//! (`web::http`); the answer is `GET /metrics` (or `/`), the registry in
//! the text format, and `Connection: close`.
//!
//! **Who may scrape.** The metrics say who is busy and how full the disk
//! is: not for everyone. A connection from an address that is not
//! loopback is closed unanswered unless it is in `--metrics-allow` (an
//! address, or `0.0.0.0`/`::` for any), whatever address the listener is
//! bound to.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::server::Ctx;
use crate::transport::Stream;
use crate::web::http::{HeadError, HeadReader, response_head, text_response};

/// How long one scrape may take, from its connection to its last byte.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The port unless told otherwise (`--metrics 9100` is 127.0.0.1:9100).
pub const DEFAULT_PORT: u16 = 9100;

/// The content type of prometheus-client's text format (OpenMetrics).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `--metrics`: `PORT`, `HOST:PORT` or `HOST` (port 9100); a bare port
/// binds loopback.
pub fn parse_addr(s: &str) -> std::result::Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, DEFAULT_PORT)),
        Err(_) => Err(format!("{s:?} is not PORT, HOST:PORT or an address")),
    }
}

/// True if a connection from `peer` may scrape.
pub fn allowed(peer: IpAddr, allow: &[IpAddr]) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    peer.is_loopback() || allow.iter().any(|a| a.is_unspecified() || *a == peer)
}

/// Starts the endpoint's thread on a bound listener. It ends at the first
/// connection after the server began to shut down (the server wakes it
/// with one: `Server::adopt_listener`).
pub fn spawn(listener: TcpListener, ctx: Arc<Ctx>, allow: Vec<IpAddr>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if ctx.shutting_down() {
                    return;
                }
                let Ok(tcp) = conn else { continue };
                let Ok(peer) = tcp.peer_addr() else { continue };
                if !allowed(peer.ip(), &allow) {
                    log::info!("metrics: {peer} refused (not loopback, not in --metrics-allow)");
                    continue; // dropped: closed unanswered
                }
                serve(Stream::plain(tcp), peer, &ctx);
            }
        })
        .map_err(|e| Error::io("starting the metrics thread", e))
}

/// Answers one connection's request.
fn serve(stream: Stream, peer: SocketAddr, ctx: &Ctx) {
    let deadline = Instant::now() + DEADLINE;
    let _ = stream.set_write_timeout(Some(DEADLINE));
    let response = match HeadReader::default().read(&stream, deadline) {
        Ok(Some(head)) if head.method != "GET" && head.method != "HEAD" => {
            text_response("405 Method Not Allowed", "only GET", true)
        }
        Ok(Some(head)) if head.path == "/metrics" || head.path == "/" => {
            let metrics = super::get();
            super::sample::refresh(metrics, ctx);
            let body = metrics.encode();
            let mut response = response_head("200 OK", CONTENT_TYPE, body.len(), true);
            if head.method == "GET" {
                response.push_str(&body);
            }
            response
        }
        Ok(Some(_)) => text_response("404 Not Found", "the metrics are at /metrics", true),
        Ok(None) => return,
        Err(HeadError::TooLarge) => text_response("431 Request Header Fields Too Large", "too large", true),
        Err(HeadError::Bad) => text_response("400 Bad Request", "not an HTTP request", true),
        Err(HeadError::Io(e)) => {
            log::debug!("metrics {peer}: {e}");
            return;
        }
    };
    let _ = std::io::Write::write_all(&mut &stream, response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback_and_port_9100() {
        assert_eq!(parse_addr("9200").unwrap(), "127.0.0.1:9200".parse().unwrap());
        assert_eq!(parse_addr("0.0.0.0:9100").unwrap(), "0.0.0.0:9100".parse().unwrap());
        assert_eq!(parse_addr("::1").unwrap(), "[::1]:9100".parse().unwrap());
        assert_eq!(parse_addr("[::1]:7").unwrap(), "[::1]:7".parse().unwrap());
        assert!(parse_addr("nine").is_err());
    }

    #[test]
    fn only_loopback_unless_allowed() {
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert!(allowed("127.0.0.1".parse().unwrap(), &[]));
        assert!(allowed("::1".parse().unwrap(), &[]));
        assert!(allowed("::ffff:127.0.0.1".parse().unwrap(), &[]));
        assert!(!allowed(lan, &[]));
        assert!(!allowed(lan, &["10.0.0.1".parse().unwrap()]));
        assert!(allowed(lan, &[lan]));
        assert!(allowed(lan, &["0.0.0.0".parse().unwrap()]));
    }
}
