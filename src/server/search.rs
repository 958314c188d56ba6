//! `SEARCH:<peer, #room or *>:<words>` (protocol 1.2): which conversations
//! a search looks through, what it costs, and its reply. The scan is the
//! store's (`store::search`), which also says why there is no index.

use super::Ctx;
use crate::protocol::{Chat, HistoryLine, Ko, Scope};
use crate::store::UserId;
use crate::store::search::{MAX_READ_BYTES, MAX_RESULTS, Query};

/// Most conversations a `SEARCH:*` looks through: the most recent ones.
pub const MAX_CHATS: usize = 1000;

/// Bytes of the log a `SEARCH` may read per `--rate` token it takes.
const BYTES_PER_TOKEN: u64 = 64 * 1024;

/// Tokens a `SEARCH` takes from its user's `--rate` bucket: one per 64 KiB
/// of what it may read ([`MAX_READ_BYTES`]), 128 whatever its scope, as
/// a search in an empty room may read as much as one of every chat.
/// With the default `--rate 1000`, a user's searches can read at most
/// ~62 MiB of the log a second (issue 38: 12 connections of one student
/// searching kept both cores busy at 11 and 20 tokens a search).
pub fn cost(_scope: &Scope) -> u32 {
    (MAX_READ_BYTES / BYTES_PER_TOKEN) as u32
}

/// The matching messages, newest first, at most [`MAX_RESULTS`], from
/// conversations `user` is in (a room left is searched no more).
pub fn search(ctx: &Ctx, user: UserId, scope: &Scope, words: &str) -> Result<Vec<HistoryLine>, Ko> {
    let chats: Vec<Chat> = match scope {
        Scope::Chat(chat) => vec![chat.clone()],
        Scope::All => ctx.store.chats(user)?.into_iter().take(MAX_CHATS).map(|line| line.chat).collect(),
    };
    ctx.store.search(user, &chats, &Query::new(words), MAX_RESULTS)
}
