//! 1.2 (docs/PROTOCOL.md §22): `BLOCK`, `UNBLOCK`, `BLOCKS`, `NOTIFY`,
//! `PIN`, `UNPIN` and `PREFS` on the send port.
//!
//! Each change is stored as a setting (`store::prefs` holds the rules
//! the store applies, `store::settings` the one store of settings),
//! then told to every receive connection of the user that said
//! `VERSION:1.2`, the asking device's included, as an
//! ephemeral `PREF`, `BLOCKED` or `UNBLOCKED` (no sequence number, never
//! replayed: a device learns the state at login with `BLOCKS` and
//! `PREFS`). What a block hides is `meaning::send`'s (messages, asked
//! by the store as it sends), and `Store::shown_to`'s (presence, `TYPING`), with
//! [`hides_invite`].

use super::base::Base;
use super::relay;
use crate::protocol::{Chat, Event, Ko, Level, PrefLine};
use crate::store::UserId;
use crate::store::prefs::{self, PrefChange};

/// `BLOCK:<user>` (`on`) or `UNBLOCK:<user>` from `me`.
pub fn block(base: &Base, me: UserId, whom: &str, on: bool) -> Result<(), Ko> {
    if whom.starts_with('@') {
        // 1.3: a whole server (`block::serve` checked it is a peer).
        let key = prefs::key(whom);
        let ticket =
            base.store.change_setting(me, &prefs::BLOCK, &key, &mut prefs::block(me, None, whom, on))?;
        base.store.wait(ticket)?;
        relay::relay(base, [me], &Event::Block { user: whom.to_string(), blocked: on });
        return Ok(());
    }
    let Some(account) = base.store.find_account(whom).filter(|a| !a.is_deleted()) else {
        if on {
            return Err(Ko::no_user(whom));
        }
        return Ok(()); // nobody by that name is blocked
    };
    let (setting, key) = (&prefs::BLOCK, prefs::key(&account.name));
    let ticket = base.store.change_setting(
        me,
        setting,
        &key,
        &mut prefs::block(me, Some(account.id), &account.name, on),
    )?;
    base.store.wait(ticket)?;
    relay::relay(base, [me], &Event::Block { user: account.name.to_string(), blocked: on });
    Ok(())
}

/// `BLOCKS`: the names `me` blocked, as registered.
pub fn blocks(base: &Base, me: UserId) -> Vec<String> {
    base.store.blocks(me)
}

/// `NOTIFY:<chat>:<level>`.
pub fn notify(base: &Base, me: UserId, chat: &Chat, level: Level) -> Result<(), Ko> {
    change(base, me, chat, PrefChange::Level(level))
}

/// `PIN:<chat>` (`pinned`) or `UNPIN:<chat>`.
pub fn pin(base: &Base, me: UserId, chat: &Chat, pinned: bool) -> Result<(), Ko> {
    change(base, me, chat, PrefChange::Pin(pinned))
}

/// `PREFS`: the chats whose preference is not the default.
pub fn prefs(base: &Base, me: UserId) -> Vec<PrefLine> {
    prefs::lines(base.store.settings(me, &prefs::PREF))
}

/// Stores a chat's new preference and tells `me`'s devices.
fn change(base: &Base, me: UserId, chat: &Chat, change: PrefChange) -> Result<(), Ko> {
    let chat = registered(base, chat)?;
    let mut pref = PrefLine::new(&chat);
    let ticket = base.store.change_setting(
        me,
        &prefs::PREF,
        &prefs::key(&chat),
        &mut prefs::pref(&chat, change, &mut pref),
    )?;
    base.store.wait(ticket)?;
    relay::relay(base, [me], &Event::Pref(pref));
    Ok(())
}

/// The chat as registered: a user must exist (`KO:UNKNOWN_USER`); a room
/// need not (one may mute a room before joining it, or keep its pin
/// after leaving), and keeps the spelling given if it does not.
fn registered(base: &Base, chat: &Chat) -> Result<String, Ko> {
    match chat {
        Chat::User(name) => match base.store.find_account(name) {
            Some(account) => Ok(account.name.to_string()),
            None => Err(Ko::no_user(name)),
        },
        Chat::Room(room) => {
            Ok(base.store.room_members(room).map_or_else(|| chat.to_string(), |(r, _)| r.to_string()))
        }
    }
}

/// True if `invitee` blocked `me`, an admin of `room`: its `INVITE` then
/// gets `OK` and invites nobody (no invitation, no notice, no event), so
/// that it cannot tell. One who may not invite is refused as usual.
pub fn hides_invite(base: &Base, me: UserId, invitee: &str, room: &str) -> bool {
    base.store.is_blocked(invitee, me) && base.store.is_room_admin(me, room)
}
