//! Every request of the send port, one file each (or one per tight
//! family: `login.rs`, `devices.rs`, `p2p.rs`, `files.rs`): its row of
//! [`TABLE`] and its handler.
//!
//! # How a request is served
//!
//! `send.rs`'s `Session::handle` parses a line (`Request::parse`), meters
//! what the request costs ([`cost`]) and calls [`serve`]: one `match` on
//! the `Request`, an arm a request, which hands each handler the fields
//! of its variant (as mini-redis's `Command::apply` does). Both are
//! exhaustive `match`es on `Request`: a variant without a cost or without
//! a handler does not compile.
//!
//! [`TABLE`] is the whole command set on one screen, [`cost`] below it.
//! A row says the words a request is sent with, whether it may come
//! before the login, the protocol version that has it (documentation,
//! read by no code at run time) and what it leaves behind ([`Kind`]).
//! `tests/protocol/requests.rs` checks the table against docs/PROTOCOL.md
//! (every word `Request::parse` knows has one row, with its version) and
//! shows it in docs/CONTRIBUTING.md. A row is found by a line's word
//! ([`by_word`]), before the line is parsed, where that word is all the
//! server goes by: before the login, where a malformed `LOGIN` is told
//! what is wrong and a `MSG` only that it must log in first
//! ([`may_open`]), and on a cluster's follower, which answers a malformed
//! read itself, as the read it names (`send.rs`). A parsed request needs
//! no row: each fact is written once, a row's in [`TABLE`], a cost in
//! [`cost`], the call of a handler in [`serve`].
//!
//! # Adding a request
//!
//! 1. Its grammar: a variant of `protocol::Request`, with `parse` and
//!    `Display` (`src/protocol/request/mod.rs`), documented in
//!    `docs/PROTOCOL.md` with its version mark (**1.2**).
//! 2. A file here, `<request>.rs`: its row, built from `row.rs`'s types,
//!    `pub(super) const ROW: Row = Row::new(&["WORD"], Version::V1_2,
//!    Kind::Stored);`, and its handler, which takes the fields of its
//!    variant:
//!    `pub(super) fn serve(a: Asking, chat: Chat, id: String) -> Flow`
//!    does its work with `a.who` and `a.base` (the store;
//!    `relay(a.base, …)` to other users) and answers through `a.reply`
//!    (or `a.reply_durable` for a reply that is true once its record is
//!    on disk; call `a.settle()` first if it reads what this session
//!    wrote). `typing.rs` is a relayed request, `read.rs` a stored one.
//! 3. Here: `mod <request>;`, its row in [`TABLE`], its arm in [`serve`]
//!    and its cost in [`cost`] (the compiler asks for both; a token, in
//!    one of the last arms, unless it makes the server work harder: then
//!    an arm of its own, with why and the figure), and a line of it with
//!    its cost in the test at the end of this file (which asks for it).
//!
//! # What a handler sees
//!
//! Most handlers are given an `Asking` (`asking.rs`): who asks, the
//! server's `Base` (the store, the config, the relay to the users online)
//! and the reply sink, not the connection nor the whole
//! `Ctx`; what a request needs beyond the base is one narrow method of it
//! each (charging the address's `--rate` for work known once done, a
//! reply written later, telling a room's members once its change is on
//! disk, the address's registrations left, the P2P ports). So are served
//! 28 of the 35 files' requests: the reads (`READ`, `HISTORY`, `CHATS`,
//! `ROOMS`, `USERS`, `SERVER`, `PING`, `LASTSEEN`, `MEMBERS`, `PEOPLE`,
//! `ROOMINFO`, `INFO`), `TYPING`, `JOIN` and `LEAVE`, `P2P` and `PEER`,
//! `SEARCH`, the stars, the files, the message actions (`REPLY`, `EDIT`,
//! `DELETE`, `REACT`), moderation, and the settings (`ARCHIVE`, `BLOCK`,
//! `NOTIFY`, `PIN`, `MARK`, `HIDE`, their listings). The other 7 take the `Session`, each for what
//! only it has: `msg.rs` gathers into the session's burst (one store
//! call, one fsync for many); `login.rs`, `devices.rs`, `quit.rs`,
//! `passwd.rs`, `delaccount.rs` and `call.rs` need the connection itself
//! (its device, its number, closing it).

use crate::protocol::Request;
use crate::protocol::request::command_word;
use crate::server::session::{Flow, MSG_COST, Session, Who};

mod archive;
mod asking;
mod block;
mod call;
mod chats;
mod delaccount;
mod delete;
mod devices;
mod edit;
mod files;
mod group_call;
mod history;
mod info;
mod join;
mod lastseen;
mod leave;
pub(super) mod login;
mod marks;
mod members;
mod moderate;
mod msg;
mod p2p;
mod passwd;
mod people;
mod ping;
mod prefs;
mod profile;
mod push;
mod quit;
mod react;
mod read;
mod receipts;
mod reply;
mod roominfo;
mod rooms;
mod row;
mod search;
mod server;
pub(crate) mod star;
mod typing;
mod users;

use asking::Asking;
pub use row::{Kind, Row, Version};

/// The table: every request of the send port, one row each, found by
/// word ([`by_word`]).
pub static TABLE: &[Row] = &[
    msg::ROW,
    read::ROW,
    history::ROW,
    users::ROW,
    join::ROW,
    leave::ROW,
    rooms::ROW,
    chats::ROW,
    p2p::P2P,
    p2p::PEER,
    ping::ROW,
    quit::ROW,
    login::LOGIN,
    login::REGISTER,
    // 1.1
    lastseen::ROW,
    members::ROW,
    server::ROW,
    // 1.2
    login::REDEEM,
    login::PAIR,
    typing::ROW,
    devices::DEVICES,
    devices::UNLINK,
    devices::LINK,
    info::ROW,
    moderate::ROW,
    roominfo::ROW,
    receipts::ROW,
    reply::ROW,
    edit::ROW,
    delete::ROW,
    react::ROW,
    search::ROW,
    passwd::ROW,
    delaccount::ROW,
    block::ROW,
    block::BLOCKS,
    prefs::NOTIFY,
    prefs::PIN,
    prefs::PREFS,
    files::UPLOAD,
    files::PART,
    files::FILE,
    files::FETCH,
    files::FILEOF,
    files::FILES,
    archive::ROW,
    archive::ARCHIVED,
    marks::MARK,
    marks::MARKED,
    marks::HIDE,
    marks::HIDDEN,
    star::ROW,
    star::STARRED,
    call::ROW,
    call::TURN,
    group_call::ROW,
    group_call::GROUPCALLS,
    people::ROW,
    push::PUSHKEY,
    push::PUSH,
    push::PREVIEWS,
    profile::NAME,
    profile::PHOTO,
    profile::PROFILE,
    profile::PRIVACY,
];

/// The row of a line sent with `word`, before the line is parsed; `None`
/// for a word that is no request.
pub fn by_word(word: &str) -> Option<&'static Row> {
    TABLE.iter().find(|row| row.words.contains(&word))
}

/// Whether `line`'s word may open a session (a row with `first_frame`):
/// a malformed `LOGIN` is told what is wrong, a `MSG` before any login
/// only that it must log in first (`auth::authenticate`).
pub fn may_open(line: &str) -> bool {
    by_word(command_word(line)).is_some_and(|row| row.first_frame)
}

/// What `request` takes from its user's (and its address's) `--rate`
/// before it is served (`Ctx::meter`): a token, or more for what makes
/// the server work harder, with why beside the figure.
pub fn cost(request: &Request) -> u32 {
    match request {
        // Keeping a connection alive costs nothing, nor closing it.
        Request::Ping | Request::Quit => 0,
        // A first frame is metered by `server::auth`'s buckets before the
        // login, before any hash; after it, it is only refused, for
        // nothing (but `PAIR`, below).
        Request::Login { .. } | Request::Register { .. } | Request::Redeem { .. } => 0,
        // Taken as the gathered burst goes to the store (`send_msgs`), not
        // before the `MSG` is gathered.
        Request::Msg { .. } => MSG_COST,
        Request::History { limit, .. } => history::cost(*limit),
        // A message action reads up to 1,000 messages of its chat first, a
        // full `HISTORY`.
        Request::Reply { .. } | Request::Edit { .. } | Request::Delete { .. } | Request::React { .. } => 11,
        // Reads up to 1,000 messages of the room to find it, then up to
        // 8 MiB of the log after it for the receipts' times.
        Request::Receipts { .. } => receipts::COST,
        Request::Star { starred, .. } => star::cost(*starred),
        Request::Starred => star::STARRED_COST,
        Request::Search { scope, .. } => search::cost(scope),
        // A token per record the action may store: a kick stores the rule,
        // its notice and the member's `LEAVE`, so it costs three.
        Request::Moderate { action, .. } => action.cost(),
        // Two argon2 hashes (the old password checked, the new one made),
        // each costing what a login costs; failures are also throttled as
        // logins are.
        Request::Passwd { .. } => 20,
        // One argon2 check, as a login.
        Request::DelAccount { .. }
        | Request::Link { password: Some(_) }
        | Request::Unlink { password: Some(_), .. } => 10,
        // Reads the members of every room of the asker, as a `MEMBERS` of
        // each would: a few tokens, though it answers at most
        // `MAX_PEOPLE` lines.
        Request::People { .. } => 5,
        Request::Call { signal, .. } => call::cost(signal),
        Request::GroupCall { action, .. } => group_call::cost(action),
        // A first frame after the login: refused, for a token.
        Request::Pair { .. } => 1,
        // One record of the log.
        Request::Read { .. }
        | Request::Join { .. }
        | Request::Leave { .. }
        | Request::File { .. }
        | Request::Unlink { password: None, .. } => 1,
        // Resolves the endpoint's host name (the system's resolver, which
        // may wait) and rewrites `push.csv`: what a few requests cost.
        Request::Push { subscription: Some(_) } => 5,
        // A setting: one record (or one rewrite of `push.csv`).
        Request::Push { subscription: None }
        | Request::Previews { .. }
        | Request::Block { .. }
        | Request::Unblock { .. }
        | Request::Notify { .. }
        | Request::Pin { .. }
        | Request::Archive { .. }
        | Request::Mark { .. }
        | Request::Hide { .. } => 1,
        // A `PART` or a `FETCH` moves at most 12,000 bytes, so the default
        // `--address-rate` (200/s) lets one address move about 2.4 MB/s;
        // an `UPLOAD` only says what comes, a `FILEOF` finds one file.
        Request::Upload { .. } | Request::Part { .. } | Request::Fetch { .. } | Request::FileOf { .. } => 1,
        // A small read of the store or of the config.
        Request::Rooms | Request::Chats | Request::Server | Request::RoomInfo { .. } | Request::Info => 1,
        // Listings of one's own: at most 1,000 lines each
        // (`protocol::prefs`' bounds), and one's files (`wachat export`).
        Request::Blocks
        | Request::Prefs
        | Request::Archived
        | Request::Marked
        | Request::Hidden
        | Request::Files => 1,
        // The calls going on, in the server's memory, of the asker's rooms.
        Request::GroupCalls => 1,
        // Who is online, and when last seen; the devices; a `TYPING`,
        // relayed to who is online.
        Request::Users
        | Request::LastSeen { .. }
        | Request::Members { .. }
        | Request::Devices
        | Request::Typing { .. } => 1,
        // What only the server's memory holds: the P2P ports, a link code,
        // TURN credentials.
        Request::P2p { .. }
        | Request::Peer { .. }
        | Request::Link { password: None }
        | Request::Turn { .. }
        | Request::PushKey => 1,
        Request::Profile(p) => profile::cost(p),
    }
}

/// Serves `request` from the logged-in `who`, its cost metered: each
/// handler is given what it works with, an [`Asking`] (`asking(s)`) or
/// the whole session, and the fields of its request.
pub(in crate::server) fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let asking = |s| Asking::new(s, who);
    match request {
        Request::Msg { to, id, text } => msg::gather(s, to, id, text),
        Request::Read { chat, id } => read::serve(asking(s), chat, id),
        Request::History { chat, limit, page } => history::serve(asking(s), chat, limit, page),
        Request::Users => users::serve(asking(s)),
        Request::Join { room } => join::serve(asking(s), room),
        Request::Leave { room } => leave::serve(asking(s), room),
        Request::Rooms => rooms::serve(asking(s)),
        Request::Chats => chats::serve(asking(s)),
        Request::P2p { port } => p2p::announce(asking(s), port),
        Request::Peer { user } => p2p::introduce(asking(s), user),
        Request::Ping => ping::serve(asking(s)),
        Request::Quit => quit::serve(s),
        Request::Login { .. } | Request::Register { .. } | Request::Redeem { .. } | Request::Pair { .. } => {
            login::again(s, who)
        }
        Request::LastSeen { user } => lastseen::serve(asking(s), user),
        Request::Members { room } => members::serve(asking(s), room),
        Request::Server => server::serve(asking(s)),
        Request::Typing { to } => typing::serve(asking(s), to),
        Request::Devices => devices::list(s, who),
        Request::Unlink { device, password } => devices::unlink(s, who, device, password),
        Request::Link { password } => devices::link(s, who, password),
        Request::Info => info::serve(asking(s)),
        Request::Moderate { room, action } => moderate::serve(asking(s), room, action),
        Request::RoomInfo { room } => roominfo::serve(asking(s), room),
        Request::Receipts { room, id } => receipts::serve(asking(s), room, id),
        Request::Reply { to, id, re, text } => reply::serve(asking(s), to, id, re, text),
        Request::Edit { to, id, text } => edit::serve(asking(s), to, id, text),
        Request::Delete { to, id, author } => delete::serve(asking(s), to, id, author),
        Request::React { to, id, emoji } => react::serve(asking(s), to, id, emoji),
        Request::Search { scope, query } => search::serve(asking(s), scope, query),
        Request::Passwd { old, new, keep } => passwd::serve(s, who, old, new, keep),
        Request::DelAccount { password } => delaccount::serve(s, who, password),
        Request::Block { user } => block::serve(asking(s), user, true),
        Request::Unblock { user } => block::serve(asking(s), user, false),
        Request::Blocks => block::list(asking(s)),
        Request::Notify { chat, level } => prefs::notify(asking(s), chat, level),
        Request::Pin { chat, pinned } => prefs::pin(asking(s), chat, pinned),
        Request::Prefs => prefs::list(asking(s)),
        Request::Upload { name, size, sha256 } => files::upload(asking(s), name, size, sha256),
        Request::Part { file, offset, data } => files::part(asking(s), file, offset, data),
        Request::File { to, id, file, caption } => files::send(asking(s), to, id, file, caption),
        Request::Fetch { file, offset } => files::fetch(asking(s), file, offset),
        Request::FileOf { chat, from, id } => files::file_of(asking(s), chat, from, id),
        Request::Files => files::list(asking(s)),
        Request::Archive { chat, archived } => archive::serve(asking(s), chat, archived),
        Request::Archived => archive::list(asking(s)),
        Request::Mark { chat, marked } => marks::mark(asking(s), chat, marked),
        Request::Marked => marks::marked(asking(s)),
        Request::Hide { chat } => marks::hide(asking(s), chat),
        Request::Hidden => marks::hidden(asking(s)),
        Request::Star { chat, from, id, starred } => star::serve(asking(s), chat, from, id, starred),
        Request::Starred => star::list(asking(s)),
        Request::Call { peer, id, signal } => call::serve(s, who, peer, id, signal),
        Request::Turn { peer } => call::turn(s, who, peer),
        Request::GroupCall { room, action } => group_call::serve(s, who, room, action),
        Request::GroupCalls => group_call::list(s, who),
        Request::People { prefix } => people::serve(asking(s), prefix),
        Request::PushKey => push::key(s),
        Request::Push { subscription } => push::subscribe(s, who, subscription),
        Request::Previews { on } => push::previews(s, who, on),
        Request::Profile(p) => profile::serve(asking(s), p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_cost_what_the_requests_cost_before_the_table() {
        // What each request takes from `--rate`, pinned line by line, a
        // line of every word at least: a cost that drifts changes what a
        // client may do a second.
        let lines = [
            ("PING", 0),
            ("QUIT", 0),
            ("LOGIN:ana:pw", 0),
            ("REGISTER:ana::pw", 0),
            ("REDEEM:c1:ana::pw", 0),
            ("PAIR:ana@tui:k7qm9pzrtw", 1),
            ("MSG:bob:m1:hi", 1),
            ("READ:bob:m1", 1),
            ("HISTORY:bob:0", 1),
            ("HISTORY:bob:99", 1),
            ("HISTORY:bob:100", 2),
            ("HISTORY:bob:1000", 11),
            ("HISTORY:bob:99999", 11), // served as 1,000
            ("USERS", 1),
            ("JOIN:#lab", 1),
            ("LEAVE:#lab", 1),
            ("ROOMS", 1),
            ("CHATS", 1),
            ("P2P:9000", 1),
            ("PEER:bob", 1),
            ("LASTSEEN:bob", 1),
            ("MEMBERS:#lab", 1),
            ("PEOPLE:an", 5),
            ("SERVER", 1),
            ("TYPING:bob", 1),
            ("DEVICES", 1),
            ("UNLINK:laptop", 1),
            ("LINK", 1),
            ("LINK:pw", 10),
            ("INFO", 1),
            ("REPLY:bob:m2:m1:yes", 11),
            ("EDIT:bob:m1:fixed", 11),
            ("DELETE:bob:m1", 11),
            ("REACT:bob:m1:👍", 11),
            ("TOPIC:#lab:week 2", 2),
            ("MODE:#lab:+invite", 2),
            ("INVITE:#lab:bob", 2),
            ("KICK:#lab:bob", 3),
            ("BAN:#lab:bob:0", 3),
            ("UNBAN:#lab:bob", 2),
            ("MUTE:#lab:bob:10", 2),
            ("UNMUTE:#lab:bob", 2),
            ("OP:#lab:bob", 2),
            ("DEOP:#lab:bob", 2),
            ("ROOMINFO:#lab", 1),
            ("RECEIPTS:#lab:m1", 11),
            ("SEARCH:bob:x", 11),
            ("SEARCH:*:x", 20),
            ("PASSWD:old-pw:new-pw", 20),
            ("PASSWDKEEP:old-pw:new-pw", 20),
            ("DELACCOUNT:pw", 10),
            ("BLOCK:bob", 1),
            ("UNBLOCK:bob", 1),
            ("BLOCKS", 1),
            ("NOTIFY:bob:none", 1),
            ("PIN:#lab", 1),
            ("UNPIN:#lab", 1),
            ("PREFS", 1),
            ("UPLOAD:a.pdf:10:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 1),
            ("PART:0123456789abcdef0123456789abcdef:0:aGVsbG8=", 1),
            ("FILE:bob:m9:0123456789abcdef0123456789abcdef:", 1),
            ("FETCH:0123456789abcdef0123456789abcdef:0", 1),
            ("FILEOF:bob:ana:m9", 1),
            ("FILES", 1),
            ("ARCHIVE:bob", 1),
            ("UNARCHIVE:bob", 1),
            ("ARCHIVED", 1),
            ("MARK:bob", 1),
            ("UNMARK:bob", 1),
            ("MARKED", 1),
            ("HIDE:bob", 1),
            ("HIDDEN", 1),
            ("STAR:bob:bob:m1", 11),
            ("UNSTAR:bob:bob:m1", 1),
            ("STARRED", 11),
            ("CALL:bob:c1:OFFER:voice:v=0", 5),
            ("CALL:bob:c1:ANSWER:v=0", 2),
            ("CALL:bob:c1:ICE:x", 1),
            ("CALL:bob:c1:HANGUP", 1),
            ("TURN", 1),
            ("GROUPCALL:#lab:START:video", 10),
            ("GROUPCALL:#lab:JOIN:c1", 2),
            ("GROUPCALL:#lab:OFFER:c1:bob:v=0", 2),
            ("GROUPCALL:#lab:ANSWER:c1:bob:v=0", 2),
            ("GROUPCALL:#lab:ICE:c1:bob:x", 1),
            ("GROUPCALL:#lab:DECLINE:c1", 1),
            ("GROUPCALL:#lab:LEAVE:c1", 1),
            ("GROUPCALLS", 1),
            ("PUSHKEY", 1),
            ("PUSH:OFF", 1),
            (
                "PUSH:BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4:BTBZMqHH6r4Tts7J_aSIgg:https://push.example.net/s/1",
                5,
            ),
            ("PREVIEWS:OFF", 1),
            ("NAME:Ana María", 1),
            ("PHOTO:0123456789abcdef0123456789abcdef", 10),
            ("PHOTO:", 1),
            ("PROFILE:bob", 1),
            ("PROFILES", 5),
            ("PHOTOOF:bob", 1),
            ("PRIVACY", 1),
            ("PRIVACY:receipts:off", 1),
        ];
        for (line, tokens) in lines {
            let request = Request::parse(line).unwrap_or_else(|ko| panic!("{line}: {ko}"));
            assert_eq!(cost(&request), tokens, "{line}");
        }
        for word in TABLE.iter().flat_map(|row| row.words) {
            assert!(lines.iter().any(|(line, _)| command_word(line) == *word), "no line of {word} here");
        }
    }
}
