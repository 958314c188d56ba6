//! Starred messages (protocol 1.2, §25): the requests both consoles make.
//! The server keeps the stars, so every device of the user sees the same
//! list; the receive port tells of a change (`Notice::Starred`).

use super::{Client, Message};
use crate::error::Result;
use crate::protocol::{Chat, Request};

impl Client {
    /// `STAR:<chat>:<from>:<id>` (`starred`) or `UNSTAR:…` of `m`, a
    /// message of `chat` (`OK` also when nothing changed).
    pub fn star(&self, chat: &Chat, m: &Message, starred: bool) -> Result<()> {
        let request = Request::Star { chat: chat.clone(), from: m.from.clone(), id: m.id.clone(), starred };
        self.expect_ok_as_sent(request)
    }

    /// `STARRED`: the starred messages the server shows, newest first,
    /// each as its `HISTORY` line reads (an edit's newest text).
    pub fn starred(&self) -> Result<Vec<Message>> {
        let lines = self.listing(Request::Starred, "STARRED")?;
        lines.iter().map(|line| super::requests::parse_history_line(line)).collect()
    }
}
