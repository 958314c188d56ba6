//! Blocks, notification levels and pins (protocol 1.2, §22), and archived
//! chats (§23): the requests both consoles make. The server keeps them, so
//! every device of the user sees the same; the receive port tells of
//! changes (`Notice::Pref`, `Notice::Blocked`, `Notice::Archived`).

use super::Client;
use crate::error::{Error, Result};
use crate::protocol::{Chat, Level, PrefLine, Request};

impl Client {
    /// `BLOCK:<user>` (`on`) or `UNBLOCK:<user>`.
    pub fn block(&self, user: &str, on: bool) -> Result<()> {
        let request = match on {
            true => Request::Block { user: user.to_string() },
            false => Request::Unblock { user: user.to_string() },
        };
        self.expect_ok_as_sent(request)
    }

    /// `BLOCKS`: the names you blocked.
    pub fn blocks(&self) -> Result<Vec<String>> {
        self.listing(Request::Blocks, "BLOCKS")
    }

    /// `NOTIFY:<chat>:<level>`.
    pub fn notify(&self, chat: &Chat, level: Level) -> Result<()> {
        let request = Request::Notify { chat: chat.clone(), level };
        self.expect_ok_as_sent(request)
    }

    /// `PIN:<chat>` (`pinned`) or `UNPIN:<chat>`.
    pub fn pin(&self, chat: &Chat, pinned: bool) -> Result<()> {
        let request = Request::Pin { chat: chat.clone(), pinned };
        self.expect_ok_as_sent(request)
    }

    /// `PREFS`: the chats whose level is not `all` or that are pinned.
    pub fn prefs(&self) -> Result<Vec<PrefLine>> {
        let lines = self.listing(Request::Prefs, "PREFS")?;
        lines.iter().map(|l| PrefLine::parse(l).map_err(|e| Error::Protocol(format!("PREFS: {e}")))).collect()
    }

    /// 1.2 (§23): `ARCHIVE:<chat>` (`archived`) or `UNARCHIVE:<chat>`
    /// (`OK` also when it was not archived).
    pub fn archive(&self, chat: &Chat, archived: bool) -> Result<()> {
        let request = Request::Archive { chat: chat.clone(), archived };
        self.expect_ok_as_sent(request)
    }

    /// 1.2 (§23): `ARCHIVED`: the chats you archived, as you named them,
    /// sorted by folded name. A line that is no chat is a protocol error.
    pub fn archived(&self) -> Result<Vec<Chat>> {
        let lines = self.listing(Request::Archived, "ARCHIVED")?;
        lines.iter().map(|l| Chat::parse(l).map_err(|e| Error::Protocol(format!("ARCHIVED: {e}")))).collect()
    }
}
