//! `RECEIPTS:<#room>:<id>` (protocol 1.2, §31): who of a room has your
//! message delivered, and who read it, with the times; the store decides
//! (`store::local::room_receipts`), this writes its lines.

use crate::protocol::Reply;
use crate::server::session::Flow;
use crate::store::local::room_receipts::Receipts;
use crate::store::state::receipts::RECEIPTS_MAX_MEMBERS;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["RECEIPTS"], Version::V1_2, Kind::Read);

/// What a `RECEIPTS` costs: a message action's search of the room, and
/// a read of the log after the message.
pub(super) const COST: u32 = 11;

pub(super) fn serve(mut a: Asking, room: String, id: String) -> Flow {
    a.settle();
    let answer = a.base.store.receipts(a.who.id, &room, &id).map(|r| Reply::listing(lines(&r)));
    a.reply(answer)
}

/// The listing's lines: `TO:<members>`, then `READ:<member>:<ts>` for
/// each reader, newest first, then `DELIVERED:<member>:<ts>`; a time
/// the log no longer says is empty. A room too large to keep receipts:
/// `LARGE:<members>:<limit>` alone.
pub fn lines(r: &Receipts) -> Vec<String> {
    if !r.kept {
        return vec![format!("LARGE:{}:{RECEIPTS_MAX_MEMBERS}", r.others + 1)];
    }
    let time = |t: Option<u64>| t.map(|t| t.to_string()).unwrap_or_default();
    let mut out = vec![format!("TO:{}", r.others)];
    out.extend(r.read.iter().map(|(m, t)| format!("READ:{m}:{}", time(*t))));
    out.extend(r.delivered.iter().map(|(m, t)| format!("DELIVERED:{m}:{}", time(*t))));
    out
}
