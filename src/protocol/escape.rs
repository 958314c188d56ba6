//! Message text on the wire: one message is one line, so a newline inside a
//! message travels as the two characters `\n`, and a backslash as `\\`.
//! Any other character after a backslash is an error (`BAD_REQUEST`).
//!
//! [`Text`] keeps the *escaped* form: the server never needs the real text,
//! it checks it once and then stores and forwards it as it came (the files
//! on disk hold the same escaped form, so every record is one line there
//! too). Clients call [`Text::unescaped`] to show it.

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

/// Length in bytes of the unescaped text, or why the escaping is wrong.
fn unescaped_len(escaped: &str) -> Result<usize, String> {
    let mut len = 0;
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') | Some('n') => len += 1,
                Some(other) => return Err(format!("bad escape \\{other} (only \\\\ and \\n)")),
                None => return Err("the text ends with a lone backslash".into()),
            },
            '\n' => return Err("raw newline in text".into()),
            c => len += c.len_utf8(),
        }
    }
    Ok(len)
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
    fn counts_bytes_not_characters() {
        // "ñ" is two bytes in UTF-8.
        assert!(Text::parse(&"ñ".repeat(MAX_TEXT / 2)).is_ok());
        assert!(Text::parse(&"ñ".repeat(MAX_TEXT / 2 + 1)).is_err());
    }
}
