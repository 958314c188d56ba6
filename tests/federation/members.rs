//! Rooms and presence across servers (docs/PROTOCOL.md §27, "Members of
//! other servers", "Presence across servers"): a room's members are
//! listed alike on its home and on every member server, each by its
//! address; whether a user of another server is online, or since when
//! not, reaches the users who share a chat with it, at most a few
//! seconds behind, as its own server shows it (its privacy kept there).
//! Two real servers linked by a roster; the browser app at both sizes.

use super::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::Conn;
use support::federation::{Lab, network};
use support::webapp::app_url;

/// How long presence may take to cross: the documented figure (one
/// batch a second per link, §27) with room for a loaded machine.
const CROSSES_WITHIN: Duration = Duration::from_secs(10);

/// Each line of a `MEMBERS` listing asked on `lab` as `<address>:<presence>`:
/// a local name gets `@<lab>`, so that listings of two servers compare.
fn members_of(conn: &mut Conn, room: &str, lab: &str) -> Vec<String> {
    conn.listing(&format!("MEMBERS:{room}"))
        .into_iter()
        .map(|line| {
            let (user, presence) = line.rsplit_once(':').unwrap();
            let address = if user.contains('@') { user.to_string() } else { format!("{user}@{lab}") };
            format!("{address}:{presence}")
        })
        .collect()
}

/// The addresses of [`members_of`], without their presence.
fn addresses(conn: &mut Conn, room: &str, lab: &str) -> BTreeSet<String> {
    members_of(conn, room, lab).into_iter().map(|m| m.rsplit_once(':').unwrap().0.to_string()).collect()
}

/// Asks `ask` until `ok` holds of its answer, for [`CROSSES_WITHIN`];
/// the last answer.
fn until<T: std::fmt::Debug>(mut ask: impl FnMut() -> T, ok: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + CROSSES_WITHIN;
    loop {
        let got = ask();
        if ok(&got) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling the other server's word
    }
}

/// The presence `LASTSEEN:<user>` answers `conn`.
fn last_seen(conn: &mut Conn, user: &str) -> String {
    let answer = conn.request(&format!("LASTSEEN:{user}"));
    answer.rsplit_once(':').map_or(answer.clone(), |(_, p)| p.to_string())
}

fn is_time(presence: &str) -> bool {
    !presence.is_empty() && presence.bytes().all(|b| b.is_ascii_digit())
}

/// Two linked servers; lab2's `#lab` with bob and cleo, and ana of lab1 in it.
fn lab_room(root: &std::path::Path) -> (Vec<Lab>, Conn, Conn) {
    let labs = network(root, &["lab1", "lab2"], &["--timeout", "10"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob", "cleo", "dan"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut cleo = labs[1].server.login_send("cleo", "pw-cleo");
    assert_eq!(cleo.request("JOIN:#lab"), "OK");
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    (labs, ana, bob)
}

#[test]
fn a_rooms_members_are_the_same_on_its_home_and_on_a_member_server() {
    let root = tempfile::tempdir().unwrap();
    let (labs, mut ana, mut bob) = lab_room(root.path());
    let all: BTreeSet<String> = ["ana@lab1", "bob@lab2", "cleo@lab2"].map(String::from).into();
    let on_lab1 = until(|| addresses(&mut ana, "#lab@lab2", "lab1"), |got| *got == all);
    assert_eq!(on_lab1, all, "MEMBERS:#lab@lab2 on lab1 lists the home's members");
    assert_eq!(addresses(&mut bob, "#lab", "lab2"), all, "and the home lists the same");

    // Members who come and go later are listed alike too.
    let mut dan = labs[1].server.login_send("dan", "pw-dan");
    assert_eq!(dan.request("JOIN:#lab"), "OK");
    let mut cleo = labs[1].server.login_send("cleo", "pw-cleo");
    assert_eq!(cleo.request("LEAVE:#lab"), "OK");
    let now: BTreeSet<String> = ["ana@lab1", "bob@lab2", "dan@lab2"].map(String::from).into();
    assert_eq!(until(|| addresses(&mut ana, "#lab@lab2", "lab1"), |got| *got == now), now);
    assert_eq!(addresses(&mut bob, "#lab", "lab2"), now);

    // lab1 killed and started again: the members it was told are on its disk.
    let mut labs = labs;
    labs[0].server.kill();
    labs[0] = labs[0].restart(&root.path().join("class.csv"), &["--timeout", "10"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(addresses(&mut ana, "#lab@lab2", "lab1"), now, "kept across kill -9");
}

#[test]
fn presence_crosses_to_who_shares_a_room_or_a_chat_both_ways() {
    let root = tempfile::tempdir().unwrap();
    let (labs, mut ana, mut bob) = lab_room(root.path());
    // Nobody was ever online: UNKNOWN on both sides.
    assert_eq!(last_seen(&mut ana, "bob@lab2"), "UNKNOWN");
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    let online = until(|| last_seen(&mut ana, "bob@lab2"), |p| p == "ONLINE");
    assert_eq!(online, "ONLINE", "bob online on lab2 is online on lab1");
    let members = members_of(&mut ana, "#lab@lab2", "lab1");
    assert!(members.contains(&"bob@lab2:ONLINE".to_string()), "{members:?}");
    assert!(members.contains(&"cleo@lab2:UNKNOWN".to_string()), "{members:?}");

    // The other way: ana online on lab1 is online in lab2's listing; she
    // is told bob's comings and goings as a roommate.
    let mut ana_events = labs[0].server.login_recv("ana", "pw-ana");
    let seen = until(|| members_of(&mut bob, "#lab", "lab2"), |m| m.contains(&"ana@lab1:ONLINE".into()));
    assert!(seen.contains(&"ana@lab1:ONLINE".to_string()), "{seen:?}");
    bob_events.send("QUIT");
    drop(bob_events);
    let gone = until(|| last_seen(&mut ana, "bob@lab2"), |p| is_time(p));
    assert!(is_time(&gone), "bob offline is last seen at a time on lab1: {gone}");
    let told = (0..50)
        .find_map(|_| ana_events.line_within(Duration::from_millis(200)).filter(|l| l == "LEFT:bob@lab2"));
    assert_eq!(told.as_deref(), Some("LEFT:bob@lab2"), "ana's receive connection is told bob left");

    // A direct chat is a shared chat: dan, in no room with ana, writes to her.
    let mut dan = labs[1].server.login_send("dan", "pw-dan");
    assert!(dan.request("MSG:ana@lab1:d1:hi ana").starts_with("OK:"));
    assert_eq!(ana_events.next_msg().split(':').nth(2), Some("dan@lab2"));
    let _dan_events = labs[1].server.login_recv("dan", "pw-dan");
    assert_eq!(until(|| last_seen(&mut ana, "dan@lab2"), |p| p == "ONLINE"), "ONLINE");
}

#[test]
fn a_user_who_hides_its_last_seen_is_unknown_on_other_servers_too() {
    let root = tempfile::tempdir().unwrap();
    let (labs, mut ana, mut bob) = lab_room(root.path());
    assert_eq!(bob.request("PRIVACY:lastseen:off"), "OK:lastseen:off:receipts:on");
    let bob_events = labs[1].server.login_recv("bob", "pw-bob");
    assert_eq!(until(|| last_seen(&mut ana, "bob@lab2"), |p| p == "ONLINE"), "ONLINE", "online is no secret");
    drop(bob_events);
    // Offline: lab2 says UNKNOWN, never the time; given a while to say otherwise.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        let p = last_seen(&mut ana, "bob@lab2");
        assert!(!is_time(&p), "bob hides his last seen: lab1 shows {p}");
        std::thread::sleep(Duration::from_millis(200)); // polling: it must never turn into a time
    }
    assert_eq!(last_seen(&mut ana, "bob@lab2"), "UNKNOWN");

    // Who hides it sees no one's: cleo's time is kept from ana once she hides hers.
    let cleo_events = labs[1].server.login_recv("cleo", "pw-cleo");
    assert_eq!(until(|| last_seen(&mut ana, "cleo@lab2"), |p| p == "ONLINE"), "ONLINE");
    drop(cleo_events);
    assert!(is_time(&until(|| last_seen(&mut ana, "cleo@lab2"), |p| is_time(p))));
    assert_eq!(ana.request("PRIVACY:lastseen:off"), "OK:lastseen:off:receipts:on");
    assert_eq!(last_seen(&mut ana, "cleo@lab2"), "UNKNOWN");
}

#[test]
fn the_browser_lists_a_remote_rooms_members_alike_with_presence_on_a_laptop() {
    the_browser_lists_a_remote_rooms_members((1280, 800));
}

#[test]
fn the_browser_lists_a_remote_rooms_members_alike_with_presence_on_a_phone() {
    the_browser_lists_a_remote_rooms_members((390, 844));
}

fn the_browser_lists_a_remote_rooms_members((width, height): (u32, u32)) {
    let root = tempfile::tempdir().unwrap();
    // A --timeout of 60 s: bob's receive connection below reads nothing
    // while the browsers start, which on a loaded machine may take longer
    // than 10 s (he would be logged out, "last seen").
    let labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "60", "--web-port", "0"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob", "cleo"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut cleo = labs[1].server.login_send("cleo", "pw-cleo");
    assert_eq!(cleo.request("JOIN:#lab"), "OK");
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    let _bob_events = labs[1].server.login_recv("bob", "pw-bob");
    assert_eq!(until(|| last_seen(&mut ana, "bob@lab2"), |p| p == "ONLINE"), "ONLINE");

    // The pane as `user` sees it in `server`'s app: its rows, once three
    // are drawn; the browser stays open (its user online) with them.
    let pane = |server: &support::TestServer, user: &str, room: &str| {
        let app = support::webapp::logged_in(&app_url(server), user, width, height);
        support::webapp::open_chat(&app, room);
        app.click("#members-button");
        let rows = app.wait_for(
            "(() => { const rows = [...document.querySelectorAll('#members li')]; \
              return rows.length === 3 ? rows.map(r => r.textContent) : null; })()",
        );
        let rows: Vec<String> =
            rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        (app, rows)
    };
    let (ana_app, on_lab1) = pane(&labs[0].server, "ana", "#lab@lab2");
    // ana, in lab1's browser, is online on lab2 once the link said so.
    // (bob's connection is made when it is used: a browser's start on a
    // busy machine may take longer than the servers' --timeout.)
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let seen = until(|| members_of(&mut bob, "#lab", "lab2"), |m| m.contains(&"ana@lab1:ONLINE".into()));
    assert!(seen.contains(&"ana@lab1:ONLINE".to_string()), "{seen:?}");
    let (_bob_app, on_lab2) = pane(&labs[1].server, "bob", "#lab");
    for (rows, me) in [(&on_lab1, "ana"), (&on_lab2, "bob")] {
        assert_eq!(rows.len(), 3, "{me}: {rows:?}");
        for who in ["ana", "bob", "cleo"] {
            assert!(rows.iter().any(|r| r.contains(who)), "{me} sees {who}: {rows:?}");
        }
    }
    let row = |rows: &[String], who: &str| rows.iter().find(|r| r.contains(who)).unwrap().clone();
    // bob online on lab2 is online in lab1's pane; cleo was never seen.
    assert!(row(&on_lab1, "bob").contains("online"), "{on_lab1:?}");
    assert!(row(&on_lab1, "cleo").contains("never"), "{on_lab1:?}");
    assert!(row(&on_lab2, "ana").contains("online"), "{on_lab2:?}");
    assert!(row(&on_lab2, "cleo").contains("never"), "{on_lab2:?}");

    // A chat with bob of lab2: its header says he is online, as for a
    // user of ana's own server. A phone shows the list or a chat: back
    // to the list first (app.css, 480 px).
    ana_app.click("#panel-close");
    if width <= 480 {
        ana_app.click("#back");
    }
    support::webapp::open_chat(&ana_app, "bob@lab2");
    ana_app.wait_for("document.getElementById('chat-sub').textContent === 'online'");
}

/// The home's own members cross as numbered frames (§27, "The home's own
/// members"): lab1, the home of `#lab` where bob is, announces bob to
/// lab9 when zoe of lab9 joins, before the room's messages; the frame is
/// kept until lab9's `ACK` (a link cut before it brings it again under
/// its number); bob's `LEAVE` crosses too; his presence follows the
/// frames, unnumbered.
#[test]
fn a_homes_own_members_cross_as_numbered_frames_and_come_again_until_acknowledged() {
    use std::io::{BufRead, BufReader, Write};
    use support::federation::{ask, lab9_beside_lab1};

    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &[], &[]);
    lab1.server.register(&["bob"]);
    let mut bob = lab1.server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert!(bob.request("MSG:#lab:b1:welcome to lab1's room").starts_with("OK:b1:"));
    let (link, mut reader, ok) = lab9.hello(lab1.link, "00000000000000000000000000000009");
    assert_eq!(ok, "OK:0");
    assert_eq!(ask(&link, &mut reader, "JOIN:1:zoe@lab9:#lab@lab1"), "ACK:1");

    // lab1 dials lab9: each link it opens, its hello answered.
    let acceptor = lab9.key.acceptor().unwrap();
    let port = lab9.port.try_clone().unwrap();
    let next_link = move || {
        let (tcp, _) = port.accept().unwrap();
        let stream = wachat::transport::Stream::accept(tcp, Some(&acceptor)).unwrap();
        let link = wachat::transport::SharedStream(std::sync::Arc::new(stream));
        link.0.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(link.clone());
        let mut hello = String::new();
        reader.read_line(&mut hello).unwrap();
        assert!(hello.starts_with("HELLO:1.3:lab1:lab9:"), "{hello}");
        (link, reader)
    };
    let frame = |reader: &mut BufReader<support::federation::Link>| loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim_end() != "PING" {
            return line.trim_end().to_string();
        }
        writeln!(reader.get_ref().clone(), "PONG").unwrap();
    };
    let (first, mut frames) = next_link();
    writeln!(first.clone(), "OK:0").unwrap();
    assert_eq!(frame(&mut frames), "JOIN:1:bob@lab1:#lab@lab1", "bob announced before the room's messages");
    // The link cut before any ACK: frame 1 comes again, under its number.
    drop((first, frames));
    let (second, mut frames) = next_link();
    writeln!(second.clone(), "OK:0").unwrap();
    assert_eq!(frame(&mut frames), "JOIN:1:bob@lab1:#lab@lab1", "sent again until acknowledged");
    let b1 = frame(&mut frames);
    assert!(b1.starts_with("MSG:2:bob@lab1:#lab@lab1:b1:"), "{b1}");
    writeln!(second.clone(), "ACK:1\nACK:2").unwrap();
    assert_eq!(frame(&mut frames), "PRESENCE:bob@lab1:UNKNOWN", "his presence after the frames");
    writeln!(second.clone(), "OK").unwrap();
    assert_eq!(bob.request("LEAVE:#lab"), "OK");
    assert_eq!(frame(&mut frames), "LEAVE:3:bob@lab1:#lab@lab1");
    writeln!(second.clone(), "ACK:3").unwrap();
}
