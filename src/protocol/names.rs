//! Names on the wire: users, rooms and message ids, and [`Chat`], the
//! "who is this conversation with" of `MSG`, `READ` and `HISTORY`.
//!
//! Users and rooms are compared ignoring case (`Ana` and `ana` are one
//! account), so every map of names in the server is keyed by [`fold`].

use std::fmt;

/// A user name as typed: 1–32 characters from `A-Z a-z 0-9 _ . -`.
pub type UserName = String;

/// A message id chosen by the sender: 1–64 characters from `A-Z a-z 0-9 _ -`.
pub type MessageId = String;

/// A device name (1.2): what a client calls the machine it runs on
/// (`laptop`, `lab-3f2a`), by the same rules as a user name.
pub type DeviceName = String;

/// The device of a `LOGIN` that names none (1.2): the one device a
/// 1.0/1.1 client has, which sees nothing of devices: it behaves as
/// protocol 1.0 says.
pub const DEFAULT_DEVICE: &str = "default";

/// Longest user or room name (without the `#`).
pub const MAX_NAME: usize = 32;
/// Longest message id.
pub const MAX_ID: usize = 64;

/// What is wrong with a name: the rule broken, apart from the words, so
/// that the server can say it in English on the wire and the client in
/// the user's language ([`crate::i18n::client::name_problem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// Empty, or longer than [`MAX_NAME`].
    Length,
    /// A character outside `A-Z a-z 0-9 _ . -`.
    Char(char),
}

/// The first rule a user name (or the part of a room name after `#`) breaks.
pub fn name_problem(name: &str) -> Option<NameProblem> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Some(NameProblem::Length);
    }
    name.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c))).map(NameProblem::Char)
}

/// Checks a user name (also the part of a room name after `#`); the
/// refusal is in English, as it goes on the wire.
pub fn check_name(name: &str) -> Result<(), String> {
    match name_problem(name) {
        None => Ok(()),
        Some(NameProblem::Length) => Err(format!("a name has 1 to {MAX_NAME} characters: {name:?}")),
        Some(NameProblem::Char(c)) => Err(format!("{c:?} is not allowed in a name (only A-Z a-z 0-9 _ . -)")),
    }
}

/// Checks a user as every request, event and reply line that means a
/// user names one: a name of this server (`bob`), or (1.3, §27) an
/// address (`bob@lab2`), a user of another server of the class network,
/// whose server is the server's to know ([`check_address`]). The one
/// grammar of a user: [`Chat::parse`] reads a direct chat and the part of
/// a room after its `#` with it, and the browser's `isUser` (web/wire.js)
/// is checked against it (tests/web.rs). What is not an address is
/// refused as a name, so a client of 1.0 or 1.1 reads the refusal it
/// always read (`'@' is not allowed in a name`).
pub fn check_user(user: &str) -> Result<(), String> {
    if user.contains('@') && check_address(user).is_ok() {
        return Ok(());
    }
    check_name(user)
}

/// 1.3 (§27): checks an address `<user>@<server>`, a user of another
/// server: both parts names.
pub fn check_address(address: &str) -> Result<(&str, &str), String> {
    let (user, server) = address.split_once('@').ok_or_else(|| format!("{address:?} is not user@server"))?;
    check_name(user).map_err(|e| format!("bad user in {address:?}: {e}"))?;
    check_name(server).map_err(|e| format!("bad server in {address:?}: {e}"))?;
    Ok((user, server))
}

/// 1.3 (§27): checks a room's address `#<room>@<home>`: both parts
/// names; the room (with its `#`) and its home.
pub fn check_room_address(address: &str) -> Result<(&str, &str), String> {
    let rest = address.strip_prefix('#').ok_or_else(|| format!("{address:?} is not #room@server"))?;
    let (room, home) = rest.split_once('@').ok_or_else(|| format!("{address:?} is not #room@server"))?;
    check_name(room).map_err(|e| format!("bad room in {address:?}: {e}"))?;
    check_name(home).map_err(|e| format!("bad server in {address:?}: {e}"))?;
    Ok((&address[..room.len() + 1], home))
}

/// Checks a device name (1.2): the user-name rules, so `@` and `:` never
/// appear in one and `<user>@<device>` splits one way only.
pub fn check_device(name: &str) -> Result<(), String> {
    check_name(name).map_err(|e| format!("bad device name: {e}"))
}

/// Checks a message id.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(format!("a message id has 1 to {MAX_ID} characters"));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || "_-".contains(*c))) {
        return Err(format!("{c:?} is not allowed in a message id (only A-Z a-z 0-9 _ -)"));
    }
    Ok(())
}

/// The key under which a name is stored: names are unique ignoring case.
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The other end of a conversation: a user, or a `#room`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Chat {
    /// A direct conversation with this user.
    User(String),
    /// A room; the name is kept without its `#`.
    Room(String),
}

impl Chat {
    /// Parses `ana` or `#general`; 1.3 (§27): `bob@lab2`, a user of
    /// another server, or `#lab@lab2`, a room homed there (whether this
    /// server knows `lab2` is its to say). Both are [`check_user`]'s
    /// grammar, the room's after its `#`.
    pub fn parse(s: &str) -> Result<Chat, String> {
        match s.strip_prefix('#') {
            Some(room) => {
                check_user(room).map_err(|e| format!("bad room name: {e}"))?;
                Ok(Chat::Room(room.to_string()))
            }
            None => {
                check_user(s).map_err(|e| format!("bad user name: {e}"))?;
                Ok(Chat::User(s.to_string()))
            }
        }
    }

    /// 1.3: the server part of an address (`lab2` of `bob@lab2` or of
    /// `#lab@lab2`). Asked of every `MSG` three times (is it routed, linked,
    /// introduced?): the `@` is found by memchr, where `split_once`'s
    /// searcher cost half as much again (~130 instructions a name
    /// against ~85, docs/BENCHMARKS.md).
    pub fn server(&self) -> Option<&str> {
        match self {
            Chat::User(name) | Chat::Room(name) => {
                memchr::memchr(b'@', name.as_bytes()).map(|at| &name[at + 1..])
            }
        }
    }

    /// 1.3: the chat without its server part (`bob`, `#lab`).
    pub fn local_part(&self) -> Chat {
        match self {
            Chat::User(name) => Chat::User(name.split_once('@').map_or(name.as_str(), |(n, _)| n).into()),
            Chat::Room(name) => Chat::Room(name.split_once('@').map_or(name.as_str(), |(n, _)| n).into()),
        }
    }

    /// The chat of a name as registered (`ana`, `#Tea`): checked when it
    /// was registered, so not again.
    pub fn registered(name: &str) -> Chat {
        match name.strip_prefix('#') {
            Some(room) => Chat::Room(room.to_string()),
            None => Chat::User(name.to_string()),
        }
    }

    /// Parses a room name, which must start with `#`.
    pub fn parse_room(s: &str) -> Result<String, String> {
        match Chat::parse(s)? {
            Chat::Room(room) => Ok(room),
            Chat::User(_) => Err(format!("a room name starts with '#': {s:?}")),
        }
    }
}

impl fmt::Display for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chat::User(name) => f.write_str(name),
            Chat::Room(name) => write!(f, "#{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        assert!(check_name("ana.maria_2-b").is_ok());
        assert!(check_name(&"a".repeat(32)).is_ok());
        assert!(check_name(&"a".repeat(33)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("ana maria").is_err());
        assert!(check_name("añá").is_err());
        assert!(check_id("m-1_x").is_ok());
        assert!(check_id("m.1").is_err());
        assert!(check_id(&"9".repeat(65)).is_err());
        assert!(check_device("lab-3f2a").is_ok());
        assert!(check_device("a@b").unwrap_err().contains("bad device name"));
    }

    #[test]
    fn a_user_is_a_name_or_an_address() {
        for user in ["bob", "bob@lab2", "b.o-b_2@lab-2.x"] {
            assert_eq!(check_user(user), Ok(()), "{user}");
        }
        // What is no address is refused as a name, as before 1.3.
        let at = "'@' is not allowed in a name (only A-Z a-z 0-9 _ . -)";
        for user in ["bob@", "@lab2", "bob@lab2@lab3", "@"] {
            assert_eq!(check_user(user).unwrap_err(), at, "{user}");
        }
        assert!(check_user("bob@lab 2").is_err());
        assert!(check_user(&format!("{}@lab2", "b".repeat(33))).is_err());
        assert!(check_user("").is_err());
        assert_eq!(Chat::parse("bob@lab2").unwrap(), Chat::User("bob@lab2".into()));
        assert_eq!(Chat::parse("#lab@lab2").unwrap(), Chat::Room("lab@lab2".into()));
        assert_eq!(Chat::parse("bob@").unwrap_err(), format!("bad user name: {at}"));
        assert_eq!(Chat::parse("#lab@").unwrap_err(), format!("bad room name: {at}"));
    }

    #[test]
    fn chats_are_users_or_rooms() {
        assert_eq!(Chat::parse("bob").unwrap(), Chat::User("bob".into()));
        assert_eq!(Chat::parse("#General").unwrap(), Chat::Room("General".into()));
        assert_eq!(Chat::parse("#General").unwrap().to_string(), "#General");
        assert!(Chat::parse("#").is_err());
        assert!(Chat::parse_room("bob").is_err());
        assert_eq!(fold("Ana"), fold("aNA"));
    }
}
