//! A text longer than one message may be ([`MAX_TEXT`], 4,096 bytes) cut
//! into several, each marked `(1/3) `, `(2/3) `, … so that the reader
//! knows it goes on and in which order.
//!
//! Why the client cuts rather than refusing: a person who pastes a long
//! text wants it sent, and a refusal that throws the text away (as the
//! console and the TUI did) loses work. Why not the server: the protocol's
//! limit is part of the contract every client relies on (a line-reading
//! client sizes its buffer by it); a long text is several messages on the
//! wire, each one durable and acknowledged on its own.
//!
//! Cuts fall after a line break, else after a space, in the last quarter
//! of a part; only a text without either there (a long URL) is cut in the
//! middle of a word, and never inside a character. The break or space at
//! a cut is dropped: the marker of the next part takes its place.

use crate::protocol::MAX_TEXT;

/// Most messages one text is sent as (64 KiB of text): a longer paste is
/// more likely a mistake than a message, and is refused, the text kept
/// where it was typed.
pub const MAX_PARTS: usize = 16;

/// `text` as the messages to send: itself alone if it fits in
/// [`MAX_TEXT`] bytes, else parts that each fit, marker included.
pub fn split(text: &str) -> Vec<String> {
    split_at_most(text, MAX_TEXT)
}

/// [`split`] for a limit of `max` bytes per message (at least 64).
pub fn split_at_most(text: &str, max: usize) -> Vec<String> {
    if text.len() <= max {
        return vec![text.to_string()];
    }
    // The marker's width depends on how many parts there are, which
    // depends on the marker's width: try 9 parts, then 99, … until it holds.
    let mut digits = 1;
    loop {
        let marker = 2 * digits + 4; // "(" n "/" n ") "
        let parts = cut(text, max - marker);
        if parts.len() < 10usize.pow(digits as u32) {
            let n = parts.len();
            return parts.iter().enumerate().map(|(i, part)| format!("({}/{n}) {part}", i + 1)).collect();
        }
        digits += 1;
    }
}

/// `text` in pieces of at most `size` bytes, cut as the module says.
fn cut(text: &str, size: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > size {
        let mut end = size;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let window = &rest[..end];
        let tail = end - end / 4;
        let at = |c: char| window.rfind(c).filter(|&i| i >= tail && i > 0);
        match at('\n').or_else(|| at(' ')) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                parts.push(window);
                rest = &rest[end..];
            }
        }
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_that_fits_is_left_alone() {
        assert_eq!(split("hola"), ["hola"]);
        let full = "x".repeat(MAX_TEXT);
        assert_eq!(split(&full), [full]);
    }

    #[test]
    fn a_long_text_is_cut_at_words_and_marked_and_each_part_fits() {
        let words = "palabra ".repeat(700); // 5,600 bytes
        let text = words.trim_end();
        let parts = split(text);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].starts_with("(1/2) palabra") && parts[1].starts_with("(2/2) palabra"));
        assert!(parts.iter().all(|p| p.len() <= MAX_TEXT && !p.ends_with(' ')));
        // Nothing lost: the parts without their markers, joined by the
        // space each cut took, are the text.
        let joined: Vec<&str> = parts.iter().map(|p| p.split_once(") ").unwrap().1).collect();
        assert_eq!(joined.join(" "), text);
    }

    #[test]
    fn a_line_break_is_preferred_to_a_space_and_characters_are_never_cut() {
        let text = format!("{}\n{}", "ñ ".repeat(40), "ñ".repeat(60));
        let parts = split_at_most(&text, 100);
        assert!(parts.iter().all(|p| p.len() <= 100), "{parts:?}");
        assert!(parts[0].ends_with('ñ') || parts[0].ends_with(' '), "{parts:?}");
        let no_spaces = "€".repeat(100); // 300 bytes, no place to cut but inside words
        let parts = split_at_most(&no_spaces, 100);
        assert!(parts.iter().all(|p| p.len() <= 100));
        let joined: String = parts.iter().map(|p| p.split_once(") ").unwrap().1).collect();
        assert_eq!(joined, no_spaces);
    }

    #[test]
    fn the_marker_grows_with_the_number_of_parts() {
        let parts = split_at_most(&"a".repeat(2_000), 64);
        assert!(parts.len() >= 10 && parts.len() < 100);
        assert!(parts[0].starts_with(&format!("(1/{}) ", parts.len())));
        assert!(parts.iter().all(|p| p.len() <= 64));
    }
}
