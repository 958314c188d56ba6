//! What a request naming a room is answered when the room, or the asker's
//! place in it, is not there: decided once, here, for a single server and
//! every node of a cluster alike. The store looks the room up in its
//! `State` and passes what it found, with its handle for the room, which
//! comes back when the request may go on.

use crate::protocol::Ko;

/// A request only a member makes of the room named `asked` (`MSG` has
/// its own rule, `send::to_room`; `READ`, `HISTORY`, `SEARCH`):
/// `found` is `None` unless the room is live and the asker in it. An
/// outsider is told `KO:NOT_MEMBER` whether the room exists or not.
pub fn member<R>(asked: &str, found: Option<R>) -> Result<R, Ko> {
    found.ok_or_else(|| Ko::not_member(asked))
}

/// `LEAVE` of the room named `asked`: `found` is the live room and
/// whether the asker is in it. The code is `KO:NOT_MEMBER` either way
/// (protocol §7); the reason says whether there is no such room.
pub fn leave<R>(asked: &str, found: Option<(R, bool)>) -> Result<R, Ko> {
    match found {
        None => Err(Ko::no_room(asked)),
        Some((_, false)) => Err(Ko::not_member(asked)),
        Some((room, true)) => Ok(room),
    }
}

/// `JOIN`, once the store knows whether the asker is a `member` of the
/// room already, what the room's `rules` say of it joining (a ban,
/// invite-only: `Ok` for a room not made yet) and how many `rooms` it is
/// in: whether it joins. A member's `JOIN` changes nothing (`OK`, nothing
/// stored or told, an invitation kept for a later `JOIN` to use: §18's
/// request that changes nothing); anyone else's is refused by the rules,
/// or past [`MAX_ROOMS_PER_USER`](crate::store::MAX_ROOMS_PER_USER) rooms,
/// or joins.
pub fn join(member: bool, rules: Result<(), Ko>, rooms: usize) -> Result<bool, Ko> {
    if member {
        return Ok(false);
    }
    rules?;
    super::may_join(rooms)?;
    Ok(true)
}

/// Whether a room is forgotten once a member left it (or was removed
/// from it) and `members` are still in it: a room nobody is in is gone,
/// whole (§7, §18): its rules (owner, room admins, modes, topic,
/// invitations, bans, mutes), its messages, its name as its first member
/// spelled it. The next `JOIN` of its name makes a new room, as if the
/// name had never been used: no rule of the old room refuses it, and its
/// joiner owns it
/// ([`owned_by_its_maker`](crate::store::moderation::owned_by_its_maker)).
/// The store asks it when a member leaves (`State::leave`); a later
/// `JOIN` of the name, in the same batch or another, makes a new room
/// (bringing back the old room would bring back its rules too).
pub fn forgotten(members: usize) -> bool {
    members == 0
}

/// 1.2: a moderation change or `ROOMINFO` of the room named `asked`,
/// which anyone may ask after (a server admin acts from outside, and a
/// non-member reads `ROLE:NONE`): refused only when there is no such
/// room.
pub fn existing<R>(asked: &str, found: Option<R>) -> Result<R, Ko> {
    found.ok_or_else(|| Ko::no_room(asked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Code;

    #[test]
    fn an_outsider_learns_only_that_it_is_not_a_member() {
        assert_eq!(member("lab", Some(7)), Ok(7));
        let ko = member::<u32>("lab", None).unwrap_err();
        assert_eq!(ko, Ko::not_member("lab"));
        assert_eq!(ko.code, Code::NotMember);
    }

    #[test]
    fn leave_tells_a_missing_room_from_a_room_one_is_not_in_by_its_reason() {
        assert_eq!(leave("lab", Some((7, true))), Ok(7));
        assert_eq!(leave("lab", Some((7, false))), Err(Ko::not_member("lab")));
        let none = leave::<u32>("lab", None).unwrap_err();
        assert_eq!(none, Ko::no_room("lab"));
        assert_eq!(none.code, Ko::not_member("lab").code, "one code, two reasons");
    }

    #[test]
    fn a_members_join_is_no_join_whatever_the_rules_say() {
        let banned = || Err(Ko::new(Code::Forbidden, "banned"));
        let most = crate::store::MAX_ROOMS_PER_USER;
        assert_eq!(join(true, banned(), most), Ok(false), "a member: nothing to refuse, nothing to do");
        assert_eq!(join(false, banned(), 0), banned().map(|()| true));
        assert_eq!(join(false, Ok(()), most).unwrap_err().code, Code::BadRequest);
        assert_eq!(join(false, Ok(()), most - 1), Ok(true));
    }

    #[test]
    fn a_room_is_forgotten_with_its_last_member() {
        assert!(forgotten(0));
        assert!(!forgotten(1), "one member keeps it, and all it has");
    }

    #[test]
    fn a_room_anyone_may_ask_after_is_refused_only_when_missing() {
        assert_eq!(existing("lab", Some(7)), Ok(7));
        assert_eq!(existing::<u32>("lab", None), Err(Ko::no_room("lab")));
    }
}
