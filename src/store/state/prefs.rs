//! 1.2 (§22): one user's blocks and chat preferences in memory, as
//! `BLOCK` and `PREF` records leave them (`store::prefs` holds the rules
//! of changing them; the cluster reads its rows into the same type).

use std::collections::{BTreeMap, BTreeSet};

use super::UserId;
use crate::protocol::PrefLine;
use crate::protocol::names::fold;

/// One user's blocks and preferences.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefs {
    /// Who this user blocked.
    pub blocks: BTreeSet<UserId>,
    /// Chats with a preference other than the default, by folded name
    /// (`#lab3`, `bob`).
    pub chats: BTreeMap<String, PrefLine>,
}

impl Prefs {
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.chats.is_empty()
    }

    /// The chat's preference (the default if it has none).
    pub fn get(&self, chat: &str) -> PrefLine {
        self.chats.get(&fold(chat)).cloned().unwrap_or_else(|| PrefLine::new(chat))
    }

    /// Stores `line`; a default one takes the chat's row away.
    pub fn set(&mut self, line: PrefLine) {
        let key = fold(&line.chat);
        if line.is_default() {
            self.chats.remove(&key);
        } else {
            self.chats.insert(key, line);
        }
    }

    /// The `PREFS` lines, in the order of the chats' folded names.
    pub fn lines(&self) -> Vec<PrefLine> {
        self.chats.values().cloned().collect()
    }

    /// How many chats are pinned.
    pub fn pins(&self) -> usize {
        self.chats.values().filter(|p| p.pinned).count()
    }
}
