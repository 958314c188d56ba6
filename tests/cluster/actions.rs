//! Message actions (protocol 1.2) across nodes: an edit, a reaction and a
//! delete made on one node reach a user on the other, `HISTORY` and
//! `SEARCH` on either fold them in, and the deleted text leaves the
//! `messages` table.

use super::support::cluster::Cluster;
use super::{recv_conn, register, send_conn};

#[test]
fn actions_made_on_one_node_are_seen_on_the_other_and_a_deleted_text_leaves_the_database() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&b, "bob");
    let mut bob_recv = recv_conn(&b, "bob");
    let (mut ana, mut bob) = (send_conn(&a, "ana"), send_conn(&b, "bob"));
    assert!(ana.request("MSG:bob:m1:the okapi plan").starts_with("OK:m1:"));
    assert!(bob_recv.next_event().ends_with(":the okapi plan"));
    assert!(bob.request("REPLY:ana:b1:m1:sounds good").starts_with("OK:b1:"));
    let edit = ana.request("EDIT:bob:m1:the okapi plan, v2");
    assert!(edit.starts_with("OK:_"), "{edit}");
    assert!(bob_recv.next_event().ends_with(":✎ the okapi plan, v2"));
    assert!(bob.request("REACT:ana:m1:👍").starts_with("OK:_"));
    // A reaction to the reply repeats its quote: `❤️ to: > ana: the okapi plan…`.
    assert!(ana.request("REACT:bob:b1:❤️").starts_with("OK:_"));
    assert!(bob_recv.next_event().ends_with(":❤️ to: > ana: the okapi plan…"));
    assert_eq!(bob.listing("SEARCH:*:OKAPI").len(), 2, "the message and the reply quoting it");
    assert!(ana.request("DELETE:bob:m1").starts_with("OK:_"));
    assert!(bob_recv.next_event().ends_with(":(message deleted)"));
    for node in [&a, &b] {
        let history = send_conn(node, "bob").listing("HISTORY:ana:10");
        assert_eq!(history.len(), 6, "{history:?}");
        assert!(history.iter().all(|l| !l.contains("okapi")), "{history:?}");
        assert!(history[1].ends_with(":> ana: (message deleted)\\nsounds good"), "{history:?}");
    }
    assert_eq!(bob.listing("SEARCH:*:okapi").len(), 0);
    let mut pg = cluster.pg.client();
    let left = pg.query_one("SELECT count(*) FROM messages WHERE text LIKE '%okapi%'", &[]).unwrap();
    assert_eq!(left.get::<_, i64>(0), 0);
}

#[test]
fn a_room_admin_on_one_node_deletes_a_members_message_sent_on_the_other() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let (mut ana, mut bob, mut carl) = (send_conn(&b, "ana"), send_conn(&a, "bob"), send_conn(&a, "carl"));
    for conn in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(conn.request("JOIN:#lab3"), "OK");
    }
    assert!(bob.request("MSG:#lab3:m1:the pangolin spam").starts_with("OK:m1:"));
    let refused = carl.request("DELETE:#lab3:m1:bob");
    assert!(refused.starts_with("KO:FORBIDDEN:"), "{refused}");
    let deleted = ana.request("DELETE:#lab3:m1:bob"); // ana owns #lab3
    assert!(deleted.starts_with("OK:_x"), "{deleted}");
    let history = carl.listing("HISTORY:#lab3:10");
    assert!(history.iter().any(|l| l.starts_with("bob:#lab3:m1:") && l.ends_with(":(message deleted)")));
    assert!(history.iter().any(|l| l.ends_with(":(message from bob deleted)")), "{history:?}");
    let mut pg = cluster.pg.client();
    let left = pg.query_one("SELECT count(*) FROM messages WHERE text LIKE '%pangolin%'", &[]).unwrap();
    assert_eq!(left.get::<_, i64>(0), 0);
}
