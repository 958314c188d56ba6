//! The connections of both ports (and the web port's), counted against
//! `--max-connections` and `--max-per-address`: a [`Slot`] per connection,
//! given back when dropped, and the send-port sockets kept for shutdown.
//! It is told the limits, and knows nothing else of the server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::throttle::address_key;
use crate::transport::Stream;

/// Counts connections on both ports, and keeps the send-port sockets.
#[derive(Default)]
pub struct Connections {
    /// Connections being served, on both ports.
    count: AtomicUsize,
    /// Connections being served per address (see `throttle::address_key`).
    per_address: Mutex<HashMap<IpAddr, usize>>,
    open: Mutex<HashMap<u64, Arc<Stream>>>,
    /// Signalled when a connection ends (shutdown waits for them).
    ended: Condvar,
    next_id: AtomicU64,
}

/// The limits a new connection is admitted under (from `Config`).
pub struct ConnectionLimits<'a> {
    /// `--max-connections`.
    pub max: usize,
    /// `--max-per-address`; 0: none.
    pub per_address: usize,
    /// `--exempt`: addresses not counted per address.
    pub exempt: &'a [IpAddr],
}

/// A connection's place in the counts of `Connections`, given back when
/// dropped: by its handler thread *before* it hands the socket to the
/// closer (see `closer`), so a client that trickles bytes at a closing
/// connection holds no slot, and no thread.
pub struct Slot {
    connections: Arc<Connections>,
    /// The address it counts against, unless exempt or unlimited.
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let connections = &self.connections;
        if let Some(address) = self.address {
            let mut per_address = connections.per_address.lock();
            if let Some(n) = per_address.get_mut(&address) {
                *n -= 1;
                if *n == 0 {
                    per_address.remove(&address);
                }
            }
        }
        connections.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a connection was refused.
pub enum Refusal {
    /// `--max-connections` connections are open.
    Full(usize),
    /// `--max-per-address` connections come from this address already.
    Address(usize),
}

impl Connections {
    /// A slot for a new connection from `peer`, if the limits allow one.
    pub fn admit(self: &Arc<Self>, peer: IpAddr, limits: ConnectionLimits) -> Result<Slot, Refusal> {
        if self.count.fetch_add(1, Ordering::SeqCst) >= limits.max {
            self.count.fetch_sub(1, Ordering::SeqCst);
            return Err(Refusal::Full(limits.max));
        }
        let address = address_key(peer);
        let mut slot = Slot { connections: self.clone(), address: None };
        if limits.per_address > 0 && !limits.exempt.iter().any(|&e| address_key(e) == address) {
            let mut per_address = self.per_address.lock();
            let n = per_address.entry(address).or_insert(0);
            if *n >= limits.per_address {
                drop(per_address);
                return Err(Refusal::Address(limits.per_address)); // the slot's drop counts it down
            }
            *n += 1;
            slot.address = Some(address);
        }
        Ok(slot)
    }

    /// Keeps a send-port socket, for shutdown to stop its reading; the id
    /// to give [`Connections::remove`].
    pub fn add(&self, stream: &Arc<Stream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open.lock().insert(id, stream.clone());
        id
    }

    pub fn remove(&self, id: u64) {
        self.open.lock().remove(&id);
        self.ended.notify_all();
    }

    /// Shutdown: stops reading requests on every kept socket; a request in
    /// progress still gets its reply if its client reads it within `grace`.
    /// After that, a client that does not read must not hold the server
    /// up: shutting both directions makes a write blocked on it fail at
    /// once, and the connections get `grace` once more to end.
    /// Cuts every connection at once, both ways: a cluster's node that
    /// was deposed (`cluster::node`) answers nobody.
    pub fn cut_all(&self) {
        for stream in self.open.lock().values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn stop_reading(&self, grace: std::time::Duration) {
        let mut open = self.open.lock();
        for stream in open.values() {
            let _ = stream.shutdown(std::net::Shutdown::Read);
        }
        for round in 0..2 {
            let deadline = Instant::now() + grace;
            while !open.is_empty() && Instant::now() < deadline {
                self.ended.wait_until(&mut open, deadline);
            }
            if round == 0 && !open.is_empty() {
                log::info!("shutdown: {} clients are not reading their replies: cut off", open.len());
                for stream in open.values() {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
            }
        }
    }
}
