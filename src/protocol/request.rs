//! Requests on the send port (protocol §3 and §4): the type, `parse` and
//! `Display`. `LASTSEEN`, `MEMBERS` and `SERVER` are additions of protocol
//! 1.1 (docs/PROTOCOL.md §11): a version-1 client never sends them, so it
//! sees no difference. `REDEEM` is an addition of 1.2 (§14), a first frame.
//! Devices (1.2, §16): `LOGIN:<user>@<device>:<secret>`, `DEVICES`,
//! `UNLINK`, `LINK`, and `PAIR`, a first frame that trades a link code for
//! a device token.
//!
//! - this file: [`Request`], one variant a request; [`Request::parse`],
//!   which sends a frame to its family's grammar by its command word (the
//!   whole set of words on one screen); and `Display`, which writes a
//!   frame back, byte for byte what `parse` read;
//! - [`grammar`]: each family's grammar, one `match` arm a request;
//! - [`fields`]: the checks of one field (a name, an id, a chat, …).

mod fields;
mod grammar;
#[cfg(test)]
mod tests;

use std::fmt;

pub use fields::check_email;

use super::moderation::{Action, ActionFrame, REQUEST_WORDS};
use super::{Chat, Ko, Text, account, files};

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
    /// 1.2 (§21): the file the message `id` of `from` in `chat` carries
    /// (`chat`: a `#room`, or the other user of a direct chat), for a
    /// message known from `HISTORY` only.
    FileOf {
        chat: Chat,
        from: String,
        id: String,
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
    /// 1.2 (§23): `ARCHIVE:<chat>` (at most
    /// [`MAX_ARCHIVED`](super::prefs::MAX_ARCHIVED)) or `UNARCHIVE:<chat>`
    /// (`archived` false): the chat is filed away on every device.
    Archive {
        chat: Chat,
        archived: bool,
    },
    /// 1.2 (§23): `ARCHIVED`: the chats you archived, one a line.
    Archived,
    /// 1.2 (§21): `FILES`, your complete files and the messages that
    /// carry them (`wachat export`).
    Files,
}

/// The word before the first `:` of a frame (`MSG` in `MSG:bob:1:hi`).
pub fn command_word(line: &str) -> &str {
    line.split(':').next().unwrap_or("")
}

/// Most lines of a `SEARCH`'s reply (1.2).
pub const MAX_SEARCH_RESULTS: usize = 50;

/// Most bytes of a `SEARCH`'s words.
pub const MAX_QUERY: usize = 200;

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

impl Request {
    /// Parses one frame (without its `\n`). Every failure is a
    /// `KO:BAD_REQUEST` whose reason says what was expected.
    ///
    /// Each command word goes to its family's grammar, in
    /// [`grammar`]: find a request's word here, and its arm is in the
    /// function named beside it.
    pub fn parse(line: &str) -> Result<Request, Ko> {
        match command_word(line) {
            "LOGIN" | "REGISTER" | "REDEEM" | "PAIR" => grammar::first_frame(line),
            "MSG" | "READ" | "JOIN" | "LEAVE" | "HISTORY" | "P2P" | "PEER" | "LASTSEEN" | "MEMBERS" => {
                grammar::conversation(line)
            }
            "TYPING" | "REPLY" | "EDIT" | "DELETE" | "REACT" | "SEARCH" => grammar::message_action(line),
            word if word == "ROOMINFO" || REQUEST_WORDS.contains(&word) => grammar::room_request(line),
            account::PASSWD | account::PASSWD_KEEP | account::DELACCOUNT | "UNLINK" => {
                grammar::account_request(line)
            }
            "UPLOAD" | "PART" | "FILE" | "FETCH" | "FILEOF" => grammar::file_request(line),
            "BLOCK" | "UNBLOCK" | "NOTIFY" | "PIN" | "UNPIN" | "ARCHIVE" | "UNARCHIVE" => {
                grammar::preference(line)
            }
            "USERS" | "ROOMS" | "CHATS" | "SERVER" | "DEVICES" | "LINK" | "INFO" | "PING" | "QUIT"
            | "BLOCKS" | "PREFS" | "FILES" | "ARCHIVED" => grammar::bare(line),
            other => Err(grammar::unknown(other)),
        }
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
            Request::FileOf { chat, from, id } => write!(f, "FILEOF:{chat}:{from}:{id}"),
            Request::Ping => f.write_str("PING"),
            Request::Quit => f.write_str("QUIT"),
            Request::Block { user } => write!(f, "BLOCK:{user}"),
            Request::Unblock { user } => write!(f, "UNBLOCK:{user}"),
            Request::Blocks => f.write_str("BLOCKS"),
            Request::Notify { chat, level } => write!(f, "NOTIFY:{chat}:{level}"),
            Request::Pin { chat, pinned: true } => write!(f, "PIN:{chat}"),
            Request::Pin { chat, pinned: false } => write!(f, "UNPIN:{chat}"),
            Request::Prefs => f.write_str("PREFS"),
            Request::Archive { chat, archived: true } => write!(f, "ARCHIVE:{chat}"),
            Request::Archive { chat, archived: false } => write!(f, "UNARCHIVE:{chat}"),
            Request::Archived => f.write_str("ARCHIVED"),
            Request::Files => f.write_str("FILES"),
        }
    }
}
