//! 1.3 (§27): the link protocol between the servers of a class network,
//! as data — the frames a dialer sends, the answers of the acceptor, and
//! the bounce a sender is told. Each with `parse` and `Display`; nothing
//! here touches a socket. The addresses the frames carry (`bob@lab2`,
//! `#lab@lab2`) are names, checked in `names`.
//!
//! # The families
//!
//! The frames come in families, one file each (its grammar: the type of
//! its frames, their `parse` and `Display`), and [`FAMILIES`] is the
//! whole link on one screen: each family's words, which of them are
//! **numbered** (stored by the acceptor, answered `ACK:<n>`, replayed
//! from the peer's `OK:<last>` until they are) and which are **told**
//! (unnumbered: answered at once, never stored nor replayed), and its
//! `parse`, whose frame the row wraps in the family's variant of
//! [`Frame`]. A line is read by its word's row ([`Frame::parse`]). The
//! fields every grammar reads (a frame's numbers, a refusal) are
//! `fields.rs`'s. What each side of a link does with a family's frames
//! is `crate::federation::frames`, one file a family too, beside these.
//!
//! # Adding a family
//!
//! A file here, `<family>.rs`: the type of its frames, `parse` (a line's
//! word and what follows it, to that type or a [`Refused`]) and
//! `Display`; then `mod <family>;`, its variant of [`Frame`] and its row
//! in [`FAMILIES`] (the compiler asks for its arms in [`Frame::number`]
//! and `Display`, and in the acceptor's `match`), documented in
//! docs/PROTOCOL.md §27.

use std::fmt;

use super::reply::Code;
use fields::{number, unknown};

mod bounce;
mod call;
mod fields;
mod file;
mod group_call;
mod hello;
mod message;
mod people;
mod presence;
mod profile;
mod receipt;
mod room;

pub use bounce::{Bounce, ReadBounce};
pub use call::CallFrame;
pub use fields::{MAX_NUMBER, Refused};
pub use file::FileFrame;
pub use group_call::GroupCallFrame;
pub use hello::{
    LINK_VERSION, NO_DIALBACK, Opening, UNUSED_KEY, UNUSED_SECRET, check_identity, check_key, check_secret,
};
pub use message::{LinkState, MessageFrame};
pub use people::{MAX_PEOPLE_ACROSS, PeopleFrame};
pub use presence::{PRESENCE_BATCH, PresenceFrame};
pub use profile::ProfileFrame;
pub use receipt::{ReceiptFrame, ReceiptState};
pub use room::RoomFrame;

/// A family of frames: its row of [`FAMILIES`].
pub struct Family {
    /// What it carries, as docs/PROTOCOL.md §27 says it.
    pub name: &'static str,
    /// The words of its numbered frames: each stored by the acceptor,
    /// answered `ACK:<n>` (or `KO:<n>:…`), replayed until it is.
    pub numbered: &'static [&'static str],
    /// The words of its told frames: unnumbered, each answered at once
    /// (`OK`, `OK:<n>`, `PONG` or `KO:<CODE>:<reason>`), never stored.
    pub told: &'static [&'static str],
    /// Reads one of its frames from its word and what follows the word's
    /// `:` (`None`: the line is the word alone).
    pub parse: fn(&str, Option<&str>) -> Parsed,
}

/// A frame read, or what is wrong with the line and the frame's number
/// if it had one (its `KO:<n>:…` names it).
pub type Parsed = Result<Frame, Refused>;

/// The table: every family of frames of the link, found by word
/// ([`by_word`]); each row's `parse` is its file's, its frame wrapped in
/// the family's variant of [`Frame`].
pub static FAMILIES: &[Family] = &[
    Family { name: "hello", numbered: &[], told: &["PING", "QUIT"], parse: upkeep },
    Family {
        name: "message and status",
        numbered: &["MSG", "STATUS"],
        told: &[],
        parse: |word, rest| message::parse(word, rest).map(Frame::Message),
    },
    Family {
        name: "room",
        numbered: &["JOIN", "LEAVE"],
        told: &[],
        parse: |word, rest| room::parse(word, rest).map(Frame::Room),
    },
    Family {
        name: "call",
        numbered: &[],
        told: &["CALL"],
        parse: |word, rest| call::parse(word, rest).map(Frame::Call),
    },
    Family {
        name: "people",
        numbered: &[],
        told: &["PEOPLE"],
        parse: |word, rest| people::parse(word, rest).map(Frame::People),
    },
    Family {
        name: "profile",
        numbered: &[],
        told: &["PROFILE", "PHOTO"],
        parse: |word, rest| profile::parse(word, rest).map(Frame::Profile),
    },
    Family {
        name: "presence",
        numbered: &[],
        told: &["PRESENCE"],
        parse: |word, rest| presence::parse(word, rest).map(Frame::Presence),
    },
    Family {
        name: "file",
        numbered: &["FILE"],
        told: &["UPLOAD", "PART"],
        parse: |word, rest| file::parse(word, rest).map(Frame::File),
    },
    Family {
        name: "receipt",
        numbered: &["RECEIPT"],
        told: &[],
        parse: |word, rest| receipt::parse(word, rest).map(Frame::Receipt),
    },
    Family {
        name: "group call",
        numbered: &[],
        told: &["GROUPCALL", "GROUPEVENT", "GROUPCALLS", "GROUPIN"],
        parse: |word, rest| group_call::parse(word, rest).map(Frame::GroupCall),
    },
];

/// `PING` and `QUIT` (the hello family's told frames), each a line of
/// its word alone.
fn upkeep(word: &str, rest: Option<&str>) -> Parsed {
    match (word, rest) {
        ("PING", None) => Ok(Frame::Ping),
        ("QUIT", None) => Ok(Frame::Quit),
        _ => Err(unknown(word, rest)),
    }
}

/// The family whose frames are sent with `word`; `None` for a word that
/// is no frame of the link.
pub fn by_word(word: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|family| family.numbered.contains(&word) || family.told.contains(&word))
}

/// A frame of the stream, after the hello: a variant per family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `PING`, answered `PONG` (the hello family).
    Ping,
    /// `QUIT`, answered `OK` before the link closes (the hello family).
    Quit,
    /// `MSG` and `STATUS`, numbered.
    Message(MessageFrame),
    /// `JOIN` and `LEAVE`, numbered.
    Room(RoomFrame),
    /// `CALL`, told.
    Call(CallFrame),
    /// `PEOPLE`, told.
    People(PeopleFrame),
    /// `PROFILE` and `PHOTO`, told.
    Profile(ProfileFrame),
    /// `PRESENCE`, told.
    Presence(PresenceFrame),
    /// `FILE`, numbered; `UPLOAD` and `PART`, told.
    File(FileFrame),
    /// `RECEIPT`, numbered.
    Receipt(ReceiptFrame),
    /// `GROUPCALL`, `GROUPEVENT`, `GROUPCALLS` and `GROUPIN`, told.
    GroupCall(GroupCallFrame),
}

impl Frame {
    /// Parses a frame, by its word's row of [`FAMILIES`]; the error says
    /// what is wrong, and the frame's number if it had one (its
    /// `KO:<n>:…` names it).
    pub fn parse(line: &str) -> Parsed {
        let (word, rest) = match line.split_once(':') {
            Some((word, rest)) => (word, Some(rest)),
            None => (line, None),
        };
        match by_word(word) {
            Some(family) => (family.parse)(word, rest),
            None => Err(unknown(word, rest)),
        }
    }

    /// The frame's number, if it is a numbered one.
    pub fn number(&self) -> Option<u64> {
        match self {
            Frame::Message(m) => Some(m.number()),
            Frame::Room(r) => Some(r.n),
            Frame::File(FileFrame::File { n, .. }) => Some(*n),
            Frame::Receipt(r) => Some(r.n),
            Frame::File(FileFrame::Upload { .. } | FileFrame::Part { .. })
            | Frame::Call(_)
            | Frame::GroupCall(_)
            | Frame::People(_)
            | Frame::Profile(_)
            | Frame::Presence(_)
            | Frame::Ping
            | Frame::Quit => None,
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Ping => f.write_str("PING"),
            Frame::Quit => f.write_str("QUIT"),
            Frame::Message(m) => m.fmt(f),
            Frame::Room(r) => r.fmt(f),
            Frame::Call(c) => c.fmt(f),
            Frame::People(p) => p.fmt(f),
            Frame::Profile(p) => p.fmt(f),
            Frame::Presence(p) => p.fmt(f),
            Frame::File(file) => file.fmt(f),
            Frame::Receipt(r) => r.fmt(f),
            Frame::GroupCall(g) => g.fmt(f),
        }
    }
}

/// What the acceptor answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `OK:<last>`, to a `HELLO`; and `OK:<bytes received>` to an
    /// `UPLOAD` or a `PART` (the same line: the dialer knows what it asked).
    Hello(u64),
    /// `OK`, to a `QUIT` or a told frame taken.
    Ok,
    /// `ACK:<n>`.
    Ack(u64),
    /// `KO:<n>:<CODE>:<reason>` (a frame's) or `KO:<CODE>:<reason>`.
    Ko(Option<u64>, Code, String),
    Pong,
}

impl Answer {
    /// True for a code that refuses a frame only for now (the dialer keeps
    /// it and tries again later): the store or the disk, not the frame.
    pub fn for_now(code: Code) -> bool {
        matches!(code, Code::Full | Code::Internal | Code::Unavailable | Code::RateLimited)
    }

    pub fn parse(line: &str) -> Result<Answer, String> {
        let bad = || format!("not an answer: {line:?}");
        match line {
            "OK" => return Ok(Answer::Ok),
            "PONG" => return Ok(Answer::Pong),
            _ => {}
        }
        if let Some(last) = line.strip_prefix("OK:") {
            return number(last).map(Answer::Hello);
        }
        if let Some(n) = line.strip_prefix("ACK:") {
            return number(n).map(Answer::Ack);
        }
        let rest = line.strip_prefix("KO:").ok_or_else(bad)?;
        let (n, rest) = match rest.split_once(':') {
            Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                (Some(number(n)?), rest)
            }
            _ => (None, rest),
        };
        let (code, reason) = rest.split_once(':').unwrap_or((rest, ""));
        let code = Code::ALL.iter().copied().find(|c| c.as_str() == code).ok_or_else(bad)?;
        Ok(Answer::Ko(n, code, reason.to_string()))
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Hello(last) => write!(f, "OK:{last}"),
            Answer::Ok => f.write_str("OK"),
            Answer::Ack(n) => write!(f, "ACK:{n}"),
            Answer::Ko(Some(n), code, reason) => write!(f, "KO:{n}:{}:{reason}", code.as_str()),
            Answer::Ko(None, code, reason) => write!(f, "KO:{}:{reason}", code.as_str()),
            Answer::Pong => f.write_str("PONG"),
        }
    }
}

/// A reason from a peer or the network made safe to show and store: one
/// line of printable characters, no backslash (texts are escaped with
/// it), at most 200 bytes.
pub fn clean_reason(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        if out.len() >= 200 {
            out.push('…');
            break;
        }
        out.push(if c.is_control() || super::escape::forbidden(c) || c == '\\' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_print_back() {
        for line in [
            "MSG:1:ana@lab1:bob@lab2:m1:1795500000100:hi bob\\nline two",
            "STATUS:2:bob@lab2:ana@lab1:m1:READ:1795500000250",
            "JOIN:3:ana@lab1:#lab@lab2",
            "LEAVE:4:ana@lab1:#lab@lab2",
            "MSG:5:ana@lab1:#lab@lab2:r1:1795500000300:hi room",
            "CALL:ana@lab1:bob@lab2:c1:OFFER:video:v=0\\no=- 1 2 IN IP4 127.0.0.1\\n",
            "CALL:bob@lab2:ana@lab1:c1:END:missed",
            "FILE:6:ana@lab1:bob@lab2:f1:1795500000400:f52d1252566a5125f87acd8e841eadca:📎 notes.txt (13 B) for friday",
            "UPLOAD:f52d1252566a5125f87acd8e841eadca:13:b482e431d2a3177119b78af53c10e01fc2ca43a95796433b95d5baa924b4e1a6:notes: v2.txt",
            "PART:f52d1252566a5125f87acd8e841eadca:6:IGxhYiAzCg==",
            "PEOPLE:ana@lab1:bo",
            "PROFILE:ana@lab1:0123456789abcdef:Ana María: TA 🎓",
            "PROFILE:ana@lab1::",
            "PHOTO:ana@lab1:0123456789abcdef:/9j/4AAQ",
            "PRESENCE:bob@lab2:ONLINE:cleo@lab2:1795500000500:dan@lab2:UNKNOWN",
            "RECEIPT:7:bob@lab2:#lab@lab1:ana@lab1:r1:DELIVERED:1795500000600",
            "RECEIPT:8:bob@lab2:#lab@lab1:ana@lab1:r1:READ:1795500000700",
            "RECEIPT:9:cyd@lab2:#lab@lab1:ana@lab1:r1:PRIVATE:1795500000800",
            "GROUPCALL:#lab@lab2:ana@lab1:START:video:call-1-0",
            "GROUPCALL:#lab@lab2:ana@lab1:JOIN:call-1-0",
            "GROUPCALL:#lab@lab2:ana@lab1:OFFER:call-1-0:cyd@lab3:v=0\\n",
            "GROUPEVENT:#lab@lab2:ana@lab1:RING:call-1-0:bob@lab2:video",
            "GROUPEVENT:#lab@lab2:ana@lab1:ICE:call-1-0:cyd@lab3:{}",
            "GROUPEVENT:#lab@lab2:ana@lab1:END:call-1-0",
            "GROUPCALLS:ana@lab1",
            "GROUPIN:#lab@lab2:call-1-0:ana@lab1,dan@lab1",
            "PING",
            "QUIT",
        ] {
            assert_eq!(Frame::parse(line).unwrap().to_string(), line);
        }
        let hello = "HELLO:1.3:lab9:lab1:-:0000000000000000:00000000000000000000000000000009";
        assert_eq!(Opening::parse(hello).unwrap().to_string(), hello);
        // Any well-formed words in the fields with no role: said again with the unused ones.
        let old = "HELLO:1.3:lab9:lab1:s9:Zk3q9wPpXc41LmNb:00000000000000000000000000000009";
        assert_eq!(Opening::parse(old).unwrap().to_string(), hello);
        assert!(check_secret(UNUSED_SECRET).is_ok() && check_key(UNUSED_KEY).is_ok());
        for answer in
            ["OK:0", "OK", "ACK:7", "KO:2:UNKNOWN_USER:lab2 has no user nobody", "KO:AUTH_FAILED:no", "PONG"]
        {
            assert_eq!(Answer::parse(answer).unwrap().to_string(), answer);
        }
    }

    #[test]
    fn hostile_frames_are_refused_with_their_number() {
        assert_eq!(Frame::parse("MSG:3:eve:bob@lab2:x:1:hi").unwrap_err().0, Some(3));
        assert!(Frame::parse("MSG:3:eve@lab3:bob@lab2:x:1:a\u{1b}[2J").is_err());
        assert!(Frame::parse("MSG:99999999999999999999:a@b:c@d:x:1:hi").unwrap_err().0.is_none());
        assert!(Frame::parse("STATUS:4:a@b:c@d:x:FAILED:1").is_err());
        assert_eq!(Frame::parse("JOIN:5:ana@lab1:lab@lab2").unwrap_err().0, Some(5));
        assert!(Frame::parse("JOIN:6:ana@lab1:#lab").is_err());
        assert!(Frame::parse("LEAVE:7:ana:#lab@lab2").is_err());
        assert!(Frame::parse("MSG:8:ana@lab1:#lab:r1:1:hi").is_err());
        assert!(Opening::parse("HELLO:1.2:a:b:s:Zk3q9wPpXc41LmNb:00000000000000000000000000000009").is_err());
        assert!(Opening::parse("HELLO:1.3:a:b:s:short:00000000000000000000000000000009").is_err());
        assert_eq!(Opening::parse("VERIFY:lab1:lab9:Zk3q9wPpXc41LmNb").unwrap_err(), NO_DIALBACK);
        assert_eq!(Opening::parse("VERIFY:lab1:lab9").unwrap_err(), "VERIFY:<asker>:<dialer>:<key>");
        assert!(Answer::parse("KO:1:NOPE:x").is_err());
        assert!(Frame::parse("CALL:ana:bob@lab2:c1:HANGUP").is_err(), "an author without its server");
        assert!(Frame::parse("CALL:ana@lab1:bob@lab2:c1:OFFER:voice:a\\rb").is_err(), "an SDP's bad escape");
        assert_eq!(
            Frame::parse("FILE:9:a@b:c@d:x:1:f52d1252566a5125f87acd8e841eadca:hi").unwrap_err().0,
            Some(9)
        );
        assert!(Frame::parse("UPLOAD:f52d:1:00:a").is_err());
        assert!(Frame::parse("PEOPLE:ana:bo").is_err(), "an asker without its server");
        assert!(Frame::parse("PEOPLE:ana@lab1:b o").is_err());
        assert!(Frame::parse("PEOPLE:ana@lab1:bo:x").is_err());
        assert!(Frame::parse("PROFILE:ana:0123456789abcdef:Ana").is_err(), "an author without its server");
        assert!(Frame::parse("PROFILE:ana@lab1:xyz:Ana").is_err(), "a bad tag");
        assert!(Frame::parse("PHOTO:ana@lab1::/9j/").is_err(), "a photo has a tag");
        assert!(
            Frame::parse(&format!("PROFILE:ana@lab1::{}", "é".repeat(65))).is_err(),
            "64 characters at most"
        );
        assert!(Frame::parse("PROFILE:ana@lab1::ana\u{202E}").is_err(), "an invisible character");
        assert!(Frame::parse("PART:f52d1252566a5125f87acd8e841eadca:0:!!").unwrap_err().0.is_none());
        for presence in [
            "PRESENCE",
            "PRESENCE:bob@lab2",
            "PRESENCE:bob:ONLINE",
            "PRESENCE:bob@lab2:AWAY",
            "PRESENCE:bob@lab2:99999999999999999999",
        ] {
            assert_eq!(Frame::parse(presence).unwrap_err().0, None, "{presence}");
        }
        assert_eq!(Frame::parse("RECEIPT:9:bob:#lab@lab1:ana@lab1:r1:READ:1").unwrap_err().0, Some(9));
        assert!(
            Frame::parse("RECEIPT:9:bob@lab2:#lab:ana@lab1:r1:READ:1").is_err(),
            "a room without its home"
        );
        assert!(Frame::parse("RECEIPT:9:bob@lab2:#lab@lab1:ana@lab1:r1:FAILED:1").is_err());
        assert!(Frame::parse("RECEIPT:9:bob@lab2:#lab@lab1:ana@lab1:r1:READ").is_err());
        for group in [
            "GROUPCALL:#lab@lab2:ana@lab1:START:video",
            "GROUPCALL:#lab:ana@lab1:JOIN:c1",
            "GROUPCALL:#lab@lab2:ana:JOIN:c1",
            "GROUPCALL:#lab@lab2:ana@lab1:HANGUP:c1",
            "GROUPEVENT:#lab@lab2:ana@lab1:RING:c1:bob@lab2:audio",
            "GROUPEVENT:#lab@lab2:ana@lab1",
            "GROUPCALLS:ana",
            "GROUPCALLS",
            "GROUPIN:#lab@lab2:call-1-0",
            "GROUPIN:#lab@lab2:call-1-0:",
            "GROUPIN:#lab:call-1-0:ana@lab1",
            "GROUPIN:#lab@lab2:c 1:ana@lab1",
            "GROUPIN:#lab@lab2:c1:ana@lab1,dan",
        ] {
            assert_eq!(Frame::parse(group).unwrap_err().0, None, "{group}");
        }
        let in_one = |n: usize| (0..n).map(|i| format!("u{i}@lab1")).collect::<Vec<_>>().join(",");
        let most = crate::protocol::group_call::MAX_IN_CALL;
        assert!(Frame::parse(&format!("GROUPIN:#lab@lab2:c1:{}", in_one(most))).is_ok());
        assert!(
            Frame::parse(&format!("GROUPIN:#lab@lab2:c1:{}", in_one(most + 1))).is_err(),
            "more than a call holds"
        );
        let crowd: String = (0..=PRESENCE_BATCH).map(|i| format!(":u{i}@lab2:ONLINE")).collect();
        assert!(Frame::parse(&format!("PRESENCE{crowd}")).is_err(), "one user more than a batch");
    }
}
