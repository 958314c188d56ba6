//! Rooms: fan-out into every member's inbox, leave/join, presence and its
//! limit, history from before joining, and a restart.

use super::support;

use support::{TestServer, without_ts};

#[test]
fn every_member_gets_every_room_message_once_and_in_order_also_when_offline() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "carl"]);
    let mut ana = server.login_send("ana", "pw-ana");
    for user in ["bob", "carl"] {
        let mut c = server.login_send(user, &format!("pw-{user}"));
        assert_eq!(c.request("JOIN:#club"), "OK");
    }
    assert_eq!(ana.request("JOIN:#Club"), "OK");
    let mut bob = server.login_recv("bob", "pw-bob"); // carl stays offline
    for i in 1..=5 {
        assert!(ana.request(&format!("MSG:#club:r{i}:round {i}")).starts_with(&format!("OK:r{i}:")));
    }
    let want: Vec<String> = (1..=5).map(|i| format!("MSG:{i}:ana:#club:r{i}:<ts>:round {i}")).collect();
    let got: Vec<String> = bob.events(5).iter().map(|e| without_ts(e)).collect();
    assert_eq!(got, want, "the room is spelled as its first member wrote it");
    bob.send("ACK:5");
    // carl logs in later and gets the same five, in order, from his inbox.
    let mut carl = server.login_recv("carl", "pw-carl");
    let got: Vec<String> = carl.events(5).iter().map(|e| without_ts(e)).collect();
    assert_eq!(got, want);
    // The sender gets no copy and no STATUS: room messages have no DELIVERED.
    let mut ana_events = server.login_recv("ana", "pw-ana");
    assert!(ana.request("MSG:bob:d1:direct").starts_with("OK:"));
    // ana's first event is bob's reply: a newcomer gets no JOINED for
    // those already online.
    let mut bob_send = server.login_send("bob", "pw-bob");
    assert!(bob_send.request("MSG:ana:b1:hi ana").starts_with("OK:"));
    assert_eq!(without_ts(&ana_events.line()), "MSG:1:bob:ana:b1:<ts>:hi ana");
}

#[test]
fn leaving_stops_messages_and_sending_and_joining_again_resumes() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    let mut bob_events = server.login_recv("bob", "pw-bob");
    assert_eq!(bob.request("LEAVE:#general"), "OK");
    assert!(bob.request("MSG:#general:x:hello?").starts_with("KO:NOT_MEMBER:"));
    assert!(bob.request("HISTORY:#general:5").starts_with("KO:NOT_MEMBER:"));
    assert!(ana.request("MSG:#general:g1:bob is gone").starts_with("OK:"));
    assert_eq!(bob.request("JOIN:#general"), "OK");
    assert!(ana.request("MSG:#general:g2:welcome back").starts_with("OK:"));
    // Only the message sent while bob was a member reaches his inbox ...
    assert_eq!(without_ts(&bob_events.line()), "MSG:1:ana:#general:g2:<ts>:welcome back");
    // ... but the room's history shows both.
    let history = bob.listing("HISTORY:#general:10");
    assert_eq!(history.len(), 2);
    assert!(history[0].starts_with("ana:#general:g1:") && history[0].ends_with(":RECEIVED:bob is gone"));
}

#[test]
fn a_new_member_sees_older_history_but_gets_no_old_inbox_copies_nor_unread() {
    let server = TestServer::start();
    server.register(&["ana", "dave"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#book-club"), "OK");
    assert!(ana.request("MSG:#book-club:o1:old news").starts_with("OK:"));
    let mut dave = server.login_send("dave", "pw-dave");
    assert_eq!(dave.request("JOIN:#book-club"), "OK");
    assert_eq!(dave.listing("HISTORY:#book-club:20").len(), 1);
    assert_eq!(dave.listing("CHATS"), ["#book-club:0"]);
    assert!(ana.request("MSG:#book-club:n1:new").starts_with("OK:"));
    assert_eq!(dave.listing("CHATS"), ["#book-club:1"]);
    let mut dave_events = server.login_recv("dave", "pw-dave");
    assert_eq!(without_ts(&dave_events.line()), "MSG:1:ana:#book-club:n1:<ts>:new");
    // READ on a room only moves the unread count.
    assert_eq!(dave.request("READ:#book-club:n1"), "OK");
    assert_eq!(dave.listing("CHATS"), ["#book-club:0"]);
    assert!(dave.request("READ:#book-club:zzz").starts_with("KO:UNKNOWN_MESSAGE:"));
    assert!(dave.request("READ:#nowhere:n1").starts_with("KO:NOT_MEMBER:"));
}

#[test]
fn presence_is_sent_to_roommates_and_not_for_crowded_rooms() {
    let server = TestServer::start_with(&["--presence-limit", "2"]);
    server.register(&["ana", "bob", "carl"]);
    for user in ["ana", "bob"] {
        let mut c = server.login_send(user, &format!("pw-{user}"));
        assert_eq!(c.request("JOIN:#duo"), "OK");
    }
    let mut ana = server.login_recv("ana", "pw-ana");
    let mut carl = server.login_recv("carl", "pw-carl");
    let bob = server.login_recv("bob", "pw-bob");
    assert_eq!(ana.line(), "JOINED:bob", "via #duo (2 members)");
    drop(bob);
    assert_eq!(ana.line(), "LEFT:bob");
    // carl only shares #general (3 members > 2): nothing. To check that
    // nothing came, make something arrive after: a direct message.
    let mut ana_send = server.login_send("ana", "pw-ana");
    assert!(ana_send.request("MSG:carl:p1:ping").starts_with("OK:"));
    assert_eq!(without_ts(&carl.line()), "MSG:1:ana:carl:p1:<ts>:ping");
}

#[test]
fn rooms_and_their_inboxes_survive_a_restart() {
    let mut server = TestServer::start();
    server.register(&["ana", "bob"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(ana.request("JOIN:#x"), "OK");
    assert_eq!(bob.request("JOIN:#x"), "OK");
    assert_eq!(bob.request("LEAVE:#general"), "OK");
    assert!(ana.request("MSG:#x:k1:kept").starts_with("OK:"));
    server.restart(&[]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.listing("ROOMS"), ["#general:1", "#x:2"]);
    let mut bob = server.login_recv("bob", "pw-bob");
    assert_eq!(without_ts(&bob.line()), "MSG:1:ana:#x:k1:<ts>:kept");
    assert!(ana.request("MSG:#x:k2:after").starts_with("OK:"));
    assert_eq!(without_ts(&bob.line()), "MSG:2:ana:#x:k2:<ts>:after");
}

#[test]
fn unread_counts_of_rooms_survive_a_restart() {
    let mut server = TestServer::start();
    server.register(&["ana", "dave"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#club"), "OK");
    assert!(ana.request("MSG:#club:o1:before dave").starts_with("OK:"));
    let mut dave = server.login_send("dave", "pw-dave");
    assert_eq!(dave.request("JOIN:#club"), "OK");
    assert!(ana.request("MSG:#club:n1:after dave").starts_with("OK:"));
    assert_eq!(dave.listing("CHATS"), ["#club:1"]);
    server.restart(&[]);
    let mut dave = server.login_send("dave", "pw-dave");
    assert_eq!(dave.listing("CHATS"), ["#club:1"], "the message from before dave joined stays read");
}
