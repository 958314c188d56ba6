//! The leader's end of its followers' connections (`server::leader`).
//!
//! - **A send connection** of a follower is served here by the same
//!   `send::serve` as a client's, on a socket pair over loopback: the
//!   requests the follower forwards (`SEND`) are written into one end,
//!   the session's thread reads them at the other and answers, and a
//!   thread of the pair reads the replies and sends them back (`REPLY`),
//!   each chunk with the log's durable end: the session wrote them only
//!   once what they promise was in the log. The session's end (the client quits,
//!   a device logged out, the server stopping) closes the pair, and the
//!   follower hears `CLOSED`. So every rule, limit and refusal of a
//!   request is the single server's, decided once.
//! - **A receive connection** of a follower is an outlet here
//!   (`Outlet::far`): its login is checked (`AUTH`), its device claimed
//!   with `recv::claim` (`ATTACH`), its acknowledgements and its end applied
//!   as a local connection's; what the router pushes to it (presence,
//!   typing, calls, a logout) goes back to its node (`PUSH`, `SHUT`). Its numbered
//!   events, that node delivers from its own copy of the log.
//!
//! Each follower's connections are known by (node, number). What a
//! follower can make the leader hold is what its clients could make a
//! single server hold: a thread and a socket pair per send connection
//! (within `--max-connections`), an outlet per receive connection.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::bus::Bus;
use super::wire::{LeaderAnswer, ToLeader, ToNode};
use crate::protocol::{Code, Ko};
use crate::router::{FarSide, Outlet};
use crate::server::Ctx;
use crate::server::auth::Outcome;
use crate::store::LocalStore;
use crate::transport::Stream;

/// Bytes of replies read from a session's pair at once.
const REPLY_CHUNK: usize = 64 * 1024;

/// How long writing a follower's requests into a session's pair may wait
/// for the session to read them (it reads as a client's would).
const WRITE_WAIT: Duration = Duration::from_secs(5);

/// A connection of a follower: its node and its number there.
type Key = (String, u64);

pub struct Gateway {
    ctx: Weak<Ctx>,
    store: Arc<LocalStore>,
    bus: Arc<Bus>,
    /// `<prefix>.node.`: a follower's subject is this and its node's name.
    nodes: String,
    /// Where socket pairs are made: a listener on loopback.
    pairs: TcpListener,
    /// The follower's end of each forwarded send session's pair.
    sends: Mutex<HashMap<Key, TcpStream>>,
    /// The outlet of each receive connection of a follower.
    outlets: Mutex<HashMap<Key, Arc<Outlet>>>,
    /// Each follower this node hears from (`ALIVE` each second).
    heard: Mutex<HashMap<String, LastHeard>>,
    /// The followers taken for dead ([`Gateway::sweep`]): the run each
    /// was in, and the words that told it of the connections let go here
    /// (`CLOSED`, `SHUT`), said again if it speaks again in that run.
    swept: Mutex<HashMap<String, (u64, Vec<ToNode>)>>,
}

/// What the leader knows of a follower it hears from.
struct LastHeard {
    at: Instant,
    /// The run its last `ALIVE` said (none yet: its first frames came
    /// before it).
    run: Option<u64>,
}

impl Gateway {
    pub fn new(
        ctx: Weak<Ctx>,
        store: Arc<LocalStore>,
        bus: Arc<Bus>,
        prefix: &str,
    ) -> std::io::Result<Gateway> {
        Ok(Gateway {
            ctx,
            store,
            bus,
            nodes: format!("{prefix}.node."),
            pairs: TcpListener::bind("127.0.0.1:0")?,
            sends: Mutex::default(),
            outlets: Mutex::default(),
            heard: Mutex::default(),
            swept: Mutex::default(),
        })
    }

    /// A follower's message; `answer`: where a request is answered.
    pub fn handle(self: &Arc<Self>, message: ToLeader, answer: Option<String>) {
        let Some(ctx) = self.ctx.upgrade() else { return };
        self.heard_from(message.node());
        match message {
            ToLeader::Alive { node, run } => self.alive(&ctx, &node, run),
            ToLeader::Where { .. } => {
                self.answer(answer, &LeaderAnswer::At { pos: self.store.durable_end() })
            }
            ToLeader::Open { node, conn, peer, user } => self.open(&ctx, (node, conn), peer, user),
            ToLeader::Send { node, conn, lines } => self.send((node, conn), &lines),
            ToLeader::Close { node, conn } => {
                if let Some(pair) = self.sends.lock().remove(&(node, conn)) {
                    let _ = pair.shutdown(std::net::Shutdown::Both);
                }
            }
            ToLeader::Auth { peer, opens, line, .. } => {
                let answer_to = answer;
                let outcome = crate::server::auth::authenticate(&ctx, &line, peer.ip(), opens);
                let pos = self.store.durable_end();
                let said = match outcome {
                    Outcome::LoggedIn(user, name, proof) => {
                        LeaderAnswer::LoggedIn { user, name: name.to_string(), proof, pos }
                    }
                    Outcome::Paired(token) => LeaderAnswer::Paired { token, pos },
                    Outcome::Refused(ko) => LeaderAnswer::Refused { ko, pos },
                };
                self.answer(answer_to, &said);
            }
            ToLeader::Attach { node, conn, user, peer, minor, name, device } => {
                let said = self.attach(&ctx, (node, conn), user, peer, minor, (&name, &device));
                self.answer(answer, &said);
            }
            ToLeader::Version { node, conn, minor } => {
                let outlet = self.outlets.lock().get(&(node.clone(), conn)).cloned();
                match outlet {
                    Some(outlet) => outlet.opt_in(minor),
                    None => self.let_go(&node, conn),
                }
            }
            ToLeader::Ack { node, conn, seq } => {
                let outlet = self.outlets.lock().get(&(node.clone(), conn)).cloned();
                match outlet {
                    Some(outlet) if !outlet.is_closing() => ctx.devices.ack(&ctx, &outlet, seq),
                    Some(_) => {}
                    None => self.let_go(&node, conn),
                }
            }
            ToLeader::Detach { node, conn } => {
                let outlet = self.outlets.lock().remove(&(node, conn));
                if let Some(outlet) = outlet {
                    crate::server::recv::went_away(&ctx, &outlet);
                }
            }
        }
    }

    fn answer(&self, to: Option<String>, said: &LeaderAnswer) {
        if let Some(to) = to {
            self.bus.answer(to, said.encode());
        }
    }

    /// `OPEN`: a socket pair, the session's thread on one end, the
    /// replies' thread on the other.
    fn open(
        self: &Arc<Self>,
        ctx: &Arc<Ctx>,
        key: Key,
        peer: SocketAddr,
        user: Option<(String, Option<String>)>,
    ) {
        let pair = match self.pair() {
            Ok(pair) => pair,
            Err(e) => {
                log::warn!("cluster: a session for {}'s connection {}: {e}", key.0, key.1);
                self.bus.publish(self.subject(&key.0), ToNode::Closed { conn: key.1 }.encode());
                return;
            }
        };
        let (ours, theirs) = pair;
        let reader = match ours.try_clone() {
            Ok(reader) => reader,
            Err(_) => return,
        };
        let _ = ours.set_write_timeout(Some(WRITE_WAIT));
        self.sends.lock().insert(key.clone(), ours);
        let session_ctx = ctx.clone();
        let session =
            std::thread::Builder::new().stack_size(crate::server::threads::STACK_SIZE).spawn(move || {
                let stream = crate::server::send::serve_as(Stream::plain(theirs), peer, &session_ctx, user);
                session_ctx.close_later(stream);
            });
        let gateway = self.clone();
        let replies = std::thread::Builder::new()
            .stack_size(crate::server::threads::STACK_SIZE)
            .spawn(move || gateway.carry_replies(key, reader));
        if session.is_err() || replies.is_err() {
            log::error!("cluster: no thread for a forwarded session");
        }
    }

    /// A connected pair of loopback sockets: (ours, the session's).
    fn pair(&self) -> std::io::Result<(TcpStream, TcpStream)> {
        let ours = TcpStream::connect(self.pairs.local_addr()?)?;
        let local = ours.local_addr()?;
        loop {
            let (theirs, from) = self.pairs.accept()?;
            if from == local {
                let _ = ours.set_nodelay(true);
                let _ = theirs.set_nodelay(true);
                return Ok((ours, theirs));
            }
        }
    }

    /// `SEND`: the requests into the session's pair. A connection with
    /// no session here (it ended, and the follower did not hear
    /// `CLOSED`; or this node took the follower for dead) is told
    /// `CLOSED` again: its client reconnects and sends them anew.
    fn send(&self, key: Key, lines: &[u8]) {
        let mut sends = self.sends.lock();
        let written = sends.get_mut(&key).map(|pair| pair.write_all(lines));
        match written {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                log::info!(
                    "cluster: {}'s connection {}: its session takes no more requests ({e})",
                    key.0,
                    key.1
                );
                if let Some(pair) = sends.remove(&key) {
                    let _ = pair.shutdown(std::net::Shutdown::Both);
                }
            }
            None => {
                drop(sends);
                self.bus.publish(self.subject(&key.0), ToNode::Closed { conn: key.1 }.encode());
            }
        }
    }

    /// The replies' thread: what the session writes goes back to the
    /// follower with the log's durable end, until the session ends.
    fn carry_replies(&self, key: Key, mut pair: TcpStream) {
        let subject = self.subject(&key.0);
        let mut buf = vec![0u8; REPLY_CHUNK];
        loop {
            match pair.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let pos = self.store.durable_end();
                    let reply = ToNode::Reply { conn: key.1, pos, bytes: buf[..n].to_vec() };
                    self.bus.publish(subject.clone(), reply.encode());
                }
            }
        }
        self.sends.lock().remove(&key);
        self.bus.publish(subject, ToNode::Closed { conn: key.1 }.encode());
    }

    /// `ATTACH`: the connection's outlet here, its device claimed.
    fn attach(
        &self,
        ctx: &Arc<Ctx>,
        key: Key,
        user: crate::store::UserId,
        peer: SocketAddr,
        minor: u8,
        (name, device): (&str, &str),
    ) -> LeaderAnswer {
        let refused = |ko| LeaderAnswer::Refused { ko, pos: 0 };
        let Some(account) = ctx.store.find_account(name).filter(|a| a.id == user) else {
            return refused(Ko::new(Code::AuthFailed, "no such account"));
        };
        let far = Arc::new(Far { bus: self.bus.clone(), subject: self.subject(&key.0), conn: key.1 });
        let outlet = Outlet::far(user, account.name, peer.ip(), far).on_device(device.into());
        outlet.opt_in(minor);
        let outlet = Arc::new(outlet);
        match crate::server::recv::claim(ctx, &outlet) {
            Ok(attached) => {
                outlet.finish_replay();
                self.outlets.lock().insert(key, outlet);
                LeaderAnswer::Attached { after: attached.after, pos: self.store.durable_end() }
            }
            Err(ko) => refused(ko),
        }
    }

    fn subject(&self, node: &str) -> String {
        format!("{}{node}", self.nodes)
    }

    fn heard_from(&self, node: &str) {
        let mut heard = self.heard.lock();
        match heard.get_mut(node) {
            Some(last) => last.at = Instant::now(),
            None => drop(heard.insert(node.to_string(), LastHeard { at: Instant::now(), run: None })),
        }
    }

    /// `ALIVE` of `node` in `run`. A node that was taken for dead and
    /// speaks again in the same run (it was frozen, or NATS lost its
    /// words and the leader's) may still hold the connections let go
    /// here, if the words that said so were lost: they are said again,
    /// and it closes those connections; their clients log in again and
    /// are shown online. Its connections opened since have other numbers
    /// and stay. A node in a new run started again, and says so before
    /// any connection of the run: the connections of its old run end
    /// here, as those of a node taken for dead.
    fn alive(&self, ctx: &Ctx, node: &str, run: u64) {
        let before = self.heard.lock().get_mut(node).and_then(|last| last.run.replace(run));
        if before.is_some_and(|before| before != run) {
            log::info!("cluster: node {node} started again: its connections of before end here");
            self.let_go_all(ctx, node);
        }
        let Some((swept_run, words)) = self.swept.lock().remove(node) else { return };
        if swept_run == run && !words.is_empty() {
            log::info!(
                "cluster: node {node}, taken for dead, speaks again: the ends of its connections said again ({})",
                words.len()
            );
            self.say(node, words);
        }
    }

    /// Says `words` to follower `node`, in order.
    fn say(&self, node: &str, words: Vec<ToNode>) {
        for word in words {
            self.bus.publish(self.subject(node), word.encode());
        }
    }

    /// A follower speaks of a receive connection that has no outlet here
    /// (this node took the follower for dead and let it go, or its `SHUT`
    /// was lost on the way): it is told to close it, and its client logs
    /// in again. A follower that restarted holds none of those: its
    /// connections attach anew.
    fn let_go(&self, node: &str, conn: u64) {
        self.bus.publish(self.subject(node), ToNode::Shut { conn }.encode());
    }

    /// The connections of the followers not heard from for a lease's
    /// term end here (the node died, or lost its way here): their users
    /// go offline, as a single server's do when a connection drops.
    pub fn sweep(&self) {
        let gone: Vec<(String, Option<u64>)> = {
            let mut heard = self.heard.lock();
            let gone: Vec<(String, Option<u64>)> = heard
                .iter()
                .filter(|(_, last)| last.at.elapsed() > super::lease::TERM)
                .map(|(n, last)| (n.clone(), last.run))
                .collect();
            heard.retain(|n, _| !gone.iter().any(|(g, _)| g == n));
            gone
        };
        if gone.is_empty() {
            return;
        }
        let Some(ctx) = self.ctx.upgrade() else { return };
        for (node, run) in gone {
            log::warn!("cluster: node {node} is silent: its connections end here");
            let words = self.let_go_all(&ctx, &node);
            if let Some(run) = run {
                self.swept.lock().insert(node, (run, words));
            }
        }
    }

    /// Every connection of `node` ends here: its sessions' pairs are shut
    /// (each tells the node `CLOSED`), its users' outlets go as when a
    /// connection drops (each tells it `SHUT`). Returns those words.
    fn let_go_all(&self, ctx: &Ctx, node: &str) -> Vec<ToNode> {
        let mut words = Vec::new();
        self.sends.lock().retain(|(n, conn), pair| {
            let keep = n != node;
            if !keep {
                let _ = pair.shutdown(std::net::Shutdown::Both);
                words.push(ToNode::Closed { conn: *conn });
            }
            keep
        });
        let outlets: Vec<(u64, Arc<Outlet>)> = {
            let mut all = self.outlets.lock();
            let keys: Vec<Key> = all.keys().filter(|(n, _)| n == node).cloned().collect();
            keys.into_iter().filter_map(|k| all.remove(&k).map(|o| (k.1, o))).collect()
        };
        for (conn, outlet) in outlets {
            crate::server::recv::went_away(ctx, &outlet);
            words.push(ToNode::Shut { conn });
        }
        words
    }

    /// NATS lost a message `node` sent here while both stayed connected
    /// (a gap in its numbers, `bus.rs`): a `DETACH`, `CLOSE` or `ACKED`,
    /// which one cannot be known. Its connections end here, as a sweep's
    /// do, and it is told so (`CLOSED`, `SHUT`): it closes them, and their
    /// clients connect and log in again.
    pub fn lost_from(&self, node: &str) {
        let Some(ctx) = self.ctx.upgrade() else { return };
        let words = self.let_go_all(&ctx, node);
        log::info!("cluster: node {node}'s connections end here ({})", words.len());
        self.say(node, words);
    }

    /// This node was off NATS a moment: what its followers sent it and
    /// what it pushed to them meanwhile may be lost. Each follower it
    /// knows is told (`LOST`), and cuts its connections that wait and its
    /// receive connections (`Forward::lost`).
    pub fn lost(&self) {
        let nodes: Vec<String> = self.heard.lock().keys().cloned().collect();
        for node in nodes {
            self.bus.publish(self.subject(&node), ToNode::Lost.encode());
        }
    }

    /// Every follower's connection ends here (this node stops leading).
    pub fn close_all(&self) {
        for (_, pair) in self.sends.lock().drain() {
            let _ = pair.shutdown(std::net::Shutdown::Both);
        }
        let outlets: Vec<Arc<Outlet>> = self.outlets.lock().drain().map(|(_, o)| o).collect();
        if let Some(ctx) = self.ctx.upgrade() {
            for outlet in outlets {
                crate::server::recv::went_away(&ctx, &outlet);
            }
        }
    }
}

/// A receive connection of a follower, as the leader's router sees it.
struct Far {
    bus: Arc<Bus>,
    subject: String,
    conn: u64,
}

impl FarSide for Far {
    fn send(&self, frames: &[u8]) {
        self.bus.publish(
            self.subject.clone(),
            ToNode::Push { conn: self.conn, frames: frames.to_vec() }.encode(),
        );
    }

    fn shut(&self) {
        self.bus.publish(self.subject.clone(), ToNode::Shut { conn: self.conn }.encode());
    }
}
