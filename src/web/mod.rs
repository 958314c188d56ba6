//! The web port (`wachat serve --web-port`, default 8080): the browser
//! client, served by the server itself.
//!
//! - `GET /` and the few files beside it: the app, embedded in the binary
//!   ([`assets`]); `GET /healthz`, whether the server takes requests
//!   ([`health`]).
//! - `/ws/send` and `/ws/receive`: WebSockets that carry **exactly the
//!   protocol's lines**, one line per text message, to and from the same
//!   handlers as the send and receive ports (`server::send`,
//!   `server::recv`). The WebSocket is a kind of
//!   [`crate::transport::Stream`] (`transport::websocket`), so the
//!   handlers, their logins, throttles, `--rate`, timeouts and the
//!   router's never-blocking outlet are the ones every TCP client meets.
//!   A student who opens the browser's developer tools sees the frames
//!   `nc` shows.
//!
//! Like the other ports: one listener, one accept thread, one thread per
//! connection, counted in `--max-connections` and `--max-per-address`;
//! with `--tls-cert` the port speaks HTTPS and WSS. Who may open a
//! WebSocket (the `Origin`), which names a request may call the server
//! by (its `Host`, `--web-host`) and which address a connection counts as
//! (`--trusted-proxy`): [`access`]. The HTTP itself: [`http`], which the
//! metrics endpoint (`--metrics`, [`metrics`]) speaks too.
//!
//! ```text
//!   accept-web thread ── admits (KO limits as 503), TLS ──▶ one thread per connection
//!        GET /, /app.js, …  ── the embedded file, keep-alive, next request
//!        GET /ws/send       ── 101, Stream::into_websocket ──▶ server::send::serve
//!        GET /ws/receive    ── 101, Stream::into_websocket ──▶ server::recv::serve
//! ```

pub mod access;
pub mod assets;
pub mod health;
pub mod http;
pub mod metrics;

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::server::{Ctx, Refusal, listener, threads};
use crate::transport::Stream;
use http::{Head, HeadError, HeadReader, not_modified, response_head_with, text_response};

/// The web port unless told otherwise (`--web-port`).
pub const DEFAULT_WEB_PORT: u16 = 8080;

/// Requests one connection may make before it is closed (a browser opens
/// another): loading the app takes ten.
const MAX_REQUESTS: usize = 100;

/// Stack size of a web connection's thread: the port handler's
/// (`threads::STACK_SIZE`) runs on top of the HTTP request that opened
/// it, and writes through the WebSocket framing; a debug build overflowed
/// 128 KiB on `REGISTER`. Only the pages touched count.
const STACK_SIZE: usize = 2 * threads::STACK_SIZE;

/// `--web-port`: a port (0: any free one), or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebPort {
    Off,
    Port(u16),
}

impl std::str::FromStr for WebPort {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<WebPort, String> {
        match s {
            "off" | "OFF" | "no" | "none" => Ok(WebPort::Off),
            _ => s.parse().map(WebPort::Port).map_err(|_| format!("{s:?} is neither a port nor \"off\"")),
        }
    }
}

/// What the web port is told besides the server's configuration.
#[derive(Clone, Debug, Default)]
pub struct WebOptions {
    /// Origins allowed to open WebSockets besides the app's own (`--web-origin`).
    pub origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Names besides `localhost` and IP addresses that requests may give
    /// as their `Host` (`--web-host`; see [`access`]).
    pub hosts: Vec<String>,
}

/// Binds the web port: `None` for `off`, and for the default port when it
/// is taken (said once, as a warning: scripts that start several servers
/// keep working); a port given explicitly that cannot be bound is an error.
pub fn bind(host: IpAddr, port: Option<WebPort>) -> Result<Option<TcpListener>> {
    match port {
        Some(WebPort::Off) => Ok(None),
        Some(WebPort::Port(port)) => listener::bind(SocketAddr::new(host, port)).map(Some),
        None => match listener::bind(SocketAddr::new(host, DEFAULT_WEB_PORT)) {
            Ok(listener) => Ok(Some(listener)),
            Err(e) => {
                log::warn!("web port: {e}; serving without it (--web-port PORT to choose another)");
                Ok(None)
            }
        },
    }
}

/// Starts the web port's accept loop in its own thread. It ends at the
/// first connection after the server started shutting down.
pub fn spawn(listener: TcpListener, ctx: Arc<Ctx>, options: WebOptions) -> Result<JoinHandle<()>> {
    let options = Arc::new(options);
    assets::prepare(); // the files gzipped now, before a browser waits for them
    std::thread::Builder::new()
        .name("accept-web".into())
        .spawn(move || accept_loop(&listener, &ctx, &options))
        .map_err(|e| Error::io("starting the web accept thread", e))
}

fn accept_loop(listener: &TcpListener, ctx: &Arc<Ctx>, options: &Arc<WebOptions>) {
    ctx.doors.wait();
    loop {
        let (tcp, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("web port: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if ctx.shutting_down() {
            return;
        }
        match ctx.admit(peer.ip()) {
            Ok(slot) => match Stream::accept(tcp, ctx.config.tls.as_ref()) {
                Ok(stream) => {
                    let (ctx, options) = (ctx.clone(), options.clone());
                    let spawned = std::thread::Builder::new().stack_size(STACK_SIZE).spawn(move || {
                        let open = &crate::metrics::get().connections_web;
                        open.inc();
                        let stream = serve(stream, peer, &ctx, &options);
                        open.dec();
                        drop(slot);
                        ctx.close_later(stream);
                    });
                    if let Err(e) = spawned {
                        log::error!("web port: cannot start a thread for {peer}: {e}");
                    }
                }
                Err(e) => log::error!("{peer}: cannot start TLS: {e}"),
            },
            Err(refusal) => refuse_busy(ctx, &tcp, &refusal),
        }
    }
}

/// The limits' answer in HTTP, from the accept thread, without waiting
/// (see `server::listener`'s `refuse_busy`; a TLS client just sees the end).
fn refuse_busy(ctx: &Ctx, mut tcp: &TcpStream, refusal: &Refusal) {
    if ctx.config.tls.is_some() {
        return;
    }
    let why = match *refusal {
        Refusal::Full(max) => format!("the server is full ({max} connections); try later"),
        Refusal::Address(max) => format!("too many connections from your address ({max}); try later"),
    };
    let _ = tcp.set_nonblocking(true);
    let _ = tcp.write_all(text_response("503 Service Unavailable", &why, true).as_bytes());
    let _ = tcp.shutdown(Shutdown::Write);
    let _ = tcp.read(&mut [0u8; 4096]);
}

/// Serves one connection: files until it asks for a WebSocket, which is
/// then served by the handler of its port until it closes. Returns the
/// socket for the caller to close.
pub fn serve(stream: Stream, peer: SocketAddr, ctx: &Arc<Ctx>, options: &WebOptions) -> Arc<Stream> {
    let _ = stream.tcp().set_nodelay(true);
    let timeout = ctx.config.timeout;
    let _ = stream.set_write_timeout(Some(timeout));
    let mut reader = HeadReader::default();
    for _ in 0..MAX_REQUESTS {
        let head = match reader.read(&stream, Instant::now() + timeout) {
            Ok(Some(head)) => head,
            Ok(None) => break,
            Err(HeadError::TooLarge) => {
                reply(
                    &stream,
                    &text_response("431 Request Header Fields Too Large", "request too large", true),
                );
                break;
            }
            Err(HeadError::Bad) => {
                reply(&stream, &text_response("400 Bad Request", "not an HTTP request", true));
                break;
            }
            Err(HeadError::Io(e)) if Stream::is_plaintext_client(&e) => {
                let text = text_response("400 Bad Request", "this port speaks HTTPS: open https://", true);
                stream.refuse_plaintext(&text);
                break;
            }
            Err(HeadError::Io(e)) => {
                log::debug!("web {peer}: {e}");
                break;
            }
        };
        if !access::host_allowed(head.host.as_deref(), &options.hosts) {
            refuse_host(&stream, peer, head.host.as_deref().unwrap_or(""));
            break;
        }
        let port = match head.path.as_str() {
            "/ws/send" => Some(crate::protocol::Port::Send),
            "/ws/receive" => Some(crate::protocol::Port::Receive),
            _ => None,
        };
        if let (Some(port), true) = (port, head.method == "GET") {
            return upgrade(stream, &head, reader.into_rest(), port, peer, ctx, options);
        }
        if head.path == health::PATH && (head.method == "GET" || head.method == "HEAD") {
            reply(&stream, &health::response(ctx, head.method == "HEAD"));
            break;
        }
        if !serve_file(&stream, &head) || head.close {
            break;
        }
    }
    Arc::new(stream)
}

/// Refuses a request that names the server by a name it does not know
/// (a DNS rebinding, or a name the operator has not listed).
fn refuse_host(stream: &Stream, peer: SocketAddr, host: &str) {
    log::info!("web {peer}: request for the name {host:?} refused (--web-host NAME allows it)");
    let why = format!(
        "this server does not answer to the name {host:?}: open it by its address or as localhost, \
         or start it with --web-host NAME"
    );
    reply(stream, &text_response("403 Forbidden", &why, true));
}

/// Answers a request for a file; false if the connection must close.
fn serve_file(stream: &Stream, head: &Head) -> bool {
    let close = head.close || head.body;
    if head.method != "GET" && head.method != "HEAD" {
        reply(stream, &text_response("405 Method Not Allowed", "only GET", true));
        return false;
    }
    let Some(asset) = assets::find(&head.path) else {
        return reply(stream, &text_response("404 Not Found", "no such file", close)) && !close;
    };
    // The browser's copy is this file: 304, no body, nothing sent twice.
    let prepared = assets::prepared(asset);
    if head.if_none_match.as_deref().is_some_and(|tags| prepared.matches(tags)) {
        let etag = if head.gzip && prepared.gzip.is_some() { &prepared.etag_gzip } else { &prepared.etag };
        return write_all(stream, not_modified(etag, close).as_bytes()) && !close;
    }
    let gzip = head.gzip && prepared.gzip.is_some();
    let body = assets::sent(asset, gzip);
    let extra = if gzip {
        format!("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\nETag: {}\r\n", prepared.etag_gzip)
    } else {
        format!("Vary: Accept-Encoding\r\nETag: {}\r\n", prepared.etag)
    };
    let mut bytes = response_head_with("200 OK", asset.mime, body.len(), close, &extra).into_bytes();
    if head.method == "GET" {
        bytes.extend_from_slice(body);
    }
    write_all(stream, &bytes) && !close
}

/// Answers a WebSocket handshake and hands the connection to its port's
/// handler, or refuses it with a reason.
fn upgrade(
    stream: Stream,
    head: &Head,
    early: Vec<u8>,
    port: crate::protocol::Port,
    peer: SocketAddr,
    ctx: &Arc<Ctx>,
    options: &WebOptions,
) -> Arc<Stream> {
    let refuse = |status: &str, why: &str| {
        reply(&stream, &text_response(status, why, true));
    };
    if !access::origin_allowed(
        head.origin.as_deref(),
        head.host.as_deref(),
        stream.is_tls(),
        &options.origins,
    ) {
        let origin = head.origin.as_deref().unwrap_or("");
        log::info!("web {peer}: WebSocket from origin {origin:?} refused (--web-origin allows more)");
        refuse("403 Forbidden", "this origin may not open a WebSocket here (--web-origin)");
        return Arc::new(stream);
    }
    let Some(client) = access::client_address(peer, head.forwarded_for.as_deref(), &options.trusted_proxies)
    else {
        refuse("400 Bad Request", "X-Forwarded-For is not an address");
        return Arc::new(stream);
    };
    let (Some(key), true) = (&head.ws_key, head.upgrade) else {
        refuse("400 Bad Request", "a WebSocket handshake was expected here");
        return Arc::new(stream);
    };
    if head.ws_version.as_deref() != Some("13") {
        let text = text_response("426 Upgrade Required", "WebSocket version 13 only", true);
        reply(&stream, &text.replacen("\r\n", "\r\nSec-WebSocket-Version: 13\r\n", 1));
        return Arc::new(stream);
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let switching = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if !write_all(&stream, switching.as_bytes()) {
        return Arc::new(stream);
    }
    let stream = stream.into_websocket(early, ctx.config.max_frame);
    match port {
        crate::protocol::Port::Send => crate::server::send::serve(stream, client, ctx),
        crate::protocol::Port::Receive => crate::server::recv::serve(stream, client, ctx),
    }
}

/// Writes a whole response within the timeout; false if it could not.
fn write_all(stream: &Stream, bytes: &[u8]) -> bool {
    let mut writer = stream;
    writer.write_all(bytes).is_ok()
}

fn reply(stream: &Stream, text: &str) -> bool {
    write_all(stream, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_ports_are_numbers_or_off() {
        assert_eq!("8080".parse(), Ok(WebPort::Port(8080)));
        assert_eq!("0".parse(), Ok(WebPort::Port(0)));
        assert_eq!("off".parse(), Ok(WebPort::Off));
        assert!("eighty".parse::<WebPort>().is_err());
        assert!("70000".parse::<WebPort>().is_err());
    }
}
