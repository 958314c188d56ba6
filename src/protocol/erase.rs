//! Which texts a `DELETE` erases (protocol 1.2, docs/PROTOCOL.md §19,
//! "What a deletion erases"): the one rule that the store's eraser
//! (`store::local::erase`, overwriting its log: a single
//! server's, and each cluster node's copy) and the client
//! (`client::history::erase`, overwriting `history.csv`) apply,
//! each with its own I/O.
//!
//! Given a conversation's messages, oldest first, and the deleted
//! message (its author, compared ignoring case as names are unique so,
//! and its id), the rule is:
//!
//! - the message: its newest one of that author and id, **whole**;
//! - after it, the author's own actions on it (its edits, its deletion)
//!   and everyone's reactions to it (by id, as a reaction names it),
//!   **whole**;
//! - after it, a reply whose first line quotes the message as it read,
//!   first or after one of those edits: the **quoted words** only;
//! - after it, a reply to such a reply, whose quote repeats that one
//!   (`> bob: > ana: …`): the quoted words too, and so on;
//! - after it, a reaction to any of those replies, which repeats its
//!   quote (`👍 to: > ana: …`): **from the quoted words to its end**.
//!
//! An admin's delete (`_x…`) stays: its text names whose message went,
//! not its words.
//!
//! And what a deletion does to a star (1.2, §25): [`star_shows`].

use super::Text;
use super::action::{self, Act, Action, ActionId, quote_line, reaction_quoting};
use super::fates::Fates;
use super::names::fold;

/// One message of the conversation, as stored.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub from: &'a str,
    pub id: &'a str,
    pub text: &'a Text,
}

/// What to erase of one message's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blank {
    /// All of it.
    Whole,
    /// A reply's quote of the deleted text: this first line's words
    /// after `> ana: `.
    Quote(String),
    /// A reaction to such a reply: its (unescaped) text from this byte
    /// offset to its end.
    Tail(usize),
}

impl Blank {
    /// The text once erased, whole, as a reader is shown it
    /// (`store/local/erase.rs`'s `Unerased`); `None` if the blank does not
    /// fit the text.
    pub fn apply(&self, text: &Text) -> Option<Text> {
        let plain = text.unescaped();
        let new = match self {
            Blank::Whole => action::DELETED.to_string(),
            Blank::Quote(quote) => {
                let rest = plain.strip_prefix(quote.as_str())?.strip_prefix('\n')?;
                let (who, _) = quote.split_once(": ")?;
                format!("{who}: {}\n{rest}", action::DELETED)
            }
            Blank::Tail(at) => format!("{}{}", plain.get(..*at)?, action::DELETED),
        };
        Text::from_plain(&new).ok()
    }
}

/// Whether a message may hold a deleted message's text when it is not
/// that message: an action, or a reply (its text, as stored escaped,
/// starts with a quote). Lets the store skip reading the others
/// (`store/local/erase.rs`'s `read_back`).
pub fn may_quote(id: &str, escaped: &str) -> bool {
    ActionId::parse(id).is_some() || escaped.starts_with("> ")
}

/// What to erase when `author` deleted their message `id`: the lines
/// (indexes into `lines`, oldest first) and the part of each. The
/// message itself comes first; empty if `lines` do not hold it.
pub fn erasure(lines: &[Line], author: &str, id: &str) -> Vec<(usize, Blank)> {
    let by_author = |from: &str| fold(from) == fold(author);
    let Some(original) =
        lines.iter().rposition(|l| l.id == id && ActionId::parse(l.id).is_none() && by_author(l.from))
    else {
        return Vec::new();
    };
    // A reply quotes the message by the name it was stored under.
    let who = lines[original].from;
    let mut quotes = vec![quote_line(who, lines[original].text)];
    let mut out = vec![(original, Blank::Whole)];
    let after = || lines.iter().enumerate().skip(original + 1);
    for (i, line) in after() {
        let Some(act) = ActionId::parse(line.id).filter(|a| a.target == id) else { continue };
        let whole = match act.act {
            Act::Edit | Act::Delete => by_author(line.from),
            Act::React | Act::Unreact => true,
            Act::Remove => false,
        };
        if whole {
            if let Some(Action::Edit { text, .. }) = Action::of(line.id, line.text)
                && act.act == Act::Edit
            {
                quotes.push(quote_line(who, &text));
            }
            out.push((i, Blank::Whole));
        }
    }
    for (i, line) in after() {
        let plain = line.text.unescaped();
        let blank = match ActionId::parse(line.id) {
            None => {
                let quote = plain.split_once('\n').and_then(|(first, _)| quotes.iter().find(|q| *q == first));
                let blank = quote.map(|q| Blank::Quote(q.clone()));
                if blank.is_some() {
                    // A reply to this reply quotes its first line, and so the words.
                    quotes.push(quote_line(line.from, line.text));
                }
                blank
            }
            Some(a) if a.target != id && matches!(a.act, Act::React | Act::Unreact) => {
                reaction_quoting(&plain, &quotes).map(Blank::Tail)
            }
            Some(_) => None,
        };
        out.extend(blank.map(|b| (i, b)));
    }
    out
}

/// What a deletion does to a star (1.2, docs/PROTOCOL.md §25): the star
/// of a deleted message (by its author or a room's admin) is **hidden**:
/// `STARRED` does not list it, as `HISTORY` no longer shows its words,
/// and it cannot be starred again. The star itself stays stored until
/// `UNSTAR` (so a deletion writes nothing to everyone who starred the
/// message) and counts against the bound. The server's `STARRED` and its
/// refusal of a new star ask this; the browser's
/// Starred view follows it by asking `STARRED` again after a deletion.
pub fn star_shows(fates: &Fates, author: &str, id: &str) -> bool {
    fates.deleted(author, id).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::from_plain(s).unwrap()
    }

    fn run(lines: &[(&str, &str, &str)], author: &str, id: &str) -> Vec<(usize, Blank)> {
        let texts: Vec<Text> = lines.iter().map(|(_, _, t)| text(t)).collect();
        let lines: Vec<Line> =
            lines.iter().zip(&texts).map(|((from, id, _), text)| Line { from, id, text }).collect();
        erasure(&lines, author, id)
    }

    #[test]
    fn a_deletion_erases_the_message_its_edits_reactions_and_quotes() {
        let lines = [
            ("ana", "m1", "old words"),
            ("Ana", "m1", "secret plan"),
            ("ana", "_e1_m1", "✎ secret plan B"),
            ("bob", "_r2_m1", "👍 to: secret plan B"),
            ("bob", "b1", "> Ana: secret plan B\nok"),
            ("carl", "_r3_b1", "👍 to: > Ana: secret plan B"),
            ("bob", "_e4_m1", "✎ not bob's to edit"),
            ("eve", "_x5_m1", "(message from ana deleted)"),
            ("ANA", "_d6_m1", "(message deleted)"),
        ];
        let blanks = run(&lines, "ANA", "m1");
        let quote = "> Ana: secret plan B".to_string();
        assert_eq!(
            blanks,
            vec![
                (1, Blank::Whole),
                (2, Blank::Whole),
                (3, Blank::Whole),
                (8, Blank::Whole),
                (4, Blank::Quote(quote)),
                (5, Blank::Tail("👍 to: > Ana: ".len()))
            ]
        );
        assert_eq!(
            Blank::Tail(16).apply(&text(lines[5].2)).unwrap().unescaped(),
            "👍 to: > Ana: (message deleted)"
        );
        let reply = Blank::Quote("> Ana: secret plan B".into()).apply(&text(lines[4].2)).unwrap();
        assert_eq!(reply.unescaped(), "> Ana: (message deleted)\nok");
        assert!(run(&lines, "bob", "m1").is_empty());
    }

    #[test]
    fn a_deleted_message_hides_its_star_and_an_edit_does_not() {
        let mut fates = Fates::default();
        // Newest first, as `Fates::observe` reads.
        for (from, id, t) in [
            ("eve", "_x3_m2", "(message from bob deleted)"),
            ("ana", "_d2_m1", "(message deleted)"),
            ("bob", "_e1_m3", "✎ fixed"),
            ("bob", "m3", "typo"),
            ("bob", "m2", "spam"),
            ("ana", "m1", "secret"),
        ] {
            fates.observe(from, id, 1, &text(t));
        }
        assert!(!star_shows(&fates, "ana", "m1"), "deleted by its author");
        assert!(!star_shows(&fates, "bob", "m2"), "deleted by a room's admin");
        assert!(star_shows(&fates, "bob", "m3"), "an edit keeps the star");
        assert!(star_shows(&fates, "bob", "m1"), "another author's m1 is another message");
    }
}
