//! `HISTORY:<peer or #room>:<limit>` (protocol §4): the newest messages
//! of a chat, edits and deletions shown in place (1.2); and (1.2)
//! `HISTORY:<peer or #room>:<limit>:<start>`, a page of it read back from
//! `*` or a cursor, answered `OK:<n>:<cursor>` (`protocol::page`).

use crate::protocol::page::Start;
use crate::protocol::{Chat, MAX_HISTORY, Reply};
use crate::server::actions;
use crate::server::session::Flow;

use super::asking::Asking;

use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["HISTORY"], Version::V1_0, Kind::Read);

/// What a `HISTORY` of `limit` messages costs: one token, and one more per
/// 100 messages it may return (a full one, 1,000 messages, costs 11), a
/// page (1.2) as any: reading 10,000 messages back takes 110 tokens in
/// pages of 1,000, 200 in pages of 100 (docs/PROTOCOL.md §4 "Paging
/// back").
pub(super) fn cost(limit: usize) -> u32 {
    1 + (served(limit) / 100) as u32
}

/// The limit as served: a `HISTORY` asking for more than [`MAX_HISTORY`]
/// messages gets that many (a larger limit was legal in protocol 1.0, so
/// it is clamped, not refused).
fn served(limit: usize) -> usize {
    limit.min(MAX_HISTORY)
}

pub(super) fn serve(mut a: Asking, chat: Chat, limit: usize, page: Option<Start>) -> Flow {
    a.settle();
    // The lines, edits and deletions shown in place (1.2).
    // 1.2 (§31): a device's connection sees its room messages' ticks.
    let start = (page.unwrap_or(Start::Newest), a.logged_in_as_device());
    let shown = actions::history_page_as(&a.base.store, a.who.id, &chat, start, served(limit));
    // 1.2 (§30): no `READ` shown where read receipts are off.
    let shown = shown.map(|(mut lines, before)| {
        if let Chat::User(_) = &chat {
            crate::server::profile::hide_reads(a.base, a.who.id, a.who.name, &mut lines);
        }
        (lines, before)
    });
    a.reply(shown.map(|(lines, before)| match page {
        None => Reply::Listing(lines),
        Some(_) => Reply::Page { lines, before },
    }))
}
