//! The lines of `INFO` (1.2): `key=value`, what a server's users should
//! know of its rules. One line per rule, so that a client shows the ones
//! it knows and skips the others, and a later version adds keys without
//! breaking anyone (a client must ignore a key it does not know).
//!
//! | key | value |
//! | --- | --- |
//! | `version` | the protocol version the server speaks, `1.2` |
//! | `server` | its software and version, `wachat 0.1.0` |
//! | `retention_days` | days after which delivered messages are deleted; `none`: kept |
//! | `quota_bytes` | what one account may store; `none`: no quota |
//! | `max_devices` | receive connections one account may have at once |
//! | `registration` | `open`, `invite` or `closed` |
//! | `max_text_bytes` | longest message text, unescaped |
//! | `max_frame_bytes` | longest frame, `\n` included |
//! | `max_history` | most messages one `HISTORY` returns |
//! | `rate` | requests per second per user (`none`: no limit) |
//! | `name_quarantine_days` | days a deleted account's name stays reserved before anyone may register it (`0.5`: half a day) |
//! | `new_accounts_left` | accounts the asker's address may still `REGISTER` now (`unlimited`: exempt) |
//! | `timeout_secs` | the server's `--timeout`: a connection silent that long is closed, so a client keeps its connections alive within it (`0.5`: half a second) |
//! | `max_file_bytes` | the largest file an `UPLOAD` may announce (`--max-file-mb`) |

use std::fmt;

/// `key=value`: one line of `INFO`'s listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoLine {
    /// `a-z 0-9 _`, 1–32 characters.
    pub key: String,
    /// Anything printable but a line break.
    pub value: String,
}

/// The keys of this version, in the order the server lists them.
/// The key of `INFO` that says the server's `--timeout`, in seconds
/// (1.2): the server writes it, a client keeps alive within it.
pub const TIMEOUT_SECS: &str = "timeout_secs";

pub const KEYS: [&str; 14] = [
    "version",
    "server",
    "retention_days",
    "quota_bytes",
    "max_devices",
    "registration",
    "max_text_bytes",
    "max_frame_bytes",
    "max_history",
    "rate",
    "name_quarantine_days",
    TIMEOUT_SECS,
    "new_accounts_left",
    "max_file_bytes",
];

impl InfoLine {
    pub fn new(key: &str, value: impl fmt::Display) -> InfoLine {
        InfoLine { key: key.to_string(), value: value.to_string() }
    }

    pub fn parse(line: &str) -> Result<InfoLine, String> {
        let (key, value) =
            line.split_once('=').ok_or_else(|| format!("expected <key>=<value>, got {line:?}"))?;
        let key_ok = (1..=32).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Err(format!("bad key {key:?} (a-z 0-9 _)"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("a control character in the value of {key}"));
        }
        Ok(InfoLine { key: key.to_string(), value: value.to_string() })
    }

    /// The value of `key` among `lines`.
    pub fn find<'a>(lines: &'a [InfoLine], key: &str) -> Option<&'a str> {
        lines.iter().find(|l| l.key == key).map(|l| l.value.as_str())
    }
}

impl fmt::Display for InfoLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_bad_ones_are_refused() {
        for line in ["version=1.2", "retention_days=none", "server=wachat 0.1.0", "x=", "rate=a=b"] {
            assert_eq!(InfoLine::parse(line).unwrap().to_string(), line);
        }
        for bad in ["version", "=1", "Version=1", "a-b=1", "k=\u{1b}[2J"] {
            assert!(InfoLine::parse(bad).is_err(), "{bad}");
        }
        let lines = [InfoLine::new("a", 1), InfoLine::new("b", "x")];
        assert_eq!(InfoLine::find(&lines, "b"), Some("x"));
        assert_eq!(InfoLine::find(&lines, "c"), None);
    }
}
