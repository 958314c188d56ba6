//! 1.3 (§27): `FAILED`, a message to another server's user that the
//! network could not deliver — the peer refused it, or stayed unreachable
//! past the give-up age. Its author is told with an event of its inbox
//! (`protocol::link::Bounce`: a `STATUS …:FAILED` for a 1.3 client, a
//! readable message for every other).
//!
//! ```text
//! FAILED,<ts>,<author>,<address>,<id>,,,,<reason>
//! FAILED,<ts>,<author>,<#room@home>,,,,,<reason>      a JOIN of that room refused
//! ```
//!
//! A bounced direct message is also remembered by its author for
//! `HISTORY` (`state::bounces`); a checkpoint keeps those as rows after
//! the user's others, oldest first:
//!
//! ```text
//! BOUNCED,<user>,<address>,<id>,<ts>,<reason>
//! ```

use std::sync::Arc;

use super::fields::{CsvLine, Fields, Rows};
use super::message::Pos;
use super::{CheckpointRows, Record};
use crate::store::state::bounces::Bounced;
use crate::store::state::{Delivery, Pushed, Queued, State, UserId};

pub(super) fn encode(line: &mut CsvLine, ts: u64, [author, address, id, reason]: [&str; 4]) {
    line.word("FAILED");
    line.number(ts);
    line.fields(&[author, address, id, "", "", "", reason]);
}

pub(super) fn decode(f: &Fields, ts: u64) -> Result<Record, String> {
    let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    Ok(Record::Failed { ts, author: name(2)?, address: name(3)?, id: name(4)?, reason: name(8)? })
}

impl State {
    /// `FAILED`: `author` is told that its message `id` to `address` was
    /// not delivered (a post to a room homed elsewhere waits no more for
    /// the home's copy: the home never got it); without an id, that its
    /// `JOIN` of `address`, a room homed elsewhere, was refused: it is no
    /// longer in this server's copy of the room (and its home is told
    /// nothing: it has nothing).
    pub(super) fn apply_failed(
        &mut self,
        (author, address, id): (&str, &Arc<str>, &Arc<str>),
        (ts, reason): (u64, &Arc<str>),
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let author = self.need_user(author)?;
        if !id.is_empty() && address.starts_with('#') {
            self.users[author].posts.done(address, id);
        }
        if !id.is_empty() && !address.starts_with('#') {
            let bounced = Bounced { peer: address.clone(), id: id.clone(), ts, reason: reason.clone() };
            self.users[author].bounces.add(bounced);
        }
        if id.is_empty()
            && let Some(room) = self.member_room(address, author)
        {
            self.leave(author, room);
        }
        let event = push.is_some().then(|| {
            let name = self.users[author].name.clone();
            Arc::new(Pushed::Failed {
                peer: address.clone(),
                author: name,
                id: id.clone(),
                ts,
                reason: reason.clone(),
            })
        });
        self.users[author].inbox.enqueue(author, Queued::Failed { pos }, event, push);
        Ok(())
    }
}

/// The checkpoint's `BOUNCED` rows (`state::bounces`).
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["BOUNCED"],
    user: user_rows,
    room: |_, _, _| {},
    end: |_, _| {},
    load: load_row,
};

fn user_rows(state: &State, user: UserId, out: &mut Rows) {
    let u = &state.users[user];
    for b in u.bounces.iter() {
        out.row(&["BOUNCED", &u.name, &b.peer, &b.id, &b.ts.to_string(), &b.reason]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let user = state.need_user(f.get(1)?.as_ref())?;
    let text = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    let ts = f.get(4)?.as_ref().parse().map_err(|_| "a bad time of a bounce".to_string())?;
    let bounced = Bounced { peer: text(2)?, id: text(3)?, ts, reason: text(5)? };
    state.users[user].bounces.add(bounced);
    Ok(())
}
