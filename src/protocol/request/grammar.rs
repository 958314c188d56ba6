//! The grammar of every request, by family: each function below takes
//! the frames of one family (the words [`Request::parse`] sends it) and
//! is one `match` on the command word, each arm splitting a fixed number
//! of fields (the last takes the rest of the line) and checking each
//! field ([`fields`](super::fields)). Nothing here touches a socket; every
//! error is a `KO:BAD_REQUEST` that says what was expected.
//!
//! The families, in the order a client meets them: the first frames
//! (the login), the conversations of versions 1.0 and 1.1, the 1.2
//! message actions, the 1.2 rooms, account and devices, files and
//! preferences, and the requests that take no fields.

use std::num::IntErrorKind;

use super::fields::{
    bad, chat, device, email, fields, id, password, query, room, sent_id, target, user, user_at,
};
use super::{Request, Scope, command_word};
use crate::protocol::action::REACTIONS;
use crate::protocol::moderation::Action;
use crate::protocol::names::check_id;
use crate::protocol::{Ko, Text, account, files, split_fields, truncate};

/// `KO:BAD_REQUEST` for a word no request has. A family answers it too
/// for a word that is not its own, which `Request::parse` never sends it.
pub(super) fn unknown(word: &str) -> Ko {
    match word {
        "" => bad("empty request"),
        other => bad(format!("unknown request {:?}", truncate(other, 40))),
    }
}

/// The first frames of a send connection: `LOGIN`, `REGISTER`, and (1.2)
/// `REDEEM` and `PAIR`.
pub(super) fn first_frame(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "LOGIN" => {
            let f = fields(line, 3, "LOGIN:<user>:<password> or LOGIN:<user>@<device>:<secret>")?;
            let (user, device) = user_at(f[1])?;
            Request::Login { user, device, password: password(f[2])? }
        }
        "PAIR" => {
            let f = fields(line, 3, "PAIR:<user>@<device>:<code>")?;
            let Some((name, dev)) = f[1].split_once('@') else {
                return Err(bad("expected PAIR:<user>@<device>:<code>"));
            };
            // A code is checked as a message id is (the same alphabet,
            // 1-64 characters): a wrong code is then a wrong guess,
            // throttled, not a malformed request.
            let code = f[2].to_string();
            check_id(&code).map_err(|_| bad(format!("bad link code {:?}", truncate(&code, 64))))?;
            Request::Pair { user: user(name)?, device: device(dev)?, code }
        }
        "REGISTER" => {
            let f = fields(line, 4, "REGISTER:<user>:<email>:<password>")?;
            Request::Register { user: user(f[1])?, email: email(f[2])?, password: password(f[3])? }
        }
        "REDEEM" => {
            let f = fields(line, 5, "REDEEM:<code>:<user>:<email>:<password>")?;
            let code = f[1].to_string();
            check_id(&code).map_err(|_| bad(format!("bad invite code {:?}", truncate(&code, 64))))?;
            Request::Redeem { code, user: user(f[2])?, email: email(f[3])?, password: password(f[4])? }
        }
        other => return Err(unknown(other)),
    })
}

/// The conversations of version 1.0 (`MSG`, `READ`, `JOIN`, `LEAVE`,
/// `HISTORY`, `P2P`, `PEER`) and of 1.1 (`LASTSEEN`, `MEMBERS`).
pub(super) fn conversation(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "MSG" => {
            let f = fields(line, 4, "MSG:<to>:<id>:<text>")?;
            // Strict (1.2): no control character but tab (escape.rs).
            let text = Text::parse_sent(f[3]).map_err(bad)?;
            Request::Msg { to: chat(f[1])?, id: sent_id(f[2])?, text }
        }
        "READ" => {
            let f = fields(line, 3, "READ:<from>:<id>")?;
            Request::Read { chat: chat(f[1])?, id: id(f[2])? }
        }
        "JOIN" => Request::Join { room: room(fields(line, 2, "JOIN:<#room>")?[1])? },
        "LEAVE" => Request::Leave { room: room(fields(line, 2, "LEAVE:<#room>")?[1])? },
        "HISTORY" => {
            let f = fields(line, 3, "HISTORY:<peer or #room>:<limit>")?;
            // A number past 2^64 − 1 is refused as before (the code is
            // version 1's), saying why: it is a number, only too large.
            let limit = f[2].parse::<usize>().map_err(|e| match e.kind() {
                IntErrorKind::PosOverflow => bad(format!("the limit must be at most {}", usize::MAX)),
                _ => bad(format!("the limit must be a number, not {:?}", f[2])),
            })?;
            Request::History { chat: chat(f[1])?, limit }
        }
        "P2P" => {
            let f = fields(line, 2, "P2P:<port>")?;
            match f[1].parse::<u16>() {
                Ok(port) if port != 0 => Request::P2p { port },
                _ => return Err(bad(format!("bad port {:?} (1-65535)", f[1]))),
            }
        }
        "PEER" => Request::Peer { user: user(fields(line, 2, "PEER:<user>")?[1])? },
        "LASTSEEN" => Request::LastSeen { user: user(fields(line, 2, "LASTSEEN:<user>")?[1])? },
        "MEMBERS" => Request::Members { room: room(fields(line, 2, "MEMBERS:<#room>")?[1])? },
        other => return Err(unknown(other)),
    })
}

/// 1.2: what a user does to a message or a chat besides sending it:
/// `TYPING`, `REPLY`, `EDIT`, `DELETE`, `REACT`, `SEARCH`.
pub(super) fn message_action(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "TYPING" => Request::Typing { to: chat(fields(line, 2, "TYPING:<user or #room>")?[1])? },
        "REPLY" => {
            let f = fields(line, 5, "REPLY:<to>:<id>:<id of the message answered>:<text>")?;
            let text = Text::parse_sent(f[4]).map_err(bad)?;
            Request::Reply { to: chat(f[1])?, id: sent_id(f[2])?, re: target(f[3])?, text }
        }
        "EDIT" => {
            let f = fields(line, 4, "EDIT:<to>:<id>:<text>")?;
            let text = Text::parse_sent(f[3]).map_err(bad)?;
            Request::Edit { to: chat(f[1])?, id: target(f[2])?, text }
        }
        "DELETE" => {
            // An id holds no `:`, so a fourth field is an author.
            let f = match split_fields(line, 4) {
                Some(f) => f,
                None => fields(line, 3, "DELETE:<to>:<id> or DELETE:<#room>:<id>:<author>")?,
            };
            let author = f.get(3).map(|a| user(a)).transpose()?;
            Request::Delete { to: chat(f[1])?, id: target(f[2])?, author }
        }
        "REACT" => {
            let f = fields(line, 4, "REACT:<to>:<id>:<emoji>")?;
            if !REACTIONS.contains(&f[3]) {
                let list = REACTIONS.join(" ");
                return Err(bad(format!("{:?} is not a reaction; one of {list}", truncate(f[3], 16))));
            }
            Request::React { to: chat(f[1])?, id: target(f[2])?, emoji: f[3].to_string() }
        }
        "SEARCH" => {
            let f = fields(line, 3, "SEARCH:<peer, #room or *>:<words>")?;
            let scope = if f[1] == "*" { Scope::All } else { Scope::Chat(chat(f[1])?) };
            Request::Search { scope, query: query(f[2])? }
        }
        other => return Err(unknown(other)),
    })
}

/// 1.2: a room's moderation (its words are
/// [`REQUEST_WORDS`](crate::protocol::moderation::REQUEST_WORDS), parsed
/// by [`Action::parse`]) and `ROOMINFO`.
pub(super) fn room_request(line: &str) -> Result<Request, Ko> {
    if command_word(line) == "ROOMINFO" {
        return Ok(Request::RoomInfo { room: room(fields(line, 2, "ROOMINFO:<#room>")?[1])? });
    }
    let (room, action) = Action::parse(line)?;
    Ok(Request::Moderate { room, action })
}

/// 1.2: the account and its devices: `PASSWD`, `PASSWDKEEP` and
/// `DELACCOUNT` (§20, see [`account`]) and `UNLINK` (§16).
pub(super) fn account_request(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        account::PASSWD | account::PASSWD_KEEP => {
            let (old, new, keep) = account::parse_passwd(line)?;
            Request::Passwd { old, new, keep }
        }
        account::DELACCOUNT => Request::DelAccount { password: account::parse_delaccount(line)? },
        "UNLINK" => Request::Unlink { device: device(fields(line, 2, "UNLINK:<device>")?[1])? },
        other => return Err(unknown(other)),
    })
}

/// 1.2 (§21): `UPLOAD`, `PART`, `FILE`, `FETCH` and `FILEOF`.
pub(super) fn file_request(line: &str) -> Result<Request, Ko> {
    let number =
        |s: &str, what: &str| s.parse::<u64>().map_err(|_| bad(format!("the {what} must be a number")));
    Ok(match command_word(line) {
        "UPLOAD" => {
            let f = fields(line, 4, "UPLOAD:<name>:<size>:<sha256 hex>")?;
            files::check_file_name(f[1]).map_err(bad)?;
            let sha256 = files::check_sha256(f[3]).map_err(bad)?;
            Request::Upload { name: f[1].to_string(), size: number(f[2], "size")?, sha256 }
        }
        "PART" => {
            let f = fields(line, 4, "PART:<file id>:<offset>:<base64>")?;
            files::check_file_id(f[1]).map_err(bad)?;
            let data = files::decode(f[3]).map_err(bad)?;
            Request::Part { file: f[1].to_string(), offset: number(f[2], "offset")?, data }
        }
        "FILE" => {
            let f = fields(line, 5, "FILE:<to>:<id>:<file id>:<caption>")?;
            files::check_file_id(f[3]).map_err(bad)?;
            let caption = match f[4] {
                "" => None,
                c => Some(Text::parse_sent(c).map_err(bad)?),
            };
            Request::File { to: chat(f[1])?, id: sent_id(f[2])?, file: f[3].to_string(), caption }
        }
        "FETCH" => {
            let f = fields(line, 3, "FETCH:<file id>:<offset>")?;
            files::split_thumb(f[1]).map_err(bad)?;
            Request::Fetch { file: f[1].to_string(), offset: number(f[2], "offset")? }
        }
        "FILEOF" => {
            let f = fields(line, 4, "FILEOF:<#room or user>:<from>:<id>")?;
            Request::FileOf { chat: chat(f[1])?, from: user(f[2])?, id: id(f[3])? }
        }
        other => return Err(unknown(other)),
    })
}

/// 1.2 (§22): blocks and chat preferences: `BLOCK`, `UNBLOCK`, `NOTIFY`,
/// `PIN`, `UNPIN`.
pub(super) fn preference(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "BLOCK" => Request::Block { user: user(fields(line, 2, "BLOCK:<user>")?[1])? },
        "UNBLOCK" => Request::Unblock { user: user(fields(line, 2, "UNBLOCK:<user>")?[1])? },
        "NOTIFY" => {
            let f = fields(line, 3, "NOTIFY:<user or #room>:<all|mentions|none>")?;
            Request::Notify { chat: chat(f[1])?, level: f[2].parse().map_err(bad)? }
        }
        "PIN" => Request::Pin { chat: chat(fields(line, 2, "PIN:<user or #room>")?[1])?, pinned: true },
        "UNPIN" => Request::Pin { chat: chat(fields(line, 2, "UNPIN:<user or #room>")?[1])?, pinned: false },
        "ARCHIVE" => {
            Request::Archive { chat: chat(fields(line, 2, "ARCHIVE:<user or #room>")?[1])?, archived: true }
        }
        "UNARCHIVE" => Request::Archive {
            chat: chat(fields(line, 2, "UNARCHIVE:<user or #room>")?[1])?,
            archived: false,
        },
        other => return Err(unknown(other)),
    })
}

/// The requests that are a word and nothing else, of every version.
pub(super) fn bare(line: &str) -> Result<Request, Ko> {
    let word = command_word(line);
    if line.contains(':') {
        return Err(bad(format!("{word} takes no fields")));
    }
    Ok(match word {
        "USERS" => Request::Users,
        "ROOMS" => Request::Rooms,
        "CHATS" => Request::Chats,
        "SERVER" => Request::Server,
        "DEVICES" => Request::Devices,
        "LINK" => Request::Link,
        "INFO" => Request::Info,
        "BLOCKS" => Request::Blocks,
        "PREFS" => Request::Prefs,
        "FILES" => Request::Files,
        "ARCHIVED" => Request::Archived,
        "PING" => Request::Ping,
        "QUIT" => Request::Quit,
        other => return Err(unknown(other)),
    })
}
