//! The receiver thread: the only owner of the receive connection.
//!
//! It reads the events the server pushes and, for each batch of frames that
//! arrived together:
//!
//! 1. stores every `MSG` and `STATUS` in the local log (a `MSG` whose
//!    `(from, id)` and `<ts>` are already there is a duplicate of an
//!    at-least-once delivery: it is acknowledged again but not shown
//!    again; with another `<ts>` it is another message, see
//!    [`History::add_received`](super::History::add_received));
//! 2. forces the log to disk, **then** sends one cumulative `ACK:<seq>`:
//!    the `ACK` tells the server it may forget those events, so it must
//!    only be said once they are safe here;
//! 3. hands the [`Notice`]s to the application.
//!
//! It answers `PING` with `PONG`, and treats a receive port silent for a
//! whole timeout (the server pings at half of it) as lost: the longer of
//! the server's, learned from `INFO`, and its own (see [`super::keepalive`]). A lost connection
//! is reopened with a backoff; `BYE:REPLACED` (the same user logged in
//! elsewhere) ends the thread instead, or the two clients would take the
//! connection from each other forever.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::backoff::{FIRST_BACKOFF, longer};
use super::connection::Connection;
use super::history::Message;
use super::keepalive::silence_limit;
use super::link::why_offline;
use super::sender::Job;
use super::{Notice, Shared};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::Port;
use crate::protocol::link::ReadBounce;
use crate::protocol::names::fold;
use crate::protocol::{Bye, Chat, Event, EventReply, MsgState};

/// How often the thread looks at the stop channel while waiting for events.
const POLL: Duration = Duration::from_millis(200);

/// Why [`ReceiverThread::serve`] returned.
enum Exit {
    /// The client is closing.
    Stopped,
    /// Another client of the same user (and device) took over.
    Replaced,
    /// This device was unlinked (1.2, `BYE:UNLINKED`).
    Unlinked,
    /// The account was disabled (1.2, `BYE:DISABLED`).
    Disabled,
    /// The connection broke; reconnect.
    Lost(Error),
}

/// The state of the receiver thread.
pub struct ReceiverThread {
    shared: Arc<Shared>,
    /// The receive connection, logged in; `None` while offline.
    conn: Option<Connection>,
    /// To make the sender thread check its own connection when this one
    /// is lost or regained.
    jobs: Sender<Job>,
    /// Disconnected when the [`super::Client`] is closing.
    stop: Receiver<()>,
}

impl ReceiverThread {
    pub fn new(shared: Arc<Shared>, conn: Option<Connection>, jobs: Sender<Job>, stop: Receiver<()>) -> Self {
        ReceiverThread { shared, conn, jobs, stop }
    }

    fn stopping(&self) -> bool {
        matches!(self.stop.try_recv(), Err(TryRecvError::Disconnected))
    }

    /// Runs until the client closes or the connection is replaced.
    pub fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let mut conn = match self.conn.take() {
                Some(conn) => conn,
                None => match self.shared.open(Port::Receive) {
                    Ok(conn) => {
                        backoff = FIRST_BACKOFF;
                        // The server is back (the sender need not wait for
                        // its own backoff), maybe another one at this address.
                        if !self.sender_checked() {
                            return; // the client is closing
                        }
                        self.shared.link.set(Port::Receive, true, String::new);
                        conn
                    }
                    Err(e) => {
                        log::debug!("receive port: {e}");
                        if self.shared.ended_by(&e) {
                            return;
                        }
                        self.shared.link.set(Port::Receive, false, || why_offline(&e));
                        // Sleeps for the backoff, or returns at once when the client closes.
                        if self.stop.recv_timeout(backoff)
                            == Err(crossbeam_channel::RecvTimeoutError::Disconnected)
                        {
                            return;
                        }
                        backoff = longer(backoff);
                        continue;
                    }
                },
            };
            match self.serve(&mut conn) {
                Exit::Stopped => return,
                Exit::Replaced => {
                    self.shared.link.replaced();
                    let _ = self.shared.notices.send(Notice::Replaced);
                    return;
                }
                Exit::Unlinked => {
                    self.shared.unlinked();
                    if !self.shared.uses_token {
                        // Logged in with the password: told all the same.
                        let _ = self.shared.notices.send(Notice::Unlinked);
                    }
                    return;
                }
                Exit::Disabled => {
                    let lang = crate::i18n::current();
                    self.shared.end(tr!(in lang; Msg::DisabledHere, user = self.shared.me));
                    return;
                }
                Exit::Lost(e) => {
                    log::debug!("receive port: {e}");
                    self.shared.link.set(Port::Receive, false, || why_offline(&e));
                    let _ = self.jobs.send(Job::Check { done: None });
                }
            }
        }
    }

    /// Has the sender thread check its connection, and so which server is
    /// at the address ([`Job::Check`]), and waits until it has: no event of
    /// a new receive connection is stored into a folder kept for another
    /// server. Waits half a timeout at most (the server drops a receive
    /// connection silent for a whole one); past that, or if the sender
    /// could not reach the server, the events are stored anyway, guarded as
    /// against a version-1 server (see `History::add_received`). `false`
    /// if the client is closing.
    fn sender_checked(&self) -> bool {
        let (done, checked) = crossbeam_channel::bounded(1);
        if self.jobs.send(Job::Check { done: Some(done) }).is_err() {
            return !self.stopping(); // the sender has stopped: closing
        }
        crossbeam_channel::select! {
            recv(checked) -> _ => true,
            // Never sent to: it only disconnects, when the client closes.
            recv(self.stop) -> _ => false,
            default(self.shared.options.timeout / 2) => {
                log::debug!("receive port: the sender did not check the server in time; going on");
                true
            }
        }
    }

    /// Reads events until the connection ends.
    fn serve(&mut self, conn: &mut Connection) -> Exit {
        let own = self.shared.options.timeout;
        let mut last_heard = Instant::now();
        // The highest sequence number stored but not yet acknowledged.
        let mut unacked: Option<u64> = None;
        let mut notices = Vec::new();
        loop {
            if self.stopping() {
                return Exit::Stopped;
            }
            match conn.poll_frame(Instant::now() + POLL) {
                Ok(Some(line)) => {
                    last_heard = Instant::now();
                    match Event::parse(&line) {
                        Ok(event) => {
                            if let Some(end) = self.handle(conn, event, &mut unacked, &mut notices) {
                                return end;
                            }
                        }
                        Err(e) => log::warn!("receive port: ignoring {e}"),
                    }
                }
                // The server pings at half its timeout: silent for the
                // longer of its timeout and ours, it is gone (keepalive).
                Ok(None) if last_heard.elapsed() > silence_limit(own, self.shared.server_timeout.get()) => {
                    let limit = silence_limit(own, self.shared.server_timeout.get());
                    let silence = tr!(Msg::NothingFromServer, secs = limit.as_secs());
                    return Exit::Lost(Error::io(silence, std::io::ErrorKind::TimedOut.into()));
                }
                Ok(None) => {}
                Err(e) => return Exit::Lost(e),
            }
            // More frames already buffered: store them too, then one fsync
            // and one ACK for the whole batch (a replay of 1000 events costs
            // a few fsyncs, not 1000).
            if conn.has_frame() {
                continue;
            }
            if let Some(seq) = unacked.take()
                && let Err(e) = self.shared.log.lock().sync().and_then(|()| ack(conn, seq))
            {
                return Exit::Lost(e);
            }
            if !notices.is_empty() {
                let log = self.shared.log.lock();
                self.shared.tell(&log, std::mem::take(&mut notices));
            }
        }
    }

    /// Acts on one event; `Some` ends the connection. A stored event
    /// (`MSG`, `STATUS`, `READMARK`) is acknowledged with the batch, once
    /// on disk; what is only told becomes a [`Notice`]; `PING`, `BYE` and
    /// `P2P` are for the connection.
    fn handle(
        &self,
        conn: &mut Connection,
        event: Event,
        unacked: &mut Option<u64>,
        notices: &mut Vec<Notice>,
    ) -> Option<Exit> {
        let stored = match event {
            // 1.2 (§21): a message carrying a file; noted, then kept as its `MSG`.
            Event::File(file) => match self.note_file(file) {
                Ok(msg) => return self.handle(conn, msg, unacked, notices),
                Err(end) => return Some(end),
            },
            // 1.3 (§27): a bounce, as a client of 1.2 reads it: told on the
            // message it names, never a message of its own.
            Event::Msg { seq, from, to, id, text, .. }
                if ReadBounce::of(&id, &text.unescaped()).is_some() =>
            {
                let bounce = ReadBounce::of(&id, &text.unescaped()).expect("matched just above");
                self.store_bounce(&from, &to, bounce, notices).map(|()| seq)
            }
            Event::Msg { seq, from, to, id, ts, text } => match Chat::parse(&to) {
                Ok(to) => self.store_message(self.received(from, to, id, ts, text), notices).map(|()| seq),
                Err(_) => {
                    log::warn!("receive port: MSG {seq} to a bad name {to:?}; acknowledged and dropped");
                    Ok(seq)
                }
            },
            Event::Status { seq, peer, id, state, ts } => {
                self.store_status(&peer, &id, state, ts, notices).map(|()| seq)
            }
            // Another of my devices read this chat (1.2).
            Event::ReadMark { seq, chat, id, ts } => match Chat::parse(&chat) {
                Ok(chat) => self.store_read_mark(chat, &id, ts, notices).map(|()| seq),
                Err(_) => {
                    log::warn!(
                        "receive port: READMARK {seq} of a bad chat {chat:?}; acknowledged and dropped"
                    );
                    Ok(seq)
                }
            },
            Event::Joined { user } => return push(notices, Notice::Joined(user)),
            Event::Left { user } => return push(notices, Notice::Left(user)),
            Event::Member { room, user, joined } => {
                return push(notices, Notice::Member { room, user, joined });
            }
            Event::Typing { from, to } => return push(notices, typing(from, &to)),
            Event::Moderation { room, by, change } => {
                return push(notices, Notice::Moderation { room, by, change });
            }
            Event::Pref(line) => return push(notices, Notice::Pref(line)),
            Event::Block { user, blocked } => return push(notices, Notice::Blocked { user, blocked }),
            Event::Archive { chat, archived } => match Chat::parse(&chat) {
                Ok(chat) => return push(notices, Notice::Archived { chat, archived }),
                Err(_) => {
                    log::warn!("receive port: ARCHIVE of a bad chat {chat:?}; dropped");
                    return None;
                }
            },
            // 1.2 (§29): a chat marked unread or deleted on another
            // device; the consoles show every chat as the server lists it.
            Event::Mark { .. } | Event::Hide { .. } => return None,
            Event::Star { chat, from, id, starred } => match Chat::parse(&chat) {
                Ok(chat) => return push(notices, Notice::Starred { chat, from, id, starred }),
                Err(_) => {
                    log::warn!("receive port: STAR of a bad chat {chat:?}; dropped");
                    return None;
                }
            },
            // 1.2 (§24): a call rings, or ends; its other signals are the
            // browser's (a console has no media to answer with).
            Event::Call { from, signal, .. } => {
                use crate::protocol::call::Signal;
                return match signal {
                    Signal::Offer { media, .. } => push(notices, Notice::Ringing { from, media }),
                    Signal::End(why) => push(notices, Notice::CallEnded { by: from, why }),
                    _ => None,
                };
            }
            // 1.2 (§32): a room's call started; the rest is the browser's.
            Event::GroupCall { room, event } => {
                use crate::protocol::group_call::GroupEvent;
                return match event {
                    GroupEvent::Ring { from, media, .. } | GroupEvent::Start { from, media, .. } => {
                        push(notices, Notice::GroupCall { room, by: from, media })
                    }
                    _ => None,
                };
            }
            // 1.2 (§30): the consoles ask `PROFILE` when they show one.
            Event::Profile(_) | Event::Privacy(_) => return None,
            Event::Ping => return pong(conn).err().map(Exit::Lost),
            Event::Bye(Bye::Replaced) => return Some(Exit::Replaced),
            Event::Bye(Bye::Unlinked) => return Some(Exit::Unlinked),
            Event::Bye(Bye::Disabled) => return Some(Exit::Disabled),
            Event::Bye(reason) => return Some(Exit::Lost(Error::Bye(reason))),
            Event::P2p { from, token } => {
                self.expect_peer(&from, &token);
                return None;
            }
        };
        match stored {
            Ok(seq) => {
                *unacked = Some(seq);
                None
            }
            // Not stored, so not acknowledged: the server will send it again.
            Err(e) => Some(Exit::Lost(Error::Usage(tr!(Msg::CannotStoreEvent, error = e)))),
        }
    }

    /// 1.2 (§21): notes a file's event in the folder (`client::files`),
    /// and gives back the `MSG` it carries. A note that cannot be written
    /// ends the connection, unacknowledged: the server sends it again.
    fn note_file(&self, file: crate::protocol::files::FileEvent) -> std::result::Result<Event, Exit> {
        let dir = self.shared.folder.lock().dir.clone();
        if let Err(e) = crate::client::files::note_event(&dir, &file) {
            return Err(Exit::Lost(Error::Usage(tr!(Msg::CannotStoreEvent, error = e))));
        }
        let crate::protocol::files::FileEvent { seq, from, to, id, ts, text, .. } = file;
        Ok(Event::Msg { seq, from, to, id, ts, text })
    }

    /// A received message as the log keeps it. A direct message is
    /// DELIVERED once it is here; a room message has no states beyond
    /// RECEIVED (protocol §5). A copy of my own message, sent from another
    /// of my devices (1.2), is RECEIVED: its ticks come as STATUS, as for
    /// my sends here.
    fn received(&self, from: String, to: Chat, id: String, ts: u64, text: crate::protocol::Text) -> Message {
        let state = match (&to, self.is_mine(&from)) {
            (Chat::User(_), false) => MsgState::Delivered,
            _ => MsgState::Received,
        };
        Message { from, to, id, ts, state, text, refused: None, p2p: false }
    }

    /// True if `from` is me: a copy of what I sent from another device.
    fn is_mine(&self, from: &str) -> bool {
        fold(from) == fold(&self.shared.me)
    }

    /// `from` is about to dial our P2P port with this token: its HELLO is
    /// checked against it (src/p2p/tokens.rs).
    fn expect_peer(&self, from: &str, token: &str) {
        match self.shared.p2p_port {
            Some(_) => self.shared.tokens.expect(from, token),
            None => log::debug!("receive port: ignoring a P2P offer from {from} (no P2P port)"),
        }
    }

    /// Logs a message; a copy of mine, sent from another device, is told
    /// as [`Notice::Sent`] (it shows as mine, and is never marked read).
    fn store_message(&self, message: Message, notices: &mut Vec<Notice>) -> Result<()> {
        let copy = self.is_mine(&message.from);
        if self.shared.log.lock().add_received(message.clone(), &self.shared.me)? {
            notices.push(if copy { Notice::Sent(message) } else { Notice::Message(message) });
        }
        Ok(())
    }

    /// 1.3: a bounce from `from` to `to` (its readable message): my
    /// message it names is marked refused in the log, with the peer's
    /// reason, and the application is told ([`Notice::Refused`], no code).
    /// In a direct chat the bounce comes from the peer's address; in a
    /// room of another server, from me to the room.
    fn store_bounce(
        &self,
        from: &str,
        to: &str,
        bounce: ReadBounce,
        notices: &mut Vec<Notice>,
    ) -> Result<()> {
        let chat = if to.starts_with('#') { to } else { from };
        let Ok(chat) = Chat::parse(chat) else {
            log::warn!("receive port: a bounce in a bad chat {chat:?}; acknowledged and dropped");
            return Ok(());
        };
        let (id, reason) = match bounce {
            ReadBounce::Message { id, reason } => {
                self.shared.log.lock().refuse(&self.shared.me, &id, &reason)?;
                (id, reason)
            }
            ReadBounce::Join { reason } => (String::new(), reason),
        };
        notices.push(Notice::Refused { to: chat, id, code: None, reason });
        Ok(())
    }

    /// `READMARK`: the messages to me in `chat` up to `id` are read here
    /// too (the local log's unread counts), and the application clears
    /// the chat's badge ([`Notice::ReadElsewhere`]).
    fn store_read_mark(&self, chat: Chat, id: &str, ts: u64, notices: &mut Vec<Notice>) -> Result<()> {
        self.shared.log.lock().read_mark(&self.shared.me, &chat, id, ts)?;
        notices.push(Notice::ReadElsewhere { chat, id: id.to_string() });
        Ok(())
    }

    fn store_status(
        &self,
        peer: &str,
        id: &str,
        state: MsgState,
        ts: u64,
        notices: &mut Vec<Notice>,
    ) -> Result<()> {
        let me = &self.shared.me;
        // 1.2 (§31): the `STATUS` of a room message names the `#room`.
        let chat = match Chat::parse(peer) {
            Ok(room @ Chat::Room(_)) => room,
            _ => Chat::User(peer.to_string()),
        };
        let mut log = self.shared.log.lock();
        let moved = match state {
            // READ is cumulative: every earlier message to that peer is read too.
            MsgState::Read => log.read_up_to(me, me, id, ts)? > 0,
            // So is a room's DELIVERED (§31).
            MsgState::Delivered if matches!(chat, Chat::Room(_)) => log.delivered_up_to(me, id, ts)? > 0,
            _ => log.advance(me, id, state, ts)?,
        };
        if moved {
            notices.push(Notice::State { to: chat, id: id.to_string(), state });
        }
        Ok(())
    }
}

fn push(notices: &mut Vec<Notice>, notice: Notice) -> Option<Exit> {
    notices.push(notice);
    None
}

/// `TYPING` is told in its chat: in a room, the room; else the direct
/// chat with `from`.
fn typing(from: String, to: &str) -> Notice {
    let chat = match Chat::parse(to) {
        Ok(room @ Chat::Room(_)) => room,
        _ => Chat::User(from.clone()),
    };
    Notice::Typing { from, chat }
}

fn pong(conn: &mut Connection) -> Result<()> {
    let pong = EventReply::Pong.to_string();
    conn.write_frame(&pong, &pong)
}

fn ack(conn: &mut Connection, seq: u64) -> Result<()> {
    let frame = EventReply::Ack(seq).to_string();
    conn.write_frame(&frame, &frame)
}
