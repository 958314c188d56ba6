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

use std::sync::Arc;

use super::Record;
use super::fields::{CsvLine, Fields};
use super::message::Pos;
use crate::store::state::{Delivery, Pushed, Queued, State};

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
