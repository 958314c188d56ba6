//! Bounces a user sees (protocol 1.3, docs/PROTOCOL.md §27 "Failures"):
//! `HISTORY` gives a bounced message the state `FAILED` and, right after
//! it, the bounce's readable line, so that a device loading the chat
//! later (another device, a reload, a 1.0 client) shows why; after a
//! restart too.

use super::support;

use std::path::Path;

use support::federation::{Lab, start, write_roster};
use support::ports::free_port;
use support::without_ts;

/// lab1 and lab2, linked by one roster in `root`, lab1 with `more` flags.
pub fn two_labs(root: &Path, more: &[&str]) -> (Lab, Lab) {
    let roster = root.join("class.csv");
    let servers = [("lab1", free_port()), ("lab2", free_port())];
    write_roster(&roster, &servers, "");
    let dir = |name: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let lab1 = start("lab1", &dir("lab1"), &roster, servers[0].1, more);
    let lab2 = start("lab2", &dir("lab2"), &roster, servers[1].1, &[]);
    (lab1, lab2)
}

/// A HISTORY line without its time (the fourth field).
fn no_ts(line: &str) -> String {
    let f: Vec<&str> = line.splitn(5, ':').collect();
    format!("{}:{}:{}:<ts>:{}", f[0], f[1], f[2], f[4])
}

#[test]
fn history_gives_a_bounced_message_failed_and_its_reason_after_a_restart_too() {
    let root = tempfile::tempdir().unwrap();
    let (mut lab1, lab2) = two_labs(root.path(), &["--checkpoint-records", "3"]);
    lab2.server.register(&["bob"]);
    let [mut ana] = lab1.server.logged_in(["ana"]);
    let mut events = lab1.server.login_recv("ana", "pw-ana");
    assert!(ana.request("MSG:zed@lab2:m1:anyone there?").starts_with("OK:m1:"));
    // ana's device is told (as a 1.0 client reads it)…
    let told = without_ts(&events.next_event());
    assert!(told.starts_with("MSG:1:zed@lab2:ana:_x"), "{told}");
    assert!(
        told.ends_with(
            "_failed:<ts>:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m1)"
        )
    );
    events.send("ACK:1");
    assert!(ana.request("MSG:zed@lab2:m2:hello?").starts_with("OK:m2:"));
    events.next_event();
    events.send("ACK:2");
    assert!(ana.request("MSG:bob@lab2:m3:hi bob").starts_with("OK:m3:"));

    // …and a device that loads the chat later reads the same in HISTORY.
    let expected = [
        "ana:zed@lab2:m1:<ts>:FAILED:anyone there?",
        "zed@lab2:ana:_x<stamp>_failed:<ts>:RECEIVED:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m1)",
        "ana:zed@lab2:m2:<ts>:FAILED:hello?",
        "zed@lab2:ana:_x<stamp>_failed:<ts>:RECEIVED:⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m2)",
    ];
    let shown = |ana: &mut support::Conn| -> Vec<String> {
        let lines = ana.listing("HISTORY:zed@lab2:10");
        lines
            .iter()
            .map(|l| {
                let l = no_ts(l);
                match l.split_once("_x").and_then(|(head, rest)| Some((head, rest.split_once("_failed")?.1)))
                {
                    Some((head, tail)) => format!("{head}_x<stamp>_failed{tail}"),
                    None => l,
                }
            })
            .collect()
    };
    assert_eq!(shown(&mut ana), expected);
    // A chat without bounces is as it was; a page of one message still
    // brings the bounce's line with it.
    assert!(ana.listing("HISTORY:bob@lab2:10").iter().all(|l| !l.contains(":FAILED:")));
    let page = ana.listing("HISTORY:zed@lab2:1");
    assert_eq!(page.len(), 2, "{page:?}");

    // A kill -9 and a start from the checkpoint and the log: the same.
    drop(ana);
    drop(events);
    lab1.server.restart(&lab1_args(&lab1, root.path()));
    let mut ana = lab1.server.login_send("ana", "pw-ana");
    assert_eq!(shown(&mut ana), expected);
}

/// lab1's flags again, for a restart.
fn lab1_args(lab1: &Lab, root: &Path) -> Vec<&'static str> {
    let roster: &'static str =
        Box::leak(root.join("class.csv").to_str().unwrap().to_string().into_boxed_str());
    let port: &'static str = Box::leak(lab1.link.port().to_string().into_boxed_str());
    vec![
        "--name",
        "lab1",
        "--peers",
        roster,
        "--link-port",
        port,
        "--timeout",
        "4",
        "--checkpoint-records",
        "3",
    ]
}
