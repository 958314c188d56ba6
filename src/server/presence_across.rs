//! 1.3 (docs/PROTOCOL.md §27, "Presence across servers"): whether a user
//! of another server is online, or since when not, as its own server
//! says it.
//!
//! - **Out.** When one of this server's users comes online or goes
//!   offline (`server::presence`'s [`Announcer`](super::presence::Announcer)),
//!   or changes its privacy, it is noted for each server whose users share
//!   a chat with it ([`crate::store::LocalStore::servers_sharing_a_chat`]);
//!   each peer's dialer takes what was noted for its peer at most once
//!   per [`PRESENCE_EVERY`], at most [`PRESENCE_BATCH`] users at a time,
//!   and says it in one unnumbered `PRESENCE` frame, each user's state
//!   read *then* (so a user who flaps within the second is told once, as
//!   it is now). At each hello, everyone sharing a chat with the peer is
//!   noted (the peer may have forgotten all of it). What is said is what
//!   a user of this server may be shown: a user who hides its last seen
//!   (§30) is `UNKNOWN` when offline; one who blocked a user of that
//!   server is `UNKNOWN` to all of it.
//! - **In.** A peer's `PRESENCE` names its own users only (else
//!   `KO:FORBIDDEN`, nothing kept), at most one frame per
//!   [`PRESENCE_MIN_GAP`] per link (else `KO:RATE_LIMITED`); only users
//!   known here (accounts of its users, at most 10,000 per peer) are kept,
//!   in memory; a change between online and offline is told to their
//!   roommates here (`JOINED`/`LEFT`, as of a local user). When the link a
//!   peer's presence came on ends, its users online are last seen then.
//!
//! `LASTSEEN` and `MEMBERS` read it as they read a local user's presence
//! (`server::presence::seen`).
//!
//! Who is noted for a peer is who has just come to share a chat with its
//! users (a hello, a `JOIN`, a first message either way), so the same
//! batch carries each one's **profile** where the peer was not told it
//! since this start or its last hello (`server::profile_across::untold`):
//! a name set before a chat began reaches the other servers with the
//! user's presence, whichever side wrote first, a room's members
//! included.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::Ctx;
use super::base::{Base, RemoteSeen};
use crate::protocol::link::PRESENCE_BATCH;
use crate::protocol::names::fold;
use crate::protocol::profile::PrivacyLine;
use crate::protocol::{Chat, Code, Ko, Presence};
use crate::store::UserId;
use crate::store::state::remote::address;

/// A dialer says its users' presence to its peer at most this often.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(1);

/// The shortest gap between two `PRESENCE` frames of one link that the
/// acceptor takes: half of [`PRESENCE_EVERY`], for the network's jitter.
pub const PRESENCE_MIN_GAP: Duration = Duration::from_millis(500);

/// Most profiles told with one `PRESENCE` batch: each is two frames at
/// most (a photo, then the profile), which wait in the dialer's queue of
/// signals (`SIGNALS_WAITING`, 64) with the calls'; the others wait for
/// the next batch, a second later.
pub const PROFILES_PER_BATCH: usize = 16;

/// Most (peer, user) pairs [`RemoteSeen::wrote_to`] keeps: past it, it
/// starts again empty (a user then noted once more).
const INTRODUCED_KEPT: usize = 10_000;

impl RemoteSeen {
    /// Turns the noting on (the server starts its links).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// `user`'s presence (one of this server's) changed: noted for every
    /// server whose users share a chat with it, their dialers rung.
    pub fn note(&self, base: &Base, user: UserId) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let servers = base.store.servers_sharing_a_chat(user);
        if servers.is_empty() {
            return;
        }
        let mut dirty = self.dirty.lock();
        for server in &servers {
            dirty.entry(server.clone()).or_default().insert(user);
        }
        drop(dirty);
        let bells = self.bells.lock();
        for server in &servers {
            if let Some(bell) = bells.get(server) {
                let _ = bell.try_send(());
            }
        }
    }

    /// `user` (of this server) now shares a chat with a user of `peer`
    /// (a first message from one): noted for it.
    pub fn note_for(&self, peer: &str, user: UserId) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        self.dirty.lock().entry(fold(peer)).or_default().insert(user);
        if let Some(bell) = self.bells.lock().get(&fold(peer)) {
            let _ = bell.try_send(());
        }
    }

    /// `user` (of this server) wrote to `chat`, a user or a room of
    /// another server: the first time since this start, it is noted for
    /// that server (for a room, for every server sharing a chat with it,
    /// the room's members' among them), so that its presence and profile
    /// reach whom it wrote to, who may know nothing of it.
    pub fn wrote_to(&self, base: &Base, chat: &Chat, user: UserId) {
        let Some(server) = chat.server() else { return };
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let first = {
            let mut introduced = self.introduced.lock();
            if introduced.len() >= INTRODUCED_KEPT {
                introduced.clear();
            }
            introduced.insert((fold(&chat.to_string()), user))
        };
        match chat {
            Chat::User(_) if first => self.note_for(server, user),
            Chat::Room(_) if first => self.note(base, user),
            _ => {}
        }
    }

    /// The dialer of `peer` rings `bell` when something is noted for it.
    pub fn hang_bell(&self, peer: &str, bell: Sender<()>) {
        self.bells.lock().insert(fold(peer), bell);
    }

    /// A link to `peer` is up, or a frame of it changed who shares a room
    /// with its users (a `JOIN`): every user of this server who shares a
    /// chat with its users is to be told again, presence and profile (it
    /// may know nothing of them, or have lost what a link that broke
    /// carried).
    pub fn linked_to(&self, base: &Base, peer: &str) {
        super::profile_across::forget_told(peer);
        let users = base.store.users_sharing_with(peer);
        if !users.is_empty() {
            self.dirty.lock().entry(fold(peer)).or_default().extend(users);
            if let Some(bell) = self.bells.lock().get(&fold(peer)) {
                let _ = bell.try_send(());
            }
        }
    }

    /// Whether something waits to be said to `peer`.
    pub fn waiting(&self, peer: &str) -> bool {
        self.dirty.lock().get(&fold(peer)).is_some_and(|users| !users.is_empty())
    }

    /// The next `PRESENCE` batch for `peer` (at most [`PRESENCE_BATCH`]
    /// users, taken out of what waits), each user's state read now, named
    /// by its address (`<user>@<me>`). Empty if nothing waits. The
    /// profiles of its users that `peer` was not told are told with it
    /// (at most [`PROFILES_PER_BATCH`]; the others wait, noted, for the
    /// next batch).
    pub fn take_batch(&self, ctx: &Ctx, peer: &str, me: &str) -> Vec<(String, Presence)> {
        let base: &Base = ctx;
        let users: Vec<UserId> = {
            let mut dirty = self.dirty.lock();
            let Some(waiting) = dirty.get_mut(&fold(peer)) else { return Vec::new() };
            let users: Vec<UserId> = waiting.iter().copied().take(PRESENCE_BATCH).collect();
            for user in &users {
                waiting.remove(user);
            }
            users
        };
        let (mut greeted, mut later) = (0, Vec::new());
        let batch = users
            .into_iter()
            .filter_map(|user| {
                let name = base.store.name_of(user)?;
                if super::profile_across::untold(ctx, peer, user, &name) {
                    if greeted < PROFILES_PER_BATCH {
                        greeted += 1;
                        super::profile_across::tell_to(ctx, peer, user, &name);
                    } else {
                        later.push(user);
                    }
                }
                Some((format!("{name}@{me}"), told_to(base, user, peer)))
            })
            .collect();
        if !later.is_empty() {
            self.dirty.lock().entry(fold(peer)).or_default().extend(later);
        }
        batch
    }

    /// Forgets what waits for `peer` (it does not carry presence).
    pub fn drop_waiting(&self, peer: &str) {
        self.dirty.lock().remove(&fold(peer));
    }

    /// Puts `batch` back for `peer` (it could not be said now).
    pub fn put_back(&self, base: &Base, peer: &str, batch: &[(String, Presence)]) {
        let users: Vec<UserId> = batch
            .iter()
            .filter_map(|(user, _)| base.store.user_id(address(user).map_or(user.as_str(), |(name, _)| name)))
            .collect();
        self.dirty.lock().entry(fold(peer)).or_default().extend(users);
    }

    /// A peer's user's presence, as its server said it last.
    pub fn of(&self, user: UserId) -> Option<Presence> {
        self.seen.lock().get(&user).copied()
    }

    /// A link from `peer` starts taking frames: its number, for
    /// [`RemoteSeen::link_ended`].
    pub fn link_began(&self, peer: &str) -> u64 {
        let n = self.next_link.fetch_add(1, Ordering::SeqCst) + 1;
        self.links.lock().insert(fold(peer), n);
        n
    }

    /// The link `n` from `peer` ended: if no newer link of it came, its
    /// users said online are last seen now (their roommates told `LEFT`).
    pub fn link_ended(&self, base: &Base, peer: &str, n: u64) {
        {
            let mut links = self.links.lock();
            if links.get(&fold(peer)) != Some(&n) {
                return;
            }
            links.remove(&fold(peer));
        }
        let now = crate::store::now_ms();
        let gone: Vec<UserId> = {
            let mut seen = self.seen.lock();
            let gone: Vec<UserId> = seen
                .iter()
                .filter(|&(&user, &p)| p == Presence::Online && of_server(base, user, peer))
                .map(|(&user, _)| user)
                .collect();
            for user in &gone {
                seen.insert(*user, Presence::LastSeen(now));
            }
            gone
        };
        for user in gone {
            if let Some(name) = base.store.name_of(user) {
                super::presence::tell_roommates(base, user, &name, false);
            }
        }
    }

    /// A `PRESENCE` frame from `peer`, whose previous one (on this link)
    /// came at `last`: the users it names are `peer`'s (else
    /// `KO:FORBIDDEN`, and nothing is kept), it comes at least
    /// [`PRESENCE_MIN_GAP`] after `last` (else `KO:RATE_LIMITED`); each
    /// user known here is kept, and its roommates here are told a change
    /// between online and offline. A user not known here is skipped.
    pub fn take(
        &self,
        base: &Base,
        peer: &str,
        seen: &[(String, Presence)],
        last: Option<Instant>,
    ) -> Result<(), Ko> {
        if let Some(stranger) =
            seen.iter().find(|(user, _)| address(user).is_none_or(|(_, s)| fold(s) != fold(peer)))
        {
            let why = format!("{peer} speaks only for its own users, not {}", stranger.0);
            return Err(Ko::new(Code::Forbidden, why));
        }
        if let Some(last) = last
            && last.elapsed() < PRESENCE_MIN_GAP
        {
            let why = format!(
                "a PRESENCE at most every {} ms on a link (§27, Bounds)",
                PRESENCE_MIN_GAP.as_millis()
            );
            return Err(Ko::new(Code::RateLimited, why));
        }
        let mut changed = Vec::new();
        for (name, presence) in seen {
            let Some(user) = base.store.user_id(name).filter(|&u| base.store.is_remote_user(u)) else {
                continue; // nobody here shares a chat with it
            };
            let before = self.seen.lock().insert(user, *presence);
            let online = *presence == Presence::Online;
            if before.is_none_or(|b| (b == Presence::Online) != online) && (online || before.is_some()) {
                changed.push((user, name.clone(), online));
            }
        }
        for (user, name, online) in changed {
            super::presence::tell_roommates(base, user, &name, online);
        }
        Ok(())
    }
}

/// Whether `user` (an account here) is a user of `server`.
fn of_server(base: &Base, user: UserId, server: &str) -> bool {
    base.store.name_of(user).is_some_and(|name| address(&name).is_some_and(|(_, s)| fold(s) == fold(server)))
}

/// What `peer` is told of `user` (of this server): `ONLINE`, its last
/// seen, or `UNKNOWN` where its privacy hides the time (§30) or it blocked
/// a user of `peer` (§22).
fn told_to(base: &Base, user: UserId, peer: &str) -> Presence {
    let blocked_there = base.store.blocked(user).into_iter().any(|b| of_server(base, b, peer));
    if blocked_there {
        return Presence::Unknown;
    }
    let presence = match base.router.is_online(user) {
        true => Presence::Online,
        false => base.store.last_seen(user).map_or(Presence::Unknown, Presence::LastSeen),
    };
    super::profile::seen_as(base, user, PrivacyLine::default(), presence)
}
