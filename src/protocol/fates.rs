//! [`Fates`]: what the actions of a conversation (protocol 1.2, see
//! [`super::action`]) did to its messages, learnt by reading the
//! conversation newest first: an action is always newer than the message
//! it names, so by the time a message is read, every action on it was.
//!
//! One reading for everyone who folds actions into messages: the server's
//! `HISTORY` and `SEARCH`, its checks of a new action, and the clients.

use std::collections::{HashMap, HashSet};

use super::action::{self, Act, Action, ActionId, ActionsSince, quote_line};
use super::{Accepted, HistoryLine, Text};

/// What became of a conversation's messages (see the module documentation).
#[derive(Default, Debug)]
pub struct Fates {
    /// (author, id) → the delete's `<id>:<ts>`.
    deleted: HashMap<(String, String), Accepted>,
    /// (author, id) → the newest edit's `<id>:<ts>` and text.
    edits: HashMap<(String, String), (Accepted, Text)>,
    /// (who, id, emoji) → whether that reaction is on, by its newest toggle.
    reactions: HashMap<(String, String, String), bool>,
    /// Ids of deleted messages (a reaction names its message by id only).
    deleted_ids: HashSet<String>,
    /// Quote lines of deleted messages (`> ana: hello`), for the replies.
    deleted_quotes: HashSet<String>,
    /// From when an action's id is the server's ([`ActionsSince`]; the
    /// default, 0, trusts every one: a reader that cannot know).
    since: ActionsSince,
    /// (author, id) of messages with an action's id from before `since`:
    /// plain messages, which a client may have sent under that id.
    plain: HashSet<(String, String)>,
}

fn key(author: &str, id: &str) -> (String, String) {
    (author.to_string(), id.to_string())
}

/// Where the newest line of the message `id` (of `from`, ignoring case,
/// if given) is among `lines`, a conversation as `HISTORY` lists it
/// (oldest first): the message that an action or a star names.
pub fn newest(lines: &[HistoryLine], from: Option<&str>, id: &str) -> Option<usize> {
    lines.iter().rposition(|l| l.id == id && from.is_none_or(|f| l.from.eq_ignore_ascii_case(f)))
}

impl Fates {
    /// A reading that takes an id for an action only on a message stamped
    /// since `since` (see [`ActionsSince`]).
    pub fn since(since: ActionsSince) -> Fates {
        Fates { since, ..Fates::default() }
    }

    /// What the actions among `lines` (a conversation as `HISTORY` lists
    /// it, oldest first) did to its messages: the one reading of a
    /// conversation, observed newest first, for the server's checks of an
    /// action, its `HISTORY`, and the stars (`store::stars`). An action's
    /// id counts only on a message stored since the server refused such
    /// ids from clients (`since`): an older one may be a
    /// client's `MSG` that only looks like an edit.
    pub fn of(since: ActionsSince, lines: &[HistoryLine]) -> Fates {
        let mut fates = Fates::since(since);
        for line in lines.iter().rev() {
            fates.observe(&line.from, &line.id, line.ts, &line.text);
        }
        fates
    }

    /// The action a message is, read as [`Fates::observe`] read it.
    fn action(&self, from: &str, id: &str) -> Option<ActionId> {
        ActionId::parse(id).filter(|_| !self.plain.contains(&key(from, id)))
    }

    /// Reads one message of the conversation; call it newest first (and
    /// before asking anything of it).
    pub fn observe(&mut self, from: &str, id: &str, ts: u64, text: &Text) {
        if ActionId::parse(id).is_some() && self.since.parse(id, ts).is_none() {
            self.plain.insert(key(from, id));
        }
        let Some(act) = self.action(from, id) else {
            if self.deleted.contains_key(&key(from, id)) {
                self.deleted_quotes.insert(quote_line(from, text));
            }
            return;
        };
        let accepted = Accepted { id: id.to_string(), ts };
        let target = key(from, &act.target);
        match (act.act, Action::of(id, text)) {
            (Act::Delete, _) => {
                self.deleted_ids.insert(act.target.clone());
                self.deleted.entry(target).or_insert(accepted);
            }
            // An admin's delete names the author in its text (the server
            // makes these ids: `action::is_servers`).
            (Act::Remove, Some(Action::Remove { author, .. })) => {
                self.deleted_ids.insert(act.target.clone());
                self.deleted.entry(key(&author, &act.target)).or_insert(accepted);
            }
            (Act::Edit, Some(Action::Edit { text, .. })) => {
                if self.deleted.contains_key(&target) {
                    // A reply may quote the message as it read after this edit.
                    self.deleted_quotes.insert(quote_line(from, &text));
                }
                self.edits.entry(target).or_insert((accepted, text));
            }
            (Act::React | Act::Unreact, Some(Action::React { emoji, added, .. })) => {
                self.reactions.entry((from.to_string(), act.target, emoji)).or_insert(added);
            }
            _ => {} // an action's id on a text that is none: shown as it is
        }
    }

    /// The delete of `author`'s message `id`, if it was deleted.
    pub fn deleted(&self, author: &str, id: &str) -> Option<&Accepted> {
        self.deleted.get(&key(author, id))
    }

    /// The newest edit of `author`'s message `id`: its `<id>:<ts>` and text.
    pub fn edit(&self, author: &str, id: &str) -> Option<&(Accepted, Text)> {
        self.edits.get(&key(author, id))
    }

    /// Whether `who`'s reaction `emoji` is on the message `id`.
    pub fn reacted(&self, who: &str, id: &str, emoji: &str) -> bool {
        self.reactions.get(&(who.to_string(), id.to_string(), emoji.to_string())).copied().unwrap_or(false)
    }

    /// The reactions on the message `id`, each with how many have it on:
    /// those of [`action::REACTIONS`] in its order, then any other emoji
    /// in the order of their code points (the same on every screen).
    pub fn reactions_on(&self, id: &str) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for ((_, i, emoji), on) in &self.reactions {
            if i != id || !on {
                continue;
            }
            match counts.iter_mut().find(|(e, _)| e == emoji) {
                Some((_, n)) => *n += 1,
                None => counts.push((emoji.clone(), 1)),
            }
        }
        let rank =
            |e: &str| action::REACTIONS.iter().position(|&r| r == e).unwrap_or(action::REACTIONS.len());
        counts.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        counts
    }

    /// A message's text now: its newest edit's, or its own.
    pub fn text_of(&self, from: &str, id: &str, text: &Text) -> Text {
        match self.edits.get(&key(from, id)) {
            Some((_, new)) => new.clone(),
            None => text.clone(),
        }
    }

    /// True for a message still there: not an action, not deleted.
    pub fn is_live(&self, from: &str, id: &str) -> bool {
        self.action(from, id).is_none() && !self.deleted.contains_key(&key(from, id))
    }

    /// The text a reader is shown for this line: an edited message's
    /// newest text; [`action::DELETED`] for a deleted message, its edits
    /// and the reactions to it; a reply's quote of a deleted message
    /// replaced by it too.
    pub fn shown(&self, from: &str, id: &str, text: &Text) -> Text {
        if self.gone(from, id) {
            return action::deleted_text();
        }
        let text = self.text_of(from, id, text);
        self.unquoted(&text).unwrap_or(text)
    }

    /// What a deletion left of this line as it was sent, edits not folded
    /// in (the inbox replay, where an edit is an event of its own): as
    /// [`shown`](Self::shown), `None` where no deletion touched it.
    pub fn deleted_from(&self, from: &str, id: &str, text: &Text) -> Option<Text> {
        if self.gone(from, id) {
            return Some(action::deleted_text());
        }
        self.unquoted(text)
    }

    /// Whether a deletion took this line whole: a deleted message, its
    /// edits, the reactions to it.
    fn gone(&self, from: &str, id: &str) -> bool {
        match self.action(from, id) {
            None => self.deleted.contains_key(&key(from, id)),
            Some(a) if matches!(a.act, Act::Delete | Act::Remove) => false,
            Some(a) if a.act == Act::Edit => self.deleted.contains_key(&key(from, &a.target)),
            Some(a) => self.deleted_ids.contains(&a.target),
        }
    }

    /// A reply whose first line quotes a deleted message (or what the
    /// eraser left of the quote), with [`action::DELETED`] for the words.
    fn unquoted(&self, text: &Text) -> Option<Text> {
        let plain = text.unescaped();
        let (quote, rest) = plain.split_once('\n')?;
        let (author, quoted) = quote.split_once(": ")?;
        if !self.deleted_quotes.contains(quote) && !is_erased(quoted) {
            return None;
        }
        Text::from_plain(&format!("{author}: {}\n{rest}", action::DELETED)).ok()
    }
}

/// Whether the server's eraser may have overwritten some of `text`: all of
/// it, or the words a reply quotes on its first line ([`is_erased`]). A
/// person's text may look so too (`-`): only the conversation's
/// deletions tell ([`Fates::deleted_from`]).
pub fn looks_erased(text: &Text) -> bool {
    let plain = text.unescaped();
    let quoted = plain.split_once('\n').and_then(|(quote, _)| quote.split_once(": ")).map(|(_, q)| q);
    is_erased(&plain) || quoted.is_some_and(is_erased)
}

/// A text the server's eraser overwrote (`store::local::erase`): the deleted
/// mark padded with spaces, or dashes for a text shorter than the mark.
pub fn is_erased(text: &str) -> bool {
    let trimmed = text.trim_end_matches(' ');
    trimmed == action::DELETED || (!text.is_empty() && text.bytes().all(|b| b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::from_plain(s).unwrap()
    }

    /// A conversation's `HISTORY` lines, oldest first, stamped 0, 1, 2…
    fn lines(lines: &[(&str, &str, &str)]) -> Vec<HistoryLine> {
        let line = |(i, (from, id, t)): (usize, &(&str, &str, &str))| HistoryLine {
            from: from.to_string(),
            to: crate::protocol::Chat::Room("lab".into()),
            id: id.to_string(),
            ts: i as u64,
            state: crate::protocol::MsgState::Received,
            text: text(t),
        };
        lines.iter().enumerate().map(line).collect()
    }

    /// A conversation, oldest first, read as the server and clients do.
    fn read(conversation: &[(&str, &str, &str)]) -> Fates {
        Fates::of(ActionsSince::default(), &lines(conversation))
    }

    #[test]
    fn the_newest_line_of_an_id_is_the_message_named() {
        let conversation = lines(&[("ana", "m1", "hi"), ("bob", "m1", "hey"), ("Ana", "m1", "again")]);
        assert_eq!(newest(&conversation, Some("ANA"), "m1"), Some(2), "names ignore case");
        assert_eq!(newest(&conversation, Some("bob"), "m1"), Some(1));
        assert_eq!(newest(&conversation, None, "m1"), Some(2), "of anyone");
        assert_eq!(newest(&conversation, Some("carl"), "m1"), None);
    }

    #[test]
    fn edits_deletes_and_reactions_fold_into_their_messages() {
        let fates = read(&[
            ("ana", "m1", "helo"),
            ("bob", "m2", "> ana: helo\nhi"),
            ("ana", "_e1_m1", "✎ hello"),
            ("ana", "_e2_m1", "✎ hello!"),
            ("bob", "_r3_m1", "👍 to: hello!"),
            ("ana", "_r4_m1", "👍 to: hello!"),
            ("ana", "_u5_m1", "👍 taken back from: hello!"),
            ("bob", "m3", "unrelated"),
        ]);
        assert_eq!(fates.shown("ana", "m1", &text("helo")), text("hello!"));
        assert_eq!(fates.edit("ana", "m1").unwrap().0.id, "_e2_m1");
        assert!(fates.reacted("bob", "m1", "👍") && !fates.reacted("ana", "m1", "👍"));
        assert_eq!(fates.reactions_on("m1"), vec![("👍".to_string(), 1)]);
        assert!(fates.is_live("ana", "m1") && !fates.is_live("ana", "_e1_m1"));
    }

    #[test]
    fn a_deleted_text_is_shown_nowhere() {
        let lines = [
            ("ana", "m1", "secret plan"),
            ("ana", "_e1_m1", "✎ secret plan B"),
            ("bob", "_r2_m1", "👍 to: secret plan B"),
            ("bob", "m2", "> ana: secret plan B\nok"),
            ("ana", "_d3_m1", "(message deleted)"),
        ];
        let fates = read(&lines);
        for (from, id, t) in &lines {
            let shown = fates.shown(from, id, &text(t)).unescaped();
            assert!(!shown.contains("secret"), "{id}: {shown}");
        }
        assert_eq!(fates.shown("bob", "m2", &text(lines[3].2)).unescaped(), "> ana: (message deleted)\nok");
        assert!(fates.deleted("ana", "m1").is_some() && !fates.is_live("ana", "m1"));
    }

    #[test]
    fn an_action_id_stored_before_the_servers_refusal_is_a_plain_message() {
        // bob's `_e1_m1` at time 1 was stored by a server that took any id.
        let lines = [
            ("bob", "m1", "hello"),
            ("bob", "_e1_m1", "✎ rewritten"),
            ("ana", "_d9_m1", "(message deleted)"),
        ];
        let mut fates = Fates::since(ActionsSince(2));
        for (i, (from, id, t)) in lines.iter().enumerate().rev() {
            fates.observe(from, id, i as u64, &text(t));
        }
        assert_eq!(fates.shown("bob", "m1", &text("hello")).unescaped(), "hello");
        assert!(fates.is_live("bob", "_e1_m1") && fates.edit("bob", "m1").is_none());
        assert_eq!(fates.shown("bob", "_e1_m1", &text("✎ rewritten")).unescaped(), "✎ rewritten");
        // ana's delete at time 2 is the server's, but names her own m1 only.
        assert!(fates.deleted("ana", "m1").is_some() && fates.deleted("bob", "m1").is_none());
    }

    #[test]
    fn an_admins_delete_hides_the_authors_message_only() {
        let lines = [
            ("bob", "m1", "spam spam"),
            ("carl", "m1", "my own m1"),
            ("ana", "m2", "> bob: spam spam\nstop it"),
            ("ana", "_x1_m1", "(message from bob deleted)"),
        ];
        let fates = read(&lines);
        assert_eq!(fates.deleted("bob", "m1").map(|a| a.id.as_str()), Some("_x1_m1"));
        assert!(fates.deleted("ana", "m1").is_none() && fates.is_live("carl", "m1"));
        assert_eq!(fates.shown("bob", "m1", &text("spam spam")).unescaped(), "(message deleted)");
        assert_eq!(fates.shown("carl", "m1", &text("my own m1")).unescaped(), "my own m1");
        assert_eq!(
            fates.shown("ana", "m2", &text(lines[2].2)).unescaped(),
            "> bob: (message deleted)\nstop it"
        );
        assert_eq!(fates.shown("ana", "_x1_m1", &text(lines[3].2)).unescaped(), "(message from bob deleted)");
    }
}
