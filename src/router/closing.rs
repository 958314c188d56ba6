//! How an outlet ends: `BYE:<reason>` (if the client's version has that
//! reason), written after a complete frame and never inside a replay,
//! then only the writing side shut, so that the kernel still sends what
//! it holds and the `BYE` is not destroyed by a reset. The connection's
//! thread reads until the client hangs up, then closes the socket.

use std::io::Write;
use std::net::Shutdown;

use super::{Outlet, Sending};
use crate::protocol::{Bye, Event};

/// Why a device was logged out by a request of its user's (1.2), which
/// decides, with the version its receive connection speaks, what that
/// connection is told ([`Outlet::log_out`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoggedOut {
    /// `UNLINK`, or a `PASSWD` that logs out the other devices: the
    /// device must not come back by itself.
    Unlinked,
    /// `DELACCOUNT`: the account is gone.
    AccountDeleted,
}

impl Outlet {
    /// Ends this connection of a device logged out for `why`
    /// (docs/PROTOCOL.md §16 and §20): `BYE:UNLINKED` to a 1.2
    /// connection; below 1.2, `BYE:REPLACED` for an unlinked device,
    /// which tells a 1.0 client as clearly not to reconnect by itself,
    /// and a close without a word for a deleted account.
    pub fn log_out(&self, why: LoggedOut) {
        match why {
            LoggedOut::Unlinked if !self.speaks(2) => self.close(Bye::Replaced),
            // `close` says nothing to a client that cannot read `UNLINKED`.
            LoggedOut::Unlinked | LoggedOut::AccountDeleted => self.close(Bye::Unlinked),
        }
    }

    /// Says `BYE:<reason>` and then shuts the connection's writing side.
    /// If the kernel cannot take the `BYE` now, the connection's thread
    /// (which wakes up every few milliseconds while bytes are pending)
    /// finishes the job.
    pub fn close(&self, bye: Bye) {
        let mut out = self.out.lock();
        // A `BYE` newer than the client's version (`BYE:DISABLED`, 1.2)
        // would be a line it cannot read: it gets a plain close.
        if self.speaks(Event::Bye(bye).since()) {
            self.say_bye(&mut out, bye);
        } else {
            self.shut(&mut out);
        }
    }

    /// Shuts the writing side now, saying nothing (the connection ended).
    pub fn shut_down(&self) {
        let mut out = self.out.lock();
        self.shut(&mut out);
    }

    pub(super) fn say_bye(&self, out: &mut Sending, bye: Bye) {
        if out.closing || out.closed {
            return;
        }
        out.closing = true;
        if out.replaying {
            // The connection's thread is writing the replay into the socket
            // right now: a BYE written here would land inside it. Queue it;
            // `finish_replay` sends it once the replay is out.
            out.pending.clear();
            let _ = writeln!(out.pending, "{}", Event::Bye(bye));
            return;
        }
        // Queued events are dropped (they stay in the inbox), except the
        // rest of a frame the kernel already started: the stream must stay
        // whole lines, so the BYE comes after a complete frame.
        let keep =
            if out.mid_frame { out.pending.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1) } else { 0 };
        out.pending.truncate(keep);
        let _ = writeln!(out.pending, "{}", Event::Bye(bye));
        self.flush_locked(out);
    }

    pub(super) fn shut(&self, out: &mut Sending) {
        if out.closed {
            return;
        }
        out.closing = true;
        out.closed = true;
        out.pending = Vec::new();
        out.stalled_since = None;
        // Only the writing side: the kernel still sends what it holds, then
        // FIN. The reading thread sees `closed`, reads until the client
        // hangs up, and closes the socket (closing with unread input would
        // reset the connection and could destroy the BYE in flight).
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}
