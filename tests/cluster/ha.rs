//! A cluster with no single point of failure (docs/CLUSTER-OPS.md, "No
//! single point of failure"): two nodes on a pg_auto_failover formation
//! (a monitor, a primary, its synchronous secondary), started by
//! `examples/cluster_ha.sh formation` — the script a student runs. Built
//! with `--features cluster` only.
//!
//! One formation for the whole file (it takes ~15 s to start), one
//! workload through it: ana sends numbered messages to bob on node a
//! (node b if a is unreachable), resending a message with the same id
//! until it gets `OK`, and bob receives them on node b. Three faults in
//! turn, each checked: every message acknowledged arrives once, in order.
//! 1. The primary frozen (SIGSTOP of its PostgreSQL and keeper: a hung
//!    machine) for longer than the failover: no `MSG` waits longer than
//!    the secondary's promotion, writes resume on the secondary, and the
//!    frozen one rejoins as a secondary once woken.
//! 2. The (new) primary and its keeper killed (`kill -9`) mid-stream: a
//!    `MSG` waits at most for the secondary's promotion.
//! 3. The node links cut (every TCP connection a follower passed on to
//!    the leader, reset): the clients connect again, deliveries go on.
//!
//! In every phase the receive connection must never stall (a message
//! acknowledged [`STALL`] ago not yet delivered, so that the connection
//! needs opening again). How soon deliveries resume after the writes do
//! is a figure, printed with the others, not a bound: it is how long the
//! receiving node's tail takes to find the new primary, and on a loaded
//! machine that is seconds more.
//!
//! While the killed primary's secondary is not promoted yet, node a
//! serves logins and reads from its copy of the log (docs/CLUSTER.md,
//! "Failover, step by step"): ana logs in again and reads `ROOMS`,
//! `MEMBERS` and `LASTSEEN` as before; cyd, who only ever used node b,
//! logs in too (every node's copy has every account). (A frozen primary
//! leaves a window too short to aim at: the node's calls wait their 5 s
//! deadline, and the secondary is often promoted within 6.)
//!
//! Each phase prints what it measured (failover time, refusals by code,
//! the longest wait): the figures of docs/CLUSTER-OPS.md come from these runs.
#![cfg(feature = "cluster")]

#[path = "ha/formation.rs"]
mod formation;
#[path = "ha/line.rs"]
mod line;
use super::support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use formation::Formation;
use line::Line;
use support::TestServer;
use support::cluster::{eventually, eventually_or};

/// The longest a `MSG` may wait for its `OK`: one in the batch on its
/// way to a primary that hangs or dies waits, kept by the leader, for
/// the secondary's promotion (a hung call fails at the database's 5 s
/// deadline; the promotion comes 6-10 s after the fault
/// with the formation's settings, docs/CLUSTER-OPS.md) and the commit's retry
/// a second later; plus a margin for a loaded machine.
const MSG_WAIT_MAX: Duration = Duration::from_secs(15);

/// What ana's sender saw.
#[derive(Clone, Default)]
struct Sent {
    /// The numbers acknowledged `OK`, with when.
    acked: Vec<(u64, Instant)>,
    /// Refusals by code (`KO:<code>`, or `lost` for a connection that
    /// broke or a reply that did not come), with when.
    refused: Vec<(String, Instant)>,
    /// The longest a `MSG` waited for its reply.
    longest: Duration,
    /// Every login the sender tried: where, what it got (`(no answer)`
    /// for a connection refused, closed or silent past its read timeout),
    /// when it was sent and how long the answer took.
    logins: Vec<Login>,
}

/// One login of the workload's sender, for a failure to explain itself.
#[derive(Clone)]
struct Login {
    node: SocketAddr,
    answer: String,
    at: Instant,
    took: Duration,
}

impl Sent {
    /// The sender's record since `since`, a line per event: logins (with
    /// their answer and duration), refusals, and acknowledgements as runs.
    fn record(&self, since: Instant) -> String {
        let mut events: Vec<(Instant, String)> = Vec::new();
        for l in &self.logins {
            events.push((l.at, format!("LOGIN on {} -> {:?} after {:?}", l.node, l.answer, l.took)));
        }
        for (code, at) in &self.refused {
            events.push((*at, format!("MSG refused: {code}")));
        }
        // Acknowledgements, one line per run without a pause of a second.
        let mut run: Option<(u64, Instant, u64, Instant)> = None;
        let mut runs = Vec::new();
        for &(n, at) in &self.acked {
            match &mut run {
                Some((_, _, last, last_at)) if at - *last_at < Duration::from_secs(1) => {
                    (*last, *last_at) = (n, at);
                }
                _ => runs.extend(run.replace((n, at, n, at))),
            }
        }
        runs.extend(run);
        for (first, at, last, last_at) in runs {
            events.push((
                at,
                format!("OK for {first}..={last} (until +{:?})", last_at.saturating_duration_since(since)),
            ));
        }
        events.sort_by_key(|e| e.0);
        let lines: Vec<String> = events
            .into_iter()
            .map(|(at, what)| {
                format!("  +{:>8.3}s {what}", at.saturating_duration_since(since).as_secs_f64())
            })
            .collect();
        lines.join("\n")
    }
}

/// What bob's receiver got: seq → number, and when each number arrived.
#[derive(Default)]
struct Received {
    by_seq: BTreeMap<u64, u64>,
    arrivals: Vec<(u64, Instant)>,
    /// Times a message acknowledged [`STALL`] ago had not arrived, and the
    /// connection was opened again (its replay then brings what is missing).
    stalls: usize,
}

impl Received {
    /// True if a message acknowledged more than [`STALL`] ago has not
    /// arrived (they arrive in order: the first after the last arrived).
    fn stalled(&self, sent: &Sent) -> bool {
        let last = self.by_seq.values().max().copied().unwrap_or(0);
        sent.acked.iter().find(|(n, _)| *n > last).is_some_and(|(_, at)| at.elapsed() > STALL)
    }
}

/// A message acknowledged this long ago and not received means the
/// receive connection stalled: it is opened again (and the phase fails).
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
            let node = nodes[turn % nodes.len()];
            let at = Instant::now();
            let (opened, answer) = Line::open_saying(node, "LOGIN:ana:pw-ana");
            sent.lock().unwrap().logins.push(Login { node, answer, at, took: at.elapsed() });
            line = opened;
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
/// event, and keeps this phase's messages. A message ana had acknowledged
/// [`STALL`] ago that has not come is a stall: counted, and the connection
/// opened again.
fn receiver(
    phase: char,
    nodes: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    seen: (Arc<Mutex<Sent>>, Arc<Mutex<Received>>),
) {
    let (sent, received) = seen;
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
        let event = match conn.read_within(Duration::from_millis(500)) {
            Ok(Some(event)) => event,
            Ok(None) => {
                let sent = sent.lock().unwrap();
                let mut got = received.lock().unwrap();
                if got.stalled(&sent) && !stop.load(Ordering::Relaxed) {
                    got.stalls += 1;
                    let last = got.by_seq.values().max().copied();
                    eprintln!("receive connection stalled after {last:?}: opened again");
                    line = None;
                }
                continue;
            }
            Err(()) => {
                line = None;
                continue;
            }
        };
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
    /// When it started: the record's times count from here.
    started: Instant,
}

/// How many times each node started again so far (a leader deposed
/// starts again as a follower), for a phase's figures.
fn restarts(a: &TestServer, b: &TestServer) -> String {
    let count = |n: &TestServer| n.log().iter().filter(|l| l.contains("starting again (")).count();
    format!("started again so far: node a {} times, node b {}", count(a), count(b))
}

/// The last lines of both nodes' logs, for a failure's message.
fn nodes_tail(a: &TestServer, b: &TestServer) -> String {
    let tail = |n: &TestServer| {
        let log = n.log();
        log[log.len().saturating_sub(40)..].join("\n")
    };
    format!("node a's last lines:\n{}\nnode b's last lines:\n{}", tail(a), tail(b))
}

impl Workload {
    fn start(phase: char, a: &TestServer, b: &TestServer) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new(Sent::default()));
        let received = Arc::new(Mutex::new(Received::default()));
        let stop_receiving = Arc::new(AtomicBool::new(false));
        let (s, seen) = (stop_receiving.clone(), (sent.clone(), received.clone()));
        let nodes = vec![b.recv, a.recv];
        let mut threads = vec![std::thread::spawn(move || receiver(phase, nodes, s, seen))];
        let (s, sent2) = (stop.clone(), sent.clone());
        let nodes = vec![a.send, b.send];
        threads.push(std::thread::spawn(move || sender(phase, nodes, s, sent2)));
        Workload { phase, stop, stop_receiving, sent, received, threads, started: Instant::now() }
    }

    fn acked(&self) -> usize {
        self.sent.lock().unwrap().acked.len()
    }

    /// Waits until `more` messages beyond now are acknowledged.
    /// Failing, it says what the sender got meanwhile, its record since
    /// the workload started, and the nodes' last lines.
    fn wait_acked(&self, more: usize, within: Duration, (a, b): (&TestServer, &TestServer)) {
        let start = self.acked();
        let why = || {
            let sent = self.sent.lock().unwrap();
            let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
            for (code, _) in &sent.refused {
                *refused.entry(code).or_default() += 1;
            }
            format!(
                "{more} more messages acknowledged: {} after {within:?} ({} in all); refused {refused:?}; \
                 longest MSG wait {:?}\nthe sender's record:\n{}\n{}",
                sent.acked.len() - start,
                sent.acked.len(),
                sent.longest,
                sent.record(self.started),
                nodes_tail(a, b)
            )
        };
        eventually_or(within, || self.acked() >= start + more, why);
    }

    /// Stops sending, waits for every acknowledged message to arrive, and
    /// checks: none lost, none twice, in order — as received, and as the
    /// database (the primary now) has them in ana's `HISTORY` on `node`.
    fn finish(self, node: &TestServer, other: &TestServer) -> (Sent, Received) {
        self.stop.store(true, Ordering::Relaxed);
        let mut threads = self.threads;
        if let Some(sender) = threads.pop() {
            let _ = sender.join(); // its last request answered: `sent` is final
        }
        let sent = self.sent.lock().unwrap().clone(); // the receiver still reads it
        let last = sent.acked.last().map_or(0, |a| a.0);
        let received = self.received.clone();
        // Long enough for a stalled receive connection to be noticed
        // ([`STALL`]), opened again and replayed (the phase then fails).
        let deadline = Instant::now() + Duration::from_secs(45);
        while !received.lock().unwrap().by_seq.values().any(|&n| n >= last) {
            if Instant::now() > deadline {
                let got = received.lock().unwrap().by_seq.values().max().copied();
                panic!(
                    "received up to {got:?} of {last} after 45 s\nthe sender's record:\n{}\n{}",
                    sent.record(self.started),
                    nodes_tail(node, other)
                );
            }
            std::thread::sleep(Duration::from_millis(50)); // polling what the receiver got
        }
        self.stop_receiving.store(true, Ordering::Relaxed);
        for thread in threads {
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

/// What ana reads on a send connection: `ROOMS`, `MEMBERS:#general`,
/// `LASTSEEN:bob` (bob is online, on node b).
fn ana_reads(conn: &mut Line) -> Vec<Vec<String>> {
    let seen = conn.request("LASTSEEN:bob").unwrap_or_default();
    vec![conn.listing("ROOMS"), conn.listing("MEMBERS:#general"), vec![seen]]
}

/// What the two logins during the freeze got.
struct Offline {
    /// Ana's `LOGIN` on node a, and her reads after it.
    ana: (String, Vec<Vec<String>>),
    /// Cyd's `LOGIN` on node a.
    cyd: String,
}

/// While node a finds no primary, at once: ana logs in there and reads;
/// cyd (who only ever used node b) logs in. With the primary dead, each
/// database call fails at once (connection refused, the standby
/// read-only), well within the failover (~9 s).
fn logins_while_down(a: &TestServer) -> std::thread::JoinHandle<Offline> {
    let addr = a.send;
    let login =
        move |frame: &'static str| move || Line::connect(addr).and_then(|mut c| Some((c.request(frame)?, c)));
    std::thread::spawn(move || {
        let cyd = std::thread::spawn(login("LOGIN:cyd:pw-cyd"));
        let (answer, mut ana) = login("LOGIN:ana:pw-ana")().expect("an answer to ana's login");
        let reads = if answer == "OK:ana" { ana_reads(&mut ana) } else { Vec::new() };
        let cyd = cyd.join().unwrap().map_or_else(|| "(no answer)".into(), |(answer, _)| answer);
        Offline { ana: (answer, reads), cyd }
    })
}

/// Node a answered ana from its copy of the log while no primary
/// answered, as before, and let cyd in: every node has every account.
fn check_answers_from_the_copy(before: &[Vec<String>], offline: Offline) {
    // What node a answered before: #general, its three members, bob online.
    assert!(before[0].iter().any(|l| l.starts_with("#general")), "ROOMS before: {:?}", before[0]);
    assert_eq!(before[1].len(), 3, "MEMBERS:#general before: {:?}", before[1]);
    assert_eq!(before[2], ["OK:bob:ONLINE"], "LASTSEEN:bob before");
    assert_eq!(offline.ana.0, "OK:ana", "ana's login while no primary answered");
    assert_eq!(offline.ana.1, before, "ana's reads while no primary answered");
    assert_eq!(offline.cyd, "OK:cyd", "cyd's login while no primary answered");
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

/// What a phase measured, printed (docs/CLUSTER-OPS.md's figures).
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

/// Every phase: the receive connection never stalled.
fn assert_delivered_without_stall(phase: &str, received: &Received) {
    assert_eq!(received.stalls, 0, "{phase}: the receive connection stalled");
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
fn a_frozen_primary_a_killed_primary_and_the_node_links_cut_lose_nothing() {
    let formation = Formation::start();
    let (a, b) = (formation.node("a"), formation.node("b"));
    a.register(&["ana", "bob"]);

    b.register(&["cyd"]); // through node b only: cyd never uses node a

    // 1. The primary frozen longer than the failover.
    let phase = Instant::now();
    let workload = Workload::start('f', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30), (&a, &b));
    let frozen = formation.primary();
    let fault = Instant::now();
    formation.signal(&frozen, libc::SIGSTOP);
    eventually("a new primary", Duration::from_secs(60), || {
        formation
            .states()
            .iter()
            .any(|(name, r, g)| *name != frozen && r.contains("primary") && g.contains("primary"))
    });
    workload.wait_acked(50, Duration::from_secs(30), (&a, &b));
    formation.signal(&frozen, libc::SIGCONT);
    workload.wait_acked(50, Duration::from_secs(30), (&a, &b));
    let since = workload.started;
    let (sent, received) = workload.finish(&a, &b);
    report("primary frozen", fault, &sent, &received);
    println!("primary frozen: the phase took {:?}; {}", phase.elapsed(), restarts(&a, &b));
    assert_delivered_without_stall("primary frozen", &received);
    assert!(sent.longest <= MSG_WAIT_MAX, "a MSG waited {:?}\n{}", sent.longest, sent.record(since));
    let followed =
        |node: &TestServer| node.log().iter().any(|l| l.contains("the primary database is now host"));
    assert!(followed(&a) && followed(&b), "{:?}", a.log());

    // 2. The primary and its keeper killed, once the old one is back as a secondary.
    formation.wait_healthy(Duration::from_secs(90));
    let phase = Instant::now();
    let workload = Workload::start('k', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30), (&a, &b));
    let killed = formation.primary();
    println!("killing {killed}: {:?}", formation.states());
    let fault = Instant::now();
    let before = ana_reads(&mut Line::open(a.send, "LOGIN:ana:pw-ana").expect("ana logs in on node a"));
    let no_primary = || a.log().iter().filter(|l| l.contains("no primary database answers")).count();
    let refusing = no_primary();
    formation.signal(&killed, libc::SIGKILL);
    eventually_or(
        Duration::from_secs(10),
        || no_primary() > refusing,
        || {
            let log = a.log();
            let tail = &log[log.len().saturating_sub(40)..];
            format!(
                "node a finding no primary: not after 10 s; the formation now {:?}; node a's last lines:\n{}",
                formation.states(),
                tail.join("\n")
            )
        },
    );
    let offline = logins_while_down(&a);
    // A one-shot `wachat send` in the middle of it: it tries again, same
    // id, while the node answers KO:UNAVAILABLE, and succeeds.
    let send = one_shot_send(&a, "sent during the failover");
    workload.wait_acked(100, Duration::from_secs(60), (&a, &b));
    check_answers_from_the_copy(&before, offline.join().unwrap());
    let send = send.join().unwrap();
    assert!(send.status.success(), "{}", String::from_utf8_lossy(&send.stderr));
    let since = workload.started;
    let (sent, received) = workload.finish(&a, &b);
    report("primary killed", fault, &sent, &received);
    println!("primary killed: the phase took {:?}; {}", phase.elapsed(), restarts(&a, &b));
    assert_delivered_without_stall("primary killed", &received);
    let mut ana = a.login_send("ana", "pw-ana");
    let last = ana.listing("HISTORY:bob:1000");
    assert_eq!(last.iter().filter(|l| l.ends_with(":sent during the failover")).count(), 1, "{last:?}");
    assert!(sent.longest <= MSG_WAIT_MAX, "a MSG waited {:?}\n{}", sent.longest, sent.record(since));

    // 3. The node links cut: every connection to either node's node port
    // reset, as a network that drops them would.
    let phase = Instant::now();
    let workload = Workload::start('n', &a, &b);
    workload.wait_acked(50, Duration::from_secs(30), (&a, &b));
    let fault = Instant::now();
    for node in [&a, &b] {
        support::cluster::cut_node_links(node);
    }
    // How long 200 take is the machine's speed: the deadline only
    // catches a cluster that stopped.
    workload.wait_acked(200, Duration::from_secs(120), (&a, &b));
    let since = workload.started;
    let (sent, received) = workload.finish(&a, &b);
    report("the node links cut", fault, &sent, &received);
    println!("the node links cut: the phase took {:?}; {}", phase.elapsed(), restarts(&a, &b));
    assert_delivered_without_stall("the node links cut", &received);
    let gap = delivery_gap(&received, fault);
    assert!(gap < Duration::from_secs(2), "no delivery for {gap:?}\n{}", sent.record(since));
    // Nothing refused. A request on its way over a link that was cut is
    // lost with it: its connection ends, and she sends it again with its
    // id (docs/CLUSTER.md, "Forwarding"), within the gap above.
    let refused: Vec<&(String, Instant)> =
        sent.refused.iter().filter(|r| r.1 > fault && r.0 != "lost").collect();
    assert!(refused.is_empty(), "refusals: {refused:?}\n{}", sent.record(since));
}
