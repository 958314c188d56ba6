//! Message actions from a [`Client`] (protocol 1.2): `REPLY`, `EDIT`,
//! `DELETE`, `REACT` and `SEARCH`. Each is a request answered at once (not
//! queued in the outbox: it needs the server to check it), and each action
//! accepted is logged here as the server stored it (the author's own
//! devices are not sent their actions), so that the local log folds it in
//! like the actions it receives, and a `DELETE` erases the text from it.

use super::{Client, Message};
use crate::error::{Error, Result};
use crate::protocol::action::{self, Act, ActionId};
use crate::protocol::{Accepted, Chat, MsgState, Reply, Request, Scope, Text};

impl Client {
    /// `REPLY`: answers the message `re` of `chat`; returns the reply as logged.
    pub fn reply(&self, chat: &Chat, re: &Message, text: &str) -> Result<Message> {
        let text = plain(text)?;
        let id =
            format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let request = Request::Reply { to: chat.clone(), id, re: re.id.clone(), text: text.clone() };
        let accepted = self.act(request, "REPLY")?;
        // As the server wrote it: the quote of the message, then the answer.
        let stored = action::reply_text(&re.from, &re.text, &text).unwrap_or(text);
        self.log_own(chat, accepted, stored)
    }

    /// `EDIT`: your message `id` in `chat` now reads `text`.
    pub fn edit(&self, chat: &Chat, id: &str, text: &str) -> Result<Message> {
        let text = plain(text)?;
        let accepted =
            self.act(Request::Edit { to: chat.clone(), id: id.into(), text: text.clone() }, "EDIT")?;
        let stored = action::edit_text(&text).map_err(Error::Usage)?;
        self.log_own(chat, accepted, stored)
    }

    /// `DELETE`: the message `target` in `chat`, for everyone; its text
    /// also leaves this device's log. Someone else's message is named with
    /// its author (`DELETE:<#room>:<id>:<author>`), which the server allows
    /// a room's admins.
    pub fn delete(&self, chat: &Chat, target: &Message) -> Result<Message> {
        let author = (!target.is_from(self.me())).then(|| target.from.clone());
        let accepted =
            self.act(Request::Delete { to: chat.clone(), id: target.id.clone(), author }, "DELETE")?;
        let text = match ActionId::parse(&accepted.id) {
            Some(a) if a.act == Act::Remove => action::removed_text(&target.from),
            _ => action::deleted_text(),
        };
        self.log_own(chat, accepted, text)
    }

    /// `REACT`: adds `emoji` to the message `target` of `chat`, or takes it
    /// back ([`is_added`] says which); returns the reaction as logged.
    pub fn react(&self, chat: &Chat, target: &Message, emoji: &str) -> Result<Message> {
        let request = Request::React { to: chat.clone(), id: target.id.clone(), emoji: emoji.into() };
        let accepted = self.act(request, "REACT")?;
        let added = ActionId::parse(&accepted.id).is_some_and(|a| a.act == Act::React);
        self.log_own(chat, accepted, action::react_text(emoji, added, &target.text))
    }

    /// `SEARCH`: messages holding every word, newest first (at most 50),
    /// in `chat` or, with `None`, in all your chats.
    pub fn search(&self, chat: Option<&Chat>, words: &str) -> Result<Vec<Message>> {
        let scope = chat.map_or(Scope::All, |c| Scope::Chat(c.clone()));
        let lines = self.listing(Request::Search { scope, query: words.to_string() }, "SEARCH")?;
        lines.iter().map(|line| super::requests::parse_history_line(line)).collect()
    }

    /// Sends an action and reads its `OK:<id>:<ts>`.
    fn act(&self, request: Request, what: &str) -> Result<Accepted> {
        match self.request(request)? {
            Reply::OkWith(fields) => {
                Accepted::parse(&fields).map_err(|e| Error::Protocol(format!("{what}: {e}")))
            }
            Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
            other => Err(super::requests::unexpected(what, &other)),
        }
    }

    /// Logs an accepted action of this user's as the server stored it.
    fn log_own(&self, chat: &Chat, accepted: Accepted, text: Text) -> Result<Message> {
        let m = Message {
            from: self.me().to_string(),
            to: chat.clone(),
            id: accepted.id,
            ts: accepted.ts,
            state: MsgState::Received,
            text,
            refused: None,
            p2p: false,
        };
        let mut log = self.shared.log.lock();
        log.add(m.clone())?;
        log.sync()?;
        Ok(m)
    }
}

/// True if the reaction `m` ([`Client::react`]'s) added its emoji, false
/// if it took it back.
pub fn is_added(m: &Message) -> bool {
    ActionId::parse(&m.id).is_some_and(|a| a.act == Act::React)
}

/// A text typed by the user, escaped for the wire.
fn plain(text: &str) -> Result<Text> {
    crate::i18n::client::text_from_plain(crate::i18n::current(), text).map_err(Error::Usage)
}
