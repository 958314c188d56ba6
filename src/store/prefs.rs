//! 1.2 (docs/PROTOCOL.md §22): a user's blocks and chat preferences, and
//! the rules the store applies to them under its state lock, on a single
//! server and on every node of a cluster alike.
//!
//! Both are *settings* (`store::settings`), kept as every
//! other per-chat setting is (archived chats, stars), with no record,
//! rows or store method of their own:
//!
//! - [`BLOCK`]: key, the blocked user's folded name; value, that name as
//!   registered. [`block`] is the change a `BLOCK` or `UNBLOCK` makes,
//!   by the rule of [`may_block`];
//! - [`PREF`]: key, the chat's folded name; value, its `PREFS` line
//!   (`#Lab:mentions:pinned`), never a default one. [`pref`] is the
//!   change a `NOTIFY`, `PIN` or `UNPIN` makes, by the rule of
//!   [`changed`] (`KO:FULL` past the bounds of `protocol::prefs`);
//! - `meaning::send` holds what a block hides of the blocked user's
//!   messages (the store asks it with [`blocks`]' answer), [`shown_to`]
//!   what it hides of presence; `server::prefs` the rest (invitations).
//!
//! The `BLOCK` and `PREF` records older servers wrote in the log are read
//! as the `SET` records they mean (`record/prefs.rs`); a cluster database
//! of schema 18 has its `settings` table written into the log as `SET`
//! records (`migrate/first_design.rs`).

use super::settings::{KeyView, Setting, Settings};
use super::state::UserId;
use crate::protocol::names::fold;
use crate::protocol::prefs::{MAX_BLOCKS, MAX_PINS, MAX_PREFS};
use crate::protocol::{Code, Ko, Level, PrefLine};

/// Whom a user blocked: key, the blocked user's folded name; value, the
/// name as registered. (Its `most` is never reached first: [`may_block`]
/// refuses at the same bound with its own words.)
pub const BLOCK: Setting = Setting {
    name: "block",
    most: MAX_BLOCKS,
    what: "blocked users",
    longest: crate::store::settings::MAX_VALUE,
};

/// A chat's notification level and pin: key, the chat's folded name;
/// value, its `PREFS` line. (Its `most` is [`changed`]'s bound.)
pub const PREF: Setting = Setting {
    name: "pref",
    most: MAX_PREFS,
    what: "chats with a preference",
    longest: crate::store::settings::MAX_VALUE,
};

/// Whether the user whose settings are `settings` blocked the user
/// called `whom`: its [`BLOCK`] key of that name. The store asks
/// it of every direct message's recipient (`meaning::send`), so a user
/// who blocked nobody costs no lookup and no folded name.
/// 1.3: a user of another server (`bob@lab2`) is blocked too with her
/// whole server, the key `@lab2` (§27, "Blocking a whole server").
pub fn blocks(settings: &Settings, whom: &str) -> bool {
    let server = |whom: &str| whom.split_once('@').map(|(_, server)| fold(&format!("@{server}")));
    settings.of(BLOCK.name).next().is_some()
        && (settings.get(BLOCK.name, &fold(whom)).is_some()
            || server(whom).is_some_and(|key| settings.get(BLOCK.name, &key).is_some()))
}

/// What a `NOTIFY`, `PIN` or `UNPIN` asks to change of a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefChange {
    Level(Level),
    Pin(bool),
}

/// Whether `me` may block `whom` (`None`: a whole server), who has
/// `count` blocks already:
/// `KO:BAD_REQUEST` for yourself, `KO:FULL` past [`MAX_BLOCKS`] (a block
/// already there is no new one).
pub fn may_block(me: UserId, whom: Option<UserId>, count: usize, already: bool) -> Result<(), Ko> {
    if whom == Some(me) {
        return Err(Ko::new(Code::BadRequest, "you cannot block yourself"));
    }
    if !already && count >= MAX_BLOCKS {
        return Err(Ko::new(
            Code::Full,
            format!("you blocked {MAX_BLOCKS} users already, the most there may be"),
        ));
    }
    Ok(())
}

/// The preference `current` becomes with `change`, given `pins` pinned
/// chats and `rows` chats with a preference among the user's: `KO:FULL`
/// for a fourth pin or a row past [`MAX_PREFS`].
pub fn changed(current: &PrefLine, change: PrefChange, pins: usize, rows: usize) -> Result<PrefLine, Ko> {
    let mut new = current.clone();
    match change {
        PrefChange::Level(level) => new.level = level,
        PrefChange::Pin(pinned) => new.pinned = pinned,
    }
    if new.pinned && !current.pinned && pins >= MAX_PINS {
        let why = format!("{MAX_PINS} chats are pinned already, the most there may be: unpin one first");
        return Err(Ko::new(Code::Full, why));
    }
    if current.is_default() && !new.is_default() && rows >= MAX_PREFS {
        let why = format!("{MAX_PREFS} chats have a preference already, the most there may be");
        return Err(Ko::new(Code::Full, why));
    }
    Ok(new)
}

/// The change `me`'s `BLOCK` (`on`) or `UNBLOCK` of `whom` (`None`: a
/// whole server, `@lab2`), registered as `name`, makes of its [`BLOCK`]
/// key: [`may_block`]'s rule.
pub fn block(
    me: UserId,
    whom: Option<UserId>,
    name: &str,
    on: bool,
) -> impl FnMut(&KeyView) -> Result<Option<String>, Ko> + '_ {
    move |kept| {
        if !on {
            return Ok(None);
        }
        may_block(me, whom, kept.count(), kept.current().is_some())?;
        Ok(Some(kept.current().unwrap_or(name).to_string()))
    }
}

/// The change a `NOTIFY`, `PIN` or `UNPIN` of `chat` makes of its
/// [`PREF`] key: [`changed`]'s rule, given the user's other lines. The
/// chat's new line goes to `line` (the `PREF` event tells it, a default
/// one included, which is no key).
pub fn pref<'a>(
    chat: &'a str,
    change: PrefChange,
    line: &'a mut PrefLine,
) -> impl FnMut(&KeyView) -> Result<Option<String>, Ko> + 'a {
    move |kept| {
        let current = kept.current().and_then(parse).unwrap_or_else(|| PrefLine::new(chat));
        let pins = kept.values().filter_map(parse).filter(|p| p.pinned).count();
        *line = changed(&current, change, pins, kept.count())?;
        Ok((!line.is_default()).then(|| line.to_string()))
    }
}

/// The key of a chat's [`PREF`] (and of a user's [`BLOCK`]).
pub fn key(chat: &str) -> String {
    fold(chat)
}

/// The `PREFS` lines of a user's [`PREF`] pairs, in the order of their keys.
pub fn lines(pairs: Vec<(String, String)>) -> Vec<PrefLine> {
    pairs.iter().filter_map(|(_, value)| parse(value)).collect()
}

fn parse(value: &str) -> Option<PrefLine> {
    PrefLine::parse(value).ok()
}

/// What a block hides besides messages and invitations: the users among
/// `viewers` to whom a user's presence (`JOINED`/`LEFT`, `LASTSEEN`,
/// `MEMBER`, its line of `MEMBERS`) and `TYPING` still flow, given whom
/// it blocked (`blocked`, from [`Store::blocked`](super::Store::blocked)).
/// The server's presence, `TYPING` and a cluster node's presence all
/// filter through here.
pub fn shown_to(blocked: &[UserId], viewers: Vec<UserId>) -> Vec<UserId> {
    if blocked.is_empty() {
        return viewers; // the common case
    }
    viewers.into_iter().filter(|v| !blocked.contains(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::settings::{Settings, decide};

    /// `change` of `chat` in `settings`, as the store makes it.
    fn apply(settings: &mut Settings, chat: &str, change: PrefChange) -> Result<PrefLine, Ko> {
        let mut line = PrefLine::new(chat);
        let k = key(chat);
        let new = decide(
            &PREF,
            &KeyView::new(&k, settings.of(PREF.name).collect()),
            &mut pref(chat, change, &mut line),
        )?;
        if let Some(value) = new {
            settings.set(PREF.name, &k, value.as_deref());
        }
        Ok(line)
    }

    #[test]
    fn a_fourth_pin_is_refused_and_a_default_line_is_no_key() {
        let mut s = Settings::default();
        for chat in ["a", "b", "#c"] {
            apply(&mut s, chat, PrefChange::Pin(true)).unwrap();
        }
        let ko = apply(&mut s, "d", PrefChange::Pin(true)).unwrap_err();
        assert_eq!(ko.code, Code::Full);
        assert!(ko.reason.contains("unpin"));
        // Pinning a pinned chat again is no fourth pin.
        assert_eq!(apply(&mut s, "A", PrefChange::Pin(true)).unwrap().to_string(), "a:all:pinned");
        assert_eq!(apply(&mut s, "A", PrefChange::Pin(false)).unwrap().to_string(), "a:all:unpinned");
        assert_eq!(s.of(PREF.name).count(), 2);
        let lines: Vec<String> = lines(s.of(PREF.name).map(|(k, v)| (k.into(), v.into())).collect())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines, ["#c:all:pinned", "b:all:pinned"]);
        // A level keeps the pin, and the name first given.
        assert_eq!(apply(&mut s, "B", PrefChange::Level(Level::None)).unwrap().to_string(), "b:none:pinned");
    }

    #[test]
    fn a_new_row_past_the_bound_is_refused_and_a_change_of_a_row_is_not() {
        let new = PrefLine::new("#x");
        let ko = changed(&new, PrefChange::Level(Level::None), 0, MAX_PREFS).unwrap_err();
        assert_eq!(ko.code, Code::Full);
        let muted = PrefLine { level: Level::None, ..new };
        assert!(changed(&muted, PrefChange::Level(Level::Mentions), 0, MAX_PREFS).is_ok());
    }

    #[test]
    fn a_server_s_block_blocks_each_of_its_users() {
        let mut settings = Settings::default();
        settings.set(BLOCK.name, "@lab2", Some("@Lab2"));
        assert!(blocks(&settings, "bob@lab2") && blocks(&settings, "Zoe@LAB2"));
        assert!(!blocks(&settings, "bob@lab3") && !blocks(&settings, "bob") && !blocks(&settings, "lab2"));
    }

    #[test]
    fn blocks_are_bounded_and_never_of_yourself() {
        assert_eq!(may_block(1, Some(1), 0, false).unwrap_err().code, Code::BadRequest);
        assert_eq!(may_block(1, Some(2), MAX_BLOCKS, false).unwrap_err().code, Code::Full);
        assert!(may_block(1, Some(2), MAX_BLOCKS, true).is_ok());
        assert_eq!(may_block(1, None, MAX_BLOCKS, false).unwrap_err().code, Code::Full);
        let kept = KeyView::new("bob", vec![("bob", "Bob")]);
        assert_eq!(decide(&BLOCK, &kept, &mut block(1, Some(2), "bob", true)), Ok(None), "blocked already");
        assert_eq!(decide(&BLOCK, &kept, &mut block(1, Some(2), "bob", false)), Ok(Some(None)));
        let none = KeyView::new("bob", vec![]);
        assert_eq!(
            decide(&BLOCK, &none, &mut block(1, Some(1), "bob", true)).unwrap_err().code,
            Code::BadRequest
        );
        assert_eq!(decide(&BLOCK, &none, &mut block(1, Some(2), "Bob", true)), Ok(Some(Some("Bob".into()))));
    }
}
