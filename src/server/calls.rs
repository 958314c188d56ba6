//! 1.2 (§24): the calls this server knows of, and how each one ends.
//!
//! A call's media never pass through wachat: the server only relays the
//! signalling (`requests/call.rs`). But someone must decide what two
//! browsers cannot: that a call nobody answers is *missed* after
//! `--ring-seconds`, that the first of the callee's devices to answer takes
//! it, that a peer already in a call is busy, that a device which vanished
//! ended its call. So the server keeps a small table, in memory only: a
//! call is a few minutes of one connection's life, like a `TYPING`, and a
//! restart ends every call (each browser sees its connection close).
//!
//! ```text
//!   OFFER ──▶ Ringing{until} ──ANSWER──▶ Answered{device} ──HANGUP/gone──▶ END
//!                │  DECLINE / HANGUP / caller gone / ring time out
//!                └──────────────────────────────────────────────────────▶ END
//! ```
//!
//! Every call leaves a line in its chat when it ends (`📞 Voice call,
//! 4:12`, `📞 Missed voice call`, `protocol::call::CallLog`): a message
//! from the caller to the callee, stored through the durable message path
//! like any other (`LocalStore::send`), so every client of every version and
//! `HISTORY` show it as text, and a block hides it like any message.
//!
//! Bounds: at most [`MAX_RINGING`] calls ringing per caller, one per peer,
//! and [`OFFERS_PER_MINUTE`] offers a minute; at most
//! [`MAX_RINGING_CALLEE`] calls ringing one callee (past it, busy), and
//! [`RINGS_PER_MINUTE_CALLEE`] a minute (busy past it); [`MAX_CANDIDATES`]
//! ICE candidates from each end of a call.
//! The table holds at most [`MAX_RINGING`] calls per online user. The
//! timer thread wakes every
//! [`TICK`], so a missed call ends within `--ring-seconds` and a quarter
//! of a second, its line stored with those of the same sweep.
//!
//! This file is the table, which the server's `Ctx` holds; `call_relay.rs` tells
//! the two ends what happened to their call, stores the missed call, and
//! runs the timer.
//!
//! On a cluster the leader keeps every call: every client's connection
//! is served there (a follower passes its own on, `server::Leader`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::call::{
    End, MAX_CANDIDATES, MAX_RINGING, MAX_RINGING_CALLEE, Media, OFFERS_PER_MINUTE, RINGS_PER_MINUTE_CALLEE,
    Signal,
};
use crate::protocol::{Code, Ko};
use crate::store::UserId;

/// How often the timer looks for calls rung out.
pub const TICK: Duration = Duration::from_millis(250);

/// How long a call rings before it is missed (`--ring-seconds`'s default).
pub const DEFAULT_RING_SECONDS: u64 = 30;

/// One end of a call: a user, on one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub id: UserId,
    pub name: String,
}

/// 1.3: the first id of the users of other servers in the table, far
/// above any account's (an account's id is its place among the store's
/// accounts). A call with `bob@lab2` needs no account of bob's here: he
/// may never have written to anyone of this server.
const REMOTE_IDS: UserId = 1 << (UserId::BITS - 1);

impl Party {
    /// 1.3 (§27): `address` (`bob@lab2`), a user of another server, as
    /// an end of a call: its id is made of its address (folded), the same
    /// for every signal of its calls, and never an account's.
    pub fn remote(address: &str) -> Party {
        // FNV-1a: stable across starts and platforms, as a table of a few
        // dozen calls needs, with no dependency.
        let folded = crate::protocol::names::fold(address);
        let hash = folded
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Party { id: REMOTE_IDS | (hash as UserId & (REMOTE_IDS - 1)), name: address.to_string() }
    }

    /// The server of a user of another server (`lab2` of `bob@lab2`);
    /// `None` for a user of this one.
    pub fn server(&self) -> Option<&str> {
        crate::store::state::remote::address(&self.name).map(|(_, server)| server)
    }
}

/// 1.3: the device a user of another server is on, as the table names
/// it (`@lab2`): its server keeps its devices, and tells this one when
/// its end leaves.
pub fn remote_device(server: &str) -> String {
    format!("@{server}")
}

/// 1.3: how long a call to a user of another server rings here at most:
/// the callee's server rings it out at its own `--ring-seconds` (at most
/// 600, the flag's limit) and says so; this ends it if that server fell
/// silent meanwhile.
pub const RING_ACROSS_MAX: Duration = Duration::from_secs(615);

#[derive(Clone, Debug)]
enum CallState {
    Ringing {
        until: Instant,
    },
    /// `device` of the callee took the call `at`.
    Answered {
        device: String,
        at: Instant,
    },
}

/// A call the server knows of (in the table only).
#[derive(Clone, Debug)]
struct Call {
    /// The caller's own id for it (a message id's shape).
    id: String,
    caller: Party,
    /// The caller's device, which the call ends with.
    caller_device: String,
    callee: Party,
    media: Media,
    state: CallState,
    /// ICE candidates sent so far by the caller and by the callee
    /// ([`MAX_CANDIDATES`] each).
    candidates: [u16; 2],
}

/// A call taken out of the table: what telling its end needs
/// (`call_relay::end`), and nothing of the table's (no ringing deadline,
/// no device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// The caller's own id for it.
    pub id: String,
    pub caller: Party,
    pub callee: Party,
    pub media: Media,
    /// How long it went on after the callee took it; `None`: never
    /// answered (a missed call, or declined).
    pub answered: Option<Duration>,
}

/// A call as the rule for a new one reads it ([`may_ring`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brief {
    /// The caller's own id for it.
    pub id: String,
    pub caller: UserId,
    pub callee: UserId,
    /// Whether the callee took it.
    pub answered: bool,
}

impl Brief {
    /// Whether `user` is one end of it.
    pub fn has(&self, user: UserId) -> bool {
        self.caller == user || self.callee == user
    }
}

/// The one rule for a new call from `caller` to `callee` with `id`, over
/// every call the server knows of (`calls`, its table's): refused if the
/// id is in use, if the caller rings this peer already or [`MAX_RINGING`]
/// peers, or is in a call (`KO:FULL`); `Ok(false)` if the callee is in a
/// call (busy: it does not ring).
pub fn may_ring(calls: &[Brief], caller: &Party, callee: &Party, id: &str) -> Result<bool, Ko> {
    if calls.iter().any(|c| c.id == id && c.has(caller.id)) {
        return Err(Ko::new(Code::BadRequest, format!("the call id {id} is in use")));
    }
    let ringing = |c: &&Brief| !c.answered && c.caller == caller.id;
    if calls.iter().filter(ringing).any(|c| c.callee == callee.id) {
        return Err(Ko::new(Code::Full, format!("you are calling {} already", callee.name)));
    }
    if calls.iter().filter(ringing).count() >= MAX_RINGING {
        return Err(Ko::new(Code::Full, format!("you have {MAX_RINGING} calls ringing, the most")));
    }
    let in_call = |user: UserId| calls.iter().any(|c| c.answered && c.has(user));
    if in_call(caller.id) {
        return Err(Ko::new(Code::Full, "you are in a call: hang up first"));
    }
    Ok(!in_call(callee.id))
}

impl Call {
    fn answered(&self) -> bool {
        matches!(self.state, CallState::Answered { .. })
    }

    /// What [`may_ring`] reads of it.
    fn brief(&self) -> Brief {
        Brief {
            id: self.id.clone(),
            caller: self.caller.id,
            callee: self.callee.id,
            answered: self.answered(),
        }
    }

    /// What is told of it, once out of the table.
    fn ended(self) -> Ended {
        let answered = match self.state {
            CallState::Answered { at, .. } => Some(at.elapsed()),
            CallState::Ringing { .. } => None,
        };
        Ended { id: self.id, caller: self.caller, callee: self.callee, media: self.media, answered }
    }

    /// Whether `user` is one end of it.
    fn has(&self, user: UserId) -> bool {
        self.caller.id == user || self.callee.id == user
    }
}

/// A signal after the offer, as the table sees it: its SDP or candidate
/// goes on to the peer as it came, and is no business of the table's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Answer,
    Ice,
    Decline,
    Hangup,
}

impl Step {
    /// The step of a request's signal; `None`: an offer, or the server's `END`.
    pub fn of(signal: &Signal) -> Option<Step> {
        match signal {
            Signal::Answer { .. } => Some(Step::Answer),
            Signal::Ice { .. } => Some(Step::Ice),
            Signal::Decline => Some(Step::Decline),
            Signal::Hangup => Some(Step::Hangup),
            Signal::Offer { .. } | Signal::End(_) => None,
        }
    }

    /// Its word in a `CALL` frame (and between a cluster's nodes).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Answer => "ANSWER",
            Step::Ice => "ICE",
            Step::Decline => "DECLINE",
            Step::Hangup => "HANGUP",
        }
    }

    pub fn parse(word: &str) -> Option<Step> {
        [Step::Answer, Step::Ice, Step::Decline, Step::Hangup].into_iter().find(|s| s.as_str() == word)
    }
}

/// What a [`Step`] did to its call.
#[derive(Clone, Debug)]
pub enum Stepped {
    /// The callee's device took the call.
    Answered,
    /// A candidate of a call that exists.
    Ice,
    /// The call is over, taken out of the table: it ends ([`end`](super::call_relay::end)).
    Ended(Ended, End),
}

/// When each key (a user; 1.2 §32, a room) did something counted in the
/// last minute (offered a call, was rung, started a room's call): at most
/// as many times as it may, per key; a key whose last is a minute old is
/// forgotten (at the timer's sweep).
pub(super) struct PerMinute<K = UserId>(HashMap<K, VecDeque<Instant>>);

impl<K> Default for PerMinute<K> {
    fn default() -> Self {
        PerMinute(HashMap::new())
    }
}

const MINUTE: Duration = Duration::from_secs(60);

impl<K: std::hash::Hash + Eq> PerMinute<K> {
    /// How many times of `key`'s are within the minute before `now`.
    pub(super) fn count(&mut self, key: &K, now: Instant) -> usize {
        let Some(times) = self.0.get_mut(key) else { return 0 };
        while times.front().is_some_and(|t| now.duration_since(*t) >= MINUTE) {
            times.pop_front();
        }
        times.len()
    }

    /// How long until the oldest of `key`'s times is a minute old.
    pub(super) fn wait(&self, key: &K, now: Instant) -> Duration {
        let oldest = self.0.get(key).and_then(|times| times.front().copied()).unwrap_or(now);
        MINUTE.saturating_sub(now.duration_since(oldest))
    }

    pub(super) fn note(&mut self, key: K, now: Instant) {
        self.0.entry(key).or_default().push_back(now);
    }

    pub(super) fn forget_old(&mut self, now: Instant) {
        self.0.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < MINUTE));
    }
}

/// The calls, and who offered lately (one lock: a new call is judged
/// against both at once).
#[derive(Default)]
struct Switchboard {
    calls: Vec<Call>,
    /// Offers each caller made ([`OFFERS_PER_MINUTE`]).
    offers: PerMinute,
    /// Calls that rang each callee ([`RINGS_PER_MINUTE_CALLEE`]).
    rung: PerMinute,
}

/// The table of calls, the server's (on a cluster, the leader's).
#[derive(Default)]
pub struct Calls {
    table: Mutex<Switchboard>,
}

impl Calls {
    /// Every call this table keeps, as [`may_ring`] reads them.
    pub fn known(&self) -> Vec<Brief> {
        self.table.lock().calls.iter().map(Call::brief).collect()
    }

    /// Rings a new call from `caller` (on `device`) to `callee`, or says
    /// why not: past [`OFFERS_PER_MINUTE`] of the caller's, or by
    /// [`may_ring`] over this table's calls. `Ok(false)`: the callee is
    /// busy, in a call, rung by [`MAX_RINGING_CALLEE`] calls, or by
    /// [`RINGS_PER_MINUTE_CALLEE`] in the last minute: the call ends
    /// before it rings.
    pub fn ring(
        &self,
        caller: Party,
        device: &str,
        callee: Party,
        id: &str,
        media: Media,
        ring: Duration,
    ) -> Result<bool, Ko> {
        let now = Instant::now();
        let mut table = self.table.lock();
        let table = &mut *table;
        if table.offers.count(&caller.id, now) >= OFFERS_PER_MINUTE {
            let wait = table.offers.wait(&caller.id, now).as_secs() + 1;
            return Err(Ko::new(
                Code::RateLimited,
                format!("you offered {OFFERS_PER_MINUTE} calls in a minute, the most: try again in {wait} s"),
            ));
        }
        let known: Vec<Brief> = table.calls.iter().map(Call::brief).collect();
        let free = may_ring(&known, &caller, &callee, id)?;
        table.offers.note(caller.id, now);
        let ringing = known.iter().filter(|c| !c.answered && c.callee == callee.id).count();
        let rung = table.rung.count(&callee.id, now);
        if !free || ringing >= MAX_RINGING_CALLEE || rung >= RINGS_PER_MINUTE_CALLEE {
            return Ok(false);
        }
        table.rung.note(callee.id, now);
        let state = CallState::Ringing { until: now + ring };
        let (id, caller_device) = (id.to_string(), device.to_string());
        table.calls.push(Call { id, caller, caller_device, callee, media, state, candidates: [0, 0] });
        Ok(true)
    }

    /// The one rule for a signal after the offer: the signal belongs to a
    /// call that exists, between `me` (on `device`) and `peer`; the first
    /// answer of the callee takes it, a decline is the callee's, a decline
    /// or a hang-up takes it out of the table. What it did ([`tell`](super::call_relay::tell) says
    /// it), or why not.
    pub fn step(&self, me: UserId, device: &str, peer: UserId, id: &str, step: Step) -> Result<Stepped, Ko> {
        let mut table = self.table.lock();
        let table = &mut table.calls;
        let Some(at) = table.iter().position(|c| c.id == id && c.has(me) && c.has(peer)) else {
            return Err(no_call(id));
        };
        let call = &mut table[at];
        match step {
            Step::Answer if call.callee.id != me => Err(no_call(id)),
            Step::Answer if call.answered() => {
                Err(Ko::new(Code::BadRequest, "the call was answered on another device"))
            }
            Step::Answer => {
                call.state = CallState::Answered { device: device.to_string(), at: Instant::now() };
                Ok(Stepped::Answered)
            }
            Step::Ice => {
                let sent = &mut call.candidates[usize::from(call.callee.id == me)];
                if *sent >= MAX_CANDIDATES {
                    return Err(Ko::new(
                        Code::Full,
                        format!("a call carries at most {MAX_CANDIDATES} candidates from each end"),
                    ));
                }
                *sent += 1;
                Ok(Stepped::Ice)
            }
            Step::Decline if call.callee.id != me => {
                Err(Ko::new(Code::BadRequest, "only the callee declines: the caller hangs up"))
            }
            Step::Decline => Ok(Stepped::Ended(table.swap_remove(at).ended(), End::Declined)),
            Step::Hangup => Ok(Stepped::Ended(table.swap_remove(at).ended(), End::Hangup)),
        }
    }

    /// 1.3: takes out the call `id` between `a` and `b`, which the
    /// server of one end says is over (`END` on the link).
    pub fn take(&self, a: UserId, b: UserId, id: &str) -> Result<Ended, Ko> {
        let mut table = self.table.lock();
        let calls = &mut table.calls;
        let at = calls.iter().position(|c| c.id == id && c.has(a) && c.has(b)).ok_or_else(|| no_call(id))?;
        Ok(calls.swap_remove(at).ended())
    }

    /// Takes out the calls that rang out by `now` (and forgets who
    /// offered over a minute ago).
    pub fn rung_out(&self, now: Instant) -> Vec<Ended> {
        let mut table = self.table.lock();
        table.offers.forget_old(now);
        table.rung.forget_old(now);
        // In place: the sweep runs every `TICK`, and most find nothing.
        let out = |c: &mut Call| matches!(c.state, CallState::Ringing { until } if until <= now);
        table.calls.extract_if(.., out).map(Call::ended).collect()
    }

    /// Takes out the calls that `device` of `user` was an end of: the
    /// caller's device, or the callee's device that answered (its name in
    /// any case).
    pub fn of_device(&self, user: UserId, device: &str) -> Vec<Ended> {
        let mut table = self.table.lock();
        let with = |c: &mut Call| {
            let answered_on = |d: &str| matches!(&c.state, CallState::Answered { device, .. } if device.eq_ignore_ascii_case(d));
            (c.caller.id == user && c.caller_device.eq_ignore_ascii_case(device))
                || (c.callee.id == user && answered_on(device))
        };
        table.calls.extract_if(.., with).map(Call::ended).collect()
    }
}

pub(super) fn no_call(id: &str) -> Ko {
    Ko::new(Code::BadRequest, format!("no call {id} (it ended, or never rang)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_belongs_to_a_call_between_the_two_and_the_sweep_takes_only_the_rung_out() {
        let calls = Calls::default();
        let party = |id, name: &str| Party { id, name: name.into() };
        let ring = |id, callee: Party, secs| {
            calls.ring(party(1, "ana"), "laptop", callee, id, Media::Voice, Duration::from_secs(secs))
        };
        assert_eq!(ring("c1", party(2, "bob"), 0), Ok(true));
        assert_eq!(ring("c2", party(3, "carl"), 60), Ok(true));
        let code = |r: Result<Stepped, Ko>| r.map(|_| ()).map_err(|ko| ko.reason);
        assert_eq!(
            code(calls.step(3, "phone", 1, "c1", Step::Ice)),
            Err("no call c1 (it ended, or never rang)".into())
        );
        assert!(code(calls.step(1, "laptop", 3, "c2", Step::Answer)).is_err(), "the caller does not answer");
        assert!(code(calls.step(1, "laptop", 3, "c2", Step::Decline)).is_err(), "nor decline");
        assert_eq!(code(calls.step(3, "phone", 1, "c2", Step::Answer)), Ok(()));
        let again = code(calls.step(3, "tablet", 1, "c2", Step::Answer));
        assert_eq!(again, Err("the call was answered on another device".into()));
        let gone: Vec<String> = calls.rung_out(Instant::now()).into_iter().map(|c| c.id).collect();
        assert_eq!(gone, ["c1"], "c1 rang for no time; c2 was answered");
        assert_eq!(code(calls.step(1, "laptop", 2, "c1", Step::Ice)), Err(no_call("c1").reason), "c1 is out");
        let ended = calls.step(1, "laptop", 3, "c2", Step::Hangup);
        let Ok(Stepped::Ended(ended, End::Hangup)) = ended else { panic!("{ended:?}") };
        let (caller, callee) = (party(1, "ana"), party(3, "carl"));
        assert!(ended.answered.is_some(), "answered, so it went on for a while");
        let ended = Ended { answered: None, ..ended };
        assert_eq!(ended, Ended { id: "c2".into(), caller, callee, media: Media::Voice, answered: None });
        assert_eq!(code(calls.step(3, "phone", 1, "c2", Step::Ice)), Err(no_call("c2").reason));
    }

    /// 1.3: a user of another server is one party whatever the case of
    /// its address, never an account of this server, and a call with it
    /// is taken out by the end its server tells.
    #[test]
    fn a_user_of_another_server_is_a_party_of_its_own_and_its_server_ends_its_calls() {
        let bob = Party::remote("bob@lab2");
        assert_eq!(bob.id, Party::remote("Bob@LAB2").id);
        assert_ne!(bob.id, Party::remote("bob@lab3").id);
        assert!(bob.id >= REMOTE_IDS, "far above any account's id");
        assert_eq!((bob.server(), Party { id: 1, name: "ana".into() }.server()), (Some("lab2"), None));
        let calls = Calls::default();
        let ana = Party { id: 1, name: "ana".into() };
        let ring = |id| calls.ring(ana.clone(), "laptop", bob.clone(), id, Media::Video, RING_ACROSS_MAX);
        assert_eq!(ring("c1"), Ok(true));
        assert_eq!(ring("c2").unwrap_err().code, Code::Full, "one call ringing per peer, a remote one too");
        assert!(calls.take(bob.id, 2, "c1").is_err(), "a call between bob@lab2 and ana only");
        let ended = calls.take(bob.id, ana.id, "c1").unwrap();
        assert_eq!((ended.callee, ended.answered), (bob.clone(), None));
        assert!(calls.known().is_empty());
    }

    /// A caller offers at most `OFFERS_PER_MINUTE` calls a minute; a
    /// callee rings for at most `MAX_RINGING_CALLEE` at once (past it,
    /// busy); an end sends at most
    /// `MAX_CANDIDATES` candidates.
    #[test]
    fn rings_and_candidates_are_bounded() {
        let calls = Calls::default();
        let party = |id, name: &str| Party { id, name: name.into() };
        let ring = |caller: UserId, callee: UserId, id: &str| {
            let (caller, callee) =
                (party(caller, &format!("u{caller}")), party(callee, &format!("u{callee}")));
            calls.ring(caller, "d", callee, id, Media::Voice, Duration::from_secs(60))
        };
        let hang_up = |caller: UserId, callee: UserId, id: &str| {
            calls.step(caller, "d", callee, id, Step::Hangup).map(|_| ())
        };
        for n in 0..OFFERS_PER_MINUTE {
            assert_eq!(ring(1, 2, &format!("a{n}")), Ok(true), "offer {n}");
            assert_eq!(hang_up(1, 2, &format!("a{n}")), Ok(()));
        }
        let refused = ring(1, 2, "a9").unwrap_err();
        assert_eq!(refused.code, Code::RateLimited, "{refused:?}");
        assert!(
            refused.reason.starts_with("you offered 6 calls in a minute, the most: try again in "),
            "{refused:?}"
        );
        // Callee 2 rings for 3, 4 and 5; a fourth finds it busy.
        assert_eq!(ring(3, 2, "b1"), Ok(true));
        assert_eq!(ring(4, 2, "b2"), Ok(true));
        assert_eq!(ring(5, 2, "b3"), Ok(true));
        assert_eq!(ring(6, 2, "b4"), Ok(false), "three ring it already");
        assert_eq!(ring(6, 7, "b6"), Ok(true), "another callee rings");
        for n in 0..MAX_CANDIDATES {
            assert!(calls.step(6, "d", 7, "b6", Step::Ice).is_ok(), "candidate {n}");
        }
        assert_eq!(calls.step(6, "d", 7, "b6", Step::Ice).map(|_| ()).unwrap_err().code, Code::Full);
        assert!(calls.step(7, "d", 6, "b6", Step::Ice).is_ok(), "the other end counts its own");
        // A minute later, who offered is forgotten.
        calls.rung_out(Instant::now() + MINUTE);
        assert!(calls.table.lock().offers.0.is_empty());
    }
}
