//! The `BLOCK` and `PREF` records (1.2, §22) that older servers wrote,
//! still read: a data directory they wrote replays to the same blocks and
//! preferences. This server never writes them: a block and a chat's
//! preference are settings (`store::prefs::BLOCK` and `PREF`, kept by
//! `SET` records), and each old line, in the log or a checkpoint, is read
//! as the setting it meant by one function, [`as_setting`].
//!
//! ```text
//! BLOCK,<ts>,<user>,<whom>,,,<1 blocked|0 unblocked>     in the log
//! PREF,<ts>,<user>,<chat>,<all|mentions|none>,,<1 pinned|0 not>
//! BLOCK,<user>,<whom>                                    in a checkpoint
//! PREF,<user>,<chat>,<level>,<pinned 0|1>
//! ```

use super::fields::Fields;
use super::{CheckpointRows, Record};
use crate::protocol::PrefLine;
use crate::store::prefs::{BLOCK, PREF, key};
use crate::store::state::State;

/// An old line's meaning, before it is a setting.
enum Legacy<'a> {
    /// `whom` blocked (`true`) or unblocked.
    Block { whom: &'a str, on: bool },
    /// A chat's preference now.
    Pref(PrefLine),
}

/// THE mapping of an old record onto the settings: the setting's name, the
/// key and its value (`None`: removed), as `BLOCK`, `NOTIFY` and `PIN`
/// store them now. A block's value is the name as the record wrote it,
/// which was the name as registered; a default preference is no key.
fn as_setting(old: Legacy) -> (&'static str, String, Option<String>) {
    match old {
        Legacy::Block { whom, on } => (BLOCK.name, key(whom), on.then(|| whom.to_string())),
        Legacy::Pref(pref) => (PREF.name, key(&pref.chat), (!pref.is_default()).then(|| pref.to_string())),
    }
}

/// Reads the line of one of this file's kinds (`word`), whose time is
/// `ts`, as the `SET` record it means.
pub(super) fn decode(word: &str, f: &Fields, ts: u64) -> Result<Record, String> {
    let user = f.get(2)?.as_ref().into();
    let whom = f.get(3)?;
    let old = match word {
        "BLOCK" => Legacy::Block { whom: whom.as_ref(), on: f.number(6)? == 1 },
        _ => Legacy::Pref(PrefLine {
            chat: whom.to_string(),
            level: f.get(4)?.parse()?,
            pinned: f.number(6)? == 1,
        }),
    };
    let (name, key, value) = as_setting(old);
    Ok(Record::Set { ts, user, name: name.to_string(), key, value })
}

/// The old checkpoint rows, loaded as settings; none are written (the
/// settings' own `SET` rows are).
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["BLOCK", "PREF"],
    user: |_, _, _| {},
    room: |_, _, _| {},
    end: |_, _| {},
    load: load_row,
};

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let name = f.get(1)?;
    let user = state.user_id(name.as_ref()).ok_or_else(|| format!("unknown user {name:?}"))?;
    let whom = f.get(2)?;
    let old = if f.get(0)?.as_ref() == "BLOCK" {
        Legacy::Block { whom: whom.as_ref(), on: true }
    } else {
        Legacy::Pref(PrefLine {
            chat: whom.to_string(),
            level: f.get(3)?.parse()?,
            pinned: f.number(4)? == 1,
        })
    };
    let (setting, key, value) = as_setting(old);
    state.users[user].settings.set(setting, &key, value.as_deref());
    Ok(())
}
