//! `MSG`: a message was accepted. Its line, the borrowed reading of that
//! line that `HISTORY` and the inbox replay use ([`MsgRef`]), and what it
//! does to the state: the conversation's chain grows by one, the sender's
//! resend window remembers it, and the recipient (or every other member
//! of the room) gets an event in its inbox.
//!
//! `MSG,<ts>,<sender>,<recipient or #room>,<id>,<prev>,<ord>,<dord>,<text>`
//! (see the table in `record/mod.rs`). What a message leaves in a
//! checkpoint (the conversations' `DIRECT` and `ROOM`/`MEMBER` rows, the
//! inboxes' `QUEUED` rows and the windows' `SENT` rows) is the core of the
//! checkpoint, written by `checkpoint/mod.rs` itself: those rows are most
//! of the file, formatted outside the state's lock.

use std::borrow::Cow;
use std::sync::Arc;

use super::Record;
use super::fields::{CsvLine, Fields};
use super::message::{Link, Pos, StoredMessage};
use crate::protocol::Text;
use crate::store::meaning;
use crate::store::meaning::effects::{self, Gets};
use crate::store::state::remote::{REMOTE, address, is_copy};
use crate::store::state::{
    Delivery, Inbox, OWN_UNREAD_WINDOW, Pushed, Queued, State, UserId, pair, recent, side,
};

/// Writes a `MSG` line (without its `\n`).
pub(super) fn encode(line: &mut CsvLine, msg: &StoredMessage, link: &Link) {
    encode_as(line, "MSG", msg, link);
}

/// Writes a message's line under `word` (`MSG`, or 1.3's `POST`).
pub(super) fn encode_as(line: &mut CsvLine, word: &str, msg: &StoredMessage, link: &Link) {
    line.word(word);
    line.number(msg.ts);
    line.fields(&[&msg.from, &msg.to, &msg.id]);
    line.pos(link.prev);
    line.number(link.ord);
    line.number(link.dord);
    line.field(msg.text.as_escaped());
}

/// Reads a `MSG` line's fields into a record.
pub(super) fn decode(f: &Fields) -> Result<Record, String> {
    let (msg, link) = message(f)?;
    Ok(Record::Msg { msg, link })
}

/// Reads the fields of a message's line (`MSG`, or 1.3's `POST`).
pub(super) fn message(f: &Fields) -> Result<(Arc<StoredMessage>, Link), String> {
    let m = MsgRef::from_fields(f)?;
    let text = Text::parse(&m.text)?;
    let msg = StoredMessage { from: m.from.into(), to: m.to.into(), id: m.id.into(), ts: m.ts, text };
    Ok((Arc::new(msg), Link { prev: m.prev, ord: m.ord, dord: m.dord }))
}

/// A `MSG` record borrowed from its line: what reading a conversation
/// needs (`HISTORY`, the inbox replay, the search of `READ`), without
/// copying its fields. `decode` (above) reads a `MSG` through it too:
/// one decoder, one place that knows the field numbers.
pub struct MsgRef<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub id: &'a str,
    pub ts: u64,
    pub prev: Pos,
    pub ord: u64,
    pub dord: u64,
    /// Escaped as on the wire (it was stored so); quotes undone.
    pub text: Cow<'a, str>,
    /// 1.3: a `POST` line (a message waiting for its room's home, in its
    /// author's resend window only), not a `MSG`.
    pub posted: bool,
}

impl<'a> MsgRef<'a> {
    /// Reads a `MSG` line (without the `\n`), or a `POST` line (1.3),
    /// which a sender's window holds too: readers of a window compare the
    /// recipient, and chains and inboxes never point at a `POST`.
    pub fn decode(line: &'a str) -> Result<MsgRef<'a>, String> {
        let f = Fields::split(line)?;
        let posted = match f.get(0)?.as_ref() {
            "MSG" => false,
            "POST" => true,
            other => return Err(format!("expected a message, found {other:?}")),
        };
        Ok(MsgRef { posted, ..MsgRef::from_fields(&f)? })
    }

    fn from_fields(f: &Fields<'a>) -> Result<MsgRef<'a>, String> {
        let field = |i| -> Result<&'a str, String> {
            match f.get(i)? {
                Cow::Borrowed(s) => Ok(*s),
                // Names and ids never need quotes.
                Cow::Owned(_) => Err(format!("field {} is quoted", i + 1)),
            }
        };
        Ok(MsgRef {
            from: field(2)?,
            to: field(3)?,
            id: field(4)?,
            ts: f.number(1)?,
            prev: f.pos(5)?,
            ord: f.number(6)?,
            dord: f.number(7)?,
            text: f.get(8)?.clone(),
            posted: false,
        })
    }

    /// The message as event number `seq` of an inbox.
    pub fn event(&self, seq: u64) -> crate::protocol::EventRef<'_> {
        let (from, to, id, ts, text) = (self.from, self.to, self.id, self.ts, &*self.text);
        crate::protocol::EventRef::Msg { seq, from, to, id, ts, text }
    }
}

impl State {
    /// Applies a `MSG` at `pos`: a direct message or a room's.
    pub(super) fn apply_msg(
        &mut self,
        msg: &Arc<StoredMessage>,
        link: &Link,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        self.last_ts = self.last_ts.max(msg.ts);
        self.order += 1;
        if msg.is_room() {
            self.apply_room_msg(msg, link, pos, push)
        } else {
            self.apply_direct(msg, link, pos, push)
        }
    }

    fn apply_direct(
        &mut self,
        msg: &Arc<StoredMessage>,
        link: &Link,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        // 1.3: a message from or to another server's user names it by
        // its address, an account made the first time (`state::remote`).
        let (from, to) = (self.user_or_remote(&msg.from)?, self.user_or_remote(&msg.to)?);
        let expected = self.direct_link(from, to);
        if *link != expected {
            return Err(format!(
                "message {:?} from {}: its place {link:?} should be {expected:?}",
                msg.id, msg.from
            ));
        }
        let order = self.order;
        let conv = self.directs.entry(pair(from, to)).or_default();
        conv.head = pos;
        conv.count += 1;
        conv.sent[side(from, to)] += 1;
        conv.last_order = order;
        self.users[from].peers.insert(to);
        self.users[to].peers.insert(from);
        self.remember(from, msg, pos);
        // A remote recipient's event waits in its server's queue.
        let inbox = self.inbox_of(to);
        let to = effects::Recipient { id: to, deleted: self.users[to].is_deleted() };
        let (several, users) = (self.users[from].several, &mut self.users);
        let mut push = push;
        effects::message(from, several, effects::To::user(to), |user, gets| match gets {
            Gets::Msg => {
                let queued = Queued::Direct { pos, from, dord: link.dord, id: msg.id.clone() };
                let event = push.is_some().then(|| Arc::new(Pushed::Msg(msg.clone())));
                let at = if user == to.id { inbox } else { user };
                users[at].inbox.enqueue(at, queued, event, push.as_deref_mut());
            }
            Gets::Copy => copy(&mut users[user].inbox, user, msg, pos, push.as_deref_mut()),
        });
        Ok(())
    }

    fn apply_room_msg(
        &mut self,
        msg: &Arc<StoredMessage>,
        link: &Link,
        pos: Pos,
        mut push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        // 1.3: at a room's home, a member of another server writes under
        // its address; in this server's copy of a room homed elsewhere,
        // the home relays every member's messages (`state::remote`).
        let from = self.user_or_remote(&msg.from)?;
        let room = self.need_room(&msg.to)?;
        let expected = self.room_link(room);
        if *link != expected {
            return Err(format!(
                "message {:?} in {}: its place {link:?} should be {expected:?}",
                msg.id, msg.to
            ));
        }
        let order = self.order;
        let is_copy = is_copy(&self.room(room).name);
        let r = self.room_mut(room);
        match r.members.get_mut(&from) {
            // The sender's own message is not unread for it: if it had
            // read everything, its mark moves past it
            // (`meaning::sent_in_room`); else it is remembered.
            Some(sender) => {
                if let Some(mark) = meaning::sent_in_room(sender.read, link.ord) {
                    sender.mark_read(mark);
                } else {
                    sender.own.push_back(link.ord);
                    if sender.own.len() > OWN_UNREAD_WINDOW {
                        let oldest = sender.own.front().copied().unwrap_or(0);
                        sender.mark_read(oldest + 1);
                    }
                }
            }
            None if is_copy => {} // a copy's members are this server's users only
            None => return Err(format!("{} is not in {}", msg.from, msg.to)),
        }
        r.head = pos;
        r.count += 1;
        r.last_order = order;
        self.remember(from, msg, pos);
        self.note_room_message(room, link.ord, from, &msg.id);
        // 1.3: the home's copy of a post of ours: it waits no more.
        if is_copy && self.users[from].hash != REMOTE {
            self.users[from].posts.done(&msg.to, &msg.id);
        }
        // The members are borrowed from the room while their inboxes
        // fill: no list of them is made per message.
        let State { users, rooms, .. } = self;
        let members = rooms[room].as_ref().expect("found above").members.keys().copied();
        let several = users[from].several;
        let event = push.is_some().then(|| Arc::new(Pushed::Msg(msg.clone())));
        // 1.3: the servers of the room's members of other servers, each
        // once, the author's own among them (its copy is the echo).
        let mut servers: Vec<Arc<str>> = Vec::new();
        let mut member_server = |name: &str| {
            if let Some((_, server)) = address(name)
                && !servers.iter().any(|s| s.eq_ignore_ascii_case(server))
            {
                servers.push(server.into());
            }
        };
        member_server(&users[from].name);
        effects::message(from, several, effects::To::Room(members), |user, gets| match gets {
            _ if users[user].hash == REMOTE => member_server(&users[user].name),
            Gets::Msg => {
                users[user].inbox.enqueue_room(user, (link.prev, pos), event.clone(), push.as_deref_mut())
            }
            Gets::Copy => copy(&mut users[user].inbox, user, msg, pos, push.as_deref_mut()),
        });
        if !is_copy {
            for server in servers {
                self.fan_out(&server, pos, event.clone(), push.as_deref_mut())?;
            }
        }
        Ok(())
    }

    /// Adds the message at `pos` to its sender's window. (A resend never
    /// gets here: `send` found it in the window first.)
    pub(super) fn remember(&mut self, from: UserId, msg: &StoredMessage, pos: Pos) {
        Arc::make_mut(&mut self.users[from].recent).push(recent::tag(&msg.id), pos);
    }
}

/// 1.2: the copy of the message at `pos` that its sender's other devices
/// get ([`Gets::Copy`]).
fn copy(
    inbox: &mut Inbox,
    from: UserId,
    msg: &Arc<StoredMessage>,
    pos: Pos,
    push: Option<&mut Vec<Delivery>>,
) {
    let event = push.is_some().then(|| Arc::new(Pushed::Copy(msg.clone())));
    inbox.enqueue(from, Queued::Copy { pos }, event, push);
}
