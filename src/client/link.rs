//! Whether the client is online, as one fact made of two connections.
//!
//! The sender and the receiver threads reconnect on their own, each with
//! its own backoff. The user should not read two lines each time the
//! server restarts, so both report here and only the change of the whole
//! is announced: one [`Notice::Offline`] when the first connection is lost,
//! one [`Notice::Online`] when both are back.
//!
//! A lost receive connection makes the send connection suspect too: the
//! server may have restarted, and an idle send connection learns it only
//! when next used. So the send port counts as down until the sender thread
//! has used it again successfully (it is told to check at once); otherwise
//! the user would read "back online" when the receive port returns, then
//! "offline" again when the dead send connection is found out.
//!
//! After `BYE:REPLACED` (another client of the same user took over the
//! receive port) nothing is announced any more: the client stays offline
//! for good, whatever the send port does.

use std::io::ErrorKind;

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::Notice;
use crate::error::Error;
use crate::i18n::client::Msg;
use crate::protocol::Bye;
use crate::protocol::Port;

/// The state of the two connections, shared by the two threads.
pub struct Connectivity {
    /// Is the send port up, is the receive port up; and was the receive
    /// port taken over by another client (`BYE:REPLACED`).
    up: Mutex<([bool; 2], bool)>,
    /// To the application ([`super::Client::events`]).
    notices: Sender<Notice>,
}

impl Connectivity {
    pub fn new(send_up: bool, recv_up: bool, notices: Sender<Notice>) -> Connectivity {
        Connectivity { up: Mutex::new(([send_up, recv_up], false)), notices }
    }

    /// One connection went up or down; `why` explains a loss.
    pub fn set(&self, port: Port, up: bool, why: impl FnOnce() -> String) {
        let mut state = self.up.lock();
        let (ports, replaced) = &mut *state;
        let was_online = ports.iter().all(|&up| up) && !*replaced;
        ports[port as usize] = up;
        if port == Port::Receive && !up {
            ports[Port::Send as usize] = false; // suspect until used again
        }
        let is_online = ports.iter().all(|&up| up) && !*replaced;
        drop(state);
        // The receiver has gone away only when the whole client is closing.
        let _ = match (was_online, is_online) {
            (true, false) => self.notices.send(Notice::Offline(why())),
            (false, true) => self.notices.send(Notice::Online),
            _ => Ok(()),
        };
    }

    /// The receive port was taken over by another client: offline for
    /// good, silently (the application is told [`Notice::Replaced`]).
    pub fn replaced(&self) {
        let mut state = self.up.lock();
        state.0[Port::Receive as usize] = false;
        state.1 = true;
    }

    /// True while both connections are up.
    pub fn is_online(&self) -> bool {
        let state = self.up.lock();
        state.0.iter().all(|&up| up) && !state.1
    }
}

/// Why the client is offline, in a user's words: what happened to the
/// server, not which port read what (the details go to the debug log).
pub fn why_offline(e: &Error) -> String {
    let lang = crate::i18n::current();
    let words = match e {
        Error::Io { source, .. } => match source.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::NotFound
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable => Msg::OfflineNoServer,
            ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::UnexpectedEof
            | ErrorKind::BrokenPipe => Msg::ServerClosed,
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Msg::OfflineSilent,
            _ => return e.to_string(),
        },
        Error::Bye(Bye::Shutdown) => Msg::OfflineShutdown,
        Error::Bye(Bye::Timeout) => Msg::OfflineTimedOut,
        Error::Bye(Bye::Slow) => Msg::OfflineSlow,
        _ => return e.to_string(),
    };
    words.text(lang).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_change_of_the_whole_is_announced() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let link = Connectivity::new(true, true, tx);
        link.set(Port::Receive, false, || "gone".into());
        link.set(Port::Send, false, || "gone too".into());
        link.set(Port::Send, true, String::new);
        link.set(Port::Receive, true, String::new);
        let got: Vec<Notice> = rx.try_iter().collect();
        assert_eq!(got, [Notice::Offline("gone".into()), Notice::Online]);
    }

    #[test]
    fn a_server_restart_is_one_offline_and_one_online_not_two() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let link = Connectivity::new(true, true, tx);
        // The receive port notices first; it comes back before the sender
        // has found its old connection dead.
        link.set(Port::Receive, false, || "gone".into());
        link.set(Port::Receive, true, String::new);
        assert!(!link.is_online(), "the send port is suspect until used");
        link.set(Port::Send, false, || "dead too".into());
        link.set(Port::Send, true, String::new);
        let got: Vec<Notice> = rx.try_iter().collect();
        assert_eq!(got, [Notice::Offline("gone".into()), Notice::Online]);
    }

    #[test]
    fn once_replaced_the_client_stays_offline_without_a_word() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let link = Connectivity::new(true, true, tx);
        link.replaced();
        link.set(Port::Send, false, || "restart".into());
        link.set(Port::Send, true, String::new);
        link.set(Port::Receive, true, String::new);
        assert!(!link.is_online());
        assert_eq!(rx.try_iter().count(), 0);
    }
}
