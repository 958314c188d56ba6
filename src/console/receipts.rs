//! `/info N` (protocol 1.2, §31), in both consoles, as
//! [`super::session`] does every other command: who of a room has your
//! message `N` (its number on screen, as for `/react N`), "Read by" then
//! "Delivered to", each with the time; or that the room is too large to
//! keep receipts. Of a direct message, its ticks. `/info` alone is the
//! server's rules (`console::rules`).

use super::numbers::Numbered;
use super::view;
use crate::client::{Client, Message, MessageInfo, now_ms};
use crate::error::{Error, Result};
use crate::i18n::receipts::Msg;
use crate::i18n::{Lang, console::ticks, tr};
use crate::protocol::Chat;

/// Parses `/info <args>`: `None` for `/info` alone, the number of a
/// message, or the usage in `lang`.
pub fn parse(lang: Lang, args: &str) -> std::result::Result<Option<usize>, String> {
    match args.trim() {
        "" => Ok(None),
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(tr!(in lang; crate::i18n::console::Msg::Usage, usage = Msg::UsageInfo.text(lang))),
        },
    }
}

/// The lines of `/info n` for `client`; `screen` holds the numbers.
pub fn act(lang: Lang, client: &Client, screen: &Numbered, n: usize) -> Result<Vec<String>> {
    let m = screen
        .get(n)
        .ok_or_else(|| Error::Usage(tr!(in lang; crate::i18n::actions::Msg::NoSuchNumber, n = n)))?;
    of_message(lang, client, &format!("[{n}]"), &m)
}

/// The info of message `m`, named `which` (`[3]`, or its words in the
/// full-screen console): who of its room has it, if it is the user's
/// room message; else that only its sender sees that, or its ticks.
pub fn of_message(lang: Lang, client: &Client, which: &str, m: &Message) -> Result<Vec<String>> {
    let me = client.me();
    let room = match &m.to {
        Chat::Room(room) if m.is_from(me) => room.clone(),
        Chat::Room(_) => return Ok(vec![tr!(in lang; Msg::NotMine, which = which)]),
        Chat::User(_) => {
            let to = m.chat(me);
            return Ok(vec![tr!(in lang; Msg::Direct, which = which, to = to, ticks = ticks(lang, m.state))]);
        }
    };
    Ok(lines(lang, which, &room, &client.receipts(&room, &m.id)?, now_ms()))
}

/// The answer as lines: a title, "Read by", then "Delivered to", each
/// member with when (or that the server no longer says when).
pub fn lines(lang: Lang, which: &str, room: &str, info: &MessageInfo, now: u64) -> Vec<String> {
    let (to, read, delivered) = match info {
        MessageInfo::Large { members, limit } => {
            let room = room.trim_start_matches('#');
            return vec![
                tr!(in lang; Msg::Large, which = which, room = room, members = members, limit = limit),
            ];
        }
        MessageInfo::Kept { to, read, delivered } => (to, read, delivered),
    };
    let mut out = vec![tr!(in lang; Msg::Title, which = which, to = to)];
    for (title, who) in [(Msg::ReadBy, read), (Msg::DeliveredTo, delivered)] {
        out.push(format!("{}:", title.text(lang)));
        if who.is_empty() {
            out.push(format!("  {}", Msg::Nobody.text(lang)));
        }
        for (member, ts) in who {
            let when = match ts {
                Some(ts) => view::when(lang, *ts, now),
                None => Msg::TimeGone.text(lang).to_string(),
            };
            out.push(format!("  {member}  {when}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_parses_a_number_or_nothing() {
        assert_eq!(parse(Lang::En, ""), Ok(None));
        assert_eq!(parse(Lang::En, " 3 "), Ok(Some(3)));
        assert!(parse(Lang::Es, "x").unwrap_err().contains("/info <n>"));
        assert!(parse(Lang::Pt, "0").unwrap_err().contains("/info <n>"));
    }

    #[test]
    fn read_by_comes_before_delivered_to_in_every_language() {
        let info = MessageInfo::Kept {
            to: 3,
            read: vec![("bob".into(), Some(now_ms()))],
            delivered: vec![("carl".into(), None)],
        };
        let en = lines(Lang::En, "[2]", "#lab", &info, now_ms());
        assert_eq!(en[0], "[2] message info (3 other members):");
        assert_eq!((en[1].as_str(), en[3].as_str()), ("Read by:", "Delivered to:"));
        assert!(en[2].starts_with("  bob  ") && en[4] == "  carl  time no longer kept", "{en:?}");
        let es = lines(Lang::Es, "[2]", "#lab", &info, now_ms());
        assert_eq!((es[1].as_str(), es[3].as_str()), ("Leído por:", "Entregado a:"));
        let pt =
            lines(Lang::Pt, "[2]", "#lab", &MessageInfo::Kept { to: 1, read: vec![], delivered: vec![] }, 0);
        assert_eq!(
            pt,
            [
                "[2] info da mensagem (1 outros membros):",
                "Lido por:",
                "  ninguém ainda",
                "Entregue a:",
                "  ninguém ainda"
            ]
        );
        let large = lines(Lang::En, "[1]", "#big", &MessageInfo::Large { members: 65, limit: 64 }, 0);
        assert_eq!(large, ["[1] #big has 65 members, over 64: it keeps no receipts, its messages stay at ✓"]);
    }
}
