//! How the console shows things: one function per kind of line, pure
//! (string in, string out) so each can be tested and changed in one place,
//! and the [`Printer`] that puts lines on the screen.
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
    /// Prints one line (or several, for a multi-line message).
    pub fn line(&self, text: &str) {
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
pub fn message(me: &str, m: &Message) -> String {
    let text = indent(&m.text.unescaped());
    let mine = m.is_from(me);
    let line = match (&m.to, mine) {
        (Chat::Room(_), true) => format!("[{}] you: {text}", m.to),
        (Chat::Room(_), false) => format!("[{}] {}: {text}", m.to, m.from),
        (Chat::User(to), true) => format!("you → {to}: {text}"),
        (Chat::User(_), false) => format!("{}: {text}", m.from),
    };
    let line = if m.p2p { format!("[p2p] {line}") } else { line };
    match (&m.refused, mine) {
        (Some(reason), _) => format!("{line} ✗ ({reason})"),
        (None, true) => format!("{line} {}", m.state.ticks()),
        (None, false) => line,
    }
}

/// A notice from the client as a line. `lookup` finds the text of your message by id, so that a state
/// change can quote it.
pub fn notice(me: &str, n: &Notice, lookup: impl Fn(&str) -> Option<Message>) -> String {
    match n {
        Notice::Message(m) | Notice::Sent(m) => message(me, m),
        Notice::State { to, id, state } => state_change(to, *state, lookup(id).as_ref()),
        Notice::Refused { to, reason, .. } => format!("  ✗ not delivered to {to}: {reason}"),
        Notice::Joined(user) => format!("{user} is online"),
        Notice::Left(user) => format!("{user} went offline"),
        Notice::Offline(why) => format!("(offline: {why}; retrying, messages wait in the outbox)"),
        Notice::Online => "(back online)".to_string(),
        Notice::Replaced => {
            "(you logged in somewhere else: this console no longer receives messages)".to_string()
        }
        Notice::P2pOpened { peer, incoming: true } => {
            format!("[p2p] {peer} opened a direct chat with you: your messages to {peer} skip the server")
        }
        Notice::P2pOpened { peer, incoming: false } => {
            format!("[p2p] direct chat with {peer} open: your messages to {peer} skip the server")
        }
        Notice::P2pClosed { peer, why, resent: 0 } => {
            format!("[p2p] direct chat with {peer} ended ({why}); messages go through the server again")
        }
        Notice::P2pClosed { peer, why, resent } => format!(
            "[p2p] direct chat with {peer} ended ({why}); {resent} unacknowledged message(s) resent through the server"
        ),
    }
}

/// The one line saying a direct chat could not be made, and what happens
/// instead: the user must know the server will see these messages.
pub fn no_direct_chat(peer: &str, why: &str) -> String {
    format!("[p2p] no direct chat with {peer} ({why}); your messages to {peer} go through the server")
}

/// `  ✓✓ read  (to bob: hola)`: compact, one line per change.
fn state_change(to: &Chat, state: State, m: Option<&Message>) -> String {
    let ticks = state.ticks();
    match m {
        Some(m) => format!("  {ticks}  (to {to}: {})", excerpt(&m.text.unescaped())),
        None => format!("  {ticks}  (to {to})"),
    }
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

/// The `/help` text.
pub const HELP: &str = "\
commands:
  <text>                  send to the open chat (a line ending in \\ continues)
  /chat <user|#room>      open a chat and show its last 20 messages
  /msg <user> <text>      send a direct message (also /whisper, @user: text)
  /p2p <user>             open a peer-to-peer chat with user: the server only introduces you
  /hangup [user]          end the peer-to-peer chat (default: the open one)
  /users                  who is online
  /chats                  your conversations, with unread counts
  /history [n]            the last n messages of the open chat (default 20)
  /join <#room>           join (or create) a room
  /leave [#room]          leave a room (default: the open one)
  /rooms                  the rooms you are in
  /help                   this help
  /quit                   leave (also /salir, /sair, @salir)
ticks: … on its way   ✓ on the server   ✓✓ delivered   ✓✓ read   [p2p] went peer to peer";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Text;

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
        assert_eq!(message("ana", &m("bob", "ana", "hola", State::Delivered)), "bob: hola");
        assert_eq!(message("ana", &m("ana", "bob", "hola", State::Sent)), "you → bob: hola …");
        assert_eq!(message("ana", &m("Ana", "bob", "hi", State::Read)), "you → bob: hi ✓✓ read");
        assert_eq!(message("ana", &m("bob", "#general", "hi", State::Received)), "[#general] bob: hi");
        assert_eq!(message("ana", &m("ana", "#general", "hi", State::Received)), "[#general] you: hi ✓");
        assert_eq!(message("ana", &m("bob", "ana", "one\ntwo", State::Delivered)), "bob: one\n    two");
        let mut refused = m("ana", "zed", "hi", State::Sent);
        refused.refused = Some("no such user".into());
        assert_eq!(message("ana", &refused), "you → zed: hi ✗ (no such user)");
    }

    #[test]
    fn state_changes_are_one_short_line() {
        let sent = m("ana", "bob", "a rather long message that goes on and on", State::Sent);
        let n = Notice::State { to: Chat::User("bob".into()), id: "m1".into(), state: State::Read };
        let line = notice("ana", &n, |_| Some(sent.clone()));
        assert_eq!(line, "  ✓✓ read  (to bob: a rather long message that goe…)");
        assert_eq!(notice("ana", &n, |_| None), "  ✓✓ read  (to bob)");
        assert_eq!(notice("ana", &Notice::Joined("bob".into()), |_| None), "bob is online");
        assert_eq!(notice("ana", &Notice::Left("bob".into()), |_| None), "bob went offline");
    }

    #[test]
    fn direct_chats_are_marked_p2p() {
        let direct = |m: Message| Message { p2p: true, ..m };
        assert_eq!(message("ana", &direct(m("bob", "ana", "hola", State::Delivered))), "[p2p] bob: hola");
        assert_eq!(message("ana", &direct(m("ana", "bob", "hi", State::Sent))), "[p2p] you → bob: hi …");
        let closed =
            Notice::P2pClosed { peer: "bob".into(), why: "bob closed the connection".into(), resent: 2 };
        assert_eq!(
            notice("ana", &closed, |_| None),
            "[p2p] direct chat with bob ended (bob closed the connection); \
             2 unacknowledged message(s) resent through the server"
        );
        let opened = Notice::P2pOpened { peer: "ana".into(), incoming: true };
        assert!(notice("bob", &opened, |_| None).starts_with("[p2p] ana opened a direct chat with you"));
        assert_eq!(no_direct_chat("bob", "bob is offline").lines().count(), 1);
    }
}
