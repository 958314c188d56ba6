//! What each request does to the store: accounts, messages, rooms,
//! reading, and the receive port. Each operation checks what the client
//! asked, returns a `Ko` when it cannot be done, and otherwise builds
//! records and commits them through [`Store::write`](super::Store) (the
//! commit machinery is in `mod.rs`).

use std::sync::Arc;

use super::state::State;
use super::{GENERAL, Message, Record, Store, Ticket, UserId, ko, now_ms};
use crate::protocol::{Chat, Code, Ko, Text};
use crate::router::Outlet;

impl Store {
    // ----- accounts -----------------------------------------------------

    /// Creates an account (and its membership of `#general`), durably.
    pub fn register(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> std::result::Result<(UserId, Arc<str>), Ko> {
        if self.state.lock().user_id(name).is_some() {
            return Err(ko(Code::UserExists, format!("the name {name} is taken")));
        }
        // Hashing is slow on purpose: do it outside the lock.
        let hash = self.hasher.hash(password).map_err(|e| ko(Code::Internal, e))?;
        let (user, ticket) = self.write(|state| {
            if state.user_id(name).is_some() {
                return Err(ko(Code::UserExists, format!("the name {name} is taken")));
            }
            let ts = state.next_ts(now_ms());
            state.commit(Record::User { name: name.into(), email: email.into(), hash, created_ms: ts })?;
            let pos = state.room_id(GENERAL).map_or(0, |r| state.room_len(r));
            state.commit(Record::Join { ts, user: name.into(), room: GENERAL.into(), pos })?;
            let user = state.user_id(name).expect("just added");
            Ok((user, state.users[user].name.clone()))
        })?;
        self.wait(ticket)?;
        self.logins.remember(user.0, password);
        Ok(user)
    }

    /// Checks a password. With `auto_register`, an unknown name becomes a
    /// new account with this password.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        auto_register: bool,
    ) -> std::result::Result<(UserId, Arc<str>), Ko> {
        let found = {
            let state = self.state.lock();
            state.user_id(name).map(|id| (id, state.users[id].name.clone(), state.users[id].hash.clone()))
        };
        match found {
            Some((id, name, _)) if self.logins.recall(id, password) => Ok((id, name)),
            Some((id, name, hash)) if self.hasher.verify(Some(&hash), password) => {
                self.logins.remember(id, password);
                Ok((id, name))
            }
            None if auto_register => match self.register(name, "", password) {
                // Two first logins at once: the other one created it.
                Err(e) if e.code == Code::UserExists => self.login(name, password, false),
                other => other,
            },
            None => {
                self.hasher.verify(None, password); // same time as a wrong password
                Err(ko(Code::AuthFailed, "wrong user or password"))
            }
            Some(_) => Err(ko(Code::AuthFailed, "wrong user or password")),
        }
    }

    /// The id of an account.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.state.lock().user_id(name)
    }

    /// The registered spelling of a user name, if the account exists.
    pub fn user_name(&self, name: &str) -> Option<Arc<str>> {
        let state = self.state.lock();
        state.user_id(name).map(|id| state.users[id].name.clone())
    }

    // ----- messages -----------------------------------------------------

    /// `MSG`: accepts a message (or recognises a resend) and returns the
    /// `<id>:<ts>` of its `OK`, valid once the ticket is durable.
    pub fn send(
        &self,
        from: UserId,
        to: &Chat,
        id: &str,
        text: &Text,
    ) -> std::result::Result<(String, Ticket), Ko> {
        self.write(|state| send_one(state, from, to, id, text))
    }

    /// Several `MSG`s of one sender under one lock: a pipelined burst costs
    /// one lock acquisition, not one per message. One result per message.
    pub fn send_many(
        &self,
        from: UserId,
        msgs: &[Outgoing],
    ) -> (Vec<std::result::Result<String, Ko>>, Ticket) {
        let applied = self.write(|state| {
            Ok(msgs.iter().map(|(to, id, text)| send_one(state, from, to, id, text)).collect())
        });
        match applied {
            Ok(results) => results,
            // The store refuses every write (disk failure, shutdown).
            Err(ko) => (vec![Err(ko); msgs.len()], Ticket(0)),
        }
    }

    /// `READ`: `user` read `chat` up to the message `id`.
    pub fn read(&self, user: UserId, chat: &Chat, id: &str) -> std::result::Result<Ticket, Ko> {
        let unknown = || ko(Code::UnknownMessage, format!("no message {id} from {chat} to you"));
        let ((), ticket) = self.write(|state| {
            let me = state.users[user].name.clone();
            let ts = state.next_ts(now_ms());
            match chat {
                Chat::User(name) => {
                    // The contract has one code for READ: UNKNOWN_MESSAGE.
                    let from = state
                        .user_id(name)
                        .ok_or_else(|| ko(Code::UnknownMessage, format!("no user named {name}")))?;
                    match state.find_sent(from, id) {
                        Some((msg, _)) if !msg.is_room() && state.user_id(&msg.to) == Some(user) => {}
                        _ => return Err(unknown()),
                    }
                    let chat = state.users[from].name.clone();
                    state.commit(Record::Read { ts, user: me, chat, id: id.into() })
                }
                Chat::Room(name) => {
                    let room = state.room_id(name).filter(|&r| state.is_member(r, user));
                    let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
                    state.find_in_room(room, id).ok_or_else(unknown)?;
                    let chat = state.rooms[room].name.clone();
                    state.commit(Record::Read { ts, user: me, chat, id: id.into() })
                }
            }
        })?;
        Ok(ticket)
    }

    /// `ACK:<seq>` on the receive port: drops the events up to `seq` from
    /// the inbox and turns direct messages among them into DELIVERED.
    /// Nothing waits for this to be on disk (see `csv_backend`).
    pub fn ack(&self, user: UserId, seq: u64) {
        let result = self.write(|state| {
            if seq <= state.users[user].inbox.acked {
                return Ok(());
            }
            let me = state.users[user].name.clone();
            for msg in state.acked_messages(user, seq) {
                let Some((sender, pos)) =
                    state.user_id(&msg.from).and_then(|s| Some((s, state.find_sent(s, &msg.id)?.1)))
                else {
                    continue;
                };
                if !state.would_deliver(sender, user, pos) {
                    continue; // already READ: states only move forward
                }
                let ts = state.next_ts(now_ms());
                let (chat, id) = (msg.from.clone(), msg.id.clone());
                state.commit(Record::Delivered { ts, user: me.clone(), chat, id })?;
            }
            state.commit(Record::Ack { user: me, seq })
        });
        if let Err(e) = result {
            log::warn!("store: ack {seq} of user #{user} not stored: {}", e.reason);
        }
    }

    // ----- presence (protocol 1.1) --------------------------------------

    /// `user`'s receive connection ended at `ts_ms`: remembered as when it
    /// was last seen. Like an `ACK`, written without an fsync and waited
    /// for by nobody: a power cut can only make a last-seen time older.
    pub fn note_offline(&self, user: UserId, ts_ms: u64) {
        let result = self.write(|state| {
            let name = state.users[user].name.clone();
            state.commit(Record::Seen { user: name, ts: ts_ms })
        });
        if let Err(e) = result {
            // At shutdown every user goes offline after the last batch.
            log::debug!("store: last seen of user #{user} not stored: {}", e.reason);
        }
    }

    /// When `user` was last seen online (its receive connection ended), if
    /// the server has noted it.
    pub fn last_seen(&self, user: UserId) -> Option<u64> {
        self.state.lock().last_seen(user)
    }

    /// The room `room` as registered (`#Tea`) and its members with their
    /// names; `None` if there is no such room. (Who may see them is the
    /// caller's business: `MEMBERS` is for members only.)
    pub fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)> {
        let state = self.state.lock();
        let r = state.room_id(room)?;
        let members = state.members(r).map(|m| (m, state.users[m].name.clone())).collect();
        Some((state.rooms[r].name.clone(), members))
    }

    // ----- rooms --------------------------------------------------------

    /// `JOIN`: creates the room if new. Returns the ticket and whether
    /// anything changed (joining a room twice is fine).
    pub fn join(&self, user: UserId, room: &str) -> std::result::Result<Ticket, Ko> {
        let ((), ticket) = self.write(|state| {
            let existing = state.room_id(room);
            if existing.is_some_and(|r| state.is_member(r, user)) {
                return Ok(());
            }
            let name = existing.map_or_else(|| format!("#{room}"), |r| state.rooms[r].name.to_string());
            let pos = existing.map_or(0, |r| state.room_len(r));
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.to_string();
            state.commit(Record::Join { ts, user: me, room: name, pos })
        })?;
        Ok(ticket)
    }

    /// `LEAVE`.
    pub fn leave(&self, user: UserId, room: &str) -> std::result::Result<Ticket, Ko> {
        let ((), ticket) = self.write(|state| {
            // The code is NOT_MEMBER either way; the reason says which.
            let r =
                state.room_id(room).ok_or_else(|| ko(Code::NotMember, format!("no room named #{room}")))?;
            let r = Some(r).filter(|&r| state.is_member(r, user));
            let r = r.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{room}")))?;
            let (ts, me) = (state.next_ts(now_ms()), state.users[user].name.to_string());
            let name = state.rooms[r].name.to_string();
            state.commit(Record::Leave { ts, user: me, room: name })
        })?;
        Ok(ticket)
    }

    /// `ROOMS`
    pub fn rooms(&self, user: UserId) -> Vec<String> {
        self.state.lock().rooms_list(user)
    }

    /// Users who share at least one room of at most `limit` members with
    /// `user` (who gets their presence, and whose presence they get).
    pub fn roommates(&self, user: UserId, limit: usize) -> Vec<UserId> {
        let state = self.state.lock();
        let mut mates: Vec<UserId> = state
            .rooms_of(user)
            .filter(|&r| state.members(r).count() <= limit)
            .flat_map(|r| state.members(r))
            .filter(|&m| m != user)
            .collect();
        mates.sort_unstable();
        mates.dedup();
        mates
    }

    // ----- reading ------------------------------------------------------

    /// `HISTORY`
    pub fn history(&self, user: UserId, chat: &Chat, limit: usize) -> std::result::Result<Vec<String>, Ko> {
        let state = self.state.lock();
        match chat {
            Chat::User(name) => {
                let peer = state
                    .user_id(name)
                    .ok_or_else(|| ko(Code::UnknownUser, format!("no user named {name}")))?;
                Ok(state.direct_history(user, peer, limit, self.durable_batch()))
            }
            Chat::Room(name) => {
                let room = state.room_id(name).filter(|&r| state.is_member(r, user));
                let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
                Ok(state.room_history(room, limit, self.durable_batch()))
            }
        }
    }

    /// `CHATS`
    pub fn chats(&self, user: UserId) -> Vec<String> {
        self.state.lock().chats(user, self.durable_batch())
    }

    // ----- the receive port ---------------------------------------------

    /// A user's receive connection is up: registers `outlet` with the
    /// router and returns the inbox events it must be sent first, and the
    /// outlet it replaced, if any.
    ///
    /// No event may be lost or sent twice between the replay and live
    /// delivery. The committer marks a batch durable, *then* delivers it
    /// through the router; here the durable mark is read and the outlet
    /// registered under the router's lock. So either the replay includes
    /// the batch (and the outlet skips it when delivered, by sequence
    /// number), or the outlet is registered before the batch is delivered.
    pub fn attach(&self, user: UserId, outlet: &Arc<Outlet>) -> (Vec<Arc<str>>, Option<Arc<Outlet>>) {
        let state = self.state.lock();
        let mut frames = Vec::new();
        let replaced = self.router.insert_with(user, outlet.clone(), || {
            let (replay, last) = state.replay(user, self.durable_batch());
            outlet.start_replay(last);
            frames = replay;
        });
        (frames, replaced)
    }
}

/// A room's members: each one's id and name as registered.
pub type Members = Vec<(UserId, Arc<str>)>;

/// A message to send: recipient, id, text.
pub type Outgoing = (Chat, String, Text);

/// Applies one `MSG` to the locked state; the `<id>:<ts>` of its `OK`.
fn send_one(
    state: &mut State,
    from: UserId,
    to: &Chat,
    id: &str,
    text: &Text,
) -> std::result::Result<String, Ko> {
    if let Some((msg, _)) = state.find_sent(from, id) {
        return Ok(format!("{}:{}", msg.id, msg.ts)); // a resend
    }
    let sender = state.users[from].name.clone();
    let (to_name, recipients) = match to {
        Chat::User(name) => {
            let to =
                state.user_id(name).ok_or_else(|| ko(Code::UnknownUser, format!("no user named {name}")))?;
            (state.users[to].name.clone(), Vec::new())
        }
        Chat::Room(name) => {
            let room = state.room_id(name).filter(|&r| state.is_member(r, from));
            let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
            let mut members: Vec<UserId> = state.members(room).filter(|&m| m != from).collect();
            members.sort_unstable();
            let names = members.iter().map(|&m| state.users[m].name.clone()).collect();
            (state.rooms[room].name.clone(), names)
        }
    };
    let ts = state.next_ts(now_ms());
    let msg = Message { from: sender, to: to_name, id: id.into(), ts, text: text.clone() };
    state.commit(Record::Message { msg: Arc::new(msg), recipients })?;
    Ok(format!("{id}:{ts}"))
}
