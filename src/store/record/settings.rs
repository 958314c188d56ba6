//! A user's settings (1.2, §23: `store::settings`): the `SET` record,
//! what it does to the state, and its checkpoint rows. One kind serves
//! every setting (archived chats, and whatever comes next): the setting's
//! name is a field, so a new setting needs no new kind. Whether a `SET`
//! may be written is decided by `store::settings` (`check`, `may_set`),
//! which the cluster asks too.
//!
//! ```text
//! SET,<ts>,<user>,<key>,<setting>,,<1 set|0 removed>,,<value>
//! ```

use std::sync::Arc;

use super::fields::{CsvLine, Fields, Rows};
use super::{CheckpointRows, Record};
use crate::store::state::{State, UserId};

pub(super) fn encode(line: &mut CsvLine, ts: u64, user: &str, name: &str, key: &str, value: Option<&str>) {
    line.word("SET");
    line.number(ts);
    line.fields(&[user, key, name, ""]);
    line.number(u64::from(value.is_some()));
    if let Some(value) = value {
        line.fields(&["", value]);
    }
}

impl Record {
    /// `user` disabled (`on`) or enabled again (`store::disabled`), as
    /// the `SET` record that puts it so: what `migrate/first_design.rs` turns
    /// each row of a schema 18 database's `disabled` table into.
    pub fn disabled(ts: u64, user: &str, on: bool) -> Record {
        use crate::store::disabled::{DISABLED, KEY, ON};
        let (name, key, value) = (DISABLED.name.to_string(), KEY.to_string(), on.then(|| ON.to_string()));
        Record::Set { ts, user: user.into(), name, key, value }
    }
}

/// Reads a `SET` line, whose time is `ts`.
pub(super) fn decode(f: &Fields, ts: u64) -> Result<Record, String> {
    let user: Arc<str> = f.get(2)?.as_ref().into();
    let (key, name) = (f.get(3)?.to_string(), f.get(4)?.to_string());
    let value = (f.number(6)? == 1).then(|| f.get(8).map(|v| v.to_string())).transpose()?;
    Ok(Record::Set { ts, user, name, key, value })
}

impl State {
    /// `SET`: `user`'s `key` of the setting `name` is now `value` (or,
    /// `None`, gone).
    pub(super) fn apply_set(
        &mut self,
        user: &str,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), String> {
        // 1.3: a peer's link facts are settings of its account, which the
        // first of them makes (`state::remote`).
        let user = self.user_or_remote(user)?;
        self.users[user].settings.set(name, key, value);
        Ok(())
    }
}

/// In a checkpoint, after a user's `PREF` rows:
///
/// ```text
/// SET,<user>,<setting>,<key>,<value>
/// ```
pub(super) const ROWS: CheckpointRows =
    CheckpointRows { kinds: &["SET"], user: user_rows, room: |_, _, _| {}, end: |_, _| {}, load: load_row };

fn user_rows(state: &State, user: UserId, out: &mut Rows) {
    let u = &state.users[user];
    for (name, key, value) in u.settings.all() {
        out.row(&["SET", &u.name, name, key, value]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let name = f.get(1)?;
    let user = state.user_id(name.as_ref()).ok_or_else(|| format!("unknown user {name:?}"))?;
    state.users[user].settings.set(f.get(2)?, f.get(3)?, Some(f.get(4)?));
    Ok(())
}
