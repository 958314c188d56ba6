//! The grammar's unit tests: every request written back as it was read,
//! and every refusal saying why.

use super::*;
use crate::protocol::Code;

fn reason(line: &str) -> String {
    let ko = Request::parse(line).unwrap_err();
    assert_eq!(ko.code, Code::BadRequest, "{line}");
    ko.reason
}

#[test]
fn last_field_takes_the_rest() {
    let r = Request::parse("LOGIN:ana:pa:ss:word").unwrap();
    assert_eq!(r, Request::Login { user: "ana".into(), device: None, password: "pa:ss:word".into() });
    let r = Request::parse("LOGIN:ana@lab-3:pa:ss").unwrap();
    let device = Some("lab-3".to_string());
    assert_eq!(r, Request::Login { user: "ana".into(), device, password: "pa:ss".into() });
    let r = Request::parse("MSG:#general:m1:time: 10:30").unwrap();
    let Request::Msg { to, text, .. } = r else { panic!() };
    assert_eq!((to, text.as_escaped()), (Chat::Room("general".into()), "time: 10:30"));
}

#[test]
fn every_request_round_trips() {
    for line in [
        "LOGIN:ana:secret",
        "LOGIN:ana@laptop:s:e:c",
        "LOGIN:ana@default:secret",
        "PAIR:ana@browser:k7qm9pzrtw",
        "DEVICES",
        "UNLINK:laptop",
        "LINK",
        "LINK:s:e:c",
        "REGISTER:ana::secret",
        "REGISTER:ana:ana@example.org:s:e:c",
        "REDEEM:k7qmx-9pzrt-w4abc:ana::s:e:c",
        "MSG:bob:m-1:hello\\nworld",
        "READ:bob:m1",
        "READ:#general:m1",
        "USERS",
        "JOIN:#Room.1",
        "LEAVE:#general",
        "ROOMS",
        "CHATS",
        "HISTORY:bob:20",
        "HISTORY:#general:0",
        "HISTORY:bob:100:*",
        "HISTORY:#general:50:81234",
        "P2P:9000",
        "PEER:bob",
        "LASTSEEN:bob",
        "MEMBERS:#general",
        "PEOPLE:an",
        "PEOPLE:Bob.S",
        "PEOPLE:bo@lab2",
        "SERVER",
        "TYPING:bob",
        "TYPING:#general",
        "CALL:bob:c1:OFFER:video:v=0\\no=- 1 2 IN IP4 127.0.0.1\\n",
        "CALL:ana:c1:ANSWER:v=0\\n",
        "CALL:ana:c1:ICE:{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 5000 typ host\"}",
        "CALL:ana:c1:DECLINE",
        "CALL:bob:c1:HANGUP",
        "TURN",
        "TURN:bob",
        "KICK:#lab3:bob",
        "MUTE:#lab3:bob:10",
        "TOPIC:#lab3:week 2: sockets",
        "ROOMINFO:#lab3",
        "REPLY:bob:m2:m1:yes\\nindeed",
        "EDIT:#general:m1:fixed: typo",
        "DELETE:bob:m1",
        "DELETE:#lab3:m1:bob",
        "REACT:#general:m1:👍",
        "SEARCH:*:café au lait",
        "SEARCH:#general:x",
        "INFO",
        "PASSWD:old-pw:new:pw",
        "PASSWDKEEP:old-pw:new-pw",
        "DELACCOUNT:my:pw",
        "UPLOAD:lab3.pdf:250880:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "PART:0123456789abcdef0123456789abcdef:12000:aGVsbG8=",
        "FILE:#lab3:m9:0123456789abcdef0123456789abcdef:the handout: week 3",
        "FILE:bob:m9:0123456789abcdef0123456789abcdef:",
        "FETCH:0123456789abcdef0123456789abcdef-t:0",
        "FILEOF:#lab3:ana:m9",
        "FILEOF:bob:ana:m9",
        "PING",
        "QUIT",
        "BLOCK:bob",
        "UNBLOCK:bob",
        "BLOCK:@lab2",
        "UNBLOCK:@lab2",
        "BLOCKS",
        "NOTIFY:bob:none",
        "NOTIFY:#lab3:mentions",
        "PIN:#lab3",
        "UNPIN:bob",
        "PREFS",
        "FILES",
        "ARCHIVE:#lab3",
        "UNARCHIVE:bob",
        "ARCHIVED",
        "STAR:bob:bob:m1",
        "UNSTAR:#lab3:ana:2024-05-01_17",
        "STARRED",
        // 1.3 (§27): every field that means a user takes an address.
        "STAR:bob@lab2:bob@lab2:m1",
        "UNSTAR:#lab@lab2:cyd@lab3:m1",
        "BLOCK:bob@lab2",
        "UNBLOCK:bob@lab2",
        "PEER:bob@lab2",
        "LASTSEEN:bob@lab2",
        "PEOPLE:bo@lab2",
        "DELETE:#lab3:m1:bob@lab2",
        "FILEOF:#lab3:bob@lab2:m9",
        "KICK:#lab3:bob@lab2",
        "BAN:#lab3:bob@lab2:0",
        "MUTE:#lab3:bob@lab2:10",
        "UNMUTE:#lab3:bob@lab2",
        "UNBAN:#lab3:bob@lab2",
        "INVITE:#lab3:bob@lab2",
        "OP:#lab3:bob@lab2",
        "DEOP:#lab3:bob@lab2",
        "CALL:bob@lab2:c1:HANGUP",
        "TURN:bob@lab2",
        "PROFILE:bob@lab2",
        "PHOTOOF:bob@lab2",
    ] {
        assert_eq!(Request::parse(line).unwrap().to_string(), line);
    }
}

#[test]
fn bad_requests_say_why() {
    assert!(reason("LOGIN:ana").contains("LOGIN:<user>:<password>"));
    assert!(reason("LOGIN:ana@:pw").contains("bad device name"));
    assert!(reason("LOGIN:ana@a@b:pw").contains("bad device name"));
    assert!(reason("LOGIN:@laptop:pw").contains("bad user name"));
    assert!(reason("PAIR:ana:code").contains("PAIR:<user>@<device>:<code>"));
    assert!(reason("PAIR:ana@x:a/b").contains("bad link code"));
    assert!(reason("PAIR:ana@x:").contains("bad link code"));
    assert!(reason("UNLINK:").contains("bad device name"));
    assert!(reason("DEVICES:x").contains("takes no fields"));
    assert!(reason("LINK:").contains("LINK:<password>"));
    assert!(reason("TURN:#lab").contains("only a user can be called"));
    assert!(reason("TURN:a b").contains("bad user name"));
    assert!(reason("TURN:").contains("bad user name"));
    assert!(reason("LOGIN:ana:").contains("password is empty"));
    assert!(reason("LOGIN:a b:pw").contains("bad user name"));
    assert!(reason("REGISTER:ana:not-an-email:pw").contains("bad email"));
    assert!(reason("REDEEM:code:ana:pw").contains("REDEEM:<code>:<user>:<email>:<password>"));
    assert!(reason("REDEEM:a/b:ana::pw").contains("bad invite code"));
    assert!(reason("MSG:bob:m1:").contains("empty"));
    assert!(reason("MSG:bob:m.1:hi").contains("message id"));
    assert!(reason("MSG:bob:m1:a\\qb").contains("bad escape"));
    assert_eq!(reason("MSG:bob:m1:a\rb"), "a text may not hold U+000D (carriage return)");
    assert_eq!(reason("MSG:#general:m1:\u{1b}[2J"), "a text may not hold U+001B (escape)");
    assert_eq!(reason("MSG:bob:m1:a\u{2028}b"), "a text may not hold U+2028 (line separator)");
    assert!(Request::parse("MSG:bob:m1:a\tb\\nc").is_ok());
    assert!(reason("HISTORY:bob:lots").contains("number"));
    assert!(reason("HISTORY:bob:-1").contains("number"));
    assert!(reason("HISTORY:bob:").contains("number"));
    assert!(reason("HISTORY:bob:10:").contains("a page starts at *"));
    assert!(reason("HISTORY:bob:10:x7").contains("a page starts at *"));
    assert!(reason("HISTORY:bob:10:1:2").contains("a page starts at *"));
    assert!(reason("HISTORY:bob:x:*").contains("number"));
    assert!(reason("JOIN:general").contains("starts with '#'"));
    assert!(reason("ARCHIVE").contains("ARCHIVE:<user or #room>"));
    assert!(reason("UNARCHIVE:#").contains("room"), "{}", reason("UNARCHIVE:#"));
    assert!(reason("ARCHIVED:x").contains("takes no fields"));
    assert!(reason("STAR:bob:m1").contains("STAR:<user or #room>:<from>:<id>"));
    assert!(reason("UNSTAR:bob:ana").contains("UNSTAR:<user or #room>:<from>:<id>"));
    assert!(reason("STAR:bob:a b:m1").contains("bad user name"));
    assert!(reason("STAR:bob:ana:m.1").contains("message id"));
    assert!(reason("STARRED:x").contains("takes no fields"));
    assert!(reason("P2P:0").contains("bad port"));
    assert!(reason("LASTSEEN:a b").contains("bad user name"));
    assert!(reason("MEMBERS:general").contains("starts with '#'"));
    assert!(reason("PEOPLE:").contains("bad start of a name"));
    assert!(reason("PEOPLE:a b").contains("not allowed in a name"));
    assert!(reason("PEOPLE:#general").contains("not allowed in a name"));
    assert!(reason("PEOPLE").contains("PEOPLE:<the start of a user name>"));
    assert!(reason(&format!("PEOPLE:{}", "a".repeat(33))).contains("1 to 32"));
    assert!(reason("PEOPLE:bo@").contains("not allowed in a name"), "no server after the @");
    assert!(reason("PEOPLE:@lab2").contains("not allowed in a name"), "no start before the @");
    assert!(reason("REACT:bob:m1:🦀🦀").contains("not a reaction"));
    assert!(reason(&format!("EDIT:bob:{}:x", "m".repeat(60))).contains("at most 52"));
    assert!(reason("DELETE:bob").contains("DELETE:<to>:<id>"));
    assert!(reason("DELETE:#lab3:m1:a b").contains("bad user name"));
    assert!(reason("DELETE:#lab3:m1:").contains("bad user name"));
    assert!(reason("SEARCH:*: ").contains("nothing to search"));
    assert!(reason("EDIT:bob:m1:a\u{1b}b").contains("U+001B"));
    assert!(reason("PING:now").contains("takes no fields"));
    assert!(reason("BLOCKS:x").contains("takes no fields"));
    assert!(reason("BLOCK:a b").contains("bad user name"));
    assert!(reason("BLOCK:@").contains("bad server name"));
    assert!(reason("UNBLOCK:@lab 2").contains("bad server name"));
    assert!(reason("BLOCK:@lab2@lab3").contains("bad server name"));
    // 1.3: a user's field takes an address, and nothing that is none.
    for line in ["BLOCK:bob@", "STAR:bob:@lab2:m1", "KICK:#lab3:bob@lab2@lab3", "PEER:bob@lab 2"] {
        assert!(reason(line).contains("bad user name"), "{line}");
    }
    assert!(reason("DELETE:#lab3:m1:#lab@lab2").contains("bad user name"));
    assert!(
        reason("LOGIN:ana@lab2@laptop:pw").contains("bad device name"),
        "a login names one's own account"
    );
    assert!(reason("NOTIFY:bob:loud").contains("all, mentions or none"));
    assert!(reason("NOTIFY:bob").contains("NOTIFY:<user or #room>"));
    assert!(reason("PIN:#").contains("bad room name"));
    assert!(reason("SERVER:x").contains("takes no fields"));
    assert!(reason("HELLO").contains("unknown request"));
    assert!(reason("").contains("empty"));
    assert!(reason("msg:bob:1:hi").contains("unknown request"));
    assert!(reason("UPLOAD:../x:1:ab").contains("bad file name"));
    assert!(reason(&format!("UPLOAD:x:big:{}", "a".repeat(64))).contains("size must be a number"));
    assert!(reason("UPLOAD:x:1:ab").contains("sha256"));
    assert!(reason("PART:abc:0:aGk=").contains("bad file id"));
    assert!(reason("FETCH:x/../y:0").contains("bad file id"));
    assert!(reason("FILEOF:#lab3:ana").contains("expected FILEOF"));
    assert!(reason("FILEOF:#lab3:a/b:m9").contains("bad user name"));
}

#[test]
fn a_history_limit_past_the_largest_integer_is_refused_as_too_large_not_as_no_number() {
    for line in ["HISTORY:#general:99999999999999999999999", &format!("HISTORY:bob:{}", u128::MAX)] {
        let why = reason(line);
        assert_eq!(why, "the limit must be at most 18446744073709551615", "{line}");
    }
    let largest = Request::parse(&format!("HISTORY:bob:{}", usize::MAX)).unwrap();
    assert_eq!(largest, Request::History { chat: Chat::User("bob".into()), limit: usize::MAX, page: None });
}

#[test]
fn redacted_hides_passwords() {
    let r = Request::parse("REGISTER:ana:a@b.c:hunter2").unwrap();
    assert_eq!(r.redacted(), "REGISTER:ana:a@b.c:***");
    assert!(!format!("{:?}", r.redacted()).contains("hunter2"));
    let r = Request::parse("REDEEM:c-1:ana::hunter2").unwrap();
    assert_eq!(r.redacted(), "REDEEM:c-1:ana::***");
    let r = Request::parse("LOGIN:ana@tui:0123abcd").unwrap();
    assert_eq!(r.redacted(), "LOGIN:ana@tui:***");
    let r = Request::parse("PAIR:ana@tui:k7qm9pzrtw").unwrap();
    assert_eq!(r.redacted(), "PAIR:ana@tui:***");
}
