//! 1.2: what the full-screen console holds while the user acts on a
//! message (`select.rs` says how the keys change it): the message chosen,
//! the question asked about it, what Enter in the input does instead of
//! sending, and a search's results. Apart from the keys, so that the
//! screen's state (`app.rs`) can hold them without depending on them.

use crate::client::Message;
use crate::protocol::names::fold;

/// A message chosen in the open chat, and what is being asked about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Its sender and id: what names it on the wire.
    pub from: String,
    pub id: String,
    pub step: Choosing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choosing {
    /// Chosen: a letter acts on it.
    Chosen,
    /// `d`: waiting for y or n.
    ConfirmDelete,
    /// `+`: waiting for 1-6.
    React,
}

/// What Enter in the input does instead of sending a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compose {
    /// Answers this message (as shown: its newest text).
    Reply(Message),
    /// Replaces the text of this message of yours.
    Edit(Message),
    /// Searches every chat for the words typed.
    Search,
}

/// A search's results, shown over the chat list until Esc or Enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchResults {
    pub words: String,
    /// Newest first, as the server lists them.
    pub messages: Vec<Message>,
    /// The chosen line.
    pub chosen: usize,
}

impl Selection {
    pub(super) fn of(m: &Message) -> Selection {
        Selection { from: m.from.clone(), id: m.id.clone(), step: Choosing::Chosen }
    }

    /// True for the message `m`.
    pub fn is(&self, m: &Message) -> bool {
        m.id == self.id && fold(&m.from) == fold(&self.from)
    }
}
