//! Finding people of another server (protocol 1.3, docs/PROTOCOL.md §26
//! and §27): `PEOPLE:<start>@<server>` asks that server over the link,
//! and is answered as `PEOPLE` is, each person by its address; a server
//! started with `--people-across off` refuses, an unreachable one is said
//! so in words; each user's searches of other servers are bounded.

use super::support;

use std::path::Path;

use support::TestServer;
use support::federation::{Lab, lab1_with_the_browser_app_and_lab2, start, write_roster};
use support::ports::free_port;

/// lab1, lab2, lab3 (`--people-across off`), and lab4, in the roster but
/// never started.
fn four_labs(root: &Path) -> (Lab, Lab, Lab) {
    let roster = root.join("class.csv");
    let servers =
        [("lab1", free_port()), ("lab2", free_port()), ("lab3", free_port()), ("lab4", free_port())];
    write_roster(&roster, &servers, "");
    let dir = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    // A --timeout of 10 s: a test's receive connection reads nothing
    // while it uploads a photo, which on a busy machine takes seconds.
    let lab1 = start("lab1", &dir("lab1"), &roster, servers[0].1, &["--timeout", "10"]);
    let lab2 = start("lab2", &dir("lab2"), &roster, servers[1].1, &["--timeout", "10"]);
    let lab3 = start("lab3", &dir("lab3"), &roster, servers[2].1, &["--people-across", "off"]);
    (lab1, lab2, lab3)
}

/// The user of a `PEOPLE` line, and whether its presence is one of the
/// three a listing says.
fn user_of(line: &str) -> &str {
    let (user, presence) = line.split_once(':').unwrap_or_else(|| panic!("not a PEOPLE line: {line}"));
    assert!(
        presence == "ONLINE" || presence == "UNKNOWN" || presence.parse::<u64>().is_ok(),
        "a presence: {line}"
    );
    user
}

#[test]
fn people_of_another_server_are_found_refused_or_said_unreachable() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2, lab3) = four_labs(root.path());
    lab2.server.register(&["bob", "dora"]);
    lab3.server.register(&["bea"]);
    let _bob_online = lab2.server.login_recv("bob", "pw-bob");
    let [mut carl, mut bobby] = lab2.server.logged_in(["carl", "Bobby"]);
    assert_eq!(carl.request("LEAVE:#general"), "OK");
    let [mut ana] = lab1.server.logged_in(["ana"]);

    // Found: lab2's users whose names begin so, by their addresses,
    // sorted ignoring case, each online or last seen.
    let found = ana.listing("PEOPLE:bo@lab2");
    assert_eq!(found[0], "bob@lab2:ONLINE", "{found:?}");
    assert_eq!(found.iter().map(|l| user_of(l)).collect::<Vec<_>>(), ["bob@lab2", "Bobby@lab2"]);
    assert_eq!(ana.listing("PEOPLE:BO@lab2").len(), 2, "the start is read ignoring case");
    // Not found: nobody by that start, and carl, who left #general and
    // shares no room of lab2 with ana.
    assert!(ana.listing("PEOPLE:zed@lab2").is_empty());
    assert!(ana.listing("PEOPLE:ca@lab2").is_empty());
    // A user who blocked lab1 is listed, its presence unknown to lab1.
    assert_eq!(bobby.request("BLOCK:@lab1"), "OK");
    assert_eq!(ana.listing("PEOPLE:bo@lab2")[1], "Bobby@lab2:UNKNOWN");

    // lab3 lists its people to no other server; lab4 cannot be reached;
    // lab7 is not in the roster.
    let refused = ana.request("PEOPLE:be@lab3");
    assert_eq!(refused, "KO:FORBIDDEN:lab3 does not list its people to other servers (--people-across off)");
    let unreachable = ana.request("PEOPLE:be@lab4");
    assert!(unreachable.starts_with("KO:OFFLINE:lab4 cannot be reached now: "), "{unreachable}");
    assert_eq!(ana.request("PEOPLE:be@lab7"), "KO:UNKNOWN_SERVER:no server named lab7 in the roster");
    // This server's own name is a search here.
    lab1.server.register(&["andy"]);
    assert_eq!(ana.listing("PEOPLE:an@lab1").iter().map(|l| user_of(l)).collect::<Vec<_>>(), ["andy"]);

    // Replies leave in the order of the requests: a search that waits
    // for lab2 and a refusal at once, pipelined.
    ana.send("PEOPLE:do@lab2");
    ana.send("PEOPLE:be@lab7");
    ana.send("PING");
    assert_eq!(ana.line(), "OK:1");
    assert_eq!(user_of(&ana.line()), "dora@lab2");
    assert!(ana.line().starts_with("KO:UNKNOWN_SERVER:"));
    assert_eq!(ana.line(), "OK", "PING's");
}

#[test]
fn a_user_searches_other_servers_at_most_30_times_a_minute() {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2, _lab3) = four_labs(root.path());
    lab2.server.register(&["bob"]);
    let [mut ana, mut cleo] = lab1.server.logged_in(["ana", "cleo"]);
    let mut refused_by_lab1 = 0;
    for i in 0..31 {
        let answer = ana.request("PEOPLE:bob@lab2");
        if answer.starts_with("KO:RATE_LIMITED:at most 30 searches of other servers' people a minute") {
            refused_by_lab1 += 1;
            assert_eq!(i, 30, "the 31st is refused, not the {}th", i + 1);
        } else {
            // lab2 may refuse past its own bound for lab1 (10 a second).
            assert!(
                answer == "OK:1" || answer.starts_with("KO:RATE_LIMITED:lab1 asked for people"),
                "{answer}"
            );
            if answer == "OK:1" {
                assert_eq!(user_of(&ana.line()), "bob@lab2");
            }
        }
    }
    assert_eq!(refused_by_lab1, 1);
    // Another user's searches are counted apart (once lab2's second for
    // lab1 is over).
    let mut answer = cleo.request("PEOPLE:bob@lab2");
    for _ in 0..50 {
        if !answer.starts_with("KO:RATE_LIMITED:lab1 asked for people") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100)); // polling: lab2's window ends within a second
        answer = cleo.request("PEOPLE:bob@lab2");
    }
    assert_eq!(answer, "OK:1");
    assert_eq!(user_of(&cleo.line()), "bob@lab2");
}

/// A search across opens lab1's link to lab2 for its one frame; a
/// message to lab2 written while that link is up must wake its dialer at
/// once. A wake missed costs the link's idle wait, half the `--timeout`
/// (5 s with the default 10): the bound below, well under it, is what is
/// tested, not a speed.
#[test]
fn a_message_written_after_a_search_across_leaves_at_once() {
    let root = tempfile::tempdir().unwrap();
    let roster = root.path().join("class.csv");
    let servers = [("lab1", free_port()), ("lab2", free_port())];
    write_roster(&roster, &servers, "");
    let (dir1, dir2) = (root.path().join("lab1"), root.path().join("lab2"));
    std::fs::create_dir_all(&dir1).unwrap();
    std::fs::create_dir_all(&dir2).unwrap();
    let lab1 = start("lab1", &dir1, &roster, servers[0].1, &["--timeout", "10"]);
    let lab2 = start("lab2", &dir2, &roster, servers[1].1, &["--timeout", "10"]);
    lab2.server.register(&["bob"]);
    let mut bob = lab2.server.login_recv("bob", "pw-bob");
    let [mut ana] = lab1.server.logged_in(["ana"]);

    let found = ana.listing("PEOPLE:bob@lab2");
    assert_eq!(found.iter().map(|l| user_of(l)).collect::<Vec<_>>(), ["bob@lab2"]);
    let sent = std::time::Instant::now();
    assert!(ana.request("MSG:bob@lab2:m1:hi bob").starts_with("OK:m1:"));
    let got = bob.next_msg();
    let took = sent.elapsed();
    assert_eq!(support::without_ts(&got), "MSG:1:ana@lab1:bob:m1:<ts>:hi bob");
    assert!(
        took < std::time::Duration::from_millis(2500),
        "delivered {took:?} after it was sent: the dialer, linked for the search, was not woken"
    );
}

#[test]
fn a_server_in_no_network_answers_an_address_as_before() {
    let server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    assert_eq!(
        ana.request("PEOPLE:bo@lab2"),
        "KO:BAD_REQUEST:bad start of a name: '@' is not allowed in a name (only A-Z a-z 0-9 _ . -)"
    );
}

/// The next event that is no message nor status (those acknowledged on
/// the way).
fn next_told(events: &mut support::Conn) -> String {
    loop {
        let event = events.next_event();
        if !event.starts_with("MSG:") && !event.starts_with("STATUS:") {
            return event;
        }
        events.send(&format!("ACK:{}", event.split(':').nth(1).unwrap()));
    }
}

/// `PHOTOOF:<user>`'s JPEG on `conn`.
fn jpeg_of(conn: &mut support::Conn, user: &str) -> Vec<u8> {
    use base64::Engine as _;
    let reply = conn.request(&format!("PHOTOOF:{user}"));
    let b64 = reply.strip_prefix("OK:").unwrap_or_else(|| panic!("PHOTOOF:{user}: {reply}"));
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

/// `conn`'s `PROFILE:<user>` once it is `want` (the profile crosses the
/// link while the test reads on).
fn profile_becomes(conn: &mut support::Conn, user: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = conn.request(&format!("PROFILE:{user}"));
        if got == want {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "PROFILE:{user} is {got}, not {want}");
        std::thread::sleep(std::time::Duration::from_millis(50)); // polling the other server's link
    }
}

#[test]
fn a_remote_users_name_and_photo_reach_who_shares_a_chat_with_it_after_a_restart_too() {
    let root = tempfile::tempdir().unwrap();
    let (mut lab1, lab2, _lab3) = four_labs(root.path());
    let [mut ana, mut dan] = lab1.server.logged_in(["ana", "dan"]);
    let [mut bob, mut carl] = lab2.server.logged_in(["bob", "carl"]);
    // carl set his name before anyone of lab1 wrote to him.
    assert_eq!(carl.request("NAME:Carl ✏"), "OK");
    // ana and bob share a chat; dan shares none with anyone of lab2.
    assert!(ana.request("MSG:bob@lab2:a1:hi bob").starts_with("OK:a1:"));
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    let got = bob_events.next_msg();
    bob_events.send(&format!("ACK:{}", got.split(':').nth(1).unwrap()));
    let mut ana_events = lab1.server.events_1_2("ana", None);
    let mut dan_events = lab1.server.events_1_2("dan", None);

    // A name: ana's devices are told, lab1 answers for bob@lab2.
    assert_eq!(bob.request("NAME:Bob Builder: TA 🎓"), "OK");
    assert_eq!(next_told(&mut ana_events), "PROFILE:bob@lab2::Bob Builder: TA 🎓");
    assert_eq!(ana.request("PROFILE:bob@lab2"), "OK:bob@lab2::Bob Builder: TA 🎓");
    assert!(ana.listing("PROFILES").contains(&"bob@lab2::Bob Builder: TA 🎓".to_string()));
    // A photo: the same JPEG lab2 made, its tag in the event.
    let file = support::files::upload(&mut bob, "me.png", &support::files::photo(300, 200));
    let tag = bob.request(&format!("PHOTO:{file}"));
    let tag = tag.strip_prefix("OK:").unwrap_or_else(|| panic!("PHOTO: {tag}")).to_string();
    assert_eq!(next_told(&mut ana_events), format!("PROFILE:bob@lab2:{tag}:Bob Builder: TA 🎓"));
    let made = jpeg_of(&mut bob, "bob");
    assert_eq!(jpeg_of(&mut ana, "bob@lab2"), made);
    assert_eq!(ana.request("PROFILE:bob@lab2"), format!("OK:bob@lab2:{tag}:Bob Builder: TA 🎓"));

    // carl's profile, set before the chat, comes with ana's first message.
    assert_eq!(ana.request("PROFILE:carl@lab2"), "KO:UNKNOWN_USER:no user named carl@lab2");
    assert!(ana.request("MSG:carl@lab2:a2:hi carl").starts_with("OK:a2:"));
    profile_becomes(&mut ana, "carl@lab2", "OK:carl@lab2::Carl ✏");
    assert_eq!(next_told(&mut ana_events), "PROFILE:carl@lab2::Carl ✏");

    // Removed: told alike, and the photo is gone.
    assert_eq!(bob.request("PHOTO:"), "OK");
    assert_eq!(next_told(&mut ana_events), "PROFILE:bob@lab2::Bob Builder: TA 🎓");
    assert_eq!(ana.request("PHOTOOF:bob@lab2"), "KO:UNKNOWN_FILE:bob@lab2 has no photo");
    // dan was told nothing of lab2's users.
    assert_eq!(dan.request("PING"), "OK");
    assert!(dan_events.line_within(std::time::Duration::from_millis(300)).is_none());

    // A new photo, then lab1 killed and started again: kept.
    let file = support::files::upload(&mut bob, "me2.png", &support::files::photo(200, 300));
    let tag = bob.request(&format!("PHOTO:{file}")).strip_prefix("OK:").unwrap().to_string();
    assert_eq!(next_told(&mut ana_events), format!("PROFILE:bob@lab2:{tag}:Bob Builder: TA 🎓"));
    drop((ana, dan, ana_events, dan_events));
    let roster = root.path().join("class.csv");
    let port = lab1.link.port().to_string();
    lab1.server.restart(&[
        "--name",
        "lab1",
        "--peers",
        roster.to_str().unwrap(),
        "--link-port",
        &port,
        "--timeout",
        "10",
    ]);
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(ana.request("PROFILE:bob@lab2"), format!("OK:bob@lab2:{tag}:Bob Builder: TA 🎓"));
    assert_eq!(jpeg_of(&mut ana, "bob@lab2"), jpeg_of(&mut bob, "bob"));
    // lab2's own name for its user is its user.
    assert_eq!(bob.request("PROFILE:bob@lab2"), format!("OK:bob:{tag}:Bob Builder: TA 🎓"));
}

#[test]
fn new_chat_finds_a_user_of_another_server_and_shows_his_name_on_a_phone() {
    new_chat_finds_a_user_of_another_server((390, 844));
}

#[test]
fn new_chat_finds_a_user_of_another_server_and_shows_his_name_on_a_laptop() {
    new_chat_finds_a_user_of_another_server((1280, 800));
}

/// ana, in lab1's browser app of `width` × `height`, types `bo@lab2` in
/// "New chat": lab2's bob and Bobby are listed; a tap opens bob's chat;
/// her first message brings his display name, shown in the header and
/// the list, and in "New chat" after. lab3's refusal is said in words.
fn new_chat_finds_a_user_of_another_server((width, height): (u32, u32)) {
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2) = lab1_with_the_browser_app_and_lab2(root.path());
    lab1.server.register(&["ana"]);
    let [mut bob, _bobby, mut carl] = lab2.server.logged_in(["bob", "Bobby", "carl"]);
    assert_eq!(bob.request("NAME:Bob Builder"), "OK");
    assert_eq!(carl.request("LEAVE:#general"), "OK");

    let url = support::webapp::app_url(&lab1.server);
    let ana = support::webapp::logged_in(&url, "ana", width, height);
    ana.type_into("#new-chat-name", "bo@lab2");
    let names = "[...document.querySelectorAll('#people button')].map(b => b.querySelector('.chat-name').textContent).join(',')";
    ana.wait_for(&format!("{names} === 'bob@lab2,Bobby@lab2'"));
    // Nobody of lab2 by that start: said so, naming lab2.
    let clear = || ana.exec("document.getElementById('new-chat-name').value = ''", serde_json::json!([]));
    clear();
    ana.type_into("#new-chat-name", "box@lab2");
    ana.wait_for("document.querySelector('#people .note')?.textContent === 'lab2 lists nobody called box…'");
    clear();
    ana.type_into("#new-chat-name", "ca@lab2");
    ana.wait_for("document.querySelector('#people .note')?.textContent === 'lab2 lists nobody called ca…'");
    clear();
    ana.type_into("#new-chat-name", "bob@lab2");
    ana.wait_for(&format!("{names} === 'bob@lab2,Bobby@lab2'"));
    ana.click("#people button");
    ana.wait_for("document.getElementById('chat-title').textContent === 'bob@lab2' && !document.getElementById('people')");

    // Her first message, written while the link the search opened is
    // up, leaves at once (a dialer not woken for it would hold it for the
    // link's idle wait, 30 s here: the bound is well under that, not a
    // speed); lab2 tells bob's profile back, and it is drawn.
    let mut bob_events = lab2.server.login_recv("bob", "pw-bob");
    ana.type_into("#input", &format!("hi bob{}", support::webapp::ENTER));
    let sent = std::time::Instant::now(); // Enter pressed: the typing is not counted
    let got = bob_events.next_msg();
    let took = sent.elapsed();
    assert!(got.ends_with(":hi bob"), "{got}");
    assert!(
        took < std::time::Duration::from_millis(2500),
        "delivered {took:?} after Enter: the dialer was not woken"
    );
    bob_events.send(&format!("ACK:{}", got.split(':').nth(1).unwrap()));
    ana.wait_for("document.querySelector('#messages .tick[data-state=\"DELIVERED\"]')");
    ana.wait_for("document.getElementById('chat-title').textContent === 'Bob Builder (bob@lab2)'");
    ana.wait_for("document.querySelector('#chat-list [data-chat=\"bob@lab2\"] .chat-name')?.textContent === 'Bob Builder (bob@lab2)'");
    if width <= 480 {
        ana.click("#back");
    }
    ana.type_into("#new-chat-name", "bob@lab2");
    ana.wait_for(&format!("{names} === 'Bob Builder (bob@lab2),Bobby@lab2'"));
}

#[test]
fn the_console_finds_people_of_another_server_and_shows_their_profiles() {
    use support::console::Console;
    let root = tempfile::tempdir().unwrap();
    let (lab1, lab2, _lab3) = four_labs(root.path());
    lab1.server.register(&["ana"]);
    let [mut bob] = lab2.server.logged_in(["bob"]);
    assert_eq!(bob.request("NAME:Bob Builder"), "OK");
    let mut ana = Console::connected(&lab1.server, "ana", &root.path().join("ana-console"), &[]);
    ana.type_line("/people bo@lab2");
    ana.expect("people named bo@lab2… (1):");
    ana.expect("bob@lab2");
    ana.type_line("/people zed@lab2");
    ana.expect("nobody of lab2 named zed… is listed to you");
    ana.type_line("/people be@lab3");
    ana.expect("lab3 does not list its people to other servers");
    // bob's profile, once ana wrote to him.
    ana.type_line("/msg bob@lab2 hi bob");
    let mut ana_raw = lab1.server.login_send("ana", "pw-ana");
    profile_becomes(&mut ana_raw, "bob@lab2", "OK:bob@lab2::Bob Builder");
    ana.type_line("/profile bob@lab2");
    ana.expect("Bob Builder");
    let _ = ana.quit("/quit");
}

/// `conn`'s `PROFILE:<user>` once it ends with `name`, for 20 s (a
/// profile rides with its user's presence, a batch a second); the last answer.
fn name_of(conn: &mut support::Conn, user: &str, name: &str) -> String {
    support::addresses::until(
        || conn.request(&format!("PROFILE:{user}")),
        |got| got.ends_with(&format!(":{name}")),
    )
}

/// A name changed while the other server was down, past the time a told
/// profile waits for its link, reaches it when it is back, though nothing
/// else waits for it here: its link to us (its hello) has us tell our
/// users' presence and profiles again, and so link to it. A direct chat
/// only: no room frame of the peer's brings that about.
#[test]
fn a_name_changed_while_the_other_server_was_down_reaches_it_when_it_links_back() {
    let root = tempfile::tempdir().unwrap();
    let mut labs = support::federation::network(root.path(), &["lab1", "lab2"], &["--timeout", "3"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert_eq!(ana.request("NAME:Ana Lima"), "OK");
    assert!(ana.request("MSG:bob@lab2:a1:hi bob").starts_with("OK:"));
    assert!(bob.request("MSG:ana@lab1:b1:hi ana").starts_with("OK:"));
    name_of(&mut bob, "ana@lab1", "Ana Lima");
    labs[1].server.kill();
    assert_eq!(ana.request("NAME:Ana the TA"), "OK");
    std::thread::sleep(std::time::Duration::from_secs(7)); // past the 6 s a told profile waits for its link
    labs[1] = labs[1].restart(&root.path().join("class.csv"), &["--timeout", "3"]);
    // bob writes again: lab2 links to lab1 to carry it.
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert!(bob.request("MSG:ana@lab1:b2:are you there?").starts_with("OK:"));
    assert!(
        name_of(&mut bob, "ana@lab1", "Ana the TA").ends_with(":Ana the TA"),
        "told when lab2 linked back"
    );
}

#[test]
fn names_set_before_any_chat_reach_every_server_whoever_wrote_first_and_after_a_kill() {
    let root = tempfile::tempdir().unwrap();
    let mut labs = support::federation::network(root.path(), &["lab1", "lab2", "lab3"], &["--timeout", "3"]);
    labs[0].server.register(&["ana"]);
    labs[1].server.register(&["bob"]);
    labs[2].server.register(&["cyd"]);
    let mut ana = labs[0].server.login_send("ana", "pw-ana");
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    let mut cyd = labs[2].server.login_send("cyd", "pw-cyd");
    // Names first, as a student sets hers in the browser on the first day.
    for (conn, name) in [(&mut ana, "Ana Lima"), (&mut bob, "Bob Builder"), (&mut cyd, "Cyd Chen")] {
        assert_eq!(conn.request(&format!("NAME:{name}")), "OK");
    }
    // bob writes first: his name reaches lab1 with his message, ana's lab2.
    assert!(bob.request("MSG:ana@lab1:b1:hi ana").starts_with("OK:"));
    assert!(name_of(&mut ana, "bob@lab2", "Bob Builder").ends_with(":Bob Builder"));
    assert!(name_of(&mut bob, "ana@lab1", "Ana Lima").ends_with(":Ana Lima"));
    // A room of lab2 shared with cyd of lab3, no direct message between them.
    assert_eq!(bob.request("JOIN:#lab"), "OK");
    assert_eq!(cyd.request("JOIN:#lab@lab2"), "OK");
    assert!(cyd.request("MSG:#lab@lab2:c1:hello room").starts_with("OK:"));
    assert!(name_of(&mut bob, "cyd@lab3", "Cyd Chen").ends_with(":Cyd Chen"), "lab2 learns cyd's name");
    assert!(name_of(&mut cyd, "bob@lab2", "Bob Builder").ends_with(":Bob Builder"), "lab3 learns bob's");

    // cyd renames herself while lab2 is down, longer than a profile waits
    // for a link (twice the timeout): lab2, back, is told it at its hello.
    labs[1].server.kill();
    assert_eq!(cyd.request("NAME:Cyd the TA"), "OK");
    std::thread::sleep(std::time::Duration::from_secs(7)); // past the 6 s a told profile waits for its link
    labs[1] = labs[1].restart(&root.path().join("class.csv"), &["--timeout", "3"]);
    let mut bob = labs[1].server.login_send("bob", "pw-bob");
    assert!(
        name_of(&mut bob, "cyd@lab3", "Cyd the TA").ends_with(":Cyd the TA"),
        "told again after the kill"
    );
}
