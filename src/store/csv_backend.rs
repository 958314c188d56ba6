//! The CSV backend: four append-only files in the data directory.
//!
//! | file          | one row per                                   |
//! |---------------|-----------------------------------------------|
//! | `users.csv`   | account: `name,email,password_hash,created_ms` |
//! | `rooms.csv`   | membership change: `kind,ts,user,room,pos`     |
//! | `history.csv` | message or state change: `kind,ts,user,chat,id,text,recipients` |
//! | `inbox.csv`   | acknowledgement: `user,acked_seq`              |
//! | `seen.csv`    | end of a receive connection: `user,seen_ms` (last seen, protocol 1.1) |
//!
//! Message texts are stored escaped, as on the wire, so every record is
//! exactly one line and a crash can only tear the *last* line of a file: at
//! start, a last line without its `\n` is dropped with a warning (it was
//! never acknowledged, because `OK` waits for the fsync). `inbox.csv` is
//! compacted to one row per user at every start.
//!
//! Acknowledgements are written but not fsynced: losing the last few in a
//! power cut only makes clients receive a few events twice, which they
//! drop by `(from, id)`. Everything else is fsynced before its `OK`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Backend;
use super::record::{Message, Record};
use crate::csvlog::{self, RowError};
use crate::error::{Error, Result};
use crate::protocol::Text;

pub(crate) const USERS_HEADER: &str = "name,email,password_hash,created_ms";
pub(crate) const ROOMS_HEADER: &str = "kind,ts,user,room,pos";
pub(crate) const HISTORY_HEADER: &str = "kind,ts,user,chat,id,text,recipients";
const INBOX_HEADER: &str = "user,acked_seq";
const SEEN_HEADER: &str = "user,seen_ms";

/// One append-only CSV file.
struct LogFile {
    path: PathBuf,
    /// Opened for appending: every write goes to the end.
    file: File,
    /// Something was written since the last sync.
    dirty: bool,
    /// Bytes in the file, all of them whole lines.
    len: u64,
}

impl LogFile {
    /// Opens (or creates) a file, drops a torn last line, and checks the header.
    fn open(path: PathBuf, header: &str) -> Result<LogFile> {
        let ctx = |what: &str| format!("store: {} ({what})", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io(ctx("open"), e))?;
        let len = file.metadata().map_err(|e| Error::io(ctx("stat"), e))?.len();
        let keep = csvlog::complete_length(&mut file, len).map_err(|e| Error::io(ctx("read"), e))?;
        if keep < len {
            log::warn!(
                "store: {}: dropped a torn last line ({} bytes) left by a crash",
                path.display(),
                len - keep
            );
            file.set_len(keep).map_err(|e| Error::io(ctx("truncate"), e))?;
        }
        if keep == 0 {
            file.write_all(format!("{header}\n").as_bytes()).map_err(|e| Error::io(ctx("write"), e))?;
            file.sync_all().map_err(|e| Error::io(ctx("fsync"), e))?;
            sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        }
        let len = file.metadata().map_err(|e| Error::io(ctx("stat"), e))?.len();
        let mut log = LogFile { path, file, dirty: false, len };
        log.check_header(header)?;
        Ok(log)
    }

    fn check_header(&mut self, header: &str) -> Result<()> {
        let found =
            csvlog::starts_with_line(&self.path, header).map_err(|e| Error::io(self.ctx("read"), e))?;
        if !found {
            return Err(self.corrupt(1, format!("expected the header {header:?}")));
        }
        Ok(())
    }

    fn ctx(&self, what: &str) -> String {
        format!("store: {} ({what})", self.path.display())
    }

    fn corrupt(&self, line: u64, reason: String) -> Error {
        Error::Corrupt { path: self.path.clone(), line, reason }
    }

    /// Parses every row after the header, giving each to `each` with its line number.
    fn rows(&self, each: impl FnMut(&csv::StringRecord) -> std::result::Result<(), String>) -> Result<()> {
        csvlog::read_rows(&self.path, each).map_err(|e| match e {
            RowError::Open(e) => Error::io(self.ctx("open"), e),
            RowError::Row(line, reason) => self.corrupt(line, reason),
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        self.file.write_all(bytes).map_err(|e| Error::io(self.ctx("write"), e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Cuts the file back to `len` bytes (undoing a failed batch).
    fn truncate(&mut self, len: u64) {
        if let Err(e) = self.file.set_len(len).and_then(|()| self.file.sync_data()) {
            log::error!("store: {}: cannot undo a failed write: {e}", self.path.display());
        }
        self.len = len;
    }

    fn sync(&mut self) -> Result<()> {
        if std::mem::take(&mut self.dirty) {
            self.file.sync_data().map_err(|e| Error::io(self.ctx("fsync"), e))?;
        }
        Ok(())
    }
}

/// Makes a new or renamed file's directory entry durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("store: {} (fsync directory)", dir.display()), e))
}

/// The files of a data directory.
pub struct CsvBackend {
    /// Held as long as the backend lives: no other process edits the files.
    _lock: super::lock::DataLock,
    dir: PathBuf,
    users: LogFile,
    rooms: LogFile,
    history: LogFile,
    inbox: LogFile,
    seen: LogFile,
    /// `--fsync always` (true) or `never` (false, for measuring only).
    fsync: bool,
}

impl CsvBackend {
    /// Opens the data directory, creating it and its files if needed.
    pub fn open(dir: &Path, fsync: bool) -> Result<CsvBackend> {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("store: {}", dir.display()), e))?;
        let lock = super::lock::DataLock::acquire(dir)?;
        Ok(CsvBackend {
            _lock: lock,
            dir: dir.to_path_buf(),
            users: LogFile::open(dir.join("users.csv"), USERS_HEADER)?,
            rooms: LogFile::open(dir.join("rooms.csv"), ROOMS_HEADER)?,
            history: LogFile::open(dir.join("history.csv"), HISTORY_HEADER)?,
            inbox: LogFile::open(dir.join("inbox.csv"), INBOX_HEADER)?,
            seen: LogFile::open(dir.join("seen.csv"), SEEN_HEADER)?,
            fsync,
        })
    }

    /// Rewrites `inbox.csv` or `seen.csv` with one row per user (the
    /// highest number), through a temporary file and a rename, so a crash
    /// leaves the old or the new.
    fn compact(&mut self, which: Latest, latest: &[(String, u64)], rows: usize) -> Result<()> {
        if rows <= latest.len() {
            return Ok(());
        }
        let (file, header) = match which {
            Latest::Inbox => (&mut self.inbox, INBOX_HEADER),
            Latest::Seen => (&mut self.seen, SEEN_HEADER),
        };
        let tmp = file.path.with_extension("csv.tmp");
        let mut out = csv_writer();
        for (user, n) in latest {
            write_row(&mut out, &[user, &n.to_string()]);
        }
        let body = [format!("{header}\n").into_bytes(), finish(out)].concat();
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            fs::rename(&tmp, &file.path)
        };
        write().map_err(|e| Error::io(format!("store: {} (compact)", tmp.display()), e))?;
        sync_dir(&self.dir)?;
        *file = LogFile::open(file.path.clone(), header)?;
        log::info!("store: compacted {} from {rows} to {} rows", file.path.display(), latest.len());
        Ok(())
    }
}

/// The two files that keep only the latest number per user.
enum Latest {
    Inbox,
    Seen,
}

/// Reads `user,<number>` rows, keeping the highest number per user in the
/// order users first appear; returns them and how many rows there were.
fn latest_per_user(file: &LogFile) -> Result<(Vec<(String, u64)>, usize)> {
    let mut best: HashMap<String, u64> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut rows = 0;
    file.rows(|r| {
        let (user, n) = (field(r, 0)?.to_string(), number(field(r, 1)?)?);
        rows += 1;
        let best = best.entry(user.clone()).or_insert_with(|| {
            order.push(user);
            0
        });
        *best = (*best).max(n);
        Ok(())
    })?;
    Ok((order.into_iter().map(|u| (u.clone(), best[&u])).collect(), rows))
}

type Apply<'a> = dyn FnMut(Record) -> std::result::Result<(), String> + 'a;

impl Backend for CsvBackend {
    fn load(&mut self, apply: &mut Apply<'_>) -> Result<()> {
        self.users.rows(|r| apply(parse_user(r)?))?;
        self.rooms.rows(|r| apply(parse_room(r)?))?;
        // Acks before history, so that replaying history queues only the
        // events that are still unacknowledged.
        let (acks, rows) = latest_per_user(&self.inbox)?;
        for (user, seq) in &acks {
            let record = Record::Ack { user: user.as_str().into(), seq: *seq };
            apply(record).map_err(|e| self.inbox.corrupt(0, e))?;
        }
        self.compact(Latest::Inbox, &acks, rows)?;
        let (seen, rows) = latest_per_user(&self.seen)?;
        for (user, ts) in &seen {
            let record = Record::Seen { user: user.as_str().into(), ts: *ts };
            apply(record).map_err(|e| self.seen.corrupt(0, e))?;
        }
        self.compact(Latest::Seen, &seen, rows)?;
        self.history.rows(|r| apply(parse_history(r)?))
    }

    fn append(&mut self, records: &[Record]) -> Result<()> {
        let (mut users, mut rooms, mut history, mut inbox, mut seen) =
            (csv_writer(), csv_writer(), csv_writer(), csv_writer(), csv_writer());
        for record in records {
            match record {
                Record::User { name, email, hash, created_ms } => {
                    write_row(&mut users, &[name, email, hash, &created_ms.to_string()])
                }
                Record::Join { ts, user, room, pos } => {
                    write_row(&mut rooms, &["JOIN", &ts.to_string(), user, room, &pos.to_string()])
                }
                Record::Leave { ts, user, room } => {
                    write_row(&mut rooms, &["LEAVE", &ts.to_string(), user, room, ""])
                }
                Record::Message { msg, recipients } => {
                    let recipients = recipients.join(" ");
                    let ts = msg.ts.to_string();
                    let row = ["MSG", &ts, &msg.from, &msg.to, &msg.id, msg.text.as_escaped(), &recipients];
                    write_row(&mut history, &row)
                }
                Record::Delivered { ts, user, chat, id } => {
                    write_row(&mut history, &["DELIVERED", &ts.to_string(), user, chat, id])
                }
                Record::Read { ts, user, chat, id } => {
                    write_row(&mut history, &["READ", &ts.to_string(), user, chat, id])
                }
                Record::Ack { user, seq } => write_row(&mut inbox, &[user, &seq.to_string()]),
                Record::Seen { user, ts } => write_row(&mut seen, &[user, &ts.to_string()]),
            }
        }
        // If any write or fsync fails, every file goes back to where it was
        // before this batch: no line of a refused batch survives to be
        // loaded at the next start, and later batches never follow a torn line.
        let before = self.files().map(|file| file.len);
        let result =
            self.write_all([finish(users), finish(rooms), finish(history), finish(inbox), finish(seen)]);
        if result.is_err() {
            for (file, len) in self.files().into_iter().zip(before) {
                file.truncate(len);
            }
        }
        result
    }
}

impl CsvBackend {
    fn files(&mut self) -> [&mut LogFile; 5] {
        [&mut self.users, &mut self.rooms, &mut self.history, &mut self.inbox, &mut self.seen]
    }

    /// Appends each file's part of a batch, then fsyncs.
    fn write_all(&mut self, parts: [Vec<u8>; 5]) -> Result<()> {
        // Accounts and rooms first: a message never refers to a user or a
        // room that a crash could leave out.
        for (file, part) in self.files().into_iter().zip(&parts) {
            file.append(part)?;
        }
        if self.fsync {
            // inbox.csv and seen.csv: no fsync (see above).
            self.users.sync()?;
            self.rooms.sync()?;
            self.history.sync()?;
        }
        Ok(())
    }
}

pub(crate) fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().flexible(true).from_writer(Vec::new())
}

pub(crate) fn write_row(out: &mut csv::Writer<Vec<u8>>, fields: &[&str]) {
    // Writing to a Vec cannot fail.
    out.write_record(fields).expect("csv into memory");
}

pub(crate) fn finish(out: csv::Writer<Vec<u8>>) -> Vec<u8> {
    out.into_inner().expect("csv into memory")
}

fn field(r: &csv::StringRecord, i: usize) -> std::result::Result<&str, String> {
    r.get(i).ok_or_else(|| format!("missing field {} of {}", i + 1, r.len().max(i + 1)))
}

fn number<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

pub(crate) fn parse_user(r: &csv::StringRecord) -> std::result::Result<Record, String> {
    Ok(Record::User {
        name: field(r, 0)?.into(),
        email: field(r, 1)?.into(),
        hash: field(r, 2)?.into(),
        created_ms: number(field(r, 3)?)?,
    })
}

pub(crate) fn parse_room(r: &csv::StringRecord) -> std::result::Result<Record, String> {
    let (ts, user, room) = (number(field(r, 1)?)?, field(r, 2)?.into(), field(r, 3)?.into());
    match field(r, 0)? {
        "JOIN" => Ok(Record::Join { ts, user, room, pos: number(field(r, 4)?)? }),
        "LEAVE" => Ok(Record::Leave { ts, user, room }),
        other => Err(format!("unknown kind {other:?}")),
    }
}

pub(crate) fn parse_history(r: &csv::StringRecord) -> std::result::Result<Record, String> {
    let ts = number(field(r, 1)?)?;
    let (user, chat, id) = (field(r, 2)?, field(r, 3)?, field(r, 4)?);
    match field(r, 0)? {
        "MSG" => {
            let recipients = field(r, 6)?.split_whitespace().map(Arc::from).collect();
            let text = Text::parse(field(r, 5)?)?;
            let msg = Message { from: user.into(), to: chat.into(), id: id.into(), ts, text };
            Ok(Record::Message { msg: Arc::new(msg), recipients })
        }
        "DELIVERED" => Ok(Record::Delivered { ts, user: user.into(), chat: chat.into(), id: id.into() }),
        "READ" => Ok(Record::Read { ts, user: user.into(), chat: chat.into(), id: id.into() }),
        other => Err(format!("unknown kind {other:?}")),
    }
}
