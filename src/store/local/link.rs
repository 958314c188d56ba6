//! 1.3 (§27): the local store's half of the class network. What a link
//! takes from a peer becomes records applied by the same code as a
//! client's (a remote user's `MSG`, a `DELIVERED`, a `READ`), with how far
//! the peer's frames were taken written in the same batch; what waits for
//! a peer is the inbox of its account (`state::remote`), read back as
//! frames, and acknowledged with an `ACK` record as a client's inbox is.
//! So a restart, a checkpoint, or a cluster's follower applying the
//! leader's batches, has all of it.
//!
//! Rooms across servers (§27, "Rooms"): at a room's **home**, a peer's
//! `JOIN` and `LEAVE` are those records for its user's address, and its
//! room `MSG` is a message of the room, ordered here and queued for every
//! member server (`State::fan_out`); at a **member server**, the home's
//! room `MSG` enters the copy `#lab@lab2` as a message of it, once.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::budget::{check_inbox, check_link_queue};
use super::super::interface::Ticket;
use super::super::now_ms;
use super::super::record::{Link, MsgRef, NO_POS, Pos, Record, StoredMessage};
use super::super::state::remote::{
    AT, BACKFILL_MAX, BEHIND, LINK, PIN, SET_ASIDE, TOOK, WROTE, address, here, homed_at, is_copy,
    on_the_link, peer_account, speaks_for,
};
use super::super::state::{Queued, RoomId, State, UserId};
use super::reader::read_failed;
use super::{Inner, LocalStore, Pending};
use crate::protocol::action::check_peer_id;
use crate::protocol::group_call::GroupLog;
use crate::protocol::link::{Frame, LinkState, MessageFrame, RoomFrame, clean_reason};
use crate::protocol::relayed;
use crate::protocol::{Code, Ko};
use crate::store::prefs;

/// How far into the future a peer's `<ts>` may be; later is taken as now
/// (a peer cannot push this server's clock).
const FUTURE_MS: u64 = 60_000;

/// Most users of one peer this server remembers (their conversations and
/// the ids each sent); a message from one more is refused.
pub const MAX_REMOTE_USERS: usize = 10_000;

/// Most users of one peer in one room homed here: a `JOIN` of one more
/// is refused for good. A roster server may have 10,000 users
/// ([`MAX_REMOTE_USERS`]); a class's server has tens, and one server's
/// crowd must not fill a room.
pub const PEER_MEMBERS_PER_ROOM: usize = 100;

/// Most users of one peer with a direct chat with one user here: a
/// message from one more is refused for good, so one server's crowd
/// cannot fill a user's list of chats.
pub const PEER_CHATS_PER_USER: usize = 100;

/// Frames of a peer's queue looked at, at most, each time the give-up age
/// is checked (each dial of an unreachable peer): the rest wait for the
/// next look.
const GIVE_UP_SCAN: usize = 10_000;

/// A frame waiting for a peer, as the link sends it.
#[derive(Clone, Debug)]
pub struct Unacked {
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
    /// Messages of rooms homed here were not queued for it (its queue was
    /// full): it catches up ([`LocalStore::catch_up`]) once the queue is
    /// empty.
    pub behind: bool,
    /// When the oldest frame waiting for it was written (Unix ms).
    pub oldest_ms: Option<u64>,
}

/// What a frame taken from a peer changed that the server tells its
/// clients: a member of the peer's joined or left a room homed here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub user: UserId,
    pub name: String,
    pub room: String,
    pub joined: bool,
}

fn ko(code: Code, why: impl Into<String>) -> Ko {
    Ko::new(code, why.into())
}

impl LocalStore {
    /// True while this store may write: a single server, or the leader of
    /// its cluster (a follower applies the leader's batches). Only then
    /// does a server dial its peers and take their frames.
    pub fn leads(&self) -> bool {
        !self.inner.following.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Where the leader of this cluster, named `me`, takes links, as it
    /// said last ([`AT`]).
    pub fn leader_link(&self, me: &str) -> Option<String> {
        self.inner.state.lock().link_fact(me, AT).map(str::to_string)
    }

    /// This node leads, and takes links at `at`: says so to the other
    /// nodes (a record they apply), unless they know it already.
    pub fn advertise_link(&self, me: &str, at: &str) -> Result<(), Ko> {
        let ((), ticket) = self.inner.write_in(|state, pending| {
            if state.link_fact(me, AT) == Some(at) {
                return Ok(());
            }
            let ts = state.next_ts(now_ms());
            let (user, name, key) = (peer_account(me).into(), LINK.into(), AT.into());
            state.commit(Record::Set { ts, user, name, key, value: Some(at.into()) }, &mut pending.batch)
        })?;
        self.inner.sync_through(ticket.0)
    }

    /// Bytes `server`'s users' messages and its rooms' copies take here
    /// (what `--peer-quota` counts), and the quota (0: none): a peer's
    /// files are counted against it with them, as the link takes them
    /// (`federation::files`).
    pub fn peer_stored(&self, server: &str) -> (u64, u64) {
        let state = self.inner.state.lock();
        let used = state.peer_queue(server).map_or(0, |peer| state.usage.of_peer(peer));
        (used, self.inner.options.budget.peer_quota)
    }

    /// What the store knows of the link to `server`.
    pub fn peer_facts(&self, server: &str) -> PeerFacts {
        let (mut facts, oldest) = {
            let state = self.inner.state.lock();
            let (queued, oldest) = state.peer_queue(server).map_or((0, None), |p| {
                let inbox = &state.users[p].inbox;
                (inbox.last_seq - inbox.acked, inbox.queue.front().map(Queued::pos))
            });
            let facts = PeerFacts {
                took: state.link_fact(server, TOOK).and_then(|t| t.parse().ok()).unwrap_or(0),
                pin: state.link_fact(server, PIN).map(str::to_string),
                queued,
                behind: state.link_fact(server, BEHIND).is_some(),
                oldest_ms: None,
            };
            (facts, oldest)
        };
        // The oldest frame's time is its record's, read outside the lock.
        facts.oldest_ms = oldest
            .and_then(|pos| self.inner.log.read_line(pos).ok().flatten())
            .and_then(|line| Record::decode(&line).ok())
            .map(|record| record.ts());
        facts
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
    pub fn take_frame(&self, server: &str, me: &str, frame: &Frame) -> Result<Option<Membership>, Ko> {
        let Some(n) = frame.number() else { return Ok(None) };
        let (changed, ticket) = self.inner.write_in(|state, pending| {
            let took = state.link_fact(server, TOOK).and_then(|t| t.parse().ok()).unwrap_or(0u64);
            if n <= took {
                return Ok(None);
            }
            let sides = (server, me);
            let mut changed = None;
            match frame {
                Frame::Message(MessageFrame::Msg { from, to, id, ts, text, .. }) => {
                    let msg = (from.as_str(), to.as_str(), id.as_str(), *ts, text);
                    if to.starts_with('#') {
                        self.inner.take_room_msg(state, pending, sides, msg)?
                    } else {
                        self.inner.take_msg(state, pending, sides, msg)?
                    }
                }
                Frame::Message(MessageFrame::Status { reader, author, id, state: what, .. }) => {
                    self.inner.take_status(state, pending, sides, (reader, author, id), *what)?
                }
                Frame::Room(RoomFrame { user, room, joined, .. }) => {
                    let joined = *joined;
                    changed = if homed_at(room, server) {
                        self.inner.take_announced(state, pending, sides, (user, room), joined)?
                    } else {
                        self.inner.take_membership(state, pending, sides, (user, room), joined)?
                    }
                }
                Frame::Receipt(receipt) => self.inner.take_receipt(state, pending, sides, receipt)?,
                // A file's message is taken as its `MSG` (`federation::frames::file`),
                // its bytes are the file store's.
                Frame::File(_) => {
                    return Err(ko(Code::Internal, "a file's frame is taken as its MSG"));
                }
                // Told: never taken into the store (`federation::frames` answers them).
                Frame::Call(_)
                | Frame::GroupCall(_)
                | Frame::People(_)
                | Frame::Profile(_)
                | Frame::Presence(_)
                | Frame::Ping
                | Frame::Quit => {
                    return Err(ko(Code::Internal, "a told frame is not taken into the store"));
                }
            }
            let ts = state.next_ts(now_ms());
            let took = Record::Set {
                ts,
                user: peer_account(server).into(),
                name: LINK.into(),
                key: TOOK.into(),
                value: Some(n.to_string()),
            };
            state.commit(took, &mut pending.batch)?;
            Ok(changed)
        })?;
        self.inner.sync_through(ticket.0)?;
        Ok(changed)
    }

    /// Records that this server's frames to `server` are written on a
    /// link through `<n>` ([`WROTE`]), on disk (and, in a cluster, in the
    /// replicated log, so a new leader knows it) before the link writes
    /// them: from then, those the peer has not acknowledged are in doubt.
    /// Also called with the peer's `OK:<last>` at a hello, which settles
    /// the doubt: it has what is at or below `<last>`, and nothing above.
    pub fn written_through(&self, server: &str, n: u64) -> Result<(), Ko> {
        let ((), ticket) = self.inner.write_in(|state, pending| {
            let Some(peer) = state.peer_queue(server) else { return Ok(()) };
            // A peer's `OK:<last>` past the last frame numbered counts as the last.
            let n = n.min(state.users[peer].inbox.last_seq);
            if state.link_fact(server, WROTE).and_then(|w| w.parse().ok()).unwrap_or(0u64) == n {
                return Ok(());
            }
            let ts = state.next_ts(now_ms());
            let (user, name, key) = (peer_account(server).into(), LINK.into(), WROTE.into());
            state.commit(Record::Set { ts, user, name, key, value: Some(n.to_string()) }, &mut pending.batch)
        })?;
        self.inner.sync_through(ticket.0)
    }

    /// The frames waiting for `server` after number `after`, at most
    /// `max`, that are on disk; this server is `me`.
    pub fn frames_for(&self, server: &str, me: &str, after: u64, max: usize) -> Result<Vec<Unacked>, Ko> {
        let synced = self.inner.synced();
        let (entries, aside) = {
            let state = self.inner.state.lock();
            let Some(peer) = state.peer_queue(server) else { return Ok(Vec::new()) };
            let mut entries = state.queued(peer, after, u64::MAX, max);
            entries.retain(|(_, q)| q.pos() < synced);
            (entries, set_aside(&state, server))
        };
        let mut out = Vec::with_capacity(entries.len());
        for (n, queued) in entries {
            // Frames given up are never sent (a link's numbers may skip).
            if !matches!(queued, Queued::Link { .. }) && given_up(aside, n, None) {
                continue;
            }
            let pos = queued.pos();
            let Some(line) = self.inner.log.read_line(pos).map_err(|e| read_failed(pos, e))? else {
                continue; // removed by retention: nothing to send
            };
            let (frame, ts) = match queued {
                Queued::Direct { .. } => {
                    let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
                    let text = crate::protocol::Text::parse(&m.text).map_err(|e| read_failed(pos, e))?;
                    let from = format!("{}@{me}", m.from);
                    let msg = MessageFrame::Msg { n, from, to: m.to.into(), id: m.id.into(), ts: m.ts, text };
                    (Frame::Message(msg), m.ts)
                }
                Queued::Status { .. } => {
                    let record = Record::decode(&line).map_err(|e| read_failed(pos, e))?;
                    if let Record::Delivered { chat, .. } | Record::Read { chat, .. } = &record
                        && chat.starts_with('#')
                    {
                        // A member of ours got or read a room's messages.
                        let Some(frame) = self.inner.receipt_frame(n, &record, me)? else { continue };
                        out.push(Unacked { n, frame, ts: record.ts() });
                        continue;
                    }
                    let (reader, author, id, state, ts) = match record {
                        Record::Delivered { user, chat, id, ts, .. } => {
                            (user, chat, id, LinkState::Delivered, ts)
                        }
                        Record::Read { user, chat, id, ts, .. } => (user, chat, id, LinkState::Read, ts),
                        other => return Err(read_failed(pos, format!("a link's status is {other:?}"))),
                    };
                    let reader = format!("{reader}@{me}");
                    (
                        Frame::Message(MessageFrame::Status {
                            n,
                            reader,
                            author: author.to_string(),
                            id: id.to_string(),
                            state,
                            ts,
                        }),
                        ts,
                    )
                }
                Queued::Link { .. } => {
                    let record = Record::decode(&line).map_err(|e| read_failed(pos, e))?;
                    if given_up(aside, n, Some(&record)) {
                        continue;
                    }
                    let ts = record.ts();
                    (link_frame(n, record, me).map_err(|e| read_failed(pos, e))?, ts)
                }
                other => return Err(read_failed(pos, format!("a peer's queue holds {other:?}"))),
            };
            out.push(Unacked { n, frame, ts });
        }
        Ok(out)
    }

    /// The peer answered frame `<n>` and every one before it: drops them
    /// from its queue (a number past the last given counts as the last:
    /// a peer cannot make this server skip numbers). `refused`: the frames
    /// it refused for good, with its reasons; a message is then bounced to
    /// its author (`FAILED`).
    pub fn frames_done(&self, server: &str, n: u64, refused: &HashMap<u64, String>) -> Result<(), Ko> {
        let why = |seq| refused.get(&seq).map(|r: &String| clean_reason(r));
        let (_, ticket) = self.inner.apply_frames_done(server, n, why)?;
        self.inner.sync_through(ticket.0)
    }

    /// Bounces every message waiting for `server` since before `cutoff_ms`
    /// (statuses for it are dropped): the give-up age is past. Those
    /// frames are **given up**: the run of frames they are in is set aside
    /// ([`SET_ASIDE`]), and they are never sent; they leave the queue with
    /// the frames ahead of them. Messages of rooms homed here in the run
    /// are nobody's custody and never given up: they wait, and go in
    /// their rooms' order, as long as the queue has room for them
    /// (`state::remote::ROOM_QUEUE_MAX`). A frame written on a link that
    /// broke before its `ACK` ([`WROTE`]) is in doubt: the peer may have
    /// it, so it is never given up; the peer's next `OK:<last>` settles
    /// it. The frames behind it were never written on a link, so the peer
    /// has none of them: past the age they are given up all the same.
    /// Returns how many frames were given up, and how many messages of
    /// those were bounced.
    pub fn give_up(&self, server: &str, cutoff_ms: u64, reason: &str) -> Result<(u64, usize), Ko> {
        let reason = clean_reason(reason);
        let (from, last, given) = {
            let state = self.inner.state.lock();
            let Some(peer) = state.peer_queue(server) else { return Ok((0, 0)) };
            let inbox = &state.users[peer].inbox;
            let wrote = state.link_fact(server, WROTE).and_then(|w| w.parse().ok()).unwrap_or(0u64);
            let aside = set_aside(&state, server);
            // What follows the frames in doubt, if any; the run already
            // set aside grows, one run at a time.
            let from = match aside {
                Some((_, end)) if wrote > inbox.acked && end < wrote => return Ok((0, 0)),
                _ => wrote.max(inbox.acked),
            };
            let (mut last, mut given) = (from, 0);
            for (n, queued) in state.queued(peer, from, u64::MAX, GIVE_UP_SCAN) {
                if aside.is_some_and(|(first, end)| (first..=end).contains(&n)) {
                    last = n; // set aside already
                    continue;
                }
                let Some(line) = self.inner.log.read_line(queued.pos()).ok().flatten() else { break };
                match Record::decode(&line) {
                    Ok(Record::Msg { msg, .. }) if msg.to.starts_with('#') => {}
                    Ok(record) if record.ts() < cutoff_ms => (last, given) = (n, given + 1),
                    _ => break,
                }
            }
            if given == 0 || aside.is_some_and(|(first, _)| last + 1 < first) {
                return Ok((0, 0)); // nothing new, or not next to the run
            }
            (from, last, given)
        };
        let why = |_| Some(reason.clone());
        let (bounced, ticket) = self.inner.apply_set_aside(server, from, last, why)?;
        self.inner.sync_through(ticket.0)?;
        Ok((given, bounced))
    }

    /// A peer that is behind (messages of rooms homed here were not queued
    /// for it) gets the last [`BACKFILL_MAX`] messages of each room homed here
    /// that has members of its users, and is no longer behind. Returns
    /// how many messages were queued again.
    pub fn catch_up(&self, server: &str) -> Result<usize, Ko> {
        let (queued, ticket) = self.inner.write_in(|state, pending| {
            let Some(peer) = state.peer_queue(server) else { return Ok(0) };
            if state.users[peer].settings.get(LINK, BEHIND).is_none() {
                return Ok(0);
            }
            let mut queued = 0;
            for room in state.rooms_with_members_of(server) {
                queued += self.inner.backfill(state, pending, server, room)?;
            }
            if state.users[peer].settings.get(LINK, BEHIND).is_some() {
                // No room had a message to give again.
                let ts = state.next_ts(now_ms());
                let user = state.users[peer].name.clone();
                let done = Record::Set { ts, user, name: LINK.into(), key: BEHIND.into(), value: None };
                state.commit(done, &mut pending.batch)?;
            }
            Ok(queued)
        })?;
        self.inner.sync_through(ticket.0)?;
        Ok(queued)
    }
}

/// The frame number `n` that the record of a [`Queued::Link`] entry is,
/// this server being `me`.
fn link_frame(n: u64, record: Record, me: &str) -> Result<Frame, String> {
    let ours = |name: &str| on_the_link(name, me);
    Ok(match record {
        // One of ours joins a room homed elsewhere: for its home; or a
        // user of another server joins a room homed here: for the other
        // member servers (the home announces its room's members).
        Record::Join { user, room, .. } => {
            Frame::Room(RoomFrame { n, user: ours(&user), room: ours(&room), joined: true })
        }
        Record::Leave { user, room, .. } => {
            Frame::Room(RoomFrame { n, user: ours(&user), room: ours(&room), joined: false })
        }
        // A message of ours to a room homed elsewhere: for its home.
        Record::Post { msg } => Frame::Message(MessageFrame::Msg {
            n,
            from: ours(&msg.from),
            to: msg.to.to_string(),
            id: msg.id.to_string(),
            ts: msg.ts,
            text: msg.text.clone(),
        }),
        // A message of a room homed here: for a member server.
        Record::Msg { msg, .. } => Frame::Message(MessageFrame::Msg {
            n,
            from: ours(&msg.from),
            to: format!("{}@{me}", msg.to),
            id: msg.id.to_string(),
            ts: msg.ts,
            text: msg.text.clone(),
        }),
        other => return Err(format!("a peer's frame is {other:?}")),
    })
}

/// Checks that one more user of `server` may be a member of `room` (one
/// of its users known here already: `known`): one server's crowd fills
/// no room ([`MAX_REMOTE_USERS`], [`PEER_MEMBERS_PER_ROOM`]).
fn crowd(state: &State, room: RoomId, server: &str, known: bool) -> Result<(), Ko> {
    if !known && state.remote_users(server) >= MAX_REMOTE_USERS {
        let why = format!("{server} has {MAX_REMOTE_USERS} users known here, the most");
        return Err(ko(Code::Forbidden, why));
    }
    if state.members_of_server(room, server) >= PEER_MEMBERS_PER_ROOM {
        let name = &state.room(room).name;
        let why = format!("{name} has {PEER_MEMBERS_PER_ROOM} members of {server}, the most");
        return Err(ko(Code::Forbidden, why));
    }
    Ok(())
}

/// What a `JOIN` or `LEAVE` of `user` in `room`, just written, tells the
/// room's clients.
fn membership(state: &State, user: &str, room: &str, joined: bool) -> Result<Option<Membership>, Ko> {
    let u = state.user_id(user).ok_or_else(|| ko(Code::Internal, format!("{user}'s account is gone")))?;
    Ok(Some(Membership { user: u, name: user.to_string(), room: room.to_string(), joined }))
}

/// A user named in a peer's frame, as room `r` here knows it.
struct Someone {
    /// Its account on this server, if it has one.
    account: Option<UserId>,
    /// Whether it is a member of the room.
    member: bool,
    /// Its name as the records spell it: the account's, else as given.
    named: Arc<str>,
    /// The room's name.
    room: Arc<str>,
}

/// `user` as room `r` knows it: what `JOIN`s and `LEAVE`s of a peer look
/// up first, at the room's home and in a copy of it.
fn someone(state: &State, r: RoomId, user: &str) -> Someone {
    let account = state.user_id(user);
    Someone {
        account,
        member: account.is_some_and(|u| state.is_member(r, u)),
        named: account.map_or_else(|| user.into(), |u| state.users[u].name.clone()),
        room: state.room(r).name.clone(),
    }
}

/// A room's message from its home `server` (to this server, `me`) that
/// is its call's line, or the line's edit as the call ends, in the name
/// of the call's starter `from`: its text with each member it names as
/// this server names them (the home names its own users without the
/// server, `bob`, and this server names its own so, `ana` for
/// `ana@lab1`). `None` for any other message, one whose line names
/// another starter among them.
fn relayed_call_line(
    server: &str,
    me: &str,
    from: &str,
    id: &str,
    text: &crate::protocol::Text,
) -> Result<Option<crate::protocol::Text>, Ko> {
    let Some((line, edit)) = GroupLog::of_message(id, &text.unescaped()) else { return Ok(None) };
    if !on_the_link(line.by(), server).eq_ignore_ascii_case(from) {
        return Ok(None);
    }
    let said = line.renamed(|name| here(&on_the_link(name, server), me).to_string());
    let said = if edit { format!("✎ {said}") } else { said.to_string() };
    crate::protocol::Text::from_plain(&said).map(Some).map_err(|why| ko(Code::BadRequest, why))
}

/// The two sides of a frame from `server` to this server, `me`: the one
/// who speaks must be `server`'s user (a peer speaks only for its own),
/// the other one of ours, whose local name is returned.
fn sides<'a>((server, me): (&str, &str), speaker: &str, ours: &'a str) -> Result<&'a str, Ko> {
    speaks_for(server, speaker)?;
    let (user, dest) = address(ours).unwrap_or((ours, ""));
    if !dest.eq_ignore_ascii_case(me) {
        return Err(ko(Code::UnknownServer, format!("this is {me}, not {dest}")));
    }
    Ok(user)
}

impl Inner {
    /// At a room's home: a peer's user joins (`joined`) or leaves one of
    /// its rooms. A server whose first user joins gets the room's last
    /// messages ([`Inner::backfill`]).
    fn take_membership(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (user, room): (&str, &str),
        joined: bool,
    ) -> Result<Option<Membership>, Ko> {
        let local = sides((server, me), user, room)?;
        let no_room = || ko(Code::NotMember, format!("{me} has no room {local}"));
        let r = state.room_id(local).filter(|&r| !is_copy(&state.room(r).name)).ok_or_else(no_room)?;
        let Someone { account, member, named, room: name } = someone(state, r, user);
        let ts = state.next_ts(now_ms());
        if !joined {
            let Some(u) = account.filter(|_| member) else {
                return Err(ko(Code::NotMember, format!("{user} is not in {name}")));
            };
            state
                .commit(Record::Leave { ts, user: named.clone(), room: name.clone() }, &mut pending.batch)?;
            return Ok(Some(Membership { user: u, name: named.to_string(), room: name.to_string(), joined }));
        }
        if member {
            return Ok(None); // a member already: nothing changes
        }
        crowd(state, r, server, account.is_some())?;
        let rules = state.room(r).rules.may_join(user, false, now_ms(), &name);
        let rooms = account.map_or(0, |u| state.rooms_of(u).count());
        crate::store::meaning::rooms::join(false, rules, rooms)?;
        let first = !state.member_servers(r).iter().any(|s| s.eq_ignore_ascii_case(server));
        let read = state.room_link(r).ord;
        state
            .commit(Record::Join { ts, user: named.clone(), room: name.clone(), read }, &mut pending.batch)?;
        // A server that is behind gets this room with the others when it
        // catches up.
        if first && state.link_fact(server, BEHIND).is_none() {
            self.backfill(state, pending, server, r)?;
        }
        membership(state, &named, &name, joined)
    }

    /// At a member server: the home `server` announces that `user`, of
    /// another server, joins (`joined`) or leaves its room `room`; kept
    /// as a member of the copy, so that the home's copies of her posts
    /// are taken ([`Inner::take_room_msg`]). Nothing is kept for a room
    /// none of ours is in.
    fn take_announced(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (user, room): (&str, &str),
        joined: bool,
    ) -> Result<Option<Membership>, Ko> {
        let origin = address(user).map_or(me, |(_, origin)| origin);
        if origin.eq_ignore_ascii_case(me) {
            let why = format!("{server} announces members of other servers, not {user}");
            return Err(ko(Code::Forbidden, why));
        }
        let Some(copy) = state.room_id(room) else { return Ok(None) };
        let Someone { account, member, named, room: name } = someone(state, copy, user);
        if member == joined {
            return Ok(None); // a member already, or no member: nothing changes
        }
        if joined {
            crowd(state, copy, origin, account.is_some())?;
        }
        let ts = state.next_ts(now_ms());
        let record = if joined {
            Record::Join { ts, user: named.clone(), room: name.clone(), read: 0 }
        } else {
            Record::Leave { ts, user: named.clone(), room: name.clone() }
        };
        state.commit(record, &mut pending.batch)?;
        membership(state, &named, &name, joined)
    }

    /// At a room's home: announces to `server`, a member server now (its
    /// first member joined, or it caught up), the room's members of
    /// servers other than itself, each by a `JOIN` record of her again
    /// (queued for every member server but hers; one that knows her
    /// already answers `ACK`, nothing changes).
    fn announce_members(
        &self,
        state: &mut State,
        pending: &mut Pending,
        server: &str,
        room: RoomId,
    ) -> Result<(), Ko> {
        let others: Vec<Arc<str>> = state
            .members(room)
            .map(|u| state.users[u].name.clone())
            .filter(|name| address(name).is_some_and(|(_, s)| !s.eq_ignore_ascii_case(server)))
            .collect();
        let (name, read) = (state.room(room).name.clone(), state.room_link(room).ord);
        for user in others {
            let ts = state.next_ts(now_ms());
            state.commit(Record::Join { ts, user, room: name.clone(), read }, &mut pending.batch)?;
        }
        self.announce_own_members(state, pending, room)
    }

    /// At a room's home: announces its members of this server, as
    /// [`Inner::announce_members`] does those of other servers: a `JOIN`
    /// record of each again, with its own read mark (so nothing of its
    /// unread count changes), queued for every member server.
    fn announce_own_members(&self, state: &mut State, pending: &mut Pending, room: RoomId) -> Result<(), Ko> {
        let ours: Vec<(Arc<str>, u64)> = state
            .members(room)
            .filter(|&u| !state.is_remote(u) && !state.users[u].is_deleted())
            .map(|u| (state.users[u].name.clone(), state.room_read(room, u)))
            .collect();
        let name = state.room(room).name.clone();
        for (user, read) in ours {
            let ts = state.next_ts(now_ms());
            state.commit(Record::Join { ts, user, room: name.clone(), read }, &mut pending.batch)?;
        }
        Ok(())
    }

    /// Queues the last [`BACKFILL_MAX`] messages of `room` (homed here)
    /// for `server` again (a `BACKFILL` record); how many.
    fn backfill(
        &self,
        state: &mut State,
        pending: &mut Pending,
        server: &str,
        room: RoomId,
    ) -> Result<usize, Ko> {
        self.announce_members(state, pending, server, room)?;
        let mut positions = Vec::new();
        let mut pos = state.room_head(room);
        while pos != NO_POS && positions.len() < BACKFILL_MAX {
            let Some(line) = self.line(pending, pos)? else { break }; // removed by retention
            positions.push(pos);
            pos = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?.prev;
        }
        if positions.is_empty() {
            return Ok(0);
        }
        positions.reverse();
        let ts = state.next_ts(now_ms());
        let (peer, room) = (peer_account(server).into(), state.room(room).name.clone());
        let n = positions.len();
        state.commit(Record::Backfill { ts, peer, room, positions }, &mut pending.batch)?;
        Ok(n)
    }

    /// A room message from a peer: to this server as the room's home,
    /// from one of the peer's users who is a member; or from the peer as
    /// the home, its ordered copy, into this server's copy of the room.
    fn take_room_msg(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (from, to, id, ts, text): (&str, &str, &str, u64, &crate::protocol::Text),
    ) -> Result<(), Ko> {
        let (_, home) = address(to).unwrap_or((to, ""));
        if home.eq_ignore_ascii_case(me) {
            return self.take_room_post(state, pending, (server, me), (from, to, id, text));
        }
        if !home.eq_ignore_ascii_case(server) {
            return Err(ko(Code::Forbidden, format!("{server} is not the home of {to}")));
        }
        // The home's copy. The author is anyone of the room's; if it is
        // one of ours, it must have made that post, which waits for this
        // copy (the home speaks for its room, not for our users).
        let Some(copy) = state.room_id(to) else {
            return Ok(()); // none of ours is in the room now: taken, stored nowhere
        };
        // But a room's call's line, in its starter's name: the home keeps
        // the room's call and makes its line (§32), so the line is the
        // home's word about its call, no words of the starter's. It is
        // taken as the home says it, without a post of ours or a marker,
        // each member it names said as this server names them.
        let call_line = relayed_call_line(server, me, from, id, text)?;
        let ours = address(from).filter(|(_, origin)| origin.eq_ignore_ascii_case(me));
        let (author, waited): (Arc<str>, bool) = match ours {
            Some((user, _)) => {
                let local = state.user_id(user).filter(|&u| !state.is_remote(u));
                let local = local.ok_or_else(|| ko(Code::UnknownUser, format!("{me} has no user {user}")))?;
                let waits = state.copy_reads_as_post(local, to, id, text.as_escaped());
                if waits == Some(false) {
                    let why = format!(
                        "{server} speaks only for its own users and rooms: {from}'s {id} to {to} does not \
                         read so"
                    );
                    return Err(ko(Code::Forbidden, why));
                }
                (state.users[local].name.clone(), waits.is_some())
            }
            None => (from.into(), false),
        };
        // A user of a third server: the home is the authority on its
        // room's members, and announced each with a `JOIN` (its own users
        // it speaks for). Her words are the home's word only: marked so.
        let third =
            ours.is_none() && address(from).is_none_or(|(_, origin)| !origin.eq_ignore_ascii_case(server));
        if third && !state.user_id(from).is_some_and(|u| state.is_member(copy, u)) {
            return Err(ko(
                Code::NotMember,
                format!("{from} is not in {to}: {server} announced no JOIN of it"),
            ));
        }
        let marked;
        let text = match &call_line {
            Some(line) => line,
            None if third => {
                marked = relayed::mark(server, id, text).map_err(|why| ko(Code::BadRequest, why))?;
                &marked
            }
            None => text,
        };
        if !waited {
            if let Some(a) = state.user_id(&author)
                && self.in_copy(state, pending, a, id, to)?
            {
                return Ok(()); // in the copy already (a catch-up overlaps what came)
            }
            if ours.is_some() && call_line.is_none() {
                let why =
                    format!("{server} speaks only for its own users and rooms: {from} sent no {id} to {to}");
                return Err(ko(Code::Forbidden, why));
            }
        }
        if state.user_id(&author).is_none() {
            let (_, origin) = address(&author).unwrap_or(("", server));
            if state.remote_users(origin) >= MAX_REMOTE_USERS {
                let why = format!("{origin} has {MAX_REMOTE_USERS} users known here, the most");
                return Err(ko(Code::Forbidden, why));
            }
        }
        self.options.budget.check_peer(state, server)?; // the home pays for its room's copy
        let now = now_ms();
        let ts = if ts > now + FUTURE_MS { now } else { ts };
        let (name, link) = (state.room(copy).name.clone(), state.room_link(copy));
        let msg = StoredMessage { from: author, to: name, id: id.into(), ts, text: text.clone() };
        state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut pending.batch)
    }

    /// At a room's home: a message of a peer's user who is a member, put
    /// in the room's order (its time is this server's).
    fn take_room_post(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (from, to, id, text): (&str, &str, &str, &crate::protocol::Text),
    ) -> Result<(), Ko> {
        let local = sides((server, me), from, to)?;
        check_peer_id(id).map_err(|why| ko(Code::Forbidden, why))?;
        let no_room = || ko(Code::NotMember, format!("{me} has no room {local}"));
        let r = state.room_id(local).filter(|&r| !is_copy(&state.room(r).name)).ok_or_else(no_room)?;
        let name = state.room(r).name.clone();
        let author = state.user_id(from).filter(|&u| state.is_member(r, u));
        let author = author.ok_or_else(|| ko(Code::NotMember, format!("{from} is not in {name}")))?;
        if self.resent(state, pending, author, id)?.is_some() {
            return Ok(()); // a duplicate by (origin, sender, id): taken once
        }
        let now = now_ms();
        state.may_send_to(r, author, now)?;
        self.options.budget.quota(state, author).check()?;
        self.options.budget.check_peer(state, server)?;
        let ts = state.next_ts(now);
        let from = state.users[author].name.clone();
        let msg = StoredMessage { from, to: name, id: id.into(), ts, text: text.clone() };
        let link = state.room_link(r);
        state.commit(Record::Msg { msg: Arc::new(msg), link }, &mut pending.batch)
    }

    /// Whether `author`'s message `id` is in this server's copy of the
    /// room `room` already, among its last messages (its window).
    fn in_copy(
        &self,
        state: &State,
        pending: &Pending,
        author: UserId,
        id: &str,
        room: &str,
    ) -> Result<bool, Ko> {
        for pos in state.sent_candidates(author, id) {
            let Some(line) = self.line(pending, pos)? else { continue };
            let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
            if m.id == id && !m.posted && m.to.eq_ignore_ascii_case(room) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A direct message from a peer's user to one of ours.
    fn take_msg(
        &self,
        state: &mut State,
        pending: &mut Pending,
        (server, me): (&str, &str),
        (from, to, id, ts, text): (&str, &str, &str, u64, &crate::protocol::Text),
    ) -> Result<(), Ko> {
        let user = sides((server, me), from, to)?;
        check_peer_id(id).map_err(|why| ko(Code::Forbidden, why))?;
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
        let new_chat = sender.is_none_or(|s| state.direct_link(s, to).ord == 0);
        if new_chat && state.chats_with_server(to, server) >= PEER_CHATS_PER_USER {
            let why = format!(
                "{} has chats with {PEER_CHATS_PER_USER} users of {server}, the most",
                state.users[to].name
            );
            return Err(ko(Code::Forbidden, why));
        }
        let inbox = &state.users[to].inbox;
        check_inbox(self.options.budget.inbox_max, &state.users[to].name, inbox.last_seq - inbox.acked)?;
        if let Some(sender) = sender {
            self.options.budget.quota(state, sender).check()?;
        }
        self.options.budget.check_peer(state, server)?;
        // What it sends makes statuses for it, which wait in its queue
        // with everything else: a full queue takes no more (for now).
        check_link_queue(self.options.budget.link_queue_max, server, state.peer_waiting(server))?;
        if prefs::blocks(&state.users[to].settings, from) {
            return Ok(()); // blocked: taken, and stored nowhere (§22)
        }
        let now = now_ms();
        let ts = if ts > now + FUTURE_MS { now } else { ts };
        let link = match sender {
            Some(sender) => state.direct_link(sender, to),
            None => Link { prev: NO_POS, ord: 0, dord: 0 }, // its first message here
        };
        let msg = StoredMessage {
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
        let to = crate::protocol::names::fold(&state.users[to].name);
        self.sent_by(state, pending, (author, id), |_, m| {
            (crate::protocol::names::fold(m.to) == to).then_some(m.dord)
        })
    }

    /// What `pick` reads in the first of `author`'s messages with the id
    /// `id` (among its last ones, its resend window, newest first) that it
    /// takes, given its position: each read back from the batch or the log.
    pub(super) fn sent_by(
        &self,
        state: &State,
        pending: &Pending,
        (author, id): (UserId, &str),
        pick: impl Fn(Pos, &MsgRef) -> Option<u64>,
    ) -> Result<Option<u64>, Ko> {
        for pos in state.sent_candidates(author, id) {
            let Some(line) = self.line(pending, pos)? else { continue };
            let m = MsgRef::decode(&line).map_err(|e| read_failed(pos, e))?;
            if let Some(found) = (m.id == id).then(|| pick(pos, &m)).flatten() {
                return Ok(Some(found));
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
    /// account; `why(n)` says, for each, whether the peer refused it for
    /// good, and why. A message of ours (to a user there, or to a room
    /// homed there) refused so is bounced to its author, and a `JOIN` too
    /// (its user leaves the copy). Returns how many were bounced.
    fn apply_frames_done(
        &self,
        server: &str,
        n: u64,
        why: impl Fn(u64) -> Option<String>,
    ) -> Result<(usize, Ticket), Ko> {
        self.write_in(|state, pending| {
            let Some(peer) = state.peer_queue(server) else { return Ok(0) };
            let (acked, n) = (state.users[peer].inbox.acked, n.min(state.users[peer].inbox.last_seq));
            let bounced = if n > acked { self.bounce(state, pending, server, (acked, n), why)? } else { 0 };
            self.settle(state, pending, server, n.max(acked))?;
            Ok(bounced)
        })
    }

    /// Drops the frames of `server`'s queue through `n`, and the frames
    /// given up right after them (never sent, they leave with the frames
    /// ahead of them), with an `ACK` of its account; the run set aside
    /// goes once all of it is gone. So the frames that wait for a peer
    /// start with one to send.
    fn settle(&self, state: &mut State, pending: &mut Pending, server: &str, n: u64) -> Result<(), Ko> {
        let Some(peer) = state.peer_queue(server) else { return Ok(()) };
        let aside = set_aside(state, server);
        let mut through = n;
        if let Some((_, last)) = aside {
            for (seq, queued) in state.queued(peer, n, last, usize::MAX) {
                let record = match queued {
                    Queued::Link { pos } if given_up(aside, seq, None) => match self.line(pending, pos)? {
                        Some(line) => Some(Record::decode(&line).map_err(|e| read_failed(pos, e))?),
                        None => None, // removed by retention: nothing to send
                    },
                    _ => None,
                };
                if !given_up(aside, seq, record.as_ref()) {
                    break;
                }
                through = seq;
            }
        }
        if through <= state.users[peer].inbox.acked {
            return Ok(());
        }
        let ts = state.next_ts(now_ms());
        let user = state.users[peer].name.clone();
        if aside.is_some_and(|(_, last)| through >= last) {
            let (name, key) = (LINK.into(), SET_ASIDE.into());
            state
                .commit(Record::Set { ts, user: user.clone(), name, key, value: None }, &mut pending.batch)?;
        }
        state.commit(Record::Ack { ts, user, seq: through, device: None }, &mut pending.batch)
    }

    /// Gives up frames `after + 1` through `last` for `server`, past the
    /// give-up age: their messages bounce now, and the run set aside
    /// grows to hold them (it is next to them, `give_up` checked);
    /// those at the head of the queue leave it at once.
    fn apply_set_aside(
        &self,
        server: &str,
        after: u64,
        last: u64,
        why: impl Fn(u64) -> Option<String>,
    ) -> Result<(usize, Ticket), Ko> {
        self.write_in(|state, pending| {
            let Some(peer) = state.peer_queue(server) else { return Ok(0) };
            let bounced = self.bounce(state, pending, server, (after, last), why)?;
            let aside = set_aside(state, server);
            let first = aside.map_or(after + 1, |(first, _)| first.min(after + 1));
            let last = aside.map_or(last, |(_, end)| end.max(last));
            let (ts, user) = (state.next_ts(now_ms()), state.users[peer].name.clone());
            let (name, key, value) = (LINK.into(), SET_ASIDE.into(), Some(format!("{first}-{last}")));
            state.commit(Record::Set { ts, user, name, key, value }, &mut pending.batch)?;
            let acked = state.users[peer].inbox.acked;
            self.settle(state, pending, server, acked)?;
            Ok(bounced)
        })
    }

    /// Bounces to their authors the messages of `server`'s queue numbered
    /// `after + 1` through `upto` that `why` gives a reason for (a `JOIN`
    /// bounces too), leaving out frames set aside (bounced already) and
    /// messages of rooms homed here (nobody's custody). Returns how many
    /// were bounced.
    fn bounce(
        &self,
        state: &mut State,
        pending: &mut Pending,
        server: &str,
        (after, upto): (u64, u64),
        why: impl Fn(u64) -> Option<String>,
    ) -> Result<usize, Ko> {
        let Some(peer) = state.peer_queue(server) else { return Ok(0) };
        let aside = set_aside(state, server);
        let mut bounced = 0;
        for (seq, queued) in state.queued(peer, after, upto, usize::MAX) {
            if aside.is_some_and(|(first, last)| (first..=last).contains(&seq)) {
                continue;
            }
            let Some(reason) = why(seq) else { continue };
            let pos = queued.pos();
            let Some(line) = self.line(pending, pos)? else { continue };
            let (author, address, id) = match Record::decode(&line).map_err(|e| read_failed(pos, e))? {
                Record::Msg { msg, .. } if msg.to.starts_with('#') => continue,
                Record::Msg { msg, .. } | Record::Post { msg } => {
                    (msg.from.clone(), msg.to.clone(), msg.id.clone())
                }
                Record::Join { room, .. } if !room.contains('@') => continue, // the home's announcement
                Record::Join { user, room, .. } => (user, room, Arc::from("")),
                _ => continue, // a status, a LEAVE: nobody to tell
            };
            let ts = state.next_ts(now_ms());
            let failed = Record::Failed { ts, author, address, id, reason: reason.as_str().into() };
            state.commit(failed, &mut pending.batch)?;
            bounced += 1;
        }
        Ok(bounced)
    }
}

/// The run of frames for `server` set aside ([`SET_ASIDE`]), if any.
fn set_aside(state: &State, server: &str) -> Option<(u64, u64)> {
    let (first, last) = state.link_fact(server, SET_ASIDE)?.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?))
}

/// Whether frame `n` of a peer's queue was given up ([`LocalStore::give_up`]):
/// it is in the run set aside, and is not a message of a room homed here
/// nor the announcement of one of its members (`record`: what a
/// [`Queued::Link`] frame is made of, `None` for any other frame). Such a
/// frame is nobody's custody, never given up: it waits, in its room's
/// order.
fn given_up(aside: Option<(u64, u64)>, n: u64, record: Option<&Record>) -> bool {
    let room_fact = match record {
        Some(Record::Msg { .. }) => true,
        // The home's announcement of a member of another server.
        Some(Record::Join { room, .. } | Record::Leave { room, .. }) => !room.contains('@'),
        _ => false,
    };
    aside.is_some_and(|(first, last)| (first..=last).contains(&n)) && !room_fact
}

/// 1.3 (§27, "Presence across servers"): whose presence crosses to which
/// peer (`server::presence_across`).
impl LocalStore {
    /// The servers (folded names) whose users share a chat with `user`.
    pub fn servers_sharing_a_chat(&self, user: UserId) -> Vec<String> {
        self.inner.state.lock().servers_sharing_a_chat(user)
    }

    /// This server's users who share a chat with a user of `server`.
    pub fn users_sharing_with(&self, server: &str) -> Vec<UserId> {
        self.inner.state.lock().users_sharing_with(server)
    }

    /// The servers with members in the room `room` of this server.
    pub fn member_servers_of(&self, room: &str) -> Vec<String> {
        let state = self.inner.state.lock();
        state.room_id(room).map_or_else(Vec::new, |r| state.member_servers(r))
    }

    /// The name of the account `user`, if it is one.
    pub fn name_of(&self, user: UserId) -> Option<Arc<str>> {
        self.inner.state.lock().users.get(user).map(|u| u.name.clone())
    }

    /// Whether `user` is a user of another server known here (an account
    /// named by its address).
    pub fn is_remote_user(&self, user: UserId) -> bool {
        let state = self.inner.state.lock();
        user < state.users.len() && state.is_remote(user) && address(&state.users[user].name).is_some()
    }
}
