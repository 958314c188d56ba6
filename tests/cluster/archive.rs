//! Archived chats (protocol 1.2, §23) on a cluster: the session of
//! PROTOCOL.md §23 answered as a single server answers it (tests/chat/archive.rs
//! plays the same), the phone on another node; an archive made on one
//! node listed on another and told to a device there; the bound of 1,000;
//! `DELACCOUNT` and `wachat migrate`.

use super::support::cluster::Cluster;
use super::{PW, register, send_conn};

#[test]
fn the_session_of_section_23_is_answered_as_on_one_server_across_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    // ana's laptop on node a, ana's phone on node b.
    super::support::prefs::play_session("## 23. Version 1.2: archived chats", 25, |who| match who {
        "P" => b.recv_conn(),
        _ => a.send_conn(),
    });
    // What node a stored, node b lists.
    assert_eq!(b.login_send("ana", "s3cret").listing("ARCHIVED"), ["#lab"]);
}

#[test]
fn an_archive_on_one_node_is_listed_and_told_on_another_and_bounded() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    let mut phone = b.recv_conn();
    assert_eq!(phone.request("VERSION:1.2"), "OK");
    assert_eq!(phone.request(&format!("LOGIN:ana@phone:{PW}")), "OK:ana");
    let mut laptop = send_conn(&a, "ana");
    assert_eq!(laptop.request("ARCHIVE:Bob"), "OK");
    assert_eq!(phone.next_event(), "ARCHIVE:Bob:archived");
    let mut on_b = send_conn(&b, "ana");
    assert_eq!(on_b.request("ARCHIVE:bob"), "OK", "the first name stays, on any node");
    assert_eq!(phone.next_event(), "ARCHIVE:Bob:archived");
    assert_eq!(on_b.listing("ARCHIVED"), ["Bob"]);

    // 1,000 chats, pipelined: a 1,001st is KO:FULL, as on one server.
    let batch: String = (1..1000).map(|i| format!("ARCHIVE:#r{i}\n")).collect();
    laptop.send_raw(batch.as_bytes());
    assert!((1..1000).all(|_| laptop.line() == "OK"));
    // A new connection: the batch's 999 commits, one at a time, may take
    // longer than the node's --timeout, over which on_b sat silent.
    let mut on_b = send_conn(&b, "ana");
    let full = on_b.request("ARCHIVE:#one-more");
    assert_eq!(full, "KO:FULL:you have 1000 archived chats already, the most there may be");
    assert_eq!(on_b.request("UNARCHIVE:BOB"), "OK");
    let listed = laptop.listing("ARCHIVED");
    assert_eq!((listed.len(), listed[0].as_str(), listed[998].as_str()), (999, "#r1", "#r999"));
}

#[test]
fn a_deleted_account_takes_its_archived_chats_along() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--name-quarantine-days", "0"]);
    register(&a, "ana");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("ARCHIVE:bob"), "OK");
    assert_eq!(ana.request(&format!("DELACCOUNT:{PW}")), "OK");
    register(&a, "ana");
    assert_eq!(send_conn(&a, "ana").listing("ARCHIVED"), Vec::<String>::new());
}

#[test]
fn wachat_migrate_carries_archived_chats() {
    let mut single = super::support::TestServer::start();
    register(&single, "ana");
    let mut ana = send_conn(&single, "ana");
    for request in ["ARCHIVE:Bob", "ARCHIVE:#lab", "ARCHIVE:carl", "UNARCHIVE:carl"] {
        assert_eq!(ana.request(request), "OK", "{request}");
    }
    drop(ana);
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    assert_eq!(send_conn(&a, "ana").listing("ARCHIVED"), ["#lab", "Bob"]);
}
