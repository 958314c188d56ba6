//! Invite codes (`store::invites`): the `INVITE` record, what it does to
//! the state, and its checkpoint rows. A code is made (`KEPT`, with its
//! expiry), used by the registration it let in (`USED`, in that
//! registration's batch), or revoked while unused (`REVOKED`: gone).
//!
//! ```text
//! INVITE,<ts>,<code>,<KEPT|USED|REVOKED>,<expires_ms>
//! ```

use super::fields::{CsvLine, Fields, Rows};
use super::{CheckpointRows, Record};
use crate::store::invites::Mark;
use crate::store::state::State;

pub(super) fn encode(line: &mut CsvLine, ts: u64, code: &str, mark: Mark, expires_ms: u64) {
    line.word("INVITE");
    line.number(ts);
    line.fields(&[code, mark.word()]);
    line.number(expires_ms);
}

/// Reads an `INVITE` line, whose time is `ts`.
pub(super) fn decode(f: &Fields, ts: u64) -> Result<Record, String> {
    let code = f.get(2)?.to_string();
    let word = f.get(3)?;
    let mark = Mark::from_word(word).ok_or_else(|| format!("unknown invite mark {word:?}"))?;
    Ok(Record::Invite { ts, code, mark, expires_ms: f.number(4)? })
}

/// In a checkpoint, after every room's rows: each code kept, used or not.
///
/// ```text
/// INVITE,<code>,<expires_ms>,<1 used|0 unused>
/// ```
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["INVITE"],
    user: |_, _, _| {},
    room: |_, _, _| {},
    end: end_rows,
    load: load_row,
};

fn end_rows(state: &State, out: &mut Rows) {
    for (code, kept) in state.invites.all() {
        out.row(&["INVITE", code, &kept.expires_ms.to_string(), if kept.used { "1" } else { "0" }]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let mark = if f.number(3)? == 1 { Mark::Used } else { Mark::Kept };
    state.invites.mark(f.get(1)?, f.number(2)?, mark);
    Ok(())
}
