//! [`Record`]: one durable fact, and its line in the log.
//!
//! Everything the server remembers is a list of records; the in-memory
//! state is what you get by applying them in order (at startup, the tail of
//! the log after the newest checkpoint; while running, as they happen). One
//! code path for both, so a restart rebuilds exactly what was there.
//!
//! ## The log's lines
//!
//! One record per line, CSV, under the header [`LOG_HEADER`]
//! `kind,ts,user,chat,id,prev,ord,dord,body`:
//!
//! | kind | user | chat | id | prev | ord | dord | body |
//! |---|---|---|---|---|---|---|---|
//! | `MSG` | sender | recipient or `#room` | message id | position of the conversation's previous message | its number in the conversation | its number among the sender's messages of this direct conversation | the text, escaped as on the wire |
//! | `DELIVERED` | recipient | sender | id | | | the message's `dord` | |
//! | `DELIVERED` (1.2, a room) | member | `#room` | id | | | the message's `ord` | |
//! | `READ` | reader | sender or `#room` | id | | the message's `ord` (a room) | the message's `dord` (a direct chat) | |
//! | `JOIN` | member | `#room` | | | the member's read mark | | |
//! | `LEAVE` | member | `#room` | | | | | |
//! | `ACK` | user | | | | the sequence number acknowledged | | |
//! | `SEEN` | user (its receive connection ended at `ts`) | | | | | | |
//! | `INBOX` | user | | | | the sequence number its inbox goes on after | | |
//! | `RULE` (1.2) | who acted (or the owner, or the server admin) | `#room` (empty for `ADMIN`) | `TOPIC`, `MODE`, `KICKED`, `BANNED`, `MUTED`, `OPPED`, … or `OWNER`, `ADMIN` | the user it is about, or `+announce` … | until when (Unix ms, 0: until lifted); `ADMIN`: 1 granted, 0 removed | | the topic |
//! | `DEVICES` (1.2) | user | | | | 1: it has several devices, 0: one | | |
//! | `PASSWD` (1.2) | user | | | | | | the new argon2id hash |
//! | `DELACCOUNT` (1.2) | user (its account deleted at `ts`) | | | | | | |
//! | `REUSE` (1.2) | user (a deleted account's name registered again at `ts`) | | | | | | the new account's argon2id hash |
//! | `BLOCK` (1.2) | user | the user it blocked or unblocked | | | 1: blocked, 0: unblocked | | |
//! | `PREF` (1.2) | user | the chat (`bob`, `#lab3`) | `all`, `mentions` or `none` | | 1: pinned, 0: not | | |
//! | `SET` (1.2) | user | the key (`bob`, `#lab3`) | the setting (`archive`) | | 1: set, 0: removed | | the value |
//! | `FAILED` (1.3) | the author | the address it wrote to (`bob@lab2`, `#lab@lab2`) | the message id (none: a `JOIN` refused) | | | | why it was not delivered |
//! | `POST` (1.3) | the author | a room homed elsewhere (`#lab@lab2`) | the message id | | 0 | 0 | the text |
//! | `BACKFILL` (1.3) | a peer's account (`@lab1`) | a room homed here | | | | | the positions of the messages it gets again |
//! | `FILE` (1.2) | its own columns: the file's id, then the change (`UPLOAD`, `DONE`, `CARRY`, …) and its fields (`files.rs`) | | | | | | |
//!
//! ## One file per kind
//!
//! What a record means is written once, in its kind's file (or its small
//! family's), and everything else asks it:
//!
//! | file | kinds | its checkpoint rows |
//! |---|---|---|
//! | `msg.rs` | `MSG` | (the checkpoint's core: `DIRECT`, `ROOM`, `QUEUED`, `SENT`) |
//! | `marks.rs` | `DELIVERED`, `READ`, `ACK`, `SEEN`, `INBOX` | (the core: `USER`, `DIRECT`) |
//! | `receipts.rs` | (a room's `DELIVERED` and `READ`, 1.2) | `RECEIPT`, `PENDING` |
//! | `rooms.rs` | `JOIN`, `LEAVE`, `RULE` | `RULES`, `RULE`, `ADMIN` |
//! | `accounts.rs` | `DEVICES`, `PASSWD`, `DELACCOUNT`, `REUSE` | `SEVERAL`, `HASH`, `SINCE`, `BASE` |
//! | `prefs.rs` | `BLOCK`, `PREF` of older servers, read as `SET` | the same, read only |
//! | `settings.rs` | `SET` | `SET` |
//! | `failed.rs` | `FAILED` (1.3) | `BOUNCED` |
//! | `across.rs` | `POST`, `BACKFILL` (1.3) | `POSTED` |
//! | `files.rs` | `FILE` (1.2) | `FILE`, `CARRIER` |
//!
//! Each file holds its kinds' line (`encode_…` and `decode`), their
//! effect on the [`State`] (`State::apply_…`, the one code path for a
//! running server and a start), the rows they leave in a checkpoint (a
//! `CheckpointRows`). The pure rules that decide a change are asked
//! from outside these files (`store::meaning` for the marks, the room
//! limit and deleted accounts; `store::prefs` and `store::moderation`
//! for blocks and rules).
//!
//! **A new kind** is that file, plus, here, a variant of [`Record`] and
//! one arm in each of [`Record::encode`], [`Record::decode`] and
//! `Record::apply` (the matches over [`Record`] have no `_`: the
//! compiler asks for them), and its rows in `CHECKPOINT_ROWS`. `golden.rs` and
//! `checkpoint/golden.rs` hold one line and one row of every kind as
//! they are on disk: give them yours, they keep old data directories
//! loading. The request that writes it is the store's
//! (`local/requests.rs`); a cluster's followers apply the record with
//! the same code.
//!
//! A *position* is a byte offset in the log as if its segments were one
//! file without their header lines (see `log.rs`). `prev` makes every
//! conversation a chain on disk, newest first: `HISTORY` walks it with
//! positioned reads, and memory holds only the newest position of each
//! conversation. Numbers count from 0; an empty `prev` ends a chain.
//!
//! Texts stay escaped (as on the wire), so a record is always one line and
//! a crash can only tear the last line of the last segment.

use std::sync::Arc;

pub use fields::{CsvLine, Fields, Rows, push_field};
pub use message::{LOG_HEADER, Link, NO_POS, OLDER_LOG_HEADER, Pos, StoredMessage};
pub use msg::MsgRef;

use super::moderation::Rule;
use super::state::{Delivery, RoomId, State, UserId};

mod accounts;
mod across;
mod failed;
mod fields;
mod files;
mod invites;
pub mod marks;
pub mod message;
mod msg;
mod prefs;
mod receipts;
mod rooms;
mod settings;

/// One durable fact, with names (not in-memory ids), so that it reads on
/// its own wherever it is kept: a data directory's log, or the shared
/// log a cluster's leader writes into PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A message was accepted.
    Msg { msg: Arc<StoredMessage>, link: Link },
    /// `user`'s client acknowledged the message `id` (number `dord`) from `chat`.
    Delivered { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str>, dord: u64 },
    /// `user` read `chat` (a sender or `#room`) up to the message `id`,
    /// whose number is `ord` (a room's `ord`, a direct chat's `dord`).
    Read { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str>, ord: u64 },
    /// `user` is a member of `room`, and has read its first `read` messages.
    Join { ts: u64, user: Arc<str>, room: Arc<str>, read: u64 },
    /// `user` left `room`.
    Leave { ts: u64, user: Arc<str>, room: Arc<str> },
    /// `user` acknowledged every event up to `seq`. 1.2: `device`, when
    /// named, is the device whose `ACK` this was, and where it now is in
    /// the inbox (`store::devices`): its position is this record's.
    Ack { ts: u64, user: Arc<str>, seq: u64, device: Option<(Arc<str>, u64)> },
    /// `user`'s receive connection ended at `ts` (last seen).
    Seen { ts: u64, user: Arc<str> },
    /// `user`'s inbox goes on after `seq`, nothing waiting: written only
    /// where an inbox kept by another store is converted (`migrate::first_design`).
    Inbox { ts: u64, user: Arc<str>, seq: u64 },
    /// 1.2: a rule of `room` changed, by `by` (see `store::moderation`).
    Rule { ts: u64, by: Arc<str>, room: Arc<str>, rule: Rule },
    /// 1.2: `user` has several devices (or, `false`, one again): its
    /// inbox gets copies of its own messages and read marks.
    Devices { ts: u64, user: Arc<str>, several: bool },
    /// 1.2: `user` has a new password, whose argon2id hash this is.
    Passwd { ts: u64, user: Arc<str>, hash: Arc<str> },
    /// 1.2: `user` deleted its account.
    DelAccount { ts: u64, user: Arc<str> },
    /// 1.2: the name of `user`, a deleted account, was registered again
    /// (its quarantine over): a new account, with the password `hash` is of.
    Reuse { ts: u64, user: Arc<str>, hash: Arc<str> },
    /// 1.2: `user`'s `key` of the setting `name` is now `value` (or,
    /// `None`, gone): `store::settings`. (The `BLOCK` and `PREF` lines
    /// older servers wrote read as such records: `record/prefs.rs`.)
    Set { ts: u64, user: Arc<str>, name: String, key: String, value: Option<String> },
    /// 1.3 (§27): `author`'s message `id` to `address`, a user of another
    /// server, was not delivered, for `reason` (`record/failed.rs`).
    Failed { ts: u64, author: Arc<str>, address: Arc<str>, id: Arc<str>, reason: Arc<str> },
    /// 1.3 (§27): a message to a room homed on another server, waiting
    /// for that home (`record/across.rs`).
    Post { msg: Arc<StoredMessage> },
    /// 1.3 (§27): the messages at `positions` of `room` (homed here) are
    /// queued again for the peer whose account is `peer` (`record/across.rs`).
    Backfill { ts: u64, peer: Arc<str>, room: Arc<str>, positions: Vec<Pos> },
    /// Invite `code`, valid until `expires_ms`, was made, used or revoked
    /// (`store::invites`, `record/invites.rs`).
    Invite { ts: u64, code: String, mark: crate::store::invites::Mark, expires_ms: u64 },
    /// 1.2 (§21): the description of the file `id` changed (`record/files.rs`).
    File { ts: u64, id: String, change: crate::store::files::FileChange },
}

impl Record {
    /// Who this record's bytes count against (`--user-quota`), if anyone:
    /// the sender of a message (a moderation's notice is its moderator's),
    /// the author of a room's rule change. The other records are small and
    /// follow what someone did or must do anyway (a `JOIN`, an `ACK`). Used
    /// where records are counted (`State::count_usage`) and where retention
    /// gives them back (`budget::tally`), so the two always agree. 1.3: a
    /// message of this server's copy of a room homed elsewhere is its
    /// home's to pay, the account of that peer (`@lab2`), whatever server
    /// its author is of: what the home sent here counts against the home.
    pub fn payer(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Record::Msg { msg, .. } => match super::state::remote::address(&msg.to) {
                Some((room, home)) if room.starts_with('#') => {
                    Some(Cow::Owned(super::state::remote::peer_account(home)))
                }
                _ => Some(Cow::Borrowed(&msg.from)),
            },
            Record::Post { msg } => Some(Cow::Borrowed(&msg.from)),
            Record::Rule { by, rule: Rule::Change(_) | Rule::Owner, .. } => Some(Cow::Borrowed(by)),
            _ => None,
        }
    }

    /// True for records that must be on disk before anyone is told about
    /// them (an `OK`, a delivery). `ACK` and `SEEN` are not: losing the
    /// last few in a power cut only makes a client get a few events again
    /// (which it drops by `(from, id)`) or a last-seen time a moment older.
    pub fn needs_sync(&self) -> bool {
        !matches!(
            self,
            Record::Ack { .. } | Record::Seen { .. } | Record::Devices { .. } | Record::Inbox { .. }
        )
    }

    pub fn ts(&self) -> u64 {
        match self {
            Record::Msg { msg, .. } | Record::Post { msg } => msg.ts,
            Record::Delivered { ts, .. }
            | Record::Read { ts, .. }
            | Record::Join { ts, .. }
            | Record::Leave { ts, .. }
            | Record::Ack { ts, .. }
            | Record::Seen { ts, .. }
            | Record::Inbox { ts, .. }
            | Record::Rule { ts, .. }
            | Record::Devices { ts, .. }
            | Record::Passwd { ts, .. }
            | Record::DelAccount { ts, .. }
            | Record::Reuse { ts, .. }
            | Record::Set { ts, .. }
            | Record::Failed { ts, .. }
            | Record::Backfill { ts, .. }
            | Record::Invite { ts, .. }
            | Record::File { ts, .. } => *ts,
        }
    }

    /// Appends the record's line, `\n` included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut line = CsvLine(out);
        let l = &mut line;
        match self {
            Record::Msg { msg, link } => msg::encode(l, msg, link),
            Record::Delivered { ts, user, chat, id, dord } => {
                marks::encode_delivered(l, *ts, [user, chat, id], *dord)
            }
            Record::Read { ts, user, chat, id, ord } => marks::encode_read(l, *ts, [user, chat, id], *ord),
            Record::Ack { ts, user, seq, device } => marks::encode_ack(l, *ts, user, *seq, device.as_ref()),
            Record::Seen { ts, user } => marks::encode_seen(l, *ts, user),
            Record::Inbox { ts, user, seq } => marks::encode_inbox(l, *ts, user, *seq),
            Record::Join { ts, user, room, read } => rooms::encode_join(l, *ts, user, room, *read),
            Record::Leave { ts, user, room } => rooms::encode_leave(l, *ts, user, room),
            Record::Rule { ts, by, room, rule } => rooms::encode_rule(l, *ts, by, room, rule),
            Record::Devices { ts, user, several } => accounts::encode_devices(l, *ts, user, *several),
            Record::Passwd { ts, user, hash } => accounts::encode_hash(l, "PASSWD", *ts, user, hash),
            Record::DelAccount { ts, user } => accounts::encode_delaccount(l, *ts, user),
            Record::Reuse { ts, user, hash } => accounts::encode_hash(l, "REUSE", *ts, user, hash),
            Record::Set { ts, user, name, key, value } => {
                settings::encode(l, *ts, user, name, key, value.as_deref())
            }
            Record::Failed { ts, author, address, id, reason } => {
                failed::encode(l, *ts, [author, address, id, reason])
            }
            Record::Post { msg } => across::encode_post(l, msg),
            Record::Backfill { ts, peer, room, positions } => {
                across::encode_backfill(l, *ts, peer, room, positions)
            }
            Record::Invite { ts, code, mark, expires_ms } => {
                invites::encode(l, *ts, code, *mark, *expires_ms)
            }
            Record::File { ts, id, change } => files::encode(l, *ts, id, change),
        }
        line.0.push(b'\n');
    }

    /// Reads a record from its line (without the `\n`).
    pub fn decode(line: &str) -> Result<Record, String> {
        let f = Fields::split(line)?;
        let word = f.get(0)?;
        match word.as_ref() {
            "MSG" => return msg::decode(&f),
            "POST" => return msg::message(&f).map(|(msg, _)| Record::Post { msg }),
            _ => {}
        }
        let ts = f.number(1)?;
        match word.as_ref() {
            kind @ ("DELIVERED" | "READ" | "ACK" | "SEEN" | "INBOX") => marks::decode(kind, &f, ts),
            kind @ ("JOIN" | "LEAVE" | "RULE") => rooms::decode(kind, &f, ts),
            kind @ ("DEVICES" | "PASSWD" | "DELACCOUNT" | "REUSE") => accounts::decode(kind, &f, ts),
            kind @ ("BLOCK" | "PREF") => prefs::decode(kind, &f, ts),
            "SET" => settings::decode(&f, ts),
            "FAILED" => failed::decode(&f, ts),
            "BACKFILL" => across::decode_backfill(&f, ts),
            "INVITE" => invites::decode(&f, ts),
            "FILE" => files::decode(&f, ts),
            other => Err(unknown_kind(other)),
        }
    }

    /// The kind a line names when it is a record of a kind this wachat
    /// does not know, and sound but for that: its fields split, its kind a
    /// word of capitals, its time a number. Only a newer wachat writes such
    /// a line; it is not damage, and a repair leaves it (`store::damage`).
    pub fn newer_kind(line: &str) -> Option<String> {
        let f = Fields::split(line).ok()?;
        let word = f.get(0).ok()?;
        let a_word = (1..=24).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_uppercase());
        let dated = f.number(1).is_ok();
        (a_word && dated && Record::decode(line) == Err(unknown_kind(word))).then(|| word.to_string())
    }

    /// Applies the record, found at `pos` in the log, to `state`; events
    /// for live users go to `push`. Fails only on records that contradict
    /// the state (a corrupt file at startup; a bug while running).
    /// `State::commit` and `State::load` call it: one path for both.
    pub(in crate::store) fn apply(
        &self,
        state: &mut State,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        // Every record's time: a state read back from the log (a start, a
        // cluster's follower) stamps its next records after all of them.
        state.last_ts = state.last_ts.max(self.ts());
        match self {
            Record::Msg { msg, link } => state.apply_msg(msg, link, pos, push),
            Record::Delivered { ts, user, chat, id, dord } => {
                state.apply_delivered((user, chat, id), *dord, *ts, pos, push)
            }
            Record::Read { ts, user, chat, id, ord } => {
                state.apply_read(user, (chat, id, *ts), *ord, pos, push)
            }
            Record::Ack { user, seq, device, .. } => state.apply_ack(user, *seq, device.as_ref()),
            Record::Seen { ts, user } => state.apply_seen(user, *ts),
            Record::Inbox { user, seq, .. } => state.apply_inbox(user, *seq),
            Record::Join { user, room, read, .. } => state.apply_join(user, room, *read, pos),
            Record::Leave { user, room, .. } => state.apply_leave(user, room, pos),
            Record::Rule { ts, by, room, rule } => state.apply_rule(*ts, by, room, rule),
            Record::Devices { user, several, .. } => state.apply_devices(user, *several),
            Record::Passwd { user, hash, .. } => state.apply_passwd(user, hash),
            Record::DelAccount { ts, user } => state.apply_delaccount(user, *ts),
            Record::Reuse { user, hash, .. } => state.apply_reuse(user, hash, pos),
            Record::Set { user, name, key, value, .. } => state.apply_set(user, name, key, value.as_deref()),
            Record::Failed { ts, author, address, id, reason } => {
                state.apply_failed((author, address, id), (*ts, reason), pos, push)
            }
            Record::Post { msg } => state.apply_post(msg, pos, push),
            Record::Backfill { peer, positions, .. } => state.apply_backfill(peer, positions),
            Record::Invite { code, mark, expires_ms, .. } => {
                state.invites.mark(code, *expires_ms, *mark);
                Ok(())
            }
            Record::File { id, change, .. } => state.apply_file(id, change),
        }
    }
}

/// What a family of records adds to a checkpoint, besides the messages,
/// conversations and inboxes that `checkpoint/mod.rs` writes itself. The
/// `user`, `room` and `end` rows are written while the state is locked
/// (`checkpoint::snapshot`): they are a few per user at most, and most
/// users have none.
pub(in crate::store) struct CheckpointRows {
    /// The first words of its rows.
    pub kinds: &'static [&'static str],
    /// Its rows about a user, after the user's `QUEUED` rows.
    pub user: fn(&State, UserId, &mut Rows),
    /// Its rows about a room, after the room's `MEMBER` rows.
    pub room: fn(&State, RoomId, &mut Rows),
    /// Its rows after every room's.
    pub end: fn(&State, &mut Rows),
    /// Reads one of its rows back into the state.
    pub load: fn(&mut State, &Fields) -> Result<(), String>,
}

/// The families with checkpoint rows, in the order their rows are written.
pub(in crate::store) const CHECKPOINT_ROWS: [&CheckpointRows; 9] = [
    &accounts::ROWS,
    &prefs::ROWS,
    &settings::ROWS,
    &rooms::ROWS,
    &receipts::ROWS,
    &across::ROWS,
    &failed::ROWS,
    &invites::ROWS,
    &files::ROWS,
];

/// Why [`Record::decode`] refuses a line of a kind it does not know.
fn unknown_kind(kind: &str) -> String {
    format!("unknown kind {kind:?}")
}

#[cfg(test)]
mod golden;
