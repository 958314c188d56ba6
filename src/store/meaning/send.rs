//! Who may send a `MSG` where, decided once, here: a single server and
//! every node of a cluster run this same code, so they refuse the same
//! messages with the same codes.
//!
//! The store finds the recipient in its in-memory `State`
//! (`store/local/send.rs`) and passes what it found here, with the
//! handle it keeps for it (a `UserId`, a room id) that comes back when
//! the message may go; it names no refusal of its own. The order of
//! the checks is part of the rule: a message to nobody is `UNKNOWN_USER`
//! even from a sender whose quota is spent.

use super::to_deleted;
use crate::protocol::Ko;
use crate::store::budget::{Quota, check_inbox};

/// The recipient of a direct message, as the store found it.
#[derive(Clone, Copy, Debug)]
pub struct Addressee<'a> {
    /// Its name as registered (the case it chose).
    pub name: &'a str,
    /// 1.2: whether its user deleted it (`DELACCOUNT`, §20).
    pub deleted: bool,
    /// Events waiting in its inbox, not yet acknowledged.
    pub waiting: u64,
    /// 1.2: whether it blocked the sender (§22).
    pub blocked: bool,
}

/// Where a direct message goes once it may: to its recipient (the
/// store's handle for it), or nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goes<U> {
    To(U),
    /// §22: the recipient blocked the sender. The message is answered
    /// `OK:<id>:<ts>` as usual and stored nowhere: no inbox, no
    /// `HISTORY`, no `CHATS`, no quota spent, on either side; an `UNBLOCK`
    /// never brings it back. The sender is not told.
    Nowhere,
}

/// A direct message to the user named `asked`, found as `found` (with the
/// store's handle `U` for it): `KO:UNKNOWN_USER` for no such user or a
/// deleted account (§20), then `KO:FULL` for the sender's spent quota,
/// then for a recipient's full inbox (`inbox_max` events waiting, 0: no
/// limit). Last, a recipient who blocked the sender takes it nowhere:
/// every answer before is the one any sender gets, so that a block shows
/// in none of them (1.2 note: checked first, a block would answer a
/// sender whose quota is spent `OK` from the one who blocked him, and
/// `KO:FULL` from everyone else).
pub fn to_user<U>(
    asked: &str,
    found: Option<(U, Addressee)>,
    quota: Quota,
    inbox_max: u64,
) -> Result<Goes<U>, Ko> {
    let (handle, to) = found.ok_or_else(|| Ko::no_user(asked))?;
    if to.deleted {
        return Err(to_deleted(to.name));
    }
    quota.check()?;
    check_inbox(inbox_max, to.name, to.waiting)?;
    Ok(if to.blocked { Goes::Nowhere } else { Goes::To(handle) })
}

/// A message to the room named `asked`. `found` is `None` unless the
/// room is live and the sender a member (an outsider is told
/// `KO:NOT_MEMBER` whether the room exists or not); with the room comes
/// what the room's rules say of this sender now (1.2: `+announce`, a
/// mute: `Rules::may_send`). Then the sender's quota. A room is never
/// refused for a member's full inbox: it must not go quiet because one
/// member is away.
pub fn to_room<R>(asked: &str, found: Option<(R, Result<(), Ko>)>, quota: Quota) -> Result<R, Ko> {
    let (handle, rules) = found.ok_or_else(|| Ko::not_member(asked))?;
    rules?;
    quota.check()?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Code;

    const ROOMY: Quota = Quota { limit: 100, used: 10, more: "ask" };
    const SPENT: Quota = Quota { limit: 100, used: 100, more: "ask" };

    fn bob(deleted: bool, waiting: u64) -> Option<(u32, Addressee<'static>)> {
        Some((2, Addressee { name: "Bob", deleted, waiting, blocked: false }))
    }

    #[test]
    fn a_direct_message_goes_to_a_live_account_with_room_in_its_inbox() {
        assert_eq!(to_user("bob", bob(false, 2), ROOMY, 3), Ok(Goes::To(2)));
        assert_eq!(to_user("bob", bob(false, 1 << 40), ROOMY, 0), Ok(Goes::To(2)), "no inbox limit");
        let full = to_user("bob", bob(false, 3), ROOMY, 3).unwrap_err();
        assert_eq!(full.code, Code::Full);
        assert!(full.reason.starts_with("Bob has 3 events"), "{}", full.reason);
    }

    #[test]
    fn a_direct_message_to_nobody_or_a_deleted_account_is_unknown_before_any_quota() {
        assert_eq!(to_user::<u32>("zed", None, SPENT, 3), Err(Ko::no_user("zed")));
        assert_eq!(to_user("bob", bob(true, 9), SPENT, 3), Err(to_deleted("Bob")));
        let spent = to_user("bob", bob(false, 9), SPENT, 3).unwrap_err();
        assert_eq!(spent.code, Code::Full);
        assert!(spent.reason.contains("your quota") && spent.reason.ends_with("; ask"), "{}", spent.reason);
    }

    #[test]
    fn a_blocked_message_goes_nowhere_once_every_other_answer_is_the_usual_one() {
        let blocked = |waiting| Some((2, Addressee { name: "Bob", deleted: false, waiting, blocked: true }));
        assert_eq!(to_user("bob", blocked(0), ROOMY, 3), Ok(Goes::Nowhere));
        assert_eq!(to_user("bob", blocked(0), SPENT, 3).unwrap_err().code, Code::Full, "as from anyone");
        assert_eq!(to_user("bob", blocked(3), ROOMY, 3).unwrap_err().code, Code::Full, "a full inbox too");
        let gone = Some((2, Addressee { name: "Bob", deleted: true, waiting: 0, blocked: true }));
        assert_eq!(to_user("bob", gone, ROOMY, 3), Err(to_deleted("Bob")));
    }

    #[test]
    fn a_room_message_needs_membership_then_the_rooms_rules_then_the_quota() {
        assert_eq!(to_room("lab", Some((7, Ok(()))), ROOMY), Ok(7));
        assert_eq!(to_room::<u32>("lab", None, SPENT), Err(Ko::not_member("lab")));
        let announce = Ko::new(Code::Forbidden, "only admins write in #lab");
        assert_eq!(to_room("lab", Some((7, Err(announce.clone()))), SPENT), Err(announce));
        assert_eq!(to_room("lab", Some((7, Ok(()))), SPENT).unwrap_err().code, Code::Full);
    }
}
