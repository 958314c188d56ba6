//! # Several `wachat serve` nodes, one chat (`--features cluster`)
//!
//! One server holds about 10,000 users (a thread per connection, 20,000
//! descriptors). Past that, or to watch a node die in a class, several
//! nodes share one truth, kept by engines built for it: **PostgreSQL**
//! holds what the CSV store holds, **NATS** carries events between nodes.
//! A client cannot tell a node from a single server: the protocol is the
//! same, byte for byte.
//!
//! ```text
//!   clients ──▶ node A ──┐                 ┌── node B ◀── clients
//!               │ PgBackend (committer,    │   │
//!               │  pooled readers)         │   │
//!               └──────▶ PostgreSQL ◀──────┘   │   every change, in one
//!               │                              │   transaction per batch
//!               └──── NATS: events, sessions ──┘   after commit
//! ```
//!
//! | file | what it is |
//! |---|---|
//! | [`accounts`] | a user's own account (1.2): a new password, a deleted account |
//! | [`db`] | connections to PostgreSQL (`--store`, one host or several: a failover followed), their deadlines, and the readers' pool |
//! | [`watchdog`] | cuts a connection to a database that does not answer in time (a frozen primary) |
//! | [`schema`] | the versioned migrations (`migrations/NNN_name.sql`), applied at start |
//! | [`backend`] | [`PgBackend`](backend::PgBackend): the server's `Backend` on PostgreSQL |
//! | [`committer`] | group commit: one transaction per batch of requests |
//! | [`job`], [`apply`], [`locks`], [`work`], [`writes`] | what a batch's transaction does: its jobs and their answers ([`job`]), its steps in order ([`apply`]), its locking reads ([`locks`]), the work in memory ([`work`]), the rows and statements ([`writes`]) |
//! | [`budget`] | `--inbox-max`, `--user-quota` and a full disk: `KO:FULL` as on one server |
//! | [`runs`] | a room message lengthens a member's last stored run, across batches |
//! | [`tx`] | a transaction with its prepared statements, planned once per connection |
//! | [`reads`] | `HISTORY`, `CHATS`, the inbox replay, … |
//! | [`devices`] | every user's devices (positions, tokens), shared by the nodes |
//! | [`names`] | user names ⇄ ids, remembered |
//! | [`bus`] | the NATS client on its one bridge thread |
//! | [`notice`] | what nodes say to each other, one line each |
//! | [`sessions`] | a receive session per device (`device_sessions`) |
//! | [`directory`] | a node's picture of the other nodes' sessions, kept by notices and the heartbeat's scan |
//! | [`settings`] | a user's settings (1.2, §22, §23: blocks, levels and pins, archived chats, stars), one transaction each |
//! | [`node`] | sessions (`BYE:REPLACED` across nodes), the directory, heartbeats; the one place where events cross between nodes (`Nodes::relay`) |
//! | [`kept`] | the calls other nodes keep, each with its node (1.2): a call's signals go to that node alone, and a new call is judged against them |
//! | [`dispatch`] | the dispatcher thread: what the bus brings a node from the others |
//! | [`presence`] | the presence thread: `JOINED`/`LEFT` of other nodes' users, off the dispatcher |
//! | [`heartbeat`] | the node's heartbeat, its scan of every live device session, and the poll thread |
//! | [`files`] | photos and files (1.2): their bytes in chunks, so that any node serves any file |
//! | [`parts`] | group commit of upload parts: the `PART`s waiting share one transaction |
//! | [`door`] | who may come in: invite codes (1.2, `REDEEM`) and disabled accounts, rows every node reads |
//! | [`feeder`] | events into receive connections with no hole; the poll that refills |
//! | [`memory`] | reads kept to answer from while no primary does (logins of known users, `ROOMS`, `MEMBERS`, `LASTSEEN`) |
//! | [`migrate`] | `wachat migrate`: a single server's data directory into a cluster |
//!
//! docs/CLUSTER.md tells how to run one, and what it measured.

pub mod accounts;
#[cfg(test)]
mod agree;
pub mod apply;
pub mod backend;
pub mod budget;
pub mod bus;
pub mod committer;
pub mod db;
pub mod devices;
pub mod directory;
pub mod dispatch;
pub mod door;
pub mod erase;
pub mod feeder;
pub mod files;
pub mod heartbeat;
pub mod job;
pub mod kept;
pub mod locks;
pub mod memory;
pub mod migrate;
pub mod moderation;
pub mod names;
pub mod node;
pub mod notice;
pub mod parts;
pub mod presence;
pub mod reads;
pub mod runs;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod tx;
pub mod watchdog;
pub mod work;
pub mod writes;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::router::Router;
use crate::server::Storage;
use crate::store::Delivery;

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
    /// `--inbox-max` and `--user-quota` (`budget.rs`); `--min-free` is
    /// not a node's: the disk that fills is the database's.
    pub budget: crate::store::budget::Budget,
}

/// How long a starting node waits for NATS before serving without it.
const BUS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The default name of a node: this machine's host name and send port.
pub fn default_node_name(send_port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("{}-{send_port}", if host.is_empty() { "node" } else { host })
}

/// Opens the cluster's storage for a server: the schema brought up to
/// date, the bus connected, the committer and the node's threads started.
pub fn open(
    router: &Arc<Router>,
    options: &ClusterOptions,
    (presence_limit, max_devices): (usize, usize),
    send_port: u16,
) -> Result<Storage> {
    let db = Arc::new(db::Db::new(&options.store)?);
    let mut client = db.connect_at_start()?;
    let was = schema::upgrade(&mut client, &db.url)?;
    log::info!("cluster: {} at schema version {} (was {was})", db.url, schema::current());
    let name = options.node.clone().unwrap_or_else(|| default_node_name(send_port));
    if name.is_empty() || name.len() > 64 || name.contains(char::is_whitespace) {
        return Err(Error::Usage(format!("--node {name:?}: 1 to 64 characters, no spaces")));
    }
    // Sessions an earlier run of this node left behind are over.
    let stale =
        sessions::end_node(&mut client, &name).map_err(|e| db::error(format!("cluster: {}", db.url), &e))?;
    if stale > 0 {
        log::info!("cluster: {stale} sessions of an earlier run of node {name} ended");
    }
    drop(client);
    let prefix = format!("wachat.{}", node::token(db.name()));
    let (arrived, incoming) = crossbeam_channel::unbounded();
    let bus = bus::Bus::start(&options.bus, &name, node::Node::subjects(&prefix, &name), arrived)?;
    // A node can run without the bus (events come by polling), but starts
    // better with it: wait a moment for the first connection.
    let deadline = std::time::Instant::now() + BUS_WAIT;
    while !bus.is_up() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if !bus.is_up() {
        log::warn!(
            "cluster: NATS at {} is not answering; events will come by polling until it does",
            options.bus
        );
    }
    log::info!("cluster: node {name}, bus {} (subjects {prefix}.*)", options.bus);
    // Invite codes, disabled accounts and teachers' requests, the same on
    // every node.
    let door: Option<Box<dyn crate::store::door::Door>> =
        Some(Box::new(door::PgDoor::new(db.clone(), &name)));
    let node = Arc::new(node::Node::new(
        name,
        prefix,
        db.clone(),
        bus,
        router.clone(),
        (presence_limit, max_devices),
    ));
    let names = Arc::new(names::Names::default());
    let deliver = {
        let node = node.clone();
        Box::new(move |deliveries: &[Delivery]| node.deliver(deliveries))
    };
    let committer = committer::Committer::start(db.clone(), names.clone(), deliver, options.budget)?;
    node.start_threads(incoming)?;
    // 1.2: the files of chats in the database, where any node finds them.
    let files: Option<Box<dyn crate::store::files::FileStore>> =
        Some(Box::new(files::PgFiles::new(db.clone())));
    let backend = Arc::new(backend::PgBackend { db, names, committer, memory: Default::default() });
    Ok(Storage { backend, nodes: node, files, door, disk: Arc::new(crate::store::disk::RealDisk) })
}
