//! Property tests of the wire grammar: for every frame type,
//! `parse(format(x)) == x`, and no input whatsoever makes a parser panic.

use proptest::prelude::*;
use wachat::protocol::{
    Bye, Chat, Code, Event, EventReply, FrameReader, Ko, PeerFrame, PeerMsg, Reply, Request, State, Text,
};

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,32}"
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

fn chat() -> impl Strategy<Value = Chat> {
    prop_oneof![name().prop_map(Chat::User), name().prop_map(Chat::Room)]
}

/// Any text a user could type, newlines and backslashes included.
fn text() -> impl Strategy<Value = Text> {
    "(?s).{1,300}".prop_filter_map("1-4096 bytes", |plain: String| Text::from_plain(&plain).ok())
}

/// Rest-of-line fields: anything but a newline.
fn rest() -> impl Strategy<Value = String> {
    "[^\n\r]{1,60}"
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (name(), rest()).prop_map(|(user, password)| Request::Login { user, password }),
        (name(), prop_oneof![Just(String::new()), "[a-z]{1,8}@[a-z]{1,8}\\.org"], rest())
            .prop_map(|(user, email, password)| Request::Register { user, email, password }),
        (chat(), id(), text()).prop_map(|(to, id, text)| Request::Msg { to, id, text }),
        (chat(), id()).prop_map(|(chat, id)| Request::Read { chat, id }),
        name().prop_map(|room| Request::Join { room }),
        name().prop_map(|room| Request::Leave { room }),
        (chat(), 0usize..100_000).prop_map(|(chat, limit)| Request::History { chat, limit }),
        (1u16..).prop_map(|port| Request::P2p { port }),
        name().prop_map(|user| Request::Peer { user }),
        name().prop_map(|user| Request::LastSeen { user }),
        name().prop_map(|room| Request::Members { room }),
        Just(Request::Users),
        Just(Request::Rooms),
        Just(Request::Chats),
        Just(Request::Server),
        Just(Request::Ping),
        Just(Request::Quit),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let state = prop_oneof![Just(State::Delivered), Just(State::Read)];
    let to = prop_oneof![name(), name().prop_map(|r| format!("#{r}"))];
    let bye = prop_oneof![Just(Bye::Replaced), Just(Bye::Shutdown), Just(Bye::Timeout), Just(Bye::Slow)];
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
        Just(Event::Ping),
        bye.prop_map(Event::Bye),
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
    fn event_replies_round_trip(seq in any::<u64>()) {
        for reply in [EventReply::Ack(seq), EventReply::Pong, EventReply::Version11] {
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
    fn texts_round_trip(plain in "(?s).{1,500}") {
        let text = Text::from_plain(&plain).unwrap();
        prop_assert_eq!(text.unescaped(), plain);
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
