//! 1.2 (docs/PROTOCOL.md §22): `BLOCK`, `UNBLOCK`, `BLOCKS`, `NOTIFY`,
//! `PIN`, `UNPIN` and `PREFS` on the send port.
//!
//! Each change is stored as a setting (`store::prefs` holds the rules
//! both backends apply, `store::settings` the one store of settings),
//! then told to every receive connection of the user that said
//! `VERSION:1.2`, the asking device's included, as an
//! ephemeral `PREF`, `BLOCKED` or `UNBLOCKED` (no sequence number, never
//! replayed: a device learns the state at login with `BLOCKS` and
//! `PREFS`). What a block hides is `Store::send`'s (messages), and
//! `Store::shown_to`'s (presence, `TYPING`), with [`hides_invite`].

use super::{Ctx, relay};
use crate::protocol::{Chat, Event, Ko, Level, PrefLine};
use crate::store::UserId;
use crate::store::prefs::{self, PrefChange};

/// `BLOCK:<user>` (`on`) or `UNBLOCK:<user>` from `me`.
pub fn block(ctx: &Ctx, me: UserId, whom: &str, on: bool) -> Result<(), Ko> {
    let Some(account) = ctx.store.find_account(whom).filter(|a| !a.is_deleted()) else {
        if on {
            return Err(Ko::no_user(whom));
        }
        return Ok(()); // nobody by that name is blocked
    };
    let (setting, key) = (&prefs::BLOCK, prefs::key(&account.name));
    let ticket =
        ctx.store.change_setting(me, setting, &key, &mut prefs::block(me, account.id, &account.name, on))?;
    ctx.store.wait(ticket)?;
    relay::relay(ctx, [me], &Event::Block { user: account.name.to_string(), blocked: on });
    Ok(())
}

/// `BLOCKS`: the names `me` blocked, as registered.
pub fn blocks(ctx: &Ctx, me: UserId) -> Result<Vec<String>, Ko> {
    ctx.store.blocks(me)
}

/// `NOTIFY:<chat>:<level>`.
pub fn notify(ctx: &Ctx, me: UserId, chat: &Chat, level: Level) -> Result<(), Ko> {
    change(ctx, me, chat, PrefChange::Level(level))
}

/// `PIN:<chat>` (`pinned`) or `UNPIN:<chat>`.
pub fn pin(ctx: &Ctx, me: UserId, chat: &Chat, pinned: bool) -> Result<(), Ko> {
    change(ctx, me, chat, PrefChange::Pin(pinned))
}

/// `PREFS`: the chats whose preference is not the default.
pub fn prefs(ctx: &Ctx, me: UserId) -> Result<Vec<PrefLine>, Ko> {
    Ok(prefs::lines(ctx.store.settings(me, &prefs::PREF)?))
}

/// Stores a chat's new preference and tells `me`'s devices.
fn change(ctx: &Ctx, me: UserId, chat: &Chat, change: PrefChange) -> Result<(), Ko> {
    let chat = registered(ctx, chat)?;
    let mut pref = PrefLine::new(&chat);
    let ticket = ctx.store.change_setting(
        me,
        &prefs::PREF,
        &prefs::key(&chat),
        &mut prefs::pref(&chat, change, &mut pref),
    )?;
    ctx.store.wait(ticket)?;
    relay::relay(ctx, [me], &Event::Pref(pref));
    Ok(())
}

/// The chat as registered: a user must exist (`KO:UNKNOWN_USER`); a room
/// need not (one may mute a room before joining it, or keep its pin
/// after leaving), and keeps the spelling given if it does not.
fn registered(ctx: &Ctx, chat: &Chat) -> Result<String, Ko> {
    match chat {
        Chat::User(name) => match ctx.store.find_account(name) {
            Some(account) => Ok(account.name.to_string()),
            None => Err(Ko::no_user(name)),
        },
        Chat::Room(room) => {
            Ok(ctx.store.room_members(room).map_or_else(|| chat.to_string(), |(r, _)| r.to_string()))
        }
    }
}

/// True if `invitee` blocked `me`, an admin of `room`: its `INVITE` then
/// gets `OK` and invites nobody (no invitation, no notice, no event), so
/// that it cannot tell. One who may not invite is refused as usual.
pub fn hides_invite(ctx: &Ctx, me: UserId, invitee: &str, room: &str) -> bool {
    ctx.store.is_blocked(invitee, me) && ctx.store.is_room_admin(me, room)
}
