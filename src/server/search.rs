//! `SEARCH:<peer, #room or *>:<words>` (protocol 1.2): which conversations
//! a search looks through, and its reply. The scan is the store's
//! (`store::search`), which also says why there is no index.

use super::Ctx;
use crate::protocol::{Chat, HistoryLine, Ko, Scope};
use crate::store::UserId;
use crate::store::search::{MAX_RESULTS, Query};

/// Most conversations a `SEARCH:*` looks through: the most recent ones.
pub const MAX_CHATS: usize = 1000;

/// The matching messages, newest first, at most [`MAX_RESULTS`], from
/// conversations `user` is in (a room left is searched no more).
pub fn search(ctx: &Ctx, user: UserId, scope: &Scope, words: &str) -> Result<Vec<HistoryLine>, Ko> {
    let chats: Vec<Chat> = match scope {
        Scope::Chat(chat) => vec![chat.clone()],
        Scope::All => ctx.store.chats(user)?.into_iter().take(MAX_CHATS).map(|line| line.chat).collect(),
    };
    ctx.store.search(user, &chats, &Query::new(words), MAX_RESULTS)
}
