//! [`Node`]: this server as one node of a cluster — the server's
//! [`Nodes`] over PostgreSQL and NATS.
//!
//! **Sessions.** Each user has one row in `sessions`: the node holding
//! its receive connection (or none) and an `epoch` that every login
//! increases, in a transaction that locks the row. The highest epoch *is*
//! the session: a node holding a lower one closes it with `BYE:REPLACED`
//! as soon as it hears (the `ON` notice over NATS, or at the latest its
//! next scan of the table), so two logins racing on two nodes end with
//! exactly one session, whatever the order.
//!
//! **The directory.** Every second a node writes its heartbeat into
//! `nodes` and reads the sessions held by nodes whose heartbeat is fresh
//! ([`LEASE_MS`]). Between scans, `ON`/`OFF` notices keep it current. It
//! answers `USERS`, `LASTSEEN` and `MEMBERS` for the other nodes' users,
//! says where to send their events, and its changes are presence: a user
//! who appears in it comes online (`JOINED` to this node's roommates), one
//! who disappears — logged out, or on a node that died — goes offline.
//!
//! **Threads.** The dispatcher reads what the bus brings (`notice.rs`);
//! the heartbeat thread beats, scans and polls inboxes (`feeder.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use parking_lot::{Mutex, RwLock};

use super::bus::{Bus, Incoming};
use super::db::{Db, OrKo};
use super::feeder::Feeder;
use super::notice::Notice;
use super::reads;
use crate::protocol::{Bye, Code, Event, Ko, PeerIntro};
use crate::router::{Outlet, Router};
use crate::server::Nodes;
use crate::store::{Delivery, Message, Pushed, UserId};

/// A node whose heartbeat is older than this is dead: its users are offline.
pub const LEASE_MS: i64 = 4000;
/// How often a node beats and scans the sessions.
const BEAT: Duration = Duration::from_secs(1);
/// How often inboxes are polled while NATS is down (once per beat otherwise).
const POLL_WHEN_DOWN: Duration = Duration::from_millis(250);

/// A session on another node.
#[derive(Clone)]
struct Remote {
    node: Arc<str>,
    name: Arc<str>,
    epoch: u64,
}

pub struct Node {
    pub name: String,
    /// NATS subjects: `<prefix>.all` (every node), `<prefix>.node.<name>`.
    prefix: String,
    db: Arc<Db>,
    bus: Arc<Bus>,
    router: Arc<Router>,
    pub(super) feeder: Arc<Feeder>,
    presence_limit: usize,
    directory: RwLock<HashMap<UserId, Remote>>,
    /// Sessions held here: their epoch and outlet.
    local: Mutex<HashMap<UserId, (u64, Weak<Outlet>)>>,
    /// One login at a time per user (64 stripes).
    claiming: Vec<Mutex<()>>,
    stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
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
        presence_limit: usize,
    ) -> Node {
        let feeder = Arc::new(Feeder::new(router.clone(), db.clone()));
        Node {
            name,
            prefix,
            db,
            bus,
            router,
            feeder,
            presence_limit,
            directory: RwLock::default(),
            local: Mutex::default(),
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
        self.threads.lock().extend([dispatcher, heart]);
        Ok(())
    }

    /// The committer's delivery callback: events for users here go to
    /// their outlets; those for users on other nodes, over NATS.
    pub fn deliver(&self, deliveries: &[Delivery]) {
        let mut here: HashMap<UserId, Vec<(u64, &Pushed)>> = HashMap::new();
        let mut there: HashMap<Arc<str>, String> = HashMap::new();
        let directory = self.directory.read();
        for d in deliveries {
            if self.router.is_online(d.user) {
                here.entry(d.user).or_default().push((d.seq, &d.event));
            } else if let Some(remote) = directory.get(&d.user) {
                let mut frame = String::new();
                reads::write_frame(&mut frame, d.seq, &d.event);
                frame.pop();
                Notice::Event { user: d.user, frame }.encode(there.entry(remote.node.clone()).or_default());
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

    /// Reads the bus until it stops.
    fn dispatch(&self, incoming: &Receiver<Incoming>) {
        while let Ok(message) = incoming.recv() {
            let text = String::from_utf8_lossy(&message.payload);
            let mut events: Vec<(UserId, u64, Pushed)> = Vec::new();
            for line in text.lines() {
                match Notice::parse(line) {
                    Ok(Notice::Event { user, frame }) => match pushed(&frame) {
                        Some((seq, event)) => events.push((user, seq, event)),
                        None => log::warn!("cluster: {}: not an event: {frame:?}", message.subject),
                    },
                    Ok(Notice::Peer { user, from }) => {
                        self.answer_peer(user, &from, message.reply.as_deref())
                    }
                    Ok(Notice::Relay { user, frame }) => match Event::parse(&frame) {
                        Ok(event) if event.seq().is_none() => drop(self.router.send_to(user, &event)),
                        _ => log::warn!("cluster: {}: not an unnumbered event: {frame:?}", message.subject),
                    },
                    Ok(notice) => self.heard(notice),
                    Err(e) => log::warn!("cluster: {}: {e}", message.subject),
                }
            }
            let mut i = 0;
            while i < events.len() {
                let user = events[i].0;
                let end = events[i..].iter().position(|e| e.0 != user).map_or(events.len(), |n| i + n);
                let batch: Vec<(u64, &Pushed)> = events[i..end].iter().map(|(_, s, e)| (*s, e)).collect();
                self.feeder.feed(user, &batch);
                i = end;
            }
        }
    }

    /// A session notice from another node (or our own, ignored).
    fn heard(&self, notice: Notice) {
        match notice {
            Notice::Online { user, epoch, node, name } if node != self.name => {
                self.replace_local(user, epoch);
                let remote = Remote { node: node.into(), name: name.into(), epoch };
                let mut directory = self.directory.write();
                let known = directory.get(&user).map(|r| r.epoch);
                if known.is_none_or(|e| e < epoch) {
                    directory.insert(user, remote.clone());
                }
                drop(directory);
                if known.is_none() && !self.router.is_online(user) {
                    self.presence(user, &remote.name, true);
                }
            }
            Notice::Offline { user, epoch } => {
                let gone = {
                    let mut directory = self.directory.write();
                    match directory.get(&user) {
                        Some(r) if r.epoch == epoch => directory.remove(&user),
                        _ => None,
                    }
                };
                if let Some(remote) = gone {
                    self.presence(user, &remote.name, false);
                }
            }
            Notice::Member { user, joined, room, name } => {
                let members = reads::room_members(&self.db, &room).unwrap_or(None);
                crate::server::presence::tell_local_members(
                    &self.router,
                    self.presence_limit,
                    user,
                    &name,
                    members,
                    joined,
                );
            }
            Notice::Unlinked { user, device } => {
                for outlet in self.router.outlets(user) {
                    if outlet.device.eq_ignore_ascii_case(&device) {
                        // As `server::devices::unlink` says it on its node.
                        outlet.close(if outlet.speaks(2) { Bye::Unlinked } else { Bye::Replaced });
                    }
                }
            }
            _ => {}
        }
    }

    /// A session of `user` with a lower epoch than `epoch` here is replaced.
    fn replace_local(&self, user: UserId, epoch: u64) {
        let replaced = {
            let mut local = self.local.lock();
            match local.get(&user) {
                Some((mine, _)) if *mine < epoch => local.remove(&user).and_then(|(_, o)| o.upgrade()),
                _ => None,
            }
        };
        if let Some(outlet) = replaced {
            log::debug!("cluster: {} logged in on another node: BYE:REPLACED here", outlet.name);
            // A user's session is on one node at a time: every device of
            // it here goes (docs/CLUSTER.md, "Devices").
            for device in self.router.outlets(user) {
                device.close(Bye::Replaced);
            }
            outlet.close(Bye::Replaced);
        }
    }

    /// `JOINED`/`LEFT` of a user of another node to this node's roommates.
    fn presence(&self, user: UserId, name: &str, online: bool) {
        let user_name = name.to_string();
        let event = if online { Event::Joined { user: user_name } } else { Event::Left { user: user_name } };
        match reads::roommates(&self.db, user, self.presence_limit) {
            Ok(mates) => mates.into_iter().for_each(|mate| {
                self.router.send_to(mate, &event);
            }),
            Err(ko) => log::debug!("cluster: presence of {name}: {}", ko.reason),
        }
    }

    /// Answers another node's `PEER` for a user whose session is here.
    fn answer_peer(&self, user: UserId, from: &str, reply: Option<&str>) {
        let Some(reply) = reply else { return };
        let answer = match self.router.get(user) {
            Some(outlet) => {
                let port = self.p2p_port(user);
                crate::server::p2p::introduce_to(&outlet, from, &outlet.name, port)
            }
            None => Err(Ko::new(Code::Offline, "is not connected")),
        };
        let text = match answer {
            Ok(intro) => format!("OK {intro}"),
            Err(ko) => format!("KO {}", ko.reason),
        };
        self.bus.publish(reply.to_string(), text.into_bytes());
    }

    fn beat_forever(&self) {
        let mut last_beat = Instant::now() - BEAT;
        while !self.stopping.load(Ordering::SeqCst) {
            if last_beat.elapsed() >= BEAT {
                last_beat = Instant::now();
                if let Err(ko) = self.beat() {
                    log::debug!("cluster: heartbeat: {}", ko.reason);
                }
                self.feeder.poll();
            } else if !self.bus.is_up() {
                self.feeder.poll();
            }
            std::thread::sleep(POLL_WHEN_DOWN);
        }
    }

    /// Writes the heartbeat, reads every live session, and acts on what changed.
    fn beat(&self) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute(
            "INSERT INTO nodes (name, heartbeat_ms, started_ms) VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::int8, 0) \
             ON CONFLICT (name) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms",
            &[&self.name],
        )
        .or_ko("beating")?;
        let rows = conn
            .query(
                "SELECT s.user_id, s.node, s.epoch, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
                 JOIN nodes n ON n.name = s.node WHERE s.node IS NOT NULL AND (s.node = $1 OR \
                 n.heartbeat_ms > (extract(epoch FROM clock_timestamp()) * 1000)::int8 - $2)",
                &[&self.name, &LEASE_MS],
            )
            .or_ko("reading the sessions")?;
        drop(conn);
        let mut fresh: HashMap<UserId, Remote> = HashMap::new();
        let mut replaced = Vec::new();
        {
            let local = self.local.lock();
            for row in &rows {
                let user = row.get::<_, i64>(0) as UserId;
                let (node, epoch): (String, i64) = (row.get(1), row.get(2));
                let epoch = epoch as u64;
                if let Some((mine, _)) = local.get(&user)
                    && *mine < epoch
                {
                    replaced.push((user, epoch));
                }
                if node != self.name {
                    fresh.insert(
                        user,
                        Remote { node: node.into(), name: row.get::<_, String>(3).into(), epoch },
                    );
                }
            }
        }
        for (user, epoch) in replaced {
            self.replace_local(user, epoch);
        }
        let old = std::mem::replace(&mut *self.directory.write(), fresh.clone());
        let before: HashSet<UserId> = old.keys().copied().collect();
        for (user, remote) in &fresh {
            if !before.contains(user) && !self.router.is_online(*user) {
                self.presence(*user, &remote.name, true);
            }
        }
        for (user, remote) in old {
            if !fresh.contains_key(&user) && !self.router.is_online(user) {
                self.presence(user, &remote.name, false);
            }
        }
        Ok(())
    }
}

/// The number and content of an event frame from another node.
fn pushed(frame: &str) -> Option<(u64, Pushed)> {
    match Event::parse(frame).ok()? {
        Event::Msg { seq, from, to, id, ts, text } => {
            let message = Message { from: from.into(), to: to.into(), id: id.into(), ts, text };
            Some((seq, Pushed::Msg(Arc::new(message))))
        }
        Event::Status { seq, peer, id, state, ts } => {
            Some((seq, Pushed::Status { peer: peer.into(), id: id.into(), state, ts }))
        }
        _ => None,
    }
}

impl Nodes for Node {
    fn unlinked(&self, user: UserId, device: &str) {
        self.broadcast(&Notice::Unlinked { user, device: device.to_string() });
    }

    fn shared_devices(&self) -> Option<Arc<dyn crate::store::devices::SharedDevices>> {
        Some(Arc::new(super::devices::PgDevices { db: self.db.clone() }))
    }

    fn claim(&self, outlet: &Arc<Outlet>, attach: &mut dyn FnMut()) -> Result<bool, Ko> {
        let user = outlet.user;
        let _one_login_at_a_time = self.claiming[user % self.claiming.len()].lock();
        let mut conn = self.db.get()?;
        let mut tx = conn.transaction().or_ko("claiming a session")?;
        let old = tx
            .query_opt("SELECT node, epoch FROM sessions WHERE user_id = $1 FOR UPDATE", &[&(user as i64)])
            .or_ko("claiming a session")?;
        let row = tx
            .query_one(
                "INSERT INTO sessions (user_id, node, epoch) VALUES ($1, $2, 1) ON CONFLICT (user_id) \
                 DO UPDATE SET node = EXCLUDED.node, epoch = sessions.epoch + 1 RETURNING epoch",
                &[&(user as i64), &self.name],
            )
            .or_ko("claiming a session")?;
        tx.commit().or_ko("claiming a session")?;
        drop(conn);
        let epoch = row.get::<_, i64>(0) as u64;
        let old_node: Option<String> = old.and_then(|r| r.get(0));
        attach();
        self.local.lock().insert(user, (epoch, Arc::downgrade(outlet)));
        let elsewhere = self.directory.write().remove(&user).is_some();
        let notice = Notice::Online { user, epoch, node: self.name.clone(), name: outlet.name.to_string() };
        self.broadcast(&notice);
        Ok(elsewhere && old_node.is_some_and(|n| n != self.name))
    }

    fn handover(&self, old: &Arc<Outlet>, new: &Arc<Outlet>) {
        if let Some((_, o)) = self.local.lock().get_mut(&old.user)
            && o.as_ptr() == Arc::as_ptr(old)
        {
            *o = Arc::downgrade(new);
        }
    }

    fn release(&self, outlet: &Arc<Outlet>, _ts_ms: u64) -> bool {
        let user = outlet.user;
        let _one_login_at_a_time = self.claiming[user % self.claiming.len()].lock();
        let epoch = {
            let mut local = self.local.lock();
            match local.get(&user) {
                Some((epoch, o)) if o.as_ptr() == Arc::as_ptr(outlet) => {
                    let epoch = *epoch;
                    local.remove(&user);
                    epoch
                }
                _ => return false, // replaced by a newer session
            }
        };
        let ended = self.db.get().and_then(|mut conn| {
            conn.execute(
                "UPDATE sessions SET node = NULL, p2p_port = NULL WHERE user_id = $1 AND epoch = $2",
                &[&(user as i64), &(epoch as i64)],
            )
            .or_ko("ending a session")
        });
        match ended {
            Ok(0) => false, // a newer session began meanwhile
            _ => {
                self.broadcast(&Notice::Offline { user, epoch });
                true
            }
        }
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

    fn tell_members(&self, user: UserId, name: &str, room: &str, joined: bool) {
        let room = format!("#{}", room.trim_start_matches('#'));
        self.broadcast(&Notice::Member { user, joined, room, name: name.into() });
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

    fn introduce(&self, from: &str, user: UserId) -> Option<Result<PeerIntro, Ko>> {
        let remote = self.directory.read().get(&user).cloned()?;
        let mut line = String::new();
        Notice::Peer { user, from: from.into() }.encode(&mut line);
        let offline = |why: &str| Ko::new(Code::Offline, format!("{} {why}", remote.name));
        let Some(answer) = self.bus.request(self.node_subject(&remote.node), line.into_bytes()) else {
            return Some(Err(offline("is on another node, which did not answer")));
        };
        let answer = String::from_utf8_lossy(&answer).to_string();
        Some(match answer.split_once(' ') {
            Some(("OK", fields)) => {
                PeerIntro::parse(fields).map_err(|e| offline(&format!("cannot be introduced: {e}")))
            }
            Some((_, why)) => Err(Ko::new(Code::Offline, format!("{} {why}", remote.name))),
            None => Err(offline("cannot be introduced")),
        })
    }

    /// The one place where events cross between nodes, by kind: the match
    /// is exhaustive, so that a new event must say how it travels.
    fn relay(&self, users: &[UserId], event: &Event) {
        match event {
            // Unstored events from one user to others: an `R` notice to the
            // node that holds each recipient's session.
            Event::Typing { .. }
            | Event::Moderation { .. }
            | Event::Joined { .. }
            | Event::Left { .. }
            | Event::Member { .. }
            | Event::P2p { .. } => {}
            // Numbered events travel once durable, from the committer
            // (`deliver`, `E` notices), never from here.
            Event::Msg { .. } | Event::Status { .. } | Event::ReadMark { .. } => {
                debug_assert!(false, "a numbered event is delivered, not relayed: {event}");
                return;
            }
            // Between a node and its own connection only.
            Event::Ping | Event::Bye(_) => return,
        }
        let frame = event.to_string();
        let mut there: HashMap<Arc<str>, String> = HashMap::new();
        let directory = self.directory.read();
        for &user in users {
            if let Some(remote) = directory.get(&user) {
                let notice = Notice::Relay { user, frame: frame.clone() };
                notice.encode(there.entry(remote.node.clone()).or_default());
            }
        }
        drop(directory);
        for (node, payload) in there {
            self.bus.publish(self.node_subject(&node), payload.into_bytes());
        }
    }

    fn stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        let ended: Vec<(UserId, u64)> = self.local.lock().drain().map(|(u, (e, _))| (u, e)).collect();
        if let Ok(mut conn) = self.db.get() {
            let _ = conn.execute("UPDATE sessions SET node = NULL WHERE node = $1", &[&self.name]);
            let _ = conn.execute("UPDATE nodes SET heartbeat_ms = 0 WHERE name = $1", &[&self.name]);
        }
        for (user, epoch) in ended {
            self.broadcast(&Notice::Offline { user, epoch });
        }
        self.bus.stop();
        for thread in std::mem::take(&mut *self.threads.lock()) {
            let _ = thread.join();
        }
    }
}
