//! 1.2 (docs/PROTOCOL.md §22): a user's blocks and chat preferences,
//! stored by the server and the same on every device.
//!
//! - `BLOCK:<user>`, `UNBLOCK:<user>`, `BLOCKS` (a listing of names);
//! - `NOTIFY:<chat>:<all|mentions|none>`, `PIN:<chat>`, `UNPIN:<chat>`,
//!   `PREFS` (a listing of [`PrefLine`]s);
//! - the ephemeral events `PREF:<chat>:<level>:<pinned|unpinned>`,
//!   `BLOCKED:<user>` and `UNBLOCKED:<user>`, sent to the user's own
//!   devices that said `VERSION:1.2` once a change is stored.

use std::fmt;
use std::str::FromStr;

/// Most users one user may block (`KO:FULL` past it).
pub const MAX_BLOCKS: usize = 1000;
/// Most chats one user may keep a preference for (`KO:FULL` past it).
pub const MAX_PREFS: usize = 1000;
/// Most chats one user may pin.
pub const MAX_PINS: usize = 3;
/// 1.2 (§23): most chats one user may archive (`KO:FULL` past it).
pub const MAX_ARCHIVED: usize = 1000;
/// 1.2 (§29): most chats one user may mark unread, and most it may
/// delete for itself (`KO:FULL` past either).
pub const MAX_MARKED: usize = 1000;
pub const MAX_HIDDEN: usize = 1000;

/// 1.2 (§25): which message a star names, `<chat>:<from>:<id>` with the
/// names folded, so `STAR:Bob:BOB:m1` is the star of `STAR:bob:bob:m1`.
/// The server keeps a user's stars by it, and the clients find a
/// message's star by it.
pub fn star_key(chat: &super::Chat, from: &str, id: &str) -> String {
    use super::names::fold;
    format!("{}:{}:{id}", fold(&chat.to_string()), fold(from))
}

/// When a client notifies its user of a chat's new messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Level {
    /// Every message (the default).
    #[default]
    All,
    /// Only messages that mention the user ([`mentions`](super::mentions));
    /// every direct message is one.
    Mentions,
    /// Never (the chat is muted for this user).
    None,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "all",
            Level::Mentions => "mentions",
            Level::None => "none",
        }
    }

    /// Whether a new message in a chat of this level notifies, given
    /// whether it counts as mentioning the user: a step of [`rings`](Self::rings).
    fn notifies(self, mentioned: bool) -> bool {
        match self {
            Level::All => true,
            Level::Mentions => mentioned,
            Level::None => false,
        }
    }

    /// 1.2 (§23): the level a chat notifies at once `archived`: an
    /// archived chat stays quiet but for mentions (as WhatsApp keeps
    /// archived chats), unless its own level says less. A step of
    /// [`rings`](Self::rings).
    fn filed(self, archived: bool) -> Level {
        match (self, archived) {
            (Level::All, true) => Level::Mentions,
            (level, _) => level,
        }
    }

    /// Whether a new message rings in a chat of this level: a `direct`
    /// chat's or a room's, `named` (it mentions the user, `@ana`) or not,
    /// in a chat `archived` or not. A direct message counts as a mention,
    /// except in an archived chat, which only an `@` wakes (§23): archiving
    /// a direct chat quiets it. The consoles ask this; the browser's copy
    /// is `web/notify.js`.
    pub fn rings(self, archived: bool, direct: bool, named: bool) -> bool {
        self.filed(archived).notifies(named || (direct && !archived))
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        match s {
            "all" => Ok(Level::All),
            "mentions" => Ok(Level::Mentions),
            "none" => Ok(Level::None),
            _ => Err(format!(
                "a notification level is all, mentions or none, not {:?}",
                super::truncate(s, 20)
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line of `PREFS`, and the payload of the `PREF` event:
/// `<chat>:<all|mentions|none>:<pinned|unpinned>`. `chat` is a user name
/// or a `#room` as the user named it first (a chat need not exist).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrefLine {
    pub chat: String,
    pub level: Level,
    pub pinned: bool,
}

impl PrefLine {
    /// The default preference of `chat`: every message notifies, not pinned.
    pub fn new(chat: &str) -> PrefLine {
        PrefLine { chat: chat.to_string(), level: Level::All, pinned: false }
    }

    /// True if it says nothing the default does not (not worth a line).
    pub fn is_default(&self) -> bool {
        self.level == Level::All && !self.pinned
    }

    pub fn parse(line: &str) -> Result<PrefLine, String> {
        let mut f = line.rsplitn(3, ':');
        let (Some(pinned), Some(level), Some(chat)) = (f.next(), f.next(), f.next()) else {
            return Err(format!("expected <chat>:<level>:<pinned|unpinned>, got {line:?}"));
        };
        super::Chat::parse(chat)?;
        let pinned = match pinned {
            "pinned" => true,
            "unpinned" => false,
            other => {
                return Err(format!("expected pinned or unpinned, got {:?}", super::truncate(other, 20)));
            }
        };
        Ok(PrefLine { chat: chat.to_string(), level: level.parse()?, pinned })
    }
}

impl fmt::Display for PrefLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pinned = if self.pinned { "pinned" } else { "unpinned" };
        write!(f, "{}:{}:{pinned}", self.chat, self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archived_chat_rings_only_for_an_at_and_a_muted_one_never() {
        use Level::*;
        // (level, archived, direct, named) → rings
        let cases = [
            (All, false, false, false, true),
            (All, false, true, false, true),
            (Mentions, false, false, false, false),
            (Mentions, false, true, false, true), // a direct message is a mention
            (Mentions, false, false, true, true),
            (All, true, false, false, false),
            (All, true, true, false, false), // archiving a direct chat quiets it
            (All, true, true, true, true),
            (All, true, false, true, true),
            (Mentions, true, true, false, false),
            (None, false, true, true, false),
            (None, true, false, true, false),
        ];
        for (level, archived, direct, named, rings) in cases {
            assert_eq!(level.rings(archived, direct, named), rings, "{level} {archived} {direct} {named}");
        }
    }

    #[test]
    fn pref_lines_round_trip() {
        for line in ["bob:none:unpinned", "#Lab3:mentions:pinned", "ana:all:pinned"] {
            assert_eq!(PrefLine::parse(line).unwrap().to_string(), line);
        }
        assert!(PrefLine::parse("bob:loud:pinned").unwrap_err().contains("all, mentions or none"));
        assert!(PrefLine::parse("bob:all:yes").unwrap_err().contains("pinned or unpinned"));
        assert!(PrefLine::parse("a b:all:pinned").is_err());
        assert!(PrefLine::parse("all:pinned").is_err());
    }

    #[test]
    fn levels_decide_notifications() {
        assert!(Level::All.notifies(false));
        assert!(Level::Mentions.notifies(true) && !Level::Mentions.notifies(false));
        assert!(!Level::None.notifies(true));
    }
}
