//! The router: who is online, and how events reach them.
//!
//! Each logged-in receive connection has an [`Outlet`], registered here
//! under its user: a small set per user, one outlet per device (protocol
//! 1.2, §16; a 1.0 client is the device `default`, so it has one). The store calls [`Router::deliver`] with the events of
//! every batch it made durable, from the thread that made it so (the
//! leader of the group commit, see `store::local::committer`); the router finds
//! each user's outlet and writes to it at once, from that thread.
//!
//! **A slow receiver must never block the router.** So an outlet never
//! waits on its socket: it writes with `MSG_DONTWAIT` (through TLS too:
//! see `transport`), and whatever the
//! kernel does not take now stays in the outlet's own bounded buffer, which
//! the connection's thread flushes when it next wakes up (it wakes up on the
//! client's `ACK`, which every client sends after reading events, or at the
//! latest at the next `PING`). A client that lets that buffer pass its limit
//! gets `BYE:SLOW` and is disconnected; its events stay in its inbox, on
//! disk, for its next login. A client that takes none of the waiting bytes
//! for a whole `--timeout` (however little is waiting) is disconnected by
//! its thread too: that is the receive port's write timeout.
//!
//! The router also keeps the logged-in *send* connections
//! ([`SendSessions`]), by user and device, so that logging a device out
//! (`UNLINK`, `PASSWD`) closes it on both ports (on a cluster, the
//! leader holds every session).
//!
//! How an outlet ends (`BYE`, then a half-close that lets the kernel
//! send what it holds) is in `closing.rs`, beside this file.
//!
//! Why one thread per connection and not two: a second thread per receive
//! connection would make 30,000 threads for 10,000 users, past what Linux
//! allows one process here (see BENCHMARKS.md).

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::names::fold;
use crate::protocol::{Bye, Event};
use crate::store::state::IdMap;
use crate::store::{Delivery, Pushed, UserId};
use crate::transport::Stream;

mod closing;
mod sends;
pub use closing::LoggedOut;
pub use sends::SendSessions;

/// The writing end of one receive connection.
pub struct Outlet {
    pub user: UserId,
    /// The user's name as registered (for `USERS`).
    pub name: Arc<str>,
    /// The device this connection is (`default` for a login naming none):
    /// a login of the same device replaces it, another one is added.
    pub device: Arc<str>,
    /// Where the connection comes from (given to peers by `PEER`).
    pub peer_ip: IpAddr,
    /// The connection's stream, shared with its thread (which reads it).
    /// It takes bytes without waiting ([`Stream::send_now`]), TLS or not.
    stream: Arc<Stream>,
    out: Mutex<Sending>,
    /// Most bytes that may wait in `Sending::pending` before `BYE:SLOW`.
    max_pending: usize,
    /// The minor protocol version the client said on this port
    /// (`VERSION:1.1` → 1): it is sent the events of that version and
    /// older only (0: a 1.0 client, which never says it).
    version: AtomicU8,
    /// 1.2 (§21): where a 1.2 connection learns which `MSG`s carry a
    /// file, sent to it as `FILE` events instead.
    files: Option<Arc<crate::store::files::Files>>,
}

struct Sending {
    /// Events with a lower sequence number were already sent (or replayed).
    next_seq: u64,
    /// Bytes the kernel did not take yet, whole frames after the first.
    pending: Vec<u8>,
    /// The kernel's last bite ended inside a frame: the first frame in
    /// `pending` is the rest of it, and must be sent before anything else.
    mid_frame: bool,
    /// While the connection's thread sends the inbox replay, new events
    /// wait in `pending` so that they come after it.
    replaying: bool,
    /// Saying goodbye: no more events are taken; once `pending` (which
    /// ends with the `BYE`) is out, the socket is shut.
    closing: bool,
    /// The writing side is shut.
    closed: bool,
    /// Since when bytes have waited in `pending` without the kernel taking
    /// any of them (`None`: nothing waits, or the last try took some).
    stalled_since: Option<Instant>,
}

impl Outlet {
    /// The outlet of `user`'s connection `stream`, from `peer_ip` (the
    /// client's: on a cluster, not the follower's that passed it on).
    pub fn new(
        user: UserId,
        name: Arc<str>,
        stream: Arc<Stream>,
        peer_ip: IpAddr,
        max_pending: usize,
    ) -> Outlet {
        let out = Sending {
            next_seq: 1,
            pending: Vec::new(),
            mid_frame: false,
            replaying: false,
            closing: false,
            closed: false,
            stalled_since: None,
        };
        let version = AtomicU8::new(0);
        let device = crate::protocol::DEFAULT_DEVICE.into();
        let files = None;
        Outlet { user, name, device, peer_ip, stream, out: Mutex::new(out), max_pending, version, files }
    }

    /// Bytes taken by the socket without waiting.
    fn send_now(&self, bytes: &[u8]) -> io::Result<usize> {
        self.stream.send_now(bytes)
    }

    /// Bytes taken but still inside TLS.
    fn unsent(&self) -> bool {
        self.stream.unsent()
    }

    /// 1.2 (§21): the outlet turns a `MSG` carrying a file into a `FILE`
    /// event for a client that said `VERSION:1.2`.
    pub fn with_files(mut self, files: Arc<crate::store::files::Files>) -> Outlet {
        self.files = Some(files);
        self
    }

    /// Writes event `seq` as this client reads it: a message carrying a
    /// file is a `FILE` event for a 1.2 client, its `MSG` for the others.
    fn write_event(&self, out: &mut Vec<u8>, seq: u64, event: &Pushed) {
        if let (Some(files), true, Pushed::Msg(m) | Pushed::Copy(m)) = (&self.files, self.speaks(2), event)
            && let Some(file) = files.event(seq, &m.from, &m.to, &m.id, m.ts, m.text.as_escaped())
        {
            let _ = writeln!(out, "{file}");
            return;
        }
        write_event(out, seq, event, self.minor());
    }

    /// The outlet as the connection of `device` (see [`Outlet::device`]).
    pub fn on_device(mut self, device: Arc<str>) -> Outlet {
        self.device = device;
        self
    }

    /// True if this connection is `device` (names ignore case).
    pub fn is_device(&self, device: &str) -> bool {
        self.device.eq_ignore_ascii_case(device)
    }

    /// The client said `VERSION:1.<minor>`: it understands the events of
    /// that version. A 1.0 client never says it, and never gets them.
    pub fn opt_in(&self, minor: u8) {
        self.version.fetch_max(minor, Ordering::Relaxed);
    }

    /// The newest `VERSION:1.<minor>` the client said (0: none).
    pub fn minor(&self) -> u8 {
        self.version.load(Ordering::Relaxed)
    }

    /// True if the client said `VERSION:1.<minor>` or later.
    pub fn speaks(&self, minor: u8) -> bool {
        self.version.load(Ordering::Relaxed) >= minor
    }

    /// The inbox replay up to `last_seq` is about to be sent by the
    /// connection's thread; live events queue behind it.
    pub fn start_replay(&self, last_seq: u64) {
        let mut out = self.out.lock();
        out.next_seq = last_seq + 1;
        out.replaying = true;
    }

    /// The replay is sent: live events flow directly from now on.
    pub fn finish_replay(&self) {
        let mut out = self.out.lock();
        out.replaying = false;
        self.flush_locked(&mut out);
    }

    /// Queues numbered events (from the router), skipping any already
    /// sent. Each frame is written straight into the outlet's buffer: a
    /// room message to 1,000 members is one shared event, not 1,000 copies.
    pub fn push_events(&self, events: &[(u64, &Pushed)]) {
        let mut out = self.out.lock();
        if out.closing || out.closed {
            return;
        }
        for &(seq, event) in events {
            if seq >= out.next_seq {
                // A 1.0/1.1 client is not sent copies and read marks (1.2),
                // but they count as sent: its ACKs move past them.
                out.next_seq = seq + 1;
                if self.speaks(event.since()) {
                    self.write_event(&mut out.pending, seq, event);
                }
            }
        }
        self.flush_or_give_up(&mut out);
    }

    /// Queues an event without a sequence number (`PING`, `JOINED`, …),
    /// if the client speaks the protocol version that has it
    /// ([`Event::since`]): the version gate is here, for every event.
    pub fn push(&self, event: &Event) {
        if !self.speaks(event.since()) {
            return;
        }
        let mut out = self.out.lock();
        if !(out.closing || out.closed) {
            // Writing into a Vec cannot fail.
            let _ = writeln!(out.pending, "{event}");
            self.flush_or_give_up(&mut out);
        }
    }

    fn flush_or_give_up(&self, out: &mut Sending) {
        if !out.replaying {
            self.flush_locked(out);
        }
        if out.pending.len() > self.max_pending {
            log::info!("{}: receiver too slow, {} bytes waiting: BYE:SLOW", self.name, out.pending.len());
            self.say_bye(out, Bye::Slow);
        }
    }

    /// Tries to hand waiting bytes to the kernel. True if none are left.
    pub fn flush(&self) -> bool {
        let mut out = self.out.lock();
        self.flush_locked(&mut out);
        out.pending.is_empty()
    }

    fn flush_locked(&self, out: &mut Sending) {
        if out.closed || out.replaying || (out.pending.is_empty() && !self.unsent()) {
            return;
        }
        // With TLS, "taken" means encrypted into the stream's bounded
        // buffer, which every call also pushes on towards the kernel.
        match self.send_now(&out.pending) {
            Ok(n) => {
                if n > 0 {
                    out.mid_frame = out.pending[n - 1] != b'\n';
                    out.pending.drain(..n);
                }
                let waiting = !out.pending.is_empty() || self.unsent();
                if n == 0 && waiting {
                    out.stalled_since.get_or_insert_with(Instant::now);
                } else {
                    out.stalled_since = waiting.then(Instant::now);
                }
            }
            Err(e) => {
                log::debug!("{}: write failed: {e}", self.name);
                out.pending.clear();
                out.closing = true;
            }
        }
        if out.closing && out.pending.is_empty() && !self.unsent() {
            self.shut(out);
        }
    }

    /// True while bytes wait for the kernel (the thread then wakes up often).
    pub fn has_pending(&self) -> bool {
        !self.out.lock().pending.is_empty() || self.unsent()
    }

    /// How long waiting bytes have gone without the kernel taking any.
    pub fn stalled_for(&self) -> Duration {
        self.out.lock().stalled_since.map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// The highest sequence number sent: an `ACK` above it counts as it.
    pub fn last_sent(&self) -> u64 {
        self.out.lock().next_seq - 1
    }

    pub fn is_closed(&self) -> bool {
        self.out.lock().closed
    }

    /// A `BYE` was said (maybe still on its way out).
    pub fn is_closing(&self) -> bool {
        self.out.lock().closing
    }
}

/// Counts events just handed to online recipients' outlets, and how long
/// each message took from its acceptance (its `<ts>`) to here, for the
/// metrics (see `metrics`).
pub(crate) fn count_deliveries<'a>(events: impl Iterator<Item = &'a Pushed>) {
    let timed = crate::metrics::timed().map(|metrics| (metrics, crate::store::now_ms()));
    let mut count = 0;
    for event in events {
        count += 1;
        if let (Some((metrics, now)), Pushed::Msg(m)) = (timed, event) {
            metrics.delivery_latency.observe(now.saturating_sub(m.ts) as f64 / 1000.0);
        }
    }
    crate::metrics::get().deliveries.inc_by(count);
}

/// Writes the frame of event `seq`, `\n` included.
fn write_event(out: &mut Vec<u8>, seq: u64, event: &Pushed, minor: u8) {
    // Writing into a Vec cannot fail.
    let _ = writeln!(out, "{}", event.frame_for(seq, minor));
}

/// What the router tells of each durable batch besides its outlets (1.3):
/// the class network's links look in it for what their peers' queues got.
pub type OnQueued = Box<dyn Fn(&crate::store::state::Batch) + Send + Sync>;

/// What the router tells of each batch's events to Web Push (1.2).
pub type OnDelivered = Box<dyn Fn(&[Delivery]) + Send + Sync>;

/// The table of online users: each one's outlets, one per device, the
/// newest last.
#[derive(Default)]
pub struct Router {
    online: Mutex<IdMap<UserId, Vec<Arc<Outlet>>>>,
    /// 1.3 (§27): told every durable batch, so that a link's dialer wakes
    /// when its peer's queue grows.
    on_queued: std::sync::OnceLock<OnQueued>,
    /// 1.2 (§28): told every durable batch's events, for Web Push
    /// (`server::push`), which decides what becomes a push.
    on_delivered: std::sync::OnceLock<OnDelivered>,
    /// The logged-in send connections, to log a user or a device out on
    /// both ports (see `sends`).
    pub sends: SendSessions,
}

impl Router {
    /// Registers a user's outlet, running `first` under the router's lock
    /// (see `server::recv::attach`); returns the outlet of the same device
    /// it replaces.
    pub fn insert_with(
        &self,
        user: UserId,
        outlet: Arc<Outlet>,
        first: impl FnOnce(),
    ) -> Option<Arc<Outlet>> {
        self.insert_device(user, outlet, usize::MAX, first).and_then(|(replaced, _)| replaced)
    }

    /// Registers the outlet of a device as [`Router::insert_with`] does, if
    /// the user has fewer than `max` devices online besides the one it
    /// replaces; `None` (and `first` is not run) if it has `max` already.
    /// With the outlet replaced, true if the user had no other outlet here
    /// (it comes online here with this one).
    pub fn insert_device(
        &self,
        user: UserId,
        outlet: Arc<Outlet>,
        max: usize,
        first: impl FnOnce(),
    ) -> Option<(Option<Arc<Outlet>>, bool)> {
        let mut online = self.online.lock();
        let outlets = online.entry(user).or_default();
        let same = outlets.iter().position(|o| o.is_device(&outlet.device));
        if same.is_none() && outlets.len() >= max {
            if outlets.is_empty() {
                online.remove(&user);
            }
            return None;
        }
        first();
        let replaced = same.map(|i| outlets.remove(i));
        let alone = outlets.is_empty();
        outlets.push(outlet);
        Some((replaced, alone))
    }

    /// Unregisters `outlet`, unless a newer one of its device already
    /// replaced it. Returns true if the user went offline (it was the
    /// user's last device here).
    pub fn remove(&self, outlet: &Arc<Outlet>) -> bool {
        let mut online = self.online.lock();
        let Some(outlets) = online.get_mut(&outlet.user) else { return false };
        let Some(i) = outlets.iter().position(|o| Arc::ptr_eq(o, outlet)) else { return false };
        outlets.remove(i);
        if outlets.is_empty() {
            online.remove(&outlet.user);
            return true;
        }
        false
    }

    /// The user's newest outlet here (`PEER` gives its address).
    pub fn get(&self, user: UserId) -> Option<Arc<Outlet>> {
        self.online.lock().get(&user).and_then(|o| o.last().cloned())
    }

    /// Every outlet of the user here, the newest last.
    pub fn outlets(&self, user: UserId) -> Vec<Arc<Outlet>> {
        self.online.lock().get(&user).cloned().unwrap_or_default()
    }

    /// The outlet of the user's `device` here, if online.
    pub fn device(&self, user: UserId, device: &str) -> Option<Arc<Outlet>> {
        self.online.lock().get(&user)?.iter().find(|o| o.is_device(device)).cloned()
    }

    /// True if `outlet` is registered and its user's only one here.
    pub fn is_only(&self, outlet: &Arc<Outlet>) -> bool {
        self.online.lock().get(&outlet.user).is_some_and(|o| o.len() == 1 && Arc::ptr_eq(&o[0], outlet))
    }

    pub fn is_online(&self, user: UserId) -> bool {
        self.online.lock().contains_key(&user)
    }

    /// What a durable batch tells the router (the store's
    /// [`Deliver`](crate::store::Deliver)): its events pushed, the
    /// sessions here of each account it disabled closed, and the receive
    /// connection here of each device it removed logged out.
    pub fn written(&self, batch: &crate::store::state::Batch) {
        if let Some(queued) = self.on_queued.get() {
            queued(batch);
        }
        self.deliver(&batch.deliveries);
        for (user, name) in &batch.disabled {
            self.close_disabled(*user, name);
        }
        for (user, device) in &batch.unlinked {
            if let Some(outlet) = self.device(*user, device) {
                outlet.log_out(LoggedOut::Unlinked);
            }
        }
    }

    /// Logs `user`, just disabled, out of this server: its receive
    /// connections told `BYE:DISABLED` (1.2) or closed, then its send
    /// connections closed.
    ///
    /// The `BYE` goes first: a client that sees its send connection close
    /// before it has read why would log in again at once (a browser does),
    /// to be refused, when the `BYE` says not to.
    fn close_disabled(&self, user: UserId, name: &str) {
        let outlets = self.outlets(user);
        for outlet in &outlets {
            outlet.close(Bye::Disabled);
        }
        let sends = self.sends.close(user, None);
        if !outlets.is_empty() || sends > 0 {
            log::info!("account {name} disabled: closing its sessions");
        }
    }

    /// Pushes the events of a durable batch, all of a user's in one write.
    pub fn deliver(&self, deliveries: &[Delivery]) {
        if deliveries.is_empty() {
            return;
        }
        if let Some(delivered) = self.on_delivered.get() {
            delivered(deliveries);
        }
        // Each online recipient's outlets (one per device), with its
        // events of this batch in order.
        type PerUser<'a> = (Vec<Arc<Outlet>>, Vec<(u64, &'a Pushed)>);
        let mut per_user: IdMap<UserId, PerUser<'_>> = IdMap::default();
        {
            let online = self.online.lock();
            for d in deliveries {
                if let Some(outlets) = online.get(&d.user) {
                    let entry = per_user.entry(d.user).or_insert_with(|| (outlets.clone(), Vec::new()));
                    entry.1.push((d.seq, &*d.event));
                }
            }
        }
        for (outlets, events) in per_user.values() {
            for outlet in outlets {
                outlet.push_events(events);
            }
        }
        count_deliveries(per_user.values().flat_map(|(_, events)| events.iter().map(|(_, e)| *e)));
    }

    /// 1.3: `hook` is told each durable batch from now on.
    pub fn on_queued(&self, hook: OnQueued) {
        let _ = self.on_queued.set(hook);
    }

    /// 1.2: `hook` is told each batch's events from now on (Web Push).
    pub fn on_delivered(&self, hook: OnDelivered) {
        let _ = self.on_delivered.set(hook);
    }

    /// Sends an unnumbered event to every device of a user online here;
    /// false if it has none.
    pub fn send_to(&self, user: UserId, event: &Event) -> bool {
        let outlets = self.outlets(user);
        for outlet in &outlets {
            outlet.push(event);
        }
        !outlets.is_empty()
    }

    /// Names of online users, sorted ignoring case (`USERS`), each once.
    pub fn online_names(&self) -> Vec<String> {
        let online = self.online.lock();
        let mut names: Vec<String> =
            online.values().filter_map(|o| o.first()).map(|o| o.name.to_string()).collect();
        drop(online);
        names.sort_by_key(|n| fold(n));
        names
    }

    /// True while no user is online (presence is told to nobody then,
    /// and reads nothing).
    pub fn nobody_online(&self) -> bool {
        self.online.lock().is_empty()
    }

    /// The users online now.
    pub fn online_users(&self) -> Vec<UserId> {
        self.online.lock().keys().copied().collect()
    }

    /// Says `BYE` to everyone (server shutdown).
    pub fn close_all(&self, bye: Bye) {
        let outlets: Vec<Arc<Outlet>> = self.online.lock().values().flatten().cloned().collect();
        for outlet in outlets {
            outlet.close(bye);
        }
    }
}

/// Tests: user `id`, called `name`, online on `router` on a real
/// connection, whose client end (reads time out after 10 s) it returns.
#[cfg(test)]
pub fn online_for_tests(router: &Router, id: UserId, name: &str) -> std::net::TcpStream {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let stream = Arc::new(crate::transport::Stream::plain(listener.accept().unwrap().0));
    let peer_ip = stream.peer_addr().unwrap().ip();
    let outlet = Arc::new(Outlet::new(id, name.into(), stream, peer_ip, 1 << 20));
    router.insert_with(id, outlet.clone(), || outlet.start_replay(0));
    outlet.finish_replay();
    client
}

#[cfg(test)]
mod tests;
