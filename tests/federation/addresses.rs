//! One grammar for a user (1.3, §27): every request whose field means a
//! user takes an address (`bob@lab2`) across two linked servers, every
//! event that names a user names one of another server so, and a server
//! in no network answers each as it always did (tests/support/addresses.rs
//! walks them; tests/cluster/federation.rs walks them on a cluster).

use super::support;

use support::TestServer;
use support::addresses::{across, in_no_network_as_before};
use support::federation::network;

#[test]
fn a_server_in_no_network_refuses_an_address_in_every_field_as_before() {
    in_no_network_as_before(&TestServer::start());
}

#[test]
fn every_request_and_event_naming_a_user_takes_an_address_across_two_servers() {
    let root = tempfile::tempdir().unwrap();
    let labs = network(root.path(), &["lab1", "lab2"], &["--timeout", "10"]);
    across(&labs[0].server, &labs[1].server);
}
