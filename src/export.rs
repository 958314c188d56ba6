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
//! {"type":"device","device":"laptop","address":"127.0.0.1","presence":"online","last_seen_ms":0}
//! ```
//!
//! Devices (protocol 1.2, `DEVICES`) come last; a server older than 1.2
//! has none to list. An administrator's `wachat users export NAME`
//! (`src/admin_export.rs`) writes the very same lines from the server's
//! data directory: both go through [`write`], from a [`Source`] each.
//!
//! JSON is written here by hand (the library has no JSON dependency):
//! strings are escaped as RFC 8259 says, `"`, `\` and every control
//! character, so a message's text cannot break a line or the format.

use std::io::{IsTerminal, Write};

use crate::client::{self, Connection, Options};
use crate::error::{Error, Result};
use crate::protocol::{Chat, ChatLine, DeviceLine, MAX_HISTORY, Presence, Reply, Request, RoomLine};

/// Where an export's lines come from: the protocol's listing lines, as
/// a server sends them (`ROOMS`, `CHATS`, `HISTORY`, `DEVICES`).
pub trait Source {
    /// The server's id (`SERVER`), empty if it cannot say.
    fn server(&mut self) -> Result<String>;
    fn rooms(&mut self) -> Result<Vec<String>>;
    fn chats(&mut self) -> Result<Vec<String>>;
    /// The newest [`MAX_HISTORY`] messages of `chat`, oldest first.
    fn history(&mut self, chat: &Chat) -> Result<Vec<String>>;
    /// `None`: the source has no devices to say (a server older than 1.2).
    fn devices(&mut self) -> Result<Option<Vec<String>>>;
}

/// A client's export: one send connection, the requests in turn.
struct Client(Connection);

impl Source for Client {
    fn server(&mut self) -> Result<String> {
        Ok(match self.0.request(&Request::Server)? {
            Reply::OkWith(id) => id,
            _ => String::new(), // a server older than 1.1: no id to name
        })
    }

    fn rooms(&mut self) -> Result<Vec<String>> {
        listing(&mut self.0, Request::Rooms, "ROOMS")
    }

    fn chats(&mut self) -> Result<Vec<String>> {
        listing(&mut self.0, Request::Chats, "CHATS")
    }

    fn history(&mut self, chat: &Chat) -> Result<Vec<String>> {
        listing(&mut self.0, Request::History { chat: chat.clone(), limit: MAX_HISTORY }, "HISTORY")
    }

    fn devices(&mut self) -> Result<Option<Vec<String>>> {
        match self.0.request(&Request::Devices)? {
            Reply::Listing(lines) => Ok(Some(lines)),
            _ => Ok(None), // an older server: `KO:BAD_REQUEST`
        }
    }
}

/// Runs the export to `out`.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<()> {
    let (conn, me) = crate::oneshot::open(options)?;
    let mut source = Client(conn);
    write(&me, &mut source, out)?;
    let _ = source.0.request(&Request::Quit);
    Ok(())
}

/// Writes `me`'s export from `source` to `out`, streamed chat by chat.
pub fn write(me: &str, source: &mut dyn Source, out: &mut dyn Write) -> Result<()> {
    let server = source.server()?;
    let rooms = source.rooms()?;
    let chats = source.chats()?;
    let fail = |e| Error::io("export: writing", e);
    let mut line = String::new();
    object(&mut line, &[("type", J::S("account")), ("user", J::S(me)), ("server", J::S(&server))]);
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
        let lines = source.history(&chat.chat)?;
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
    for device in source.devices()?.unwrap_or_default() {
        let d = DeviceLine::parse(&device)
            .map_err(|e| Error::Protocol(format!("DEVICES line {device:?}: {e}")))?;
        let (presence, seen) = match d.presence {
            Presence::Online => ("online", 0),
            Presence::LastSeen(ts) => ("last seen", ts),
            Presence::Unknown => ("never seen", 0),
        };
        line.clear();
        object(
            &mut line,
            &[
                ("type", J::S("device")),
                ("device", J::S(&d.device)),
                ("address", J::S(&d.address.to_string())),
                ("presence", J::S(presence)),
            ],
        );
        push_number(&mut line, "last_seen_ms", seen);
        writeln!(out, "{line}").map_err(fail)?;
    }
    out.flush().map_err(fail)
}

/// Runs `export` into `path` (a new file, 0600: it holds someone's
/// messages; synced once whole) or, with none, stdout.
pub fn to(path: Option<&std::path::Path>, export: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(path) = path else { return export(&mut std::io::stdout().lock()) };
    let fail = |e| Error::io(format!("{}", path.display()), e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let mut out = std::io::BufWriter::new(file);
    export(&mut out)?;
    out.into_inner().map_err(|e| fail(e.into_error()))?.sync_all().map_err(fail)
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
