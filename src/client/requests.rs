//! The requests a [`Client`] makes of the server: each is a [`Job`] for the
//! sender thread, which owns the send connection, and the caller waits for
//! its reply on a channel of its own. Messages are not here: they go
//! through the outbox (`Client::send`).

use super::sender::Job;
use super::{Client, Message, now_ms};
use crate::error::{Error, Result};
use crate::i18n::client::{self as words, Msg};
use crate::i18n::tr;
use crate::protocol::names::fold;
use crate::protocol::{Chat, ChatLine, HistoryLine, Reply, Request, RoomLine};

impl Client {
    /// You have read `message` and everything before it in its
    /// conversation: at once in the local log, and on the server (the
    /// sender of a direct message sees `✓✓ read`) by a cumulative `READ`
    /// that the sender thread says at most once per chat every
    /// [`READ_EVERY`](super::reads::READ_EVERY), for the newest message
    /// read (see [`super::reads`]). Offline, it is said once back online.
    /// Fails only on a disk error.
    pub fn read(&self, message: &Message) -> Result<()> {
        {
            let mut log = self.shared.log.lock();
            log.read_up_to(&self.shared.me, &message.from, &message.id, now_ms())?;
            log.sync()?;
        }
        self.shared.reads.lock().mark(message.chat(self.me()), &message.id);
        self.job(Job::Wake);
        Ok(())
    }

    /// The users online now, sorted.
    pub fn users(&self) -> Result<Vec<String>> {
        self.listing(Request::Users, &tr!(Msg::ReqUsers))
    }

    /// The server's rules (`INFO`, protocol 1.2), `key=value` each; a
    /// line that does not read so is skipped (a newer server's, maybe).
    pub fn info(&self) -> Result<Vec<crate::protocol::InfoLine>> {
        let lines = self.listing(Request::Info, &tr!(Msg::ReqInfo))?;
        Ok(lines.iter().filter_map(|line| crate::protocol::InfoLine::parse(line).ok()).collect())
    }

    /// Your conversations, most recent first, each with its unread count.
    pub fn chats(&self) -> Result<Vec<(String, u64)>> {
        parse_chats(&self.listing(Request::Chats, &tr!(Msg::ReqChats))?)
    }

    /// The rooms you are in, each with its member count.
    pub fn rooms(&self) -> Result<Vec<(String, u64)>> {
        let lines = self.listing(Request::Rooms, &tr!(Msg::ReqRooms))?;
        let room = |line: &String| RoomLine::parse(line).map(|r| (format!("#{}", r.room), r.members));
        lines.iter().map(|line| room(line).map_err(|e| bad_line("ROOMS", e))).collect()
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

    /// Tells `chat` that you are typing (protocol 1.2): at most once every
    /// [`TYPING_EVERY`](super::TYPING_EVERY) per chat, without waiting for
    /// the reply (a server older than 1.2 refuses it, and nobody minds).
    /// Not to a chat of another server (1.3, `bob@lab2`): typing is told
    /// on one server only, and the server would refuse it.
    pub fn typing(&self, chat: &Chat) {
        if chat.server().is_some() {
            return;
        }
        let now = std::time::Instant::now();
        let mut typed = self.typed.lock();
        let key = fold(&chat.to_string());
        if typed.get(&key).is_some_and(|&at| now < at + super::TYPING_EVERY) {
            return;
        }
        typed.retain(|_, at| now < *at + super::TYPING_EVERY);
        typed.insert(key, now);
        drop(typed);
        // Nobody waits for the reply: the sender thread drops it.
        let (reply, _) = crossbeam_channel::bounded(1);
        self.job(Job::Request { request: Request::Typing { to: chat.clone() }, reply });
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

    /// [`Client::expect_ok`], a refusal naming the request as sent
    /// (`BLOCK:bob`, `ARCHIVE:#tea`).
    pub(super) fn expect_ok_as_sent(&self, request: Request) -> Result<()> {
        let what = request.to_string();
        self.expect_ok(request, &what)
    }

    pub(super) fn expect_ok(&self, request: Request, what: &str) -> Result<()> {
        match self.request(request)? {
            Reply::Ok => Ok(()),
            Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
            other => Err(unexpected(what, &other)),
        }
    }

    pub(super) fn listing(&self, request: Request, what: &str) -> Result<Vec<String>> {
        listing_lines(self.request(request)?, what)
    }
}

/// The lines of the reply to a listing request `what`; its refusal, or
/// a reply that does not fit it, as an error.
pub(super) fn listing_lines(reply: Reply, what: &str) -> Result<Vec<String>> {
    match reply {
        Reply::Listing(lines) => Ok(lines),
        Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
        other => Err(unexpected(what, &other)),
    }
}

/// A reply that does not fit the request `what` (a bug on one side).
pub(super) fn unexpected(what: &str, reply: &Reply) -> Error {
    let reply = format!("{:?}", reply.to_string().trim_end());
    Error::Protocol(format!("{what}: {}", tr!(Msg::UnexpectedReply, reply = reply)))
}

/// The lines of a `CHATS` listing: each chat with its unread count.
pub(super) fn parse_chats(lines: &[String]) -> Result<Vec<(String, u64)>> {
    let chat = |line: &String| ChatLine::parse(line).map(|c| (c.chat.to_string(), c.unread));
    lines.iter().map(|line| chat(line).map_err(|e| bad_line("CHATS", e))).collect()
}

/// A line of a listing that does not parse (a bug on one side).
fn bad_line(what: &str, why: String) -> Error {
    Error::Protocol(format!("{what}: {why}"))
}

/// One `HISTORY` line, as a message.
pub fn parse_history_line(line: &str) -> Result<Message> {
    let h =
        HistoryLine::parse(line).map_err(|why| Error::Protocol(format!("history line {line:?}: {why}")))?;
    let HistoryLine { from, to, id, ts, state, text } = h;
    Ok(Message { from, to, id, ts, state, text, refused: None, p2p: false })
}
