//! Every request of the send port, one file each (or one per tight
//! family: `login.rs`, `devices.rs`, `p2p.rs`): its row of [`TABLE`] and
//! its handler. The table is the dispatch: `send.rs`'s `Session::handle`
//! parses a line, finds the row by the word the parser read ([`row`]),
//! meters the row's [`Row::cost`] and calls the handler in the row
//! ([`Row::serve`]), which takes its own variant of `Request` apart. A row
//! says the words a request is sent with, whether it may come before the
//! login, what it costs of its user's `--rate`, and two facts that are
//! the table's documentation, read by no code at run time: the protocol
//! version that has it and whether it stores anything (`tests/protocol/requests.rs`
//! checks them against docs/PROTOCOL.md, and shows them in
//! docs/CONTRIBUTING.md).
//!
//! The exhaustive `match` on the words stays in `protocol/request/mod.rs`
//! (`Request::parse` and `Display`): there the compiler checks the
//! grammar, and a request without a row is caught by `tests/protocol/requests.rs`
//! instead of a second match here kept in step with the first by hand.
//!
//! # Adding a request
//!
//! 1. Its grammar: a variant of `protocol::Request`, with `parse` and
//!    `Display` (`src/protocol/request/mod.rs`), documented in
//!    `docs/PROTOCOL.md` with its version mark (**1.2**).
//! 2. A file here, `<request>.rs`: its row (built from `row.rs`'s types)
//!    with its handler,
//!    `pub(super) const ROW: Row = Row::asking(&["WORD"], Version::V1_2,
//!    Kind::Stored, serve);` (`.costing(…)` if it costs more than a
//!    token), and `fn serve(a: Asking, request: Request) -> Flow`, which
//!    takes its variant apart (`let Request::Word { … } = request else {
//!    return a.not_served(&request) };`), does its work with `a.who` and
//!    `a.base` (the store; `relay(a.base, …)` to other users) and answers
//!    through `a.reply` (or `a.reply_durable` for a reply that is true
//!    once its record is on disk; call `a.settle()` first if it reads what
//!    this session wrote). `typing.rs` is a relayed request, `read.rs` a
//!    stored one.
//! 3. Here: `mod <request>;` and its row in [`TABLE`].
//!
//! # What a handler sees
//!
//! A row made with `Row::asking` gives its handler an `Asking`
//! (`asking.rs`): who asks, the server's `Base` (the store, the config,
//! the relay to users here and on other nodes) and the reply sink, not
//! the connection nor the whole `Ctx`; what a request needs beyond the
//! base is one narrow method of it each (charging the address's `--rate`
//! for work known once done, a reply written later, the `MSG`s gathered
//! before a `FILE` stored first, telling a room's members once its change
//! is on disk, the address's registrations left, the P2P ports). So are
//! served 26 of the 33 files' requests: the reads (`READ`, `HISTORY`,
//! `CHATS`, `ROOMS`, `USERS`, `SERVER`, `PING`, `LASTSEEN`, `MEMBERS`,
//! `ROOMINFO`, `INFO`), `TYPING`, `JOIN` and `LEAVE`, `P2P` and `PEER`,
//! `SEARCH`, the stars, the files, the message actions (`REPLY`, `EDIT`,
//! `DELETE`, `REACT`), moderation, and the settings (`ARCHIVE`, `BLOCK`,
//! `NOTIFY`, `PIN`, their listings). The other 7 take the `Session`
//! (`Row::new`), each for what only it has: `msg.rs` gathers into the
//! session's burst (one store call, one fsync for many); `login.rs`,
//! `devices.rs`, `quit.rs`, `passwd.rs`, `delaccount.rs` and `call.rs`
//! need the connection itself (its device, its number, closing it).
//!
//! Three places on this side, two of them one line each (there were four:
//! a `match` arm here as well). `tests/protocol/requests.rs` fails until every
//! request that `Request::parse` knows and `docs/PROTOCOL.md` names has a
//! row, with the version the document gives it, and docs/CONTRIBUTING.md's
//! table shows the rows.

use crate::protocol::request::command_word;

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
mod history;
mod info;
mod join;
mod lastseen;
mod leave;
pub(super) mod login;
mod members;
mod moderate;
mod msg;
mod not_served;
mod p2p;
mod passwd;
mod people;
mod ping;
mod prefs;
mod quit;
mod react;
mod read;
mod reply;
mod roominfo;
mod rooms;
mod row;
mod search;
mod server;
pub(crate) mod star;
mod typing;
mod users;

pub(super) use not_served::not_served;
pub use row::{Kind, Row, Version, tokens};

/// The table: every request of the send port, one row each.
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
    star::ROW,
    star::STARRED,
    call::ROW,
    call::TURN,
    people::ROW,
];

/// The row of the request sent with `word`.
pub fn row(word: &str) -> Option<&'static Row> {
    TABLE.iter().find(|row| row.words.contains(&word))
}

/// Whether `line`'s word may open a session (a row with `first_frame`):
/// a malformed `LOGIN` is told what is wrong, a `MSG` before any login
/// only that it must log in first (`auth::authenticate`).
pub fn may_open(line: &str) -> bool {
    row(command_word(line)).is_some_and(|row| row.first_frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Request;

    fn cost_of(line: &str) -> u32 {
        let request = Request::parse(line).unwrap();
        (row(command_word(line)).unwrap().cost)(&request)
    }

    #[test]
    fn the_rows_cost_what_the_requests_cost_before_the_table() {
        // What each request takes from `--rate`, pinned line by line: a
        // row whose cost drifts changes what a client may do a second.
        for (line, tokens) in [
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
            ("REPLY:bob:m2:m1:yes", 11),
            ("EDIT:bob:m1:fixed", 11),
            ("DELETE:bob:m1", 11),
            ("REACT:bob:m1:👍", 11),
            ("KICK:#lab:bob", 3),
            ("BAN:#lab:bob:0", 3),
            ("TOPIC:#lab:week 2", 2),
            ("SEARCH:bob:x", 11),
            ("SEARCH:*:x", 20),
            ("PASSWD:old-pw:new-pw", 20),
            ("PASSWDKEEP:old-pw:new-pw", 20),
            ("DELACCOUNT:pw", 10),
            ("SERVER", 1),
            ("TYPING:bob", 1),
            ("USERS", 1),
            ("INFO", 1),
            ("LINK", 1),
            ("LINK:pw", 10),
            ("BLOCK:bob", 1),
            ("BLOCKS", 1),
            ("UNPIN:#lab", 1),
            ("ARCHIVE:bob", 1),
            ("ARCHIVED", 1),
            ("STAR:bob:bob:m1", 11),
            ("UNSTAR:bob:bob:m1", 1),
            ("STARRED", 11),
            ("CALL:bob:c1:OFFER:voice:v=0", 5),
            ("CALL:bob:c1:ANSWER:v=0", 2),
            ("CALL:bob:c1:ICE:x", 1),
            ("CALL:bob:c1:HANGUP", 1),
            ("TURN", 1),
        ] {
            assert_eq!(cost_of(line), tokens, "{line}");
        }
    }
}
