//! What counts as unread, and what a chat list shows: a
//! reaction, an edit or a deletion (1.2's actions, [`super::action`]) is
//! stored and delivered as a message, but it is not one to its reader. It
//! never counts as unread in `CHATS`, and never becomes a chat's preview.
//! One rule, here, for the store (a single server's and every cluster
//! node's) and every client.

use super::action::ActionId;

/// Most unread messages of one chat that `CHATS` reads back to find the
/// actions among them: the newest ones. An older action past them still
/// counts, in a chat with more unread messages than anyone reads anyway.
pub const UNREAD_SCAN: usize = 200;

/// Most messages one `CHATS` reads back in all (docs/RELIABILITY.md §7):
/// past them, the counts of the remaining chats include their actions.
pub const UNREAD_SCAN_TOTAL: usize = 10_000;

/// True if the message with this id is an action on another message, not
/// a message of its own. The server makes every action's id
/// (`protocol::action`), so the id tells.
pub fn is_action(id: &str) -> bool {
    ActionId::parse(id).is_some()
}

/// The unread count of a chat whose stream marks count `counted` unread
/// messages, given the ids of the newest of them (newest first, as read
/// back; at most `counted` are looked at): the actions among them are not
/// unread.
pub fn without_actions<'a>(counted: u64, newest: impl IntoIterator<Item = &'a str>) -> u64 {
    let limit = usize::try_from(counted).unwrap_or(usize::MAX);
    let actions = newest.into_iter().take(limit).filter(|id| is_action(id)).count() as u64;
    counted - actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_not_unread() {
        assert!(is_action("_r1a2b_m1") && is_action("_e1a2b_m1") && is_action("_d1a2b_m1"));
        assert!(!is_action("m1") && !is_action("_m1") && !is_action("msg_2"));
        // A message and a reaction to it: one unread.
        assert_eq!(without_actions(2, ["_rk1_m1", "m1"]), 1);
        // Only the counted ones are looked at: an older action was read.
        assert_eq!(without_actions(1, ["m2", "_rk1_m1"]), 1);
        assert_eq!(without_actions(0, ["_rk1_m1"]), 0);
        // Past what was read back, the rest count.
        assert_eq!(without_actions(5, ["_rk1_m1"]), 4);
    }
}
