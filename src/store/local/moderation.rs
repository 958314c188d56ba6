//! Moderation in the local store (protocol 1.2): the check and the change
//! under the state's lock, in one batch with the notice that tells it in
//! the room's text and, for a kick or a ban, the target's `LEAVE`; and
//! `ROOMINFO`. The rules themselves, and what follows a change
//! (`Rules::aftermath`), are `store::moderation`'s.

use std::sync::Arc;

use super::super::interface::{Announcement, Moderated};
use super::super::moderation::{Rule, owned_by_its_maker};
use super::super::now_ms;
use super::super::record::{Record, StoredMessage};
use super::super::state::{Batch, RoomId, State, UserId};
use super::LocalStore;
use crate::protocol::{Change, Ko, Role, RoomInfoLine};
use crate::store::meaning::{accounts, rooms};

impl LocalStore {
    /// `by` changes a rule of `room`: checked against the room's rules
    /// and applied under one lock (`KO:FORBIDDEN` if `by` may not;
    /// `KO:NOT_MEMBER` for a room that does not exist or a `KICK` of
    /// someone not in it). A target is named as registered (the server
    /// looked it up). The change is recorded with its `notice`, and a
    /// `KICKED` or `BANNED` member leaves the room, in one batch.
    pub fn moderate(
        &self,
        by: UserId,
        room: &str,
        change: &Change,
        notice: &Announcement,
    ) -> Result<Moderated, Ko> {
        let (moderated, ticket) = self.inner.write(|state, batch| {
            let r = rooms::existing(room, state.room_id(room))?;
            let (name, actor) = (state.room(r).name.clone(), state.users[by].name.clone());
            let target = match change.target() {
                Some(t) => Some(accounts::user(t, state.user_id(t))?),
                None => None,
            };
            let target_role = target.map_or(Role::None, |t| state.role_in(r, t));
            let member = |state: &State, t: Option<UserId>| t.is_some_and(|t| state.is_member(r, t));
            Rules::decide(state.role_in(r, by), change, (target_role, member(state, target)), &name)?;
            let ts = state.next_ts(now_ms());
            let mut done = Moderated {
                room: name.clone(),
                by: actor.clone(),
                changed: false,
                tell: Vec::new(),
                ticket: super::super::Ticket(0),
            };
            if state.rules(r).unchanged_by(change, ts) {
                return Ok(done);
            }
            // Its rule record and notice count against the moderator's
            // quota, as messages do: a flood of `TOPIC`s fills no disk.
            self.inner.options.budget.quota(state, by).check()?;
            let rule = Record::Rule {
                ts,
                by: actor.clone(),
                room: name.clone(),
                rule: Rule::Change(change.clone()),
            };
            state.commit(rule, batch)?;
            let actor = Involved { user: by, member: state.is_member(r, by) };
            let target = target.map(|t| Involved { user: t, member: state.is_member(r, t) });
            let after = Rules::aftermath(change, actor, target, state.members(r).collect());
            tell_notice(state, batch, r, by, after.notice, notice)?;
            // After the notice, which the target hears if it was a member.
            if let Some(leaving) = after.leaves {
                let user = state.users[leaving].name.clone();
                state.commit(Record::Leave { ts, user, room: name.clone() }, batch)?;
            }
            done.changed = true;
            done.tell = after.tell;
            Ok(done)
        })?;
        Ok(Moderated { ticket, ..moderated })
    }

    /// `ROOMINFO` lines for `user`, a member, a server admin or someone
    /// the rules name (invited, banned); `KO:NOT_MEMBER` for others.
    pub fn room_info(&self, user: UserId, room: &str) -> Result<Vec<RoomInfoLine>, Ko> {
        let state = self.inner.state.lock();
        let r = rooms::existing(room, state.room_id(room))?;
        let role = state.role_in(r, user);
        state.rules(r).info_for((room, &state.room(r).name), &state.users[user].name, role, now_ms())
    }
}

use super::super::moderation::{Involved, NoticeTo, Rules};

/// The notice of a change, from `by`, where [`Rules::aftermath`] sends
/// it: a record of the change's batch, as any message.
fn tell_notice(
    state: &mut State,
    batch: &mut Batch,
    room: RoomId,
    by: UserId,
    to: NoticeTo,
    notice: &Announcement,
) -> Result<(), Ko> {
    let (to, link) = match to {
        NoticeTo::Invitee(t) => (state.users[t].name.clone(), state.direct_link(by, t)),
        NoticeTo::Room => (state.room(room).name.clone(), state.room_link(room)),
        NoticeTo::Nowhere => return Ok(()),
    };
    let ts = state.next_ts(now_ms());
    let from = state.users[by].name.clone();
    let msg = StoredMessage { from, to, id: notice.id.as_str().into(), ts, text: notice.text.clone() };
    state.commit(Record::Msg { msg: Arc::new(msg), link }, batch)
}

/// After a `JOIN` record made `room`: its creator owns it, unless it is
/// `#general` ([`owned_by_its_maker`]).
pub(super) fn claim(state: &mut State, batch: &mut Batch, room: &Arc<str>, user: UserId) -> Result<(), Ko> {
    if !owned_by_its_maker(room) {
        return Ok(());
    }
    let (ts, by) = (state.next_ts(now_ms()), state.users[user].name.clone());
    state.commit(Record::Rule { ts, by, room: room.clone(), rule: Rule::Owner }, batch)
}
