//! `--metrics ADDR`: the metrics over HTTP, for Prometheus and `wachat top`.
//!
//! It lives beside the web port because it speaks the same little HTTP
//! ([`super::http`]: a bounded request head, read with a deadline), and so
//! that `src/metrics/` stays a leaf that counts and imports nothing of the
//! server. The answer is `GET /metrics` (or `/`), the registry in the text
//! format, with the gauges sampled from the server first, and
//! `Connection: close`.
//!
//! **Served like the other ports.** One accept thread, one thread per
//! connection, each held at most [`DEADLINE`] from its connection to its
//! last byte. A scrape takes milliseconds, so at most [`MAX_SCRAPERS`] are
//! served at once; past that, a connection is answered `503` at once
//! instead of waiting. (Served one connection at a time, 20 silent sockets
//! would hold a scrape back for 40 s.)
//!
//! **One address cannot take every place** (else 32 silent connections
//! would make every scrape answer `503` for 2 s, again and again).
//! One address (an IPv6 /64, `server::throttle::address_key`) holds at
//! most [`MAX_SCRAPERS_PER_ADDRESS`] places, and a connection that has not
//! sent its request head within [`HEAD_DEADLINE`] is closed unanswered: a
//! scraper sends its one line at once. So a silent address keeps 4 places
//! for half a second at a time, and the other 28 are free for others; an
//! attacker on the scraper's own address (both loopback) still gives its
//! places back twice a second.
//!
//! **Who may scrape.** The metrics say who is busy and how full the disk
//! is: not for everyone. A connection from an address that is not
//! loopback is closed unanswered unless it is in `--metrics-allow` (an
//! address, or `0.0.0.0`/`::` for any), whatever address the listener is
//! bound to. And as on the web port, a request must call the server by an
//! address, `localhost` or a `--web-host` name (`super::access`): a page
//! of a DNS-rebinding name, in a browser on the server's own machine, is
//! a loopback peer.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use super::access::host_allowed;
use super::http::{HeadError, HeadReader, response_head, text_response};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::metrics::sample::{dir_bytes, free_bytes};
use crate::server::throttle::address_key;
use crate::server::{Ctx, threads};
use crate::transport::Stream;

/// Scrapes served at once; more is someone holding connections open.
pub const MAX_SCRAPERS: usize = 32;

/// Places one address may hold at once (of [`MAX_SCRAPERS`]): Prometheus
/// and `wachat top` scrape one at a time.
pub const MAX_SCRAPERS_PER_ADDRESS: usize = 4;

/// How long one scrape may take, from its connection to its last byte.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// How long a connection may take to send its request head.
pub const HEAD_DEADLINE: Duration = Duration::from_millis(500);

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

/// Who may scrape.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Addresses besides loopback (`--metrics-allow`).
    pub allow: Vec<IpAddr>,
    /// Names besides `localhost` and IP addresses that a request may give
    /// as its `Host` (`--web-host`, as on the web port: a DNS-rebinding
    /// page in a browser on the server's machine is a loopback peer).
    pub hosts: Vec<String>,
}

/// Starts the endpoint's accept thread on a bound listener. It ends at
/// the first connection after the server began to shut down (the server
/// wakes it with one: `Server::adopt_listener`); a scrape under way ends
/// by its deadline.
pub fn spawn(listener: TcpListener, ctx: Arc<Ctx>, access: Access) -> Result<JoinHandle<()>> {
    crate::metrics::serving();
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || accept_loop(&listener, &ctx, &Arc::new(access)))
        .map_err(|e| Error::io("starting the metrics thread", e))
}

fn accept_loop(listener: &TcpListener, ctx: &Arc<Ctx>, access: &Arc<Access>) {
    let scraping = Arc::new(Places::default());
    for conn in listener.incoming() {
        if ctx.shutting_down() {
            return;
        }
        let Ok(tcp) = conn else { continue };
        let Ok(peer) = tcp.peer_addr() else { continue };
        if !allowed(peer.ip(), &access.allow) {
            log::info!("metrics: {peer} refused (not loopback, not in --metrics-allow)");
            continue; // dropped: closed unanswered
        }
        let Some(slot) = ScraperPlace::take(&scraping, address_key(peer.ip())) else {
            refuse_busy(&tcp);
            continue;
        };
        let (ctx, access) = (ctx.clone(), access.clone());
        let spawned = std::thread::Builder::new().stack_size(threads::STACK_SIZE).spawn(move || {
            serve(Stream::plain(tcp), peer, &ctx, &access.hosts);
            drop(slot);
        });
        if let Err(e) = spawned {
            log::error!("metrics: cannot start a thread for {peer}: {e}");
        }
    }
}

/// The places taken: in all, and by each address.
#[derive(Default)]
struct Places {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One of the [`MAX_SCRAPERS`] places, given back when dropped.
struct ScraperPlace {
    places: Arc<Places>,
    address: IpAddr,
}

impl ScraperPlace {
    /// A place for `address`, if there is one left in all and for it.
    fn take(places: &Arc<Places>, address: IpAddr) -> Option<ScraperPlace> {
        let mut by_address = places.by_address.lock();
        let taken: usize = by_address.values().sum();
        let its = by_address.get(&address).copied().unwrap_or(0);
        if taken >= MAX_SCRAPERS || its >= MAX_SCRAPERS_PER_ADDRESS {
            return None; // and nothing kept for a refused address
        }
        by_address.insert(address, its + 1);
        Some(ScraperPlace { places: places.clone(), address })
    }
}

impl Drop for ScraperPlace {
    fn drop(&mut self) {
        let mut by_address = self.places.by_address.lock();
        if let Some(n) = by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

/// Past [`MAX_SCRAPERS`]: `503`, from the accept thread, without waiting
/// (what the kernel does not take now is not sent).
fn refuse_busy(mut tcp: &TcpStream) {
    let why = format!(
        "{MAX_SCRAPERS} scrapes under way already, or {MAX_SCRAPERS_PER_ADDRESS} from your address; try later"
    );
    let _ = tcp.set_nonblocking(true);
    let _ = tcp.write_all(text_response("503 Service Unavailable", &why, true).as_bytes());
    let _ = tcp.shutdown(Shutdown::Write);
    let _ = tcp.read(&mut [0u8; 4096]); // the request, so that the close is not a reset
}

/// Answers one connection's request.
fn serve(stream: Stream, peer: SocketAddr, ctx: &Ctx, hosts: &[String]) {
    let deadline = Instant::now() + DEADLINE;
    let _ = stream.set_write_timeout(Some(DEADLINE));
    let head_by = Instant::now() + HEAD_DEADLINE;
    let response = match HeadReader::default().read(&stream, head_by.min(deadline)) {
        Ok(Some(head)) if head.method != "GET" && head.method != "HEAD" => {
            text_response("405 Method Not Allowed", "only GET", true)
        }
        Ok(Some(head)) if !host_allowed(head.host.as_deref(), hosts) => {
            let host = head.host.unwrap_or_default();
            log::info!("metrics {peer}: request for the name {host:?} refused (--web-host NAME allows it)");
            let why = format!("this server does not answer to the name {host:?} (--web-host NAME)");
            text_response("403 Forbidden", &why, true)
        }
        Ok(Some(head)) if head.path == super::health::PATH => {
            super::health::response(ctx, head.method == "HEAD")
        }
        Ok(Some(head)) if head.path == "/metrics" || head.path == "/" => {
            let metrics = crate::metrics::get();
            refresh(metrics, ctx);
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
    let _ = (&stream).write_all(response.as_bytes());
}

/// Sets the gauges sampled at scrape time (see `metrics::sample`) from
/// the running server.
fn refresh(metrics: &Metrics, ctx: &Ctx) {
    metrics.online.set(ctx.router.online_users().len() as i64);
    if let Some(federation) = ctx.federation.get() {
        metrics.set_links(&federation.peer_links());
    }
    metrics.set_watch(&crate::server::auth::watch::watched(&ctx.watch));
    metrics.inbox_events.set(clamp(ctx.store.inbox_events()));
    let dir = &ctx.config.data_dir;
    if dir.is_dir() {
        metrics.disk_bytes.set(clamp(dir_bytes(dir, 2)));
        if let Some(free) = free_bytes(dir) {
            metrics.disk_free.set(clamp(free));
        }
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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

    #[test]
    fn at_most_max_scrapers_at_once_and_a_few_an_address() {
        let places = Arc::new(Places::default());
        let address = |i: usize| IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
        let one: Vec<ScraperPlace> = (0..10).map_while(|_| ScraperPlace::take(&places, address(0))).collect();
        assert_eq!(one.len(), MAX_SCRAPERS_PER_ADDRESS, "one address takes a few");
        let others: Vec<ScraperPlace> =
            (1..100).map_while(|i| ScraperPlace::take(&places, address(i))).collect();
        assert_eq!(one.len() + others.len(), MAX_SCRAPERS);
        assert!(ScraperPlace::take(&places, address(500)).is_none(), "one more waits for none: 503");
        drop((one, others));
        assert!(places.by_address.lock().is_empty());
        assert!(ScraperPlace::take(&places, address(0)).is_some());
    }
}
