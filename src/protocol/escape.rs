//! Message text on the wire: one message is one line, so a newline inside a
//! message travels as the two characters `\n`, and a backslash as `\\`.
//! Any other character after a backslash is an error (`BAD_REQUEST`).
//!
//! [`Text`] keeps the *escaped* form: the server never needs the real text,
//! it checks it once and then stores and forwards it as it came (the files
//! on disk hold the same escaped form, so every record is one line there
//! too). Clients call [`Text::unescaped`] to show it.
//!
//! Two ways in, on purpose. [`Text::parse`] is lenient: it reads what is
//! already stored or relayed (events, log records, history lines, P2P),
//! so old data still loads and each client shows it escaped
//! (src/display.rs). [`Text::parse_sent`] is strict (protocol 1.2): a text a
//! client *sends* may not hold a control character other than tab, nor
//! U+2028/U+2029. A bare `\r` would let a sender forge a line on a
//! classmate's line-reading client; ESC, or a C1 control such as U+009B,
//! would drive a terminal; and Python's `str.splitlines()`, the one
//! LAB.md and examples/wachat_client.py use, also breaks a line at
//! `\v`, `\f`, U+001C–U+001E, U+0085 (NEL), U+2028 and U+2029. A
//! newline travels escaped (`\n`), so a text never needs a raw one.

use std::fmt;

use super::MAX_TEXT;

/// A valid message text (1–4096 bytes once unescaped), kept escaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text(String);

impl Text {
    /// Checks an escaped text from the wire (or from a stored file).
    pub fn parse(escaped: &str) -> Result<Text, String> {
        let len = unescaped_len(escaped)?;
        if len == 0 {
            return Err("the text is empty".into());
        }
        if len > MAX_TEXT {
            return Err(format!("the text is {len} bytes, the limit is {MAX_TEXT}"));
        }
        Ok(Text(escaped.to_string()))
    }

    /// 1.2: checks a text a client sends (`MSG`): [`Text::parse`], and no
    /// character that could break or drive a line-reading client (see
    /// [`forbidden`]). The reason names the character, e.g. "a text may
    /// not hold U+000D (carriage return)".
    pub fn parse_sent(escaped: &str) -> Result<Text, String> {
        let text = Text::parse(escaped)?;
        // The escapes are `\\` and `\n`, neither a control character, so a
        // forbidden character in the escaped form is one in the real text.
        match first_forbidden(escaped) {
            Some(c) => Err(format!("a text may not hold {}", describe(c))),
            None => Ok(text),
        }
    }

    /// Escapes a text typed by a user. Fails if it is empty or too long.
    pub fn from_plain(plain: &str) -> Result<Text, String> {
        let mut escaped = String::with_capacity(plain.len());
        for c in plain.chars() {
            match c {
                '\\' => escaped.push_str("\\\\"),
                '\n' => escaped.push_str("\\n"),
                c => escaped.push(c),
            }
        }
        Text::parse(&escaped)
    }

    /// The escaped form, as it travels on the wire.
    pub fn as_escaped(&self) -> &str {
        &self.0
    }

    /// The real text, with newlines and backslashes restored.
    pub fn unescaped(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                // `parse` guaranteed that a backslash is followed by `\` or `n`.
                match chars.next() {
                    Some('n') => out.push('\n'),
                    _ => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a sent text may not hold `c` (protocol 1.2): every control
/// character (C0, DEL and C1: `char::is_control`) but tab, plus the line
/// and paragraph separators U+2028 and U+2029, which are not control
/// characters but end a line for Python's `str.splitlines()` and for
/// JavaScript.
pub fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// The first character of `text` that [`forbidden`] refuses. Every
/// `MSG` is checked here, and most texts are ASCII (`is_ascii` looks at a
/// word at a time): theirs are looked at byte by byte, where
/// [`forbidden`] is an ASCII control byte but tab (a test checks every
/// ASCII byte), without decoding characters or asking Unicode's tables.
fn first_forbidden(text: &str) -> Option<char> {
    if text.is_ascii() {
        return text.bytes().find(|&b| b.is_ascii_control() && b != b'\t').map(char::from);
    }
    text.chars().find(|&c| forbidden(c))
}

/// Invisible characters that reorder or hide text: the bidirectional
/// controls (marks, embeddings, overrides, isolates), zero-width spaces
/// and the byte-order mark, line and paragraph separators, and Unicode's
/// other format characters (category Cf) but the joiners, variation
/// selectors and tags that emoji and some scripts need. A reader shows
/// them by their code (`display::visible`, the browser's `visible`), and
/// a name may not hold one ([`check_name_text`]).
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}'
        | '\u{08E2}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}')
}

/// 1.2: checks the free text that names a thing others see in
/// a list or a title (a room's topic, an e-mail address), as strict as a
/// sent text and, besides, without a character of [`is_format`]:
/// `evil\u{202E}txt.exe` shows as `evilexe.txt`, and `b\u{200B}ob` as
/// `bob`. A message's text may hold them (Persian, Thai and Hebrew use
/// some); readers show them by their code instead. `what` names the field
/// in the reason ("a topic may not hold U+202E (right-to-left override)").
pub fn check_name_text(plain: &str, what: &str) -> Result<(), String> {
    match plain.chars().find(|&c| forbidden(c) || is_format(c)) {
        Some(c) => Err(format!("{what} may not hold {}", describe(c))),
        None => Ok(()),
    }
}

/// `U+000D (carriage return)`: a character named for a reason.
fn describe(c: char) -> String {
    let name = match c {
        '\0' => "null",
        '\u{7}' => "bell",
        '\u{8}' => "backspace",
        '\u{b}' => "vertical tab",
        '\u{c}' => "form feed",
        '\r' => "carriage return",
        '\u{1b}' => "escape",
        '\u{1c}'..='\u{1f}' => "information separator",
        '\u{7f}' => "delete",
        '\u{85}' => "next line",
        '\u{9b}' => "control sequence introducer",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{200B}' => "zero width space",
        '\u{200E}' | '\u{200F}' => "direction mark",
        '\u{202A}'..='\u{202C}' => "direction embedding",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2066}'..='\u{2069}' => "direction isolate",
        '\u{FEFF}' => "byte order mark",
        c if is_format(c) => "an invisible format character",
        _ => "a control character",
    };
    format!("U+{:04X} ({name})", c as u32)
}

/// Length in bytes of the unescaped text, or why the escaping is wrong.
/// The escapes are ASCII, so the text between them is skipped whole:
/// `memchr2` finds the next backslash or raw newline a word at a time,
/// and each escape makes the text one byte shorter than its escaped form.
fn unescaped_len(escaped: &str) -> Result<usize, String> {
    let bytes = escaped.as_bytes();
    let mut escapes = 0;
    let mut from = 0;
    while let Some(found) = memchr::memchr2(b'\\', b'\n', &bytes[from..]) {
        let at = from + found;
        if bytes[at] == b'\n' {
            return Err("raw newline in text".into());
        }
        // `at` is a backslash, one byte: `at + 1` starts a character.
        match escaped[at + 1..].chars().next() {
            Some('\\') | Some('n') => escapes += 1,
            Some(other) => return Err(format!("bad escape \\{other} (only \\\\ and \\n)")),
            None => return Err("the text ends with a lone backslash".into()),
        }
        from = at + 2;
    }
    Ok(bytes.len() - escapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_restores_newlines_and_backslashes() {
        let t = Text::from_plain("line 1\nC:\\path").unwrap();
        assert_eq!(t.as_escaped(), "line 1\\nC:\\\\path");
        assert_eq!(t.unescaped(), "line 1\nC:\\path");
        assert_eq!(Text::parse(t.as_escaped()).unwrap(), t);
    }

    #[test]
    fn rejects_bad_escapes_and_bad_lengths() {
        assert!(Text::parse("a\\tb").unwrap_err().contains("bad escape"));
        assert!(Text::parse("ends\\").unwrap_err().contains("lone backslash"));
        assert!(Text::parse("").is_err());
        assert!(Text::parse(&"x".repeat(MAX_TEXT)).is_ok());
        assert!(Text::parse(&"x".repeat(MAX_TEXT + 1)).is_err());
        // 4096 newlines escaped are 8192 characters but 4096 bytes of text.
        assert!(Text::parse(&"\\n".repeat(MAX_TEXT)).is_ok());
    }

    #[test]
    fn each_escape_is_one_byte_of_text_among_characters_of_any_length() {
        for (escaped, len) in [("ñ\\nñ", 5), ("\\\\\\n", 2), ("€\\\\", 4), ("a\\\\nb", 4)] {
            assert_eq!(unescaped_len(escaped), Ok(len), "{escaped:?}");
            assert_eq!(Text::parse(escaped).unwrap().unescaped().len(), len, "{escaped:?}");
        }
        assert_eq!(unescaped_len("a\\ñ").unwrap_err(), "bad escape \\ñ (only \\\\ and \\n)");
        assert_eq!(unescaped_len("a\nb").unwrap_err(), "raw newline in text");
        assert_eq!(unescaped_len("ñ\\").unwrap_err(), "the text ends with a lone backslash");
    }

    #[test]
    fn a_sent_text_may_not_hold_a_control_character_but_tab() {
        assert_eq!(Text::parse_sent("a\rb").unwrap_err(), "a text may not hold U+000D (carriage return)");
        assert_eq!(Text::parse_sent("\u{1b}[2J").unwrap_err(), "a text may not hold U+001B (escape)");
        assert_eq!(
            Text::parse_sent("x\u{2028}y").unwrap_err(),
            "a text may not hold U+2028 (line separator)"
        );
        assert_eq!(
            Text::parse_sent("\u{1}").unwrap_err(),
            "a text may not hold U+0001 (a control character)"
        );
        for c in
            ['\0', '\u{b}', '\u{c}', '\u{1c}', '\u{1e}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}', '\u{2029}']
        {
            assert!(Text::parse_sent(&format!("a{c}b")).is_err(), "{c:?}");
        }
        // Tab, an escaped newline, and what is merely unusual stay allowed.
        for ok in ["a\tb", "line 1\\nline 2", "C:\\\\path", "ñ €", "\u{a0}\u{200b}\u{202e}", "\u{a0}"] {
            assert_eq!(Text::parse_sent(ok).unwrap(), Text::parse(ok).unwrap(), "{ok:?}");
        }
        // The other checks still come first, and the lenient parse still
        // reads what is stored.
        assert!(Text::parse_sent("").unwrap_err().contains("empty"));
        assert!(Text::parse_sent("a\\tb").unwrap_err().contains("bad escape"));
        assert_eq!(Text::parse("a\rb\u{1b}").unwrap().unescaped(), "a\rb\u{1b}");
    }

    #[test]
    fn an_ascii_text_is_checked_by_the_same_rule() {
        for b in 0..0x80u8 {
            let text = format!("a{}b", char::from(b));
            let expected = forbidden(char::from(b)).then_some(char::from(b));
            assert_eq!(first_forbidden(&text), expected, "{b:#04x}");
        }
    }

    #[test]
    fn forbidden_is_what_python_splitlines_splits_at_and_terminals_obey() {
        // Every character where str.splitlines() breaks a line, but the
        // raw newline (refused by escaping already).
        for c in ['\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}'] {
            assert!(forbidden(c), "{c:?}");
        }
        assert!(forbidden('\u{1b}') && forbidden('\u{9b}') && forbidden('\u{7f}'));
        assert!(!forbidden('\t') && !forbidden(' ') && !forbidden('a') && !forbidden('\u{a0}'));
    }

    #[test]
    fn counts_bytes_not_characters() {
        // "ñ" is two bytes in UTF-8.
        assert!(Text::parse(&"ñ".repeat(MAX_TEXT / 2)).is_ok());
        assert!(Text::parse(&"ñ".repeat(MAX_TEXT / 2 + 1)).is_err());
    }
}
