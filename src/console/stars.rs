//! `/star N`, `/unstar N` and `/starred` (protocol 1.2, §25), in both
//! consoles, as [`super::session`] does every other command. `N` is a
//! message's number on screen, as for `/react N` (`console::actions`).
//!
//! The server tells every device of the user of a star (`STAR`), this
//! one included: a star made here is said once, by the command
//! (`console::echo` drops its echo), and one made on another device is
//! said as such ([`super::prefs::notice`]).

use super::echo;
use super::numbers::{Numbered, numbered};
use super::view;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::i18n::stars::Msg;
use crate::i18n::{Lang, tr};

/// The words of these commands.
pub const WORDS: &[&str] = &["star", "unstar", "starred"];

/// One of these commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StarCommand {
    /// `/star N` (`true`) or `/unstar N`.
    Star(usize, bool),
    /// `/starred`: the starred messages, newest first.
    Starred,
}

/// Parses `/<word> <args>`; `Err` is the usage, in `lang`.
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<StarCommand, String> {
    let usage = |msg: Msg| tr!(in lang; crate::i18n::console::Msg::Usage, usage = msg.text(lang));
    let number = args.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match (word, number) {
        ("star", Some(n)) => Ok(StarCommand::Star(n, true)),
        ("star", None) => Err(usage(Msg::UsageStar)),
        ("unstar", Some(n)) => Ok(StarCommand::Star(n, false)),
        ("unstar", None) => Err(usage(Msg::UsageUnstar)),
        _ if args.trim().is_empty() => Ok(StarCommand::Starred),
        _ => Err(tr!(in lang; crate::i18n::console::Msg::TakesNoArguments, command = format!("/{word}"))),
    }
}

/// Carries out one of these commands for `client`; `screen` holds the
/// numbers the user named the message by, `expected` the echoes of the
/// changes made here. The lines to show.
pub fn act(
    lang: Lang,
    client: &Client,
    screen: &Numbered,
    expected: &echo::Expected,
    command: StarCommand,
) -> Result<Vec<String>> {
    let me = client.me();
    match command {
        StarCommand::Star(n, on) => {
            let m = screen
                .get(n)
                .ok_or_else(|| Error::Usage(tr!(in lang; crate::i18n::actions::Msg::NoSuchNumber, n = n)))?;
            let chat = m.chat(me);
            let key = echo::star_key(&chat, &m.from, &m.id);
            expected.change(key, || client.star(&chat, &m, on))?;
            Ok(vec![tr!(in lang; if on { Msg::Starred } else { Msg::Unstarred }, n = n)])
        }
        StarCommand::Starred => {
            let found = client.starred()?;
            if found.is_empty() {
                return Ok(vec![Msg::NoneStarred.text(lang).to_string()]);
            }
            let mut out = vec![tr!(in lang; Msg::StarredList, n = found.len())];
            out.extend(found.iter().map(|m| numbered(screen, &view::message(lang, me, m), m)));
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_parse_and_mistakes_say_the_usage() {
        assert_eq!(parse(Lang::En, "star", "3"), Ok(StarCommand::Star(3, true)));
        assert_eq!(parse(Lang::En, "unstar", " 12 "), Ok(StarCommand::Star(12, false)));
        assert_eq!(parse(Lang::En, "starred", ""), Ok(StarCommand::Starred));
        assert!(parse(Lang::En, "star", "x").unwrap_err().contains("/star <n>"));
        assert!(parse(Lang::Es, "unstar", "0").unwrap_err().contains("/unstar <n>"));
        assert!(parse(Lang::Pt, "starred", "all").unwrap_err().contains("/starred"));
    }

    #[test]
    fn a_star_from_another_device_is_said_so() {
        let bob = crate::protocol::Chat::User("bob".into());
        let n =
            crate::client::Notice::Starred { chat: bob, from: "bob".into(), id: "m1".into(), starred: true };
        assert_eq!(
            super::super::prefs::notice(Lang::En, &n),
            "(another device) bob's message m1 in bob starred"
        );
    }
}
