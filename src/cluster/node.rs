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
//!   apply its batches (PostgreSQL, as            first (fenced by the
//!   NOTIFY says), pass its clients on to           epoch), and renews
//!   the leader (`links.rs`); look at the             the lease each second
//!   lease each second ─────── run out ──▶
//!                                                          │ refused: deposed
//!                                                          ▼
//!                                          the server starts again, as a follower
//! ```
//!
//! The threads: the **keeper** (the follower reads the log as the leader's
//! notifications say and watches the lease; the leader renews it), and
//! the node port's (`links.rs`).

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::cluster::db::postgres;
use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::db::Db;
use super::lease::{self, Lease};
use super::links::{self, Advert, Relay};
use super::log::{self as shared, PgLog};
use crate::error::{Error, Result};
use crate::server::Ctx;
use crate::store::LocalStore;

/// How long a follower waits for the leader's notification before it
/// reads the log anyway (a notification lost while it reconnected).
const POLL_EVERY: Duration = Duration::from_millis(200);

/// A node's name as the lease and the logs show it: letters, digits, `-`
/// and `_` only.
pub fn token(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// This node's part.
enum Stance {
    /// It follows the leader of `epoch`, named `holder`.
    Following { epoch: i64, holder: String },
    /// It leads, in `epoch`.
    Leading { epoch: i64 },
}

pub struct Node {
    /// This node's name ([`token`]).
    pub name: String,
    db: Arc<Db>,
    store: Arc<LocalStore>,
    /// The store's shared log: the node leads through it.
    log: Arc<PgLog>,
    ctx: OnceLock<Weak<Ctx>>,
    part: Mutex<Stance>,
    /// Where the other nodes reach this node's links, and the port (taken
    /// by the thread that serves it once the server runs).
    node_port: (SocketAddr, Mutex<Option<TcpListener>>),
    /// The address the node port listens on: its thread is woken there
    /// when the server stops.
    listening: SocketAddr,
    /// While it leads: what a link's answer to its challenge is keyed
    /// with (`links::key`).
    link_key: Arc<Mutex<String>>,
    /// Its database's identity (`links::identity`).
    identity: String,
    /// Its certificate's fingerprint, with `--tls-cert`: its node links
    /// speak TLS.
    tls: Option<String>,
    /// While it follows: its way to the leader, for its clients.
    relay: Arc<Relay>,
    /// Set once the node learns that another leads in its place; the
    /// server starts again as a follower.
    deposed: AtomicBool,
    /// Told when the node is deposed.
    restart: Sender<String>,
}

impl Node {
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
        (store, log): (Arc<LocalStore>, Arc<PgLog>),
        (node_port, timeout, tls, advertised): (TcpListener, Duration, Option<String>, Option<SocketAddr>),
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
                    break Stance::Following { epoch, holder };
                }
                _ => {
                    let seen = held.as_ref().map(|l| l.epoch);
                    let taken =
                        lease::take(&mut client, &name, seen).map_err(|e| fail("taking the lease", &e))?;
                    if let Some(epoch) = taken {
                        break Stance::Leading { epoch };
                    }
                    // Another node took it meanwhile: read again, and follow it.
                }
            }
        };
        shown(&part);
        let epoch = match part {
            Stance::Following { epoch, .. } | Stance::Leading { epoch } => epoch,
        };
        let listening = node_port.local_addr().map_err(|e| Error::io("cluster: the node port", e))?;
        let at = advertised.unwrap_or(listening);
        let identity =
            links::identity(&mut client).map_err(|e| fail("reading the database's identity", &e))?;
        let node = Arc::new(Node {
            name,
            db,
            store,
            log,
            ctx: OnceLock::new(),
            part: Mutex::new(part),
            node_port: (at, Mutex::new(Some(node_port))),
            listening,
            link_key: Arc::default(),
            relay: Arc::new(Relay::new(epoch, timeout, identity.clone())),
            identity,
            tls,
            deposed: AtomicBool::new(false),
            restart,
        });
        if let Stance::Leading { epoch, .. } = *node.part.lock() {
            node.lead(&mut client, epoch)?;
        }
        Ok(node)
    }

    /// The server is running: a follower's clients are passed on to the
    /// leader, and the threads start.
    pub fn started(self: &Arc<Self>, ctx: &Arc<Ctx>) -> Result<()> {
        let _ = self.ctx.set(Arc::downgrade(ctx));
        if let Stance::Following { .. } = *self.part.lock() {
            ctx.follow(Some(self.relay.clone()));
        }
        if let Some(port) = self.node_port.1.lock().take() {
            links::spawn_port(port, Arc::downgrade(ctx), self.link_key.clone())?;
        }
        let node = self.clone();
        std::thread::Builder::new()
            .name("keeper".into())
            .spawn(move || node.keep())
            .map_err(|e| Error::io("cluster: starting the keeper", e))?;
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
        let secret = links::new_secret();
        *self.link_key.lock() = links::key(&secret, &self.identity);
        let tls = self.tls.clone();
        links::advertise(&self.store, &Advert { at: self.node_port.0, epoch, secret, tls })?;
        if let Err(e) = shared::announce(client) {
            log::debug!("cluster: telling the followers: {e}"); // they look within a second
        }
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

    /// The keeper: a follower applies the log and watches the lease; the
    /// leader renews the lease.
    fn keep(self: Arc<Self>) {
        let (mut client, mut notices) = (None, None);
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
            // Follower: the log is read as the leader says it grew, and
            // at least every POLL_EVERY.
            let look_now = self.notified(&mut notices);
            self.read_log(&mut client, &mut unread);
            if look_now || lease_looked.elapsed() >= lease::RENEW_EVERY {
                lease_looked = Instant::now();
                self.look_at_lease(&mut client, &mut ran_out);
            }
        }
    }

    /// A follower waits up to [`POLL_EVERY`] for the leader's word on
    /// `notices`, a connection that `LISTEN`s (made again when broken):
    /// true if it was that a node took the lease. What else it said is
    /// taken at once, however much: each says only "read the log".
    fn notified(&self, notices: &mut Option<super::db::PgLink>) -> bool {
        if !notices.as_ref().is_some_and(|l| l.usable() && !l.client.is_closed()) {
            *notices = self.db.connect().ok().and_then(|mut link| {
                let listen = format!("LISTEN {}", shared::CHANNEL);
                link.timed().batch_execute(&listen).ok().map(|()| link)
            });
        }
        let Some(link) = notices.as_mut() else {
            std::thread::sleep(POLL_EVERY);
            return false;
        };
        let mut lease = false;
        let mut broken = false;
        let mut take =
            |notice: std::result::Result<Option<postgres::Notification>, postgres::Error>| match notice {
                Ok(Some(notice)) => {
                    lease |= notice.payload() == shared::LEASE_TAKEN;
                    true
                }
                Ok(None) => false,
                Err(_) => {
                    broken = true;
                    false
                }
            };
        if take(link.client.notification(POLL_EVERY)) {
            while take(link.client.notification(Duration::ZERO)) {}
        }
        if broken {
            *notices = None;
        }
        lease
    }

    /// A connection of its own to the database, made again when broken,
    /// its calls to be answered within `db::DEADLINE` from now. The
    /// keeper must never wait for a frozen primary: while it waits, a
    /// follower applies nothing and watches no lease, and a leader renews
    /// none. Past the deadline the call fails, and the next one connects
    /// to whichever host is primary now.
    fn client<'c>(&self, client: &'c mut Option<super::db::PgLink>) -> Option<&'c mut postgres::Client> {
        // Closed (a frozen primary) or gone: its host is tried last, as for
        // every connection that breaks, so that the standby promoted
        // meanwhile is reached first, not the old primary once it wakes.
        if let Some(link) = client.as_ref().filter(|l| l.client.is_closed()) {
            self.db.broken(link);
        }
        if !client.as_ref().is_some_and(|l| l.usable()) {
            *client = self.db.connect().ok();
        }
        Some(client.as_mut()?.timed())
    }

    /// A follower reads the batches it has not applied from the table.
    /// A read that fails (a connection cut by a database's failover) is
    /// made again at the next poll, on a new connection: only a copy
    /// that cannot take the log's next batch starts the node again. `unread`: the last read
    /// failed (said once, not at every poll).
    fn read_log(&self, client: &mut Option<super::db::PgLink>, unread: &mut bool) {
        let Some(db) = self.client(client) else { return };
        match catch_up_from(&self.store, db) {
            Ok(read) => {
                crate::metrics::get().batches_read.inc_by(read);
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
        let Some(db) = self.client(client) else {
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
    /// connections passed on to the old one are cut (their clients
    /// connect again, and are passed on to the new one).
    fn follow(&self, epoch: i64, holder: String) {
        let part = Stance::Following { epoch, holder };
        shown(&part);
        *self.part.lock() = part;
        self.relay.epoch.store(epoch, Ordering::SeqCst);
        let cut = self.relay.cut_all();
        if cut > 0 {
            log::info!("cluster: {cut} connections passed on to the old leader: cut");
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
        let part = Stance::Leading { epoch };
        shown(&part);
        *self.part.lock() = part;
        // Its clients are its own now; those passed on to the old leader
        // connect again, and are served here.
        ctx.follow(None);
        self.relay.close();
        self.leaderless(None);
        log::info!("cluster: node {} took over in {} ms", self.name, started.elapsed().as_millis());
    }

    /// The leader renews its lease; refused, it is deposed.
    fn renew(&self, client: &mut Option<super::db::PgLink>) {
        let epoch = match &*self.part.lock() {
            Stance::Leading { epoch, .. } => *epoch,
            Stance::Following { .. } => return,
        };
        let Some(db) = self.client(client) else { return };
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

    /// The server stops: a follower's connections passed on to the
    /// leader are cut (a leader's, its followers' among them, end with
    /// the server's own), and the node port's thread is woken, to find
    /// the server stopping and end. The port stays bound (`wachat serve`
    /// holds it): a node that starts again, deposed, takes links there,
    /// and only there, with its own thread.
    pub fn stopping(&self) {
        self.relay.close();
        crate::server::listener::wake(self.listening);
    }

    /// The server stopped, its last batch written: a leader lets its
    /// lease go, so that another node leads at once; the threads end.
    pub fn stopped(&self) {
        let was = self.deposed.swap(true, Ordering::SeqCst);
        self.link_key.lock().clear();
        if let Stance::Leading { epoch } = *self.part.lock()
            && !was
            && let Ok(mut link) = self.db.connect()
        {
            let _ = lease::release(link.timed(), epoch);
        }
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
