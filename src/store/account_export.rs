//! The lines of an account's export (`wachat export`, `wachat users
//! export`): JSON Lines written from the protocol's listing lines, so that
//! a client (`crate::export`, over the network), an administrator
//! (`admin::export`, from the data directory) and a running server
//! (`server::accounts`) write the very same format through one function,
//! [`write()`], each from a [`Source`] of its own. The format is described in
//! `crate::export`.
//!
//! JSON is written here by hand (the library has no JSON dependency),
//! its strings by [`json_str`], wachat's one JSON string writer: a
//! message's text cannot break a line or the format.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::display::json_str;
use crate::error::{Error, Result};
use crate::protocol::files::FileLine;
use crate::protocol::{Chat, ChatLine, DeviceLine, HistoryLine, Presence, RoomLine};

/// Where an export's lines come from: the protocol's listing lines, as
/// a server sends them (`ROOMS`, `CHATS`, `HISTORY`, `DEVICES`).
pub trait Source {
    /// The server's id (`SERVER`), empty if it cannot say.
    fn server(&mut self) -> Result<String>;
    fn rooms(&mut self) -> Result<Vec<String>>;
    fn chats(&mut self) -> Result<Vec<String>>;
    /// The newest [`MAX_HISTORY`](crate::protocol::MAX_HISTORY) messages of `chat`, oldest first.
    fn history(&mut self, chat: &Chat) -> Result<Vec<String>>;
    /// 1.2 (§25): the account's `STARRED` lines (`HISTORY` lines, newest
    /// first); none from a source that has no stars to say.
    fn starred(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// `None`: the source has no devices to say (a server older than 1.2).
    fn devices(&mut self) -> Result<Option<Vec<String>>>;
    /// 1.2 (§21): the account's `FILES` lines; none from a source that
    /// has no files to say (a server older than 1.2).
    fn files(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Writes the bytes of file `id` to `dest`, a new file; the bytes written.
    fn save_file(&mut self, id: &str, dest: &Path) -> Result<u64> {
        let _ = dest;
        Err(Error::Usage(format!("export: this source cannot copy file {id}")))
    }
}

/// Writes `me`'s export from `source` to `out`, streamed chat by chat.
/// With a folder `files` (the one beside the export's file), the bytes of
/// your files are copied into its `files/` folder ([`write_files`]).
pub fn write(me: &str, source: &mut dyn Source, out: &mut dyn Write, files: Option<&Path>) -> Result<()> {
    let server = source.server()?;
    let rooms = source.rooms()?;
    let chats = source.chats()?;
    let fail = |e| Error::io("export: writing", e);
    let mut line = String::new();
    object(&mut line, &[("type", "account"), ("user", me), ("server", &server)]);
    push_number(&mut line, "exported_ms", now_ms());
    writeln!(out, "{line}").map_err(fail)?;
    for room in &rooms {
        let room = RoomLine::parse(room).map_err(|e| Error::Protocol(format!("ROOMS line {room:?}: {e}")))?;
        line.clear();
        object(&mut line, &[("type", "room"), ("room", &format!("#{}", room.room))]);
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
        object(&mut line, &[("type", "chat"), ("chat", &chat.chat.to_string())]);
        push_number(&mut line, "unread", chat.unread);
        writeln!(out, "{line}").map_err(fail)?;
        let lines = source.history(&chat.chat)?;
        for history in &lines {
            let m = HistoryLine::parse(history)
                .map_err(|why| Error::Protocol(format!("history line {history:?}: {why}")))?;
            message(&mut line, ("message", Some(&chat.chat.to_string())), &m);
            writeln!(out, "{line}").map_err(fail)?;
        }
        out.flush().map_err(fail)?; // streamed: each chat as it comes
        progress.chat_done(lines.len());
    }
    progress.finish();
    for starred in source.starred()? {
        let m = HistoryLine::parse(&starred)
            .map_err(|why| Error::Protocol(format!("STARRED line {starred:?}: {why}")))?;
        message(&mut line, ("starred", None), &m);
        writeln!(out, "{line}").map_err(fail)?;
    }
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
                ("type", "device"),
                ("device", &d.device),
                ("address", &d.address.to_string()),
                ("presence", presence),
            ],
        );
        push_number(&mut line, "last_seen_ms", seen);
        writeln!(out, "{line}").map_err(fail)?;
    }
    write_files(me, source, out, files)?;
    out.flush().map_err(fail)
}

/// 1.2 (§21): a `file` line per file of yours, and an `attachment` line
/// per message of yours that carries one:
///
/// ```text
/// {"type":"file","file":"3f…a1","name":"lab3.pdf","media":"application/octet-stream","sha256":"…","path":"files/3f…a1.pdf","size":250880}
/// {"type":"attachment","file":"3f…a1","from":"ana","to":"bob","id":"f1","path":"files/3f…a1.pdf"}
/// ```
///
/// With a folder `dir`, each file's bytes are copied to `dir/<path>`:
/// its id and an extension made safe (`store::files::export_name`), never
/// the sender's name, so a name cannot reach a path; the copy's sha256 is
/// checked. Without one (an export to stdout), `path` is empty.
pub fn write_files(me: &str, source: &mut dyn Source, out: &mut dyn Write, dir: Option<&Path>) -> Result<()> {
    let fail = |e| Error::io("export: writing", e);
    let mut copied = std::collections::HashSet::new();
    let mut line = String::new();
    for text in source.files()? {
        let f = FileLine::parse(&text).map_err(|e| Error::Protocol(format!("FILES line {text:?}: {e}")))?;
        let id = &f.file.id;
        let path = match dir {
            Some(_) => format!("files/{}", crate::store::files::export_name(id, &f.file.name)),
            None => String::new(),
        };
        if copied.insert(id.clone()) {
            if let Some(dir) = dir {
                save_checked(source, &f, &dir.join(&path))?;
            }
            line.clear();
            object(
                &mut line,
                &[
                    ("type", "file"),
                    ("file", id),
                    ("name", &f.file.name),
                    ("media", &f.file.kind),
                    ("sha256", &f.sha256),
                    ("path", &path),
                ],
            );
            push_number(&mut line, "size", f.file.size);
            writeln!(out, "{line}").map_err(fail)?;
        }
        if let Some((to, msg)) = &f.message {
            line.clear();
            let fields = [
                ("type", "attachment"),
                ("file", id),
                ("from", me),
                ("to", to),
                ("id", msg),
                ("path", &path),
            ];
            object(&mut line, &fields);
            line.push('}'); // no number to end it
            writeln!(out, "{line}").map_err(fail)?;
        }
    }
    Ok(())
}

/// Copies a file into `dest` (its folder made private, 0700: it holds
/// someone's files) and checks its sha256 against the listing's.
fn save_checked(source: &mut dyn Source, f: &FileLine, dest: &Path) -> Result<()> {
    use crate::sys::private::Mode;
    let folder = dest.parent().unwrap_or(Path::new("."));
    let io = |e| Error::io(format!("export: {}", dest.display()), e);
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder).map_err(io)?;
    source.save_file(&f.file.id, dest)?;
    let sha256 = crate::store::files::sha256_of(dest).map_err(io)?;
    if sha256 != f.sha256 {
        return Err(Error::Protocol(format!("export: {} came back with another sha256", f.file.id)));
    }
    Ok(())
}

/// Unix milliseconds now (a clock before 1970 is a broken machine: 0).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A message as one object of the export, in `line` (cleared first): a
/// chat's message (`("message", Some(chat))`) or a starred one
/// (`("starred", None)`, 1.2 §25), the same fields but the chat.
fn message(line: &mut String, (kind, chat): (&str, Option<&str>), m: &HistoryLine) {
    line.clear();
    let (to, text) = (m.to.to_string(), m.text.unescaped());
    let mut fields = vec![("type", kind)];
    fields.extend(chat.map(|chat| ("chat", chat)));
    fields.extend([
        ("from", m.from.as_str()),
        ("to", &to),
        ("id", &m.id),
        ("state", m.state.as_str()),
        ("text", &text),
    ]);
    object(line, &fields);
    push_number(line, "ts", m.ts);
}

/// `{"k":"v",…` without its closing brace (numbers follow, then `}` is
/// added by [`push_number`]; every object here ends with one number).
fn object(out: &mut String, fields: &[(&str, &str)]) {
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_str(key));
        out.push(':');
        out.push_str(&json_str(value));
    }
}

/// `,"key":n}`: the object's last field, and its end.
fn push_number(out: &mut String, key: &str, n: u64) {
    out.push(',');
    out.push_str(&json_str(key));
    out.push(':');
    out.push_str(&n.to_string());
    out.push('}');
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
        let out = json_str("a\"b\\c\nd\u{1b}[2J\u{2028}é\r\t\u{7f}");
        assert_eq!(out, r#""a\"b\\c\nd\u001b[2J\u2028é\r\t\u007f""#);
        let mut line = String::new();
        object(&mut line, &[("type", "room"), ("room", "#tea")]);
        push_number(&mut line, "members", 2);
        assert_eq!(line, r##"{"type":"room","room":"#tea","members":2}"##);
    }
}
