//! Issue 40 item 8 on a cluster: an action (a reaction, an edit) is never
//! counted as unread by `CHATS`, as on a single server
//! (`protocol::unread`, tests/chat/unread.rs).

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

/// A chat with yourself (notes to self) counts its own messages, not
/// their actions, and no room's. Two differences the differential test
/// found (seeds 8 and 29 of 150 steps): a cluster read the user's
/// messages by the pair of users, which a room's message (no recipient)
/// matched too, so that deleting one's own message in a room took the
/// note's unread away; a single server looked for the actions among the
/// messages not the user's own, none in such a chat, so that an edit of
/// a note counted as one more. The same on a single server and on a
/// cluster's node.
#[test]
fn a_note_to_self_keeps_its_unread_count_whatever_its_author_does_in_a_room() {
    let cluster = Cluster::start();
    let single = super::TestServer::start();
    for node in [&single, &cluster.node("a")] {
        register(node, "ana");
        let mut ana = send_conn(node, "ana");
        assert!(ana.request("MSG:ana:n1:buy milk").starts_with("OK:n1:"));
        assert!(ana.request("EDIT:ana:n1:buy oat milk").starts_with("OK:_e"));
        assert_eq!(ana.listing("CHATS"), ["ana:1"], "an edit is no message (protocol::unread)");
        assert_eq!(ana.request("JOIN:#club"), "OK");
        assert!(ana.request("MSG:#club:c1:hi").starts_with("OK:c1:"));
        assert_eq!(ana.listing("CHATS"), ["#club:0", "ana:1"]);
        assert!(ana.request("DELETE:#club:c1").starts_with("OK:_d"));
        assert_eq!(ana.listing("CHATS"), ["#club:0", "ana:1"], "the room's deletion is not the note's");
    }
}
