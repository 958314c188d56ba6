//! `TYPING:<user or #room>` (protocol 1.2, §15): "ana is typing…". A
//! relayed request: nothing is stored, the event goes to whoever is online
//! (`server::relay`), and a client
//! that did not say `VERSION:1.2` is not sent it.

use crate::protocol::{Chat, Event, Ko, Reply};
use crate::server::session::Flow;
use crate::server::{Base, presence, relay::relay};
use crate::store::UserId;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["TYPING"], Version::V1_2, Kind::Ephemeral);

pub(super) fn serve(a: Asking, to: Chat) -> Flow {
    // 1.3 (§27): typing is told on this server only.
    let to = match a.here_only(to, "typing") {
        Ok(to) => to,
        Err(ko) => return a.reply(Err(ko)),
    };
    let typed = typing(a.base, a.who.id, a.who.name, &to);
    a.reply(typed.map(|()| Reply::Ok))
}

/// `TYPING:<to>` (protocol 1.2) from `me` (`name`): tells the peer, or the
/// other members of a room `me` is in, with `TYPING:<name>:<to>`. Nobody
/// needs to be online: the answer is `OK` all the same. A room larger than
/// `--presence-limit` tells nobody (as for `JOINED`/`LEFT`): what one
/// keystroke can make the server send stays bounded.
fn typing(base: &Base, me: UserId, name: &str, to: &Chat) -> Result<(), Ko> {
    match to {
        Chat::User(peer) => {
            let account = base.store.find_account(peer).ok_or_else(|| Ko::no_user(peer))?;
            // 1.2: not to someone `me` blocked (§22).
            if account.id != me && !base.store.shown_to(me, vec![account.id]).is_empty() {
                let event = Event::Typing { from: name.to_string(), to: account.name.to_string() };
                relay(base, [account.id], &event);
            }
        }
        Chat::Room(room) => {
            let not_member = || Ko::not_member(room);
            let (room, members) = base.store.room_members(room).ok_or_else(not_member)?;
            if !members.iter().any(|&(user, _)| user == me) {
                return Err(not_member());
            }
            presence::may_type(base, me, name, &room)?;
            if members.len() <= base.config.presence_limit {
                let event = Event::Typing { from: name.to_string(), to: room.to_string() };
                let others = members.iter().map(|&(user, _)| user).filter(|&user| user != me).collect();
                relay(base, base.store.shown_to(me, others), &event);
            }
        }
    }
    Ok(())
}
