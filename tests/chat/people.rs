//! `PEOPLE:<start of a name>` (protocol 1.2, docs/PROTOCOL.md §26) on a
//! real server: the people whose names start so, ignoring case, among the
//! members of the asker's rooms (whom `MEMBERS` shows it), each online or
//! last seen as `MEMBERS` says (`UNKNOWN` for one who blocked the asker),
//! at most 20, for 5 `--rate` tokens; and the consoles' `/people`.

use super::support;

use support::TestServer;

/// `PEOPLE:<start>`'s lines, without the presence.
fn names(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| l.split(':').next().unwrap()).collect()
}

#[test]
fn people_are_found_by_the_start_of_their_name_among_the_members_of_my_rooms() {
    let server = TestServer::start();
    server.register(&["ana", "bob", "Bobby", "boris", "dan"]);
    let mut ana = server.login_send("ana", "pw-ana");
    let _bob_online = server.login_recv("bob", "pw-bob");

    // Ignoring case, sorted ignoring case, each as MEMBERS shows them; never the asker.
    let found = ana.listing("PEOPLE:BO");
    assert_eq!(names(&found), ["bob", "Bobby", "boris"]);
    assert_eq!(found[0], "bob:ONLINE");
    assert_eq!(found[1], "Bobby:UNKNOWN", "never online");
    assert!(ana.listing("PEOPLE:an").is_empty(), "the asker is left out");

    // Who shares no room with ana is not found; a room in common finds him.
    let mut dan = server.login_send("dan", "pw-dan");
    assert_eq!(dan.request("LEAVE:#general"), "OK");
    assert!(ana.listing("PEOPLE:d").is_empty());
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(dan.request("JOIN:#lab"), "OK");
    assert_eq!(names(&ana.listing("PEOPLE:d")), ["dan"]);
    // …as MEMBERS of that room shows him, and no more.
    assert_eq!(ana.listing("PEOPLE:dan"), ana.listing("MEMBERS:#lab")[1..]);

    // Someone who blocked ana is found, his presence hidden, as MEMBERS hides it.
    let _bobby_online = server.login_recv("Bobby", "pw-Bobby");
    assert!(ana.listing("PEOPLE:bobb")[0] == "Bobby:ONLINE");
    let mut bobby = server.login_send("Bobby", "pw-Bobby");
    assert_eq!(bobby.request("BLOCK:ana"), "OK");
    assert_eq!(ana.listing("PEOPLE:bobb"), ["Bobby:UNKNOWN"]);
    assert!(ana.listing("MEMBERS:#general").contains(&"Bobby:UNKNOWN".to_string()));

    // What is not the start of a name is refused, saying why; the connection goes on.
    assert_eq!(
        ana.request("PEOPLE:"),
        "KO:BAD_REQUEST:bad start of a name: a name has 1 to 32 characters: \"\""
    );
    assert!(ana.request("PEOPLE:#lab").starts_with("KO:BAD_REQUEST:bad start of a name: '#' is not allowed"));
    assert!(ana.request("PEOPLE").starts_with("KO:BAD_REQUEST:expected PEOPLE:<the start of a user name>"));
    assert_eq!(names(&ana.listing("PEOPLE:bob")), ["bob", "Bobby"]);
}

#[test]
fn an_answer_holds_at_most_twenty_people_and_costs_five_tokens() {
    let server = TestServer::start_with(&["--rate", "0.001", "--rate-burst", "10"]);
    let many: Vec<String> = (0..30).map(|i| format!("zed{i:02}")).collect();
    server.register(&many.iter().map(String::as_str).chain(["ana"]).collect::<Vec<_>>());
    let mut ana = server.login_send("ana", "pw-ana");
    let found = ana.listing("PEOPLE:zed");
    let first: Vec<String> = many[..20].to_vec();
    assert_eq!(names(&found), first, "the first 20, in order");
    assert_eq!(ana.listing("PEOPLE:zed2").len(), 10);
    // 10 tokens: two PEOPLE took them all, so that not even a JOIN (1) is left.
    assert!(ana.request("JOIN:#after").starts_with("KO:RATE_LIMITED:"));
}

#[test]
fn the_console_finds_people_with_slash_people() {
    use support::console::Console;
    let server = TestServer::start();
    server.register(&["ana", "bob", "Bobby", "carla"]);
    let _bob_online = server.login_recv("bob", "pw-bob");
    let tmp = tempfile::tempdir().unwrap();
    let mut ana = Console::start(&server, "ana", tmp.path(), &[]);
    ana.expect("connected to");
    ana.type_line("/people bo");
    ana.expect("people named bo… (2):");
    ana.expect("  bob: online");
    ana.expect("  Bobby: ");
    ana.type_line("/people zed");
    ana.expect("nobody named zed… shares a room with you: /chat <their full name> opens a chat anyway");
    ana.type_line("/people");
    ana.expect("usage: /people <start of a name>");
    let (status, _) = ana.quit("/quit");
    assert!(status.success());
}
