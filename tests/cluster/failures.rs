//! Failures: a node killed during a flood, the node links cut during a
//! flood, PostgreSQL stopped, slow, not up yet, or its first host
//! frozen, a node of a client's list down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

use super::support::cluster::{Cluster, WAITING_OUT_A_FROZEN_HOST, eventually, store_behind_a_proxy};
use super::support::{self, Conn, TestServer, without_ts};
use super::{PW, recv_conn, register, send_conn, wachat};
use wachat::cluster::db::postgres;

/// A raw client that reports failures instead of panicking (the node it
/// talks to is about to be killed).
struct Raw {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Raw {
    fn login(addr: std::net::SocketAddr, user: &str) -> std::io::Result<Raw> {
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(support::READ_TIMEOUT))?;
        let mut raw = Raw { reader: std::io::BufReader::new(stream.try_clone()?), writer: stream };
        raw.write(&format!("LOGIN:{user}:{PW}\n"))?;
        let reply = raw.line()?;
        if reply != format!("OK:{user}") {
            return Err(std::io::Error::other(reply));
        }
        Ok(raw)
    }

    fn write(&mut self, s: &str) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.writer, s.as_bytes())
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut self.reader, &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end().to_string())
    }
}

/// A user's connection to the first node that answers, moving on to the
/// next one when it is lost (what clients with several servers do).
struct Failover<'a> {
    nodes: &'a [std::net::SocketAddr],
    user: &'a str,
    node: usize,
    conn: Option<Raw>,
}

impl<'a> Failover<'a> {
    fn new(nodes: &'a [std::net::SocketAddr], user: &'a str) -> Self {
        Failover { nodes, user, node: 0, conn: None }
    }

    /// The connection, logged in (trying the nodes in turn).
    fn conn(&mut self) -> &mut Raw {
        while self.conn.is_none() {
            match Raw::login(self.nodes[self.node % self.nodes.len()], self.user) {
                Ok(c) => self.conn = Some(c),
                Err(_) => self.node += 1,
            }
        }
        self.conn.as_mut().expect("just connected")
    }

    /// The connection failed: the next node.
    fn lost(&mut self) {
        self.conn = None;
        self.node += 1;
    }
}

/// Strikes (a node killed, the node links cut) from inside a flood:
/// once `at` messages are acknowledged, by the first sender to see it,
/// between writing a batch and reading its replies, so that the kill
/// always lands with requests on their way: the whole flood takes a few
/// milliseconds, less than a test thread polling the count would need to
/// notice it. Counts the replies that took longer than a client's
/// [`support::READ_TIMEOUT`] to come.
struct Killer {
    strike: Box<dyn Fn() + Send + Sync>,
    at: usize,
    acked: AtomicUsize,
    done: AtomicBool,
    /// Reads that timed out: a request left unanswered, its connection open.
    kept_waiting: AtomicUsize,
}

impl Killer {
    fn new(strike: Box<dyn Fn() + Send + Sync>, at: usize) -> Arc<Killer> {
        let (acked, kept_waiting) = (AtomicUsize::new(0), AtomicUsize::new(0));
        Arc::new(Killer { strike, at, acked, done: AtomicBool::new(false), kept_waiting })
    }

    /// Strikes if the flood has come this far and nobody did yet.
    fn strike(&self) {
        if self.acked.load(SeqCst) >= self.at && !self.done.swap(true, SeqCst) {
            (self.strike)();
        }
    }
}

/// Sends `total` messages `m0…` to `to`, 50 at a time pipelined, through
/// the first node that answers; what got no `OK` is sent again (same id).
/// Returns the ids acknowledged.
fn flood(nodes: &[SocketAddr], from: &str, to: &str, total: usize, killer: &Killer) -> Vec<String> {
    let mut done = Vec::new();
    let mut link = Failover::new(nodes, from);
    while done.len() < total {
        let c = link.conn();
        let batch: Vec<usize> = (done.len()..(done.len() + 50).min(total)).collect();
        let requests: String = batch.iter().map(|i| format!("MSG:{to}:m{i}:text {i}\n")).collect();
        let replies: std::io::Result<Vec<String>> = c.write(&requests).and_then(|()| {
            killer.strike();
            batch.iter().map(|_| c.line()).collect()
        });
        match replies {
            Ok(replies) => {
                for (i, reply) in batch.iter().zip(replies) {
                    assert!(reply.starts_with(&format!("OK:m{i}:")), "{reply}");
                    done.push(format!("m{i}"));
                    killer.acked.fetch_add(1, SeqCst);
                }
            }
            Err(e) => {
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                    killer.kept_waiting.fetch_add(1, SeqCst);
                }
                link.lost(); // the node died or cut it: the next one, and the batch again
            }
        }
    }
    done
}

/// Receives until every id in `want` came, through the first node that
/// answers, acknowledging as it goes; returns (seq, id) of every event.
fn receive_all(nodes: &[SocketAddr], user: &str, want: usize) -> Vec<(u64, String)> {
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut link = Failover::new(nodes, user);
    while ids.len() < want {
        let c = link.conn();
        match c.line() {
            Ok(line) if line.starts_with("MSG:") => {
                let f: Vec<&str> = line.splitn(7, ':').collect();
                let seq: u64 = f[1].parse().unwrap();
                seen.push((seq, f[4].to_string()));
                ids.insert(f[4].to_string());
                let _ = c.write(&format!("ACK:{seq}\n"));
            }
            Ok(line) if line == "PING" => drop(c.write("PONG\n")),
            Ok(_) => {}
            Err(_) => link.lost(),
        }
    }
    seen
}

/// Messages each sender of a flood sends.
const TOTAL: usize = 600;

/// Two senders flood their receivers (`s0` → `r0`, `s1` → `r1`) through
/// the nodes `send` and `recv` while `killer` strikes, once a third of
/// the flood is acknowledged; every message acknowledged, and received
/// once, numbered without a gap.
fn flood_through_a_kill(node: &TestServer, send: &[SocketAddr], recv: &[SocketAddr], killer: &Arc<Killer>) {
    let pairs = [("s0", "r0"), ("s1", "r1")];
    for (s, r) in pairs {
        register(node, s);
        register(node, r);
    }
    let mut threads = Vec::new();
    for (s, r) in pairs {
        let (killer, send, recv) = (killer.clone(), send.to_vec(), recv.to_vec());
        threads.push(std::thread::spawn(move || (flood(&send, s, r, TOTAL, &killer), Vec::new())));
        threads.push(std::thread::spawn(move || (Vec::new(), receive_all(&recv, r, TOTAL))));
    }
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(killer.done.load(SeqCst), "the kill came during the flood");
    for (i, (_, received)) in results.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        let sent = &results[i - 1].0;
        assert_eq!(sent.len(), TOTAL);
        // Each id under one sequence number only (a replay may repeat an
        // event, never store a message twice), and every one arrived.
        let mut by_id: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        for (seq, id) in received {
            let first = *by_id.entry(id.as_str()).or_insert(*seq);
            assert_eq!(first, *seq, "{id} stored twice");
        }
        assert_eq!(by_id.len(), TOTAL);
        let mut seqs: Vec<u64> = by_id.values().copied().collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=TOTAL as u64).collect::<Vec<_>>(), "gap-free numbers");
    }
}

#[test]
fn a_node_killed_during_a_flood_loses_and_duplicates_no_acknowledged_message() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    let pid = a.pid() as i32;
    // SAFETY: kill(2) of a process this test started.
    let killer = Killer::new(
        Box::new(move || assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0)),
        TOTAL * 2 / 3,
    );
    flood_through_a_kill(&a, &[a.send, b.send], &[a.recv, b.recv], &killer);
    a.kill(); // reaped
    let mut s0 = send_conn(&b, "s0");
    assert_eq!(s0.listing("HISTORY:r0:1000").len(), TOTAL);
}

/// Node a leads, node b follows; every message goes through node b, so
/// over a node link to a and back. The links are cut (reset) during the
/// flood, with requests on their way over them: their connections end at
/// once, the clients connect again and send what got no `OK` with its
/// id; no reply keeps a client waiting its read timeout.
#[test]
fn the_node_links_cut_during_a_flood_through_a_follower_lose_and_keep_waiting_no_acknowledged_message() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let killer = Killer::new(Box::new(move || support::cluster::cut_node_links(&a)), TOTAL * 2 / 3);
    flood_through_a_kill(&b, &[b.send], &[b.recv], &killer);
    let kept = killer.kept_waiting.load(SeqCst);
    assert_eq!(kept, 0, "replies not come after {:?}: {:?}", support::READ_TIMEOUT, b.log());
}

/// With PostgreSQL gone, a leader still stops on SIGTERM: where its
/// users' devices are (ana's, online, seen now) goes to the log at the
/// last flush without waiting for a database that does not answer.
#[test]
fn a_node_stops_on_sigterm_while_postgresql_is_down() {
    let cluster = Cluster::start_own();
    let mut a = cluster.node("a");
    register(&a, "ana");
    let _ana_recv = recv_conn(&a, "ana");
    cluster.pg.stop();
    assert!(a.terminate().success(), "{:?}", a.log());
}

/// Two nodes; ana sends on node a, bob receives on node b, and bob got
/// ana's first message (`m1`): the start of the tests of a database that
/// goes away. No `--user-quota`: a message's own path then needs nothing
/// of the database but the shared log (the quota counts a user's files,
/// which are the database's).
fn ana_sent_bob_one_message() -> (Cluster, [TestServer; 2], Conn, Conn) {
    let cluster = Cluster::start_own();
    let no_quota = ["--user-quota", "0"];
    let (a, b) = (cluster.node_with("a", &no_quota), cluster.node_with("b", &no_quota));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:m1:one").starts_with("OK:"));
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:1:ana:bob:m1:<ts>:one");
    (cluster, [a, b], ana, bob_recv)
}

#[test]
fn while_postgresql_is_down_writes_wait_or_are_refused_reads_go_on_and_the_nodes_recover_by_themselves() {
    let (cluster, [a, b], mut ana, mut bob_recv) = ana_sent_bob_one_message();
    let mut ana_on_b = send_conn(&b, "ana");
    cluster.pg.stop();
    // The write that meets the database gone waits, unanswered, for it:
    // the leader keeps its batch and commits it again each second. That
    // write may be the leader's own (a record of bob's device, as its
    // acknowledgements move it): m2, after it, is then refused as every
    // later write is.
    ana.send("MSG:bob:m2:two");
    // A write the leader takes while that batch is still on its way to
    // the database joins the next one, and waits too (its reply is owed
    // once both are written). So the next write is sent once the leader
    // has found the database gone: a write forwarded at once from node b
    // reached the leader a millisecond after m2, before its commit failed.
    a.wait_for_log("refusing writes");
    // Every later write is refused at once, with the code that says "try
    // again" (a 1.0 client reads its reason), on either node.
    eventually("writes refused", Duration::from_secs(20), || {
        ana_on_b.request("MSG:bob:m3:three").starts_with("KO:UNAVAILABLE:")
    });
    // Reads are served from each node's copy of the log meanwhile.
    let history = ana_on_b.listing("HISTORY:bob:5");
    assert_eq!(history.len(), 1, "what is in the log: {history:?}");
    cluster.pg.start_again();
    // No restart: the waiting batch is committed and answered, and the
    // client sends again what got a KO.
    let m2 = ana.line();
    if m2.starts_with("KO:UNAVAILABLE:") {
        eventually("writes accepted again", Duration::from_secs(20), || {
            ana.request("MSG:bob:m2:two").starts_with("OK:m2:")
        });
    } else {
        assert!(m2.starts_with("OK:m2:"), "{m2}");
    }
    eventually("writes accepted again", Duration::from_secs(20), || {
        ana_on_b.request("MSG:bob:m3:three").starts_with("OK:m3:")
    });
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:2:ana:bob:m2:<ts>:two");
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:3:ana:bob:m3:<ts>:three");
    bob_recv.send("ACK:3");
    let mut ana_recv = recv_conn(&a, "ana");
    for (n, id) in ["m1", "m2", "m3"].iter().enumerate() {
        assert_eq!(without_ts(&ana_recv.next_event()), format!("STATUS:{}:bob:{id}:DELIVERED:<ts>", n + 1));
    }
}

/// A database too slow to answer a starting node within the 3 s a
/// request's connection gets (a loaded machine, here a postmaster paused
/// for 5 s) delays the node's start; it does not fail it.
#[test]
fn waits_5_s_a_node_starts_on_a_database_that_answers_only_after_5_s() {
    let cluster = Cluster::start_own();
    cluster.pg.signal(libc::SIGSTOP);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(5)); // the pause this test is about
            cluster.pg.signal(libc::SIGCONT);
        });
        let node = cluster.node("a");
        register(&node, "ana");
        assert!(send_conn(&node, "ana").request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    });
}

/// A node started before its PostgreSQL is up (both started at once, as
/// by systemd), the database's port still closed, goes round its hosts
/// again and again: it starts once the database is up, a few seconds
/// later, instead of failing at the first refusal.
#[test]
fn a_node_started_before_its_postgresql_is_up_starts_once_it_is() {
    let cluster = Cluster::start_own();
    cluster.pg.stop();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(3)); // the database starts later: what this test is about
            cluster.pg.start_again();
        });
        let node = cluster.node("a");
        let waited = node.wait_for_log("no primary database answers yet");
        assert!(waited.contains("host 1 of --store: ") && waited.contains("refused"), "{waited}");
        register(&node, "ana");
        assert!(send_conn(&node, "ana").request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    });
}

/// A node's first start while host 1 of its `--store` is frozen goes on
/// to host 2 after a short attempt: it starts and serves without waiting
/// out the frozen host.
#[test]
fn a_nodes_first_start_with_its_first_host_frozen_goes_on_to_the_second() {
    let cluster = Cluster::start();
    let (proxy, store) = store_behind_a_proxy(&cluster);
    proxy.freeze();
    let began = std::time::Instant::now();
    let node = TestServer::start_with(&["--store", &store, "--node", "a", "--rate", "0"]);
    let took = began.elapsed();
    assert!(took < WAITING_OUT_A_FROZEN_HOST, "started in {took:?}:\n{}", node.log().join("\n"));
    node.wait_for_log("the primary database is now host 2 of --store");
    node.wait_for_log("cluster: node a leads");
    register(&node, "ana");
    assert!(send_conn(&node, "ana").request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    assert!(proxy.held() > 0, "host 1 was tried");
    proxy.thaw();
}

/// `wachat users` with host 1 of its `--store` frozen goes on to host 2
/// as a node's start does, and does what it was asked.
#[test]
fn wachat_users_with_the_first_host_frozen_goes_on_to_the_second() {
    let cluster = Cluster::start();
    let node = cluster.node("a");
    register(&node, "ana");
    let (proxy, store) = store_behind_a_proxy(&cluster);
    proxy.freeze();
    let args = ["disable", "ana", "--store", &store];
    let run = support::run_wachat_output("users", &args, WAITING_OUT_A_FROZEN_HOST);
    let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(run.status.success(), "{}", said(&run.stderr));
    assert_eq!(said(&run.stdout), "ana disabled: its logins are refused, its sessions closed\n");
    assert!(proxy.held() > 0, "host 1 was tried");
    proxy.thaw();
    let refused = node.send_conn().request(&format!("LOGIN:ana:{PW}"));
    assert_eq!(refused, "KO:AUTH_FAILED:the account ana is disabled by the server's administrator");
}

/// An `ACK` gets no reply, so no client sends it again: one that the
/// leader took while it could not reach PostgreSQL is kept, written after
/// the batch that waits, and the sender hears DELIVERED once it can.
#[test]
fn an_ack_taken_while_postgresql_is_down_is_stored_once_it_is_back() {
    let (cluster, [a, _b], mut ana, mut bob_recv) = ana_sent_bob_one_message();
    cluster.pg.stop();
    // Meets the database gone and waits; or, if the leader's own write
    // (where bob's device is) met it first, is refused.
    ana.send("MSG:bob:m2:two");
    bob_recv.send("ACK:1");
    cluster.pg.start_again();
    let m2 = ana.line();
    assert!(m2.starts_with("OK:m2:") || m2.starts_with("KO:UNAVAILABLE:"), "{m2}");
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(without_ts(&ana_recv.next_event()), "STATUS:1:bob:m1:DELIVERED:<ts>");
}

/// The follower's reads of the log fail for a moment (the table out of
/// reach: renamed, then back): it reads again at its next poll, and goes
/// on following, its clients' connections open. (A follower took a read
/// that failed, as a connection cut during a database's failover makes
/// one fail, for a copy that could not follow, and started again, cutting
/// every client.)
#[test]
fn a_follower_whose_reads_of_the_log_fail_goes_on_following() {
    let (cluster, [_a, b], _ana, mut bob_recv) = ana_sent_bob_one_message();
    let mut ana_on_b = send_conn(&b, "ana");
    let mut pg = cluster.pg.client();
    let failed = |pg: &mut postgres::Client| -> i64 {
        let sql = "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()";
        pg.query_one(sql, &[]).unwrap().get(0)
    };
    let before = failed(&mut pg);
    pg.batch_execute("ALTER TABLE log RENAME TO log_away").unwrap();
    // Node b's keeper reads the log every 200 ms while no batch comes.
    eventually("node b's reads failing", Duration::from_secs(10), || {
        pg.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        failed(&mut pg) >= before + 3
    });
    pg.batch_execute("ALTER TABLE log_away RENAME TO log").unwrap();
    // The leader's own write (a record of bob's device, as its
    // acknowledgements move it) may have met the table gone: writes are
    // then refused until its next try, a second later at most.
    eventually("writes accepted", Duration::from_secs(20), || {
        ana_on_b.request("MSG:bob:m2:two").starts_with("OK:m2:")
    });
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:2:ana:bob:m2:<ts>:two");
    let restarted: Vec<String> = b.log().into_iter().filter(|l| l.contains("starting again")).collect();
    assert!(restarted.is_empty(), "{restarted:?}");
}

#[test]
fn clients_take_a_list_of_nodes_and_skip_one_that_is_down() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let dead = support::ports::free_port();
    let list = format!(
        "127.0.0.1:{dead}:{dead},127.0.0.1:{}:{},127.0.0.1:{}:{}",
        a.send.port(),
        a.recv.port(),
        b.send.port(),
        b.recv.port()
    );
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let sent = wachat(
        &[
            "send",
            "--user",
            "ana",
            "--device",
            "lab",
            "--server",
            &list,
            "--data-dir",
            dir,
            "--to",
            "bob",
            "hola",
        ],
        PW,
    );
    assert!(sent.status.success(), "{}", sent.stderr);
    let only_b = format!("127.0.0.1:{}:{}", b.send.port(), b.recv.port());
    // One cluster, one identity (`SERVER`, the database's): a client that
    // reaches another node of the list next time keeps its folder (the
    // first node's), and nothing is moved aside.
    let id: String = cluster.pg.client().query_one("SELECT id FROM server", &[]).unwrap().get(0);
    for node in [&a, &b] {
        assert_eq!(send_conn(node, "ana").request("SERVER"), format!("OK:{id}"));
    }
    let to_b = format!("127.0.0.1:{dead}:{dead},{only_b}");
    let sent = wachat(
        &[
            "send",
            "--user",
            "ana",
            "--device",
            "lab",
            "--server",
            &to_b,
            "--data-dir",
            dir,
            "--to",
            "bob",
            "again",
        ],
        PW,
    );
    assert!(sent.status.success() && sent.stderr.is_empty(), "{}", sent.stderr);
    let folders: Vec<String> = std::fs::read_dir(data.path().join(format!("127.0.0.1:{dead}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders, ["ana"], "nothing moved aside");
    // The device's folder (`--device lab`: a one-shot command makes up no
    // device of its own).
    let folder = data.path().join(format!("127.0.0.1:{dead}")).join("ana").join("devices").join("lab");
    assert_eq!(std::fs::read_to_string(folder.join("server_id")).unwrap(), format!("{id}\n"));
    let log = std::fs::read_to_string(folder.join("history.csv")).unwrap();
    assert!(log.contains(",hola") && log.contains(",again"), "{log}");
    let history =
        wachat(&["history", "--user", "bob", "--server", &only_b, "--data-dir", dir, "--with", "ana"], PW);
    assert!(
        history.status.success() && history.stdout.contains("hola"),
        "{}{}",
        history.stdout,
        history.stderr
    );
    // A bench spread over both nodes: every pair's sender and receiver on different nodes.
    let two = format!(
        "127.0.0.1:{}:{},127.0.0.1:{}:{}",
        a.send.port(),
        a.recv.port(),
        b.send.port(),
        b.recv.port()
    );
    let bench = wachat(&["bench", "--server", &two, "--pairs", "2", "--messages", "200", "--json"], "");
    assert!(bench.status.success(), "{}", bench.stderr);
    assert!(bench.stdout.contains("\"delivered\":400"), "{}", bench.stdout);
}
