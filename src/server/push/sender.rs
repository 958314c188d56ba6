//! What is pushed when, and the threads that send it.
//!
//! A `MSG` for user U becomes a push to each device of U that has a
//! subscription and no live receive connection, if the chat's level
//! (`NOTIFY`) rings for it. If another device of U is live, the push is
//! *held* [`HOLD`] first: U may read it there, and a read of that chat in
//! the meantime (its `READ`, `requests/read.rs`, or a `READMARK` event)
//! drops it. A read of a chat whose notification a device was sent (its
//! push on its way, or answered) sends that device a push with the same
//! `Topic` and no text, which closes it.
//! A call's offer to a user with no device online rings its subscribed
//! devices by push.
//!
//! Each device (endpoint) has its own queue, sent in order by one thread
//! at a time, so that the latest push of a chat arrives last; a push
//! queued behind another of the same `Topic` replaces it (the push
//! service would keep only the latest anyway). [`SENDERS`] threads take
//! the queues in turn. The push service's answer decides: 2xx done; 404
//! and 410 the subscription is gone (removed at once, its queue dropped);
//! 429 and 5xx, or no answer, tried again after `Retry-After` or a
//! backoff, up to [`MAX_ATTEMPTS`]; any other answer drops the push.
//!
//! ## Who may hold the sending threads
//!
//! An attempt holds its thread for [`http::ATTEMPT`] at most, the whole
//! exchange. A push service that drips its bytes holds it that long,
//! each attempt: so no one may hold many at once. In flight at once:
//! one attempt per device (its queue's order), [`PER_ACCOUNT`] for one
//! account's devices, [`PER_HOST`] to one push host (the endpoint's host
//! name), and [`SLOW_SENDERS`] in all to hosts and for accounts *seen
//! slow* (an attempt of theirs took over [`SLOW_AFTER`], in the last
//! [`SLOW_FOR`]). A push past a share waits, and goes as soon as one of
//! its share's attempts ends. Of the pushes that may go, those of hosts
//! and accounts not seen slow go first, then those of the host with the
//! fewest attempts in flight, then the oldest.
//!
//! So slow services of one host, or of one account (however many
//! devices), hold at most [`PER_HOST`] or [`PER_ACCOUNT`] of the
//! [`SENDERS`]: another service's push is sent at once. Holding them all
//! takes 8 accounts and 2 hosts never seen slow, for one attempt: a push
//! to a host with nothing in flight then waits [`http::ATTEMPT`] at most
//! (every thread is free again by then, and the slow ones it found are
//! slow from then on).
//!
//! Bounds (docs/RELIABILITY.md): [`MAX_PER_DEVICE`] pushes queued per
//! device, [`MAX_QUEUED`] in all (held ones included), each at most
//! `crypto::RECORD_SIZE` bytes; beyond, the oldest of the device or the
//! new one is dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::book::{Book, Subscription};
use super::crypto::{self, MAX_PLAINTEXT, Vapid};
use super::http::{self, Headers};
use crate::display::json_str;
use crate::protocol::Level;
use crate::protocol::call::Media;
use crate::protocol::names::fold;
use crate::router::Router;
use crate::store::prefs;
use crate::store::{Delivery, Pushed, Store, UserId, now_ms};
use crate::transport::tls::Tls;

/// Sending threads.
pub const SENDERS: usize = 16;
/// Attempts in flight at once for one account's devices.
pub const PER_ACCOUNT: usize = 2;
/// Attempts in flight at once to one push host (an endpoint's host
/// name): half the threads.
pub const PER_HOST: usize = SENDERS / 2;
/// Attempts in flight at once to hosts and for accounts seen slow, all
/// together.
pub const SLOW_SENDERS: usize = 4;
/// An attempt that took longer (or ran out of its time) makes its host
/// and its account slow.
pub const SLOW_AFTER: Duration = Duration::from_secs(5);
/// How long a host or an account stays slow after its last slow attempt.
pub const SLOW_FOR: Duration = Duration::from_secs(600);
/// Pushes queued for one device (the one being sent included).
pub const MAX_PER_DEVICE: usize = 64;
/// Pushes queued and held in all.
pub const MAX_QUEUED: usize = 4096;
/// How long a message's push waits while another device of its user is
/// live, to be dropped if read there meanwhile.
pub const HOLD: Duration = Duration::from_secs(2);
/// Attempts of one push before it is dropped.
pub const MAX_ATTEMPTS: u32 = 6;
/// The longest wait between two attempts, whatever `Retry-After` says.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How long a push service keeps a message's push for an offline browser.
pub const MESSAGE_TTL_S: u32 = 24 * 3600;
/// A closing push (the chat was read elsewhere): worth little after a while.
pub const CLOSE_TTL_S: u32 = 3600;

/// One push to one device.
#[derive(Clone)]
struct Push {
    topic: String,
    urgency: &'static str,
    ttl_s: u32,
    /// The JSON the service worker reads, before encryption.
    payload: Arc<str>,
    /// The chat whose notification it shows (`None`: a closing push or a
    /// call), for the closing push a read sends later.
    shows: Option<String>,
    attempts: u32,
    /// When it was made: of the pushes that may go, the oldest goes first.
    made: Instant,
}

/// One device's queue.
struct Queue {
    sub: Subscription,
    pushes: VecDeque<Push>,
    /// A thread is sending its first push.
    busy: bool,
    /// Not before then (a retry's wait).
    not_before: Instant,
}

/// A message's push waiting [`HOLD`] while another device is live.
struct Held {
    user: UserId,
    chat: String,
    ts: u64,
    due: Instant,
    push: Push,
}

#[derive(Default)]
struct State {
    /// By endpoint url.
    queues: HashMap<String, Queue>,
    held: Vec<Held>,
    /// Pushes in `queues` and `held`.
    count: usize,
    /// The devices (endpoint urls) sent a notification of (user, chat),
    /// from the moment its push goes: a closing push is harmless to a
    /// device whose push the service then refused.
    shown: HashMap<(UserId, String), HashSet<String>>,
    /// The attempts in flight: the shares of the sending threads.
    sending: Shares,
    stopping: bool,
}

/// Who holds the sending threads, and who was seen slow
/// (the module's documentation).
#[derive(Default)]
struct Shares {
    /// Attempts in flight, by push host.
    hosts: HashMap<String, usize>,
    /// Attempts in flight, by account.
    accounts: HashMap<UserId, usize>,
    /// Attempts in flight that began as slow ones (their host or their
    /// account slow).
    slow: usize,
    /// Until when each host, and each account, is slow.
    slow_hosts: HashMap<String, Instant>,
    slow_accounts: HashMap<UserId, Instant>,
}

/// One attempt in flight: whose share it holds.
struct Attempt {
    url: String,
    sub: Subscription,
    push: Push,
    /// It counts among the slow ones' [`SLOW_SENDERS`].
    slow: bool,
    began: Instant,
}

impl Shares {
    /// Whether `sub`'s host or account is slow now.
    fn is_slow(&self, sub: &Subscription, now: Instant) -> bool {
        self.slow_hosts.get(&sub.endpoint.host).is_some_and(|until| *until > now)
            || self.slow_accounts.get(&sub.user).is_some_and(|until| *until > now)
    }

    /// Whether an attempt to `sub` is within every share; if so, whether
    /// it is slow's and how many attempts its host has in flight (its
    /// order among those that may go: the smallest first).
    fn may_go(&self, sub: &Subscription, now: Instant) -> Option<(bool, usize)> {
        let host = self.hosts.get(&sub.endpoint.host).copied().unwrap_or(0);
        let account = self.accounts.get(&sub.user).copied().unwrap_or(0);
        let slow = self.is_slow(sub, now);
        let within = host < PER_HOST && account < PER_ACCOUNT && (!slow || self.slow < SLOW_SENDERS);
        within.then_some((slow, host))
    }

    fn begin(&mut self, sub: &Subscription, slow: bool) {
        *self.hosts.entry(sub.endpoint.host.clone()).or_default() += 1;
        *self.accounts.entry(sub.user).or_default() += 1;
        self.slow += usize::from(slow);
    }

    /// `attempt` ended; `late`: it took over [`SLOW_AFTER`], which makes
    /// its host and its account slow for [`SLOW_FOR`].
    fn end(&mut self, attempt: &Attempt, late: bool) {
        let sub = &attempt.sub;
        release(&mut self.hosts, &sub.endpoint.host);
        release(&mut self.accounts, &sub.user);
        self.slow -= usize::from(attempt.slow);
        if late {
            let now = Instant::now();
            self.slow_hosts.retain(|_, until| *until > now);
            self.slow_accounts.retain(|_, until| *until > now);
            self.slow_hosts.insert(sub.endpoint.host.clone(), now + SLOW_FOR);
            self.slow_accounts.insert(sub.user, now + SLOW_FOR);
        }
    }
}

/// One less in `counts` for `key`, gone at 0.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}

/// The server's Web Push: the subscriptions, the key, the queues.
pub struct Pusher {
    pub book: Book,
    pub vapid: Vapid,
    /// What the push services' certificates are checked against: the
    /// system's roots, read at the first push (not at every start), and
    /// `--push-test-ca`'s CA, read at start.
    tls: OnceLock<Tls>,
    /// `--push-test-ca`: loopback endpoints allowed.
    pub loopback: bool,
    router: Arc<Router>,
    /// For the chats' notification levels (`NOTIFY`, §22).
    store: Arc<Store>,
    state: Mutex<State>,
    /// The sending threads wait on it for a push that may go.
    wake: Condvar,
}

impl Pusher {
    /// The pusher, its threads started, told the router's batches.
    pub fn start(
        book: Book,
        vapid: Vapid,
        tls: Option<Tls>,
        loopback: bool,
        (router, store): (Arc<Router>, Arc<Store>),
    ) -> std::io::Result<Arc<Pusher>> {
        let pusher = Arc::new(Pusher {
            book,
            vapid,
            tls: tls.map(OnceLock::from).unwrap_or_default(),
            loopback,
            router: router.clone(),
            store,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        for i in 0..SENDERS {
            let weak = Arc::downgrade(&pusher);
            // Not joined: `stop` does not wait for a push service.
            std::thread::Builder::new()
                .name(format!("push-{i}"))
                .stack_size(crate::server::threads::STACK_SIZE)
                .spawn(move || send_loop(&weak))?;
        }
        let weak = Arc::downgrade(&pusher);
        router.on_delivered(Box::new(move |deliveries| {
            if let Some(pusher) = weak.upgrade() {
                pusher.delivered(deliveries);
            }
        }));
        Ok(pusher)
    }

    /// Stops the threads (server shutdown); what is queued is dropped. A
    /// thread waiting for a push service's answer is not waited for (up
    /// to [`http::ATTEMPT`]): it ends with its attempt, or with the process.
    pub fn stop(&self) {
        self.state.lock().stopping = true;
        self.wake.notify_all();
    }

    /// What a durable batch's events mean for pushes.
    fn delivered(&self, deliveries: &[Delivery]) {
        for d in deliveries.iter().filter(|d| self.book.has(d.user)) {
            match &*d.event {
                Pushed::Msg(m) => {
                    let chat = if m.is_room() { m.to.to_string() } else { m.from.to_string() };
                    self.message(d.user, &chat, &m.from, m.ts, &m.text.unescaped());
                }
                Pushed::Mark { chat, ts, .. } => self.read(d.user, chat, *ts),
                _ => {}
            }
        }
    }

    /// The devices of `user` to push to: subscribed, not live; and
    /// whether another device of it is live.
    fn targets(&self, user: UserId) -> (Vec<Subscription>, bool) {
        let subs = self.book.of(user);
        if subs.is_empty() {
            return (subs, false);
        }
        let online = self.router.outlets(user);
        let offline: Vec<Subscription> =
            subs.into_iter().filter(|s| !online.iter().any(|o| o.is_device(&s.device))).collect();
        (offline, !online.is_empty())
    }

    /// A message from `from` in `chat` (of `user`'s view) at `ts`.
    fn message(&self, user: UserId, chat: &str, from: &str, ts: u64, text: &str) {
        let (subs, live_elsewhere) = self.targets(user);
        let Some(first) = subs.first() else { return };
        if !self.rings(user, &first.name, chat, text) {
            return;
        }
        // Previews off: the notification shows "New message" under the
        // app's name, neither sender nor room (the chat stays in the
        // payload, unseen: it tags the notification, which a read of
        // that chat closes, and its tap opens it).
        let payload = match self.book.previews(&first.name) {
            true => {
                let title = match chat.starts_with('#') {
                    true => format!("{} in {chat}", self.named(from)),
                    false => self.named(from),
                };
                payload(&[("type", "message"), ("chat", chat), ("from", from), ("title", &title)], text)
            }
            false => payload(&[("type", "message"), ("chat", chat)], "New message"),
        };
        let push = Push {
            topic: self.vapid.topic(&first.name, chat),
            urgency: "normal",
            ttl_s: MESSAGE_TTL_S,
            payload: payload.into(),
            shows: Some(chat.to_string()),
            attempts: 0,
            made: Instant::now(),
        };
        if !live_elsewhere {
            return self.enqueue_to_each(subs, push);
        }
        let mut state = self.state.lock();
        if state.count >= MAX_QUEUED {
            log::warn!("push: {MAX_QUEUED} pushes queued; a message's push dropped");
            return;
        }
        state.count += 1;
        let due = Instant::now() + HOLD;
        state.held.push(Held { user, chat: chat.to_string(), ts, due, push });
        drop(state);
        self.wake.notify_all();
    }

    /// Queues `push` for each of `subs` ([`enqueue`]), then wakes the
    /// sending threads.
    fn enqueue_to_each(&self, subs: Vec<Subscription>, push: Push) {
        let mut state = self.state.lock();
        for sub in subs {
            enqueue(&mut state, sub, push.clone());
        }
        drop(state);
        self.wake.notify_all();
    }

    /// How a notification's title names `from`: its display name (§30),
    /// as the app names people, else its name.
    fn named(&self, from: &str) -> String {
        let id = self.store.user_id(from);
        let kept = id.map(|id| self.store.settings(id, &crate::store::profile::PROFILE)).unwrap_or_default();
        let name = kept.into_iter().find(|(key, _)| key == crate::store::profile::NAME).map(|(_, name)| name);
        name.filter(|name| !name.is_empty()).unwrap_or_else(|| from.to_string())
    }

    /// Whether a message of `chat` notifies `name` as its level says
    /// (`NOTIFY`, §22: all, mentions, none; a direct message counts as a
    /// mention), as the app's own notifications do (`Level::rings`).
    fn rings(&self, user: UserId, name: &str, chat: &str, text: &str) -> bool {
        let folded = fold(chat);
        let pairs = self.store.settings(user, &prefs::PREF);
        let level = prefs::lines(pairs).into_iter().find(|l| fold(&l.chat) == folded).map(|l| l.level);
        let direct = !chat.starts_with('#');
        level.unwrap_or(Level::All).rings(false, direct, crate::protocol::mentions::mentions(text, name))
    }

    /// `user` read `chat` (up to a message of time ≤ `ts`) on a device:
    /// its held pushes of that chat dropped, its notifications of it closed.
    pub fn read(&self, user: UserId, chat: &str, ts: u64) {
        if !self.book.has(user) {
            return;
        }
        let mut state = self.state.lock();
        let before = state.held.len();
        state.held.retain(|h| !(h.user == user && h.chat == chat && h.ts <= ts));
        state.count -= before - state.held.len();
        let Some(devices) = state.shown.remove(&(user, chat.to_string())) else { return };
        drop(state);
        let subs: Vec<Subscription> =
            self.book.of(user).into_iter().filter(|s| devices.contains(&s.endpoint.url)).collect();
        let Some(first) = subs.first() else { return };
        let push = Push {
            topic: self.vapid.topic(&first.name, chat),
            urgency: "normal",
            ttl_s: CLOSE_TTL_S,
            payload: payload(&[("type", "read"), ("chat", chat)], "").into(),
            shows: None,
            attempts: 0,
            made: Instant::now(),
        };
        self.enqueue_to_each(subs, push);
    }

    /// Whether `user` can be rung by push: a subscription and no device
    /// online (a call's offer to it is then answered `OK`).
    pub fn can_ring(&self, user: UserId) -> bool {
        self.book.has(user)
    }

    /// A call `id` from `from` in `chat` (`from` itself, or 1.2 §32 the
    /// room whose call it is) rings `user`'s subscribed devices that are
    /// not live, for `ring_s` seconds (the push's TTL: after it the call
    /// has rung out).
    pub fn ring(&self, user: UserId, from: &str, chat: &str, id: &str, media: Media, ring_s: u64) {
        let (subs, _) = self.targets(user);
        let Some(first) = subs.first() else { return };
        let media = media.as_str();
        let title = match chat == from {
            true => format!("{} is calling", self.named(from)),
            false => format!("{chat}: {} is calling", self.named(from)),
        };
        let payload = match self.book.previews(&first.name) {
            true => payload(
                &[
                    ("type", "call"),
                    ("chat", chat),
                    ("from", from),
                    ("title", &title),
                    ("id", id),
                    ("media", media),
                ],
                "",
            ),
            // As a message's: not who calls.
            false => payload(&[("type", "call"), ("chat", chat), ("id", id), ("media", media)], ""),
        };
        let push = Push {
            topic: self.vapid.topic(&first.name, chat),
            urgency: "high",
            ttl_s: ring_s.clamp(1, u64::from(u32::MAX)) as u32,
            payload: payload.into(),
            shows: None,
            attempts: 0,
            made: Instant::now(),
        };
        self.enqueue_to_each(subs, push);
    }

    /// Sends one push now, from a sending thread, all of it within
    /// [`http::ATTEMPT`]: the service's answer.
    fn send(&self, sub: &Subscription, push: &Push) -> Result<http::Answer, String> {
        let deadline = Instant::now() + http::ATTEMPT;
        let body = crypto::encrypt(&sub.keys, push.payload.as_bytes())
            .map_err(|_| "encryption failed".to_string())?;
        let authorization = self
            .vapid
            .authorization(&sub.endpoint.origin(), now_ms() / 1000)
            .map_err(|_| "signing failed".to_string())?;
        let headers = Headers {
            ttl_s: push.ttl_s,
            urgency: push.urgency,
            topic: &push.topic,
            authorization: &authorization,
        };
        let tls = match self.tls.get() {
            Some(tls) => tls,
            None => {
                let tls = Tls::system_and(None, "").map_err(|e| e.to_string())?;
                self.tls.get_or_init(|| tls)
            }
        };
        http::post(tls, (&sub.endpoint, self.loopback), &headers, &body, deadline).map_err(|e| e.to_string())
    }
}

/// Queues `push` for `sub`'s device: it replaces a queued push of the
/// same topic (not one being sent); over the bounds, the device's oldest
/// waiting push (or, with all [`MAX_QUEUED`] taken, this one) is dropped.
fn enqueue(state: &mut State, sub: Subscription, push: Push) {
    let url = sub.endpoint.url.clone();
    let queue = state.queues.entry(url).or_insert_with(|| Queue {
        sub,
        pushes: VecDeque::new(),
        busy: false,
        not_before: Instant::now(),
    });
    let first_waiting = usize::from(queue.busy);
    if let Some(i) = queue.pushes.iter().skip(first_waiting).position(|p| p.topic == push.topic) {
        queue.pushes.remove(i + first_waiting);
    } else if queue.pushes.len() >= MAX_PER_DEVICE && queue.pushes.len() > first_waiting {
        queue.pushes.remove(first_waiting);
    } else if state.count >= MAX_QUEUED {
        log::warn!("push: {MAX_QUEUED} pushes queued; one dropped");
        return;
    } else {
        state.count += 1;
    }
    queue.pushes.push_back(push);
}

/// A sending thread: takes a device whose first push may go, sends it,
/// and acts on the answer.
fn send_loop(pusher: &Weak<Pusher>) {
    loop {
        let Some(p) = pusher.upgrade() else { return };
        let Some(attempt) = p.next() else { return };
        let answer = p.send(&attempt.sub, &attempt.push);
        p.answered(attempt, answer);
    }
}

impl Pusher {
    /// Waits for a push that may go now (within the shares, module
    /// documentation); `None` once stopping.
    fn next(&self) -> Option<Attempt> {
        let mut guard = self.state.lock();
        loop {
            if guard.stopping {
                return None;
            }
            let now = Instant::now();
            let due = take_due(&mut guard, now);
            if !due.is_empty() {
                // The router's table is taken before this lock, never under it.
                let targets: Vec<(Vec<Subscription>, Push)> = MutexGuard::unlocked(&mut guard, || {
                    due.into_iter().map(|h| (self.targets(h.user).0, h.push)).collect()
                });
                for (subs, push) in targets {
                    for sub in subs {
                        enqueue(&mut guard, sub, push.clone());
                    }
                }
            }
            let state = &mut *guard;
            let ready = state
                .queues
                .iter_mut()
                .filter(|(_, q)| !q.busy && q.not_before <= now)
                .filter_map(|(url, q)| {
                    let made = q.pushes.front()?.made;
                    let (slow, host) = state.sending.may_go(&q.sub, now)?;
                    Some(((slow, host, made), url, q))
                })
                .min_by_key(|(order, _, _)| *order);
            if let Some(((slow, _, _), url, queue)) = ready {
                queue.busy = true;
                let push = queue.pushes.front().cloned()?;
                let (url, sub) = (url.clone(), queue.sub.clone());
                state.sending.begin(&sub, slow);
                // Counted as shown from the moment it goes: a read while the
                // push service has it and has not answered yet closes it too
                // (the closing push queued behind it, on the same device).
                if let Some(chat) = &push.shows {
                    state.shown.entry((sub.user, chat.clone())).or_default().insert(url.clone());
                }
                return Some(Attempt { url, sub, push, slow, began: now });
            }
            // Nothing may go now: wait for a retry's time, a held push's,
            // or the end of an attempt (which wakes the threads).
            let soonest = state
                .queues
                .values()
                .filter(|q| !q.busy && !q.pushes.is_empty() && q.not_before > now)
                .map(|q| q.not_before)
                .chain(state.held.iter().map(|h| h.due))
                .min()
                .unwrap_or(now + Duration::from_secs(1));
            self.wake.wait_until(&mut guard, soonest.min(now + Duration::from_secs(1)));
        }
    }

    /// Acts on the push service's answer to `attempt`'s push, the first
    /// of its device's queue, and gives its share back.
    fn answered(&self, attempt: Attempt, answer: Result<http::Answer, String>) {
        let late = attempt.began.elapsed() > SLOW_AFTER;
        let (url, sub) = (attempt.url.as_str(), &attempt.sub);
        let (status, retry_after) = match &answer {
            Ok(a) => (Some(a.status), a.retry_after),
            Err(_) => (None, None),
        };
        if matches!(status, Some(404 | 410)) {
            if self.book.remove_endpoint(url) {
                log::info!(
                    "push: {}'s device {}: the push service forgot it ({}); subscription removed",
                    sub.name,
                    sub.device,
                    status.unwrap_or(0)
                );
            }
            let mut state = self.state.lock();
            state.sending.end(&attempt, late);
            if let Some(queue) = state.queues.remove(url) {
                state.count -= queue.pushes.len();
            }
            for devices in state.shown.values_mut() {
                devices.remove(url);
            }
            drop(state);
            self.wake.notify_all();
            return;
        }
        let mut guard = self.state.lock();
        let state = &mut *guard;
        state.sending.end(&attempt, late);
        let Some(queue) = state.queues.get_mut(url) else {
            drop(guard);
            self.wake.notify_all();
            return;
        };
        queue.busy = false;
        let push = &attempt.push;
        let retry = match status {
            Some(200..=299) => false,
            Some(429 | 500..=599) | None => push.attempts + 1 < MAX_ATTEMPTS,
            Some(_) => false,
        };
        if retry {
            let wait = retry_after.unwrap_or_else(|| backoff(push.attempts)).min(MAX_BACKOFF);
            queue.not_before = Instant::now() + wait;
            if let Some(first) = queue.pushes.front_mut() {
                first.attempts += 1;
            }
            log::info!("push: {}'s device {}: {}; again in {wait:?}", sub.name, sub.device, why(&answer));
        } else {
            queue.pushes.pop_front();
            state.count -= 1;
            if !matches!(status, Some(200..=299)) {
                log::warn!("push: {}'s device {}: {}; push dropped", sub.name, sub.device, why(&answer));
            }
            if queue.pushes.is_empty() {
                state.queues.remove(url);
            }
        }
        drop(guard);
        self.wake.notify_all();
    }
}

/// The held pushes whose [`HOLD`] is over, taken out (and out of the
/// count: `enqueue` counts them again for the devices still not live).
fn take_due(state: &mut State, now: Instant) -> Vec<Held> {
    if !state.held.iter().any(|h| h.due <= now) {
        return Vec::new();
    }
    let (due, held): (Vec<Held>, Vec<Held>) =
        std::mem::take(&mut state.held).into_iter().partition(|h| h.due <= now);
    state.held = held;
    state.count -= due.len();
    due
}

/// 1 s, 2 s, 4 s… before attempt `attempts + 2`.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1 << attempts.min(9))
}

fn why(answer: &Result<http::Answer, String>) -> String {
    match answer {
        Ok(a) => format!("the push service answered {}", a.status),
        Err(e) => format!("no answer ({e})"),
    }
}

/// The JSON the service worker reads: `fields`, then `body` cut so that
/// the whole stays within [`MAX_PLAINTEXT`] bytes.
fn payload(fields: &[(&str, &str)], body: &str) -> String {
    let mut out = String::from("{");
    for (name, value) in fields {
        out.push_str(&format!("{}:{},", json_str(name), json_str(value)));
    }
    let mut body = body;
    loop {
        let whole = format!("{out}\"body\":{}}}", json_str(body));
        if whole.len() <= MAX_PLAINTEXT || body.is_empty() {
            return whole;
        }
        let mut cut = body.len() * 3 / 4;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body = &body[..cut];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_32_base64url_characters_per_user_and_chat_salted_by_the_servers_key() {
        let vapid = Vapid::from_pkcs8(&Vapid::generate().unwrap()).unwrap();
        let t = vapid.topic("bob", "ana");
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(t, vapid.topic("Bob", "ANA"));
        assert_ne!(t, vapid.topic("bob", "#lab"));
        assert_ne!(t, vapid.topic("carol", "ana"));
        // Not the names' bare hash, which anyone with a class list can make.
        let bare = ring::digest::digest(&ring::digest::SHA256, b"bob\nana");
        assert_ne!(t, crypto::encode(&bare.as_ref()[..24]));
        // Another server's key: another topic; the same key read again: the same.
        let other = Vapid::from_pkcs8(&Vapid::generate().unwrap()).unwrap();
        assert_ne!(t, other.topic("bob", "ana"));
    }

    #[test]
    fn a_payload_fits_one_record() {
        let p = payload(&[("type", "message"), ("from", "ana")], &"é\"".repeat(3000));
        assert!(p.len() <= MAX_PLAINTEXT, "{}", p.len());
        assert!(p.starts_with(r#"{"type":"message","from":"ana","body":"é\"#));
        assert!(p.ends_with("\"}"));
    }
}
