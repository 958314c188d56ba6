//! Message actions (protocol 1.2, docs/PROTOCOL.md §19): what `EDIT`,
//! `DELETE` and `REACT` become on the wire, and how a client reads them back.
//!
//! Why actions are messages: every client of version 1 must see them
//! (as readable text), a device that was offline must get them in its
//! inbox replay, and the replay is written before a receive connection
//! can say `VERSION:1.2`. So an action is stored and delivered as a `MSG`
//! of its author, with a readable text (`✎ new text`, `(message
//! deleted)`, `👍 to: hello…`) and an id that the server makes:
//!
//! ```text
//! _e<stamp>_<id>   an edit of the author's message <id>
//! _d<stamp>_<id>   the author deleted <id> for everyone
//! _r<stamp>_<id>   a reaction to the message <id> of that chat
//! _u<stamp>_<id>   the same reaction taken back
//! _x<stamp>_<id>   a room admin deleted someone else's message <id> (1.2:
//!                  `DELETE:<#room>:<id>:<author>`), its text
//!                  `(message from <author> deleted)` naming whose
//! ```
//!
//! `<stamp>` is the server's time in milliseconds, base 36, which keeps
//! the ids of one author unique. A version-1 client shows the text; a 1.2
//! client reads the id with [`ActionId::parse`] and applies the action to
//! the message it names. The message named is looked for among the
//! author's messages (edit, delete) or anyone's (reaction) in the same chat;
//! for an admin's delete, among the messages of the author its text names.
//! The server makes every such id itself and refuses one a client sends
//! in a `MSG` or `REPLY` ([`check_sent_id`]): else any member could
//! "delete" another's message on every screen, or edit its own past
//! `--edit-minutes`, by sending a message with such an id. Messages
//! stored by an older server, which took such ids, may still carry one:
//! readers take an id for an action only from the time the server says it
//! refused them ([`ActionsSince`]).
//!
//! A `REPLY` needs no id of this kind: it is a message of its own (its id
//! chosen by its sender) whose text starts with a one-line quote of the
//! message it answers ([`quote_line`]).

use std::fmt;

use super::Text;
use super::names::MAX_ID;

/// The reactions a menu offers first, one tap each (1.0–1.1 of §19
/// allowed these only); 1.2 takes any single emoji ([`is_reaction`]).
pub const REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/// The most bytes of a reaction: room for the longest emoji in use (a
/// family with skin tones, 25 bytes; a subdivision flag, 28), and a
/// bound on what a reaction costs everyone who folds it.
pub const MAX_REACTION_BYTES: usize = 32;

/// Whether `emoji` may be a reaction (§19, 1.2): one extended grapheme
/// cluster (UAX #29, as `unicode-segmentation` cuts text, the way
/// terminals and browsers do) of at most [`MAX_REACTION_BYTES`] bytes that
/// is an emoji: either
/// - an Extended_Pictographic character, then only more of those, skin
///   tones (U+1F3FB–U+1F3FF), zero-width joiners (U+200D, never last),
///   the emoji presentation selector U+FE0F and tags (U+E0020–U+E007F,
///   a subdivision flag); or
/// - a flag: two regional indicators (U+1F1E6–U+1F1FF); or
/// - a keycap: `0`–`9`, `#` or `*`, an optional U+FE0F, then U+20E3.
///
/// So `👍`, `👍🏽`, `👩‍👩‍👧`, `🇦🇷` and `#️⃣` (and Scotland's flag, 🏴 and six tags) are reactions; `👍👍` (two
/// clusters), `a`, `👍a`, a control character or a combining accent on an
/// emoji are not. The server's check of `REACT`, a peer's reaction and
/// every client's reading of one all ask this.
pub fn is_reaction(emoji: &str) -> bool {
    use unicode_segmentation::UnicodeSegmentation;
    if emoji.is_empty() || emoji.len() > MAX_REACTION_BYTES || emoji.graphemes(true).count() != 1 {
        return false;
    }
    let chars: Vec<char> = emoji.chars().collect();
    let regional = |c: char| ('\u{1F1E6}'..='\u{1F1FF}').contains(&c);
    match chars[..] {
        [a, b] if regional(a) && regional(b) => true,
        [k, '\u{FE0F}', '\u{20E3}'] | [k, '\u{20E3}'] => k.is_ascii_digit() || k == '#' || k == '*',
        [first, ..] if pictographic(first) => {
            chars.last() != Some(&'\u{200D}')
                && chars[1..].iter().all(|&c| {
                    pictographic(c)
                        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
                        || c == '\u{200D}'
                        || c == '\u{FE0F}'
                        || ('\u{E0020}'..='\u{E007F}').contains(&c)
                })
        }
        _ => false,
    }
}

/// Unicode's Extended_Pictographic property (emoji-data.txt, Unicode 17):
/// the characters that are emoji or were set aside for future ones. The
/// reaction rule's one table: a unit test holds it to the grapheme
/// clusters of `unicode-segmentation` (which need the same property), and
/// tests/web.rs holds the browser's rule (web/wire.js's `isReaction`, on
/// its own `\p{Extended_Pictographic}`) to it, code point by code point.
fn pictographic(c: char) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0xA9, 0xA9),
        (0xAE, 0xAE),
        (0x203C, 0x203C),
        (0x2049, 0x2049),
        (0x2122, 0x2122),
        (0x2139, 0x2139),
        (0x2194, 0x2199),
        (0x21A9, 0x21AA),
        (0x231A, 0x231B),
        (0x2328, 0x2328),
        (0x23CF, 0x23CF),
        (0x23E9, 0x23F3),
        (0x23F8, 0x23FA),
        (0x24C2, 0x24C2),
        (0x25AA, 0x25AB),
        (0x25B6, 0x25B6),
        (0x25C0, 0x25C0),
        (0x25FB, 0x25FE),
        (0x2600, 0x2604),
        (0x260E, 0x260E),
        (0x2611, 0x2611),
        (0x2614, 0x2615),
        (0x2618, 0x2618),
        (0x261D, 0x261D),
        (0x2620, 0x2620),
        (0x2622, 0x2623),
        (0x2626, 0x2626),
        (0x262A, 0x262A),
        (0x262E, 0x262F),
        (0x2638, 0x263A),
        (0x2640, 0x2640),
        (0x2642, 0x2642),
        (0x2648, 0x2653),
        (0x265F, 0x2660),
        (0x2663, 0x2663),
        (0x2665, 0x2666),
        (0x2668, 0x2668),
        (0x267B, 0x267B),
        (0x267E, 0x267F),
        (0x2692, 0x2697),
        (0x2699, 0x2699),
        (0x269B, 0x269C),
        (0x26A0, 0x26A1),
        (0x26A7, 0x26A7),
        (0x26AA, 0x26AB),
        (0x26B0, 0x26B1),
        (0x26BD, 0x26BE),
        (0x26C4, 0x26C5),
        (0x26C8, 0x26C8),
        (0x26CE, 0x26CF),
        (0x26D1, 0x26D1),
        (0x26D3, 0x26D4),
        (0x26E9, 0x26EA),
        (0x26F0, 0x26F5),
        (0x26F7, 0x26FA),
        (0x26FD, 0x26FD),
        (0x2702, 0x2702),
        (0x2705, 0x2705),
        (0x2708, 0x270D),
        (0x270F, 0x270F),
        (0x2712, 0x2712),
        (0x2714, 0x2714),
        (0x2716, 0x2716),
        (0x271D, 0x271D),
        (0x2721, 0x2721),
        (0x2728, 0x2728),
        (0x2733, 0x2734),
        (0x2744, 0x2744),
        (0x2747, 0x2747),
        (0x274C, 0x274C),
        (0x274E, 0x274E),
        (0x2753, 0x2755),
        (0x2757, 0x2757),
        (0x2763, 0x2764),
        (0x2795, 0x2797),
        (0x27A1, 0x27A1),
        (0x27B0, 0x27B0),
        (0x27BF, 0x27BF),
        (0x2934, 0x2935),
        (0x2B05, 0x2B07),
        (0x2B1B, 0x2B1C),
        (0x2B50, 0x2B50),
        (0x2B55, 0x2B55),
        (0x3030, 0x3030),
        (0x303D, 0x303D),
        (0x3297, 0x3297),
        (0x3299, 0x3299),
        (0x1F004, 0x1F004),
        (0x1F02C, 0x1F02F),
        (0x1F094, 0x1F09F),
        (0x1F0AF, 0x1F0B0),
        (0x1F0C0, 0x1F0C0),
        (0x1F0CF, 0x1F0D0),
        (0x1F0F6, 0x1F0FF),
        (0x1F170, 0x1F171),
        (0x1F17E, 0x1F17F),
        (0x1F18E, 0x1F18E),
        (0x1F191, 0x1F19A),
        (0x1F1AE, 0x1F1E5),
        (0x1F201, 0x1F20F),
        (0x1F21A, 0x1F21A),
        (0x1F22F, 0x1F22F),
        (0x1F232, 0x1F23A),
        (0x1F23C, 0x1F23F),
        (0x1F249, 0x1F25F),
        (0x1F266, 0x1F321),
        (0x1F324, 0x1F393),
        (0x1F396, 0x1F397),
        (0x1F399, 0x1F39B),
        (0x1F39E, 0x1F3F0),
        (0x1F3F3, 0x1F3F5),
        (0x1F3F7, 0x1F3FA),
        (0x1F400, 0x1F4FD),
        (0x1F4FF, 0x1F53D),
        (0x1F549, 0x1F54E),
        (0x1F550, 0x1F567),
        (0x1F56F, 0x1F570),
        (0x1F573, 0x1F57A),
        (0x1F587, 0x1F587),
        (0x1F58A, 0x1F58D),
        (0x1F590, 0x1F590),
        (0x1F595, 0x1F596),
        (0x1F5A4, 0x1F5A5),
        (0x1F5A8, 0x1F5A8),
        (0x1F5B1, 0x1F5B2),
        (0x1F5BC, 0x1F5BC),
        (0x1F5C2, 0x1F5C4),
        (0x1F5D1, 0x1F5D3),
        (0x1F5DC, 0x1F5DE),
        (0x1F5E1, 0x1F5E1),
        (0x1F5E3, 0x1F5E3),
        (0x1F5E8, 0x1F5E8),
        (0x1F5EF, 0x1F5EF),
        (0x1F5F3, 0x1F5F3),
        (0x1F5FA, 0x1F64F),
        (0x1F680, 0x1F6C5),
        (0x1F6CB, 0x1F6D2),
        (0x1F6D5, 0x1F6E5),
        (0x1F6E9, 0x1F6E9),
        (0x1F6EB, 0x1F6F0),
        (0x1F6F3, 0x1F6FF),
        (0x1F7DA, 0x1F7FF),
        (0x1F80C, 0x1F80F),
        (0x1F848, 0x1F84F),
        (0x1F85A, 0x1F85F),
        (0x1F888, 0x1F88F),
        (0x1F8AE, 0x1F8AF),
        (0x1F8BC, 0x1F8BF),
        (0x1F8C2, 0x1F8CF),
        (0x1F8D9, 0x1F8FF),
        (0x1F90C, 0x1F93A),
        (0x1F93C, 0x1F945),
        (0x1F947, 0x1F9FF),
        (0x1FA58, 0x1FA5F),
        (0x1FA6E, 0x1FAFF),
        (0x1FC00, 0x1FFFD),
    ];
    let c = c as u32;
    RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The longest message id an action may name: an action's own id
/// (`_e<stamp>_<id>`, a stamp of up to 9 base-36 digits until 2059) must
/// still fit in [`MAX_ID`].
pub const MAX_TARGET_ID: usize = MAX_ID - 12;

/// What a version-1 client reads in place of a deleted message's text.
pub const DELETED: &str = "(message deleted)";

/// An admin's delete reads `(message from <author> deleted)`: these are
/// the text's two ends.
const REMOVED_START: &str = "(message from ";
const REMOVED_END: &str = " deleted)";

/// Characters of a text quoted in a reply or a reaction's text.
pub const SNIPPET_CHARS: usize = 40;

/// The kinds of action, each a letter of its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    Edit,
    Delete,
    React,
    Unreact,
    /// A room admin deleted someone else's message (the author is named
    /// in the text).
    Remove,
}

impl Act {
    fn letter(self) -> char {
        match self {
            Act::Edit => 'e',
            Act::Delete => 'd',
            Act::React => 'r',
            Act::Unreact => 'u',
            Act::Remove => 'x',
        }
    }

    fn from_letter(c: char) -> Option<Act> {
        Some(match c {
            'e' => Act::Edit,
            'd' => Act::Delete,
            'r' => Act::React,
            'u' => Act::Unreact,
            'x' => Act::Remove,
            _ => return None,
        })
    }
}

/// The id of an action's message: `_<letter><stamp>_<target id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionId {
    pub act: Act,
    /// The server's time of the action, in milliseconds.
    pub stamp: u64,
    /// The id of the message acted on.
    pub target: String,
}

impl ActionId {
    /// Reads an action's id; `None` for the id of an ordinary message.
    pub fn parse(id: &str) -> Option<ActionId> {
        let rest = id.strip_prefix('_')?;
        let mut chars = rest.chars();
        let act = Act::from_letter(chars.next()?)?;
        let (stamp, target) = chars.as_str().split_once('_')?;
        if stamp.is_empty() || target.is_empty() || !stamp.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let stamp = u64::from_str_radix(stamp, 36).ok()?;
        Some(ActionId { act, stamp, target: target.to_string() })
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "_{}{}_{}", self.act.letter(), Base36(self.stamp), self.target)
    }
}

/// A number written in base 36 (lower case), most significant digit first.
struct Base36(u64);

impl fmt::Display for Base36 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = Vec::new();
        let mut n = self.0;
        loop {
            digits.push(std::char::from_digit((n % 36) as u32, 36).expect("a digit below 36"));
            n /= 36;
            if n == 0 {
                break;
            }
        }
        digits.iter().rev().try_for_each(|c| write!(f, "{c}"))
    }
}

/// The start of a text, on one line: its first line, at most
/// [`SNIPPET_CHARS`] characters, `…` if cut.
pub fn snippet(text: &Text) -> String {
    let plain = text.unescaped();
    let first = plain.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(SNIPPET_CHARS).collect();
    if out.len() < plain.len() {
        out.push('…');
    }
    out
}

/// The first line of a reply's text: `> ana: the start of her message`.
pub fn quote_line(author: &str, quoted: &Text) -> String {
    format!("> {author}: {}", snippet(quoted))
}

/// A reply's text: the quote, a line break, the answer.
pub fn reply_text(author: &str, quoted: &Text, answer: &Text) -> Result<Text, String> {
    Text::from_plain(&format!("{}\n{}", quote_line(author, quoted), answer.unescaped()))
}

/// An edit's text: `✎ <new text>`.
pub fn edit_text(new: &Text) -> Result<Text, String> {
    Text::from_plain(&format!("✎ {}", new.unescaped()))
}

/// A reaction to a reply repeats the start of the reply, and so its quote
/// of another message: `👍 to: > ana: see you at 10…`. When one of
/// `quotes` (quote lines of a deleted message, [`quote_line`]) is what
/// `reaction` (a reaction's text, unescaped) repeats, the byte offset in
/// it where the deleted words start (after `> ana: `): the eraser blanks
/// the text from there to its end. `None` for any other text.
pub fn reaction_quoting(reaction: &str, quotes: &[String]) -> Option<usize> {
    let (how, snip) = reaction.split_once(": ")?;
    if !(how.ends_with(" to") || how.ends_with(" taken back from")) || !snip.starts_with("> ") {
        return None;
    }
    let seen = snip.strip_suffix('…').unwrap_or(snip);
    quotes.iter().find_map(|quote| {
        let head = quote.find(": ")? + 2;
        (seen.len() > head && seen.starts_with(&quote[..head]) && quote.starts_with(seen))
            .then(|| how.len() + 2 + head)
    })
}

/// A reaction's text: `👍 to: <start of the message>`, or, taken back,
/// `👍 taken back from: <start of the message>`.
pub fn react_text(emoji: &str, added: bool, target: &Text) -> Text {
    let how = if added { "to" } else { "taken back from" };
    Text::from_plain(&format!("{emoji} {how}: {}", snippet(target)))
        .expect("a snippet of a valid text, after a listed emoji, is a valid text")
}

/// The deleted text's stand-in.
pub fn deleted_text() -> Text {
    Text::from_plain(DELETED).expect("a valid text")
}

/// An admin's delete's text: `(message from bob deleted)`.
pub fn removed_text(author: &str) -> Text {
    Text::from_plain(&format!("{REMOVED_START}{author}{REMOVED_END}")).expect("a name is a valid text")
}

/// True for an id of an action's form (`_<e|d|r|u|x><stamp>_<id>`, any
/// stamp of letters and digits, even one too long for a number): only the
/// server makes these. Wider than [`ActionId::parse`] on purpose, so that
/// no reader (the browser's `wire.js` reads any length of stamp) can take
/// a client's id for an action.
pub fn is_servers(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('_') else { return false };
    let mut chars = rest.chars();
    if chars.next().and_then(Act::from_letter).is_none() {
        return false;
    }
    let Some((stamp, target)) = chars.as_str().split_once('_') else { return false };
    !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_alphanumeric()) && !target.is_empty()
}

/// Checks the id of a message a client sends (`MSG`, `REPLY`): an id of
/// an action's form is refused, since it would be taken for an edit, a
/// deletion or a reaction by `HISTORY`, `SEARCH` and every 1.2 client,
/// with none of the action's checks (who, how late). The one place that
/// keeps client ids and the server's apart.
pub fn check_sent_id(id: &str) -> Result<(), String> {
    if is_servers(id) {
        return Err(format!(
            "the id {id} has the form _<e|d|r|u|x><stamp>_<id> of an edit, a deletion or a reaction, \
             which only the server makes: choose another id"
        ));
    }
    Ok(())
}

/// 1.3 (§27): checks the id of a message a peer server sends for one of
/// its users, to a user here or to a room homed here. Its users' edits,
/// deletions and reactions cross (each names its author's own message,
/// or adds a reaction, as every reader applies it), but an admin's
/// deletion of someone else's message (`_x…`) is made only by the server
/// that runs the room, its home: from a peer it would delete, on every
/// screen, the message of someone the peer does not speak for.
pub fn check_peer_id(id: &str) -> Result<(), String> {
    if id.starts_with("_x") && is_servers(id) {
        return Err(format!(
            "the id {id} has the form _x<stamp>_<id> of a room admin's deletion, which only the room's \
             home server makes"
        ));
    }
    Ok(())
}

/// Since when (server time, Unix ms) a message's action id is the
/// server's own. A server that refuses action ids from clients
/// ([`check_sent_id`]) keeps the time it first ran on its data (a data
/// directory's `actions.csv`, a cluster's `server` row): every message
/// stamped since was stored by it, so its id is an action only if the
/// server made it. A message older than that was stored by a server that
/// took such an id from anyone, so its id proves nothing, and readers
/// show it as the plain message it is to a 1.0 client (a genuine old edit
/// then reads `✎ new text` under the message, as a 1.0 client shows it).
/// The message's time is the server's (`<ts>` of its `OK`), never the
/// sender's: no client can move a message across this line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionsSince(pub u64);

impl ActionsSince {
    /// The action id of a message stamped `ts`, if it is one and made by
    /// a server that refused them from clients.
    pub fn parse(self, id: &str, ts: u64) -> Option<ActionId> {
        if ts < self.0 {
            return None;
        }
        ActionId::parse(id)
    }
}

/// An action as a 1.2 client applies it: read from a `MSG`'s id and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The author's message `target` now reads `text`.
    Edit { target: String, text: Text },
    /// The author's message `target` is deleted.
    Delete { target: String },
    /// A room admin (the sender) deleted `author`'s message `target`.
    Remove { target: String, author: String },
    /// The sender added (or took back) `emoji` on the message `target`.
    React { target: String, emoji: String, added: bool },
}

impl Action {
    /// The action a message carries, if its id is an action's.
    pub fn of(id: &str, text: &Text) -> Option<Action> {
        let id = ActionId::parse(id)?;
        let plain = text.unescaped();
        Some(match id.act {
            Act::Edit => {
                let new = plain.strip_prefix("✎ ")?;
                Action::Edit { target: id.target, text: Text::from_plain(new).ok()? }
            }
            Act::Delete => Action::Delete { target: id.target },
            Act::Remove => {
                let author = plain.strip_prefix(REMOVED_START)?.strip_suffix(REMOVED_END)?;
                super::names::check_user(author).ok()?;
                Action::Remove { target: id.target, author: author.to_string() }
            }
            Act::React | Act::Unreact => {
                let emoji = plain.split(' ').next()?;
                if !is_reaction(emoji) {
                    return None;
                }
                Action::React { target: id.target, emoji: emoji.to_string(), added: id.act == Act::React }
            }
        })
    }

    /// The message acted on.
    pub fn target(&self) -> &str {
        match self {
            Action::Edit { target, .. }
            | Action::Delete { target }
            | Action::Remove { target, .. }
            | Action::React { target, .. } => target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::from_plain(s).unwrap()
    }

    /// The table is Extended_Pictographic as the grapheme clusters of
    /// `unicode-segmentation` read it, over every code point: a character
    /// joins an emoji and a zero-width joiner into one cluster (UAX #29's
    /// rule GB11) if and only if it is one, and does not join a letter
    /// and a joiner (as a combining mark or a joiner does after anything).
    /// tests/web.rs holds the browser's rule to the same table.
    #[test]
    fn the_pictographic_table_is_the_one_the_grapheme_clusters_use() {
        use unicode_segmentation::GraphemeCursor;
        // Whether `c` joins what `before` ends with (a joiner).
        let joins = |before: &str, c: char| {
            let text = format!("{before}{c}");
            let mut cursor = GraphemeCursor::new(before.len(), text.len(), true);
            !cursor.is_boundary(&text, 0).unwrap()
        };
        let mut differ = Vec::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let gb11 = joins("\u{1F600}\u{200D}", c) && !joins("a\u{200D}", c);
            if pictographic(c) != gb11 {
                differ.push(format!("U+{:04X}", c as u32));
            }
        }
        assert!(
            differ.is_empty(),
            "{} characters differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(20)]
        );
    }

    #[test]
    fn a_reaction_is_one_emoji_of_at_most_32_bytes() {
        for yes in REACTIONS.iter().copied().chain(["🦀", "👍🏿", "👩‍❤️‍👨", "🏳️‍🌈", "🇧🇷", "*️⃣", "5⃣", "©", "🫠"])
        {
            assert!(is_reaction(yes), "{yes}");
        }
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert!(is_reaction(scotland) && scotland.len() == 28);
        let too_long = "👨‍👩‍👧‍👦‍👨‍👩‍👧‍👦";
        assert!(too_long.len() > MAX_REACTION_BYTES);
        for no in [
            "",
            "a",
            "ok",
            "👍👍",
            "👍 ",
            " 👍",
            "👍a",
            "👍\u{301}",
            "\u{7}",
            "\u{200B}",
            "👍\u{200D}",
            "\u{1F3FD}",
            "\u{1F1E6}",
            "1",
            "#",
            "é",
            too_long,
        ] {
            assert!(!is_reaction(no), "{no:?}");
        }
        // A 1.2 client reads any such reaction from an action's text.
        let read = Action::of("_r1_m1", &text("🦀 to: hi"));
        assert_eq!(read, Some(Action::React { target: "m1".into(), emoji: "🦀".into(), added: true }));
        assert_eq!(Action::of("_r1_m1", &text("🦀🦀 to: hi")), None);
    }

    #[test]
    fn a_reaction_to_a_reply_is_found_by_the_quote_it_repeats() {
        let m1 = Text::from_plain("see you at 10, café Sur, and bring the long list of things").unwrap();
        let quotes = vec![quote_line("ana", &m1)];
        let reply = reply_text("ana", &m1, &Text::from_plain("ok").unwrap()).unwrap();
        let reaction = react_text("👍", true, &reply).unescaped();
        let at = reaction_quoting(&reaction, &quotes).expect("it repeats the quote");
        assert_eq!(&reaction[..at], "👍 to: > ana: ");
        let back = react_text("👍", false, &reply).unescaped();
        assert_eq!(&back[..reaction_quoting(&back, &quotes).unwrap()], "👍 taken back from: > ana: ");
        // A reaction to the message itself, or to a reply to another one: no.
        assert_eq!(reaction_quoting(&react_text("👍", true, &m1).unescaped(), &quotes), None);
        let other = reply_text("ana", &Text::from_plain("lunch?").unwrap(), &m1).unwrap();
        assert_eq!(reaction_quoting(&react_text("👍", true, &other).unescaped(), &quotes), None);
        assert_eq!(reaction_quoting("> ana: see you", &quotes), None);
    }

    #[test]
    fn action_ids_round_trip_and_fit() {
        let target = "m".repeat(MAX_TARGET_ID);
        for act in [Act::Edit, Act::Delete, Act::React, Act::Unreact, Act::Remove] {
            let id = ActionId { act, stamp: 1_763_861_700_123, target: target.clone() };
            let written = id.to_string();
            assert!(written.len() <= MAX_ID, "{written}");
            super::super::names::check_id(&written).unwrap();
            assert_eq!(ActionId::parse(&written), Some(id));
        }
        assert_eq!(ActionId { act: Act::Edit, stamp: 35, target: "m1".into() }.to_string(), "_ez_m1");
    }

    #[test]
    fn an_action_id_counts_only_on_a_message_since_the_servers_refusal() {
        let since = ActionsSince(1_000);
        assert_eq!(since.parse("_e1_m1", 999), None, "stored before the refusal: a plain message");
        assert_eq!(since.parse("_e1_m1", 1_000).map(|a| a.act), Some(Act::Edit));
        assert_eq!(ActionsSince::default().parse("_d1_m1", 0).map(|a| a.act), Some(Act::Delete));
        for id in ["_e1_m1", "_dZZZZZZZZZZZZZZZZZZZZZZZZ_m1", "_r0_x", "_u1_a_b", "_x1_m1"] {
            assert!(check_sent_id(id).is_err(), "{id}");
        }
        for id in ["m1", "_m1", "_e_m1", "_e1_", "e1_m1", "_y1_m1", "_e1-2_m"] {
            assert!(check_sent_id(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn ordinary_ids_are_no_actions() {
        for id in ["m1", "_m1", "_y1_m1", "_e_m1", "_e1", "_e1_", "e1_m1", "_e1-2_m"] {
            assert_eq!(ActionId::parse(id), None, "{id}");
        }
    }

    #[test]
    fn a_client_reads_back_each_action() {
        let edit = edit_text(&text("new: words")).unwrap();
        assert_eq!(edit.unescaped(), "✎ new: words");
        assert_eq!(
            Action::of("_e1_m1", &edit),
            Some(Action::Edit { target: "m1".into(), text: text("new: words") })
        );
        assert_eq!(Action::of("_d1_m1", &deleted_text()), Some(Action::Delete { target: "m1".into() }));
        let react = react_text("👍", true, &text("hello there"));
        assert_eq!(react.unescaped(), "👍 to: hello there");
        assert_eq!(
            Action::of("_r1_m1", &react),
            Some(Action::React { target: "m1".into(), emoji: "👍".into(), added: true })
        );
        let back = react_text("❤️", false, &text("hi"));
        assert_eq!(back.unescaped(), "❤️ taken back from: hi");
        assert!(matches!(Action::of("_u1_m1", &back), Some(Action::React { added: false, .. })));
        assert_eq!(Action::of("m1", &edit), None);
        let removed = removed_text("bob");
        assert_eq!(removed.unescaped(), "(message from bob deleted)");
        assert_eq!(
            Action::of("_x1_m1", &removed),
            Some(Action::Remove { target: "m1".into(), author: "bob".into() })
        );
        assert_eq!(Action::of("_x1_m1", &text("(message from b b deleted)")), None);
        assert!(is_servers("_x1_m1") && is_servers("_d1_m1") && !is_servers("x1"));
    }

    #[test]
    fn quotes_keep_one_line_and_a_bounded_length() {
        let long = text(&format!("{}\nsecond line", "é".repeat(100)));
        let quote = quote_line("ana", &long);
        assert_eq!(quote, format!("> ana: {}…", "é".repeat(SNIPPET_CHARS)));
        let reply = reply_text("ana", &text("short"), &text("yes")).unwrap();
        assert_eq!(reply.unescaped(), "> ana: short\nyes");
    }
}
