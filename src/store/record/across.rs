//! 1.3 (§27, "Rooms"): the records of rooms across servers.
//!
//! - `POST`: a user of this server wrote to a room whose home is another
//!   server (`#lab@lab2`). The message is not in the room yet: it waits
//!   in the home's queue, and enters this server's copy of the room when
//!   the home's ordered copy comes back: until then its author remembers
//!   it as waiting for that copy (`state::posts`, the checkpoint's
//!   `POSTED` rows, below). Its line is a `MSG` line under another word,
//!   so the author's resend window finds it as it finds a message (a
//!   resend is answered with its first `OK`).
//! - `BACKFILL`: a peer that is a member server of rooms homed here gets
//!   their last messages again (its first user joined one, or it fell
//!   behind: its queue was full, and the rooms' messages were not queued
//!   for it). The record
//!   names the messages by their positions, which the writer read from
//!   the rooms' chains; applying it queues them for the peer.
//!
//! ```text
//! POST,<ts>,<author>,<#room@home>,<id>,,0,0,<text>
//! BACKFILL,<ts>,@<peer>,<#room>,,,,,<position> <position> …
//! ```

use std::sync::Arc;

use super::fields::{CsvLine, Fields, Rows};
use super::message::{Link, NO_POS, Pos, StoredMessage};
use super::{CheckpointRows, Record};
use crate::store::state::recent::tag;
use crate::store::state::remote::{BEHIND, LINK, address};
use crate::store::state::{Delivery, Pushed, Queued, State, UserId};

/// Writes a `POST` line (without its `\n`).
pub(super) fn encode_post(line: &mut CsvLine, msg: &StoredMessage) {
    super::msg::encode_as(line, "POST", msg, &Link { prev: NO_POS, ord: 0, dord: 0 });
}

pub(super) fn encode_backfill(line: &mut CsvLine, ts: u64, peer: &str, room: &str, positions: &[Pos]) {
    line.word("BACKFILL");
    line.number(ts);
    let list: Vec<String> = positions.iter().map(Pos::to_string).collect();
    line.fields(&[peer, room, "", "", "", "", &list.join(" ")]);
}

pub(super) fn decode_backfill(f: &Fields, ts: u64) -> Result<Record, String> {
    let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    let positions = f
        .get(8)?
        .split_whitespace()
        .map(|p| p.parse().map_err(|_| format!("bad position {p:?}")))
        .collect::<Result<Vec<Pos>, String>>()?;
    Ok(Record::Backfill { ts, peer: name(2)?, room: name(3)?, positions })
}

impl State {
    /// `POST`: `msg` waits for its room's home; its author remembers it,
    /// in its resend window and as waiting for the home's copy.
    pub(super) fn apply_post(
        &mut self,
        msg: &Arc<StoredMessage>,
        pos: Pos,
        push: Option<&mut Vec<Delivery>>,
    ) -> Result<(), String> {
        let author = self.need_user(&msg.from)?;
        let (_, home) =
            address(&msg.to).ok_or_else(|| format!("{} is not a room of another server", msg.to))?;
        self.remember(author, msg, pos);
        // The copy's name as the room holds it: one string for its posts.
        let room = self.room_id(&msg.to).map_or_else(|| msg.to.clone(), |r| self.room(r).name.clone());
        let text = Some(tag(msg.text.as_escaped()));
        self.users[author].posts.add(&room, &msg.id, text);
        let event = push.is_some().then(|| Arc::new(Pushed::Msg(msg.clone())));
        self.enqueue_link(home, pos, event, push)
    }

    /// `BACKFILL`: the messages at `positions` are queued for `peer` (an
    /// account `@lab1`), which is no longer behind.
    pub(super) fn apply_backfill(&mut self, peer: &str, positions: &[Pos]) -> Result<(), String> {
        let at = self.user_or_remote(peer)?;
        self.users[at].settings.set(LINK, BEHIND, None);
        for &pos in positions {
            self.users[at].inbox.enqueue(at, Queued::Link { pos }, None, None);
        }
        Ok(())
    }
}

/// In a checkpoint, after a user's `SET` rows, one per post of it still
/// waiting for its home's copy (`state::posts`), oldest first:
///
/// ```text
/// POSTED,<user>,<#room@home>,<id>,<tag of its text>
/// ```
///
/// (A row of an older checkpoint has no tag: its post's copy is then
/// taken on its id alone.)
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["POSTED"],
    user: user_rows,
    room: |_, _, _| {},
    end: |_, _| {},
    load: load_row,
};

fn user_rows(state: &State, user: UserId, out: &mut Rows) {
    let u = &state.users[user];
    for (room, id, text) in u.posts.iter() {
        match text {
            Some(text) => out.row(&["POSTED", &u.name, room, id, &format!("{text:x}")]),
            None => out.row(&["POSTED", &u.name, room, id]),
        }
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let user = state.need_user(f.get(1)?.as_ref())?;
    let (room, id): (Arc<str>, Arc<str>) = (f.get(2)?.as_ref().into(), f.get(3)?.as_ref().into());
    let text = match f.len() > 4 {
        true => Some(u64::from_str_radix(f.get(4)?.as_ref(), 16).map_err(|_| "a bad text tag".to_string())?),
        false => None,
    };
    state.users[user].posts.add(&room, &id, text);
    Ok(())
}
