//! Every request of the send port, one file each (or one per tight
//! family: `login.rs`, `devices.rs`, `p2p.rs`): what the server does with
//! it, and its row of the table below: the words it is sent with, the
//! protocol version that has it, whether it may come before the login,
//! whether it stores anything, and what it costs of its user's `--rate`.
//! [`serve`] dispatches on it, after `send.rs`'s `Session::handle` has
//! parsed the line and metered the request's [`Row::cost`].
//!
//! # Adding a request
//!
//! 1. Its grammar: a variant of `protocol::Request`, with `parse` and
//!    `Display` (`src/protocol/request.rs`), documented in
//!    `docs/PROTOCOL.md` with its version mark (**1.2**).
//! 2. A file here, `<request>.rs`: its row,
//!    `pub(super) const ROW: Row = Row::new(&["WORD"], Version::V1_2,
//!    Kind::Stored);` (`.costing(…)` if it costs more than a token), and a
//!    `pub(super) fn serve(s: &mut Session, who: Who, …) -> Flow` that
//!    answers through `s.reply` (or `s.reply_durable` for a reply that
//!    is true once its record is on disk; call `s.settle()` first if it
//!    reads what this session wrote). `typing.rs` is a relayed request,
//!    `read.rs` a stored one.
//! 3. Here: `mod <request>;`, its row in [`TABLE`], its arm in [`serve`].
//!
//! `tests/requests.rs` fails until every request that `Request::parse`
//! knows and `docs/PROTOCOL.md` names has a row, with the version the
//! document gives it, and docs/CONTRIBUTING.md's table shows the rows.

use std::fmt;

use super::session::{Flow, Session, Who};
use crate::protocol::Request;

mod archive;
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
mod p2p;
mod passwd;
mod ping;
mod prefs;
mod quit;
mod react;
mod read;
mod reply;
mod roominfo;
mod rooms;
mod search;
mod server;
pub(crate) mod star;
mod typing;
mod users;

/// One request's properties.
pub struct Row {
    /// The command words it is sent with (`MSG`; a moderation has ten).
    pub words: &'static [&'static str],
    /// The protocol version that brought it.
    pub since: Version,
    /// A first frame: allowed before the login, and only then.
    pub first_frame: bool,
    /// Whether its effect is kept on the server's disk.
    pub kind: Kind,
    /// Tokens it takes from its user's (and address's) `--rate` bucket
    /// before it is served.
    pub cost: fn(&Request) -> u32,
}

impl Row {
    /// The row of a request of a logged-in user that costs one token.
    pub const fn new(words: &'static [&'static str], since: Version, kind: Kind) -> Row {
        Row { words, since, first_frame: false, kind, cost: tokens::<1> }
    }

    /// The row of a first frame instead.
    pub const fn first_frame(self) -> Row {
        Row { first_frame: true, ..self }
    }

    /// The row with another cost (say why, with the figure, beside it).
    pub const fn costing(self, cost: fn(&Request) -> u32) -> Row {
        Row { cost, ..self }
    }
}

/// A protocol version (docs/PROTOCOL.md marks what each one added).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        })
    }
}

/// What a request leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Written to the data directory (a record of the log, an account, a
    /// device) before its `OK`: it survives a restart.
    Stored,
    /// Nothing kept: a read, or something relayed to whoever is online.
    Ephemeral,
}

/// What a message action (`REPLY`, `EDIT`, `DELETE`, `REACT`) costs: it
/// reads up to 1,000 messages of its chat first, a full `HISTORY`.
const ACTION_COST: fn(&Request) -> u32 = tokens::<11>;

/// A fixed cost of `N` tokens, for a [`Row::cost`].
pub fn tokens<const N: u32>(_: &Request) -> u32 {
    N
}

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
    block::BLOCK,
    block::UNBLOCK,
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
];

/// The row of the request sent with `word`.
pub fn row(word: &str) -> Option<&'static Row> {
    TABLE.iter().find(|row| row.words.contains(&word))
}

/// Whether `line`'s word may open a session (a row with `first_frame`):
/// a malformed `LOGIN` is told what is wrong, a `MSG` before any login
/// only that it must log in first (`auth::authenticate`).
pub fn may_open(line: &str) -> bool {
    row(crate::protocol::request::command_word(line)).is_some_and(|row| row.first_frame)
}

/// Tokens `request`, sent with `word`, costs. Every word that parses has
/// a row (`tests/requests.rs`); one without would cost one token.
pub fn cost(word: &str, request: &Request) -> u32 {
    row(word).map_or(1, |row| (row.cost)(request))
}

/// Serves `request` from the logged-in `who`, its cost already metered.
pub(super) fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    use Request as R;
    match request {
        R::Login { .. } | R::Register { .. } | R::Redeem { .. } | R::Pair { .. } => login::again(s, who),
        R::Msg { to, id, text } => msg::serve(s, to, id, text),
        R::Read { chat, id } => read::serve(s, who, &chat, &id),
        R::History { chat, limit } => history::serve(s, who, &chat, limit),
        R::Users => users::serve(s),
        R::Join { room } => join::serve(s, who, room),
        R::Leave { room } => leave::serve(s, who, room),
        R::Rooms => rooms::serve(s, who),
        R::Chats => chats::serve(s, who),
        R::P2p { port } => p2p::announce(s, who, port),
        R::Peer { user } => p2p::introduce(s, who, &user),
        R::LastSeen { user } => lastseen::serve(s, who, &user),
        R::Members { room } => members::serve(s, who, &room),
        R::Server => server::serve(s),
        R::Typing { to } => typing::serve(s, who, &to),
        R::Moderate { room, action } => moderate::serve(s, who, &room, action),
        R::RoomInfo { room } => roominfo::serve(s, who, &room),
        R::Reply { to, id, re, text } => reply::serve(s, who, &to, &id, &re, &text),
        R::Edit { to, id, text } => edit::serve(s, who, &to, &id, &text),
        R::Delete { to, id, author } => delete::serve(s, who, &to, &id, author.as_deref()),
        R::React { to, id, emoji } => react::serve(s, who, &to, &id, &emoji),
        R::Search { scope, query } => search::serve(s, who, &scope, &query),
        R::Devices => devices::list(s, who),
        R::Unlink { device } => devices::unlink(s, who, &device),
        R::Link => devices::link(s, who),
        R::Info => info::serve(s),
        R::Passwd { old, new, keep } => passwd::serve(s, who, &old, &new, keep),
        R::DelAccount { password } => delaccount::serve(s, who, &password),
        request @ (R::Upload { .. }
        | R::Part { .. }
        | R::File { .. }
        | R::Fetch { .. }
        | R::FileOf { .. }
        | R::Files) => files::serve(s, who, request),
        R::Ping => ping::serve(s),
        R::Quit => quit::serve(s),
        R::Block { user } => block::serve(s, who, &user, true),
        R::Unblock { user } => block::serve(s, who, &user, false),
        R::Blocks => block::list(s, who),
        R::Notify { chat, level } => prefs::notify(s, who, &chat, level),
        R::Pin { chat, pinned } => prefs::pin(s, who, &chat, pinned),
        R::Prefs => prefs::list(s, who),
        R::Archive { chat, archived } => archive::serve(s, who, &chat, archived),
        R::Archived => archive::list(s, who),
        R::Star { chat, from, id, starred } => star::serve(s, who, &chat, &from, &id, starred),
        R::Starred => star::list(s, who),
        R::Call { peer, id, signal } => call::serve(s, who, &peer, &id, signal),
        R::Turn => call::turn(s, who),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost_of(line: &str) -> u32 {
        let request = Request::parse(line).unwrap();
        cost(crate::protocol::request::command_word(line), &request)
    }

    #[test]
    fn the_rows_cost_what_the_requests_cost_before_the_table() {
        // The costs of `send.rs`'s `cost()` before issue 39, unchanged.
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
