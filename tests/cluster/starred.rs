//! Starred messages (protocol 1.2, §25) on a cluster: the session of
//! PROTOCOL.md §25 answered as a single server answers it (tests/chat/starred.rs
//! plays the same), bob and ana's phone on the other node; a star made on
//! one node listed on another and told to a device there, hidden there by
//! a deletion made on the first; `DELACCOUNT` and `wachat migrate`.

use super::support::cluster::Cluster;
use super::{PW, register, send_conn};

#[test]
fn the_session_of_section_25_is_answered_as_on_one_server_across_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    // ana's laptop on node a; her phone and bob on node b.
    super::support::prefs::play_session("## 25. Version 1.2: starred messages", 50, |who| match who {
        "A" => a.send_conn(),
        "P" => b.recv_conn(),
        _ => b.send_conn(),
    });
    // What node a stored, node b lists.
    let listed = b.login_send("ana", "s3cret").listing("STARRED");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].starts_with("bob:#lab:r1:") && listed[0].ends_with(":RECEIVED:slides are up"));
}

#[test]
fn a_star_on_one_node_is_listed_and_told_on_another_and_hidden_by_a_deletion() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    register(&a, "ana");
    register(&a, "bob");
    let mut phone = b.recv_conn();
    assert_eq!(phone.request("VERSION:1.2"), "OK");
    assert_eq!(phone.request(&format!("LOGIN:ana@phone:{PW}")), "OK:ana");
    let mut bob = send_conn(&b, "bob");
    assert!(bob.request("MSG:ana:m1:keep this").starts_with("OK:m1:"));
    assert!(phone.next_event().starts_with("MSG:1:bob:ana:m1:"));

    let mut laptop = send_conn(&a, "ana");
    assert_eq!(laptop.request("STAR:bob:Bob:m1"), "OK");
    assert_eq!(phone.next_event(), "STAR:bob:bob:m1:starred");
    let mut on_b = send_conn(&b, "ana");
    let listed = on_b.listing("STARRED");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].starts_with("bob:ana:m1:") && listed[0].ends_with(":keep this"), "{listed:?}");
    assert_eq!(on_b.request("STAR:bob:bob:m2"), laptop.request("STAR:bob:bob:m2"), "the same refusal");

    // bob deletes on node b: the star is hidden on node a.
    assert!(bob.request("DELETE:ana:m1").starts_with("OK:_d"));
    assert_eq!(laptop.listing("STARRED"), Vec::<String>::new());
    assert_eq!(on_b.request("STAR:bob:bob:m1"), "KO:UNKNOWN_MESSAGE:the message m1 of bob was deleted");
    assert_eq!(on_b.request("UNSTAR:bob:bob:m1"), "OK");
    assert!(phone.next_event().starts_with("MSG:2:bob:ana:_d"));
    assert_eq!(phone.next_event(), "STAR:bob:bob:m1:unstarred");
}

#[test]
fn a_deleted_account_takes_its_stars_along() {
    let cluster = Cluster::start();
    let a = cluster.node_with("a", &["--name-quarantine-days", "0"]);
    register(&a, "ana");
    register(&a, "bob");
    assert!(send_conn(&a, "bob").request("MSG:ana:m1:hi").starts_with("OK:m1:"));
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.request("STAR:bob:bob:m1"), "OK");
    assert_eq!(ana.request(&format!("DELACCOUNT:{PW}")), "OK");
    register(&a, "ana");
    assert_eq!(send_conn(&a, "ana").listing("STARRED"), Vec::<String>::new());
}

#[test]
fn wachat_migrate_carries_stars() {
    let mut single = super::support::TestServer::start();
    register(&single, "ana");
    register(&single, "bob");
    let mut bob = send_conn(&single, "bob");
    for i in 1..=3 {
        assert!(bob.request(&format!("MSG:ana:m{i}:number {i}")).starts_with("OK:"));
    }
    let mut ana = send_conn(&single, "ana");
    for request in ["STAR:bob:bob:m1", "STAR:bob:bob:m3", "STAR:bob:bob:m2", "UNSTAR:bob:bob:m2"] {
        assert_eq!(ana.request(request), "OK", "{request}");
    }
    let before = ana.listing("STARRED");
    drop((ana, bob));
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    assert_eq!(send_conn(&a, "ana").listing("STARRED"), before);
}
