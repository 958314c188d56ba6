//! An action (a reaction, an edit, a deletion) is stored
//! and delivered as a message, but it is never counted as unread by
//! `CHATS` (`protocol::unread`), in a direct chat or a room, and after a
//! restart (which reads the counts from the log again).

use super::support;

use support::TestServer;

#[test]
fn chats_counts_a_message_and_a_reaction_as_one_unread() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana:b1:hola ana").starts_with("OK:b1:"));
    assert!(ana.request("MSG:bob:a1:hola bob").starts_with("OK:a1:"));
    // ana reacts to bob's message and edits hers: bob has one message to read.
    assert!(ana.request("REACT:bob:b1:❤️").starts_with("OK:"));
    assert!(ana.request("EDIT:bob:a1:hola, bob").starts_with("OK:"));
    assert_eq!(bob.listing("CHATS"), ["ana:1"]);

    // In a room: carl's message and ana's reaction to it, bob's own.
    for (conn, user) in [(&mut ana, "ana"), (&mut bob, "bob")] {
        assert_eq!(conn.request("JOIN:#club"), "OK", "{user}");
    }
    let mut carl = server.login_send("carl", "pw-carl");
    assert_eq!(carl.request("JOIN:#club"), "OK");
    assert!(carl.request("MSG:#club:c1:hi all").starts_with("OK:c1:"));
    assert!(ana.request("REACT:#club:c1:👍").starts_with("OK:"));
    assert!(bob.request("MSG:#club:b2:hi carl").starts_with("OK:b2:"));
    assert_eq!(bob.listing("CHATS"), ["#club:1", "ana:1"]);
    assert_eq!(ana.listing("CHATS"), ["#club:2", "bob:1"], "carl's and bob's; ana's reaction is hers");

    // Read, then a reaction alone: nothing unread.
    assert_eq!(bob.request("READ:ana:a1"), "OK");
    assert!(ana.request("REACT:bob:b1:❤️").starts_with("OK:"), "taken back");
    assert_eq!(bob.listing("CHATS"), ["ana:0", "#club:1"]);

    // The same after a restart.
    drop((ana, bob, carl));
    server.restart(&[]);
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.listing("CHATS"), ["ana:0", "#club:1"]);
}
