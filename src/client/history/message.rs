//! One message of the log, as the client keeps it and hands it out: who
//! wrote it to which chat, its id, its time, how far it got (its ticks),
//! and whether it went over a direct chat. `(from, id)` names it, the
//! sender's case ignored.
//!
//! A state only moves forward ([`set_state`]), and the server's
//! `RECEIVED` gives the message its time: until then the time is the
//! local clock's.

use crate::protocol::names::fold;
use crate::protocol::{Chat, MsgState, Text};

/// One message, in either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub from: String,
    /// A user (direct message) or a `#room`.
    pub to: Chat,
    /// The sender's id for it; `(from, id)` names a message.
    pub id: String,
    /// When it was written, in Unix milliseconds: the server's timestamp
    /// once the server has it (`RECEIVED`), the local clock while it is only
    /// `SENT` and for a direct-chat message (the time it left, or arrived
    /// here). Later changes of state never move it: it is the message's time.
    pub ts: u64,
    /// How far it got (for a message you received: `DELIVERED` once stored
    /// here, `READ` once shown to you; room messages stay `RECEIVED`).
    pub state: MsgState,
    pub text: Text,
    /// Why the server refused it (unknown user, not a member): it will
    /// never be delivered. `None` for every normal message.
    pub refused: Option<String>,
    /// It went over a direct connection between the two clients (shown
    /// `[p2p]`), not through the server. Such a message has no `RECEIVED`
    /// (no server stored it) and no `READ` (the peer protocol has none).
    pub p2p: bool,
}

impl Message {
    /// A message of `from`'s that the server just accepted (`OK:<id>:<ts>`,
    /// so `RECEIVED` at `ts`), as the one-shot `wachat send` and a file
    /// sent from a session record it.
    pub fn accepted(from: String, to: Chat, id: String, ts: u64, text: Text) -> Message {
        Message { from, to, id, ts, state: MsgState::Received, text, refused: None, p2p: false }
    }

    /// The conversation this message belongs to, as seen by `me`: the room,
    /// or the other user of a direct message.
    pub fn chat(&self, me: &str) -> Chat {
        match &self.to {
            Chat::User(to) if fold(&self.from) == fold(me) => Chat::User(to.clone()),
            Chat::User(_) => Chat::User(self.from.clone()),
            room => room.clone(),
        }
    }

    /// True if `me` wrote it.
    pub fn is_from(&self, me: &str) -> bool {
        fold(&self.from) == fold(me)
    }
}

/// A message reached `state` at `ts` (already checked to be a step forward
/// when it is new; a stored row is applied as it is, the furthest wins).
pub(super) fn set_state(m: &mut Message, state: MsgState, ts: u64) {
    // The server's timestamp is the message's own time from `RECEIVED` on.
    if state == MsgState::Received && m.state < MsgState::Received {
        m.ts = ts;
    }
    m.state = m.state.max(state);
}
