//! `PEOPLE` (protocol 1.2, §26) on a cluster: asked through one node, it
//! finds the members of the asker's rooms whatever node they joined or
//! logged in through, with their presence as `MEMBERS` shows it there
//! (tests/chat/people.rs plays the same on one server).

use super::support::cluster::{Cluster, eventually};
use super::{recv_conn, register, send_conn};

/// `PEOPLE:<start>`'s lines.
fn people(conn: &mut super::support::Conn, start: &str) -> Vec<String> {
    conn.listing(&format!("PEOPLE:{start}"))
}

#[test]
fn people_are_found_across_nodes_as_members_shows_them() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for (node, user) in [(&a, "ana"), (&b, "bob"), (&b, "Bobby"), (&a, "dan")] {
        register(node, user);
    }
    let _bob_online = recv_conn(&b, "bob");
    let mut ana = send_conn(&a, "ana");
    eventually("bob online on node a", super::support::READ_TIMEOUT, || {
        people(&mut ana, "bo") == ["bob:ONLINE", "Bobby:UNKNOWN"]
    });
    // Someone who shares no room with ana is not found; a room in common finds him.
    let mut dan = send_conn(&b, "dan");
    assert_eq!(dan.request("LEAVE:#general"), "OK");
    assert!(people(&mut ana, "d").is_empty());
    assert_eq!(dan.request("JOIN:#lab"), "OK");
    assert_eq!(ana.request("JOIN:#lab"), "OK");
    assert_eq!(people(&mut ana, "D"), ana.listing("MEMBERS:#lab")[1..]);
    // A block made through node b hides bob's presence from ana on node a.
    assert_eq!(send_conn(&b, "bob").request("BLOCK:ana"), "OK");
    assert_eq!(people(&mut ana, "bob"), ["bob:UNKNOWN", "Bobby:UNKNOWN"]);
}
