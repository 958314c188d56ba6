//! Property tests of the wire grammar: for every frame type,
//! `parse(format(x)) == x`, and no input whatsoever makes a parser panic.

use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};

use wachat::protocol::action::REACTIONS;
use wachat::protocol::page::Start;
use wachat::protocol::{
    Accepted, Bye, Change, Chat, ChatLine, Code, DeviceLine, Event, EventReply, FrameReader, HistoryLine, Ko,
    ModAction, MsgState, PeerFrame, PeerIntro, PeerMsg, Presence, Reply, Request, Role, RoomInfoLine,
    RoomLine, RoomMode, Scope, SeenLine, Text,
};

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,32}"
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

/// An id a client may send in a `MSG` or `REPLY`: not of an action's
/// form, which only the server makes.
fn sent_id() -> impl Strategy<Value = String> {
    id().prop_filter("an action's id is the server's", |i| !wachat::protocol::action::is_servers(i))
}

fn chat() -> impl Strategy<Value = Chat> {
    prop_oneof![name().prop_map(Chat::User), name().prop_map(Chat::Room)]
}

/// Any text a user could type, newlines and backslashes included.
fn text() -> impl Strategy<Value = Text> {
    "(?s).{1,300}".prop_filter_map("1-4096 bytes", |plain: String| Text::from_plain(&plain).ok())
}

/// What protocol 1.2 refuses in a sent text, written here independently of
/// src/protocol/escape.rs: in the unescaped text, control characters but
/// tab and newline (which travels escaped, as `\n`), and the line and
/// paragraph separators (Python's `str.splitlines()` splits at them).
fn refused_in_a_sent_text(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || c == '\u{2028}' || c == '\u{2029}'
}

/// A text a client may send (1.2): no refused character.
fn sent_text() -> impl Strategy<Value = Text> {
    text().prop_filter("no control character but tab", |t| !t.unescaped().chars().any(refused_in_a_sent_text))
}

/// Rest-of-line fields: anything but a newline.
fn rest() -> impl Strategy<Value = String> {
    "[^\n\r]{1,60}"
}

/// The id of a message an action names (1.2): short enough for the
/// action's own id to fit in 64 characters.
fn target() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,52}"
}

/// The words of a `SEARCH` (1.2): not blank, no control character.
fn query() -> impl Strategy<Value = String> {
    rest().prop_filter("words", |q| !q.trim().is_empty() && !q.chars().any(char::is_control))
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (name(), proptest::option::of(name()), rest()).prop_map(|(user, device, password)| Request::Login {
            user,
            device,
            password
        }),
        (name(), name(), id()).prop_map(|(user, device, code)| Request::Pair { user, device, code }),
        Just(Request::Devices),
        (name(), proptest::option::of(rest()))
            .prop_map(|(device, password)| Request::Unlink { device, password }),
        proptest::option::of(rest()).prop_map(|password| Request::Link { password }),
        (name(), prop_oneof![Just(String::new()), "[a-z]{1,8}@[a-z]{1,8}\\.org"], rest())
            .prop_map(|(user, email, password)| Request::Register { user, email, password }),
        (chat(), sent_id(), sent_text()).prop_map(|(to, id, text)| Request::Msg { to, id, text }),
        (chat(), id()).prop_map(|(chat, id)| Request::Read { chat, id }),
        name().prop_map(|room| Request::Join { room }),
        name().prop_map(|room| Request::Leave { room }),
        (chat(), 0usize..100_000).prop_map(|(chat, limit)| Request::History { chat, limit, page: None }),
        (chat(), 0usize..100_000, prop_oneof![Just(Start::Newest), any::<u64>().prop_map(Start::At)])
            .prop_map(|(chat, limit, start)| Request::History { chat, limit, page: Some(start) }),
        (1u16..).prop_map(|port| Request::P2p { port }),
        name().prop_map(|user| Request::Peer { user }),
        name().prop_map(|user| Request::LastSeen { user }),
        name().prop_map(|room| Request::Members { room }),
        Just(Request::Users),
        Just(Request::Rooms),
        Just(Request::Chats),
        Just(Request::Server),
        Just(Request::Info),
        ("[a-zA-Z0-9!$%&*+./=?@^_~-]{1,12}", rest(), any::<bool>())
            .prop_map(|(old, new, keep)| Request::Passwd { old, new, keep }),
        rest().prop_map(|password| Request::DelAccount { password }),
        chat().prop_map(|to| Request::Typing { to }),
        (name(), action()).prop_map(|(room, action)| Request::Moderate { room, action }),
        name().prop_map(|room| Request::RoomInfo { room }),
        (chat(), sent_id(), target(), sent_text()).prop_map(|(to, id, re, text)| Request::Reply {
            to,
            id,
            re,
            text
        }),
        (chat(), target(), sent_text()).prop_map(|(to, id, text)| Request::Edit { to, id, text }),
        (chat(), target(), proptest::option::of(name())).prop_map(|(to, id, author)| Request::Delete {
            to,
            id,
            author
        }),
        (chat(), target(), proptest::sample::select(&REACTIONS[..]))
            .prop_map(|(to, id, emoji)| Request::React { to, id, emoji: emoji.to_string() }),
        (prop_oneof![Just(Scope::All), chat().prop_map(Scope::Chat)], query())
            .prop_map(|(scope, query)| Request::Search { scope, query }),
        Just(Request::Ping),
        Just(Request::Quit),
        // 1.2 (§22): blocks and chat preferences.
        name().prop_map(|user| Request::Block { user }),
        name().prop_map(|user| Request::Unblock { user }),
        Just(Request::Blocks),
        (chat(), level()).prop_map(|(chat, level)| Request::Notify { chat, level }),
        (chat(), any::<bool>()).prop_map(|(chat, pinned)| Request::Pin { chat, pinned }),
        Just(Request::Prefs),
        Just(Request::Files),
        (chat(), name(), id()).prop_map(|(chat, from, id)| Request::FileOf { chat, from, id }),
    ]
}

/// A notification level (1.2, §22).
fn level() -> impl Strategy<Value = wachat::protocol::Level> {
    use wachat::protocol::Level;
    prop_oneof![Just(Level::All), Just(Level::Mentions), Just(Level::None)]
}

/// A topic (1.2): a sent text of at most 512 bytes escaped, without an
/// invisible format character, or empty.
fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        sent_text()
            .prop_map(|t| t.as_escaped().to_string())
            .prop_filter("at most 512 bytes", |t| t.len() <= 512)
            // A topic names the room: no invisible format character.
            .prop_filter("no format character", |t| !t.chars().any(wachat::protocol::escape::is_format)),
    ]
}

fn mode() -> impl Strategy<Value = RoomMode> {
    prop_oneof![Just(RoomMode::Announce), Just(RoomMode::Invite)]
}

/// A moderation request's action (1.2).
fn action() -> impl Strategy<Value = ModAction> {
    let minutes = 1u64..=5_270_400;
    prop_oneof![
        topic().prop_map(ModAction::Topic),
        (mode(), any::<bool>()).prop_map(|(m, on)| ModAction::Mode(m, on)),
        name().prop_map(ModAction::Invite),
        name().prop_map(ModAction::Kick),
        (name(), prop_oneof![Just(0u64), minutes.clone()]).prop_map(|(u, m)| ModAction::Ban(u, m)),
        name().prop_map(ModAction::Unban),
        (name(), minutes).prop_map(|(u, m)| ModAction::Mute(u, m)),
        name().prop_map(ModAction::Unmute),
        name().prop_map(ModAction::Op),
        name().prop_map(ModAction::Deop),
    ]
}

/// A moderation event's change (1.2).
fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        topic().prop_map(Change::Topic),
        (mode(), any::<bool>()).prop_map(|(m, on)| Change::Mode(m, on)),
        name().prop_map(Change::Invited),
        name().prop_map(Change::Kicked),
        (name(), any::<u64>()).prop_map(|(u, t)| Change::Banned(u, t)),
        name().prop_map(Change::Unbanned),
        (name(), any::<u64>()).prop_map(|(u, t)| Change::Muted(u, t)),
        name().prop_map(Change::Unmuted),
        name().prop_map(Change::Opped),
        name().prop_map(Change::Deopped),
    ]
}

/// A line of a `ROOMINFO` reply (1.2).
fn info_line() -> impl Strategy<Value = RoomInfoLine> {
    let role = prop_oneof![
        Just(Role::None),
        Just(Role::Member),
        Just(Role::Admin),
        Just(Role::Owner),
        Just(Role::ServerAdmin)
    ];
    prop_oneof![
        name().prop_map(|r| RoomInfoLine::Room(format!("#{r}"))),
        name().prop_map(RoomInfoLine::Owner),
        name().prop_map(RoomInfoLine::Admin),
        mode().prop_map(RoomInfoLine::Mode),
        topic().prop_map(RoomInfoLine::Topic),
        role.prop_map(RoomInfoLine::Role),
        any::<u64>().prop_map(RoomInfoLine::Muted),
        any::<u64>().prop_map(RoomInfoLine::Banned),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let state = prop_oneof![Just(MsgState::Delivered), Just(MsgState::Read)];
    let to = prop_oneof![name(), name().prop_map(|r| format!("#{r}"))];
    let bye = prop_oneof![
        Just(Bye::Replaced),
        Just(Bye::Shutdown),
        Just(Bye::Timeout),
        Just(Bye::Slow),
        Just(Bye::Unlinked),
        Just(Bye::Disabled)
    ];
    prop_oneof![
        (any::<u64>(), name(), to, id(), any::<u64>(), text())
            .prop_map(|(seq, from, to, id, ts, text)| Event::Msg { seq, from, to, id, ts, text }),
        (any::<u64>(), name(), id(), state, any::<u64>())
            .prop_map(|(seq, peer, id, state, ts)| Event::Status { seq, peer, id, state, ts }),
        name().prop_map(|user| Event::Joined { user }),
        name().prop_map(|user| Event::Left { user }),
        (name(), "[0-9a-f]{32}").prop_map(|(from, token)| Event::P2p { from, token }),
        (name(), name(), any::<bool>()).prop_map(|(room, user, joined)| Event::Member {
            room: format!("#{room}"),
            user,
            joined
        }),
        (name(), prop_oneof![name(), name().prop_map(|r| format!("#{r}"))])
            .prop_map(|(from, to)| Event::Typing { from, to }),
        (name(), name(), change()).prop_map(|(room, by, change)| Event::Moderation {
            room: format!("#{room}"),
            by,
            change
        }),
        (any::<u64>(), prop_oneof![name(), name().prop_map(|r| format!("#{r}"))], id(), any::<u64>())
            .prop_map(|(seq, chat, id, ts)| Event::ReadMark { seq, chat, id, ts }),
        Just(Event::Ping),
        bye.prop_map(Event::Bye),
        (chat(), level(), any::<bool>()).prop_map(|(chat, level, pinned)| Event::Pref(
            wachat::protocol::PrefLine { chat: chat.to_string(), level, pinned }
        )),
        (name(), any::<bool>()).prop_map(|(user, blocked)| Event::Block { user, blocked }),
    ]
}

/// A payload or listing line of a reply, written, and how to read it back.
#[derive(Clone, Debug, PartialEq)]
enum Line {
    Accepted(Accepted),
    Seen(SeenLine),
    Chat(ChatLine),
    Room(RoomLine),
    Peer(PeerIntro),
    History(HistoryLine),
    Device(DeviceLine),
    Info(wachat::protocol::InfoLine),
}

impl Line {
    fn write(&self) -> String {
        match self {
            Line::Accepted(x) => x.to_string(),
            Line::Seen(x) => x.to_string(),
            Line::Chat(x) => x.to_string(),
            Line::Room(x) => x.to_string(),
            Line::Peer(x) => x.to_string(),
            Line::History(x) => x.to_string(),
            Line::Device(x) => x.to_string(),
            Line::Info(x) => x.to_string(),
        }
    }

    /// Parses `line` as the same kind of line as `self`.
    fn read_like(&self, line: &str) -> Result<Line, String> {
        Ok(match self {
            Line::Accepted(_) => Line::Accepted(Accepted::parse(line)?),
            Line::Seen(_) => Line::Seen(SeenLine::parse(line)?),
            Line::Chat(_) => Line::Chat(ChatLine::parse(line)?),
            Line::Room(_) => Line::Room(RoomLine::parse(line)?),
            Line::Peer(_) => Line::Peer(PeerIntro::parse(line)?),
            Line::History(_) => Line::History(HistoryLine::parse(line)?),
            Line::Device(_) => Line::Device(DeviceLine::parse(line)?),
            Line::Info(_) => Line::Info(wachat::protocol::InfoLine::parse(line)?),
        })
    }
}

fn reply_line() -> impl Strategy<Value = Line> {
    let presence = prop_oneof![
        Just(Presence::Online),
        Just(Presence::Unknown),
        any::<u64>().prop_map(Presence::LastSeen)
    ];
    let state = prop_oneof![Just(MsgState::Received), Just(MsgState::Delivered), Just(MsgState::Read)];
    let ip = prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u8; 16]>().prop_map(IpAddr::from)];
    prop_oneof![
        (id(), any::<u64>()).prop_map(|(id, ts)| Line::Accepted(Accepted { id, ts })),
        (name(), presence.clone(), ip.clone())
            .prop_map(|(device, presence, address)| Line::Device(DeviceLine { device, presence, address })),
        (name(), presence).prop_map(|(user, presence)| Line::Seen(SeenLine { user, presence })),
        (chat(), any::<u64>()).prop_map(|(chat, unread)| Line::Chat(ChatLine { chat, unread })),
        (name(), any::<u64>()).prop_map(|(room, members)| Line::Room(RoomLine { room, members })),
        (ip, any::<u16>(), "[0-9a-f]{32}")
            .prop_map(|(ip, port, token)| Line::Peer(PeerIntro { addr: SocketAddr::new(ip, port), token })),
        (name(), chat(), id(), any::<u64>(), state, text()).prop_map(|(from, to, id, ts, state, text)| {
            Line::History(HistoryLine { from, to, id, ts, state, text })
        }),
        ("[a-z0-9_]{1,32}", "[^\\p{Cc}]{0,40}")
            .prop_map(|(key, value)| Line::Info(wachat::protocol::InfoLine { key, value })),
    ]
}

fn peer_frame() -> impl Strategy<Value = PeerFrame> {
    prop_oneof![
        (name(), "[0-9a-f]{32}").prop_map(|(from, token)| PeerFrame::Hello { from, token }),
        (id(), any::<u64>(), text()).prop_map(|(id, ts, text)| PeerFrame::Msg(PeerMsg { id, ts, text })),
        id().prop_map(|id| PeerFrame::Ack { id }),
    ]
}

proptest! {
    #[test]
    fn peer_frames_round_trip(frame in peer_frame()) {
        let line = frame.to_string();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(PeerFrame::parse(&line), Ok(frame));
    }

    #[test]
    fn requests_round_trip(request in request()) {
        let line = request.to_string();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(Request::parse(&line), Ok(request));
    }

    #[test]
    fn events_round_trip(event in event()) {
        prop_assert_eq!(Event::parse(&event.to_string()), Ok(event));
    }

    #[test]
    fn room_info_lines_round_trip(line in info_line()) {
        let written = line.to_string();
        prop_assert!(!written.contains('\n'));
        prop_assert_eq!(RoomInfoLine::parse(&written), Ok(line));
    }

    #[test]
    fn event_replies_round_trip(seq in any::<u64>()) {
        for reply in [EventReply::Ack(seq), EventReply::Pong, EventReply::Version11, EventReply::Version12] {
            prop_assert_eq!(EventReply::parse(&reply.to_string()), Some(reply));
        }
    }

    #[test]
    fn reply_heads_round_trip(fields in rest(), code in 0..Code::ALL.len(), reason in "[^\n\r]{0,60}") {
        let ok = Reply::OkWith(fields);
        prop_assert_eq!(Reply::parse(ok.to_string().trim_end_matches('\n')), Ok(ok));
        let ko = Reply::Ko(Ko::new(Code::ALL[code], reason));
        prop_assert_eq!(Reply::parse(ko.to_string().trim_end_matches('\n')), Ok(ko));
    }

    #[test]
    fn reply_lines_round_trip(line in reply_line()) {
        let written = line.write();
        prop_assert!(!written.contains('\n'));
        prop_assert_eq!(line.read_like(&written), Ok(line.clone()));
        // And inside a reply, as a payload and as a listing.
        let reply = Reply::with(&written);
        prop_assert_eq!(Reply::parse(reply.to_string().trim_end_matches('\n')), Ok(Reply::OkWith(written.clone())));
        prop_assert_eq!(Reply::listing([&written]).to_string(), format!("OK:1\n{written}\n"));
    }

    #[test]
    fn texts_round_trip(plain in "(?s).{1,500}") {
        let text = Text::from_plain(&plain).unwrap();
        prop_assert_eq!(text.unescaped(), plain);
        prop_assert_eq!(Text::parse(text.as_escaped()), Ok(text));
    }

    /// 1.2: `MSG` refuses a text exactly when it holds a refused
    /// character, naming the first one; the lenient parse (events, stored
    /// records) still reads it unchanged.
    #[test]
    fn a_sent_text_is_refused_exactly_for_its_control_characters(
        plain in "(?s)[a-z \t\n\r\u{0}-\u{1f}\u{7f}-\u{a0}\u{2027}-\u{202a}ñ]{1,40}",
    ) {
        let text = Text::from_plain(&plain).unwrap();
        let reply = Request::parse(&format!("MSG:bob:m1:{text}"));
        match plain.chars().find(|&c| refused_in_a_sent_text(c)) {
            Some(c) => {
                let ko = reply.unwrap_err();
                prop_assert_eq!(ko.code, Code::BadRequest);
                let code_point = format!("a text may not hold U+{:04X} (", c as u32);
                prop_assert!(ko.reason.starts_with(&code_point), "{:?}", ko.reason);
            }
            None => prop_assert_eq!(reply, Ok(Request::Msg { to: Chat::User("bob".into()), id: "m1".into(), text: text.clone() })),
        }
        prop_assert_eq!(Text::parse(text.as_escaped()), Ok(text));
    }

    /// Arbitrary lines never panic any parser: they parse or say why not.
    #[test]
    fn parsers_never_panic(line in "[^\n]{0,200}") {
        let _ = Request::parse(&line);
        let _ = Event::parse(&line);
        let _ = Reply::parse(&line);
        let _ = EventReply::parse(&line);
        let _ = Text::parse(&line);
        let _ = PeerFrame::parse(&line);
        let _ = (Accepted::parse(&line), SeenLine::parse(&line), ChatLine::parse(&line));
        let _ = (RoomLine::parse(&line), PeerIntro::parse(&line), HistoryLine::parse(&line));
    }

    /// Arbitrary bytes never panic the framer, and no frame exceeds the limit.
    #[test]
    fn framing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000), limit in 2usize..600) {
        let mut reader = FrameReader::new(&bytes[..], 64, limit);
        loop {
            match reader.read_frame(None) {
                Ok(line) => prop_assert!(line.len() < limit),
                Err(wachat::protocol::FrameError::NotUtf8) => {}
                Err(_) => break,
            }
        }
    }
}

/// Every KO code parses back from its wire spelling, and no two share one.
/// (`Code::ALL` is derived from the enum's declaration by the `codes!`
/// macro: a code cannot be missing from the list parsing uses.)
#[test]
fn every_code_parses_back() {
    let mut spellings = std::collections::HashSet::new();
    for &code in Code::ALL {
        assert_eq!(Code::parse(code.as_str()), Some(code));
        assert!(spellings.insert(code.as_str()), "{code} spelled twice");
    }
}
