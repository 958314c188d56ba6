//! # Several `wachat serve` nodes, one server (`--features cluster`)
//!
//! A cluster is the single server, replicated: every node runs the same
//! store (`store::LocalStore`: the same `State`, rules and records) on a
//! data directory of its own, and one node, the **leader**, is the only
//! one that writes. Its group commit puts each batch in a table of
//! PostgreSQL (the shared log) before its own disk; every other node, a
//! **follower**, applies those batches in order with the same code, so
//! that its copy is the leader's, sequence numbers and all
//! (`store::shared_log`). A client cannot tell a node from a single
//! server: the protocol is the same, byte for byte.
//!
//! ```text
//!   clients ──▶ follower ── every request but the reads (NATS) ──▶ leader ◀── clients
//!                  │  ◀──────────── the replies, each with ───────────┘  │
//!                  │               the log's position                   │ each batch,
//!                  │                                                    ▼ fenced by its epoch
//!                  └──── the batches (NATS, else the table) ◀──── PostgreSQL: lease, log
//! ```
//!
//! Which node leads is a **lease** in PostgreSQL with an **epoch** that
//! grows with each new leader; a batch is written only under the epoch
//! that holds the lease, so a deposed leader cannot fork the log. No
//! consensus of our own: PostgreSQL orders the log and the lease (and
//! pg_auto_failover keeps it available), NATS carries what is forwarded.
//!
//! | file | what it is |
//! |---|---|
//! | [`node`] | a node's part, follower or leader, and the two threads that keep it |
//! | [`lease`] | which node leads, its epoch, renewed each second |
//! | [`log`] | the shared log: the leader's fenced writes, the followers' reads |
//! | [`checkpoint`] | the leader's checkpoints in the database, a node's start from the newest, the log trimmed |
//! | [`forward`] | a follower's way to the leader: its connections' requests, logins and acknowledgements |
//! | [`gateway`] | the leader's end of the followers' connections |
//! | [`wire`] | what the nodes say to each other on NATS |
//! | [`bus`] | the NATS client on its one bridge thread |
//! | [`db`] | connections to PostgreSQL (`--store`, one host or several: a failover followed), their deadlines |
//! | [`watchdog`] | cuts a connection to a database that does not answer in time (a frozen primary) |
//! | [`schema`] | the database's tables (`schema.sql`), made at start |
//! | [`files`], [`parts`] | photos and files (1.2): their bytes in chunks, so that any node serves any file; upload parts share a commit |
//! | [`door`] | a teacher's requests, for the leader |
//! | [`migrate`] | `wachat migrate`: a single server's data directory into a cluster |
//! | [`upgrade`] | `wachat migrate --to`: a database of the cluster's first design (schema 18) into the log, once |
//!
//! docs/CLUSTER.md tells how it works and why it is safe (its numbered
//! invariants name the code that keeps each); docs/CLUSTER-OPS.md how to
//! run one, and what it measured.

pub mod bus;
pub mod checkpoint;
pub mod db;
pub mod door;
pub mod files;
pub mod forward;
pub mod gateway;
pub mod lease;
pub mod log;
pub mod migrate;
pub mod node;
pub mod parts;
pub mod schema;
pub mod upgrade;
pub mod watchdog;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::router::Router;
use crate::server::{Ctx, NodeOf, Storage};
use crate::store::disk::RealDisk;
use crate::store::{LocalStore, StoreOptions};

/// Where a node finds the cluster (`wachat serve --store … --bus … --node …`).
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// `postgres://USER@HOST:PORT/DB`, several hosts, or libpq's keywords
    /// (`db::parse_store`)
    pub store: String,
    /// `nats://HOST:PORT`, or several separated by commas (`bus::servers`)
    pub bus: String,
    /// This node's name (default: host name and send port).
    pub node: Option<String>,
    /// The node's data directory: its copy of the store.
    pub data_dir: PathBuf,
    /// How its copy keeps its files (`--segment-size`, the checkpoints).
    pub options: StoreOptions,
    /// `--timeout`: how long a request forwarded to the leader may wait.
    pub timeout: Duration,
}

/// How long a starting node waits for NATS.
const BUS_WAIT: Duration = Duration::from_secs(3);

/// The default name of a node: this machine's host name and send port.
pub fn default_node_name(send_port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("{}-{send_port}", if host.is_empty() { "node" } else { host })
}

/// Opens a node's storage: the schema brought up to date, the data
/// directory made the cluster's (its identity), the bus connected, the
/// copy caught up with the log, and the node's part taken.
pub fn open(router: &Arc<Router>, options: &ClusterOptions, send_port: u16) -> Result<Storage> {
    let db = Arc::new(db::Db::new(&options.store)?);
    let mut client = db.connect_at_start()?;
    let was = schema::upgrade(&mut client, &db.url)?;
    ::log::info!("cluster: {} at schema version {} (was {was})", db.url, schema::CURRENT);
    let name = options.node.clone().unwrap_or_else(|| default_node_name(send_port));
    if name.is_empty() || name.len() > 64 || name.contains(char::is_whitespace) {
        return Err(Error::Usage(format!("--node {name:?}: 1 to 64 characters, no spaces")));
    }
    let name = node::token(&name);
    identity(&mut client, &options.data_dir, &db.url)?;
    drop(client);
    let prefix = format!("wachat.{}", node::token(db.name()));
    let (arrived, incoming) = crossbeam_channel::unbounded();
    let bus = bus::Bus::start(&options.bus, &name, node::Node::subjects(&prefix, &name), arrived)?;
    let deadline = std::time::Instant::now() + BUS_WAIT;
    while !bus.is_up() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !bus.is_up() {
        ::log::warn!("cluster: NATS at {} is not answering; forwarding waits for it", options.bus);
    }
    let deliver = {
        let router = router.clone();
        Box::new(move |batch: &crate::store::state::Batch| router.written(batch))
    };
    // The shared log is the durable copy: this one needs no fsync.
    let store_options = StoreOptions { fsync: false, ..options.options.clone() };
    let shared = Arc::new(log::PgLog::new(db.clone(), bus.clone(), format!("{prefix}.log")));
    checkpoint::prepare(&db, &options.data_dir, &store_options)?;
    let store =
        Arc::new(LocalStore::open_follower(&options.data_dir, store_options, deliver, shared.clone())?);
    let (restart, restarted) = crossbeam_channel::unbounded();
    let part = (store.clone(), shared);
    let node = node::Node::start(name.clone(), db.clone(), bus, prefix, part, options.timeout, restart)?;
    ::log::info!("cluster: node {name}, bus {}", options.bus);
    Ok(Storage {
        backend: store.clone(),
        files: Some(Box::new(files::PgFiles::new(db.clone()))),
        door: Some(Box::new(door::PgDoor::new(db, &name))),
        devices: Arc::new(crate::store::InLog::new(store)),
        node: Some(Box::new(Keeping { node, incoming: Mutex::new(Some(incoming)), restarted })),
    })
}

/// The cluster's identity in the node's data directory: the id clients
/// are told and the time from which action ids are the server's, the same
/// on every node. A directory that holds another cluster's copy is
/// refused, not mixed with this one.
fn identity(client: &mut postgres::Client, dir: &std::path::Path, url: &str) -> Result<()> {
    let fail = |e: postgres::Error| db::error(format!("cluster: {url}: reading the server's identity"), &e);
    let row = client.query_one("SELECT id, created_ms, actions_since FROM server", &[]).map_err(fail)?;
    let (id, created, since): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let disk = RealDisk;
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("{}", dir.display()), e))?;
    }
    match crate::store::server_id::read(&disk, dir)? {
        Some(here) if here == id => {}
        Some(here) if dir.join("log").exists() => {
            return Err(Error::Usage(format!(
                "{}: this directory holds a copy of another server ({here}, not the cluster's {id}): \
                 give the node an empty --data-dir",
                dir.display()
            )));
        }
        _ => crate::store::server_id::write(&disk, dir, &id, created as u64)?,
    }
    crate::store::actions_since::write(&disk, dir, since as u64)?;
    Ok(())
}

/// The node, as the server sees it (`server::NodeOf`).
struct Keeping {
    node: Arc<node::Node>,
    /// What NATS brings, for the dispatcher (taken at the start).
    incoming: Mutex<Option<Receiver<bus::Incoming>>>,
    restarted: Receiver<String>,
}

impl NodeOf for Keeping {
    fn started(&self, ctx: &Arc<Ctx>) -> Result<()> {
        let incoming =
            self.incoming.lock().take().ok_or_else(|| Error::Usage("cluster: started twice".into()))?;
        self.node.started(ctx, incoming)
    }

    fn restart(&self) -> Receiver<String> {
        self.restarted.clone()
    }

    fn stopping(&self) {
        self.node.stopping();
    }

    fn stopped(&self) {
        self.node.stopped();
    }
}
