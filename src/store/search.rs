//! `SEARCH` (protocol 1.2): the newest messages of some conversations
//! that hold every word of a query, as whole words, ignoring case and
//! accents.
//!
//! The log is read newest first, and the reading stops at the 50th match.
//! In the store (`local/search.rs`), what makes it fast is a small
//! index: the log's records in
//! blocks of 1,024, each with a Bloom filter of the words of its texts
//! and of its conversations (2 KiB a block, 2 MiB per million messages),
//! so that a search reads only the blocks that may hold all its words in
//! one of its conversations; and it reads at most 8 MiB of the log,
//! whatever they hold (`local::search::MAX_READ_BYTES`: what one search
//! costs is bounded, not the log's size). Why not an index of every
//! word: it would hold about as many entries as the log has words, in
//! memory (the server's memory must stay what it is with search on) or in
//! more files to keep crash-safe; the filters are a few bits a
//! message, and are rebuilt from the log (nothing to keep on disk): the
//! first search after a start reads the whole log once, later ones add
//! the blocks written since. docs/BENCHMARKS.md ("Search") has the figures
//! of `examples/search_cost.rs`.
//!
//! Accents are folded by a table of the Latin letters of the languages
//! wachat speaks (and their neighbours), not by a Unicode normalisation
//! crate: `é`, `ç`, `ñ`, `ã` and their kind are one table lookup each,
//! which a scan of a million texts can afford, and a dependency is not
//! needed for it.

use crate::protocol::HistoryLine;

/// Most lines of a `SEARCH` reply.
pub const MAX_RESULTS: usize = crate::protocol::request::MAX_SEARCH_RESULTS;

/// Most bytes of the log one `SEARCH` reads, whatever they hold (without
/// it, a search in an empty room reads every block that might hold its
/// word: 0.7–0.9 s over a million messages). 64 blocks of ~130 KB: enough
/// for the matches of a word in one message of 20,000, spread over a
/// million messages (BENCHMARKS.md, "Search").
pub const MAX_READ_BYTES: u64 = 8 << 20;

/// Most records one `SEARCH` reads, whatever they hold: 64 blocks of the
/// local store's index.
pub const MAX_READ_RECORDS: usize = 64 * 1024;

/// The words of a query, folded.
#[derive(Clone, Debug)]
pub struct Query {
    pub(in crate::store) words: Vec<String>,
}

impl Query {
    /// The words of `query`, each once (a word repeated 66 times would
    /// cost 66 passes over every text read).
    pub fn new(query: &str) -> Query {
        let mut seen = std::collections::HashSet::new();
        let words = words(&fold(query)).filter(|w| seen.insert(*w)).map(str::to_string).collect();
        Query { words }
    }

    /// The query's words, folded, each once.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// True if the text (escaped, as stored) holds every word, as a
    /// whole word (`cafe` finds `Café,` but not `cafeteria`). One pass
    /// over the text whatever the number of words.
    pub fn matches_escaped(&self, escaped: &str) -> bool {
        let folded = fold_escaped(escaped);
        match self.words.as_slice() {
            [] => true,
            [word] => words(&folded).any(|t| t == word),
            many => {
                let held: std::collections::HashSet<&str> = words(&folded).collect();
                many.iter().all(|w| held.contains(w.as_str()))
            }
        }
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
pub(in crate::store) fn fold_escaped(escaped: &str) -> String {
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

/// What a search found, newest first, and how many bytes of messages it
/// read to find it: what its `--rate` cost is made of (`server::requests::search`).
#[derive(Debug, Default)]
pub struct Searched {
    pub found: Vec<HistoryLine>,
    pub bytes_read: u64,
}

/// The words of a folded text: its runs of letters and digits.
pub(in crate::store) fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_holds_each_word_once() {
        let q = Query::new(&"hola HOLA Hóla ".repeat(66));
        assert_eq!(q.words(), ["hola"]);
        let q = Query::new("b a b c a");
        assert_eq!(q.words(), ["b", "a", "c"]);
        assert!(q.matches_escaped("c, b: a"));
        assert!(!q.matches_escaped("a b"));
    }

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
