//! 1.2 (docs/PROTOCOL.md §22): a user's blocks and chat preferences, the
//! rules both backends apply (the local store under its state lock, the
//! cluster in its transaction), so that they cannot differ:
//!
//! - [`Prefs`] (`state/prefs.rs`): what one user keeps, as the local
//!   store holds it in memory and a checkpoint writes it;
//! - [`may_block`] and [`changed`]: what a `BLOCK` or a `NOTIFY`/`PIN`
//!   may do, given what the user has (`KO:FULL` past the bounds of
//!   `protocol::prefs`);
//! - [`Store::send`](super::Store::send) holds what a block hides of the
//!   blocked user's messages, above both backends; `server::prefs` the
//!   rest (invitations, presence, `TYPING`).

pub use super::state::Prefs;
use super::state::UserId;
use crate::protocol::prefs::{MAX_BLOCKS, MAX_PINS, MAX_PREFS};
use crate::protocol::{Code, Ko, Level, PrefLine};

/// What a `NOTIFY`, `PIN` or `UNPIN` asks to change of a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefChange {
    Level(Level),
    Pin(bool),
}

/// Whether `me` may block `whom`, who has `count` blocks already:
/// `KO:BAD_REQUEST` for yourself, `KO:FULL` past [`MAX_BLOCKS`] (a block
/// already there is no new one).
pub fn may_block(me: UserId, whom: UserId, count: usize, already: bool) -> Result<(), Ko> {
    if me == whom {
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

/// What a block hides besides messages and invitations: the users among
/// `viewers` to whom a user's presence (`JOINED`/`LEFT`, `LASTSEEN`,
/// `MEMBER`, its line of `MEMBERS`) and `TYPING` still flow, given whom
/// it blocked (`blocked`, from [`Backend::blocks`](super::Backend::blocks)).
/// The server's presence, `TYPING` and a cluster node's presence all
/// filter through here.
pub fn shown_to(blocked: &[(UserId, std::sync::Arc<str>)], viewers: Vec<UserId>) -> Vec<UserId> {
    if blocked.is_empty() {
        return viewers; // the common case
    }
    viewers.into_iter().filter(|v| !blocked.iter().any(|(b, _)| b == v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fourth_pin_is_refused_and_a_default_line_is_no_row() {
        let mut prefs = Prefs::default();
        for chat in ["a", "b", "#c"] {
            let line =
                changed(&prefs.get(chat), PrefChange::Pin(true), prefs.pins(), prefs.chats.len()).unwrap();
            prefs.set(line);
        }
        let ko = changed(&prefs.get("d"), PrefChange::Pin(true), prefs.pins(), 3).unwrap_err();
        assert_eq!(ko.code, Code::Full);
        assert!(ko.reason.contains("unpin"));
        // Pinning a pinned chat again is no fourth pin.
        assert!(changed(&prefs.get("A"), PrefChange::Pin(true), 3, 3).is_ok());
        prefs.set(changed(&prefs.get("A"), PrefChange::Pin(false), 3, 3).unwrap());
        assert_eq!(prefs.chats.len(), 2);
        assert_eq!(prefs.lines()[0].to_string(), "#c:all:pinned");
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
    fn blocks_are_bounded_and_never_of_yourself() {
        assert_eq!(may_block(1, 1, 0, false).unwrap_err().code, Code::BadRequest);
        assert_eq!(may_block(1, 2, MAX_BLOCKS, false).unwrap_err().code, Code::Full);
        assert!(may_block(1, 2, MAX_BLOCKS, true).is_ok());
    }
}
