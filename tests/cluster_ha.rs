//! A cluster with no single point of failure (docs/CLUSTER.md, "No single
//! point of failure"): two nodes on a pg_auto_failover formation (a
//! monitor, a primary, its synchronous secondary) and three routed NATS
//! servers, all started by `examples/cluster_ha.sh formation` — the
//! script a student runs. Built with `--features cluster` only.
//!
//! One formation for the whole file (it takes ~15 s to start), one
//! workload through it: ana sends numbered messages to bob on node a
//! (node b if a is unreachable), resending a message with the same id
//! until it gets `OK`, and bob receives them on node b. Three faults in
//! turn, each checked: every message acknowledged arrives once, in order.
//! 1. The primary frozen (SIGSTOP of its PostgreSQL and keeper: a hung
//!    machine) for longer than the failover: no `MSG` waits more than the
//!    deadline, writes resume on the secondary, and the frozen one
//!    rejoins as a secondary once woken.
//! 2. The (new) primary and its keeper killed (`kill -9`) mid-stream.
//! 3. One NATS server of three killed: no delivery gap over 2 s (unless
//!    the receive connection stalled: see docs/CLUSTER.md, "Not solved
//!    yet"; a stall is counted and printed in every phase, not failed).
//!
//! Each phase prints what it measured (failover time, refusals by code,
//! the longest wait): the figures of docs/CLUSTER.md come from these runs.
#![cfg(feature = "cluster")]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::TestServer;
use support::cluster::eventually;

/// The node's deadline for a database call (`src/cluster/db.rs`,
/// `DEADLINE`), and what a `MSG` may wait at most: that, plus a margin for
/// a loaded machine.
const MSG_WAIT_MAX: Duration = Duration::from_secs(7);

/// The formation of `examples/cluster_ha.sh`, stopped when dropped.
struct Formation {
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Formation {
    fn start() -> Formation {
        if Command::new("pg_autoctl").arg("--version").output().is_err() {
            panic!(
                "pg_autoctl not found: install it with `apt-get install -y postgresql-15-auto-failover`, \
                 or run the tests with `.ci/test`"
            );
        }
        let dir = tempfile::Builder::new().prefix("wachat-ha-").tempdir().unwrap().keep();
        // Ports from a range the other tests' free ports (the kernel's
        // ephemeral range, 32768 and up) do not reach.
        let base = 20000 + (std::process::id() % 400) * 25;
        let mut formation = Formation { dir: dir.clone(), env: HashMap::new() };
        let output = Command::new("timeout")
            .arg("180")
            .arg(script())
            .args(["formation", &dir.display().to_string(), &base.to_string()])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run examples/cluster_ha.sh");
        assert!(
            output.status.success(),
            "cluster_ha.sh formation: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let env = env.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        formation.env = env;
        formation
    }

    fn get(&self, key: &str) -> &str {
        &self.env[key]
    }

    fn node(&self, name: &str) -> TestServer {
        let args = ["--store", self.get("STORE"), "--bus", self.get("BUS"), "--node", name, "--rate", "0"];
        TestServer::start_with(&args)
    }

    /// Each PostgreSQL node's name, reported and assigned states (the monitor's view).
    fn states(&self) -> Vec<(String, String, String)> {
        let Ok(mut monitor) = postgres::Client::connect(self.get("MONITOR"), postgres::NoTls) else {
            return Vec::new();
        };
        let sql =
            "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid";
        monitor
            .query(sql, &[])
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
            .unwrap_or_default()
    }

    /// The name of the node the monitor has as primary (`pg1`, `pg2`).
    fn primary(&self) -> String {
        let states = self.states();
        let primary = states.iter().find(|(_, reported, goal)| reported == "primary" && goal == "primary");
        primary.map(|p| p.0.clone()).unwrap_or_else(|| panic!("no primary: {states:?}"))
    }

    /// Waits until a primary and a secondary are in place.
    fn wait_healthy(&self, within: Duration) {
        eventually("a primary and a secondary", within, || {
            let states = self.states();
            let has = |s: &str| states.iter().any(|(_, reported, goal)| reported == s && goal == s);
            has("primary") && has("secondary")
        });
    }

    /// Sends `signal` to a PostgreSQL node's keeper and its server (one process group).
    fn signal(&self, pg: &str, signal: i32) {
        let pgid: i32 =
            std::fs::read_to_string(self.dir.join(format!("{pg}.pgid"))).unwrap().trim().parse().unwrap();
        // SAFETY: kill(2) on a process group this test started.
        assert_eq!(unsafe { libc::kill(-pgid, signal) }, 0, "kill -{signal} -{pgid}");
    }

    fn nats_pid(&self, i: usize) -> i32 {
        std::fs::read_to_string(self.dir.join(format!("nats{i}.pid"))).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Formation {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", &self.dir.display().to_string()]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster_ha.sh")
}

/// A protocol connection that reports failures instead of failing the test.
struct Line {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Line {
    fn open(addr: SocketAddr, login: &str) -> Option<Line> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        let mut line = Line { reader: BufReader::new(stream.try_clone().ok()?), writer: stream };
        line.request(login).filter(|r| r.starts_with("OK"))?;
        Some(line)
    }

    fn send(&mut self, frame: &str) -> Option<()> {
        self.writer.write_all(format!("{frame}\n").as_bytes()).ok()
    }

    fn read(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end().to_string()),
            _ => None,
        }
    }

    fn request(&mut self, frame: &str) -> Option<String> {
        self.send(frame)?;
        self.read()
    }
}

/// What ana's sender saw.
#[derive(Default)]
struct Sent {
    /// The numbers acknowledged `OK`, with when.
    acked: Vec<(u64, Instant)>,
    /// Refusals by code (`KO:<code>`, or `lost` for a connection that
    /// broke or a reply that did not come), with when.
    refused: Vec<(String, Instant)>,
    /// The longest a `MSG` waited for its reply.
    longest: Duration,
}

/// What bob's receiver got: seq → number, and when each number arrived.
#[derive(Default)]
struct Received {
    by_seq: BTreeMap<u64, u64>,
    arrivals: Vec<(u64, Instant)>,
    /// Times the connection got no message for [`STALL`] and was opened
    /// again (its replay then brings what was missing).
    stalls: usize,
}

/// A receive connection with no message for this long is opened again.
const STALL: Duration = Duration::from_secs(10);

/// Ana sends `MSG:bob:<phase><n>:<n>` for n = 1, 2, … until `stop`, each
/// until `OK` (ids of their own in each phase: an id used again would be
/// answered as a resend, stored nothing).
fn sender(phase: char, nodes: Vec<SocketAddr>, stop: Arc<AtomicBool>, sent: Arc<Mutex<Sent>>) {
    let mut line: Option<Line> = None;
    let mut n = 1;
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(conn) = line.as_mut() else {
            line = Line::open(nodes[turn % nodes.len()], "LOGIN:ana:pw-ana");
            if line.is_none() {
                turn += 1;
                std::thread::sleep(Duration::from_millis(100)); // a node is down: the next, after a pause
            }
            continue;
        };
        let asked = Instant::now();
        let reply = conn.request(&format!("MSG:bob:{phase}{n}:{n}"));
        let waited = asked.elapsed();
        let mut sent = sent.lock().unwrap();
        sent.longest = sent.longest.max(waited);
        match reply {
            Some(r) if r.starts_with(&format!("OK:{phase}{n}:")) => {
                sent.acked.push((n, Instant::now()));
                n += 1;
            }
            Some(r) => {
                let code = r.split(':').take(2).collect::<Vec<_>>().join(":");
                sent.refused.push((code, Instant::now()));
                drop(sent);
                std::thread::sleep(Duration::from_millis(50)); // "try again", as wachat's clients do (sooner)
            }
            None => {
                sent.refused.push(("lost".into(), Instant::now()));
                line = None;
            }
        }
    }
}

/// Bob receives on node b (a if b is unreachable), acknowledging each
/// event, and keeps this phase's messages.
fn receiver(phase: char, nodes: Vec<SocketAddr>, stop: Arc<AtomicBool>, received: Arc<Mutex<Received>>) {
    let mut line: Option<Line> = None;
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(conn) = line.as_mut() else {
            line = Line::open(nodes[turn % nodes.len()], "LOGIN:bob:pw-bob");
            if line.is_none() {
                turn += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            continue;
        };
        let Some(event) = conn.read() else {
            let quiet = received.lock().unwrap().arrivals.last().map(|a| a.1.elapsed());
            if quiet.is_some_and(|q| q > STALL) && !stop.load(Ordering::Relaxed) {
                received.lock().unwrap().stalls += 1; // nothing at all, not even a PING
            }
            line = None;
            continue;
        };
        let quiet = received.lock().unwrap().arrivals.last().map(|a| a.1.elapsed());
        if quiet.is_some_and(|q| q > STALL) && !stop.load(Ordering::Relaxed) {
            received.lock().unwrap().stalls += 1;
            line = None;
            continue;
        }
        if event == "PING" {
            conn.send("PONG");
            continue;
        }
        let fields: Vec<&str> = event.splitn(7, ':').collect();
        if fields.len() == 7 && fields[0] == "MSG" && fields[4].starts_with(phase) {
            let seq: u64 = fields[1].parse().unwrap();
            let Ok(n) = fields[6].parse::<u64>() else { continue }; // `wachat send`'s, in phase 2
            let mut got = received.lock().unwrap();
            if got.by_seq.insert(seq, n).is_none() {
                got.arrivals.push((n, Instant::now()));
            }
            drop(got);
            conn.send(&format!("ACK:{seq}"));
        }
    }
}

/// The workload: its two threads, and what they saw.
struct Workload {
    phase: char,
    /// Stops the sender.
    stop: Arc<AtomicBool>,
    /// Stops the receiver, once it has what was acknowledged.
    stop_receiving: Arc<AtomicBool>,
    sent: Arc<Mutex<Sent>>,
    received: Arc<Mutex<Received>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workload {
    fn start(phase: char, a: &TestServer, b: &TestServer) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new(Sent::default()));
        let received = Arc::new(Mutex::new(Received::default()));
        let stop_receiving = Arc::new(AtomicBool::new(false));
        let (s, r) = (stop_receiving.clone(), received.clone());
        let nodes = vec![b.recv, a.recv];
        let mut threads = vec![std::thread::spawn(move || receiver(phase, nodes, s, r))];
        let (s, sent2) = (stop.clone(), sent.clone());
        let nodes = vec![a.send, b.send];
        threads.push(std::thread::spawn(move || sender(phase, nodes, s, sent2)));
        Workload { phase, stop, stop_receiving, sent, received, threads }
    }

    fn acked(&self) -> usize {
        self.sent.lock().unwrap().acked.len()
    }

    /// Waits until `more` messages beyond now are acknowledged.
    fn wait_acked(&self, more: usize, within: Duration) {
        let target = self.acked() + more;
        eventually(&format!("{more} more messages acknowledged"), within, || self.acked() >= target);
    }

    /// Stops sending, waits for every acknowledged message to arrive, and
    /// checks: none lost, none twice, in order — as received, and as the
    /// database (the primary now) has them in ana's `HISTORY` on `node`.
    fn finish(self, node: &TestServer, other: &TestServer) -> (Sent, Received) {
        self.stop.store(true, Ordering::Relaxed);
        let sent = std::mem::take(&mut *self.sent.lock().unwrap());
        let last = sent.acked.last().map_or(0, |a| a.0);
        let received = self.received.clone();
        // Long enough for a stalled receive connection to be opened again
        // (its read times out after 20 s) and replayed.
        let deadline = Instant::now() + Duration::from_secs(45);
        while !received.lock().unwrap().by_seq.values().any(|&n| n >= last) {
            if Instant::now() > deadline {
                let got = received.lock().unwrap().by_seq.values().max().copied();
                let tail = |n: &TestServer| n.log().into_iter().rev().take(15).collect::<Vec<_>>();
                panic!(
                    "received up to {got:?} of {last} after 45 s; node a: {:?}\nnode b: {:?}",
                    tail(node),
                    tail(other)
                );
            }
            std::thread::sleep(Duration::from_millis(50)); // polling what the receiver got
        }
        self.stop_receiving.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        let received = std::mem::take(&mut *received.lock().unwrap());
        let numbers: Vec<u64> = received.by_seq.values().copied().collect();
        let mut seen = std::collections::HashSet::new();
        let twice: Vec<u64> = numbers.iter().copied().filter(|n| !seen.insert(*n)).collect();
        assert!(twice.is_empty(), "received twice (two seqs): {twice:?}");
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order: {numbers:?}");
        let lost: Vec<u64> = sent.acked.iter().map(|a| a.0).filter(|n| !seen.contains(n)).collect();
        assert!(lost.is_empty(), "acknowledged but never received: {lost:?}");
        let (stored, window_full) = history(node);
        let stored: Vec<u64> =
            stored.iter().filter(|(id, _)| id.starts_with(self.phase)).map(|(_, n)| *n).collect();
        assert!(stored.windows(2).all(|w| w[0] < w[1]), "stored out of order or twice: {stored:?}");
        assert!(!stored.is_empty() || sent.acked.is_empty(), "none of this phase's messages in HISTORY");
        // HISTORY gives the last 1,000 of the chat: with the earlier phases'
        // messages a long phase's first ones fall before that window.
        let before_window = |n: &u64| window_full && stored.first().is_some_and(|first| n < first);
        let missing: Vec<u64> =
            sent.acked.iter().map(|a| a.0).filter(|n| !stored.contains(n) && !before_window(n)).collect();
        assert!(missing.is_empty(), "acknowledged but not in the database: {missing:?}");
        (sent, received)
    }
}

/// Ana's messages to bob as the database has them (id, number), oldest
/// first: the newest 1,000 (the most one `HISTORY` gives; a phase sends fewer).
/// Ana's numbered messages in `HISTORY:bob:1000` (id, number), and
/// whether the listing was full (older messages left out of it).
fn history(node: &TestServer) -> (Vec<(String, u64)>, bool) {
    let mut ana = node.login_send("ana", "pw-ana");
    let mut stored = Vec::new();
    let listing = ana.listing("HISTORY:bob:1000");
    let full = listing.len() >= 1000;
    for line in listing {
        // <from>:<to>:<id>:<ts>:<state>:<text>
        let f: Vec<&str> = line.splitn(6, ':').collect();
        if f.len() == 6
            && f[0] == "ana"
            && let Ok(n) = f[5].parse()
        {
            stored.push((f[2].to_string(), n));
        }
    }
    (stored, full)
}

/// `wachat send --to bob TEXT` as ana through `node`, on a thread of its own.
fn one_shot_send(node: &TestServer, text: &str) -> std::thread::JoinHandle<std::process::Output> {
    let (send, recv) = (node.send.port().to_string(), node.recv.port().to_string());
    let text = text.to_string();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(support::wachat_bin())
            .args(["send", "--user", "ana", "--send-port", &send, "--recv-port", &recv, "--to", "bob", &text])
            .arg("--data-dir")
            .arg(dir.path())
            .env("WACHAT_PASSWORD", "pw-ana")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("wachat send");
        // Its patience (30 s) and a failover's ~10 s fit in this.
        support::wait_with_timeout(&mut child, Duration::from_secs(45));
        child.wait_with_output().unwrap()
    })
}

/// What a phase measured, printed (docs/CLUSTER.md's figures).
fn report(phase: &str, fault: Instant, sent: &Sent, received: &Received) {
    // The failover as a user sees it: the longest time without an `OK`.
    let outage = longest_pause(fault, sent.acked.iter().map(|a| a.1));
    let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
    for (code, _) in sent.refused.iter().filter(|r| r.1 > fault) {
        *refused.entry(code).or_default() += 1;
    }
    let gap = delivery_gap(received, fault);
    println!(
        "{phase}: {} acknowledged, 0 lost, 0 duplicated, in order; longest time without an OK {outage:?}; \
         refused meanwhile {refused:?}; longest MSG wait {:?}; longest delivery gap {gap:?}; \
         receive connection stalled {} times",
        sent.acked.len(),
        sent.longest,
        received.stalls
    );
}

/// The longest pause between two deliveries after `fault`.
fn delivery_gap(received: &Received, fault: Instant) -> Duration {
    longest_pause(fault, received.arrivals.iter().map(|a| a.1))
}

/// The longest time without one of `times` from `fault` on (from the
/// fault to the first one after it included).
fn longest_pause(fault: Instant, times: impl Iterator<Item = Instant>) -> Duration {
    let after: Vec<Instant> = std::iter::once(fault).chain(times.filter(|t| *t > fault)).collect();
    after.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
}

#[test]
fn a_frozen_primary_a_killed_primary_and_a_killed_nats_server_lose_nothing() {
    let formation = Formation::start();
    let (a, b) = (formation.node("a"), formation.node("b"));
    a.register(&["ana", "bob"]);

    // 1. The primary frozen longer than the failover.
    let workload = Workload::start('f', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30));
    let frozen = formation.primary();
    let fault = Instant::now();
    formation.signal(&frozen, libc::SIGSTOP);
    eventually("a new primary", Duration::from_secs(60), || {
        formation
            .states()
            .iter()
            .any(|(name, r, g)| *name != frozen && r.contains("primary") && g.contains("primary"))
    });
    workload.wait_acked(50, Duration::from_secs(30));
    formation.signal(&frozen, libc::SIGCONT);
    workload.wait_acked(50, Duration::from_secs(30));
    let (sent, received) = workload.finish(&a, &b);
    // Known (docs/CLUSTER.md, "Not solved yet"): after this failover the
    // receive connection may stop getting messages; it is opened again
    // and its replay brings them (counted, printed, not yet asserted).
    report("primary frozen", fault, &sent, &received);
    assert!(sent.longest <= MSG_WAIT_MAX, "a MSG waited {:?}", sent.longest);
    let followed =
        |node: &TestServer| node.log().iter().any(|l| l.contains("the primary database is now host"));
    assert!(followed(&a) && followed(&b), "{:?}", a.log());

    // 2. The primary and its keeper killed, once the old one is back as a secondary.
    formation.wait_healthy(Duration::from_secs(90));
    let workload = Workload::start('k', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30));
    let killed = formation.primary();
    println!("killing {killed}: {:?}", formation.states());
    let fault = Instant::now();
    formation.signal(&killed, libc::SIGKILL);
    // A one-shot `wachat send` in the middle of it: it tries again, same
    // id, while the node answers KO:UNAVAILABLE, and succeeds.
    let send = one_shot_send(&a, "sent during the failover");
    workload.wait_acked(100, Duration::from_secs(60));
    let send = send.join().unwrap();
    assert!(send.status.success(), "{}", String::from_utf8_lossy(&send.stderr));
    let (sent, received) = workload.finish(&a, &b);
    report("primary killed", fault, &sent, &received);
    let mut ana = a.login_send("ana", "pw-ana");
    let last = ana.listing("HISTORY:bob:1000");
    assert_eq!(last.iter().filter(|l| l.ends_with(":sent during the failover")).count(), 1, "{last:?}");
    assert!(sent.longest <= MSG_WAIT_MAX, "a MSG waited {:?}", sent.longest);

    // 3. One NATS server of three killed.
    let workload = Workload::start('n', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30));
    let fault = Instant::now();
    // SAFETY: kill(2) on a process this test's script started.
    assert_eq!(unsafe { libc::kill(formation.nats_pid(1), libc::SIGKILL) }, 0);
    workload.wait_acked(200, Duration::from_secs(30));
    let (sent, received) = workload.finish(&a, &b);
    report("a NATS server killed", fault, &sent, &received);
    // A stalled receive connection (docs/CLUSTER.md, "Not solved yet": it
    // was seen after each kind of fault) is counted and printed above, not
    // failed: nothing is lost, its reopening replays all. Without one, no
    // delivery gap over 2 s.
    if received.stalls == 0 {
        let gap = delivery_gap(&received, fault);
        assert!(gap < Duration::from_secs(2), "no delivery for {gap:?}");
    }
    assert!(sent.refused.iter().all(|r| r.1 < fault), "refusals: {:?}", sent.refused.len());
}
