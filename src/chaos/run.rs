//! One run from start to end: accounts and rooms, the proxies, a sender
//! and a receiver per user, the faults; then calm, the drain, `HISTORY`,
//! and the server left as it was found (as far as the protocol allows).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::faults::Faults;
use super::history::{HistoryRead, Journal, Recording};
use super::network::Network;
use super::proxy::{Global, Proxy};
use super::schedule::{Destination, Op, Schedule};
use super::workload::{self, DRAINING, RUNNING, STOPPED, Team, UserState};
use crate::conform::ProtocolLevel;
use crate::error::{Error, Result};
use crate::protocol::Port;
use crate::protocol::{Chat, MAX_HISTORY, Reply, Request};

/// How long the drain may take: outboxes empty and events quiet.
const DRAIN_WAIT: Duration = Duration::from_secs(45);

/// How long a federation's drain may take: a link that failed again and
/// again is tried again only after its backoff (at most 60 s, ± 20 %,
/// §27), so the last messages may cross a minute after the faults end.
const FEDERATION_DRAIN_WAIT: Duration = Duration::from_secs(120);

/// How long without a new event counts as drained.
const QUIET_US: u64 = 1_500_000;

pub struct Plan {
    /// Each server's send and receive address; device `n` of user `u`
    /// uses server `(u + n) % servers.len()` first ([`in_turn`]).
    pub servers: Vec<(SocketAddr, SocketAddr)>,
    pub level: ProtocolLevel,
    /// Devices per user (more than 1 only at level 1.2).
    pub devices: usize,
    pub seed: u64,
    pub duration: Duration,
    pub restart: Option<String>,
    /// `--proxy-ports`: the first local port of the proxies (`None`: any).
    pub proxy_ports: Option<u16>,
    pub schedule: Schedule,
    /// `--federation`: the servers, split and restarted by chaos; user `u`
    /// lives on server `u mod n` only (`servers` are theirs, in order).
    pub network: Option<Arc<Network>>,
}

impl Plan {
    /// The servers user `user`'s device `n` tries, in order: its own
    /// server only in a federation (an account lives on one server).
    fn upstreams(&self, user: usize, n: usize) -> Vec<(SocketAddr, SocketAddr)> {
        match &self.network {
            Some(_) => vec![self.servers[user % self.servers.len()]],
            None => in_turn(&self.servers, user + n),
        }
    }

    /// Each user's server, by name, in a federation (else empty).
    fn homes(&self) -> Vec<String> {
        let Some(network) = &self.network else { return Vec::new() };
        let n = network.members.len();
        (0..self.schedule.users).map(|u| network.members[u % n].name.clone()).collect()
    }

    /// Each room's home server, by name, in a federation (else empty):
    /// room `k` lives on the server of its member `k mod members`, so
    /// that the homes vary and each home has a member of its own.
    fn room_homes(&self, homes: &[String]) -> Vec<String> {
        if homes.is_empty() {
            return Vec::new();
        }
        let rooms = self.schedule.rooms.iter().enumerate();
        rooms.map(|(k, members)| homes[members[k % members.len()]].clone()).collect()
    }
}

pub fn run(plan: &Plan) -> Result<Recording> {
    // A server started a moment ago (a script's) may not listen yet.
    if let Some((send, recv)) = super::network::wait_for_servers(&plan.servers) {
        return Err(Error::Protocol(format!("no server at {send} and {recv}")));
    }
    let journal = Arc::new(Journal::new());
    let global = Arc::new(Global::default());
    let devices = plan.devices.max(1);
    // Device `n` of user `user` listens on the pair of ports number
    // `user * devices + n` from `--proxy-ports`, send then receive.
    let local = |user: usize, n: usize| -> std::io::Result<(u16, u16)> {
        let Some(first) = plan.proxy_ports else { return Ok((0, 0)) };
        let send = usize::from(first) + 2 * (user * devices + n);
        match (u16::try_from(send), u16::try_from(send + 1)) {
            (Ok(send), Ok(recv)) => Ok((send, recv)),
            _ => Err(std::io::Error::other(format!("--proxy-ports {first}: the users' ports pass 65535"))),
        }
    };
    let proxies = (0..plan.schedule.users)
        .map(|user| {
            (0..devices).map(|n| Proxy::start(plan.upstreams(user, n), &global, local(user, n)?)).collect()
        })
        .collect::<std::io::Result<Vec<Vec<_>>>>()
        .map_err(|e| Error::io("starting the proxy", e))?;
    let proxies = Arc::new(proxies);
    let team = Arc::new(team(plan, &journal, &proxies));
    setup(&team)?;
    let faults = Faults {
        proxies,
        global,
        journal: journal.clone(),
        restart: plan.restart.clone(),
        servers: plan.servers.clone(),
        network: plan.network.clone(),
        restarts: Default::default(),
    };
    let start = Instant::now();
    let mut threads = Vec::new();
    for user in 0..team.names.len() {
        let steps = plan.schedule.steps.iter().filter(|s| s.user == user).cloned().collect();
        let t = team.clone();
        threads.push(thread::spawn(move || workload::sender(t, user, steps, start)));
        for n in 0..team.devices {
            let t = team.clone();
            let seed = plan.seed;
            threads.push(thread::spawn(move || workload::receiver(t, user, n, seed)));
        }
    }
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| faults.play(&plan.schedule.faults, start, &stop));
        thread::sleep(plan.duration); // the run itself
        stop.store(true, Ordering::SeqCst);
    });
    faults.calm();
    drain(&team);
    for t in threads {
        let _ = t.join();
    }
    let listings = listings(&team, plan);
    fetch_files(&team);
    teardown(&team);
    // Each thread's frames are in order; the journal's lock may have
    // taken two threads' frames in the other order: by time (stable).
    let mut frames = journal.frames();
    frames.sort_by_key(|f| f.at_us);
    Ok(Recording {
        names: team.names.clone(),
        homes: team.homes.clone(),
        room_homes: team.room_homes.clone(),
        devices: team.devices,
        rooms: team.rooms.clone(),
        frames,
        faults: journal.faults(),
        listings,
        duration_us: start.elapsed().as_micros() as u64,
        failovers: faults.global.failovers.load(Ordering::Relaxed),
    })
}

/// The servers as device `n` of user `u` tries them (`first` = u + n):
/// its own first, then the next ones. Users are spread round-robin, and
/// a user's devices too: with two servers, a user's two devices are on
/// different ones, as a phone and a laptop may be.
fn in_turn(servers: &[(SocketAddr, SocketAddr)], first: usize) -> Vec<(SocketAddr, SocketAddr)> {
    let mut order = servers.to_vec();
    order.rotate_left(first % servers.len().max(1));
    order
}

fn team(plan: &Plan, journal: &Arc<Journal>, proxies: &Arc<Vec<Vec<Proxy>>>) -> Team {
    let prefix = crate::conform::case::run_prefix();
    let names = (0..plan.schedule.users).map(|u| format!("{prefix}u{u}")).collect();
    let rooms =
        plan.schedule.rooms.iter().enumerate().map(|(k, m)| (format!("#{prefix}r{k}"), m.clone())).collect();
    Team {
        names,
        password: format!("chaos-{:x}", super::schedule::fresh_seed()),
        rooms,
        level: plan.level,
        devices: plan.devices.max(1),
        journal: journal.clone(),
        proxies: proxies.clone(),
        phase: AtomicU8::new(RUNNING),
        users: (0..plan.schedule.users).map(|_| UserState::new(plan.devices.max(1))).collect(),
        room_homes: plan.room_homes(&plan.homes()),
        homes: plan.homes(),
        ledger: Default::default(),
    }
}

/// Registers the users, takes them out of `#general` (their traffic is
/// nobody else's business, and nobody else's theirs), joins the rooms;
/// with several devices, logs each in once, so that from the first
/// message on the user has them all (copies and read marks, §16).
fn setup(team: &Team) -> Result<()> {
    let mut lines = Vec::new();
    for (user, name) in team.names.iter().enumerate() {
        let mut line = setup_line(team, user)?;
        let register =
            Request::Register { user: name.clone(), email: String::new(), password: team.password.clone() };
        let reply = setup_request(team, user, &mut line, &register.to_string())?;
        if !matches!(Reply::parse(&reply), Ok(Reply::OkWith(_))) {
            return Err(setup_failed(team, user, format!("REGISTER got {reply}")));
        }
        let _ = line.request(&Request::Leave { room: "general".into() }.to_string(), Duration::from_secs(10));
        lines.push(line);
    }
    for (room, (_, members)) in team.rooms.iter().enumerate() {
        // The home's own members first: their `JOIN` makes the room,
        // which the other servers' `JOIN`s then find (§27, "Rooms").
        let mut order = members.clone();
        order.sort_by_key(|&u| team.room_address(room, u).contains('@'));
        for &user in &order {
            let join = Request::Join { room: team.room_address(room, user).trim_start_matches('#').into() };
            let reply = setup_request(team, user, &mut lines[user], &join.to_string())?;
            if reply != "OK" {
                return Err(setup_failed(team, user, format!("JOIN got {reply}")));
            }
        }
        if order.last().is_some_and(|&u| team.room_address(room, u).contains('@')) {
            await_members(team, room, order[0], &mut lines[order[0]])?;
        }
    }
    for user in 0..team.names.len() {
        for n in (0..team.devices).filter(|_| team.devices > 1) {
            if team.login(user, team.device(n), Port::Receive).is_none() {
                return Err(setup_failed(team, user, format!("device d{n} could not log in")));
            }
        }
    }
    Ok(())
}

fn setup_failed(team: &Team, user: usize, what: String) -> Error {
    Error::Protocol(format!("chaos could not set up {}: {what}", team.names[user]))
}

fn setup_line(team: &Team, user: usize) -> Result<super::wire::Wiretap> {
    let device = team.device(0);
    super::wire::Wiretap::open(team.proxies[user][0].send, (user, device), Port::Send, &team.journal)
        .ok_or_else(|| setup_failed(team, user, "no connection to the server".into()))
}

fn setup_request(team: &Team, user: usize, line: &mut super::wire::Wiretap, request: &str) -> Result<String> {
    line.request(request, Duration::from_secs(10)).map_err(|e| setup_failed(team, user, format!("{e:?}")))
}

/// Waits until the home of a room lists every member (a `JOIN` from
/// another server is `OK`'d once queued for the home), asking through
/// `line`, that of `asker`, a member on the home, so that the run's
/// first messages already reach every member.
fn await_members(team: &Team, room: usize, asker: usize, line: &mut super::wire::Wiretap) -> Result<()> {
    let (name, members) = &team.rooms[room];
    let deadline = Instant::now() + Duration::from_secs(30);
    let request = Request::Members { room: name.trim_start_matches('#').into() }.to_string();
    loop {
        let listed = line.listing(&request, Duration::from_secs(10)).unwrap_or_default();
        let joined = |u: usize| {
            let address = team.address(u, asker);
            listed
                .iter()
                .any(|l| l.rsplit_once(':').is_some_and(|(who, _)| who.eq_ignore_ascii_case(&address)))
        };
        if members.iter().all(|&u| joined(u)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Protocol(format!(
                "chaos could not set up {name}: its home never listed every member"
            )));
        }
        thread::sleep(Duration::from_millis(100)); // polling the home
    }
}

/// No new operation; waits until every outbox is empty and no event came
/// for a while (in a federation, also until every direct message `OK`'d
/// was delivered or bounced), then once more after every receiver logged
/// in again.
fn drain(team: &Team) {
    team.phase.store(DRAINING, Ordering::SeqCst);
    settle(team, if team.federated() { FEDERATION_DRAIN_WAIT } else { DRAIN_WAIT });
    for user in &team.users {
        user.reconnect_all();
    }
    thread::sleep(Duration::from_millis(300)); // the receivers' next look at the flag
    settle(team, DRAIN_WAIT / 3);
    team.phase.store(STOPPED, Ordering::SeqCst);
}

/// Waits (at most `wait`) until every outbox is empty, every receiver
/// logged in, no event came for a while, and, in a federation, no direct
/// message is on its way.
fn settle(team: &Team, wait: Duration) {
    let deadline = Instant::now() + wait;
    let settled = || {
        team.users.iter().all(|u| {
            u.outbox.load(Ordering::SeqCst) == 0 && u.online.iter().all(|o| o.load(Ordering::SeqCst))
        }) && team.journal.quiet_for_us() > QUIET_US
            && (!team.federated() || team.ledger.lock().unwrap_or_else(|e| e.into_inner()).pending() == 0)
    };
    while !settled() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100)); // polling the drain
    }
}

/// Each user's `HISTORY` of every chat it sent to.
fn listings(team: &Team, plan: &Plan) -> Vec<HistoryRead> {
    let mut out = Vec::new();
    for user in 0..team.names.len() {
        let Some(mut line) = team.login(user, team.device(0), Port::Send) else { continue };
        for chat in chats_of(team, plan, user) {
            let request = Request::History {
                chat: Chat::parse(&chat).unwrap_or(Chat::User(chat.clone())),
                limit: MAX_HISTORY,
                page: None,
            };
            if let Ok(lines) = line.listing(&request.to_string(), Duration::from_secs(10)) {
                out.push(HistoryRead { user, chat, lines, limit: MAX_HISTORY });
            }
        }
    }
    out
}

/// Each user fetches, from its own server, every file it was sent
/// (`FILEOF`, then `FETCH` to the end): frames of the run like any
/// other, from which the model reads the bytes each recipient has.
fn fetch_files(team: &Team) {
    for user in 0..team.names.len() {
        let mut got: Vec<(String, String, String)> =
            team.users[user].files_got.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
        if got.is_empty() {
            continue;
        }
        got.sort();
        let Some(mut line) = team.login(user, team.device(0), Port::Send) else { continue };
        for (chat, from, id) in got {
            let Ok(chat) = Chat::parse(&chat) else { continue };
            let request = Request::FileOf { chat, from, id };
            let Ok(Ok(Reply::OkWith(fields))) =
                line.request(&request.to_string(), Duration::from_secs(10)).map(|r| Reply::parse(&r))
            else {
                continue;
            };
            let Ok(info) = crate::protocol::files::FileInfo::parse(&fields) else { continue };
            let mut offset = 0;
            while offset < info.size {
                let fetch = Request::Fetch { file: info.id.clone(), offset };
                let reply = line.request(&fetch.to_string(), Duration::from_secs(10));
                let part = match reply.map(|r| Reply::parse(&r)) {
                    Ok(Ok(Reply::OkWith(b64))) => crate::protocol::files::decode(&b64).unwrap_or_default(),
                    _ => Vec::new(),
                };
                if part.is_empty() {
                    break;
                }
                offset += part.len() as u64;
            }
        }
    }
}

fn chats_of(team: &Team, plan: &Plan, user: usize) -> Vec<String> {
    let mut chats: Vec<String> = plan
        .schedule
        .steps
        .iter()
        .filter(|s| s.user == user)
        .filter_map(|s| match &s.op {
            Op::Msg { to, .. } | Op::Crash { to, .. } | Op::File { to, .. } => Some(*to),
            _ => None,
        })
        .map(|to| match to {
            Destination::User(u) => team.address(u, user),
            Destination::Room(r) => team.room_address(r, user),
        })
        .collect();
    chats.sort();
    chats.dedup();
    chats
}

/// Leaves the rooms; at level 1.2, deletes the accounts (`DELACCOUNT`).
fn teardown(team: &Team) {
    for user in 0..team.names.len() {
        let Some(mut line) = team.login(user, team.device(0), Port::Send) else { continue };
        for (room, (_, members)) in team.rooms.iter().enumerate() {
            if members.contains(&user) {
                let room = team.room_address(room, user);
                let _ = line.request(
                    &Request::Leave { room: room.trim_start_matches('#').into() }.to_string(),
                    Duration::from_secs(5),
                );
            }
        }
        if team.level >= ProtocolLevel::V1_2 {
            let _ = line.request(
                &Request::DelAccount { password: team.password.clone() }.to_string(),
                Duration::from_secs(5),
            );
        }
    }
}
