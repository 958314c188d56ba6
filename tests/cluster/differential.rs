//! The differential test: the same random request script,
//! played against a single server and against a two-node cluster, must
//! get the same replies, step by step, and leave the same state, as the
//! listing requests show it (`HISTORY`, `ROOMINFO`, `PREFS`, `ARCHIVED`,
//! `BLOCKS`, `ROOMS`, `CHATS`, `MEMBERS`, `FILES`, `STARRED`, `LASTSEEN`,
//! `DEVICES`) — and every receive connection must have heard the same
//! events.
//!
//! A script is a pure function of its seed: four users, two rooms, a
//! handful of message ids (so that ids are sent again), moderation,
//! actions (an admin's deletion too), room reads, blocks, prefs,
//! archives, stars, files (uploaded, carried, fetched), passwords (a
//! `PASSWD` logging the other devices out, or `PASSWDKEEP`),
//! account deletions and registrations again (`REGISTER`, or `REDEEM`
//! with an invite code each backend prints: new, used, unknown),
//! refusals included;
//! acknowledgements (`ACK`) of what a device has heard, by users of one
//! device and of two; `TYPING` and `USERS`; and a user's devices
//! (`UNLINK` of one, which logs in again later with the password, and
//! `LINK` with a new device's `PAIR`, which then sends its user's next
//! requests); calls (`CALL`'s offers, answers,
//! candidates, declines and hang-ups, relayed across nodes, and `TURN`)
//! and the peer-to-peer rendezvous (`P2P`, `PEER`). On the cluster each user sends
//! through one node and receives through one node (both on the same node,
//! or not, one user of each kind), so that what a node tells its own
//! connections and what it tells the other node's are both played; bob
//! and carl have a second device, a `phone`, that receives through the
//! other node (so their copies, read marks and delivered ticks are
//! decided for devices on both nodes). Each receive device speaks the
//! version its seed draws, 1.0, 1.1 or 1.2, so that what an older client
//! is sent, and not sent, is compared too; and bob and carl send as
//! `default` or as their phone, as the seed draws, so that a device
//! unlinks itself and a `PASSWD` keeps the phone and logs `default` out.
//!
//! A failure prints the seed and the first differing step;
//! `WACHAT_DIFF_SEEDS=<first>..<end>` plays other seeds, and
//! `WACHAT_DIFF_STEPS` longer scripts, and `WACHAT_DIFF_TRACE=1` prints
//! every step, with each device's newest event number on each backend,
//! and at the end the events each device heard (docs/CLUSTER.md quotes
//! such a run):
//!
//! ```sh
//! WACHAT_DIFF_SEEDS=1..31 cargo test --release --features cluster --test cluster differential -- --nocapture
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::support::cluster::Cluster;
use super::support::{READ_TIMEOUT, Random, TestServer};

const USERS: [&str; 4] = ["ana", "bob", "eve", "carl"];
/// The receive devices, as (user, device): every user's `default`
/// (`LOGIN:<user>:<password>`), and a `phone` for bob and carl.
const DEVICES: [(usize, &str); 6] =
    [(0, "default"), (1, "default"), (2, "default"), (3, "default"), (1, "phone"), (3, "phone")];
/// How a script's clients connect. The cases below play [`LATEST`]; a
/// script's clients connect as its seed draws ([`clients`]).
#[derive(Clone, Copy)]
struct Clients {
    /// The protocol each receive device speaks, by its place in
    /// [`DEVICES`]: its minor version (`VERSION:1.<minor>` said before
    /// its `LOGIN`; none for 0, a 1.0 client).
    minors: [u8; DEVICES.len()],
    /// The device each user's send connection logs in as: `default`
    /// (`LOGIN:<user>:<password>`), or one of its receive devices
    /// (`LOGIN:<user>@<device>:<password>`), which its `UNLINK` or
    /// `PASSWD` then asks as.
    sends_as: [&'static str; USERS.len()],
}
/// Every receive device at 1.2, every user sending as `default`.
const LATEST: Clients = Clients { minors: [2; DEVICES.len()], sends_as: ["default"; USERS.len()] };
const ROOMS: [&str; 2] = ["#r1", "#r2"];
const IDS: [&str; 4] = ["m1", "m2", "m3", "m4"];
const PW: &str = "pw-differential";
/// The seeds CI plays, and how long their scripts are: a minute or so.
const CI_SEEDS: std::ops::Range<u64> = 1..4;
const CI_STEPS: usize = 90;
/// The same flags for both: names free again at once, so that a deleted
/// account may register again within a script; and the test's address
/// exempt from the per-address bucket, which each node counts on its own
/// (a bound on one machine's requests, not a rule of the chat: two nodes
/// let the four users' 127.0.0.1 make twice as many). Each user's own
/// `--rate` still counts, alike on both.
/// And calls ring as long as they may, so that none is missed by how
/// long a script takes: a call ends by its ends' signals, or as their
/// connections close.
const FLAGS: [&str; 6] = ["--name-quarantine-days", "0", "--exempt", "127.0.0.1", "--ring-seconds", "600"];

/// One request of a script: who sends it, and its line. `<file>` stands
/// for the sender's last uploaded file id on the backend that plays it;
/// `<new code>` for an invite code it prints now, `<last code>` for the
/// one it printed last (`nosuchcode` before the first).
#[derive(Clone, Debug)]
struct Step {
    user: usize,
    line: String,
}

/// How the clients of seed `seed`'s script connect, drawn apart from its
/// steps (a seed plays the steps it played before):
/// - each receive device speaks 1.2 half the time, else 1.1 or 1.0, so
///   that what each backend sends an older client is compared too, in the
///   replay and live: no copies, no read marks and no 1.2 event below 1.2
///   (their `<seq>`s skipped), `MEMBER` from 1.1 on, `BYE:REPLACED` for an
///   unlinked device below 1.2 (docs/PROTOCOL.md, "What a 1.2 device is
///   sent");
/// - bob and carl send as their `phone` half the time, so that a device
///   unlinks itself (its `OK`, then its connection closes) and a `PASSWD`
///   keeps the phone and logs `default` out.
fn clients(seed: u64) -> Clients {
    let mut r = Random(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let minors = LATEST.minors.map(|_| match r.below(4) {
        0 => 0,
        1 => 1,
        _ => 2,
    });
    let mut sends_as = LATEST.sends_as;
    for (user, device) in DEVICES.iter().filter(|(_, device)| *device != "default") {
        if r.below(2) == 1 {
            sends_as[*user] = device;
        }
    }
    Clients { minors, sends_as }
}

/// A 5-byte file and its sha256, for `UPLOAD`.
const FILE_BYTES: &[u8] = b"hello";
const FILE_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const FILE_B64: &str = "aGVsbG8=";

/// The script of `seed`, `steps` long.
fn script(seed: u64, steps: usize) -> Vec<Step> {
    let mut r = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut pick = |n: usize| r.below(n as u64) as usize;
    let mut out = Vec::new();
    // The messages sent so far (author, chat as the author named it, id):
    // what `STAR`, `UNSTAR` and `FILEOF` name, so that they find one.
    let mut sent: Vec<(usize, String, &str)> = Vec::new();
    // The calls offered so far (caller, callee, call id), refused or not:
    // what the other signals name.
    let mut calls: Vec<(usize, usize, &str)> = Vec::new();
    for _ in 0..steps {
        let mut user = pick(USERS.len());
        let peer = USERS[pick(USERS.len())];
        let room = ROOMS[pick(ROOMS.len())];
        let chat = if pick(2) == 0 { peer.to_string() } else { room.to_string() };
        let id = IDS[pick(IDS.len())];
        let other = IDS[pick(IDS.len())];
        let call = ["c1", "c2"][pick(2)];
        let kind = pick(75);
        let line = match kind {
            0..=5 => format!("MSG:{chat}:{id}:hello {id}"),
            6 | 7 => format!("JOIN:{room}"),
            8 => format!("LEAVE:{room}"),
            9 => format!("REPLY:{chat}:{id}:{other}:re {other}"),
            10 => format!("EDIT:{chat}:{id}:edited"),
            11 => format!("DELETE:{chat}:{id}"),
            12 => format!("REACT:{chat}:{id}:👍"),
            13 => format!("READ:{peer}:{id}"),
            14 => format!("TOPIC:{room}:topic {id}"),
            15 => format!("MODE:{room}:{}", ["+announce", "-announce", "+invite", "-invite"][pick(4)]),
            16 => format!("INVITE:{room}:{peer}"),
            17 => format!("KICK:{room}:{peer}"),
            18 => format!("BAN:{room}:{peer}:0"),
            19 => format!("UNBAN:{room}:{peer}"),
            20 => format!("MUTE:{room}:{peer}:60"),
            21 => format!("UNMUTE:{room}:{peer}"),
            22 => format!("OP:{room}:{peer}"),
            23 => format!("DEOP:{room}:{peer}"),
            24 => format!("ROOMINFO:{room}"),
            25 => format!("BLOCK:{peer}"),
            26 => format!("UNBLOCK:{peer}"),
            27 => format!("NOTIFY:{chat}:{}", ["all", "mentions", "none"][pick(3)]),
            28 => format!("PIN:{chat}"),
            29 => format!("UNPIN:{chat}"),
            30 => format!("ARCHIVE:{chat}"),
            31 => format!("UNARCHIVE:{chat}"),
            32 => format!("HISTORY:{chat}:20"),
            33 => format!("LASTSEEN:{peer}"),
            34 => format!("MEMBERS:{room}"),
            35 => "ROOMS".to_string(),
            36 => "SEARCH:*:hello".to_string(),
            37 => format!("UPLOAD:f{id}.txt:{}:{FILE_SHA}", FILE_BYTES.len()),
            38 => format!("PART:<file>:0:{FILE_B64}"),
            39 => format!("FILE:{chat}:{id}:<file>:a file"),
            40 => "FILES".to_string(),
            41 => "PREFS".to_string(),
            42 => "BLOCKS".to_string(),
            43 => "ARCHIVED".to_string(),
            44 => ["DELACCOUNT:wrong", "DELACCOUNT:pw-differential"][pick(4).min(1)].to_string(),
            45 | 46 => format!("STAR:{}", named(&sent, &mut pick, &mut user)),
            47 => format!("UNSTAR:{}", named(&sent, &mut pick, &mut user)),
            48 => "STARRED".to_string(),
            49 => format!("FILEOF:{}", named(&sent, &mut pick, &mut user)),
            50 => "FETCH:<file>:0".to_string(),
            51 => "CHATS".to_string(),
            // The same password again: a `PASSWD` with the right one logs
            // the user's other devices out (a later `<relink>` brings its
            // phone back), a `PASSWDKEEP` keeps them.
            52 => format!("{}:{}:{PW}", ["PASSWDKEEP", "PASSWD"][pick(2)], ["wrong", PW][pick(2)]),
            53 => format!("DELETE:{room}:{id}:{peer}"),
            54 => format!("READ:{room}:{id}"),
            55 => format!("MSG:#general:{id}:hello all"),
            // One of the user's devices acknowledges all it has heard.
            56 | 57 => {
                format!("<ack:{}>", if user % 2 == 1 { ["default", "phone"][pick(2)] } else { "default" })
            }
            58 => "DEVICES".to_string(),
            // A new account by `REGISTER`, or by `REDEEM` with a code
            // printed now, the code printed last (used, or given back by a
            // taken name) or one never printed (§14; each backend prints
            // its own: docs/CLUSTER-OPS.md, "the door").
            59 => match pick(4) {
                0 | 1 => format!("REGISTER:{}::{PW}", USERS[user]),
                2 => format!("REDEEM:<new code>:{}::{PW}", USERS[user]),
                _ => format!("REDEEM:<last code>:{}::{PW}", USERS[user]),
            },
            60 => format!("TYPING:{chat}"),
            61 => "USERS".to_string(),
            62 => format!("UNLINK:{}", ["phone", "phone", "tablet", "default"][pick(4)]),
            // The user's receive devices whose connection was closed
            // (unlinked) log in again, with the password.
            63 => "<relink>".to_string(),
            64 => "LINK".to_string(),
            // Calls (§24): an offer to anyone, and the other signals about
            // a call offered so far, sent by one of its two ends (or about
            // none yet); a relayed request, whose table a cluster keeps on
            // the caller's node.
            65 | 66 => format!("CALL:{peer}:{call}:OFFER:{}:v=0\\n", ["voice", "video"][pick(2)]),
            67 => format!("CALL:{}:ANSWER:v=0\\n", ringing(&calls, &mut pick, &mut user, Some(true))),
            68 => format!("CALL:{}:ICE:candidate {id}", ringing(&calls, &mut pick, &mut user, None)),
            69 => format!("CALL:{}:DECLINE", ringing(&calls, &mut pick, &mut user, Some(true))),
            70 => format!("CALL:{}:HANGUP", ringing(&calls, &mut pick, &mut user, None)),
            71 => "TURN".to_string(),
            // Peer-to-peer chat's rendezvous (§9): a port announced, a peer asked for.
            72 => format!("P2P:{}", 7000 + user),
            73 => format!("PEER:{peer}"),
            // A `tablet` pairs with the user's last `LINK` code, then logs in with its token.
            _ => "<pair>".to_string(),
        };
        if matches!(kind, 65 | 66) {
            calls.push((user, USERS.iter().position(|u| *u == peer).expect("a user"), call));
        }
        if matches!(kind, 0..=5 | 9 | 39) {
            sent.push((user, chat, id));
        } else if kind == 55 {
            sent.push((user, "#general".to_string(), id));
        }
        out.push(Step { user, line });
    }
    out
}

/// `<chat>:<from>:<id>` of one of the messages `sent` so far, as one of
/// its chat's users names it (a direct chat's other user is the chat;
/// that user is made the step's sender), or of none yet.
fn named(sent: &[(usize, String, &str)], pick: &mut impl FnMut(usize) -> usize, user: &mut usize) -> String {
    let Some((author, chat, id)) = sent.get(pick(sent.len().max(1))) else {
        return format!("{0}:{0}:m1", USERS[*user]);
    };
    let Some(peer) = USERS.iter().position(|u| u == chat) else {
        return format!("{chat}:{}:{id}", USERS[*author]);
    };
    *user = [*author, peer][pick(2)];
    let chat = if *user == *author { chat } else { USERS[*author] };
    format!("{chat}:{}:{id}", USERS[*author])
}

/// `<peer>:<call id>` of one of the `calls` offered so far, as one of its
/// ends names it (that end made the step's sender: the callee when
/// `callee` says so, else either, as the seed draws), or of none yet.
fn ringing(
    calls: &[(usize, usize, &str)],
    pick: &mut impl FnMut(usize) -> usize,
    user: &mut usize,
    callee: Option<bool>,
) -> String {
    let Some(&(caller, to, id)) = calls.get(pick(calls.len().max(1))) else {
        return format!("{}:c1", USERS[(*user + 1) % USERS.len()]);
    };
    let by_callee = callee.unwrap_or_else(|| pick(2) == 0);
    *user = if by_callee { to } else { caller };
    format!("{}:{id}", USERS[if by_callee { caller } else { to }])
}

/// The requests whose `OK:<n>` is followed by `n` lines.
fn is_listing(line: &str) -> bool {
    let word = line.split(':').next().unwrap_or("");
    [
        "HISTORY", "ROOMINFO", "PREFS", "ARCHIVED", "BLOCKS", "ROOMS", "CHATS", "MEMBERS", "FILES", "SEARCH",
        "STARRED", "DEVICES", "USERS",
    ]
    .contains(&word)
}

/// A line-oriented connection that reports a close as a value instead of
/// failing the test: a backend that closes early is a difference to show.
struct Line {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

const CLOSED: &str = "<closed>";

impl Line {
    fn connect(addr: SocketAddr) -> Line {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Line { reader: BufReader::new(stream.try_clone().unwrap()), stream }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => CLOSED.to_string(),
            Ok(_) => line.trim_end_matches('\n').to_string(),
        }
    }

    /// A request and its whole reply: one line, or a listing's head and lines.
    fn request(&mut self, request: &str) -> Vec<String> {
        if self.stream.write_all(format!("{request}\n").as_bytes()).is_err() {
            return vec![CLOSED.to_string()];
        }
        let head = self.line();
        let n: usize = match head.strip_prefix("OK:") {
            Some(n) if is_listing(request) => n.parse().unwrap_or(0),
            _ => 0,
        };
        let mut reply = vec![head];
        reply.extend((0..n).map(|_| self.line()));
        reply
    }
}

/// What differs from run to run whatever the backend: server clocks
/// (13-digit instants, the base-36 stamps of action ids, the seconds a
/// rate limit has left), file ids (and `PEER`'s tokens, of their shape),
/// and the numbers of the ids of moderation notices (`mod-<ms>-<n>`) and
/// missed calls (`call-<ms>-<n>`), counted by each node.
fn normalize(line: &str) -> String {
    let line = match line.split_once("try again in ") {
        Some((head, _)) if line.starts_with("KO:RATE_LIMITED:") => format!("{head}try again in <n> s"),
        _ => line.to_string(),
    };
    // A call's length, which the two backends' clocks measure apart.
    let line = match line.split_once(" call, ") {
        Some((head, _)) if head.ends_with("📞 Voice") || head.ends_with("📞 Video") => {
            format!("{head} call, <length>")
        }
        _ => line,
    };
    let line = ["mod-", "call-"].iter().fold(line, |line, prefix| match line.find(prefix) {
        Some(at) => {
            let notice: String = line[at..].chars().take_while(|&c| c != ':').collect();
            let numbered = notice.rsplit_once('-').map_or(notice.clone(), |(head, _)| format!("{head}-<n>"));
            line.replacen(&notice, &numbered, 1)
        }
        None => line,
    });
    clocks_and_files(&line)
}

fn clocks_and_files(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 32 {
            out.push_str("<file>");
            rest = &rest[32..];
        } else if digits == 13 && hex == 13 {
            out.push_str("<ts>");
            rest = &rest[13..];
        } else if hex > 0 {
            // A whole run at once, so that no instant is found inside a longer number.
            out.push_str(&rest[..hex]);
            rest = &rest[hex..];
        } else if let Some(stamp) = action_stamp(rest) {
            out.push_str(&rest[..2]);
            out.push_str("<stamp>");
            rest = &rest[stamp..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `_e<stamp>_…` (or `_d`, `_r`, `_u`, `_x`): where the stamp ends, for an
/// action id at the start of `s`.
fn action_stamp(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 4 || b[0] != b'_' || !b"edrux".contains(&b[1]) {
        return None;
    }
    let len = b[2..].iter().take_while(|c| c.is_ascii_digit() || c.is_ascii_lowercase()).count();
    (len >= 6 && b.get(2 + len) == Some(&b'_')).then_some(2 + len)
}

/// Events heard on a receive connection, gathered by a thread of its own
/// (which answers `PING`s, and never `ACK`s by itself: an acknowledgement
/// at any moment would make `HISTORY`'s states depend on timing; a
/// script's `<ack:…>` step acknowledges once every event has come).
type Heard = Arc<Mutex<Vec<String>>>;
/// How long an `<ack:…>` step waits for quiet, before and after its `ACK`.
const ACK_QUIET: Duration = Duration::from_millis(250);
/// The highest `<seq>` a receive connection has heard: what its `ACK` says.
type Newest = Arc<AtomicU64>;
/// Whether a receive connection is still open: its thread clears it when
/// the server closes the connection (`BYE:UNLINKED`, a deleted account).
type Open = Arc<AtomicBool>;
/// A receive connection's stream (to write `ACK`s on) and whether it is open.
type Listening = Option<(TcpStream, Open)>;

/// The device speaks protocol 1.`minor` (0: it says no `VERSION`).
/// `hang_up`: once the server has said `BYE` and shut its side, the
/// client hangs up, as a client does (a server reads on until the client
/// hangs up, and counts the user online meanwhile); otherwise it keeps
/// the connection open, as a client that goes on sending after its `BYE`.
fn listen(
    addr: SocketAddr,
    (user, device, minor): (&str, &str, u8),
    heard: Heard,
    newest: Newest,
    hang_up: bool,
) -> Listening {
    let mut conn = Line::connect(addr);
    let login = match device {
        "default" => format!("LOGIN:{user}:{PW}"),
        device => format!("LOGIN:{user}@{device}:{PW}"),
    };
    newest.store(0, Ordering::SeqCst);
    // Said before the `LOGIN`, where it is answered (after it, 1.1's is
    // not, and events could pass it).
    if minor > 0 && conn.request(&format!("VERSION:1.{minor}")) != ["OK"] {
        return None;
    }
    if conn.request(&login)[0] != format!("OK:{user}") {
        return None;
    }
    let keep = conn.stream.try_clone().unwrap();
    conn.stream.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let open = Open::new(AtomicBool::new(true));
    let still = open.clone();
    std::thread::spawn(move || {
        loop {
            let line = conn.line();
            if line == CLOSED {
                if hang_up {
                    let _ = conn.stream.shutdown(std::net::Shutdown::Both);
                }
                still.store(false, Ordering::SeqCst);
                return;
            }
            if line == "PING" {
                let _ = conn.stream.write_all(b"PONG\n");
                continue;
            }
            // A numbered event: `<KIND>:<seq>:…` (§6).
            if let Some(seq) = line.split(':').nth(1).and_then(|n| n.parse::<u64>().ok()) {
                newest.fetch_max(seq, Ordering::SeqCst);
            }
            if !line.starts_with("JOINED:") && !line.starts_with("LEFT:") {
                // Presence (who is online) depends on when connections
                // open; everything else must be told alike.
                heard.lock().unwrap().push(normalize(&line));
            }
        }
    });
    Some((keep, open))
}

/// The two backends, ready to play: a single server and a two-node
/// cluster on `cluster`, each started with `flags`, whose receive devices
/// connect as `clients` say and hang up after a `BYE` or not (`hang_up`,
/// [`listen`]).
fn backends(cluster: &Cluster, flags: &[&str], hang_up: bool, clients: Clients) -> [Player; 2] {
    let nodes = vec![cluster.node_with("a", flags), cluster.node_with("b", flags)];
    let single = TestServer::start_with(flags);
    // Where each prints its invite codes: the data directory, the database.
    let door = ["--data-dir".to_string(), single.data_dir.display().to_string()];
    [
        Player::with("single server", vec![single], door, hang_up, clients),
        Player::with(
            "two-node cluster",
            nodes,
            ["--store".to_string(), cluster.pg.url.clone()],
            hang_up,
            clients,
        ),
    ]
}

/// One backend playing scripts: its nodes, and each user's connections.
struct Player {
    name: &'static str,
    nodes: Vec<TestServer>,
    /// Each user's send connection, and the device it logged in as: the
    /// one [`Clients::sends_as`] names, or a `tablet` just paired.
    send: Vec<Option<(Line, &'static str)>>,
    /// A receive connection, what it heard, its newest `<seq>`: one each
    /// of [`DEVICES`], in that order.
    recv: Vec<Listening>,
    heard: Vec<Heard>,
    newest: Vec<Newest>,
    files: Vec<String>,
    /// Each user's last `LINK` code, until a `<pair>` step uses it.
    codes: Vec<Option<String>>,
    /// Where `wachat users invite` prints this backend's codes, and the
    /// last code it printed.
    door: [String; 2],
    invite: String,
    /// Whether the user's account was deleted (and not registered
    /// again): its steps then go out on a connection that does not log
    /// in, as a client that knows its account is gone. Logging in again
    /// at every step would spend the failed-login buckets, which each
    /// node counts on its own (a bound on guessing, not a rule of the
    /// chat: docs/CLUSTER.md), so long scripts would differ by them.
    deleted: Vec<bool>,
    /// Whether its receive connections hang up after a `BYE` (see [`listen`]).
    hang_up: bool,
    /// How its clients connect.
    clients: Clients,
}

impl Player {
    fn with(
        name: &'static str,
        nodes: Vec<TestServer>,
        door: [String; 2],
        hang_up: bool,
        clients: Clients,
    ) -> Player {
        let mut player = Player {
            name,
            nodes,
            send: USERS.iter().map(|_| None).collect(),
            recv: DEVICES.iter().map(|_| None).collect(),
            heard: DEVICES.iter().map(|_| Heard::default()).collect(),
            newest: DEVICES.iter().map(|_| Newest::default()).collect(),
            files: USERS.iter().map(|_| "none".to_string()).collect(),
            codes: USERS.iter().map(|_| None).collect(),
            door,
            invite: "nosuchcode".to_string(),
            deleted: USERS.iter().map(|_| false).collect(),
            hang_up,
            clients,
        };
        for (user, name) in USERS.iter().enumerate() {
            let mut c = Line::connect(player.send_node(user).send);
            assert_eq!(c.request(&format!("REGISTER:{name}::{PW}")), [format!("OK:{name}")]);
            player.listen(user);
        }
        player
    }

    /// The node a user sends through: ana and eve on the first, bob and carl on the second.
    fn send_node(&self, user: usize) -> &TestServer {
        &self.nodes[user % self.nodes.len()]
    }

    /// The node a device receives through: ana's and bob's default on the
    /// first, so that ana receives where she sends and bob where he does
    /// not; a phone on the other node than its user's default.
    fn recv_node(&self, slot: usize) -> &TestServer {
        let (user, device) = DEVICES[slot];
        &self.nodes[(user / 2 + usize::from(device != "default")) % self.nodes.len()]
    }

    /// Connects every receive device of `user` (again).
    fn listen(&mut self, user: usize) {
        for (slot, _) in DEVICES.iter().enumerate().filter(|(_, (owner, _))| *owner == user) {
            self.listen_device(slot);
        }
    }

    fn listen_device(&mut self, slot: usize) {
        let (user, device) = DEVICES[slot];
        let (heard, newest) = (self.heard[slot].clone(), self.newest[slot].clone());
        let who = (USERS[user], device, self.clients.minors[slot]);
        self.recv[slot] = listen(self.recv_node(slot).recv, who, heard, newest, self.hang_up);
    }

    /// `<relink>`: once what earlier steps made has come, `user`'s
    /// receive devices whose connection the server closed (an `UNLINK`)
    /// log in again with the password, and are sent what their inbox
    /// holds for them; the reply names each, and whether it got in.
    fn relink(&mut self, user: usize) -> Vec<String> {
        if self.deleted[user] {
            // Its connections were closed with the account: nothing to link.
            return vec!["<deleted>".to_string()];
        }
        self.settle_for(ACK_QUIET);
        let mut reply = Vec::new();
        for slot in (0..DEVICES.len()).filter(|&slot| DEVICES[slot].0 == user) {
            let closed = self.recv[slot].as_ref().is_none_or(|(_, open)| !open.load(Ordering::SeqCst));
            if closed {
                self.listen_device(slot);
                let got = if self.recv[slot].is_some() { "in" } else { "refused" };
                reply.push(format!("{}:{got}", DEVICES[slot].1));
            }
        }
        if reply.is_empty() {
            reply.push("<none closed>".to_string());
        }
        self.settle_for(ACK_QUIET);
        reply
    }

    /// A new invite code of this backend's, from `wachat users invite`.
    fn print_invite_code(&self) -> String {
        let args = ["invite", self.door[0].as_str(), self.door[1].as_str()];
        let printed = super::support::run_wachat_output("users", &args, READ_TIMEOUT);
        assert!(printed.status.success(), "{}: {}", self.name, String::from_utf8_lossy(&printed.stderr));
        String::from_utf8(printed.stdout).unwrap().trim().to_string()
    }

    /// `<pair>`: a new device, `tablet`, pairs with the user's last
    /// `LINK` code on a fresh connection, then logs in with its token;
    /// the user's next steps go out on the tablet's connection, until it
    /// closes (its `UNLINK`, a `PASSWD` from another device).
    fn pair(&mut self, user: usize) -> Vec<String> {
        let Some(code) = self.codes[user].take() else { return vec!["<no code>".to_string()] };
        let name = USERS[user];
        let paired = Line::connect(self.send_node(user).send).request(&format!("PAIR:{name}@tablet:{code}"));
        let Some(token) = paired[0].strip_prefix("OK:") else { return paired };
        let mut tablet = Line::connect(self.send_node(user).send);
        let login = tablet.request(&format!("LOGIN:{name}@tablet:{token}"));
        if login[0] == format!("OK:{name}") {
            self.send[user] = Some((tablet, "tablet"));
        }
        // The token is random: what both must agree on is that one came.
        [vec!["OK:<token>".to_string()], login].concat()
    }

    /// `user`'s `device` acknowledges every event it has heard, once all
    /// that earlier steps made has come, and what the acknowledgement
    /// makes (a sender's `DELIVERED`, an inbox trimmed) is done before
    /// the next step: `ACK:<seq>`, the number it acknowledged.
    fn ack(&mut self, user: usize, device: &str) -> Vec<String> {
        let slot = DEVICES.iter().position(|d| *d == (user, device)).expect("a device of the script");
        // Shorter than the end's wait: every event of the steps before
        // was made before their replies came (events go out once
        // durable, replies too), so only their trip is awaited.
        self.settle_for(ACK_QUIET);
        let seq = self.newest[slot].load(Ordering::SeqCst);
        let Some((recv, _)) = self.recv[slot].as_mut() else { return vec!["<no device>".to_string()] };
        // A connection the server closed (its account deleted) takes the
        // line or not: the same on both backends, which the end shows.
        let _ = recv.write_all(format!("ACK:{seq}\n").as_bytes());
        self.settle_for(ACK_QUIET);
        vec![format!("ACK:{seq}")]
    }

    /// Plays one step; its reply, normalized.
    fn play(&mut self, step: &Step) -> Vec<String> {
        self.play_raw(step).iter().map(|l| normalize(l)).collect()
    }

    /// Plays one step; its reply as it came.
    fn play_raw(&mut self, step: &Step) -> Vec<String> {
        let user = step.user;
        if let Some(device) = step.line.strip_prefix("<ack:").and_then(|d| d.strip_suffix('>')) {
            return self.ack(user, device);
        }
        match step.line.as_str() {
            "<relink>" => return self.relink(user),
            "<pair>" => return self.pair(user),
            // A connection through the other node reaches the leader a
            // moment after its client made it (a login, a `DELACCOUNT`
            // there):
            // what shows it (`USERS`, and `MEMBERS` and `LASTSEEN`, seed
            // 124), or depends on it (`PEER`, and calls, which need the
            // peer online and end as a device leaves: seed 5 offers a call
            // to a device that a `PASSWD` on the other node has just
            // logged out, seed 50 answers a call whose caller has just
            // deleted its account there), is asked once the earlier
            // steps' events have come.
            line if line == "USERS"
                || ["MEMBERS:", "LASTSEEN:", "PEER:", "CALL:"].iter().any(|word| line.starts_with(word)) =>
            {
                self.settle_for(ACK_QUIET)
            }
            _ => {}
        }
        if step.line.starts_with("REGISTER:") || step.line.starts_with("REDEEM:") {
            if step.line.contains("<new code>") {
                self.invite = self.print_invite_code();
            }
            let line = step.line.replace("<new code>", &self.invite).replace("<last code>", &self.invite);
            let mut fresh = Line::connect(self.send_node(user).send);
            let reply = fresh.request(&line);
            if reply[0].starts_with("OK:") {
                self.send[user] = None;
                self.deleted[user] = false;
                self.listen(user);
            }
            return reply;
        }
        if self.send[user].is_none() {
            let mut c = Line::connect(self.send_node(user).send);
            let device = self.clients.sends_as[user];
            // A deleted account's requests get what a connection not
            // logged in gets, on both backends alike.
            if !self.deleted[user] {
                let login = match device {
                    "default" => format!("LOGIN:{}:{PW}", USERS[user]),
                    device => format!("LOGIN:{}@{device}:{PW}", USERS[user]),
                };
                c.request(&login);
            }
            self.send[user] = Some((c, device));
        }
        let line = step.line.replace("<file>", &self.files[user]);
        let (conn, device) = self.send[user].as_mut().unwrap();
        let reply = conn.request(&line);
        if line.starts_with("UPLOAD:") && reply[0].starts_with("OK:") {
            self.files[user] = reply[0][3..].to_string();
        }
        if line == "LINK" && reply[0].starts_with("OK:") {
            // A code is random: what both must agree on is that one came.
            self.codes[user] = Some(reply[0][3..].to_string());
            return vec!["OK:<code>".to_string()];
        }
        let deleted = line.starts_with("DELACCOUNT:") && reply[0] == "OK";
        self.deleted[user] |= deleted;
        // Unlinking the device this connection logged in as closes it.
        let unlinked = line == format!("UNLINK:{device}") && reply[0] == "OK";
        if deleted || unlinked || reply[0] == CLOSED {
            // The server closes this connection (and the receive ones)
            // after the OK: the next step connects again (and, once the
            // account is deleted, does not log in).
            let rest = conn.line();
            self.send[user] = None;
            return [reply, vec![rest]].concat();
        }
        reply
    }

    /// Waits until no event has come for a while, so that what a node
    /// tells another's connections has arrived.
    fn settle(&self) {
        self.settle_for(Duration::from_millis(700));
    }

    /// Waits until no event has come for `quiet`.
    fn settle_for(&self, quiet: Duration) {
        let count = || self.heard.iter().map(|h| h.lock().unwrap().len()).sum::<usize>();
        let (mut last, mut since) = (count(), Instant::now());
        while since.elapsed() < quiet {
            std::thread::sleep(Duration::from_millis(50)); // polling the event threads
            if count() != last {
                (last, since) = (count(), Instant::now());
            }
        }
    }

    /// The final state, as each user's listing requests show it (asked
    /// on a fresh connection to the node it sends through: failed logins
    /// are counted by each node, a bound on guessing, not a rule of the
    /// chat), and the events heard.
    fn state(&mut self) -> Vec<(String, Vec<String>)> {
        self.settle();
        let mut state = Vec::new();
        for (i, user) in USERS.iter().enumerate() {
            let mut c = Line::connect(self.send_node(i).send);
            let login: Vec<String> =
                c.request(&format!("LOGIN:{user}:{PW}")).iter().map(|l| normalize(l)).collect();
            state.push((format!("{user} LOGIN"), login.clone()));
            if login[0] != format!("OK:{user}") {
                continue;
            }
            let mut asks: Vec<String> =
                ["PREFS", "ARCHIVED", "BLOCKS", "ROOMS", "CHATS", "FILES", "STARRED", "DEVICES"]
                    .map(String::from)
                    .to_vec();
            for chat in USERS.iter().chain(&ROOMS) {
                asks.push(format!("HISTORY:{chat}:100"));
            }
            for room in ROOMS {
                asks.push(format!("ROOMINFO:{room}"));
                asks.push(format!("MEMBERS:{room}"));
            }
            asks.extend(USERS.iter().map(|peer| format!("LASTSEEN:{peer}")));
            for ask in asks {
                let reply = c.request(&ask).iter().map(|l| normalize(l)).collect();
                state.push((format!("{user} {ask}"), reply));
            }
        }
        for (slot, (user, device)) in DEVICES.iter().enumerate() {
            let mut heard = self.heard[slot].lock().unwrap().clone();
            heard.sort();
            state.push((format!("{}@{device} events heard (sorted)", USERS[*user]), heard));
        }
        state
    }
}

/// What one seed showed: the steps whose replies differ, the state
/// entries that differ.
#[derive(Default)]
struct Outcome {
    replies: Vec<String>,
    states: Vec<String>,
}

fn play_seed(seed: u64, steps: usize) -> Outcome {
    let (script, clients) = (script(seed, steps), clients(seed));
    let cluster = Cluster::start();
    let [mut single, mut two] = backends(&cluster, &FLAGS, true, clients);
    let mut outcome = Outcome::default();
    for (n, step) in script.iter().enumerate() {
        let (one, other) = (single.play(step), two.play(step));
        if std::env::var_os("WACHAT_DIFF_TRACE").is_some() {
            println!("{n}: {} > {}  =>  {one:?}", USERS[step.user], step.line);
            let newest = |p: &Player| p.newest.iter().map(|n| n.load(Ordering::SeqCst)).collect::<Vec<_>>();
            println!("   newest {:?} {:?}", newest(&single), newest(&two));
        }
        if one != other {
            outcome.replies.push(format!(
                "seed {seed}, step {n}: {} > {}\n  {}: {one:?}\n  {}: {other:?}",
                USERS[step.user], step.line, single.name, two.name
            ));
        }
    }
    let (one, other) = (single.state(), two.state());
    if std::env::var_os("WACHAT_DIFF_TRACE").is_some() {
        for ((what, a), (_, b)) in one.iter().zip(&other).filter(|((w, _), _)| w.contains("events")) {
            println!("{what}:\n  {a:?}\n  {b:?}");
        }
    }
    for ((what, a), (_, b)) in one.iter().zip(&other) {
        if a != b {
            outcome.states.push(format!(
                "seed {seed}, end state, {what}:\n  {}: {a:?}\n  {}: {b:?}",
                single.name, two.name
            ));
        }
    }
    outcome
}

/// The seeds to play: CI's, or those of `WACHAT_DIFF_SEEDS` (`1..31`).
fn seeds() -> (std::ops::Range<u64>, usize) {
    let steps = std::env::var("WACHAT_DIFF_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(CI_STEPS);
    let Ok(range) = std::env::var("WACHAT_DIFF_SEEDS") else { return (CI_SEEDS, steps) };
    let (a, b) = range.split_once("..").expect("WACHAT_DIFF_SEEDS=<first>..<end>");
    (a.parse().expect("a seed")..b.parse().expect("a seed"), steps)
}

#[test]
fn a_single_server_and_a_two_node_cluster_answer_the_same_scripts_alike() {
    let (seeds, steps) = seeds();
    let (mut replies, mut states, mut failed) = (0, 0, Vec::new());
    let started = Instant::now();
    for seed in seeds.clone() {
        let outcome = play_seed(seed, steps);
        let clients = clients(seed);
        let versions: Vec<String> = DEVICES
            .iter()
            .zip(clients.minors)
            .map(|((user, device), minor)| format!("{}@{device} 1.{minor}", USERS[*user]))
            .collect();
        let senders: Vec<String> =
            USERS.iter().zip(clients.sends_as).map(|(user, device)| format!("{user}@{device}")).collect();
        println!(
            "seed {seed}: {steps} steps (receiving {}; sending {}), {} different replies, {} different end states",
            versions.join(", "),
            senders.join(", "),
            outcome.replies.len(),
            outcome.states.len()
        );
        replies += outcome.replies.len();
        states += outcome.states.len();
        // Every difference, the first step first: what to replay.
        for difference in outcome.replies.iter().chain(&outcome.states) {
            println!("{difference}");
        }
        if !outcome.replies.is_empty() || !outcome.states.is_empty() {
            failed.push(seed);
        }
    }
    println!(
        "{} seeds, {} steps: {replies} different replies, {states} different end states, in {:.0?}",
        seeds.end - seeds.start,
        (seeds.end - seeds.start) as usize * steps,
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "the backends differ on seeds {failed:?} (replay one with WACHAT_DIFF_SEEDS=<seed>..<seed+1>)"
    );
}

#[test]
fn the_normalization_keeps_what_matters() {
    assert_eq!(normalize("OK:m1:1795410947770"), "OK:m1:<ts>");
    assert_eq!(normalize("OK:_dmhx1k2a3_m1:1795410947770"), "OK:_d<stamp>_m1:<ts>");
    assert_eq!(normalize("OK:0123456789abcdef0123456789abcdef"), "OK:<file>");
    assert_eq!(
        normalize("ana:#r:mod-1795410947770-12:1795410947770:RECEIVED:* x"),
        "ana:#r:mod-<ts>-<n>:<ts>:RECEIVED:* x"
    );
    assert_eq!(
        normalize("ana:bob:call-1795410947770-3:1795410947770:RECEIVED:📞 Missed voice call"),
        "ana:bob:call-<ts>-<n>:<ts>:RECEIVED:📞 Missed voice call"
    );
    assert_eq!(
        normalize("MSG:4:ana:bob:call-1795410947770-3:1795410947770:📞 Video call, 0:02"),
        "MSG:4:ana:bob:call-<ts>-<n>:<ts>:📞 Video call, <length>"
    );
    assert_eq!(
        normalize("KO:RATE_LIMITED:too many failed logins; try again in 9 s"),
        "KO:RATE_LIMITED:too many failed logins; try again in <n> s"
    );
    assert_eq!(normalize("MSG:12:ana:bob:m1:1795410947770:hi 42"), "MSG:12:ana:bob:m1:<ts>:hi 42");
    assert_eq!(
        script(7, 50).iter().map(|s| &s.line).collect::<Vec<_>>(),
        script(7, 50).iter().map(|s| &s.line).collect::<Vec<_>>()
    );
}

/// Cases where a single server and a cluster could answer differently,
/// each decided once (docs/PROTOCOL.md) and played here on both: the answer each step must
/// get, normalized, on a single server and on a two-node cluster alike.
#[test]
fn the_decided_cases_are_answered_alike_on_both_backends() {
    let [ana, bob, eve, carl] = [0, 1, 2, 3];
    let ok_ts = |id: &str| vec![format!("OK:{id}:<ts>")];
    let ok = || vec!["OK".to_string()];
    let deleted = vec!["KO:UNKNOWN_USER:carl deleted its account".to_string()];
    let cases: Vec<(usize, &str, Vec<String>)> = vec![
        (ana, "JOIN:#lab", ok()),
        (bob, "JOIN:#lab", ok()),
        (bob, "MSG:#lab:m1:hi", ok_ts("m1")),
        // §4: a resend gets its first OK, whatever changed since: the
        // room became announce-only, the sender was muted.
        (ana, "MODE:#lab:+announce", ok()),
        (bob, "MSG:#lab:m1:hi", ok_ts("m1")),
        (
            bob,
            "MSG:#lab:m2:hi",
            vec!["KO:FORBIDDEN:only the admins of #lab may write in it (+announce)".into()],
        ),
        (ana, "MODE:#lab:-announce", ok()),
        (ana, "MUTE:#lab:bob:60", ok()),
        (bob, "MSG:#lab:m1:hi", ok_ts("m1")),
        (ana, "UNMUTE:#lab:bob", ok()),
        // An invitation of a member stays until a JOIN uses it: once
        // kicked, the member may still ask ROOMINFO, as one invited.
        (ana, "INVITE:#lab:bob", ok()),
        // A member's JOIN changes nothing, so it does not use the
        // invitation up: a second INVITE has nothing to add.
        (bob, "JOIN:#lab", ok()),
        (ana, "INVITE:#lab:bob", ok()),
        (
            bob,
            "HISTORY:ana:10",
            vec![
                "OK:1".into(),
                "ana:bob:mod-<ts>-<n>:<ts>:RECEIVED:* ana invites you to #lab: join it with JOIN:#lab".into(),
            ],
        ),
        (ana, "KICK:#lab:bob", ok()),
        (bob, "ROOMINFO:#lab", ["OK:3", "ROOM:#lab", "OWNER:ana", "ROLE:NONE"].map(String::from).to_vec()),
        // A repeated DELETE gets the first one's OK (§19).
        (bob, "MSG:ana:b1:hi", ok_ts("b1")),
        (bob, "DELETE:ana:b1", vec!["OK:_d<stamp>_b1:<ts>".into()]),
        (bob, "DELETE:ana:b1", vec!["OK:_d<stamp>_b1:<ts>".into()]),
        // A DELETE hidden by a block (§22) is stored nowhere and so
        // erases nothing, on both; a resend gets the same OK (§19).
        (ana, "MSG:bob:a1:question", ok_ts("a1")),
        (bob, "REPLY:ana:r1:a1:answer", ok_ts("r1")),
        (ana, "BLOCK:bob", ok()),
        (bob, "DELETE:ana:r1", vec!["OK:_d<stamp>_r1:<ts>".into()]),
        (bob, "DELETE:ana:r1", vec!["OK:_d<stamp>_r1:<ts>".into()]),
        (ana, "UNBLOCK:bob", ok()),
        // A deleted account: its OK before the connection closes; then
        // neither invited nor seen (§20).
        (carl, "MSG:ana:c1:from the old carl", ok_ts("c1")),
        (carl, "DELACCOUNT:pw-differential", vec!["OK".into(), CLOSED.into()]),
        (ana, "INVITE:#lab:carl", deleted.clone()),
        (ana, "LASTSEEN:carl", deleted),
        // eve joins after bob did: she is told nothing of his join, and
        // ana is told of hers once.
        (eve, "JOIN:#lab", ok()),
        // The deleted account's name taken again (§20): its new account's
        // CHATS lists no room whose messages are all from before it, as a
        // direct chat's are not (not even as #general:0).
        (bob, "MSG:#general:g1:hi all", ok_ts("g1")),
        (carl, "REGISTER:carl::pw-differential", vec!["OK:carl".into()]),
        (carl, "CHATS", vec!["OK:0".into()]),
        // Nor may it READ such a message, though the room's messages past
        // the cut are still in the log (seed 97 at 200 steps plays it).
        (carl, "READ:#general:g1", vec!["KO:UNKNOWN_MESSAGE:no message g1 from #general to you".into()]),
        // ana keeps her whole conversation with the name (§20), and may
        // READ the old account's message there, though the new account's
        // own m3 went elsewhere since: not the sender's newest m3 alone is
        // looked at (seed 152 at 300 steps plays it).
        (carl, "MSG:#general:c1:the new carl", ok_ts("c1")),
        (ana, "READ:carl:c1", ok()),
        (ana, "HISTORY:carl:10", vec!["OK:1".into(), "carl:ana:c1:<ts>:READ:from the old carl".into()]),
        // A room nobody is in is forgotten (§7): one made again under its
        // name shows its maker nothing of the old one, in SEARCH either,
        // though the log still holds them under the room's name.
        (eve, "JOIN:#old", ok()),
        (eve, "MSG:#old:o1:the answers", ok_ts("o1")),
        (eve, "LEAVE:#old", ok()),
        (ana, "JOIN:#old", ok()),
        (ana, "MSG:#old:n1:the answers are mine", ok_ts("n1")),
        (
            ana,
            "SEARCH:#old:answers",
            vec!["OK:1".into(), "ana:#old:n1:<ts>:RECEIVED:the answers are mine".into()],
        ),
    ];
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &FLAGS, true, LATEST);
    for player in &mut players {
        // Each DELETE's first OK, as it came, by its line.
        let mut deletions: Vec<(&str, String)> = Vec::new();
        for (n, (user, line, expected)) in cases.iter().enumerate() {
            let raw = player.play_raw(&Step { user: *user, line: line.to_string() });
            let got: Vec<String> = raw.iter().map(|l| normalize(l)).collect();
            assert_eq!(&got, expected, "{}, step {n}: {} > {line}", player.name, USERS[*user]);
            if !line.starts_with("DELETE:") {
                continue;
            }
            match deletions.iter().find(|(l, _)| l == line) {
                Some((_, first)) => assert_eq!(first, &raw[0], "{}: {line} again: the first OK", player.name),
                None => deletions.push((line, raw[0].clone())),
            }
        }
        assert_eq!(deletions.len(), 2, "{}", player.name);
        // The hidden DELETE left bob's reply as both had it.
        for (user, peer) in [(ana, "bob"), (bob, "ana")] {
            let history = player.play(&Step { user, line: format!("HISTORY:{peer}:10") });
            let reply = history.iter().find(|l| l.contains(":r1:")).cloned().unwrap_or_default();
            assert!(
                reply.ends_with("answer") && !history.iter().any(|l| l.contains("_r1:")),
                "{}: {history:?}",
                player.name
            );
        }
        player.settle();
        let heard = |user: usize| player.heard[user].lock().unwrap().clone();
        let told = |user: usize, event: &str| heard(user).iter().filter(|e| *e == event).count();
        assert_eq!(told(ana, "MEMBER:#lab:bob:JOINED"), 1, "{}: {:?}", player.name, heard(ana));
        assert_eq!(told(ana, "MEMBER:#lab:eve:JOINED"), 1, "{}: {:?}", player.name, heard(ana));
        assert_eq!(told(eve, "MEMBER:#lab:bob:JOINED"), 0, "{}: {:?}", player.name, heard(eve));
    }
}

/// A room member who sends there having read the whole room has read its
/// own message: a later `READ` of it moves nothing, and the member's other
/// devices get no `READMARK` (`meaning::sent_in_room`); one with unread
/// messages keeps its mark, so reading its own newer message moves it.
/// A cluster left the mark where it was, and told bob's phone of his
/// reading his own message; a single server did not. Once it moved the
/// mark, a burst of messages would store a lower one of its marks if
/// its batch's statement took any of them.
#[test]
fn a_room_read_up_to_ones_own_message_is_told_alike_on_both_backends() {
    let [ana, bob] = [0, 1];
    let phone = DEVICES.iter().position(|d| *d == (bob, "phone")).expect("bob's phone");
    let cases: [(usize, &str, &str); 8] = [
        (bob, "JOIN:#lab", "OK"),
        (bob, "MSG:#lab:b1:first", "OK:b1:<ts>"),
        (bob, "READ:#lab:b1", "OK"),
        (ana, "JOIN:#lab", "OK"),
        (ana, "MSG:#lab:a1:a question", "OK:a1:<ts>"),
        (bob, "MSG:#lab:b2:meanwhile", "OK:b2:<ts>"),
        (bob, "CHATS", "OK:1"),
        (bob, "READ:#lab:b2", "OK"),
    ];
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &FLAGS, true, LATEST);
    for player in &mut players {
        let name = player.name;
        for (user, line, expected) in cases {
            let reply = player.play(&Step { user, line: line.into() });
            assert_eq!(reply[0], expected, "{name}: {} > {line}: {reply:?}", USERS[user]);
            if line == "CHATS" {
                assert!(reply.contains(&"#lab:1".to_string()), "{name}: a1 alone is unread: {reply:?}");
            }
        }
        // Twenty messages in one write: on a cluster most share a batch,
        // in which bob's mark moves once a message (its rows written in
        // one statement, the highest kept).
        let (conn, _) = player.send[bob].as_mut().expect("bob's connection");
        let burst: String = (0..20).map(|n| format!("MSG:#lab:p{n}:more\n")).collect();
        conn.stream.write_all(burst.as_bytes()).unwrap();
        for n in 0..20 {
            assert_eq!(normalize(&conn.line()), format!("OK:p{n}:<ts>"), "{name}");
        }
        for (user, line) in [(ana, "MSG:#lab:a2:another"), (bob, "READ:#lab:p19")] {
            assert!(player.play(&Step { user, line: line.into() })[0].starts_with("OK"), "{name}: {line}");
        }
        player.settle();
        let marks: Vec<String> = player.heard[phone]
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.starts_with("READMARK:"))
            .map(|e| e.split(':').skip(2).take(2).collect::<Vec<_>>().join(":"))
            .collect();
        assert_eq!(marks, ["#lab:b2"], "{name}: bob's phone is told of the READ that moved his mark");
    }
}

/// A `MSG`'s refusals come in one order on both backends
/// (`store::meaning::send`): a sender past its quota is still told first
/// that nobody is there, or a deleted account, or a room it is not in;
/// only a message that could go gets `KO:FULL`. (A backend that checked
/// the quota first would answer `KO:FULL` to all four.)
#[test]
fn a_sender_past_its_quota_still_learns_first_that_nobody_is_there() {
    let [ana, carl] = [0, 3];
    let flags = [FLAGS[0], FLAGS[1], "--user-quota", "1KiB"];
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &flags, true, LATEST);
    let text = "x".repeat(300);
    for player in &mut players {
        let name = player.name;
        assert_eq!(player.play(&Step { user: carl, line: format!("DELACCOUNT:{PW}") })[0], "OK", "{name}");
        let full = (0..20)
            .map(|n| player.play(&Step { user: ana, line: format!("MSG:bob:q{n}:{text}") }).remove(0))
            .find(|reply| !reply.starts_with("OK:"));
        let full = full.unwrap_or_else(|| panic!("{name}: the quota was never reached"));
        assert!(full.starts_with("KO:FULL:you have stored "), "{name}: {full}");
        let cases = [
            ("MSG:zed:x1:hi", "KO:UNKNOWN_USER:no user named zed"),
            ("MSG:carl:x2:hi", "KO:UNKNOWN_USER:carl deleted its account"),
            ("MSG:#nowhere:x3:hi", "KO:NOT_MEMBER:you are not in #nowhere"),
        ];
        for (line, expected) in cases {
            assert_eq!(player.play(&Step { user: ana, line: line.into() }), [expected], "{name}: {line}");
        }
        let again = player.play(&Step { user: ana, line: "MSG:#general:x4:hi".into() }).remove(0);
        assert!(again.starts_with("KO:FULL:"), "{name}: a room message counts too: {again}");
    }
}

/// An unlinked device's late `ACK` holds nothing, on both backends: its
/// connection heard `BYE:UNLINKED`, so what it acknowledges after is not
/// applied. Carl sends through one node and his phone receives through
/// the other, so on the cluster the `UNLINK` is served where the phone is
/// not (differential seed 6 at 200 steps plays it: applied there, the
/// phone's `ACK` would give ana a `DELIVERED`).
#[test]
fn an_unlinked_devices_late_ack_delivers_nothing_on_both_backends() {
    let [ana, carl] = [0, 3];
    let phone = DEVICES.iter().position(|d| *d == (carl, "phone")).expect("carl's phone");
    let cluster = Cluster::start();
    // Clients that keep their connection after its `BYE`, and go on
    // sending on it.
    let mut players = backends(&cluster, &FLAGS, false, LATEST);
    let delivered = |player: &Player| {
        player.heard[ana]
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.starts_with("STATUS:") && e.contains(":DELIVERED:"))
            .count()
    };
    for player in &mut players {
        let name = player.name;
        for (user, line, expected) in
            [(ana, "MSG:carl:u1:hello carl", "OK:u1:<ts>"), (carl, "UNLINK:phone", "OK")]
        {
            let reply = player.play(&Step { user, line: line.into() });
            assert_eq!(reply[0], expected, "{name}: {} > {line}: {reply:?}", USERS[user]);
        }
        let open = player.recv[phone].as_ref().map(|(_, open)| open.clone()).expect("the phone's connection");
        super::support::cluster::eventually("the phone's connection closed", READ_TIMEOUT, || {
            !open.load(Ordering::SeqCst)
        });
        assert!(player.heard[phone].lock().unwrap().contains(&"BYE:UNLINKED".to_string()), "{name}");
        // The phone's stream takes the line (only the server's writing side is shut).
        assert_eq!(player.ack(carl, "phone"), ["ACK:1"], "{name}: the phone had heard u1");
        player.settle();
        assert_eq!(delivered(player), 0, "{name}: an unlinked phone's ACK delivered u1");
        // Carl's own device still delivers it.
        assert_eq!(player.ack(carl, "default"), ["ACK:1"], "{name}");
        player.settle();
        assert_eq!(delivered(player), 1, "{name}: carl's default device's ACK delivers u1");
    }
}

/// A device logged out by its user is told alike by a single server and
/// the cluster, whatever version it speaks (`router::LoggedOut`): an
/// unlinked 1.1 device hears `BYE:REPLACED`, and a deleted account's 1.0
/// and 1.1 devices are closed without a word (docs/PROTOCOL.md §20).
/// Carl's phone and eve's device receive through the other node than
/// their requests, their connections passed on to the leader (the
/// differential script with older devices, seeds 1–20, plays it).
#[test]
fn an_older_device_logged_out_is_told_alike_on_both_backends() {
    let [eve, carl] = [2, 3];
    let slot = |user, device| DEVICES.iter().position(|d| *d == (user, device)).expect("a device");
    let (eves, phone) = (slot(eve, "default"), slot(carl, "phone"));
    let mut clients = LATEST;
    (clients.minors[eves], clients.minors[phone]) = (0, 1);
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &FLAGS, true, clients);
    for player in &mut players {
        let name = player.name;
        let closed = |player: &Player, slot: usize| {
            let open = player.recv[slot].as_ref().map(|(_, open)| open.clone()).expect("a connection");
            super::support::cluster::eventually("the connection closed", READ_TIMEOUT, || {
                !open.load(Ordering::SeqCst)
            });
            player.heard[slot].lock().unwrap().clone()
        };
        assert_eq!(player.play(&Step { user: carl, line: "UNLINK:phone".into() }), ["OK"], "{name}");
        assert_eq!(closed(player, phone), ["BYE:REPLACED"], "{name}: an unlinked 1.1 device");
        assert_eq!(player.relink(carl), ["phone:in"], "{name}");
        for user in [carl, eve] {
            assert_eq!(player.play(&Step { user, line: format!("DELACCOUNT:{PW}") })[0], "OK", "{name}");
        }
        assert_eq!(closed(player, phone), ["BYE:REPLACED"], "{name}: no word more for a deleted account");
        assert_eq!(closed(player, eves), [] as [String; 0], "{name}: a deleted account's 1.0 device");
    }
}

/// A call ended by its caller's `DELACCOUNT` leaves no missed call on
/// either backend (`call_relay::caller_is_live`, §24): a deleted account
/// sends nothing more. The callee hears the end (`gone`); a call whose
/// caller hangs up still leaves its missed call. (The differential script
/// with calls, seed 1 at 90 steps, plays it: a stored notice, with a copy
/// for the deleted caller's devices, would make the name's next account
/// number its first event 2, not 1.)
#[test]
fn a_call_ended_by_its_callers_deletion_leaves_no_missed_call_on_both_backends() {
    let [ana, eve, carl] = [0, 2, 3];
    let phone = DEVICES.iter().position(|d| *d == (carl, "phone")).expect("carl's phone");
    let cases: [(usize, &str, &[&str]); 8] = [
        (eve, "CALL:ana:c1:OFFER:voice:v=0\\n", &["OK"]),
        (eve, "CALL:ana:c1:HANGUP", &["OK"]),
        (carl, "CALL:ana:c2:OFFER:video:v=0\\n", &["OK"]),
        (carl, "DELACCOUNT:pw-differential", &["OK", CLOSED]),
        (ana, "<settle>", &[]),
        (ana, "HISTORY:carl:5", &["OK:0"]),
        (carl, "REGISTER:carl::pw-differential", &["OK:carl"]),
        (carl, "MSG:ana:n1:the new carl", &["OK:n1:<ts>"]),
    ];
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &FLAGS, true, LATEST);
    for player in &mut players {
        let name = player.name;
        for (user, line, expected) in cases {
            if line == "<settle>" {
                player.settle();
                continue;
            }
            let reply = player.play(&Step { user, line: line.into() });
            assert_eq!(reply, expected, "{name}: {} > {line}", USERS[user]);
        }
        let missed = player.play(&Step { user: ana, line: "HISTORY:eve:5".into() });
        assert_eq!(missed.len(), 2, "{name}: eve's call, hung up, is missed: {missed:?}");
        assert!(missed[1].ends_with(":📞 Missed voice call"), "{name}: {missed:?}");
        player.settle();
        let heard = player.heard[ana].lock().unwrap().clone();
        assert!(heard.contains(&"CALL:carl:c2:END:gone".to_string()), "{name}: {heard:?}");
        assert!(!heard.iter().any(|e| e.contains("Missed video call")), "{name}: {heard:?}");
        // The new account's first event is its copy of n1, numbered 1.
        let copy = "MSG:1:carl:ana:n1:<ts>:the new carl".to_string();
        assert!(player.heard[phone].lock().unwrap().contains(&copy), "{name}: {:?}", player.heard[phone]);
    }
}

/// `PEER` tells the peer's newest device, on both backends (§9): bob's
/// phone logged in after his default device, each on another node of the
/// cluster; ana asks through the node of bob's default device, which
/// must not tell its own device of the user's when a newer one is on the
/// other node (differential seeds 45, 51, 62 and 73 at 200 steps play
/// it).
#[test]
fn peer_tells_the_newest_device_of_the_peer_on_both_backends() {
    let [ana, bob] = [0, 1];
    let slot = |device| DEVICES.iter().position(|d| *d == (bob, device)).expect("bob's device");
    let cluster = Cluster::start();
    let mut players = backends(&cluster, &FLAGS, true, LATEST);
    for player in &mut players {
        let name = player.name;
        assert_eq!(player.play(&Step { user: bob, line: "P2P:7001".into() }), ["OK"], "{name}");
        let reply = player.play(&Step { user: ana, line: "PEER:bob".into() });
        assert_eq!(reply, ["OK:127.0.0.1:7001:<file>"], "{name}");
        player.settle();
        let told = |device| {
            player.heard[slot(device)].lock().unwrap().iter().filter(|e| e.starts_with("P2P:")).count()
        };
        assert_eq!((told("default"), told("phone")), (0, 1), "{name}: the phone is bob's newest device");
    }
}
