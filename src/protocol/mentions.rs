//! 1.2: does a room message mention a user (`@ana`)? The rule and its
//! cases are in `tests/data/mentions.txt`, which `tests/protocol/mentions.rs` runs
//! through [`mentions`] and `tests/web.rs` through the browser's copy
//! (`web/mentions.js`): one rule, two languages.
//!
//! The rule: an `@` not preceded by a name character, then the longest
//! run of name characters (A-Z a-z 0-9 `_` `.` `-`), with trailing dots
//! dropped, equal to the name once both are case-folded. So `@ana.` at
//! the end of a sentence mentions `ana`, and `ana@example.org` does not.

use super::names::fold;

/// A character of a user name (protocol §2).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// True if `text` (unescaped or escaped: neither changes a name) mentions `user`.
pub fn mentions(text: &str, user: &str) -> bool {
    let wanted = fold(user);
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !previous.is_some_and(is_name_char) {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if !name.is_empty() && fold(name) == wanted {
                return true;
            }
        }
        previous = Some(c);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_a_whole_name_after_an_at() {
        assert!(mentions("hi @Ana!", "ana"));
        assert!(!mentions("hi @anastasia", "ana"));
        assert!(!mentions("mail ana@example.org", "ana"));
        assert!(mentions("thanks @ana...", "ana"));
    }
}
