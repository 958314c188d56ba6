//! The accounts' records of 1.2: `DEVICES`, `PASSWD`, `DELACCOUNT` and
//! `REUSE`. Their lines, what they do to the state, and the rows they
//! leave in a checkpoint.
//!
//! ```text
//! DEVICES,<ts>,<user>,,,,<1 several|0 one>
//! PASSWD,<ts>,<user>,,,,,,<argon2id hash>
//! DELACCOUNT,<ts>,<user>
//! REUSE,<ts>,<user>,,,,,,<the new account's argon2id hash>
//! ```
//!
//! `DEVICES` turns on (and off) what a user with several devices gets in
//! its inbox besides the events of version 1: a copy of each message it
//! sends, and a read mark for each `READ` it makes (protocol 1.2, §16).
//! It is a record, so that a restart gives the very same sequence numbers;
//! a user with one device (every user of an older data directory) never
//! has one, and its inbox is exactly version 1's.
//!
//! `PASSWD` is a new password (`PASSWD`, §20, or `wachat users passwd`):
//! a record, not an edit of `users.csv`, because `users.csv` is appended
//! to by every `REGISTER` while the server runs; a record goes through
//! the same group commit (synced before the `OK`), a checkpoint carries
//! the hash on (`HASH` rows), and the newest record wins at a start. Its
//! hash is no secret beyond `users.csv`'s: both files are the server's
//! only (0600).
//!
//! `DELACCOUNT` is a user deleting its own account (§20): applied, it
//! replaces the hash by a mark that no password matches and that says when
//! (`state::deleted_hash`), empties the inbox and takes the user out of
//! every room. The name stays in the log's other records (the messages it
//! sent stay with their recipients), so the account's row stays too, and
//! its name taken until its quarantine is over (`REUSE`, below). A
//! checkpoint carries the mark on as it carries a changed hash (a `HASH`
//! row).
//!
//! `REUSE` is a `REGISTER` of a deleted account's name once its quarantine
//! is over (`--name-quarantine-days`, §20): the name gets a new account
//! that sees nothing from before the record's position (its *cut*, see
//! `state::User::since`), with the record's hash. Its `users.csv` row is
//! appended with the record's batch, after the old one: the newest row of
//! a name is its e-mail and creation time.

use std::sync::Arc;

use super::fields::{CsvLine, Fields, Rows};
use super::message::Pos;
use super::{CheckpointRows, Record};
use crate::store::state::{DELETED, RoomId, State, UserId, deleted_hash, pair, side};

pub(super) fn encode_devices(line: &mut CsvLine, ts: u64, user: &str, several: bool) {
    line.word("DEVICES");
    line.number(ts);
    line.fields(&[user, "", "", ""]);
    line.number(u64::from(several));
}

/// Writes a `PASSWD` or a `REUSE` line (`word`): a user and a hash.
pub(super) fn encode_hash(line: &mut CsvLine, word: &str, ts: u64, user: &str, hash: &str) {
    line.word(word);
    line.number(ts);
    line.fields(&[user, "", "", "", "", ""]);
    line.field(hash);
}

pub(super) fn encode_delaccount(line: &mut CsvLine, ts: u64, user: &str) {
    line.word("DELACCOUNT");
    line.number(ts);
    line.field(user);
}

/// Reads the line of one of this file's kinds (`word`), whose time is `ts`.
pub(super) fn decode(word: &str, f: &Fields, ts: u64) -> Result<Record, String> {
    let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    Ok(match word {
        "DEVICES" => Record::Devices { ts, user: name(2)?, several: f.number(6)? == 1 },
        "PASSWD" => Record::Passwd { ts, user: name(2)?, hash: name(8)? },
        "REUSE" => Record::Reuse { ts, user: name(2)?, hash: name(8)? },
        _ => Record::DelAccount { ts, user: name(2)? },
    })
}

impl State {
    /// `DEVICES`: `user` has several devices (or one again).
    pub(super) fn apply_devices(&mut self, user: &str, several: bool) -> Result<(), String> {
        let user = self.need_user(user)?;
        self.users[user].several = several;
        Ok(())
    }

    /// `PASSWD`: `user`'s password is now the one `hash` is of.
    pub(super) fn apply_passwd(&mut self, user: &str, hash: &str) -> Result<(), String> {
        let user = self.need_user(user)?;
        self.users[user].hash = hash.to_string();
        self.users[user].hash_logged = true;
        Ok(())
    }

    /// `DELACCOUNT` (§20): the user's private data goes. Its hash
    /// becomes [`DELETED`] (no login ever works again), its inbox is
    /// emptied (and stays empty: `meaning::effects` names no event for a
    /// deleted user),
    /// it leaves every room, with its read marks there. What others hold
    /// stays: the direct conversations' messages and marks belong to both
    /// sides, and the recipient keeps them.
    pub(super) fn apply_delaccount(&mut self, user: &str, ts: u64) -> Result<(), String> {
        let user = self.need_user(user)?;
        let rooms: Vec<RoomId> = self.users[user].rooms.iter().copied().collect();
        for room in rooms {
            self.leave(user, room);
        }
        self.server_admins.remove(&user);
        let u = &mut self.users[user];
        u.hash = deleted_hash(ts);
        u.hash_logged = true;
        u.several = false;
        u.inbox.acked = u.inbox.last_seq;
        u.inbox.queue = Arc::default();
        // 1.2 (§22, §23): its settings (blocks, preferences, archived
        // chats, stars) are private too.
        u.settings = Default::default();
        Ok(())
    }

    /// `REUSE` at `pos`: the account becomes a new one with `hash`, cut at
    /// `pos` (see `state::User::since`). What the old one left in the
    /// state goes with the cut: its resend window (the new account's first
    /// `m1` is a new message), its last-seen time, the bytes counted
    /// against its quota, what rooms' rules said of its name (an
    /// ownership, a rank, a ban …); each peer's messages before the cut
    /// are not unread (`bases`); and what other users kept about the old
    /// account goes (`store::settings::about`: a block of it, a pin …).
    pub(super) fn apply_reuse(&mut self, user: &str, hash: &str, pos: Pos) -> Result<(), String> {
        let user = self.need_user(user)?;
        if !self.users[user].is_deleted() {
            return Err(format!("{:?} registered again, but it was not deleted", self.users[user].name));
        }
        let bases = self.users[user]
            .peers
            .iter()
            .map(|&peer| (peer, self.directs[&pair(user, peer)].sent[side(peer, user)]))
            .collect();
        self.set_usage(user, 0);
        let name = self.users[user].name.clone();
        for room in self.rooms.iter_mut().flatten() {
            room.rules.forget(&name);
        }
        let folded = crate::protocol::names::fold(&name);
        for other in &mut self.users {
            other.settings.forget_about(&folded);
        }
        let u = &mut self.users[user];
        u.hash = hash.to_string();
        u.hash_logged = true;
        u.since = pos;
        u.bases = bases;
        u.recent = Arc::default();
        u.last_seen = None;
        Ok(())
    }
}

/// In a checkpoint, after a user's `QUEUED` rows:
///
/// ```text
/// SEVERAL,<user>                  it has several devices (`DEVICES`)
/// HASH,<user>,<argon2id hash>     a hash from a `PASSWD` (or `REUSE`, or the mark of a `DELACCOUNT`)
/// SINCE,<user>,<position>         the cut of a name registered again (`REUSE`)
/// BASE,<user>,<peer>,<messages>   with a cut: messages the peer sent before it
/// ```
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["SEVERAL", "HASH", "SINCE", "BASE"],
    user: user_rows,
    room: |_, _, _| {},
    end: |_, _| {},
    load: load_row,
};

fn user_rows(state: &State, user: UserId, out: &mut Rows) {
    let u = &state.users[user];
    if u.several {
        out.row(&["SEVERAL", &u.name]);
    }
    if u.hash_logged {
        out.row(&["HASH", &u.name, &u.hash]);
    }
    if u.since > 0 {
        out.row(&["SINCE", &u.name, &u.since.to_string()]);
    }
    for (&peer, before) in &u.bases {
        out.row(&["BASE", &u.name, &state.users[peer].name, &before.to_string()]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let user = |state: &State, i| {
        state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)))
    };
    let u = user(state, 1)?;
    match f.get(0)?.as_ref() {
        "SEVERAL" => state.users[u].several = true,
        "HASH" => {
            // A deletion written before its time was kept (a plain
            // `!deleted`): its name's quarantine counts from the checkpoint
            // (the newest time it covers), not from 1970.
            state.users[u].hash = match f.get(2)?.as_ref() {
                DELETED => deleted_hash(state.last_ts),
                hash => hash.to_string(),
            };
            state.users[u].hash_logged = true;
        }
        "SINCE" => state.users[u].since = f.number(2)?,
        _ => {
            let peer = user(state, 2)?;
            state.users[u].bases.insert(peer, f.number(3)?);
        }
    }
    Ok(())
}
