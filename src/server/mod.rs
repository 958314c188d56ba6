//! `wachat serve`: two listeners, a thread per connection, and shutdown.
//! This file only wires: the modules, and the names the rest of the crate
//! uses.
//!
//! - [`lifecycle`]: [`Server`], its start (everything below wired
//!   together) and its shutdown.
//! - [`base`]: [`Base`], what every part stands on (the config, the
//!   store, the router); [`ctx`]: [`Ctx`], what every
//!   handler thread shares, the base and the parts built on it; [`connections`]: the
//!   connections of every port, counted against their limits ([`Slot`],
//!   [`Refusal`]).
//! - [`listener`]: binds the ports (with a large backlog) and runs one
//!   accept loop per port, spawning a handler thread per connection.
//! - [`send`]: the send-port handler (requests in, one reply each);
//!   [`replies`]: its replies in order, some written by the thread that
//!   made them durable.
//! - [`recv`]: the receive-port handler (events out, `ACK`/`PONG` in).
//! - [`auth`]: `LOGIN`/`REGISTER`, shared by both ports, and their limits.
//! - [`presence`]: who is online (`JOINED`/`LEFT`, coalesced by a timer
//!   thread), `LASTSEEN`, `MEMBERS` and the `MEMBER` events.
//! - [`relay`]: events from one user to others that are never stored
//!   (`TYPING`).
//! - [`p2p`]: `P2P` and `PEER`, the introductions of direct chats.
//! - [`accounts`]: a user's own account (1.2): `PASSWD`.
//! - `requests/info.rs`: `INFO` (1.2), the server's rules; [`operator`]: what an
//!   administrator asks of the running server (changes to accounts,
//!   live figures for `wachat users list`).
//! - [`Leader`] (in `ctx`): how a cluster's follower hands its clients to
//!   the node that leads;
//!   [`links`]: what the server asks of the class network (1.3);
//!   [`calls_across`]: calls with a user of another server (1.3), whose
//!   signals cross the link.
//! - `config`: [`Config`], everything `wachat serve` can be told, and
//!   the defaults of its flags, each with why it is that number.
//! - [`closer`]: closes connections without letting a slow peer hold a
//!   thread; [`threads`]: how the server's threads are made.
//! - [`throttle`]: the token buckets behind every limit; [`log_limit`]:
//!   logging attacks without letting them fill the disk.
//! - [`own_ids`]: the ids of messages the server writes itself.

pub mod accounts;
pub mod actions;
pub mod address;
pub mod auth;
pub mod base;
pub mod call_relay;
pub mod calls;
pub mod calls_across;
pub mod closer;
mod config;
pub mod connections;
pub mod ctx;
pub mod devices;
pub mod files;
pub mod group_call_relay;
pub mod group_calls;
pub mod group_calls_across;
pub mod health;
pub mod known;
pub mod lifecycle;
pub mod links;
pub mod listener;
pub mod log_limit;
pub mod moderation;
pub mod operator;
pub mod own_ids;
pub mod p2p;
pub mod people_across;
pub mod prefs;
pub mod presence;
pub mod presence_across;
pub mod profile;
pub mod profile_across;
pub mod push;
pub mod recv;
pub mod registration;
pub mod relay;
pub mod replies;
pub mod requests;
pub mod send;
mod session;
pub mod threads;
pub mod throttle;
pub mod turn;

pub use base::Base;
pub use config::{
    ActionLimits, BURST_SECS, Config, DEFAULT_ADDRESS_RATE, DEFAULT_DELETE_HOURS, DEFAULT_DEVICE_DAYS,
    DEFAULT_EDIT_MINUTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING, DEFAULT_MAX_PER_ADDRESS,
    DEFAULT_PRESENCE_LIMIT, DEFAULT_RATE, DEFAULT_TIMEOUT_SECS, FileLimits, MINUTE_MS, address_burst,
    default_burst,
};
pub use connections::{Refusal, Slot};
pub use ctx::{Ctx, Leader};
pub use lifecycle::{NodeOf, Server, Storage};
