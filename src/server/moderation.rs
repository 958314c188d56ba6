//! Moderation requests (protocol 1.2, docs/PROTOCOL.md "Moderation"):
//! from a request to a change of the room's rules, stored with the
//! message that tells it in the room's text, and then told to the
//! members as a 1.2 event.
//!
//! Who may do what, and the change itself, are the store's
//! (`store::moderation`, under the store's lock); this module turns the
//! request's minutes into an instant, names the target as registered,
//! words the notice that a client of 1.0 or 1.1 shows (it is not sent
//! the event), and relays the event once the change is on disk.

use super::base::Base;
use super::relay;
use crate::protocol::{Change, Event, Ko, ModAction, RoomInfoLine, RoomMode, Text};
use crate::store::interface::Announcement;
use crate::store::{UserId, meaning, now_ms};

/// `<WORD>:<#room>:…` from `me` (`name`): checks, stores, tells.
pub fn moderate(base: &Base, me: UserId, name: &str, room: &str, action: ModAction) -> Result<(), Ko> {
    let (change, minutes) = change(base, action)?;
    if let Change::Invited(invitee) = &change
        && super::prefs::hides_invite(base, me, invitee, room)
    {
        return Ok(()); // 1.2: the invitee blocked `me` (§22)
    }
    let notice = Announcement {
        id: super::own_ids::own_message_id("mod"),
        text: notice_text(name, room, &change, minutes),
    };
    let done = base.store.moderate(me, room, &change, &notice)?;
    if !done.changed {
        return Ok(()); // nothing changed: nobody to tell
    }
    base.store.wait(done.ticket)?;
    let event = Event::Moderation { room: done.room.to_string(), by: done.by.to_string(), change };
    relay::relay(base, done.tell, &event);
    Ok(())
}

/// `ROOMINFO:<#room>`.
pub fn room_info(base: &Base, me: UserId, room: &str) -> Result<Vec<RoomInfoLine>, Ko> {
    base.store.room_info(me, room)
}

/// True if `user` moderates `room` (a room admin, its owner, a server
/// admin): what deleting another member's message asks (§19).
pub fn is_room_admin(base: &Base, user: UserId, room: &str) -> bool {
    base.store.is_room_admin(user, room)
}

/// The change a request asks, its target named as registered, and its
/// minutes (for the notice).
fn change(base: &Base, action: ModAction) -> Result<(Change, u64), Ko> {
    let registered = |t: &str| meaning::named(t, base.store.find_account(t)).map(|a| a.name.to_string());
    let until = |minutes: u64| now_ms() + minutes * base.config.minute_ms;
    Ok(match action {
        ModAction::Topic(text) => (Change::Topic(text), 0),
        ModAction::Mode(mode, on) => (Change::Mode(mode, on), 0),
        ModAction::Invite(u) => (Change::Invited(registered(&u)?), 0),
        ModAction::Kick(u) => (Change::Kicked(registered(&u)?), 0),
        ModAction::Ban(u, 0) => (Change::Banned(registered(&u)?, 0), 0),
        ModAction::Ban(u, m) => (Change::Banned(registered(&u)?, until(m)), m),
        ModAction::Unban(u) => (Change::Unbanned(registered(&u)?), 0),
        ModAction::Mute(u, m) => (Change::Muted(registered(&u)?, until(m)), m),
        ModAction::Unmute(u) => (Change::Unmuted(registered(&u)?), 0),
        ModAction::Op(u) => (Change::Opped(registered(&u)?), 0),
        ModAction::Deop(u) => (Change::Deopped(registered(&u)?), 0),
    })
}

/// The notice's words (English, as the server's reasons are): IRC's
/// `* ana …`, so that a plain client shows it as an action.
fn notice_text(by: &str, room: &str, change: &Change, minutes: u64) -> Text {
    let room = format!("#{room}");
    let time = |minutes: u64| match minutes {
        0 => "until lifted".to_string(),
        1 => "for 1 minute".to_string(),
        m => format!("for {m} minutes"),
    };
    let what = match change {
        Change::Topic(text) if text.is_empty() => format!("cleared the topic of {room}"),
        Change::Topic(text) => format!("set the topic of {room}: {text}"),
        Change::Mode(RoomMode::Announce, true) => {
            format!("made {room} announce-only: only admins write in it")
        }
        Change::Mode(RoomMode::Announce, false) => format!("let everyone write in {room} again"),
        Change::Mode(RoomMode::Invite, true) => format!("made {room} invite-only"),
        Change::Mode(RoomMode::Invite, false) => format!("opened {room} to everyone"),
        Change::Invited(_) => format!("invites you to {room}: join it with JOIN:{room}"),
        Change::Kicked(u) => format!("removed {u} from {room}"),
        Change::Banned(u, _) => format!("banned {u} from {room} {}", time(minutes)),
        Change::Unbanned(u) => format!("lifted the ban of {u} from {room}"),
        Change::Muted(u, _) => format!("muted {u} in {room} {}", time(minutes)),
        Change::Unmuted(u) => format!("unmuted {u} in {room}"),
        Change::Opped(u) => format!("made {u} an admin of {room}"),
        Change::Deopped(u) => format!("removed {u} as an admin of {room}"),
    };
    // Names and rooms need no escape; a topic is escaped already (and
    // checked as strict as a MSG's text when it was asked).
    Text::parse(&format!("* {by} {what}"))
        .unwrap_or_else(|_| Text::parse("* moderation").expect("plain text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_as_actions() {
        let text = notice_text("ana", "lab3", &Change::Muted("bob".into(), 5), 10);
        assert_eq!(text.as_escaped(), "* ana muted bob in #lab3 for 10 minutes");
        let text = notice_text("ana", "lab3", &Change::Topic("a\\nb".into()), 0);
        assert_eq!(text.as_escaped(), "* ana set the topic of #lab3: a\\nb");
        assert_ne!(
            super::super::own_ids::own_message_id("mod"),
            super::super::own_ids::own_message_id("mod")
        );
    }
}
