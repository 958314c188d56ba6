//! What the user typed, as a [`Typed`]: the console's own little grammar,
//! parsed apart from acting on it (as the server keeps `Request::parse`
//! apart from its handlers), so every command and every mistake can be
//! tested without a server. Its explanations are in the user's language
//! ([`crate::i18n::console`]); the commands themselves are the same words
//! in every language (`/salir` and `/sair` are only extra ways to quit).

use crate::i18n::console::Msg;
use crate::i18n::{Lang, client::parse_chat, tr};
use crate::protocol::Chat;

/// Most messages `/history` shows at once: past the 1,000 one `HISTORY`
/// lists, the server's pages (protocol 1.2) are read back, one `HISTORY`
/// of 1,000 after another (`client::pages`).
pub const MAX_HISTORY: usize = 100_000;

/// One line (or several joined by a trailing `\`) typed at the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
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
    /// 1.2: `/people <start of a name>`, the people to open a chat with.
    People(String),
    Users,
    Chats,
    Rooms,
    /// `/members [#room]`; `None`: the open chat, if it is a room.
    Members(Option<String>),
    /// `/join <#room>`
    Join(String),
    /// `/leave [#room]`; `None`: the open chat, if it is a room.
    Leave(Option<String>),
    /// `/p2p <user>`: open a direct chat (protocol §8) and make it the open chat.
    P2p(String),
    /// `/hangup [user]`: end a direct chat; `None`: the open chat's.
    HangUp(Option<String>),
    /// `/devices`: this account's devices (protocol 1.2).
    Devices,
    /// `/info`: the server's rules (retention, quota, limits).
    Info,
    /// 1.2 (§31): `/info N`: who has your room message `N` (`console::receipts`).
    MessageInfo(usize),
    Help,
    /// 1.2: `/topic`, `/mode`, `/kick`, `/roominfo` … (see `console::moderation`).
    Moderation(super::moderation::ModCommand),
    /// `/quit`, `/salir`, `/sair`, `@salir`.
    Quit,
    /// 1.2: `/reply`, `/edit`, `/delete`, `/react`, `/search` (`console::actions`).
    Action(super::actions::MessageAction),
    /// 1.2: `/passwd [keep]` (`console::account`).
    Account(super::account::AccountCommand),
    /// 1.2: `/block`, `/notify`, `/pin`, `/prefs` … (`console::prefs`).
    Prefs(super::prefs::PrefCommand),
    /// 1.2 (§30): `/profile`, `/name`, `/photo`, `/privacy` (`console::profile`).
    Profile(super::profile::ProfileCommand),
    /// 1.2: `/file PATH [caption]`, `/save N [PATH]` (`console::files`).
    File(super::files::FileCommand),
    /// 1.2: `/star N`, `/unstar N`, `/starred` (`console::stars`).
    Star(super::stars::StarCommand),
}

/// Parses a line. `Err` is a one-line explanation for the user, in `lang`.
pub fn parse(lang: Lang, line: &str) -> Result<Typed, String> {
    Parser { lang }.parse(line)
}

/// The language the explanations are written in.
struct Parser {
    lang: Lang,
}

impl Parser {
    /// What kind of line this is: empty, `@`, plain text, or a `/command`.
    fn parse(&self, line: &str) -> Result<Typed, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Ok(Typed::Nothing);
        }
        if line.trim() == "@salir" {
            return Ok(Typed::Quit);
        }
        if let Some(rest) = line.strip_prefix('@') {
            return self.direct(rest);
        }
        let Some(rest) = line.strip_prefix('/') else { return Ok(Typed::Say(line.to_string())) };
        match rest.split_once(char::is_whitespace) {
            Some((word, args)) => self.command(word, args.trim_start()),
            None => self.command(rest, ""),
        }
    }

    /// `/word args`: one arm per command; the 1.2 families (actions,
    /// files, account, preferences, moderation) parse their own words.
    fn command(&self, word: &str, args: &str) -> Result<Typed, String> {
        let lang = self.lang;
        let no_args = |command: Typed| match args.trim() {
            "" => Ok(command),
            _ => Err(tr!(in lang; Msg::TakesNoArguments, command = format!("/{word}"))),
        };
        let one_word = |usage: Msg| self.one_word(args, usage);
        match word {
            "chat" => Ok(Typed::Open(parse_chat(lang, one_word(Msg::UsageChat)?)?)),
            "msg" | "whisper" => self.msg(word, args),
            "history" => self.history(args),
            "users" => no_args(Typed::Users),
            "people" => Ok(Typed::People(self.user(one_word(Msg::UsagePeople)?)?)),
            "chats" => no_args(Typed::Chats),
            "rooms" => no_args(Typed::Rooms),
            "info" => Ok(super::receipts::parse(lang, args)?.map_or(Typed::Info, Typed::MessageInfo)),
            "members" => optional(args, || room(lang, one_word(Msg::UsageMembers)?)).map(Typed::Members),
            "join" => Ok(Typed::Join(room(lang, one_word(Msg::UsageJoin)?)?)),
            "leave" => optional(args, || room(lang, one_word(Msg::UsageLeave)?)).map(Typed::Leave),
            "p2p" => Ok(Typed::P2p(self.user(one_word(Msg::UsageP2p)?)?)),
            "hangup" => optional(args, || self.user(one_word(Msg::UsageHangUp)?)).map(Typed::HangUp),
            "reply" | "edit" | "delete" | "react" | "search" => {
                super::actions::parse(lang, word, args).expect("one of its words").map(Typed::Action)
            }
            word if super::files::WORDS.contains(&word) => {
                super::files::parse(lang, word, args).map(Typed::File)
            }
            word if super::account::WORDS.contains(&word) => {
                super::account::parse(lang, word, args).map(Typed::Account)
            }
            word if super::stars::WORDS.contains(&word) => {
                super::stars::parse(lang, word, args).map(Typed::Star)
            }
            word if super::prefs::WORDS.contains(&word) => {
                super::prefs::parse(lang, word, args).map(Typed::Prefs)
            }
            word if super::profile::WORDS.contains(&word) => {
                super::profile::parse(lang, word, args).map(Typed::Profile)
            }
            "devices" => no_args(Typed::Devices),
            "unlink" => {
                let device = one_word(Msg::UsageUnlink)?;
                crate::client::device::check(lang, device)?;
                Ok(Typed::Account(super::account::AccountCommand::Ask(super::account::Dialog::Unlink(
                    device.to_string(),
                ))))
            }
            "help" => Ok(Typed::Help),
            word if super::moderation::WORDS.contains(&word) => {
                super::moderation::parse(lang, word, args).map(Typed::Moderation)
            }
            "quit" | "salir" | "sair" => Ok(Typed::Quit),
            "" => Err(tr!(in lang; Msg::NothingAfterSlash)),
            other => Err(tr!(in lang; Msg::UnknownCommand, command = format!("/{other}"))),
        }
    }

    /// `/msg <user|#room> <text>`, `/whisper <user> <text>`.
    fn msg(&self, word: &str, args: &str) -> Result<Typed, String> {
        let usage = self.usage(&tr!(in self.lang; Msg::UsageMsg, command = format!("/{word}")));
        let (to, text) = args.split_once(char::is_whitespace).ok_or_else(|| usage.clone())?;
        let to = parse_chat(self.lang, to)?;
        if word == "whisper" && matches!(to, Chat::Room(_)) {
            return Err(tr!(in self.lang; Msg::WhisperToRoom));
        }
        message(to, text, &usage)
    }

    /// `/history [n]`: 20 unless said, at most [`MAX_HISTORY`].
    fn history(&self, args: &str) -> Result<Typed, String> {
        match args.trim() {
            "" => Ok(Typed::History(20)),
            n => match n.parse::<usize>() {
                Ok(n) if (1..=MAX_HISTORY).contains(&n) => Ok(Typed::History(n)),
                _ => Err(self.usage(&tr!(in self.lang; Msg::UsageHistory, max = MAX_HISTORY))),
            },
        }
    }

    /// `@user: text`, the original system's way to write to someone.
    fn direct(&self, rest: &str) -> Result<Typed, String> {
        let usage = self.usage(Msg::UsageAt.text(self.lang));
        let (to, text) = rest.split_once(':').ok_or_else(|| usage.clone())?;
        let to = parse_chat(self.lang, to.trim())?;
        message(to, text.strip_prefix(' ').unwrap_or(text), &usage)
    }

    /// `usage: /chat <user|#room>`
    fn usage(&self, synopsis: &str) -> String {
        tr!(in self.lang; Msg::Usage, usage = synopsis)
    }

    /// Exactly one word of arguments, else the usage of the command.
    fn one_word<'a>(&self, args: &'a str, usage: Msg) -> Result<&'a str, String> {
        match args.split_whitespace().collect::<Vec<_>>()[..] {
            [word] => Ok(word),
            _ => Err(self.usage(usage.text(self.lang))),
        }
    }

    /// A user, not a room: direct chats are between two people.
    fn user(&self, s: &str) -> Result<String, String> {
        match parse_chat(self.lang, s)? {
            Chat::User(name) => Ok(name),
            Chat::Room(_) => Err(tr!(in self.lang; Msg::DirectChatWithRoom, name = s)),
        }
    }
}

fn message(to: Chat, text: &str, usage: &str) -> Result<Typed, String> {
    if text.trim().is_empty() {
        return Err(usage.to_string());
    }
    Ok(Typed::Send { to, text: text.to_string() })
}

/// An optional argument: `None` if there are none (the command means the
/// open chat), else what `parse` makes of them.
fn optional<T>(args: &str, parse: impl FnOnce() -> Result<T, String>) -> Result<Option<T>, String> {
    match args.trim() {
        "" => Ok(None),
        _ => parse().map(Some),
    }
}

fn room(lang: Lang, s: &str) -> Result<String, String> {
    crate::i18n::client::parse_room(lang, s).map(|room| format!("#{room}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Typed {
        parse(Lang::En, line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn err(line: &str) -> String {
        parse(Lang::En, line).unwrap_err()
    }

    #[test]
    fn every_command() {
        let bob = Chat::User("bob".into());
        assert_eq!(ok(""), Typed::Nothing);
        assert_eq!(ok("hola, qué tal"), Typed::Say("hola, qué tal".into()));
        assert_eq!(ok("/chat bob"), Typed::Open(bob.clone()));
        assert_eq!(ok("/chat #general"), Typed::Open(Chat::Room("general".into())));
        let send = Typed::Send { to: bob.clone(), text: "hi there".into() };
        assert_eq!(ok("/msg bob hi there"), send);
        assert_eq!(ok("/whisper bob hi there"), send);
        assert_eq!(ok("@bob: hi there"), send);
        assert_eq!(ok("@bob:hi there"), send);
        assert_eq!(ok("/history"), Typed::History(20));
        assert_eq!(ok("/history 5"), Typed::History(5));
        assert_eq!(ok("/users"), Typed::Users);
        assert_eq!(ok("/people Bo"), Typed::People("Bo".into()));
        assert_eq!(ok("/people bo@lab2"), Typed::People("bo@lab2".into()));
        assert_eq!(err("/people"), "usage: /people <start of a name>");
        assert!(err("/people #lab").contains("#lab"), "{}", err("/people #lab"));
        assert_eq!(ok("/chats"), Typed::Chats);
        assert_eq!(ok("/rooms"), Typed::Rooms);
        assert_eq!(ok("/info"), Typed::Info);
        assert_eq!(ok("/members"), Typed::Members(None));
        assert_eq!(ok("/members #Tea"), Typed::Members(Some("#Tea".into())));
        assert_eq!(ok("/join #Tea"), Typed::Join("#Tea".into()));
        assert_eq!(ok("/leave"), Typed::Leave(None));
        assert_eq!(ok("/leave #tea"), Typed::Leave(Some("#tea".into())));
        assert_eq!(ok("/p2p bob"), Typed::P2p("bob".into()));
        assert_eq!(ok("/hangup"), Typed::HangUp(None));
        assert_eq!(ok("/hangup bob"), Typed::HangUp(Some("bob".into())));
        assert_eq!(ok("/devices"), Typed::Devices);
        let unlink = super::super::account::Dialog::Unlink("old-laptop".into());
        assert_eq!(
            ok("/unlink old-laptop"),
            Typed::Account(super::super::account::AccountCommand::Ask(unlink))
        );
        let link = super::super::account::AccountCommand::Ask(super::super::account::Dialog::Link);
        assert_eq!(ok("/link"), Typed::Account(link));
        assert_eq!(ok("/help"), Typed::Help);
        for quit in ["/quit", "/salir", "/sair", "@salir"] {
            assert_eq!(ok(quit), Typed::Quit);
        }
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(err("/frobnicate"), "unknown command /frobnicate (try /help)");
        assert_eq!(err("/chat"), "usage: /chat <user|#room>");
        assert_eq!(err("/chat bob ana"), "usage: /chat <user|#room>");
        assert!(err("/chat b!d").contains("not allowed in a name"));
        // 1.3: a user of another server of the class network (§27).
        assert_eq!(ok("/chat bob@lab2"), Typed::Open(Chat::User("bob@lab2".into())));
        assert_eq!(ok("/chat #lab@lab2"), Typed::Open(Chat::Room("lab@lab2".into())));
        assert_eq!(ok("/join #lab@lab2"), Typed::Join("#lab@lab2".into()));
        assert_eq!(
            err("/join #lab@"),
            "bad room address \"#lab@\" (#room@server): a name has 1 to 32 characters: \"\""
        );
        assert_eq!(
            err("/chat bob@"),
            "bad address \"bob@\" (user@server): a name has 1 to 32 characters: \"\""
        );
        assert!(
            err("/chat b!d@lab2").starts_with("bad address \"b!d@lab2\" (user@server): '!' is not allowed")
        );
        assert_eq!(err("/msg bob"), "usage: /msg <user> <text>");
        assert!(err("/whisper #general hi").contains("one user"));
        assert_eq!(err("@bob hi"), "usage: @user: text");
        assert_eq!(err("@bob:   "), "usage: @user: text");
        assert_eq!(err("/history lots"), "usage: /history [n], n from 1 to 100000");
        assert_eq!(err("/history 0"), "usage: /history [n], n from 1 to 100000");
        assert!(err("/join general").contains("starts with '#'"));
        assert_eq!(err("/users now"), "/users takes no arguments");
        assert_eq!(err("/p2p"), "usage: /p2p <user>");
        assert_eq!(err("/members #a #b"), "usage: /members [#room]");
        assert!(err("/members tea").contains("starts with '#'"));
        assert!(err("/p2p #general").contains("not a room"));
        assert_eq!(err("/hangup bob ana"), "usage: /hangup [user]");
        assert_eq!(err("/"), "a command follows the /: try /help");
        assert_eq!(err("/unlink"), "usage: /unlink <device>");
        assert!(err("/unlink a@b").contains("bad device name"), "{}", err("/unlink a@b"));
        assert!(err("/link now").starts_with("usage: /link"));
    }

    #[test]
    fn mistakes_are_explained_in_spanish_and_portuguese() {
        let es = |line| parse(Lang::Es, line).unwrap_err();
        let pt = |line| parse(Lang::Pt, line).unwrap_err();
        assert_eq!(es("/frobnicate"), "comando desconocido /frobnicate (prueba /help)");
        assert_eq!(pt("/frobnicate"), "comando desconhecido /frobnicate (tente /help)");
        assert_eq!(es("/chat"), "uso: /chat <usuario|#sala>");
        assert_eq!(pt("/msg bob"), "uso: /msg <usuário> <texto>");
        assert_eq!(es("/history 0"), "uso: /history [n], n de 1 a 100000");
        assert_eq!(pt("/users now"), "/users não aceita argumentos");
        assert!(
            es("/chat b!d").starts_with("nombre de usuario no válido: '!' no se permite"),
            "{}",
            es("/chat b!d")
        );
        assert!(pt("/join general").starts_with("o nome de uma sala começa com '#'"));
        // The commands are the same in every language.
        assert_eq!(parse(Lang::Pt, "/sair"), Ok(Typed::Quit));
    }
}
