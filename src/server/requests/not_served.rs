//! [`not_served`]: what a request that reached no handler of its own is
//! answered, by `send.rs` and by a handler given another request.

use crate::protocol::request::command_word;
use crate::protocol::{Ko, Request};
use crate::server::session::{Flow, Session};

/// What the server answers a request that reached no handler of its
/// own: a word that parses but has no row, or a row's handler given
/// another request. Neither can happen (`tests/protocol/requests.rs` finds a row
/// for every word, and a row is found by the word the parser read), so
/// it is a mistake of the server's, logged as one. The client is told
/// what a server that does not know a request says (`KO:BAD_REQUEST`,
/// "unknown request"), which is true of this server: `KO:INTERNAL` would
/// say its disk failed (§5), and a client's line never makes it panic.
pub(in crate::server) fn not_served(s: &mut Session, request: &Request) -> Flow {
    let frame = request.redacted();
    let word = command_word(&frame);
    log::error!("{word} reached no handler of its own: a row of server::requests::TABLE is wrong");
    s.refuse(Ko::unknown_request(word))
}
