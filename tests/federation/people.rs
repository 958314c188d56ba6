//! Finding people of another server (protocol 1.3, docs/PROTOCOL.md §26
//! and §27): `PEOPLE:<start>@<server>` asks that server over the link,
//! and is answered as `PEOPLE` is, each person by its address; a server
//! started with `--people-across off` refuses, an unreachable one is said
//! so in words; each user's searches of other servers are bounded.

use super::support;

use std::path::Path;

use support::TestServer;
use support::federation::{Lab, start, write_roster};
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
    let lab1 = start("lab1", &dir("lab1"), &roster, servers[0].1, &[]);
    let lab2 = start("lab2", &dir("lab2"), &roster, servers[1].1, &[]);
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

#[test]
fn a_server_in_no_network_answers_an_address_as_before() {
    let server = TestServer::start();
    let [mut ana] = server.logged_in(["ana"]);
    assert_eq!(
        ana.request("PEOPLE:bo@lab2"),
        "KO:BAD_REQUEST:bad start of a name: '@' is not allowed in a name (only A-Z a-z 0-9 _ . -)"
    );
}
