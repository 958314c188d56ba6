//! The fields of a request, each checked as it is split off: a user
//! name, a device, a message id, a chat, a room, a password, an email, the
//! words of a search. Every check answers `KO:BAD_REQUEST` with a reason
//! that names what was wrong, so that a family's grammar (the end of
//! `request/mod.rs`) reads as a list of fields and nothing else. And what a
//! `SEARCH` looks through, its [`Scope`].

use std::fmt;

use crate::protocol::action::{MAX_TARGET_ID, check_sent_id};
use crate::protocol::names::{check_device, check_id, check_name, check_user};
use crate::protocol::{Chat, Code, Ko, split_fields};

pub(super) fn bad(reason: impl Into<String>) -> Ko {
    Ko::new(Code::BadRequest, reason)
}

/// Splits `line` into `n` fields or explains the expected shape.
pub(super) fn fields<'a>(line: &'a str, n: usize, shape: &str) -> Result<Vec<&'a str>, Ko> {
    split_fields(line, n).ok_or_else(|| bad(format!("expected {shape}")))
}

/// One's own account, as a first frame names it (`LOGIN`, `REGISTER`,
/// `REDEEM`, `PAIR`): a name of this server, where `@` says a device.
pub(super) fn account(name: &str) -> Result<String, Ko> {
    check_name(name).map_err(|e| bad(format!("bad user name: {e}")))?;
    Ok(name.to_string())
}

/// A user a request names: `<user>` or (1.3, §27) an address
/// `<user>@<server>` ([`check_user`], the one grammar of a user);
/// whether this server knows the server is its to say.
pub(super) fn user(field: &str) -> Result<String, Ko> {
    check_user(field).map_err(|e| bad(format!("bad user name: {e}")))?;
    Ok(field.to_string())
}

/// `<user>` or (1.2) `<user>@<device>`.
pub(super) fn user_at(field: &str) -> Result<(String, Option<String>), Ko> {
    match field.split_once('@') {
        None => Ok((account(field)?, None)),
        Some((name, device)) => Ok((account(name)?, Some(self::device(device)?))),
    }
}

pub(super) fn device(name: &str) -> Result<String, Ko> {
    check_device(name).map_err(bad)?;
    Ok(name.to_string())
}

pub(super) fn id(id: &str) -> Result<String, Ko> {
    check_id(id).map_err(bad)?;
    Ok(id.to_string())
}

/// The id of a message a client sends (`MSG`, `REPLY`): an id, and not
/// of an action's form, which only the server makes (`action::check_sent_id`).
pub(super) fn sent_id(s: &str) -> Result<String, Ko> {
    let id = id(s)?;
    check_sent_id(&id).map_err(bad)?;
    Ok(id)
}

pub(super) fn chat(s: &str) -> Result<Chat, Ko> {
    Chat::parse(s).map_err(bad)
}

/// The id of a message an action names: an id short enough that the
/// action's own id fits (see `action::MAX_TARGET_ID`).
pub(super) fn target(s: &str) -> Result<String, Ko> {
    let id = id(s)?;
    if id.len() > MAX_TARGET_ID {
        return Err(bad(format!("message actions name ids of at most {MAX_TARGET_ID} characters")));
    }
    Ok(id)
}

pub(super) fn query(q: &str) -> Result<String, Ko> {
    if q.trim().is_empty() {
        return Err(bad("nothing to search for"));
    }
    if q.len() > MAX_QUERY {
        return Err(bad(format!("the words are {} bytes, the limit is {MAX_QUERY}", q.len())));
    }
    if let Some(c) = q.chars().find(|&c| c.is_control()) {
        return Err(bad(format!("the words may not hold U+{:04X}", c as u32)));
    }
    Ok(q.to_string())
}

pub(super) fn room(s: &str) -> Result<String, Ko> {
    Chat::parse_room(s).map_err(bad)
}

pub(super) fn password(p: &str) -> Result<String, Ko> {
    if p.is_empty() {
        return Err(bad("the password is empty"));
    }
    Ok(p.to_string())
}

pub(super) fn email(e: &str) -> Result<String, Ko> {
    check_email(e).map_err(bad)?;
    Ok(e.to_string())
}

/// Checks an email address as `REGISTER` does; `wachat users add` and
/// `import` use it too, so an account made offline is one `REGISTER` could make.
pub fn check_email(e: &str) -> Result<(), String> {
    let ok = e.is_empty()
        || (e.len() <= 254
            && e.contains('@')
            // 1.2: nor an invisible character that reorders
            // or hides what the operator's list shows.
            && !e.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || crate::protocol::escape::is_format(c)));
    if !ok {
        return Err(format!("bad email address {e:?} (it may also be empty)"));
    }
    Ok(())
}

/// Most lines of a `SEARCH`'s reply (1.2).
pub const MAX_SEARCH_RESULTS: usize = 50;

/// Most lines a `PEOPLE` (1.2) answers: the first names, ignoring case.
pub const MAX_PEOPLE: usize = 20;

/// Most bytes of a `SEARCH`'s words.
pub const MAX_QUERY: usize = 200;

/// What a `SEARCH` looks through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One conversation.
    Chat(Chat),
    /// `*`: every conversation of yours.
    All,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Chat(chat) => chat.fmt(f),
            Scope::All => f.write_str("*"),
        }
    }
}
