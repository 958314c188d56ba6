//! [`Node`]: this server as one node of a cluster — the server's
//! [`Nodes`] over PostgreSQL and NATS.
//!
//! **Sessions.** Each online device of a user has a row in
//! `device_sessions` (`sessions.rs`): the node holding its receive
//! connection and an `epoch` that every login of the user increases, in a
//! transaction that locks the user's row in `sessions`. The highest epoch
//! of a device *is* its session: a node holding a lower one closes that
//! device with `BYE:REPLACED` as soon as it hears (the `ON` notice over
//! NATS, or at the latest its next scan of the table), so two logins of
//! one device racing on two nodes end with exactly one session, whatever
//! the order. Other devices of the user stay where they are: a user may be
//! online on several nodes at once, and is online while any device is.
//!
//! **The directory.** Every second a node writes its heartbeat into
//! `nodes` and reads the sessions held by nodes whose heartbeat is fresh
//! ([`LEASE_MS`](super::sessions::LEASE_MS)). Between scans, `ON`/`OFF` notices keep it current. It
//! answers `USERS`, `LASTSEEN`, `MEMBERS` and `DEVICES` for the other
//! nodes' users, says where to send their events (to every node holding a
//! device of the user, as well as to this node's own outlets), and its
//! changes are presence: a user who appears in it and is not online here
//! comes online (`JOINED` to this node's roommates), one whose last device
//! elsewhere disappears — logged out, or on a node that died — and who is
//! not online here goes offline.
//!
//! **Threads.** The dispatcher reads what the bus brings (`dispatch.rs`);
//! the heartbeat thread beats and scans (`heartbeat.rs`); the poll thread
//! refills the inboxes of this node's users (`feeder.rs`); the presence
//! thread tells this node's roommates who came and went elsewhere
//! (`presence.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;
use parking_lot::{Mutex, RwLock};

use super::bus::{Bus, Incoming};
use super::db::{Db, OrKo};
use super::directory::Directory;
use super::feeder::Feeder;
use super::kept::Elsewhere;
use super::notice::{Notice, call_outcome};
use super::presence::Presence;
use super::reads;
use super::sessions;
use crate::protocol::names::fold;
use crate::protocol::{Event, Ko, PeerIntro, Travel};
use crate::router::{LoggedOut, Outlet, Router};
use crate::server::Nodes;
use crate::server::calls::{Brief, Outcome, Party, Step};
use crate::store::{Delivery, Pushed, UserId};

/// How often a node beats and scans the sessions.
pub(super) const BEAT: Duration = Duration::from_secs(1);
/// How often inboxes are polled while NATS is down (once per beat
/// otherwise), and how often the threads look at the stop flag.
pub(super) const POLL_WHEN_DOWN: Duration = Duration::from_millis(250);

pub struct Node {
    pub name: String,
    /// NATS subjects: `<prefix>.all` (every node), `<prefix>.node.<name>`.
    prefix: String,
    pub(super) db: Arc<Db>,
    pub(super) bus: Arc<Bus>,
    pub(super) router: Arc<Router>,
    pub(super) feeder: Arc<Feeder>,
    /// `JOINED`/`LEFT` of other nodes' users, told by a thread of its own.
    pub(super) presence: Arc<Presence>,
    /// `--max-devices`, counted across nodes at each login.
    max_devices: usize,
    /// The users online on other nodes, and where each device of theirs is.
    pub(super) directory: RwLock<Directory>,
    /// Device sessions held here, by user and folded device name: their
    /// epoch and outlet.
    pub(super) local: Mutex<HashMap<DeviceKey, (u64, Weak<Outlet>)>>,
    /// Every call other nodes keep, as heard, with its node (1.2): a
    /// signal about one goes to that node alone, and a new call here is
    /// judged against them besides this node's own table.
    pub(super) elsewhere: Elsewhere,
    /// One login at a time per user (64 stripes).
    claiming: Vec<Mutex<()>>,
    pub(super) stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A user and the folded name of one of its devices.
type DeviceKey = (UserId, Arc<str>);

/// The key of `outlet`'s device session.
fn key_of(outlet: &Outlet) -> DeviceKey {
    (outlet.user, fold(&outlet.device).into())
}

/// What a node said when asked about a call's signal ([`Node::ask_call`]).
enum Asked {
    /// It keeps the call: what the rule said there.
    Kept(Result<Outcome, Ko>),
    /// `NONE`: it keeps no such call.
    NotKept,
    /// No answer, or one that does not parse: it may keep the call still.
    Silent,
}

/// A NATS-safe form of a name (`host:6666` → `host_6666`).
pub fn token(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

impl Node {
    pub fn new(
        name: String,
        prefix: String,
        db: Arc<Db>,
        bus: Arc<Bus>,
        router: Arc<Router>,
        (presence_limit, max_devices): (usize, usize),
    ) -> Node {
        let feeder = Arc::new(Feeder::new(router.clone(), db.clone()));
        let presence = Arc::new(Presence::new(db.clone(), router.clone(), presence_limit));
        Node {
            name,
            prefix,
            db,
            bus,
            router,
            feeder,
            presence,
            max_devices: max_devices.max(1),
            directory: RwLock::default(),
            local: Mutex::default(),
            elsewhere: Elsewhere::default(),
            claiming: (0..64).map(|_| Mutex::new(())).collect(),
            stopping: AtomicBool::new(false),
            threads: Mutex::default(),
        }
    }

    fn node_subject(&self, node: &str) -> String {
        format!("{}.node.{}", self.prefix, token(node))
    }

    fn broadcast(&self, notice: &Notice) {
        let mut line = String::new();
        notice.encode(&mut line);
        self.bus.publish(format!("{}.all", self.prefix), line.into_bytes());
    }

    /// The subjects this node listens to.
    pub fn subjects(prefix: &str, name: &str) -> Vec<String> {
        vec![format!("{prefix}.all"), format!("{prefix}.node.{}", token(name))]
    }

    /// Starts the dispatcher and the heartbeat threads.
    pub fn start_threads(self: &Arc<Self>, incoming: Receiver<Incoming>) -> crate::error::Result<()> {
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| crate::error::Error::io(format!("cluster: starting {name}"), e))
        };
        let node = self.clone();
        let dispatcher = spawn("dispatcher", Box::new(move || node.dispatch(&incoming)))?;
        let node = self.clone();
        let heart = spawn("heartbeat", Box::new(move || node.beat_forever()))?;
        let node = self.clone();
        let poll = spawn("inbox-poll", Box::new(move || node.poll_forever()))?;
        let presence = self.presence.clone();
        let presence = spawn("node-presence", Box::new(move || presence.run()))?;
        self.threads.lock().extend([dispatcher, heart, poll, presence]);
        Ok(())
    }

    /// The committer's delivery callback: events for users here go to
    /// their outlets; those for users with devices on other nodes, over
    /// NATS to each of those nodes (a user may be both here and there).
    pub fn deliver(&self, deliveries: &[Delivery]) {
        let mut here: HashMap<UserId, Vec<(u64, &Pushed)>> = HashMap::new();
        let mut there: HashMap<Arc<str>, String> = HashMap::new();
        let directory = self.directory.read();
        for d in deliveries {
            if self.router.is_online(d.user) {
                here.entry(d.user).or_default().push((d.seq, &d.event));
            }
            if let Some(remote) = directory.get(&d.user) {
                let mut frame = String::new();
                reads::write_frame(&mut frame, d.seq, &d.event);
                frame.pop();
                let notice = match &*d.event {
                    Pushed::Copy(_) => Notice::Copy { user: d.user, frame },
                    _ => Notice::Event { user: d.user, frame },
                };
                for node in remote.nodes() {
                    notice.encode(there.entry(node).or_default());
                }
            }
        }
        drop(directory);
        for (node, payload) in there {
            self.bus.publish(self.node_subject(&node), payload.into_bytes());
        }
        for (user, events) in here {
            self.feeder.feed(user, &events);
        }
    }

    /// Asks `node` about a call's signal (`line`, a `CALL` notice) that
    /// `me` sent about the call `id` with `peer`: what the rule said
    /// there, that it keeps no such call, or no (readable) answer.
    fn ask_call(&self, node: &str, line: &str, id: &str, (me, peer): (&Party, &Party)) -> Asked {
        let Some(answer) = self.bus.request(self.node_subject(node), line.as_bytes().to_vec()) else {
            log::debug!("cluster: node {node} did not answer for call {id}");
            return Asked::Silent;
        };
        match call_outcome(&String::from_utf8_lossy(&answer), me, peer, id) {
            Ok(Some(outcome)) => Asked::Kept(outcome),
            Ok(None) => Asked::NotKept,
            Err(e) => {
                log::warn!("cluster: node {node} about call {id}: {e}");
                Asked::Silent
            }
        }
    }

    /// Tells every node that this node's session `epoch` of `user`'s
    /// `device` (folded) ended (`OFF`).
    fn tell_ended(&self, user: UserId, device: &str, epoch: u64) {
        self.broadcast(&Notice::Offline { user, epoch, node: self.name.clone(), device: device.to_string() });
    }

    /// True if `user` has a device online here that is not on its way out:
    /// one told `BYE:REPLACED` by a login elsewhere stays in the router
    /// until its thread sees it, and its end says no `LEFT` (its session is
    /// not the user's last); the user's going elsewhere must. (Coming
    /// online elsewhere asks the router as it is: while an outlet here is
    /// closing, the roommates were told `JOINED` and nothing since.)
    pub(super) fn staying_here(&self, user: UserId) -> bool {
        self.router.outlets(user).iter().any(|o| !o.is_closing())
    }

    /// Ends `outlet`'s device session if it is still this node's (not
    /// replaced meanwhile); true if the user is now offline on every node.
    /// (The database down: true if the session was this node's, as a
    /// user whose one node cannot reach it is offline.)
    fn end_device(&self, outlet: &Arc<Outlet>) -> bool {
        let key = key_of(outlet);
        let user = key.0;
        let _one_login_at_a_time = self.claiming[user % self.claiming.len()].lock();
        let epoch = {
            let mut local = self.local.lock();
            match local.get(&key) {
                Some((epoch, o)) if o.as_ptr() == Arc::as_ptr(outlet) => {
                    let epoch = *epoch;
                    local.remove(&key);
                    Some(epoch)
                }
                _ => None, // replaced by a newer session of the device
            }
        };
        let ended = match epoch {
            Some(epoch) => sessions::end(&self.db, &self.name, user, &key.1, epoch),
            // Nothing of ours to end; offline everywhere if no row is left.
            None => sessions::end(&self.db, &self.name, user, &key.1, 0),
        };
        if let Some(epoch) = epoch {
            self.tell_ended(user, &key.1, epoch);
        }
        match ended {
            Ok(offline) => offline,
            Err(ko) => {
                log::warn!("cluster: ending the session of {}@{}: {}", outlet.name, key.1, ko.reason);
                epoch.is_some()
            }
        }
    }
}

impl Nodes for Node {
    fn logged_out(&self, user: UserId, device: &str, why: LoggedOut) {
        self.broadcast(&Notice::Unlinked { user, device: device.to_string(), node: self.name.clone(), why });
    }

    fn shared_devices(&self) -> Option<Arc<dyn crate::store::devices::SharedDevices>> {
        Some(Arc::new(super::devices::PgDevices { db: self.db.clone() }))
    }

    /// A device's session (`sessions::claim`): `--max-devices` counted
    /// on every node, and only the same device elsewhere replaced.
    fn claim(&self, outlet: &Arc<Outlet>, attach: &mut dyn FnMut()) -> Result<bool, Ko> {
        let (user, device) = key_of(outlet);
        let _one_login_at_a_time = self.claiming[user % self.claiming.len()].lock();
        let claimed = sessions::claim(&self.db, &self.name, user, &device, self.max_devices)?;
        attach();
        if !self.router.outlets(user).iter().any(|o| Arc::ptr_eq(o, outlet)) {
            // Refused here (`--max-devices` among this node's outlets): the
            // session just claimed is given back.
            let _ = sessions::end(&self.db, &self.name, user, &device, claimed.epoch);
            return Ok(claimed.elsewhere);
        }
        self.local.lock().insert((user, device.clone()), (claimed.epoch, Arc::downgrade(outlet)));
        self.directory.write().here(user, &device);
        let notice = Notice::Online {
            user,
            epoch: claimed.epoch,
            node: self.name.clone(),
            name: outlet.name.to_string(),
            device: device.to_string(),
        };
        self.broadcast(&notice);
        Ok(claimed.elsewhere)
    }

    /// `old` ended while another device of its user stays online here:
    /// with a session per device, `old`'s own session ends (the user
    /// stays online).
    fn handover(&self, old: &Arc<Outlet>, _new: &Arc<Outlet>) {
        let _still_online = self.end_device(old);
    }

    fn release(&self, outlet: &Arc<Outlet>, _ts_ms: u64) -> bool {
        self.end_device(outlet)
    }

    fn devices_elsewhere(&self, user: UserId) -> Vec<String> {
        let directory = self.directory.read();
        directory.get(&user).map(|r| r.devices.keys().map(|d| d.to_string()).collect()).unwrap_or_default()
    }

    fn online_names(&self) -> Vec<String> {
        let directory = self.directory.read();
        directory
            .iter()
            .filter(|(u, _)| !self.router.is_online(**u))
            .map(|(_, r)| r.name.to_string())
            .collect()
    }

    fn is_online(&self, user: UserId) -> bool {
        self.directory.read().contains_key(&user)
    }

    fn announce(&self, user: UserId, port: Option<u16>) {
        let port = port.map(i32::from);
        let stored = self.db.get().and_then(|mut conn| {
            conn.execute("UPDATE sessions SET p2p_port = $2 WHERE user_id = $1", &[&(user as i64), &port])
                .or_ko("storing a P2P port")
        });
        if let Err(ko) = stored {
            log::debug!("cluster: P2P port of user #{user}: {}", ko.reason);
        }
    }

    fn p2p_port(&self, user: UserId) -> Option<u16> {
        let mut conn = self.db.get().ok()?;
        let row =
            conn.query_opt("SELECT p2p_port FROM sessions WHERE user_id = $1", &[&(user as i64)]).ok()??;
        row.get::<_, Option<i32>>(0).and_then(|p| u16::try_from(p).ok())
    }

    /// By the epochs of the user's sessions, which grow with each of its
    /// logins on any node.
    fn newest_elsewhere(&self, user: UserId, here: &Outlet) -> bool {
        let Some(there) =
            self.directory.read().get(&user).and_then(|r| r.devices.values().map(|d| d.1).max())
        else {
            return false;
        };
        self.local.lock().get(&key_of(here)).is_none_or(|(epoch, _)| there > *epoch)
    }

    fn introduce(&self, from: &str, user: UserId) -> Option<Result<PeerIntro, Ko>> {
        let remote = self.directory.read().get(&user).cloned()?;
        // The node of the user's newest device (the highest epoch), which
        // answers with its newest device there: that one.
        let node = remote.devices.values().max_by_key(|d| d.1).map(|d| d.0.clone())?;
        let mut line = String::new();
        Notice::Peer { user, from: from.into() }.encode(&mut line);
        let offline = |why: &str| crate::server::p2p::offline(&remote.name, why);
        let Some(answer) = self.bus.request(self.node_subject(&node), line.into_bytes()) else {
            return Some(Err(offline("is on another node, which did not answer")));
        };
        let answer = String::from_utf8_lossy(&answer).to_string();
        Some(match answer.split_once(' ') {
            Some(("OK", fields)) => {
                PeerIntro::parse(fields).map_err(|e| offline(&format!("cannot be introduced: {e}")))
            }
            Some((_, why)) => Err(offline(why)),
            None => Err(offline("cannot be introduced")),
        })
    }

    /// Asks the node that keeps the call, when known (`kept.rs`);
    /// otherwise, or when that node does not say it keeps it, the nodes
    /// of `peer`, then those of `me`'s other devices, one after the other
    /// until one keeps it. The call ended there is forgotten here; one a
    /// node says `NONE` for, too (its end went unheard).
    fn call(
        &self,
        me: &Party,
        device: &str,
        peer: &Party,
        id: &str,
        step: Step,
    ) -> Option<Result<Outcome, Ko>> {
        let notice = Notice::Call {
            user: me.id,
            peer: peer.id,
            device: device.to_string(),
            id: id.to_string(),
            step: step.as_str().to_string(),
        };
        let mut line = String::new();
        notice.encode(&mut line);
        // The node that keeps the call first, when known: most signals
        // ask it alone. Then the round.
        let mut nodes: Vec<Arc<str>> = Vec::new();
        if let Some(known) = self.elsewhere.keeper(me.id, peer.id, id) {
            nodes.push(known);
        }
        {
            let directory = self.directory.read();
            for user in [peer.id, me.id] {
                for node in directory.get(&user).map(|r| r.nodes()).unwrap_or_default() {
                    if *node != *self.name && !nodes.contains(&node) {
                        nodes.push(node);
                    }
                }
            }
        }
        for node in nodes {
            match self.ask_call(&node, &line, id, (me, peer)) {
                Asked::Kept(outcome) => {
                    self.elsewhere.stepped(me.id, peer.id, id, &outcome);
                    return Some(outcome);
                }
                // Whatever this node heard of the call there ended
                // unheard (its `END` lost): forgotten, or the rule for a
                // new call would read it still.
                Asked::NotKept => self.elsewhere.forget(me.id, peer.id, id, &node),
                // Gone, or slow: the call may go on there, so it is not
                // forgotten (the rule must read a live call); the
                // heartbeat's sweep forgets it once its node is gone.
                Asked::Silent => {}
            }
        }
        None
    }

    fn calls_elsewhere(&self, a: UserId, b: UserId) -> Vec<Brief> {
        self.elsewhere.of(a, b)
    }

    /// To every node, as the `OFFER` after it (`relay`), and on the same
    /// subject, so that it arrives first. Every node remembers it
    /// (`kept.rs`), where the callee has a device or not: for the
    /// signals of the caller's other devices, and the rule for new calls.
    fn offered(&self, caller: &Party, callee: &Party, id: &str) {
        self.broadcast(&Notice::Keep {
            user: callee.id,
            peer: caller.id,
            id: id.to_string(),
            node: self.name.clone(),
            names: (callee.name.clone(), caller.name.clone()),
        });
    }

    /// The one place where events cross between nodes, by kind: the match
    /// is exhaustive, so that a new event must say how it travels.
    fn relay(&self, users: &[UserId], event: &Event) {
        match event.travel() {
            // Unstored events from one user to others: an `R` notice for
            // each recipient, to every node (below).
            Travel::Relayed => {}
            // Numbered events travel once durable, from the committer
            // (`deliver`, `E` notices), never from here.
            Travel::Numbered => {
                debug_assert!(false, "a numbered event is delivered, not relayed: {event}");
                return;
            }
            // Between a node and its own connection only.
            Travel::Local => return,
        }
        // To every node, not only to those where the directory has the
        // users: a device whose login another node answered a moment ago
        // is not in this node's directory until its `ON` notice is heard,
        // and an unstored event has no refill to make up for it (issue 54:
        // an `ARCHIVE` made here right after a phone's login there was
        // lost). Each node hands the event to the outlets it holds, and
        // drops it for users it has none of; our own copy comes back and
        // is dropped by the dispatcher. The users are few: one, two, or
        // a room within `--presence-limit`.
        let frame = event.to_string();
        let mut payload = String::new();
        for &user in users {
            Notice::Relay { user, node: self.name.clone(), frame: frame.clone() }.encode(&mut payload);
        }
        if !payload.is_empty() {
            self.bus.publish(format!("{}.all", self.prefix), payload.into_bytes());
        }
    }

    fn stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        let ended: Vec<(DeviceKey, u64)> = self.local.lock().drain().map(|(key, (e, _))| (key, e)).collect();
        if let Ok(mut conn) = self.db.get() {
            let _ = sessions::end_node(&mut conn, &self.name);
            let _ = conn.execute("UPDATE nodes SET heartbeat_ms = 0 WHERE name = $1", &[&self.name]);
        }
        for ((user, device), epoch) in ended {
            self.tell_ended(user, &device, epoch);
        }
        self.bus.stop();
        self.presence.stop();
        for thread in std::mem::take(&mut *self.threads.lock()) {
            let _ = thread.join();
        }
    }
}
