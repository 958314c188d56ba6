//! Web Push (protocol 1.2, docs/PROTOCOL.md §28): notifications for a
//! browser whose page is closed. The browser subscribes at its vendor's
//! push service (RFC 8030) and hands the subscription to wachat
//! (`PUSH:<p256dh>:<auth>:<endpoint>`, `requests/push.rs`); for a message
//! or a call to a device with a subscription and no live connection, the
//! server encrypts a small JSON for that browser ([`crypto`], RFC 8291),
//! signs a token that names it ([`crypto::Vapid`], RFC 8292) and POSTs
//! both to the endpoint ([`http`]); the vendor wakes the browser's
//! service worker (`web/sw.js`), which shows the notification.
//!
//! The parts:
//! - [`keys`]: the server's VAPID key, made at first start in the data
//!   directory (`vapid.pk8`), never replaced by the server itself;
//! - [`book`]: the subscriptions, one per device, and who turned
//!   previews off (`push.csv`);
//! - [`endpoint`]: which urls may be pushed to (https, public addresses);
//! - [`sender`]: what is pushed when, the queues and the sending threads.
//!
//! The router tells the [`Pusher`] every durable batch's events
//! (`Router::on_delivered`): a `MSG` for a subscribed user may become a
//! push; a `READ` (`requests/read.rs`) or a `READMARK` (the user read a
//! chat on a device) drops a push not yet sent and closes a notification
//! already shown; a call's offer rings by push (`requests/call.rs`).

pub mod book;
pub mod crypto;
pub mod endpoint;
pub mod http;
pub mod keys;
pub mod sender;

pub use sender::Pusher;
