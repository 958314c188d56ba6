//! Issue 40 item 8 on a cluster: an action (a reaction, an edit) is never
//! counted as unread by `CHATS`, as on a single server
//! (`protocol::unread`, tests/unread.rs).

use super::support::cluster::Cluster;
use super::{register, send_conn};

#[test]
fn item8_chats_counts_a_message_and_a_reaction_as_one_unread_on_a_cluster() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let (mut ana, mut bob, mut carl) = (send_conn(&a, "ana"), send_conn(&b, "bob"), send_conn(&b, "carl"));
    assert!(bob.request("MSG:ana:b1:hola ana").starts_with("OK:b1:"));
    assert!(ana.request("MSG:bob:a1:hola bob").starts_with("OK:a1:"));
    assert!(ana.request("REACT:bob:b1:❤️").starts_with("OK:_"));
    assert!(ana.request("EDIT:bob:a1:hola, bob").starts_with("OK:_"));
    assert_eq!(bob.listing("CHATS"), ["ana:1"]);

    for conn in [&mut ana, &mut bob, &mut carl] {
        assert_eq!(conn.request("JOIN:#club"), "OK");
    }
    assert!(carl.request("MSG:#club:c1:hi all").starts_with("OK:c1:"));
    assert!(ana.request("REACT:#club:c1:👍").starts_with("OK:_"));
    assert!(bob.request("MSG:#club:b2:hi carl").starts_with("OK:b2:"));
    assert_eq!(bob.listing("CHATS"), ["#club:1", "ana:1"]);
    assert_eq!(send_conn(&a, "bob").listing("CHATS"), ["#club:1", "ana:1"], "the same on the other node");
}
