//! The node links: how a follower hands its clients to the leader, over
//! one TCP connection each, which the leader serves as its own clients'
//! (`server::send::serve`).
//!
//! ```text
//!   client ──▶ follower ◀─ NONCE:<nonce> ──────────────────────────── leader's node port
//!                 │ ──── NODE:<answer>:send:<client's address> ─────▶ │ checked, then
//!                 │      then the client's bytes, as they are         │ send::serve, as for
//!                 ◀──────── the leader's bytes, as they are ──────────┘ a client of its own
//! ```
//!
//! Every node listens on its node port (`--node-port`); only the leader
//! takes connections there. It says where in the replicated state (the
//! setting `at` of the account `@:nodes`, as the class network's leader
//! says where it takes links: `federation::accept`), with its epoch and a
//! secret drawn when it took the lease. A link proves that it read the
//! log, of the same database, by a challenge: the leader says a nonce
//! of its own drawing, fresh for each link, and the follower answers
//! with an HMAC of the nonce, the port and the client's address
//! ([`answer`]) under a key made of the secret and of the database's
//! identity ([`key`]: PostgreSQL's system identifier and the database's
//! name, which a standby shares and a restored dump does not). An answer
//! seen on the wire (the links are plaintext where the client ports
//! are) answers no other nonce: replayed, it gets the connection closed
//! unserved; and it vouches for its one client's address, which is
//! believed from no one else. So a client cannot pass for a node to
//! choose the address its limits are counted under, and a cluster
//! restored from a dump never passes its clients to the leader of the
//! cluster it was dumped from. A follower that has not applied the new
//! leader's first batch yet knows that it does not know where it is.
//!
//! Where the client ports speak TLS (`--tls-cert`), so do the links: the
//! leader takes them with the same certificate, and says its fingerprint
//! with its address, which the follower pins.
//!
//! A broken connection is the loss signal. The leader died, stopped or
//! was deposed: the follower closes its client, which connects again and
//! sends what got no answer with its ids, as when a single server
//! restarts. A frozen leader breaks nothing: the follower cuts every
//! connection it passed on when it sees another node lead
//! ([`Relay::cut_all`]).

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::cluster::db::postgres;
use crate::error::{Error, Result};
use crate::protocol::{Code, Ko, Port, Reply};
use crate::server::{Ctx, Leader};
use crate::transport::Stream;

/// The account whose setting says where the leader takes node links: a
/// peer account no server of a class network can have (`:` is in no name).
const NODES: &str = ":nodes";

/// Most bytes of a link's first line.
const MAX_HELLO: usize = 160;

/// How long a link may take to say its first line.
const HELLO_WITHIN: Duration = Duration::from_secs(5);

/// How long a client's connection waits for its node to learn where a
/// new leader takes links (its first batch, applied within a poll).
const ADVERT_WAIT: Duration = Duration::from_secs(3);

/// Where the leader of `epoch` takes node links, the secret a link
/// proves it read the log with, and the fingerprint of its certificate
/// if the links speak TLS: the value of the setting, `<address> <epoch>
/// <secret> <fingerprint|->`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    pub at: SocketAddr,
    pub epoch: i64,
    pub secret: String,
    pub tls: Option<String>,
}

impl Advert {
    fn parse(value: &str) -> Option<Advert> {
        let mut words = value.split(' ');
        let at = words.next()?.parse().ok()?;
        let epoch = words.next()?.parse().ok()?;
        let secret = words.next()?.to_string();
        let tls = Some(words.next()?).filter(|f| *f != "-").map(str::to_string);
        Some(Advert { at, epoch, secret, tls })
    }

    /// What the leader said last ([`advertise`]).
    fn read(ctx: &Ctx) -> Option<Advert> {
        Advert::parse(&ctx.store.leader_link(NODES)?)
    }
}

/// The leader says where it takes node links, a record of the log that
/// every follower applies.
pub fn advertise(store: &crate::store::LocalStore, advert: &Advert) -> Result<()> {
    let tls = advert.tls.as_deref().unwrap_or("-");
    let value = format!("{} {} {} {tls}", advert.at, advert.epoch, advert.secret);
    store.advertise_link(NODES, &value).map_err(|ko| Error::Usage(format!("cluster: {}", ko.reason)))
}

/// A new secret for a new epoch.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 16];
    // No randomness from the system: no cluster can be trusted to start.
    getrandom::fill(&mut bytes).expect("the system's random numbers");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The node port: the leader serves each link with the single server's
/// session code; a node that does not lead closes them.
/// `key`: what a link's answer is keyed with while this node leads
/// ([`key`]; empty: it does not).
pub fn spawn_port(listener: TcpListener, ctx: Weak<Ctx>, key: Arc<Mutex<String>>) -> Result<()> {
    std::thread::Builder::new()
        .name("accept-node".into())
        .spawn(move || {
            for tcp in listener.incoming() {
                let Some(ctx) = ctx.upgrade().filter(|ctx| !ctx.shutting_down()) else { return };
                let Ok(tcp) = tcp else { continue };
                let key = key.lock().clone();
                let spawned = std::thread::Builder::new()
                    .name("node-link".into())
                    .stack_size(crate::server::threads::STACK_SIZE)
                    .spawn(move || take(&ctx, tcp, &key));
                if let Err(e) = spawned {
                    log::warn!("cluster: no thread for a node link: {e}");
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::io("cluster: starting the node port's thread", e))
}

/// What a link's answers are keyed with (in hex): a hash of the leader's
/// `secret` and of the database `identity`. It never crosses the wire.
pub fn key(secret: &str, identity: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, format!("{secret}/{identity}").as_bytes()).as_ref())
}

/// A link's answer to the leader's challenge `nonce`, for a client of
/// `port` at `client`: an HMAC-SHA256 of the three under `key`, its first
/// 16 bytes in hex. Another nonce, port or client, another answer.
pub fn answer(key: &str, nonce: &str, port: Port, client: SocketAddr) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let said = format!("{nonce}:{}:{client}", port.label());
    hex(&ring::hmac::sign(&key, said.as_bytes()).as_ref()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The identity of the database `client` is connected to ([`key`]).
pub fn identity(client: &mut postgres::Client) -> std::result::Result<String, postgres::Error> {
    let row = client.query_one(
        "SELECT system_identifier::text || '/' || current_database() FROM pg_control_system()",
        &[],
    )?;
    Ok(row.get(0))
}

/// A link's first line, its answer to the challenge:
/// `NODE:<answer>:<send|receive>:<client's address>`.
fn hello(line: &str) -> Option<(&str, Port, SocketAddr)> {
    let rest = line.strip_prefix("NODE:")?;
    let (answer, rest) = rest.split_once(':')?;
    let (port, client) = rest.split_once(':')?;
    let port = match port {
        "send" => Port::Send,
        "receive" => Port::Receive,
        _ => return None,
    };
    Some((answer, port, client.parse().ok()?))
}

/// Reads one line, a byte at a time: what follows it is the client's, and
/// stays in the socket (or TLS's buffer) for the session to read.
fn read_line(link: &Stream) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_HELLO {
        match (&*link).read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => return String::from_utf8(line).ok(),
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
    None
}

/// A link to this node's port: challenged, checked, then served as a
/// connection of the client it says it carries, under that client's
/// limits.
fn take(ctx: &Arc<Ctx>, tcp: TcpStream, key: &str) {
    let from = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = tcp.set_read_timeout(Some(HELLO_WITHIN));
    let _ = tcp.set_nodelay(true);
    if !ctx.store.leads() || key.is_empty() {
        return; // the follower hears the connection end, and so its client
    }
    let Ok(link) = Stream::accept(tcp, ctx.config.tls.as_ref()) else { return };
    let _ = link.set_read_timeout(Some(HELLO_WITHIN));
    // A nonce of this link's own: an answer seen on another is no answer here.
    let nonce = new_secret();
    if link.write_all_by(format!("NONCE:{nonce}\n").as_bytes(), Instant::now() + HELLO_WITHIN).is_err() {
        return;
    }
    let Some(line) = read_line(&link) else { return };
    let Some((said, port, client)) = hello(&line) else {
        return log::info!("cluster: a link from {from} said no node's first line: closed");
    };
    if !same(said, &answer(key, &nonce, port, client)) {
        return log::warn!(
            "cluster: a link from {from} is not of this cluster (its answer to the challenge differs): closed"
        );
    }
    let _ = link.set_read_timeout(None);
    match ctx.admit(client.ip()) {
        Ok(slot) => crate::server::listener::serve_connection(link, client, ctx, slot, port),
        Err(refusal) => crate::server::listener::refuse_busy(ctx, link.tcp(), client, &refusal),
    }
}

/// Compares two answers in a time that does not tell how much of one
/// matched.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// A follower's way to the leader: it passes each client on.
pub struct Relay {
    /// The epoch this node follows: a leader's address said under an
    /// older one is its predecessor's.
    pub epoch: AtomicI64,
    /// The links open now (to cut them when another node leads).
    open: Mutex<HashMap<u64, TcpStream>>,
    next: AtomicU64,
    /// Set once this node stops following: no more links.
    closed: AtomicBool,
    /// `--timeout`: how long the leader may take to answer a connect,
    /// and either side to take what is passed to it.
    timeout: Duration,
    /// The identity of this node's database ([`key`]).
    identity: String,
}

impl Relay {
    pub fn new(epoch: i64, timeout: Duration, identity: String) -> Relay {
        Relay {
            identity,
            epoch: AtomicI64::new(epoch),
            open: Mutex::default(),
            next: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            timeout,
        }
    }

    /// Another node leads, or this one stops following: every link open
    /// is cut (their clients connect again, to whichever node leads).
    pub fn cut_all(&self) -> usize {
        let open: Vec<TcpStream> = self.open.lock().drain().map(|(_, tcp)| tcp).collect();
        for tcp in &open {
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
        open.len()
    }

    /// This node leads now, or stops: no link opens any more.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.cut_all();
    }

    /// Connects to the leader this node follows, and says whose
    /// connection it carries.
    fn connect(&self, ctx: &Ctx, peer: SocketAddr, port: Port) -> std::result::Result<Stream, Ko> {
        let unavailable = |why: String| Ko::new(Code::Unavailable, why);
        // A leader says where it is in its first batch, which a follower
        // that started beside it, or that just saw it take the lease,
        // applies within a poll: waited for, a little.
        let epoch = self.epoch.load(Ordering::SeqCst);
        let deadline = Instant::now() + ADVERT_WAIT.min(self.timeout);
        let advert = loop {
            match Advert::read(ctx).filter(|a| a.epoch >= self.epoch.load(Ordering::SeqCst)) {
                Some(advert) => break advert,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                None => {
                    let why = format!(
                        "this node does not know yet where the leader of epoch {epoch} is; try again"
                    );
                    return Err(unavailable(why));
                }
            }
        };
        let tcp = TcpStream::connect_timeout(&advert.at, self.timeout).map_err(|e| {
            unavailable(format!("the leader at {} does not answer ({e}); try again", advert.at))
        })?;
        let _ = tcp.set_nodelay(true);
        let failed = |e: std::io::Error| unavailable(format!("the leader at {}: {e}; try again", advert.at));
        let tls = advert.tls.as_deref().map(crate::federation::key::pinned).transpose();
        let tls = tls.map_err(|e| unavailable(format!("the leader's TLS: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let link =
            Stream::connect(tcp, tls.as_ref(), &advert.at.ip().to_string(), deadline).map_err(failed)?;
        // The leader's challenge, then the answer.
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let _ = link.set_read_timeout(Some(left));
        let nonce = read_line(&link).and_then(|line| line.strip_prefix("NONCE:").map(str::to_string));
        let Some(nonce) = nonce else {
            return Err(unavailable(format!("the leader at {} sent no challenge; try again", advert.at)));
        };
        let _ = link.set_read_timeout(None);
        let key = key(&advert.secret, &self.identity);
        let hello = format!("NODE:{}:{}:{peer}\n", answer(&key, &nonce, port, peer), port.label());
        link.write_all_by(hello.as_bytes(), deadline).map_err(failed)?;
        Ok(link)
    }
}

impl Leader for Relay {
    fn relay(&self, ctx: &Arc<Ctx>, client: Arc<Stream>, peer: SocketAddr, port: Port) {
        let link = match self.connect(ctx, peer, port) {
            Ok(link) => Arc::new(link),
            Err(ko) => {
                let deadline = Instant::now() + self.timeout;
                let _ = client.write_all_by(Reply::Ko(ko).to_string().as_bytes(), deadline);
                let _ = client.shutdown(std::net::Shutdown::Write);
                return;
            }
        };
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let Ok(copy) = link.tcp().try_clone() else { return };
        self.open.lock().insert(id, copy);
        if self.closed.load(Ordering::SeqCst) {
            let _ = link.tcp().shutdown(std::net::Shutdown::Both); // cut as it opened
        }
        let back = std::thread::Builder::new()
            .name("node-relay".into())
            .stack_size(crate::server::threads::STACK_SIZE);
        crate::transport::relay::both_ways(&client, &link, self.timeout, back);
        self.open.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_says_its_answer_its_port_and_its_client() {
        let (secret, port, client) = hello("NODE:ab12:receive:10.0.0.7:51000").unwrap();
        assert_eq!((secret, port, client), ("ab12", Port::Receive, "10.0.0.7:51000".parse().unwrap()));
        assert!(hello("NODE:ab12:other:10.0.0.7:51000").is_none());
        assert!(hello("LOGIN:ana:pw").is_none());
        assert!(hello("NODE:ab12:send:nowhere").is_none());
    }

    #[test]
    fn an_advert_is_an_address_an_epoch_and_a_secret() {
        let advert = Advert::parse("127.0.0.1:7000 4 00ff -").unwrap();
        let at = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(advert, Advert { at, epoch: 4, secret: "00ff".into(), tls: None });
        let advert = Advert::parse("127.0.0.1:7000 4 00ff AB:CD").unwrap();
        assert_eq!(advert.tls.as_deref(), Some("AB:CD"));
        assert!(Advert::parse("127.0.0.1:7000 x 00ff -").is_none());
        assert!(same("00ff", "00ff") && !same("00ff", "00fe") && !same("00ff", "00f"));
        let one = key("00ff", "7712995429423742320/chat");
        assert_eq!(one.len(), 64);
        assert_eq!(one, key("00ff", "7712995429423742320/chat"));
        assert_ne!(one, key("00ff", "7712995429423742320/chat_restored"), "another database");
        assert_ne!(one, key("00fe", "7712995429423742320/chat"), "another leader");
    }

    #[test]
    fn an_answer_holds_for_its_nonce_its_port_and_its_client_only() {
        let key = key("00ff", "7712995429423742320/chat");
        let client: SocketAddr = "10.0.0.7:51000".parse().unwrap();
        let one = answer(&key, "aa11", Port::Send, client);
        assert_eq!(one.len(), 32);
        assert_eq!(one, answer(&key, "aa11", Port::Send, client));
        assert_ne!(one, answer(&key, "aa12", Port::Send, client), "another nonce: a replay");
        assert_ne!(one, answer(&key, "aa11", Port::Receive, client), "another port");
        assert_ne!(
            one,
            answer(&key, "aa11", Port::Send, "10.66.66.1:5555".parse().unwrap()),
            "another client"
        );
        let other = super::key("00fe", "7712995429423742320/chat");
        assert_ne!(one, answer(&other, "aa11", Port::Send, client), "another key");
        assert!(!one.contains(&key[..16]), "the key does not show in the answer");
    }
}
