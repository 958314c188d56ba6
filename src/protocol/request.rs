//! Requests on the send port (protocol §3 and §4): `parse` and `Display`.
//! `LASTSEEN`, `MEMBERS` and `SERVER` are additions of protocol 1.1
//! (docs/PROTOCOL.md §11): a version-1 client never sends them, so it sees
//! no difference. `REDEEM` is an addition of 1.2 (§14), a first frame.
//! Devices (1.2, §16): `LOGIN:<user>@<device>:<secret>`, `DEVICES`,
//! `UNLINK`, `LINK`, and `PAIR`, a first frame that trades a link code for
//! a device token.

use std::fmt;
use std::num::IntErrorKind;

use super::action::{MAX_TARGET_ID, REACTIONS};
use super::files;
use super::moderation::{Action, ActionFrame, REQUEST_WORDS};
use super::names::{check_device, check_id, check_name};
use super::{Chat, Code, Ko, Text, split_fields, truncate};

/// One request from a client on the send port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `LOGIN:<user>:<password>`, or (1.2) `LOGIN:<user>@<device>:<secret>`
    /// where the secret is the password or the device's token. No device
    /// is the device `default` ([`DEFAULT_DEVICE`](super::names::DEFAULT_DEVICE)).
    Login {
        user: String,
        device: Option<String>,
        password: String,
    },
    Register {
        user: String,
        email: String,
        password: String,
    },
    /// 1.2: `REGISTER` with an invite code (`wachat users invite`). The
    /// code is a field of its own: `REGISTER`'s last field, the password,
    /// may hold any `:`.
    Redeem {
        code: String,
        user: String,
        email: String,
        password: String,
    },
    Msg {
        to: Chat,
        id: String,
        text: Text,
    },
    Read {
        chat: Chat,
        id: String,
    },
    Users,
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    Rooms,
    Chats,
    History {
        chat: Chat,
        limit: usize,
    },
    P2p {
        port: u16,
    },
    Peer {
        user: String,
    },
    /// 1.1: is `user` online, and if not, since when.
    LastSeen {
        user: String,
    },
    /// 1.1: the members of a room you are in, each online or last seen.
    Members {
        room: String,
    },
    /// 1.1: which server this is: `OK:<id>`, the random identity of its
    /// data, so that a client keeps apart two servers at one address.
    Server,
    /// 1.2: you are typing to `to`: its other end (a user, or the other
    /// members of a room) is told, if online. Nothing is stored.
    Typing {
        to: Chat,
    },
    /// 1.2: a moderation request on `room` (`TOPIC`, `MODE`, `INVITE`,
    /// `KICK`, `BAN`, `UNBAN`, `MUTE`, `UNMUTE`, `OP`, `DEOP`; see
    /// [`moderation`](super::moderation)).
    Moderate {
        room: String,
        action: Action,
    },
    /// 1.2: `ROOMINFO:<#room>`: owner, admins, modes, topic, and your own
    /// role, mute or ban.
    RoomInfo {
        room: String,
    },
    /// 1.2: a message `id` that answers the message `re` of the chat `to`
    /// (docs/PROTOCOL.md §19): stored as a `MSG` whose text starts with
    /// a one-line quote of `re`.
    Reply {
        to: Chat,
        id: String,
        re: String,
        text: Text,
    },
    /// 1.2: your message `id` to `to` now reads `text`.
    Edit {
        to: Chat,
        id: String,
        text: Text,
    },
    /// 1.2: your message `id` to `to` is deleted for everyone; or, with
    /// an `author` (`DELETE:<#room>:<id>:<author>`, for a room's admins),
    /// that author's message `id` in the room.
    Delete {
        to: Chat,
        id: String,
        author: Option<String>,
    },
    /// 1.2: add `emoji` to the message `id` of the chat `to`, or take it
    /// back if it is there (a toggle).
    React {
        to: Chat,
        id: String,
        emoji: String,
    },
    /// 1.2: messages of one chat, or of all yours (`*`), holding every word
    /// of `query`, ignoring case and accents.
    Search {
        scope: Scope,
        query: String,
    },
    /// 1.2: your devices, each online or last seen, and from where.
    Devices,
    /// 1.2: logs `device` out for good and revokes its token.
    Unlink {
        device: String,
    },
    /// 1.2: a one-time code with which a new device gets a token (`PAIR`).
    Link,
    /// 1.2, a first frame: `PAIR:<user>@<device>:<code>` trades a code of
    /// `LINK` for the device's token, `OK:<token>`.
    Pair {
        user: String,
        device: String,
        code: String,
    },
    /// 1.2: the server's rules for its users: `OK:<n>` then `n` lines
    /// `key=value` ([`InfoLine`](super::InfoLine)): version, retention,
    /// quota, devices, registration, message limits.
    Info,
    /// 1.2 (§20): a new password, once `old` is checked; the other devices
    /// are logged out and their tokens revoked unless `keep`
    /// (`PASSWDKEEP`). See [`account`](super::account).
    Passwd {
        old: String,
        new: String,
        keep: bool,
    },
    /// 1.2 (§20): deletes the account, once `password` is checked. See
    /// [`account`](super::account) and `server::accounts`.
    DelAccount {
        password: String,
    },
    /// 1.2 (§21): a file of `size` bytes whose sha256 is `sha256` is
    /// coming: `OK:<file id>`.
    Upload {
        name: String,
        size: u64,
        sha256: String,
    },
    /// 1.2 (§21): the bytes of an upload from `offset` on.
    Part {
        file: String,
        offset: u64,
        data: Vec<u8>,
    },
    /// 1.2 (§21): a message `id` carrying a complete file of yours.
    File {
        to: Chat,
        id: String,
        file: String,
        caption: Option<Text>,
    },
    /// 1.2 (§21): the next part of a file (or of its thumbnail, `<id>-t`).
    Fetch {
        file: String,
        offset: u64,
    },
    Ping,
    Quit,
    // ----- 1.2 (§22): blocks and chat preferences (`prefs`)
    /// `BLOCK:<user>`: `user`'s direct messages, invitations and view of
    /// your presence stop, without telling them.
    Block {
        user: String,
    },
    /// `UNBLOCK:<user>`: what they send from now on reaches you again.
    Unblock {
        user: String,
    },
    /// `BLOCKS`: the names you blocked, one a line.
    Blocks,
    /// `NOTIFY:<chat>:<all|mentions|none>`: when your clients notify you of `chat`.
    Notify {
        chat: Chat,
        level: super::Level,
    },
    /// `PIN:<chat>` (at most [`MAX_PINS`](super::prefs::MAX_PINS)) or
    /// `UNPIN:<chat>` (`pinned` false).
    Pin {
        chat: Chat,
        pinned: bool,
    },
    /// `PREFS`: every chat whose level is not `all` or that is pinned.
    Prefs,
    /// 1.2 (§21): `FILES`, your complete files and the messages that
    /// carry them (`wachat export`).
    Files,
}

/// The word before the first `:` of a frame (`MSG` in `MSG:bob:1:hi`).
pub fn command_word(line: &str) -> &str {
    line.split(':').next().unwrap_or("")
}

fn bad(reason: impl Into<String>) -> Ko {
    Ko::new(Code::BadRequest, reason)
}

/// Splits `line` into `n` fields or explains the expected shape.
fn fields<'a>(line: &'a str, n: usize, shape: &str) -> Result<Vec<&'a str>, Ko> {
    split_fields(line, n).ok_or_else(|| bad(format!("expected {shape}")))
}

fn user(name: &str) -> Result<String, Ko> {
    check_name(name).map_err(|e| bad(format!("bad user name: {e}")))?;
    Ok(name.to_string())
}

/// `<user>` or (1.2) `<user>@<device>`.
fn user_at(field: &str) -> Result<(String, Option<String>), Ko> {
    match field.split_once('@') {
        None => Ok((user(field)?, None)),
        Some((name, device)) => Ok((user(name)?, Some(self::device(device)?))),
    }
}

fn device(name: &str) -> Result<String, Ko> {
    check_device(name).map_err(bad)?;
    Ok(name.to_string())
}

fn id(id: &str) -> Result<String, Ko> {
    check_id(id).map_err(bad)?;
    Ok(id.to_string())
}

/// The id of a message a client sends (`MSG`, `REPLY`): an id, and not
/// of an action's form, which only the server makes (`action::check_sent_id`).
fn sent_id(s: &str) -> Result<String, Ko> {
    let id = id(s)?;
    super::action::check_sent_id(&id).map_err(bad)?;
    Ok(id)
}

fn chat(s: &str) -> Result<Chat, Ko> {
    Chat::parse(s).map_err(bad)
}

/// The id of a message an action names: an id short enough that the
/// action's own id fits (see `action::MAX_TARGET_ID`).
fn target(s: &str) -> Result<String, Ko> {
    let id = id(s)?;
    if id.len() > MAX_TARGET_ID {
        return Err(bad(format!("message actions name ids of at most {MAX_TARGET_ID} characters")));
    }
    Ok(id)
}

/// Most lines of a `SEARCH`'s reply (1.2).
pub const MAX_SEARCH_RESULTS: usize = 50;

/// Most bytes of a `SEARCH`'s words.
pub const MAX_QUERY: usize = 200;

fn query(q: &str) -> Result<String, Ko> {
    if q.trim().is_empty() {
        return Err(bad("nothing to search for"));
    }
    if q.len() > MAX_QUERY {
        return Err(bad(format!("the words are {} bytes, the limit is {MAX_QUERY}", q.len())));
    }
    if let Some(c) = q.chars().find(|&c| c.is_control()) {
        return Err(bad(format!("the words may not hold U+{:04X}", c as u32)));
    }
    Ok(q.to_string())
}

/// What a `SEARCH` looks through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One conversation.
    Chat(Chat),
    /// `*`: every conversation of yours.
    All,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Chat(chat) => chat.fmt(f),
            Scope::All => f.write_str("*"),
        }
    }
}

fn room(s: &str) -> Result<String, Ko> {
    Chat::parse_room(s).map_err(bad)
}

fn password(p: &str) -> Result<String, Ko> {
    if p.is_empty() {
        return Err(bad("the password is empty"));
    }
    Ok(p.to_string())
}

fn email(e: &str) -> Result<String, Ko> {
    check_email(e).map_err(bad)?;
    Ok(e.to_string())
}

/// Checks an email address as `REGISTER` does; `wachat users add` and
/// `import` use it too, so an account made offline is one `REGISTER` could make.
pub fn check_email(e: &str) -> Result<(), String> {
    let ok = e.is_empty()
        || (e.len() <= 254
            && e.contains('@')
            // 1.2 (issue 38): nor an invisible character that reorders
            // or hides what the operator's list shows.
            && !e.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || super::escape::is_format(c)));
    if !ok {
        return Err(format!("bad email address {e:?} (it may also be empty)"));
    }
    Ok(())
}

impl Request {
    /// Parses one frame (without its `\n`). Every failure is a
    /// `KO:BAD_REQUEST` whose reason says what was expected.
    pub fn parse(line: &str) -> Result<Request, Ko> {
        let request = match command_word(line) {
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
            "TYPING" => Request::Typing { to: chat(fields(line, 2, "TYPING:<user or #room>")?[1])? },
            "ROOMINFO" => Request::RoomInfo { room: room(fields(line, 2, "ROOMINFO:<#room>")?[1])? },
            word if REQUEST_WORDS.contains(&word) => {
                let (room, action) = Action::parse(line)?;
                Request::Moderate { room, action }
            }
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
            super::account::PASSWD | super::account::PASSWD_KEEP => {
                let (old, new, keep) = super::account::parse_passwd(line)?;
                Request::Passwd { old, new, keep }
            }
            super::account::DELACCOUNT => {
                Request::DelAccount { password: super::account::parse_delaccount(line)? }
            }
            "UPLOAD" | "PART" | "FILE" | "FETCH" => file_request(line)?,
            "UNLINK" => Request::Unlink { device: device(fields(line, 2, "UNLINK:<device>")?[1])? },
            "BLOCK" => Request::Block { user: user(fields(line, 2, "BLOCK:<user>")?[1])? },
            "UNBLOCK" => Request::Unblock { user: user(fields(line, 2, "UNBLOCK:<user>")?[1])? },
            "NOTIFY" => {
                let f = fields(line, 3, "NOTIFY:<user or #room>:<all|mentions|none>")?;
                Request::Notify { chat: chat(f[1])?, level: f[2].parse().map_err(bad)? }
            }
            "PIN" => Request::Pin { chat: chat(fields(line, 2, "PIN:<user or #room>")?[1])?, pinned: true },
            "UNPIN" => {
                Request::Pin { chat: chat(fields(line, 2, "UNPIN:<user or #room>")?[1])?, pinned: false }
            }
            "USERS" | "ROOMS" | "CHATS" | "SERVER" | "DEVICES" | "LINK" | "INFO" | "PING" | "QUIT"
            | "BLOCKS" | "PREFS" | "FILES"
                if line.contains(':') =>
            {
                return Err(bad(format!("{} takes no fields", command_word(line))));
            }
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
            "PING" => Request::Ping,
            "QUIT" => Request::Quit,
            "" => return Err(bad("empty request")),
            other => return Err(bad(format!("unknown request {:?}", truncate(other, 40)))),
        };
        Ok(request)
    }

    /// The frame as `Display` writes it, with any password replaced by
    /// `***`, for traces and logs.
    pub fn redacted(&self) -> String {
        match self {
            Request::Login { user, device: None, .. } => format!("LOGIN:{user}:***"),
            Request::Login { user, device: Some(device), .. } => format!("LOGIN:{user}@{device}:***"),
            Request::Pair { user, device, .. } => format!("PAIR:{user}@{device}:***"),
            Request::Register { user, email, .. } => format!("REGISTER:{user}:{email}:***"),
            Request::Redeem { code, user, email, .. } => format!("REDEEM:{code}:{user}:{email}:***"),
            Request::Passwd { keep: false, .. } => "PASSWD:***:***".into(),
            Request::Passwd { keep: true, .. } => "PASSWDKEEP:***:***".into(),
            Request::DelAccount { .. } => "DELACCOUNT:***".into(),
            other => other.to_string(),
        }
    }
}

/// 1.2 (§21): `UPLOAD`, `PART`, `FILE` and `FETCH`.
fn file_request(line: &str) -> Result<Request, Ko> {
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
        _ => {
            let f = fields(line, 3, "FETCH:<file id>:<offset>")?;
            files::split_thumb(f[1]).map_err(bad)?;
            Request::Fetch { file: f[1].to_string(), offset: number(f[2], "offset")? }
        }
    })
}

impl fmt::Display for Request {
    /// Writes the frame without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Login { user, device: None, password } => write!(f, "LOGIN:{user}:{password}"),
            Request::Login { user, device: Some(device), password } => {
                write!(f, "LOGIN:{user}@{device}:{password}")
            }
            Request::Pair { user, device, code } => write!(f, "PAIR:{user}@{device}:{code}"),
            Request::Register { user, email, password } => {
                write!(f, "REGISTER:{user}:{email}:{password}")
            }
            Request::Redeem { code, user, email, password } => {
                write!(f, "REDEEM:{code}:{user}:{email}:{password}")
            }
            Request::Msg { to, id, text } => write!(f, "MSG:{to}:{id}:{text}"),
            Request::Read { chat, id } => write!(f, "READ:{chat}:{id}"),
            Request::Users => f.write_str("USERS"),
            Request::Join { room } => write!(f, "JOIN:#{room}"),
            Request::Leave { room } => write!(f, "LEAVE:#{room}"),
            Request::Rooms => f.write_str("ROOMS"),
            Request::Chats => f.write_str("CHATS"),
            Request::History { chat, limit } => write!(f, "HISTORY:{chat}:{limit}"),
            Request::P2p { port } => write!(f, "P2P:{port}"),
            Request::Peer { user } => write!(f, "PEER:{user}"),
            Request::LastSeen { user } => write!(f, "LASTSEEN:{user}"),
            Request::Members { room } => write!(f, "MEMBERS:#{room}"),
            Request::Server => f.write_str("SERVER"),
            Request::Typing { to } => write!(f, "TYPING:{to}"),
            Request::Moderate { room, action } => ActionFrame(room, action).fmt(f),
            Request::RoomInfo { room } => write!(f, "ROOMINFO:#{room}"),
            Request::Reply { to, id, re, text } => write!(f, "REPLY:{to}:{id}:{re}:{text}"),
            Request::Edit { to, id, text } => write!(f, "EDIT:{to}:{id}:{text}"),
            Request::Delete { to, id, author: None } => write!(f, "DELETE:{to}:{id}"),
            Request::Delete { to, id, author: Some(author) } => write!(f, "DELETE:{to}:{id}:{author}"),
            Request::React { to, id, emoji } => write!(f, "REACT:{to}:{id}:{emoji}"),
            Request::Search { scope, query } => write!(f, "SEARCH:{scope}:{query}"),
            Request::Devices => f.write_str("DEVICES"),
            Request::Unlink { device } => write!(f, "UNLINK:{device}"),
            Request::Link => f.write_str("LINK"),
            Request::Info => f.write_str("INFO"),
            Request::Passwd { old, new, keep: false } => write!(f, "PASSWD:{old}:{new}"),
            Request::Passwd { old, new, keep: true } => write!(f, "PASSWDKEEP:{old}:{new}"),
            Request::DelAccount { password } => write!(f, "DELACCOUNT:{password}"),
            Request::Upload { name, size, sha256 } => write!(f, "UPLOAD:{name}:{size}:{sha256}"),
            Request::Part { file, offset, data } => write!(f, "PART:{file}:{offset}:{}", files::encode(data)),
            Request::File { to, id, file, caption } => {
                write!(f, "FILE:{to}:{id}:{file}:{}", caption.as_ref().map_or("", |c| c.as_escaped()))
            }
            Request::Fetch { file, offset } => write!(f, "FETCH:{file}:{offset}"),
            Request::Ping => f.write_str("PING"),
            Request::Quit => f.write_str("QUIT"),
            Request::Block { user } => write!(f, "BLOCK:{user}"),
            Request::Unblock { user } => write!(f, "UNBLOCK:{user}"),
            Request::Blocks => f.write_str("BLOCKS"),
            Request::Notify { chat, level } => write!(f, "NOTIFY:{chat}:{level}"),
            Request::Pin { chat, pinned: true } => write!(f, "PIN:{chat}"),
            Request::Pin { chat, pinned: false } => write!(f, "UNPIN:{chat}"),
            Request::Prefs => f.write_str("PREFS"),
            Request::Files => f.write_str("FILES"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> String {
        let ko = Request::parse(line).unwrap_err();
        assert_eq!(ko.code, Code::BadRequest, "{line}");
        ko.reason
    }

    #[test]
    fn last_field_takes_the_rest() {
        let r = Request::parse("LOGIN:ana:pa:ss:word").unwrap();
        assert_eq!(r, Request::Login { user: "ana".into(), device: None, password: "pa:ss:word".into() });
        let r = Request::parse("LOGIN:ana@lab-3:pa:ss").unwrap();
        let device = Some("lab-3".to_string());
        assert_eq!(r, Request::Login { user: "ana".into(), device, password: "pa:ss".into() });
        let r = Request::parse("MSG:#general:m1:time: 10:30").unwrap();
        let Request::Msg { to, text, .. } = r else { panic!() };
        assert_eq!((to, text.as_escaped()), (Chat::Room("general".into()), "time: 10:30"));
    }

    #[test]
    fn every_request_round_trips() {
        for line in [
            "LOGIN:ana:secret",
            "LOGIN:ana@laptop:s:e:c",
            "LOGIN:ana@default:secret",
            "PAIR:ana@browser:k7qm9pzrtw",
            "DEVICES",
            "UNLINK:laptop",
            "LINK",
            "REGISTER:ana::secret",
            "REGISTER:ana:ana@example.org:s:e:c",
            "REDEEM:k7qmx-9pzrt-w4abc:ana::s:e:c",
            "MSG:bob:m-1:hello\\nworld",
            "READ:bob:m1",
            "READ:#general:m1",
            "USERS",
            "JOIN:#Room.1",
            "LEAVE:#general",
            "ROOMS",
            "CHATS",
            "HISTORY:bob:20",
            "HISTORY:#general:0",
            "P2P:9000",
            "PEER:bob",
            "LASTSEEN:bob",
            "MEMBERS:#general",
            "SERVER",
            "TYPING:bob",
            "TYPING:#general",
            "KICK:#lab3:bob",
            "MUTE:#lab3:bob:10",
            "TOPIC:#lab3:week 2: sockets",
            "ROOMINFO:#lab3",
            "REPLY:bob:m2:m1:yes\\nindeed",
            "EDIT:#general:m1:fixed: typo",
            "DELETE:bob:m1",
            "DELETE:#lab3:m1:bob",
            "REACT:#general:m1:👍",
            "SEARCH:*:café au lait",
            "SEARCH:#general:x",
            "INFO",
            "PASSWD:old-pw:new:pw",
            "PASSWDKEEP:old-pw:new-pw",
            "DELACCOUNT:my:pw",
            "UPLOAD:lab3.pdf:250880:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "PART:0123456789abcdef0123456789abcdef:12000:aGVsbG8=",
            "FILE:#lab3:m9:0123456789abcdef0123456789abcdef:the handout: week 3",
            "FILE:bob:m9:0123456789abcdef0123456789abcdef:",
            "FETCH:0123456789abcdef0123456789abcdef-t:0",
            "PING",
            "QUIT",
            "BLOCK:bob",
            "UNBLOCK:bob",
            "BLOCKS",
            "NOTIFY:bob:none",
            "NOTIFY:#lab3:mentions",
            "PIN:#lab3",
            "UNPIN:bob",
            "PREFS",
            "FILES",
        ] {
            assert_eq!(Request::parse(line).unwrap().to_string(), line);
        }
    }

    #[test]
    fn bad_requests_say_why() {
        assert!(reason("LOGIN:ana").contains("LOGIN:<user>:<password>"));
        assert!(reason("LOGIN:ana@:pw").contains("bad device name"));
        assert!(reason("LOGIN:ana@a@b:pw").contains("bad device name"));
        assert!(reason("LOGIN:@laptop:pw").contains("bad user name"));
        assert!(reason("PAIR:ana:code").contains("PAIR:<user>@<device>:<code>"));
        assert!(reason("PAIR:ana@x:a/b").contains("bad link code"));
        assert!(reason("PAIR:ana@x:").contains("bad link code"));
        assert!(reason("UNLINK:").contains("bad device name"));
        assert!(reason("DEVICES:x").contains("takes no fields"));
        assert!(reason("LINK:x").contains("takes no fields"));
        assert!(reason("LOGIN:ana:").contains("password is empty"));
        assert!(reason("LOGIN:a b:pw").contains("bad user name"));
        assert!(reason("REGISTER:ana:not-an-email:pw").contains("bad email"));
        assert!(reason("REDEEM:code:ana:pw").contains("REDEEM:<code>:<user>:<email>:<password>"));
        assert!(reason("REDEEM:a/b:ana::pw").contains("bad invite code"));
        assert!(reason("MSG:bob:m1:").contains("empty"));
        assert!(reason("MSG:bob:m.1:hi").contains("message id"));
        assert!(reason("MSG:bob:m1:a\\qb").contains("bad escape"));
        assert_eq!(reason("MSG:bob:m1:a\rb"), "a text may not hold U+000D (carriage return)");
        assert_eq!(reason("MSG:#general:m1:\u{1b}[2J"), "a text may not hold U+001B (escape)");
        assert_eq!(reason("MSG:bob:m1:a\u{2028}b"), "a text may not hold U+2028 (line separator)");
        assert!(Request::parse("MSG:bob:m1:a\tb\\nc").is_ok());
        assert!(reason("HISTORY:bob:lots").contains("number"));
        assert!(reason("HISTORY:bob:-1").contains("number"));
        assert!(reason("HISTORY:bob:").contains("number"));
        assert!(reason("JOIN:general").contains("starts with '#'"));
        assert!(reason("P2P:0").contains("bad port"));
        assert!(reason("LASTSEEN:a b").contains("bad user name"));
        assert!(reason("MEMBERS:general").contains("starts with '#'"));
        assert!(reason("REACT:bob:m1:🦀").contains("not a reaction"));
        assert!(reason(&format!("EDIT:bob:{}:x", "m".repeat(60))).contains("at most 52"));
        assert!(reason("DELETE:bob").contains("DELETE:<to>:<id>"));
        assert!(reason("DELETE:#lab3:m1:a b").contains("bad user name"));
        assert!(reason("DELETE:#lab3:m1:").contains("bad user name"));
        assert!(reason("SEARCH:*: ").contains("nothing to search"));
        assert!(reason("EDIT:bob:m1:a\u{1b}b").contains("U+001B"));
        assert!(reason("PING:now").contains("takes no fields"));
        assert!(reason("BLOCKS:x").contains("takes no fields"));
        assert!(reason("BLOCK:a b").contains("bad user name"));
        assert!(reason("NOTIFY:bob:loud").contains("all, mentions or none"));
        assert!(reason("NOTIFY:bob").contains("NOTIFY:<user or #room>"));
        assert!(reason("PIN:#").contains("bad room name"));
        assert!(reason("SERVER:x").contains("takes no fields"));
        assert!(reason("HELLO").contains("unknown request"));
        assert!(reason("").contains("empty"));
        assert!(reason("msg:bob:1:hi").contains("unknown request"));
        assert!(reason("UPLOAD:../x:1:ab").contains("bad file name"));
        assert!(reason(&format!("UPLOAD:x:big:{}", "a".repeat(64))).contains("size must be a number"));
        assert!(reason("UPLOAD:x:1:ab").contains("sha256"));
        assert!(reason("PART:abc:0:aGk=").contains("bad file id"));
        assert!(reason("FETCH:x/../y:0").contains("bad file id"));
    }

    #[test]
    fn a_history_limit_past_the_largest_integer_is_refused_as_too_large_not_as_no_number() {
        for line in ["HISTORY:#general:99999999999999999999999", &format!("HISTORY:bob:{}", u128::MAX)] {
            let why = reason(line);
            assert_eq!(why, "the limit must be at most 18446744073709551615", "{line}");
        }
        let largest = Request::parse(&format!("HISTORY:bob:{}", usize::MAX)).unwrap();
        assert_eq!(largest, Request::History { chat: Chat::User("bob".into()), limit: usize::MAX });
    }

    #[test]
    fn redacted_hides_passwords() {
        let r = Request::parse("REGISTER:ana:a@b.c:hunter2").unwrap();
        assert_eq!(r.redacted(), "REGISTER:ana:a@b.c:***");
        assert!(!format!("{:?}", r.redacted()).contains("hunter2"));
        let r = Request::parse("REDEEM:c-1:ana::hunter2").unwrap();
        assert_eq!(r.redacted(), "REDEEM:c-1:ana::***");
        let r = Request::parse("LOGIN:ana@tui:0123abcd").unwrap();
        assert_eq!(r.redacted(), "LOGIN:ana@tui:***");
        let r = Request::parse("PAIR:ana@tui:k7qm9pzrtw").unwrap();
        assert_eq!(r.redacted(), "PAIR:ana@tui:***");
    }
}
