//! `SEARCH:<peer, #room or *>:<words>` (protocol 1.2): which conversations
//! a search looks through, what it costs, and its reply. The scan is the
//! store's (`store::search`), which also says why there is no index.

use crate::protocol::{Chat, Ko, Reply, Scope};
use crate::server::Base;
use crate::server::session::Flow;
use crate::store::UserId;
use crate::store::search::{MAX_READ_BYTES, MAX_RESULTS, Query, Searched};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["SEARCH"], Version::V1_2, Kind::Read);

/// Most conversations a `SEARCH:*` looks through: the most recent ones.
pub const MAX_CHATS: usize = 1000;

/// Bytes of the log a `SEARCH` reads per `--rate` token it costs.
const BYTES_PER_TOKEN: u64 = 64 * 1024;

/// Tokens a `SEARCH` takes before it runs (11 for one chat, 20 for all
/// of them): what an ordinary search reads. What it
/// reads past that is charged once known ([`extra_cost`]).
pub fn cost(scope: &Scope) -> u32 {
    match scope {
        Scope::All => 20,
        Scope::Chat(_) => 11,
    }
}

/// Tokens still owed once a search has read `bytes_read`: one per 64 KiB,
/// less what [`cost`] took. At most [`MAX_READ_BYTES`] are read, so at
/// most 128 tokens in all: with the default `--rate 1000` a user's
/// searches read at most ~62 MiB of the log a second, and with
/// `--address-rate 200` an address's ~12 MiB (at a flat 11 and 20 tokens
/// a search, 12 connections of one student searching a 1M-message log
/// would keep both cores busy).
pub fn extra_cost(scope: &Scope, bytes_read: u64) -> u32 {
    read_cost(bytes_read, cost(scope))
}

/// The one price of reading the log for a reply, `SEARCH`'s and
/// `STARRED`'s (which reads at most as much, `store::stars`): one token
/// per 64 KiB of `bytes_read`, counted up to [`MAX_READ_BYTES`], less the
/// `paid` tokens the request took before it ran (`requests::cost`).
pub fn read_cost(bytes_read: u64, paid: u32) -> u32 {
    let read = bytes_read.min(MAX_READ_BYTES).div_ceil(BYTES_PER_TOKEN) as u32;
    read.saturating_sub(paid)
}

/// Searches, then charges what the search read past its [`cost`].
pub(super) fn serve(mut a: Asking, scope: Scope, query: String) -> Flow {
    a.settle();
    let searched = search(a.base, a.who.id, &scope, &query);
    if let Ok(found) = &searched {
        a.charge(extra_cost(&scope, found.bytes_read));
    }
    // 1.2 (§30): no `READ` shown where read receipts are off.
    let mut shown = crate::server::profile::reads_shown(a.base, a.who.id);
    let searched = searched.map(|mut found| {
        for line in &mut found.found {
            crate::server::profile::hide_read(line, a.who.name, &mut shown);
        }
        found
    });
    a.reply(searched.map(|found| Reply::listing(found.found)))
}

/// The matching messages, newest first, at most [`MAX_RESULTS`], from
/// conversations `user` is in (a room left is searched no more).
/// Returns them with the bytes it read, for [`extra_cost`].
fn search(base: &Base, user: UserId, scope: &Scope, words: &str) -> Result<Searched, Ko> {
    let chats: Vec<Chat> = match scope {
        Scope::Chat(chat) => vec![chat.clone()],
        Scope::All => base.store.chats(user)?.into_iter().take(MAX_CHATS).map(|line| line.chat).collect(),
    };
    base.store.search(user, &chats, &Query::new(words), MAX_RESULTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_costs_what_it_read_up_to_its_bound() {
        let chat = Scope::Chat(Chat::User("bob".into()));
        assert_eq!(cost(&chat) + extra_cost(&chat, 0), 11, "an ordinary search costs as before");
        assert_eq!(extra_cost(&chat, 64 * 1024 * 11), 0);
        assert_eq!(cost(&chat) + extra_cost(&chat, 64 * 1024 * 12), 12);
        assert_eq!(cost(&Scope::All) + extra_cost(&Scope::All, u64::MAX), 128, "at most its bound");
        // STARRED's 11 first, then the same price per byte read, the same bound.
        assert_eq!(read_cost(64 * 1024 * 11, 11), 0);
        assert_eq!(read_cost(64 * 1024 * 11 + 1, 11), 1);
        assert_eq!(read_cost(u64::MAX, 11), 128 - 11);
    }
}
