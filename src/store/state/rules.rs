//! The rules of rooms in the state (protocol 1.2): how a `RULE` record
//! changes them, and the checks that `JOIN`, `MSG` and the moderation
//! requests make under the state's lock. What the rules are and who may
//! do what is `store::moderation`'s; this file only finds the room and
//! the ranks.

use super::{RoomId, State, UserId};
use crate::protocol::{Ko, Role};
use crate::store::moderation::{Rule, Rules};

impl State {
    /// Applies a `RULE` record (see `record.rs`). Its `ts` stands for
    /// "now", so a start that replays it drops the same run-out mutes.
    pub(super) fn apply_rule(&mut self, ts: u64, by: &str, room: &str, rule: &Rule) -> Result<(), String> {
        let by = self.need_user(by)?;
        if let Rule::ServerAdmin(on) = rule {
            if *on {
                self.server_admins.insert(by);
            } else {
                self.server_admins.remove(&by);
            }
            return Ok(());
        }
        let room = self.need_room(room)?;
        let owner = self.users[by].name.clone();
        let rules = &mut self.room_mut(room).rules;
        match rule {
            Rule::Owner => rules.owner = Some(owner),
            Rule::Change(change) => rules.apply(change, ts),
            Rule::ServerAdmin(_) => unreachable!("handled above"),
        }
        Ok(())
    }

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

    /// Restores a room's rules from a checkpoint.
    pub(in crate::store) fn set_rules(&mut self, room: RoomId, rules: Rules) {
        self.room_mut(room).rules = rules;
    }

    /// Restores a server admin from a checkpoint.
    pub(in crate::store) fn set_server_admin(&mut self, user: UserId) {
        self.server_admins.insert(user);
    }
}
