//! `SEARCH` (protocol 1.2): the newest messages of some conversations
//! that hold every word of a query, ignoring case and accents.
//!
//! No index: the log is scanned, newest first, and the scan stops at the
//! 50th match. Why: an index of every word would hold about as many
//! entries as the log has words, in memory (the issue asks for the
//! server's memory unchanged with search on) or in more files to keep
//! crash-safe; while a scan reads what `HISTORY` reads, from the page
//! cache, at ~1 GB/s. docs/BENCHMARKS.md ("Search") has the figures of
//! `examples/search_cost.rs`: a word found in recent messages answers in
//! a few milliseconds; a word found nowhere reads every message of the
//! user's conversations, bounded by [`MAX_SCANNED`].
//!
//! The local store walks the conversations' chains together
//! ([`Inner::search_chats`]): a heap keeps each chain's newest unread record, so
//! records come newest first across all of them. Other backends (the
//! cluster) get [`by_history`]: each conversation's newest
//! [`MAX_HISTORY`] messages, through `history`.
//!
//! Accents are folded by a table of the Latin letters of the languages
//! wachat speaks (and their neighbours), not by a Unicode normalisation
//! crate: `é`, `ç`, `ñ`, `ã` and their kind are one table lookup each,
//! which a scan of a million texts can afford, and a dependency is not
//! needed for it.

use std::collections::BinaryHeap;
use std::sync::Arc;

use super::backend::Backend;
use super::local::Inner;
use super::local::reads::{Directions, Reader};
use super::record::{MsgRef, NO_POS};
use super::state::UserId;
use crate::protocol::fates::Fates;
use crate::protocol::{Chat, Code, HistoryLine, Ko, MAX_HISTORY, MAX_HISTORY_BYTES, State, Text};

/// Most lines of a `SEARCH` reply.
pub const MAX_RESULTS: usize = crate::protocol::request::MAX_SEARCH_RESULTS;

/// Most records one `SEARCH` reads: a million, the issue's figure (a
/// word found nowhere, in a million messages: see BENCHMARKS.md).
pub const MAX_SCANNED: usize = 1_000_000;

/// The words of a query, folded.
#[derive(Clone, Debug)]
pub struct Query {
    words: Vec<String>,
}

impl Query {
    pub fn new(query: &str) -> Query {
        Query { words: fold(query).split_whitespace().map(str::to_string).collect() }
    }

    /// True if the text (escaped, as stored) holds every word.
    pub fn matches_escaped(&self, escaped: &str) -> bool {
        let folded = fold_escaped(escaped);
        self.words.iter().all(|w| folded.contains(w.as_str()))
    }
}

/// Lower case, accents dropped: `Ação` → `acao`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_folded(&mut out, c);
    }
    out
}

/// [`fold`] of an escaped text, its escapes undone (`\n` is a space).
fn fold_escaped(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push(' '),
                Some(other) => push_folded(&mut out, other),
                None => {}
            },
            c => push_folded(&mut out, c),
        }
    }
    out
}

fn push_folded(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match unaccented(c) {
        Some(plain) => out.push_str(plain),
        None => out.extend(c.to_lowercase()),
    }
}

/// The letter without its accent, lower case, for the Latin letters with
/// diacritics of Latin-1 and Latin Extended-A.
fn unaccented(c: char) -> Option<&'static str> {
    Some(match c {
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => "a",
        'Æ' | 'æ' => "ae",
        'Ç' | 'ç' | 'Ć'..='č' => "c",
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => "e",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => "i",
        'Ñ' | 'ñ' | 'Ń'..='ŋ' => "n",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => "o",
        'Œ' | 'œ' => "oe",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => "u",
        'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' => "y",
        'ß' => "ss",
        'Ď'..='đ' => "d",
        'Ĝ'..='ģ' => "g",
        'Ĥ'..='ħ' => "h",
        'Ĵ' | 'ĵ' => "j",
        'Ķ' | 'ķ' => "k",
        'Ĺ'..='ł' => "l",
        'Ŕ'..='ř' => "r",
        'Ś'..='š' => "s",
        'Ţ'..='ŧ' => "t",
        'Ŵ' | 'ŵ' => "w",
        'Ź'..='ž' => "z",
        _ => return None,
    })
}

/// `SEARCH` on any backend, through `history`: the newest
/// [`MAX_HISTORY`] messages of each conversation.
pub fn by_history<B: Backend + ?Sized>(
    backend: &B,
    user: UserId,
    chats: &[Chat],
    query: &Query,
    limit: usize,
) -> Result<Vec<HistoryLine>, Ko> {
    let mut found = Vec::new();
    for chat in chats {
        let lines = backend.history(user, chat, MAX_HISTORY, MAX_HISTORY_BYTES)?.collect()?;
        let lines: Vec<HistoryLine> = lines.iter().filter_map(|l| HistoryLine::parse(l).ok()).collect();
        let mut fates = Fates::default();
        for line in lines.iter().rev() {
            fates.observe(&line.from, &line.id, line.ts, &line.text);
            if fates.is_live(&line.from, &line.id) {
                let text = fates.text_of(&line.from, &line.id, &line.text);
                if query.matches_escaped(text.as_escaped()) {
                    found.push(HistoryLine { text, ..line.clone() });
                }
            }
        }
    }
    found.sort_by_key(|l| std::cmp::Reverse(l.ts));
    found.truncate(limit);
    Ok(found)
}

/// One conversation being walked.
struct Walk {
    fates: Fates,
    direct: Option<Directions>,
}

impl Inner {
    /// `SEARCH` on the local store: the chains of `chats` walked together,
    /// newest record first (see the module documentation).
    pub(in crate::store) fn search_chats(
        self: &Arc<Self>,
        user: UserId,
        chats: &[Chat],
        query: &Query,
        limit: usize,
    ) -> Result<Vec<HistoryLine>, Ko> {
        let mut heap = BinaryHeap::new();
        let mut walks = Vec::with_capacity(chats.len());
        {
            let state = self.state.lock();
            for chat in chats {
                let (head, direct) = match chat {
                    Chat::User(name) => {
                        let peer = state
                            .user_id(name)
                            .ok_or_else(|| Ko::new(Code::UnknownUser, format!("no user named {name}")))?;
                        let marks = Directions {
                            me: state.users[user].name.clone(),
                            mine: state.marks(user, peer),
                            theirs: state.marks(peer, user),
                        };
                        (state.direct_head(user, peer), Some(marks))
                    }
                    Chat::Room(name) => {
                        let room = state
                            .member_room(name, user)
                            .ok_or_else(|| Ko::new(Code::NotMember, format!("you are not in #{name}")))?;
                        (state.room_head(room), None)
                    }
                };
                if head != NO_POS {
                    heap.push((head, walks.len()));
                }
                walks.push(Walk { fates: Fates::default(), direct });
            }
        }
        let synced = self.synced();
        let mut reader = Reader::new(self.clone());
        let mut found = Vec::new();
        let mut scanned = 0;
        while let Some((pos, i)) = heap.pop() {
            if found.len() >= limit || scanned >= MAX_SCANNED {
                break;
            }
            scanned += 1;
            let Some(line) = reader.line(pos, true)? else { continue }; // removed by retention
            let Ok(m) = MsgRef::decode(line) else { continue }; // damaged: its chain ends here
            if m.prev != NO_POS {
                heap.push((m.prev, i));
            }
            if pos >= synced {
                continue; // not on disk yet: shown once it is, as `HISTORY` does
            }
            if let Some(line) = walks[i].consider(&m, query) {
                found.push(line);
            }
        }
        Ok(found)
    }
}

impl Walk {
    /// The record's `HISTORY` line if it is a live message that matches.
    fn consider(&mut self, m: &MsgRef, query: &Query) -> Option<HistoryLine> {
        let ordinary = !m.id.starts_with('_');
        // The common case, a message no action named, costs no copy.
        if ordinary && self.fates.deleted(m.from, m.id).is_none() && self.fates.edit(m.from, m.id).is_none() {
            if !query.matches_escaped(&m.text) {
                return None;
            }
            let text = Text::parse(&m.text).ok()?;
            return Some(self.line(m, text));
        }
        let text = Text::parse(&m.text).ok()?;
        self.fates.observe(m.from, m.id, m.ts, &text);
        if !self.fates.is_live(m.from, m.id) {
            return None;
        }
        let text = self.fates.text_of(m.from, m.id, &text);
        query.matches_escaped(text.as_escaped()).then(|| self.line(m, text))
    }

    fn line(&self, m: &MsgRef, text: Text) -> HistoryLine {
        let state = self.direct.as_ref().map_or(State::Received, |d| d.state(m.from, m.dord));
        HistoryLine {
            from: m.from.to_string(),
            to: Chat::registered(m.to),
            id: m.id.to_string(),
            ts: m.ts,
            state,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(
            fold("Ação À LA Crème brûlée, Ñandú, Łódź, Straße"),
            "acao a la creme brulee, nandu, lodz, strasse"
        );
        let q = Query::new("CAFE  creme");
        assert!(q.matches_escaped("Un café\\ncrème"));
        assert!(!q.matches_escaped("un café"));
        assert!(Query::new("x\\y").matches_escaped("a x\\\\y b"));
    }
}
