//! Requests on the send port (protocol §3 and §4): everything of a
//! request's wire form, in this one file. `LASTSEEN`, `MEMBERS` and
//! `SERVER` are additions of protocol 1.1 (docs/PROTOCOL.md §11): a
//! version-1 client never sends them, so it sees no difference. `REDEEM`
//! is an addition of 1.2 (§14), a first frame. Devices (1.2, §16):
//! `LOGIN:<user>@<device>:<secret>`, `DEVICES`, `UNLINK`, `LINK`, and
//! `PAIR`, a first frame that trades a link code for a device token.
//!
//! A request is written in three places of this file, read top to bottom:
//!
//! - [`Request`], one variant a request, with what it means;
//! - [`Request::parse`], which sends a frame to its family's grammar by
//!   its command word (the whole set of words on one screen), and the
//!   families at the end of the file (`conversation`, `message_action`,
//!   …), one `match` arm a request;
//! - `Display`, which writes a frame back, byte for byte what `parse` read.
//!
//! `fields` holds the checks of one field (a name, an id, a chat, …)
//! that the families share, and the search's [`Scope`]. (The families
//! share this file: a file apart for each, a new request would touch two
//! files of the protocol instead of one. This file is the longest of the
//! protocol, about 600 lines, and it is a table: one arm a request in each
//! part.)

mod fields;
#[cfg(test)]
mod tests;

use std::fmt;
use std::num::IntErrorKind;

pub use fields::{MAX_PEOPLE, MAX_QUERY, MAX_SEARCH_RESULTS, Scope, check_email};
use fields::{
    account, bad, chat, device, email, fields, id, password, query, room, sent_id, target, user, user_at,
};

use super::action::{MAX_REACTION_BYTES, is_reaction};
use super::call::Signal;
use super::moderation::{ActionFrame, ModAction, REQUEST_WORDS};
use super::names::{check_id, check_name, check_user};
use super::page::Start;
use super::{Chat, Ko, Text, account, files, split_fields, truncate};

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
    /// `HISTORY:<chat>:<limit>`, or (1.2) `HISTORY:<chat>:<limit>:<start>`:
    /// a page, read back from `start` ([`page`](super::page)).
    History {
        chat: Chat,
        limit: usize,
        page: Option<Start>,
    },
    P2p {
        port: u16,
    },
    /// `PEER:<user>`; 1.3: an address names a user of another server,
    /// which P2P does not reach (`KO:BAD_REQUEST`, said so).
    Peer {
        user: String,
    },
    /// 1.1: is `user` online, and if not, since when; 1.3: `user` may be
    /// an address (`bob@lab2`), as its server said.
    LastSeen {
        user: String,
    },
    /// 1.1: the members of a room you are in, each online or last seen.
    Members {
        room: String,
    },
    /// 1.2: the people whose names start with `prefix` (ignoring case),
    /// among the members of your rooms, each online or last seen: a
    /// "new chat" box's suggestions.
    People {
        prefix: String,
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
        action: ModAction,
    },
    /// 1.2: `ROOMINFO:<#room>`: owner, admins, modes, topic, and your own
    /// role, mute or ban.
    RoomInfo {
        room: String,
    },
    /// 1.2 (§31): `RECEIPTS:<#room>:<id>`: who of the room has your
    /// message `id` delivered, and who read it.
    Receipts {
        room: String,
        id: String,
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
    /// that author's message `id` in the room (1.3: an author of another
    /// server, `bob@lab2`, in a room homed here).
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
    /// `UNLINK:<device>:<password>` (1.2, §16) gives the password again: a
    /// session logged in with a device's token must, to unlink another.
    Unlink {
        device: String,
        password: Option<String>,
    },
    /// 1.2: a one-time code with which a new device gets a token
    /// (`PAIR`). `LINK:<password>` (1.2, §16) gives the password again: a
    /// session logged in with a device's token must.
    Link {
        password: Option<String>,
    },
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
    /// (`PASSWDKEEP`). See [`super::account`].
    Passwd {
        old: String,
        new: String,
        keep: bool,
    },
    /// 1.2 (§20): deletes the account, once `password` is checked. See
    /// [`super::account`] and `server::accounts`.
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
    /// your presence stop, without telling them. 1.3: `BLOCK:@<server>`,
    /// the direct messages of every user of that server.
    Block {
        user: String,
    },
    /// `UNBLOCK:<user>`: what they send from now on reaches you again.
    /// (1.3: `<user>` may be an address, `bob@lab2`, for both.)
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
    /// 1.2 (§29): `MARK:<chat>` (at most
    /// [`MAX_MARKED`](super::prefs::MAX_MARKED)) or `UNMARK:<chat>`
    /// (`marked` false): the chat shows as unread on every device.
    Mark {
        chat: Chat,
        marked: bool,
    },
    /// 1.2 (§29): `MARKED`: the chats you marked unread, one a line.
    Marked,
    /// 1.2 (§29): `HIDE:<chat>` (at most
    /// [`MAX_HIDDEN`](super::prefs::MAX_HIDDEN)): "Delete chat", for you
    /// only: every device of yours hides the chat up to now.
    Hide {
        chat: Chat,
    },
    /// 1.2 (§29): `HIDDEN`: the chats you deleted, `<chat>:<ts>` a line.
    Hidden,
    /// 1.2 (§25): `STAR:<chat>:<from>:<id>` or `UNSTAR:<chat>:<from>:<id>`
    /// (`starred` false): `from`'s message `id` of `chat` is starred (or
    /// no more) on every device; 1.3: `from` may be an address, a
    /// message from another server.
    Star {
        chat: Chat,
        from: String,
        id: String,
        starred: bool,
    },
    /// 1.2 (§25): `STARRED`: your starred messages, as `HISTORY` lines.
    Starred,
    /// 1.2 (§21): `FILES`, your complete files and the messages that
    /// carry them (`wachat export`).
    Files,
    /// 1.2 (§24): `CALL:<peer>:<call id>:<signal>`: a voice or video
    /// call's offer, answer, ICE candidate, decline or hang-up, relayed to
    /// `peer` (a user: a room is not callable) as a `CALL` event.
    Call {
        peer: String,
        id: String,
        signal: Signal,
    },
    /// 1.2 (§24): `TURN` or `TURN:<peer>`: short-lived credentials for
    /// the TURN server (`wachat serve --turn`), `OK` alone if it has none;
    /// for a call ringing or going on, or about to be offered to `peer`.
    Turn {
        peer: Option<String>,
    },
    /// 1.2 (§32): `GROUPCALL:<#room>:<what>:…`: a room's call started,
    /// joined, declined or left, or a signal to one member in it.
    GroupCall {
        room: String,
        action: super::group_call::GroupRequest,
    },
    /// 1.2 (§32): `GROUPCALLS`: the calls going on in your rooms.
    GroupCalls,
    /// 1.2 (§28): `PUSHKEY`: the server's VAPID public key (base64url),
    /// which a browser subscribes to its push service with.
    PushKey,
    /// 1.2 (§28): `PUSH:<p256dh>:<auth>:<endpoint>`, this device's Web
    /// Push subscription (a new one replaces it), or `PUSH:OFF` (`None`):
    /// none any more.
    Push {
        subscription: Option<PushSubscription>,
    },
    /// 1.2 (§28): `PREVIEWS:ON` / `PREVIEWS:OFF`: whether your pushes show
    /// a message's sender and text, or "New message"; for every device.
    Previews {
        on: bool,
    },
    /// 1.2 (§30): your display name and photo, others', and your privacy:
    /// `NAME`, `PHOTO`, `PROFILE`, `PROFILES`, `PHOTOOF`, `PRIVACY`.
    Profile(super::profile::ProfileRequest),
}

/// A browser's Web Push subscription as `PUSH` carries it: its two keys in
/// base64url, checked for their form here and as keys by the server
/// (`server::push::crypto::UaKeys`), and its endpoint, last since a url
/// holds colons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscription {
    pub p256dh: String,
    pub auth: String,
    pub endpoint: String,
}

/// The word before the first `:` of a frame (`MSG` in `MSG:bob:1:hi`).
pub fn command_word(line: &str) -> &str {
    // A byte scan: the word is a few bytes long, and it is looked up as
    // many as three times a request (`parse`, its family's grammar, its
    // row), where `split`'s searcher cost more to set up than to run.
    let end = line.bytes().position(|b| b == b':').unwrap_or(line.len());
    &line[..end]
}

impl Request {
    /// Parses one frame (without its `\n`). Every failure is a
    /// `KO:BAD_REQUEST` whose reason says what was expected.
    ///
    /// Each command word goes to its family's grammar, in
    /// the match below: find a request's word here, and its arm is in the
    /// function named beside it.
    pub fn parse(line: &str) -> Result<Request, Ko> {
        match command_word(line) {
            "LOGIN" | "REGISTER" | "REDEEM" | "PAIR" => first_frame(line),
            "MSG" | "READ" | "JOIN" | "LEAVE" | "HISTORY" | "P2P" | "PEER" | "LASTSEEN" | "MEMBERS"
            | "PEOPLE" => conversation(line),
            "TYPING" | "REPLY" | "EDIT" | "DELETE" | "REACT" | "SEARCH" => message_action(line),
            word if word == "ROOMINFO" || word == "RECEIPTS" || REQUEST_WORDS.contains(&word) => {
                room_request(line)
            }
            account::PASSWD | account::PASSWD_KEEP | account::DELACCOUNT | "UNLINK" | account::LINK => {
                account_request(line)
            }
            "UPLOAD" | "PART" | "FILE" | "FETCH" | "FILEOF" => file_request(line),
            "BLOCK" | "UNBLOCK" | "NOTIFY" | "PIN" | "UNPIN" | "ARCHIVE" | "UNARCHIVE" | "STAR"
            | "UNSTAR" | "MARK" | "UNMARK" | "HIDE" => preference(line),
            "CALL" | "TURN" => call_request(line),
            "GROUPCALL" => group_call_request(line),
            "PUSHKEY" | "PUSH" | "PREVIEWS" => push_request(line),
            word if super::profile::WORDS.contains(&word) => {
                super::profile::ProfileRequest::parse(line).map(Request::Profile)
            }
            "USERS" | "ROOMS" | "CHATS" | "SERVER" | "DEVICES" | "INFO" | "PING" | "QUIT" | "BLOCKS"
            | "PREFS" | "FILES" | "ARCHIVED" | "STARRED" | "MARKED" | "HIDDEN" | "GROUPCALLS" => bare(line),
            other => Err(unknown(other)),
        }
    }

    /// True if this request is answered with a listing, `OK:<n>` and `n`
    /// lines (or a `KO`): only who sent it can tell such a head from an
    /// `OK:<fields>` (see `Reply::parse`). Every request is named here, so
    /// that a new one must say which it is; the browser's copy
    /// (`web/wire.js`, `LISTINGS`) is checked against it by
    /// tests/protocol/listings.rs, and a real server's answers too.
    pub fn lists(&self) -> bool {
        match self {
            Request::Users
            | Request::People { .. }
            | Request::Rooms
            | Request::Chats
            | Request::Members { .. }
            | Request::Devices
            | Request::Info
            | Request::History { .. }
            | Request::Search { .. }
            | Request::RoomInfo { .. }
            | Request::Receipts { .. }
            | Request::Blocks
            | Request::Prefs
            | Request::Archived
            | Request::Marked
            | Request::Hidden
            | Request::Files
            | Request::Starred
            | Request::GroupCalls => true,
            Request::Profile(p) => p.lists(),
            Request::Login { .. }
            | Request::Register { .. }
            | Request::Redeem { .. }
            | Request::Msg { .. }
            | Request::Read { .. }
            | Request::Join { .. }
            | Request::Leave { .. }
            | Request::Peer { .. }
            | Request::P2p { .. }
            | Request::LastSeen { .. }
            | Request::Server
            | Request::Typing { .. }
            | Request::Moderate { .. }
            | Request::Reply { .. }
            | Request::Edit { .. }
            | Request::Delete { .. }
            | Request::React { .. }
            | Request::Unlink { .. }
            | Request::Link { .. }
            | Request::Pair { .. }
            | Request::Passwd { .. }
            | Request::DelAccount { .. }
            | Request::Upload { .. }
            | Request::Part { .. }
            | Request::File { .. }
            | Request::Fetch { .. }
            | Request::FileOf { .. }
            | Request::Ping
            | Request::Quit
            | Request::Block { .. }
            | Request::Unblock { .. }
            | Request::Notify { .. }
            | Request::Pin { .. }
            | Request::Archive { .. }
            | Request::Star { .. }
            | Request::Call { .. }
            | Request::Turn { .. }
            | Request::GroupCall { .. }
            | Request::PushKey
            | Request::Push { .. }
            | Request::Previews { .. }
            | Request::Mark { .. }
            | Request::Hide { .. } => false,
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
            Request::Link { password: Some(_) } => "LINK:***".into(),
            Request::Unlink { device, password: Some(_) } => format!("UNLINK:{device}:***"),
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
            Request::History { chat, limit, page: None } => write!(f, "HISTORY:{chat}:{limit}"),
            Request::History { chat, limit, page: Some(start) } => {
                write!(f, "HISTORY:{chat}:{limit}:{start}")
            }
            Request::P2p { port } => write!(f, "P2P:{port}"),
            Request::Peer { user } => write!(f, "PEER:{user}"),
            Request::LastSeen { user } => write!(f, "LASTSEEN:{user}"),
            Request::Members { room } => write!(f, "MEMBERS:#{room}"),
            Request::People { prefix } => write!(f, "PEOPLE:{prefix}"),
            Request::Server => f.write_str("SERVER"),
            Request::Typing { to } => write!(f, "TYPING:{to}"),
            Request::Moderate { room, action } => ActionFrame(room, action).fmt(f),
            Request::RoomInfo { room } => write!(f, "ROOMINFO:#{room}"),
            Request::Receipts { room, id } => write!(f, "RECEIPTS:#{room}:{id}"),
            Request::Reply { to, id, re, text } => write!(f, "REPLY:{to}:{id}:{re}:{text}"),
            Request::Edit { to, id, text } => write!(f, "EDIT:{to}:{id}:{text}"),
            Request::Delete { to, id, author: None } => write!(f, "DELETE:{to}:{id}"),
            Request::Delete { to, id, author: Some(author) } => write!(f, "DELETE:{to}:{id}:{author}"),
            Request::React { to, id, emoji } => write!(f, "REACT:{to}:{id}:{emoji}"),
            Request::Search { scope, query } => write!(f, "SEARCH:{scope}:{query}"),
            Request::Devices => f.write_str("DEVICES"),
            Request::Unlink { device, password: None } => write!(f, "UNLINK:{device}"),
            Request::Unlink { device, password: Some(password) } => write!(f, "UNLINK:{device}:{password}"),
            Request::Link { password: None } => f.write_str("LINK"),
            Request::Link { password: Some(password) } => write!(f, "LINK:{password}"),
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
            Request::Mark { chat, marked: true } => write!(f, "MARK:{chat}"),
            Request::Mark { chat, marked: false } => write!(f, "UNMARK:{chat}"),
            Request::Marked => f.write_str("MARKED"),
            Request::Hide { chat } => write!(f, "HIDE:{chat}"),
            Request::Hidden => f.write_str("HIDDEN"),
            Request::Star { chat, from, id, starred: true } => write!(f, "STAR:{chat}:{from}:{id}"),
            Request::Star { chat, from, id, starred: false } => write!(f, "UNSTAR:{chat}:{from}:{id}"),
            Request::Starred => f.write_str("STARRED"),
            Request::Files => f.write_str("FILES"),
            Request::Call { peer, id, signal } => write!(f, "CALL:{peer}:{id}:{signal}"),
            Request::Turn { peer: None } => f.write_str("TURN"),
            Request::Turn { peer: Some(peer) } => write!(f, "TURN:{peer}"),
            Request::GroupCall { room, action } => write!(f, "GROUPCALL:#{room}:{action}"),
            Request::GroupCalls => f.write_str("GROUPCALLS"),
            Request::PushKey => f.write_str("PUSHKEY"),
            Request::Push { subscription: None } => f.write_str("PUSH:OFF"),
            Request::Push { subscription: Some(s) } => {
                write!(f, "PUSH:{}:{}:{}", s.p256dh, s.auth, s.endpoint)
            }
            Request::Previews { on: true } => f.write_str("PREVIEWS:ON"),
            Request::Previews { on: false } => f.write_str("PREVIEWS:OFF"),
            Request::Profile(p) => p.fmt(f),
        }
    }
}

// ----- The grammar, by family: each function below takes the frames of
// one family (the words `Request::parse` sends it) and is one `match` on
// the command word, each arm splitting a fixed number of fields (the last
// takes the rest of the line) and checking each field (`fields`). Nothing
// here touches a socket; every error is a `KO:BAD_REQUEST` that says what
// was expected.

/// `KO:BAD_REQUEST` for a word no request has. A family answers it too
/// for a word that is not its own, which `Request::parse` never sends it.
fn unknown(word: &str) -> Ko {
    Ko::unknown_request(word)
}

/// The first frames of a send connection: `LOGIN`, `REGISTER`, and (1.2)
/// `REDEEM` and `PAIR`.
fn first_frame(line: &str) -> Result<Request, Ko> {
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
            Request::Pair { user: account(name)?, device: device(dev)?, code }
        }
        "REGISTER" => {
            let f = fields(line, 4, "REGISTER:<user>:<email>:<password>")?;
            Request::Register { user: account(f[1])?, email: email(f[2])?, password: password(f[3])? }
        }
        "REDEEM" => {
            let f = fields(line, 5, "REDEEM:<code>:<user>:<email>:<password>")?;
            let code = f[1].to_string();
            check_id(&code).map_err(|_| bad(format!("bad invite code {:?}", truncate(&code, 64))))?;
            Request::Redeem { code, user: account(f[2])?, email: email(f[3])?, password: password(f[4])? }
        }
        other => return Err(unknown(other)),
    })
}

/// The conversations of version 1.0 (`MSG`, `READ`, `JOIN`, `LEAVE`,
/// `HISTORY`, `P2P`, `PEER`), of 1.1 (`LASTSEEN`, `MEMBERS`) and of 1.2
/// (`PEOPLE`).
fn conversation(line: &str) -> Result<Request, Ko> {
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
            // 1.2: a fourth field is where a page starts (a limit holds no `:`).
            let f = match split_fields(line, 4) {
                Some(f) => f,
                None => fields(line, 3, "HISTORY:<peer or #room>:<limit>")?,
            };
            let page = f.get(3).map(|start| Start::parse(start).map_err(bad)).transpose()?;
            // A number past 2^64 − 1 is refused with version 1's code,
            // saying why: it is a number, only too large.
            let limit = f[2].parse::<usize>().map_err(|e| match e.kind() {
                IntErrorKind::PosOverflow => bad(format!("the limit must be at most {}", usize::MAX)),
                _ => bad(format!("the limit must be a number, not {:?}", f[2])),
            })?;
            Request::History { chat: chat(f[1])?, limit, page }
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
        // A name's start is a name's shape: 1 to 32 of its characters.
        "PEOPLE" => {
            let f = fields(line, 2, "PEOPLE:<the start of a user name>")?;
            // 1.3 (§27): `<start>@<server>` asks another server; whether
            // this server knows it is the server's to say.
            check_user(f[1]).map_err(|e| bad(format!("bad start of a name: {e}")))?;
            Request::People { prefix: f[1].to_string() }
        }
        other => return Err(unknown(other)),
    })
}

/// 1.2: what a user does to a message or a chat besides sending it:
/// `TYPING`, `REPLY`, `EDIT`, `DELETE`, `REACT`, `SEARCH`.
fn message_action(line: &str) -> Result<Request, Ko> {
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
            if !is_reaction(f[3]) {
                return Err(bad(format!(
                    "{:?} is not a reaction: one emoji (one character as shown, at most {MAX_REACTION_BYTES} bytes)",
                    truncate(f[3], 16)
                )));
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
/// [`crate::protocol::moderation::REQUEST_WORDS`], parsed
/// by [`ModAction::parse`]) and `ROOMINFO`.
fn room_request(line: &str) -> Result<Request, Ko> {
    if command_word(line) == "ROOMINFO" {
        return Ok(Request::RoomInfo { room: room(fields(line, 2, "ROOMINFO:<#room>")?[1])? });
    }
    if command_word(line) == "RECEIPTS" {
        let f = fields(line, 3, "RECEIPTS:<#room>:<id>")?;
        return Ok(Request::Receipts { room: room(f[1])?, id: target(f[2])? });
    }
    let (room, action) = ModAction::parse(line)?;
    Ok(Request::Moderate { room, action })
}

/// 1.2: the account and its devices: `PASSWD`, `PASSWDKEEP` and
/// `DELACCOUNT` (§20, see [`account`](mod@account)), `UNLINK` and `LINK` (§16).
fn account_request(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        account::PASSWD | account::PASSWD_KEEP => {
            let (old, new, keep) = account::parse_passwd(line)?;
            Request::Passwd { old, new, keep }
        }
        account::DELACCOUNT => Request::DelAccount { password: account::parse_delaccount(line)? },
        account::LINK => Request::Link { password: account::parse_link(line)? },
        "UNLINK" => {
            let (device, password) = account::parse_unlink(line)?;
            Request::Unlink { device: fields::device(device)?, password }
        }
        other => return Err(unknown(other)),
    })
}

/// 1.2 (§21): `UPLOAD`, `PART`, `FILE`, `FETCH` and `FILEOF`.
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
        "FETCH" => {
            let f = fields(line, 3, "FETCH:<file id>:<offset>")?;
            files::split_thumb(f[1]).map_err(bad)?;
            Request::Fetch { file: f[1].to_string(), offset: number(f[2], "offset")? }
        }
        "FILEOF" => {
            let f = fields(line, 4, "FILEOF:<#room or user>:<from>:<id>")?;
            if f[2].starts_with('#') {
                return Err(bad("FILEOF's <from> is a user, not a #room"));
            }
            Request::FileOf { chat: chat(f[1])?, from: user(f[2])?, id: id(f[3])? }
        }
        other => return Err(unknown(other)),
    })
}

/// Whom a `BLOCK` or `UNBLOCK` names: a user, or (1.3, §27) a whole
/// server of the class network, `@<server>`.
fn blocked(field: &str) -> Result<String, Ko> {
    match field.strip_prefix('@') {
        Some(server) => {
            check_name(server).map_err(|e| bad(format!("bad server name: {e}")))?;
            Ok(field.to_string())
        }
        None => user(field),
    }
}

/// 1.2 (§22, §23, §25, §29): blocks and chat preferences: `BLOCK`,
/// `UNBLOCK`, `NOTIFY`, `PIN`, `UNPIN`, `ARCHIVE`, `UNARCHIVE`, `MARK`,
/// `UNMARK`, `HIDE`; and stars, `STAR`, `UNSTAR`.
fn preference(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "BLOCK" => Request::Block { user: blocked(fields(line, 2, "BLOCK:<user or @server>")?[1])? },
        "UNBLOCK" => Request::Unblock { user: blocked(fields(line, 2, "UNBLOCK:<user or @server>")?[1])? },
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
        "MARK" => Request::Mark { chat: chat(fields(line, 2, "MARK:<user or #room>")?[1])?, marked: true },
        "UNMARK" => {
            Request::Mark { chat: chat(fields(line, 2, "UNMARK:<user or #room>")?[1])?, marked: false }
        }
        "HIDE" => Request::Hide { chat: chat(fields(line, 2, "HIDE:<user or #room>")?[1])? },
        "STAR" | "UNSTAR" => {
            let starred = command_word(line) == "STAR";
            let what = if starred {
                "STAR:<user or #room>:<from>:<id>"
            } else {
                "UNSTAR:<user or #room>:<from>:<id>"
            };
            let f = fields(line, 4, what)?;
            Request::Star { chat: chat(f[1])?, from: user(f[2])?, id: id(f[3])?, starred }
        }
        other => return Err(unknown(other)),
    })
}

/// The requests that are a word and nothing else, of every version.
fn bare(line: &str) -> Result<Request, Ko> {
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
        "INFO" => Request::Info,
        "BLOCKS" => Request::Blocks,
        "PREFS" => Request::Prefs,
        "FILES" => Request::Files,
        "ARCHIVED" => Request::Archived,
        "STARRED" => Request::Starred,
        "MARKED" => Request::Marked,
        "HIDDEN" => Request::Hidden,
        "GROUPCALLS" => Request::GroupCalls,
        "PING" => Request::Ping,
        "QUIT" => Request::Quit,
        other => return Err(unknown(other)),
    })
}

/// 1.2 (§24): a call's signalling, `CALL:<peer>:<call id>:<signal>`, and
/// `TURN` or `TURN:<peer>`. The peer is a user: `#room` is refused here
/// (1:1 calls only).
fn call_request(line: &str) -> Result<Request, Ko> {
    match command_word(line) {
        "TURN" if line == "TURN" => Ok(Request::Turn { peer: None }),
        "TURN" => {
            let peer = &line["TURN:".len()..];
            if peer.starts_with('#') {
                return Err(bad(format!("{peer} is a room: only a user can be called")));
            }
            Ok(Request::Turn { peer: Some(user(peer)?) })
        }
        _ => {
            let shape = "CALL:<user>:<call id>:<OFFER:<voice|video>:<sdp>|ANSWER:<sdp>|ICE:<candidate>|DECLINE|HANGUP>";
            let (peer, id, signal) =
                super::call::split(line).ok_or_else(|| bad(format!("expected {shape}")))?;
            if peer.starts_with('#') {
                return Err(bad(format!("{peer} is a room: only a user can be called")));
            }
            let signal = Signal::parse(signal).map_err(bad)?;
            if matches!(signal, Signal::End(_)) {
                return Err(bad("END is the server's: send HANGUP or DECLINE"));
            }
            Ok(Request::Call { peer: user(peer)?, id: fields::id(id)?, signal })
        }
    }
}

/// 1.2 (§32): a room's call, `GROUPCALL:<#room>:<what>:…`
/// (`group_call::GroupRequest`).
fn group_call_request(line: &str) -> Result<Request, Ko> {
    let shape = super::group_call::REQUEST_SHAPE;
    let f = fields(line, 3, shape)?;
    let action = super::group_call::GroupRequest::parse(f[2]).map_err(bad)?;
    Ok(Request::GroupCall { room: room(f[1])?, action })
}

/// 1.2 (§28): Web Push: `PUSHKEY`, `PUSH:<p256dh>:<auth>:<endpoint>`,
/// `PUSH:OFF`, `PREVIEWS:ON`, `PREVIEWS:OFF`.
fn push_request(line: &str) -> Result<Request, Ko> {
    Ok(match command_word(line) {
        "PUSHKEY" if line == "PUSHKEY" => Request::PushKey,
        "PUSHKEY" => return Err(bad("PUSHKEY takes no fields")),
        "PUSH" if line == "PUSH:OFF" => Request::Push { subscription: None },
        "PUSH" => {
            let f = fields(line, 4, "PUSH:<p256dh>:<auth>:<endpoint> or PUSH:OFF")?;
            let base64url = |s: &str| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b))
            };
            if !base64url(f[1]) || !base64url(f[2]) {
                return Err(bad("the subscription's keys must be base64url"));
            }
            let (p256dh, auth, endpoint) = (f[1].to_string(), f[2].to_string(), f[3].to_string());
            Request::Push { subscription: Some(PushSubscription { p256dh, auth, endpoint }) }
        }
        "PREVIEWS" => match line {
            "PREVIEWS:ON" => Request::Previews { on: true },
            "PREVIEWS:OFF" => Request::Previews { on: false },
            _ => return Err(bad("expected PREVIEWS:ON or PREVIEWS:OFF")),
        },
        other => return Err(unknown(other)),
    })
}
