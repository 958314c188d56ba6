//! Checkpoints: the in-memory state written to a file, with the log
//! position it covers, so that a start reads that file and only the log
//! after it (not the whole history).
//!
//! `checkpoint-<position>.csv` is CSV too, one fact per line:
//!
//! ```text
//! kind,a,b,c,d,e,f,g,h,i,j,k
//! CHECKPOINT,3,<position>,<last ts>,<message count>
//! USER,<name>,<last seq>,<acked seq>,<last seen>
//! QUEUED,<user>,<D|R|S|F|L>,<position>,<sender>,<dord>,<id>   an event not yet acknowledged (in order; 1.3: F a bounce, L a peer's frame)
//! SENT,<user>,<tag>:<position> …    its resend window, oldest first (tags in hex, see `state::recent`)
//! DIRECT,<a>,<b>,<head>,<count>,<a→b sent>,<b→a sent>,<a→b delivered>,<a→b read>,<b→a delivered>,<b→a read>,<order>
//! ROOM,<#name>,<head>,<count>,<order>
//! MEMBER,<#name>,<user>,<read>,<own message numbers, space-separated>
//! BORN,<#name>,<position>              1.2, where the room was made, if not at the log's start
//! USAGE,<user>,<bytes>                 bytes of the log its messages take (`store::budget`), if any
//! RULES,<#name>,<owner>,<announce 0|1>,<invite-only 0|1>,<topic>     1.2, a room with rules
//! RULE,<#name>,<ADMIN|INVITED|BANNED|MUTED>,<user>,<until>            1.2, one per name
//! ADMIN,<user>                                                        1.2, a server admin
//! HASH,<user>,<argon2id hash>          1.2, a password changed by a `PASSWD` record (not in users.csv)
//! SINCE,<user>,<position>              1.2, the cut of an account whose name was registered again (`REUSE`)
//! BASE,<user>,<peer>,<messages>        1.2, with a cut: messages the peer sent before it
//! BLOCK,<user>,<whom>                  1.2, a block (`BLOCK` records)
//! PREF,<user>,<chat>,<level>,<pinned 0|1>   1.2, a chat's preference (`PREF` records)
//! FILE,<id>,<owner>,<size>,<sha256>,<type>,<created>,<complete 0|1>,<name>   1.2, a file's description (`FILE` records)
//! CARRIER,<id>,<from>,<to>,<msg id>,<sides that left>                       1.2, a message carrying it, in order
//! USAGE_FROM,<position>                where the counted part of the log begins
//! END,<lines above>,<checksum>
//! ```
//!
//! Written atomically: to `….tmp`, synced, renamed, then the directory
//! synced; a file without its `END` line, or whose checksum (BLAKE2b of
//! the lines above it) does not match, is not a checkpoint and the start
//! falls back to the one before. The two newest are kept for that reason.
//! A checkpoint is written only once the log up to its position is on
//! disk, so it never holds an effect of a record a crash could take back.
//!
//! The requests do not wait while a checkpoint is formatted: under the
//! state lock, [`snapshot`] takes what the file needs — the big parts
//! (resend windows, inboxes) by reference, shared copy-on-write with the
//! state; conversations and rooms by copy — and [`encode`] formats it
//! after the lock is let go (`examples/store_scale.rs` measures the
//! difference: docs/BENCHMARKS.md).
//!
//! Version 2 (before the compact resend windows) had one `SENT` row per
//! id, `SENT,<user>,<id>,<ts>,<recipient>,<ord>`, without the record's
//! position: such rows are passed over (the windows start empty once,
//! with a warning); the rest of a version 2 checkpoint loads in full.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use blake2::{Blake2b512, Digest};

use super::disk::{Disk, SyncPoint};
use super::record::{CHECKPOINT_ROWS, Fields, NO_POS, Pos, Rows as Out};
use super::state::{Direct, Marks, Member, Queued, Recent, Run, State, UserId};
use crate::error::{Error, Result};

const HEADER: &str = "kind,a,b,c,d,e,f,g,h,i,j,k";
const VERSION: u64 = 3;
/// The previous version, still read (see the module documentation).
const VERSION_2: u64 = 2;
/// How many checkpoints are kept (the newest may be unreadable).
const KEEP: usize = 2;

/// The checkpoint files of `dir`, newest first: (position, path).
pub fn list(disk: &dyn Disk, dir: &Path) -> Vec<(Pos, PathBuf)> {
    let mut found: Vec<(Pos, PathBuf)> = disk
        .list(dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| {
            let pos = name.strip_prefix("checkpoint-")?.strip_suffix(".csv")?.parse().ok()?;
            Some((pos, dir.join(name)))
        })
        .collect();
    found.sort_by_key(|c| std::cmp::Reverse(c.0));
    found
}

fn pos_str(pos: Pos) -> String {
    if pos == NO_POS { String::new() } else { pos.to_string() }
}

/// What a checkpoint holds, taken from the state under its lock and
/// formatted without it.
pub struct Snapshot {
    end: Pos,
    last_ts: u64,
    order: u64,
    users: Vec<UserSnapshot>,
    directs: Vec<((UserId, UserId), Direct)>,
    rooms: Vec<RoomSnapshot>,
    usage: super::state::usage::Usage,
    /// The rows of the record families after every room's (1.2: the
    /// server admins), formatted under the lock: a few.
    end_rows: Vec<u8>,
}

struct UserSnapshot {
    name: Arc<str>,
    last_seq: u64,
    acked: u64,
    last_seen: Option<u64>,
    queue: Arc<std::collections::VecDeque<Queued>>,
    recent: Arc<Recent>,
    /// The rows the record families keep about the user (`record::CHECKPOINT_ROWS`:
    /// devices, hashes, cuts, blocks, preferences), formatted under the
    /// lock: a few per user at most, and most users have none.
    rows: Vec<u8>,
}

struct RoomSnapshot {
    name: Arc<str>,
    head: Pos,
    count: u64,
    last_order: u64,
    members: Vec<(UserId, Member)>,
    /// The families' rows about the room (1.2: its rules), formatted under the lock.
    rows: Vec<u8>,
}

/// Takes what a checkpoint needs. Runs under the state lock, so it copies
/// only what is small per thing (a few words per user, conversation and
/// member) and shares the rest: with 10,000 users it takes a few ms where
/// formatting took seconds (docs/BENCHMARKS.md).
pub fn snapshot(state: &State) -> Snapshot {
    let users = state
        .users
        .iter()
        .enumerate()
        .map(|(id, u)| UserSnapshot {
            name: u.name.clone(),
            last_seq: u.inbox.last_seq,
            acked: u.inbox.acked,
            last_seen: u.last_seen,
            queue: u.inbox.queue.clone(),
            recent: u.recent.clone(),
            rows: family_rows(|family, out| (family.user)(state, id, out)),
        })
        .collect();
    let rooms = state
        .rooms
        .iter()
        .enumerate()
        .filter_map(|(id, r)| r.as_ref().map(|r| (id, r)))
        .map(|(id, r)| RoomSnapshot {
            name: r.name.clone(),
            head: r.head,
            count: r.count,
            last_order: r.last_order,
            members: r.members.iter().map(|(&u, m)| (u, m.clone())).collect(),
            rows: family_rows(|family, out| (family.room)(state, id, out)),
        })
        .collect();
    Snapshot {
        end: state.end,
        last_ts: state.last_ts,
        order: state.order,
        users,
        directs: state.directs.iter().map(|(&k, &d)| (k, d)).collect(),
        rooms,
        usage: state.usage.clone(),
        end_rows: family_rows(|family, out| (family.end)(state, out)),
    }
}

/// What every record family writes of one thing, in their order.
fn family_rows(mut rows: impl FnMut(&super::record::CheckpointRows, &mut Out)) -> Vec<u8> {
    let mut out = Out(Vec::new());
    for family in CHECKPOINT_ROWS {
        rows(family, &mut out);
    }
    out.0
}

/// The snapshot as a checkpoint file, and the position it covers. Runs
/// without any lock.
pub fn encode(state: &Snapshot) -> (Pos, Vec<u8>) {
    let mut out = Out(Vec::with_capacity(1 << 16));
    out.0.extend_from_slice(HEADER.as_bytes());
    out.0.push(b'\n');
    let n = |x: u64| x.to_string();
    out.row(&["CHECKPOINT", &n(VERSION), &n(state.end), &n(state.last_ts), &n(state.order)]);
    let mut window = String::new();
    for user in &state.users {
        let seen = user.last_seen.map(n).unwrap_or_default();
        out.row(&["USER", &user.name, &n(user.last_seq), &n(user.acked), &seen]);
        for q in user.queue.iter() {
            match q {
                Queued::Direct { pos, from, dord, id } => {
                    out.row(&["QUEUED", &user.name, "D", &n(*pos), &state.users[*from].name, &n(*dord), id])
                }
                // Room messages in a row (`Queued::Rooms`): `first:head:n` per run.
                Queued::Rooms { runs, done } => {
                    let runs: Vec<String> =
                        runs.iter().map(|r| format!("{}:{}:{}", r.first, r.head, r.n)).collect();
                    out.row(&["QUEUED", &user.name, "G", &n(*done), &runs.join(";")])
                }
                Queued::Status { pos } => out.row(&["QUEUED", &user.name, "S", &n(*pos)]),
                Queued::Copy { pos } => out.row(&["QUEUED", &user.name, "C", &n(*pos)]),
                Queued::Mark { pos } => out.row(&["QUEUED", &user.name, "M", &n(*pos)]),
                Queued::RoomStatus { pos, id, read } => {
                    out.row(&["QUEUED", &user.name, "T", &n(*pos), id, &n(u64::from(*read))])
                }
                Queued::Failed { pos } => out.row(&["QUEUED", &user.name, "F", &n(*pos)]),
                Queued::Link { pos } => out.row(&["QUEUED", &user.name, "L", &n(*pos)]),
            }
        }
        out.0.extend_from_slice(&user.rows);
        if !user.recent.is_empty() {
            window.clear();
            for (i, (tag, pos)) in user.recent.oldest_first().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(window, "{sep}{tag:x}:{pos}");
            }
            out.row(&["SENT", &user.name, &window]);
        }
    }
    for ((a, b), d) in &state.directs {
        let [ab, ba] = d.marks;
        out.row(&[
            "DIRECT",
            &state.users[*a].name,
            &state.users[*b].name,
            &pos_str(d.head),
            &n(d.count),
            &n(d.sent[0]),
            &n(d.sent[1]),
            &n(ab.delivered),
            &n(ab.read),
            &n(ba.delivered),
            &n(ba.read),
            &n(d.last_order),
        ]);
    }
    for room in &state.rooms {
        out.row(&["ROOM", &room.name, &pos_str(room.head), &n(room.count), &n(room.last_order)]);
        for (user, m) in &room.members {
            let own: Vec<String> = m.own.iter().map(|o| o.to_string()).collect();
            out.row(&["MEMBER", &room.name, &state.users[*user].name, &n(m.read), &own.join(" ")]);
        }
        out.0.extend_from_slice(&room.rows);
    }
    out.0.extend_from_slice(&state.end_rows);
    if let Some(from) = state.usage.from {
        out.row(&["USAGE_FROM", &n(from)]);
    }
    for (user, bytes) in state.usage.iter() {
        out.row(&["USAGE", &state.users[user].name, &n(bytes)]);
    }
    let lines = out.0.iter().filter(|&&b| b == b'\n').count();
    let sum = checksum(&out.0);
    out.row(&["END", &lines.to_string(), &sum]);
    (state.end, out.0)
}

fn checksum(bytes: &[u8]) -> String {
    Blake2b512::digest(bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a checkpoint atomically and removes the older ones (the two
/// newest are kept).
pub fn write(disk: &dyn Disk, dir: &Path, pos: Pos, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(format!("checkpoint-{pos:020}.csv"));
    let tmp = dir.join(format!("checkpoint-{pos:020}.csv.tmp"));
    let ctx = |what: &str| format!("store: {} ({what})", tmp.display());
    if disk.exists(&tmp) {
        disk.remove(&tmp).map_err(|e| Error::io(ctx("remove"), e))?;
    }
    let mut file = disk.open_append(&tmp).map_err(|e| Error::io(ctx("create"), e))?;
    file.append(bytes).map_err(|e| Error::io(ctx("write"), e))?;
    file.sync(SyncPoint::CheckpointFile).map_err(|e| Error::io(ctx("fsync"), e))?;
    drop(file);
    disk.rename(&tmp, &path).map_err(|e| Error::io(ctx("rename"), e))?;
    disk.sync_dir(dir, SyncPoint::CheckpointDir).map_err(|e| Error::io(ctx("fsync directory"), e))?;
    // Only now that the new one is durable may the old ones go.
    for (_, old) in list(disk, dir).into_iter().skip(KEEP) {
        if let Err(e) = disk.remove(&old) {
            log::warn!("store: {}: cannot remove an old checkpoint: {e}", old.display());
        }
    }
    Ok(path)
}

/// Removes `*.tmp` checkpoints left by a crash in the middle of one.
pub fn remove_leftovers(disk: &dyn Disk, dir: &Path) {
    for name in disk.list(dir).unwrap_or_default() {
        if name.starts_with("checkpoint-") && name.ends_with(".tmp") {
            let _ = disk.remove(&dir.join(name));
        }
    }
}

/// The position a checkpoint covers, if the file is whole (its `END` line
/// and checksum match).
pub fn verify(bytes: &[u8]) -> std::result::Result<Pos, String> {
    let body_end =
        bytes[..bytes.len().saturating_sub(1)].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = std::str::from_utf8(&bytes[body_end..]).map_err(|_| "not UTF-8")?.trim_end_matches('\n');
    let f = Fields::split(last)?;
    if f.get(0)?.as_ref() != "END" || !bytes.ends_with(b"\n") {
        return Err("no END line: the file is not whole".into());
    }
    let body = &bytes[..body_end];
    let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
    if f.number(1)? != lines || f.get(2)?.as_ref() != checksum(body) {
        return Err("its checksum does not match".into());
    }
    let first = body.split(|&b| b == b'\n').nth(1).ok_or("empty")?;
    let head = Fields::split(std::str::from_utf8(first).map_err(|_| "not UTF-8")?)?;
    if head.get(0)?.as_ref() != "CHECKPOINT" || ![VERSION, VERSION_2].contains(&head.number(1)?) {
        return Err(format!("not a version {VERSION} (or {VERSION_2}) checkpoint"));
    }
    head.number(2)
}

/// Applies a checkpoint (already [`verify`]-ed) to a state that holds the
/// accounts only. Returns the position it covers.
pub fn load(state: &mut State, bytes: &[u8]) -> std::result::Result<Pos, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    let mut head = Heading { covered: 0, version: VERSION };
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.is_empty() {
            log::warn!("store: checkpoint line {}: skipped a blank line", i + 1);
            continue;
        }
        let f = Fields::split(line)?;
        let at = |reason: String| format!("line {}: {reason}", i + 1);
        apply_line(state, &f, &mut head).map_err(at)?;
    }
    if head.version == VERSION_2 {
        log::warn!(
            "store: a checkpoint of version {VERSION_2}: resends of messages sent before this start are \
             not recognised (their ids were kept without their place in the log)"
        );
    }
    state.end = head.covered;
    state.sync_end = head.covered;
    state.since_checkpoint = 0;
    Ok(head.covered)
}

/// `QUEUED,<user>,<D|G|S|C|M|T|R>,<position>,…`: an event of an inbox.
fn queued_row(state: &mut State, f: &Fields) -> std::result::Result<(), String> {
    let user = |i| state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)));
    let u = user(1)?;
    let pos = f.number(3)?;
    let queued = match f.get(2)?.as_ref() {
        "D" => Queued::Direct { pos, from: user(4)?, dord: f.number(5)?, id: Arc::from(f.get(6)?.as_ref()) },
        // A room message alone, from a checkpoint written by an older
        // server, which kept one entry per room message.
        "R" => Queued::room(pos),
        "G" => Queued::Rooms { runs: runs(f.get(4)?.as_ref())?, done: pos },
        "S" => Queued::Status { pos },
        "C" => Queued::Copy { pos },
        "M" => Queued::Mark { pos },
        "T" => Queued::RoomStatus { pos, id: Arc::from(f.get(4)?.as_ref()), read: f.number(5)? == 1 },
        "F" => Queued::Failed { pos },
        "L" => Queued::Link { pos },
        other => return Err(format!("unknown event kind {other:?}")),
    };
    Arc::make_mut(&mut state.users[u].inbox.queue).push_back(queued);
    Ok(())
}

/// `DIRECT,<a>,<b>,…`: a direct conversation, its counts and marks.
fn direct_row(state: &mut State, f: &Fields) -> std::result::Result<(), String> {
    let user = |i| state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)));
    let (a, b) = (user(1)?, user(2)?);
    let marks = |d, r| -> std::result::Result<Marks, String> {
        Ok(Marks { delivered: f.number(d)?, read: f.number(r)? })
    };
    let direct = Direct {
        head: f.pos(3)?,
        count: f.number(4)?,
        sent: [f.number(5)?, f.number(6)?],
        marks: [marks(7, 8)?, marks(9, 10)?],
        last_order: f.number(11)?,
    };
    state.users[a].peers.insert(b);
    state.users[b].peers.insert(a);
    state.directs.insert((a.min(b), a.max(b)), direct);
    Ok(())
}

/// What the `CHECKPOINT` line says.
struct Heading {
    covered: Pos,
    version: u64,
}

/// The runs of a `QUEUED,<user>,G` row: `first:head:n` separated by `;`.
fn runs(field: &str) -> std::result::Result<Vec<Run>, String> {
    let number =
        |s: Option<&str>| s.and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad runs {field:?}"));
    let runs = field.split(';').map(|run| {
        let mut parts = run.split(':');
        Ok(Run { first: number(parts.next())?, head: number(parts.next())?, n: number(parts.next())? })
    });
    let runs = runs.collect::<std::result::Result<Vec<Run>, String>>()?;
    if runs.is_empty() || runs.iter().any(|r| r.n == 0) {
        return Err(format!("bad runs {field:?}"));
    }
    Ok(runs)
}

fn apply_line(state: &mut State, f: &Fields, head: &mut Heading) -> std::result::Result<(), String> {
    let user = |i| state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)));
    match f.get(0)?.as_ref() {
        "CHECKPOINT" => {
            head.version = f.number(1)?;
            head.covered = f.number(2)?;
            state.last_ts = f.number(3)?;
            state.order = f.number(4)?;
        }
        "USER" => {
            // 1.3: a remote user's or a peer's account is made by its row,
            // as by its first record (`state::remote`).
            let u = state.user_or_remote(f.get(1)?.as_ref())?;
            let inbox = &mut state.users[u].inbox;
            inbox.last_seq = f.number(2)?;
            inbox.acked = f.number(3)?;
            state.users[u].last_seen = if f.get(4)?.is_empty() { None } else { Some(f.number(4)?) };
        }
        "QUEUED" => queued_row(state, f)?,
        "SENT" if head.version == VERSION_2 => {} // ids without positions: see above
        "SENT" => {
            let u = user(1)?;
            let recent = Arc::make_mut(&mut state.users[u].recent);
            for entry in f.get(2)?.split_whitespace() {
                let (tag, pos) = entry.split_once(':').ok_or("a window entry without its position")?;
                let tag = u64::from_str_radix(tag, 16).map_err(|_| "a window entry's tag is not hex")?;
                recent.push(tag, pos.parse().map_err(|_| "a window entry's position is not a number")?);
            }
        }
        "DIRECT" => direct_row(state, f)?,
        "ROOM" => {
            let room = state.create_room(f.get(1)?.as_ref(), 0); // its `BORN` row, if any, follows
            let r = state.rooms[room].as_mut().expect("just made");
            r.head = f.pos(2)?;
            r.count = f.number(3)?;
            r.last_order = f.number(4)?;
        }
        "MEMBER" => {
            let room = state.room_id(f.get(1)?.as_ref()).ok_or("a member of an unknown room")?;
            let u = user(2)?;
            let own = f
                .get(4)?
                .split_whitespace()
                .map(|o| o.parse().map_err(|_| "bad number"))
                .collect::<std::result::Result<_, _>>()?;
            let member = Member { read: f.number(3)?, own, ..Member::default() };
            state.rooms[room].as_mut().expect("live").members.insert(u, member);
            state.users[u].rooms.insert(room);
        }
        "USAGE_FROM" => state.usage.from = Some(f.number(1)?),
        "USAGE" => {
            let u = user(1)?;
            state.set_usage(u, f.number(2)?);
        }
        "END" => {}
        other => match CHECKPOINT_ROWS.iter().find(|family| family.kinds.contains(&other)) {
            Some(family) => (family.load)(state, f)?,
            None => return Err(format!("unknown kind {other:?}")),
        },
    }
    Ok(())
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
