//! `DELETE` on a cluster (protocol 1.2): the deleted text leaves the
//! `messages` table at once, in one transaction before the `OK`: the
//! message's row, its edits and the reactions to it get the text
//! `(message deleted)`, and the replies quoting it lose the quote.
//!
//! No table of erasures to do (the local store's `erase.csv`) and so no
//! migration: the rows are rewritten before the `OK`, or the `DELETE`
//! fails and the client sends it again. PostgreSQL keeps the old version
//! of a rewritten row until its (auto)vacuum reclaims it, and its WAL
//! until the next checkpoint recycles it: docs/CLUSTER.md says so.

use super::db::{Db, OrKo};
use crate::protocol::action::{Act, Action, ActionId, DELETED, deleted_text, quote_line, reaction_quoting};
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
    let is_author = |from: &str| from.eq_ignore_ascii_case(author);
    let mut quotes = Vec::new();
    let mut changes = Vec::new();
    for (row, from, msg_id, text) in &rows {
        let Ok(text) = Text::parse(text) else { continue };
        match ActionId::parse(msg_id) {
            None if msg_id == id && is_author(from) => {
                quotes.push(quote_line(from, &text));
                changes.push((*row, deleted_text()));
            }
            Some(action) if action.target == id => {
                let own = matches!(action.act, Act::Edit | Act::Delete) && is_author(from);
                if own || matches!(action.act, Act::React | Act::Unreact) {
                    if let Some(Action::Edit { text, .. }) = Action::of(msg_id, &text) {
                        quotes.push(quote_line(from, &text));
                    }
                    changes.push((*row, deleted_text()));
                }
            }
            _ => {}
        }
    }
    // The rows that quote a deleted text: replies (their first line), and
    // reactions to a reply, which repeat its quote (`👍 to: > ana: …`).
    for (row, _, msg_id, text) in &rows {
        let Ok(text) = Text::parse(text) else { continue };
        let plain = text.unescaped();
        let new = match ActionId::parse(msg_id) {
            None => plain.split_once('\n').filter(|(quote, _)| quotes.iter().any(|q| q == quote)).and_then(
                |(quote, rest)| quote.split_once(": ").map(|(who, _)| format!("{who}: {DELETED}\n{rest}")),
            ),
            Some(a) if a.target != id && matches!(a.act, Act::React | Act::Unreact) => {
                reaction_quoting(&plain, &quotes).map(|at| format!("{}{DELETED}", &plain[..at]))
            }
            Some(_) => None,
        };
        if let Some(Ok(new)) = new.map(|n| Text::from_plain(&n)) {
            changes.push((*row, new));
        }
    }
    for (row, text) in &changes {
        tx.execute("UPDATE messages SET text = $1 WHERE id = $2", &[&text.as_escaped(), row])
            .or_ko("erasing a deleted message")?;
    }
    tx.commit().or_ko("erasing a deleted message")
}
