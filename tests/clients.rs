//! wachat's clients against a real server: the line console (piped and in
//! a terminal), the TUI, the Python client of the lab, the bots of
//! `examples/`, peer-to-peer chat, several servers and languages, and what
//! a hostile peer can do to a client.
//!
//! One test binary, its tests by topic in `tests/clients/`.

mod support;

#[path = "clients/archive.rs"]
mod archive;
#[path = "clients/bots.rs"]
mod bots;
#[path = "clients/class.rs"]
mod class;
#[path = "clients/console.rs"]
mod console;
#[path = "clients/devices.rs"]
mod devices;
#[path = "clients/hostile.rs"]
mod hostile;
#[path = "clients/languages.rs"]
mod languages;
#[path = "clients/p2p.rs"]
mod p2p;
#[path = "clients/profile.rs"]
mod profile;
#[path = "clients/python.rs"]
mod python;
#[path = "clients/receipts.rs"]
mod receipts;
#[path = "clients/servers.rs"]
mod servers;
#[path = "clients/starred.rs"]
mod starred;
#[path = "clients/tty.rs"]
mod tty;
#[path = "clients/tui.rs"]
mod tui;
