//! What waits to go to one peer: its outbound queue, which its dialer
//! (`dial.rs`) empties, held by the links (`links.rs`) while the dialer
//! runs.
//!
//! - The **numbered** frames are the store's queue for the peer (the
//!   inbox of its account, `store::state::remote`): on disk before they
//!   are sent, dropped by the peer's `ACK`s, replayed from its
//!   `OK:<last>`. A batch that adds to it rings the peer's bell once it
//!   is on disk (`Federation::queued`, told by the router of every
//!   durable batch): whatever queued the frames, that is how the dialer
//!   learns of them, and it finds them all when it looks.
//! - The **told** frames a handler has for the peer (a call's signal, a
//!   search of people, a profile, a room's call's request or event) wait here, at most
//!   [`SIGNALS_WAITING`], each a [`Told`] with its reply slot; telling
//!   one rings the bell too. How each is said is its family's
//!   (`frames::Told::say`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::protocol::link::{CallFrame, GroupCallFrame, PeopleFrame, ProfileFrame};
use crate::protocol::{Ko, SeenLine};

/// Told frames (call signals, searches, profiles) waiting for one
/// peer's dialer, at most: a peer that is slow to answer makes a signal
/// past it `KO:FULL` at once, not a wait.
pub const SIGNALS_WAITING: usize = 64;

/// One peer's outbound queue: its bell, and the told frames waiting.
pub(super) struct Outbound {
    /// Rung once something waits for the peer: its dialer waits on
    /// `rung`. One ring is kept while nobody waits; more add nothing.
    bell: Sender<()>,
    pub rung: Receiver<()>,
    told: Sender<Told>,
    /// The told frames, oldest first.
    pub waiting: Receiver<Told>,
    /// The peer linked to us since the dialer last linked to it: it is
    /// back (maybe restarted, without what it was told), and the dialer
    /// links to it, at once if it waits out a backoff.
    back: AtomicBool,
}

impl Outbound {
    pub fn new() -> Outbound {
        let (bell, rung) = crossbeam_channel::bounded(1);
        let (told, waiting) = crossbeam_channel::bounded(SIGNALS_WAITING);
        Outbound { bell, rung, told, waiting, back: AtomicBool::new(false) }
    }

    /// The peer linked to us (its hello taken): the dialer links to it,
    /// a dialer waiting out its backoff now.
    pub fn peer_is_back(&self) {
        self.back.store(true, Ordering::SeqCst);
        self.ring();
    }

    /// Whether the peer linked to us since this was last asked.
    pub fn came_back(&self) -> bool {
        self.back.swap(false, Ordering::SeqCst)
    }

    /// Whether the peer linked to us since [`Outbound::came_back`] was
    /// last asked (it is not asked by this).
    pub fn is_back(&self) -> bool {
        self.back.load(Ordering::SeqCst)
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

/// A told frame a handler of this server has for a peer, waiting in its
/// [`Outbound`].
pub struct Told {
    /// Past it, nobody waits for the answer: it is not said.
    pub until: Instant,
    pub tell: Tell,
}

/// What is told, with its reply slot: where the peer's answer goes.
pub enum Tell {
    /// A call's signal, and who waits for the peer's `OK` or refusal
    /// (nobody: an end this server decided, told as soon as the link is
    /// free).
    Call(CallFrame, Option<Sender<Result<(), Ko>>>),
    /// A search of the peer's people, and who waits for the lines found.
    People(PeopleFrame, Sender<Result<Vec<SeenLine>, Ko>>),
    /// A profile or a photo of a user of this server; nobody waits.
    Profile(ProfileFrame),
    /// A member's request about a room's call, and who waits for the
    /// home's answer (the members in the call, for a `JOIN`); or the
    /// home's event for a member, which nobody waits for.
    GroupCall(GroupCallFrame, Option<Sender<Result<Vec<String>, Ko>>>),
}

impl Told {
    /// The peer cannot be told now: `ko` is the answer, to whoever waits.
    pub fn refuse(self, ko: Ko) {
        match self.tell {
            Tell::Call(_, Some(answer)) => drop(answer.try_send(Err(ko))),
            Tell::People(_, listing) => drop(listing.try_send(Err(ko))),
            Tell::GroupCall(_, Some(answer)) => drop(answer.try_send(Err(ko))),
            Tell::Call(_, None) | Tell::GroupCall(_, None) | Tell::Profile(_) => {}
        }
    }
}
