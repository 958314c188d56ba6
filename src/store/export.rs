//! Everything a data directory holds, as plain rows: what `wachat
//! migrate` (`src/migrate/`) moves into a cluster's database.
//!
//! It replays the whole log into a fresh [`State`] — the same code a
//! start runs — and notes on the way what the state forgets: each
//! message's text and place, which incarnation of a room (a room emptied
//! and made again is a new one) a message went to, and which message each
//! queued `STATUS` is about. The data directory is locked meanwhile and
//! never written (a directory of the first layout is converted first,
//! like a start would).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::disk::{Disk, RealDisk};
use super::log::Log;
use super::record::{NO_POS, Pos, Record};
use super::state::{Queued, State, UserId};
use super::users::{USERS_HEADER, load_users};
use super::{StoreOptions, convert, lock::DataLock};
use crate::error::{Error, Result};
use crate::protocol::names::fold;

/// An account and its inbox's counters.
pub struct ExportedUser {
    pub name: String,
    pub email: String,
    pub hash: String,
    pub created_ms: u64,
    pub last_seen: Option<u64>,
    pub last_seq: u64,
    pub acked: u64,
    /// Messages it sent.
    pub sent: u64,
    /// 1.2: a server admin (`wachat users admin`).
    pub admin: bool,
    /// 1.2: a deleted account's name registered again (`REUSE`): the
    /// index in `messages` of the first message its account may see (its
    /// cut: `state::User::since`).
    pub since: Option<usize>,
    /// 1.2: its settings (`store::settings`: blocks, chats' preferences,
    /// archived chats, stars).
    pub settings: super::settings::Settings,
}

/// A message; `to` is a user or a room incarnation (index in `rooms`).
pub struct ExportedMessage {
    pub from: UserId,
    pub sender_ord: u64,
    pub to: Addressed,
    pub ord: u64,
    pub from_name: String,
    pub to_name: String,
    pub id: String,
    pub ts: u64,
    /// Escaped as on the wire.
    pub text: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Addressed {
    User(UserId),
    Room(usize),
}

/// A room incarnation: only the current one of a name is live.
pub struct Incarnation {
    pub name: String,
    pub live: bool,
    pub count: u64,
    /// Index in `messages` of its newest message.
    pub last_msg: Option<usize>,
    /// Members (user, read mark): the live room's only.
    pub members: Vec<(UserId, u64)>,
    /// 1.2: the live room's rules (owner, modes, topic, bans …).
    pub rules: super::moderation::Rules,
}

/// One direction of a direct conversation.
pub struct Direction {
    pub sender: UserId,
    pub recipient: UserId,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub last_msg: Option<usize>,
    /// 1.2: with the recipient's cut, the messages sent before it.
    pub base: u64,
}

/// An event waiting in an inbox: (user, seq, message index, kind
/// 0 MSG / 1 DELIVERED / 2 READ, ts).
pub type WaitingEvent = (UserId, u64, usize, i16, u64);

/// A data directory's content.
#[derive(Default)]
pub struct Export {
    pub users: Vec<ExportedUser>,
    pub messages: Vec<ExportedMessage>,
    pub rooms: Vec<Incarnation>,
    pub directions: Vec<Direction>,
    pub events: Vec<WaitingEvent>,
    /// The data directory's identity (`server.csv`), if it has one: the
    /// cluster takes it, so that clients see the same server.
    pub server_id: Option<String>,
}

/// Reads the data directory `dir` whole.
pub fn export(dir: &Path) -> Result<Export> {
    if !dir.join("users.csv").is_file() && !dir.join("rooms.csv").is_file() {
        return Err(Error::Usage(format!("{}: not a wachat data directory (no users.csv)", dir.display())));
    }
    let _lock = DataLock::acquire(dir)?;
    let disk: Arc<dyn Disk> = Arc::new(RealDisk);
    let options = StoreOptions::default();
    convert::if_needed(&disk, dir, &options)?;
    let mut state = State::default();
    load_users(disk.as_ref(), dir, &mut state)?;
    let (log, _writer) = Log::open(disk.clone(), &dir.join("log"), options.segment_size)?;
    if log.start() > 0 {
        return Err(Error::Usage(format!(
            "{}: the log's beginning was removed (--retain-days): migrate needs every record",
            dir.display()
        )));
    }
    let mut out = Export::default();
    let mut walk = ReplayNotes::default();
    log.scan(0, |pos, line| {
        let record = Record::decode(line)?;
        walk.note(&state, &record, pos, &mut out)?;
        state.load(pos, line.len() as u64 + 1, &record)
    })?;
    finish(dir, &state, &walk, &mut out)?;
    out.server_id = super::server_id::read(disk.as_ref(), dir)?;
    Ok(out)
}

/// What the replay notes that the state forgets.
#[derive(Default)]
struct ReplayNotes {
    /// Log position of each message → its index.
    at: HashMap<Pos, usize>,
    /// Log position of each room message → the one before it in its chain.
    prev: HashMap<Pos, Pos>,
    /// (sender, recipient, dord) → index of that direct message.
    direct: HashMap<(UserId, UserId, u64), usize>,
    /// Log position of each DELIVERED/READ record → (kind, message, ts).
    status: HashMap<Pos, (i16, usize, u64)>,
    /// Folded room name → its current incarnation.
    room_now: HashMap<String, usize>,
    /// Messages sent, per sender.
    sent: HashMap<UserId, u64>,
    /// Newest message of each direction.
    last_direct: HashMap<(UserId, UserId), usize>,
    /// 1.2: each reused account's cut, as an index in `messages`.
    cut: HashMap<UserId, usize>,
}

impl ReplayNotes {
    /// The log positions of a queued run of room messages, oldest first,
    /// past the `done` already delivered: each run's chain, back from its
    /// head.
    fn room_positions(&self, runs: &[super::state::Run], done: usize) -> Vec<Pos> {
        let mut found = Vec::new();
        for run in runs {
            let mut pos = run.head;
            for _ in 0..run.n {
                found.push(pos);
                pos = self.prev.get(&pos).copied().unwrap_or(NO_POS);
            }
        }
        found.sort_unstable();
        found.split_off(done.min(found.len()))
    }

    /// Notes `record` (at `pos`) before `state` applies it.
    fn note(
        &mut self,
        state: &State,
        record: &Record,
        pos: Pos,
        out: &mut Export,
    ) -> std::result::Result<(), String> {
        let user = |name: &str| state.user_id(name).ok_or_else(|| format!("unknown user {name:?}"));
        match record {
            Record::Join { room, .. } if state.room_id(room).is_none() => {
                self.room_now.insert(fold(room.trim_start_matches('#')), out.rooms.len());
                let room = Incarnation {
                    name: room.to_string(),
                    live: false,
                    count: 0,
                    last_msg: None,
                    members: Vec::new(),
                    rules: Default::default(),
                };
                out.rooms.push(room);
            }
            Record::Msg { msg, link } => {
                let from = user(&msg.from)?;
                let index = out.messages.len();
                let to = if msg.to.starts_with('#') {
                    let room = *self
                        .room_now
                        .get(&fold(msg.to.trim_start_matches('#')))
                        .ok_or("a room never joined")?;
                    out.rooms[room].count += 1;
                    out.rooms[room].last_msg = Some(index);
                    Addressed::Room(room)
                } else {
                    let to = user(&msg.to)?;
                    self.direct.insert((from, to, link.dord), index);
                    self.last_direct.insert((from, to), index);
                    Addressed::User(to)
                };
                let sent = self.sent.entry(from).or_insert(0);
                let ord = if matches!(to, Addressed::User(_)) { link.dord } else { link.ord };
                out.messages.push(ExportedMessage {
                    from,
                    sender_ord: *sent,
                    to,
                    ord,
                    from_name: msg.from.to_string(),
                    to_name: msg.to.to_string(),
                    id: msg.id.to_string(),
                    ts: msg.ts,
                    text: msg.text.as_escaped().to_string(),
                });
                *sent += 1;
                self.at.insert(pos, index);
                if msg.is_room() {
                    self.prev.insert(pos, link.prev);
                }
            }
            Record::Delivered { ts, user: recipient, chat, dord, .. } => {
                let key = (user(chat)?, user(recipient)?, *dord);
                if let Some(&index) = self.direct.get(&key) {
                    self.status.insert(pos, (1, index, *ts));
                }
            }
            Record::Reuse { user: reused, .. } => {
                self.cut.insert(user(reused)?, out.messages.len());
            }
            Record::Read { ts, user: reader, chat, ord, .. } if !chat.starts_with('#') => {
                let key = (user(chat)?, user(reader)?, *ord);
                if let Some(&index) = self.direct.get(&key) {
                    self.status.insert(pos, (2, index, *ts));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Accounts, live rooms, directions and inboxes, from the final state.
fn finish(dir: &Path, state: &State, walk: &ReplayNotes, out: &mut Export) -> Result<()> {
    let extra = emails_and_dates(dir)?;
    for (id, user) in state.users.iter().enumerate() {
        let (email, created_ms) = extra.get(&fold(&user.name)).cloned().unwrap_or_default();
        out.users.push(ExportedUser {
            name: user.name.to_string(),
            email,
            hash: user.hash.clone(),
            created_ms,
            last_seen: user.last_seen,
            last_seq: user.inbox.last_seq,
            acked: user.inbox.acked,
            sent: walk.sent.get(&id).copied().unwrap_or(0),
            admin: state.is_server_admin(id),
            since: walk.cut.get(&id).copied(),
            settings: user.settings.clone(),
        });
        inbox(id, user, walk, out);
    }
    live_rooms(state, walk, out);
    directions(state, walk, out);
    Ok(())
}

/// What the state does not keep of an account, from `users.csv`: its
/// email and when it was created, by folded name.
fn emails_and_dates(dir: &Path) -> Result<HashMap<String, (String, u64)>> {
    let path = dir.join("users.csv");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    let mut extra = HashMap::new();
    crate::csvlog::read_rows_from(&path, &bytes, USERS_HEADER, |row| {
        let name = row.get(0).ok_or("missing the name")?;
        let created = row.get(3).and_then(|t| t.parse().ok()).unwrap_or(0);
        extra.insert(fold(name), (row.get(1).unwrap_or("").to_string(), created));
        Ok(())
    })
    .map_err(|e| e.into_error(&path))?;
    Ok(extra)
}

/// The events queued for `user` (`id`), numbered on from what it
/// acknowledged: one per direct message and `STATUS`, one per message of
/// a run of room messages.
fn inbox(id: UserId, user: &super::state::User, walk: &ReplayNotes, out: &mut Export) {
    let mut seq = user.inbox.acked;
    for queued in user.inbox.queue.iter() {
        let message = |m: usize| (m, 0, out.messages[m].ts);
        let events: Vec<Option<(usize, i16, u64)>> = match queued {
            Queued::Direct { pos, .. } => vec![walk.at.get(pos).map(|&m| message(m))],
            Queued::Rooms { runs, done } => {
                let positions = walk.room_positions(runs, *done as usize);
                positions.iter().map(|pos| walk.at.get(pos).map(|&m| message(m))).collect()
            }
            Queued::Status { pos } => vec![walk.status.get(pos).map(|&(kind, m, ts)| (m, kind, ts))],
            // A cluster keeps no copies or read marks (docs/CLUSTER-OPS.md,
            // "Devices and the door"): the other devices read them in HISTORY. Their
            // numbers stay used.
            Queued::Copy { .. }
            | Queued::Mark { .. }
            | Queued::RoomStatus { .. }
            | Queued::Failed { .. }
            | Queued::Link { .. } => {
                seq += 1;
                continue;
            }
        };
        for event in events {
            seq += 1;
            match event {
                Some((message, kind, ts)) => out.events.push((id, seq, message, kind, ts)),
                None => log::warn!("migrate: event {seq} of {} names no message; left out", user.name),
            }
        }
    }
}

/// The current incarnation of each room: live, its members and rules.
fn live_rooms(state: &State, walk: &ReplayNotes, out: &mut Export) {
    for room in state.rooms.iter().flatten() {
        let Some(&now) = walk.room_now.get(&fold(room.name.trim_start_matches('#'))) else { continue };
        let incarnation = &mut out.rooms[now];
        incarnation.live = true;
        incarnation.members = room.members.iter().map(|(&user, member)| (user, member.read)).collect();
        incarnation.members.sort_unstable();
        incarnation.rules = room.rules.clone();
    }
}

/// Each direction of each direct conversation that carried a message.
fn directions(state: &State, walk: &ReplayNotes, out: &mut Export) {
    let mut directions: Vec<_> = state.directs.iter().collect();
    directions.sort_by_key(|(key, _)| **key);
    for (&(a, b), direct) in directions {
        for (side, (sender, recipient)) in [(a, b), (b, a)].into_iter().enumerate() {
            if direct.sent[side] == 0 {
                continue;
            }
            out.directions.push(Direction {
                sender,
                recipient,
                sent: direct.sent[side],
                delivered: direct.marks[side].delivered,
                read: direct.marks[side].read,
                last_msg: walk.last_direct.get(&(sender, recipient)).copied(),
                base: state.users[recipient].bases.get(&sender).copied().unwrap_or(0),
            });
        }
    }
}
