//! A whole wachat server in one file: protocol version 1 (docs/PROTOCOL.md
//! §1–§10) with `std::net` and nothing of wachat: its own framing, its own
//! escaping and its own parsing of the frames, the three things a student
//! writes first in any language (sections "Framing", "Text and names" and
//! "Requests", about 60 lines each); and the class network of 1.3 (§27),
//! its users writing to other servers' users, in the last section, "Federation"
//! (its links TLS with rustls, as §27 has them).
//!
//!     cargo run --release --example tiny_server -- --send-port 7000 --recv-port 7001 --data-dir /tmp/t
//!
//! Options: `--send-port` (6666), `--recv-port` (9999), `--data-dir`
//! (`data`), `--timeout` seconds (10), `--kdf-cost` KiB of argon2 (19456);
//! to join a class network, those of the section "Federation".
//!
//! It is written to be read on a projector, so it is as long as plain
//! code needs (about 1,000 lines, and 550 for the network, its TLS included): one thing a
//! line. `wachat conform --level 1.0`, at its default timeout too, and
//! `wachat conform federation --no-files --no-people --no-rooms --no-presence --no-group-calls` pass against it (tests/tools/tiny_server.rs,
//! tests/federation/conform.rs).
//!
//! The idea of wachat in one sitting; read it before `src/`: **two
//! listeners**, **a thread per connection**, **one lock** around the state
//! (`Server`), and **a log**: a request that changes something is appended
//! and fsynced *before* it is applied and answered (`Server::commit`), so an
//! `OK` survives `kill -9`; at start the same handlers run over the log again
//! (`Server::replay`). An event waits in its user's **inbox**, under the
//! user's next sequence number, until an `ACK` covers it (`Server::attach`).
//!
//! What `wachat serve` adds (docs/READING.md follows one message through
//! it): group commit, checkpoints, a limit on everything a client can make
//! it spend, TLS, the web port, protocol 1.1 and 1.2. This one has no
//! limits: never put it on a network you do not trust.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, thread};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Lines waiting for a receive connection before it is closed as too slow.
const OUTLET_EVENTS: usize = 1024;

type Shared = Arc<Mutex<Server>>;
/// How new passwords are hashed (`--kdf-cost`): argon2id, slow on purpose.
static KDF: OnceLock<Argon2<'static>> = OnceLock::new();
static NEXT_OUTLET: AtomicU64 = AtomicU64::new(1);

/// Everything the server knows. One lock (`Shared`) around all of it.
#[derive(Default)]
struct Server {
    users: HashMap<String, User>,    // accounts by folded name (unique ignoring case)
    rooms: HashMap<String, Room>,    // rooms by folded name, without the `#`
    messages: Vec<Message>,          // every message, oldest first: others point into it
    online: HashMap<String, Outlet>, // who is logged in on the receive port
    log: Option<File>,               // the log; `None` while it is replayed
    last_ts: u64,                    // time never goes back, even across restarts
    links: HashMap<String, TcpStream>, // in a network: the link from each peer, open now
}

#[derive(Default)]
struct User {
    name: String,                      // as registered
    hash: String,                      // argon2id, a PHC string: salt and parameters included
    seq: u64,                          // the last sequence number given to an event of this user
    inbox: VecDeque<Queued>,           // events not yet acknowledged, oldest first
    sent: HashMap<String, usize>,      // this user's messages by id: a resend gets the first OK
    read_upto: HashMap<String, usize>, // per room, the newest message read
    p2p: Option<u16>,                  // `P2P:<port>`, while the receive connection is up
    took: u64,                         // a peer's account: the last frame taken from it
    pin: Option<(String, String)>,     // a peer's account: its identity, and the secret then
}

/// An event in an inbox: its sequence number, line, message (for `DELIVERED`).
type Queued = (u64, String, Option<usize>);

struct Room {
    name: String,
    members: BTreeSet<String>,
}

/// A message, as `HISTORY` shows it (its state moves on).
struct Message {
    from: String,
    to: String, // a user's name, or `#room`, as registered
    id: String,
    ts: u64,
    state: State,
    text: String, // escaped, as it came and as it goes
}

impl Message {
    /// `<from>:<to>:<id>:<ts>:<state>:<text>`, a line of `HISTORY`.
    fn line(&self) -> String {
        let Message { from, to, id, ts, state, text } = self;
        format!("{from}:{to}:{id}:{ts}:{}:{text}", state.as_str())
    }
}

/// How far a message got: `OK` (`RECEIVED`), then `STATUS` events.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum State {
    Received,
    Delivered,
    Read,
    Failed, // 1.3: bounced (§27): HISTORY has the bounce's line after it
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Received => "RECEIVED",
            State::Delivered => "DELIVERED",
            State::Read => "READ",
            State::Failed => "FAILED",
        }
    }
}

/// The way to a receive connection: its writer thread takes lines from a
/// bounded channel, so that nobody ever waits for a socket under the lock.
struct Outlet {
    id: u64,
    lines: SyncSender<String>,
    stream: TcpStream,
}

impl Outlet {
    /// Queues a line, or closes a connection that does not keep up.
    fn send(&self, line: String) {
        if self.lines.try_send(line).is_err() {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// The command line, with its defaults.
struct Options {
    send_port: u16,
    recv_port: u16,
    data_dir: String,
    /// Seconds without a complete frame before a connection is closed.
    timeout_secs: u64,
    /// KiB of memory one argon2 hash takes.
    kdf_kib: u32,
    net: Vec<(String, String)>, // the other flags: the class network's (`join_network`)
}

impl Options {
    /// `--flag value` pairs; anything else is an error that says where to look.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            send_port: 6666,
            recv_port: 9999,
            data_dir: "data".to_string(),
            timeout_secs: 10,
            kdf_kib: 19 * 1024,
            net: Vec::new(),
        };
        while let Some(flag) = args.next() {
            let Some(value) = args.next() else {
                return Err(format!("{flag} needs a value"));
            };
            let bad = |_| format!("bad value for {flag}: {value:?}");
            match flag.as_str() {
                "--send-port" => options.send_port = value.parse().map_err(bad)?,
                "--recv-port" => options.recv_port = value.parse().map_err(bad)?,
                "--data-dir" => options.data_dir = value,
                "--timeout" => options.timeout_secs = value.parse().map_err(bad)?,
                "--kdf-cost" => options.kdf_kib = value.parse().map_err(bad)?,
                _ => options.net.push((flag, value)),
            }
        }
        Ok(options)
    }
}

/// What `--help` prints: the options of the top of this file.
const USAGE: &str = "tiny_server [--send-port 6666] [--recv-port 9999] [--data-dir data] [--timeout 10] \
[--kdf-cost 19456]\n  in a class network also: --name NAME --peers ROSTER.csv [--link-port 7001] [--give-up 86400] \
[--link-queue-max 100000] (the section \"Federation\" of examples/tiny_server.rs)";

fn main() -> Result<(), String> {
    if env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(env::args().skip(1))?;
    let params = Params::new(options.kdf_kib, 2, 1, None).map_err(|e| format!("--kdf-cost: {e}"))?;
    let _ = KDF.set(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));

    let dir = &options.data_dir;
    let timeout = Duration::from_secs(options.timeout_secs.max(1));
    join_network(&options.net, Path::new(dir), timeout)?;
    let server = Server::open(Path::new(dir)).map_err(|e| format!("{dir}: {e}"))?;
    let chat = Arc::new(Mutex::new(server));

    let bind = |port| TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("cannot listen: {e}"));
    let send = bind(options.send_port)?;
    let recv = bind(options.recv_port)?;
    let port = |l: &TcpListener| l.local_addr().map_or(0, |a| a.port());
    let link = open_links(&chat, timeout)?;
    println!("listening: send {} receive {}{link}", port(&send), port(&recv));

    let chat_of_receive = chat.clone();
    let receiving = thread::spawn(move || listen(recv, chat_of_receive, timeout, serve_recv));
    listen(send, chat, timeout, serve_send);
    receiving.join().map_err(|_| "the receive port's thread panicked".into())
}

/// The accept loop of one port: a thread per connection.
fn listen(listener: TcpListener, chat: Shared, timeout: Duration, serve: fn(&TcpStream, &Shared, Duration)) {
    for stream in listener.incoming().flatten() {
        let chat = chat.clone();
        thread::spawn(move || {
            serve(&stream, &chat, timeout);
            close_gently(stream);
        });
    }
}

/// Closes once the peer has the last reply: closing with unread bytes
/// sends a reset, which can destroy a `KO` still in flight.
fn close_gently(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = io::copy(&mut stream.take(4 << 20), &mut io::sink()); // until EOF, 0.5 s or 4 MiB
}

fn lock(chat: &Shared) -> MutexGuard<'_, Server> {
    // A panicked handler changed nothing (it checks before it changes).
    chat.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ko(code: &'static str, reason: impl Into<String>) -> Reply {
    Reply::Ko(Ko::new(code, reason))
}

/// One send connection: log in, then read a request, answer it, repeat.
fn serve_send(stream: &TcpStream, chat: &Shared, timeout: Duration) {
    let Ok(input) = stream.try_clone() else { return };
    let Ok(mut out) = stream.try_clone() else { return };
    let mut frames = Frames::new(input);
    let mut me: Option<String> = None;
    loop {
        let (reply, quit) = match (frames.next(Instant::now() + timeout), &me) {
            (Ok(line), None) => (first_frame(chat, &line), false),
            (Ok(line), Some(me)) => (request(chat, me, &line), line == "QUIT"),
            (Err(FrameError::Closed | FrameError::Io), _) => return,
            (Err(FrameError::NotUtf8), _) => (ko("BAD_REQUEST", "a frame is UTF-8"), false),
            (Err(FrameError::TooLong), _) => (ko("TOO_LONG", "a frame is at most 16384 bytes"), false),
            (Err(FrameError::TimedOut), _) => (ko("TIMEOUT", "no request for too long"), false),
        };
        if out.write_all(reply.to_string().as_bytes()).is_err() || quit || closes(&reply) {
            return;
        }
        if let (None, Reply::With(name)) = (&me, &reply) {
            me = Some(fold(name)); // logged in
        }
    }
}

/// Whether a reply ends its connection: the codes of protocol §2.
fn closes(reply: &Reply) -> bool {
    matches!(reply, Reply::Ko(ko) if ["AUTH_REQUIRED", "AUTH_FAILED", "TOO_LONG", "BUSY", "TIMEOUT"].contains(&ko.code))
}

/// A first frame, on either port: `LOGIN` or `REGISTER`; `OK:<user>` logs in.
fn first_frame(chat: &Shared, line: &str) -> Reply {
    let request = match Request::parse(line) {
        Ok(request) => request,
        Err(e) if matches!(word(line), "LOGIN" | "REGISTER") => return Reply::Ko(e),
        Err(_) => return ko("AUTH_REQUIRED", "log in first"),
    };
    match request {
        Request::Register { user, password } => {
            // argon2 is slow on purpose: hash before taking the lock.
            let hash = KDF.get().expect("set at start").hash_password(password.as_bytes());
            let hash = hash.map(|h| h.to_string()).map_err(|e| Ko::new("INTERNAL", e.to_string()));
            let mut chat = lock(chat);
            let at = chat.now();
            hash.and_then(|hash| chat.register(&user, at, hash)).unwrap_or_else(Reply::Ko)
        }
        Request::Login { user, password } => {
            let account = lock(chat).users.get(&fold(&user)).map(|u| (u.name.clone(), u.hash.clone()));
            match account {
                Some((name, hash)) if verify(&hash, &password) => Reply::With(name), // PHC: salt, parameters
                _ => ko("AUTH_FAILED", "wrong user or password"),
            }
        }
        _ => ko("AUTH_REQUIRED", "log in first"),
    }
}

fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}
/// One request after the login.
fn request(chat: &Shared, me: &str, line: &str) -> Reply {
    let request = match Request::parse(line) {
        Ok(request) => request,
        Err(e) => return Reply::Ko(e),
    };
    let mut chat = lock(chat);
    let at = chat.now();
    let reply = match request {
        Request::Msg { to, id, text } => chat.msg(me, at, to, id, text),
        Request::Read { chat: with, id } => chat.read(me, at, with, id),
        Request::Join { room } => chat.join(me, at, room),
        Request::Leave { room } => chat.leave(me, at, room),
        Request::History { chat: with, limit } => chat.history(me, &with, limit),
        Request::Users => Ok(chat.users_online()),
        Request::Rooms => Ok(chat.rooms_of(me)),
        Request::Chats => Ok(chat.chats(me)),
        Request::P2p { port } => {
            chat.users.get_mut(me).expect("logged in").p2p = Some(port);
            Ok(Reply::Ok)
        }
        Request::Peer { user } => chat.peer(me, &user),
        Request::Ping | Request::Quit => Ok(Reply::Ok),
        Request::Login { .. } | Request::Register { .. } => Err(Ko::new("BAD_REQUEST", "already logged in")),
    };
    reply.unwrap_or_else(Reply::Ko)
}

/// One receive connection: log in, attach (the inbox replays), then read
/// `ACK`s and `PONG`s, with a `PING` when the client is quiet.
///
/// The clock is the client's last complete frame: `PING` at half the
/// timeout after it, `BYE:TIMEOUT` at the whole timeout after it (§8), not
/// a whole timeout after the `PING`, which would be one and a half.
fn serve_recv(stream: &TcpStream, chat: &Shared, timeout: Duration) {
    let Ok(input) = stream.try_clone() else { return };
    let Ok(mut out) = stream.try_clone() else { return };
    let Ok(writer) = stream.try_clone() else { return };
    let mut frames = Frames::new(input);
    let name = loop {
        let Ok(line) = frames.next(Instant::now() + timeout) else { return };
        match first_frame(chat, &line) {
            Reply::With(name) => break name,
            reply if out.write_all(reply.to_string().as_bytes()).is_err() || closes(&reply) => return,
            _ => {}
        }
    };
    let (lines, queue) = sync_channel(OUTLET_EVENTS);
    let me = fold(&name);
    let id = NEXT_OUTLET.fetch_add(1, Ordering::Relaxed);
    let tell = lines.clone(); // our own way to the writer: PING and BYE
    let mut replay = vec![format!("OK:{name}")]; // the OK leaves once we are online
    replay.extend(lock(chat).attach(&me, Outlet { id, lines, stream: out }));
    let _ = writer.set_write_timeout(Some(timeout)); // a client that takes nothing for that long is dropped
    let writer = thread::spawn(move || write_events(writer, replay, queue));
    let mut last_frame = Instant::now();
    let mut pinged = false;
    loop {
        let deadline = if pinged { last_frame + timeout } else { last_frame + timeout / 2 };
        match frames.next(deadline) {
            Ok(line) => {
                last_frame = Instant::now();
                pinged = false;
                if let Some(seq) = parse_ack(&line) {
                    let mut chat = lock(chat);
                    let at = chat.now();
                    let _ = chat.ack(&me, at, seq); // a KO: the disk refused, the client will ACK again
                }
            }
            Err(FrameError::TimedOut) if !pinged => {
                pinged = tell.try_send("PING".to_string()).is_ok();
            }
            Err(FrameError::TimedOut) => {
                // A full outlet is closing anyway: no BYE fits, none is needed.
                let _ = tell.try_send("BYE:TIMEOUT".to_string());
                break;
            }
            Err(FrameError::NotUtf8) => {}
            Err(_) => break,
        }
    }
    drop(tell);
    lock(chat).detach(&me, id);
    let _ = writer.join();
}

/// An outlet's writer thread: the `OK` and the replay, then the channel's
/// lines, until the channel closes or a `BYE`.
fn write_events(mut stream: TcpStream, replay: Vec<String>, queue: Receiver<String>) {
    for line in replay.into_iter().chain(queue) {
        if stream.write_all(format!("{line}\n").as_bytes()).is_err() || line.starts_with("BYE:") {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

impl Server {
    /// Opens the data directory and replays its log.
    fn open(dir: &Path) -> io::Result<Server> {
        std::fs::create_dir_all(dir)?;
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(dir.join("log.txt"))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        // A crash can only tear the last line (we append): cut it off.
        let whole = text.rfind('\n').map_or(0, |at| at + 1);
        file.set_len(whole as u64)?;
        let mut server = Server::default();
        for (n, line) in text[..whole].lines().enumerate() {
            server.replay(line).map_err(|e| io::Error::other(format!("log.txt line {}: {e}", n + 1)))?;
        }
        server.log = Some(file);
        Ok(server)
    }

    /// Runs a line of the log, `<ts>:<user>:<what>`, through the same handler again.
    fn replay(&mut self, line: &str) -> Result<(), String> {
        let f: Vec<&str> = line.splitn(3, ':').collect();
        let [ts, me, what] = f[..] else { return Err("expected <ts>:<user>:<what>".into()) };
        let at: u64 = ts.parse().map_err(|_| format!("bad time {ts:?}"))?;
        self.last_ts = self.last_ts.max(at);
        let done = match (what.strip_prefix("HASH:"), parse_ack(what)) {
            (Some(hash), _) => self.register(me, at, hash.to_string()),
            (None, Some(seq)) => self.ack(me, at, seq),
            _ if me.starts_with('@') => self.replay_link(me, at, what), // a peer's account
            _ => match Request::parse(what).map_err(|e| e.reason)? {
                Request::Msg { to, id, text } => self.msg(me, at, to, id, text),
                Request::Read { chat, id } => self.read(me, at, chat, id),
                Request::Join { room } => self.join(me, at, room),
                Request::Leave { room } => self.leave(me, at, room),
                _ => return Err(format!("not a change: {what:?}")),
            },
        };
        done.map(drop).map_err(|e| e.reason)
    }

    /// Unix milliseconds, never less than the last ones given.
    fn now(&mut self) -> u64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        self.last_ts = self.last_ts.max(wall);
        self.last_ts
    }

    /// Appends a change to the log and waits for the disk: then it survives a
    /// crash, and may be applied and answered (`wachat serve` does this for a
    /// batch with one fsync). Each handler checks, commits, then applies.
    fn commit(&mut self, at: u64, me: &str, what: &dyn fmt::Display) -> Result<(), Ko> {
        let Some(log) = &mut self.log else { return Ok(()) }; // replaying
        let end = log.metadata().map_err(|e| Ko::new("INTERNAL", e.to_string()))?.len();
        let written = log.write_all(format!("{at}:{me}:{what}\n").as_bytes()).and_then(|()| log.sync_data());
        written.map_err(|e| {
            let _ = log.set_len(end); // no half line: the log stays whole lines
            Ko::new("INTERNAL", format!("the disk refused: {e}"))
        })
    }

    fn register(&mut self, user: &str, at: u64, hash: String) -> Result<Reply, Ko> {
        if self.users.contains_key(&fold(user)) {
            return Err(Ko::new("USER_EXISTS", format!("the name {user} is taken")));
        }
        self.commit(at, user, &format_args!("HASH:{hash}"))?;
        self.users.insert(fold(user), User { name: user.to_string(), hash, ..User::default() });
        let general = Room { name: "general".into(), members: BTreeSet::new() };
        self.rooms.entry("general".into()).or_insert(general).members.insert(fold(user));
        Ok(Reply::With(user.to_string()))
    }

    fn msg(&mut self, me: &str, at: u64, to: Chat, id: String, text: String) -> Result<Reply, Ko> {
        if let Some(&i) = self.users[&fold(me)].sent.get(&id) {
            let m = &self.messages[i];
            return Ok(Reply::With(format!("{}:{}", m.id, m.ts))); // a resend
        }
        let (to_name, targets): (String, Vec<String>) = match &to {
            Chat::Room(room) => {
                let r = self.room_of(room, me).ok_or_else(|| not_member(room))?;
                (format!("#{}", r.name), r.members.iter().filter(|m| **m != fold(me)).cloned().collect())
            }
            Chat::User(user) => self.direct_to(user)?,
        };
        self.commit(at, me, &format_args!("MSG:{to}:{id}:{text}"))?;
        let from = self.users[&fold(me)].name.clone();
        let i = self.messages.len(); // where the message goes, below
        // Its sequence number is the recipient's own, given by `push`.
        let event = format!("{from}:{to_name}:{id}:{at}:{text}");
        let event = move |seq: u64| format!("MSG:{seq}:{event}");
        self.messages.push(Message {
            from,
            to: to_name,
            id: id.clone(),
            ts: at,
            text,
            state: State::Received,
        });
        self.users.get_mut(&fold(me)).expect("logged in").sent.insert(id.clone(), i);
        for target in targets {
            self.push(&target, Some(i), &event);
        }
        Ok(Reply::With(format!("{id}:{at}")))
    }

    /// `ACK:<seq>`: drops the events up to `seq`; the direct messages among
    /// them become `DELIVERED`, which their senders are told.
    fn ack(&mut self, me: &str, at: u64, seq: u64) -> Result<Reply, Ko> {
        let user = &self.users[&fold(me)];
        let upto = seq.min(user.seq); // an ACK past the last event counts as the last
        if user.inbox.front().is_none_or(|e| e.0 > upto) {
            return Ok(Reply::Ok); // nothing new: nothing to log
        }
        self.commit(at, me, &format_args!("ACK:{upto}"))?;
        let inbox = &mut self.users.get_mut(&fold(me)).expect("known").inbox;
        let mut acked = Vec::new();
        while inbox.front().is_some_and(|e| e.0 <= upto) {
            acked.extend(inbox.pop_front().and_then(|e| e.2));
        }
        // A peer's account: its server took our frames, its user has not got them yet.
        for i in acked.into_iter().filter(|_| !me.starts_with('@')) {
            if is_direct(&self.messages[i]) && self.messages[i].state == State::Received {
                self.set_state(i, State::Delivered, at);
            }
        }
        Ok(Reply::Ok)
    }

    /// `READ:<from>:<id>`: everything from `<from>` up to that message is
    /// read (one `STATUS` for the sender); in a room, a marker for `CHATS`.
    fn read(&mut self, me: &str, at: u64, chat: Chat, id: String) -> Result<Reply, Ko> {
        let to_me = |m: &Message| !is_direct(m) || fold(&m.to) == fold(me);
        let all = self.conversation(me, &chat);
        let found = all.iter().rev().find(|&&i| self.messages[i].id == id && to_me(&self.messages[i]));
        let &i =
            found.ok_or_else(|| Ko::new("UNKNOWN_MESSAGE", format!("no message {id} from {chat} to you")))?;
        let key = fold(&chat.to_string());
        let marker = self.users[&fold(me)].read_upto.get(&key);
        if marker.is_some_and(|&m| m >= i) || self.messages[i].state == State::Read {
            return Ok(Reply::Ok); // read already: nothing to log
        }
        self.commit(at, me, &format_args!("READ:{chat}:{id}"))?;
        self.users.get_mut(&fold(me)).expect("known").read_upto.insert(key, i);
        if let Chat::User(_) = chat {
            let earlier: Vec<usize> =
                all.into_iter().filter(|&j| j < i && to_me(&self.messages[j])).collect();
            for j in earlier {
                self.messages[j].state = State::Read;
            }
            self.set_state(i, State::Read, at);
        }
        Ok(Reply::Ok)
    }

    fn join(&mut self, me: &str, at: u64, room: String) -> Result<Reply, Ko> {
        if self.room_of(&room, me).is_none() {
            self.commit(at, me, &format_args!("JOIN:#{room}"))?;
            let new = Room { name: room.clone(), members: BTreeSet::new() };
            self.rooms.entry(fold(&room)).or_insert(new).members.insert(fold(me));
        }
        Ok(Reply::Ok)
    }

    fn leave(&mut self, me: &str, at: u64, room: String) -> Result<Reply, Ko> {
        self.room_of(&room, me).ok_or_else(|| not_member(&room))?;
        self.commit(at, me, &format_args!("LEAVE:#{room}"))?;
        let r = self.rooms.get_mut(&fold(&room)).expect("checked");
        r.members.remove(&fold(me));
        if r.members.is_empty() {
            self.rooms.remove(&fold(&room));
        }
        Ok(Reply::Ok)
    }

    /// Moves a message forward and queues the `STATUS` for its sender.
    fn set_state(&mut self, i: usize, state: State, at: u64) {
        let m = &mut self.messages[i];
        m.state = state;
        let sender = fold(&m.from);
        let status = format!("{}:{}:{}:{at}", m.to, m.id, state.as_str());
        self.push(&sender, Some(i), &|seq| format!("STATUS:{seq}:{status}"));
    }

    /// Queues an event (`event` writes its line given its number) under
    /// the user's next sequence number, and sends it at once if the user
    /// is online.
    fn push(&mut self, user: &str, msg: Option<usize>, event: &dyn Fn(u64) -> String) {
        let user = &self.inbox_of(user);
        let Some(u) = self.users.get_mut(user) else { return };
        u.seq += 1;
        let line = event(u.seq);
        u.inbox.push_back((u.seq, line.clone(), msg));
        if let Some(outlet) = self.online.get(user) {
            outlet.send(line);
        }
    }

    /// A receive login: replaces an older connection, tells roommates, and
    /// returns the inbox to replay. Under the lock, no event comes between
    /// the copy and the outlet: each later one waits in the channel, which
    /// the writer reads once the replay is out (a long inbox never fills it).
    fn attach(&mut self, me: &str, outlet: Outlet) -> Vec<String> {
        match self.online.insert(me.to_string(), outlet) {
            Some(old) => old.send("BYE:REPLACED".to_string()),
            None => self.presence(me, true),
        }
        self.users[me].inbox.iter().map(|(_, line, _)| line.clone()).collect()
    }

    /// The receive connection `id` ended (unless a newer one replaced it).
    fn detach(&mut self, me: &str, id: u64) {
        if self.online.get(me).is_some_and(|o| o.id == id) {
            self.online.remove(me);
            self.users.get_mut(me).expect("known").p2p = None;
            self.presence(me, false);
        }
    }

    /// `JOINED`/`LEFT` to those online who share a room (of ≤ 200, §5) with `me`.
    fn presence(&mut self, me: &str, joined: bool) {
        let user = self.users[me].name.clone();
        let shared = self.rooms.values().filter(|r| r.members.len() <= 200 && r.members.contains(me));
        let others: BTreeSet<&String> = shared.flat_map(|r| r.members.iter()).filter(|m| *m != me).collect();
        for outlet in others.into_iter().filter_map(|other| self.online.get(other)) {
            outlet.send(format!("{}:{user}", if joined { "JOINED" } else { "LEFT" }));
        }
    }

    /// `PEER:<user>`: a random token for both ends, and where to connect.
    fn peer(&mut self, me: &str, user: &str) -> Result<Reply, Ko> {
        let offline = || Ko::new("OFFLINE", format!("{user} is not connected"));
        let port = self.users.get(&fold(user)).and_then(|u| u.p2p).ok_or_else(offline)?;
        let outlet = self.online.get(&fold(user)).ok_or_else(offline)?;
        let ip = outlet.stream.peer_addr().map_err(|_| offline())?.ip();
        let token = random_hex(16)?;
        let from = &self.users[me].name;
        outlet.send(format!("P2P:{from}:{token}"));
        Ok(Reply::With(format!("{ip}:{port}:{token}")))
    }

    fn user(&self, name: &str) -> Result<&User, Ko> {
        self.users.get(&fold(name)).ok_or_else(|| Ko::new("UNKNOWN_USER", format!("no user named {name}")))
    }

    fn room_of(&self, room: &str, me: &str) -> Option<&Room> {
        self.rooms.get(&fold(room)).filter(|r| r.members.contains(&fold(me)))
    }

    /// The messages of a conversation of `me`, oldest first (a scan of them
    /// all: `wachat serve` keeps a chain per conversation); none if not in.
    fn conversation(&self, me: &str, chat: &Chat) -> Vec<usize> {
        let me = fold(me);
        let other = fold(&chat.to_string());
        let wanted = |m: &Message| match chat {
            Chat::Room(room) => fold(&m.to) == other && self.room_of(room, &me).is_some(),
            Chat::User(_) => {
                let from = fold(&m.from);
                let to = fold(&m.to);
                is_direct(m) && ((from == me && to == other) || (from == other && to == me))
            }
        };
        (0..self.messages.len()).filter(|&i| wanted(&self.messages[i])).collect()
    }

    fn history(&self, me: &str, chat: &Chat, limit: usize) -> Result<Reply, Ko> {
        match chat {
            Chat::Room(room) => _ = self.room_of(room, me).ok_or_else(|| not_member(room))?,
            Chat::User(user) if !user.contains('@') => _ = self.user(user)?,
            Chat::User(_) => {} // a peer's user: what this server has of the conversation
        }
        let all = self.conversation(me, chat);
        Ok(Reply::Listing(
            all[all.len().saturating_sub(limit)..].iter().map(|&i| self.messages[i].line()).collect(),
        ))
    }

    fn users_online(&self) -> Reply {
        let mut names: Vec<String> = self.online.keys().map(|k| self.users[k].name.clone()).collect();
        names.sort_by_key(|n| fold(n));
        Reply::Listing(names)
    }

    fn rooms_of(&self, me: &str) -> Reply {
        let mut mine: Vec<&Room> = self.rooms.values().filter(|r| r.members.contains(me)).collect();
        mine.sort_by_key(|r| fold(&r.name));
        Reply::Listing(mine.iter().map(|r| format!("#{}:{}", r.name, r.members.len())).collect())
    }

    /// Every conversation with a message, most recent first, with how many
    /// of its messages to `me` are unread.
    fn chats(&self, me: &str) -> Reply {
        let mut order: Vec<(String, u64)> = Vec::new(); // (chat as shown, unread), oldest first
        for (i, m) in self.messages.iter().enumerate() {
            let (key, unread) = if let Some(room) = m.to.strip_prefix('#') {
                let Some(r) = self.room_of(room, me) else { continue };
                let marker = self.users[me].read_upto.get(&fold(&m.to));
                (format!("#{}", r.name), fold(&m.from) != me && marker.is_none_or(|&at| i > at))
            } else if fold(&m.from) == me {
                (m.to.clone(), false)
            } else if fold(&m.to) == me {
                (m.from.clone(), m.state != State::Read)
            } else {
                continue;
            };
            let before = order.iter().position(|(k, _)| fold(k) == fold(&key)).map(|at| order.remove(at).1);
            order.push((key, before.unwrap_or(0) + u64::from(unread)));
        }
        Reply::Listing(order.iter().rev().map(|(k, n)| format!("{k}:{n}")).collect())
    }
}

/// Random bytes as hex digits: P2P tokens, the identity.
fn random_hex(bytes: usize) -> Result<String, Ko> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Ko::new("INTERNAL", e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn is_direct(m: &Message) -> bool {
    !m.to.starts_with('#')
}

fn not_member(room: &str) -> Ko {
    Ko::new("NOT_MEMBER", format!("you are not in #{room}"))
}

// ───────────────────────── Replies ─────────────────────────

/// One reply of the send port (§2), written with its newline(s).
enum Reply {
    /// `OK`
    Ok,
    /// `OK:<fields>`: a name, `<id>:<ts>`, a peer's address.
    With(String),
    /// `OK:<n>`, then the `n` lines.
    Listing(Vec<String>),
    /// `KO:<CODE>:<reason>`
    Ko(Ko),
}

/// A refusal: a code for programs, a reason for people.
struct Ko {
    code: &'static str,
    reason: String,
}

impl Ko {
    fn new(code: &'static str, reason: impl Into<String>) -> Ko {
        Ko { code, reason: reason.into().replace(['\r', '\n'], " ") } // a reason is one line
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => writeln!(f, "OK"),
            Reply::With(fields) => writeln!(f, "OK:{fields}"),
            Reply::Listing(lines) => {
                writeln!(f, "OK:{}", lines.len())?;
                lines.iter().try_for_each(|line| writeln!(f, "{line}"))
            }
            Reply::Ko(ko) => writeln!(f, "KO:{}:{}", ko.code, ko.reason),
        }
    }
}

// ───────────────────────── Framing ─────────────────────────

/// Longest frame, its `\n` included (§1).
const MAX_FRAME: usize = 16384;

/// Why no frame came.
enum FrameError {
    /// The peer closed the connection.
    Closed,
    /// No whole frame by the deadline.
    TimedOut,
    /// More than `MAX_FRAME` bytes without a `\n`.
    TooLong,
    /// A whole frame that is not UTF-8 (it is dropped; the next one is read).
    NotUtf8,
    /// The socket failed.
    Io,
}

/// Cuts what a socket brings into frames: the bytes up to each `\n`.
/// TCP knows no lines; one `read` may bring half a frame or three.
struct Frames<S = TcpStream> {
    stream: S,
    /// Bytes read and not yet a whole frame.
    buffered: Vec<u8>,
}

impl<S: Socket> Frames<S> {
    fn new(stream: S) -> Frames<S> {
        Frames { stream, buffered: Vec::new() }
    }

    /// The next frame, without its `\n` (nor a `\r` right before it), if
    /// it is whole by `deadline`: a client that dribbles a byte at a time
    /// gets no more time than one that sends nothing.
    fn next(&mut self, deadline: Instant) -> Result<String, FrameError> {
        loop {
            if let Some(end) = self.buffered.iter().position(|&b| b == b'\n') {
                let mut frame: Vec<u8> = self.buffered.drain(..=end).collect();
                if frame.len() > MAX_FRAME {
                    return Err(FrameError::TooLong);
                }
                frame.pop(); // the `\n`
                if frame.last() == Some(&b'\r') {
                    frame.pop();
                }
                return String::from_utf8(frame).map_err(|_| FrameError::NotUtf8);
            }
            if self.buffered.len() >= MAX_FRAME {
                return Err(FrameError::TooLong);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.socket().set_read_timeout(Some(left)).is_err() {
                return Err(FrameError::TimedOut);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(FrameError::Closed),
                Ok(n) => self.buffered.extend_from_slice(&chunk[..n]),
                // Woken up before the deadline: the loop looks at the clock again.
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(FrameError::Io),
            }
        }
    }
}

// ───────────────────────── Text and names ─────────────────────────

/// Longest text, once unescaped (§1).
const MAX_TEXT: usize = 4096;

/// Names are unique ignoring case: every map is keyed by the folded name.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn bad(reason: impl Into<String>) -> Ko {
    Ko::new("BAD_REQUEST", reason)
}

/// A user's name (a room's, after its `#`): 1–32 of `A-Z a-z 0-9 _ . -`.
fn check_name(name: &str) -> Result<String, Ko> {
    check_word(name, 32, "_.-")
}

/// A message id: 1–64 of `A-Z a-z 0-9 _ -`.
fn check_id(id: &str) -> Result<String, Ko> {
    check_word(id, 64, "_-")
}

fn check_word(word: &str, longest: usize, marks: &str) -> Result<String, Ko> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || marks.contains(c);
    match word.len() {
        n if (1..=longest).contains(&n) && word.chars().all(allowed) => Ok(word.to_string()),
        _ => Err(bad(format!("bad name or id {word:?}: 1 to {longest} of A-Z a-z 0-9 {marks}"))),
    }
}

/// A text as it travels: escaped, so that a message is one line (`\\` is
/// a backslash, `\n` a newline, nothing else may follow a `\`), and 1 to
/// `MAX_TEXT` bytes once unescaped. It is kept and sent on escaped, as it
/// came: this server never needs the text unescaped, only checked.
fn check_text(escaped: &str) -> Result<String, Ko> {
    let mut unescaped_len = 0;
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        unescaped_len += match c {
            '\\' => match chars.next() {
                Some('\\' | 'n') => 1,
                other => {
                    return Err(bad(format!("bad escape \\{}: only \\\\ and \\n", other.unwrap_or(' '))));
                }
            },
            c => c.len_utf8(),
        };
    }
    match unescaped_len {
        1..=MAX_TEXT => Ok(escaped.to_string()),
        n => Err(bad(format!("a text is 1 to {MAX_TEXT} bytes, not {n}"))),
    }
}

/// An email (may be empty): one `@`, no space or comma.
fn check_email(email: &str) -> Result<String, Ko> {
    let ok = email.is_empty() || (email.len() <= 254 && email.contains('@') && !email.contains([' ', ',']));
    if ok { Ok(email.to_string()) } else { Err(bad(format!("bad email {email:?}"))) }
}

/// Where a message goes, or which conversation: a user, or a `#room`.
#[derive(Clone)]
enum Chat {
    User(String),
    /// The room's name, without its `#`.
    Room(String),
}

impl Chat {
    fn parse(field: &str) -> Result<Chat, Ko> {
        match field.strip_prefix('#') {
            Some(room) => Ok(Chat::Room(check_name(room)?)),
            None => Ok(Chat::User(check_user(field)?)),
        }
    }
}

impl fmt::Display for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chat::User(user) => f.write_str(user),
            Chat::Room(room) => write!(f, "#{room}"),
        }
    }
}

// ───────────────────────── Requests ─────────────────────────

/// A request of version 1 (§3, §4), checked field by field.
enum Request {
    Login { user: String, password: String },
    Register { user: String, password: String }, // the email is checked, not kept
    Msg { to: Chat, id: String, text: String },
    Read { chat: Chat, id: String },
    Join { room: String },
    Leave { room: String },
    History { chat: Chat, limit: usize },
    P2p { port: u16 },
    Peer { user: String },
    Users,
    Rooms,
    Chats,
    Ping,
    Quit,
}

/// The command word: what comes before the first `:`.
fn word(line: &str) -> &str {
    line.split(':').next().unwrap_or("")
}

/// The `n` fields of `line`, the last one taking the rest of the line
/// (colons included: a password, a text), or why not.
fn fields(line: &str, n: usize) -> Result<Vec<&str>, Ko> {
    let fields: Vec<&str> = line.splitn(n, ':').collect();
    match fields.len() == n {
        true => Ok(fields),
        false => Err(bad(format!("{} takes {} fields", word(line), n - 1))),
    }
}

impl Request {
    fn parse(line: &str) -> Result<Request, Ko> {
        let room =
            |field: &str| check_name(field.strip_prefix('#').ok_or_else(|| bad("a room starts with #"))?);
        let password = |p: &str| if p.is_empty() { Err(bad("an empty password")) } else { Ok(p.to_string()) };
        Ok(match word(line) {
            "LOGIN" => {
                let f = fields(line, 3)?;
                Request::Login { user: check_name(f[1])?, password: password(f[2])? }
            }
            "REGISTER" => {
                let f = fields(line, 4)?;
                check_email(f[2])?;
                Request::Register { user: check_name(f[1])?, password: password(f[3])? }
            }
            "MSG" => {
                let f = fields(line, 4)?;
                Request::Msg { to: Chat::parse(f[1])?, id: check_id(f[2])?, text: check_text(f[3])? }
            }
            "READ" => {
                let f = fields(line, 3)?;
                Request::Read { chat: Chat::parse(f[1])?, id: check_id(f[2])? }
            }
            "JOIN" => Request::Join { room: room(fields(line, 2)?[1])? },
            "LEAVE" => Request::Leave { room: room(fields(line, 2)?[1])? },
            "HISTORY" => {
                let f = fields(line, 3)?;
                let limit =
                    f[2].parse().map_err(|_| bad(format!("the limit is a number, not {:?}", f[2])))?;
                Request::History { chat: Chat::parse(f[1])?, limit }
            }
            "P2P" => match fields(line, 2)?[1].parse() {
                Ok(port) if port != 0 => Request::P2p { port },
                _ => return Err(bad("a port is 1 to 65535")),
            },
            "PEER" => Request::Peer { user: check_name(fields(line, 2)?[1])? },
            "USERS" | "ROOMS" | "CHATS" | "PING" | "QUIT" if line.contains(':') => {
                return Err(bad(format!("{} takes no fields", word(line))));
            }
            "USERS" => Request::Users,
            "ROOMS" => Request::Rooms,
            "CHATS" => Request::Chats,
            "PING" => Request::Ping,
            "QUIT" => Request::Quit,
            other => return Err(bad(format!("unknown request {other:?}"))),
        })
    }
}

/// `ACK:<seq>` on the receive port (and in the log).
fn parse_ack(line: &str) -> Option<u64> {
    line.strip_prefix("ACK:")?.parse().ok()
}

// ───────────────────────── Federation ─────────────────────────
// The class network, protocol 1.3 (docs/PROTOCOL.md §27). A peer's user
// (`ana@lab2`) has an account here that cannot log in, so that the
// handlers above serve it as any user; a peer has one too (`@lab2`),
// whose inbox is the queue of frames for it, numbered by its `seq`. The
// link port takes the frames of the peers that dial us; a dialer thread
// per peer sends them their queue. A link's changes are logged as
// `<ts>:@<peer>:<what>` and replayed by `Server::replay_link`. Every
// link is TLS (rustls): each server has a key pair in its data directory
// (`link-key.pem`, `link-cert.pem`), and the roster has the fingerprint
// of each one's certificate; both ends take only the roster's.
// It carries text, not files: a file's `UPLOAD`, `PART` or `FILE` frame
// is refused for good, in words, and the sender's server bounces it.

use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// What frames are read from: a socket, or TLS over one (a link), whose
/// socket takes the read timeouts.
trait Socket: Read {
    fn socket(&self) -> &TcpStream;
}

impl Socket for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl<C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>, D: rustls::SideData> Socket
    for rustls::StreamOwned<C, TcpStream>
{
    fn socket(&self) -> &TcpStream {
        &self.sock
    }
}

/// A server of the roster: a line `name,host,port,fingerprint`.
struct Peer {
    name: String,
    addr: String,
    fingerprint: String, // "" on a line without one: no link with it
}

/// This server in the network, fixed at start: the roster is read once.
struct Net {
    me: Peer,
    peers: Vec<Peer>,
    identity: String,              // 32 hex digits, made at the first start (identity.txt)
    cert: CertificateDer<'static>, // our link certificate, and its key
    key: PrivateKeyDer<'static>,
    link_port: u16,
    give_up_ms: u64,
    queue_max: u64,
    timeout: Duration,
}

static NET: OnceLock<Net> = OnceLock::new();

fn net() -> &'static Net {
    NET.get().expect("called in a network only")
}

fn peer(name: &str) -> Option<&'static Peer> {
    net().peers.iter().find(|p| fold(&p.name) == fold(name))
}

/// `Err` with `code` and `why` unless `ok`.
fn require(ok: bool, code: &'static str, why: String) -> Result<(), Ko> {
    if ok { Ok(()) } else { Err(Ko::new(code, why)) }
}

/// A user: a name, or `<user>@<server>` (a peer's user), both parts names.
fn check_user(name: &str) -> Result<String, Ko> {
    name.splitn(2, '@').try_for_each(|part| check_name(part).map(drop))?;
    Ok(name.to_string())
}

/// A number of a frame: digits, below 2^53 (what a double holds exactly).
fn number(digits: &str) -> Option<u64> {
    digits.parse().ok().filter(|&n: &u64| n < 1 << 53 && !digits.starts_with('+'))
}

/// What no text from a peer may hold: a control character (a tab aside)
/// or a line separator, which would break a console's or a browser's line.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t') || "\u{2028}\u{2029}".contains(c)
}

/// A reason from a peer, safe to show and store: one line of at most 200
/// characters, without a backslash (texts escape with it).
fn clean_reason(reason: &str) -> String {
    reason.chars().take(200).map(|c| if unsafe_char(c) || c == '\\' { ' ' } else { c }).collect()
}

/// Reads the roster and this data's identity (with `--peers`; the flags
/// of the network are `--name`, `--peers`, `--link-port`, `--give-up`
/// seconds and `--link-queue-max`).
fn join_network(flags: &[(String, String)], dir: &Path, timeout: Duration) -> Result<(), String> {
    let known = ["--name", "--peers", "--link-port", "--give-up", "--link-queue-max"];
    if let Some((flag, _)) = flags.iter().find(|(flag, _)| !known.contains(&flag.as_str())) {
        return Err(format!("unknown option {flag}: see the top of examples/tiny_server.rs"));
    }
    let value = |flag: &str| flags.iter().rev().find(|(f, _)| f == flag).map(|(_, v)| v.as_str());
    let number = |flag: &str, default: u64| match value(flag) {
        Some(v) => v.trim_end_matches('s').parse().map_err(|_| format!("bad value for {flag}: {v:?}")),
        None => Ok(default),
    };
    let Some(roster) = value("--peers") else { return Ok(()) };
    let mut peers = Vec::new();
    for line in std::fs::read_to_string(roster).map_err(|e| format!("{roster}: {e}"))?.lines() {
        let (name, host, port, print) = match line.split(',').map(str::trim).collect::<Vec<_>>()[..] {
            [name, host, port, print] if print.contains(':') => (name, host, port, print),
            [name, host, port, _secret] => (name, host, port, ""), // an old line: no link with it
            [name, host, port, _secret, print] => (name, host, port, print),
            _ => continue,
        };
        peers.push(Peer { name: name.into(), addr: format!("{host}:{port}"), fingerprint: print.into() });
    }
    let name = value("--name").unwrap_or_default();
    let mine = peers.iter().position(|p| fold(&p.name) == fold(name));
    let me = peers.remove(mine.ok_or(format!("{roster}: no line for --name {name:?}"))?);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("identity.txt");
    let identity = std::fs::read_to_string(&path).or_else(|_| random_hex(16).map_err(|ko| ko.reason))?;
    std::fs::write(&path, &identity).map_err(|e| format!("{}: {e}", path.display()))?;
    let link_port = u16::try_from(number("--link-port", 7001)?).map_err(|e| format!("--link-port: {e}"))?;
    let (give_up_ms, queue_max) = (number("--give-up", 86400)? * 1000, number("--link-queue-max", 100_000)?);
    let (cert, key) = link_key(dir)?;
    let _ = NET.set(Net { me, peers, identity, cert, key, link_port, give_up_ms, queue_max, timeout });
    Ok(())
}

/// Our link key, made at the first start: a self-signed certificate and
/// its private key, PEM, in the data directory (`wachat serve` writes the
/// key readable by its owner only; this server has no such care).
fn link_key(dir: &Path) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), String> {
    let (cert_path, key_path) = (dir.join("link-cert.pem"), dir.join("link-key.pem"));
    if !key_path.exists() {
        let made =
            rcgen::generate_simple_self_signed(vec!["wachat-link".into()]).map_err(|e| e.to_string())?;
        std::fs::write(&key_path, made.signing_key.serialize_pem()).map_err(|e| e.to_string())?;
        std::fs::write(&cert_path, made.cert.pem()).map_err(|e| e.to_string())?;
    }
    let cert =
        CertificateDer::from_pem_file(&cert_path).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    Ok((cert, key))
}

/// A certificate's SHA-256, as the roster writes it: `AB:CD:…`.
fn fingerprint(cert: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// How our links take the other end's certificate: as a dialer, only
/// with the fingerprint of the peer dialed (`Some`); as the link port,
/// any (`None`): whose it is, the hello says, and `hello` checks.
#[derive(Debug)]
struct Pin(Option<String>);

fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

impl ServerCertVerifier for Pin {
    fn verify_server_cert(
        &self,
        cert: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ours = self.0.as_ref().is_some_and(|p| p.eq_ignore_ascii_case(&fingerprint(cert)));
        let no = rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure);
        if ours { Ok(ServerCertVerified::assertion()) } else { Err(no) }
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls12_signature(m, c, d, &algorithms())
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls13_signature(m, c, d, &algorithms())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}

impl ClientCertVerifier for Pin {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls12_signature(m, c, d, &algorithms())
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Signed {
        rustls::crypto::verify_tls13_signature(m, c, d, &algorithms())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}

type Signed = Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>;

/// The link port's TLS: our certificate, and one required of the dialer.
fn tls_server() -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let net = net();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(Pin(None)))
            .with_single_cert(vec![net.cert.clone()], net.key.clone_key())?;
    Ok(Arc::new(config))
}

/// A dialer's TLS to `peer`: our certificate shown, its own taken only
/// with its roster fingerprint.
fn tls_client(peer: &Peer) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let net = net();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pin(Some(peer.fingerprint.clone()))))
            .with_client_auth_cert(vec![net.cert.clone()], net.key.clone_key())?;
    Ok(Arc::new(config))
}

/// In a network, the link port and a dialer per peer; what `listening:` adds.
fn open_links(chat: &Shared, timeout: Duration) -> Result<String, String> {
    let Some(net) = NET.get() else { return Ok(String::new()) };
    let listener =
        TcpListener::bind(("127.0.0.1", net.link_port)).map_err(|e| format!("cannot listen: {e}"))?;
    let port = listener.local_addr().map_or(0, |a| a.port());
    let chat_of_links = chat.clone();
    thread::spawn(move || listen(listener, chat_of_links, timeout, serve_link));
    for peer in &net.peers {
        let chat = chat.clone();
        thread::spawn(move || dial(&chat, peer));
    }
    Ok(format!(" link {port}"))
}

/// A link we dial: TLS over a socket.
type Dialed = Frames<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

/// Connects to `peer` over TLS, says `line` (our `HELLO`) and reads the
/// answer.
fn ask(peer: &Peer, line: &str, wait: Duration) -> io::Result<(Dialed, String)> {
    let to = peer.addr.to_socket_addrs()?.next().ok_or(io::ErrorKind::NotFound)?;
    let stream = TcpStream::connect_timeout(&to, net().timeout)?;
    stream.set_write_timeout(Some(net().timeout))?;
    let name = ServerName::try_from("wachat-link").map_err(io::Error::other)?;
    let tls = rustls::ClientConnection::new(tls_client(peer).map_err(io::Error::other)?, name);
    let mut frames = Frames::new(rustls::StreamOwned::new(tls.map_err(io::Error::other)?, stream));
    writeln!(frames.stream, "{line}")?;
    let answer = frames.next(Instant::now() + wait).map_err(|_| io::Error::other("no answer"))?;
    Ok((frames, answer))
}

/// The link port, TLS: a peer's `HELLO`, then its numbered frames, each
/// taken and answered.
fn serve_link(stream: &TcpStream, chat: &Shared, timeout: Duration) {
    let Ok(input) = stream.try_clone() else { return };
    let Ok(tls) = tls_server()
        .map_err(io::Error::other)
        .and_then(|c| rustls::ServerConnection::new(c).map_err(io::Error::other))
    else {
        return;
    };
    let mut frames = Frames::new(rustls::StreamOwned::new(tls, input));
    let mut peer = None; // who is speaking, once its hello passed
    loop {
        let answer = match (frames.next(Instant::now() + timeout), &peer) {
            (Err(FrameError::TooLong), _) => "KO:TOO_LONG:16384 bytes at most".into(),
            (Err(FrameError::TimedOut), _) => "KO:TIMEOUT:no frame for too long".into(),
            (Err(_), _) => return,
            (Ok(line), None) => match line.split(':').collect::<Vec<_>>()[..] {
                ["HELLO", "1.3", from, to, _secret, key, id] => {
                    let shown = frames
                        .stream
                        .conn
                        .peer_certificates()
                        .and_then(|c| c.first().map(|c| fingerprint(c)));
                    let said = hello(chat, stream, &shown.unwrap_or_default(), [from, to, key, id]);
                    peer = said.as_ref().ok().map(|(name, _)| name.clone());
                    said.map_or_else(
                        |ko| format!("KO:{}:{}", ko.code, ko.reason),
                        |(_, last)| format!("OK:{last}"),
                    )
                }
                _ => "KO:BAD_REQUEST:a link starts with HELLO:1.3:… (§27)".into(),
            },
            (Ok(line), Some(_)) if line == "PING" => "PONG".into(),
            (Ok(line), Some(_)) if line == "QUIT" => "OK".into(),
            (Ok(line), Some(peer)) => {
                let mut chat = lock(chat);
                let at = chat.now();
                match (chat.take(peer, at, &line), line.split(':').nth(1).and_then(number)) {
                    (Ok(n), _) => format!("ACK:{n}"),
                    (Err(ko), Some(n)) => format!("KO:{n}:{}:{}", ko.code, ko.reason),
                    (Err(ko), None) => format!("KO:{}:{}", ko.code, ko.reason),
                }
            }
        };
        let ends = peer.is_none() || answer == "OK" || answer.starts_with("KO:T"); // TIMEOUT, TOO_LONG
        if writeln!(frames.stream, "{answer}").is_err() || ends {
            return;
        }
    }
}

/// The checks of a hello, in the order of §27: its key field and
/// identity as §27 has them, its names against the roster, the key its
/// connection showed (`shown`) against the roster's fingerprint; the peer
/// (folded) and the last frame taken from it, for `OK:<last>`.
fn hello(chat: &Shared, link: &TcpStream, shown: &str, fields: [&str; 4]) -> Result<(String, u64), Ko> {
    let [from, to, key, id] = fields;
    let word = (16..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    let hex = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    require(word && hex, "BAD_REQUEST", "a key is 16–64 of A-Z a-z 0-9, an identity 32 hex digits".into())?;
    let me = &net().me.name;
    let peer = peer(from).filter(|_| fold(to) == fold(me));
    let peer = peer.ok_or(Ko::new("UNKNOWN_SERVER", format!("this is {me}, {from} not in its roster")))?;
    let same_key = !peer.fingerprint.is_empty() && peer.fingerprint.eq_ignore_ascii_case(shown);
    let wrong_key =
        format!("this link's key is not {from}'s (the roster's fingerprint for it is {})", peer.fingerprint);
    require(same_key, "AUTH_FAILED", wrong_key)?;
    let secret = peer.fingerprint.replace(':', ""); // the pin is under the key
    let (account, mut chat) = (format!("@{}", fold(from)), lock(chat));
    let pinned = chat.users.get(&account).and_then(|p| p.pin.clone()).filter(|(_, then)| *then == secret);
    if let Some((pinned, _)) = pinned {
        let why =
            format!("{from} was {pinned}, it is now {id}; refused until it has a new link key in the roster");
        require(pinned == id, "AUTH_FAILED", why)?;
    } else {
        let (at, pin) = (chat.now(), format!("PIN:{id}:{secret}")); // met first, or under a new key
        chat.commit(at, &account, &pin)?;
        chat.replay_link(&account, at, &pin)?;
    }
    if let Some(older) = link.try_clone().ok().and_then(|link| chat.links.insert(account.clone(), link)) {
        let _ = older.shutdown(Shutdown::Both); // one link per peer: the newer
    }
    Ok((fold(from), chat.users.get(&account).map_or(0, |p| p.took)))
}

/// A thread per peer: while frames wait for it, a link. An unreachable
/// peer is dialed again after 1, 2, 4 … 60 s (± 20 %); what waited for it
/// past `--give-up` is bounced.
fn dial(chat: &Shared, peer: &Peer) {
    let (account, mut backoff) = (format!("@{}", fold(&peer.name)), Duration::ZERO);
    let why = format!("{} unreachable for {} s (--give-up)", peer.name, net().give_up_ms / 1000);
    loop {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        thread::sleep(Duration::from_millis(200).max(backoff.mul_f64(0.8 + f64::from(nanos % 400) / 1000.0)));
        let waiting = lock(chat).users.get(&account).is_some_and(|p| !p.inbox.is_empty());
        if !waiting || send_queue(chat, peer, &account).is_ok() {
            backoff = Duration::ZERO; // linked, or nothing to say: a next outage starts at 1 s
            continue;
        }
        backoff = (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut chat = lock(chat);
        let cutoff = chat.now().saturating_sub(net().give_up_ms);
        let ts = |line: &str| line.split(':').nth(5).and_then(|ts| ts.parse::<u64>().ok()).unwrap_or(0);
        let inbox = chat.users.get(&account).map(|p| p.inbox.clone()).unwrap_or_default();
        for (n, ..) in inbox.iter().filter(|e| ts(&e.1) < cutoff) {
            let at = chat.now();
            let _ = chat.bounce(&account, at, *n, &why); // the disk refused: tried again next time
        }
    }
}

/// One link: our hello (its `OK:<last>` acknowledges up to `last`), then
/// each frame and its answer, until the queue is empty (`QUIT`).
fn send_queue(chat: &Shared, peer: &Peer, account: &str) -> io::Result<()> {
    let net = net();
    // The secret and key fields are read by nobody now (§27): fixed words.
    let hello = format!("HELLO:1.3:{}:{}:-:0000000000000000:{}", net.me.name, peer.name, net.identity);
    let (mut frames, said) = ask(peer, &hello, net.timeout)?;
    let mut n: u64 = said.strip_prefix("OK:").and_then(number).ok_or(io::Error::other(said))?;
    let mut answer = format!("ACK:{n}");
    loop {
        let mut chat = lock(chat);
        let at = chat.now();
        let done = match answer.splitn(4, ':').collect::<Vec<_>>()[..] {
            ["ACK", m] if m == n.to_string() => chat.ack(account, at, n),
            ["KO", m, code, why]
                if m == n.to_string() && !["FULL", "INTERNAL", "UNAVAILABLE"].contains(&code) =>
            {
                chat.bounce(account, at, n, &format!("{} refused it: {why}", peer.name))
            }
            _ => return Err(io::Error::other(answer)), // refused for now, or no answer: it stays queued
        };
        done.map_err(|ko| io::Error::other(ko.reason))?;
        let Some(next) = chat.users.get(account).and_then(|p| p.inbox.front()) else {
            return writeln!(frames.stream, "QUIT");
        };
        let frame = chat.frame(next);
        n = next.0;
        drop(chat);
        writeln!(frames.stream, "{frame}")?;
        answer = frames.next(Instant::now() + net.timeout).map_err(|_| io::Error::other("no answer"))?;
    }
}

impl Server {
    /// Whose inbox an event for `user` waits in: a peer's user's waits in
    /// its server's account (`@lab2`), the queue of its link.
    fn inbox_of(&mut self, user: &str) -> String {
        let Some((_, server)) = user.split_once('@') else { return user.to_string() };
        let account = format!("@{}", fold(server));
        self.users.entry(account.clone()).or_default();
        account
    }

    /// A direct message's recipient as shown, and whose inbox it waits in:
    /// a user here (`bob`, or `bob@<this server>`), or a peer's user, while
    /// fewer than `--link-queue-max` frames wait for that peer.
    fn direct_to(&self, name: &str) -> Result<(String, Vec<String>), Ko> {
        let (user, server) = name.split_once('@').unwrap_or((name, ""));
        let here = NET.get().is_none_or(|net| server.is_empty() || fold(server) == fold(&net.me.name));
        if here {
            return Ok((self.user(user)?.name.clone(), vec![fold(user)]));
        }
        let no_such = || Ko::new("UNKNOWN_SERVER", format!("no server named {server} in the roster"));
        let peer = peer(server).ok_or_else(no_such)?;
        let waiting = self.users.get(&format!("@{}", fold(&peer.name))).map_or(0, |p| p.inbox.len() as u64);
        let why = format!("{waiting} messages wait for {server} (--link-queue-max)");
        require(waiting < net().queue_max, "FULL", why)?;
        Ok((name.to_string(), vec![fold(name)]))
    }

    /// A numbered frame from `peer`, `MSG:<n>:<from>:<to>:<id>:<ts>:<text>` or
    /// `STATUS:<n>:<from>:<to>:<id>:<state>:<ts>`: checked, logged, then applied as a
    /// replay applies a line, by the handlers of our users' requests (its
    /// user's account speaking); at or below the last taken: a duplicate.
    fn take(&mut self, peer: &str, at: u64, line: &str) -> Result<u64, Ko> {
        let (account, me) = (format!("@{peer}"), &net().me.name);
        // Files across servers (§27) are more than this server does: it
        // says so, and the sender's server bounces the message in words.
        let files = format!("{me} does not carry files (a small server, §27): send the file's link as text");
        require(!["UPLOAD", "PART", "FILE"].contains(&word(line)), "BAD_REQUEST", files)?;
        let f = fields(line, 7)?;
        let status = f[0] == "STATUS" && ["DELIVERED", "READ"].contains(&f[5]);
        let why = format!("{me} takes MSG and STATUS frames (its rooms stay its own), not {line:?}");
        require(status || f[0] == "MSG", "BAD_REQUEST", why)?;
        let n = number(f[1]).ok_or_else(|| bad(format!("{:?} is not a number", f[1])))?;
        let (speaker, ours, id) = (check_user(f[2])?, check_user(f[3])?, check_id(f[4])?);
        let ts = number(if status { f[6] } else { f[5] }).ok_or_else(|| bad("a time is a number"))?;
        let text = if status { String::new() } else { check_text(f[6])? };
        require(!text.contains(unsafe_char), "BAD_REQUEST", "a text holds no control character".into())?;
        let took = self.users.get(&account).map_or(0, |p| p.took);
        if n <= took {
            return Ok(n);
        }
        // §27's window, from the last frame taken (wachat counts from the
        // last frame answered on the link too: after a run of refusals).
        let why = format!("frame {n} is more than 1000000 past the last, {took}");
        require(n - took <= 1_000_000, "BAD_REQUEST", why)?;
        let theirs = speaker.split_once('@').is_some_and(|(_, server)| fold(server) == peer);
        require(theirs, "FORBIDDEN", format!("{peer} speaks only for its own users, not {speaker}"))?;
        let (user, server) = ours.split_once('@').unwrap_or_default();
        require(fold(server) == fold(me), "UNKNOWN_SERVER", format!("this is {me}, not {server}"))?;
        let user = self.user(user)?.name.clone();
        let to_speaker = |m: &Message| fold(&m.from) == fold(&user) && fold(&m.to) == fold(&speaker);
        let sent = self.messages.iter().rposition(|m| status && to_speaker(m) && m.id == id);
        require(!status || sent.is_some(), "UNKNOWN_MESSAGE", format!("{user} sent {speaker} no {id}"))?;
        self.commit(at, &account, &line)?;
        self.users.entry(account).or_default().took = n;
        self.users.entry(fold(&speaker)).or_insert_with(|| User { name: speaker.clone(), ..User::default() });
        let log = self.log.take(); // logged above: no line of the handlers' own
        let done = match (status, f[5]) {
            (false, _) => self.msg(&speaker, ts.min(at), Chat::User(user), id, text),
            (true, "READ") => self.read(&speaker, at, Chat::User(user), id),
            (true, _) => Ok(Reply::Ok),
        };
        if let Some(i) = sent.filter(|&i| self.messages[i].state == State::Received) {
            self.set_state(i, State::Delivered, at); // a DELIVERED (a READ has gone past it)
        }
        self.log = log;
        done.map(|_| n)
    }

    /// The frame of an event waiting in a peer's account, numbered by it:
    /// our user's message to its user, or the status of its user's one.
    fn frame(&self, (n, line, i): &Queued) -> String {
        let (m, me) = (&self.messages[i.unwrap_or_default()], &net().me.name);
        match line.split(':').collect::<Vec<_>>()[..] {
            ["STATUS", _, _, _, state, ts] => {
                format!("STATUS:{n}:{}@{me}:{}:{}:{state}:{ts}", m.to, m.from, m.id)
            }
            _ => format!("MSG:{n}:{}@{me}:{}:{}:{}:{}", m.from, m.to, m.id, m.ts, m.text),
        }
    }

    /// Our frame `n` will never be taken by a peer (`account`): it leaves
    /// the queue, and a message's author is told, in the chat (§27 "Failures").
    fn bounce(&mut self, account: &str, at: u64, n: u64, reason: &str) -> Result<Reply, Ko> {
        let Some(pos) = self.users.get(account).and_then(|p| p.inbox.iter().position(|e| e.0 == n)) else {
            return Ok(Reply::Ok);
        };
        let reason = clean_reason(reason);
        self.commit(at, account, &format_args!("KO:{n}:{reason}"))?;
        let (_, line, i) = self.users.get_mut(account).and_then(|p| p.inbox.remove(pos)).expect("found");
        if let (true, Some(i)) = (line.starts_with("MSG:"), i) {
            self.messages[i].state = State::Failed; // and the bounce a message in the chat, below
            let m = &self.messages[i];
            let text = format!("⚠ not delivered: {reason} (your message {})", m.id);
            let event = format!("{}:{}:_x{at}_failed:{at}:{text}", m.to, m.from);
            let (from, to, id) = (m.to.clone(), m.from.clone(), format!("_x{at}_failed"));
            self.push(&fold(&to), None, &|seq| format!("MSG:{seq}:{event}"));
            self.messages.push(Message { from, to, id, ts: at, state: State::Received, text });
        }
        Ok(Reply::Ok)
    }

    /// A line a link logged, run again: a bounce (`KO:<n>:<reason>`), the
    /// identity a peer was met with (`PIN:<identity>:<its key's
    /// fingerprint>`: a new key is a new server, its frames from 1), or a
    /// frame taken.
    fn replay_link(&mut self, account: &str, at: u64, what: &str) -> Result<Reply, Ko> {
        match what.splitn(3, ':').collect::<Vec<_>>()[..] {
            ["KO", n, reason] => self.bounce(account, at, n.parse().unwrap_or(0), reason),
            ["PIN", id, secret] => {
                let p = self.users.entry(account.to_string()).or_default();
                (p.took, p.pin) = (0, Some((id.into(), secret.into())));
                Ok(Reply::Ok)
            }
            _ => self.take(&account[1..], at, what).map(|_| Reply::Ok),
        }
    }
}
