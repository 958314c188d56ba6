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
//! Your starred messages (1.2, §25, `STARRED`) follow the chats, a
//! `starred` line each, newest first, as a `message` line without `chat`:
//!
//! ```text
//! {"type":"starred","from":"bob","to":"ana","id":"m1","state":"RECEIVED","text":"see you","ts":1795387812847}
//! ```
//!
//! Devices (protocol 1.2, `DEVICES`) come last, then your files (1.2,
//! `FILES`): a `file` line each, an `attachment` line per message that
//! carries one; with `--out`, their bytes in a `files/` folder beside it
//! (`store::account_export::write_files`). A server older than 1.2 has
//! none to list. An administrator's `wachat users export NAME`
//! (`src/admin/export.rs`) and a running server (`server::accounts`) write
//! the very same lines: all go through [`write()`] (`store::account_export`),
//! from a [`Source`] each.

use std::io::Write;
use std::path::Path;

use crate::client::{ClientOptions, Connection};
use crate::error::{Error, Result};
use crate::protocol::{Chat, MAX_HISTORY, Reply, Request};
pub use crate::store::account_export::{Source, write};

/// A client's export: one send connection, the requests in turn.
struct Exporter(Connection);

impl Source for Exporter {
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
        listing(
            &mut self.0,
            Request::History { chat: chat.clone(), limit: MAX_HISTORY, page: None },
            "HISTORY",
        )
    }

    fn devices(&mut self) -> Result<Option<Vec<String>>> {
        match self.0.request(&Request::Devices)? {
            Reply::Listing(lines) => Ok(Some(lines)),
            _ => Ok(None), // an older server: `KO:BAD_REQUEST`
        }
    }

    fn starred(&mut self) -> Result<Vec<String>> {
        match self.0.request(&Request::Starred)? {
            Reply::Listing(lines) => Ok(lines),
            _ => Ok(Vec::new()), // an older server: `KO:BAD_REQUEST`
        }
    }

    fn files(&mut self) -> Result<Vec<String>> {
        match self.0.request(&Request::Files)? {
            Reply::Listing(lines) => Ok(lines),
            _ => Ok(Vec::new()), // an older server: `KO:BAD_REQUEST`
        }
    }

    /// `FETCH`es, a part at a time, as `/save` does.
    fn save_file(&mut self, id: &str, dest: &Path) -> Result<u64> {
        let conn = &mut self.0;
        let mut requests =
            |batch: Vec<Request>| batch.iter().map(|r| conn.request(r)).collect::<Result<Vec<Reply>>>();
        crate::client::files::download(&mut requests, id, dest)
    }
}

/// Runs the export to `out`, your files' bytes into `files` if given.
pub fn run(options: &ClientOptions, out: &mut dyn Write, files: Option<&Path>) -> Result<()> {
    let (conn, me) = crate::oneshot::open(options)?;
    let mut source = Exporter(conn);
    write(&me, &mut source, out, files)?;
    let _ = source.0.request(&Request::Quit);
    Ok(())
}

/// Runs `export` into `path` (a new file, 0600: it holds someone's
/// messages; synced once whole) or, with none, stdout. `export` is given
/// the folder where a `files/` folder goes beside `path` (1.2: the bytes
/// of your files), none for stdout.
pub fn to(
    path: Option<&Path>,
    export: impl FnOnce(&mut dyn Write, Option<&Path>) -> Result<()>,
) -> Result<()> {
    use crate::sys::private::Mode;
    let Some(path) = path else { return export(&mut std::io::stdout().lock(), None) };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e| Error::io(format!("{}", path.display()), e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let mut out = std::io::BufWriter::new(file);
    export(&mut out, Some(folder))?;
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
