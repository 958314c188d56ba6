//! The proxies in front of the link ports of a federation (protocol 1.3,
//! docs/PROTOCOL.md §27), and the splits between its servers.
//!
//! The roster the servers read names, for each server, the address of its
//! proxy here instead of its link port; so every link to a server comes
//! through its proxy. A link is TLS, and its first record (the
//! ClientHello) says who is speaking in clear: the dialer's TLS server
//! name is its own name (§27); a plaintext connection's first line
//! (`HELLO:1.3:<from>:…`) does too. So the proxy knows which two servers
//! a connection joins without being told, and a split between `lab1` and
//! `lab2` cuts exactly their links, both ways. After that first record
//! (or line) a connection is forwarded byte for byte: chaos reads no
//! frame of the link, and could not (they are encrypted).
//!
//! A split is one of three kinds, as a network fails:
//! - **silent**: what the two servers' links carry is held back (packets
//!   dropped, TCP sending them again), and a new link between them waits
//!   unanswered; when the split ends, what was held arrives, in order,
//!   if both ends still listen. Each side learns of the split only by
//!   its own timeout.
//! - **closed**: their links are closed at once, in the middle of
//!   whatever they carried, and a new link between them is closed after
//!   its first line (a peer that refuses).
//! - **one-way**: `a` hears nothing from `b` (a route lost one way): what
//!   `b` sends to `a` is held back, what `a` sends to `b` passes. So `b`
//!   takes `a`'s frames and its answers never come back: the case where a
//!   sender cannot know that its peer has its message.
//!
//! Bounded: at most [`HOLD_MAX`] bytes held per direction of a link (past
//! it the proxy stops reading, and TCP makes the sender wait), a first
//! line of at most [`FIRST_LINE_MAX`] bytes within [`FIRST_LINE_WAIT`].

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::schedule::SplitKind;
use crate::protocol::link::Opening;

/// Bytes held back per direction of a link during a silent split.
pub const HOLD_MAX: usize = 1 << 20;

/// The longest first line read: a link's frame is at most 16384 bytes.
pub const FIRST_LINE_MAX: usize = 20_000;

/// How long a new connection may take to say who it is.
pub const FIRST_LINE_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting direction looks at the splits.
const TICK: Duration = Duration::from_millis(20);

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A split now: `a` and `b` (`None`: every other server) apart until `until`.
struct Apart {
    a: String,
    b: Option<String>,
    until: Instant,
    how: SplitKind,
}

impl Apart {
    /// What it does to the bytes `src` sends to `dst`.
    fn to(&self, src: &str, dst: &str) -> Between {
        match self.how {
            _ if !self.between(src, dst) => Between::Open,
            SplitKind::Closed => Between::Closed,
            SplitKind::Silent => Between::Silent,
            SplitKind::OneWay if dst.eq_ignore_ascii_case(&self.a) => Between::Silent,
            SplitKind::OneWay => Between::Open,
        }
    }

    fn between(&self, x: &str, y: &str) -> bool {
        let is = |name: &str, other: &str| {
            name.eq_ignore_ascii_case(&self.a)
                && self.b.as_deref().is_none_or(|b| other.eq_ignore_ascii_case(b))
                && !other.eq_ignore_ascii_case(&self.a)
        };
        Instant::now() < self.until && (is(x, y) || is(y, x))
    }
}

/// A link through a proxy: the two servers it joins, and its sockets.
struct Joined {
    from: String,
    to: String,
    client: TcpStream,
    server: TcpStream,
    done: Arc<AtomicBool>,
}

/// Which servers cannot reach which now, and the links through the proxies.
#[derive(Default)]
pub struct Splits {
    apart: Mutex<Vec<Apart>>,
    joined: Mutex<Vec<Joined>>,
}

/// What the splits do to the bytes one server sends another now, the
/// worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Between {
    Closed,
    Silent,
    Open,
}

impl Splits {
    /// `a` and `b` (`None`: every other server) apart for `length`; a
    /// closed split closes their links now. How many links it cut or holds.
    pub fn split(&self, a: &str, b: Option<&str>, length: Duration, how: SplitKind) -> usize {
        let apart = Apart { a: a.into(), b: b.map(str::to_string), until: Instant::now() + length, how };
        let mut joined = locked(&self.joined);
        joined.retain(|j| !j.done.load(Ordering::SeqCst));
        let hit: Vec<&Joined> = joined.iter().filter(|j| apart.between(&j.from, &j.to)).collect();
        if how == SplitKind::Closed {
            for j in &hit {
                j.client.shutdown(Shutdown::Both).ok();
                j.server.shutdown(Shutdown::Both).ok();
            }
        }
        let n = hit.len();
        locked(&self.apart).push(apart);
        n
    }

    /// Every split ends now (the end of a run's faults).
    pub fn heal(&self) {
        locked(&self.apart).clear();
    }

    /// What the splits do now to what `src` sends to `dst`.
    fn to(&self, src: &str, dst: &str) -> Between {
        let mut apart = locked(&self.apart);
        apart.retain(|a| Instant::now() < a.until);
        apart.iter().map(|a| a.to(src, dst)).min().unwrap_or(Between::Open)
    }

    /// What the splits do to the bytes `src` sends `dst` on a link: all
    /// cut if the link is closed either way, else what they do to this
    /// direction.
    fn on_link(&self, src: &str, dst: &str) -> Between {
        match self.to(dst, src) {
            Between::Closed => Between::Closed,
            _ => self.to(src, dst),
        }
    }
}

/// The proxy in front of one server's link port.
pub struct LinkProxy {
    /// Where the roster says the server is.
    pub listen: SocketAddr,
    /// The server's real link port (known once it started, for chaos's own).
    target: Arc<Mutex<Option<SocketAddr>>>,
}

impl LinkProxy {
    /// A proxy for the server `owner`, listening on `listen` (port 0: any).
    pub fn start(owner: &str, listen: SocketAddr, splits: &Arc<Splits>) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind(listen).map_err(|e| {
            std::io::Error::new(e.kind(), format!("the link proxy of {owner} on {listen}: {e}"))
        })?;
        let listen = listener.local_addr()?;
        let target: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let (owner, splits, to) = (owner.to_string(), splits.clone(), target.clone());
        // The accept thread lives as long as the process: a run is one process.
        thread::Builder::new().name(format!("chaos-link-{owner}")).spawn(move || {
            for client in listener.incoming().flatten() {
                let (owner, splits, to) = (owner.clone(), splits.clone(), *locked(&to));
                let _ = thread::Builder::new()
                    .name("chaos-link-in".into())
                    .spawn(move || serve(client, &owner, to, &splits));
            }
        })?;
        Ok(LinkProxy { listen, target })
    }

    /// Where the server's link port really is.
    pub fn aim(&self, link: SocketAddr) {
        *locked(&self.target) = Some(link);
    }
}

/// Who speaks first on a connection to a link port: the TLS server name
/// of its ClientHello, or the `<from>` of a plaintext `HELLO`; `None` for
/// anything else (such a connection is forwarded, and no split touches
/// it).
fn speaker(first: &[u8]) -> Option<String> {
    if first.first() == Some(&0x16) {
        return server_name(first);
    }
    let line = std::str::from_utf8(first).ok()?.trim_end_matches(['\n', '\r']);
    Opening::parse(line).ok().map(|hello| hello.from)
}

/// The server name (SNI, RFC 6066 §3) of the TLS ClientHello that begins
/// `record`: the record's header (5 bytes), the handshake's (4), the
/// version and random (34), then the session id, the cipher suites and
/// the compression methods, each behind its length, then the extensions.
fn server_name(record: &[u8]) -> Option<String> {
    let mut at = 5 + 4 + 34;
    let len8 = |at: usize| record.get(at).map(|&b| usize::from(b));
    let len16 = |at: usize| Some(usize::from(*record.get(at)?) << 8 | usize::from(*record.get(at + 1)?));
    at += 1 + len8(at)?;
    at += 2 + len16(at)?;
    at += 1 + len8(at)?;
    let end = (at + 2 + len16(at)?).min(record.len());
    at += 2;
    while at + 4 <= end {
        let (kind, len) = (len16(at)?, len16(at + 2)?);
        if kind == 0 {
            // server_name_list: its length (2), a name's type (1, 0: a
            // host name), its length (2), the name.
            let name_len = len16(at + 4 + 3)?;
            let name = record.get(at + 4 + 5..at + 4 + 5 + name_len)?;
            return std::str::from_utf8(name).ok().map(str::to_string);
        }
        at += 4 + len;
    }
    None
}

/// Reads a connection's first TLS record, or its first line (a
/// plaintext peer), within the limits; what was read.
fn first_line(client: &mut TcpStream) -> Option<Vec<u8>> {
    let deadline = Instant::now() + FIRST_LINE_WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let whole = |got: &[u8]| match got.first() {
        Some(0x16) => got.len() >= 5 && got.len() >= 5 + (usize::from(got[3]) << 8 | usize::from(got[4])),
        _ => got.contains(&b'\n'),
    };
    while !whole(&got) {
        if Instant::now() >= deadline || got.len() > FIRST_LINE_MAX {
            return None;
        }
        match client.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if waiting(&e) => {}
            Err(_) => return None,
        }
    }
    Some(got)
}

fn waiting(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// One connection to `owner`'s link port: who it is from, then (once no
/// split keeps them apart) joined to the server and forwarded both ways.
fn serve(mut client: TcpStream, owner: &str, target: Option<SocketAddr>, splits: &Splits) {
    client.set_read_timeout(Some(TICK)).ok();
    let Some(mut head) = first_line(&mut client) else { return };
    let from = speaker(&head).unwrap_or_default();
    // A new link between servers apart: refused, or, while what it says
    // cannot pass, left unanswered (what it says kept) until the split
    // ends or it gives up.
    loop {
        match splits.on_link(&from, owner) {
            Between::Open => break,
            Between::Closed => return,
            Between::Silent => {
                let mut buf = [0u8; 4096];
                match client.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) if head.len() + n <= HOLD_MAX => head.extend_from_slice(&buf[..n]),
                    Ok(_) => return,
                    Err(e) if waiting(&e) => {}
                    Err(_) => return,
                }
            }
        }
    }
    let Some(target) = target else { return };
    let Ok(mut server) = TcpStream::connect_timeout(&target, Duration::from_secs(2)) else { return };
    server.set_nodelay(true).ok();
    client.set_nodelay(true).ok();
    if server.write_all(&head).is_err() {
        return;
    }
    let (Ok(client2), Ok(server2), Ok(client3), Ok(server3)) =
        (client.try_clone(), server.try_clone(), client.try_clone(), server.try_clone())
    else {
        return;
    };
    let done = Arc::new(AtomicBool::new(false));
    {
        let mut joined = locked(&splits.joined);
        joined.retain(|j| !j.done.load(Ordering::SeqCst));
        let (from, to) = (from.clone(), owner.to_string());
        joined.push(Joined { from, to, client: client3, server: server3, done: done.clone() });
    }
    thread::scope(|scope| {
        scope.spawn(|| pump(client, server, (&from, owner), splits));
        pump(server2, client2, (owner, &from), splits);
    });
    done.store(true, Ordering::SeqCst);
}

/// Forwards `from` (server `src`) to `to` (server `dst`), holding bytes
/// back while a split keeps them from passing. At the end of `from`,
/// what is held is delivered once they pass again, then `to` is told
/// (half-closed); a failure or a closed split closes both.
fn pump(mut from: TcpStream, mut to: TcpStream, (src, dst): (&str, &str), splits: &Splits) {
    from.set_read_timeout(Some(TICK)).ok();
    to.set_write_timeout(Some(Duration::from_secs(10))).ok();
    let mut held: Vec<u8> = Vec::new();
    let mut ended = false;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let now = splits.on_link(src, dst);
        if now == Between::Closed {
            break;
        }
        if now == Between::Open && !held.is_empty() {
            if to.write_all(&held).is_err() {
                break;
            }
            held.clear();
        }
        if ended {
            if held.is_empty() {
                to.shutdown(Shutdown::Write).ok();
                return;
            }
            thread::sleep(TICK); // the split's end
            continue;
        }
        if held.len() >= HOLD_MAX {
            thread::sleep(TICK); // held full: the sender waits, as TCP makes it
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => ended = true,
            // Passed on at the top of the loop, if the splits let it.
            Ok(n) => held.extend_from_slice(&buf[..n]),
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
    }
    from.shutdown(Shutdown::Both).ok();
    to.shutdown(Shutdown::Both).ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn a_links_clienthello_says_who_dials() {
        let key = crate::federation::key::LinkKey::generate().unwrap();
        let tls = key.dialer(&["AB"; 32].join(":")).unwrap();
        let mut conn = tls.client("lab1").unwrap();
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).unwrap();
        assert_eq!(speaker(&hello).as_deref(), Some("lab1"));
        assert_eq!(
            speaker(b"HELLO:1.3:lab2:lab1:-:0000000000000000:00000000000000000000000000000002\n").as_deref(),
            Some("lab2")
        );
        assert_eq!(speaker(&hello[..20]), None);
    }

    /// A link port that echoes each line, upper-cased after the first.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for s in listener.incoming().flatten() {
                thread::spawn(move || {
                    let mut w = s.try_clone().unwrap();
                    for line in BufReader::new(s).lines().map_while(Result::ok) {
                        let _ = writeln!(w, "{}", line.to_uppercase());
                    }
                });
            }
        });
        addr
    }

    fn dial(proxy: &LinkProxy, from: &str) -> (TcpStream, BufReader<TcpStream>) {
        let s = TcpStream::connect(proxy.listen).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let key = "Zk3q9wPpXc41LmNb";
        writeln!(&s, "HELLO:1.3:{from}:lab2:s1:{key}:00000000000000000000000000000001").unwrap();
        let r = BufReader::new(s.try_clone().unwrap());
        (s, r)
    }

    fn line(r: &mut BufReader<TcpStream>) -> Option<String> {
        let mut l = String::new();
        match r.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim_end().to_string()),
            _ => None,
        }
    }

    #[test]
    fn a_silent_split_holds_a_link_and_a_closed_one_cuts_it_and_others_pass() {
        let splits = Arc::new(Splits::default());
        let proxy = LinkProxy::start("lab2", "127.0.0.1:0".parse().unwrap(), &splits).unwrap();
        proxy.aim(echo());
        let (s1, mut r1) = dial(&proxy, "lab1");
        assert!(line(&mut r1).unwrap().starts_with("HELLO:1.3:LAB1"));
        let (s3, mut r3) = dial(&proxy, "lab3");
        assert!(line(&mut r3).unwrap().starts_with("HELLO:1.3:LAB3"));

        // Silent: lab1's frame is held, lab3's passes; then lab1's comes.
        assert_eq!(splits.split("lab1", Some("lab2"), Duration::from_millis(600), SplitKind::Silent), 1);
        writeln!(&s1, "msg:1").unwrap();
        writeln!(&s3, "msg:2").unwrap();
        assert_eq!(line(&mut r3).as_deref(), Some("MSG:2"));
        let held = Instant::now();
        assert_eq!(line(&mut r1).as_deref(), Some("MSG:1"));
        assert!(held.elapsed() >= Duration::from_millis(300), "held until the split ended");

        // A new link from a server split off from everyone waits too.
        splits.split("lab1", None, Duration::from_millis(400), SplitKind::Silent);
        let (_s, mut r) = dial(&proxy, "lab1");
        assert!(line(&mut r).unwrap().starts_with("HELLO:1.3:LAB1"));

        // One-way, lab1 hears nothing from lab2: lab1's frames pass, the
        // answers are held until it ends.
        splits.split("lab1", Some("lab2"), Duration::from_millis(600), SplitKind::OneWay);
        writeln!(&s1, "one:way").unwrap();
        let held = Instant::now();
        assert_eq!(line(&mut r1).as_deref(), Some("ONE:WAY"));
        assert!(held.elapsed() >= Duration::from_millis(300), "the answer held until the split ended");

        // Closed: lab1's link is cut at once, and a new one refused.
        splits.split("lab2", Some("lab1"), Duration::from_secs(30), SplitKind::Closed);
        assert_eq!(line(&mut r1), None);
        let (_s, mut r) = dial(&proxy, "lab1");
        assert_eq!(line(&mut r), None);
        writeln!(&s3, "still:3").unwrap();
        assert_eq!(line(&mut r3).as_deref(), Some("STILL:3"));
        splits.heal();
        let (_s, mut r) = dial(&proxy, "lab1");
        assert!(line(&mut r).unwrap().starts_with("HELLO:1.3:LAB1"));
    }
}
