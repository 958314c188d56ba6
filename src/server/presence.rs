//! Protocol 1.1 on the server (docs/PROTOCOL.md §11): who is online or
//! since when, who is in a room, and who joins or leaves it.
//!
//! - `LASTSEEN:<user>` answers `OK:<user>:ONLINE`, `OK:<user>:<ts>` (when
//!   its last receive connection ended) or `OK:<user>:UNKNOWN`.
//! - `MEMBERS:<#room>` answers a listing `<user>:<ONLINE|ts|UNKNOWN>`, one
//!   line per member, sorted ignoring case; members only.
//! - `MEMBER:<#room>:<user>:JOINED|LEFT` is pushed to the other members
//!   online when someone `JOIN`s or `LEAVE`s a room, but only to receive
//!   connections that said `VERSION:1.1` after their login: a version-1
//!   client never sees a frame it does not know. Like `JOINED`/`LEFT`,
//!   rooms above `--presence-limit` members send none.
//!
//! All of it is read from the router (online now) and the store (last
//! seen, kept across restarts: [`crate::store::LocalStore::note_offline`]).
//!
//! And version 1's `JOINED:<user>` / `LEFT:<user>`, which a receive login
//! and its end send to every roommate online ([`Announcer`]). They are
//! limited per user: unlimited, a client reconnecting in a loop would buy
//! two frames per roommate for each one-token login (2,547 `JOINED` and
//! 2,608 `LEFT` in 2 s at one roommate, measured). So a user's comings and
//! goings are announced [`PRESENCE_BURST`] times at once, then once per
//! [`PRESENCE_EVERY`]. A login past that is not dropped but *coalesced*:
//! the user is noted as changed, and when its next token comes (within
//! [`PRESENCE_EVERY`]) the **presence timer** — one thread for the whole
//! server, with a queue of deadlines — tells the roommates the user's
//! state *then*, if it differs from what they were told last: `JOINED` if
//! online and last told `LEFT`, `LEFT` if offline and last told `JOINED`,
//! nothing otherwise. So roommates see a few pairs per 10 s at most, and
//! are never wrong for much longer than [`PRESENCE_EVERY`]: a user with a
//! flaky connection who reconnects four times and then stays is shown
//! online 10 s later, not offline for hours.
//!
//! A `LEFT` waits [`PRESENCE_GRACE`] (2 s): a user whose connection
//! dropped and whose client logged in again within it was never away, and
//! its roommates are told nothing (else a console reconnecting every 15 s
//! would put "went offline / is online" on every roommate's screen). The
//! presence timer settles it like a held-back change.
//!
//! The bookkeeping is bounded by the users: one entry per user told
//! `JOINED` and online, one per user with a change not told yet (removed
//! when settled), and one deadline in the timer's queue for each of those.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::base::Base;
use super::throttle::Throttle;
use crate::protocol::names::fold;
use crate::protocol::{Event, Ko, MemberLine, Presence, SeenLine};
use crate::router::{Outlet, Router};
use crate::store::UserId;

/// 1.2: `TYPING` to a room from a member who may not write in
/// it now (muted, or `+announce` and no admin) is refused with the very
/// `KO:FORBIDDEN` its `MSG` would get, as a non-member's `TYPING` gets
/// `KO:NOT_MEMBER`: the client learns why at once, and the room is not
/// told that someone is typing what it will never read.
pub fn may_type(base: &Base, me: UserId, name: &str, room: &str) -> Result<(), Ko> {
    let info = base.store.room_info(me, room.trim_start_matches('#'))?;
    crate::store::moderation::Rules::may_send_by_info(&info, name, crate::store::now_ms())
}

/// How long a user whose last receive connection ended may take to come
/// back before its roommates are told `LEFT`: a console that
/// reconnects (its backoff starts at 250 ms) is not shown going offline and
/// coming back. The one place this grace is decided; docs/PROTOCOL.md §11
/// says it to client writers.
pub const PRESENCE_GRACE: Duration = Duration::from_secs(2);

/// `JOINED`/`LEFT` pairs a user's roommates are told at once…
pub const PRESENCE_BURST: u32 = 3;
/// …and then one pair per this long at most.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(10);

/// What to tell a user's roommates about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Say {
    Joined,
    Left,
    Nothing,
    /// Nothing now: the presence timer settles the user at this instant.
    Later(Instant),
}

/// A receive connection that can be told from another (a `Weak<Outlet>` in the
/// server: an entry keeps no connection open).
trait ReceiveEnd {
    fn same(&self, other: &Self) -> bool;
}

impl ReceiveEnd for Weak<Outlet> {
    fn same(&self, other: &Self) -> bool {
        Weak::ptr_eq(self, other)
    }
}

/// What the roommates of each user were told, and who changed since
/// without being told; every decision takes the instant `now`, so that
/// tests give their own clock.
struct PresenceLedger<S> {
    /// One token per `JOINED`/`LEFT` pair, per user (taken by `JOINED`).
    pairs: Throttle<UserId>,
    /// Users told `JOINED` and not `LEFT`: the session of this server
    /// whose end says `LEFT`.
    told: HashMap<UserId, S>,
    /// Users whose presence changed while their pairs were spent: their
    /// name, for the `JOINED`/`LEFT` said when the timer settles them.
    changed: HashMap<UserId, Arc<str>>,
}

impl<S: ReceiveEnd> PresenceLedger<S> {
    fn new(every: Duration) -> PresenceLedger<S> {
        PresenceLedger {
            pairs: Throttle::new(PRESENCE_BURST, 1.0 / every.as_secs_f64()),
            told: HashMap::new(),
            changed: HashMap::new(),
        }
    }

    /// The user came online in `session`: `JOINED` if a pair is left,
    /// else noted for later.
    fn came_online(&mut self, user: UserId, name: &Arc<str>, session: S, now: Instant) -> Say {
        if let Some(told) = self.told.get_mut(&user) {
            *told = session; // already told online: its end says LEFT
            return Say::Nothing;
        }
        match self.pairs.try_take_at(user, 1, now) {
            Ok(()) => {
                self.told.insert(user, session);
                self.changed.remove(&user);
                Say::Joined
            }
            Err(wait) => self.note_change(user, name, now + wait),
        }
    }

    /// `new` replaced `old`: if `old` was told, `new`'s end says `LEFT`.
    fn replaced(&mut self, user: UserId, old: &S, new: S) {
        if let Some(told) = self.told.get_mut(&user)
            && told.same(old)
        {
            *told = new;
        }
    }

    /// `session` ended and its user is offline everywhere: if it is the
    /// session the roommates were told about, `LEFT` once the user has
    /// stayed away for [`PRESENCE_GRACE`] (the timer settles it then; a
    /// login in between takes the told session's place, and settles to
    /// nothing). (A `LEFT` completes a pair: it costs no token.) Any other
    /// session ended untold, and a change noted for the user settles to
    /// nothing.
    fn went_offline(&mut self, user: UserId, name: &Arc<str>, session: &S, now: Instant) -> Say {
        if self.told.get(&user).is_some_and(|told| told.same(session)) {
            self.note_change(user, name, now + PRESENCE_GRACE)
        } else {
            Say::Nothing
        }
    }

    /// The timer's turn for `user`: its state now is `here`, its session
    /// (`None`: offline). What to say, if its roommates were told
    /// otherwise.
    fn settle(&mut self, user: UserId, here: Option<S>, now: Instant) -> (Say, Option<Arc<str>>) {
        let Some(name) = self.changed.remove(&user) else { return (Say::Nothing, None) };
        let say = match (self.told.contains_key(&user), here) {
            (true, Some(_)) | (false, None) => Say::Nothing,
            (true, None) => {
                self.told.remove(&user);
                Say::Left
            }
            (false, Some(session)) => match self.pairs.try_take_at(user, 1, now) {
                Ok(()) => {
                    self.told.insert(user, session);
                    Say::Joined
                }
                Err(wait) => self.note_change(user, &name, now + wait),
            },
        };
        (say, Some(name))
    }

    /// Notes that `user` changed untold; `Later(at)` if the timer must be
    /// told (a user already noted is in its queue).
    fn note_change(&mut self, user: UserId, name: &Arc<str>, at: Instant) -> Say {
        match self.changed.insert(user, name.clone()) {
            None => Say::Later(at),
            Some(_) => Say::Nothing,
        }
    }
}

/// Which session of each user was announced online to its roommates
/// (`JOINED`), so that the end of that session — and only of that one,
/// or of the one that replaced it — says `LEFT`; and which users changed
/// untold, for the presence timer.
pub struct Announcer {
    ledger: Mutex<PresenceLedger<Weak<Outlet>>>,
    /// The presence timer's queue: a user to settle, and when (`None`:
    /// stop).
    timer: Sender<Option<(Instant, UserId)>>,
}

/// The presence timer before it starts (it needs the server that holds
/// the [`Announcer`], see [`Timer::start`]).
pub struct Timer(Receiver<Option<(Instant, UserId)>>);

impl Announcer {
    /// An announcer allowing [`PRESENCE_BURST`] pairs at once, then one
    /// per `every`, and its timer, to [`Timer::start`].
    pub fn new(every: Duration) -> (Announcer, Timer) {
        let (timer, queue) = crossbeam_channel::unbounded();
        (Announcer { ledger: Mutex::new(PresenceLedger::new(every)), timer }, Timer(queue))
    }

    /// `outlet`'s user came online here: `JOINED` to its roommates, now
    /// or when its pairs allow.
    pub fn came_online(&self, base: &Base, outlet: &Arc<Outlet>) {
        let say =
            self.ledger.lock().came_online(outlet.user, &outlet.name, Arc::downgrade(outlet), Instant::now());
        self.say(base, outlet.user, &outlet.name, say);
        base.remote_seen.note(base, outlet.user); // 1.3: to the servers sharing a chat with it
    }

    /// `new` replaced `old` (the same user logged in again): not a change
    /// of presence, but `new`'s end is the one that says `LEFT`.
    pub fn replaced(&self, old: &Arc<Outlet>, new: &Arc<Outlet>) {
        self.ledger.lock().replaced(new.user, &Arc::downgrade(old), Arc::downgrade(new));
    }

    /// `outlet`'s user went offline: `LEFT` to its roommates, after
    /// [`PRESENCE_GRACE`] if it has not come back, if this session is the
    /// one they were told about. (If a newer session was announced
    /// meanwhile, the user is online: nothing to say.)
    pub fn went_offline(&self, base: &Base, outlet: &Arc<Outlet>) {
        let session = Arc::downgrade(outlet);
        let say = self.ledger.lock().went_offline(outlet.user, &outlet.name, &session, Instant::now());
        self.say(base, outlet.user, &outlet.name, say);
        base.remote_seen.note(base, outlet.user); // 1.3: to the servers sharing a chat with it
    }

    /// Stops the presence timer (shutdown): what it still holds is not
    /// told.
    pub fn stop(&self) {
        let _ = self.timer.send(None);
    }

    /// The timer's turn for `user`: tells its state now, if it changed.
    pub fn settle(&self, base: &Base, user: UserId) {
        let here = base.router.get(user).as_ref().map(Arc::downgrade);
        let (say, name) = self.ledger.lock().settle(user, here, Instant::now());
        if let Some(name) = name {
            self.say(base, user, &name, say);
        }
    }

    fn say(&self, base: &Base, user: UserId, name: &str, say: Say) {
        match say {
            Say::Joined => tell_roommates(base, user, name, true),
            Say::Left => tell_roommates(base, user, name, false),
            Say::Nothing => {}
            // Fails only once the timer has stopped (shutdown).
            Say::Later(at) => drop(self.timer.send(Some((at, user)))),
        }
    }
}

impl Timer {
    /// Starts the presence timer thread, which calls `settle` for each
    /// user queued at its deadline: the server's [`Announcer::settle`],
    /// holding the server only while it does, and saying `false` once the
    /// server is dropped or shutting down, which ends the timer (as
    /// [`Announcer::stop`] does).
    pub fn start(self, settle: impl Fn(UserId) -> bool + Send + 'static) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("presence".into())
            .stack_size(super::threads::STACK_SIZE)
            .spawn(move || run_timer(&self.0, settle))
    }
}

/// The presence timer: settles each user queued at its deadline.
fn run_timer(queue: &Receiver<Option<(Instant, UserId)>>, settle: impl Fn(UserId) -> bool) {
    let mut due: BinaryHeap<Reverse<(Instant, UserId)>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while let Some(&Reverse((at, user))) = due.peek()
            && at <= now
        {
            due.pop();
            if !settle(user) {
                return;
            }
        }
        let next = match due.peek() {
            Some(&Reverse((at, _))) => queue.recv_deadline(at),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(Some(entry)) => due.push(Reverse(entry)),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Tells the online users who share a small room with `user` (named
/// `name`) that it came online (`JOINED`) or went offline (`LEFT`).
pub(super) fn tell_roommates(base: &Base, user: UserId, name: &str, online: bool) {
    let roommates = || base.store.roommates(user, base.config.presence_limit);
    tell(&base.router, name, online, roommates, || base.store.blocked(user));
}

/// THE way a user's coming online (`online`) or going is told:
/// `JOINED:<name>` or `LEFT:<name>` to its `roommates` online, but
/// those it `blocked` (1.2, §22: [`prefs::shown_to`](crate::store::prefs::shown_to)).
/// Each read is made only where it may change whom to tell: the
/// roommates none while nobody is online, the blocks only once a
/// roommate is (a class logging in at once reads little).
pub fn tell(
    router: &Router,
    name: &str,
    online: bool,
    roommates: impl FnOnce() -> Vec<UserId>,
    blocked: impl FnOnce() -> Vec<UserId>,
) {
    if router.nobody_online() {
        return;
    }
    let here: Vec<UserId> = roommates().into_iter().filter(|&mate| router.is_online(mate)).collect();
    if here.is_empty() {
        return;
    }
    let user = name.to_string();
    let event = if online { Event::Joined { user } } else { Event::Left { user } };
    for mate in crate::store::prefs::shown_to(&blocked(), here) {
        router.send_to(mate, &event);
    }
}

/// Whether one user is online, or since when not: a user of another
/// server as its server said it last (1.3, `server::presence_across`).
pub(super) fn seen(base: &Base, user: UserId) -> Presence {
    if base.router.is_online(user) {
        return Presence::Online;
    }
    if let Some(remote) = base.remote_seen.of(user) {
        return remote;
    }
    base.store.last_seen(user).map_or(Presence::Unknown, Presence::LastSeen)
}

/// Each user's presence as `me` sees it in a listing: [`seen`], but
/// `UNKNOWN` for a user who blocked `me` (1.2, §22), and no time last
/// seen where either hides it (1.2, §30: `profile::seen_as`).
fn seen_by(base: &Base, me: UserId) -> impl Fn(UserId) -> Presence + '_ {
    let blockers = base.store.blockers(me);
    let mine = super::profile::privacy(base, me);
    move |user| match blockers.contains(&user) {
        true => Presence::Unknown,
        false => super::profile::seen_as(base, user, mine, seen(base, user)),
    }
}

/// `LASTSEEN:<user>` from `me`: `<user as registered>:<ONLINE|ts|UNKNOWN>`;
/// always `UNKNOWN` if that user blocked `me` (1.2, §22), and no time
/// where either hides it (1.2, §30).
pub fn last_seen(base: &Base, me: UserId, name: &str) -> Result<SeenLine, Ko> {
    let account = crate::store::meaning::named(name, base.store.account(name))?;
    let blocked = base.store.is_blocked(&account.name, me);
    let presence = match blocked {
        true => Presence::Unknown,
        false => super::profile::seen_as(
            base,
            account.id,
            super::profile::privacy(base, me),
            seen(base, account.id),
        ),
    };
    Ok(SeenLine { user: account.name.to_string(), presence })
}

/// `MEMBERS:<#room>`: the lines `<user>:<ONLINE|ts|UNKNOWN>`.
pub fn members(base: &Base, me: UserId, room: &str) -> Result<Vec<MemberLine>, Ko> {
    let (_, mut members) = base.store.room_members(room).ok_or_else(|| crate::protocol::Ko::no_room(room))?;
    if !members.iter().any(|&(user, _)| user == me) {
        return Err(crate::protocol::Ko::not_member(room));
    }
    members.sort_by_key(|(_, name)| fold(name));
    let presence = seen_by(base, me);
    Ok(members
        .iter()
        .map(|(user, name)| MemberLine { user: name.to_string(), presence: presence(*user) })
        .collect())
}

/// `PEOPLE:<prefix>` (1.2): the first `most` people (sorted ignoring
/// case) whose names start with `prefix`, ignoring case, among the
/// members of `me`'s rooms (`me` left out), as [`members`] shows each: the
/// people `MEMBERS` lets `me` see, in one read of the rooms and their
/// members.
pub fn people(base: &Base, me: UserId, prefix: &str, most: usize) -> Vec<SeenLine> {
    let start = fold(prefix);
    let rooms = base.store.rooms_of(me, usize::MAX);
    let mut found: Vec<(UserId, Arc<str>)> = rooms
        .into_iter()
        .flat_map(|(_, members)| members)
        .filter(|(user, name)| *user != me && fold(name).starts_with(&start))
        .collect();
    found.sort_by_key(|(_, name)| fold(name));
    found.dedup_by_key(|(user, _)| *user);
    found.truncate(most);
    let presence = seen_by(base, me);
    found
        .into_iter()
        .map(|(user, name)| SeenLine { user: name.to_string(), presence: presence(user) })
        .collect()
}

/// True if `user` is in `room` now (to tell a `JOIN` that changes nothing).
pub fn is_member(base: &Base, user: UserId, room: &str) -> bool {
    base.store.room_members(room).is_some_and(|(_, members)| members.iter().any(|&(m, _)| m == user))
}

/// `who` joined or left `room` (already durable): tells the other members
/// online that opted in to 1.1, but those `who` blocked (1.2), wherever
/// their receive connection is; but never of `#general`, see
/// [`announced`]. The members are read once, here, as the change is
/// durable: each is told once, and only those who were members when it
/// happened.
pub fn tell_members(base: &Base, who: UserId, name: &str, room: &str, joined: bool) {
    if !announced(room) {
        return;
    }
    let Some((room, members)) = base.store.room_members(room) else { return };
    // A member who left is no longer in the list; the room's size is the
    // one everybody sees now.
    if members.len() > base.config.presence_limit {
        return;
    }
    let blocked = base.store.blocked(who);
    let event = Event::Member { room: room.to_string(), user: name.to_string(), joined };
    let others = members.into_iter().map(|(member, _)| member).filter(|&member| member != who).collect();
    super::relay::relay(base, crate::store::prefs::shown_to(&blocked, others), &event);
}

/// Whether joining and leaving `room` is told to its members (`MEMBER`).
/// Not for `#general` (1.2): every account is put there at its
/// registration without a word, so its comings and goings are no news, and
/// in a room that holds everyone one account leaving — every account of a
/// `wachat conform` run against a class server, say — is a line on every
/// screen.
pub fn announced(room: &str) -> bool {
    fold(room.trim_start_matches('#')) != fold(crate::store::GENERAL.trim_start_matches('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ReceiveEnd for u32 {
        fn same(&self, other: &Self) -> bool {
            self == other
        }
    }

    const ANA: UserId = 7;

    /// A ledger of 10 s, ana's name, and an instant to start from.
    fn ledger() -> (PresenceLedger<u32>, Arc<str>, Instant) {
        (PresenceLedger::new(PRESENCE_EVERY), "ana".into(), Instant::now())
    }

    /// `session` ends at `now` and ana stays away: `LEFT` after the grace.
    fn left(ledger: &mut PresenceLedger<u32>, name: &Arc<str>, session: u32, now: Instant) {
        let at = now + PRESENCE_GRACE;
        assert_eq!(ledger.went_offline(ANA, name, &session, now), Say::Later(at), "LEFT waits");
        assert_eq!(ledger.settle(ANA, None, at), (Say::Left, Some(name.clone())));
    }

    /// `PRESENCE_BURST` sessions, each announced and ended; the next one
    /// held back, to settle at the deadline returned.
    fn burst_then_held(ledger: &mut PresenceLedger<u32>, name: &Arc<str>, now: Instant) -> Instant {
        for session in 0..PRESENCE_BURST {
            assert_eq!(ledger.came_online(ANA, name, session, now), Say::Joined);
            left(ledger, name, session, now);
        }
        let Say::Later(at) = ledger.came_online(ANA, name, 100, now) else { panic!("not held back") };
        assert!(at > now && at <= now + PRESENCE_EVERY, "{:?}", at - now);
        at
    }

    #[test]
    fn a_user_held_back_who_stays_online_is_announced_when_a_pair_comes() {
        let (mut ledger, name, now) = ledger();
        let at = burst_then_held(&mut ledger, &name, now);
        // More reconnects before the deadline: queued once, told nothing.
        assert_eq!(
            ledger.went_offline(ANA, &name, &100, now),
            Say::Nothing,
            "a session not told ends untold"
        );
        assert_eq!(ledger.came_online(ANA, &name, 101, now), Say::Nothing);
        assert_eq!(ledger.changed.len(), 1);
        // At the deadline ana is online (session 101): JOINED, and its end LEFT.
        assert_eq!(ledger.settle(ANA, Some(101), at), (Say::Joined, Some(name.clone())));
        assert!(ledger.changed.is_empty(), "settled: no entry left");
        assert_eq!(ledger.settle(ANA, Some(101), at).0, Say::Nothing, "settled once");
        left(&mut ledger, &name, 101, at);
    }

    #[test]
    fn joining_and_leaving_general_is_not_announced() {
        for general in ["general", "#general", "#General", "GENERAL"] {
            assert!(!announced(general), "{general}");
        }
        for room in ["#lab", "generals", "#general2"] {
            assert!(announced(room), "{room}");
        }
    }

    #[test]
    fn a_user_back_within_the_grace_was_never_away() {
        let (mut ledger, name, now) = ledger();
        assert_eq!(ledger.came_online(ANA, &name, 1, now), Say::Joined);
        // The connection drops, the client is back 300 ms later.
        let at = now + PRESENCE_GRACE;
        assert_eq!(ledger.went_offline(ANA, &name, &1, now), Say::Later(at));
        let back = now + Duration::from_millis(300);
        assert_eq!(ledger.came_online(ANA, &name, 2, back), Say::Nothing, "no JOINED: no LEFT was said");
        assert_eq!(ledger.settle(ANA, Some(2), at), (Say::Nothing, Some(name.clone())));
        // The new session is the told one: its end says LEFT, after the grace.
        left(&mut ledger, &name, 2, at);
        assert!(ledger.told.is_empty() && ledger.changed.is_empty());
    }

    #[test]
    fn a_user_held_back_who_went_offline_stays_left() {
        let (mut ledger, name, now) = ledger();
        let at = burst_then_held(&mut ledger, &name, now);
        assert_eq!(ledger.went_offline(ANA, &name, &100, now), Say::Nothing);
        // Last told LEFT, offline now: nothing to say, nothing kept.
        assert_eq!(ledger.settle(ANA, None, at), (Say::Nothing, Some(name)));
        assert!(ledger.changed.is_empty() && ledger.told.is_empty());
    }

    #[test]
    fn a_settlement_without_a_pair_waits_for_the_next() {
        let (mut ledger, name, now) = ledger();
        let at = burst_then_held(&mut ledger, &name, now);
        // A login in between took the token that came at `at`.
        assert_eq!(ledger.came_online(ANA, &name, 200, at), Say::Joined);
        left(&mut ledger, &name, 200, at);
        let back = at + PRESENCE_GRACE;
        assert_eq!(ledger.came_online(ANA, &name, 201, back), Say::Later(at + PRESENCE_EVERY));
        // The timer's turn for that change finds no pair before it: put off.
        let Say::Later(next) = ledger.settle(ANA, Some(201), back).0 else { panic!("not put off") };
        assert_eq!(ledger.changed.len(), 1);
        assert_eq!(ledger.settle(ANA, Some(201), next).0, Say::Joined);
    }

    #[test]
    fn a_user_told_online_whose_session_ended_untold_is_told_left() {
        // However the session ended, the timer settles by the router.
        let (mut ledger, name, now) = ledger();
        let at = burst_then_held(&mut ledger, &name, now);
        ledger.told.insert(ANA, 100);
        assert_eq!(ledger.settle(ANA, None, at).0, Say::Left);
        assert!(ledger.told.is_empty());
    }

    /// `tell` reads nothing while nobody is online, and the blocks only
    /// for a roommate online; it tells the roommates online but those the
    /// user blocked.
    #[test]
    fn presence_is_read_only_where_it_may_change_whom_to_tell() {
        use std::cell::Cell;
        use std::io::{BufRead, BufReader};

        let router = Router::default();
        let (roommates_read, blocks_read) = (Cell::new(0), Cell::new(0));
        let roommates = |mates: Vec<UserId>| {
            let read = &roommates_read;
            move || {
                read.set(read.get() + 1);
                mates
            }
        };
        let blocks = |blocked: Vec<UserId>| {
            let read = &blocks_read;
            move || {
                read.set(read.get() + 1);
                blocked
            }
        };
        tell(&router, "ana", true, roommates(vec![2, 3]), blocks(vec![]));
        assert_eq!((roommates_read.get(), blocks_read.get()), (0, 0), "nobody online");

        // bob (2) online, on a real connection.
        let client = crate::router::online_for_tests(&router, 2, "bob");

        tell(&router, "ana", true, roommates(vec![3]), blocks(vec![]));
        assert_eq!((roommates_read.get(), blocks_read.get()), (1, 0), "no roommate online");
        tell(&router, "ana", false, roommates(vec![2, 3]), blocks(vec![2]));
        assert_eq!((roommates_read.get(), blocks_read.get()), (2, 1));
        tell(&router, "carl", true, roommates(vec![2, 3]), blocks(vec![3]));
        let mut line = String::new();
        BufReader::new(client).read_line(&mut line).unwrap();
        assert_eq!(line, "JOINED:carl\n", "ana blocked bob: her LEFT is not told");
    }
}
