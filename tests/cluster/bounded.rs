//! Bounded by design on a cluster (issue 25): a flood into a room of
//! offline members lengthens one `events` row per member instead of
//! writing one per batch; `--inbox-max` and `--user-quota` answer
//! `KO:FULL`, and writes resume on their own.

use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::support::without_ts;
use super::{recv_conn, register, send_conn};

/// The `events` rows of `user`.
fn event_rows(cluster: &Cluster, user: &str) -> i64 {
    let mut db = cluster.pg.client();
    let sql = "SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.name = $1";
    db.query_one(sql, &[&user]).unwrap().get(0)
}

#[test]
fn a_room_flood_into_offline_members_lengthens_one_row_each_and_replays_in_order() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "cy", "dan"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    let mut dan = send_conn(&b, "dan");
    for c in [&mut ana, &mut dan] {
        assert_eq!(c.request("JOIN:#flood"), "OK");
    }
    for user in ["bob", "cy"] {
        assert_eq!(send_conn(&b, user).request("JOIN:#flood"), "OK");
    }
    // One request at a time: each message is a batch of its own, from
    // both nodes, so only lengthening across batches keeps the rows few.
    let mut expected = Vec::new();
    for i in 0..150 {
        let (c, from) = if i % 3 == 2 { (&mut dan, "dan") } else { (&mut ana, "ana") };
        assert!(c.request(&format!("MSG:#flood:r{i}:flood {i}")).starts_with(&format!("OK:r{i}:")));
        expected.push(format!("{from}:#flood:r{i}:<ts>:flood {i}"));
    }
    // A direct message in the middle ends bob's run; the flood goes on in a new one.
    assert!(ana.request("MSG:bob:d1:psst").starts_with("OK:d1:"));
    let direct_at = expected.len();
    for i in 150..250 {
        assert!(ana.request(&format!("MSG:#flood:r{i}:flood {i}")).starts_with(&format!("OK:r{i}:")));
        expected.push(format!("ana:#flood:r{i}:<ts>:flood {i}"));
    }
    // bob and cy are away: nothing else reached them.
    assert_eq!(event_rows(&cluster, "cy"), 1, "one run for a whole flood");
    assert_eq!(event_rows(&cluster, "bob"), 3, "room run, direct message, room run");

    // bob's replay on B: every event, once, in order, numbered from 1.
    let mut bob_recv = recv_conn(&b, "bob");
    let mut all = expected.clone();
    all.insert(direct_at, "ana:bob:d1:<ts>:psst".to_string());
    for (n, event) in all.iter().enumerate() {
        assert_eq!(without_ts(&bob_recv.next_event()), format!("MSG:{}:{event}", n + 1));
    }
    // Acknowledged part way, on B; the flood goes on while bob is away,
    // lengthening the run the ACK left half done.
    bob_recv.send("ACK:200");
    drop(bob_recv);
    eventually("the ACK stored", Duration::from_secs(10), || event_rows(&cluster, "bob") == 1);
    for i in 250..300 {
        assert!(ana.request(&format!("MSG:#flood:r{i}:flood {i}")).starts_with(&format!("OK:r{i}:")));
        all.push(format!("ana:#flood:r{i}:<ts>:flood {i}"));
    }
    assert_eq!(event_rows(&cluster, "bob"), 1);
    let mut bob_recv = recv_conn(&a, "bob");
    for (n, event) in all.iter().enumerate().skip(200) {
        assert_eq!(without_ts(&bob_recv.next_event()), format!("MSG:{}:{event}", n + 1));
    }
    // cy's 300 on A, then ACK: nothing is left.
    let mut cy_recv = recv_conn(&a, "cy");
    for (n, event) in expected.iter().chain(&all[251..]).enumerate() {
        assert_eq!(without_ts(&cy_recv.next_event()), format!("MSG:{}:{event}", n + 1));
    }
    cy_recv.send("ACK:300");
    eventually("cy's run deleted", Duration::from_secs(10), || event_rows(&cluster, "cy") == 0);
}

#[test]
fn a_full_inbox_refuses_direct_messages_with_ko_full_until_its_user_acknowledges() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--inbox-max", "3"]);
    let b = cluster.node_with("b", &["--inbox-max", "3"]);
    for user in ["ana", "bob"] {
        register(&a, user);
    }
    let mut ana = send_conn(&a, "ana");
    for i in 1..=3 {
        assert!(ana.request(&format!("MSG:bob:m{i}:hi {i}")).starts_with(&format!("OK:m{i}:")));
    }
    let ko = ana.request("MSG:bob:m4:one too many");
    assert!(ko.starts_with("KO:FULL:bob has 3 events not yet received"), "{ko}");
    // A resend of a stored message is still its first OK; a room is not refused.
    assert!(ana.request("MSG:bob:m3:hi 3").starts_with("OK:m3:"));
    assert!(ana.request("MSG:#general:g1:hello all").starts_with("OK:g1:"));
    // bob loses nothing that was accepted, on the other node; his ACK
    // makes room, and ana's send goes through.
    let mut bob_recv = recv_conn(&b, "bob");
    let got: Vec<String> = (0..4).map(|_| without_ts(&bob_recv.next_event())).collect();
    let want = ["MSG:1:ana:bob:m1:<ts>:hi 1", "MSG:2:ana:bob:m2:<ts>:hi 2", "MSG:3:ana:bob:m3:<ts>:hi 3"];
    assert_eq!(got[..3], want);
    assert_eq!(got[3], "MSG:4:ana:#general:g1:<ts>:hello all");
    bob_recv.send("ACK:4");
    eventually("the ACK makes room", Duration::from_secs(10), || {
        ana.request("MSG:bob:m4:now there is room").starts_with("OK:m4:")
    });
    assert_eq!(without_ts(&bob_recv.next_event()), "MSG:5:ana:bob:m4:<ts>:now there is room");
}

#[test]
fn a_user_past_the_quota_gets_ko_full_and_sends_again_once_it_is_raised() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--user-quota", "1000"]);
    register(&a, "ana");
    register(&a, "bob");
    let mut ana = send_conn(&a, "ana");
    let text = "x".repeat(100);
    let mut sent = 0;
    let ko = loop {
        let reply = ana.request(&format!("MSG:bob:q{sent}:{text}"));
        if !reply.starts_with("OK:") {
            break reply;
        }
        sent += 1;
        assert!(sent < 20, "no KO:FULL after {sent} messages of 100 bytes with a quota of 1000");
    };
    assert!(ko.starts_with("KO:FULL:you have stored"), "{ko}");
    assert!(ko.contains("--user-quota"), "{ko}");
    // 100 bytes of text, 2 of id, 6 of names and 72 for the row: 180 a
    // message; the sixth starts under 1000 and is the last.
    assert_eq!(sent, 6);
    let mut db = cluster.pg.client();
    let stored: i64 = db
        .query_one("SELECT stored FROM inboxes i JOIN users u ON u.id = i.user_id WHERE u.name = 'ana'", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 6 * 180);
    // Others still send; bob got every accepted message.
    assert!(send_conn(&a, "bob").request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    // The quota raised (a node started with more): ana writes again.
    let b = cluster.node_with("b", &["--user-quota", "64KiB"]);
    assert!(send_conn(&b, "ana").request(&format!("MSG:bob:q{sent}:{text}")).starts_with("OK:"));
    let mut bob_recv = recv_conn(&b, "bob");
    for i in 0..=sent {
        assert_eq!(without_ts(&bob_recv.next_event()), format!("MSG:{}:ana:bob:q{i}:<ts>:{text}", i + 1));
    }
}
