//! `wachat conform federation` (protocol 1.3, docs/PROTOCOL.md §27), run
//! as a student or a teacher runs it: against `wachat serve` and against
//! examples/tiny_server.rs, every case, restarts included (each passes);
//! against copies of the tiny server with one planted bug each (each
//! fails the cases that name its bug, and no other); and `--class` on a
//! roster of three servers, one of them down.
//!
//! The suite plays the server `conform` of the roster; its link port is a
//! port the test picked free, as are the servers' link ports, which must
//! stay the same across their restarts (the roster says where they are).

use super::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::examples::compile_copy;
use support::federation::{give_key, key_dir, roster_line};
use support::json_lines::{field, with_status};
use support::tiny::Tiny;
use support::{Restarts, TestServer};

/// A port nobody listens on now, as an argument.
fn free_port() -> String {
    support::ports::free_port().to_string()
}

/// Writes a roster: one line per server as its `wachat roster-line`
/// prints it, and gives each server's key to its data directory
/// (`<roster's directory>/<name>`).
fn write_roster(path: &Path, servers: &[(&str, &str)]) {
    let lines: String =
        servers.iter().map(|(name, port)| roster_line(path, name, port.parse().unwrap()) + "\n").collect();
    std::fs::write(path, lines).unwrap();
    for (name, _) in servers {
        give_key(path, name, &path.parent().unwrap().join(name));
    }
}

/// A roster in `dir` for the server `lab1` and the suite: the path, the
/// server's link port and the suite's.
fn class_of_two(dir: &Path) -> (String, String, String) {
    let (link, door) = (free_port(), free_port());
    let roster = dir.join("class.csv");
    write_roster(&roster, &[("lab1", &link), ("conform", &door)]);
    (roster.display().to_string(), link, door)
}

/// `wachat conform federation` against `lab1`, with the server's ports,
/// the roster, and `more`; its output, the JSON Lines of its cases.
fn federation(roster: &str, ports: [&str; 3], more: &[&str]) -> Output {
    let [send, recv, link] = ports;
    let keys = key_dir(Path::new(roster), "conform").display().to_string();
    let mut args = vec!["federation", "127.0.0.1", "--name", "lab1", "--peers", roster, "--json"];
    args.extend(["--key-dir", &keys]);
    args.extend(["--send-port", send, "--recv-port", recv, "--link-port", link, "--timeout", "4"]);
    args.extend_from_slice(more);
    let out = support::run_wachat_output("conform", &args, Duration::from_secs(600));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Every case passed but those named skipped.
fn passed_all_but(out: &Output, skipped: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(with_status(out, "fail").is_empty(), "{stdout}");
    let want: BTreeSet<String> = skipped.iter().map(|c| c.to_string()).collect();
    assert_eq!(with_status(out, "skip"), want, "{stdout}");
    assert!(with_status(out, "pass").len() >= 42, "{stdout}");
}

/// The flags of a `wachat serve` named `lab1` in a roster.
fn serve_args<'a>(roster: &'a str, link: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--name", "lab1", "--peers", roster, "--link-port", link, "--timeout", "4"];
    args.extend(["--exempt", "127.0.0.1"]);
    args.extend_from_slice(more);
    args
}

#[test]
fn wachat_serve_passes_every_case_restarts_included() {
    let dir = tempfile::tempdir().unwrap();
    let (roster, link, _) = class_of_two(dir.path());
    let args = serve_args(&roster, &link, &["--link-queue-max", "5"]);
    let data = dir.path().join("lab1");
    let mut server = TestServer::start_restartable_in(&data, &args);
    let [send, recv] = [server.send.port().to_string(), server.recv.port().to_string()];
    every_case(dir.path(), &roster, [&send, &recv, &link], true, || server.restart_in_place(&args));
}

/// Every case against `lab1` at `ports`, `restart` restarting it when the
/// suite asks (a crash, then the same data and ports): all pass but the
/// give-up age's, which needs a server started with a short one, and the
/// file, people, room, presence and group call cases of the other kind
/// of server: `files` says whether it carries them (without:
/// `--no-files`, `--no-people`, `--no-rooms`, `--no-presence`,
/// `--no-group-calls`, and its refusals are checked).
fn every_case(dir: &Path, roster: &str, ports: [&str; 3], files: bool, restart: impl FnMut()) {
    let restarts = Restarts::new(dir);
    let command = restarts.command();
    let mut flags = vec!["--queue-max", "5", "--allow-restart", &command];
    let mut skipped = vec!["outage/bounced-after-the-give-up-age"];
    if files {
        skipped.extend(["taking/files-refused-cleanly", "taking/rooms-refused-cleanly"]);
        skipped.extend(["taking/presence-refused-cleanly", "taking/group-calls-refused-cleanly"]);
    } else {
        // The tiny server carries neither files, nor people searches, nor
        // rooms, nor presence, nor rooms' calls across servers: it says
        // so, and its refusals are checked.
        flags.extend(["--no-files", "--no-people", "--no-rooms", "--no-presence", "--no-group-calls"]);
        skipped.extend(["taking/file-taken-whole", "sending/file-sent-before-its-message"]);
        skipped.push("sending/people-asked-across");
        skipped.extend(["taking/room-members-announced", "taking/presence-taken"]);
        skipped.extend(["taking/presence-of-another-server-forbidden", "sending/presence-told"]);
        skipped.extend(["taking/group-call-joined-across", "taking/group-call-of-another-s-user-forbidden"]);
        skipped.push("sending/group-call-rings-across");
    }
    let (out, restarted) = restarts.serve(|| federation(roster, ports, &flags), restart);
    assert_eq!(restarted, 2, "one restart per case that asks for one");
    passed_all_but(&out, &skipped);
}

#[test]
fn wachat_serve_bounces_past_its_give_up_age() {
    let dir = tempfile::tempdir().unwrap();
    let (roster, link, _) = class_of_two(dir.path());
    let server =
        TestServer::start_in(&dir.path().join("lab1"), &serve_args(&roster, &link, &["--give-up", "2s"]));
    let [send, recv] = [server.send.port().to_string(), server.recv.port().to_string()];
    let case = "outage/bounced-after-the-give-up-age";
    let out = federation(&roster, [&send, &recv, &link], &["--give-up", "2s", "--case", case]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(with_status(&out, "pass"), BTreeSet::from([case.to_string()]), "{stdout}");
}

/// The tiny server's flags as `lab1` of `roster`.
fn tiny_args<'a>(roster: &'a str, link: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--name", "lab1", "--peers", roster, "--link-port", link, "--timeout", "4"];
    args.extend_from_slice(more);
    args
}

#[test]
fn tiny_server_passes_every_case_restarts_and_give_up_included() {
    let dir = tempfile::tempdir().unwrap();
    let (roster, link, _) = class_of_two(dir.path());
    let data = dir.path().join("lab1");
    let mut server = Tiny::start_restartable(&data, &tiny_args(&roster, &link, &["--link-queue-max", "5"]));
    let [send, recv] = server.ports.clone();
    every_case(dir.path(), &roster, [&send, &recv, &link], false, || server.crash_and_restart());
    drop(server);

    // Its give-up age, on data of its own.
    let again = dir.path().join("lab1-give-up");
    give_key(Path::new(&roster), "lab1", &again);
    let server = Tiny::start_with(&again, ["0", "0"], &tiny_args(&roster, &link, &["--give-up", "2"]));
    let [send, recv] = server.ports.clone();
    let case = "outage/bounced-after-the-give-up-age";
    let out = federation(&roster, [&send, &recv, &link], &["--give-up", "2s", "--case", case]);
    assert_eq!(
        with_status(&out, "pass"),
        BTreeSet::from([case.to_string()]),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// One planted bug: a text substitution on examples/tiny_server.rs, and
/// the cases that must fail because of it (and no other).
struct Bug {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    fails: &'static [&'static str],
}

/// A bug for each group of cases.
const BUGS: [Bug; 6] = [
    Bug {
        what: "another identity under the same secret is taken",
        from: "require(pinned == id, \"AUTH_FAILED\", why)?;",
        to: "require(true, \"AUTH_FAILED\", why)?;",
        fails: &["hello/changed-identity-refused"],
    },
    Bug {
        what: "a hello from a key that is not the claimed server's taken",
        from: "require(same_key, \"AUTH_FAILED\", wrong_key)?;",
        to: "require(true, \"AUTH_FAILED\", wrong_key)?;",
        fails: &["hello/another-key-refused", "hello/impostor-refused"],
    },
    Bug {
        what: "a peer may speak for another server's users",
        from: "let theirs = speaker.split_once('@').is_some_and(|(_, server)| fold(server) == peer);",
        to: "let theirs = speaker.contains('@');",
        fails: &["taking/spoofed-origin-forbidden"],
    },
    Bug {
        what: "FULL taken as a refusal for good (bounced, not sent again)",
        from: "[\"FULL\", \"INTERNAL\", \"UNAVAILABLE\"]",
        to: "[\"INTERNAL\", \"UNAVAILABLE\"]",
        fails: &["sending/refused-for-now-sent-again"],
    },
    Bug {
        what: "one message past --link-queue-max taken",
        from: "waiting < net().queue_max",
        to: "waiting <= net().queue_max",
        fails: &["outage/full-queue-refused"],
    },
    Bug {
        what: "a frame numbered past the window taken",
        from: "require(n - took <= 1_000_000,",
        to: "require(n - took <= u64::MAX,",
        fails: &["taking/number-past-the-window-refused"],
    },
];

/// The copies are compiled and checked all at once: each is rustc, then
/// mostly the suite waiting on its server.
#[test]
fn each_planted_bug_fails_the_cases_that_name_it_and_no_other() {
    let original =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tiny_server.rs")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let planted = |n: usize, bug: &Bug| {
        assert_eq!(
            original.matches(bug.from).count(),
            1,
            "the substitution for {:?} must match once",
            bug.what
        );
        let own = dir.path().join(format!("bug_{n}"));
        std::fs::create_dir(&own).unwrap();
        let (roster, link, _) = class_of_two(&own);
        let program = own.join("tiny_server");
        compile_copy(
            "tiny_server",
            &original.replace(bug.from, bug.to),
            &["argon2", "getrandom", "rustls", "rcgen", "ring"],
            &program,
        );
        let args = tiny_args(&roster, &link, &["--link-queue-max", "5"]);
        give_key(Path::new(&roster), "lab1", &own.join("data"));
        let server = Tiny::start_program(&program, &own.join("data"), ["0", "0"], &args);
        let [send, recv] = server.ports.clone();
        let out = federation(
            &roster,
            [&send, &recv, &link],
            &[
                "--queue-max",
                "5",
                "--fast",
                "--no-files",
                "--no-people",
                "--no-rooms",
                "--no-presence",
                "--no-group-calls",
            ],
        );
        let want: BTreeSet<String> = bug.fails.iter().map(|c| c.to_string()).collect();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(with_status(&out, "fail"), want, "planted bug: {}\n{stdout}", bug.what);
        assert!(!out.status.success(), "a failing case makes the exit code non-zero");
    };
    let planted = &planted;
    std::thread::scope(|scope| {
        for (n, bug) in BUGS.iter().enumerate() {
            scope.spawn(move || planted(n, bug));
        }
    });
}

/// `--class` on lab1 (`wachat serve`), lab2 (the tiny server) and lab3,
/// which is down: lab1 and lab2 link both ways; nobody reaches lab3, and
/// lab3 will reach both when it is up (they show their keys and have
/// lab3's).
#[test]
fn class_table_of_three_servers_one_down() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("class.csv");
    let ports = [free_port(), free_port(), free_port()];
    write_roster(&roster, &[("lab1", &ports[0]), ("lab2", &ports[1]), ("lab3", &ports[2])]);
    let path = roster.display().to_string();
    let lab1 = ["--name", "lab1", "--peers", &path, "--link-port", &ports[0], "--timeout", "2"];
    let _lab1 = TestServer::start_in(&dir.path().join("lab1"), &lab1);
    let lab2 = ["--name", "lab2", "--peers", &path, "--link-port", &ports[1], "--timeout", "2"];
    let _lab2 = Tiny::start_with(&dir.path().join("lab2"), ["0", "0"], &lab2);
    let class = ["federation", "--class", &path, "--timeout", "2", "--wait", "2"];
    let json: Vec<&str> = class.iter().copied().chain(["--json"]).collect();
    let out = support::run_wachat_output("conform", &json, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a server of the roster is down: the exit says so\n{stdout}{stderr}");
    assert!(
        stderr.contains("2 of 6 links cannot be made (2 to a link port that did not answer)"),
        "{stderr}"
    );
    let cells: BTreeSet<String> = stdout
        .lines()
        .map(|l| format!("{}→{}:{}", field(l, "from"), field(l, "to"), field(l, "link")))
        .collect();
    let want =
        ["lab1→lab2:ok", "lab2→lab1:ok", "lab1→lab3:DOWN", "lab2→lab3:DOWN", "lab3→lab1:ok", "lab3→lab2:ok"];
    assert_eq!(cells, want.iter().map(|c| c.to_string()).collect(), "{stdout}");
    let out = support::run_wachat_output("conform", &class, Duration::from_secs(120));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{table}");
    assert!(table.contains("4 of 6 links can be made (3 servers)"), "{table}");
    let rows: Vec<&str> = table.lines().skip(2).take(3).collect();
    let words = |row: &str| row.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(words(rows[0]), ["lab1", "-", "ok", "DOWN"], "{table}");
    assert_eq!(words(rows[2]), ["lab3", "ok", "ok", "-"], "{table}");
    // The two that run, in a roster of their own: every cell ok, exit 0.
    let two = dir.path().join("two.csv");
    let lines: Vec<String> = std::fs::read_to_string(&roster)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("lab3"))
        .map(String::from)
        .collect();
    std::fs::write(&two, lines.join("\n") + "\n").unwrap();
    let two = two.display().to_string();
    let class = ["federation", "--class", &two, "--timeout", "2", "--wait", "2"];
    let out = support::run_wachat_output("conform", &class, Duration::from_secs(120));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}{}", String::from_utf8_lossy(&out.stderr));
    assert!(table.contains("2 of 2 links can be made (2 servers)"), "{table}");
}
