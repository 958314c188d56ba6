//! What reaches a person's screen: text from the network made safe to
//! print, and times in the local time zone.
//!
//! ## Control characters
//!
//! A terminal obeys the control characters it is sent: `ESC [ 2 J` clears
//! the screen, `ESC ] 0 ; … BEL` sets the window title, `\r` goes back to
//! the start of the line so that the next words overwrite the sender's
//! name, a backspace rubs out what came before. A message, a user name, a
//! room name, a server's `KO` reason, a frame in `--trace`, a peer's words:
//! anything that came over a socket could carry them, so *everything* the
//! console, the one-shot commands and the log print goes through
//! [`visible`] first, which shows each control character as harmless
//! printable text instead:
//!
//! | characters | shown as | example |
//! |---|---|---|
//! | C0, `U+0000`–`U+001F`, except the newline | `^` and a letter (caret notation) | `ESC` → `^[`, `\r` → `^M`, tab → `^I` |
//! | DEL, `U+007F` | `^?` | |
//! | C1, `U+0080`–`U+009F` | `M-^` and a letter (the C0 character plus 128, as `cat -v` writes it) | `U+009B` (CSI) → `M-^[` |
//! | invisible characters that reorder or hide text: bidirectional controls, zero-width spaces, the byte-order mark, line and paragraph separators, other format characters ([`is_format`]) | their code point | `U+202E` (RIGHT-TO-LEFT OVERRIDE) → `<U+202E>` |
//!
//! The last row is about meaning, not the terminal's state: `evil\u{202E}txt.exe`
//! prints as `evilexe.txt`, and a U+202E in a message reverses everything
//! that follows it on the line, the next message's sender included; a
//! zero-width space makes two names that look the same. The characters
//! that join what is visible (ZWJ in emoji, ZWNJ in Persian, variation
//! selectors) are left alone: they hide nothing.
//!
//! The newline stays a newline: the protocol carries it escaped (`\n`) on
//! purpose, and the console indents the lines after the first so that a
//! message can never pass for a line of its own. What is stored (the local
//! log, the server's files) stays byte for byte what was sent: only the
//! screen sees the visible form. One function, so that every way of
//! showing text (the line console, a full-screen console, the log) shows
//! it the same way.
//!
//! ## Times
//!
//! The protocol's times are Unix milliseconds of the server's clock; people
//! read `14:02` in their own time zone. [`local_time`] asks the C library
//! (`localtime_r`, which follows `TZ` and `/etc/localtime` like `date`
//! does): the conversion needs the time-zone database, which is the
//! operating system's, and `libc` is already a dependency.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// `text` with every control character but the newline made visible (see
/// the module's table). Borrowed when there is nothing to change, which is
/// almost always.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c as u32 {
            _ if !is_hidden(c) => out.push(c),
            _ if is_format(c) => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
            0x7f => out.push_str("^?"),
            n @ 0x00..=0x1f => {
                out.push('^');
                out.push(char::from(n as u8 + 0x40));
            }
            n => {
                out.push_str("M-^");
                out.push(char::from((n - 0x80) as u8 + 0x40));
            }
        }
    }
    Cow::Owned(out)
}

/// A character a terminal would act on rather than show, or one that
/// changes how the text around it reads without being seen.
fn is_hidden(c: char) -> bool {
    c != '\n' && (c.is_ascii_control() || ('\u{80}'..='\u{9f}').contains(&c) || is_format(c))
}

/// Invisible characters that reorder or hide text: one list for the
/// clients that show them and the server that refuses them in names.
pub use crate::protocol::escape::is_format;

/// A moment as a person reads it, in the local time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1–12
    pub month: u32,
    /// 1–31
    pub day: u32,
    /// 0–23
    pub hour: u32,
    /// 0–59
    pub minute: u32,
    /// 0 = Sunday … 6 = Saturday
    pub weekday: u32,
}

impl LocalTime {
    /// `14:02`
    pub fn clock(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// `2024-03-05`: the same in every language, and it sorts.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// True if both are on the same calendar day.
    pub fn same_day(&self, other: &LocalTime) -> bool {
        (self.year, self.month, self.day) == (other.year, other.month, other.day)
    }
}

/// Prints `lines` on stdout, one a line, for whoever reads them. A reader
/// that stops early (`wachat users invites | head -1`) ends the printing
/// quietly, as Unix tools do: `println!` would panic on the closed pipe.
pub fn print_lines<T: std::fmt::Display>(lines: impl IntoIterator<Item = T>) -> crate::error::Result<()> {
    let mut out = std::io::stdout().lock();
    let written = lines.into_iter().try_for_each(|line| writeln!(out, "{line}")).and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::error::Error::io("stdout", e)),
        _ => Ok(()),
    }
}

/// Unix milliseconds as local time. A time the C library cannot convert
/// (far outside any real clock) reads as the epoch.
pub fn local_time(ts_ms: u64) -> LocalTime {
    let Some(tm) = i64::try_from(ts_ms / 1000).ok().and_then(crate::sys::clock::local) else {
        return LocalTime { year: 1970, month: 1, day: 1, hour: 0, minute: 0, weekday: 4 };
    };
    LocalTime {
        year: tm.tm_year + 1900,
        month: tm.tm_mon as u32 + 1,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        weekday: tm.tm_wday as u32,
    }
}

/// Where log lines go: stderr, unless a full screen owns the terminal
/// ([`log_to_file`]): a line written over the TUI's frame would tear it
/// and stay there until the next redraw.
static LOG_FILE: parking_lot::Mutex<Option<std::fs::File>> = parking_lot::Mutex::new(None);

/// Sends the log to `file` from now on (`None`: back to stderr).
pub fn log_to_file(file: Option<std::fs::File>) {
    *LOG_FILE.lock() = file;
}

/// The logger's output: see [`LOG_FILE`].
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut *LOG_FILE.lock() {
            // A file has no use for the terminal's colours.
            Some(file) => file.write_all(&without_colours(buf)).map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut *LOG_FILE.lock() {
            Some(file) => file.flush(),
            None => std::io::stderr().flush(),
        }
    }
}

/// `bytes` without the `ESC [ … m` colour sequences the logger adds
/// around the level (the message itself went through [`visible`]).
fn without_colours(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_sequence = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0x1b if bytes.get(i + 1) == Some(&b'[') => in_sequence = true,
            b'm' if in_sequence => in_sequence = false,
            _ if in_sequence => {}
            _ => out.push(b),
        }
    }
    out
}

/// How log lines are written (`wachat serve --log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `[2026-11-27T20:15:48Z INFO  wachat::server] listening: …`, for a person.
    #[default]
    Text,
    /// One JSON object a line, for a log collector: `timestamp`, `level`,
    /// `target`, `message`, and the fields the line was logged with.
    Json,
}

impl LogFormat {
    /// The format a command line asks for, read before it is parsed, so
    /// that a start-up error (a bad flag) is written in it too:
    /// `--log-format json`, `--log-format=json`, or `WACHAT_LOG_FORMAT=json`.
    pub fn asked(args: &[std::ffi::OsString]) -> LogFormat {
        let flag = args.windows(2).any(|w| w[0] == "--log-format" && w[1] == "json")
            || args.iter().any(|a| a == "--log-format=json");
        let env = std::env::var_os("WACHAT_LOG_FORMAT").is_some_and(|v| v == "json");
        if flag || env { LogFormat::Json } else { LogFormat::Text }
    }
}

/// One log line as one JSON object: what `--log-format json` writes for
/// every line, and for the error a command ends with.
pub fn json_line(
    timestamp: &str,
    level: &str,
    target: &str,
    message: &str,
    fields: &[(String, String)],
) -> String {
    let mut line = format!(
        "{{\"timestamp\":{},\"level\":{},\"target\":{},\"message\":{}",
        json_str(timestamp),
        json_str(level),
        json_str(target),
        json_str(message)
    );
    for (key, value) in fields {
        let _ = write!(line, ",{}:{}", json_str(key), json_str(value));
    }
    line.push('}');
    line
}

/// A JSON string literal (RFC 8259 §7), wachat's one: quotes,
/// backslashes and control characters escaped (DEL too), and the two line
/// separators a JavaScript reader would break a line at (U+2028, U+2029):
/// a value can never end the object or the line, nor clear a terminal
/// that shows it. The log's JSON lines, the reports of `conform` and
/// `chaos`, an account's export and a push's payload are written with it.
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The fields a log line was written with (`log::info!(user = name; "…")`).
fn fields_of(record: &log::Record) -> Vec<(String, String)> {
    struct Collect(Vec<(String, String)>);
    impl<'kvs> log::kv::VisitSource<'kvs> for Collect {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            self.0.push((key.to_string(), visible(&value.to_string()).into_owned()));
            Ok(())
        }
    }
    let mut fields = Collect(Vec::new());
    let _ = record.key_values().visit(&mut fields);
    fields.0
}

/// `env_logger` with every message made [`visible`], for `wachat` and
/// the examples: a log line quotes names and frames from the network too.
/// The level comes from `RUST_LOG`, `default` when unset. Lines go to
/// stderr, or to a file while the TUI is up ([`log_to_file`]).
pub fn logger(default: &str) -> env_logger::Builder {
    logger_in(default, LogFormat::Text)
}

/// [`logger`], its lines written in `format`.
pub fn logger_in(default: &str, format: LogFormat) -> env_logger::Builder {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default));
    builder.target(env_logger::Target::Pipe(Box::new(LogSink)));
    // Colours, as env_logger gives a terminal, when stderr is one (a pipe target alone would lose
    // them); RUST_LOG_STYLE still decides if set.
    if std::env::var_os("RUST_LOG_STYLE").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        builder.write_style(env_logger::WriteStyle::Always);
    }
    if format == LogFormat::Json {
        builder.write_style(env_logger::WriteStyle::Never);
        builder.format(|buf, record| {
            let message = record.args().to_string();
            let ts = buf.timestamp_millis().to_string();
            let level = record.level().to_string();
            writeln!(
                buf,
                "{}",
                json_line(&ts, &level, record.target(), &visible(&message), &fields_of(record))
            )
        });
        return builder;
    }
    builder.format(|buf, record| {
        let mut message = String::new();
        let _ = write!(message, "{}", record.args());
        let level = record.level();
        let style = buf.default_level_style(level);
        let (ts, target) = (buf.timestamp(), record.target());
        writeln!(buf, "[{ts} {style}{level:<5}{style:#} {target}] {}", visible(&message))
    });
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_nothing_else_changes() {
        assert!(matches!(visible("hola, ¿qué tal? 😀"), Cow::Borrowed(_)));
        assert_eq!(visible("a\nb"), "a\nb");
        assert_eq!(visible("\u{1b}[2Jfake"), "^[[2Jfake");
        assert_eq!(visible("\u{1b}]0;title\u{7}"), "^[]0;title^G");
        assert_eq!(visible("ana\rSYSTEM"), "ana^MSYSTEM");
        assert_eq!(visible("ab\u{8}\u{8}x\ty"), "ab^H^Hx^Iy");
        assert_eq!(visible("\u{0}\u{1f}\u{7f}"), "^@^_^?");
        assert_eq!(visible("\u{9b}2J \u{80}\u{9f}"), "M-^[2J M-^@M-^_");
        // Visible text has no control character left: showing it twice
        // changes nothing.
        let once = visible("\u{1b}\u{9b}\r\u{7f}").into_owned();
        assert_eq!(visible(&once), once);
        assert!(!once.chars().any(is_hidden));
    }

    #[test]
    fn text_reversing_and_invisible_characters_are_shown_by_their_code() {
        assert_eq!(visible("evil\u{202E}txt.exe"), "evil<U+202E>txt.exe");
        assert_eq!(
            visible("b\u{200B}ob \u{FEFF}\u{2066}x\u{2069}\u{2028}"),
            "b<U+200B>ob <U+FEFF><U+2066>x<U+2069><U+2028>"
        );
        assert_eq!(visible("\u{200E}\u{200F}\u{061C}"), "<U+200E><U+200F><U+061C>");
        // What joins visible characters stays: a family emoji, Persian's ZWNJ.
        assert!(matches!(visible("👩\u{200D}👩\u{200D}👧 می\u{200C}خواهم ❤\u{FE0F}"), Cow::Borrowed(_)));
        let once = visible("\u{202E}\u{1b}").into_owned();
        assert_eq!(visible(&once), once);
    }

    #[test]
    fn the_log_file_gets_no_colour_sequences() {
        let line = b"[ts \x1b[33mWARN \x1b[0m wachat] ^[[2J kept\n";
        assert_eq!(without_colours(line), b"[ts WARN  wachat] ^[[2J kept\n");
    }

    #[test]
    fn times_are_read_in_the_local_time_zone() {
        // The tests of the whole program run with TZ unset or UTC; this one
        // checks the fields, whatever the zone, against one known instant.
        let t = local_time(1_709_647_320_000); // 2024-03-05 14:02 UTC, a Tuesday
        assert_eq!(t.minute, 2);
        assert!(t.same_day(&t));
        assert_eq!(t.clock().len(), 5);
        assert_eq!(t.date().len(), 10);
        if std::env::var("TZ").as_deref() == Ok("UTC") {
            assert_eq!((t.date(), t.clock(), t.weekday), ("2024-03-05".into(), "14:02".into(), 2));
        }
    }
}
