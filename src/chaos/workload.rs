//! The users of a run, each two threads behaving as a real client does:
//!
//! - the **sender** plays the user's steps of the schedule: messages go
//!   into an outbox, which is written in order and emptied only by their
//!   `OK:<id>:<ts>`; after a reset, a crash or a `KO` that closes, it
//!   logs in again and resends every unanswered `MSG` with its id;
//! - the **receiver** stays logged in on the receive port, answers
//!   `PING`, and `ACK`s what it got: mostly at once, sometimes late
//!   (0.3–2 s), and everything at once while the run drains.
//!
//! With `--devices N` (level 1.2), each user is N devices `d0`, `d1`, …:
//! a receiver per device, each `ACK`ing for itself, and a sender that
//! logs in as the next device each time it connects.
//!
//! In a federation (`--federation`), each user lives on one server (user
//! `u` on server `u mod n`) and writes to the others by their addresses
//! (`u4@lab2`), and to a room homed on another server by its address
//! (`#r0@lab2`); its receiver says `VERSION:1.3` before its `LOGIN`, so
//! that a bounce comes as `STATUS:…:FAILED:…`, in the replay too.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::history::{DeviceIndex, Journal};
use super::proxy::Proxy;
use super::schedule::{Destination, Op, Rng, Scheduled};
use super::wire::{Gone, Wiretap};
use crate::conform::ProtocolLevel;
use crate::protocol::Port;
use crate::protocol::{Accepted, Chat, Code, Event, EventReply, Reply, Request, Text};

/// How long a reply may take before the connection counts as broken.
const REPLY_WAIT: Duration = Duration::from_secs(5);

/// How long a `LOGIN` may take: shorter than other replies, so that a
/// device whose server is paused (`SIGSTOP`: the kernel still accepts
/// connections) moves to another server while the pause lasts.
const LOGIN_WAIT: Duration = Duration::from_secs(2);

/// How long a user's device tries its own server last once that server
/// left a `LOGIN` or a `MSG` unanswered (with `--server`).
const SHUN: Duration = Duration::from_secs(10);

/// The phases of a run, in order.
pub const RUNNING: u8 = 0;
/// No fault, no new operation: outboxes empty, every event `ACK`ed at once.
pub const DRAINING: u8 = 1;
pub const STOPPED: u8 = 2;

/// What every user's threads share.
pub struct Team {
    pub names: Vec<String>,
    pub password: String,
    /// Room names with their `#`, and their members.
    pub rooms: Vec<(String, Vec<usize>)>,
    pub level: ProtocolLevel,
    /// Devices per user (1: the one device, logged in with no name).
    pub devices: usize,
    pub journal: Arc<Journal>,
    /// Per user, a proxy per device (device `n` uses the `n`th).
    pub proxies: Arc<Vec<Vec<Proxy>>>,
    pub phase: AtomicU8,
    pub users: Vec<UserState>,
    /// In a federation, each user's server, by name (empty: not one).
    pub homes: Vec<String>,
    /// In a federation, each room's home server, by name (empty: not one).
    pub room_homes: Vec<String>,
    /// The messages `OK`'d, and those since delivered or bounced: a
    /// federation's drain waits until every one is one or the other.
    pub ledger: Mutex<Ledger>,
}

/// Messages by (sender, id): `OK`'d, and settled (delivered to their
/// recipient, or to a member of their room, or bounced to their sender).
#[derive(Default)]
pub struct Ledger {
    oked: HashSet<(usize, String)>,
    settled: HashSet<(usize, String)>,
}

impl Ledger {
    /// How many `OK`'d messages are neither delivered nor bounced yet.
    pub fn pending(&self) -> usize {
        self.oked.iter().filter(|m| !self.settled.contains(*m)).count()
    }
}

/// What a user's sender and receivers share.
pub struct UserState {
    /// Messages written but not yet answered `OK`.
    pub outbox: AtomicUsize,
    /// Per device: the schedule asked its receiver to log in again.
    pub reconnect: Vec<AtomicBool>,
    /// Per device: its receiver is logged in (the drain waits for every one).
    pub online: Vec<AtomicBool>,
    /// Per peer, the latest direct message received from it: (seq, id).
    latest_from: Mutex<HashMap<usize, (u64, String)>>,
    /// The file messages received, as `FILEOF` names them: (chat, from,
    /// id); the run fetches each at the end ([`super::run`]).
    pub files_got: Mutex<HashSet<(String, String, String)>>,
}

impl UserState {
    pub fn new(devices: usize) -> UserState {
        let flags = || (0..devices).map(|_| AtomicBool::new(false)).collect();
        UserState {
            outbox: AtomicUsize::new(0),
            reconnect: flags(),
            online: flags(),
            latest_from: Mutex::default(),
            files_got: Mutex::default(),
        }
    }

    /// Every device's receiver logs in again.
    pub fn reconnect_all(&self) {
        self.reconnect.iter().for_each(|r| r.store(true, Ordering::SeqCst));
    }
}

impl Team {
    pub fn phase(&self) -> u8 {
        self.phase.load(Ordering::SeqCst)
    }

    /// The user a name or an address (`u4@lab2`) names.
    fn user_of(&self, name: &str) -> Option<usize> {
        super::history::user_of(&self.names, &self.homes, name)
    }

    pub fn federated(&self) -> bool {
        !self.homes.is_empty()
    }

    /// How `user` is written by `by`: its name, or its address when
    /// they live on different servers of a federation.
    pub fn address(&self, user: usize, by: usize) -> String {
        match (self.homes.get(user), self.homes.get(by)) {
            (Some(home), Some(mine)) if !home.eq_ignore_ascii_case(mine) => {
                format!("{}@{home}", self.names[user])
            }
            _ => self.names[user].clone(),
        }
    }

    fn note<R>(&self, ledger: impl FnOnce(&mut Ledger) -> R) -> R {
        ledger(&mut self.ledger.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The text of message `id`: unique, so that a phantom shows.
    pub fn text(&self, user: usize, id: &str) -> String {
        format!("chaos {id} from {}", self.names[user])
    }

    /// How room `room` is written by `by`: `#name`, or `#name@home`
    /// when the room's home is not `by`'s server (§27, "Rooms").
    pub fn room_address(&self, room: usize, by: usize) -> String {
        let name = &self.rooms[room].0;
        match (self.room_homes.get(room), self.homes.get(by)) {
            (Some(home), Some(mine)) if !home.eq_ignore_ascii_case(mine) => format!("{name}@{home}"),
            _ => name.clone(),
        }
    }

    /// Where `by`'s message to `to` goes.
    fn chat(&self, to: Destination, by: usize) -> Chat {
        match to {
            Destination::User(u) => Chat::User(self.address(u, by)),
            Destination::Room(r) => {
                Chat::parse(&self.room_address(r, by)).unwrap_or(Chat::Room(String::new()))
            }
        }
    }

    /// Device number `n` of a user as the frames name it: `None` (no
    /// device name in the `LOGIN`) when users have one device.
    pub fn device(&self, n: usize) -> DeviceIndex {
        (self.devices > 1).then_some(n % self.devices)
    }

    /// Logs `device` in on `port` of the user's proxy; `None` when anything fails.
    pub fn login(&self, user: usize, device: DeviceIndex, port: Port) -> Option<Wiretap> {
        let proxy = &self.proxies[user][device.unwrap_or(0)];
        let addr = if port == Port::Send { proxy.send } else { proxy.recv };
        let mut line = Wiretap::open(addr, (user, device), port, &self.journal)?;
        // 1.3 before the login, so that the replay is 1.3's too (§27).
        if port == Port::Receive && self.federated() {
            let said = line.request(&EventReply::Version13.to_string(), LOGIN_WAIT);
            if said.as_deref() != Ok("OK") {
                return None;
            }
        }
        let login = Request::Login {
            user: self.names[user].clone(),
            device: device.map(|d| format!("d{d}")),
            password: self.password.clone(),
        };
        // A device's receive login says VERSION:1.2 as the very next line,
        // before the `OK`: the server waits for it (§16) so that the
        // replay, not only what comes live, holds copies and read marks.
        let version = (port == Port::Receive && device.is_some()).then(|| EventReply::Version12.to_string());
        let sent = line.send(&login.to_string()) && version.is_none_or(|v| line.send(&v));
        match line.read(LOGIN_WAIT).map(|r| Reply::parse(&r)) {
            Ok(Ok(Reply::OkWith(_))) if sent => Some(line),
            Err(Gone::Silent) => {
                proxy.shun(SHUN);
                None
            }
            _ => None,
        }
    }
}

struct Composed {
    id: String,
    line: String,
    /// Drop the connection right after writing it (once).
    crash: bool,
    /// The file it carries: `line` is then its `FILE` once the bytes are up.
    file: Option<Attachment>,
}

/// A file message's bytes, and what the server said of them so far.
#[derive(Clone)]
struct Attachment {
    to: Chat,
    name: String,
    bytes: Arc<Vec<u8>>,
    /// The server's id of the upload, once `UPLOAD` was answered.
    file: Option<String>,
    /// Every part answered: the server has the file whole, checked.
    whole: bool,
}

/// Why an upload stopped.
enum Stopped {
    /// The connection broke, or the server asked to wait: again later,
    /// resumed on the same upload.
    Broken,
    /// The server knows no such upload (removed, or never finished
    /// before a restart lost it): again later, from a new `UPLOAD`.
    Forgotten,
}

/// A user's sender: its steps, then its outbox until the run stops.
pub fn sender(team: Arc<Team>, user: usize, steps: Vec<Scheduled>, start: Instant) {
    let mut s = Sender { team, user, conn: None, logins: 0, device: 0, outbox: VecDeque::new() };
    for step in steps {
        let at = start + Duration::from_millis(step.at_ms);
        while Instant::now() < at && s.team.phase() == RUNNING {
            if !s.outbox.is_empty() && !s.flush() {
                thread::sleep(Duration::from_millis(100)); // the server or the proxy is not there yet
            }
            thread::sleep(at.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
        }
        if s.team.phase() != RUNNING {
            break;
        }
        s.step(step.op);
    }
    while s.team.phase() != STOPPED {
        if s.outbox.is_empty() || !s.flush() {
            thread::sleep(Duration::from_millis(100)); // idle, or waiting for the server
        }
    }
}

struct Sender {
    team: Arc<Team>,
    user: usize,
    conn: Option<Wiretap>,
    /// How many times it logged in: the next login is as device `logins % devices`.
    logins: usize,
    /// The device of the connection now (its number).
    device: usize,
    outbox: VecDeque<Composed>,
}

impl Sender {
    fn step(&mut self, op: Op) {
        match op {
            Op::Msg { to, id } => self.queue(to, id, false),
            Op::Crash { to, id } => self.queue(to, id, true),
            Op::File { to, id } => self.queue_file(to, id),
            Op::Read { peer } => self.read(peer),
            Op::Reconnect(Port::Send) => self.conn = None,
            Op::Reconnect(Port::Receive) => self.team.users[self.user].reconnect_all(),
        }
        self.flush();
    }

    fn queue(&mut self, to: Destination, id: String, crash: bool) {
        let text = Text::from_plain(&self.team.text(self.user, &id)).unwrap_or_else(|_| unreachable_text());
        let line = Request::Msg { to: self.team.chat(to, self.user), id: id.clone(), text }.to_string();
        self.outbox.push_back(Composed { id, line, crash, file: None });
        self.team.users[self.user].outbox.store(self.outbox.len(), Ordering::SeqCst);
    }

    fn queue_file(&mut self, to: Destination, id: String) {
        let (name, bytes) = super::schedule::file_bytes(&id);
        let to = self.team.chat(to, self.user);
        let file = Attachment { to, name, bytes: Arc::new(bytes), file: None, whole: false };
        self.outbox.push_back(Composed { id, line: String::new(), crash: false, file: Some(file) });
        self.team.users[self.user].outbox.store(self.outbox.len(), Ordering::SeqCst);
    }

    /// The `FILE` line of the file message `id` once its bytes are all
    /// on the server (uploaded on this connection, or resumed: a part the
    /// server has changes nothing, §21); `None` when the connection broke.
    fn upload(&mut self, id: &str, mut file: Attachment) -> Option<String> {
        let conn = self.connected()?;
        let done = send_bytes(conn, &mut file);
        if let Some(front) = self.outbox.front_mut() {
            front.file = Some(file.clone());
        }
        match done {
            Ok(upload) => {
                let caption = Text::from_plain(&self.team.text(self.user, id)).ok();
                Some(Request::File { to: file.to, id: id.into(), file: upload, caption }.to_string())
            }
            Err(Stopped::Forgotten) => {
                if let Some(Some(file)) = self.outbox.front_mut().map(|f| f.file.as_mut()) {
                    (file.file, file.whole) = (None, false);
                }
                None
            }
            Err(Stopped::Broken) => {
                self.conn = None;
                None
            }
        }
    }

    fn connected(&mut self) -> Option<&mut Wiretap> {
        if self.conn.is_none() {
            self.device = self.logins % self.team.devices;
            self.conn = self.team.login(self.user, self.team.device(self.device), Port::Send);
            self.logins += 1;
        }
        self.conn.as_mut()
    }

    /// Writes the outbox in order, each `MSG` waiting for its reply;
    /// false when the connection broke (what is left is resent later).
    fn flush(&mut self) -> bool {
        while let Some(front) = self.outbox.front_mut() {
            let (mut line, id, crash) = (front.line.clone(), front.id.clone(), front.crash);
            front.crash = false;
            if let Some(file) = front.file.clone() {
                match self.upload(&id, file) {
                    Some(file_line) => line = file_line,
                    None => return false,
                }
            }
            let Some(conn) = self.connected() else { return false };
            if !conn.send(&line) {
                self.conn = None;
                return false;
            }
            if crash {
                self.conn = None; // the client died after its write
                continue;
            }
            match self.conn.as_mut().map(|c| c.read(REPLY_WAIT)) {
                Some(Ok(reply)) if self.answered(&reply, &id) => {
                    if reply.starts_with("OK:") {
                        self.team.note(|l| l.oked.insert((self.user, id.clone())));
                    }
                    self.outbox.pop_front();
                    self.team.users[self.user].outbox.store(self.outbox.len(), Ordering::SeqCst);
                }
                Some(Err(Gone::Silent)) => {
                    // No answer at all: its server may be paused; the next login tries another.
                    self.team.proxies[self.user][self.device].shun(SHUN);
                    self.conn = None;
                    return false;
                }
                _ => {
                    self.conn = None;
                    return false;
                }
            }
        }
        true
    }

    /// Whether `reply` settles the `MSG` `id`: its `OK`, or a `KO` that
    /// a resend would only earn again (a `KO` that closes, or asks to
    /// slow down, leaves it in the outbox).
    fn answered(&self, reply: &str, id: &str) -> bool {
        match Reply::parse(reply) {
            Ok(Reply::OkWith(rest)) => Accepted::parse(&rest).is_ok_and(|a| a.id == id),
            Ok(Reply::Ko(ko)) => !matches!(
                ko.code,
                Code::RateLimited
                    | Code::Busy
                    | Code::Timeout
                    | Code::AuthRequired
                    | Code::TooLong
                    | Code::Internal
            ),
            _ => false,
        }
    }

    fn read(&mut self, peer: usize) {
        let latest = self.team.users[self.user]
            .latest_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&peer)
            .cloned();
        let Some((_, id)) = latest else { return };
        let request = Request::Read { chat: Chat::User(self.team.address(peer, self.user)), id };
        let Some(conn) = self.connected() else { return };
        if conn.request(&request.to_string(), REPLY_WAIT).is_err() {
            self.conn = None;
        }
    }
}

/// Uploads `file`'s bytes on `conn`: `UPLOAD` unless the server named
/// the upload already, then every part from the first (§21: a part the
/// server has changes nothing, so a resumed upload sends again what it
/// may have lost), unless every part was answered already; the server's
/// id of the complete file.
fn send_bytes(conn: &mut Wiretap, file: &mut Attachment) -> Result<String, Stopped> {
    let upload = match &file.file {
        Some(upload) if file.whole => return Ok(upload.clone()),
        Some(upload) => upload.clone(),
        None => {
            let sha256 = super::schedule::sha256(&file.bytes);
            let request = Request::Upload { name: file.name.clone(), size: file.bytes.len() as u64, sha256 };
            match conn.request(&request.to_string(), REPLY_WAIT).map(|r| Reply::parse(&r)) {
                Ok(Ok(Reply::OkWith(upload))) => upload,
                _ => return Err(Stopped::Broken),
            }
        }
    };
    file.file = Some(upload.clone());
    for (k, part) in file.bytes.chunks(crate::protocol::files::PART_BYTES).enumerate() {
        let offset = (k * crate::protocol::files::PART_BYTES) as u64;
        let request = Request::Part { file: upload.clone(), offset, data: part.to_vec() };
        match conn.request(&request.to_string(), REPLY_WAIT).map(|r| Reply::parse(&r)) {
            Ok(Ok(Reply::OkWith(_))) => {}
            Ok(Ok(Reply::Ko(ko))) if ko.code == Code::UnknownFile => return Err(Stopped::Forgotten),
            _ => return Err(Stopped::Broken),
        }
    }
    file.whole = true;
    Ok(upload)
}

fn unreachable_text() -> Text {
    Text::from_plain("chaos").expect("a plain word is a valid text")
}

/// A receiver: device `n` of `user` logged in on the receive port until
/// the run stops.
pub fn receiver(team: Arc<Team>, user: usize, n: usize, seed: u64) {
    let mut rng = Rng::new(seed ^ (user as u64 + 1).wrapping_mul(0x9e37_79b9) ^ (n as u64) << 40);
    let shared = &team.users[user];
    while team.phase() != STOPPED {
        shared.reconnect[n].store(false, Ordering::SeqCst);
        match team.login(user, team.device(n), Port::Receive) {
            Some(mut line) => {
                shared.online[n].store(true, Ordering::SeqCst);
                Receiver { team: &team, user, n, rng: &mut rng }.session(&mut line);
                shared.online[n].store(false, Ordering::SeqCst);
            }
            None => thread::sleep(Duration::from_millis(200)), // partitioned, or the server is down
        }
    }
}

struct Receiver<'a> {
    team: &'a Team,
    user: usize,
    /// Which of the user's devices.
    n: usize,
    rng: &'a mut Rng,
}

impl Receiver<'_> {
    fn session(&mut self, line: &mut Wiretap) {
        // A named device said VERSION:1.2 with its login already, a
        // federation's user VERSION:1.3 before it.
        let said = self.team.devices > 1 || self.team.federated();
        if self.team.level >= ProtocolLevel::V1_1 && !said {
            line.send(&EventReply::Version11.to_string());
        }
        if self.team.level >= ProtocolLevel::V1_2 && !said {
            line.send(&EventReply::Version12.to_string());
        }
        let (mut max_seq, mut acked, mut due) = (0u64, 0u64, None::<Instant>);
        loop {
            let phase = self.team.phase();
            if phase == STOPPED || self.team.users[self.user].reconnect[self.n].swap(false, Ordering::SeqCst)
            {
                return;
            }
            let ack_now = due.is_some_and(|d| Instant::now() >= d) || phase == DRAINING;
            if ack_now && max_seq > acked {
                if !line.send(&EventReply::Ack(max_seq).to_string()) {
                    return;
                }
                (acked, due) = (max_seq, None);
            }
            let text = match line.read(Duration::from_millis(100)) {
                Ok(text) => text,
                Err(Gone::Silent) => continue,
                Err(Gone::Closed) => return,
            };
            // A bounce (1.3): an event of the inbox like any other.
            if let Some(bounce) = super::model::FailedNotice::parse(&text) {
                self.team.note(|l| l.settled.insert((self.user, bounce.id.to_string())));
                max_seq = max_seq.max(bounce.seq);
                due.get_or_insert_with(Instant::now);
                continue;
            }
            match Event::parse(&text) {
                Ok(Event::Ping) => {
                    line.send(&EventReply::Pong.to_string());
                }
                Ok(Event::Bye(_)) => return,
                Ok(event) => {
                    let Some(seq) = event.seq() else { continue };
                    self.note(&event, seq);
                    max_seq = max_seq.max(seq);
                    if due.is_none() {
                        let late = self.rng.chance(30);
                        let wait = if late { self.rng.range(300, 2000) } else { 0 };
                        due = Some(Instant::now() + Duration::from_millis(wait));
                    }
                }
                Err(_) => {}
            }
        }
    }

    /// Remembers that a message was delivered (a room's, to one of its
    /// members at least), the latest direct message from each peer, for
    /// `READ`, and each file message, for the fetch at the end.
    fn note(&self, event: &Event, seq: u64) {
        let (from, to, id) = match event {
            Event::Msg { from, to, id, .. } => (from, to.clone(), id),
            Event::File(file) => (&file.from, file.to.clone(), &file.id),
            _ => return,
        };
        let Some(peer) = self.team.user_of(from) else { return };
        if peer == self.user {
            return;
        }
        self.team.note(|l| l.settled.insert((peer, id.clone())));
        if let Event::File(_) = event {
            let chat = if to.starts_with('#') { to.clone() } else { from.clone() };
            let mut got = self.team.users[self.user].files_got.lock().unwrap_or_else(|e| e.into_inner());
            got.insert((chat, from.clone(), id.clone()));
        }
        if to.starts_with('#') {
            return;
        }
        let mut latest = self.team.users[self.user].latest_from.lock().unwrap_or_else(|e| e.into_inner());
        if latest.get(&peer).is_none_or(|(s, _)| *s < seq) {
            latest.insert(peer, (seq, id.clone()));
        }
    }
}
