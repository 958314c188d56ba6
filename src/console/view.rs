//! How the console shows things: one function per kind of line, pure
//! (language and data in, string out) so each can be tested and changed in
//! one place, and the [`Printer`] that puts lines on the screen. The words
//! are the catalogue's ([`crate::i18n::console`]); in Spanish `you` is
//! `tú`, in Portuguese `você`.
//!
//! ```text
//! bob: hola                           a direct message to you
//! [#general] ana: hi all              a room message
//! you → bob: hola …                   your message, as you send it
//!   ✓✓ read  (to bob: hola)           a change of its state
//! ana is online / ana went offline    presence
//! [p2p] bob: hola                     a message of a direct chat (no server)
//! ```

use parking_lot::Mutex;
use rustyline::ExternalPrinter;

use crate::client::{Message, Notice};
use crate::i18n::console::{Msg, ticks};
use crate::i18n::{Lang, tr};
use crate::protocol::{Chat, State};

/// Longest excerpt of a text quoted in a state line.
const EXCERPT: usize = 30;

/// Where console lines go.
pub enum Printer {
    /// Piped stdin: plain lines on stdout.
    Plain,
    /// A terminal: rustyline's printer writes above the line being typed.
    Editor(Mutex<Box<dyn ExternalPrinter + Send>>),
}

impl Printer {
    /// Prints one line (or several, for a multi-line message), with every
    /// control character made visible ([`crate::display::visible`]): the
    /// one door to the screen, whatever the line quotes.
    pub fn line(&self, text: &str) {
        let text = crate::display::visible(text);
        match self {
            Printer::Plain => {
                use std::io::Write;
                // stdout is line-buffered; a closed stdout only loses output.
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
            Printer::Editor(printer) => {
                if printer.lock().print(format!("{text}\n")).is_err() {
                    println!("{text}");
                }
            }
        }
    }
}

/// A message as a chat line. `me` decides between "you" and a name.
pub fn message(lang: Lang, me: &str, m: &Message) -> String {
    let text = indent(&m.text.unescaped());
    let mine = m.is_from(me);
    let line = match (&m.to, mine) {
        (Chat::Room(_), true) => tr!(in lang; Msg::MineInRoom, room = m.to, text = text),
        (Chat::Room(_), false) => format!("[{}] {}: {text}", m.to, m.from),
        (Chat::User(to), true) => tr!(in lang; Msg::MineToUser, to = to, text = text),
        (Chat::User(_), false) => format!("{}: {text}", m.from),
    };
    let line = if m.p2p { format!("[p2p] {line}") } else { line };
    match (&m.refused, mine) {
        // The reason is the server's, as the local log kept it.
        (Some(reason), _) => format!("{line} ✗ ({reason})"),
        (None, true) => format!("{line} {}", ticks(lang, m.state)),
        (None, false) => line,
    }
}

/// A notice from the client as a line. `lookup` finds the text of your
/// message by id, so that a state change can quote it.
pub fn notice(lang: Lang, me: &str, n: &Notice, lookup: impl Fn(&str) -> Option<Message>) -> String {
    match n {
        Notice::Message(m) | Notice::Sent(m) => message(lang, me, m),
        Notice::State { to, id, state } => state_change(lang, to, *state, lookup(id).as_ref()),
        Notice::Refused { to, code, reason, .. } => {
            let meaning = crate::i18n::client::ko_meaning_in(lang, *code);
            tr!(in lang; Msg::NotDelivered, to = to, meaning = meaning, reason = reason)
        }
        Notice::Joined(user) => tr!(in lang; Msg::IsOnline, user = user),
        Notice::Left(user) => tr!(in lang; Msg::WentOffline, user = user),
        Notice::Member { room, user, joined: true } => {
            tr!(in lang; Msg::MemberJoined, room = room, user = user)
        }
        Notice::Member { room, user, joined: false } => {
            tr!(in lang; Msg::MemberLeft, room = room, user = user)
        }
        Notice::Offline(why) => tr!(in lang; Msg::Offline, why = why),
        Notice::Online => tr!(in lang; Msg::BackOnline),
        Notice::Replaced => tr!(in lang; Msg::Replaced),
        Notice::P2pOpened { peer, incoming: true } => tr!(in lang; Msg::P2pOpenedByPeer, peer = peer),
        Notice::P2pOpened { peer, incoming: false } => tr!(in lang; Msg::P2pOpened, peer = peer),
        Notice::P2pClosed { peer, why, resent: 0 } => tr!(in lang; Msg::P2pEnded, peer = peer, why = why),
        Notice::P2pClosed { peer, why, resent } => {
            tr!(in lang; Msg::P2pEndedResent, peer = peer, why = why, n = resent)
        }
    }
}

/// The one line saying a direct chat could not be made, and what happens
/// instead: the user must know the server will see these messages.
pub fn no_direct_chat(lang: Lang, peer: &str, why: &str) -> String {
    tr!(in lang; Msg::NoDirectChat, peer = peer, why = why)
}

/// `  ✓✓ read  (to bob: hola)`: compact, one line per change.
fn state_change(lang: Lang, to: &Chat, state: State, m: Option<&Message>) -> String {
    let ticks = ticks(lang, state);
    match m {
        Some(m) => {
            let excerpt = excerpt(&m.text.unescaped());
            tr!(in lang; Msg::StateOfMessage, ticks = ticks, to = to, excerpt = excerpt)
        }
        None => tr!(in lang; Msg::StateOfUnknown, ticks = ticks, to = to),
    }
}

/// The `/help` text.
pub fn help(lang: Lang) -> &'static str {
    Msg::Help.text(lang)
}

/// The first line of a text, cut at 30 characters (`EXCERPT`).
pub fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    if first.chars().count() > EXCERPT || first.len() < text.len() {
        format!("{}…", first.chars().take(EXCERPT).collect::<String>())
    } else {
        first.to_string()
    }
}

/// Continuation lines of a multi-line message, indented under the first.
fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Code, Text};

    const EN: Lang = Lang::En;

    fn m(from: &str, to: &str, text: &str, state: State) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: "m1".into(),
            ts: 1,
            state,
            text: Text::from_plain(text).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    #[test]
    fn messages_read_like_a_chat() {
        assert_eq!(message(EN, "ana", &m("bob", "ana", "hola", State::Delivered)), "bob: hola");
        assert_eq!(message(EN, "ana", &m("ana", "bob", "hola", State::Sent)), "you → bob: hola …");
        assert_eq!(message(EN, "ana", &m("Ana", "bob", "hi", State::Read)), "you → bob: hi ✓✓ read");
        assert_eq!(message(EN, "ana", &m("bob", "#general", "hi", State::Received)), "[#general] bob: hi");
        assert_eq!(message(EN, "ana", &m("ana", "#general", "hi", State::Received)), "[#general] you: hi ✓");
        assert_eq!(message(EN, "ana", &m("bob", "ana", "one\ntwo", State::Delivered)), "bob: one\n    two");
        let mut refused = m("ana", "zed", "hi", State::Sent);
        refused.refused = Some("no such user".into());
        assert_eq!(message(EN, "ana", &refused), "you → zed: hi ✗ (no such user)");
    }

    #[test]
    fn state_changes_are_one_short_line() {
        let sent = m("ana", "bob", "a rather long message that goes on and on", State::Sent);
        let n = Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state: State::Read };
        let line = notice(EN, "ana", &n, |_| Some(sent.clone()));
        assert_eq!(line, "  ✓✓ read  (to bob: a rather long message that goe…)");
        assert_eq!(notice(EN, "ana", &n, |_| None), "  ✓✓ read  (to bob)");
        assert_eq!(notice(EN, "ana", &Notice::Joined("bob".into()), |_| None), "bob is online");
        assert_eq!(notice(EN, "ana", &Notice::Left("bob".into()), |_| None), "bob went offline");
    }

    #[test]
    fn direct_chats_are_marked_p2p() {
        let direct = |m: Message| Message { p2p: true, ..m };
        assert_eq!(message(EN, "ana", &direct(m("bob", "ana", "hola", State::Delivered))), "[p2p] bob: hola");
        assert_eq!(message(EN, "ana", &direct(m("ana", "bob", "hi", State::Sent))), "[p2p] you → bob: hi …");
        let closed =
            Notice::P2pClosed { peer: "bob".into(), why: "bob closed the connection".into(), resent: 2 };
        assert_eq!(
            notice(EN, "ana", &closed, |_| None),
            "[p2p] direct chat with bob ended (bob closed the connection); \
             2 unacknowledged message(s) resent through the server"
        );
        let opened = Notice::P2pOpened { peer: "ana".into(), incoming: true };
        assert!(notice(EN, "bob", &opened, |_| None).starts_with("[p2p] ana opened a direct chat with you"));
        assert_eq!(no_direct_chat(EN, "bob", "bob is offline").lines().count(), 1);
    }

    #[test]
    fn lines_speak_spanish_and_portuguese() {
        let mine = m("ana", "bob", "hola", State::Read);
        assert_eq!(message(Lang::Es, "ana", &mine), "tú → bob: hola ✓✓ leído");
        assert_eq!(message(Lang::Pt, "ana", &mine), "você → bob: hola ✓✓ lido");
        let room = m("ana", "#general", "oi", State::Received);
        assert_eq!(message(Lang::Pt, "ana", &room), "[#general] você: oi ✓");
        let n = Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state: State::Read };
        assert_eq!(notice(Lang::Es, "ana", &n, |_| Some(mine.clone())), "  ✓✓ leído  (a bob: hola)");
        assert_eq!(notice(Lang::Pt, "ana", &n, |_| None), "  ✓✓ lido  (para bob)");
        assert_eq!(notice(Lang::Es, "ana", &Notice::Joined("bob".into()), |_| None), "bob está en línea");
        assert_eq!(notice(Lang::Pt, "ana", &Notice::Left("bob".into()), |_| None), "bob ficou offline");
        // A refusal: the code's meaning translated, the server's reason as it came.
        let refused = Notice::Refused {
            to: Chat::User("zed".into()),
            id: "m1".into(),
            code: Code::UnknownUser,
            reason: "no user named zed".into(),
        };
        assert_eq!(
            notice(Lang::Es, "ana", &refused, |_| None),
            "  ✗ no entregado a zed (ese usuario no existe): no user named zed"
        );
        assert!(help(Lang::Pt).starts_with("comandos:\n"));
        assert!(help(Lang::Es).contains("/chat <usuario|#sala>"));
    }
}
