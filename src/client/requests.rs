//! The requests a [`Client`] makes of the server: each is a [`Job`] for the
//! sender thread, which owns the send connection, and the caller waits for
//! its reply on a channel of its own. Messages are not here: they go
//! through the outbox (`Client::send`).

use super::sender::Job;
use super::{Client, Message, now_ms};
use crate::error::{Error, Result};
use crate::i18n::client::{self as words, Msg};
use crate::i18n::tr;
use crate::protocol::{Chat, Reply, Request, Text, split_fields};

impl Client {
    /// Tells the server you have read `message` and everything before it in
    /// its conversation: the sender of a direct message sees `✓✓ read`.
    pub fn read(&self, message: &Message) -> Result<()> {
        let chat = message.chat(self.me());
        self.expect_ok(
            Request::Read { chat, id: message.id.clone() },
            Msg::ReqRead.text(crate::i18n::current()),
        )?;
        let mut log = self.shared.log.lock();
        log.read_up_to(&self.shared.me, &message.from, &message.id, now_ms())?;
        log.sync()
    }

    /// The users online now, sorted.
    pub fn users(&self) -> Result<Vec<String>> {
        self.listing(Request::Users, &tr!(Msg::ReqUsers))
    }

    /// Your conversations, most recent first, each with its unread count.
    pub fn chats(&self) -> Result<Vec<(String, u64)>> {
        self.listing(Request::Chats, &tr!(Msg::ReqChats))?.iter().map(|line| counted(line)).collect()
    }

    /// The rooms you are in, each with its member count.
    pub fn rooms(&self) -> Result<Vec<(String, u64)>> {
        self.listing(Request::Rooms, &tr!(Msg::ReqRooms))?.iter().map(|line| counted(line)).collect()
    }

    /// Joins a room (created if new); `room` starts with `#`.
    pub fn join(&self, room: &str) -> Result<()> {
        let room = words::parse_room(crate::i18n::current(), room).map_err(Error::Usage)?;
        self.expect_ok(Request::Join { room: room.clone() }, &tr!(Msg::ReqJoin, room = format!("#{room}")))
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) -> Result<()> {
        let room = words::parse_room(crate::i18n::current(), room).map_err(Error::Usage)?;
        self.expect_ok(Request::Leave { room: room.clone() }, &tr!(Msg::ReqLeave, room = format!("#{room}")))
    }

    /// The last `n` messages of a conversation, from the server.
    pub fn history(&self, chat: &Chat, n: usize) -> Result<Vec<Message>> {
        let what = tr!(Msg::ReqHistory, chat = chat);
        let lines = self.listing(Request::History { chat: chat.clone(), limit: n }, &what)?;
        lines.iter().map(|line| parse_history_line(line)).collect()
    }

    /// The last `n` messages of a conversation from the local log (works
    /// offline; holds only what this device sent or received).
    pub fn local_history(&self, chat: &Chat, n: usize) -> Vec<Message> {
        self.shared.log.lock().conversation(self.me(), chat, n)
    }

    /// The message `(from, id)` from the local log.
    pub fn local_message(&self, from: &str, id: &str) -> Option<Message> {
        self.shared.log.lock().get(from, id)
    }

    /// Sends any request and returns its reply, `KO` included. An error
    /// means there was no reply (offline, connection lost).
    pub fn request(&self, request: Request) -> Result<Reply> {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.job(Job::Request { request, reply: reply_tx });
        // The sender thread answers every job it takes; a closed channel
        // means it has stopped.
        reply_rx.recv().unwrap_or(Err(Error::Offline))
    }

    /// Sends several requests at once (pipelined) and returns their replies
    /// in order, `KO`s included: one round trip for a list of questions
    /// (the chat list asks one `HISTORY` per chat). Only for requests that
    /// are safe to repeat; an error means there were no replies.
    pub fn requests(&self, requests: Vec<Request>) -> Result<Vec<Reply>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.job(Job::Requests { requests, reply: reply_tx });
        reply_rx.recv().unwrap_or(Err(Error::Offline))
    }

    pub(super) fn expect_ok(&self, request: Request, what: &str) -> Result<()> {
        match self.request(request)? {
            Reply::Ok => Ok(()),
            Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
            other => Err(unexpected(what, &other)),
        }
    }

    pub(super) fn listing(&self, request: Request, what: &str) -> Result<Vec<String>> {
        match self.request(request)? {
            Reply::Listing(lines) => Ok(lines),
            Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
            other => Err(unexpected(what, &other)),
        }
    }
}

/// A reply that does not fit the request `what` (a bug on one side).
pub(super) fn unexpected(what: &str, reply: &Reply) -> Error {
    let reply = format!("{:?}", reply.to_string().trim_end());
    Error::Protocol(format!("{what}: {}", tr!(Msg::UnexpectedReply, reply = reply)))
}

/// `name:<number>` lines of `CHATS` and `ROOMS`.
fn counted(line: &str) -> Result<(String, u64)> {
    let bad = || Error::Protocol(format!("expected <name>:<number>, got {line:?}"));
    let (name, n) = line.rsplit_once(':').ok_or_else(bad)?;
    Ok((name.to_string(), n.parse().map_err(|_| bad())?))
}

/// One `HISTORY` line: `<from>:<to>:<id>:<ts>:<state>:<text>`.
pub fn parse_history_line(line: &str) -> Result<Message> {
    let bad = |why: String| Error::Protocol(format!("history line {line:?}: {why}"));
    let f = split_fields(line, 6).ok_or_else(|| bad("expected 6 fields".into()))?;
    Ok(Message {
        from: f[0].to_string(),
        to: Chat::parse(f[1]).map_err(bad)?,
        id: f[2].to_string(),
        ts: f[3].parse().map_err(|_| bad("bad timestamp".into()))?,
        state: f[4].parse().map_err(bad)?,
        text: Text::parse(f[5]).map_err(bad)?,
        refused: None,
        p2p: false,
    })
}
