//! The rules of rooms in the state (protocol 1.2): the checks that `JOIN`, `MSG` and the moderation
//! requests make under the state's lock. What the rules are and who may
//! do what is `store::moderation`'s; this file only finds the room and
//! the ranks.

use super::{RoomId, State, UserId};
use crate::protocol::{Ko, Role};
use crate::store::moderation::Rules;

impl State {
    pub fn is_server_admin(&self, user: UserId) -> bool {
        self.server_admins.contains(&user)
    }

    /// The server admins, by id (for checkpoints).
    pub fn server_admins(&self) -> impl Iterator<Item = UserId> + '_ {
        self.server_admins.iter().copied()
    }

    pub fn rules(&self, room: RoomId) -> &Rules {
        &self.room(room).rules
    }

    /// The rank of `user` in `room`.
    pub fn role_in(&self, room: RoomId, user: UserId) -> Role {
        let name = &self.users[user].name;
        self.rules(room).role(name, self.is_member(room, user), self.is_server_admin(user))
    }

    /// `KO:FORBIDDEN` if `user`, a member, may not send to `room` now.
    pub fn may_send_to(&self, room: RoomId, user: UserId, now: u64) -> Result<(), Ko> {
        let r = self.room(room);
        if r.rules.is_default() {
            return Ok(()); // a room as before 1.2: nothing to look up
        }
        r.rules.may_send(&self.users[user].name, self.role_in(room, user), now, &r.name)
    }

    /// `KO:FORBIDDEN` if `user` may not join `room` now.
    pub fn may_join(&self, room: RoomId, user: UserId, now: u64) -> Result<(), Ko> {
        let r = self.room(room);
        r.rules.may_join(&self.users[user].name, self.is_server_admin(user), now, &r.name)
    }
}
