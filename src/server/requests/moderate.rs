//! `TOPIC`, `MODE`, `INVITE`, `KICK`, `BAN`, `UNBAN`, `MUTE`, `UNMUTE`,
//! `OP`, `DEOP` (protocol 1.2, §18): a room's owner and admins run it.
//! Who may do what, and the records, are `server::moderation` and
//! `store::moderation`.

use crate::protocol::Reply;
use crate::protocol::moderation::{ModAction, REQUEST_WORDS};
use crate::server::moderation;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(REQUEST_WORDS, Version::V1_2, Kind::Stored);

pub(super) fn serve(mut a: Asking, room: String, action: ModAction) -> Flow {
    // 1.3 (§27): a room homed on another server is run there.
    if let Some((_, home)) = room.split_once('@') {
        let why = format!("#{room} is run by its home server, {home}");
        return a.reply(Err(crate::protocol::Ko::new(crate::protocol::Code::Forbidden, why)));
    }
    // 1.3: the user an action is about may be a member of another
    // server (`bob@lab2`), named as a chat is.
    let mut action = action;
    if let Some(target) = action.target_mut() {
        match a.user_here(std::mem::take(target)) {
            Ok(here) => *target = here,
            Err(ko) => return a.reply(Err(ko)),
        }
    }
    a.settle(); // its notice follows this session's messages
    let answer = moderation::moderate(a.base, a.who.id, a.who.name, &room, action).map(|()| Reply::Ok);
    a.reply(answer)
}
