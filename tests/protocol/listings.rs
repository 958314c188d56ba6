//! Which replies are listings (`OK:<n>` and `n` lines) is known only to
//! who asked: `Request::lists` says it, and the clients read their
//! replies by it (the client library's `Connection::request`, the
//! browser's `LISTINGS`). A listing missing there has its lines taken for
//! the replies of the requests after it, and a request there that
//! answers one line eats the replies after it. So a real server is asked
//! a line of every word, each after a state that makes every listing hold
//! lines, and the lines it answers are counted against what
//! `Request::lists` expects; then the client library asks every listing
//! again.

use std::time::Duration;

use wachat::client::{Connection, Login};
use wachat::protocol::Port;
use wachat::protocol::page;
use wachat::protocol::request::command_word;
use wachat::protocol::{Reply, Request};
use wachat::server::requests::TABLE;

use super::support::files::{login_recv_1_2, upload};
use super::support::{Conn, TestServer};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The words whose requests cannot be asked in the middle of a logged-in
/// session, and why: none answers a listing (docs/PROTOCOL.md).
const NOT_ASKED: [(&str, &str); 9] = [
    ("QUIT", "ends the connection"),
    ("LOGIN", "a first frame"),
    ("REGISTER", "a first frame"),
    ("REDEEM", "a first frame"),
    ("PAIR", "a first frame"),
    ("PASSWD", "logs the other connections out"),
    ("PASSWDKEEP", "changes the password the test logs in with"),
    ("DELACCOUNT", "deletes the account"),
    ("UNLINK", "logs a device out"),
];

/// What ana asks, each once: every listing, with lines to list, and a
/// line of every other word.
fn asked(file: &str) -> Vec<String> {
    let lines = [
        "USERS",
        "ROOMS",
        "CHATS",
        "MEMBERS:#lab",
        "PEOPLE:b",
        "DEVICES",
        "INFO",
        "HISTORY:bob:10",
        "HISTORY:bob:10:*",
        "SEARCH:bob:hello",
        "SEARCH:*:hello",
        "ROOMINFO:#lab",
        "MSG:#lab:r9:hello lab",
        "RECEIPTS:#lab:r9",
        "BLOCKS",
        "PREFS",
        "ARCHIVED",
        "MARKED",
        "HIDDEN",
        "FILES",
        "STARRED",
        "NAME:Ana",
        "PROFILES",
        "PROFILE:bob",
        "PHOTOOF:bob",
        "PHOTO:",
        "PRIVACY",
        "PRIVACY:receipts:on",
        "PING",
        "MSG:bob:m2:again",
        "READ:bob:b1",
        "JOIN:#tea",
        "LEAVE:#tea",
        "P2P:9000",
        "PEER:bob",
        "LASTSEEN:bob",
        "SERVER",
        "TYPING:bob",
        "LINK",
        "LINK:pw-ana",
        "REPLY:bob:m3:b1:yes",
        "EDIT:bob:m3:yes!",
        "REACT:bob:b1:👍",
        "DELETE:bob:m3",
        "TOPIC:#lab:week 2",
        "MODE:#lab:+invite",
        "INVITE:#lab:carl",
        "KICK:#lab:carl",
        "BAN:#lab:carl:0",
        "UNBAN:#lab:carl",
        "MUTE:#lab:bob:10",
        "UNMUTE:#lab:bob",
        "OP:#lab:bob",
        "DEOP:#lab:bob",
        "UNBLOCK:carl",
        "BLOCK:carl",
        "NOTIFY:#lab:mentions",
        "PIN:#lab",
        "UNPIN:#lab",
        "UPLOAD:b.txt:5:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "PART:<file>:0:aGVsbG8=",
        "FETCH:<file>:0",
        "FILEOF:bob:ana:f1",
        "FILE:bob:f2:<file>:again",
        "ARCHIVE:#lab",
        "UNARCHIVE:#lab",
        "MARK:#lab",
        "UNMARK:#lab",
        "HIDE:#lab",
        "STAR:bob:bob:b1",
        "UNSTAR:bob:bob:b1",
        "CALL:bob:c1:OFFER:voice:v=0",
        "CALL:bob:c1:ICE:candidate",
        "CALL:bob:c1:HANGUP",
        "TURN",
        "GROUPCALL:#lab:START:voice",
        "GROUPCALLS",
        "PUSHKEY",
        "PUSH:OFF",
        "PREVIEWS:OFF",
    ];
    lines.iter().map(|line| line.replace("<file>", file)).collect()
}

/// The lines the server answered to `line`: everything before the reply
/// to a marker asked after it, which no other reply can be.
fn answered(ana: &mut Conn, line: &str, i: usize) -> Vec<String> {
    let marker = format!("zz-nobody-{i}");
    ana.send(line);
    ana.send(&format!("LASTSEEN:{marker}"));
    let mut lines = Vec::new();
    loop {
        let got = ana.line();
        if got.starts_with("KO:") && got.contains(&marker) {
            return lines;
        }
        lines.push(got);
    }
}

/// The lines after its head a reply has, for one that `lists` says is a
/// listing: `OK:<n>` or, for a page of `HISTORY`, `OK:<n>:<cursor>`.
fn listed(head: &str) -> usize {
    let Some(fields) = head.strip_prefix("OK:") else { return 0 };
    let page = page::parse_head(fields).map(|(n, _)| n);
    page.or_else(|| Reply::parse(head).ok()?.listing_len()).unwrap_or(0)
}

#[test]
fn every_listing_and_no_other_reply_is_read_whole_by_request_lists() {
    let server = TestServer::start_with(&["--rate", "0", "--exempt", "127.0.0.1"]);
    let [mut ana, mut bob] = server.logged_in(["ana", "bob"]);
    server.register(&["carl"]);
    // Every listing with lines to list: bob and ana online, a chat with
    // a starred message, a room, a block, a setting, an archived chat, a
    // chat marked unread, a chat deleted, a file.
    let _bob_events = login_recv_1_2(&server, "bob");
    let _ana_events = login_recv_1_2(&server, "ana");
    assert!(ana.request("MSG:bob:m1:hello there").starts_with("OK:m1:"));
    assert!(bob.request("MSG:ana:b1:hello back").starts_with("OK:b1:"));
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("BLOCK:carl"), "OK");
    assert_eq!(ana.request("NOTIFY:bob:none"), "OK");
    assert_eq!(ana.request("ARCHIVE:bob"), "OK");
    assert_eq!(ana.request("MARK:bob"), "OK");
    assert_eq!(ana.request("HIDE:bob"), "OK");
    assert_eq!(ana.request("STAR:bob:ana:m1"), "OK");
    let file = upload(&mut ana, "a.txt", b"hello");
    assert!(ana.request(&format!("FILE:bob:f1:{file}:a file")).starts_with("OK:f1:"));

    let asked = asked(&file);
    let mut listings = 0;
    for (i, line) in asked.iter().enumerate() {
        let request = Request::parse(line).unwrap_or_else(|ko| panic!("{line}: {ko}"));
        let lines = answered(&mut ana, line, i);
        let head = lines.first().unwrap_or_else(|| panic!("{line}: no reply"));
        let expected = if request.lists() { listed(head) } else { 0 };
        assert_eq!(
            lines.len(),
            1 + expected,
            "{line}: lists() is {}, the server said {lines:?}",
            request.lists()
        );
        if request.lists() {
            assert!(head.starts_with("OK:") && expected > 0, "{line}: a listing with lines to list: {head}");
            listings += 1;
        }
    }
    assert_eq!(listings, 22, "every listing of the protocol was asked");
    // The client library reads each of them whole by the same rule: a
    // `PING` after each is answered `OK`, not with a line left over.
    let mut client =
        Connection::open("127.0.0.1", server.send.port(), Port::Send, TIMEOUT, None, None).unwrap();
    client.login("ana", "pw-ana", &Login::Existing).unwrap();
    for line in asked.iter().filter(|line| Request::parse(line).is_ok_and(|request| request.lists())) {
        let request = Request::parse(line).unwrap();
        let reply = client.request(&request).unwrap_or_else(|e| panic!("{line}: {e}"));
        let lines = match reply {
            Reply::Listing(lines) | Reply::Page { lines, .. } => lines,
            other => panic!("{line}: the client read {other:?}"),
        };
        assert!(!lines.is_empty(), "{line}: a listing with lines to list");
        assert_eq!(client.request(&Request::Ping).unwrap(), Reply::Ok, "after {line}");
    }
    for word in TABLE.iter().flat_map(|row| row.words) {
        let in_list = asked.iter().any(|line| command_word(line) == *word);
        let left_out = NOT_ASKED.iter().any(|(w, _)| w == word);
        assert!(in_list != left_out, "{word}: asked here, or left out with a reason, not both");
    }
}

/// The browser keeps the same list for its replies (`web/wire.js`,
/// `LISTINGS`): the words of the requests `Request::lists` says list.
#[test]
fn the_browsers_listings_are_the_words_of_the_requests_that_list() {
    let wire = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/wire.js")).unwrap();
    let line =
        wire.lines().find(|l| l.starts_with("export const LISTINGS = [")).expect("LISTINGS in wire.js");
    let mut browser: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
    let mut listing: Vec<&str> = Vec::new();
    let lines = asked("f1");
    for line in &lines {
        if Request::parse(line).is_ok_and(|request| request.lists()) {
            listing.push(command_word(line));
        }
    }
    browser.sort_unstable();
    listing.sort_unstable();
    listing.dedup();
    assert_eq!(browser, listing);
}
