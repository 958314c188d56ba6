//! One grammar for a user (protocol 1.3, §27, `protocol::names::check_user`):
//! every request whose field means a user takes an address `bob@lab2`
//! where it took a name, and every event that names a user names one of
//! another server by its address. The requests and events are walked here
//! once, for tests/federation/addresses.rs (a single server in no network,
//! two linked servers) and tests/cluster/federation.rs (a cluster as lab1).

use std::time::{Duration, Instant};

use super::{Conn, EVENT_TIMEOUT, TestServer};

/// What a server in no network answers an address, as before 1.3.
pub const NOT_A_NAME: &str =
    "KO:BAD_REQUEST:bad user name: '@' is not allowed in a name (only A-Z a-z 0-9 _ . -)";

/// Every request whose field means a user, with `bob@lab2` in that field
/// (the room `#lab` is lab1's, where ana is its owner and bob@lab2 a member).
pub const NAMING_A_USER: &[&str] = &[
    "LASTSEEN:bob@lab2",
    "PEER:bob@lab2",
    "PROFILE:bob@lab2",
    "PHOTOOF:bob@lab2",
    "STAR:bob@lab2:bob@lab2:b1",
    "UNSTAR:bob@lab2:bob@lab2:b1",
    "FILEOF:bob@lab2:bob@lab2:b1",
    "DELETE:#lab:b2:bob@lab2",
    "BLOCK:bob@lab2",
    "UNBLOCK:bob@lab2",
    "INVITE:#lab:bob@lab2",
    "KICK:#lab:bob@lab2",
    "BAN:#lab:bob@lab2:0",
    "UNBAN:#lab:bob@lab2",
    "MUTE:#lab:bob@lab2:5",
    "UNMUTE:#lab:bob@lab2",
    "OP:#lab:bob@lab2",
    "DEOP:#lab:bob@lab2",
    "CALL:bob@lab2:c1:HANGUP",
    "TURN:bob@lab2",
];

/// A server in no network answers each request of [`NAMING_A_USER`] as
/// it always did, whatever its other fields: the name with `@` refused.
pub fn in_no_network_as_before(server: &TestServer) {
    server.register(&["ana"]);
    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert!(ana.request("MSG:#lab:b2:hello").starts_with("OK:"));
    for request in NAMING_A_USER {
        assert_eq!(ana.request(request), NOT_A_NAME, "{request}");
    }
    assert_eq!(
        ana.request("PEOPLE:bo@lab2"),
        "KO:BAD_REQUEST:bad start of a name: '@' is not allowed in a name (only A-Z a-z 0-9 _ . -)"
    );
}

/// Reads `events` until a line for which `wanted` holds (answering
/// `PING`, acknowledging what is numbered); that line.
pub fn heard(events: &mut Conn, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "no {what} within {EVENT_TIMEOUT:?}");
        let line = events.line();
        if line == "PING" {
            events.send("PONG");
            continue;
        }
        if let Some(seq) = numbered(&line) {
            events.send(&format!("ACK:{seq}"));
        }
        if wanted(&line) {
            return line;
        }
    }
}

/// The number of a queued event (`MSG`, `STATUS`, `FILE`, `READMARK`).
fn numbered(line: &str) -> Option<&str> {
    let (word, rest) = line.split_once(':')?;
    ["MSG", "STATUS", "FILE", "READMARK"].contains(&word).then(|| rest.split(':').next()).flatten()
}

/// Asks `ask` until `ok` holds of its answer (what crosses the link takes
/// a round trip, and presence a batch a second); the last answer.
pub fn until(mut ask: impl FnMut() -> String, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = ask();
        if ok(&got) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling the other server's word
    }
}

/// ana and cyd of `lab1` (a single server, or a cluster's node), bob of
/// `lab2`, linked: each request of [`NAMING_A_USER`] names `bob@lab2` (and
/// this server's own `cyd@lab1`), and each event that names a user names
/// bob by his address. `lab1` is where ana's connections are.
pub fn across(lab1: &TestServer, lab2: &TestServer) {
    lab1.register(&["ana", "cyd"]);
    lab2.register(&["bob"]);
    let mut ana = lab1.login_send("ana", "pw-ana");
    let mut events = lab1.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request("LOGIN:ana:pw-ana"), "OK:ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");

    // bob joins ana's room from lab2 (`MEMBER:#lab:bob@lab2:JOINED`), and
    // writes to her and to the room.
    let mut bob = lab2.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab@lab1"), "OK");
    heard(&mut events, "bob's MEMBER", |l| l == "MEMBER:#lab:bob@lab2:JOINED");
    assert!(bob.request("MSG:ana@lab1:b1:hello ana").starts_with("OK:b1:"));
    heard(&mut events, "bob's message", |l| l.starts_with("MSG:") && l.contains(":bob@lab2:ana:b1:"));
    assert!(bob.request("MSG:#lab@lab1:b2:hello room").starts_with("OK:b2:"));
    heard(&mut events, "bob's post", |l| l.starts_with("MSG:") && l.contains(":bob@lab2:#lab:b2:"));

    // Presence: bob comes online and goes, ana is told as of a local roommate.
    let bob_events = lab2.login_recv("bob", "pw-bob");
    heard(&mut events, "JOINED:bob@lab2", |l| l == "JOINED:bob@lab2");
    let seen = until(|| ana.request("LASTSEEN:bob@lab2"), |a| a == "OK:bob@lab2:ONLINE");
    assert_eq!(seen, "OK:bob@lab2:ONLINE");
    drop(bob_events);
    heard(&mut events, "LEFT:bob@lab2", |l| l == "LEFT:bob@lab2");
    // This server's own address is its user; a server the roster lacks is said so.
    assert!(ana.request("LASTSEEN:cyd@lab1").starts_with("OK:cyd:"));
    assert!(ana.request("LASTSEEN:bob@lab9").starts_with("KO:UNKNOWN_SERVER:"));
    let people = until(|| ana.request("PEOPLE:bo@lab2"), |a| a == "OK:1");
    assert_eq!(people, "OK:1");
    assert!(ana.line().starts_with("bob@lab2:"));

    // A profile: bob's display name reaches ana as `PROFILE:bob@lab2:…`.
    assert_eq!(bob.request("NAME:Bob Builder"), "OK");
    heard(&mut events, "bob's PROFILE", |l| {
        l.starts_with("PROFILE:bob@lab2:") && l.ends_with(":Bob Builder")
    });
    let profile = until(|| ana.request("PROFILE:bob@lab2"), |a| a.ends_with(":Bob Builder"));
    assert!(profile.starts_with("OK:") && profile.ends_with(":Bob Builder"), "{profile}");
    assert_eq!(ana.request("PHOTOOF:bob@lab2"), "KO:UNKNOWN_FILE:bob@lab2 has no photo");

    // Stars, on a direct message and on a room's, listed and told.
    assert_eq!(ana.request("STAR:bob@lab2:bob@lab2:b1"), "OK");
    heard(&mut events, "STAR", |l| l == "STAR:bob@lab2:bob@lab2:b1:starred");
    assert_eq!(ana.request("STAR:#lab:bob@lab2:b2"), "OK");
    let starred = ana.listing("STARRED");
    assert_eq!(starred.len(), 2, "{starred:?}");
    assert!(starred.iter().all(|l| l.starts_with("bob@lab2:")), "{starred:?}");
    assert_eq!(ana.request("UNSTAR:bob@lab2:bob@lab2:b1"), "OK");
    heard(&mut events, "UNSTAR", |l| l == "STAR:bob@lab2:bob@lab2:b1:unstarred");
    assert_eq!(ana.listing("STARRED").len(), 1);
    // A message that carries no file is said so, in a chat named by the address.
    let file = ana.request("FILEOF:bob@lab2:bob@lab2:b1");
    assert_eq!(file, "KO:UNKNOWN_FILE:no such file that you may see");

    // P2P does not cross servers, said so.
    assert_eq!(
        ana.request("PEER:bob@lab2"),
        "KO:BAD_REQUEST:P2P does not cross servers: bob@lab2 is a user of lab2"
    );

    // A block of a user of another server: listed, told to ana's devices,
    // and his messages no longer reach her.
    assert_eq!(ana.request("BLOCK:bob@lab2"), "OK");
    heard(&mut events, "BLOCKED", |l| l == "BLOCKED:bob@lab2");
    assert_eq!(ana.listing("BLOCKS"), ["bob@lab2"]);
    assert!(bob.request("MSG:ana@lab1:b3:blocked?").starts_with("OK:b3:"));
    // The link keeps its frames in order: once cyd has bob's next one, lab1 took b3.
    let mut cyd = lab1.login_recv("cyd", "pw-cyd");
    assert!(bob.request("MSG:cyd@lab1:c1:after b3").starts_with("OK:c1:"));
    heard(&mut cyd, "bob's message to cyd", |l| l.starts_with("MSG:") && l.contains(":bob@lab2:cyd:c1:"));
    assert_eq!(ana.request("UNBLOCK:bob@lab2"), "OK");
    heard(&mut events, "UNBLOCKED", |l| l == "UNBLOCKED:bob@lab2");
    assert!(bob.request("MSG:ana@lab1:b4:and now?").starts_with("OK:b4:"));
    let next =
        heard(&mut events, "bob's next message", |l| l.starts_with("MSG:") && l.contains(":bob@lab2:ana:"));
    assert!(next.contains(":b4:"), "b3 was sent while blocked: {next}");

    // The room's owner runs it for a member of another server too: each
    // change told to ana as an event naming him by his address.
    for (request, event) in [
        ("MUTE:#lab:bob@lab2:5", "MUTED:#lab:ana:bob@lab2:"),
        ("UNMUTE:#lab:bob@lab2", "UNMUTED:#lab:ana:bob@lab2"),
        ("OP:#lab:bob@lab2", "OPPED:#lab:ana:bob@lab2"),
    ] {
        assert_eq!(ana.request(request), "OK", "{request}");
        heard(&mut events, event, |l| l.starts_with(event));
    }
    let info = ana.listing("ROOMINFO:#lab");
    assert!(info.contains(&"ADMIN:bob@lab2".to_string()), "{info:?}");
    assert_eq!(ana.request("DEOP:#lab:bob@lab2"), "OK");
    heard(&mut events, "DEOPPED", |l| l == "DEOPPED:#lab:ana:bob@lab2");
    // A member's message deleted by the owner.
    assert!(ana.request("DELETE:#lab:b2:bob@lab2").starts_with("OK:"));
    let history = ana.listing("HISTORY:#lab:10");
    assert!(!history.iter().any(|l| l.contains("hello room")), "{history:?}");
    assert_eq!(ana.request("KICK:#lab:bob@lab2"), "OK");
    heard(&mut events, "KICKED", |l| l == "KICKED:#lab:ana:bob@lab2");
    let members = ana.listing("MEMBERS:#lab");
    assert!(!members.iter().any(|m| m.starts_with("bob@lab2:")), "{members:?}");
    assert_eq!(ana.request("BAN:#lab:bob@lab2:0"), "OK");
    heard(&mut events, "BANNED", |l| l == "BANNED:#lab:ana:bob@lab2:0");
    assert_eq!(ana.request("UNBAN:#lab:bob@lab2"), "OK");
    heard(&mut events, "UNBANNED", |l| l == "UNBANNED:#lab:ana:bob@lab2");
    assert_eq!(ana.request("INVITE:#lab:bob@lab2"), "OK");
    // This server's own address is its user here too.
    assert_eq!(ana.request("INVITE:#lab:cyd@lab1"), "OK");
    assert_eq!(ana.request("KICK:#lab:bob@lab9"), "KO:UNKNOWN_SERVER:no server named lab9 in the roster");

    // A call's signal names bob by his address both ways.
    assert_eq!(ana.request("TURN:bob@lab2"), "OK");
    assert!(bob.request("CALL:ana@lab1:c1:OFFER:voice:v=0\\n").starts_with("OK"));
    heard(&mut events, "bob's CALL", |l| l.starts_with("CALL:bob@lab2:c1:OFFER:voice:"));
    assert_eq!(ana.request("CALL:bob@lab2:c1:HANGUP"), "OK");
}
