//! Moderation in the consoles (protocol 1.2): the commands `/topic`,
//! `/mode`, `/invite`, `/kick`, `/ban`, `/unban`, `/mute`, `/unmute`,
//! `/op`, `/deop` and `/roominfo` (parsed here, carried out by
//! [`ConsoleSession`](super::session::ConsoleSession) for both consoles), the line a
//! user reads when a change is about them, and `/roominfo`'s lines.
//!
//! Everyone in the room reads a change in the room's own text (a message
//! from who did it, see `server::moderation`), so a change about someone
//! else adds no line here: it would say the same thing twice.

use crate::client::Client;
use crate::display::local_time;
use crate::error::{Error, Result};
use crate::i18n::moderation::Msg;
use crate::i18n::{Lang, tr};
use crate::protocol::names::{check_user, fold};
use crate::protocol::{Change, ModAction, Reply, Request, Role, RoomInfoLine, RoomMode, Text};

/// A moderation command, once parsed: the room (`None`: the open chat)
/// and what to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModCommand {
    Act { room: Option<String>, action: ModAction },
    Info(Option<String>),
}

/// The words of the commands.
pub const WORDS: &[&str] =
    &["topic", "mode", "invite", "kick", "ban", "unban", "mute", "unmute", "op", "deop", "roominfo"];

/// Parses `/<word> <args>`; `Err` is the usage, in `lang`.
pub fn parse(lang: Lang, word: &str, args: &str) -> std::result::Result<ModCommand, String> {
    let usage = || Msg::Usage.text(lang).to_string();
    let args = args.trim();
    // An optional #room first.
    let (room, rest) = match args.split_once(char::is_whitespace) {
        Some((first, rest)) if first.starts_with('#') => (Some(first.to_string()), rest.trim_start()),
        None if args.starts_with('#') => (Some(args.to_string()), ""),
        _ => (None, args),
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let user = |i: usize| -> std::result::Result<String, String> {
        let name = words.get(i).ok_or_else(usage)?;
        // 1.3: a member of another server too, `bob@lab2`.
        check_user(name).map_err(|e| e.to_string())?;
        Ok(name.to_string())
    };
    let minutes = |i: usize, default: Option<u64>| -> std::result::Result<u64, String> {
        match (words.get(i), default) {
            (None, Some(d)) => Ok(d),
            (Some(m), _) => m.parse().map_err(|_| usage()),
            (None, None) => Err(usage()),
        }
    };
    let action = match word {
        "roominfo" if rest.is_empty() => return Ok(ModCommand::Info(room)),
        "topic" => {
            let text = if rest.is_empty() {
                String::new()
            } else {
                Text::from_plain(rest)?.as_escaped().to_string()
            };
            ModAction::Topic(text)
        }
        "mode" => match rest {
            "+announce" => ModAction::Mode(RoomMode::Announce, true),
            "-announce" => ModAction::Mode(RoomMode::Announce, false),
            "+invite" => ModAction::Mode(RoomMode::Invite, true),
            "-invite" => ModAction::Mode(RoomMode::Invite, false),
            _ => return Err(usage()),
        },
        "invite" => ModAction::Invite(user(0)?),
        "kick" => ModAction::Kick(user(0)?),
        "ban" => ModAction::Ban(user(0)?, minutes(1, Some(0))?),
        "unban" => ModAction::Unban(user(0)?),
        "mute" => ModAction::Mute(user(0)?, minutes(1, None)?),
        "unmute" => ModAction::Unmute(user(0)?),
        "op" => ModAction::Op(user(0)?),
        "deop" => ModAction::Deop(user(0)?),
        _ => return Err(usage()),
    };
    let extra = match &action {
        ModAction::Topic(_) | ModAction::Mode(..) => false,
        ModAction::Ban(..) | ModAction::Mute(..) => words.len() > 2,
        _ => words.len() > 1,
    };
    if extra {
        return Err(usage());
    }
    Ok(ModCommand::Act { room, action })
}

/// Carries out a command on `room` (`#name`); the lines to show.
pub fn act(lang: Lang, client: &Client, room: &str, command: ModCommand) -> Result<Vec<String>> {
    let name = room.trim_start_matches('#').to_string();
    let request = match command {
        ModCommand::Act { action, .. } => Request::Moderate { room: name, action },
        ModCommand::Info(_) => Request::RoomInfo { room: name },
    };
    let what = request.to_string();
    match client.request(request)? {
        Reply::Ok => Ok(vec![Msg::Done.text(lang).to_string()]),
        Reply::Listing(lines) => {
            let info: Vec<RoomInfoLine> = lines.iter().filter_map(|l| RoomInfoLine::parse(l).ok()).collect();
            Ok(info_lines(lang, &info))
        }
        Reply::Ko(ko) => Err(Error::Refused { request: what, ko }),
        other => Err(Error::Protocol(format!("{what}: {other:?}"))),
    }
}

/// `14:05`, or the date too if not today.
pub fn until(ts: u64) -> String {
    let (then, now) = (local_time(ts), local_time(crate::client::now_ms()));
    if then.same_day(&now) { then.clock() } else { format!("{} {}", then.date(), then.clock()) }
}

/// The line for `me` about a change in `room` done by `by`, if it is about `me`.
pub fn line(lang: Lang, me: &str, room: &str, by: &str, change: &Change) -> Option<String> {
    if change.target().map(fold) != Some(fold(me)) {
        return None;
    }
    Some(match change {
        Change::Muted(_, t) => tr!(in lang; Msg::YouWereMuted, room = room, by = by, until = until(*t)),
        Change::Unmuted(_) => tr!(in lang; Msg::YouWereUnmuted, room = room, by = by),
        Change::Kicked(_) => tr!(in lang; Msg::YouWereKicked, room = room, by = by),
        Change::Banned(_, 0) => tr!(in lang; Msg::YouWereBannedForGood, room = room, by = by),
        Change::Banned(_, t) => tr!(in lang; Msg::YouWereBanned, room = room, by = by, until = until(*t)),
        Change::Unbanned(_) => tr!(in lang; Msg::YouWereUnbanned, room = room, by = by),
        Change::Opped(_) => tr!(in lang; Msg::YouWereOpped, room = room, by = by),
        Change::Deopped(_) => tr!(in lang; Msg::YouWereDeopped, room = room, by = by),
        // An invitation is a direct message from `by` already.
        Change::Invited(_) | Change::Topic(_) | Change::Mode(..) => return None,
    })
}

/// The `ROOMINFO` of `room` (`#name`) for a header; `None` if the server
/// does not say (an older one, or not a member any more).
pub fn room_info(client: &Client, room: &str) -> Option<Vec<RoomInfoLine>> {
    let request = Request::RoomInfo { room: room.trim_start_matches('#').to_string() };
    match client.request(request) {
        Ok(Reply::Listing(lines)) => Some(lines.iter().filter_map(|l| RoomInfoLine::parse(l).ok()).collect()),
        _ => None,
    }
}

/// The line under a room's header when it opens (`📢 announce-only … ·
/// topic: … · you are muted until 10:37`); `None` for a room with none of
/// these.
pub fn header(lang: Lang, info: &[RoomInfoLine]) -> Option<String> {
    let mut parts = Vec::new();
    for line in info {
        match line {
            RoomInfoLine::Mode(RoomMode::Announce) => parts.push(Msg::InfoAnnounce.text(lang).to_string()),
            RoomInfoLine::Topic(t) => {
                let topic = Text::parse(t).map(|t| t.unescaped()).unwrap_or_else(|_| t.clone());
                parts.push(
                    tr!(in lang; Msg::InfoTopic, topic = crate::display::visible(&topic.replace('\n', " "))),
                );
            }
            RoomInfoLine::Muted(t) => parts.push(tr!(in lang; Msg::InfoMuted, until = until(*t))),
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// `/roominfo`'s lines: the room, its owner and admins, its modes and
/// topic, what you are in it, and your mute or ban.
pub fn info_lines(lang: Lang, info: &[RoomInfoLine]) -> Vec<String> {
    let mut out = Vec::new();
    let admins: Vec<&str> = info
        .iter()
        .filter_map(|l| if let RoomInfoLine::Admin(a) = l { Some(a.as_str()) } else { None })
        .collect();
    let owned = info.iter().any(|l| matches!(l, RoomInfoLine::Owner(_)));
    for line in info {
        match line {
            RoomInfoLine::Room(room) => {
                out.push(room.clone());
                if !owned {
                    out.push(Msg::InfoNoOwner.text(lang).to_string());
                }
            }
            RoomInfoLine::Owner(user) => out.push(tr!(in lang; Msg::InfoOwner, user = user)),
            RoomInfoLine::Admin(_) => {}
            RoomInfoLine::Mode(RoomMode::Announce) => out.push(Msg::InfoAnnounce.text(lang).to_string()),
            RoomInfoLine::Mode(RoomMode::Invite) => out.push(Msg::InfoInviteOnly.text(lang).to_string()),
            RoomInfoLine::Topic(t) => {
                let topic = Text::parse(t).map(|t| t.unescaped()).unwrap_or_else(|_| t.clone());
                out.push(tr!(in lang; Msg::InfoTopic, topic = crate::display::visible(&topic)));
            }
            RoomInfoLine::Role(role) => out.push(tr!(in lang; Msg::InfoRole, role = role_word(*role))),
            RoomInfoLine::Muted(t) => out.push(tr!(in lang; Msg::InfoMuted, until = until(*t))),
            RoomInfoLine::Banned(0) => out.push(Msg::InfoBannedForGood.text(lang).to_string()),
            RoomInfoLine::Banned(t) => out.push(tr!(in lang; Msg::InfoBanned, until = until(*t))),
        }
        // The admins, after the owner (or where it would be).
        let after_owner =
            matches!(line, RoomInfoLine::Room(_) if !owned) || matches!(line, RoomInfoLine::Owner(_));
        if after_owner && !admins.is_empty() {
            out.push(tr!(in lang; Msg::InfoAdmins, users = admins.join(", ")));
        }
    }
    out
}

fn role_word(role: Role) -> &'static str {
    match role {
        Role::None => "-",
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Owner => "owner",
        Role::ServerAdmin => "server admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        let en = Lang::En;
        let act = |room: Option<&str>, action| ModCommand::Act { room: room.map(str::to_string), action };
        assert_eq!(parse(en, "mute", "bob 10"), Ok(act(None, ModAction::Mute("bob".into(), 10))));
        assert_eq!(
            parse(en, "mute", "#lab3 bob 10"),
            Ok(act(Some("#lab3"), ModAction::Mute("bob".into(), 10)))
        );
        assert_eq!(parse(en, "ban", "#g bob"), Ok(act(Some("#g"), ModAction::Ban("bob".into(), 0))));
        assert_eq!(parse(en, "mode", "+announce"), Ok(act(None, ModAction::Mode(RoomMode::Announce, true))));
        assert_eq!(
            parse(en, "topic", "#a week 2: sockets"),
            Ok(act(Some("#a"), ModAction::Topic("week 2: sockets".into())))
        );
        assert_eq!(parse(en, "roominfo", ""), Ok(ModCommand::Info(None)));
        assert_eq!(parse(en, "roominfo", "#a"), Ok(ModCommand::Info(Some("#a".into()))));
        assert!(parse(en, "mute", "bob").is_err());
        assert!(parse(en, "kick", "bob eve").is_err());
        assert!(parse(en, "mode", "+moderated").is_err());
    }

    #[test]
    fn a_rooms_header_line_says_announce_and_topic() {
        let info = [
            RoomInfoLine::Room("#news".into()),
            RoomInfoLine::Mode(RoomMode::Announce),
            RoomInfoLine::Topic("a\\nb".into()),
        ];
        assert_eq!(header(Lang::En, &info).unwrap(), "📢 announce-only: only admins write · topic: a b");
        assert_eq!(header(Lang::En, &[RoomInfoLine::Room("#tea".into())]), None);
    }

    #[test]
    fn roominfo_reads_top_down() {
        let info = [
            RoomInfoLine::Room("#news".into()),
            RoomInfoLine::Owner("prof".into()),
            RoomInfoLine::Admin("ta".into()),
            RoomInfoLine::Mode(RoomMode::Announce),
            RoomInfoLine::Topic("Lab 3\\nfriday".into()),
            RoomInfoLine::Role(Role::Member),
        ];
        let lines = info_lines(Lang::En, &info);
        assert_eq!(lines[..3], ["#news", "owner: prof", "admins: ta"]);
        assert!(lines[3].starts_with("📢"));
        assert_eq!(lines[4], "topic: Lab 3\nfriday");
        assert_eq!(lines[5], "you are: member");
        let general =
            info_lines(Lang::En, &[RoomInfoLine::Room("#general".into()), RoomInfoLine::Role(Role::Member)]);
        assert_eq!(general, ["#general", "owner: none (server admins run it)", "you are: member"]);
    }

    #[test]
    fn a_change_about_me_is_told_and_others_are_not() {
        let en = Lang::En;
        assert!(line(en, "bob", "#a", "ana", &Change::Kicked("Bob".into())).unwrap().contains("removed you"));
        assert_eq!(line(en, "eve", "#a", "ana", &Change::Kicked("bob".into())), None);
        assert!(line(en, "bob", "#a", "ana", &Change::Muted("bob".into(), 1)).unwrap().contains("until"));
    }
}
