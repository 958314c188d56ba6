//! A follower's way to the leader (`server::leader::Leader`), over NATS:
//! the far end is `gateway.rs`.
//!
//! A forwarded send connection keeps, in order, the requests it sent
//! whose replies have not come yet (and whether each is answered with a
//! listing). The leader's replies come back as bytes, in chunks cut
//! anywhere; they are gathered and cut into replies again here, the
//! `n` lines of an `OK:<n>` listing with their head, and each answers the
//! oldest request waiting. A reply comes with the leader's durable end
//! of the log: a read of the same connection waits until this node's copy
//! reaches it (`Forwarded::settle`).
//!
//! A request the leader does not answer within `--timeout` (it died, or
//! NATS lost the message) is answered with nothing: the connection is
//! cut, and the client sends it again after it reconnects (a message id
//! makes that harmless), as when a single server dies.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::bus::Bus;
use super::wire::{LeaderAnswer, ToLeader, ToNode};
use crate::protocol::{Code, Event, Ko, Reply};
use crate::router::Outlet;
use crate::server::auth::Outcome;
use crate::server::leader::{self, Leader, Upstream};
use crate::store::Ticket;
use crate::transport::Stream;

/// The leader of one epoch, as this follower reaches it.
pub struct Forward {
    bus: Arc<Bus>,
    /// This node's name, as a NATS token.
    node: String,
    /// `<prefix>.lead.<epoch>`.
    leader: String,
    /// How long an answer may take (`--timeout`).
    timeout: Duration,
    sends: Mutex<HashMap<u64, Arc<Forwarded>>>,
    /// Set by [`Forward::hand_over`]: this leader is not the leader any
    /// more, and a request a session sends it after all is cut at once.
    handed_over: Arc<AtomicBool>,
    /// The receive connections attached through the leader: where its
    /// `PUSH`es go.
    outlets: Mutex<HashMap<u64, RemoteOutlet>>,
    /// This follower's run with this leader, a random number said with
    /// each `ALIVE`: a leader that took the node for dead and hears the
    /// same run again knows that the node still holds the connections it
    /// let go; a new run (the node started again) holds none of them.
    run: u64,
}

/// A receive connection attached through the leader.
struct RemoteOutlet {
    outlet: std::sync::Weak<Outlet>,
    /// Who the leader told it is online (and not gone since): at a
    /// failover it hears that they left, and the new leader tells it who
    /// is online again.
    joined: HashSet<String>,
    /// The leader answered its `ATTACH`. One not answered yet is attached
    /// by what the leader does after a `LOST` it sent before: that `LOST`
    /// does not concern it.
    answered: bool,
}

impl Forward {
    /// The leader at subject `leader`, told at once that this node is
    /// there in a new run: before any connection of the run reaches it.
    pub fn new(bus: Arc<Bus>, node: String, leader: String, timeout: Duration) -> Forward {
        let run = super::bus::new_run();
        let forward = Forward {
            bus,
            node,
            leader,
            timeout,
            sends: Mutex::default(),
            handed_over: Arc::default(),
            outlets: Mutex::default(),
            run,
        };
        forward.alive();
        forward
    }

    fn tell(&self, message: ToLeader) {
        self.bus.publish(self.leader.clone(), message.encode());
    }

    fn ask(&self, message: ToLeader) -> Option<LeaderAnswer> {
        LeaderAnswer::parse(&self.bus.request(self.leader.clone(), message.encode())?)
    }

    /// What the leader sent this node about its connections.
    pub fn heard(&self, message: ToNode) {
        match message {
            ToNode::Reply { conn, pos, bytes } => {
                let session = self.sends.lock().get(&conn).cloned();
                if let Some(session) = session {
                    session.replied(pos, &bytes);
                }
            }
            ToNode::Closed { conn } => {
                if let Some(session) = self.sends.lock().remove(&conn) {
                    session.ended();
                }
            }
            ToNode::Push { conn, frames } => {
                let outlet = {
                    let mut outlets = self.outlets.lock();
                    let Some(attached) = outlets.get_mut(&conn) else { return };
                    for line in String::from_utf8_lossy(&frames).lines() {
                        match Event::parse(line) {
                            Ok(Event::Joined { user }) => drop(attached.joined.insert(user)),
                            Ok(Event::Left { user }) => drop(attached.joined.remove(&user)),
                            _ => {}
                        }
                    }
                    attached.outlet.upgrade()
                };
                if let Some(outlet) = outlet {
                    outlet.push_frames(&frames);
                }
            }
            ToNode::Shut { conn } => {
                if let Some(outlet) = self.outlet(conn) {
                    outlet.finish();
                }
            }
            ToNode::Lost => self.lost(),
        }
    }

    fn outlet(&self, conn: u64) -> Option<Arc<Outlet>> {
        self.outlets.lock().get(&conn).and_then(|a| a.outlet.upgrade())
    }

    /// This leader is not the leader any more: the send connections with
    /// a request on its way to it are cut (their clients send it again,
    /// to the new one; the others go to the new one with their next
    /// request, `Forwarded::follow_the_leader`), and the receive connections
    /// hear that whoever it told them of left. Returns those receive
    /// connections, for the next leader. A session that read the old
    /// leader just before and sends to it now, or opens on it, is cut by
    /// its own send ([`Upstream::send`]): no send can slip between.
    pub fn hand_over(&self) -> Vec<(u64, Arc<Outlet>)> {
        self.handed_over.store(true, Ordering::SeqCst);
        self.cut_waiting();
        self.sends.lock().clear();
        let mut kept = Vec::new();
        for (conn, attached) in self.outlets.lock().drain() {
            let Some(outlet) = attached.outlet.upgrade() else { continue };
            for user in attached.joined {
                outlet.push(&Event::Left { user });
            }
            kept.push((conn, outlet));
        }
        kept
    }

    /// What was on its way to this leader or back may be lost (NATS lost
    /// this node or the leader a moment): the send connections with a
    /// request waiting are cut now, not after `--timeout`; their clients
    /// send it again, with its id. The other send connections go on. The
    /// receive connections the leader attached are cut too, without a
    /// word: what it pushed to them (who is online or typing, a call's
    /// signals, the goodbye of a device logged out) may be lost, and it
    /// may have let their outlets go. Their clients log in again, as after
    /// a dropped connection on a single server: the leader checks each
    /// login afresh (a device unlinked meanwhile is refused), tells who is
    /// online, and the numbered events come again from the last one
    /// acknowledged. A receive connection still waiting for its
    /// `ATTACH`'s answer stays ([`RemoteOutlet::answered`]).
    pub fn lost(&self) {
        let cut = self.cut_waiting();
        if cut > 0 {
            log::info!("cluster: {cut} connections waited for a reply NATS may have lost: cut");
        }
        let outlets: Vec<Arc<Outlet>> = {
            let mut all = self.outlets.lock();
            let answered: Vec<u64> = all.iter().filter(|(_, a)| a.answered).map(|(&conn, _)| conn).collect();
            answered.iter().filter_map(|conn| all.remove(conn)).filter_map(|a| a.outlet.upgrade()).collect()
        };
        for outlet in &outlets {
            outlet.shut_down();
        }
        if !outlets.is_empty() {
            log::info!(
                "cluster: {} receive connections may have missed what the leader pushed: cut",
                outlets.len()
            );
        }
    }

    /// Cuts the send connections with a request waiting; how many.
    fn cut_waiting(&self) -> usize {
        let waiting: Vec<Arc<Forwarded>> = {
            let mut sends = self.sends.lock();
            let conns: Vec<u64> = sends.iter().filter(|(_, s)| s.waits()).map(|(&conn, _)| conn).collect();
            conns.iter().filter_map(|conn| sends.remove(conn)).collect()
        };
        for session in &waiting {
            session.cut();
        }
        waiting.len()
    }

    /// Receive connections that came through the previous leader are
    /// attached to this one, as they are (their replay is behind them).
    pub fn take(&self, outlets: Vec<(u64, Arc<Outlet>)>) {
        for (conn, outlet) in outlets {
            let minor = outlet.minor();
            // Its replay is behind it: what this leader pushes from now
            // on is what it needs, and a LOST of this leader concerns it.
            let attached =
                RemoteOutlet { outlet: Arc::downgrade(&outlet), joined: HashSet::new(), answered: true };
            self.outlets.lock().insert(conn, attached);
            let (user, peer) = (outlet.user, SocketAddr::new(outlet.peer_ip, 0));
            let (name, device) = (outlet.name.to_string(), outlet.device.to_string());
            // Not waited for: its answer changes nothing here.
            self.tell(ToLeader::Attach { node: self.node.clone(), conn, user, peer, minor, name, device });
        }
    }

    /// Cuts every connection that goes through this leader: the server
    /// stops.
    pub fn cut_all(&self) {
        for (_, session) in self.sends.lock().drain() {
            session.cut();
        }
        for (_, attached) in self.outlets.lock().drain() {
            if let Some(outlet) = attached.outlet.upgrade() {
                outlet.shut_down();
            }
        }
    }

    /// Tells the leader this node is there (each second), in its run.
    pub fn alive(&self) {
        self.tell(ToLeader::Alive { node: self.node.clone(), run: self.run });
    }

    /// Cuts the sessions whose oldest request waited past the timeout
    /// (the dispatcher calls it now and then).
    pub fn cut_late(&self) {
        let late: Vec<u64> =
            self.sends.lock().iter().filter(|(_, s)| s.late(self.timeout)).map(|(&conn, _)| conn).collect();
        for conn in late {
            if let Some(session) = self.sends.lock().remove(&conn) {
                log::info!("cluster: the leader did not answer a request of connection {conn}: cut");
                session.cut();
            }
        }
    }
}

impl Leader for Forward {
    fn open(
        &self,
        conn: u64,
        peer: SocketAddr,
        client: Arc<Stream>,
        user: Option<(&str, Option<&str>)>,
    ) -> Arc<dyn Upstream> {
        let session = Arc::new(Forwarded {
            forward: Forwarding {
                bus: self.bus.clone(),
                node: self.node.clone(),
                leader: self.leader.clone(),
                handed_over: self.handed_over.clone(),
            },
            conn,
            client,
            state: Mutex::default(),
            answered: Condvar::new(),
            timeout: self.timeout,
        });
        self.sends.lock().insert(conn, session.clone());
        let user = user.map(|(name, device)| (name.to_string(), device.map(str::to_string)));
        self.tell(ToLeader::Open { node: self.node.clone(), conn, peer, user });
        session
    }

    fn authenticate(&self, line: &str, peer: SocketAddr, opens: bool) -> (Outcome, Ticket) {
        let asked = ToLeader::Auth { node: self.node.clone(), peer, opens, line: line.to_string() };
        match self.ask(asked) {
            Some(LeaderAnswer::LoggedIn { user, name, proof, pos }) => {
                (Outcome::LoggedIn(user, name.into(), proof), Ticket(pos))
            }
            Some(LeaderAnswer::Paired { token, pos }) => (Outcome::Paired(token), Ticket(pos)),
            Some(LeaderAnswer::Refused { ko, pos }) => (Outcome::Refused(ko), Ticket(pos)),
            _ => (Outcome::Refused(Ko::no_leader()), Ticket(0)),
        }
    }

    fn attach(&self, conn: u64, outlet: &Arc<Outlet>, minor: u8) -> Result<leader::ReplayStart, Ko> {
        let (node, user, peer) = (self.node.clone(), outlet.user, SocketAddr::new(outlet.peer_ip, 0));
        let (name, device) = (outlet.name.to_string(), outlet.device.to_string());
        // Registered before the leader answers: what it pushes at once
        // (who else is online) finds the outlet.
        let attached =
            RemoteOutlet { outlet: Arc::downgrade(outlet), joined: HashSet::new(), answered: false };
        self.outlets.lock().insert(conn, attached);
        let answer = self.ask(ToLeader::Attach { node, conn, user, peer, minor, name, device });
        match answer {
            Some(LeaderAnswer::Attached { after, pos }) => {
                if let Some(attached) = self.outlets.lock().get_mut(&conn) {
                    attached.answered = true;
                }
                Ok(leader::ReplayStart { after, ticket: Ticket(pos) })
            }
            other => {
                self.outlets.lock().remove(&conn);
                match other {
                    Some(LeaderAnswer::Refused { ko, .. }) => Err(ko),
                    _ => Err(Ko::no_leader()),
                }
            }
        }
    }

    fn version(&self, conn: u64, minor: u8) {
        self.tell(ToLeader::Version { node: self.node.clone(), conn, minor });
    }

    fn ack(&self, conn: u64, seq: u64) {
        self.tell(ToLeader::Ack { node: self.node.clone(), conn, seq });
    }

    fn detach(&self, conn: u64) {
        self.outlets.lock().remove(&conn);
        self.tell(ToLeader::Detach { node: self.node.clone(), conn });
    }

    fn log_end(&self) -> Result<Ticket, Ko> {
        match self.ask(ToLeader::Where { node: self.node.clone() }) {
            Some(LeaderAnswer::At { pos }) => Ok(Ticket(pos)),
            _ => Err(Ko::no_leader()),
        }
    }
}

/// Where a session's requests go.
struct Forwarding {
    bus: Arc<Bus>,
    node: String,
    leader: String,
    /// The leader was handed over ([`Forward::hand_over`]).
    handed_over: Arc<AtomicBool>,
}

/// A send connection forwarded to the leader.
struct Forwarded {
    forward: Forwarding,
    conn: u64,
    /// The client's connection: its reading is stopped once the leader's
    /// session ended (its thread then writes the last replies and ends).
    client: Arc<Stream>,
    state: Mutex<Exchange>,
    /// Signalled as answers come (`settle` waits for the last).
    answered: Condvar,
    timeout: Duration,
}

#[derive(Default)]
struct Exchange {
    /// Requests sent and not answered yet, oldest first: whether each is
    /// answered with a listing, where its answer goes, and when it went.
    waiting: VecDeque<(bool, leader::ReplyTo, Instant)>,
    /// Reply bytes not yet a whole reply.
    bytes: Vec<u8>,
    /// The newest position a reply came with.
    newest: u64,
    /// The leader's session ended.
    closed: bool,
}

impl Forwarded {
    /// A chunk of replies, true as of `pos`.
    fn replied(&self, pos: u64, bytes: &[u8]) {
        let mut state = self.state.lock();
        state.bytes.extend_from_slice(bytes);
        state.newest = state.newest.max(pos);
        let mut done = Vec::new();
        while let Some(&(lists, _, _)) = state.waiting.front() {
            let Some((reply, len)) = whole_reply(&state.bytes, lists) else { break };
            state.bytes.drain(..len);
            let (_, answer, _) = state.waiting.pop_front().expect("a request waits");
            done.push((answer, reply));
        }
        drop(state);
        self.answered.notify_all();
        for (answer, reply) in done {
            let reply = reply.unwrap_or_else(Reply::Ko);
            answer(Some((reply, Ticket(pos))));
        }
    }

    /// The leader's session ended: what waits gets no answer, and the
    /// client's connection ends once the answers given are written.
    fn ended(&self) {
        let waiting = {
            let mut state = self.state.lock();
            state.closed = true;
            std::mem::take(&mut state.waiting)
        };
        self.answered.notify_all();
        for (_, answer, _) in waiting {
            answer(None);
        }
        let _ = self.client.shutdown(std::net::Shutdown::Read);
    }

    /// The session is given up: the client's connection is cut now.
    fn cut(&self) {
        self.ended();
        let _ = self.client.shutdown(std::net::Shutdown::Both);
    }

    /// Requests of it wait for their answers.
    fn waits(&self) -> bool {
        !self.state.lock().waiting.is_empty()
    }

    fn late(&self, timeout: Duration) -> bool {
        self.state.lock().waiting.front().is_some_and(|(_, _, sent)| sent.elapsed() > timeout)
    }
}

impl Upstream for Forwarded {
    fn send(&self, line: &str, lists: bool, answer: leader::ReplyTo) {
        {
            let mut state = self.state.lock();
            if state.closed {
                drop(state);
                return answer(None);
            }
            state.waiting.push_back((lists, answer, Instant::now()));
        }
        // Waiting first, then the flag: a hand-over that set it after
        // this look finds the request waiting, and cuts the session.
        if self.forward.handed_over.load(Ordering::SeqCst) {
            return self.cut();
        }
        let mut lines = line.as_bytes().to_vec();
        lines.push(b'\n');
        let message = ToLeader::Send { node: self.forward.node.clone(), conn: self.conn, lines };
        self.forward.bus.publish(self.forward.leader.clone(), message.encode());
    }

    fn settle(&self) -> Ticket {
        let deadline = Instant::now() + self.timeout;
        let mut state = self.state.lock();
        while !state.waiting.is_empty() && !state.closed {
            if self.answered.wait_until(&mut state, deadline).timed_out() {
                break;
            }
        }
        Ticket(state.newest)
    }

    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    fn close(&self) {
        self.state.lock().closed = true;
        let message = ToLeader::Close { node: self.forward.node.clone(), conn: self.conn };
        self.forward.bus.publish(self.forward.leader.clone(), message.encode());
    }
}

/// The first whole reply in `bytes` and its length, or `None` if it is not
/// all there yet. A reply the server could not have sent (not `OK`/`KO`)
/// is a `KO:INTERNAL` of its line.
fn whole_reply(bytes: &[u8], lists: bool) -> Option<(Result<Reply, Ko>, usize)> {
    let head_end = bytes.iter().position(|&b| b == b'\n')?;
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let reply = match Reply::parse(&head) {
        Ok(reply) => reply,
        Err(why) => return Some((Err(Ko::new(Code::Internal, why)), head_end + 1)),
    };
    let n = match (&reply, lists) {
        (Reply::OkWith(_), true) => reply.listing_len().unwrap_or(0),
        _ => return Some((Ok(reply), head_end + 1)),
    };
    let mut at = head_end + 1;
    let mut lines = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let end = at + bytes[at..].iter().position(|&b| b == b'\n')?;
        lines.push(String::from_utf8_lossy(&bytes[at..end]).into_owned());
        at = end + 1;
    }
    Some((Ok(Reply::Listing(lines)), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session of a leader that was handed over, and one opened on it
    /// after, get no answer from it: each request they send is answered
    /// with nothing at once (the connection is cut, its client resends
    /// to the new leader), not left waiting for its client's timeout.
    #[test]
    fn a_request_sent_to_a_leader_handed_over_is_cut_at_once() {
        let (incoming, _heard) = crossbeam_channel::unbounded();
        // No NATS there: nothing sent through the bus is ever answered.
        let bus = Bus::start("nats://127.0.0.1:9", "test", Vec::new(), incoming).unwrap();
        let forward = Forward::new(bus.clone(), "b".into(), "wachat.lead.1".into(), Duration::from_secs(60));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = listener.local_addr().unwrap();
        let client = || Arc::new(Stream::plain(std::net::TcpStream::connect(peer).unwrap()));
        let before = forward.open(1, peer, client(), None);
        let _ = forward.hand_over();
        let after = forward.open(2, peer, client(), None);
        for session in [before, after] {
            let (answered, answer) = crossbeam_channel::bounded(1);
            session.send(
                "PING",
                false,
                Box::new(move |reply| {
                    let _ = answered.send(reply.is_none());
                }),
            );
            assert_eq!(answer.recv_timeout(Duration::from_secs(5)), Ok(true), "answered with nothing");
            assert!(session.is_closed());
        }
        bus.stop();
    }

    #[test]
    fn replies_are_cut_whole_listings_with_their_lines() {
        let bytes = b"OK:m1:17\nOK:2\na\nb\nKO:BAD_REQUEST:no\nOK:3\nx\n";
        let (first, len) = whole_reply(bytes, false).unwrap();
        assert_eq!(first.unwrap(), Reply::OkWith("m1:17".into()));
        let rest = &bytes[len..];
        let (listing, len) = whole_reply(rest, true).unwrap();
        assert_eq!(listing.unwrap(), Reply::Listing(vec!["a".into(), "b".into()]));
        let rest = &rest[len..];
        let (ko, len) = whole_reply(rest, true).unwrap();
        assert!(matches!(ko.unwrap(), Reply::Ko(ko) if ko.code == Code::BadRequest));
        assert!(whole_reply(&rest[len..], true).is_none(), "a listing not all there yet");
    }
}
