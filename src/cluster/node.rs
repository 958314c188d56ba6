//! A node of the cluster: its copy of the store, and its part in the
//! cluster, follower or leader, which the lease decides (`lease.rs`).
//!
//! ```text
//!   start: the data directory's copy (or one made from the newest
//!   checkpoint, `checkpoint.rs`), then the log's rows after it
//!                                   │
//!              the lease free or run out? ──yes──▶ take it (epoch + 1),
//!                  │ no                            read the log to its end,
//!                  ▼                               LEAD: the store writes,
//!   FOLLOW the leader of that epoch:               each batch into `log`
//!   apply its batches (NATS, else the                first (fenced by the
//!   table), forward what is not a read;              epoch), and renews
//!   look at the lease each second ─── run out ──▶    the lease each second
//!                                                          │ refused: deposed
//!                                                          ▼
//!                                          the server starts again, as a follower
//! ```
//!
//! The threads: the **dispatcher** (what NATS brings: batches for the
//! follower, the leader's answers for this node's connections, the
//! followers' requests for the leader), and the **keeper** (the follower
//! reads the log and watches the lease; the leader renews it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::bus::{Bus, Incoming};
use super::db::Db;
use super::forward::Forward;
use super::gateway::Gateway;
use super::lease::{self, Lease};
use super::log::{self as shared, Heard, PgLog};
use super::watchdog::Armed;
use super::wire::{ToLeader, ToNode};
use crate::error::{Error, Result};
use crate::server::Ctx;
use crate::store::LocalStore;

/// How long a follower waits for the next batch on NATS before it looks
/// in PostgreSQL (a batch NATS lost, or none published).
const POLL_EVERY: Duration = Duration::from_millis(200);

/// A name as a NATS subject's token: letters, digits, `-` and `_` only.
pub fn token(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// This node's part.
enum Stance {
    /// It follows the leader of `epoch`, named `holder`.
    Following { epoch: i64, holder: String, forward: Arc<Forward> },
    /// It leads, in `epoch`.
    Leading { epoch: i64, gateway: Option<Arc<Gateway>> },
}

pub struct Node {
    /// This node's name, as a NATS token.
    pub name: String,
    db: Arc<Db>,
    bus: Arc<Bus>,
    /// `wachat.<database>`: the cluster's subjects begin so.
    prefix: String,
    store: Arc<LocalStore>,
    /// The store's shared log: the node leads through it.
    log: Arc<PgLog>,
    ctx: OnceLock<Weak<Ctx>>,
    /// `--timeout`: how long a forwarded request may wait for its answer.
    timeout: Duration,
    part: Mutex<Stance>,
    /// Batches heard on NATS, for the keeper.
    heard: (Sender<Heard>, Receiver<Heard>),
    /// Set once the node learns that another leads in its place; the
    /// server starts again as a follower.
    deposed: AtomicBool,
    /// Told when the node is deposed.
    restart: Sender<String>,
}

impl Node {
    /// The subjects a node listens to from its start.
    pub fn subjects(prefix: &str, name: &str) -> Vec<String> {
        vec![format!("{prefix}.log"), node_subject(prefix, name)]
    }

    /// Catches up with the log and takes its part: leader if the lease is
    /// free, let go, or its own; else follower of whoever holds it, even
    /// of a lease that ran out (the keeper takes that one once it has
    /// confirmed it, as any follower does: a leader that could not renew
    /// only because the database was away keeps leading when it is back).
    /// Of two nodes that take a free lease at once, the one that did not
    /// get it follows the one that did.
    pub fn start(
        name: String,
        db: Arc<Db>,
        bus: Arc<Bus>,
        prefix: String,
        (store, log): (Arc<LocalStore>, Arc<PgLog>),
        timeout: Duration,
        restart: Sender<String>,
    ) -> Result<Arc<Node>> {
        let fail = |doing: &str, e: &postgres::Error| super::db::error(format!("cluster: {doing}"), e);
        let mut client = db.connect_at_start()?;
        catch_up(&store, &mut client)?;
        let part = loop {
            let held = lease::read(&mut client).map_err(|e| fail("reading the lease", &e))?;
            match held {
                Some(Lease { epoch, holder, .. }) if !holder.is_empty() && holder != name => {
                    log::info!("cluster: node {holder} leads (epoch {epoch}): this node follows");
                    let forward =
                        Forward::new(bus.clone(), name.clone(), lead_subject(&prefix, epoch), timeout);
                    break Stance::Following { epoch, holder, forward: Arc::new(forward) };
                }
                _ => {
                    let seen = held.as_ref().map(|l| l.epoch);
                    let taken =
                        lease::take(&mut client, &name, seen).map_err(|e| fail("taking the lease", &e))?;
                    if let Some(epoch) = taken {
                        break Stance::Leading { epoch, gateway: None };
                    }
                    // Another node took it meanwhile: read again, and follow it.
                }
            }
        };
        shown(&part);
        let node = Arc::new(Node {
            name,
            db,
            bus,
            prefix,
            store,
            log,
            ctx: OnceLock::new(),
            timeout,
            part: Mutex::new(part),
            heard: crossbeam_channel::unbounded(),
            deposed: AtomicBool::new(false),
            restart,
        });
        if let Stance::Leading { epoch, .. } = *node.part.lock() {
            node.lead(&mut client, epoch)?;
        }
        Ok(node)
    }

    /// The server is running: the leader's gateway is opened, a follower's
    /// connections are handed to the leader, and the threads start.
    pub fn started(self: &Arc<Self>, ctx: &Arc<Ctx>, incoming: Receiver<Incoming>) -> Result<()> {
        let _ = self.ctx.set(Arc::downgrade(ctx));
        match &mut *self.part.lock() {
            Stance::Following { forward, .. } => ctx.follow(Some(forward.clone())),
            Stance::Leading { epoch, gateway } => {
                let opened =
                    Gateway::new(Arc::downgrade(ctx), self.store.clone(), self.bus.clone(), &self.prefix)
                        .map_err(|e| Error::io("cluster: the gateway's loopback listener", e))?;
                *gateway = Some(Arc::new(opened));
                self.bus.subscribe(lead_subject(&self.prefix, *epoch));
            }
        }
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| Error::io(format!("cluster: starting {name}"), e))
        };
        let node = self.clone();
        spawn("dispatcher", Box::new(move || node.dispatch(&incoming)))?;
        let node = self.clone();
        spawn("keeper", Box::new(move || node.keep()))?;
        Ok(())
    }

    /// Becomes the leader of `epoch`: reads the log to its end (no batch
    /// can be added now but under this epoch), then the store writes.
    fn lead(self: &Arc<Self>, client: &mut postgres::Client, epoch: i64) -> Result<()> {
        catch_up(&self.store, client)?;
        let node = Arc::downgrade(self);
        let deposed = Box::new(move || {
            if let Some(node) = node.upgrade() {
                node.depose("its batch was refused: another node leads");
            }
        });
        self.log.lead(epoch, deposed);
        self.store.lead()?;
        self.log.announce(epoch, &self.name);
        log::info!(
            "cluster: node {} leads (epoch {epoch}), the log at position {}",
            self.name,
            self.store.end()
        );
        // A cluster just migrated or upgraded has no checkpoint yet: one
        // now, so that a node that joins need not apply the whole log.
        let newest = super::checkpoint::newest(client)
            .map_err(|e| super::db::error("cluster: reading the newest checkpoint".into(), &e))?;
        if newest.is_none() && self.store.end() > 0 {
            let store = self.store.clone();
            let spawned = std::thread::Builder::new().name("first-checkpoint".into()).spawn(move || {
                if let Err(e) = store.checkpoint() {
                    log::warn!("cluster: the first checkpoint: {e}");
                }
            });
            if let Err(e) = spawned {
                log::warn!("cluster: starting the first checkpoint: {e}");
            }
        }
        Ok(())
    }

    /// What NATS brought, until the bus stops.
    fn dispatch(&self, incoming: &Receiver<Incoming>) {
        let log_subject = format!("{}.log", self.prefix);
        let mut looked = Instant::now();
        loop {
            // Once a second: a follower's requests the leader left
            // unanswered, a leader's followers gone silent.
            let next = (looked + Duration::from_secs(1)).saturating_duration_since(Instant::now());
            let message = match incoming.recv_timeout(next) {
                Ok(message) => Some(message),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            };
            if looked.elapsed() >= Duration::from_secs(1) {
                looked = Instant::now();
                match &*self.part.lock() {
                    Stance::Following { forward, .. } => forward.cut_late(),
                    Stance::Leading { gateway: Some(gateway), .. } => gateway.sweep(),
                    Stance::Leading { gateway: None, .. } => {}
                }
            }
            let message = match message {
                Some(Incoming::Message(message)) => message,
                Some(Incoming::Lost) => {
                    self.lost_frames();
                    continue;
                }
                // A batch's loss is made good by the keeper's read of the log.
                Some(Incoming::Gap { subject, .. }) if subject == log_subject => continue,
                Some(Incoming::Gap { from, subject }) => {
                    self.lost_from(&from, &subject);
                    continue;
                }
                None => continue,
            };
            if message.subject == log_subject {
                if let Some(heard) = shared::heard(&message.payload) {
                    let _ = self.heard.0.send(heard);
                }
                continue;
            }
            let part = self.part.lock();
            match &*part {
                Stance::Following { forward, .. } => {
                    if let Some(said) = ToNode::parse(&message.payload) {
                        let forward = forward.clone();
                        drop(part);
                        forward.heard(said);
                    }
                }
                Stance::Leading { gateway: Some(gateway), .. } => {
                    if let Some(asked) = ToLeader::parse(&message.payload) {
                        let gateway = gateway.clone();
                        drop(part);
                        gateway.handle(asked, message.reply);
                    }
                }
                Stance::Leading { gateway: None, .. } => {}
            }
        }
    }

    /// Messages to or from this node may be lost (its connection to NATS
    /// broke and is back, or the client dropped some that came too fast:
    /// NATS is "at most once"), and nothing else would say so before
    /// `--timeout`. A follower cuts its connections whose requests wait
    /// for the leader (their clients send them again) and its receive
    /// connections; a leader tells its followers to do the same (`LOST`),
    /// for their requests and its replies.
    fn lost_frames(&self) {
        match &*self.part.lock() {
            Stance::Following { forward, .. } => forward.lost(),
            Stance::Leading { gateway: Some(gateway), .. } => gateway.lost(),
            Stance::Leading { gateway: None, .. } => {}
        }
    }

    /// NATS lost a message node `from` sent on `subject`, while both
    /// stayed connected. A follower that missed one of its leader's
    /// (a `PUSH`, `SHUT`, `REPLIES`) does as when its connection to NATS
    /// came back ([`Forward::lost`]); a leader that missed one of a
    /// follower's lets that follower's connections go
    /// ([`Gateway::lost_from`]).
    fn lost_from(&self, from: &str, subject: &str) {
        log::warn!("cluster: NATS lost a message of node {from} on {subject}");
        match &*self.part.lock() {
            Stance::Following { forward, .. } if subject == node_subject(&self.prefix, &self.name) => {
                forward.lost()
            }
            Stance::Leading { epoch, gateway: Some(gateway) }
                if subject == lead_subject(&self.prefix, *epoch) =>
            {
                gateway.lost_from(from)
            }
            _ => {}
        }
    }

    /// The keeper: a follower applies the log and watches the lease; the
    /// leader renews the lease.
    fn keep(self: Arc<Self>) {
        let mut client = None;
        let mut lease_looked = Instant::now();
        let mut ran_out = None;
        let mut unread = false;
        while !self.deposed.load(Ordering::SeqCst) {
            let leading = matches!(*self.part.lock(), Stance::Leading { .. });
            if leading {
                std::thread::sleep(lease::RENEW_EVERY);
                self.renew(&mut client);
                continue;
            }
            // Follower: a batch from NATS in its place, else the table.
            let mut look_now = false;
            match self.heard.1.recv_timeout(POLL_EVERY) {
                Ok(Heard::Batch(batch)) if batch.base == self.store.end() => {
                    if let Err(e) = self.store.apply_shared(batch.base, &batch.users, &batch.records) {
                        self.depose(&format!("its copy of the log differs from the leader's: {e}"));
                        return;
                    }
                }
                Ok(Heard::Batch(batch)) if batch.base < self.store.end() => {} // had it
                Ok(Heard::Leader) => look_now = true,
                _ => self.read_log(&mut client, &mut unread),
            }
            if look_now || lease_looked.elapsed() >= lease::RENEW_EVERY {
                lease_looked = Instant::now();
                if let Stance::Following { forward, .. } = &*self.part.lock() {
                    forward.alive();
                }
                self.look_at_lease(&mut client, &mut ran_out);
            }
        }
    }

    /// A connection of its own to the database, made again when broken,
    /// and armed with the watchdog's deadline (`db::DEADLINE`) while the
    /// caller holds the guard. The keeper must never wait for a frozen
    /// primary: while it waits, a follower applies nothing NATS brings
    /// and watches no lease, and a leader renews none. Cut, the call
    /// fails, and the next one connects to whichever host is primary now.
    fn client<'c>(
        &self,
        client: &'c mut Option<super::db::PgLink>,
    ) -> Option<(&'c mut postgres::Client, Option<Armed<'_>>)> {
        // Cut (a frozen primary) or gone: its host is tried last, as for
        // every connection that breaks, so that the standby promoted
        // meanwhile is reached first, not the old primary once it wakes.
        if let Some(link) = client.as_ref().filter(|l| l.client.is_closed()) {
            self.db.broken(link);
        }
        if !client.as_ref().is_some_and(|l| l.usable()) {
            *client = self.db.connect().ok();
        }
        let link = client.as_mut()?;
        let armed = self.db.arm(link);
        Some((&mut link.client, armed))
    }

    /// A follower reads the batches it has not applied from the table.
    /// A read that fails (a connection cut by a database's failover) is
    /// made again at the next poll, on a new connection, and meanwhile the
    /// batches NATS brings are applied: only a copy that cannot take the
    /// log's next batch starts the node again. `unread`: the last read
    /// failed (said once, not at every poll).
    fn read_log(&self, client: &mut Option<super::db::PgLink>, unread: &mut bool) {
        let Some((db, _armed)) = self.client(client) else { return };
        match catch_up_from(&self.store, db) {
            Ok(read) => {
                crate::metrics::get().gap_refills.inc_by(read);
                if std::mem::take(unread) {
                    log::info!("cluster: the log is read again");
                }
            }
            Err(Behind::Unread(e)) => {
                if !std::mem::replace(unread, true) {
                    log::warn!("cluster: reading the log: {}; reading it again", super::db::describe(&e));
                }
                *client = None; // connected again at the next poll
            }
            Err(Behind::Differs(e)) => self.depose(&format!("its copy of the log cannot follow: {e}")),
        }
    }

    /// A follower looks at the lease: a new leader is followed; a lease
    /// that ran out is taken.
    fn look_at_lease(
        self: &Arc<Self>,
        client: &mut Option<super::db::PgLink>,
        ran_out: &mut Option<(Lease, Instant)>,
    ) {
        let Some((db, _armed)) = self.client(client) else {
            return self.leaderless(Some("no leader: the cluster's database does not answer".into()));
        };
        let held = match lease::read(db) {
            Ok(held) => held,
            Err(e) => {
                self.leaderless(Some("no leader: the cluster's lease cannot be read".into()));
                return log::debug!("cluster: reading the lease: {e}");
            }
        };
        let (following, current) = match &*self.part.lock() {
            Stance::Following { epoch, holder, .. } => (*epoch, holder.clone()),
            Stance::Leading { .. } => return self.leaderless(None),
        };
        self.leaderless(match &held {
            Some(Lease { expired: false, .. }) => None,
            Some(Lease { holder, epoch, .. }) if !holder.is_empty() => {
                Some(format!("no leader: the lease of node {holder} (epoch {epoch}) ran out"))
            }
            _ => Some("no leader: the cluster's lease is free".into()),
        });
        // Run out, and still the same lease `CONFIRM` later: taken; let go
        // by its leader: taken at once.
        let confirmed = match (&held, ran_out.as_ref()) {
            (Some(now @ Lease { expired: true, .. }), _) if now.released() => true,
            (Some(now @ Lease { expired: true, .. }), Some((then, since))) if now == then => {
                since.elapsed() >= lease::CONFIRM
            }
            (Some(now @ Lease { expired: true, .. }), _) => {
                *ran_out = Some((now.clone(), Instant::now()));
                false
            }
            _ => {
                *ran_out = None;
                false
            }
        };
        match held {
            Some(Lease { expired: true, epoch, holder, .. }) if confirmed => {
                *ran_out = None;
                let lease = match holder.is_empty() {
                    true => format!("the lease (epoch {epoch}) was let go"),
                    false => format!("the lease of node {holder} (epoch {epoch}) ran out"),
                };
                // Every follower may try; only the one that took it says
                // so (the others say who leads at their next look).
                match lease::take(db, &self.name, Some(epoch)) {
                    Ok(Some(new)) => {
                        log::warn!("cluster: {lease}: taking it");
                        self.take_over(db, new)
                    }
                    Ok(None) => log::debug!("cluster: {lease}, and another node took it first"),
                    Err(e) => log::warn!("cluster: {lease}; taking it: {e}"),
                }
            }
            Some(Lease { epoch, holder, expired: false, .. }) if epoch != following => {
                log::info!("cluster: node {holder} leads now (epoch {epoch}, was {current}'s {following})");
                self.follow(epoch, holder);
            }
            _ => {}
        }
    }

    /// Tells the server whether this follower sees a leader (`None`) or
    /// why not: its writes are refused meanwhile, as `/healthz` says.
    fn leaderless(&self, why: Option<String>) {
        if let Some(ctx) = self.ctx.get().and_then(Weak::upgrade) {
            ctx.refuse_writes(why);
        }
    }

    /// This follower follows the leader of `epoch` from now on: the
    /// connections that went to the old one are cut (their clients send
    /// again, to the new one).
    fn follow(&self, epoch: i64, holder: String) {
        let forward = Arc::new(Forward::new(
            self.bus.clone(),
            self.name.clone(),
            lead_subject(&self.prefix, epoch),
            self.timeout,
        ));
        let part = Stance::Following { epoch, holder, forward: forward.clone() };
        shown(&part);
        let old = std::mem::replace(&mut *self.part.lock(), part);
        if let Stance::Following { forward: old, .. } = old {
            forward.take(old.hand_over());
        }
        if let Some(ctx) = self.ctx.get().and_then(Weak::upgrade) {
            ctx.follow(Some(forward));
        }
    }

    /// This follower took the lease: it reads the log to its end and leads
    /// (within the deadline of the connection it looked at the lease on: a
    /// follower is near the end, and a take-over takes 0–150 ms; one that
    /// cannot lead in time stops and starts again, as any that cannot).
    fn take_over(self: &Arc<Self>, db: &mut postgres::Client, epoch: i64) {
        let started = Instant::now();
        if let Err(e) = self.lead(db, epoch) {
            return self.depose(&format!("it took the lease but could not lead: {e}"));
        }
        let Some(ctx) = self.ctx.get().and_then(Weak::upgrade) else { return };
        let gateway =
            match Gateway::new(Arc::downgrade(&ctx), self.store.clone(), self.bus.clone(), &self.prefix) {
                Ok(gateway) => Arc::new(gateway),
                Err(e) => return self.depose(&format!("its gateway cannot listen: {e}")),
            };
        let part = Stance::Leading { epoch, gateway: Some(gateway) };
        shown(&part);
        let old = std::mem::replace(&mut *self.part.lock(), part);
        self.bus.subscribe(lead_subject(&self.prefix, epoch));
        ctx.follow(None);
        // What went through the old leader is this node's now.
        if let Stance::Following { forward, .. } = old {
            let outlets: Vec<_> = forward.hand_over().into_iter().map(|(_, outlet)| outlet).collect();
            crate::server::recv::adopt(&ctx, &outlets);
        }
        self.leaderless(None);
        log::info!("cluster: node {} took over in {} ms", self.name, started.elapsed().as_millis());
    }

    /// The leader renews its lease; refused, it is deposed.
    fn renew(&self, client: &mut Option<super::db::PgLink>) {
        let epoch = match &*self.part.lock() {
            Stance::Leading { epoch, .. } => *epoch,
            Stance::Following { .. } => return,
        };
        let Some((db, _armed)) = self.client(client) else { return };
        match lease::renew(db, epoch) {
            Ok(true) => {}
            Ok(false) => self.depose("another node took the lease"),
            Err(e) => log::warn!("cluster: renewing the lease: {e}"),
        }
    }

    /// This node may not go on as it is: the server starts again, as a
    /// follower, from what the shared log holds.
    pub fn depose(&self, why: &str) {
        if self.deposed.swap(true, Ordering::SeqCst) {
            return;
        }
        log::error!("cluster: node {} stops: {why}; it starts again as a follower", self.name);
        // Nobody hears an answer of a deposed leader's: every connection
        // is cut at once (their clients send again, to the new leader).
        if let Some(ctx) = self.ctx.get().and_then(Weak::upgrade) {
            ctx.cut_all_connections();
        }
        let _ = self.restart.send(why.to_string());
    }

    /// The server stops: a leader's followers' connections end here, a
    /// follower's connections through the leader are cut.
    pub fn stopping(&self) {
        match &*self.part.lock() {
            Stance::Leading { gateway: Some(gateway), .. } => gateway.close_all(),
            Stance::Following { forward, .. } => forward.cut_all(),
            Stance::Leading { gateway: None, .. } => {}
        }
    }

    /// The server stopped, its last batch written: a leader lets its
    /// lease go, so that another node leads at once; the threads end.
    pub fn stopped(&self) {
        let was = self.deposed.swap(true, Ordering::SeqCst);
        if let Stance::Leading { epoch, .. } = *self.part.lock()
            && !was
            && let Ok(mut link) = self.db.connect()
        {
            let _armed = self.db.arm(&link);
            let _ = lease::release(&mut link.client, epoch);
        }
        self.bus.stop();
    }
}

/// This node's part, in its metrics (`wachat_cluster_epoch`,
/// `wachat_cluster_leading`).
fn shown(part: &Stance) {
    let metrics = crate::metrics::get();
    let (epoch, leading) = match part {
        Stance::Following { epoch, .. } => (*epoch, 0),
        Stance::Leading { epoch, .. } => (*epoch, 1),
    };
    metrics.epoch.set(epoch);
    metrics.leading.set(leading);
}

/// The subject node `name` listens to, as a follower, for what its
/// leader says to it.
fn node_subject(prefix: &str, name: &str) -> String {
    format!("{prefix}.node.{name}")
}

/// The subject the leader of `epoch` listens to.
fn lead_subject(prefix: &str, epoch: i64) -> String {
    format!("{prefix}.lead.{epoch}")
}

/// Applies every batch of the log after this copy's end.
fn catch_up(store: &LocalStore, client: &mut postgres::Client) -> Result<()> {
    catch_up_from(store, client).map(drop).map_err(|behind| match behind {
        Behind::Unread(e) => super::db::error("cluster: reading the log".into(), &e),
        Behind::Differs(e) => e,
    })
}

/// Why a copy could not catch up with the log.
enum Behind {
    /// The database did not answer: the copy is as it was.
    Unread(postgres::Error),
    /// The log's next batch does not fit the copy, or applying it failed.
    Differs(Error),
}

/// [`catch_up`]: how many batches it applied, or why it stopped.
fn catch_up_from(store: &LocalStore, client: &mut postgres::Client) -> std::result::Result<u64, Behind> {
    let mut applied = 0;
    loop {
        let batches = shared::read_from(client, store.end()).map_err(Behind::Unread)?;
        if batches.is_empty() {
            return Ok(applied);
        }
        for batch in batches {
            if batch.base != store.end() {
                return Err(Behind::Differs(Error::Usage(format!(
                    "cluster: the log has a batch at {} where this copy ends at {}",
                    batch.base,
                    store.end()
                ))));
            }
            store.apply_shared(batch.base, &batch.users, &batch.records).map_err(Behind::Differs)?;
            applied += 1;
        }
    }
}
