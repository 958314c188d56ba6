//! Events from one user to others that are never stored: the one way an
//! event goes from the server to other users outside the inbox.
//!
//! [`relay`] pushes an [`Event`] to users wherever their receive
//! connection is: on this server through the router, and on a cluster's
//! other nodes through [`Nodes::relay`](super::nodes::Nodes::relay), whose
//! cluster implementation says, in one exhaustive match, how each kind of
//! event crosses between nodes. A new relayed event therefore needs no
//! cluster code of its own, and cannot be forgotten there: the compiler
//! names it. The version gate is the outlet's ([`Event::since`]): a client
//! that did not say `VERSION:1.<minor>` is not sent it, on any node.
//!
//! Such events are ephemeral: no sequence number, no inbox, no replay. A
//! user offline everywhere simply misses them.

use super::Ctx;
use crate::protocol::{Chat, Code, Event, Ko};
use crate::store::UserId;

/// Pushes `event` to each of `users` who is online, here or on another
/// node. In a cluster a user may be online on both (devices on two nodes,
/// protocol 1.2): every user is handed to `Nodes::relay` too, which sends
/// only to the other nodes where the user has a device.
pub fn relay(ctx: &Ctx, users: impl IntoIterator<Item = UserId>, event: &Event) {
    let users: Vec<UserId> = users.into_iter().collect();
    for &user in &users {
        ctx.router.send_to(user, event);
    }
    ctx.nodes.relay(&users, event);
}

/// `TYPING:<to>` (protocol 1.2) from `me` (`name`): tells the peer, or the
/// other members of a room `me` is in, with `TYPING:<name>:<to>`. Nobody
/// needs to be online: the answer is `OK` all the same. A room larger than
/// `--presence-limit` tells nobody (as for `JOINED`/`LEFT`): what one
/// keystroke can make the server send stays bounded.
pub fn typing(ctx: &Ctx, me: UserId, name: &str, to: &Chat) -> Result<(), Ko> {
    match to {
        Chat::User(peer) => {
            let account =
                ctx.store.find_account(peer).ok_or_else(|| ko(Code::UnknownUser, "no user named", peer))?;
            // 1.2: not to someone `me` blocked (§21).
            if account.id != me && !ctx.store.shown_to(me, vec![account.id]).is_empty() {
                let event = Event::Typing { from: name.to_string(), to: account.name.to_string() };
                relay(ctx, [account.id], &event);
            }
        }
        Chat::Room(room) => {
            let not_member = || ko(Code::NotMember, "you are not in", &format!("#{room}"));
            let (room, members) = ctx.store.room_members(room).ok_or_else(not_member)?;
            if !members.iter().any(|&(user, _)| user == me) {
                return Err(not_member());
            }
            super::presence::may_type(ctx, me, name, &room)?;
            if members.len() <= ctx.config.presence_limit {
                let event = Event::Typing { from: name.to_string(), to: room.to_string() };
                let others = members.iter().map(|&(user, _)| user).filter(|&user| user != me).collect();
                relay(ctx, ctx.store.shown_to(me, others), &event);
            }
        }
    }
    Ok(())
}

fn ko(code: Code, why: &str, name: &str) -> Ko {
    Ko::new(code, format!("{why} {name}"))
}
