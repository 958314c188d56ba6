//! 1.3 (§27, the class network): users of other servers, and what waits
//! for those servers, as accounts of this one.
//!
//! - A **remote user** `bob@lab2` is an account named by its address, with
//!   no password ([`REMOTE`] is no hash): its conversations with local
//!   users, their chains, marks and resend windows are a local user's, so
//!   `HISTORY`, `CHATS`, `READ` and duplicates work unchanged.
//! - A **peer** `lab2` is an account named `@lab2` (no user name can start
//!   with `@`), whose inbox is the **queue of frames for lab2**: each event
//!   for one of lab2's users (a message to `bob@lab2`, a `STATUS` for
//!   `ana@lab2`) is numbered in it as a client's event is, and its
//!   sequence number is the frame's number `<n>` on the link. The link's
//!   `ACK:<n>` is an `ACK` record of `@lab2`; how far a peer's frames were
//!   taken here, and the identity it presented, are settings of it
//!   (`link` / `took`, `link` / `pin`), so a checkpoint keeps all of it.
//!
//! - A **room homed elsewhere** `#lab@lab2` is a room of this state
//!   named by its address, the **copy**: its members are this server's
//!   users who joined it, its chain the messages its home relayed. A
//!   member's `JOIN` and `LEAVE` of it, and its messages (`POST`), are
//!   frames for the home, queued in the home's queue as [`Queued::Link`]
//!   entries (the record at that position is the frame).
//! - A **room homed here** may have members of other servers (remote
//!   users): each of its messages is queued once per member server
//!   ([`State::fan_out`]), the author's own included.
//!
//! Both kinds of account are made by the first record that names them
//! (a start that reads the same records makes them again), never by a
//! login: `LOGIN:bob@lab2:…` is bob's device `lab2`, and `@lab2` is no name.

use super::{Batch, Delivery, Pushed, Queued, RoomId, State, UserId};
use crate::protocol::{Code, Ko};
use crate::store::record::message::Pos;
use std::sync::Arc;

/// The hash of a remote user's or a peer's account: not a PHC string, so
/// no password matches it.
pub const REMOTE: &str = "!remote";

/// The setting family of a peer's account that holds its link's facts.
pub const LINK: &str = "link";
/// How far the peer's frames were taken here (the `<last>` of `OK:<last>`).
pub const TOOK: &str = "took";
/// The identity the peer presented first, with the secret of that time
/// (`<identity> <fingerprint>`).
pub const PIN: &str = "pin";
/// The last of this server's frames written to the peer on a link,
/// recorded before the window leaves: a frame above the peer's last `ACK`
/// and at or below it may be on the peer's disk (the link broke before
/// its `ACK`). It is in doubt, never bounced by age, until the peer's next
/// `OK:<last>` says whether it has it.
pub const WROTE: &str = "wrote";
/// The run of this server's queue for the peer (`<first>-<last>`) whose
/// frames were **given up** past the give-up age (messages bounced,
/// statuses dropped), but for the messages of rooms homed here, which are
/// nobody's custody and wait in it to be sent: a frame given up is never
/// written on a link, and leaves the queue with the frames ahead of it
/// (at once when none is ahead; else once those in doubt are settled, or
/// sent), without a second bounce. Numbers the peer never sees are
/// allowed: a link's numbers may skip.
pub const SET_ASIDE: &str = "set_aside";

/// The setting of this server's own account (`@lab1` on lab1) that says
/// where its cluster's leader takes links (`host:port`): the leader writes
/// it when it starts to lead, and a follower passes the links it is
/// given to that address (`federation::accept`).
pub const AT: &str = "at";

/// The setting of a peer's account that says it is **behind**: frames of
/// rooms homed here were not queued for it (its queue was full,
/// [`ROOM_QUEUE_MAX`]), and no more are queued until it has caught up (a
/// `BACKFILL` of each room's last messages).
pub const BEHIND: &str = "behind";

/// Default `--link-queue-max`: 100,000 frames waiting for one peer, each
/// ~100 bytes of memory as an inbox's event is: ~10 MiB for a peer that
/// stays away while its class writes to it.
pub const LINK_QUEUE_MAX: u64 = 100_000;

/// Frames waiting for one peer past which a room homed here queues no
/// more of its messages for it: the peer is then behind, and catches up
/// when it is back. A constant, not a flag, because it decides the
/// frames' numbers, which every start of the same log must give again.
pub const ROOM_QUEUE_MAX: u64 = 10_000;

/// Messages of a room a member server gets again when it catches up, or
/// when its first user joins the room.
pub const BACKFILL_MAX: usize = 100;

/// True for the name of a copy of a room homed elsewhere (`#lab@lab2`).
pub fn is_copy(room: &str) -> bool {
    room.contains('@')
}

/// `bob@lab2` → `("bob", "lab2")`, `#lab@lab2` → `("#lab", "lab2")`;
/// `None` for a local name.
///
/// Asked of the names a message's records carry, several times a
/// message: the `@` is found by memchr, where `split_once('@')`'s
/// searcher cost half as much again (~130 instructions a name against
/// ~85, docs/BENCHMARKS.md).
pub fn address(name: &str) -> Option<(&str, &str)> {
    let at = memchr::memchr(b'@', name.as_bytes())?;
    let (user, server) = (&name[..at], &name[at + 1..]);
    (!user.is_empty() && !server.is_empty()).then_some((user, server))
}

/// A peer speaks only for its own users: `user`, an address that a frame
/// from `server` names as its own, is one of `server`'s, or the frame is
/// refused `FORBIDDEN`.
pub fn speaks_for(server: &str, user: &str) -> Result<(), Ko> {
    match address(user) {
        Some((_, origin)) if origin.eq_ignore_ascii_case(server) => Ok(()),
        _ => Err(Ko::new(Code::Forbidden, format!("{server} speaks only for its own users, not {user}"))),
    }
}

/// Whether the room `room` (`#lab@lab2`) is homed at `server`.
pub fn homed_at(room: &str, server: &str) -> bool {
    address(room).is_some_and(|(_, home)| home.eq_ignore_ascii_case(server))
}

/// A name as the link says it, this server being `me`: its own user or
/// room with the server's name (`bob` → `bob@lab1`), another server's
/// address as it is.
pub fn on_the_link(name: &str, me: &str) -> String {
    if name.contains('@') { name.to_string() } else { format!("{name}@{me}") }
}

/// A name as this server says it to its users, this server being `me`:
/// its own user or room without the server's name (`bob@lab1` → `bob`),
/// another server's address as it is.
pub fn here<'a>(name: &'a str, me: &str) -> &'a str {
    match address(name) {
        Some((local, server)) if server.eq_ignore_ascii_case(me) => local,
        _ => name,
    }
}

/// The account whose inbox is the queue of frames for `server`: `@lab2`.
pub fn peer_account(server: &str) -> String {
    format!("@{server}")
}

/// Whether `name` is a peer's account (`@lab2`), whose inbox is the
/// queue of frames for it.
pub fn is_peer_account(name: &str) -> bool {
    name.len() > 1 && name.starts_with('@')
}

impl State {
    /// Notes in `batch` each peer whose queue grew since a batch last
    /// noted it (its account's name, `@lab2`): once the batch is durable,
    /// the router's hook wakes the peer's link (`federation`), which
    /// sends what is on disk. Whatever queued the frames (a message, a
    /// status, a room's `JOIN`, a member server's backfill), this is
    /// the one place a link learns of them.
    pub(super) fn note_links(&mut self, batch: &mut Batch) {
        let users = &self.users;
        for (peer, noted) in &mut self.peer_queues {
            let last = users[*peer].inbox.last_seq;
            if last > *noted {
                *noted = last;
                let name = &users[*peer].name;
                if !batch.links.contains(name) {
                    batch.links.push(name.clone());
                }
            }
        }
    }

    /// The account a record names: made if it is a remote user's address
    /// (with its server's queue) or a peer's queue seen for the first time.
    pub(in crate::store) fn user_or_remote(&mut self, name: &str) -> Result<UserId, String> {
        if let Some(id) = self.user_id(name) {
            return Ok(id);
        }
        if let Some((_, server)) = address(name) {
            self.user_or_remote(&peer_account(server))?;
            return self.add_user(name, REMOTE);
        }
        if is_peer_account(name) {
            return self.add_user(name, REMOTE);
        }
        Err(format!("unknown user {name:?}"))
    }

    /// Whether `author`'s post `id` to `room` (a copy, `#lab@lab2`)
    /// waits for its home's copy ([`super::posts`]).
    pub fn waits_for_copy(&self, author: UserId, room: &str, id: &str) -> bool {
        self.users[author].posts.waits(room, id)
    }

    /// As [`State::waits_for_copy`], and whether the post reads `text`
    /// (escaped): `None` if none waits.
    pub fn copy_reads_as_post(&self, author: UserId, room: &str, id: &str, text: &str) -> Option<bool> {
        self.users[author].posts.waits_with(room, id, text)
    }

    /// True for a remote user's or a peer's account.
    pub fn is_remote(&self, user: UserId) -> bool {
        self.users[user].hash == REMOTE
    }

    /// The peer's queue account, if it exists.
    pub fn peer_queue(&self, server: &str) -> Option<UserId> {
        self.user_id(&peer_account(server))
    }

    /// Whose inbox an event for `user` waits in: its own, or, for a remote
    /// user, its server's queue (made with it, `user_or_remote`).
    pub(in crate::store) fn inbox_of(&self, user: UserId) -> UserId {
        match address(&self.users[user].name) {
            Some((_, server)) => self.peer_queue(server).unwrap_or(user),
            None => user,
        }
    }

    /// Enqueues an event for `user` where it waits ([`State::inbox_of`]).
    pub(in crate::store) fn enqueue_for(
        &mut self,
        user: UserId,
        queued: Queued,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) {
        let at = self.inbox_of(user);
        self.users[at].inbox.enqueue(at, queued, event, push);
    }

    /// Queues the record at `pos` as a frame for `server` (a `JOIN`, a
    /// `LEAVE`, a `POST`), with the event that rings its link's dialer.
    pub(in crate::store) fn enqueue_link(
        &mut self,
        server: &str,
        pos: Pos,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let at = self.user_or_remote(&peer_account(server))?;
        self.users[at].inbox.enqueue(at, Queued::Link { pos }, event, push);
        Ok(())
    }

    /// Queues the message at `pos` of a room homed here for the member
    /// server `server`, unless it is behind, or becomes so now because
    /// [`ROOM_QUEUE_MAX`] frames wait for it.
    pub(in crate::store) fn fan_out(
        &mut self,
        server: &str,
        pos: Pos,
        event: Option<Arc<Pushed>>,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let at = self.user_or_remote(&peer_account(server))?;
        let peer = &mut self.users[at];
        if peer.settings.get(LINK, BEHIND).is_some() {
            return Ok(());
        }
        if peer.inbox.last_seq - peer.inbox.acked >= ROOM_QUEUE_MAX {
            peer.settings.set(LINK, BEHIND, Some("1"));
            return Ok(());
        }
        peer.inbox.enqueue(at, Queued::Link { pos }, event, push);
        Ok(())
    }

    /// How many members of the room `room` are users of `server`.
    pub fn members_of_server(&self, room: RoomId, server: &str) -> usize {
        self.members(room).filter(|&u| is_of(&self.users[u].name, server)).count()
    }

    /// How many users of `server` have a direct chat with `user`.
    pub fn chats_with_server(&self, user: UserId, server: &str) -> usize {
        self.users[user].peers.iter().filter(|&&p| is_of(&self.users[p].name, server)).count()
    }

    /// The servers that have members in the room `room` (homed here).
    pub fn member_servers(&self, room: RoomId) -> Vec<String> {
        let mut servers: Vec<String> = Vec::new();
        for user in self.members(room) {
            if let Some((_, server)) = address(&self.users[user].name)
                && !servers.iter().any(|s| s.eq_ignore_ascii_case(server))
            {
                servers.push(server.to_string());
            }
        }
        servers
    }

    /// Rooms homed here that have members of `server`.
    pub fn rooms_with_members_of(&self, server: &str) -> Vec<RoomId> {
        let mut rooms = std::collections::BTreeSet::new();
        for (id, user) in self.users.iter().enumerate() {
            if address(&user.name).is_some_and(|(_, s)| s.eq_ignore_ascii_case(server)) {
                rooms.extend(self.rooms_of(id));
            }
        }
        rooms.into_iter().collect()
    }

    /// Frames waiting for `server` (0 if it has no queue yet).
    pub fn peer_waiting(&self, server: &str) -> u64 {
        self.peer_queue(server).map_or(0, |p| {
            let inbox = &self.users[p].inbox;
            inbox.last_seq - inbox.acked
        })
    }

    /// A fact of a peer's link ([`TOOK`], [`PIN`]).
    pub fn link_fact(&self, server: &str, key: &str) -> Option<&str> {
        let peer = self.peer_queue(server)?;
        self.users[peer].settings.get(LINK, key)
    }

    /// How many remote users of `server` this server knows.
    pub fn remote_users(&self, server: &str) -> usize {
        self.users
            .iter()
            .filter(|u| address(&u.name).is_some_and(|(_, s)| s.eq_ignore_ascii_case(server)))
            .count()
    }
}

/// 1.3 (§27, "Presence across servers"): who shares a chat with whom
/// across servers, the rule of whose presence a peer is told.
impl State {
    /// The servers whose users share a chat with `user` (of this server):
    /// a direct chat with one of them, a room of this server with one of
    /// them in it, or a room of another server (its home's users are in
    /// it, and the members it announced). Folded names, sorted, each once.
    pub fn servers_sharing_a_chat(&self, user: UserId) -> Vec<String> {
        let mut servers = std::collections::BTreeSet::new();
        let mut of = |name: &str| {
            if let Some((_, server)) = address(name) {
                servers.insert(crate::protocol::names::fold(server));
            }
        };
        for &peer in self.users[user].peers.iter() {
            of(&self.users[peer].name);
        }
        for room in self.rooms_of(user) {
            of(&self.room(room).name);
            for member in self.members(room) {
                of(&self.users[member].name);
            }
        }
        servers.into_iter().collect()
    }

    /// This server's users who share a chat with a user of `server`
    /// ([`State::servers_sharing_a_chat`] names `server` for each).
    pub fn users_sharing_with(&self, server: &str) -> Vec<UserId> {
        let mut users = std::collections::BTreeSet::new();
        let ours = |u: UserId| !self.is_remote(u) && !self.users[u].is_deleted();
        for (id, account) in self.users.iter().enumerate() {
            if !is_of(&account.name, server) {
                continue;
            }
            users.extend(self.users[id].peers.iter().copied().filter(|&p| ours(p)));
            for room in self.rooms_of(id) {
                users.extend(self.members(room).filter(|&m| ours(m)));
            }
        }
        for (id, room) in self.rooms.iter().enumerate() {
            if room.as_ref().is_some_and(|r| is_of(&r.name, server)) {
                users.extend(self.members(id).filter(|&m| ours(m)));
            }
        }
        users.into_iter().collect()
    }
}

/// Whether `name` is the address of a user of `server`.
fn is_of(name: &str, server: &str) -> bool {
    address(name).is_some_and(|(_, s)| s.eq_ignore_ascii_case(server))
}
