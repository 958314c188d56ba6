//! What the user typed, as a [`Command`]: the console's own little grammar,
//! parsed apart from acting on it (as the server keeps `Request::parse`
//! apart from its handlers), so every command and every mistake can be
//! tested without a server.

use crate::protocol::Chat;

/// Most messages `/history` shows at once.
pub const MAX_HISTORY: usize = 1000;

/// One line (or several joined by a trailing `\`) typed at the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// An empty line: nothing to do.
    Nothing,
    /// Plain text: send it to the open chat.
    Say(String),
    /// `/msg`, `/whisper`, `@user: text`: send without changing the open chat.
    Send {
        to: Chat,
        text: String,
    },
    /// `/chat <user|#room>`
    Open(Chat),
    /// `/history [n]`
    History(usize),
    Users,
    Chats,
    Rooms,
    /// `/join <#room>`
    Join(String),
    /// `/leave [#room]`; `None`: the open chat, if it is a room.
    Leave(Option<String>),
    /// `/p2p <user>`: open a direct chat (protocol §8) and make it the open chat.
    P2p(String),
    /// `/hangup [user]`: end a direct chat; `None`: the open chat's.
    HangUp(Option<String>),
    Help,
    /// `/quit`, `/salir`, `/sair`, `@salir`.
    Quit,
}

/// Parses a line. `Err` is a one-line explanation for the user.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(Command::Nothing);
    }
    if line.trim() == "@salir" {
        return Ok(Command::Quit);
    }
    if let Some(rest) = line.strip_prefix('@') {
        return direct(rest);
    }
    let Some(rest) = line.strip_prefix('/') else { return Ok(Command::Say(line.to_string())) };
    let (word, args) = match rest.split_once(char::is_whitespace) {
        Some((word, args)) => (word, args.trim_start()),
        None => (rest, ""),
    };
    let no_args = |command: Command| match args.trim() {
        "" => Ok(command),
        _ => Err(format!("/{word} takes no arguments")),
    };
    match word {
        "chat" => Ok(Command::Open(chat(one_word(args, "/chat <user|#room>")?)?)),
        "msg" | "whisper" => {
            let usage = format!("usage: /{word} <user> <text>");
            let (to, text) = args.split_once(char::is_whitespace).ok_or_else(|| usage.clone())?;
            let to = chat(to)?;
            if word == "whisper" && matches!(to, Chat::Room(_)) {
                return Err("a whisper goes to one user; for a room use /chat <#room>".into());
            }
            message(to, text, &usage)
        }
        "history" => match args.trim() {
            "" => Ok(Command::History(20)),
            n => match n.parse::<usize>() {
                Ok(n) if (1..=MAX_HISTORY).contains(&n) => Ok(Command::History(n)),
                _ => Err(format!("usage: /history [n], n from 1 to {MAX_HISTORY}")),
            },
        },
        "users" => no_args(Command::Users),
        "chats" => no_args(Command::Chats),
        "rooms" => no_args(Command::Rooms),
        "join" => Ok(Command::Join(room(one_word(args, "/join <#room>")?)?)),
        "leave" => match args.trim() {
            "" => Ok(Command::Leave(None)),
            _ => Ok(Command::Leave(Some(room(one_word(args, "/leave [#room]")?)?))),
        },
        "p2p" => Ok(Command::P2p(user(one_word(args, "/p2p <user>")?)?)),
        "hangup" => match args.trim() {
            "" => Ok(Command::HangUp(None)),
            _ => Ok(Command::HangUp(Some(user(one_word(args, "/hangup [user]")?)?))),
        },
        "help" => Ok(Command::Help),
        "quit" | "salir" | "sair" => Ok(Command::Quit),
        "" => Err("a command follows the /: try /help".into()),
        other => Err(format!("unknown command /{other} (try /help)")),
    }
}

/// `@user: text`, the original system's way to write to someone.
fn direct(rest: &str) -> Result<Command, String> {
    let usage = "usage: @user: text";
    let (to, text) = rest.split_once(':').ok_or(usage)?;
    let to = chat(to.trim())?;
    message(to, text.strip_prefix(' ').unwrap_or(text), usage)
}

fn message(to: Chat, text: &str, usage: &str) -> Result<Command, String> {
    if text.trim().is_empty() {
        return Err(usage.to_string());
    }
    Ok(Command::Send { to, text: text.to_string() })
}

/// Exactly one word of arguments.
fn one_word<'a>(args: &'a str, usage: &str) -> Result<&'a str, String> {
    match args.split_whitespace().collect::<Vec<_>>()[..] {
        [word] => Ok(word),
        _ => Err(format!("usage: {usage}")),
    }
}

fn chat(s: &str) -> Result<Chat, String> {
    Chat::parse(s)
}

/// A user, not a room: direct chats are between two people.
fn user(s: &str) -> Result<String, String> {
    match chat(s)? {
        Chat::User(name) => Ok(name),
        Chat::Room(_) => Err(format!("a direct chat is with one user, not a room: {s}")),
    }
}

fn room(s: &str) -> Result<String, String> {
    Chat::parse_room(s).map(|room| format!("#{room}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn err(line: &str) -> String {
        parse(line).unwrap_err()
    }

    #[test]
    fn every_command() {
        let bob = Chat::User("bob".into());
        assert_eq!(ok(""), Command::Nothing);
        assert_eq!(ok("hola, qué tal"), Command::Say("hola, qué tal".into()));
        assert_eq!(ok("/chat bob"), Command::Open(bob.clone()));
        assert_eq!(ok("/chat #general"), Command::Open(Chat::Room("general".into())));
        let send = Command::Send { to: bob.clone(), text: "hi there".into() };
        assert_eq!(ok("/msg bob hi there"), send);
        assert_eq!(ok("/whisper bob hi there"), send);
        assert_eq!(ok("@bob: hi there"), send);
        assert_eq!(ok("@bob:hi there"), send);
        assert_eq!(ok("/history"), Command::History(20));
        assert_eq!(ok("/history 5"), Command::History(5));
        assert_eq!(ok("/users"), Command::Users);
        assert_eq!(ok("/chats"), Command::Chats);
        assert_eq!(ok("/rooms"), Command::Rooms);
        assert_eq!(ok("/join #Tea"), Command::Join("#Tea".into()));
        assert_eq!(ok("/leave"), Command::Leave(None));
        assert_eq!(ok("/leave #tea"), Command::Leave(Some("#tea".into())));
        assert_eq!(ok("/p2p bob"), Command::P2p("bob".into()));
        assert_eq!(ok("/hangup"), Command::HangUp(None));
        assert_eq!(ok("/hangup bob"), Command::HangUp(Some("bob".into())));
        assert_eq!(ok("/help"), Command::Help);
        for quit in ["/quit", "/salir", "/sair", "@salir"] {
            assert_eq!(ok(quit), Command::Quit);
        }
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(err("/frobnicate"), "unknown command /frobnicate (try /help)");
        assert_eq!(err("/chat"), "usage: /chat <user|#room>");
        assert_eq!(err("/chat bob ana"), "usage: /chat <user|#room>");
        assert!(err("/chat b@d").contains("not allowed in a name"));
        assert_eq!(err("/msg bob"), "usage: /msg <user> <text>");
        assert!(err("/whisper #general hi").contains("one user"));
        assert_eq!(err("@bob hi"), "usage: @user: text");
        assert_eq!(err("@bob:   "), "usage: @user: text");
        assert_eq!(err("/history lots"), "usage: /history [n], n from 1 to 1000");
        assert_eq!(err("/history 0"), "usage: /history [n], n from 1 to 1000");
        assert!(err("/join general").contains("starts with '#'"));
        assert_eq!(err("/users now"), "/users takes no arguments");
        assert_eq!(err("/p2p"), "usage: /p2p <user>");
        assert!(err("/p2p #general").contains("not a room"));
        assert_eq!(err("/hangup bob ana"), "usage: /hangup [user]");
        assert_eq!(err("/"), "a command follows the /: try /help");
    }
}
