//! `DELETE` on a cluster (protocol 1.2): the deleted text leaves the
//! `messages` table at once, in one transaction before the `OK`: the
//! rows that `protocol::erase` (the rule the local store and the client
//! apply too) names get the text it gives: `(message deleted)` for the
//! message, its edits and the reactions to it, the quote of it replaced
//! in the replies.
//!
//! No table of erasures to do (the local store's `erase.csv`) and so no
//! migration: the rows are rewritten before the `OK`, or the `DELETE`
//! fails and the client sends it again. PostgreSQL keeps the old version
//! of a rewritten row until its (auto)vacuum reclaims it, and its WAL
//! until the next checkpoint recycles it: docs/CLUSTER.md says so.

use super::db::{Db, OrKo};
use crate::protocol::erase::{Line, erasure};
use crate::protocol::{Chat, Ko, Text};

/// Rewrites the rows that hold `author`'s message `id` to `chat`.
pub fn erase(db: &Db, author: &str, chat: &Chat, id: &str) -> Result<(), Ko> {
    let mut conn = db.get()?;
    let mut tx = conn.transaction().or_ko("erasing a deleted message")?;
    let to = chat.to_string();
    // 1.2: none from before the author's cut (`users.since`, a freed
    // name's new account): an id its old account used names another
    // message, which the new one may not touch; everything that refers
    // to the new one came after it.
    let since: i64 = tx
        .query_opt("SELECT since FROM users WHERE folded = $1", &[&crate::protocol::names::fold(author)])
        .or_ko("reading a user")?
        .map_or(0, |r| r.get(0));
    // The conversation's rows that may hold the text: the message, the
    // actions naming it, and every reply (a text starting with a quote).
    let rows = tx
        .query(
            "SELECT id, from_name, msg_id, text FROM messages
             WHERE (CASE WHEN left($2, 1) = '#' THEN lower(to_name) = lower($2)
                    ELSE (lower(from_name) = lower($1) AND lower(to_name) = lower($2))
                      OR (lower(from_name) = lower($2) AND lower(to_name) = lower($1)) END)
               AND (msg_id = $3 OR right(msg_id, length($3) + 1) = '_' || $3 OR text LIKE '> %'
                    OR msg_id LIKE '\\_r%' OR msg_id LIKE '\\_u%')
               AND id >= $4
             ORDER BY id",
            &[&author, &to, &id, &since],
        )
        .or_ko("reading a deleted message")?;
    let rows: Vec<(i64, String, String, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    let changes = rewrites(&rows, author, id);
    for (row, text) in &changes {
        tx.execute("UPDATE messages SET text = $1 WHERE id = $2", &[&text.as_escaped(), row])
            .or_ko("erasing a deleted message")?;
    }
    tx.commit().or_ko("erasing a deleted message")
}

/// The rows to rewrite, each with its new text: `protocol::erase`'s rule
/// over the conversation's rows (`(row id, from, msg_id, text as
/// stored)`, oldest first). Pure, so that it is tested without a
/// database (tests/store/erase_props.rs).
pub fn rewrites(rows: &[(i64, String, String, String)], author: &str, id: &str) -> Vec<(i64, Text)> {
    // A text that is not one (none is stored so) holds nothing to find.
    let rows: Vec<(i64, &str, &str, Text)> = rows
        .iter()
        .filter_map(|(row, from, msg_id, text)| {
            Some((*row, from.as_str(), msg_id.as_str(), Text::parse(text).ok()?))
        })
        .collect();
    let lines: Vec<Line> = rows.iter().map(|(_, from, id, text)| Line { from, id, text }).collect();
    erasure(&lines, author, id)
        .into_iter()
        .filter_map(|(i, blank)| {
            let (row, _, _, text) = &rows[i];
            blank.apply(text).filter(|new| new != text).map(|new| (*row, new))
        })
        .collect()
}
