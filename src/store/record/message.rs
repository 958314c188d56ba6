//! The words every record kind is made of: a position in the log
//! ([`Pos`]), a message ([`StoredMessage`]) and its place in its conversation
//! ([`Link`]). A leaf: the state and the readers of the log use these
//! without knowing any record kind.

use std::sync::Arc;

use crate::protocol::Text;

/// A position in the log (see the module documentation).
pub type Pos = u64;
/// "No position": the end of a chain.
pub const NO_POS: Pos = u64::MAX;

/// The header line of every log segment: the columns' names, the last
/// one a record's body (a message's text, a file's description, a
/// password's hash, …). Since data format 4 (`store::format`): a build
/// older than the format marker requires [`OLDER_LOG_HEADER`] to the
/// byte, so it refuses this directory, its start and its `users check
/// --repair` alike, before it changes anything.
pub const LOG_HEADER: &str = "kind,ts,user,chat,id,prev,ord,dord,body";

/// The header of the segments of formats 2 and 3, which this build reads
/// and replaces with [`LOG_HEADER`] when it opens the log (`store::log`).
/// As long as it, so that no record moves.
pub const OLDER_LOG_HEADER: &str = "kind,ts,user,chat,id,prev,ord,dord,text";

const _: () = assert!(LOG_HEADER.len() == OLDER_LOG_HEADER.len());

/// A message as the server keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredMessage {
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

impl StoredMessage {
    pub fn is_room(&self) -> bool {
        self.to.starts_with('#')
    }
}

/// Where a message sits in its conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Position of the conversation's previous message ([`NO_POS`]: none).
    pub prev: Pos,
    /// Number of the message in its conversation, from 0.
    pub ord: u64,
    /// Number of the message among those its sender sent in this direct
    /// conversation, from 0 (DELIVERED and READ marks count these); for a
    /// room message, equal to `ord`.
    pub dord: u64,
}
