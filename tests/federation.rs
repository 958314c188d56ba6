//! The class network (protocol 1.3, docs/PROTOCOL.md §27), tested from
//! outside with real `wachat serve` processes linked by a roster (a
//! cluster as one server of the network is in `tests/cluster/`).
//!
//! One test binary, its tests by topic in `tests/federation/`:
//! `addresses.rs` (every request and event that names a user, with an
//! address), `network.rs` (messages, statuses, rooms, bounces, outages and the
//! test as a peer; the metrics, `top`, the consoles and the browser),
//! `bounces.rs` (a refused message shown failed, with its reason),
//! `calls.rs` (calls across servers, and what cannot ring across),
//! `group_call_browsers.rs` (a room's call between browsers on three
//! servers, direct and through each server's coturn),
//! `files.rs` (files, photos and voice notes across servers),
//! `people.rs` (`PEOPLE:<start>@<server>` across the link),
//! `receipts.rs` (who got and read a room's message, across servers),
//! `members.rs` (a room's members listed alike on every server,
//! presence across servers, the browser's members pane), `chaos.rs`
//! (`wachat chaos --federation` over three servers: every message
//! delivered once or bounced), `conform.rs` (`wachat conform
//! federation` against `wachat serve` and the tiny server, planted bugs,
//! `--class`).

mod support;

#[path = "federation/addresses.rs"]
mod addresses;
#[path = "federation/bounces.rs"]
mod bounces;
#[path = "federation/calls.rs"]
mod calls;
#[path = "federation/chaos.rs"]
mod chaos;
#[path = "federation/conform.rs"]
mod conform;
#[path = "federation/files.rs"]
mod files;
#[path = "federation/group_call_browsers.rs"]
mod group_call_browsers;
#[path = "federation/group_calls.rs"]
mod group_calls;
#[path = "federation/members.rs"]
mod members;
#[path = "federation/network.rs"]
mod network;
#[path = "federation/people.rs"]
mod people;
#[path = "federation/receipts.rs"]
mod receipts;
