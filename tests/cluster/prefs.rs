//! Blocks and chat preferences (protocol 1.2, §22) on a cluster: the
//! session of PROTOCOL.md §22 answered as a single server answers it
//! (tests/prefs.rs plays the same), its device on another node; a block
//! made on one node hides messages sent through another.

use super::support::cluster::Cluster;
use super::{register, send_conn};

#[test]
fn the_session_of_section_21_is_answered_as_on_one_server_across_nodes() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    // ana's laptop and bob on node a, ana's phone on node b.
    super::support::prefs::play_section_21(|who| match who {
        "P" => b.recv_conn(),
        _ => a.send_conn(),
    });
    // The block, made on node a, hides what bob sends through node b; and
    // bob sees no presence of ana's.
    let mut ana = a.login_send("ana", "s3cret");
    assert_eq!(ana.request("BLOCK:bob"), "OK");
    let mut bob = b.login_send("bob", "hunter2");
    assert!(bob.request("MSG:ana:b2:still there?").starts_with("OK:b2:"));
    assert_eq!(bob.request("LASTSEEN:ana"), "OK:ana:UNKNOWN");
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
    register(&a, "carl");
    assert!(send_conn(&a, "carl").request("MSG:ana:c1:hi").starts_with("OK:c1:"));
    let mut phone = b.recv_conn();
    assert_eq!(phone.request("LOGIN:ana@phone:s3cret"), "OK:ana");
    let first = phone.next_event();
    assert!(first.starts_with("MSG:1:carl:ana:c1:"), "{first}");
}

#[test]
fn wachat_migrate_carries_blocks_levels_and_pins() {
    let mut single = super::support::TestServer::start();
    for user in ["ana", "bob"] {
        register(&single, user);
    }
    let mut ana = send_conn(&single, "ana");
    for request in ["BLOCK:bob", "PIN:#general", "NOTIFY:bob:mentions"] {
        assert_eq!(ana.request(request), "OK", "{request}");
    }
    let prefs = ana.listing("PREFS");
    drop(ana);
    let (cluster, _) = super::migrated(&mut single);
    let a = cluster.node("a");
    let mut ana = send_conn(&a, "ana");
    assert_eq!(ana.listing("BLOCKS"), ["bob"]);
    assert_eq!(ana.listing("PREFS"), prefs);
    assert!(send_conn(&a, "bob").request("MSG:ana:b1:hi").starts_with("OK:b1:"));
    assert_eq!(ana.listing("HISTORY:bob:10"), Vec::<String>::new());
}
