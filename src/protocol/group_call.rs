//! 1.2 (docs/PROTOCOL.md §32): a room's call, a *group call*.
//!
//! Any member starts a voice or video call in a room; every other
//! member's devices ring; members join while it lasts and leave when they
//! like; the call ends when the last one leaves. Its media go from each
//! browser to each other browser (a mesh: one `RTCPeerConnection` per
//! pair, straight or through the TURN server), never through wachat,
//! which only introduces them, as for a 1:1 call (§24, `call.rs`).
//!
//! One request carries it all, `GROUPCALL:<#room>:<what>:…`
//! ([`GroupRequest`]), and one event, `GROUPCALL:<#room>:<what>:…`
//! ([`GroupEvent`]). Between two members in the call, the offer, the
//! answer and the candidates are the 1:1 call's ([`PeerSignal`]),
//! addressed to one member: `GROUPCALL:#lab:OFFER:<call id>:bob:<sdp>`
//! reaches bob's device in the call as `GROUPCALL:#lab:OFFER:<call
//! id>:ana:<sdp>`, and only if both are in the call.
//!
//! The call's id is the id of its line in the room's chat
//! ([`GroupLog`]), a message the server stores in the starter's name
//! when the call starts (`📞 Group video call started by ana`) and edits
//! when it ends (`📞 Group video call by ana, 12:03 · joined: bob, carl ·
//! missed: dan`): every client of every version reads it as text.

use std::fmt;

use super::call::{MAX_CANDIDATE, MAX_SDP, Media, payload};
use super::names::{check_address, check_id, check_name};
use super::split_fields;

/// Most members in one call at once (`KO:FULL` for one more). Each
/// browser sends its sound and picture to every other one (a mesh):
/// docs/CALLS.md measures what 4 and 8 cost a browser, and says why 8 is
/// the bound and what would take more.
pub const MAX_IN_CALL: usize = 8;

/// Most calls started in one room, and by one member, in a minute
/// (`KO:RATE_LIMITED` past it): a start rings every member and stores a
/// line in the room.
pub const STARTS_PER_MINUTE: usize = 3;

/// A room of more members than this does not ring: its call starts
/// quietly (the line in the chat, and `START` to the devices), so that
/// one start cannot ring hundreds of phones.
pub const RING_MAX_MEMBERS: usize = 64;

/// Most names each list of a call's line holds (who joined, who missed
/// it); the rest are counted (`and 3 more`).
pub const LINE_NAMES: usize = 12;

/// Between two members in a call: the 1:1 call's signals, without the
/// offer's media (the call's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerSignal {
    /// `OFFER:<sdp>`: a member who joined offers to each one already in.
    Offer { sdp: String },
    /// `ANSWER:<sdp>`: the answer to it.
    Answer { sdp: String },
    /// `ICE:<candidate>`: an address of the sender's, for this pair.
    Ice { candidate: String },
}

impl PeerSignal {
    /// The signal of `word` and its payload (escaped, checked as §24's).
    fn parse(word: &str, rest: &str) -> Result<PeerSignal, String> {
        Ok(match word {
            "OFFER" => PeerSignal::Offer { sdp: payload(rest, MAX_SDP, "an SDP")? },
            "ANSWER" => PeerSignal::Answer { sdp: payload(rest, MAX_SDP, "an SDP")? },
            "ICE" => PeerSignal::Ice { candidate: payload(rest, MAX_CANDIDATE, "a candidate")? },
            _ => return Err(format!("not a signal: {word:?}")),
        })
    }

    /// Its word (`OFFER`, `ANSWER`, `ICE`).
    pub fn word(&self) -> &'static str {
        match self {
            PeerSignal::Offer { .. } => "OFFER",
            PeerSignal::Answer { .. } => "ANSWER",
            PeerSignal::Ice { .. } => "ICE",
        }
    }

    /// Its payload, escaped.
    pub fn payload(&self) -> &str {
        match self {
            PeerSignal::Offer { sdp } | PeerSignal::Answer { sdp } => sdp,
            PeerSignal::Ice { candidate } => candidate,
        }
    }
}

/// What follows `GROUPCALL:<#room>:` in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRequest {
    /// `START:<voice|video>`: starts the room's call; `OK:<call id>`.
    Start { media: Media },
    /// `JOIN:<call id>`: joins it from this device; `OK:<who is in it>`.
    Join { id: String },
    /// `DECLINE:<call id>`: stops it ringing on every device of yours.
    Decline { id: String },
    /// `LEAVE:<call id>`: leaves it (the last one out ends it).
    Leave { id: String },
    /// `OFFER|ANSWER|ICE:<call id>:<member>:<payload>`: to `to`'s device
    /// in the call.
    Signal { id: String, to: String, signal: PeerSignal },
}

/// The shape of a request, for the refusals.
pub const REQUEST_SHAPE: &str = "GROUPCALL:<#room>:START:<voice|video>, GROUPCALL:<#room>:<JOIN|DECLINE|LEAVE>:<call id> \
     or GROUPCALL:<#room>:<OFFER|ANSWER|ICE>:<call id>:<member>:<sdp or candidate>";

impl GroupRequest {
    /// Parses what follows `GROUPCALL:<#room>:`.
    pub fn parse(rest: &str) -> Result<GroupRequest, String> {
        let (word, rest) = rest.split_once(':').ok_or_else(|| format!("expected {REQUEST_SHAPE}"))?;
        Ok(match word {
            "START" => GroupRequest::Start { media: Media::parse(rest)? },
            "JOIN" => GroupRequest::Join { id: call_id(rest)? },
            "DECLINE" => GroupRequest::Decline { id: call_id(rest)? },
            "LEAVE" => GroupRequest::Leave { id: call_id(rest)? },
            "OFFER" | "ANSWER" | "ICE" => {
                let f =
                    split_fields(rest, 3).ok_or_else(|| format!("expected {word}:<call id>:<member>:…"))?;
                GroupRequest::Signal {
                    id: call_id(f[0])?,
                    to: member(f[1])?,
                    signal: PeerSignal::parse(word, f[2])?,
                }
            }
            _ => return Err(format!("expected {REQUEST_SHAPE}")),
        })
    }
}

impl fmt::Display for GroupRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupRequest::Start { media } => write!(f, "START:{}", media.as_str()),
            GroupRequest::Join { id } => write!(f, "JOIN:{id}"),
            GroupRequest::Decline { id } => write!(f, "DECLINE:{id}"),
            GroupRequest::Leave { id } => write!(f, "LEAVE:{id}"),
            GroupRequest::Signal { id, to, signal } => {
                write!(f, "{}:{id}:{to}:{}", signal.word(), signal.payload())
            }
        }
    }
}

/// Why a device stops ringing for a call that goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// You declined it, on this device or another.
    Declined,
    /// Nobody of yours took it within the ring time (`--ring-seconds`).
    Missed,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Declined => "declined",
            Stop::Missed => "missed",
        }
    }

    fn parse(s: &str) -> Result<Stop, String> {
        match s {
            "declined" => Ok(Stop::Declined),
            "missed" => Ok(Stop::Missed),
            other => Err(format!("a ring stops declined or missed, not {other:?}")),
        }
    }
}

/// What follows `GROUPCALL:<#room>:` in an event (1.2, ephemeral: no
/// sequence number, never queued nor replayed, like `CALL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// `RING:<call id>:<from>:<media>`: `from` started the room's call,
    /// and this device rings.
    Ring { id: String, from: String, media: Media },
    /// `START:<call id>:<from>:<media>`: the same, without ringing (your
    /// own call, you are in another call, or the room is too large to ring).
    Start { id: String, from: String, media: Media },
    /// `JOINED:<call id>:<user>`: `user` is in the call now.
    Joined { id: String, user: String },
    /// `LEFT:<call id>:<user>`: `user` left it (or its device went, or it
    /// left the room).
    Left { id: String, user: String },
    /// `STOP:<call id>:<declined|missed>`: stop ringing; the call goes on,
    /// and may be joined while it does.
    Stop { id: String, why: Stop },
    /// `END:<call id>`: the last one left; its line is edited already.
    End { id: String },
    /// `OFFER|ANSWER|ICE:<call id>:<from>:<payload>`: from a member in
    /// the call, to this device in it.
    Signal { id: String, from: String, signal: PeerSignal },
}

impl GroupEvent {
    /// Parses what follows `GROUPCALL:<#room>:`.
    pub fn parse(rest: &str) -> Result<GroupEvent, String> {
        let (word, rest) = rest.split_once(':').ok_or_else(|| format!("not a group call event: {rest:?}"))?;
        let f =
            |n| split_fields(rest, n).ok_or_else(|| format!("expected {n} fields after {word}: {rest:?}"));
        Ok(match word {
            "RING" | "START" => {
                let f = f(3)?;
                let (id, from, media) = (call_id(f[0])?, member(f[1])?, Media::parse(f[2])?);
                match word {
                    "RING" => GroupEvent::Ring { id, from, media },
                    _ => GroupEvent::Start { id, from, media },
                }
            }
            "JOINED" => {
                let f = f(2)?;
                GroupEvent::Joined { id: call_id(f[0])?, user: member(f[1])? }
            }
            "LEFT" => {
                let f = f(2)?;
                GroupEvent::Left { id: call_id(f[0])?, user: member(f[1])? }
            }
            "STOP" => {
                let f = f(2)?;
                GroupEvent::Stop { id: call_id(f[0])?, why: Stop::parse(f[1])? }
            }
            "END" => GroupEvent::End { id: call_id(rest)? },
            "OFFER" | "ANSWER" | "ICE" => {
                let f = f(3)?;
                GroupEvent::Signal {
                    id: call_id(f[0])?,
                    from: member(f[1])?,
                    signal: PeerSignal::parse(word, f[2])?,
                }
            }
            other => return Err(format!("unknown group call event {other:?}")),
        })
    }

    /// The same event with each member it names renamed by `rename`:
    /// 1.3, a member as the link names it (`bob@lab2`) and as a server
    /// names it to its own users (`bob` on lab2).
    pub fn renamed(self, rename: impl Fn(String) -> String) -> GroupEvent {
        match self {
            GroupEvent::Ring { id, from, media } => GroupEvent::Ring { id, from: rename(from), media },
            GroupEvent::Start { id, from, media } => GroupEvent::Start { id, from: rename(from), media },
            GroupEvent::Joined { id, user } => GroupEvent::Joined { id, user: rename(user) },
            GroupEvent::Left { id, user } => GroupEvent::Left { id, user: rename(user) },
            GroupEvent::Signal { id, from, signal } => GroupEvent::Signal { id, from: rename(from), signal },
            event @ (GroupEvent::Stop { .. } | GroupEvent::End { .. }) => event,
        }
    }

    /// The call it is about.
    pub fn id(&self) -> &str {
        match self {
            GroupEvent::Ring { id, .. }
            | GroupEvent::Start { id, .. }
            | GroupEvent::Joined { id, .. }
            | GroupEvent::Left { id, .. }
            | GroupEvent::Stop { id, .. }
            | GroupEvent::End { id }
            | GroupEvent::Signal { id, .. } => id,
        }
    }
}

impl fmt::Display for GroupEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupEvent::Ring { id, from, media } => write!(f, "RING:{id}:{from}:{}", media.as_str()),
            GroupEvent::Start { id, from, media } => write!(f, "START:{id}:{from}:{}", media.as_str()),
            GroupEvent::Joined { id, user } => write!(f, "JOINED:{id}:{user}"),
            GroupEvent::Left { id, user } => write!(f, "LEFT:{id}:{user}"),
            GroupEvent::Stop { id, why } => write!(f, "STOP:{id}:{}", why.as_str()),
            GroupEvent::End { id } => write!(f, "END:{id}"),
            GroupEvent::Signal { id, from, signal } => {
                write!(f, "{}:{id}:{from}:{}", signal.word(), signal.payload())
            }
        }
    }
}

/// A call id: a message id's shape (the id of the call's line).
fn call_id(s: &str) -> Result<String, String> {
    check_id(s)?;
    Ok(s.to_string())
}

/// A member: a user of this server, or (1.3) of another, `bob@lab2`.
fn member(s: &str) -> Result<String, String> {
    if s.contains('@') {
        check_address(s)?;
    } else {
        check_name(s)?;
    }
    Ok(s.to_string())
}

/// A list of names in a call's line: `bob, carl` (`nobody` when empty),
/// `bob, carl and 3 more` past [`LINE_NAMES`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub names: Vec<String>,
    /// How many more there are.
    pub more: u32,
}

impl Names {
    /// `all`, the first [`LINE_NAMES`] named.
    pub fn of(all: &[String]) -> Names {
        let names: Vec<String> = all.iter().take(LINE_NAMES).cloned().collect();
        let more = u32::try_from(all.len() - names.len()).unwrap_or(u32::MAX);
        Names { names, more }
    }

    /// Whether `name` is among those named (ignoring case).
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn parse(s: &str) -> Option<Names> {
        if s == "nobody" {
            return Some(Names::default());
        }
        let (list, more) = match s.rsplit_once(" and ") {
            Some((list, more)) => (list, more.strip_suffix(" more")?.parse::<u32>().ok().filter(|n| *n > 0)?),
            None => (s, 0),
        };
        let names: Vec<String> = list.split(", ").map(String::from).collect();
        let valid = names.iter().all(|n| member(n).is_ok());
        (valid && names.len() <= LINE_NAMES).then_some(Names { names, more })
    }
}

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.names.is_empty() {
            return f.write_str("nobody");
        }
        f.write_str(&self.names.join(", "))?;
        if self.more > 0 {
            write!(f, " and {} more", self.more)?;
        }
        Ok(())
    }
}

/// 1.2 (§32): a group call's line in its room, a message of the
/// starter's that the server stores as the call starts and edits as it
/// ends (an edit of §19: a 1.2 client shows the one line changed, a 1.0
/// client reads both as text):
///
/// ```text
/// 📞 Group video call started by ana
/// 📞 Group video call by ana, 12:03 · joined: bob, carl · missed: dan and 3 more
/// ```
///
/// A client may say it from its side ([`GroupLog::parse`]): to a member
/// who never joined, a missed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupLog {
    Started { media: Media, by: String },
    Ended { media: Media, by: String, seconds: u64, joined: Names, missed: Names },
}

impl GroupLog {
    /// 1.3: the call's line that the room's message `id` reads as
    /// (`text`, unescaped): the line itself, or its edit as the call
    /// ends (an edit's id, `✎ <line>`), and whether it is the edit.
    /// `None` for any other message.
    pub fn of_message(id: &str, text: &str) -> Option<(GroupLog, bool)> {
        let edit = super::action::ActionId::parse(id).map(|a| a.act);
        match edit {
            None => Some((GroupLog::parse(text)?, false)),
            Some(super::action::Act::Edit) => Some((GroupLog::parse(text.strip_prefix("✎ ")?)?, true)),
            Some(_) => None,
        }
    }

    /// Who started the call.
    pub fn by(&self) -> &str {
        match self {
            GroupLog::Started { by, .. } | GroupLog::Ended { by, .. } => by,
        }
    }

    /// The same line with each member it names renamed by `rename`: 1.3,
    /// a member as the room's home names it (`bob`, `ana@lab1` on lab2)
    /// and as a member server names it to its own users (`bob@lab2`,
    /// `ana` on lab1).
    pub fn renamed(self, rename: impl Fn(&str) -> String) -> GroupLog {
        let names = |names: Names| Names { names: names.names.iter().map(|n| rename(n)).collect(), ..names };
        match self {
            GroupLog::Started { media, by } => GroupLog::Started { media, by: rename(&by) },
            GroupLog::Ended { media, by, seconds, joined, missed } => GroupLog::Ended {
                media,
                by: rename(&by),
                seconds,
                joined: names(joined),
                missed: names(missed),
            },
        }
    }

    /// Reads a group call's line; `None` for any other text.
    pub fn parse(text: &str) -> Option<GroupLog> {
        let rest = text.strip_prefix("📞 Group ")?;
        let (media, rest) = rest.split_once(" call ")?;
        let media = Media::parse(media).ok()?;
        if let Some(by) = rest.strip_prefix("started by ") {
            return member(by).is_ok().then(|| GroupLog::Started { media, by: by.to_string() });
        }
        let rest = rest.strip_prefix("by ")?;
        let (by, rest) = rest.split_once(", ")?;
        let (length, rest) = rest.split_once(" · joined: ")?;
        let (joined, missed) = rest.split_once(" · missed: ")?;
        member(by).ok()?;
        Some(GroupLog::Ended {
            media,
            by: by.to_string(),
            seconds: super::call::parse_clock(length)?,
            joined: Names::parse(joined)?,
            missed: Names::parse(missed)?,
        })
    }
}

impl fmt::Display for GroupLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupLog::Started { media, by } => write!(f, "📞 Group {} call started by {by}", media.as_str()),
            GroupLog::Ended { media, by, seconds, joined, missed } => write!(
                f,
                "📞 Group {} call by {by}, {} · joined: {joined} · missed: {missed}",
                media.as_str(),
                super::call::clock(*seconds)
            ),
        }
    }
}

/// A line of `GROUPCALLS` (1.2, §32): a call going on in one of your
/// rooms, `<#room>:<call id>:<starter>:<media>:<started ms>:<in it>`,
/// the members in it apart by `,`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCallLine {
    /// The room, `#lab`.
    pub room: String,
    pub id: String,
    pub by: String,
    pub media: Media,
    /// When it started (Unix ms).
    pub since: u64,
    /// Who is in it now.
    pub members: Vec<String>,
}

impl GroupCallLine {
    pub fn parse(line: &str) -> Result<GroupCallLine, String> {
        let f = split_fields(line, 6).ok_or_else(|| {
            format!("expected <#room>:<call id>:<starter>:<media>:<since>:<members>, got {line:?}")
        })?;
        if !f[0].starts_with('#') {
            return Err(format!("expected a room, got {:?}", f[0]));
        }
        let members: Vec<String> =
            f[5].split(',').filter(|m| !m.is_empty()).map(member).collect::<Result<_, _>>()?;
        Ok(GroupCallLine {
            room: f[0].to_string(),
            id: call_id(f[1])?,
            by: member(f[2])?,
            media: Media::parse(f[3])?,
            since: f[4].parse().map_err(|_| format!("bad time {:?}", f[4]))?,
            members,
        })
    }
}

impl fmt::Display for GroupCallLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (room, id, by, media, since) = (&self.room, &self.id, &self.by, self.media.as_str(), self.since);
        write!(f, "{room}:{id}:{by}:{media}:{since}:{}", self.members.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_say_why() {
        for s in [
            "START:voice",
            "START:video",
            "JOIN:call-1795686468608-3",
            "DECLINE:c1",
            "LEAVE:c1",
            "OFFER:c1:bob:v=0\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\n",
            "ANSWER:c1:ana:v=0\\n",
            "ICE:c1:carl:{\"candidate\":\"candidate:1 1 udp 2 127.0.0.1 5000 typ host\"}",
            "ICE:c1:bob@lab2:x",
        ] {
            assert_eq!(GroupRequest::parse(s).unwrap().to_string(), s);
        }
        for (s, why) in [
            ("START:audio", "voice or video"),
            ("JOIN:c 1", "not allowed in a message id"),
            ("OFFER:c1:bob", "expected OFFER:<call id>:<member>"),
            ("OFFER:c1:bob:", "may not be empty"),
            ("ANSWER:c1:b b:v=0", "not allowed in a name"),
            ("ICE:c1:bob:a\\rb", "bad escape"),
            ("HANGUP:c1", "expected GROUPCALL"),
            ("START", "expected GROUPCALL"),
        ] {
            let e = GroupRequest::parse(s).unwrap_err();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn events_round_trip() {
        for s in [
            "RING:c1:ana:video",
            "START:c1:ana:voice",
            "JOINED:c1:bob",
            "LEFT:c1:bob@lab2",
            "STOP:c1:declined",
            "STOP:c1:missed",
            "END:c1",
            "OFFER:c1:ana:v=0\\n",
            "ANSWER:c1:bob:v=0\\n",
            "ICE:c1:bob:{}",
        ] {
            let event = GroupEvent::parse(s).unwrap();
            assert_eq!(event.to_string(), s);
            assert_eq!(event.id(), "c1");
        }
        assert!(GroupEvent::parse("STOP:c1:later").is_err());
        assert!(GroupEvent::parse("HANGUP:c1").is_err());
    }

    #[test]
    fn a_call_s_line_round_trips_and_counts_past_its_names() {
        let started = GroupLog::Started { media: Media::Video, by: "ana".into() };
        assert_eq!(started.to_string(), "📞 Group video call started by ana");
        let all: Vec<String> = (0..15).map(|n| format!("u{n}")).collect();
        let ended = GroupLog::Ended {
            media: Media::Voice,
            by: "ana".into(),
            seconds: 723,
            joined: Names::of(&["bob".into(), "carl".into()]),
            missed: Names::of(&all),
        };
        let text = ended.to_string();
        assert!(
            text.starts_with("📞 Group voice call by ana, 12:03 · joined: bob, carl · missed: u0, u1,"),
            "{text}"
        );
        assert!(text.ends_with("u11 and 3 more"), "{text}");
        let nobody = GroupLog::Ended {
            media: Media::Video,
            by: "ana".into(),
            seconds: 3723,
            joined: Names::default(),
            missed: Names::of(&["bob".into()]),
        };
        assert_eq!(nobody.to_string(), "📞 Group video call by ana, 1:02:03 · joined: nobody · missed: bob");
        for log in [started, ended, nobody] {
            assert_eq!(GroupLog::parse(&log.to_string()), Some(log));
        }
        for not in [
            "📞 Voice call, 4:12",
            "📞 Group audio call started by ana",
            "📞 Group video call by ana, 1:0x · joined: nobody · missed: nobody",
            "📞 Group video call started by a b",
        ] {
            assert_eq!(GroupLog::parse(not), None, "{not}");
        }
    }

    #[test]
    fn a_line_is_read_from_its_message_and_renamed_member_by_member() {
        let ended =
            "📞 Group voice call by ana@lab1, 0:05 · joined: bob, cyd@lab3 · missed: dan@lab1 and 2 more";
        let (log, edit) = GroupLog::of_message("_emwy3eogg_call-1-0", &format!("✎ {ended}")).unwrap();
        assert!(edit);
        assert_eq!(log.by(), "ana@lab1");
        let on_lab1 = log.renamed(|n| match n.strip_suffix("@lab1") {
            Some(ours) => ours.to_string(),
            None if n.contains('@') => n.to_string(),
            None => format!("{n}@lab2"),
        });
        assert_eq!(
            on_lab1.to_string(),
            "📞 Group voice call by ana, 0:05 · joined: bob@lab2, cyd@lab3 · missed: dan and 2 more"
        );
        let (started, edit) = GroupLog::of_message("call-1-0", "📞 Group video call started by bob").unwrap();
        assert_eq!((started.by(), edit), ("bob", false));
        assert_eq!(GroupLog::of_message("_emwy3eogg_call-1-0", "📞 Group video call started by bob"), None);
        assert_eq!(GroupLog::of_message("_rmwy3eogg_call-1-0", "📞 Group video call started by bob"), None);
        assert_eq!(GroupLog::of_message("m1", "📞 Group call, I promise"), None);
    }

    #[test]
    fn a_listing_line_round_trips() {
        let line = "#lab:call-1-0:ana:video:1795686468608:ana,bob@lab2";
        let parsed = GroupCallLine::parse(line).unwrap();
        assert_eq!(parsed.members, ["ana", "bob@lab2"]);
        assert_eq!(parsed.to_string(), line);
        assert!(GroupCallLine::parse("lab:c1:ana:video:1:ana").is_err());
    }
}
