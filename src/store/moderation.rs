//! The rules of a room (protocol 1.2, "Moderation"): who owns it, who
//! moderates it, its modes and topic, who is invited, banned or muted,
//! and who may do what. Plain data and checks: the store keeps a
//! [`Rules`] in each room of its state, and checks and changes it under
//! the state's lock, so two admins acting at once cannot both pass a
//! check that only one of them should. What follows a change (where its
//! notice goes, whether its target leaves, who is told:
//! [`Rules::aftermath`]) and who owns a new room ([`owned_by_its_maker`])
//! are decided here too; the store only writes the answer as records.
//!
//! Users are kept by their names as registered (records and checkpoints
//! name users, never in-memory ids). Times are instants in Unix
//! milliseconds, `0` for "until lifted"; a mute or ban that has run out
//! is simply ignored, and dropped by the next change of the room.
//!
//! The ranks, lowest first: member, room admin (`OP`), owner (who created
//! the room), server admin (`wachat users admin`). Admins and above
//! moderate; only the owner and server admins grant or remove room
//! admin; nobody may kick, ban or mute someone of their own rank or above.
//! `#general`, every account's room, has no owner: server admins run it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::protocol::{Change, Code, Ko, Role, RoomInfoLine, RoomMode};
use crate::store::UserId;

/// What a rule record says (`RULE` lines of the log, see `record.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A change made by a moderation request.
    Change(Change),
    /// The record's user created the room and owns it.
    Owner,
    /// The record's user is (`true`) or is no longer a server admin; the
    /// room is empty (`wachat users admin`).
    ServerAdmin(bool),
}

/// A room's rules; the default is a room as before 1.2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub owner: Option<Arc<str>>,
    pub admins: BTreeSet<Arc<str>>,
    pub announce: bool,
    pub invite_only: bool,
    /// Escaped as on the wire; empty: none.
    pub topic: String,
    /// Users who may join while the room is invite-only (an invitation is
    /// used up by the `JOIN`).
    pub invited: BTreeSet<Arc<str>>,
    pub bans: BTreeMap<Arc<str>, u64>,
    pub mutes: BTreeMap<Arc<str>, u64>,
}

/// Someone a change is by or about, and whether it is in the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Involved {
    pub user: UserId,
    pub member: bool,
}

/// Where the notice of a change goes: a message stored and delivered as
/// any other, from the one who made the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeTo {
    /// The room's text: the actor is a member.
    Room,
    /// A direct message to the invitee of an `INVITE`.
    Invitee(UserId),
    /// None: a server admin acting from outside the room has no place in
    /// its text (members get the 1.2 event only), and an `INVITE` of
    /// oneself tells nobody.
    Nowhere,
}

/// What follows a change that changed something ([`Rules::aftermath`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Aftermath {
    pub notice: NoticeTo,
    /// Who leaves the room: the target of a `KICK` or a `BAN`, if it is in
    /// it (a `LEAVE` of its own, after the notice).
    pub leaves: Option<UserId>,
    /// Who is told the 1.2 event: the members as they were, and the
    /// target, in the room or not (it learns of its own ban or invitation).
    pub tell: Vec<UserId>,
}

/// True if the room `room` (named with or without its `#`) belongs to
/// whoever made it: every room but `#general`, every account's room,
/// which the server admins run. The store asks it when a `JOIN` makes
/// a room (`store/local/moderation.rs::claim`).
pub fn owned_by_its_maker(room: &str) -> bool {
    let name = |room: &str| crate::protocol::names::fold(room.strip_prefix('#').unwrap_or(room));
    name(room) != name(crate::store::GENERAL)
}

/// True while a ban or mute ending at `until` holds at `now`.
pub fn holds(until: u64, now: u64) -> bool {
    until == 0 || now < until
}

fn forbidden(reason: impl Into<String>) -> Ko {
    Ko::new(Code::Forbidden, reason)
}

/// "for 12 more minutes" or "until lifted", for refusals.
fn remaining(until: u64, now: u64) -> String {
    if until == 0 {
        return "until lifted".into();
    }
    let minutes = until.saturating_sub(now).div_ceil(60_000);
    format!("for {minutes} more minute{}", if minutes == 1 { "" } else { "s" })
}

impl Rules {
    pub fn is_default(&self) -> bool {
        *self == Rules::default()
    }

    /// The rank of `user` (registered name), who is a member or not.
    pub fn role(&self, user: &str, member: bool, server_admin: bool) -> Role {
        if server_admin {
            Role::ServerAdmin
        } else if self.owner.as_deref() == Some(user) {
            Role::Owner
        } else if self.admins.contains(user) {
            Role::Admin
        } else if member {
            Role::Member
        } else {
            Role::None
        }
    }

    /// May someone of rank `actor` make `change` to a room where its
    /// target has rank `target` (`Role::None` if it has none)?
    pub fn allows(actor: Role, change: &Change, target: Role, room: &str) -> Result<(), Ko> {
        let op = matches!(change, Change::Opped(_) | Change::Deopped(_));
        if op && actor < Role::Owner {
            return Err(forbidden(format!("only the owner of {room} grants or removes admins")));
        }
        if !actor.moderates() {
            return Err(forbidden(format!("only the admins of {room} may do that")));
        }
        let against =
            matches!(change, Change::Kicked(_) | Change::Banned(..) | Change::Muted(..) | Change::Deopped(_));
        if against && target >= actor {
            return Err(forbidden(format!(
                "{} is of your rank or above in {room}",
                change.target().unwrap_or("")
            )));
        }
        Ok(())
    }

    /// May someone of rank `actor` make `change` to the room `room`, whose
    /// target (if any) has rank `target.0` and is in the room or not
    /// (`target.1`)? [`Rules::allows`], then a `KICK` of someone not in
    /// the room is `KO:NOT_MEMBER`: the whole decision, made here.
    pub fn decide(actor: Role, change: &Change, target: (Role, bool), room: &str) -> Result<(), Ko> {
        Rules::allows(actor, change, target.0, room)?;
        if matches!(change, Change::Kicked(_)) && !target.1 {
            let who = change.target().unwrap_or("");
            return Err(Ko::new(Code::NotMember, format!("{who} is not in {room}")));
        }
        Ok(())
    }

    /// What follows a change by `by` that changed something, to a room
    /// whose members are `members` (the change's `target`, if it has one,
    /// among them or not): where its notice goes, whether the target
    /// leaves, who is told. Decided here; the store writes it as records
    /// of the change's batch, which a cluster's followers apply as they
    /// are.
    pub fn aftermath(
        change: &Change,
        by: Involved,
        target: Option<Involved>,
        members: Vec<UserId>,
    ) -> Aftermath {
        let notice = match (change, target) {
            (Change::Invited(_), Some(t)) if t.user != by.user => NoticeTo::Invitee(t.user),
            (Change::Invited(_), _) => NoticeTo::Nowhere,
            _ if by.member => NoticeTo::Room,
            _ => NoticeTo::Nowhere,
        };
        let removes = matches!(change, Change::Kicked(_) | Change::Banned(..));
        let leaves = target.filter(|t| removes && t.member).map(|t| t.user);
        let mut tell = members;
        if let Some(t) = target
            && !tell.contains(&t.user)
        {
            tell.push(t.user);
        }
        Aftermath { notice, leaves, tell }
    }

    /// `ROOMINFO` of the room `room` (as registered; `asked`, as the
    /// request named it) for `user` of rank `role`: members, server admins
    /// and those the rules name (invited, banned, the owner) may ask
    /// (§18); anyone else is `KO:NOT_MEMBER`.
    pub fn info_for(
        &self,
        (asked, room): (&str, &str),
        user: &str,
        role: Role,
        now: u64,
    ) -> Result<Vec<RoomInfoLine>, Ko> {
        if role == Role::None && !self.names(user) {
            return Err(crate::protocol::Ko::not_member(asked));
        }
        Ok(self.info(room, user, role, now))
    }

    /// Why `user` (registered name, of rank `role`) may not send to the
    /// room now, if so.
    pub fn may_send(&self, user: &str, role: Role, now: u64, room: &str) -> Result<(), Ko> {
        if role.moderates() {
            return Ok(());
        }
        if self.announce {
            return Err(forbidden(format!("only the admins of {room} may write in it (+announce)")));
        }
        if let Some(&until) = self.mutes.get(user).filter(|&&u| holds(u, now)) {
            return Err(forbidden(format!("you are muted in {room} {}", remaining(until, now))));
        }
        Ok(())
    }

    /// Why `user` may not join the room now, if so.
    pub fn may_join(&self, user: &str, server_admin: bool, now: u64, room: &str) -> Result<(), Ko> {
        let role = self.role(user, false, server_admin);
        if role >= Role::Owner {
            return Ok(());
        }
        if let Some(&until) = self.bans.get(user).filter(|&&u| holds(u, now)) {
            return Err(forbidden(format!("you are banned from {room} {}", remaining(until, now))));
        }
        if self.invite_only && role < Role::Admin && !self.invited.contains(user) {
            return Err(forbidden(format!("{room} is invite-only: an admin must INVITE you first")));
        }
        Ok(())
    }

    /// True if `change` would change nothing (an `UNMUTE` of someone not
    /// muted, a mode already so …): such a request is answered `OK` and
    /// neither recorded nor told.
    pub fn unchanged_by(&self, change: &Change, now: u64) -> bool {
        match change {
            Change::Topic(text) => self.topic == *text,
            Change::Mode(RoomMode::Announce, on) => self.announce == *on,
            Change::Mode(RoomMode::Invite, on) => self.invite_only == *on,
            Change::Invited(u) => self.invited.contains(u.as_str()),
            Change::Kicked(_) | Change::Banned(..) | Change::Muted(..) => false,
            Change::Unbanned(u) => !self.bans.get(u.as_str()).is_some_and(|&t| holds(t, now)),
            Change::Unmuted(u) => !self.mutes.get(u.as_str()).is_some_and(|&t| holds(t, now)),
            Change::Opped(u) => self.admins.contains(u.as_str()),
            Change::Deopped(u) => !self.admins.contains(u.as_str()),
        }
    }

    /// Applies a change (a kick's or ban's removal from the room is a
    /// `LEAVE` record of its own). Mutes and bans that ran out by `now`
    /// are dropped on the way: what a room remembers stays bounded by
    /// what holds.
    pub fn apply(&mut self, change: &Change, now: u64) {
        self.bans.retain(|_, &mut until| holds(until, now));
        self.mutes.retain(|_, &mut until| holds(until, now));
        let name = |u: &String| -> Arc<str> { Arc::from(u.as_str()) };
        match change {
            Change::Topic(text) => self.topic = text.clone(),
            Change::Mode(RoomMode::Announce, on) => self.announce = *on,
            Change::Mode(RoomMode::Invite, on) => self.invite_only = *on,
            Change::Invited(u) => {
                self.invited.insert(name(u));
            }
            Change::Kicked(u) => {
                self.admins.remove(u.as_str());
            }
            Change::Banned(u, until) => {
                self.admins.remove(u.as_str());
                self.invited.remove(u.as_str());
                self.bans.insert(name(u), *until);
            }
            Change::Unbanned(u) => {
                self.bans.remove(u.as_str());
            }
            Change::Muted(u, until) => {
                self.mutes.insert(name(u), *until);
            }
            Change::Unmuted(u) => {
                self.mutes.remove(u.as_str());
            }
            Change::Opped(u) => {
                self.mutes.remove(u.as_str());
                self.admins.insert(name(u));
            }
            Change::Deopped(u) => {
                self.admins.remove(u.as_str());
            }
        }
    }

    /// `user` left (or was removed from) the room: a room admin's rank
    /// goes with its membership, as in WhatsApp's groups.
    pub fn left(&mut self, user: &str) {
        self.admins.remove(user);
    }

    /// 1.2: `user`'s name was registered again after its account was
    /// deleted (`REUSE`): the new account inherits nothing of the old one's
    /// here, neither the room (if it owned it) nor a rank, an invitation,
    /// a ban or a mute.
    pub fn forget(&mut self, user: &str) {
        let same = |name: &Arc<str>| crate::protocol::names::fold(name) == crate::protocol::names::fold(user);
        if self.owner.as_ref().is_some_and(same) {
            self.owner = None;
        }
        self.admins.retain(|a| !same(a));
        self.invited.retain(|a| !same(a));
        self.bans.retain(|a, _| !same(a));
        self.mutes.retain(|a, _| !same(a));
    }

    /// `user` joined: its invitation is used up.
    pub fn joined(&mut self, user: &str) {
        self.invited.remove(user);
    }

    /// The lines of `ROOMINFO` for `user`, of rank `role`.
    pub fn info(&self, room: &str, user: &str, role: Role, now: u64) -> Vec<RoomInfoLine> {
        let mut lines = vec![RoomInfoLine::Room(room.to_string())];
        lines.extend(self.owner.iter().map(|o| RoomInfoLine::Owner(o.to_string())));
        lines.extend(self.admins.iter().map(|a| RoomInfoLine::Admin(a.to_string())));
        if self.announce {
            lines.push(RoomInfoLine::Mode(RoomMode::Announce));
        }
        if self.invite_only {
            lines.push(RoomInfoLine::Mode(RoomMode::Invite));
        }
        if !self.topic.is_empty() {
            lines.push(RoomInfoLine::Topic(self.topic.clone()));
        }
        lines.push(RoomInfoLine::Role(role));
        if let Some(&until) = self.mutes.get(user).filter(|&&u| holds(u, now)) {
            lines.push(RoomInfoLine::Muted(until));
        }
        if let Some(&until) = self.bans.get(user).filter(|&&u| holds(u, now)) {
            lines.push(RoomInfoLine::Banned(until));
        }
        lines
    }

    /// Why `user` may not send to the room now, read from its `ROOMINFO`
    /// lines (the store's own view, [`Rules::info`]): [`Rules::may_send`]
    /// on the rules those lines say, so that a request that is no
    /// message (`TYPING`) is refused exactly as a `MSG` would be.
    pub fn may_send_by_info(lines: &[RoomInfoLine], user: &str, now: u64) -> Result<(), Ko> {
        let mut rules = Rules::default();
        let (mut room, mut role) = (String::new(), Role::None);
        for line in lines {
            match line {
                RoomInfoLine::Room(name) => room = name.clone(),
                RoomInfoLine::Role(r) => role = *r,
                RoomInfoLine::Mode(RoomMode::Announce) => rules.announce = true,
                RoomInfoLine::Muted(until) => {
                    rules.mutes.insert(Arc::from(user), *until);
                }
                _ => {}
            }
        }
        rules.may_send(user, role, now, &room)
    }

    /// Who may see `ROOMINFO` without being a member: those the rules name.
    pub fn names(&self, user: &str) -> bool {
        self.invited.contains(user) || self.bans.contains_key(user) || self.owner.as_deref() == Some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules { owner: Some("ana".into()), ..Rules::default() }
    }

    #[test]
    fn typing_is_refused_from_roominfo_as_a_msg_is_from_the_rules() {
        let mut rules = Rules { announce: false, ..Rules::default() };
        rules.mutes.insert("bob".into(), 0);
        let info = rules.info("#lab3", "bob", Role::Member, 5);
        let from_rules = rules.may_send("bob", Role::Member, 5, "#lab3").unwrap_err();
        assert_eq!(Rules::may_send_by_info(&info, "bob", 5).unwrap_err(), from_rules);
        rules.announce = true;
        let info = rules.info("#lab3", "eve", Role::Member, 5);
        let from_rules = rules.may_send("eve", Role::Member, 5, "#lab3").unwrap_err();
        assert_eq!(Rules::may_send_by_info(&info, "eve", 5).unwrap_err(), from_rules);
        let info = rules.info("#lab3", "ana", Role::Owner, 5);
        assert!(Rules::may_send_by_info(&info, "ana", 5).is_ok());
    }

    #[test]
    fn ranks_decide_who_may_do_what() {
        let kick = Change::Kicked("bob".into());
        assert!(Rules::allows(Role::Member, &kick, Role::Member, "#a").is_err());
        assert!(Rules::allows(Role::Admin, &kick, Role::Member, "#a").is_ok());
        assert!(Rules::allows(Role::Admin, &kick, Role::Admin, "#a").is_err());
        assert!(Rules::allows(Role::Owner, &kick, Role::Admin, "#a").is_ok());
        assert!(Rules::allows(Role::Owner, &kick, Role::ServerAdmin, "#a").is_err());
        let op = Change::Opped("bob".into());
        assert!(Rules::allows(Role::Admin, &op, Role::Member, "#a").is_err());
        assert!(Rules::allows(Role::Owner, &op, Role::Member, "#a").is_ok());
        assert!(Rules::allows(Role::ServerAdmin, &op, Role::Member, "#a").is_ok());
        let err = Rules::allows(Role::Member, &Change::Topic("x".into()), Role::None, "#a").unwrap_err();
        assert_eq!(err.code, Code::Forbidden);
    }

    #[test]
    fn mutes_and_bans_run_out() {
        let mut r = rules();
        r.apply(&Change::Muted("bob".into(), 1_000), 0);
        assert!(r.may_send("bob", Role::Member, 999, "#a").is_err());
        assert!(r.may_send("bob", Role::Member, 1_000, "#a").is_ok());
        r.apply(&Change::Banned("eve".into(), 0), 0);
        assert!(r.may_join("eve", false, u64::MAX - 1, "#a").unwrap_err().reason.contains("until lifted"));
        assert!(r.may_join("eve", true, 5, "#a").is_ok(), "a server admin");
        r.apply(&Change::Topic("t".into()), 2_000);
        assert!(r.mutes.is_empty(), "a mute that ran out is dropped");
        assert_eq!(r.bans.len(), 1);
    }

    #[test]
    fn invite_only_rooms_need_an_invitation_used_once() {
        let mut r = rules();
        r.apply(&Change::Mode(RoomMode::Invite, true), 0);
        assert!(r.may_join("bob", false, 0, "#g").is_err());
        assert!(r.may_join("ana", false, 0, "#g").is_ok(), "the owner");
        r.apply(&Change::Invited("bob".into()), 0);
        assert!(r.may_join("bob", false, 0, "#g").is_ok());
        r.joined("bob");
        assert!(r.may_join("bob", false, 0, "#g").is_err());
    }

    #[test]
    fn a_kick_removes_a_member_and_tells_the_room_and_an_invitation_goes_to_the_invitee() {
        let ana = Involved { user: 1, member: true };
        let bob = Involved { user: 2, member: true };
        let kick = Rules::aftermath(&Change::Kicked("bob".into()), ana, Some(bob), vec![1, 2, 3]);
        assert_eq!(kick, Aftermath { notice: NoticeTo::Room, leaves: Some(2), tell: vec![1, 2, 3] });
        let outside = Involved { user: 9, member: false };
        let ban = Rules::aftermath(&Change::Banned("bob".into(), 0), outside, Some(bob), vec![1, 2]);
        assert_eq!(ban.notice, NoticeTo::Nowhere, "a server admin from outside the room");
        let eve = Involved { user: 5, member: false };
        let invite = Rules::aftermath(&Change::Invited("eve".into()), ana, Some(eve), vec![1]);
        assert_eq!(invite, Aftermath { notice: NoticeTo::Invitee(5), leaves: None, tell: vec![1, 5] });
        let mode = Rules::aftermath(&Change::Mode(RoomMode::Announce, true), ana, None, vec![1]);
        assert_eq!(mode, Aftermath { notice: NoticeTo::Room, leaves: None, tell: vec![1] });
    }

    #[test]
    fn every_room_but_general_is_owned_by_its_maker() {
        assert!(owned_by_its_maker("#lab3"));
        assert!(owned_by_its_maker("lab3"), "a room named without its #");
        assert!(!owned_by_its_maker("#general"));
        assert!(!owned_by_its_maker("General"), "names are folded");
    }

    #[test]
    fn announce_rooms_take_only_admins() {
        let mut r = rules();
        r.apply(&Change::Mode(RoomMode::Announce, true), 0);
        assert!(r.may_send("bob", Role::Member, 0, "#news").is_err());
        assert!(r.may_send("ana", Role::Owner, 0, "#news").is_ok());
        assert!(r.unchanged_by(&Change::Mode(RoomMode::Announce, true), 0));
        assert!(r.unchanged_by(&Change::Unmuted("bob".into()), 0));
    }
}
