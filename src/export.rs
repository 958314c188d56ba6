//! `wachat export --user NAME`: everything the server holds about you, as
//! JSON Lines on stdout (or `--out FILE`): a first line naming the
//! account and the server, then your rooms, your chats, and every message
//! of each chat that `HISTORY` serves (its newest 1,000, oldest first),
//! one object per line, written as each chat arrives. A progress bar goes
//! to stderr when it is a terminal.
//!
//! It is a client of the protocol like any other (one send connection,
//! `SERVER`, `ROOMS`, `CHATS`, then `HISTORY` per chat): what it lists is
//! what `HISTORY` returns, so a student can check it with `nc`. Each line
//! is one of:
//!
//! ```text
//! {"type":"account","user":"ana","server":"d2d7…","exported_ms":1795387812847}
//! {"type":"room","room":"#tea","members":2}
//! {"type":"chat","chat":"bob","unread":0}
//! {"type":"message","chat":"bob","from":"ana","to":"bob","id":"m1","ts":1795387812847,"state":"READ","text":"hi\nthere"}
//! ```
//!
//! JSON is written here by hand (the library has no JSON dependency):
//! strings are escaped as RFC 8259 says, `"`, `\` and every control
//! character, so a message's text cannot break a line or the format.

use std::io::{IsTerminal, Write};

use crate::client::{self, Connection, Options};
use crate::error::{Error, Result};
use crate::protocol::{ChatLine, MAX_HISTORY, Reply, Request, RoomLine};

/// Runs the export to `out`.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<()> {
    let (mut conn, me) = crate::oneshot::open(options)?;
    let server = match conn.request(&Request::Server)? {
        Reply::OkWith(id) => id,
        _ => String::new(), // a server older than 1.1: no id to name
    };
    let rooms = listing(&mut conn, Request::Rooms, "ROOMS")?;
    let chats = listing(&mut conn, Request::Chats, "CHATS")?;
    let fail = |e| Error::io("export: writing", e);
    let mut line = String::new();
    object(&mut line, &[("type", J::S("account")), ("user", J::S(&me)), ("server", J::S(&server))]);
    push_number(&mut line, "exported_ms", client::now_ms());
    writeln!(out, "{line}").map_err(fail)?;
    for room in &rooms {
        let room = RoomLine::parse(room).map_err(|e| Error::Protocol(format!("ROOMS line {room:?}: {e}")))?;
        line.clear();
        object(&mut line, &[("type", J::S("room")), ("room", J::S(&format!("#{}", room.room)))]);
        push_number(&mut line, "members", room.members);
        writeln!(out, "{line}").map_err(fail)?;
    }
    let chats: Vec<ChatLine> = chats
        .iter()
        .map(|c| ChatLine::parse(c).map_err(|e| Error::Protocol(format!("CHATS line {c:?}: {e}"))))
        .collect::<Result<_>>()?;
    let mut progress = Progress::new(chats.len());
    for chat in &chats {
        line.clear();
        object(&mut line, &[("type", J::S("chat")), ("chat", J::S(&chat.chat.to_string()))]);
        push_number(&mut line, "unread", chat.unread);
        writeln!(out, "{line}").map_err(fail)?;
        let request = Request::History { chat: chat.chat.clone(), limit: MAX_HISTORY };
        let lines = listing(&mut conn, request, "HISTORY")?;
        for history in &lines {
            let m = client::parse_history_line(history)?;
            line.clear();
            object(
                &mut line,
                &[
                    ("type", J::S("message")),
                    ("chat", J::S(&chat.chat.to_string())),
                    ("from", J::S(&m.from)),
                    ("to", J::S(&m.to.to_string())),
                    ("id", J::S(&m.id)),
                    ("state", J::S(m.state.as_str())),
                    ("text", J::S(&m.text.unescaped())),
                ],
            );
            push_number(&mut line, "ts", m.ts);
            writeln!(out, "{line}").map_err(fail)?;
        }
        out.flush().map_err(fail)?; // streamed: each chat as it comes
        progress.chat_done(lines.len());
    }
    progress.finish();
    let _ = conn.request(&Request::Quit);
    Ok(())
}

/// A listing request's lines.
fn listing(conn: &mut Connection, request: Request, what: &str) -> Result<Vec<String>> {
    match conn.request(&request)? {
        Reply::Listing(lines) => Ok(lines),
        Reply::Ko(ko) => Err(Error::Refused { request: what.to_string(), ko }),
        other => Err(conn.unexpected(&other)),
    }
}

/// A JSON value this file writes.
enum J<'a> {
    S(&'a str),
}

/// `{"k":"v",…` without its closing brace (numbers follow, then `}` is
/// added by [`push_number`]; every object here ends with one number).
fn object(out: &mut String, fields: &[(&str, J<'_>)]) {
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(out, key);
        out.push(':');
        match value {
            J::S(s) => push_string(out, s),
        }
    }
}

/// `,"key":n}`: the object's last field, and its end.
fn push_number(out: &mut String, key: &str, n: u64) {
    out.push(',');
    push_string(out, key);
    out.push(':');
    out.push_str(&n.to_string());
    out.push('}');
}

/// A JSON string (RFC 8259 §7): quotes, `\`, and control characters escaped.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The progress bar on stderr, if it is a terminal: chats done of all,
/// messages so far.
struct Progress {
    total: usize,
    done: usize,
    messages: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let progress = Progress { total, done: 0, messages: 0, shown: std::io::stderr().is_terminal() };
        progress.draw();
        progress
    }

    fn chat_done(&mut self, messages: usize) {
        self.done += 1;
        self.messages += messages;
        self.draw();
    }

    fn draw(&self) {
        if !self.shown {
            return;
        }
        const WIDTH: usize = 30;
        let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let bar = format!("{}{}", "#".repeat(filled), " ".repeat(WIDTH - filled));
        eprint!("\rexport [{bar}] {}/{} chats, {} messages", self.done, self.total, self.messages);
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_cannot_break_the_line_or_the_format() {
        let mut out = String::new();
        push_string(&mut out, "a\"b\\c\nd\u{1b}[2J\u{2028}é");
        assert_eq!(out, r#""a\"b\\c\nd\u001b[2J\u2028é""#);
        let mut line = String::new();
        object(&mut line, &[("type", J::S("room")), ("room", J::S("#tea"))]);
        push_number(&mut line, "members", 2);
        assert_eq!(line, r##"{"type":"room","room":"#tea","members":2}"##);
    }
}
