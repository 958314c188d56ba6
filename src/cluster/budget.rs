//! Budgets on a cluster node (issue 25): the same `KO:FULL` as a single
//! server (`store/budget.rs`, docs/PROTOCOL.md §5), counted where a
//! cluster keeps its truth, in PostgreSQL's rows that a batch locks
//! anyway, so that no check costs a round trip:
//!
//! | budget | flag | counted in | comes back when |
//! |---|---|---|---|
//! | inbox | `--inbox-max` | the recipient's `inboxes` row: `last_seq − acked` | the recipient acknowledges |
//! | stored bytes | `--user-quota` | the sender's `inboxes.stored` (`007_stored`) | the operator raises the quota (or lowers the counter) |
//! | the database's disk | — | PostgreSQL's own error (`53100 disk_full`) | space is freed: the next batch simply tries again |
//!
//! **Why no `--min-free` on a node.** The disk that fills is the
//! database's, on another machine; a node cannot `statvfs` it. PostgreSQL
//! refuses a write that does not fit with `disk_full` and rolls the whole
//! transaction back, so nothing half-written stays: the batch's requests
//! get `KO:FULL`, and since a node's memory holds nothing the database
//! does not, the next batch is a fresh try, and writes resume by
//! themselves once there is room. Keeping room for PostgreSQL's WAL is
//! its operator's (a separate disk for `pg_wal`, docs/CLUSTER.md).

use crate::protocol::{Code, Ko};
use crate::store::budget::Quota;

/// Bytes a message counts against its sender's quota: what its row holds
/// (text, id, both names) and [`ROW_BYTES`] for the rest of the row.
/// `007_stored.sql` fills the counter with the same sum in SQL.
pub fn message_bytes(text: &str, id: &str, from: &str, to: &str) -> i64 {
    (text.len() + id.len() + from.len() + to.len()) as i64 + ROW_BYTES
}

/// Sets every user's counter from the messages stored (`wachat migrate`,
/// after it copied them in; `007_stored.sql` says the same).
pub const FILL_STORED: &str = "UPDATE inboxes i SET stored = s.bytes \
     FROM (SELECT sender, sum(octet_length(text) + octet_length(msg_id) + octet_length(from_name) \
                              + octet_length(to_name) + 72)::int8 AS bytes \
           FROM messages GROUP BY sender) AS s \
     WHERE i.user_id = s.sender";

/// A `messages` row's header and numbers (PostgreSQL's tuple header of
/// 24 bytes and six `bigint`s), about what any message costs beyond its
/// strings, indexes aside.
pub const ROW_BYTES: i64 = 72;

/// What a sender who has stored `used` bytes has against its quota
/// (`limit` 0: none), with this counter's own way back: checked by the
/// single server's rule, [`Quota::check`], for a message
/// (`meaning::send`) and a moderation change alike.
pub fn quota(limit: u64, used: i64) -> Quota<'static> {
    Quota { limit, used: super::db::count(used), more: MORE }
}

/// How a cluster's user gets room again, in its `KO:FULL`.
const MORE: &str = "ask its operator for more";

/// The `KO:FULL` of a batch PostgreSQL refused for lack of disk (its
/// transaction rolled back whole), or `None` for any other error.
pub fn disk_full(e: &postgres::Error) -> Option<Ko> {
    if e.code() != Some(&postgres::error::SqlState::DISK_FULL) {
        return None;
    }
    log::warn!("cluster: the database's disk is full: {}", super::db::describe(e));
    let why = "the database's disk is full; writes resume by themselves once there is room";
    Some(Ko::new(Code::Full, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_quota_is_the_single_servers_rule_with_its_own_way_back() {
        assert!(quota(1000, 999).check().is_ok());
        let ko = quota(1000, 1000).check().unwrap_err();
        let single = Quota { limit: 1000, used: 1000, more: MORE }.check().unwrap_err();
        assert_eq!(ko, single, "one rule, one refusal");
        assert!(ko.reason.ends_with("(--user-quota); ask its operator for more"), "{}", ko.reason);
        assert!(quota(0, i64::MAX).check().is_ok(), "0: no limit");
        assert!(quota(1000, -5).check().is_ok(), "a counter below zero counts as nothing stored");
    }

    #[test]
    fn a_message_counts_its_strings_and_a_row() {
        assert_eq!(message_bytes("hola", "m1", "ana", "bob"), 4 + 2 + 3 + 3 + ROW_BYTES);
    }
}
