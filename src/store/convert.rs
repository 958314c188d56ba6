//! Converting a data directory of the first layout, once.
//!
//! The first layout kept append-only CSV files — `users.csv`, `rooms.csv`,
//! `history.csv` (each room message listing its recipients), `inbox.csv`
//! (acknowledgements), `seen.csv` (last-seen times) — and replayed them
//! whole, texts and all, into memory at every start. The first start of this version finds
//! `history.csv` (or `rooms.csv`, `inbox.csv`) next to no `log/`, and:
//!
//! 1. replays the old files in the order things happened (rooms and
//!    history merged by timestamp) into a new state, writing each record
//!    in the new format to `log.converting/`. Where a room message's
//!    recipients are not the room's members at that point (two rows with
//!    the same millisecond), `JOIN`/`LEAVE` records are added so that they
//!    are: every inbox gets exactly the events, with exactly the sequence
//!    numbers, it had. Acknowledgements go first, as a start of the first
//!    layout replayed them;
//! 2. syncs it, renames it to `log/`, and writes a checkpoint;
//! 3. moves `rooms.csv`, `history.csv`, `inbox.csv` and `seen.csv`, and a copy of
//!    `users.csv` (still used, same format), into `v1-<time>/`, and says so
//!    in the log.
//!
//! A crash before step 2's rename leaves the old files as they were (the
//! half-made `log.converting/` is removed at the next start); after it, the
//! next start finishes step 3.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::disk::{Disk, SyncPoint};
use super::log::Log;
use super::options::StoreOptions;
use super::record::{Record, StoredMessage};
use super::state::{Batch, State};
use super::users::load_users;
use super::{checkpoint, now_ms};
use crate::error::{Error, Result};
use crate::protocol::Text;
use crate::protocol::names::fold;

/// The files of the first layout that are moved aside.
const OLD_FILES: [&str; 4] = ["rooms.csv", "history.csv", "inbox.csv", "seen.csv"];

/// Converts `dir` if it holds the first layout.
pub fn if_needed(disk: &Arc<dyn Disk>, dir: &Path, options: &StoreOptions) -> Result<()> {
    let old: Vec<&str> = OLD_FILES.into_iter().filter(|f| disk.exists(&dir.join(f))).collect();
    if old.is_empty() {
        return Ok(());
    }
    let io = |what: &str| {
        let what = what.to_string();
        move |e| Error::io(format!("store: converting {} ({what})", dir.display()), e)
    };
    if !disk.exists(&dir.join("log")) {
        let converting = dir.join("log.converting");
        if disk.exists(&converting) {
            for name in disk.list(&converting).map_err(io("list"))? {
                disk.remove(&converting.join(name)).map_err(io("remove"))?;
            }
        }
        let (state, messages, records) = write_log(disk, dir, &converting, options)?;
        disk.rename(&converting, &dir.join("log")).map_err(io("rename"))?;
        disk.sync_dir(dir, SyncPoint::DataDir).map_err(io("fsync"))?;
        let (pos, bytes) = checkpoint::encode(&checkpoint::snapshot(&state));
        checkpoint::write(disk.as_ref(), dir, pos, &bytes)?;
        log::info!(
            "store: converted {messages} messages ({records} records) to the log in {}",
            dir.join("log").display()
        );
    }
    let aside = dir.join(format!("v1-{}", now_ms()));
    disk.create_dir_all(&aside).map_err(io("create"))?;
    for name in old {
        disk.rename(&dir.join(name), &aside.join(name)).map_err(io("move"))?;
    }
    let users = disk.read_all(&dir.join("users.csv")).map_err(io("read"))?;
    disk.replace(&aside.join("users.csv"), &users).map_err(io("copy"))?;
    disk.sync_dir(dir, SyncPoint::DataDir).map_err(io("fsync"))?;
    log::warn!(
        "store: the data directory was in the first layout; it is converted, and the old files are kept in {}",
        aside.display()
    );
    Ok(())
}

/// One row of the old `rooms.csv` or `history.csv`.
enum OldRow {
    Join { ts: u64, user: String, room: String, pos: u64 },
    Leave { ts: u64, user: String, room: String },
    Msg { msg: StoredMessage, recipients: Vec<String> },
    Delivered { ts: u64, user: String, chat: String, id: String },
    Read { ts: u64, user: String, chat: String, id: String },
}

impl OldRow {
    fn ts(&self) -> u64 {
        match self {
            OldRow::Join { ts, .. }
            | OldRow::Leave { ts, .. }
            | OldRow::Delivered { ts, .. }
            | OldRow::Read { ts, .. } => *ts,
            OldRow::Msg { msg, .. } => msg.ts,
        }
    }
}

/// Replays the old files into `out` (a log directory). Returns the state,
/// and how many messages and records were written.
fn write_log(
    disk: &Arc<dyn Disk>,
    dir: &Path,
    out: &Path,
    options: &StoreOptions,
) -> Result<(State, u64, u64)> {
    let mut state = State::default();
    load_users(disk.as_ref(), dir, &mut state)?;
    let (_, mut writer) = Log::open(disk.clone(), out, options.segment_size)?;
    let mut c = Converter {
        state,
        batch: Batch::default(),
        sent: HashMap::new(),
        room_ids: HashMap::new(),
        messages: 0,
        records: 0,
    };
    for (user, seq) in read_latest(disk.as_ref(), &dir.join("inbox.csv"), "user,acked_seq")? {
        let ts = now_ms();
        let Some(id) = c.state.user_id(&user) else { continue };
        let user = c.state.users[id].name.clone();
        c.commit(Record::Ack { ts, user, seq, device: None })?;
    }
    for (user, ts) in read_latest(disk.as_ref(), &dir.join("seen.csv"), "user,seen_ms")? {
        let Some(id) = c.state.user_id(&user) else { continue };
        let user = c.state.users[id].name.clone();
        c.commit(Record::Seen { ts, user })?;
    }
    let mut rows = read_old(disk.as_ref(), &dir.join("rooms.csv"), parse_room)?;
    let history = read_old(disk.as_ref(), &dir.join("history.csv"), parse_history)?;
    rows.extend(history);
    // Stable: on equal timestamps, rooms.csv rows (read first) go first.
    rows.sort_by_key(OldRow::ts);
    for row in rows {
        c.apply(row)?;
        if c.batch.log.len() > 1 << 20 {
            writer.append(&std::mem::take(&mut c.batch.log))?;
        }
    }
    writer.append(&c.batch.log)?;
    writer.sync()?;
    disk.sync_dir(out, SyncPoint::SegmentDir)
        .map_err(|e| Error::io(format!("store: {}", out.display()), e))?;
    Ok((c.state, c.messages, c.records))
}

/// The conversion's state: the new state, and the ids the old rows use.
struct Converter {
    state: State,
    batch: Batch,
    /// (sender, id) → `dord` of every direct message.
    sent: HashMap<(usize, String), u64>,
    /// (room, id) → ord of the newest message with that id in the room.
    room_ids: HashMap<(String, String), u64>,
    messages: u64,
    records: u64,
}

impl Converter {
    fn commit(&mut self, record: Record) -> Result<()> {
        self.records += 1;
        self.state.commit(record, &mut self.batch).map_err(|ko| Error::Corrupt {
            path: "history.csv".into(),
            line: 0,
            reason: format!("converting: {}", ko.reason),
        })
    }

    fn name(&self, user: &str) -> Result<Arc<str>> {
        let id = self.state.user_id(user).ok_or_else(|| Error::Corrupt {
            path: "users.csv".into(),
            line: 0,
            reason: format!("converting: unknown user {user:?}"),
        })?;
        Ok(self.state.users[id].name.clone())
    }

    fn apply(&mut self, row: OldRow) -> Result<()> {
        match row {
            OldRow::Join { ts, user, room, pos } => {
                let user = self.name(&user)?;
                self.commit(Record::Join { ts, user, room: room.into(), read: pos })
            }
            OldRow::Leave { ts, user, room } => {
                let id = self.state.user_id(&user);
                if id.is_some_and(|u| self.state.member_room(&room, u).is_some()) {
                    let user = self.name(&user)?;
                    self.commit(Record::Leave { ts, user, room: room.into() })?;
                }
                Ok(())
            }
            OldRow::Msg { msg, recipients } => self.message(msg, recipients),
            OldRow::Delivered { ts, user, chat, id } => {
                let (reader, sender) = (self.name(&user)?, self.name(&chat)?);
                let sender_id = self.state.user_id(&sender).expect("known");
                let reader_id = self.state.user_id(&reader).expect("known");
                if let Some(&dord) = self.sent.get(&(sender_id, id.clone()))
                    && self.state.would_deliver(sender_id, reader_id, dord)
                {
                    self.commit(Record::Delivered { ts, user: reader, chat: sender, id: id.into(), dord })?;
                }
                Ok(())
            }
            OldRow::Read { ts, user, chat, id } => {
                let reader = self.name(&user)?;
                let reader_id = self.state.user_id(&reader).expect("known");
                if chat.starts_with('#') {
                    let key = (fold(&chat), id.clone());
                    let (Some(&ord), Some(room)) =
                        (self.room_ids.get(&key), self.state.member_room(&chat, reader_id))
                    else {
                        return Ok(());
                    };
                    if ord < self.state.room_link(room).ord && ord >= self.state.room_read(room, reader_id) {
                        let chat = self.state.room(room).name.clone();
                        self.commit(Record::Read { ts, user: reader, chat, id: id.into(), ord })?;
                    }
                } else {
                    let sender = self.name(&chat)?;
                    let sender_id = self.state.user_id(&sender).expect("known");
                    if let Some(&dord) = self.sent.get(&(sender_id, id.clone()))
                        && self.state.would_read(sender_id, reader_id, dord)
                    {
                        self.commit(Record::Read {
                            ts,
                            user: reader,
                            chat: sender,
                            id: id.into(),
                            ord: dord,
                        })?;
                    }
                }
                Ok(())
            }
        }
    }

    fn message(&mut self, msg: StoredMessage, recipients: Vec<String>) -> Result<()> {
        let from = self.state.user_id(&msg.from).ok_or_else(|| Error::Corrupt {
            path: "history.csv".into(),
            line: 0,
            reason: format!("converting: unknown sender {:?}", msg.from),
        })?;
        let ts = msg.ts;
        let (to, link) = if msg.is_room() {
            // Members at this point: the sender and the recipients listed.
            let mut wanted: Vec<usize> = recipients.iter().filter_map(|r| self.state.user_id(r)).collect();
            wanted.push(from);
            let room = match self.state.room_id(&msg.to) {
                Some(room) => room,
                None => {
                    let user = self.state.users[from].name.clone();
                    self.commit(Record::Join { ts, user, room: msg.to.clone(), read: 0 })?;
                    self.state.room_id(&msg.to).expect("just made")
                }
            };
            let name = self.state.room(room).name.clone();
            let members: Vec<usize> = self.state.members(room).collect();
            for &user in wanted.iter().filter(|u| !members.contains(u)) {
                let read = self.state.room_link(room).ord;
                let user = self.state.users[user].name.clone();
                self.commit(Record::Join { ts, user, room: name.clone(), read })?;
            }
            for user in members.into_iter().filter(|u| !wanted.contains(u)) {
                let user = self.state.users[user].name.clone();
                self.commit(Record::Leave { ts, user, room: name.clone() })?;
            }
            let room = self.state.room_id(&name).expect("has members");
            self.room_ids.insert((fold(&name), msg.id.to_string()), self.state.room_link(room).ord);
            (name, self.state.room_link(room))
        } else {
            let to = self.state.user_id(&msg.to).ok_or_else(|| Error::Corrupt {
                path: "history.csv".into(),
                line: 0,
                reason: format!("converting: unknown recipient {:?}", msg.to),
            })?;
            (self.state.users[to].name.clone(), self.state.direct_link(from, to))
        };
        if !msg.is_room() {
            self.sent.insert((from, msg.id.to_string()), link.dord);
        }
        let msg = StoredMessage { from: self.state.users[from].name.clone(), to, ..msg };
        self.messages += 1;
        self.commit(Record::Msg { msg: Arc::new(msg), link })
    }
}

/// The highest number of each user in an old `user,<number>` file
/// (`inbox.csv`: acknowledgements; `seen.csv`: last-seen times).
fn read_latest(disk: &dyn Disk, path: &Path, header: &str) -> Result<Vec<(String, u64)>> {
    if !disk.exists(path) {
        return Ok(Vec::new());
    }
    let mut latest: Vec<(String, u64)> = Vec::new();
    let bytes = complete(disk, path)?;
    crate::csvlog::read_rows_from(path, &bytes, header, |r| {
        let user = r.get(0).ok_or("missing the user")?.to_string();
        let n: u64 = number(r.get(1).ok_or("missing the number")?)?;
        match latest.iter_mut().find(|(u, _)| *u == user) {
            Some(entry) => entry.1 = entry.1.max(n),
            None => latest.push((user, n)),
        }
        Ok(())
    })
    .map_err(|e| e.into_error(path))?;
    Ok(latest)
}

/// A file's complete lines (a torn last line, left by a crash, is left out).
fn complete(disk: &dyn Disk, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = disk.read_all(path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        log::warn!("store: {}: leaving out a torn last line left by a crash", path.display());
        bytes.truncate(keep);
    }
    Ok(bytes)
}

fn read_old(
    disk: &dyn Disk,
    path: &Path,
    parse: fn(&csv::StringRecord) -> std::result::Result<OldRow, String>,
) -> Result<Vec<OldRow>> {
    if !disk.exists(path) {
        return Ok(Vec::new());
    }
    let header = if path.ends_with("rooms.csv") {
        "kind,ts,user,room,pos"
    } else {
        "kind,ts,user,chat,id,text,recipients"
    };
    let bytes = complete(disk, path)?;
    let mut rows = Vec::new();
    crate::csvlog::read_rows_from(path, &bytes, header, |r| {
        rows.push(parse(r)?);
        Ok(())
    })
    .map_err(|e| e.into_error(path))?;
    Ok(rows)
}

fn field(r: &csv::StringRecord, i: usize) -> std::result::Result<&str, String> {
    r.get(i).ok_or_else(|| format!("missing field {} of {}", i + 1, r.len().max(i + 1)))
}

fn number<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

fn parse_room(r: &csv::StringRecord) -> std::result::Result<OldRow, String> {
    let (ts, user, room) = (number(field(r, 1)?)?, field(r, 2)?.into(), field(r, 3)?.into());
    match field(r, 0)? {
        "JOIN" => Ok(OldRow::Join { ts, user, room, pos: number(field(r, 4)?)? }),
        "LEAVE" => Ok(OldRow::Leave { ts, user, room }),
        other => Err(format!("unknown kind {other:?}")),
    }
}

fn parse_history(r: &csv::StringRecord) -> std::result::Result<OldRow, String> {
    let ts = number(field(r, 1)?)?;
    let (user, chat, id) = (field(r, 2)?, field(r, 3)?, field(r, 4)?);
    match field(r, 0)? {
        "MSG" => {
            let recipients = field(r, 6)?.split_whitespace().map(str::to_string).collect();
            let text = Text::parse(field(r, 5)?)?;
            let msg = StoredMessage { from: user.into(), to: chat.into(), id: id.into(), ts, text };
            Ok(OldRow::Msg { msg, recipients })
        }
        "DELIVERED" => Ok(OldRow::Delivered { ts, user: user.into(), chat: chat.into(), id: id.into() }),
        "READ" => Ok(OldRow::Read { ts, user: user.into(), chat: chat.into(), id: id.into() }),
        other => Err(format!("unknown kind {other:?}")),
    }
}
