//! Message actions in the consoles (protocol 1.2): `/reply N text`,
//! `/edit N text`, `/delete N`, `/react N 👍` and `/search words`, where
//! `N` is a message's number on screen.
//!
//! Why numbers: a message is named on the wire by its sender and id,
//! which a person never sees; the console prints `[N]` before every
//! message it shows (a `/chat` listing, one that arrives, a search
//! result), and [`Screen`] remembers which message each number was.

use std::collections::VecDeque;

use parking_lot::Mutex;

use super::command::Command;
use super::session::{Output, Session};
use super::view;
use crate::client::Message;
use crate::error::{Error, Result};
use crate::i18n::actions::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::action::REACTIONS;

/// A message action typed in a console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageAction {
    Reply(usize, String),
    Edit(usize, String),
    Delete(usize),
    React(usize, String),
    Search(String),
}

/// How many numbered messages are remembered: more than a screen shows.
const REMEMBERED: usize = 1000;

/// The messages shown with a number, the newest [`REMEMBERED`] of them.
#[derive(Default)]
pub struct Screen {
    /// The number of the first message kept, and the messages.
    shown: Mutex<(usize, VecDeque<Message>)>,
}

impl Screen {
    /// Gives `m` the next number (1, 2, …) and returns it.
    pub fn number(&self, m: &Message) -> usize {
        let mut shown = self.shown.lock();
        let (first, messages) = &mut *shown;
        if *first == 0 {
            *first = 1;
        }
        messages.push_back(m.clone());
        if messages.len() > REMEMBERED {
            messages.pop_front();
            *first += 1;
        }
        *first + messages.len() - 1
    }

    /// The message shown with number `n`.
    pub fn get(&self, n: usize) -> Option<Message> {
        let shown = self.shown.lock();
        let (first, messages) = &*shown;
        messages.get(n.checked_sub(*first)?).cloned()
    }
}

/// The message's line with its number after its time: `14:02 [3] ana: hi`.
pub fn numbered(screen: &Screen, line: &str, m: &Message) -> String {
    let n = screen.number(m);
    let timed = line.len() > 6 && line.as_bytes()[2] == b':' && line.as_bytes()[5] == b' ';
    match timed {
        true => format!("{}[{n}] {}", &line[..6], &line[6..]),
        false => format!("[{n}] {line}"),
    }
}

/// Parses `/reply`, `/edit`, `/delete`, `/react`, `/search` (`word` without
/// its `/`); `None` for any other command.
pub fn parse(lang: Lang, word: &str, args: &str) -> Option<std::result::Result<Command, String>> {
    let usage = |msg: Msg| {
        let synopsis = match msg {
            Msg::UsageReact => tr!(in lang; msg, emoji = REACTIONS.join(" ")),
            other => other.text(lang).to_string(),
        };
        tr!(in lang; crate::i18n::console::Msg::Usage, usage = synopsis)
    };
    let (first, rest) = match args.trim_start().split_once(' ') {
        Some((n, rest)) => (n, rest.trim_start()),
        None => (args.trim(), ""),
    };
    let number = first.parse::<usize>().ok().filter(|&n| n > 0);
    let action = match (word, number) {
        ("reply", Some(n)) if !rest.trim().is_empty() => MessageAction::Reply(n, rest.to_string()),
        ("reply", _) => return Some(Err(usage(Msg::UsageReply))),
        ("edit", Some(n)) if !rest.trim().is_empty() => MessageAction::Edit(n, rest.to_string()),
        ("edit", _) => return Some(Err(usage(Msg::UsageEdit))),
        ("delete", Some(n)) if rest.is_empty() => MessageAction::Delete(n),
        ("delete", _) => return Some(Err(usage(Msg::UsageDelete))),
        ("react", Some(n)) if REACTIONS.contains(&rest.trim()) => MessageAction::React(n, rest.trim().into()),
        ("react", _) => return Some(Err(usage(Msg::UsageReact))),
        ("search", _) if !args.trim().is_empty() => MessageAction::Search(args.trim().to_string()),
        ("search", _) => return Some(Err(usage(Msg::UsageSearch))),
        _ => return None,
    };
    Some(Ok(Command::Action(action)))
}

impl Session<'_> {
    /// Carries out a message action.
    pub fn act_on_message(&self, action: MessageAction, out: &dyn Output) -> Result<()> {
        let (lang, me) = (self.lang, self.client.me());
        let find =
            |n: usize| self.screen.get(n).ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoSuchNumber, n = n)));
        let mine = |n: usize| {
            let m = find(n)?;
            if !m.is_from(me) {
                return Err(Error::Usage(tr!(in lang; Msg::NotYours, n = n)));
            }
            Ok(m)
        };
        match action {
            MessageAction::Reply(n, text) => {
                let m = find(n)?;
                let reply = self.client.reply(&m.chat(me), &m, &text)?;
                out.line(&numbered(&self.screen, &view::message(lang, me, &reply), &reply));
            }
            MessageAction::Edit(n, text) => {
                let m = mine(n)?;
                self.client.edit(&m.chat(me), &m.id, &text)?;
                out.line(&tr!(in lang; Msg::Edited, n = n));
            }
            MessageAction::Delete(n) => {
                let m = mine(n)?;
                self.client.delete(&m.chat(me), &m.id)?;
                out.line(&tr!(in lang; Msg::Deleted, n = n));
            }
            MessageAction::React(n, emoji) => {
                let m = find(n)?;
                let said = match self.client.react(&m.chat(me), &m, &emoji)? {
                    true => tr!(in lang; Msg::ReactionAdded, emoji = emoji, n = n),
                    false => tr!(in lang; Msg::ReactionTakenBack, emoji = emoji, n = n),
                };
                out.line(&said);
            }
            MessageAction::Search(words) => {
                let found = self.client.search(None, &words)?;
                out.line(&tr!(in lang; Msg::Found, n = found.len()));
                for m in &found {
                    out.line(&numbered(&self.screen, &view::message(lang, me, m), m));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> std::result::Result<Command, String> {
        let (word, args) = line.split_once(' ').unwrap_or((line, ""));
        parse(Lang::En, word, args).unwrap()
    }

    #[test]
    fn actions_parse_and_mistakes_say_the_usage() {
        assert_eq!(
            parsed("reply 3 yes: sure"),
            Ok(Command::Action(MessageAction::Reply(3, "yes: sure".into())))
        );
        assert_eq!(parsed("edit 1 fixed"), Ok(Command::Action(MessageAction::Edit(1, "fixed".into()))));
        assert_eq!(parsed("delete 2"), Ok(Command::Action(MessageAction::Delete(2))));
        assert_eq!(parsed("react 2 👍"), Ok(Command::Action(MessageAction::React(2, "👍".into()))));
        assert_eq!(parsed("search café au"), Ok(Command::Action(MessageAction::Search("café au".into()))));
        assert!(parsed("reply x hi").unwrap_err().starts_with("usage: /reply <n> <text>"));
        assert!(parsed("delete 0").unwrap_err().starts_with("usage: /delete"));
        assert!(parsed("react 1 🦀").unwrap_err().contains("👍"));
        assert!(parsed("search").is_err());
        assert_eq!(parse(Lang::En, "chat", "bob"), None);
    }

    #[test]
    fn numbers_name_the_messages_shown() {
        let screen = Screen::default();
        let m = |id: &str| Message {
            from: "ana".into(),
            to: crate::protocol::Chat::User("bob".into()),
            id: id.into(),
            ts: 1,
            state: crate::protocol::State::Received,
            text: crate::protocol::Text::from_plain("hi").unwrap(),
            refused: None,
            p2p: false,
        };
        assert_eq!(screen.number(&m("a")), 1);
        assert_eq!(screen.number(&m("b")), 2);
        assert_eq!(screen.get(2).unwrap().id, "b");
        assert!(screen.get(3).is_none() && screen.get(0).is_none());
    }
}
