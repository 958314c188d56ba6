//! Whether the client is online, as one fact made of two connections.
//!
//! The sender and the receiver threads reconnect on their own, each with
//! its own backoff. The user should not read two lines each time the
//! server restarts, so both report here and only the change of the whole
//! is announced: one [`Notice::Offline`] when the first connection is lost,
//! one [`Notice::Online`] when both are back.

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::Notice;
use super::connection::Port;

/// The state of the two connections, shared by the two threads.
pub struct Link {
    /// Is the send port up, is the receive port up.
    up: Mutex<[bool; 2]>,
    /// To the application ([`super::Client::events`]).
    notices: Sender<Notice>,
}

impl Link {
    pub fn new(send_up: bool, recv_up: bool, notices: Sender<Notice>) -> Link {
        Link { up: Mutex::new([send_up, recv_up]), notices }
    }

    /// One connection went up or down; `why` explains a loss.
    pub fn set(&self, port: Port, up: bool, why: impl FnOnce() -> String) {
        let mut state = self.up.lock();
        let was_online = state.iter().all(|&up| up);
        state[port as usize] = up;
        let is_online = state.iter().all(|&up| up);
        drop(state);
        // The receiver has gone away only when the whole client is closing.
        let _ = match (was_online, is_online) {
            (true, false) => self.notices.send(Notice::Offline(why())),
            (false, true) => self.notices.send(Notice::Online),
            _ => Ok(()),
        };
    }

    /// True while both connections are up.
    pub fn is_online(&self) -> bool {
        self.up.lock().iter().all(|&up| up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_change_of_the_whole_is_announced() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let link = Link::new(true, true, tx);
        link.set(Port::Receive, false, || "gone".into());
        link.set(Port::Send, false, || "gone too".into());
        link.set(Port::Send, true, String::new);
        link.set(Port::Receive, true, String::new);
        let got: Vec<Notice> = rx.try_iter().collect();
        assert_eq!(got, [Notice::Offline("gone".into()), Notice::Online]);
    }
}
