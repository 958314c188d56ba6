//! 1.3 (§27, "Failures"): what the author of a message the network could
//! not deliver is told, as an event of its inbox ([`Bounce`]), and how a
//! client reads it back from a readable message ([`ReadBounce`]). Not a
//! frame of the link: the sender's server says it to its own user.

use std::fmt;

use super::super::names::check_id;

/// A message the network could not deliver, as event `seq` of its
/// author's inbox (§27, "Failures"): `STATUS:<seq>:<peer>:<id>:FAILED:<ts>:<reason>`
/// for a client that said `VERSION:1.3`, a readable `MSG` in the chat
/// with `peer` for every other. `peer` may be a room homed elsewhere
/// (`#lab@lab2`): the readable message is then the author's own in that
/// room. A refused `JOIN` of such a room has no id: it reads, for every
/// version, as that readable message saying so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounce<'a> {
    pub seq: u64,
    pub peer: &'a str,
    pub author: &'a str,
    pub id: &'a str,
    pub ts: u64,
    /// Cleaned ([`clean_reason`](super::clean_reason)).
    pub reason: &'a str,
    /// The client's protocol minor version.
    pub minor: u8,
}

impl Bounce<'_> {
    /// The id of the readable message (ids `_x<stamp>_…` are the server's).
    pub fn message_id(&self) -> String {
        format!("_x{}_failed", self.ts)
    }

    /// Its text, escaped as on the wire.
    pub fn message_text(&self) -> String {
        if self.id.is_empty() {
            return format!("⚠ not joined: {}", self.reason);
        }
        format!("⚠ not delivered: {} (your message {})", self.reason, self.id)
    }

    /// True for a refused `JOIN` (no message).
    pub fn is_join(&self) -> bool {
        self.id.is_empty()
    }
}

/// A bounce read back from its readable message (an event of a client
/// that did not say `VERSION:1.3`, or a line of `HISTORY`): what a client
/// shows on the message it names instead of a message of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadBounce {
    /// Your message `id` was not delivered, for `reason`.
    Message { id: String, reason: String },
    /// Your `JOIN` of a room of another server was refused, for `reason`.
    Join { reason: String },
}

impl ReadBounce {
    /// The bounce a message with this id and (plain) text says, if it is
    /// one: an id `_x<decimal ts>_failed` (`_x…` ids are the server's
    /// alone: no client and no peer can send one, `action::check_sent_id`,
    /// `action::check_peer_id`) and the text [`Bounce::message_text`]
    /// writes. Anything else is `None` (an admin's deletion `_x…` reads
    /// `(message from … deleted)`).
    pub fn of(id: &str, text: &str) -> Option<ReadBounce> {
        let stamp = id.strip_prefix("_x")?.strip_suffix("_failed")?;
        if stamp.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Some(reason) = text.strip_prefix("⚠ not joined: ") {
            return Some(ReadBounce::Join { reason: reason.to_string() });
        }
        let rest = text.strip_prefix("⚠ not delivered: ")?.strip_suffix(')')?;
        let (reason, id) = rest.rsplit_once(" (your message ")?;
        check_id(id).ok()?;
        Some(ReadBounce::Message { id: id.to_string(), reason: reason.to_string() })
    }
}

impl fmt::Display for Bounce<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Bounce { seq, peer, author, id, ts, reason, minor } = self;
        let (mid, text) = (self.message_id(), self.message_text());
        if *minor >= 3 && !self.is_join() {
            write!(f, "STATUS:{seq}:{peer}:{id}:FAILED:{ts}:{reason}")
        } else if peer.starts_with('#') {
            write!(f, "MSG:{seq}:{author}:{peer}:{mid}:{ts}:{text}")
        } else {
            write!(f, "MSG:{seq}:{peer}:{author}:{mid}:{ts}:{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::clean_reason;
    use super::*;

    #[test]
    fn a_bounce_reads_as_a_status_or_a_message() {
        let b = Bounce {
            seq: 4,
            peer: "nobody@lab2",
            author: "ana",
            id: "m2",
            ts: 5,
            reason: "no user",
            minor: 3,
        };
        assert_eq!(b.to_string(), "STATUS:4:nobody@lab2:m2:FAILED:5:no user");
        let old = Bounce { minor: 2, ..b };
        assert_eq!(
            old.to_string(),
            "MSG:4:nobody@lab2:ana:_x5_failed:5:⚠ not delivered: no user (your message m2)"
        );
        let room = Bounce { peer: "#lab@lab2", ..b };
        assert_eq!(room.to_string(), "STATUS:4:#lab@lab2:m2:FAILED:5:no user");
        assert_eq!(
            Bounce { minor: 0, ..room }.to_string(),
            "MSG:4:ana:#lab@lab2:_x5_failed:5:⚠ not delivered: no user (your message m2)"
        );
        assert_eq!(
            ReadBounce::of("_x5_failed", "⚠ not delivered: no user (your message m2)"),
            Some(ReadBounce::Message { id: "m2".into(), reason: "no user".into() })
        );
        let join = Bounce { id: "", reason: "lab2 has no room #lab", ..room };
        assert_eq!(join.to_string(), "MSG:4:ana:#lab@lab2:_x5_failed:5:⚠ not joined: lab2 has no room #lab");
        assert_eq!(clean_reason("a\nb\\c\u{1b}"), "a b c ");
        assert_eq!(
            ReadBounce::of(&join.message_id(), &join.message_text()),
            Some(ReadBounce::Join { reason: "lab2 has no room #lab".into() })
        );
    }

    #[test]
    fn only_the_servers_bounce_reads_as_one() {
        // A reason may hold parentheses: the id is the last one's.
        let tricky = "⚠ not delivered: lab2 refused it: (your message x) no (your message m2)";
        let read = ReadBounce::of("_x17_failed", tricky);
        assert_eq!(
            read,
            Some(ReadBounce::Message {
                id: "m2".into(),
                reason: "lab2 refused it: (your message x) no".into()
            })
        );
        for (id, text) in [
            ("_x17_failed", "(message from bob deleted)"),
            ("_xz7_failed", "⚠ not delivered: no (your message m2)"),
            ("_x_failed", "⚠ not delivered: no (your message m2)"),
            ("_x17_m2", "⚠ not delivered: no (your message m2)"),
            ("m2", "⚠ not delivered: no (your message m2)"),
            ("_x17_failed", "⚠ not delivered: no (your message a:b)"),
        ] {
            assert_eq!(ReadBounce::of(id, text), None, "{id} {text}");
        }
    }
}
