//! A data directory written by the first layout (four CSV files, replayed
//! whole at every start) is converted at the first start: every inbox keeps
//! its events and their sequence numbers, every conversation its messages
//! and states, every sender its ids; the old files are kept aside.
//!
//! `tests/fixtures/v1/` was written by the previous version of the server
//! (`wachat serve` at commit 254f747): four users, direct messages in both
//! directions, a room spelled `#Club`, a member who left `#general` and
//! came back, acknowledgements, DELIVERED and READ states.

use super::support;

use support::TestServer;

/// A copy of the fixture in a temporary directory.
fn v1_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["users.csv", "rooms.csv", "history.csv", "inbox.csv"] {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1").join(file);
        std::fs::copy(from, dir.path().join(file)).unwrap();
    }
    // The first layout's last version also kept last-seen times.
    std::fs::write(dir.path().join("seen.csv"), "user,seen_ms\nbob,1795338814000\nbob,1795338815000\n")
        .unwrap();
    dir
}

/// What the converted directory must show, before and after a restart.
fn check(server: &TestServer) {
    let mut bob = server.login_recv("bob", "pw-bob");
    let replay: Vec<String> = (0..5).map(|_| bob.line()).collect();
    assert_eq!(
        replay,
        [
            "MSG:4:ana:#Club:r1:1795338813383:hello club",
            "MSG:5:carl:#Club:r2:1795338813383:hi from carl\\nsecond line",
            "MSG:6:ana:#general:g1:1795338813389:to everyone but dave",
            "STATUS:7:ana:b1:DELIVERED:1795338814500",
            "MSG:8:ana:#general:g2:1795338814803:dave is back",
        ],
        "bob's inbox after his ACK:3, numbered as before"
    );
    let mut carl = server.login_recv("carl", "pw-carl");
    let ids: Vec<String> =
        (0..4).map(|_| carl.line().split(':').take(5).collect::<Vec<_>>().join(":")).collect();
    assert_eq!(
        ids,
        ["MSG:1:ana:#Club:r1", "MSG:2:ana:#general:g1", "MSG:3:ana:carl:c1", "MSG:4:ana:#general:g2"]
    );
    let mut dave = server.login_recv("dave", "pw-dave");
    assert_eq!(dave.line(), "MSG:1:ana:#general:g2:1795338814803:dave is back", "not g1: dave had left");

    let mut ana = server.login_send("ana", "pw-ana");
    assert_eq!(
        ana.listing("HISTORY:bob:10"),
        [
            "ana:bob:a1:1795338813381:READ:hola bob 1, ¿qué tal?",
            "ana:bob:a2:1795338813381:READ:hola bob 2, ¿qué tal?",
            "ana:bob:a3:1795338813382:DELIVERED:hola bob 3, ¿qué tal?",
            "bob:ana:b1:1795338813382:DELIVERED:bien, \"gracias\", y tú?",
        ]
    );
    assert_eq!(ana.listing("ROOMS"), ["#Club:3", "#general:4"]);
    assert_eq!(ana.request("MSG:bob:a1:sent again?"), "OK:a1:1795338813381", "old ids are still known");
    let mut bob = server.login_send("bob", "pw-bob");
    assert_eq!(bob.listing("CHATS"), ["#general:2", "#Club:1", "ana:1"]);
    assert_eq!(bob.listing("HISTORY:#club:10").len(), 2);
    let mut dave = server.login_send("dave", "pw-dave");
    assert_eq!(dave.listing("CHATS"), ["#general:1"], "g1 was before dave came back");
    assert_eq!(dave.request("LASTSEEN:ana"), "OK:ana:UNKNOWN", "never on the receive port");
}

#[test]
fn a_first_layout_directory_is_converted_once_and_nothing_is_lost() {
    let dir = v1_copy();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let log = server.log().join("\n");
    assert!(log.contains("converted 9 messages"), "{log}");
    assert!(log.contains("the old files are kept in"), "{log}");
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("v1-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(dir.path().join(&aside[0]).join("seen.csv").exists());
    for file in ["users.csv", "rooms.csv", "history.csv", "inbox.csv"] {
        let kept = std::fs::read(dir.path().join(&aside[0]).join(file)).unwrap();
        let original = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1").join(file);
        assert_eq!(kept, std::fs::read(original).unwrap(), "{file} kept as it was");
    }
    assert!(!dir.path().join("history.csv").exists());
    let mut dave = server.login_send("dave", "pw-dave");
    assert_eq!(dave.request("LASTSEEN:bob"), "OK:bob:1795338815000", "the newest of seen.csv");
    check(&server);
    // The converted directory got its identity (`SERVER`, 1.1), kept after.
    let id = server.login_send("ana", "pw-ana").request("SERVER");
    assert!(id.starts_with("OK:") && id.len() == 3 + 32, "{id}");
    // The second start reads the new layout (no second conversion).
    server.restart(&[]);
    assert!(!server.log().join("\n").contains("converted"));
    check(&server);
    assert_eq!(server.login_send("ana", "pw-ana").request("SERVER"), id);
}
