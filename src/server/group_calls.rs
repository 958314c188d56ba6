//! 1.2 (§32): the rooms' calls this server keeps, and who is in each.
//!
//! A group call's media go from each browser to each other one; the
//! server decides only what the browsers cannot: which room has a call,
//! who is in it (and on which device), whom it rings and until when, and
//! whether a signal's two ends are both in it. So this is a small table
//! in memory, as for 1:1 calls (`calls.rs`): a restart ends every call.
//!
//! ```text
//!   START ──▶ in: [starter]   rings the other members (until --ring-seconds)
//!   JOIN  ──▶ in: [.., me]    (at most MAX_IN_CALL), my ring stops
//!   LEAVE / device gone / left the room ──▶ out; the last one out: END
//! ```
//!
//! Bounds: one call per room; [`STARTS_PER_MINUTE`] starts a minute per
//! room and per member; [`MAX_IN_CALL`] in a call, each in one call at
//! a time; a member rung by at most [`MAX_RINGING_CALLEE`] rooms' calls
//! at once and [`RINGS_PER_MINUTE_CALLEE`] a minute (past either, the
//! call starts for it without ringing); [`MAX_CANDIDATES`] candidates
//! from each member to each other one. So the table holds at most one
//! call per member in one, and one ring per member per room.
//!
//! This file is the table, which the router holds beside the 1:1 calls;
//! `group_call_relay.rs` tells what happens and stores the call's line;
//! `requests/group_call.rs` takes the requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::calls::{Party, PerMinute};
use crate::protocol::call::{MAX_CANDIDATES, MAX_RINGING_CALLEE, Media, RINGS_PER_MINUTE_CALLEE};
use crate::protocol::group_call::{LINE_NAMES, MAX_IN_CALL, STARTS_PER_MINUTE};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::UserId;

/// Most names of those who joined a call that its line keeps (more are
/// counted): the line names [`LINE_NAMES`], and the rest of the kept
/// ones tell who is not among the missed.
const JOINED_KEPT: usize = 4 * LINE_NAMES;

/// A member in a call, on one device.
#[derive(Clone, Debug)]
struct InCall {
    party: Party,
    device: String,
}

/// A room's call.
#[derive(Debug)]
struct GroupCall {
    /// The room, as registered (`#lab`).
    room: Arc<str>,
    /// Its id: its line's in the room.
    id: String,
    media: Media,
    starter: Party,
    since: Instant,
    /// When it started, Unix ms (`GROUPCALLS`).
    since_ms: u64,
    /// Who is in it now, the first in first.
    members: Vec<InCall>,
    /// Who joined it, the starter apart, each once ([`JOINED_KEPT`] at
    /// most), and how many more.
    joined: Vec<String>,
    joined_more: u32,
    /// The members it rings, and until when.
    ringing: Vec<(UserId, Instant)>,
    /// Candidates each member sent each other one ([`MAX_CANDIDATES`]).
    candidates: Vec<((UserId, UserId), u16)>,
}

impl GroupCall {
    fn is(&self, room: &str, id: &str) -> bool {
        self.id == id && same_room(&self.room, room)
    }

    fn has(&self, user: UserId) -> bool {
        self.members.iter().any(|m| m.party.id == user)
    }

    /// Takes `user` out; the call itself if it was the last one in.
    fn remove_member(&mut self, user: UserId) -> Option<Party> {
        let at = self.members.iter().position(|m| m.party.id == user)?;
        let out = self.members.remove(at).party;
        self.candidates.retain(|((a, b), _)| *a != user && *b != user);
        Some(out)
    }

    fn ended(&self) -> Ended {
        Ended {
            room: self.room.clone(),
            id: self.id.clone(),
            media: self.media,
            starter: self.starter.clone(),
            length: self.since.elapsed(),
            joined: self.joined.clone(),
            joined_more: self.joined_more,
        }
    }
}

/// A call taken out of the table: what its line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub room: Arc<str>,
    pub id: String,
    pub media: Media,
    pub starter: Party,
    /// From its start to its end.
    pub length: Duration,
    /// Who joined it, the starter apart (the first ones), and how many more.
    pub joined: Vec<String>,
    pub joined_more: u32,
}

/// A member who left a call (or was taken out of it); `ended`: it was
/// the last one, and the call is over.
#[derive(Clone, Debug)]
pub struct Left {
    pub room: Arc<str>,
    pub id: String,
    pub who: Party,
    pub ended: Option<Ended>,
}

/// A call as `GROUPCALLS` and the server's sweeps read it.
#[derive(Clone, Debug)]
pub struct Summary {
    pub room: Arc<str>,
    pub id: String,
    pub media: Media,
    pub starter: String,
    pub since_ms: u64,
    /// Who is in it, the first in first.
    pub members: Vec<Party>,
}

/// 1.3: a user of this server in the call of a room homed on another
/// server, which keeps that call (`server::group_calls_across`): the
/// device its signals come from and go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Away {
    pub user: UserId,
    pub device: String,
    /// The room's address, `#lab@lab2`.
    pub room: String,
    pub id: String,
}

/// The calls, and who started or was rung lately (one lock: a start is
/// judged against all of it at once).
#[derive(Default)]
struct Board {
    calls: Vec<GroupCall>,
    /// Users of this server in calls of rooms homed elsewhere (one call
    /// each, as here).
    away: Vec<Away>,
    /// Calls started in each room (by its folded name), a minute.
    room_starts: PerMinute<String>,
    /// Calls started by each member, a minute.
    starts: PerMinute,
    /// Rooms' calls that rang each member, a minute.
    rung: PerMinute,
}

/// The table of rooms' calls, the server's (on a cluster, the leader's).
#[derive(Default)]
pub struct GroupCalls {
    board: Mutex<Board>,
}

/// `KO:BAD_REQUEST` for a call that is not (any more) in `room`.
fn no_call(room: &str, id: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("no call {id} in {room} (it ended, or never started)"))
}

/// Whether `a` and `b` name one room (`#Lab`, `lab`).
pub fn same_room(a: &str, b: &str) -> bool {
    fold(a.trim_start_matches('#')) == fold(b.trim_start_matches('#'))
}

impl GroupCalls {
    /// Starts the call `id` of `room` (as registered, `#lab`) with `starter` in it
    /// on `device`, or says why not: a call goes on there already
    /// (`KO:FULL`, which names it), the starter is in one
    /// (`KO:FULL`), or the room or the starter started
    /// [`STARTS_PER_MINUTE`] in the last minute (`KO:RATE_LIMITED`).
    pub fn start(
        &self,
        room: &Arc<str>,
        id: &str,
        (starter, device): (Party, &str),
        media: Media,
    ) -> Result<(), Ko> {
        let now = Instant::now();
        let mut board = self.board.lock();
        let board = &mut *board;
        if let Some(going) = board.calls.iter().find(|c| same_room(&c.room, room)) {
            return Err(Ko::new(
                Code::Full,
                format!("{room} has a call going on: join it, GROUPCALL:{room}:JOIN:{}", going.id),
            ));
        }
        if board.busy(starter.id) {
            return Err(Ko::new(Code::Full, "you are in a call: leave it first"));
        }
        let key = fold(room.trim_start_matches('#'));
        for (count, wait, whose) in [
            (board.room_starts.count(&key, now), board.room_starts.wait(&key, now), format!("{room} had")),
            (board.starts.count(&starter.id, now), board.starts.wait(&starter.id, now), "you started".into()),
        ] {
            if count >= STARTS_PER_MINUTE {
                let wait = wait.as_secs() + 1;
                return Err(Ko::new(
                    Code::RateLimited,
                    format!("{whose} {STARTS_PER_MINUTE} calls in a minute, the most: try again in {wait} s"),
                ));
            }
        }
        board.room_starts.note(key, now);
        board.starts.note(starter.id, now);
        board.calls.push(GroupCall {
            room: room.clone(),
            id: id.to_string(),
            media,
            starter: starter.clone(),
            since: now,
            since_ms: crate::store::now_ms(),
            members: vec![InCall { party: starter, device: device.to_string() }],
            joined: Vec::new(),
            joined_more: 0,
            ringing: Vec::new(),
            candidates: Vec::new(),
        });
        Ok(())
    }

    /// Takes out the call `id` of `room` that never rang: its line could
    /// not be stored.
    pub fn abort(&self, room: &str, id: &str) {
        self.board.lock().calls.retain(|c| !c.is(room, id));
    }

    /// Rings `users` for the call `id` of `room` until `until`: those it
    /// may ring, returned. Not one in a room's call, nor one that
    /// [`MAX_RINGING_CALLEE`] rooms' calls ring already, or that
    /// [`RINGS_PER_MINUTE_CALLEE`] rang in the last minute.
    pub fn ring(&self, room: &str, id: &str, users: &[UserId], until: Instant) -> Vec<UserId> {
        let now = Instant::now();
        let mut board = self.board.lock();
        let board = &mut *board;
        let mut rung = Vec::new();
        for &user in users {
            let in_one = board.busy(user);
            let ringing = board.calls.iter().filter(|c| c.ringing.iter().any(|(u, _)| *u == user)).count();
            if in_one
                || ringing >= MAX_RINGING_CALLEE
                || board.rung.count(&user, now) >= RINGS_PER_MINUTE_CALLEE
            {
                continue;
            }
            let Some(call) = board.calls.iter_mut().find(|c| c.is(room, id)) else { return rung };
            call.ringing.push((user, until));
            board.rung.note(user, now);
            rung.push(user);
        }
        rung
    }

    /// `who` joins the call `id` of `room` on `device`; the names of those
    /// in it already (`who` offers to each). Refused if there is no such
    /// call, if `who` is in it (on any device) or in another one, or if
    /// it has [`MAX_IN_CALL`] in it (`KO:FULL`).
    pub fn join(&self, room: &str, id: &str, (who, device): (Party, &str)) -> Result<Vec<String>, Ko> {
        let mut board = self.board.lock();
        if board.away.iter().any(|a| a.user == who.id) {
            return Err(Ko::new(Code::Full, "you are in another call: leave it first"));
        }
        if let Some(other) = board.calls.iter().find(|c| c.has(who.id)) {
            let on = other.members.iter().find(|m| m.party.id == who.id).map_or("", |m| m.device.as_str());
            return Err(match other.is(room, id) {
                true => Ko::new(Code::Full, format!("you are in this call already, on {on}")),
                false => Ko::new(Code::Full, "you are in another call: leave it first"),
            });
        }
        let call = board.calls.iter_mut().find(|c| c.is(room, id)).ok_or_else(|| no_call(room, id))?;
        if call.members.len() >= MAX_IN_CALL {
            return Err(Ko::new(Code::Full, format!("the call has {MAX_IN_CALL} people in it, the most")));
        }
        let others = call.members.iter().map(|m| m.party.name.clone()).collect();
        call.ringing.retain(|(u, _)| *u != who.id);
        let known = |n: &String| fold(n) == fold(&who.name);
        if who.id != call.starter.id && !call.joined.iter().any(known) {
            if call.joined.len() < JOINED_KEPT {
                call.joined.push(who.name.clone());
            } else {
                call.joined_more = call.joined_more.saturating_add(1);
            }
        }
        call.members.push(InCall { party: who, device: device.to_string() });
        Ok(others)
    }

    /// `user` declines the call `id` of `room`, which rings it: it stops.
    pub fn decline(&self, room: &str, id: &str, user: UserId) -> Result<(), Ko> {
        let mut board = self.board.lock();
        let call = board.calls.iter_mut().find(|c| c.is(room, id)).ok_or_else(|| no_call(room, id))?;
        let before = call.ringing.len();
        call.ringing.retain(|(u, _)| *u != user);
        match call.ringing.len() < before {
            true => Ok(()),
            false => Err(Ko::new(Code::BadRequest, format!("{room}'s call {id} is not ringing you"))),
        }
    }

    /// `user` leaves the call `id` of `room`, from whichever device.
    pub fn leave(&self, room: &str, id: &str, user: UserId) -> Result<Left, Ko> {
        let mut board = self.board.lock();
        let calls = &mut board.calls;
        let at = calls.iter().position(|c| c.is(room, id)).ok_or_else(|| no_call(room, id))?;
        let Some(left) = take_out(calls, at, user) else {
            return Err(Ko::new(Code::BadRequest, format!("you are not in {room}'s call {id}")));
        };
        Ok(left)
    }

    /// The device to which `from`'s signal (sent from `device`) goes: that
    /// of `to`, both in the call `id` of `room`, and `from` on `device`
    /// (nothing a member sends reaches anyone outside the call). `ice`: a
    /// candidate, counted ([`MAX_CANDIDATES`] for each pair and way).
    pub fn route(
        &self,
        room: &str,
        id: &str,
        (from, device): (UserId, &str),
        to: &str,
        ice: bool,
    ) -> Result<(UserId, String), Ko> {
        let mut board = self.board.lock();
        let call = board.calls.iter_mut().find(|c| c.is(room, id)).ok_or_else(|| no_call(room, id))?;
        let not_in = |who: &str| Ko::new(Code::BadRequest, format!("{who} not in {room}'s call {id}"));
        let me = call.members.iter().find(|m| m.party.id == from).ok_or_else(|| not_in("you are"))?;
        if !me.device.eq_ignore_ascii_case(device) {
            return Err(Ko::new(Code::BadRequest, format!("you are in {room}'s call on {}", me.device)));
        }
        let other = call.members.iter().find(|m| fold(&m.party.name) == fold(to) && m.party.id != from);
        let other = other.ok_or_else(|| not_in(&format!("{to} is")))?;
        let target = (other.party.id, other.device.clone());
        if ice {
            let pair = (from, target.0);
            match call.candidates.iter_mut().find(|(p, _)| *p == pair) {
                Some((_, n)) if *n >= MAX_CANDIDATES => {
                    return Err(Ko::new(
                        Code::Full,
                        format!("a member sends at most {MAX_CANDIDATES} candidates to each other one"),
                    ));
                }
                Some((_, n)) => *n += 1,
                None => call.candidates.push((pair, 1)),
            }
        }
        Ok(target)
    }

    /// The rings that ran out by `now`, taken out: `(room, call id,
    /// member)` each.
    pub fn rung_out(&self, now: Instant) -> Vec<(Arc<str>, String, UserId)> {
        let mut board = self.board.lock();
        board.room_starts.forget_old(now);
        board.starts.forget_old(now);
        board.rung.forget_old(now);
        let mut out = Vec::new();
        for call in &mut board.calls {
            // In place: the sweep runs every quarter of a second, and most find nothing.
            for (user, _) in call.ringing.extract_if(.., |(_, until)| *until <= now) {
                out.push((call.room.clone(), call.id.clone(), user));
            }
        }
        out
    }

    /// Takes `user`'s `device` out of the calls it is in (its receive
    /// connection ended).
    pub fn of_device(&self, user: UserId, device: &str) -> Vec<Left> {
        let mut board = self.board.lock();
        let on = |c: &GroupCall| {
            c.members.iter().any(|m| m.party.id == user && m.device.eq_ignore_ascii_case(device))
        };
        let Some(at) = board.calls.iter().position(on) else { return Vec::new() };
        take_out(&mut board.calls, at, user).into_iter().collect()
    }

    /// Takes `user` out of the call `id` of `room` if it is in it (it left
    /// the room).
    pub fn take(&self, room: &str, id: &str, user: UserId) -> Option<Left> {
        let mut board = self.board.lock();
        let at = board.calls.iter().position(|c| c.is(room, id))?;
        take_out(&mut board.calls, at, user)
    }

    /// Every call going on.
    pub fn summaries(&self) -> Vec<Summary> {
        let board = self.board.lock();
        let summary = |c: &GroupCall| Summary {
            room: c.room.clone(),
            id: c.id.clone(),
            media: c.media,
            starter: c.starter.name.clone(),
            since_ms: c.since_ms,
            members: c.members.iter().map(|m| m.party.clone()).collect(),
        };
        board.calls.iter().map(summary).collect()
    }

    /// 1.3: the calls that members on `device` are in (a peer's,
    /// `@lab1`: its users), each with those members: `(room, call id,
    /// members)`.
    pub fn on_device(&self, device: &str) -> Vec<(Arc<str>, String, Vec<Party>)> {
        let board = self.board.lock();
        let on = |m: &&InCall| m.device.eq_ignore_ascii_case(device);
        let members =
            |c: &GroupCall| c.members.iter().filter(on).map(|m| m.party.clone()).collect::<Vec<_>>();
        let calls = board.calls.iter().map(|c| (c.room.clone(), c.id.clone(), members(c)));
        calls.filter(|(_, _, members)| !members.is_empty()).collect()
    }

    /// Whether `user` is in a room's call (here, or 1.3 of a room homed
    /// elsewhere).
    pub fn is_in(&self, user: UserId) -> bool {
        self.board.lock().busy(user)
    }

    /// 1.3: `away.user` is in the call of a room homed elsewhere, as its
    /// home answered, on `away.device`; `KO:FULL` if it is in a call
    /// already (here, or of another room homed elsewhere).
    pub fn went_away(&self, away: Away) -> Result<(), Ko> {
        let mut board = self.board.lock();
        if board.busy(away.user) {
            return Err(Ko::new(Code::Full, "you are in a call: leave it first"));
        }
        board.away.push(away);
        Ok(())
    }

    /// 1.3: the device of `user` in the call `id` of `room`, a room homed
    /// elsewhere (`#lab@lab2`), if it is in it.
    pub fn away_device(&self, user: UserId, room: &str, id: &str) -> Option<String> {
        let board = self.board.lock();
        let away = board.away.iter().find(|a| a.user == user && a.id == id && same_room(&a.room, room));
        away.map(|a| a.device.clone())
    }

    /// 1.3: `user` is out of the call `id` of `room`, homed elsewhere.
    pub fn came_back(&self, user: UserId, room: &str, id: &str) {
        self.board.lock().away.retain(|a| !(a.user == user && a.id == id && same_room(&a.room, room)));
    }

    /// 1.3: the calls of rooms homed elsewhere that `user` is in (one at
    /// most).
    pub fn away_of(&self, user: UserId) -> Vec<Away> {
        self.board.lock().away.iter().filter(|a| a.user == user).cloned().collect()
    }

    /// 1.3: the calls of rooms homed elsewhere that `user`'s `device` is
    /// in, taken out (its receive connection ended).
    pub fn away_of_device(&self, user: UserId, device: &str) -> Vec<Away> {
        let mut board = self.board.lock();
        board.away.extract_if(.., |a| a.user == user && a.device.eq_ignore_ascii_case(device)).collect()
    }

    /// 1.3: whether a room's call homed elsewhere may ring `user` (its
    /// home judged the room's bounds): not while it is in a call, and
    /// [`RINGS_PER_MINUTE_CALLEE`] a minute from every room together,
    /// counted here, where the member is.
    pub fn may_ring_away(&self, user: UserId) -> bool {
        let now = Instant::now();
        let mut board = self.board.lock();
        if board.busy(user) || board.rung.count(&user, now) >= RINGS_PER_MINUTE_CALLEE {
            return false;
        }
        board.rung.note(user, now);
        true
    }
}

impl Board {
    /// Whether `user` is in a call: here, or (1.3) of a room homed elsewhere.
    fn busy(&self, user: UserId) -> bool {
        self.calls.iter().any(|c| c.has(user)) || self.away.iter().any(|a| a.user == user)
    }
}

/// Takes `user` out of `calls[at]`, and the call out of the table if it
/// was the last one in.
fn take_out(calls: &mut Vec<GroupCall>, at: usize, user: UserId) -> Option<Left> {
    let call = &mut calls[at];
    let who = call.remove_member(user)?;
    let (room, id) = (call.room.clone(), call.id.clone());
    let ended = call.members.is_empty().then(|| calls.swap_remove(at).ended());
    Some(Left { room, id, who, ended })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: UserId, name: &str) -> Party {
        Party { id, name: name.into() }
    }

    #[test]
    fn a_call_is_joined_signalled_between_its_members_only_and_ends_with_the_last() {
        let calls = GroupCalls::default();
        let lab: Arc<str> = "#Lab".into();
        calls.start(&lab, "g1", (party(1, "ana"), "laptop"), Media::Video).unwrap();
        let again = calls.start(&lab, "g2", (party(2, "bob"), "phone"), Media::Voice).unwrap_err();
        assert_eq!(
            (again.code, again.reason.as_str()),
            (Code::Full, "#Lab has a call going on: join it, GROUPCALL:#Lab:JOIN:g1")
        );
        let until = Instant::now() + Duration::from_secs(30);
        assert_eq!(calls.ring("#lab", "g1", &[2, 3, 4], until), [2, 3, 4]);
        assert_eq!(calls.join("#lab", "g1", (party(2, "bob"), "phone")), Ok(vec!["ana".to_string()]));
        assert_eq!(calls.join("#LAB", "g1", (party(3, "carl"), "laptop")).unwrap(), ["ana", "bob"]);
        assert_eq!(calls.join("#lab", "g1", (party(3, "carl"), "phone")).unwrap_err().code, Code::Full);
        assert_eq!(calls.join("#lab", "g9", (party(4, "dan"), "phone")).unwrap_err().code, Code::BadRequest);
        // bob reaches carl's laptop; nobody reaches dan, who is not in it, nor speaks for ana's other device.
        assert_eq!(calls.route("#lab", "g1", (2, "phone"), "Carl", false), Ok((3, "laptop".to_string())));
        assert_eq!(
            calls.route("#lab", "g1", (2, "phone"), "dan", false).unwrap_err().reason,
            "dan is not in #lab's call g1"
        );
        assert_eq!(
            calls.route("#lab", "g1", (4, "phone"), "ana", false).unwrap_err().reason,
            "you are not in #lab's call g1"
        );
        assert_eq!(
            calls.route("#lab", "g1", (1, "phone"), "bob", false).unwrap_err().reason,
            "you are in #lab's call on laptop"
        );
        assert_eq!(
            calls.route("#lab", "g1", (1, "laptop"), "ana", false).unwrap_err().code,
            Code::BadRequest,
            "not to oneself"
        );
        // dan declines; his ring is gone, the others' rang out long ago (they joined).
        assert_eq!(calls.decline("#lab", "g1", 4), Ok(()));
        assert!(calls.decline("#lab", "g1", 4).is_err(), "it rings no more");
        assert!(calls.rung_out(until).is_empty(), "bob and carl joined, dan declined");
        let left = calls.leave("#lab", "g1", 1).unwrap();
        assert!(left.ended.is_none(), "bob and carl are in it");
        assert!(calls.leave("#lab", "g1", 1).is_err(), "out already");
        assert!(calls.of_device(2, "laptop").is_empty(), "bob is on his phone");
        assert!(calls.of_device(2, "PHONE")[0].ended.is_none());
        let last = calls.take("#lab", "g1", 3).unwrap();
        let ended = last.ended.expect("carl was the last");
        assert_eq!(
            (ended.joined, ended.starter.name.as_str()),
            (vec!["bob".to_string(), "carl".to_string()], "ana")
        );
        assert!(calls.summaries().is_empty() && !calls.is_in(2));
    }

    #[test]
    fn the_calls_of_a_peer_s_users_are_found_by_their_server_s_device() {
        let calls = GroupCalls::default();
        let (lab, net): (Arc<str>, Arc<str>) = ("#lab".into(), "#net".into());
        calls.start(&lab, "g1", (party(1, "bob"), "phone"), Media::Voice).unwrap();
        calls.join("#lab", "g1", (party(2, "ana@lab1"), "@lab1")).unwrap();
        calls.join("#lab", "g1", (party(3, "cyd@lab3"), "@lab3")).unwrap();
        calls.start(&net, "g2", (party(4, "dan@lab1"), "@LAB1"), Media::Video).unwrap();
        let mut found: Vec<(String, Vec<String>)> = calls
            .on_device("@lab1")
            .into_iter()
            .map(|(room, id, members)| {
                (format!("{room} {id}"), members.into_iter().map(|p| p.name).collect())
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("#lab g1".to_string(), vec!["ana@lab1".to_string()]),
                ("#net g2".into(), vec!["dan@lab1".into()])
            ]
        );
        assert!(calls.on_device("@lab9").is_empty(), "nobody of lab9's in a call");
        assert!(calls.take("#lab", "g1", 2).unwrap().ended.is_none(), "bob and cyd talk on");
        assert_eq!(calls.on_device("@lab1").len(), 1, "ana is out of #lab's");
    }

    #[test]
    fn starts_rings_members_and_candidates_are_bounded() {
        let calls = GroupCalls::default();
        let room = |n: usize| -> Arc<str> { format!("#r{n}").into() };
        // A member starts STARTS_PER_MINUTE calls a minute, a room has as many.
        for n in 0..STARTS_PER_MINUTE {
            calls.start(&room(n), &format!("s{n}"), (party(1, "ana"), "d"), Media::Voice).unwrap();
            calls.leave(&room(n), &format!("s{n}"), 1).unwrap();
        }
        let fourth = calls.start(&room(9), "s9", (party(1, "ana"), "d"), Media::Voice).unwrap_err();
        assert_eq!(fourth.code, Code::RateLimited);
        assert!(fourth.reason.starts_with("you started 3 calls in a minute, the most"), "{}", fourth.reason);
        for n in 0..STARTS_PER_MINUTE {
            calls
                .start(&room(50), &format!("t{n}"), (party(10 + n as UserId, "u"), "d"), Media::Voice)
                .unwrap();
            calls.leave("#r50", &format!("t{n}"), 10 + n as UserId).unwrap();
        }
        let full = calls.start(&room(50), "t9", (party(20, "zed"), "d"), Media::Voice).unwrap_err();
        assert!(full.reason.starts_with("#r50 had 3 calls in a minute"), "{}", full.reason);
        // Member 5 rings for MAX_RINGING_CALLEE rooms' calls at once, no more.
        let until = Instant::now() + Duration::from_secs(30);
        for n in 0..=MAX_RINGING_CALLEE {
            let id = format!("c{n}");
            calls.start(&room(100 + n), &id, (party(30 + n as UserId, "u"), "d"), Media::Voice).unwrap();
            let rung = calls.ring(&room(100 + n), &id, &[5], until);
            assert_eq!(rung.len(), usize::from(n < MAX_RINGING_CALLEE), "call {n}");
        }
        // A member is rung by RINGS_PER_MINUTE_CALLEE rooms' calls a minute.
        let rung = |n: usize| {
            let (room, id) = (room(200 + n), format!("m{n}"));
            calls.start(&room, &id, (party(400 + n as UserId, "u"), "d"), Media::Voice).unwrap();
            let rung = calls.ring(&room, &id, &[6], until);
            calls.decline(&room, &id, 6).ok();
            rung
        };
        for n in 0..RINGS_PER_MINUTE_CALLEE {
            assert_eq!(rung(n), [6], "ring {n}");
        }
        assert!(rung(RINGS_PER_MINUTE_CALLEE).is_empty(), "one more this minute");
        // In a call, a member is rung by no other.
        calls.join("#r100", "c0", (party(5, "eve"), "d")).unwrap();
        assert!(calls.ring("#r101", "c1", &[5], until).is_empty());
        assert_eq!(calls.join("#r101", "c1", (party(5, "eve"), "d")).unwrap_err().code, Code::Full);
        // A member sends MAX_CANDIDATES candidates to each other one.
        for n in 0..MAX_CANDIDATES {
            assert!(calls.route("#r100", "c0", (5, "d"), "u", true).is_ok(), "candidate {n}");
        }
        assert_eq!(calls.route("#r100", "c0", (5, "d"), "u", true).unwrap_err().code, Code::Full);
        assert!(calls.route("#r100", "c0", (30, "d"), "eve", true).is_ok(), "the other way counts its own");
        // MAX_IN_CALL at most.
        for n in 2..MAX_IN_CALL as UserId {
            calls.join("#r100", "c0", (party(200 + n, &format!("m{n}")), "d")).unwrap();
        }
        assert_eq!(calls.join("#r100", "c0", (party(300, "late"), "d")).unwrap_err().code, Code::Full);
    }
}
