//! 1.2 (§22, §23): the server tells every device of the user of a change
//! of its blocks, chat preferences and archived chats, the device that
//! asked included. A
//! change made here is said once, by its command (`console::prefs`): its
//! echo is dropped here.

use parking_lot::Mutex;

use crate::client::Notice;
use crate::error::{Error, Result};
use crate::protocol::names::fold;

/// The changes this console made whose echo from the server is still to
/// come: each is said once, by its command.
#[derive(Default)]
pub struct Expected(Mutex<Vec<String>>);

impl Expected {
    pub fn expect(&self, key: String) {
        let mut keys = self.0.lock();
        keys.push(key);
        if keys.len() > 16 {
            keys.remove(0); // a server that never echoes (it cannot: it is 1.2) costs nothing
        }
    }

    /// Makes a change keyed `key` with `request`: its echo is expected,
    /// unless the server refused it (a `KO` changes nothing and is told
    /// to no device), so that the next change told is not taken for it.
    pub fn change(&self, key: String, request: impl FnOnce() -> Result<()>) -> Result<()> {
        self.expect(key.clone());
        let result = request();
        if let Err(Error::Refused { .. }) = result {
            let mut keys = self.0.lock();
            if let Some(i) = keys.iter().rposition(|k| *k == key) {
                keys.remove(i);
            }
        }
        result
    }

    /// True (once) if `notice` is the echo of a change made here.
    pub fn is_echo(&self, notice: &Notice) -> bool {
        let Some(key) = key_of(notice) else { return false };
        let mut keys = self.0.lock();
        let found = keys.iter().position(|k| *k == key);
        found.map(|i| keys.remove(i)).is_some()
    }
}

fn key_of(notice: &Notice) -> Option<String> {
    match notice {
        Notice::Pref(line) => Some(pref_key(&line.chat)),
        Notice::Blocked { user, .. } => Some(block_key(user)),
        Notice::Archived { chat, .. } => Some(archive_key(chat)),
        Notice::Starred { chat, from, id, .. } => Some(star_key(chat, from, id)),
        _ => None,
    }
}

/// The key of a change of `chat`'s preference.
pub fn pref_key(chat: &str) -> String {
    format!("pref {}", fold(chat))
}

/// The key of a block or unblock of `user`.
pub fn block_key(user: &str) -> String {
    format!("block {}", fold(user))
}

/// 1.2 (§25): the key of a star or unstar of `from`'s message `id` of `chat`.
pub fn star_key(chat: &crate::protocol::Chat, from: &str, id: &str) -> String {
    format!("star {} {} {id}", fold(&chat.to_string()), fold(from))
}

/// 1.2 (§23): the key of an archive or unarchive of `chat`.
pub fn archive_key(chat: &crate::protocol::Chat) -> String {
    format!("archive {}", fold(&chat.to_string()))
}
