//! Two (or three) `wachat serve` nodes on one PostgreSQL and one NATS,
//! each test with its own (`tests/support/cluster.rs`): whatever node a
//! client uses, it sees one chat. Built with `--features cluster` only.
#![cfg(feature = "cluster")]

mod support;

use std::time::Duration;

use support::cluster::{Cluster, eventually};
use support::{Conn, TestServer, without_ts};

const PW: &str = "password1";

fn register(node: &TestServer, user: &str) {
    let mut c = node.send_conn();
    assert_eq!(c.request(&format!("REGISTER:{user}::{PW}")), format!("OK:{user}"));
}

fn send_conn(node: &TestServer, user: &str) -> Conn {
    node.login_send(user, PW)
}

fn recv_conn(node: &TestServer, user: &str) -> Conn {
    node.login_recv(user, PW)
}

/// The next line that is not presence nor a PING (answered).
fn next_event(c: &mut Conn) -> String {
    loop {
        let line = c.line();
        match line.as_str() {
            "PING" => c.send("PONG"),
            l if l.starts_with("JOINED:") || l.starts_with("LEFT:") || l.starts_with("MEMBER:") => {}
            _ => return line,
        }
    }
}

#[test]
fn a_direct_message_from_a_user_on_one_node_to_one_on_the_other_with_every_status() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana_recv = recv_conn(&a, "ana");
    let mut ana = send_conn(&a, "ana");
    let ok = ana.request("MSG:bob:m1:hola bob");
    assert!(ok.starts_with("OK:m1:"), "{ok}");
    let ts = ok.rsplit(':').next().unwrap().to_string();
    assert_eq!(next_event(&mut bob_recv), format!("MSG:1:ana:bob:m1:{ts}:hola bob"));
    // The same id again is a resend: its first OK, never delivered twice.
    assert_eq!(ana.request("MSG:bob:m1:hola again"), ok);
    bob_recv.send("ACK:1");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:1:bob:m1:DELIVERED:<ts>");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.request("READ:ana:m1"), "OK");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:2:bob:m1:READ:<ts>");
    // Both nodes tell the same history, with the state the message reached.
    for node in [&a, &b] {
        let mut c = send_conn(node, "ana");
        assert_eq!(c.listing("HISTORY:bob:10"), [format!("ana:bob:m1:{ts}:READ:hola bob")]);
    }
    // USERS covers both nodes.
    assert_eq!(ana.listing("USERS"), ["ana", "bob"]);
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
}

#[test]
fn a_message_to_an_offline_user_is_delivered_when_it_logs_in_on_the_other_node() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut ana = send_conn(&a, "ana");
    let ok1 = ana.request("MSG:bob:m1:one");
    let ok2 = ana.request("MSG:bob:m2:two");
    assert!(ok1.starts_with("OK:m1:") && ok2.starts_with("OK:m2:"));
    let mut bob_recv = recv_conn(&b, "bob");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:bob:m1:<ts>:one");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:2:ana:bob:m2:<ts>:two");
    bob_recv.send("ACK:2");
    // Acknowledged: a login on the first node replays nothing more.
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:2:bob:m2:DELIVERED:<ts>");
    drop(bob_recv);
    // Acknowledged on B: a login on A replays nothing; the next event is new.
    let mut again = recv_conn(&a, "bob");
    assert!(ana.request("MSG:bob:m3:three").starts_with("OK:m3:"));
    assert_eq!(without_ts(&next_event(&mut again)), "MSG:3:ana:bob:m3:<ts>:three");
}

#[test]
fn a_room_with_members_on_both_nodes_and_the_same_history_and_chats_on_both() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for (node, user) in [(&a, "ana"), (&b, "bob"), (&b, "cy")] {
        register(node, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut bob = send_conn(&b, "bob");
    let mut cy = send_conn(&b, "cy");
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#Tea"), "OK");
    assert_eq!(cy.request("JOIN:#tea"), "OK");
    let mut cy_recv = recv_conn(&b, "cy");
    cy_recv.send("VERSION:1.1");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana_recv = recv_conn(&a, "ana");
    let ok = ana.request("MSG:#tea:t1:hello room");
    assert!(ok.starts_with("OK:t1:"), "{ok}");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert_eq!(without_ts(&next_event(&mut cy_recv)), "MSG:1:ana:#tea:t1:<ts>:hello room");
    assert!(bob.request("MSG:#tea:t2:from b").starts_with("OK:t2:"));
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "MSG:1:bob:#tea:t2:<ts>:from b");
    assert!(bob.request("MSG:ana:d1:direct").starts_with("OK:d1:"));
    assert_eq!(ana.listing("ROOMS"), ["#general:3", "#tea:3"]);
    // One truth: the same listings whichever node is asked.
    let mut views = Vec::new();
    for node in [&a, &b] {
        let mut c = send_conn(node, "cy");
        views.push((c.listing("HISTORY:#tea:10"), c.listing("CHATS"), c.listing("ROOMS")));
    }
    assert_eq!(views[0], views[1]);
    assert_eq!(views[0].0.len(), 2);
    assert_eq!(views[0].1, ["#tea:2"]);
    let mut views = Vec::new();
    for node in [&a, &b] {
        let mut c = send_conn(node, "ana");
        views.push((c.listing("HISTORY:bob:10"), c.listing("CHATS")));
    }
    assert_eq!(views[0], views[1]);
    assert_eq!(views[0].1, ["bob:1", "#tea:1"]);
    // A 1.1 member on B hears of a LEAVE made on A.
    assert_eq!(ana.request("LEAVE:#tea"), "OK");
    loop {
        let line = cy_recv.line();
        if line.starts_with("MEMBER:") {
            assert_eq!(line, "MEMBER:#tea:ana:LEFT");
            break;
        }
    }
}

#[test]
fn a_login_on_one_node_replaces_the_session_on_the_other_and_presence_spans_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&a, "bob");
    let mut ana_on_a = recv_conn(&a, "ana");
    assert_eq!(bob_recv.line(), "JOINED:ana");
    let mut ana_on_b = recv_conn(&b, "ana");
    assert_eq!(ana_on_a.read_to_close(), "BYE:REPLACED\n");
    // Moving is not leaving: bob hears neither LEFT nor JOINED; a message
    // reaches ana on B.
    let mut bob = send_conn(&a, "bob");
    assert!(bob.request("MSG:ana:x1:where are you").starts_with("OK:x1:"));
    assert_eq!(without_ts(&next_event(&mut ana_on_b)), "MSG:1:bob:ana:x1:<ts>:where are you");
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:ONLINE");
    drop(ana_on_b);
    assert_eq!(bob_recv.line(), "LEFT:ana");
    eventually("ana offline", Duration::from_secs(10), || bob.listing("USERS") == ["bob"]);
    assert!(!bob.request("LASTSEEN:ana").ends_with("ONLINE"));
}

#[test]
fn a_peer_on_another_node_is_introduced() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut bob = send_conn(&a, "bob"); // announced on A, received on B
    assert_eq!(bob.request("P2P:40123"), "OK");
    let mut ana = send_conn(&a, "ana");
    let answer = ana.request("PEER:bob");
    let fields: Vec<&str> = answer.split(':').collect();
    assert_eq!(&fields[..3], ["OK", "127.0.0.1", "40123"], "{answer}");
    assert_eq!(next_event(&mut bob_recv), format!("P2P:ana:{}", fields[3]));
    assert!(ana.request("PEER:nobody").starts_with("KO:OFFLINE:"));
}

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

/// Sends `total` messages `m0…` to `to`, 50 at a time pipelined, through
/// the first node that answers; what got no `OK` is sent again (same id).
/// Returns the ids acknowledged.
fn flood(
    nodes: &[std::net::SocketAddr],
    from: &str,
    to: &str,
    total: usize,
    acked: &std::sync::atomic::AtomicUsize,
) -> Vec<String> {
    let mut done = Vec::new();
    let mut link = Failover::new(nodes, from);
    while done.len() < total {
        let c = link.conn();
        let batch: Vec<usize> = (done.len()..(done.len() + 50).min(total)).collect();
        let requests: String = batch.iter().map(|i| format!("MSG:{to}:m{i}:text {i}\n")).collect();
        let replies: std::io::Result<Vec<String>> =
            c.write(&requests).and_then(|()| batch.iter().map(|_| c.line()).collect());
        match replies {
            Ok(replies) => {
                for (i, reply) in batch.iter().zip(replies) {
                    assert!(reply.starts_with(&format!("OK:m{i}:")), "{reply}");
                    done.push(format!("m{i}"));
                    acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            Err(_) => link.lost(), // the node died: the next one, and the batch again
        }
    }
    done
}

/// Receives until every id in `want` came, through the first node that
/// answers, acknowledging as it goes; returns (seq, id) of every event.
fn receive_all(nodes: &[std::net::SocketAddr], user: &str, want: usize) -> Vec<(u64, String)> {
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

#[test]
fn a_node_killed_during_a_flood_loses_and_duplicates_no_acknowledged_message() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    let pairs = [("s0", "r0"), ("s1", "r1")];
    for (s, r) in pairs {
        register(&a, s);
        register(&a, r);
    }
    const TOTAL: usize = 600;
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (send_nodes, recv_nodes) = ([a.send, b.send], [a.recv, b.recv]);
    let mut threads = Vec::new();
    for (s, r) in pairs {
        let acked = acked.clone();
        threads.push(std::thread::spawn(move || {
            let sent = flood(&send_nodes, s, r, TOTAL, &acked);
            (sent, Vec::new())
        }));
        threads.push(std::thread::spawn(move || (Vec::new(), receive_all(&recv_nodes, r, TOTAL))));
    }
    eventually("a third of the flood acknowledged", Duration::from_secs(60), || {
        acked.load(std::sync::atomic::Ordering::SeqCst) >= TOTAL * 2 / 3
    });
    a.kill();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
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
    let mut s0 = send_conn(&b, "s0");
    assert_eq!(s0.listing("HISTORY:r0:1000").len(), TOTAL);
}

#[test]
fn while_nats_is_down_messages_still_arrive_by_polling() {
    let mut cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:before:1").starts_with("OK:"));
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:bob:before:<ts>:1");
    cluster.nats.stop();
    let disconnected = || b.log().iter().any(|l| l.contains("NATS: disconnected"));
    eventually("node b off NATS", Duration::from_secs(20), disconnected);
    for i in 0..5 {
        assert!(ana.request(&format!("MSG:bob:down{i}:x")).starts_with("OK:"));
    }
    for i in 0..5 {
        assert_eq!(without_ts(&next_event(&mut bob_recv)), format!("MSG:{}:ana:bob:down{i}:<ts>:x", i + 2));
    }
    cluster.nats.start_again();
    let connected = || b.log().iter().filter(|l| l.contains("NATS: connected")).count();
    eventually("node b back on NATS", Duration::from_secs(20), || connected() >= 2);
    assert!(ana.request("MSG:bob:after:y").starts_with("OK:"));
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:7:ana:bob:after:<ts>:y");
}

#[test]
fn while_postgresql_is_down_writes_are_refused_and_the_nodes_recover_by_themselves() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:m1:one").starts_with("OK:"));
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:1:ana:bob:m1:<ts>:one");
    cluster.pg.stop();
    assert!(ana.request("MSG:bob:m2:two").starts_with("KO:INTERNAL:"));
    assert!(ana.request("HISTORY:bob:5").starts_with("KO:INTERNAL:"));
    cluster.pg.start_again();
    // The client sends again what got no OK; the node took it up by itself.
    eventually("writes accepted again", Duration::from_secs(20), || {
        ana.request("MSG:bob:m2:two").starts_with("OK:m2:")
    });
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:2:ana:bob:m2:<ts>:two");
    bob_recv.send("ACK:2");
    let mut ana_recv = recv_conn(&a, "ana");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:1:bob:m1:DELIVERED:<ts>");
    assert_eq!(without_ts(&next_event(&mut ana_recv)), "STATUS:2:bob:m2:DELIVERED:<ts>");
}

fn wachat(args: &[&str], password: &str) -> support::console::Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    support::console::run_wachat(&args, password, "")
}

#[test]
fn clients_take_a_list_of_nodes_and_skip_one_that_is_down() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let dead = support::cluster::free_port();
    let list = format!(
        "127.0.0.1:{dead}:{dead},127.0.0.1:{}:{},127.0.0.1:{}:{}",
        a.send.port(),
        a.recv.port(),
        b.send.port(),
        b.recv.port()
    );
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let sent =
        wachat(&["send", "--user", "ana", "--server", &list, "--data-dir", dir, "--to", "bob", "hola"], PW);
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
    let sent =
        wachat(&["send", "--user", "ana", "--server", &to_b, "--data-dir", dir, "--to", "bob", "again"], PW);
    assert!(sent.status.success() && sent.stderr.is_empty(), "{}", sent.stderr);
    let folders: Vec<String> = std::fs::read_dir(data.path().join(format!("127.0.0.1:{dead}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders, ["ana"], "nothing moved aside");
    let folder = data.path().join(format!("127.0.0.1:{dead}")).join("ana");
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

#[test]
fn a_single_servers_data_moves_into_a_cluster_whole() {
    // The single server: accounts, a room, direct messages read and not,
    // an inbox left unacknowledged, a last-seen time.
    let single = TestServer::start();
    for user in ["ana", "bob", "cy"] {
        register(&single, user);
    }
    let mut ana = single.login_send("ana", PW);
    let mut bob = single.login_send("bob", PW);
    assert_eq!(ana.request("JOIN:#tea"), "OK");
    assert_eq!(bob.request("JOIN:#tea"), "OK");
    for i in 0..3 {
        assert!(ana.request(&format!("MSG:bob:d{i}:direct {i}")).starts_with("OK:"));
    }
    assert!(bob.request("MSG:#tea:r1:to the room").starts_with("OK:"));
    let mut bob_recv = single.login_recv("bob", PW);
    for _ in 0..3 {
        next_event(&mut bob_recv);
    }
    bob_recv.send("ACK:2");
    assert_eq!(bob.request("READ:ana:d0"), "OK");
    assert!(ana.request("MSG:cy:c1:for cy, offline").starts_with("OK:"));
    let before: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| single.login_send("ana", PW).listing(r))
        .collect();
    let bob_chats = bob.listing("CHATS");
    drop(bob_recv);
    eventually("bob's last seen", Duration::from_secs(10), || {
        !ana.request("LASTSEEN:bob").ends_with("ONLINE")
    });
    let seen = ana.request("LASTSEEN:bob");
    let id = ana.request("SERVER");
    drop((ana, bob));
    let mut single = single;
    assert!(single.terminate().success());

    let cluster = Cluster::start();
    // Node a runs before the migration, while the database still has the
    // id it was made with: it must answer the one the migration copies.
    let a = cluster.node("a");
    let dir = single.data_dir.to_str().unwrap().to_string();
    let moved = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(moved.status.success(), "{}{}", moved.stdout, moved.stderr);
    assert!(moved.stdout.contains("messages: 5 in"), "{}", moved.stdout);
    let again = wachat(&["migrate", "--from", &dir, "--to", &cluster.pg.url], "");
    assert!(!again.status.success() && again.stderr.contains("accounts already"), "{}", again.stderr);

    let b = cluster.node("b");
    let after: Vec<Vec<String>> = ["HISTORY:bob:10", "CHATS", "ROOMS", "HISTORY:#tea:10"]
        .iter()
        .map(|r| send_conn(&b, "ana").listing(r))
        .collect();
    assert_eq!(after, before);
    assert_eq!(send_conn(&a, "bob").listing("CHATS"), bob_chats);
    assert_eq!(send_conn(&a, "ana").request("LASTSEEN:bob"), seen);
    // The same chat, the same identity: clients keep their folders.
    assert_eq!(send_conn(&b, "ana").request("SERVER"), id);
    assert_eq!(send_conn(&a, "ana").request("SERVER"), id, "a node started before the migration");
    // Inboxes go on where they were: bob gets what he did not acknowledge,
    // cy her message, with the numbers they had; new ones follow.
    let mut bob_recv = recv_conn(&a, "bob");
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:3:ana:bob:d2:<ts>:direct 2");
    let mut cy_recv = recv_conn(&b, "cy");
    assert_eq!(without_ts(&next_event(&mut cy_recv)), "MSG:1:ana:cy:c1:<ts>:for cy, offline");
    let mut ana = send_conn(&a, "ana");
    assert!(ana.request("MSG:bob:d3:after").starts_with("OK:d3:"));
    assert_eq!(without_ts(&next_event(&mut bob_recv)), "MSG:4:ana:bob:d3:<ts>:after");
    // A resend of a migrated message is recognised.
    assert!(ana.request("MSG:bob:d2:again").starts_with("OK:d2:"));
    assert_eq!(send_conn(&b, "bob").listing("HISTORY:ana:10").len(), 4);
}

#[test]
fn a_dead_node_disappears_from_presence_within_seconds() {
    let cluster = Cluster::start();
    let (mut a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let _ana_recv = recv_conn(&a, "ana");
    assert_eq!(next_presence(&mut bob_recv), "JOINED:ana");
    let mut bob = send_conn(&b, "bob");
    assert_eq!(bob.listing("USERS"), ["ana", "bob"]);
    a.kill(); // no goodbye: only its heartbeat stops
    assert_eq!(next_presence(&mut bob_recv), "LEFT:ana");
    assert_eq!(bob.listing("USERS"), ["bob"]);
}

/// The next `JOINED`/`LEFT`, answering `PING`s on the way.
fn next_presence(c: &mut Conn) -> String {
    loop {
        let line = c.line();
        match line.as_str() {
            "PING" => c.send("PONG"),
            l if l.starts_with("JOINED:") || l.starts_with("LEFT:") => return line,
            _ => {}
        }
    }
}

#[test]
fn a_node_refuses_a_schema_newer_than_it_knows() {
    let cluster = Cluster::start();
    drop(cluster.node("a")); // creates the schema
    cluster.pg.client().batch_execute("UPDATE wachat_schema SET version = 999").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(support::wachat_bin())
        .args(["serve", "--send-port", "0", "--recv-port", "0", "--data-dir"])
        .arg(data.path())
        .args(["--store", &cluster.pg.url, "--bus", &cluster.nats.url])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = support::wait_with_timeout(&mut child, support::READ_TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("schema is version 999, newer than this wachat knows"), "{stderr}");
}
