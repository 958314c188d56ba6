//! What each request does to the store: `LocalStore`'s methods, read
//! top-down — accounts, messages, rooms, reading, acknowledgements, and
//! the small listings. Each change checks what the client asked, returns
//! a `Ko` when it cannot be done, and otherwise commits records through
//! [`Inner::write`]. A request that would
//! change nothing writes nothing (a second `READ` of the same message, a
//! `JOIN` of a room one is in, an `ACK` of what was acknowledged).
//!
//! Six hand on to `Inner` in a line or two, each for a reason: `send` (the
//! `MSG` path is `send.rs`'s), `read` (finding the message a receipt
//! names is `read_receipt.rs`'s), `wait` and `when_durable` (the group
//! commit is `committer/mod.rs`'s), `history` (`reads.rs`), `stop` (`Drop`
//! too).

use std::sync::Arc;

use super::super::budget::check_link_queue;
use super::super::interface::ServerFacts;
use super::super::interface::{Account, Lines, Listing, Members, Outgoing, Then, Ticket};
use super::super::record::Record;
use super::super::state::remote::{address, is_copy};
use super::super::state::{Batch, State, UserId};
use super::super::users::user_row;
use super::super::{GENERAL, now_ms};
use super::erase::Erasure;
use super::reads::ReplayLines;
use super::{Inner, LocalStore, ko};
use crate::protocol::action::ActionsSince;
use crate::protocol::names::fold;
use crate::protocol::page::Start;
use crate::protocol::{Accepted, Chat, ChatLine, Code, Ko, RoomLine};
use crate::store::devices::{Device, find, on_record};
use crate::store::invites;
use crate::store::meaning::accounts;
use crate::store::settings::{self, KeptKey, KeyChange, KeyView, Keys, Setting};

/// Each request the server makes of the store, read top-down: accounts,
/// changes (applied at once, durable once their ticket is), reads (they
/// show only what is durable), moderation, settings. The walks that
/// `READ` and `HISTORY` make back along a conversation, and the writing
/// of a batch, are `Inner`'s: the committer and the checkpointer threads
/// share it.
impl LocalStore {
    // ----- accounts

    /// The account called `name`, ignoring case, with what the server
    /// needs of it (1.2: whether it is a server admin too).
    pub fn account(&self, name: &str) -> Option<Account> {
        let state = self.inner.state.lock();
        let id = state.user_id(name)?;
        let user = &state.users[id];
        let admin = state.is_server_admin(id);
        Some(Account { id, name: user.name.clone(), hash: user.hash.clone(), admin })
    }

    // An account's changes: their checks that need no storage (a
    // password, a name's quarantine, the hash computed) are `Store`'s,
    // made before. Each is one record (with a registration's row and
    // `JOIN`), written as its own batch: they are rare.

    /// A new account called `name`, a member of `#general`
    /// (`KO:USER_EXISTS` if the name is taken, ignoring case), `hash`
    /// already computed: what `REGISTER` makes of a new name, and `wachat
    /// users add`. With an `invite` code (1.2 `REDEEM`, normalized), the
    /// code is judged (`store::invites::judge`) and used in the same batch
    /// that makes the account: both are written, or neither.
    pub fn create_account(
        &self,
        name: &str,
        email: &str,
        hash: String,
        invite: Option<&str>,
    ) -> Result<(Account, Ticket), Ko> {
        let (mut made, ticket) = self.inner.create_accounts(&[(name, email, hash)], invite)?;
        Ok((made.remove(0), ticket))
    }

    /// 1.2: `REGISTER` of the name of `user`, a deleted account whose
    /// quarantine is over: the name gets a new account (`hash`, `email`,
    /// a member of `#general`) that sees nothing of the old one's
    /// (docs/PROTOCOL.md §20, "A name freed"): a `REUSE` record, its
    /// `users.csv` row and a membership of `#general`, in one batch.
    /// `KO:USER_EXISTS` if `user` is not a deleted account any more (two
    /// registrations at once). With an `invite` code, as
    /// [`Self::create_account`]'s.
    pub fn reuse_account(
        &self,
        user: UserId,
        email: &str,
        hash: String,
        invite: Option<&str>,
    ) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| {
            let name = state.users[user].name.clone();
            accounts::reuses(&name, state.users[user].is_deleted())?;
            use_invite(state, batch, invite)?;
            let ts = state.next_ts(now_ms());
            // The newest row of a name is its e-mail and creation time
            // (`users::load_users`); the record is what makes the account.
            user_row(&mut batch.users, &name, email, &hash, ts);
            state.commit(Record::Reuse { ts, user: name.clone(), hash: hash.as_str().into() }, batch)?;
            join_general(state, batch, ts, name)
        })?;
        Ok(ticket)
    }

    /// 1.2 `PASSWD`: `user`'s password is now the one `hash` is of
    /// (already computed, the old one already checked): a `PASSWD`
    /// record.
    pub fn set_password(&self, user: UserId, hash: String) -> Result<Ticket, Ko> {
        self.inner.change_account(user, |_, me, ts| Some(Record::Passwd { ts, user: me, hash: hash.into() }))
    }

    /// 1.2: `user` becomes a server admin, or (`on` false) no longer one
    /// (`wachat users admin`, on a running server too; on a cluster,
    /// `--store`, made by the leader). A `RULE` record in the log, kept
    /// with the account's other facts there (and in checkpoints), so that
    /// `users.csv` keeps its columns and an older directory loads
    /// unchanged; none if it is so already.
    pub fn set_server_admin(&self, user: UserId, on: bool) -> Result<Ticket, Ko> {
        self.inner.change_account(user, |state, by, ts| {
            let rule = super::super::moderation::Rule::ServerAdmin(on);
            let changes = state.is_server_admin(user) != on;
            changes.then_some(Record::Rule { ts, by, room: "".into(), rule })
        })
    }

    /// 1.2 `DELACCOUNT` (§20): `user`'s account is deleted (its password
    /// already checked): its hash becomes
    /// [`deleted_hash`](super::super::state::deleted_hash) of now, its
    /// inbox is emptied, it leaves every room. Its name stays taken until
    /// its quarantine is over. Deleting it again changes nothing.
    ///
    /// One batch: a `LEAVE` of each room homed on another server that the
    /// account is in, then the `DELACCOUNT` record (which leaves the rooms
    /// homed here). Each `LEAVE` is the very record the user's own
    /// `LEAVE:#lab@lab2` writes, so it becomes the same frame for the
    /// room's home, in that peer's queue (§27): the home stops listing the
    /// member and fanning the room out to it, even if it is down now and
    /// hears it only when it is back. A second `DELACCOUNT` racing the
    /// first changes nothing.
    pub fn delete_account(&self, user: UserId) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| {
            if state.users[user].is_deleted() {
                return Ok(());
            }
            let me = state.users[user].name.clone();
            let elsewhere: Vec<Arc<str>> =
                state.rooms_of(user).map(|r| state.room(r).name.clone()).filter(|r| is_copy(r)).collect();
            for room in elsewhere {
                let ts = state.next_ts(now_ms());
                state.commit(Record::Leave { ts, user: me.clone(), room }, batch)?;
            }
            let ts = state.next_ts(now_ms());
            state.commit(Record::DelAccount { ts, user: me }, batch)
        })?;
        Ok(ticket)
    }

    /// Keeps invite `codes`, new and unused, valid until `expires_ms`
    /// (`store::invites`): one `INVITE` record a code, in one batch. A
    /// code kept already (1 in 2^74) is refused, never made valid again.
    pub fn keep_invites(&self, codes: &[String], expires_ms: u64) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| {
            let mut seen = std::collections::HashSet::new();
            if codes.iter().any(|code| state.invites.get(code).is_some() || !seen.insert(code)) {
                return Err(ko(Code::Internal, "an invite code made twice; make them again"));
            }
            for code in codes {
                let ts = state.next_ts(now_ms());
                let (code, mark) = (code.clone(), invites::Mark::Kept);
                state.commit(Record::Invite { ts, code, mark, expires_ms }, batch)?;
            }
            Ok(())
        })?;
        Ok(ticket)
    }

    /// Revokes invite `code` if it is unused: it lets nobody in any more.
    /// Returns how it was kept (`None`: no such code); a used one stays as
    /// it was (its account is not touched). Decided under the lock that
    /// writes: a registration that used the code first wins, and the code
    /// stays used.
    pub fn revoke_invite(&self, code: &str) -> Result<(Option<invites::Kept>, Ticket), Ko> {
        self.inner.write(|state, batch| {
            let was = state.invites.get(code);
            if let Some(kept) = was.filter(|kept| !kept.used) {
                let ts = state.next_ts(now_ms());
                let (code, mark, expires_ms) = (code.to_string(), invites::Mark::Revoked, kept.expires_ms);
                state.commit(Record::Invite { ts, code, mark, expires_ms }, batch)?;
            }
            Ok(was)
        })
    }

    /// How invite `code` is kept, if it is.
    pub fn invite(&self, code: &str) -> Option<invites::Kept> {
        self.inner.state.lock().invites.get(code)
    }

    /// Every invite code kept, used or not, by expiry then code.
    pub fn invites(&self) -> Vec<(String, invites::Kept)> {
        self.inner.state.lock().invites.listing()
    }

    // ----- changes: applied at once, durable once their ticket is

    /// `MSG`s of one sender, in order: for each, the `<id>:<ts>` of its
    /// `OK` or its `KO`. A resend (an id among the sender's recent ones)
    /// gets its first `OK` and stores nothing. The plain path of each is
    /// `send.rs`'s.
    ///
    /// 1.2 (§22): every message of the server comes this way (`MSG`, and
    /// the actions of `server::actions`: a reply, an edit, a reaction in a
    /// direct chat), so what a block hides is decided here for all of
    /// them: a direct message to a user who blocked its sender gets an
    /// `OK` like any other, and is stored nowhere (no inbox, no
    /// `HISTORY`, no `CHATS`, on either side), so it is never delivered,
    /// not even after an `UNBLOCK`; the sender is not told. The rule is
    /// `meaning::send`'s (`Goes::Nowhere`), asked under the state's lock,
    /// where the recipient is found.
    pub fn send(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<Accepted, Ko>>, Ticket) {
        self.inner.send_burst(from, msgs)
    }

    /// `READ`: `user` read `chat` up to the message `id`.
    pub fn read(&self, user: UserId, chat: &Chat, id: &str) -> Result<Ticket, Ko> {
        match chat {
            Chat::User(name) => self.inner.read_direct(user, name, id),
            Chat::Room(name) => self.inner.read_room(user, name, id),
        }
    }

    /// 1.2, `DELETE`: the text of `author`'s message `id` to `chat` must
    /// leave the storage (its record, and those quoting it). Called once
    /// the `DELETE`'s own record is durable; returns once the erasure is
    /// recorded in `erase.csv` (synced), erased then or later by the
    /// eraser thread (`--erase-minutes`, `store::local::erase`).
    pub fn erase(&self, author: &str, chat: &Chat, id: &str) -> Result<(), Ko> {
        let erasure = Erasure { author: author.to_string(), chat: chat.to_string(), id: id.to_string() };
        self.inner.eraser.queue(self.inner.disk.as_ref(), erasure).map_err(|e| {
            log::error!("store: recording an erasure in erase.csv: {e}");
            ko(Code::Internal, "the server could not record the deletion; try again")
        })
    }

    /// Blocks until the ticket's changes are durable; `KO:INTERNAL` if they
    /// never will be (the disk failed). A request's thread blocked here
    /// may be handed the group commit's leadership and write its own
    /// batch (`committer/mod.rs`, "Who leads next").
    pub fn wait(&self, ticket: Ticket) -> Result<(), Ko> {
        self.inner.sync_through(ticket.0)
    }

    /// Runs `then` once the ticket's changes are durable (`Err`: they never
    /// will be), without making the caller wait: from whichever thread
    /// makes them durable, holding no lock of the store's, or at once on
    /// the caller's. A send handler leaves its `OK`s this way and goes back
    /// to reading its socket: one thread wake-up per message less than
    /// waiting (BENCHMARKS.md, "Latency").
    pub fn when_durable(&self, ticket: Ticket, then: Then) {
        self.inner.when_durable(ticket.0, then)
    }

    // ----- reads: they show only what is durable

    /// `user`'s rooms, its `ROOMS` lines, each with its members if it
    /// has at most `members_up_to` (else none): one read, under one lock,
    /// for `ROOMS` (0: no members) and for whom its presence is told
    /// ([`Store::roommates`](crate::store::Store::roommates)).
    pub fn rooms_of(&self, user: UserId, members_up_to: usize) -> Vec<(RoomLine, Members)> {
        self.inner.state.lock().rooms_list(user, members_up_to)
    }

    /// `CHATS` lines (`local/reads.rs`).
    pub fn chats(&self, user: UserId) -> Result<Vec<ChatLine>, Ko> {
        self.inner.chats(user)
    }

    /// When `user` was last online (`None`: never since this was kept).
    pub fn last_seen(&self, user: UserId) -> Option<u64> {
        self.inner.state.lock().last_seen(user)
    }

    /// 1.3: `user`'s newest messages to `peer`, a user of another server,
    /// that bounced (`state::bounces`), oldest first.
    pub fn bounces_to(&self, user: UserId, peer: &str) -> Vec<crate::store::state::bounces::Bounced> {
        self.inner.state.lock().users[user].bounces.to(peer)
    }

    /// `HISTORY`: the newest messages, at most `limit` of them and at most
    /// `max_bytes` of reply lines, oldest first.
    pub fn history(&self, user: UserId, chat: &Chat, limit: usize, max_bytes: usize) -> Result<Listing, Ko> {
        self.history_page(user, chat, (Start::Newest, false), limit, max_bytes)
    }

    /// 1.2: a page of `HISTORY`: the messages from `start` back, at most
    /// `limit` of them and `max_bytes` of lines, oldest first, and where
    /// the page before starts (`protocol::page`). A cursor that is not a
    /// place in `user`'s conversation `chat` is refused with
    /// [`not_a_page`](crate::protocol::page::not_a_page). With
    /// `room_ticks` (1.2 §31, a connection that logged in as a device),
    /// `user`'s own messages of a room carry their ticks (`DELIVERED`,
    /// `READ`) where the room keeps receipts. The walk back along the
    /// conversation is reads.rs's.
    pub fn history_page(
        &self,
        user: UserId,
        chat: &Chat,
        (start, room_ticks): (Start, bool),
        limit: usize,
        max_bytes: usize,
    ) -> Result<Listing, Ko> {
        self.inner.history(user, chat, (start, room_ticks), limit, max_bytes)
    }

    /// 1.2 `SEARCH`: the newest messages of `chats` (at most `limit`)
    /// that hold every word of `query`, newest first, edits and deletions
    /// folded in: a scan of the log through its index (`local/search.rs`).
    pub fn search(
        &self,
        user: UserId,
        chats: &[Chat],
        query: &crate::store::search::Query,
        limit: usize,
    ) -> Result<crate::store::search::Searched, Ko> {
        self.inner.search_chats(user, chats, query, limit)
    }

    /// A room as registered (`#Tea`) and its members; `None` if there is no
    /// such room. (Who may see them is the caller's business.)
    pub fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)> {
        let state = self.inner.state.lock();
        let r = state.room_id(room)?;
        Some((state.room(r).name.clone(), state.named_members(r)))
    }

    /// The sequence number up to which `user`'s inbox is durable: a replay
    /// goes up to it, live delivery takes over after it. Read inside the
    /// router's critical section (`server::recv::attach`), which every
    /// delivery to the user waits for, so it reads a number and nothing
    /// more; the lines up to it are [`Self::replay`]'s, read after.
    pub fn inbox_end(&self, user: UserId) -> u64 {
        let synced = self.inner.synced();
        self.inner.state.lock().inbox_end(user, synced)
    }

    /// The inbox events after `after` (a device's position; 0: the inbox's
    /// start) up to `upto`, as frames, a chunk at a time outside any lock;
    /// those the inbox no longer holds (or already acknowledged) are left
    /// out. `minor` is the connection's version: copies and read marks
    /// (1.2) are left out below 2.
    pub fn replay(&self, user: UserId, after: u64, upto: u64, minor: u8) -> Box<dyn Lines> {
        Box::new(ReplayLines::after(&self.inner, user, after, upto, minor))
    }

    // ----- 1.2: moderation: `moderate` and `room_info` are moderation.rs's

    /// Writes what is pending (and a last checkpoint) and stops; every
    /// later change is refused. `Drop` does it too.
    pub fn stop(&self) {
        self.inner.stop()
    }

    /// The data's own facts ([`ServerFacts`]): made at its first start,
    /// the same after every restart and on every node of a cluster.
    pub fn server(&self) -> ServerFacts {
        ServerFacts {
            id: self.inner.server_id.clone(),
            actions_since: ActionsSince(self.inner.actions_since),
        }
    }

    /// Events waiting in every inbox together, for the metrics
    /// (`wachat_inbox_events`): one pass over the users under the state
    /// lock (a scrape's, every few seconds), ~10 µs per thousand users.
    pub fn inbox_events(&self) -> u64 {
        let state = self.inner.state.lock();
        state.users.iter().map(|u| u.inbox.queue.len() as u64).sum()
    }

    /// 1.2: the bytes of `user`'s messages counted in `--user-quota`, to
    /// which its files are added (`store::files`).
    pub fn stored_bytes(&self, user: UserId) -> u64 {
        self.inner.state.lock().usage.of(user)
    }

    /// 1.2: `KO:FULL` while the disk the store writes to is below its
    /// `--min-free` floor or full (`store::budget`), the same answer as a
    /// `MSG`'s: asked before the bytes of an upload are written beside it.
    pub fn check_room(&self) -> Result<(), Ko> {
        self.inner.floor.check(self.inner.disk.as_ref(), &self.inner.dir, self.inner.options.budget.min_free)
    }

    // ----- 1.2: settings (`store::settings`, §23): every per-chat setting
    // of a user (a block, a level and pin, an archive, a star), one mechanism

    /// `user`'s `key` of `setting` becomes what `change` makes of it,
    /// given what the user keeps of the setting, decided by
    /// [`decide`](crate::store::settings::decide) under the lock that
    /// writes it (a `SET` record); nothing is stored if nothing changes.
    pub fn change_setting(
        &self,
        user: UserId,
        setting: &'static Setting,
        key: &str,
        change: KeyChange,
    ) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| set(state, batch, user, setting, key, change))?;
        Ok(ticket)
    }

    /// The keys of `setting` that `keys` asks for (one user's, sorted by
    /// key; or those about a user), each with its owner and value. The
    /// `holders` of a key (`Keys::About`) are a pass over the users under
    /// the state lock (~10 µs per thousand users), for a `MEMBERS`, which
    /// costs a `--rate` token.
    pub fn read_settings(&self, setting: &Setting, keys: Keys) -> Vec<KeptKey> {
        let state = self.inner.state.lock();
        let kept = |owner: UserId, (key, value): (&str, &str)| KeptKey {
            owner,
            key: key.to_string(),
            value: value.to_string(),
            account: state.user_id(key),
        };
        let about = |about: UserId| fold(&state.users[about].name);
        match keys {
            Keys::Of(user) => {
                state.users[user].settings.of(setting.name).map(|pair| kept(user, pair)).collect()
            }
            Keys::OfAbout { owner, about: whom } => {
                let Some(owner) = state.user_id(owner) else { return Vec::new() };
                let key = about(whom);
                let value = state.users[owner].settings.get(setting.name, &key);
                // The key names `whom`: no lookup of it by name.
                let kept = |value: &str| KeptKey {
                    owner,
                    key: key.clone(),
                    value: value.into(),
                    account: Some(whom),
                };
                value.map(kept).into_iter().collect()
            }
            Keys::About(whom) => {
                let key = about(whom);
                let users = state.users.iter().enumerate();
                let held = users.filter_map(|(id, u)| Some((id, u.settings.get(setting.name, &key)?)));
                held.map(|(id, value)| kept(id, (&key, value))).collect()
            }
        }
    }
}

/// The `SET` record of `user`'s `key` of `setting` that `change` decides
/// from what is kept; nothing if nothing changes.
pub(super) fn set(
    state: &mut State,
    batch: &mut Batch,
    user: UserId,
    setting: &Setting,
    key: &str,
    change: KeyChange,
) -> Result<(), Ko> {
    let kept = KeyView::new(key, state.users[user].settings.of(setting.name).collect());
    let Some(value) = settings::decide(setting, &kept, change)? else {
        return Ok(()); // nothing changes
    };
    let ts = state.next_ts(now_ms());
    let me = state.users[user].name.clone();
    let (name, key) = (setting.name.to_string(), key.to_string());
    state.commit(Record::Set { ts, user: me, name, key, value }, batch)
}

/// Uses `invite`, if there is one, for the account this batch makes: the
/// code judged by the one rule (`store::invites::judge`) and its `USED`
/// record committed, after the account's checks and before its records,
/// so that a refusal of either leaves the batch empty.
fn use_invite(state: &mut State, batch: &mut Batch, invite: Option<&str>) -> Result<(), Ko> {
    let Some(code) = invite else { return Ok(()) };
    let now = now_ms();
    let kept = state.invites.get(code);
    invites::judge(kept, now).map_err(|refused| refused.ko())?;
    let expires_ms = kept.map_or(0, |kept| kept.expires_ms);
    let ts = state.next_ts(now);
    state.commit(Record::Invite { ts, code: code.to_string(), mark: invites::Mark::Used, expires_ms }, batch)
}

/// A new account joins `#general` (creating it if it is gone).
fn join_general(state: &mut State, batch: &mut Batch, ts: u64, user: Arc<str>) -> Result<(), Ko> {
    let (room, read) = match state.room_id(GENERAL) {
        Some(r) => (state.room(r).name.clone(), state.room_link(r).ord),
        None => (GENERAL.into(), 0),
    };
    state.commit(Record::Join { ts, user, room, read }, batch)
}

impl Inner {
    /// Creates accounts, each a member of `#general`, all in one batch:
    /// all are stored, or none. A name taken (ignoring case) is refused.
    /// With an `invite` code, the code is used in the same batch
    /// ([`use_invite`]).
    pub(in crate::store) fn create_accounts(
        &self,
        new: &[(&str, &str, String)],
        invite: Option<&str>,
    ) -> Result<(Vec<Account>, Ticket), Ko> {
        self.write(|state, batch| {
            // Checked before anything is applied: all or none.
            let mut seen = std::collections::HashSet::new();
            for (name, _, _) in new {
                let taken = state.user_id(name).is_some() || !seen.insert(crate::protocol::names::fold(name));
                accounts::free_name(name, taken)?;
            }
            use_invite(state, batch, invite)?;
            let mut made = Vec::new();
            for (name, email, hash) in new {
                let ts = state.next_ts(now_ms());
                let id = state.add_user(name, hash).map_err(|e| ko(Code::UserExists, e))?;
                user_row(&mut batch.users, name, email, hash, ts);
                let user = state.users[id].name.clone();
                join_general(state, batch, ts, user.clone())?;
                made.push(Account { id, name: user, hash: hash.clone(), admin: false });
            }
            Ok(made)
        })
    }
    /// Writes the one record `record` makes of a change to `user`'s
    /// account (given the state, its name and a time), if it makes one.
    fn change_account(
        &self,
        user: UserId,
        record: impl FnOnce(&State, Arc<str>, u64) -> Option<Record>,
    ) -> Result<Ticket, Ko> {
        let ((), ticket) = self.write(|state, batch| {
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.clone();
            match record(state, me, ts) {
                Some(record) => state.commit(record, batch),
                None => Ok(()), // nothing changes
            }
        })?;
        Ok(ticket)
    }
}

/// A room's membership: `JOIN` and `LEAVE`, as the records they write.
impl LocalStore {
    /// `JOIN` of `room`: creates it if new (1.2: owned by its joiner), may
    /// be refused by its rules (a ban, an invitation missing), and changes
    /// nothing if `user` is in it.
    pub fn join(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| {
            let existing = state.room_id(room);
            let member = existing.is_some_and(|r| state.is_member(r, user));
            let rules = existing.map_or(Ok(()), |r| state.may_join(r, user, now_ms())); // 1.2: bans, invite-only
            if !crate::store::meaning::rooms::join(member, rules, state.rooms_of(user).count())? {
                return Ok(());
            }
            let (name, read) = match existing {
                Some(r) => (state.room(r).name.clone(), state.room_link(r).ord),
                None => (format!("#{room}").into(), 0),
            };
            // 1.3: a room homed elsewhere: the JOIN is a frame for its home.
            let home = address(&name).map(|(_, home)| home);
            if let Some(home) = home {
                check_link_queue(self.inner.options.budget.link_queue_max, home, state.peer_waiting(home))?;
            }
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.clone();
            state.commit(Record::Join { ts, user: me, room: name.clone(), read }, batch)?;
            if existing.is_none() && home.is_none() {
                super::moderation::claim(state, batch, &name, user)?; // 1.2: its creator owns it
            }
            Ok(())
        })?;
        Ok(ticket)
    }

    /// `LEAVE` of `room`: `KO:NOT_MEMBER` if `user` is not in it.
    pub fn leave(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        let ((), ticket) = self.inner.write(|state, batch| {
            let found = state.room_id(room).map(|r| (r, state.is_member(r, user)));
            let r = crate::store::meaning::rooms::leave(room, found)?;
            let (ts, me) = (state.next_ts(now_ms()), state.users[user].name.clone());
            let name = state.room(r).name.clone();
            state.commit(Record::Leave { ts, user: me, room: name }, batch)
        })?;
        Ok(ticket)
    }
}

/// What the server's connections tell the store of a user's devices as
/// it happens, and the settings its devices are kept in: records that
/// ride the next batch, which nobody waits for.
impl LocalStore {
    /// `user`'s last receive connection anywhere ended at `ts_ms` (Unix
    /// ms): its last-seen time, a `SEEN` record (a failure logged).
    pub fn note_offline(&self, user: UserId, ts_ms: u64) {
        let result = self.inner.write_unwaited(|state, batch| {
            let me = state.users[user].name.clone();
            state.commit(Record::Seen { ts: ts_ms, user: me }, batch)
        });
        if let Err(e) = result {
            // At shutdown the server notes everyone online before the
            // store stops; a connection that ends after that lands here.
            log::debug!("store: last-seen time of user #{user} not stored: {}", e.reason);
        }
    }

    /// A `SET` record that nobody waits for, as [`Self::change_setting`]
    /// decides it: when and where a device was last seen, as its
    /// connection ends (`store::InLog::seen`). Like an acknowledgement,
    /// it rides the next batch or the committer's, and is applied while
    /// writes are refused too, to be written after the batch that waits:
    /// a connection's end never waits for the log, so a database gone
    /// away cannot hold it, nor a shutdown.
    pub fn change_setting_unwaited(
        &self,
        user: UserId,
        setting: &'static Setting,
        key: &str,
        change: KeyChange,
    ) -> Result<(), Ko> {
        self.inner.write_unwaited(|state, batch| set(state, batch, user, setting, key, change))
    }

    /// A `SET` record that must win over a full disk, as
    /// [`Self::change_setting`] decides it: a device's token revoked
    /// (`store::InLog`), admitted where other writes are refused
    /// (`Inner::write_first`). Durable once its ticket is waited for.
    pub fn change_setting_first(
        &self,
        user: UserId,
        setting: &'static Setting,
        key: &str,
        change: KeyChange,
    ) -> Result<Ticket, Ko> {
        let ((), ticket) =
            self.inner.write_first(|state, batch| set(state, batch, user, setting, key, change))?;
        Ok(ticket)
    }

    /// 1.2: `user` has several devices holding its inbox (`true`) or one
    /// again: from now on its inbox gets copies of its own messages and
    /// read marks, or not. A `DEVICES` record (a failure logged), none if
    /// that is what the state says already.
    pub fn set_several(&self, user: UserId, several: bool) {
        let result = self.inner.write_unwaited(|state, batch| {
            if state.users[user].several == several {
                return Ok(());
            }
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.clone();
            state.commit(Record::Devices { ts, user: me, several }, batch)
        });
        if let Err(e) = result {
            log::warn!("store: the devices of user #{user} not stored: {}", e.reason);
        }
    }
}

/// What an `ACK` does to the inbox and to the positions of the user's
/// devices (`store::devices`): decided in one write from the state, so
/// that a position is what the log says, on a single server as on every
/// node of a cluster. Nobody waits for its records.
impl LocalStore {
    /// `ACK:<seq>` from `user`'s device (`Some((device, seq))`), or
    /// (`None`) a look at `user`'s devices after one left (`UNLINK`):
    ///
    /// - the devices that `forgotten` says were not seen for
    ///   `--device-days` lose their position (a `SET` record each);
    /// - the direct messages the device has now become DELIVERED: two
    ///   grey ticks as soon as the first device has them;
    /// - the inbox is trimmed up to the **lowest** position of the devices
    ///   that still hold one: an event leaves once every device has it;
    /// - the device is at `seq`: one `ACK` record says both.
    ///
    /// A user with one device (every 1.0/1.1 client: `default`) trims
    /// its inbox at each `ACK`. A device no longer on record (unlinked
    /// meanwhile) holds nothing, and its `ACK` changes nothing.
    pub fn ack_device(&self, user: UserId, device: Option<(&str, u64)>, forgotten: &dyn Fn(&Device) -> bool) {
        // 1.2 (§31): the room messages the device now has, read back from
        // the log first (outside the lock); a room's mark never moves back.
        let rooms = match device {
            Some((name, seq)) => {
                let from = {
                    let state = self.inner.state.lock();
                    let acked = state.users[user].inbox.acked;
                    let devices = on_record(&state.users[user].settings);
                    find(&devices, name).and_then(|d| d.position).unwrap_or(acked).max(acked)
                };
                if seq > from { self.inner.acked_rooms(user, from, seq) } else { Vec::new() }
            }
            None => Vec::new(),
        };
        // Receipts ride the next batch instead of forcing one (see `committer::RIDE`).
        let result = self.inner.write_unwaited(|state, batch| {
            let devices = on_record(&state.users[user].settings);
            let acked = state.users[user].inbox.acked;
            // The device that acknowledged: its name as on record, where
            // it was, where it is now.
            let acking = match device {
                Some((name, seq)) => match find(&devices, name) {
                    Some(d) if d.position.is_some_and(|p| p >= seq) => return Ok(()), // nothing new
                    Some(d) => Some((d.name.clone(), d.position.unwrap_or(0), seq)),
                    // None on record could be written (a full disk): the ACK trims alone.
                    None if devices.is_empty() => Some((Arc::from(name), acked, seq)),
                    None => return Ok(()),
                },
                None => None,
            };
            let me = state.users[user].name.clone();
            let ts = state.next_ts(now_ms());
            let (mut lowest, mut live, mut forgot) = (acking.as_ref().map(|a| a.2), 0, false);
            live += usize::from(acking.is_some());
            for d in &devices {
                let Some(position) = d.position else { continue };
                if acking.as_ref().is_some_and(|a| fold(&a.0) == fold(&d.name)) {
                    continue;
                }
                if forgotten(d) {
                    log::info!("devices: {} not seen for --device-days: forgotten", d.name);
                    state.commit(Record::device(ts, &me, &Device { position: None, ..d.clone() }), batch)?;
                    forgot = true;
                } else {
                    lowest = Some(lowest.map_or(position, |l| l.min(position)));
                    live += 1;
                }
            }
            if (forgot || acking.is_none()) && live <= 1 && state.users[user].several {
                state.commit(Record::Devices { ts, user: me.clone(), several: false }, batch)?;
            }
            let trim = lowest.unwrap_or(acked).max(acked);
            let (after, upto) = acking.as_ref().map_or((acked, trim), |a| (a.1.max(acked), a.2));
            for (_, queued) in state.queued(user, after, upto, usize::MAX) {
                if let crate::store::state::Queued::Direct { from, dord, id, .. } = queued
                    && state.would_deliver(from, user, dord)
                {
                    let chat = state.users[from].name.clone();
                    state.commit(Record::Delivered { ts, user: me.clone(), chat, id, dord }, batch)?;
                }
            }
            super::room_receipts::commit_room_deliveries(state, batch, user, &rooms)?;
            if acking.is_none() && trim == acked {
                return Ok(()); // nothing moved
            }
            // (The ACK of a device not on record names none.)
            let device = acking.filter(|_| !devices.is_empty()).map(|(name, _, seq)| (name, seq));
            state.commit(Record::Ack { ts, user: me, seq: trim, device }, batch)
        });
        if let Err(e) = result {
            log::warn!("store: an ACK of user #{user} not stored: {}", e.reason);
        }
    }

    /// `ACK:<seq>` of a user's one device, `default`, where no server
    /// keeps devices (a tool, an example, a store's test): the inbox is
    /// trimmed up to `seq` ([`Self::ack_device`]).
    pub fn ack(&self, user: UserId, seq: u64) {
        self.ack_device(user, Some((crate::protocol::DEFAULT_DEVICE, seq)), &|_| false);
    }
}
