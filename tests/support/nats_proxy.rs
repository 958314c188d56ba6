//! A TCP proxy between one node and `nats-server` that loses the frames a
//! test chooses, while both ends stay connected: what NATS, "at most
//! once", may do to any message, made to happen when the test wants it
//! and to nothing else. The node's `--bus` is the proxy's [`NatsProxy::url`].
//!
//! It reads the NATS client protocol just enough to know where a
//! message's payload is (docs.nats.io, "Client protocol"): a control line
//! ends with `\r\n`; the node publishes with `PUB <subject> [reply]
//! <#bytes>` or, with headers, `HPUB <subject> [reply] <#header bytes>
//! <#total bytes>`, and is delivered `MSG <subject> <sid> [reply]
//! <#bytes>` or `HMSG <subject> <sid> [reply] <#header bytes> <#total
//! bytes>`, each line followed by that many bytes and `\r\n`. Operation
//! names are case insensitive, fields split by spaces or tabs. Every other
//! line (`INFO`, `CONNECT`, `SUB`, `PING`, …) passes as it is.
//!
//! A message whose payload (past its headers) begins with a word of its
//! direction's [`Filter`] is dropped whole, line and payload, as if NATS
//! lost it; the node publishes without `verbose`, so no `+OK` tells it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest control line let through (a `CONNECT`'s or an `INFO`'s JSON).
const MAX_LINE: usize = 64 * 1024;

/// The largest message let through: twice NATS's default `max_payload`
/// (1 MiB), which a node's batches keep within.
const MAX_MESSAGE: usize = 2 * 1024 * 1024;

/// How often a pump blocked in a read looks whether the proxy stops.
const STOP_POLL: Duration = Duration::from_millis(100);

/// How long writing to either end may wait.
const WRITE_WAIT: Duration = Duration::from_secs(5);

/// A running proxy; dropping it stops it, its connections cut.
pub struct NatsProxy {
    /// `nats://127.0.0.1:<port>`: the node's `--bus`.
    pub url: String,
    /// What the node publishes (`PUB`, `HPUB`).
    pub to_server: Arc<Filter>,
    /// What NATS delivers to the node (`MSG`, `HMSG`).
    pub to_client: Arc<Filter>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// The words whose messages one direction drops, and what it dropped.
#[derive(Default)]
pub struct Filter {
    /// None: every message passes.
    words: Mutex<Vec<String>>,
    /// How many messages were dropped, by the word they began with.
    dropped: Mutex<HashMap<String, usize>>,
}

impl Filter {
    /// From now on, drops the messages whose payload begins with one of
    /// `words` (followed by a space, a newline, or nothing).
    pub fn drop_starting_with(&self, words: &[&str]) {
        *self.words.lock().unwrap() = words.iter().map(|w| w.to_string()).collect();
    }

    /// From now on, lets every message pass.
    pub fn pass_everything(&self) {
        self.words.lock().unwrap().clear();
    }

    /// How many messages beginning with `word` were dropped so far.
    pub fn dropped(&self, word: &str) -> usize {
        self.dropped.lock().unwrap().get(word).copied().unwrap_or(0)
    }

    /// Whether a message with `payload` passes; one that does not is counted.
    fn passes(&self, payload: &[u8]) -> bool {
        let words = self.words.lock().unwrap();
        let Some(word) = words.iter().find(|w| begins_with_word(payload, w)) else { return true };
        *self.dropped.lock().unwrap().entry(word.clone()).or_default() += 1;
        false
    }
}

fn begins_with_word(payload: &[u8], word: &str) -> bool {
    payload.starts_with(word.as_bytes()) && matches!(payload.get(word.len()), None | Some(b' ' | b'\n'))
}

impl NatsProxy {
    /// A proxy on a free loopback port to the `nats-server` at `nats_port`.
    pub fn start(nats_port: u16) -> NatsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the NATS proxy");
        let addr = listener.local_addr().unwrap();
        let (to_server, to_client) = (Arc::new(Filter::default()), Arc::new(Filter::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = SocketAddr::from(([127, 0, 0, 1], nats_port));
        let acceptor = {
            let (to_server, to_client, stop) = (to_server.clone(), to_client.clone(), stop.clone());
            std::thread::spawn(move || accept(listener, upstream, &to_server, &to_client, &stop))
        };
        NatsProxy {
            url: format!("nats://{addr}"),
            to_server,
            to_client,
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }
}

impl Drop for NatsProxy {
    /// The flag, then a connection of its own to wake the blocked
    /// `accept`; the acceptor joins the pumps, which see the flag within
    /// [`STOP_POLL`].
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Takes the node's connections until the proxy stops, each joined to a
/// new connection to NATS by two pumps; then waits for the pumps.
fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    to_server: &Arc<Filter>,
    to_client: &Arc<Filter>,
    stop: &Arc<AtomicBool>,
) {
    let mut pumps = Vec::new();
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(client) = client else { continue };
        // NATS down: the node's connection ends, and its client retries.
        let Ok(server) = TcpStream::connect(upstream) else { continue };
        for (from, to, filter) in [(&client, &server, to_server), (&server, &client, to_client)] {
            let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else { continue };
            let (filter, stop) = (filter.clone(), stop.clone());
            pumps.push(std::thread::spawn(move || pump(from, to, &filter, &stop)));
        }
    }
    for pump in pumps {
        let _ = pump.join();
    }
}

/// Carries what `from` sends to `to`, frame by frame, without the
/// messages `filter` drops, until either end closes, a frame is beyond
/// the bounds, or the proxy stops; then cuts both.
fn pump(mut from: TcpStream, mut to: TcpStream, filter: &Filter, stop: &AtomicBool) {
    let _ = from.set_read_timeout(Some(STOP_POLL));
    let _ = to.set_write_timeout(Some(WRITE_WAIT));
    let mut pending = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::SeqCst) {
        match from.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(_) => break,
        }
        let mut out = Vec::new();
        let mut used = 0;
        let whole = loop {
            match next_frame(&pending[used..]) {
                Ok(Some(frame)) => {
                    let bytes = &pending[used..used + frame.len];
                    if frame.payload.clone().is_none_or(|payload| filter.passes(&bytes[payload])) {
                        out.extend_from_slice(bytes);
                    }
                    used += frame.len;
                }
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        pending.drain(..used);
        if !whole || to.write_all(&out).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A whole frame at the start of the bytes read: its length, and where
/// its payload is when it is a message.
#[derive(Debug, PartialEq)]
struct Frame {
    len: usize,
    payload: Option<Range<usize>>,
}

/// The frame `bytes` begin with; `None` if it is not all there yet.
fn next_frame(bytes: &[u8]) -> Result<Option<Frame>, String> {
    let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") else {
        if bytes.len() > MAX_LINE {
            return Err(format!("no end of line in {} bytes", bytes.len()));
        }
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&bytes[..eol]);
    let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    let op = fields.first().map(|f| f.to_ascii_uppercase()).unwrap_or_default();
    let number = |back: usize| -> Result<usize, String> {
        let field = fields.len().checked_sub(back).and_then(|i| fields.get(i)).ok_or(line.to_string())?;
        field.parse().map_err(|_| format!("not a size: {line}"))
    };
    // The fields a message's line has at least, and whether it has headers.
    let (least, headers) = match op.as_str() {
        "PUB" => (3, false),
        "MSG" | "HPUB" => (4, op == "HPUB"),
        "HMSG" => (5, true),
        _ => return Ok(Some(Frame { len: eol + 2, payload: None })),
    };
    if fields.len() < least {
        return Err(format!("too few fields: {line}"));
    }
    let total = number(1)?;
    let header_len = if headers { number(2)? } else { 0 };
    if total > MAX_MESSAGE || header_len > total {
        return Err(format!("sizes out of bounds: {line}"));
    }
    let start = eol + 2;
    let len = start + total + 2;
    if bytes.len() < len {
        return Ok(None);
    }
    if &bytes[start + total..len] != b"\r\n" {
        return Err(format!("no end of payload after {total} bytes: {line}"));
    }
    Ok(Some(Frame { len, payload: Some(start + header_len..start + total) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_at_their_lengths_and_payloads_found_past_headers() {
        let msg = b"MSG wachat.t.node.b 7 11\r\nCLOSED 3\r\nx\r\nPING\r\n";
        let line = "MSG wachat.t.node.b 7 11\r\n".len();
        let frame = next_frame(msg).unwrap().unwrap();
        assert_eq!(frame, Frame { len: line + 11 + 2, payload: Some(line..line + 11) });
        assert_eq!(next_frame(&msg[frame.len..]), Ok(Some(Frame { len: 6, payload: None })));
        for cut in 0..frame.len {
            assert_eq!(next_frame(&msg[..cut]), Ok(None), "{cut} bytes");
        }
        let hpub = b"hpub lead.1 _INBOX.x\t12 17\r\nNATS/1.0\r\n\r\nALIVE\r\n";
        let frame = next_frame(hpub).unwrap().unwrap();
        assert_eq!((frame.len, &hpub[frame.payload.unwrap()]), (hpub.len(), &b"ALIVE"[..]));
        let hmsg = b"HMSG s 1 12 14\r\nNATS/1.0\r\n\r\nab\r\n";
        assert_eq!(&hmsg[next_frame(hmsg).unwrap().unwrap().payload.unwrap()], b"ab");
        assert!(next_frame(b"PUB s 3\r\nabcd\r\n").is_err(), "a payload longer than said");
        assert!(next_frame(b"PUB s\r\n").is_err());
        assert!(next_frame(&vec![b'x'; MAX_LINE + 1]).is_err());
        assert!(begins_with_word(b"ALIVE b", "ALIVE") && begins_with_word(b"SHUT 4\n", "SHUT"));
        assert!(!begins_with_word(b"ALIVEX", "ALIVE"));
    }
}
