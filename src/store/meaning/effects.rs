//! Who receives what, decided once, here: a single server and every node
//! of a cluster run this same code.
//!
//! A record that was accepted gives events: a message goes to its
//! recipient (or the room's other members) and, 1.2, as a copy to its
//! sender's other devices; a `DELIVERED` or a `READ` that moves a mark
//! tells the message's sender with a `STATUS`, and a `READ` gives the
//! reader's other devices a `READMARK`. The store keeps these as entries
//! of in-memory inboxes (`store/state/`, `store/record/`). Which users
//! get which event is decided here, from the facts the store found
//! ([`Recipient`]), and the store keeps exactly the events these
//! functions name: no `STATUS` to a sender who has deleted its account,
//! an event nobody would ever read.
//!
//! The functions hand the events out one by one (a callback, or a small
//! [`Receipt`]) rather than as a list: a room message reaches every
//! member, and the single server's message path must not allocate per
//! message for it (it borrows the room's members while it fills their
//! inboxes).

use super::{delivers, reads};

/// A user an event may go to, as the store found it. (A sender or a
/// reader is named by its id alone: it is making the request, so its
/// account is live.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipient<U> {
    /// The store's handle for it (a `UserId`).
    pub id: U,
    /// 1.2: its user deleted the account (`DELACCOUNT`, §20). Its inbox
    /// was dropped and nobody will log in to read one: it gets nothing.
    pub deleted: bool,
}

/// What a new message gives a user (protocol §6; 1.2, §16, for the copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gets {
    /// The message itself (`MSG`).
    Msg,
    /// 1.2: a copy for the sender's other devices: the same `MSG`, whose
    /// `<from>` is the user itself.
    Copy,
}

/// Where a new message goes.
pub enum To<U, M> {
    /// A direct chat's recipient.
    User(Recipient<U>),
    /// A room's members (the sender among them, left out here). They are
    /// all live accounts: `DELACCOUNT` leaves every room first. Their
    /// order is the store's and changes nobody's numbers: each member
    /// gets one event.
    Room(M),
}

impl<U> To<U, std::iter::Empty<U>> {
    /// A direct chat's recipient (its type names no list of members).
    pub fn user(to: Recipient<U>) -> Self {
        To::User(to)
    }
}

/// The events of a new message from `from`, handed to `give`: the direct
/// recipient (unless it deleted its account), or every member of the
/// room but the sender; then a copy for the sender if it has `several`
/// devices.
pub fn message<U, M>(from: U, several: bool, to: To<U, M>, mut give: impl FnMut(U, Gets))
where
    U: Copy + PartialEq,
    M: IntoIterator<Item = U>,
{
    match to {
        To::User(to) if !to.deleted => give(to.id, Gets::Msg),
        To::User(_) => {}
        To::Room(members) => {
            for member in members {
                if member != from {
                    give(member, Gets::Msg);
                }
            }
        }
    }
    if several {
        give(from, Gets::Copy);
    }
}

/// What a `DELIVERED` or a `READ` of one message gives, if it moves its
/// mark (protocol §6, §7; 1.2, §16, for `READMARK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt<U> {
    /// The mark's new value: the messages numbered below it are
    /// delivered (or read).
    pub mark: u64,
    /// The message's sender, told with a `STATUS`; none in a room, or for
    /// a sender that deleted its account.
    pub status: Option<U>,
    /// 1.2: the reader, whose other devices get a `READMARK`; only for a
    /// `READ`, and a reader with several devices.
    pub readmark: Option<U>,
}

/// `DELIVERED` of message `ord` of a direct chat's direction whose marks
/// are `delivered` and `read`, sent by `sender`: `None` if it moves
/// nothing ([`delivers`]: delivered or read already).
pub fn delivered<U>(delivered: u64, read: u64, ord: u64, sender: Recipient<U>) -> Option<Receipt<U>> {
    delivers(delivered, read, ord).then(|| Receipt { mark: ord + 1, status: told(sender), readmark: None })
}

/// `READ` of message `ord` by `reader` (with `several` devices or not),
/// whose read mark stands at `read`: of a direct chat from `sender`, or
/// of a room (`sender` none). `None` if it moves nothing ([`reads`]).
pub fn read<U>(
    read: u64,
    ord: u64,
    sender: Option<Recipient<U>>,
    reader: U,
    several: bool,
) -> Option<Receipt<U>> {
    let readmark = several.then_some(reader);
    reads(read, ord).then(|| Receipt { mark: ord + 1, status: sender.and_then(told), readmark })
}

/// A sender is told, unless it deleted its account.
fn told<U>(sender: Recipient<U>) -> Option<U> {
    (!sender.deleted).then_some(sender.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u32, deleted: bool) -> Recipient<u32> {
        Recipient { id, deleted }
    }

    fn events<M: IntoIterator<Item = u32>>(several: bool, to: To<u32, M>) -> Vec<(u32, Gets)> {
        let mut got = Vec::new();
        message(1, several, to, |u, g| got.push((u, g)));
        got
    }

    #[test]
    fn a_message_reaches_its_recipient_or_the_other_members_then_the_senders_devices() {
        let (bob, gone) = (user(2, false), user(2, true));
        assert_eq!(events(false, To::user(bob)), [(2, Gets::Msg)]);
        assert_eq!(events(true, To::user(bob)), [(2, Gets::Msg), (1, Gets::Copy)]);
        assert_eq!(events(true, To::user(gone)), [(1, Gets::Copy)], "a deleted recipient gets nothing");
        assert_eq!(events(false, To::Room([3, 1, 2])), [(3, Gets::Msg), (2, Gets::Msg)], "not its sender");
        assert_eq!(events(true, To::Room([1])), [(1, Gets::Copy)], "alone in its room");
    }

    #[test]
    fn a_receipt_that_moves_a_mark_tells_a_live_sender_and_the_readers_devices() {
        let (ana, gone) = (user(1, false), user(1, true));
        assert_eq!(delivered(0, 0, 2, ana), Some(Receipt { mark: 3, status: Some(1), readmark: None }));
        assert_eq!(delivered(0, 3, 2, ana), None, "read already");
        assert_eq!(delivered(0, 0, 0, gone).unwrap().status, None, "a deleted sender is not told");
        assert_eq!(
            read(0, 4, Some(ana), 2, false),
            Some(Receipt { mark: 5, status: Some(1), readmark: None })
        );
        let by_devices = Some(Receipt { mark: 5, status: None, readmark: Some(2) });
        assert_eq!(read(0, 4, Some(gone), 2, true), by_devices);
        assert_eq!(read(2, 0, Some(ana), 2, true), None, "read already: no STATUS, no READMARK");
        assert_eq!(read(0, 0, None, 2, true).unwrap().status, None, "a room's sender is not told");
    }
}
