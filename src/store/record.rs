//! [`Record`]: one durable fact. Everything the server remembers is a list of
//! records; the in-memory state is what you get by applying them in order
//! (at startup, from the files; while running, as they happen). One code
//! path for both, so a restart rebuilds exactly what was there.

use std::sync::Arc;

use crate::protocol::Text;

/// A message as the server keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender, spelled as registered.
    pub from: Arc<str>,
    /// The recipient as it appears on the wire: a user name or `#room`.
    pub to: Arc<str>,
    /// The id chosen by the sender (unique per sender).
    pub id: Arc<str>,
    /// Server time of acceptance, Unix milliseconds.
    pub ts: u64,
    /// The text, still escaped.
    pub text: Text,
}

impl Message {
    pub fn is_room(&self) -> bool {
        self.to.starts_with('#')
    }
}

/// One durable fact, with names (not in-memory ids), so that a backend can
/// store it anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An account was created (`users.csv`).
    User { name: String, email: String, hash: String, created_ms: u64 },
    /// `user` joined `room` when it held `pos` messages (`rooms.csv`).
    Join { ts: u64, user: String, room: String, pos: usize },
    /// `user` left `room` (`rooms.csv`).
    Leave { ts: u64, user: String, room: String },
    /// A message was accepted (`history.csv`). `recipients` lists the room
    /// members whose inboxes got it; empty for a direct message.
    Message { msg: Arc<Message>, recipients: Vec<Arc<str>> },
    /// `user`'s client acknowledged the message `id` from `chat` (`history.csv`).
    /// (`Arc<str>`: these are made for every acknowledged message, from
    /// names the state already holds; sharing them costs no allocation.)
    Delivered { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str> },
    /// `user` read `chat` (a sender or `#room`) up to the message `id`.
    Read { ts: u64, user: Arc<str>, chat: Arc<str>, id: Arc<str> },
    /// `user` acknowledged every event up to `seq` (`inbox.csv`).
    Ack { user: Arc<str>, seq: u64 },
    /// `user`'s receive connection ended at `ts`: last seen (`seen.csv`,
    /// protocol 1.1's `LASTSEEN`).
    Seen { user: Arc<str>, ts: u64 },
}
