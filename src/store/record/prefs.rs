//! A user's blocks and chat preferences (1.2, §22): `BLOCK` and `PREF`.
//! Their lines, what they do to the state, and their checkpoint rows. What
//! a `BLOCK`, `NOTIFY` or `PIN` may change is decided by the rules of
//! `store::prefs` (`may_block`, `changed`), which the cluster asks too.
//!
//! ```text
//! BLOCK,<ts>,<user>,<whom>,,,<1 blocked|0 unblocked>
//! PREF,<ts>,<user>,<chat>,<all|mentions|none>,,<1 pinned|0 not>
//! ```

use std::sync::Arc;

use super::fields::{Fields, Line, Rows};
use super::{CheckpointRows, Record};
use crate::protocol::PrefLine;
use crate::store::state::{State, UserId};

pub(super) fn encode_block(line: &mut Line, ts: u64, user: &str, whom: &str, on: bool) {
    line.word("BLOCK");
    line.number(ts);
    line.fields(&[user, whom, "", ""]);
    line.number(u64::from(on));
}

pub(super) fn encode_pref(line: &mut Line, ts: u64, user: &str, pref: &PrefLine) {
    line.word("PREF");
    line.number(ts);
    line.fields(&[user, &pref.chat, pref.level.as_str(), ""]);
    line.number(u64::from(pref.pinned));
}

/// Reads the line of one of this file's kinds (`word`), whose time is `ts`.
pub(super) fn decode(word: &str, f: &Fields, ts: u64) -> Result<Record, String> {
    let user: Arc<str> = f.get(2)?.as_ref().into();
    Ok(match word {
        "BLOCK" => Record::Block { ts, user, whom: f.get(3)?.as_ref().into(), on: f.number(6)? == 1 },
        _ => {
            let (chat, level) = (f.get(3)?.to_string(), f.get(4)?.parse()?);
            Record::Pref { ts, user, pref: PrefLine { chat, level, pinned: f.number(6)? == 1 } }
        }
    })
}

impl State {
    /// `BLOCK`: `user` blocked `whom` (or, `on` false, unblocked them).
    pub(super) fn apply_block(&mut self, user: &str, whom: &str, on: bool) -> Result<(), String> {
        let (user, whom) = (self.need_user(user)?, self.need_user(whom)?);
        let blocks = &mut self.users[user].prefs.blocks;
        if on {
            blocks.insert(whom);
        } else {
            blocks.remove(&whom);
        }
        Ok(())
    }

    /// `PREF`: `user`'s preference of a chat is now `pref`.
    pub(super) fn apply_pref(&mut self, user: &str, pref: &PrefLine) -> Result<(), String> {
        let user = self.need_user(user)?;
        self.users[user].prefs.set(pref.clone());
        Ok(())
    }
}

/// In a checkpoint, after a user's `HASH` … rows:
///
/// ```text
/// BLOCK,<user>,<whom>
/// PREF,<user>,<chat>,<level>,<pinned 0|1>
/// ```
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["BLOCK", "PREF"],
    user: user_rows,
    room: |_, _, _| {},
    end: |_, _| {},
    load: load_row,
};

fn user_rows(state: &State, user: UserId, out: &mut Rows) {
    let u = &state.users[user];
    for &whom in &u.prefs.blocks {
        out.row(&["BLOCK", &u.name, &state.users[whom].name]);
    }
    for pref in u.prefs.chats.values() {
        out.row(&["PREF", &u.name, &pref.chat, pref.level.as_str(), if pref.pinned { "1" } else { "0" }]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let user = |i| state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)));
    let u = user(1)?;
    if f.get(0)?.as_ref() == "BLOCK" {
        let whom = user(2)?;
        state.users[u].prefs.blocks.insert(whom);
    } else {
        let (chat, level) = (f.get(2)?.to_string(), f.get(3)?.parse()?);
        state.users[u].prefs.set(PrefLine { chat, level, pinned: f.number(4)? == 1 });
    }
    Ok(())
}
