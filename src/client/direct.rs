//! Direct chats in the client: what [`crate::p2p`] connections mean for the
//! local log, the outbox and the application.
//!
//! The promise is the same as for messages through the server: a message
//! the user wrote arrives, once. So a direct message is in the log (`SENT`,
//! marked `p2p`) and on the disk before it goes on the socket; the peer's
//! `ACK` makes it `DELIVERED ✓✓`. When a chat ends — the peer left, the
//! connection broke, garbage, a hang-up — every message the peer had not
//! acknowledged moves to the outbox *with its id* and goes through the
//! server. If the peer did get it and only the `ACK` was lost, the server
//! delivers it again and the peer's client drops it as a duplicate: ids
//! make the fallback safe. A crash in the middle of a chat leaves such
//! messages `SENT` in the log; [`recover`] hands them to the outbox at the
//! next start.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::sender::Job;
use super::{
    Client, ClientOptions, Connection, History, Message, Notice, Outbox, Shared, Unconfirmed, now_ms,
};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::p2p::{P2p, PeerHandler};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, MsgState, PeerIntro, PeerMsg, Reply, Request};

/// Starts the P2P side of a client, listening on `listener` if given.
pub(super) fn start(shared: &Arc<Shared>, listener: Option<TcpListener>, jobs: Sender<Job>) -> Result<P2p> {
    let handler = PeerEvents { shared: shared.clone(), jobs };
    let o = &shared.options;
    P2p::start(&shared.me, listener, o.timeout, shared.tokens.clone(), Box::new(handler))
}

/// The P2P listener on `port`, bound to `local_ip`, the address our send
/// connection to the server comes from; while offline, the address the
/// system would route to the server from (a UDP socket's `connect` only
/// asks the routing table, it sends nothing). `None` when neither can be
/// told: no route to the server, so no peer could be introduced anyway.
pub(super) fn listen(
    options: &ClientOptions,
    local_ip: Option<IpAddr>,
    port: u16,
) -> Result<Option<TcpListener>> {
    let first = options.endpoints().swap_remove(0);
    let Some(ip) = local_ip.or_else(|| routed_ip(&first.host, first.send_port)) else {
        log::warn!("{}", tr!(Msg::NoRouteForPeers, server = options.server));
        return Ok(None);
    };
    crate::p2p::bind(ip, port).map(Some)
}

/// The local address the system would use to reach `host:port`.
fn routed_ip(host: &str, port: u16) -> Option<IpAddr> {
    let target = (host, port).to_socket_addrs().ok()?.next()?;
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).ok()?;
    socket.connect(target).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// `P2P:<port>`: we accept direct chats on that port (protocol §8 step 1).
/// The server forgets it when our receive connection ends, so it is said
/// after every login of the send port and again whenever the receive port
/// reconnects (the sender thread's [`Job::Check`]).
pub(super) fn announce(conn: &mut Connection, p2p_port: Option<u16>) -> Result<()> {
    let Some(port) = p2p_port else { return Ok(()) };
    match conn.request_patiently(&Request::P2p { port })? {
        Reply::Ok => Ok(()),
        // Still over the budget: said again at the next check
        // (`Job::Check`); chatting through the server works meanwhile.
        Reply::Ko(ko) if ko.code == Code::RateLimited => {
            log::debug!("P2P:{port}: {}", ko.reason);
            Ok(())
        }
        // A server without P2P: chatting through it still works.
        other => {
            log::warn!("P2P:{port} answered {:?}", other.to_string().trim_end());
            Ok(())
        }
    }
}

/// After a crash: `me`'s direct messages never acknowledged go to the outbox.
pub(super) fn recover(me: &str, log: &mut History, outbox: &mut Outbox) -> Result<()> {
    let waiting: Vec<String> = outbox.waiting(outbox.len()).into_iter().map(|m| m.id).collect();
    for m in log.unacked_direct(me) {
        if !waiting.contains(&m.id) {
            outbox.push(Unconfirmed {
                ts: m.ts,
                to: m.to.clone(),
                id: m.id.clone(),
                text: m.text.clone(),
            })?;
        }
        log.relay(&m.from, &m.id)?;
    }
    log.sync()
}

impl Client {
    /// Opens a direct chat with `user` (protocol §8): asks the server to
    /// introduce us (`PEER:<user>`), dials the address it gives and says
    /// `HELLO` with the token. From then on, [`Client::send`] to `user`
    /// goes straight to the peer, marked `[p2p]`, until the chat ends
    /// ([`Notice::P2pClosed`]).
    ///
    /// An `Err` says why the direct chat cannot be made (the user is
    /// offline or accepts none, unreachable, refused…); messages to `user`
    /// then simply go through the server, as any message does.
    ///
    /// ```no_run
    /// use wachat::client::{Client, Notice, ClientOptions};
    ///
    /// # fn main() -> wachat::error::Result<()> {
    /// let client = Client::connect(ClientOptions::new("ana", "secret"))?;
    /// match client.open_p2p("bob") {
    ///     Ok(()) => println!("direct chat with bob: the server will not see it"),
    ///     Err(e) => println!("no direct chat ({e}): through the server then"),
    /// }
    /// client.send("bob", "hi bob")?; // over the direct chat if it is open
    /// for notice in client.events().iter() {
    ///     match notice {
    ///         Notice::Message(m) if m.p2p => println!("[p2p] {}: {}", m.from, m.text.unescaped()),
    ///         Notice::P2pClosed { why, resent, .. } => println!("ended: {why}; {resent} resent"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn open_p2p(&self, user: &str) -> Result<()> {
        crate::i18n::client::check_user(crate::i18n::current(), user).map_err(Error::Usage)?;
        if fold(user) == fold(self.me()) {
            return Err(Error::Usage(tr!(Msg::DirectWithYourself)));
        }
        // A direct chat would be plaintext: with TLS there is none.
        if self.shared.options.tls.is_some() {
            return Err(Error::Usage(tr!(Msg::DirectNeedsPlaintext)));
        }
        let p2p = self.p2p.as_ref().ok_or(Error::Offline)?;
        if p2p.is_open(user) {
            return Ok(());
        }
        let what = tr!(Msg::ReqDirectChat, user = user);
        let fields = match self.request(Request::Peer { user: user.to_string() })? {
            Reply::OkWith(fields) => fields,
            Reply::Ko(ko) => return Err(Error::Refused { request: what, ko }),
            other => {
                let reply = format!("{:?}", other.to_string().trim_end());
                return Err(Error::Protocol(format!("{what}: {}", tr!(Msg::UnexpectedReply, reply = reply))));
            }
        };
        let (addr, token) = parse_peer_reply(&fields).map_err(|e| Error::Protocol(format!("{what}: {e}")))?;
        p2p.connect(user, addr, &token)
    }

    /// Ends the direct chat with `user`; its unacknowledged messages go
    /// through the server. False if none was open.
    pub fn hang_up(&self, user: &str) -> bool {
        self.p2p.as_ref().is_some_and(|p2p| p2p.hang_up(user))
    }

    /// True while a direct chat with `user` is open.
    pub fn is_direct(&self, user: &str) -> bool {
        self.p2p.as_ref().is_some_and(|p2p| p2p.is_open(user))
    }

    /// The port this client accepts direct chats on, if it does.
    pub fn p2p_port(&self) -> Option<u16> {
        self.shared.p2p_port
    }

    /// The address this client accepts direct chats on, if it does: the
    /// local address that reaches the server, never every interface.
    pub fn p2p_addr(&self) -> Option<SocketAddr> {
        self.p2p.as_ref().and_then(|p2p| p2p.addr())
    }

    /// [`Client::send`] for a user with an open direct chat.
    pub(super) fn send_direct(&self, out: Unconfirmed) -> Result<Message> {
        let mut message = self.shared.as_logged(&out, MsgState::Sent, out.ts);
        message.p2p = true;
        {
            // On disk before on the wire: after a crash, `recover` finds it.
            let mut log = self.shared.log.lock();
            log.add(message.clone())?;
            log.sync()?;
        }
        let _ = self.shared.notices.send(Notice::Sent(message.clone()));
        let Chat::User(peer) = &out.to else { unreachable!("send checked that it is a user") };
        let direct = PeerMsg { id: out.id.clone(), ts: out.ts, text: out.text.clone() };
        if let Some(Err(unsent)) = self.p2p.as_ref().map(|p2p| p2p.send(peer, direct)) {
            // The chat ended between the check and now: the server takes it.
            self.shared.relay(peer, vec![unsent])?;
            self.job(Job::Wake);
            message.p2p = false;
        }
        Ok(message)
    }
}

impl Shared {
    /// Hands direct messages that `peer` never acknowledged to the outbox,
    /// with their ids; returns how many.
    fn relay(&self, peer: &str, unacked: Vec<PeerMsg>) -> Result<usize> {
        let n = unacked.len();
        for m in unacked {
            let to = Chat::User(peer.to_string());
            // Outbox first: it is what makes the message leave.
            self.outbox.lock().push(Unconfirmed { ts: m.ts, to, id: m.id.clone(), text: m.text })?;
            self.log.lock().relay(&self.me, &m.id)?;
        }
        self.log.lock().sync()?;
        Ok(n)
    }
}

/// `<ip>:<port>:<token>` from `OK` to `PEER`.
fn parse_peer_reply(fields: &str) -> std::result::Result<(SocketAddr, String), String> {
    PeerIntro::parse(fields).map(|intro| (intro.addr, intro.token))
}

/// The client's [`PeerHandler`]: the P2P threads report here.
struct PeerEvents {
    shared: Arc<Shared>,
    /// To wake the sender thread when messages fall back to the outbox.
    jobs: Sender<Job>,
}

impl PeerEvents {
    fn tell(&self, notice: Notice) {
        // The application may have dropped its end; then nobody listens.
        let _ = self.shared.notices.send(notice);
    }
}

impl PeerHandler for PeerEvents {
    fn opened(&self, peer: &str, incoming: bool) {
        self.tell(Notice::P2pOpened { peer: peer.to_string(), incoming });
    }

    fn received(&self, peer: &str, messages: Vec<PeerMsg>) -> Result<()> {
        let me = &self.shared.me;
        let mut fresh = Vec::new();
        {
            let mut log = self.shared.log.lock();
            for m in messages {
                let message = Message {
                    from: peer.to_string(),
                    to: Chat::User(me.clone()),
                    id: m.id,
                    // When it arrived here, by our clock: the peer's own `ts`
                    // is another machine's clock (or whatever a stranger
                    // wrote), and would put the message out of order among
                    // the ones timed by the server and by us.
                    ts: now_ms(),
                    // Here, so delivered; it never becomes READ (§8 has no READ).
                    state: MsgState::Delivered,
                    text: m.text,
                    refused: None,
                    p2p: true,
                };
                // A message we already have (sent again) is acknowledged, not shown.
                if log.add(message.clone())? {
                    fresh.push(message);
                }
            }
            log.sync()?;
        }
        fresh.into_iter().for_each(|m| self.tell(Notice::Message(m)));
        Ok(())
    }

    fn acknowledged(&self, peer: &str, id: &str) {
        let mut log = self.shared.log.lock();
        let moved = log.advance(&self.shared.me, id, MsgState::Delivered, now_ms()).and_then(|moved| {
            log.sync()?;
            Ok(moved)
        });
        match moved {
            Ok(true) => {
                let state = Notice::State {
                    to: Chat::User(peer.to_string()),
                    id: id.to_string(),
                    state: MsgState::Delivered,
                };
                self.shared.tell(&log, vec![state]);
            }
            Ok(false) => {}
            // The peer has it anyway; only our tick is not on disk.
            Err(e) => log::warn!("p2p {peer}: cannot log the ACK of {id}: {e}"),
        }
    }

    fn closed(&self, peer: &str, why: &str, unacked: Vec<PeerMsg>) {
        let resent = match self.shared.relay(peer, unacked) {
            Ok(n) => n,
            Err(e) => {
                log::error!("p2p {peer}: cannot move unacknowledged messages to the outbox: {e}");
                0
            }
        };
        if resent > 0 {
            let _ = self.jobs.send(Job::Wake);
        }
        self.tell(Notice::P2pClosed { peer: peer.to_string(), why: why.to_string(), resent });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Text;

    #[test]
    fn after_a_crash_unacknowledged_direct_messages_go_to_the_outbox_once() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let log = History::open(dir.path().join("history.csv")).unwrap();
            (log, Outbox::open(dir.path().join("outbox_tmp.csv")).unwrap())
        };
        let (mut log, outbox) = open();
        let direct = |id: &str, state| Message {
            from: "ana".into(),
            to: Chat::User("bob".into()),
            id: id.into(),
            ts: 7,
            state,
            text: Text::from_plain("hi").unwrap(),
            refused: None,
            p2p: true,
        };
        log.add(direct("acked", MsgState::Delivered)).unwrap();
        log.add(direct("lost", MsgState::Sent)).unwrap();
        log.sync().unwrap();
        drop((log, outbox)); // the crash

        let (mut log, mut outbox) = open();
        recover("Ana", &mut log, &mut outbox).unwrap();
        let waiting: Vec<String> = outbox.waiting(10).into_iter().map(|m| m.id).collect();
        assert_eq!(waiting, ["lost"]);
        assert!(!log.get("ana", "lost").unwrap().p2p, "relayed: the server's ticks apply now");
        drop((log, outbox));
        // A second start finds nothing more to do.
        let (mut log, mut outbox) = open();
        recover("ana", &mut log, &mut outbox).unwrap();
        assert_eq!(outbox.len(), 1);
    }

    #[test]
    fn peer_replies_are_read_from_the_right() {
        let (addr, token) = parse_peer_reply("127.0.0.1:7000:19778d93").unwrap();
        assert_eq!((addr.to_string(), token.as_str()), ("127.0.0.1:7000".into(), "19778d93"));
        let (addr, _) = parse_peer_reply("::1:7000:ab").unwrap();
        assert_eq!(addr.to_string(), "[::1]:7000");
        assert!(parse_peer_reply("127.0.0.1:seven:ab").is_err());
        assert!(parse_peer_reply("7000:ab").is_err());
    }
}
