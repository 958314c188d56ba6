//! The send connections of each logged-in user, each with its device, so
//! that a user or one device can be logged out on every port: a disabled
//! account (`server::operator`), a new password (`PASSWD`), a deleted
//! account, an unlinked device (`UNLINK`). The receive
//! connections are the router's outlets.
//!
//! Why here and not in `server`: the batch that disables an account is
//! told to the router once it is durable (the store's `Deliver`,
//! [`Router::written`](super::Router::written)), which logs the account
//! out on both ports at once, its receive connections first.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::UserId;
use crate::store::devices::{Proof, Standing};
use crate::transport::Stream;

/// One logged-in send connection.
struct Send {
    /// The device its `LOGIN` named (`default` if none).
    device: Arc<str>,
    /// What that device was on record as at the login (see [`Standing`]).
    standing: Standing,
    /// What its login proved (see [`Proof`]).
    proof: Proof,
    stream: Arc<Stream>,
}

/// Send connections by user, each under its connection's number.
#[derive(Default)]
pub struct SendSessions {
    by_user: Mutex<HashMap<UserId, HashMap<u64, Send>>>,
}

impl SendSessions {
    /// A send connection (`id`) logged in as `user`'s `device`.
    pub fn add(
        &self,
        user: UserId,
        id: u64,
        (device, standing, proof): (Arc<str>, Standing, Proof),
        stream: &Arc<Stream>,
    ) {
        let send = Send { device, standing, proof, stream: stream.clone() };
        self.by_user.lock().entry(user).or_default().insert(id, send);
    }

    /// The connection ended.
    pub fn remove(&self, user: UserId, id: u64) {
        let mut by_user = self.by_user.lock();
        if let Some(sends) = by_user.get_mut(&user) {
            sends.remove(&id);
            if sends.is_empty() {
                by_user.remove(&user);
            }
        }
    }

    /// The device, standing and proof of `user`'s connection `id`, if
    /// logged in.
    pub fn device(&self, user: UserId, id: u64) -> Option<(Arc<str>, Standing, Proof)> {
        let by_user = self.by_user.lock();
        by_user.get(&user)?.get(&id).map(|s| (s.device.clone(), s.standing, s.proof))
    }

    /// Closes every send connection of `user` but `keep`: its handler's
    /// next read ends, and the handler closes as for a client that left.
    /// Returns how many.
    pub fn close(&self, user: UserId, keep: Option<u64>) -> usize {
        self.close_where(user, |id, _| Some(id) != keep)
    }

    /// Closes the send connections of `user`'s `device` (names ignore
    /// case) but `keep`; returns how many.
    pub fn close_device(&self, user: UserId, device: &str, keep: Option<u64>) -> usize {
        self.close_where(user, |id, send| Some(id) != keep && send.device.eq_ignore_ascii_case(device))
    }

    fn close_where(&self, user: UserId, which: impl Fn(u64, &Send) -> bool) -> usize {
        let streams: Vec<Arc<Stream>> = match self.by_user.lock().get(&user) {
            Some(sends) => {
                sends.iter().filter(|(id, s)| which(**id, s)).map(|(_, s)| s.stream.clone()).collect()
            }
            None => return 0,
        };
        // Shut outside the lock: a TLS or WebSocket stream takes its own.
        for stream in &streams {
            let _ = stream.shutdown(Shutdown::Both);
        }
        streams.len()
    }
}
