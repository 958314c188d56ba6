//! `/block`, `/unblock`, `/blocks`, `/notify`, `/pin`, `/unpin` and
//! `/prefs` (protocol 1.2, §22), and `/archive`, `/unarchive` and
//! `/archived` (§23), in both consoles, as [`super::session`] does every
//! other command.
//!
//! The server tells every device of the user of a change (`PREF`,
//! `BLOCKED`, `UNBLOCKED`, `ARCHIVE`), this one included: a change made here is
//! said once, by the command (`console::echo` drops its echo), and one
//! made on another device is said as such ([`notice`]).

use super::echo;
use std::collections::HashSet;

use crate::client::{ChatSummary, Client, Notice};
use crate::error::{Error, Result};
use crate::i18n::prefs::Msg;
use crate::i18n::{Lang, client::parse_chat, tr};
use crate::protocol::names::fold;
use crate::protocol::{Chat, Code, Level, PrefLine};

/// The words of these commands.
pub const WORDS: &[&str] =
    &["block", "unblock", "blocks", "notify", "pin", "unpin", "prefs", "archive", "unarchive", "archived"];

/// One of these commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefCommand {
    /// `/block <user>` (`true`) or `/unblock <user>`.
    Block(String, bool),
    Blocks,
    Notify(Chat, Level),
    /// `/pin <chat>` (`true`) or `/unpin <chat>`.
    Pin(Chat, bool),
    Prefs,
    /// 1.2 (§23): `/archive <chat>` (`true`) or `/unarchive <chat>`.
    Archive(Chat, bool),
    /// `/archived`: the archived chats.
    Archived,
}

/// Parses `/<word> <args>`; `Err` is the usage, in `lang`.
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<PrefCommand, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let usage = |msg: Msg| msg.text(lang).to_string();
    let user = |msg: Msg| match words[..] {
        // 1.3: a whole server of the class network, `@lab2` (§27).
        [name] if name.starts_with('@') => match crate::protocol::names::check_name(&name[1..]) {
            Ok(()) => Ok(name.to_string()),
            Err(_) => Err(usage(msg)),
        },
        [name] => match parse_chat(lang, name)? {
            Chat::User(name) => Ok(name),
            Chat::Room(_) => Err(usage(msg)),
        },
        _ => Err(usage(msg)),
    };
    let chat = |msg: Msg| match words[..] {
        [name] => parse_chat(lang, name),
        _ => Err(usage(msg)),
    };
    let none = |command: PrefCommand| match words[..] {
        [] => Ok(command),
        _ => Err(tr!(in lang; crate::i18n::console::Msg::TakesNoArguments, command = format!("/{word}"))),
    };
    match word {
        "block" => Ok(PrefCommand::Block(user(Msg::UsageBlock)?, true)),
        "unblock" => Ok(PrefCommand::Block(user(Msg::UsageUnblock)?, false)),
        "blocks" => none(PrefCommand::Blocks),
        "notify" => match words[..] {
            [name, level] => {
                let level = level.parse().map_err(|_| usage(Msg::UsageNotify))?;
                Ok(PrefCommand::Notify(parse_chat(lang, name)?, level))
            }
            _ => Err(usage(Msg::UsageNotify)),
        },
        "pin" => Ok(PrefCommand::Pin(chat(Msg::UsagePin)?, true)),
        "unpin" => Ok(PrefCommand::Pin(chat(Msg::UsageUnpin)?, false)),
        "archive" => Ok(PrefCommand::Archive(chat(Msg::UsageArchive)?, true)),
        "unarchive" => Ok(PrefCommand::Archive(chat(Msg::UsageUnarchive)?, false)),
        "archived" => none(PrefCommand::Archived),
        _ => none(PrefCommand::Prefs),
    }
}

/// A chat's preference in words: `#lab3: only mentions notify, pinned`.
pub fn pref_line(lang: Lang, pref: &PrefLine) -> String {
    let level = match pref.level {
        Level::All => Msg::LevelAll,
        Level::Mentions => Msg::LevelMentions,
        Level::None => Msg::LevelNone,
    };
    let pinned = if pref.pinned { Msg::PinnedMark.text(lang) } else { "" };
    tr!(in lang; Msg::PrefShown, chat = pref.chat, level = level.text(lang), pinned = pinned)
}

/// A change made on another device, as a line.
pub fn notice(lang: Lang, notice: &Notice) -> String {
    let what = match notice {
        Notice::Pref(pref) => pref_line(lang, pref),
        Notice::Blocked { user, blocked: true } => tr!(in lang; Msg::Blocked, user = user),
        Notice::Blocked { user, blocked: false } => tr!(in lang; Msg::Unblocked, user = user),
        Notice::Archived { chat, archived } => archived_line(lang, chat, *archived),
        // 1.2 (§25): a star is a setting too (`/star`, `console::stars`).
        Notice::Starred { chat, from, id, starred: true } => {
            tr!(in lang; crate::i18n::stars::Msg::StarredThere, from = from, id = id, chat = chat)
        }
        Notice::Starred { chat, from, id, starred: false } => {
            tr!(in lang; crate::i18n::stars::Msg::UnstarredThere, from = from, id = id, chat = chat)
        }
        _ => String::new(),
    };
    tr!(in lang; Msg::OtherDevice, what = what)
}

/// 1.2 (§23): `chat` was archived (`archived`) or taken out, in words.
pub fn archived_line(lang: Lang, chat: &Chat, archived: bool) -> String {
    let msg = if archived { Msg::ArchivedChat } else { Msg::UnarchivedChat };
    tr!(in lang; msg, chat = chat)
}

/// 1.2 (§23): `chats` split in the ones kept in the list and the
/// `archived` ones, each in the order it came.
pub fn split_archived(chats: Vec<ChatSummary>, archived: &[Chat]) -> (Vec<ChatSummary>, Vec<ChatSummary>) {
    let keys: HashSet<String> = archived.iter().map(|c| fold(&c.to_string())).collect();
    chats.into_iter().partition(|c| !keys.contains(&fold(&c.chat.to_string())))
}

/// Carries out one of these commands for `client`, whose `expected`
/// echoes it tells which change was made here; the lines to show.
pub fn act(
    lang: Lang,
    client: &Client,
    expected: &echo::Expected,
    command: PrefCommand,
) -> Result<Vec<String>> {
    let older = |e| older_server(lang, e);
    let mut lines = Vec::new();
    match command {
        PrefCommand::Block(user, on) => {
            expected.change(echo::block_key(&user), || client.block(&user, on)).map_err(older)?;
            let msg = if on { Msg::Blocked } else { Msg::Unblocked };
            lines.push(tr!(in lang; msg, user = user));
        }
        PrefCommand::Blocks => match client.blocks().map_err(older)?[..] {
            [] => lines.push(Msg::NoBlocks.text(lang).to_string()),
            ref names => lines.push(tr!(in lang; Msg::BlocksList, n = names.len(), names = names.join(", "))),
        },
        PrefCommand::Notify(chat, level) => {
            expected
                .change(echo::pref_key(&chat.to_string()), || client.notify(&chat, level))
                .map_err(older)?;
            lines.push(pref_now(lang, client, &chat)?);
        }
        PrefCommand::Pin(chat, pinned) => {
            expected
                .change(echo::pref_key(&chat.to_string()), || client.pin(&chat, pinned))
                .map_err(older)?;
            lines.push(pref_now(lang, client, &chat)?);
        }
        PrefCommand::Prefs => {
            let prefs = client.prefs().map_err(older)?;
            if prefs.is_empty() {
                lines.push(Msg::NoPrefs.text(lang).to_string());
            }
            lines.extend(prefs.iter().map(|pref| pref_line(lang, pref)));
        }
        PrefCommand::Archive(chat, archived) => {
            expected.change(echo::archive_key(&chat), || client.archive(&chat, archived)).map_err(older)?;
            lines.push(archived_line(lang, &chat, archived));
        }
        PrefCommand::Archived => match client.archived().map_err(older)?[..] {
            [] => lines.push(Msg::NoneArchived.text(lang).to_string()),
            ref chats => {
                let names = chats.iter().map(Chat::to_string).collect::<Vec<_>>().join(", ");
                lines.push(tr!(in lang; Msg::ArchivedList, n = chats.len(), names = names));
            }
        },
    }
    Ok(lines)
}

/// The chat's preference as the server now has it, as a line.
fn pref_now(lang: Lang, client: &Client, chat: &Chat) -> Result<String> {
    let key = fold(&chat.to_string());
    let pref = client
        .prefs()?
        .into_iter()
        .find(|p| fold(&p.chat) == key)
        .unwrap_or_else(|| PrefLine::new(&chat.to_string()));
    Ok(pref_line(lang, &pref))
}

/// A server older than 1.2 does not know these requests.
fn older_server(lang: Lang, e: Error) -> Error {
    older_server_says(e, Msg::PrefsUnknownServer.text(lang))
}

/// `e`, or the usage `said` if it is the refusal of a request the
/// server does not know (one older than the protocol of the request).
pub(super) fn older_server_says(e: Error, said: &str) -> Error {
    match e {
        Error::Refused { ko, .. }
            if ko.code == Code::BadRequest && ko.reason.starts_with("unknown request") =>
        {
            Error::Usage(said.to_string())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_its_usage() {
        let en = Lang::En;
        let bob = Chat::User("bob".into());
        assert_eq!(parse(en, "block", "bob"), Ok(PrefCommand::Block("bob".into(), true)));
        assert_eq!(parse(en, "unblock", " bob "), Ok(PrefCommand::Block("bob".into(), false)));
        assert_eq!(parse(en, "blocks", ""), Ok(PrefCommand::Blocks));
        assert_eq!(parse(en, "block", "@lab2"), Ok(PrefCommand::Block("@lab2".into(), true)));
        assert_eq!(parse(en, "unblock", "@lab2"), Ok(PrefCommand::Block("@lab2".into(), false)));
        assert_eq!(parse(en, "block", "@"), Err("usage: /block <user|@server>".into()));
        assert_eq!(
            parse(en, "notify", "#lab mentions"),
            Ok(PrefCommand::Notify(Chat::Room("lab".into()), Level::Mentions))
        );
        assert_eq!(parse(en, "pin", "bob"), Ok(PrefCommand::Pin(bob.clone(), true)));
        assert_eq!(parse(en, "unpin", "bob"), Ok(PrefCommand::Pin(bob, false)));
        assert_eq!(parse(en, "prefs", ""), Ok(PrefCommand::Prefs));
        let tea = Chat::Room("Tea".into());
        assert_eq!(parse(en, "archive", "#Tea"), Ok(PrefCommand::Archive(tea.clone(), true)));
        assert_eq!(parse(en, "unarchive", "#Tea"), Ok(PrefCommand::Archive(tea, false)));
        assert_eq!(parse(en, "archived", ""), Ok(PrefCommand::Archived));
        assert_eq!(parse(en, "archive", "bob carl"), Err("usage: /archive <user|#room>".into()));
        assert_eq!(parse(en, "unarchive", ""), Err("usage: /unarchive <user|#room>".into()));
        assert_eq!(parse(en, "archived", "bob"), Err("/archived takes no arguments".into()));
        assert!(parse(en, "archive", "b!d").unwrap_err().contains("not allowed in a name"));
        assert_eq!(parse(Lang::Pt, "archive", ""), Err("uso: /archive <usuário|#sala>".into()));
        assert_eq!(parse(en, "block", "#lab"), Err("usage: /block <user|@server>".into()));
        assert_eq!(
            parse(en, "notify", "bob loud"),
            Err("usage: /notify <user|#room> all|mentions|none".into())
        );
        assert_eq!(parse(en, "pin", ""), Err("usage: /pin <user|#room>".into()));
        assert_eq!(parse(en, "blocks", "x"), Err("/blocks takes no arguments".into()));
        assert!(parse(Lang::Es, "block", "").unwrap_err().starts_with("uso:"));
    }

    #[test]
    fn archived_chats_are_split_off_in_their_order_whatever_their_case() {
        let summary = |name: &str| ChatSummary {
            chat: Chat::parse(name).unwrap(),
            unread: 0,
            last: None,
            online: None,
        };
        let chats = ["carl", "#Tea", "bob", "dave"].map(summary).to_vec();
        let archived =
            [Chat::parse("Dave").unwrap(), Chat::parse("#tea").unwrap(), Chat::parse("zed").unwrap()];
        let (kept, filed) = split_archived(chats, &archived);
        let names = |list: Vec<ChatSummary>| list.iter().map(|c| c.chat.to_string()).collect::<Vec<_>>();
        assert_eq!(names(kept), ["carl", "bob"]);
        assert_eq!(names(filed), ["#Tea", "dave"]);
    }

    #[test]
    fn a_refused_change_expects_no_echo() {
        let expected = echo::Expected::default();
        let bob = Chat::User("bob".into());
        let ko = crate::protocol::Ko::new(Code::Full, "you have 1000 archived chats already");
        let refused = expected
            .change(echo::archive_key(&bob), || Err(Error::Refused { request: "ARCHIVE:bob".into(), ko }));
        assert!(refused.is_err());
        let from_elsewhere = Notice::Archived { chat: bob.clone(), archived: true };
        assert!(!expected.is_echo(&from_elsewhere), "told as another device's");
        expected.change(echo::archive_key(&bob), || Ok(())).unwrap();
        assert!(expected.is_echo(&from_elsewhere));
    }

    #[test]
    fn a_change_made_here_is_said_once() {
        let expected = echo::Expected::default();
        expected.expect(echo::pref_key("#lab"));
        let pref = Notice::Pref(PrefLine::parse("#Lab:none:unpinned").unwrap());
        assert!(expected.is_echo(&pref));
        assert!(!expected.is_echo(&pref), "a second one comes from another device");
        assert_eq!(notice(Lang::En, &pref), "(another device) #Lab: muted");
        // 1.2 (§23): the same for archiving, whatever the case of the echo.
        expected.expect(echo::archive_key(&Chat::User("Bob".into())));
        let archived = Notice::Archived { chat: Chat::User("bob".into()), archived: true };
        assert!(expected.is_echo(&archived));
        assert!(!expected.is_echo(&archived));
        let said = notice(Lang::En, &archived);
        assert!(said.starts_with("(another device) bob is archived"), "{said}");
        let back = Notice::Archived { chat: Chat::Room("Lab".into()), archived: false };
        assert_eq!(
            notice(Lang::Es, &back),
            "(otro dispositivo) el chat #Lab ya no está archivado: vuelve a tus chats"
        );
    }
}
