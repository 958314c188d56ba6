//! The sessions of docs/PROTOCOL.md's preferences (§22: blocks,
//! notification levels, pins; §23: archived chats; §25: stars), played
//! back against a server, and the steps the tests of tests/chat/ share
//! about them.

use std::collections::HashMap;

use super::Conn;

/// Plays the session, its connections (`A`, `B`, `P`) made by `connect`;
/// timestamps (13 digits) aside, every reply and event must be the one
/// the document shows.
pub fn play_section_21(connect: impl Fn(&str) -> Conn) {
    play_session("## 22. Version 1.2: blocks", 30, connect);
}

/// A block shows in no answer (`meaning::send`): `bob`, whom
/// `ana` blocked, spends his quota (`--user-quota 16KiB`, 4 KB messages
/// to `#general`), and then gets `KO:FULL` from her as from `carl`, who
/// did not block him, for a message and for the `DELETE` of one he sent
/// before the block. (Were the block asked first, she would answer
/// `OK`, and tell bob that she blocked him.)
pub fn a_spent_quota_is_full_to_whoever_blocked_you(ana: &mut Conn, bob: &mut Conn) {
    for to in ["carl", "ana"] {
        assert!(bob.request(&format!("MSG:{to}:k{to}:before")).starts_with("OK:k"), "to {to}");
    }
    assert_eq!(ana.request("BLOCK:bob"), "OK");
    assert!(bob.request("MSG:ana:hidden:hi").starts_with("OK:hidden:"), "a block answers OK");
    let text = "x".repeat(4000);
    let mut stored = 0;
    while bob.request(&format!("MSG:#general:q{stored}:{text}")).starts_with("OK:") {
        stored += 1;
        assert!(stored < 100, "the quota was never reached");
    }
    for to in ["carl", "ana"] {
        for request in [format!("MSG:{to}:late:hi"), format!("DELETE:{to}:k{to}")] {
            let reply = bob.request(&request);
            assert!(reply.starts_with("KO:FULL:you have stored "), "{request}: {reply}");
        }
    }
    let history = ana.listing("HISTORY:bob:10");
    assert!(
        history.len() == 1 && history[0].ends_with(":before"),
        "only what came before the block: {history:?}"
    );
}

/// Plays the first session (`### A session`) of the section of
/// docs/PROTOCOL.md whose heading starts with `heading` (§23's too), which
/// must have more than `least` lines.
pub fn play_session(heading: &str, least: usize, connect: impl Fn(&str) -> Conn) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md")).unwrap();
    let section = &doc[doc.find(heading).expect(heading)..];
    let session = &section[section.find("### A session").unwrap()..];
    let block = session.split("```").nth(1).expect("the session's block");
    let mut conns: HashMap<String, Conn> = HashMap::new();
    let mut played = 0;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (who, rest) = line.split_once(' ').unwrap();
        let conn = conns.entry(who.to_string()).or_insert_with(|| connect(who));
        match rest.split_at(2) {
            ("> ", frame) => conn.send(frame),
            ("< ", frame) => assert_eq!(without_stamps(&conn.line()), without_stamps(frame), "{line}"),
            _ => panic!("not a line of a session: {line:?}"),
        }
        played += 1;
    }
    assert!(played > least, "{played} lines");
}

/// The password of the accounts [`a_name_taken_again_is_somebody_else`] makes.
pub const REUSE_PW: &str = "pw-again";

/// On the server whose fresh send connections `connect` makes
/// (started with `--name-quarantine-days 0`): ana keeps a block, a level,
/// a pin, an archive and a star about bob; bob deletes his account, and
/// they stay while his name is reserved; then somebody registers the name
/// `bob` again: none of them applies to the new account, and what ana
/// keeps about others stays ([`what_ana_keeps_after_the_reuse`]).
pub fn a_name_taken_again_is_somebody_else(connect: impl Fn() -> Conn) {
    let register = |name: &str| {
        let mut conn = connect();
        assert_eq!(conn.request(&format!("REGISTER:{name}::{REUSE_PW}")), format!("OK:{name}"));
        conn
    };
    let (mut ana, mut bob, _carl) = (register("ana"), register("bob"), register("carl"));
    assert!(bob.request("MSG:ana:m1:hello ana").starts_with("OK:m1:"));
    for request in [
        "STAR:bob:bob:m1",
        "PIN:bob",
        "NOTIFY:bob:none",
        "ARCHIVE:bob",
        "BLOCK:bob",
        "PIN:#general",
        "ARCHIVE:carl",
        "BLOCK:carl",
    ] {
        assert_eq!(ana.request(request), "OK", "{request}");
    }
    assert_eq!(bob.request(&format!("DELACCOUNT:{REUSE_PW}")), "OK");
    // Until the name is taken again, ana's settings about the old bob stay.
    assert_eq!(ana.listing("BLOCKS"), ["bob", "carl"]);
    assert_eq!(ana.listing("PREFS"), ["#general:all:pinned", "bob:none:pinned"]);
    assert_eq!(ana.listing("STARRED").len(), 1);
    let mut new_bob = register("bob");
    what_ana_keeps_after_the_reuse(&mut ana);
    // The new bob is not blocked: his message reaches ana.
    assert!(new_bob.request("MSG:ana:n1:I am the new bob").starts_with("OK:n1:"));
    let history = ana.listing("HISTORY:bob:10");
    assert!(history.last().is_some_and(|l| l.ends_with(":I am the new bob")), "{history:?}");
}

/// What ana keeps once the name `bob` is a new account's: her settings
/// about carl and #general, nothing about bob.
pub fn what_ana_keeps_after_the_reuse(ana: &mut Conn) {
    assert_eq!(ana.listing("BLOCKS"), ["carl"]);
    assert_eq!(ana.listing("PREFS"), ["#general:all:pinned"]);
    assert_eq!(ana.listing("ARCHIVED"), ["carl"]);
    assert_eq!(ana.listing("STARRED"), Vec::<String>::new());
}

/// `line` with each run of 13 digits (a time in ms) as `<ts>`, and each
/// action id's stamp (`_emwup63ee_m1`, §19) as `<stamp>`.
fn without_stamps(line: &str) -> String {
    let line = without_ms(line);
    let mut out = String::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find('_') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let stamp = rest.get(1..).and_then(|r| r.find('_')).map(|end| &rest[..=end]);
        if let Some(stamp) = stamp.filter(|s| {
            s.len() > 5
                && s.starts_with(['e', 'd', 'r', 'u', 'x'])
                && s.chars().all(|c| c.is_ascii_alphanumeric())
        }) {
            out.push_str(&stamp[..1]);
            out.push_str("<stamp>");
            rest = &rest[stamp.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// `line` with each run of 13 digits (a time in ms) as `<ts>`.
fn without_ms(line: &str) -> String {
    let mut out = String::new();
    let mut digits = 0;
    for c in line.chars() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        out.push(c);
        if digits == 13 {
            out.truncate(out.len() - 13);
            out.push_str("<ts>");
        }
    }
    out
}
