//! 1.2 (§31): what the receipts of room messages leave in a checkpoint
//! (`state::receipts`; their records are `marks.rs`'s `DELIVERED` and
//! `READ` lines naming a `#room`): each member's delivered mark where it
//! is past its read mark, and the messages whose senders wait to be told.
//!
//! ```text
//! RECEIPT,<#room>,<member>,<delivered mark>
//! PENDING,<#room>,<ord>,<sender>,<id>,<1 told delivered|0>
//! ```

use super::CheckpointRows;
use super::fields::{Fields, Rows};
use crate::store::state::receipts::Pending;
use crate::store::state::{RoomId, State};

pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["RECEIPT", "PENDING"],
    user: |_, _, _| {},
    room: room_rows,
    end: |_, _| {},
    load: load_row,
};

fn room_rows(state: &State, room: RoomId, out: &mut Rows) {
    let r = state.room(room);
    for (&user, m) in &r.members {
        if m.delivered > m.read {
            out.row(&["RECEIPT", &r.name, &state.users[user].name, &m.delivered.to_string()]);
        }
    }
    for p in &r.pending {
        let told = if p.delivered { "1" } else { "0" };
        out.row(&["PENDING", &r.name, &p.ord.to_string(), &state.users[p.sender].name, &p.id, told]);
    }
}

fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let room = state.need_room(f.get(1)?.as_ref())?;
    match f.get(0)?.as_ref() {
        "RECEIPT" => {
            let user = state.need_user(f.get(2)?.as_ref())?;
            let delivered = f.number(3)?;
            let member = state.room_mut(room).members.get_mut(&user).ok_or("a receipt of no member")?;
            member.delivered = delivered;
        }
        _ => {
            let sender = state.need_user(f.get(3)?.as_ref())?;
            let (ord, id, delivered) = (f.number(2)?, f.get(4)?.as_ref().into(), f.number(5)? == 1);
            state.room_mut(room).pending.push_back(Pending { ord, sender, id, delivered });
        }
    }
    Ok(())
}
