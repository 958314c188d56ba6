//! 1.2 (docs/PROTOCOL.md §24): the signalling of a voice or video call.
//!
//! A call's media go from browser to browser (WebRTC); the server only
//! introduces the two ends, as the peer-to-peer chat's `PEER` does. What it
//! carries is the *signalling*: the offer and the answer (two SDP texts,
//! which say what media each end sends and how), the ICE candidates (the
//! addresses where each end may be reached: host, server-reflexive, relay),
//! and the call's end. One request carries them all, `CALL:<peer>:<call
//! id>:<signal>`, and one event, `CALL:<from>:<call id>:<signal>`.
//!
//! An SDP is many lines. It travels as a message text does (§1, `escape`):
//! a newline as `\n`, a backslash as `\\`, no other control character (a
//! client drops the SDP's `\r`, and puts it back before using it), so that
//! the whole offer is one frame, and `nc` shows it.

use std::fmt;

use super::escape::forbidden;
use super::split_fields;

/// Most bytes of an offer's or answer's SDP, escaped. A video call's SDP
/// from chromium is 4 to 7 KB; the limit leaves room under a frame's
/// 16 KiB (`MAX_FRAME`) for the words around it.
pub const MAX_SDP: usize = 12 * 1024;

/// Most bytes of one ICE candidate (its JSON, escaped); a real one is
/// about 200.
pub const MAX_CANDIDATE: usize = 1024;

/// Most calls a user may have ringing at once (to different peers): a
/// user cannot make the server hold, or a class's phones ring, without
/// end. One call per peer rings at a time.
pub const MAX_RINGING: usize = 3;

/// Most calls a user may offer in a minute (`KO:RATE_LIMITED` past it):
/// a call rings every device of its callee, and leaves a line in the
/// chat, so ringing and hanging up in a loop is bounded by this, not by
/// `--rate` alone.
pub const OFFERS_PER_MINUTE: usize = 6;

/// Most calls that ring one user at once, from everyone together: past
/// it, a new call finds the callee busy (`END:busy`), so twenty
/// classmates cannot stack twenty call screens (and each of them offers
/// at most [`OFFERS_PER_MINUTE`]).
pub const MAX_RINGING_CALLEE: usize = 3;

/// Most calls that ring one user in a minute, from everyone together:
/// past it, a new call finds the callee busy (`END:busy`), so forty
/// classmates who each offer their [`OFFERS_PER_MINUTE`] and hang up at
/// once cannot ring one phone 240 times a minute.
pub const RINGS_PER_MINUTE_CALLEE: usize = 12;

/// Most ICE candidates each end of a call sends (`KO:FULL` past it): a
/// browser sends 5 to 30.
pub const MAX_CANDIDATES: u16 = 64;

/// What a call carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Voice,
    Video,
}

impl Media {
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Voice => "voice",
            Media::Video => "video",
        }
    }

    pub fn parse(s: &str) -> Result<Media, String> {
        match s {
            "voice" => Ok(Media::Voice),
            "video" => Ok(Media::Video),
            other => Err(format!("a call is voice or video, not {other:?}")),
        }
    }
}

/// Why a call ended (the event `CALL:<from>:<id>:END:<why>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The callee said no (`DECLINE`, from any of its devices).
    Declined,
    /// One end hung up (`HANGUP`): before the answer, the caller gave up.
    Hangup,
    /// Nobody answered within the ring time (`--ring-seconds`).
    Missed,
    /// The device of one end left (its receive connection closed).
    Gone,
    /// The callee is in another call: it never rang.
    Busy,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Declined => "declined",
            End::Hangup => "hangup",
            End::Missed => "missed",
            End::Gone => "gone",
            End::Busy => "busy",
        }
    }

    pub fn parse(s: &str) -> Result<End, String> {
        Ok(match s {
            "declined" => End::Declined,
            "hangup" => End::Hangup,
            "missed" => End::Missed,
            "gone" => End::Gone,
            "busy" => End::Busy,
            other => return Err(format!("unknown end of a call {other:?}")),
        })
    }
}

/// The part of a `CALL` frame after the call id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `OFFER:<voice|video>:<sdp>`: the caller rings the peer's devices.
    Offer { media: Media, sdp: String },
    /// `ANSWER:<sdp>`: a device of the callee takes the call.
    Answer { sdp: String },
    /// `ICE:<candidate>`: an address where the sender may be reached (the
    /// browser's candidate as JSON, escaped).
    Ice { candidate: String },
    /// `DECLINE`: the callee refuses (a request only; the event is `END`).
    Decline,
    /// `HANGUP`: either end ends the call (a request only).
    Hangup,
    /// `END:<why>`: the call is over (an event only, made by the server).
    End(End),
}

impl Signal {
    /// Parses the signal of a frame, `OFFER:video:v=0\n…` (the escaped
    /// texts are checked, and kept escaped).
    pub fn parse(s: &str) -> Result<Signal, String> {
        let (word, rest) = s.split_once(':').unwrap_or((s, ""));
        Ok(match (word, rest) {
            ("OFFER", rest) => {
                let (media, sdp) = rest.split_once(':').ok_or("expected OFFER:<voice|video>:<sdp>")?;
                Signal::Offer { media: Media::parse(media)?, sdp: payload(sdp, MAX_SDP, "an SDP")? }
            }
            ("ANSWER", sdp) => Signal::Answer { sdp: payload(sdp, MAX_SDP, "an SDP")? },
            ("ICE", candidate) => {
                Signal::Ice { candidate: payload(candidate, MAX_CANDIDATE, "a candidate")? }
            }
            ("DECLINE", "") => Signal::Decline,
            ("HANGUP", "") => Signal::Hangup,
            ("END", why) => Signal::End(End::parse(why)?),
            _ => {
                return Err(format!(
                    "expected OFFER:<voice|video>:<sdp>, ANSWER:<sdp>, ICE:<candidate>, DECLINE or HANGUP, got {:?}",
                    super::truncate(s, 40)
                ));
            }
        })
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Offer { media, sdp } => write!(f, "OFFER:{}:{sdp}", media.as_str()),
            Signal::Answer { sdp } => write!(f, "ANSWER:{sdp}"),
            Signal::Ice { candidate } => write!(f, "ICE:{candidate}"),
            Signal::Decline => f.write_str("DECLINE"),
            Signal::Hangup => f.write_str("HANGUP"),
            Signal::End(why) => write!(f, "END:{}", why.as_str()),
        }
    }
}

/// Checks an escaped text of at most `limit` bytes as it travels: only the
/// escapes `\\` and `\n`, no control character (`escape::forbidden`).
pub(super) fn payload(escaped: &str, limit: usize, what: &str) -> Result<String, String> {
    if escaped.is_empty() {
        return Err(format!("{what} may not be empty"));
    }
    if escaped.len() > limit {
        return Err(format!("{what} is {} bytes, the limit is {limit}", escaped.len()));
    }
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err(format!("{what}: bad escape (only \\\\ and \\n)"));
        }
        if forbidden(c) {
            return Err(format!("{what} may not hold a control character (send \\r\\n as \\n)"));
        }
    }
    Ok(escaped.to_string())
}

/// `CALL:<peer>:<id>:<signal>` after its word, split: the peer, the call
/// id and the signal (the call id is a message id's shape, §1).
pub fn split(line: &str) -> Option<(&str, &str, &str)> {
    let f = split_fields(line, 4)?;
    Some((f[1], f[2], f[3]))
}

/// 1.2 (§24): the line a call leaves in its chat, a message from the
/// caller to the callee that the server stores when the call ends, so
/// that both sides, every device, `HISTORY` and a 1.0 client see it:
///
/// ```text
/// 📞 Voice call, 4:12        answered: how long it went on
/// 📞 Missed video call       nobody answered, the caller gave up, busy
/// 📞 3 missed voice calls    missed calls in a row fold into one line
/// 📞 Declined voice call     the callee said no
/// ```
///
/// The words read the same from either side. A client that knows them
/// ([`CallLog::parse`]) may say them from its own side: to the caller, a
/// missed call is one nobody answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallLog {
    Talked { media: Media, seconds: u64 },
    Missed { media: Media, count: u32 },
    Declined { media: Media },
}

impl CallLog {
    /// Reads a line of the call log (and the line of older servers,
    /// `📞 Missed voice call from ana`); `None` for any other text.
    pub fn parse(text: &str) -> Option<CallLog> {
        let rest = text.strip_prefix("📞 ")?;
        let media = |word: &str| Media::parse(word).ok();
        if let Some(rest) = rest.strip_prefix("Missed ") {
            let (word, after) = rest.split_once(" call")?;
            return (after.is_empty() || after.starts_with(" from "))
                .then_some(CallLog::Missed { media: media(word)?, count: 1 });
        }
        if let Some(rest) = rest.strip_prefix("Declined ") {
            return Some(CallLog::Declined { media: media(rest.strip_suffix(" call")?)? });
        }
        if let Some((count, rest)) = rest.split_once(" missed ") {
            let count: u32 = count.parse().ok().filter(|n| *n > 1)?;
            return Some(CallLog::Missed { media: media(rest.strip_suffix(" calls")?)?, count });
        }
        let (word, length) = rest.split_once(" call, ")?;
        let mut first = word.chars();
        let word = first.next()?.to_lowercase().chain(first).collect::<String>();
        Some(CallLog::Talked { media: media(&word)?, seconds: parse_clock(length)? })
    }
}

impl fmt::Display for CallLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CallLog::Talked { media: Media::Voice, seconds } => {
                write!(f, "📞 Voice call, {}", clock(seconds))
            }
            CallLog::Talked { media: Media::Video, seconds } => {
                write!(f, "📞 Video call, {}", clock(seconds))
            }
            CallLog::Missed { media, count: 1 } => write!(f, "📞 Missed {} call", media.as_str()),
            CallLog::Missed { media, count } => write!(f, "📞 {count} missed {} calls", media.as_str()),
            CallLog::Declined { media } => write!(f, "📞 Declined {} call", media.as_str()),
        }
    }
}

/// `4:12`, or `1:02:03` past an hour.
pub(super) fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// The seconds of a [`clock`], `4:12` or `1:02:03`; `None` for any other text.
pub(super) fn parse_clock(length: &str) -> Option<u64> {
    let part = |p: &str| {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let parts: Vec<u64> = length.split(':').map(part).collect::<Option<_>>()?;
    match parts[..] {
        [m, s] => Some(m * 60 + s),
        [h, m, s] => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

/// 1.2: the `OK` of `TURN`: `<expiry>:<user>:<password>:<url>`, a TURN
/// server's short-lived credentials in coturn's REST form (its
/// `use-auth-secret`): the username is `<expiry>:<user>`, the password
/// base64(HMAC-SHA1(secret, username)), which the TURN server checks with
/// the secret it shares with wachat, and refuses after `expiry` (Unix s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnLine {
    /// `<expiry>:<user>`, as the browser gives it to `RTCPeerConnection`.
    pub username: String,
    pub password: String,
    /// `turn:host:port` (the url holds `:`, so it comes last).
    pub url: String,
}

impl TurnLine {
    pub fn parse(s: &str) -> Result<TurnLine, String> {
        let f = split_fields(s, 4)
            .ok_or_else(|| format!("expected <expiry>:<user>:<password>:<url>, got {s:?}"))?;
        f[0].parse::<u64>().map_err(|_| format!("bad expiry {:?}", f[0]))?;
        Ok(TurnLine { username: format!("{}:{}", f[0], f[1]), password: f[2].into(), url: f[3].into() })
    }
}

impl fmt::Display for TurnLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.username, self.password, self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip() {
        for s in [
            "OFFER:voice:v=0\\no=- 1 2 IN IP4 127.0.0.1\\n",
            "OFFER:video:v=0\\n",
            "ANSWER:v=0\\na=x:y\\n",
            "ICE:{\"candidate\":\"candidate:1 1 udp 2 127.0.0.1 5000 typ host\",\"sdpMid\":\"0\"}",
            "DECLINE",
            "HANGUP",
            "END:declined",
            "END:hangup",
            "END:missed",
            "END:gone",
            "END:busy",
        ] {
            assert_eq!(Signal::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn bad_signals_say_why() {
        let too_long = format!("ANSWER:{}", "a".repeat(MAX_SDP + 1));
        for (s, why) in [
            ("OFFER:audio:v=0", "voice or video"),
            ("OFFER:voice:", "may not be empty"),
            ("ANSWER:v=0\r\n", "control character"),
            ("ANSWER:v=0\\r", "bad escape"),
            (too_long.as_str(), "the limit is 12288"),
            ("ICE:", "may not be empty"),
            ("HANGUP:now", "expected OFFER"),
            ("RING", "expected OFFER"),
            ("END:later", "unknown end"),
        ] {
            let e = Signal::parse(s).unwrap_err();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn call_log_lines_round_trip_and_read_the_older_servers_line() {
        for (line, log) in [
            ("📞 Voice call, 4:12", CallLog::Talked { media: Media::Voice, seconds: 252 }),
            ("📞 Video call, 0:00", CallLog::Talked { media: Media::Video, seconds: 0 }),
            ("📞 Voice call, 1:02:03", CallLog::Talked { media: Media::Voice, seconds: 3723 }),
            ("📞 Missed voice call", CallLog::Missed { media: Media::Voice, count: 1 }),
            ("📞 3 missed video calls", CallLog::Missed { media: Media::Video, count: 3 }),
            ("📞 Declined video call", CallLog::Declined { media: Media::Video }),
        ] {
            assert_eq!(log.to_string(), line);
            assert_eq!(CallLog::parse(line), Some(log), "{line}");
        }
        let old = CallLog::parse("📞 Missed video call from ana");
        assert_eq!(old, Some(CallLog::Missed { media: Media::Video, count: 1 }));
        for not in [
            "📞 hello",
            "Missed voice call",
            "📞 1 missed voice calls",
            "📞 Voice call, 4:1x",
            "📞 Audio call, 1:00",
        ] {
            assert_eq!(CallLog::parse(not), None, "{not}");
        }
    }

    #[test]
    fn a_turn_line_round_trips() {
        let line = "1700000000:ana:qL8x/Zy+0=:turn:127.0.0.1:3478";
        let turn = TurnLine::parse(line).unwrap();
        assert_eq!(turn.username, "1700000000:ana");
        assert_eq!(turn.url, "turn:127.0.0.1:3478");
        assert_eq!(turn.to_string(), line);
        assert!(TurnLine::parse("soon:ana:pw:turn:x").is_err());
    }
}
