//! The peer-to-peer connection (protocol §8): the frames two clients say to
//! each other once the server has introduced them, without the server.
//!
//! ```text
//! dialer (ana)                         listener (bob)
//!   HELLO:ana:<token>       ──────▶
//!                           ◀──────    OK             (or KO:AUTH_FAILED:<reason>, then close)
//!   MSG:<id>:<ts>:<text>    ──────▶
//!                           ◀──────    ACK:<id>
//!                           ◀──────    MSG:<id>:<ts>:<text>
//!   ACK:<id>                ──────▶
//! ```
//!
//! The answer to `HELLO` is an ordinary [`super::Reply`] (`OK` or
//! `KO:AUTH_FAILED:…`), so it is not repeated here. Like the other frame
//! types, [`PeerFrame`] has a `parse` that never touches a socket and a
//! `Display` that writes the frame without its `\n`.

use std::fmt;

use super::names::{check_id, check_name};
use super::{Text, split_fields};

/// Longest token accepted in a `HELLO`. The server makes 32 hex digits;
/// the bound only keeps a garbage `HELLO` from being compared at length.
pub const MAX_TOKEN: usize = 64;

/// A message on a direct connection: `MSG:<id>:<ts>:<text>`. There is no
/// `<to>` (the connection is the conversation) and no `<from>` (the peer
/// said who it is in its `HELLO`); `<ts>` is the sender's own clock,
/// because no server stamps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerMsg {
    pub id: String,
    pub ts: u64,
    pub text: Text,
}

/// One frame on a peer-to-peer connection, in either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerFrame {
    /// `HELLO:<from>:<token>`: the first frame of the dialer, with the token
    /// the server gave it in `OK:<ip>:<port>:<token>`.
    Hello { from: String, token: String },
    /// `MSG:<id>:<ts>:<text>`
    Msg(PeerMsg),
    /// `ACK:<id>`: the message `<id>` is stored on the peer's side.
    Ack { id: String },
}

/// Checks a token: 1 to [`MAX_TOKEN`] ASCII letters and digits.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > MAX_TOKEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("a token is 1 to {MAX_TOKEN} letters and digits"));
    }
    Ok(())
}

impl PeerFrame {
    /// Parses one frame (without its `\n`); `Err` says what was expected.
    pub fn parse(line: &str) -> Result<PeerFrame, String> {
        let word = line.split(':').next().unwrap_or("");
        let shape = |n, what: &str| split_fields(line, n).ok_or_else(|| format!("expected {what}"));
        Ok(match word {
            "HELLO" => {
                let f = shape(3, "HELLO:<from>:<token>")?;
                check_name(f[1])?;
                check_token(f[2])?;
                PeerFrame::Hello { from: f[1].into(), token: f[2].into() }
            }
            "MSG" => {
                let f = shape(4, "MSG:<id>:<ts>:<text>")?;
                check_id(f[1])?;
                let ts = f[2].parse().map_err(|_| format!("bad timestamp {:?}", f[2]))?;
                PeerFrame::Msg(PeerMsg { id: f[1].into(), ts, text: Text::parse(f[3])? })
            }
            "ACK" => {
                let f = shape(2, "ACK:<id>")?;
                check_id(f[1])?;
                PeerFrame::Ack { id: f[1].into() }
            }
            _ => return Err(format!("unknown peer frame {:?}", super::truncate(line, 40))),
        })
    }
}

impl fmt::Display for PeerFrame {
    /// Writes the frame without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerFrame::Hello { from, token } => write!(f, "HELLO:{from}:{token}"),
            PeerFrame::Msg(PeerMsg { id, ts, text }) => write!(f, "MSG:{id}:{ts}:{text}"),
            PeerFrame::Ack { id } => write!(f, "ACK:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_round_trips() {
        for line in [
            "HELLO:ana:19778d93826ecbbee839137247f481a7",
            "MSG:p1:1795243399451:hi bob: this skips the server\\n",
            "ACK:p1",
        ] {
            assert_eq!(PeerFrame::parse(line).unwrap().to_string(), line);
        }
        let PeerFrame::Msg(m) = PeerFrame::parse("MSG:m-1:7:a:b").unwrap() else { panic!() };
        assert_eq!((m.id.as_str(), m.ts, m.text.as_escaped()), ("m-1", 7, "a:b"));
    }

    #[test]
    fn garbage_says_why() {
        let why = |line: &str| PeerFrame::parse(line).unwrap_err();
        assert!(why("HELLO:ana").contains("HELLO:<from>:<token>"));
        assert!(why("HELLO:a na:abc").contains("not allowed in a name"));
        assert!(why("HELLO:ana:not-hex!").contains("token"));
        assert!(why(&format!("HELLO:ana:{}", "a".repeat(MAX_TOKEN + 1))).contains("token"));
        assert!(why("MSG:p1:soon:hi").contains("bad timestamp"));
        assert!(why("MSG:p.1:1:hi").contains("message id"));
        assert!(why("MSG:p1:1:").contains("empty"));
        assert!(why("ACK:").contains("message id"));
        assert!(why("PING").contains("unknown peer frame"));
        assert!(why("").contains("unknown peer frame"));
    }
}
