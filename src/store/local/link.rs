//! 1.3 (§27): the local store's half of the class network. What a link
//! takes from a peer becomes records applied by the same code as a
//! client's (a remote user's `MSG`, a `DELIVERED`, a `READ`), with how far
//! the peer's frames were taken written in the same batch; what waits for
//! a peer is the inbox of its account (`state::remote`), read back as
//! frames, and acknowledged with an `ACK` record as a client's inbox is.
//! So a restart, a checkpoint, or a cluster's follower applying the
//! leader's batches, has all of it.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::backend::Ticket;
use super::super::budget::check_inbox;
use super::super::now_ms;
use super::super::record::{Link, Message, MsgRef, NO_POS, Pos, Record};
use super::super::state::remote::{LINK, PIN, TOOK, address, peer_account};
use super::super::state::{Queued, State, UserId};
use super::reader::read_failed;
use super::{Inner, LocalStore, Pending};
use crate::protocol::link::{Frame, LinkState, clean_reason};
use crate::protocol::{Code, Ko};
use crate::store::prefs;

/// How far into the future a peer's `<ts>` may be; later is taken as now
/// (a peer cannot push this server's clock).
const FUTURE_MS: u64 = 60_000;

/// Most users of one peer this server remembers (their conversations and
/// the ids each sent); a message from one more is refused.
pub const MAX_REMOTE_USERS: usize = 10_000;

/// A frame waiting for a peer, as the link sends it.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Its number `<n>`.
    pub n: u64,
    pub frame: Frame,
    /// When its record was written (the give-up age counts from it).
    pub ts: u64,
}

/// What the link knows of a peer from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerFacts {
    /// The last frame of the peer's taken here.
    pub took: u64,
    /// The identity it presented first and the secret's fingerprint then.
    pub pin: Option<String>,
    /// Frames waiting for it.
    pub queued: u64,
}

fn ko(code: Code, why: impl Into<String>) -> Ko {
    Ko::new(code, why.into())
}

impl LocalStore {
    /// The account whose inbox is `server`'s queue, once it exists.
    pub fn peer_account_id(&self, server: &str) -> Option<UserId> {
        self.inner.state.lock().peer_queue(server)
    }

    /// What the store knows of the link to `server`.
    pub fn peer_facts(&self, server: &str) -> PeerFacts {
        let state = self.inner.state.lock();
        let queued = state.peer_queue(server).map_or(0, |p| {
            let inbox = &state.users[p].inbox;
            inbox.last_seq - inbox.acked
        });
        PeerFacts {
            took: state.link_fact(server, TOOK).and_then(|t| t.parse().ok()).unwrap_or(0),
            pin: state.link_fact(server, PIN).map(str::to_string),
            queued,
        }
    }

    /// Pins `server`'s identity (`pin`: `<identity> <fingerprint>`); a new
    /// pin forgets how far its frames were taken (a new server numbers
    /// from 1).
    pub fn pin_peer(&self, server: &str, pin: &str) -> Result<(), Ko> {
        let ((), ticket) = self.inner.write_in(|state, pending| {
            let user: Arc<str> = peer_account(server).into();
            let ts = state.next_ts(now_ms());
            let set = |key: &str, value: &str| Record::Set {
                ts,
                user: user.clone(),
                name: LINK.into(),
                key: key.into(),
                value: Some(value.into()),
            };
            state.commit(set(PIN, pin), &mut pending.batch)?;
            state.commit(set(TOOK, "0"), &mut pending.batch)
        })?;
        self.inner.sync_through(ticket.0)
    }

    /// Takes frame `<n>` from `server` (this server is `me`): applies it
    /// and notes `<n>` as taken, in one batch; returns once it is on disk.
    /// A frame at or below the last taken is a duplicate: nothing done.
    /// The `KO` says why it is refused ([`crate::protocol::link::Answer::for_now`]
    /// tells a refusal for now from one for good).
    pub fn take_frame(&self, server: &str, me: &str, frame: &Frame) -> Result<(), Ko> {
        let Some(n) = frame.number() else { return Ok(()) };
        let (_, ticket) = self.inner.write_in(|state, pending| {
            let took = state.link_fact(server, TOOK).and_then(|t| t.parse().ok()).unwrap_or(0u64);
            if n <= took {
                return Ok(());
            }
            match frame {
                Frame::Msg { from, to, id, ts, text, .. } => {
                    let msg = (from.as_str(), to.as_str(), id.as_str(), *ts, text);
                    self.inner.take_msg(state, pending, (server, me), msg)?
                }
                Frame::Status { reader, author, id, state: what, .. } => {
                    self.inner.take_status(state, pending, (server, me), (reader, author, id), *what)?
                }
                Frame::Ping | Frame::Quit => {}
            }
            let ts = state.next_ts(now_ms());
            let took = Record::Set {
                ts,
                user: peer_account(server).into(),
                name: LINK.into(),
                key: TOOK.into(),
                value: Some(n.to_string()),
            };
            state.commit(took, &mut pending.batch)
        })?;
        self.inner.sync_through(ticket.0)
    }

    /// The frames waiting for `server` after number `after`, at most
    /// `max`, that are on disk; this server is `me`.
    pub fn frames_for(&self, server: &str, me: &str, after: u64, max: usize) -> Result<Vec<Outgoing>, Ko> {
        let synced = self.inner.synced();
        let entries = {
            let state = self.inner.state.lock();
            let Some(peer) = state.peer_queue(server) else { return Ok(Vec::new()) };
            let mut entries = state.queued(peer, after, u64::MAX, max);
            entries.retain(|(_, q)| q.pos() < synced);
            entries
        };
        let mut out = Vec::with_capacity(entries.len());
        for (n, queued) in entries {
            let pos = queued.pos();
            let Some(line) = self.inner.log.read_line(pos).map_err(|e| read_failed(pos, e))? else {
                continue; // removed by retention: nothing to send
            };
            let (frame, ts) = match queued {
                Queued::Direct { .. } => {
                    let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
                    let text = crate::protocol::Text::parse(&m.text).map_err(|e| read_failed(pos, e))?;
                    let from = format!("{}@{me}", m.from);
                    (Frame::Msg { n, from, to: m.to.into(), id: m.id.into(), ts: m.ts, text }, m.ts)
                }
                Queued::Status { .. } => {
                    let (reader, author, id, state, ts) =
                        match Record::decode(&line).map_err(|e| read_failed(pos, e))? {
                            Record::Delivered { user, chat, id, ts, .. } => {
                                (user, chat, id, LinkState::Delivered, ts)
                            }
                            Record::Read { user, chat, id, ts, .. } => (user, chat, id, LinkState::Read, ts),
                            other => return Err(read_failed(pos, format!("a link's status is {other:?}"))),
                        };
                    let reader = format!("{reader}@{me}");
                    (
                        Frame::Status {
                            n,
                            reader,
                            author: author.to_string(),
                            id: id.to_string(),
                            state,
                            ts,
                        },
                        ts,
                    )
                }
                other => return Err(read_failed(pos, format!("a peer's queue holds {other:?}"))),
            };
            out.push(Outgoing { n, frame, ts });
        }
        Ok(out)
    }

    /// The peer answered frame `<n>` and every one before it: drops them
    /// from its queue (a number past the last given counts as the last:
    /// a peer cannot make this server skip numbers). `refused`: the frames
    /// it refused for good, with its reasons; a message is then bounced to
    /// its author (`FAILED`).
    pub fn frames_done(&self, server: &str, n: u64, refused: &HashMap<u64, String>) -> Result<(), Ko> {
        let (_, ticket) = self.inner.apply_frames_done(server, n, |seq, queued| {
            let reason = refused.get(&seq).filter(|_| matches!(queued, Queued::Direct { .. }));
            reason.map(|r| clean_reason(r))
        })?;
        self.inner.sync_through(ticket.0)
    }

    /// Bounces every message waiting for `server` since before `cutoff_ms`
    /// (statuses for it are dropped): the give-up age is past. Returns
    /// how many messages were bounced.
    pub fn give_up(&self, server: &str, cutoff_ms: u64, reason: &str) -> Result<usize, Ko> {
        let reason = clean_reason(reason);
        let last = {
            let state = self.inner.state.lock();
            let Some(peer) = state.peer_queue(server) else { return Ok(0) };
            let inbox = &state.users[peer].inbox;
            let mut last = inbox.acked;
            for (n, queued) in state.queued(peer, inbox.acked, u64::MAX, 10_000) {
                let Some(line) = self.inner.log.read_line(queued.pos()).ok().flatten() else { break };
                match Record::decode(&line) {
                    Ok(record) if record.ts() < cutoff_ms => last = n,
                    _ => break,
                }
            }
            last
        };
        let mut bounced = 0;
        let (_, ticket) = self.inner.apply_frames_done(server, last, |_, queued| {
            let direct = matches!(queued, Queued::Direct { .. });
            bounced += usize::from(direct);
            direct.then(|| reason.clone())
        })?;
        self.inner.sync_through(ticket.0)?;
        Ok(bounced)
    }
}

/// The two sides of a frame from `server` to this server, `me`: the one
/// who speaks must be `server`'s user (a peer speaks only for its own),
/// the other one of ours, whose local name is returned.
fn sides<'a>((server, me): (&str, &str), speaker: &str, ours: &'a str) -> Result<&'a str, Ko> {
    let (_, origin) = address(speaker).unwrap_or((speaker, ""));
    if !origin.eq_ignore_ascii_case(server) {
        return Err(ko(Code::Forbidden, format!("{server} speaks only for its own users, not {speaker}")));
    }
    let (user, dest) = address(ours).unwrap_or((ours, ""));
    if !dest.eq_ignore_ascii_case(me) {
        return Err(ko(Code::UnknownServer, format!("this is {me}, not {dest}")));
    }
    Ok(user)
}

impl Inner {
    /// A direct message from a peer's user to one of ours.
    fn take_msg(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (from, to, id, ts, text): (&str, &str, &str, u64, &crate::protocol::Text),
    ) -> Result<(), Ko> {
        let user = sides((server, me), from, to)?;
        let to = state.user_id(user).filter(|&u| !state.is_remote(u) && !state.users[u].is_deleted());
        let to = to.ok_or_else(|| ko(Code::UnknownUser, format!("{me} has no user {user}")))?;
        let sender = state.user_id(from);
        if let Some(sender) = sender
            && self.resent(state, pending, sender, id)?.is_some()
        {
            return Ok(()); // a duplicate by (origin, sender, id): taken once
        }
        if sender.is_none() && state.remote_users(server) >= MAX_REMOTE_USERS {
            let why = format!("{server} has {MAX_REMOTE_USERS} users known here, the most");
            return Err(ko(Code::Forbidden, why));
        }
        let inbox = &state.users[to].inbox;
        check_inbox(self.options.budget.inbox_max, &state.users[to].name, inbox.last_seq - inbox.acked)?;
        if let Some(sender) = sender {
            self.options.budget.quota(state, sender).check()?;
        }
        if prefs::blocks(&state.users[to].settings, from) {
            return Ok(()); // blocked: taken, and stored nowhere (§22)
        }
        let now = now_ms();
        let ts = if ts > now + FUTURE_MS { now } else { ts };
        let link = match sender {
            Some(sender) => state.direct_link(sender, to),
            None => Link { prev: NO_POS, ord: 0, dord: 0 }, // its first message here
        };
        let msg = Message {
            from: from.into(),
            to: state.users[to].name.clone(),
            id: id.into(),
            ts,
            text: text.clone(),
        };
        state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut pending.batch)
    }

    /// A peer's user got or read a message of one of ours.
    fn take_status(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (reader, author, id): (&str, &str, &str),
        what: LinkState,
    ) -> Result<(), Ko> {
        let user = sides((server, me), reader, author)?;
        let unknown = || ko(Code::UnknownMessage, format!("{user} sent {reader} no message {id}"));
        let (Some(author), Some(reader_id)) = (state.user_id(user), state.user_id(reader)) else {
            return Err(unknown());
        };
        let dord = self.sent_to(state, pending, author, reader_id, id)?.ok_or_else(unknown)?;
        let ts = state.next_ts(now_ms());
        let (user, chat, id) =
            (state.users[reader_id].name.clone(), state.users[author].name.clone(), Arc::from(id));
        let record = match what {
            LinkState::Delivered if state.would_deliver(author, reader_id, dord) => {
                Record::Delivered { ts, user, chat, id, dord }
            }
            LinkState::Read if state.would_read(author, reader_id, dord) => {
                Record::Read { ts, user, chat, id, ord: dord }
            }
            _ => return Ok(()), // the mark is past it already
        };
        state.commit(record, &mut pending.batch)
    }

    /// The number (`dord`) of `author`'s message `id` to `to`, among its
    /// last messages (its resend window).
    fn sent_to(
        &self,
        state: &State,
        pending: &Pending,
        author: UserId,
        to: UserId,
        id: &str,
    ) -> Result<Option<u64>, Ko> {
        for pos in state.sent_candidates(author, id) {
            let Some(line) = self.line(pending, pos)? else { continue };
            let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
            if m.id == id
                && crate::protocol::names::fold(m.to) == crate::protocol::names::fold(&state.users[to].name)
            {
                return Ok(Some(m.dord));
            }
        }
        Ok(None)
    }

    /// The line at `pos`, from the pending batch or the log.
    fn line(&self, pending: &Pending, pos: Pos) -> Result<Option<String>, Ko> {
        match pending.line_at(pos) {
            Some(line) => Ok(Some(line)),
            None => self.log.read_line(pos).map_err(|e| read_failed(pos, e)),
        }
    }

    /// Drops the frames of `server`'s queue up to `n` with an `ACK` of its
    /// account; `bounce(n, entry)` says, for each, whether its message is
    /// bounced to its author and why.
    fn apply_frames_done(
        &self,
        server: &str,
        n: u64,
        mut bounce: impl FnMut(u64, &Queued) -> Option<String>,
    ) -> Result<((), Ticket), Ko> {
        self.write_in(|state, pending| {
            let Some(peer) = state.peer_queue(server) else { return Ok(()) };
            let (acked, n) = (state.users[peer].inbox.acked, n.min(state.users[peer].inbox.last_seq));
            if n <= acked {
                return Ok(());
            }
            for (seq, queued) in state.queued(peer, acked, n, usize::MAX) {
                let Some(reason) = bounce(seq, &queued) else { continue };
                let pos = queued.pos();
                let Some(line) = self.line(pending, pos)? else { continue };
                let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
                let ts = state.next_ts(now_ms());
                let failed = Record::Failed {
                    ts,
                    author: m.from.into(),
                    address: m.to.into(),
                    id: m.id.into(),
                    reason: reason.as_str().into(),
                };
                state.commit(failed, &mut pending.batch)?;
            }
            let ts = state.next_ts(now_ms());
            let user = state.users[peer].name.clone();
            state.commit(Record::Ack { ts, user, seq: n }, &mut pending.batch)
        })
    }
}
