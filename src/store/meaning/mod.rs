//! What a stored request means, decided once, here.
//!
//! The store applies each record to its `State` (`store/state/`,
//! `store/record/`); a single server and every node of a cluster run
//! that same code, a follower on the records its leader wrote. Where the
//! store decides something (a refusal, a mark that moves, who is told)
//! it asks here: a pure function of the numbers the store keeps, so a
//! student reads each rule once, apart from how the store finds and
//! keeps its facts.
//!
//! Marks are counts: a direction of a direct chat "delivered up to 3" has
//! its messages number 0, 1 and 2 delivered. A message is named by its
//! number in its stream (`ord`), so message `ord` is covered by a mark
//! above it.
//!
//! Which request is refused with which code lives in the modules below,
//! cut by what the request names: each is a pure function of
//! what the store found, so the store looks things up and stores the
//! result, and `src/cluster/` names no refusal of its own.
//! - [`send`]: who may send a `MSG` where (recipient, room, quota, inbox);
//! - [`rooms`]: a room that is missing, or that the asker is not in;
//! - [`read`]: a `READ` of a sender or message that is not there;
//! - [`accounts`]: a user that is not there, a name that is taken.
//!
//! Who receives which event once a request is accepted is [`effects`]:
//! the store keeps exactly the events it names.

pub mod accounts;
pub mod effects;
pub mod read;
pub mod rooms;
pub mod send;

use crate::protocol::{Code, Ko};
use crate::store::Account;

/// Most rooms one user may be in (`JOIN` beyond: `KO:BAD_REQUEST`).
pub const MAX_ROOMS_PER_USER: usize = 256;

/// `DELIVERED` of message `ord` moves its direction's delivered mark to
/// `ord + 1` (and tells its sender, protocol §5) unless that message was
/// delivered or read already: a `READ` implies delivery, so a message
/// never goes back from READ to DELIVERED.
pub fn delivers(delivered: u64, read: u64, ord: u64) -> bool {
    ord + 1 > delivered.max(read)
}

/// `READ` of message `ord` moves a read mark that stands at `read` to
/// `ord + 1` (in a direct chat, and a room member's own). Reading a message
/// at or before the mark changes nothing: no `STATUS`, no `READMARK`.
pub fn reads(read: u64, ord: u64) -> bool {
    ord + 1 > read
}

/// A room member sends the room's message `ord` with its read mark at
/// `read`. One who had read the whole room (`read == ord`) has read its
/// own message too: the mark moves past it, to `ord + 1`, so that a
/// later `READ` of that message moves nothing (no `READMARK`). One with
/// unread messages keeps its mark: its own messages are not unread
/// anyway (`CHATS` never counts them). `None`: the mark stays.
pub fn sent_in_room(read: u64, ord: u64) -> Option<u64> {
    (read == ord).then_some(ord + 1)
}

/// A user in `rooms` rooms joins one more: refused past
/// [`MAX_ROOMS_PER_USER`] (a bound on what one account makes the server
/// keep). Joining a room it is in already is not a join:
/// [`rooms::join`] asks that first.
fn may_join(rooms: usize) -> Result<(), Ko> {
    if rooms >= MAX_ROOMS_PER_USER {
        let why = format!("you are in {MAX_ROOMS_PER_USER} rooms, the most allowed; LEAVE one first");
        return Err(Ko::new(Code::BadRequest, why));
    }
    Ok(())
}

/// 1.2: a direct message to `name`, whose account is deleted, is refused
/// (`DELACCOUNT`, §20). The sender learns why; nothing is stored.
pub fn to_deleted(name: &str) -> Ko {
    Ko::new(Code::UnknownUser, format!("{name} deleted its account"))
}

/// A login of one more device while `max` devices of the account are
/// online already (`--max-devices`), on a node or a single server.
pub fn too_many_devices(max: usize) -> Ko {
    Ko::new(Code::TooManyDevices, format!("{max} devices are online already (--max-devices)"))
}

/// §4: a `MSG` whose id its sender used in its window (`first` is that
/// message's `<ts>`) is a resend, and gets its first `OK` again, before
/// any other check: a room that became announce-only, a mute, a
/// recipient that deleted its account, a full quota refuse only new
/// messages. (Checked after the room's rules, a resend of a message
/// accepted before the room turned announce-only would get
/// `KO:FORBIDDEN`, and its sender would take an `OK`'d message for lost.)
pub fn resend(id: &str, first: Option<u64>) -> Option<crate::protocol::Accepted> {
    first.map(|ts| crate::protocol::Accepted { id: id.into(), ts })
}

/// The account a request names, as the store found it: none is
/// [`Ko::no_user`]; a deleted one (1.2, §20) is [`to_deleted`], as for a
/// message to it, for the requests that act on someone or ask after
/// someone: an `INVITE` or another moderation change, `LASTSEEN`. One
/// answer for all of them: an invitation of a deleted account is
/// refused, never stored as a direct message, and `LASTSEEN` never says
/// `ONLINE` of it.
pub fn named(name: &str, account: Option<Account>) -> Result<Account, Ko> {
    match account {
        None => Err(Ko::no_user(name)),
        Some(account) if account.is_deleted() => Err(to_deleted(&account.name)),
        Some(account) => Ok(account),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_message_is_never_delivered_again() {
        assert!(delivers(0, 0, 0), "the first message");
        assert!(!delivers(3, 0, 2), "delivered already");
        assert!(!delivers(0, 3, 1), "read already: READ implies delivery");
        assert!(delivers(2, 1, 2), "the next one");
    }

    #[test]
    fn a_read_mark_only_moves_forward() {
        assert!(reads(0, 0));
        assert!(!reads(5, 4), "the last message read, read again");
        assert!(!reads(5, 0));
        assert!(reads(5, 5));
    }

    #[test]
    fn a_message_sent_in_a_room_read_to_its_end_is_read_by_its_sender() {
        assert_eq!(sent_in_room(4, 4), Some(5), "all read: the mark moves past it");
        assert_eq!(sent_in_room(2, 4), None, "two unread before it: the mark stays");
        assert!(!reads(5, 4), "so reading it then moves nothing");
        assert!(reads(2, 4), "where a member with unread messages moves its mark");
    }

    #[test]
    fn the_room_limit_counts_the_rooms_a_user_is_in() {
        assert!(may_join(MAX_ROOMS_PER_USER - 1).is_ok());
        let ko = may_join(MAX_ROOMS_PER_USER).unwrap_err();
        assert_eq!(ko.code, Code::BadRequest);
        assert!(ko.reason.contains("LEAVE one first"), "{}", ko.reason);
        assert_eq!(to_deleted("bob").code, Code::UnknownUser);
    }

    #[test]
    fn the_refusals_read_as_the_protocol_says() {
        use crate::protocol::Chat;
        assert_eq!(Ko::no_message("m1", Chat::Room("lab".into())).reason, "no message m1 from #lab to you");
        assert_eq!(Ko::no_message("m1", Chat::User("ana".into())).reason, "no message m1 from ana to you");
        assert_eq!(Ko::no_sender("zed").code, Code::UnknownMessage, "READ has one code");
        assert_eq!(
            too_many_devices(3).to_string(),
            "KO:TOO_MANY_DEVICES:3 devices are online already (--max-devices)"
        );
        assert_eq!(Ko::not_member("#lab").reason, "you are not in #lab");
        assert_eq!(Ko::no_room("lab").reason, "no room named #lab");
    }

    #[test]
    fn a_deleted_account_is_named_as_a_message_to_it_is_refused() {
        let account =
            |hash: &str| Some(Account { id: 1, name: "Bob".into(), hash: hash.into(), admin: false });
        assert_eq!(named("bob", None).unwrap_err(), Ko::no_user("bob"));
        assert_eq!(named("bob", account("$argon2id$x")).unwrap().name.as_ref(), "Bob");
        let deleted = account(&crate::store::state::deleted_hash(1));
        assert_eq!(named("bob", deleted).unwrap_err(), to_deleted("Bob"));
    }
}
