//! A conversation read back from the server a page at a time (protocol
//! 1.2, `HISTORY:<chat>:<limit>:<start>`, docs/PROTOCOL.md §4): the
//! console's `/history N` past what one `HISTORY` lists, the full-screen
//! console's scrolling up ([`Client::earlier`]), `wachat history
//! --before`.
//!
//! Each page says where the one before it starts (its cursor), so the
//! pages meet exactly: no message twice, none left out, in the server's
//! order, whatever arrives meanwhile. A server older than 1.2 refuses a
//! page (`KO:BAD_REQUEST`); its newest [`MAX_HISTORY`] messages are then
//! all there is, as one `HISTORY` gives them.
//!
//! Pages are metered as any `HISTORY` (`--rate`: one token and one per
//! 100 messages); a page refused for the rate is asked again after the
//! wait, so reading a long chat is slowed down by a strict server, never
//! cut short.

use std::collections::HashSet;
use std::time::Duration;

use super::history::key;
use super::requests::{parse_history_line, unexpected};
use super::{Client, Message};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::page::Start;
use crate::protocol::{Chat, Code, MAX_HISTORY, Reply, Request};

/// Messages asked for at once when a screen or a command reads back past
/// what it has: the most one `HISTORY` gives.
const PAGE_MOST: usize = MAX_HISTORY;

/// Longest wait for the rate before a page is asked again.
const RATE_WAIT_MOST: Duration = Duration::from_secs(5);

/// One page of a conversation from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPage {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Where the page before this one starts; `None` at the conversation's start.
    pub before: Option<u64>,
}

/// Where the server's page before a screen's oldest message starts: the
/// cursor of the page that brought that message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The message's `(from, id)`, folded as the local log keys it.
    pub oldest: (String, String),
    pub cursor: u64,
}

/// Older messages of a chat, for a screen scrolled up past what it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Oldest first, all older than the message asked about.
    pub messages: Vec<Message>,
    /// From the server's `HISTORY` (the local log had no more).
    pub from_server: bool,
    /// Scrolling further up may bring more (false at the start of the
    /// conversation, or at the most a server before 1.2 lists).
    pub more: bool,
    /// No more because a server before 1.2 lists at most [`MAX_HISTORY`]
    /// messages of a chat: older ones exist, on the server only.
    pub at_limit: bool,
    /// The local log had no more and the server could not be asked.
    pub offline: bool,
    /// Where the next page up starts on the server, once one came from it.
    pub resume: Option<Resume>,
}

/// One page of `chat` from `start` back, asked with `ask` (a client's
/// connection, or a one-shot command's): at most `n` messages (and
/// [`MAX_HISTORY`]), oldest first, and where the page before starts.
pub fn one_page(
    ask: &mut dyn FnMut(Request) -> Result<Reply>,
    chat: &Chat,
    start: Start,
    n: usize,
) -> Result<ServerPage> {
    let what = tr!(Msg::ReqHistory, chat = chat);
    let request = Request::History { chat: chat.clone(), limit: n.min(PAGE_MOST), page: Some(start) };
    let mut wait = super::FIRST_BACKOFF;
    loop {
        match ask(request.clone())? {
            Reply::Page { lines, before } => {
                let messages = lines.iter().map(|l| parse_history_line(l)).collect::<Result<_>>()?;
                return Ok(ServerPage { messages, before });
            }
            // Too fast for the server's --rate: the same page, later.
            Reply::Ko(ko) if ko.code == Code::RateLimited => {
                std::thread::sleep(wait);
                wait = super::longer(wait).min(RATE_WAIT_MOST);
            }
            Reply::Ko(ko) => return Err(Error::Refused { request: what, ko }),
            other => return Err(unexpected(&what, &other)),
        }
    }
}

/// Up to `n` messages of `chat` from `start` back, a page after another,
/// oldest first, and where the page before them starts.
pub fn read_back(
    ask: &mut dyn FnMut(Request) -> Result<Reply>,
    chat: &Chat,
    mut start: Start,
    n: usize,
) -> Result<ServerPage> {
    let mut pages: Vec<Vec<Message>> = Vec::new();
    let mut got = 0;
    loop {
        let page = one_page(ask, chat, start, n - got)?;
        got += page.messages.len();
        pages.push(page.messages);
        match page.before {
            Some(cursor) if got < n => start = Start::At(cursor),
            before => {
                return Ok(ServerPage { messages: pages.into_iter().rev().flatten().collect(), before });
            }
        }
    }
}

impl Client {
    /// The page of `chat` from `start` back ([`one_page`]).
    pub fn history_page(&self, chat: &Chat, start: Start, n: usize) -> Result<ServerPage> {
        one_page(&mut |request| self.request(request), chat, start, n)
    }

    /// The last `n` messages of a conversation, from the server, oldest
    /// first: one `HISTORY` up to [`MAX_HISTORY`] (what every server
    /// answers), pages back from the newest past it (1.2).
    pub fn history(&self, chat: &Chat, n: usize) -> Result<Vec<Message>> {
        let what = tr!(Msg::ReqHistory, chat = chat);
        let newest = |n| -> Result<Vec<Message>> {
            let lines = self.listing(Request::History { chat: chat.clone(), limit: n, page: None }, &what)?;
            lines.iter().map(|line| parse_history_line(line)).collect()
        };
        if n <= MAX_HISTORY {
            return newest(n);
        }
        match read_back(&mut |request| self.request(request), chat, Start::Newest, n) {
            Ok(page) => Ok(page.messages),
            // A server before 1.2: its newest are all it lists.
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => newest(MAX_HISTORY),
            Err(e) => Err(e),
        }
    }

    /// Up to `n` messages of `chat` older than those a screen shows
    /// (`shown`, oldest first, none of which comes back): first from the
    /// local log (no round trip), then, once the log has no more, from the
    /// server, a page back from where `resume` (the last page's) says, or,
    /// without it, from the newest back to the oldest shown.
    pub fn earlier(&self, chat: &Chat, shown: &[Message], n: usize, resume: Option<&Resume>) -> Result<Page> {
        let on_screen: HashSet<(String, String)> = shown.iter().map(|m| key(&m.from, &m.id)).collect();
        let fresh = |m: &Message| !on_screen.contains(&key(&m.from, &m.id));
        let local = match shown.first() {
            Some(oldest) => {
                let at = (oldest.from.as_str(), oldest.id.as_str(), oldest.ts);
                self.shared.log.lock().before(self.me(), chat, at, n)
            }
            None => self.local_history(chat, n),
        };
        let local: Vec<Message> = local.into_iter().filter(fresh).collect();
        let local_page = |offline| Page {
            messages: local.clone(),
            from_server: false,
            more: true,
            at_limit: false,
            offline,
            resume: resume.cloned(),
        };
        if local.len() == n {
            return Ok(local_page(false));
        }
        let oldest = shown.first().map(|m| key(&m.from, &m.id));
        let from_cursor = resume.filter(|r| Some(&r.oldest) == oldest.as_ref()).map(|r| r.cursor);
        let found = match from_cursor {
            Some(cursor) => self.history_page(chat, Start::At(cursor), n),
            None => self.page_before(chat, shown.first()),
        };
        let page = match found {
            Ok(page) => page,
            // A server before 1.2: the newest it lists, cut at the oldest shown.
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => {
                return self.earlier_within_newest(chat, shown, n, fresh);
            }
            Err(e @ (Error::Refused { .. } | Error::Protocol(_))) => return Err(e),
            Err(_) => return Ok(local_page(true)),
        };
        let messages: Vec<Message> = page.messages.into_iter().filter(fresh).collect();
        let resume = match (page.before, messages.first()) {
            (Some(cursor), Some(first)) => Some(Resume { oldest: key(&first.from, &first.id), cursor }),
            _ => None,
        };
        Ok(Page {
            messages,
            from_server: true,
            more: resume.is_some(),
            at_limit: false,
            offline: false,
            resume,
        })
    }

    /// The server's messages older than `oldest` (all of them if `None`),
    /// as far back as the page that holds it reaches: pages from the
    /// newest back until one holds `oldest`, or one older than it.
    fn page_before(&self, chat: &Chat, oldest: Option<&Message>) -> Result<ServerPage> {
        let mut start = Start::Newest;
        loop {
            let page = self.history_page(chat, start, PAGE_MOST)?;
            let Some(oldest) = oldest else { return Ok(page) };
            let at = page.messages.iter().position(|m| key(&m.from, &m.id) == key(&oldest.from, &oldest.id));
            // Not on the server (sent over a direct chat): by time.
            let at = at.or_else(|| {
                let older = page.messages.partition_point(|m| m.ts < oldest.ts);
                (older < page.messages.len() || page.before.is_none()).then_some(older)
            });
            match (at, page.before) {
                (Some(at), before) => {
                    let mut messages = page.messages;
                    messages.truncate(at);
                    return Ok(ServerPage { messages, before });
                }
                (None, Some(cursor)) => start = Start::At(cursor),
                (None, None) => return Ok(ServerPage { messages: Vec::new(), before: None }),
            }
        }
    }

    /// [`Client::earlier`] from a server before 1.2: the newest `shown + n`
    /// it lists (at most [`MAX_HISTORY`]), and what comes before the
    /// oldest shown among them.
    fn earlier_within_newest(
        &self,
        chat: &Chat,
        shown: &[Message],
        n: usize,
        fresh: impl Fn(&Message) -> bool,
    ) -> Result<Page> {
        let limit = (shown.len() + n).min(MAX_HISTORY);
        let conversation = self.conversation(chat, limit)?;
        let key = |m: &Message| key(&m.from, &m.id);
        let all = conversation.messages;
        let cut = match shown.first() {
            Some(oldest) => all
                .iter()
                .position(|m| key(m) == key(oldest))
                .unwrap_or_else(|| all.partition_point(|m| m.ts < oldest.ts)),
            None => all.len(),
        };
        let older: Vec<Message> = all[..cut].iter().filter(|m| fresh(m)).cloned().collect();
        let messages = older[older.len().saturating_sub(n)..].to_vec();
        let full = all.len() == limit;
        let more = (full && limit < MAX_HISTORY) || older.len() > n;
        let offline = conversation.offline;
        Ok(Page { messages, from_server: !offline, more, at_limit: full && !more, offline, resume: None })
    }
}
