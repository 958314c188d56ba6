//! Message actions in the consoles (protocol 1.2): `/reply N text`,
//! `/edit N text`, `/delete N`, `/react N 👍` and `/search words`, where
//! `N` is a message's number on screen. `/delete N` of someone else's
//! message names its author (`DELETE:<#room>:<id>:<author>`), which the
//! server allows the room's admins: the console leaves that check to it.
//!
//! Why numbers: a message is named on the wire by its sender and id,
//! which a person never sees; the console prints `[N]` before every
//! message it shows (a `/chat` listing, one that arrives, a search
//! result), and `numbers::Numbered` remembers which message each number
//! was.

use super::numbers::Numbered;
use super::numbers::numbered;
use super::view;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::i18n::actions::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::action::{REACTIONS, is_reaction};

/// A message action typed in a console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageAction {
    Reply(usize, String),
    Edit(usize, String),
    Delete(usize),
    React(usize, String),
    Search(String),
}

/// Parses `/reply`, `/edit`, `/delete`, `/react`, `/search` (`word` without
/// its `/`); `None` for any other command.
pub fn parse(lang: Lang, word: &str, args: &str) -> Option<std::result::Result<MessageAction, String>> {
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
        ("react", Some(n)) if is_reaction(rest.trim()) => MessageAction::React(n, rest.trim().into()),
        ("react", _) => return Some(Err(usage(Msg::UsageReact))),
        ("search", _) if !args.trim().is_empty() => MessageAction::Search(args.trim().to_string()),
        ("search", _) => return Some(Err(usage(Msg::UsageSearch))),
        _ => return None,
    };
    Some(Ok(action))
}

/// Carries out a message action of `client`'s user; the lines to show.
/// `screen` holds the numbers the user named the message by.
pub fn act(lang: Lang, client: &Client, screen: &Numbered, action: MessageAction) -> Result<Vec<String>> {
    let me = client.me();
    let mut out = Vec::new();
    let find = |n: usize| screen.get(n).ok_or_else(|| Error::Usage(tr!(in lang; Msg::NoSuchNumber, n = n)));
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
            let reply = client.reply(&m.chat(me), &m, &text)?;
            out.push(numbered(screen, &view::message(lang, me, &reply), &reply));
        }
        MessageAction::Edit(n, text) => {
            let m = mine(n)?;
            client.edit(&m.chat(me), &m.id, &text)?;
            out.push(tr!(in lang; Msg::Edited, n = n));
        }
        MessageAction::Delete(n) => {
            // Someone else's too: the server lets a room's admins.
            let m = find(n)?;
            client.delete(&m.chat(me), &m)?;
            out.push(tr!(in lang; Msg::Deleted, n = n));
        }
        MessageAction::React(n, emoji) => {
            let m = find(n)?;
            let said = match crate::client::actions::is_added(&client.react(&m.chat(me), &m, &emoji)?) {
                true => tr!(in lang; Msg::ReactionAdded, emoji = emoji, n = n),
                false => tr!(in lang; Msg::ReactionTakenBack, emoji = emoji, n = n),
            };
            out.push(said);
        }
        MessageAction::Search(words) => {
            let found = client.search(None, &words)?;
            out.push(tr!(in lang; Msg::Found, n = found.len()));
            for m in &found {
                out.push(numbered(screen, &view::message(lang, me, m), m));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> std::result::Result<MessageAction, String> {
        let (word, args) = line.split_once(' ').unwrap_or((line, ""));
        parse(Lang::En, word, args).unwrap()
    }

    #[test]
    fn actions_parse_and_mistakes_say_the_usage() {
        assert_eq!(parsed("reply 3 yes: sure"), Ok(MessageAction::Reply(3, "yes: sure".into())));
        assert_eq!(parsed("edit 1 fixed"), Ok(MessageAction::Edit(1, "fixed".into())));
        assert_eq!(parsed("delete 2"), Ok(MessageAction::Delete(2)));
        assert_eq!(parsed("react 2 👍"), Ok(MessageAction::React(2, "👍".into())));
        assert_eq!(parsed("search café au"), Ok(MessageAction::Search("café au".into())));
        assert!(parsed("reply x hi").unwrap_err().starts_with("usage: /reply <n> <text>"));
        assert!(parsed("delete 0").unwrap_err().starts_with("usage: /delete"));
        assert_eq!(parsed("react 1 🦀"), Ok(MessageAction::React(1, "🦀".into())));
        assert_eq!(parsed("react 1 🏳️‍🌈"), Ok(MessageAction::React(1, "🏳️‍🌈".into())));
        assert!(parsed("react 1 🦀🦀").unwrap_err().contains("any one emoji"));
        assert!(parsed("react 1 ok").unwrap_err().contains("👍"));
        assert!(parsed("search").is_err());
        assert_eq!(parse(Lang::En, "chat", "bob"), None);
    }
}
