//! What waits to go to one peer: its outbound queue, which its dialer
//! (`dial.rs`) empties.
//!
//! - The **numbered** frames are the store's queue for the peer (the
//!   inbox of its account, `store::state::remote`): on disk before they
//!   are sent, dropped by the peer's `ACK`s, replayed from its
//!   `OK:<last>`. A batch that adds to it rings the peer's bell once it
//!   is on disk ([`Federation::queued`], told by the router of every
//!   durable batch): whatever queued the frames, that is how the dialer
//!   learns of them, and it finds them all when it looks.
//! - The **told** frames a handler has for the peer (a call's signal, a
//!   search of people, a profile) wait here, at most
//!   [`SIGNALS_WAITING`], each a [`Told`] with its reply slot; telling
//!   one rings the bell too.

use crossbeam_channel::{Receiver, Sender};

use super::frames::Told;
use super::links::{Federation, SIGNALS_WAITING};
use crate::protocol::names::fold;

/// One peer's outbound queue: its bell, and the told frames waiting.
pub(super) struct Outbound {
    /// Rung once something waits for the peer: its dialer waits on
    /// `rung`. One ring is kept while nobody waits; more add nothing.
    bell: Sender<()>,
    pub rung: Receiver<()>,
    told: Sender<Told>,
    /// The told frames, oldest first.
    pub waiting: Receiver<Told>,
}

impl Outbound {
    pub fn new() -> Outbound {
        let (bell, rung) = crossbeam_channel::bounded(1);
        let (told, waiting) = crossbeam_channel::bounded(SIGNALS_WAITING);
        Outbound { bell, rung, told, waiting }
    }

    /// Wakes the dialer.
    pub fn ring(&self) {
        let _ = self.bell.try_send(());
    }

    /// A bell for what rings the dialer from elsewhere (presence noted
    /// for the peer, `server::presence_across`).
    pub fn bell(&self) -> Sender<()> {
        self.bell.clone()
    }

    /// Queues `told` for the dialer and rings it; false (and it is
    /// dropped) if [`SIGNALS_WAITING`] wait already.
    pub fn tell(&self, told: Told) -> bool {
        let queued = self.told.try_send(told).is_ok();
        if queued {
            self.ring();
        }
        queued
    }
}

impl Federation {
    /// The outbound queue of `peer` (its dialer runs), if it has one.
    pub(super) fn outbound(&self, peer: &str) -> Option<std::sync::Arc<Outbound>> {
        self.outbound.read().get(&fold(peer)).cloned()
    }

    /// A batch is on disk (the router's hook): the dialer of each peer
    /// whose queue it added to is rung, and finds its frames
    /// (`LocalStore::frames_for` gives only what is on disk).
    pub(super) fn queued(&self, batch: &crate::store::state::Batch) {
        if batch.links.is_empty() {
            return;
        }
        let outbound = self.outbound.read();
        for account in &batch.links {
            if let Some(peer) = outbound.get(&fold(account.trim_start_matches('@'))) {
                peer.ring();
            }
        }
    }
}
