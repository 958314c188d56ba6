//! The events' unit tests: each frame parsed as `Display` writes it.

use super::*;

#[test]
fn borrowed_events_parse_as_the_owned_ones_write() {
    let msg = "MSG:7:ana:bob:m1:1700000000000:a:b\\nc";
    assert_eq!(
        EventRef::parse(msg),
        Some(EventRef::Msg { seq: 7, from: "ana", to: "bob", id: "m1", ts: 1700000000000, text: "a:b\\nc" })
    );
    assert_eq!(EventRef::parse(msg).unwrap().to_string(), msg);
    let status = "STATUS:8:bob:m1:READ:1700000000001";
    assert_eq!(EventRef::parse(status).unwrap().to_string(), status);
    for other in ["PING", "JOINED:ana", "MSG:x:ana:bob:m1:1:t", "STATUS:1:bob:m1:SEEN:2", "MSG:1:a"] {
        assert_eq!(EventRef::parse(other), None, "{other}");
    }
}

#[test]
fn events_round_trip() {
    for line in [
        "MSG:1:ana:bob:m1:1700000000000:hi: there\\n",
        "MSG:2:ana:#general:m2:1700000000001:x",
        "STATUS:3:bob:m1:DELIVERED:1700000000002",
        "STATUS:4:bob:m1:READ:1700000000003",
        "JOINED:ana",
        "LEFT:ana",
        "P2P:ana:0123abcd",
        "MEMBER:#tea:ana:JOINED",
        "MEMBER:#tea:ana:LEFT",
        "TYPING:ana:bob",
        "TYPING:ana:#tea",
        "CALL:ana:c1:OFFER:voice:v=0\\n",
        "CALL:bob:c1:ANSWER:v=0\\n",
        "CALL:bob:c1:ICE:{}",
        "CALL:ana:c1:END:missed",
        "KICKED:#tea:ana:bob",
        "MUTED:#tea:ana:bob:1700000000000",
        "MODE:#tea:ana:+announce",
        "PING",
        "BYE:REPLACED",
        "BYE:SHUTDOWN",
        "BYE:TIMEOUT",
        "BYE:SLOW",
        "BYE:UNLINKED",
        "READMARK:7:bob:m1:1700000000004",
        "READMARK:8:#tea:m2:1700000000005",
        "PREF:#tea:mentions:pinned",
        "PREF:bob:all:unpinned",
        "BLOCKED:bob",
        "UNBLOCKED:bob",
        "ARCHIVE:#tea:archived",
        "ARCHIVE:bob:unarchived",
        "STAR:#tea:ana:m1:starred",
        "STAR:bob:bob:m2:unstarred",
    ] {
        assert_eq!(Event::parse(line).unwrap().to_string(), line);
    }
    assert!(Event::parse("STATUS:3:bob:m1:LOST:1").is_err());
    assert!(Event::parse("MSG:x:ana:bob:m1:1:hi").is_err());
    assert!(Event::parse("READMARK:1:bob:m1").is_err());
    assert!(Event::parse("READMARK:1:bob:m1:x").is_err());
    assert!(Event::parse("ARCHIVE:bob:yes").is_err());
    assert!(Event::parse("ARCHIVE:bob").is_err());
    assert!(Event::parse("STAR:bob:bob:m1:yes").is_err());
    assert!(Event::parse("STAR:bob:m1:starred").is_err());
}

#[test]
fn device_events_are_for_1_2_connections_only() {
    let mark = Event::ReadMark { seq: 3, chat: "bob".into(), id: "m1".into(), ts: 9 };
    assert_eq!((mark.since(), mark.seq()), (2, Some(3)));
    assert_eq!(Event::Bye(Bye::Unlinked).since(), 2);
    assert_eq!(Event::Bye(Bye::Replaced).since(), 0);
}

#[test]
fn event_replies() {
    assert_eq!(EventReply::parse("ACK:12"), Some(EventReply::Ack(12)));
    assert_eq!(EventReply::parse("PONG"), Some(EventReply::Pong));
    assert_eq!(EventReply::parse("VERSION:1.1"), Some(EventReply::Version11));
    assert_eq!(EventReply::parse("VERSION:1.2"), Some(EventReply::Version12));
    assert_eq!(EventReply::parse("VERSION:2"), None);
    assert_eq!(EventReply::parse("ACK:+1"), None);
    assert_eq!(EventReply::parse("ACK:"), None);
    assert_eq!(EventReply::parse("ACK:99999999999999999999999"), None);
    assert_eq!(EventReply::parse("HELLO"), None);
}

#[test]
fn states_only_move_forward() {
    assert!(MsgState::Sent < MsgState::Received);
    assert!(MsgState::Received < MsgState::Delivered);
    assert!(MsgState::Delivered < MsgState::Read);
}
