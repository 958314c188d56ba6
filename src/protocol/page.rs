//! 1.2: `HISTORY` a page at a time (docs/PROTOCOL.md §4, "Paging back").
//!
//! `HISTORY:<chat>:<limit>:<start>` reads the conversation backwards from
//! `<start>`: `*` is its newest message, and a cursor is a place that a
//! previous page's reply gave. The reply is `OK:<n>:<cursor>`, then the
//! `n` lines as version 1 writes them, oldest first; its cursor is where
//! the page before this one starts, empty once the conversation's start
//! (what the asker may see of it) is in this page. A client pages back
//! by sending each reply's cursor in the next request, so a conversation
//! of any length is read whole, in the server's order, with no message
//! twice and none left out, whatever arrives meanwhile.
//!
//! A cursor is opaque to clients: 1 to 20 digits, the position of a
//! message in the server's store (its log on a single server, its row
//! in a cluster). The server checks that it is one of the asker's
//! conversation before reading from it.

use std::fmt;

use super::{Chat, Code, Ko};

/// Most digits of a cursor (a `u64`).
pub const MAX_CURSOR_DIGITS: usize = 20;

/// Where a page of `HISTORY` starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// `*`: the conversation's newest message.
    Newest,
    /// A cursor from a previous page's reply: its message and those before it.
    At(u64),
}

impl Start {
    /// `*` or a cursor; the reason is said in the words of a `KO:BAD_REQUEST`.
    pub fn parse(s: &str) -> Result<Start, String> {
        if s == "*" {
            return Ok(Start::Newest);
        }
        match parse_cursor(s) {
            Some(at) => Ok(Start::At(at)),
            None => Err(format!(
                "a page starts at * (the newest message) or at the cursor a page's reply gave, not {:?}",
                super::truncate(s, 32)
            )),
        }
    }
}

impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Start::Newest => f.write_str("*"),
            Start::At(at) => write!(f, "{at}"),
        }
    }
}

/// The refusal of a cursor that is not a place in the asker's
/// conversation `chat` (made up, from another chat, or from before the
/// asker's account): one answer, worded here, and it says what to do.
pub fn not_a_page(cursor: u64, chat: &Chat) -> Ko {
    Ko::new(Code::BadRequest, format!("{cursor} is not a page of the chat {chat}; start again at *"))
}

/// A cursor as a reply writes it: 1 to [`MAX_CURSOR_DIGITS`] digits that
/// fit a `u64`.
pub fn parse_cursor(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.len() <= MAX_CURSOR_DIGITS && s.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| s.parse().ok()).flatten()
}

/// The head of a page's reply without its `OK:`: `<n>:<cursor>` (an empty
/// cursor: no page before). `None` if it is not of that form.
pub fn parse_head(s: &str) -> Option<(usize, Option<u64>)> {
    let (n, cursor) = s.split_once(':')?;
    let n = n.parse().ok().filter(|_| n.bytes().all(|b| b.is_ascii_digit()))?;
    match cursor {
        "" => Some((n, None)),
        c => Some((n, Some(parse_cursor(c)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_a_star_or_a_cursor_of_digits() {
        assert_eq!(Start::parse("*"), Ok(Start::Newest));
        assert_eq!(Start::parse("0"), Ok(Start::At(0)));
        assert_eq!(Start::parse("18446744073709551615"), Ok(Start::At(u64::MAX)));
        for bad in ["", "-1", "+1", "1a", "**", "18446744073709551616", "000000000000000000001"] {
            assert!(Start::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Start::At(42).to_string(), "42");
        assert_eq!(Start::Newest.to_string(), "*");
    }

    #[test]
    fn a_page_head_is_a_count_and_a_cursor_or_nothing() {
        assert_eq!(parse_head("3:812"), Some((3, Some(812))));
        assert_eq!(parse_head("0:"), Some((0, None)));
        for bad in ["3", "3:x", ":5", "+3:5", "3:5:6"] {
            assert_eq!(parse_head(bad), None, "{bad:?}");
        }
    }
}
