//! The rooms: `JOIN`, `LEAVE` and (1.2) `RULE`, a change of a room's rules
//! or of who is a server admin. Their lines, what they do to the state,
//! and the rows they leave in a checkpoint (a room's rules, the server
//! admins). The rooms' members and chains are the checkpoint's core
//! (`ROOM` and `MEMBER` rows, `checkpoint/mod.rs`).
//!
//! ```text
//! JOIN,<ts>,<member>,<#room>,,,<read mark>
//! LEAVE,<ts>,<member>,<#room>
//! RULE,<ts>,<by>,<#room>,OWNER
//! RULE,<ts>,<by>,,ADMIN,,<1 granted|0 removed>
//! RULE,<ts>,<by>,<#room>,<TOPIC|MODE|KICKED|…>,<user or ±mode>,<until>,,<topic>
//! ```
//!
//! What a rule means and who may change it is `store::moderation`'s
//! (the store asks it before it writes the record); this file only
//! stores it.

use std::sync::Arc;

use super::fields::{CsvLine, Fields, Rows};
use super::{CheckpointRows, Pos, Record};
use crate::protocol::Change;
use crate::store::moderation::Rule;
use crate::store::state::remote::{address, is_copy};
use crate::store::state::{RoomId, State, UserId};

pub(super) fn encode_join(line: &mut CsvLine, ts: u64, user: &str, room: &str, read: u64) {
    line.word("JOIN");
    line.number(ts);
    line.fields(&[user, room, "", ""]);
    line.number(read);
}

pub(super) fn encode_leave(line: &mut CsvLine, ts: u64, user: &str, room: &str) {
    line.word("LEAVE");
    line.number(ts);
    line.fields(&[user, room]);
}

pub(super) fn encode_rule(line: &mut CsvLine, ts: u64, by: &str, room: &str, rule: &Rule) {
    line.word("RULE");
    line.number(ts);
    line.fields(&[by, room]);
    match rule {
        Rule::Change(change) => {
            let (word, target, until, text) = change.parts();
            line.fields(&[word, &target]);
            line.number(until);
            line.field("");
            line.field(text);
        }
        Rule::Owner => line.field("OWNER"),
        Rule::ServerAdmin(on) => {
            line.fields(&["ADMIN", ""]);
            line.number(u64::from(*on));
        }
    }
}

/// Reads the line of one of this file's kinds (`word`), whose time is `ts`.
pub(super) fn decode(word: &str, f: &Fields, ts: u64) -> Result<Record, String> {
    let name = |i| -> Result<Arc<str>, String> { Ok(Arc::from(f.get(i)?.as_ref())) };
    Ok(match word {
        "JOIN" => Record::Join { ts, user: name(2)?, room: name(3)?, read: f.number(6)? },
        "LEAVE" => Record::Leave { ts, user: name(2)?, room: name(3)? },
        _ => {
            let rule = match f.get(4)?.as_ref() {
                "OWNER" => Rule::Owner,
                "ADMIN" => Rule::ServerAdmin(f.number(6)? == 1),
                word => {
                    let until = if f.get(6)?.is_empty() { 0 } else { f.number(6)? };
                    Rule::Change(Change::from_parts(word, f.get(5)?, until, f.get(8)?)?)
                }
            };
            Record::Rule { ts, by: name(2)?, room: name(3)?, rule }
        }
    })
}

impl State {
    /// `JOIN`, found at `pos` in the log: `user` is a member of `room`
    /// (made there if new), having read up to its message number `read`.
    pub(super) fn apply_join(&mut self, user: &str, room: &str, read: u64, pos: Pos) -> Result<(), String> {
        // 1.3: a member of another server joins a room homed here under
        // its address (`state::remote`).
        let user = self.user_or_remote(user)?;
        let room = self.room_id(room).unwrap_or_else(|| self.create_room(room, pos));
        let member = self.room_mut(room).members.entry(user).or_default();
        // A member's `JOIN` again with its own read mark (1.3: the home's
        // announcement of one of its users to a new member server)
        // changes nothing of its unread count.
        if member.read != read {
            member.read = read;
            member.own.clear();
        }
        self.users[user].rooms.insert(room);
        let name = self.users[user].name.clone();
        self.room_mut(room).rules.joined(&name);
        let room = self.room(room).name.clone();
        self.tell_home(user, &room, pos)
    }

    /// `LEAVE`: `user` is no longer in `room` (forgotten once empty).
    pub(super) fn apply_leave(&mut self, user: &str, room: &str, pos: Pos) -> Result<(), String> {
        let (user, room_id) = (self.user_or_remote(user)?, self.need_room(room)?);
        self.leave(user, room_id);
        // 1.3: a copy none of ours is in keeps none of the members its
        // home announced (it announces them again to a next member).
        if is_copy(room)
            && !self.is_remote(user)
            && let Some(copy) = self.room_id(room)
        {
            let ours = self.members(copy).any(|u| !self.is_remote(u));
            let announced: Vec<UserId> = if ours { Vec::new() } else { self.members(copy).collect() };
            for member in announced {
                self.leave(member, copy);
            }
        }
        self.tell_home(user, room, pos)
    }

    /// 1.3: a `JOIN` or `LEAVE` at `pos` by one of this server's users of a
    /// room homed elsewhere (`#lab@lab2`) is a frame for its home.
    /// At a room's home, one of another server's users joining or
    /// leaving is announced to the room's other member servers (the home
    /// is the authority on its room's members).
    fn tell_home(&mut self, user: UserId, room: &str, pos: Pos) -> Result<(), String> {
        match address(room) {
            Some((_, home)) if !self.is_remote(user) => self.enqueue_link(home, pos, None, None),
            None if self.is_remote(user) => {
                let Some((_, origin)) = address(&self.users[user].name) else { return Ok(()) };
                let origin = origin.to_string();
                let Some(r) = self.room_id(room) else { return Ok(()) }; // its last member left
                for server in self.member_servers(r) {
                    if !server.eq_ignore_ascii_case(&origin) {
                        self.fan_out(&server, pos, None, None)?;
                    }
                }
                Ok(())
            }
            None => self.tell_member_servers(room, pos),
            _ => Ok(()),
        }
    }

    /// 1.3: at a room's home, one of this server's users joining or
    /// leaving it is announced to the room's member servers, as a member
    /// of another server is (so every member server lists the home's
    /// members too).
    fn tell_member_servers(&mut self, room: &str, pos: Pos) -> Result<(), String> {
        let Some(r) = self.room_id(room) else { return Ok(()) }; // its last member left
        for server in self.member_servers(r) {
            self.fan_out(&server, pos, None, None)?;
        }
        Ok(())
    }

    /// Applies a `RULE` record. Its `ts` stands for "now", so a start
    /// that replays it drops the same run-out mutes.
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
}

/// In a checkpoint (1.2), a room with rules other than the default:
///
/// ```text
/// RULES,<#room>,<owner>,<announce 0|1>,<invite-only 0|1>,<topic>
/// RULE,<#room>,<ADMIN|INVITED|BANNED|MUTED>,<user>,<until>    one per name
/// ADMIN,<user>                                                a server admin
/// ```
pub(super) const ROWS: CheckpointRows = CheckpointRows {
    kinds: &["BORN", "RULES", "RULE", "ADMIN"],
    user: |_, _, _| {},
    room: room_rows,
    end: |state, out| {
        for user in state.server_admins() {
            out.row(&["ADMIN", &state.users[user].name]);
        }
    },
    load: load_row,
};

fn room_rows(state: &State, room: RoomId, out: &mut Rows) {
    let (rules, name) = (state.rules(room), &*state.room(room).name);
    // Where it was made, if not at the log's start.
    let born = state.room(room).born;
    if born > 0 {
        out.row(&["BORN", name, &born.to_string()]);
    }
    if rules.is_default() {
        return;
    }
    let flag = |on: bool| if on { "1" } else { "0" };
    let owner = rules.owner.as_deref().unwrap_or("");
    out.row(&["RULES", name, owner, flag(rules.announce), flag(rules.invite_only), &rules.topic]);
    for admin in &rules.admins {
        out.row(&["RULE", name, "ADMIN", admin, "0"]);
    }
    for user in &rules.invited {
        out.row(&["RULE", name, "INVITED", user, "0"]);
    }
    for (user, until) in &rules.bans {
        out.row(&["RULE", name, "BANNED", user, &until.to_string()]);
    }
    for (user, until) in &rules.mutes {
        out.row(&["RULE", name, "MUTED", user, &until.to_string()]);
    }
}

/// Reads a `BORN`, `RULES`, `RULE` or `ADMIN` row.
fn load_row(state: &mut State, f: &Fields) -> Result<(), String> {
    let name = |state: &State, i: usize| -> Result<(UserId, Arc<str>), String> {
        let u = state.user_id(f.get(i)?.as_ref()).ok_or_else(|| format!("unknown user {:?}", f.get(i)))?;
        Ok((u, state.users[u].name.clone()))
    };
    if f.get(0)?.as_ref() == "ADMIN" {
        let (user, _) = name(state, 1)?;
        state.server_admins.insert(user);
        return Ok(());
    }
    let room = state.room_id(f.get(1)?.as_ref()).ok_or("rules of an unknown room")?;
    if f.get(0)?.as_ref() == "BORN" {
        state.room_mut(room).born = f.number(2)?;
        return Ok(());
    }
    let mut rules = state.rules(room).clone();
    if f.get(0)?.as_ref() == "RULES" {
        rules.owner = if f.get(2)?.is_empty() { None } else { Some(name(state, 2)?.1) };
        rules.announce = f.number(3)? == 1;
        rules.invite_only = f.number(4)? == 1;
        rules.topic = f.get(5)?.to_string();
    } else {
        let (user, until) = (name(state, 3)?.1, f.number(4)?);
        match f.get(2)?.as_ref() {
            "ADMIN" => drop(rules.admins.insert(user)),
            "INVITED" => drop(rules.invited.insert(user)),
            "BANNED" => drop(rules.bans.insert(user, until)),
            "MUTED" => drop(rules.mutes.insert(user, until)),
            other => return Err(format!("unknown rule {other:?}")),
        }
    }
    state.room_mut(room).rules = rules;
    Ok(())
}
