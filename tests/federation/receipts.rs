//! Receipts of a room's messages across servers (docs/PROTOCOL.md §27,
//! "Receipts across servers", and §31): a member of another server is
//! listed by `RECEIPTS` on its sender's server as a member of the same
//! server is, delivered then read, as its own server says with numbered
//! `RECEIPT` frames (so a `kill -9` loses none), with the same privacy:
//! a member who turned read receipts off is listed delivered, never read.

use super::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::Conn;
use support::federation::{ask, lab1_with_the_browser_app_and_lab2, lab9_beside_lab1, network};
use support::webapp::{ENTER, app_url, logged_in, open_chat};

/// `RECEIPTS:<room>:<id>` on `conn` until `done` holds of its lines (the
/// other server's word crosses the link), for at most
/// [`support::READ_TIMEOUT`]; its lines. A post to a room of another
/// server is known to its sender's server once the home's copy comes back
/// (`KO:UNKNOWN_MESSAGE` until then), which may be after its members have it.
fn receipts_until(conn: &mut Conn, room: &str, id: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + support::READ_TIMEOUT;
    loop {
        let head = conn.request(&format!("RECEIPTS:{room}:{id}"));
        let lines: Option<Vec<String>> = match head.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => Some((0..n).map(|_| conn.line()).collect()),
            None if head.starts_with("KO:UNKNOWN_MESSAGE:") => None,
            None => panic!("RECEIPTS:{room}:{id}: {head}"),
        };
        if let Some(lines) = &lines
            && done(lines)
        {
            return lines.clone();
        }
        assert!(Instant::now() < deadline, "still {head} {lines:?}");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
}

/// Whether `lines` list `member` as `word` (`READ`, `DELIVERED`) with a time.
fn listed(lines: &[String], word: &str, member: &str) -> bool {
    lines.iter().any(|l| {
        l.strip_prefix(&format!("{word}:{member}:"))
            .is_some_and(|ts| !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The lines without their times (`READ:bob@lab2`), to compare whole.
fn who(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| if l.starts_with("TO:") { l.clone() } else { l.rsplit_once(':').unwrap().0.to_string() })
        .collect()
}

/// Takes the room messages of `events` until the one with `id`, each
/// acknowledged (the member's device has it).
fn ack_until(events: &mut Conn, id: &str) {
    loop {
        let msg = events.next_msg();
        events.send(&format!("ACK:{}", msg.split(':').nth(1).unwrap()));
        if msg.split(':').nth(4) == Some(id) {
            return;
        }
    }
}

/// Polls `MEMBERS:<room>` on `conn` until it lists `n` members.
fn members_until(conn: &mut Conn, room: &str, n: usize) {
    let deadline = Instant::now() + support::READ_TIMEOUT;
    while conn.listing(&format!("MEMBERS:{room}")).len() != n {
        assert!(Instant::now() < deadline, "{room} never had {n} members");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
}

/// The next `STATUS` among `events`, each event acknowledged: its
/// message's id and state (`("r1", "READ")`).
fn next_status(events: &mut Conn) -> (String, String) {
    loop {
        let event = events.next_event();
        if let Some(seq) = event.split(':').nth(1) {
            events.send(&format!("ACK:{seq}"));
        }
        if event.starts_with("STATUS:") {
            let f: Vec<&str> = event.split(':').collect();
            return (f[3].to_string(), f[4].to_string());
        }
    }
}

#[test]
fn a_member_of_another_server_is_listed_delivered_then_read_and_kill_9_loses_no_receipt() {
    let root = tempfile::tempdir().unwrap();
    let mut labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "10"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob", "cyd"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab@lab1"), "OK");
    let mut cyd = labs[1].server.login_send("cyd", "pw-cyd");
    assert_eq!(cyd.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    assert_eq!(cyd.request("JOIN:#lab@lab1"), "OK");
    members_until(&mut ana, "#lab", 3);

    assert!(ana.request("MSG:#lab:r1:lab at 10?").starts_with("OK:"));
    assert_eq!(
        ana.listing("RECEIPTS:#lab:r1"),
        ["TO:2"],
        "a room with members of another server keeps receipts"
    );
    // bob's device on lab2 has it: lab1 lists him delivered.
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    ack_until(&mut bob_events, "r1");
    let lines = receipts_until(&mut ana, "#lab", "r1", |l| listed(l, "DELIVERED", "bob@lab2"));
    assert_eq!(who(&lines), ["TO:2", "DELIVERED:bob@lab2"]);
    // cyd, who hides her reads, gets it and reads it; then bob reads it.
    // Their frames cross on one link, in the order of their `OK`s: once
    // bob's read is here, cyd's would be too.
    let mut cyd_events = labs[1].server.login_recv("cyd", "pw-cyd");
    ack_until(&mut cyd_events, "r1");
    receipts_until(&mut ana, "#lab", "r1", |l| listed(l, "DELIVERED", "cyd@lab2"));
    assert_eq!(cyd.request("READ:#lab@lab1:r1"), "OK");
    assert_eq!(bob.request("READ:#lab@lab1:r1"), "OK");
    let lines = receipts_until(&mut ana, "#lab", "r1", |l| listed(l, "READ", "bob@lab2"));
    assert_eq!(who(&lines), ["TO:2", "READ:bob@lab2", "DELIVERED:cyd@lab2"], "{lines:?}");
    assert!(listed(&lines, "DELIVERED", "cyd@lab2"), "with the time cyd got it: {lines:?}");

    // A second message, delivered; lab1 is killed before bob reads it,
    // then lab2 right after his READ was answered: the receipt waits on
    // lab2's disk and crosses once both are back.
    assert!(ana.request("MSG:#lab:r2:room 4").starts_with("OK:"));
    ack_until(&mut bob_events, "r2");
    receipts_until(&mut ana, "#lab", "r2", |l| listed(l, "DELIVERED", "bob@lab2"));
    labs[0].server.kill();
    assert_eq!(bob.request("READ:#lab@lab1:r2"), "OK");
    labs[1].server.kill();
    drop((bob_events, cyd_events));
    let roster = root.path().join("class.csv");
    labs[1] = labs[1].restart(&roster, &["--timeout", "10"]);
    labs[0] = labs[0].restart(&roster, &["--timeout", "10"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    let lines = receipts_until(&mut ana, "#lab", "r2", |l| listed(l, "READ", "bob@lab2"));
    assert_eq!(who(&lines), ["TO:2", "READ:bob@lab2"], "cyd's device never got r2: {lines:?}");
    assert!(
        listed(&ana.listing("RECEIPTS:#lab:r1"), "READ", "bob@lab2"),
        "r1's receipts kept across kill -9"
    );
}

/// cyd of lab2 hides her reads: lab1 counts her as one of its own who
/// does (read once delivered, listed as delivered), as lab2's `PRIVATE`
/// receipts say; once she shows them again, her plain receipts say so
/// and ana's message waits for her read.
#[test]
fn a_member_of_another_server_who_hides_her_reads_counts_read_once_delivered() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "10"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob", "cyd"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let mut cyd = labs[1].server.login_send("cyd", "pw-cyd");
    for member in [&mut bob, &mut cyd] {
        assert_eq!(member.request("JOIN:#lab@lab1"), "OK");
    }
    assert_eq!(cyd.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    members_until(&mut ana, "#lab", 3);
    // ana's 1.2 device: a room's STATUS goes to a user who logs in as one.
    let mut ana_events = labs[0].server.events_1_2("ana", Some("web"));
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    let mut cyd_events = labs[1].server.login_recv("cyd", "pw-cyd");
    let status = |id: &str, state: &str| (id.to_string(), state.to_string());

    assert!(ana.request("MSG:#lab:r1:lab at 10?").starts_with("OK:"));
    ack_until(&mut bob_events, "r1");
    ack_until(&mut cyd_events, "r1");
    assert_eq!(next_status(&mut ana_events), status("r1", "DELIVERED"));
    assert_eq!(cyd.request("READ:#lab@lab1:r1"), "OK");
    assert_eq!(bob.request("READ:#lab@lab1:r1"), "OK");
    assert_eq!(next_status(&mut ana_events), status("r1", "READ"), "cyd counts once delivered");
    let lines = receipts_until(&mut ana, "#lab", "r1", |l| listed(l, "READ", "bob@lab2"));
    assert_eq!(who(&lines), ["TO:2", "READ:bob@lab2", "DELIVERED:cyd@lab2"], "her read is not shown");

    // She shows them again: r2 is read only once she reads it.
    assert_eq!(cyd.request("PRIVACY:receipts:on"), "OK:lastseen:on:receipts:on");
    assert!(ana.request("MSG:#lab:r2:room 4").starts_with("OK:"));
    ack_until(&mut bob_events, "r2");
    ack_until(&mut cyd_events, "r2");
    assert_eq!(next_status(&mut ana_events), status("r2", "DELIVERED"));
    assert_eq!(bob.request("READ:#lab@lab1:r2"), "OK");
    receipts_until(&mut ana, "#lab", "r2", |l| listed(l, "READ", "bob@lab2"));
    // Had bob's read made r2 read, its READ would come before r3's DELIVERED.
    assert!(ana.request("MSG:#lab:r3:bring laptops").starts_with("OK:"));
    ack_until(&mut bob_events, "r3");
    ack_until(&mut cyd_events, "r3");
    assert_eq!(next_status(&mut ana_events), status("r3", "DELIVERED"), "r2 waits for cyd's read");
    assert_eq!(cyd.request("READ:#lab@lab1:r2"), "OK");
    assert_eq!(next_status(&mut ana_events), status("r2", "READ"));
    let lines = receipts_until(&mut ana, "#lab", "r2", |l| listed(l, "READ", "cyd@lab2"));
    let mut read = who(&lines);
    read.sort();
    assert_eq!(read, ["READ:bob@lab2", "READ:cyd@lab2", "TO:2"]);
}

/// ana's console on lab1, in lab2's room with bob and cyd (who hides
/// her reads): ✓✓ once both have it, read once bob reads it, and
/// `/info 1` names them by their addresses.
#[test]
fn the_console_s_info_in_a_room_of_another_server_names_its_readers() {
    use support::console::Console;
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "10"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob", "cyd"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut cyd = labs[1].server.login_send("cyd", "pw-cyd");
    assert_eq!(cyd.request("PRIVACY:receipts:off"), "OK:lastseen:on:receipts:off");
    assert_eq!(cyd.request("JOIN:#lab"), "OK");
    let dir = root.path().join("ana-console");
    let mut lab = Console::connected(&labs[0].server, "ana", &dir, &["--device", "lab"]);
    lab.type_line("/join #lab@lab2");
    lab.type_line("/chat #lab@lab2");
    // The console's JOIN crosses to lab2; its answer comes back on it.
    let mut ana = labs[0].server.login_send("ana@raw", "pw-ana");
    let deadline = Instant::now() + support::READ_TIMEOUT;
    loop {
        let head = ana.request("MEMBERS:#lab@lab2");
        let n = head.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = n {
            (0..n).for_each(|_| drop(ana.line()));
            if n == 3 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "ana's console never joined #lab@lab2: {head}");
        std::thread::sleep(Duration::from_millis(50)); // polling the other server's word
    }
    lab.type_line("lab at 10?");
    lab.expect("you: lab at 10?");

    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    let mut cyd_events = labs[1].server.login_recv("cyd", "pw-cyd");
    let msg = bob_events.next_msg();
    bob_events.send(&format!("ACK:{}", msg.split(':').nth(1).unwrap()));
    let id = msg.split(':').nth(4).unwrap().to_string();
    ack_until(&mut cyd_events, &id);
    lab.expect("✓✓  (to #lab@lab2: lab at 10?)");
    assert_eq!(bob.request(&format!("READ:#lab:{id}")), "OK");
    lab.expect("✓✓ read  (to #lab@lab2: lab at 10?)");
    lab.type_line("/info 1");
    lab.expect("[1] message info (2 other members):");
    lab.expect("Read by:");
    lab.expect("  bob@lab2  ");
    lab.expect("Delivered to:");
    lab.expect("  cyd@lab2  ");
    let (status, _) = lab.quit("/quit");
    assert!(status.success());
}

#[test]
fn info_in_a_room_of_three_servers_lists_the_members_of_the_other_two() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2", "lab3"], &["--timeout", "10"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    labs[2].server.register(&["cyd"]);
    // The room is lab2's; ana of lab1 and cyd of lab3 join it.
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab@lab2"), "OK");
    let mut cyd = labs[2].server.login_send("cyd", "pw-cyd");
    assert_eq!(cyd.request("JOIN:#lab@lab2"), "OK");
    members_until(&mut ana, "#lab@lab2", 3);
    members_until(&mut cyd, "#lab@lab2", 3);

    // ana's message goes to the home, which orders it and relays it.
    assert!(ana.request("MSG:#lab@lab2:q1:quiz on friday").starts_with("OK:"));
    let mut bob_events = labs[1].server.login_recv("bob", "pw-bob");
    ack_until(&mut bob_events, "q1");
    let mut cyd_events = labs[2].server.login_recv("cyd", "pw-cyd");
    ack_until(&mut cyd_events, "q1");
    let lines = receipts_until(&mut ana, "#lab@lab2", "q1", |l| {
        listed(l, "DELIVERED", "bob@lab2") && listed(l, "DELIVERED", "cyd@lab3")
    });
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "TO:2");
    assert_eq!(bob.request("READ:#lab:q1"), "OK");
    assert_eq!(cyd.request("READ:#lab@lab2:q1"), "OK");
    let lines = receipts_until(&mut ana, "#lab@lab2", "q1", |l| {
        listed(l, "READ", "bob@lab2") && listed(l, "READ", "cyd@lab3")
    });
    assert_eq!(lines.len(), 3, "{lines:?}");
    // Only its sender sees who has it, on every server.
    assert_eq!(bob.request("RECEIPTS:#lab:q1"), "KO:FORBIDDEN:only its sender sees who has a message");
}

#[test]
fn a_peer_reports_only_its_own_members_and_only_messages_of_their_rooms() {
    let root = tempfile::tempdir().unwrap();
    let (lab9, lab1, _) = lab9_beside_lab1(root.path(), &["lab2"], &[]);
    lab1.server.register(&["ana", "bob"]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    let mut bob = lab1.server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#club"), "OK");
    let (link, mut r, ok) = lab9.hello(lab1.link, "00000000000000000000000000000009");
    assert_eq!(ok, "OK:0");
    let mut n = 0;
    let mut ask = |frame: &str| {
        n += 1;
        ask(&link, &mut r, &frame.replace("<n>", &n.to_string()))
    };
    assert_eq!(ask("JOIN:<n>:zoe@lab9:#lab@lab1"), "ACK:1");
    assert!(ana.request("MSG:#lab:r1:lab at 10?").starts_with("OK:"));
    assert!(bob.request("MSG:#club:c1:club at noon").starts_with("OK:"));
    assert_eq!(
        ask("RECEIPT:<n>:eve@lab2:#lab@lab1:ana@lab1:r1:READ:1795500000100"),
        "KO:2:FORBIDDEN:lab9 speaks only for its own users, not eve@lab2"
    );
    assert_eq!(
        ask("RECEIPT:<n>:zed@lab9:#lab@lab1:ana@lab1:r1:READ:1795500000100"),
        "KO:3:NOT_MEMBER:zed@lab9 is not in #lab@lab1"
    );
    assert_eq!(
        ask("RECEIPT:<n>:zoe@lab9:#club@lab1:bob@lab1:c1:READ:1795500000100"),
        "KO:4:NOT_MEMBER:zoe@lab9 is not in #club@lab1",
        "a room zoe is not in"
    );
    assert_eq!(
        ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:bob@lab1:c1:READ:1795500000100"),
        "KO:5:UNKNOWN_MESSAGE:#lab@lab1 has no message c1 of bob@lab1",
        "a message of another room"
    );
    assert_eq!(ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:ana@lab1:r1:DELIVERED:1795500000100"), "ACK:6");
    let lines = receipts_until(&mut ana, "#lab", "r1", |l| listed(l, "DELIVERED", "zoe@lab9"));
    assert_eq!(who(&lines), ["TO:1", "DELIVERED:zoe@lab9"]);
    assert_eq!(ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:ana@lab1:r1:READ:1795500000200"), "ACK:7");
    assert_eq!(who(&ana.listing("RECEIPTS:#lab:r1")), ["TO:1", "READ:zoe@lab9"]);
    // Taken once: the same frame again is answered and changes nothing.
    assert_eq!(
        ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:ana@lab1:r1:DELIVERED:1795500000300"),
        "ACK:8",
        "a mark already past it"
    );
    assert_eq!(who(&ana.listing("RECEIPTS:#lab:r1")), ["TO:1", "READ:zoe@lab9"]);
    // zoe hides her reads: what she got counts as read, listed as delivered.
    let mut ana_events = lab1.server.events_1_2("ana", Some("web"));
    assert!(ana.request("MSG:#lab:r2:room 4").starts_with("OK:"));
    assert_eq!(ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:ana@lab1:r2:PRIVATE:1795500000600"), "ACK:9");
    assert_eq!(next_status(&mut ana_events), ("r2".to_string(), "READ".to_string()));
    assert_eq!(who(&ana.listing("RECEIPTS:#lab:r2")), ["TO:1", "DELIVERED:zoe@lab9"]);
    assert_eq!(
        ask("RECEIPT:<n>:zoe@lab9:#lab@lab1:ana@lab1:r2:SEEN:1795500000700"),
        "KO:10:BAD_REQUEST:a RECEIPT's state is DELIVERED, READ or PRIVATE, not \"SEEN\"",
    );
}

/// ana's browser on lab1, in a room of hers with bob of lab2: Info on
/// her message lists bob, by his address, delivered, then read.
#[test]
fn the_browser_s_info_on_a_room_message_lists_a_reader_of_another_server() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = lab1_with_the_browser_app_and_lab2(root.path());
    lab1.server.register(&["ana"]);
    lab2.server.register(&["bob"]);
    let mut ana_raw = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(ana_raw.request("JOIN:#lab"), "OK");
    let mut bob = lab2.server.login_send("bob", "pw-bob");
    assert_eq!(bob.request("JOIN:#lab@lab1"), "OK");
    members_until(&mut ana_raw, "#lab", 2);

    let ana = logged_in(&app_url(&lab1.server), "ana", 1000, 800);
    open_chat(&ana, "#lab");
    ana.type_into("#input", &format!("lab at 10?{ENTER}"));
    let id = ana.wait_for("document.querySelector('#messages .msg.mine')?.dataset.id");
    let id = id.as_str().unwrap().to_string();
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    ack_until(&mut bob_events, &id);
    receipts_until(&mut ana_raw, "#lab", &id, |l| listed(l, "DELIVERED", "bob@lab2"));

    // Info, in the menu of her own message: sent to 1, delivered to bob.
    ana.click(&format!("#messages .msg.mine[data-id='{id}'] .more"));
    ana.click("#messages .menu button[data-act='info']");
    ana.wait_for("!document.getElementById('info-panel').hidden && document.getElementById('info-to').textContent === 'Sent to 1 member'");
    let who = |list: &str| {
        ana.exec(
            "return [...document.querySelectorAll(`#${arguments[0]} .who`)].map((e) => e.textContent)",
            json!([list]),
        )
    };
    ana.wait_for("document.querySelectorAll('#info-delivered .who').length === 1");
    assert_eq!(who("info-delivered"), json!(["bob@lab2"]), "bob, by his address");
    // bob reads it on lab2: the open Info moves him to "Read by".
    assert_eq!(bob.request(&format!("READ:#lab@lab1:{id}")), "OK");
    ana.wait_for("document.querySelectorAll('#info-read .who').length === 1");
    assert_eq!(who("info-read"), json!(["bob@lab2"]));
    assert_eq!(
        ana.exec("return document.querySelectorAll('#info-delivered .who').length", json!([])),
        json!(0)
    );
}
