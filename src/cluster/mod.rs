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
//!   clients ──▶ follower ══ one TCP connection per client (a node link) ══▶ leader ◀── clients
//!                  │         its bytes passed on as they are, both ways      │ serves them as its own
//!                  │                                                         │ each batch, fenced
//!                  │                                                         ▼ by its epoch, + NOTIFY
//!                  └── reads the batches it has not applied ◀──── PostgreSQL: lease, log
//! ```
//!
//! Which node leads is a **lease** in PostgreSQL with an **epoch** that
//! grows with each new leader; a batch is written only under the epoch
//! that holds the lease, so a deposed leader cannot fork the log. No
//! consensus of our own, and nothing else to run: PostgreSQL orders the
//! log and the lease (and pg_auto_failover keeps it available), and the
//! nodes speak to each other over plain TCP (`links`).
//!
//! | file | what it is |
//! |---|---|
//! | [`node`] | a node's part, follower or leader, and the two threads that keep it |
//! | [`lease`] | which node leads, its epoch, renewed each second |
//! | [`log`] | the shared log: the leader's fenced writes, the followers' reads |
//! | [`checkpoint`] | the leader's checkpoints in the database, a node's start from the newest, the log trimmed |
//! | [`links`] | the node links: a follower passes each client on to the leader, one TCP connection each |
//! | [`db`] | connections to PostgreSQL (`--store`, one host or several: a failover followed), their deadlines |
//! | [`schema`] | the database's tables (`schema.sql`), made at start; an older schema refused, naming `wachat migrate` (`src/migrate/`) |
//! | [`files`], [`parts`] | photos and files (1.2): their bytes in chunks, so that any node serves any file; upload parts share a commit |
//! | [`door`] | a teacher's requests, for the leader |
//!
//! docs/CLUSTER.md tells how it works and why it is safe (its numbered
//! invariants name the code that keeps each); docs/CLUSTER-OPS.md how to
//! run one, and what it measured.

pub mod checkpoint;
pub mod db;
pub mod door;
pub mod files;
pub mod lease;
pub mod links;
pub mod log;
pub mod node;
pub mod parts;
pub mod schema;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::db::postgres;
use crate::error::{Error, Result};
use crate::router::Router;
use crate::server::{Ctx, NodeOf, Storage};
use crate::store::disk::RealDisk;
use crate::store::{LocalStore, StoreOptions};

/// Where a node finds the cluster (`wachat serve --store … --node …`).
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// `postgres://USER@HOST:PORT/DB`, several hosts, or libpq's keywords
    /// (`db::parse_store`)
    pub store: String,
    /// This node's name (default: host name and send port).
    pub node: Option<String>,
    /// Where the other nodes reach that port, if not where it listens
    /// (a proxy or a NAT between the nodes): what the leader says.
    pub node_advertise: Option<std::net::SocketAddr>,
    /// `--tls-cert`'s fingerprint: the node links speak TLS too.
    pub tls: Option<String>,
    /// The node's data directory: its copy of the store.
    pub data_dir: PathBuf,
    /// How its copy keeps its files (`--segment-size`, the checkpoints).
    pub options: StoreOptions,
    /// `--timeout`: how long the leader may take to answer a link, and
    /// either end to take what is passed on.
    pub timeout: Duration,
}

/// The default name of a node: this machine's host name and send port.
pub fn default_node_name(send_port: u16) -> String {
    let host = crate::sys::host::name();
    let host = host.trim();
    format!("{}-{send_port}", if host.is_empty() { "node" } else { host })
}

/// Opens a node's storage: the schema brought up to date, the data
/// directory made the cluster's (its identity), the copy caught up with the log, and the node's part taken.
/// `node_port` is where it takes node links when it leads (`links.rs`):
/// bound once by `wachat serve`, as the client ports are, and handed to
/// each start of the node (a deposed leader starts again on it).
pub fn open(
    router: &Arc<Router>,
    options: &ClusterOptions,
    send_port: u16,
    node_port: std::net::TcpListener,
) -> Result<Storage> {
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
    let deliver = {
        let router = router.clone();
        Box::new(move |batch: &crate::store::state::Batch| router.written(batch))
    };
    // The shared log is the durable copy: this one needs no fsync.
    let store_options = StoreOptions { fsync: false, ..options.options.clone() };
    let shared = Arc::new(log::PgLog::new(db.clone()));
    checkpoint::prepare(&db, &options.data_dir, &store_options)?;
    let store =
        Arc::new(LocalStore::open_follower(&options.data_dir, store_options, deliver, shared.clone())?);
    let (restart, restarted) = crossbeam_channel::unbounded();
    let part = (store.clone(), shared);
    let at = node_port.local_addr().map_err(|e| Error::io("cluster: the node port", e))?;
    let ports = (node_port, options.timeout, options.tls.clone(), options.node_advertise);
    let node = node::Node::start(name.clone(), db.clone(), part, ports, restart)?;
    match options.node_advertise {
        Some(reached) => ::log::info!("cluster: node {name}, node links at {at}, reached at {reached}"),
        None => ::log::info!("cluster: node {name}, node links at {at}"),
    }
    Ok(Storage {
        backend: store.clone(),
        files: Some(Box::new(files::PgBlobs::new(db.clone()))),
        door: Some(Box::new(door::PgDoor::new(db, &name))),
        devices: Arc::new(crate::store::InLog::new(store)),
        node: Some((Box::new(node), restarted)),
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
impl NodeOf for Arc<node::Node> {
    fn started(&self, ctx: &Arc<Ctx>) -> Result<()> {
        node::Node::started(self, ctx)
    }

    fn stopping(&self) {
        node::Node::stopping(self);
    }

    fn stopped(&self) {
        node::Node::stopped(self);
    }
}
