//! # The class network (protocol 1.3, docs/PROTOCOL.md §27)
//!
//! Servers linked by a class roster: ana on `lab1` writes to `bob@lab2`,
//! `lab1` holds the message (custody) and carries it over a **link** to
//! `lab2`, which delivers it as any message; statuses come back the same
//! way, and a message the network cannot deliver is bounced to its
//! author. Everything a link stores — the queue for each peer, how far
//! each peer's frames were taken, the identity each presented — is
//! records of the store (`store::state::remote`, `store::local::link`),
//! applied by the same code as a client's: this module only moves frames.
//!
//! | file | what |
//! |---|---|
//! | `roster.rs` | the roster file, read again when it changes |
//! | `links.rs` | what the links share ([`Federation`]) and their limits |
//! | `asked.rs` | what the server's handlers ask of the links (`server::links::Links`): routes, each link for the metrics, the told frames of calls, people and profiles |
//! | `key.rs` | this server's link key (made in its data directory) and the TLS both ends of a link speak with it |
//! | `accept.rs` | the link port: one thread per connection, TLS; the hello, then each frame read, at most a rate a second, and handed to its family |
//! | `doorway.rs` | who may hold the link port's connections: strangers in a room of their own, most from whoever holds most, and the roster's servers, known by their keys, in theirs |
//! | `frames/` | each family of frames (`protocol::link`'s table): what the acceptor does with its frames and how the dialer sends them, a file a family, one `match` |
//! | `outbound.rs` | each peer's outbound queue: the store's queue for it (numbered frames, rung once on disk) and the told frames a handler has for it, each with its reply slot, at most `SIGNALS_WAITING` |
//! | `dial.rs` | one thread per peer: dials it while something waits for it, replays from its `OK:<last>`, says the told frames, sends the queue in windows, records the answers, waits with backoff while it is unreachable, bounces past the give-up age |
//!
//! Threads: `accept-link`, a handler thread per link connection (at most
//! [`doorway::MAX_LINKS`] at once, the strangers among them far fewer), a `link-<peer>` dialer per peer of the
//! roster, and `roster`, which reads the roster each second and starts
//! the dialer of a peer added to it (a dialer whose peer left ends). No async: each blocks on its one socket, with deadlines.
//!
//! **A cluster is one server of the network.** Every node reads the
//! roster and binds its link port, and every node routes its clients'
//! addresses; but only the leader links: its dialers send the queues
//! (which are the replicated state's, so a new leader has them), it takes
//! the frames, and it says where it takes links with a record every node
//! applies ((`LocalStore::advertise_link`)). A follower's dialers wait,
//! and a link a follower is given goes to the leader through it, byte for
//! byte, TLS and all (`accept::relay`): the roster may name any node. So
//! the nodes of a cluster have one link key: each node's data directory
//! holds a copy of the same `link-key.pem` and `link-cert.pem`
//! (docs/CLUSTER.md).

mod accept;
mod asked;
mod dial;
pub mod doorway;
mod frames;
pub mod key;
pub mod links;
mod outbound;
pub mod roster;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::server::Ctx;
use links::Federation;
use roster::RosterFile;

/// Default `--link-port`.
pub const LINK_PORT: u16 = 7001;

/// Reads `90s`, `10m`, `24h`, `2d`, or a number of seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("{s:?} is not a duration (90s, 10m, 24h, 2d)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// The flags of the class network.
pub struct Options {
    pub name: String,
    pub peers: std::path::PathBuf,
    pub link_port: SocketAddr,
    pub give_up: Duration,
    /// `--people-across`: whether this server answers other servers'
    /// searches of its people (`people.rs`).
    pub list_people: bool,
}

/// Starts the links of `ctx`'s server: binds the link port, reads the
/// roster, starts the accept thread and the roster's watcher (a dialer
/// per peer, as the roster is now). Returns the federation, the link
/// port's address and the accept thread (joined at shutdown, woken by a
/// connection).
pub fn start(ctx: &Arc<Ctx>, options: Options) -> Result<(Arc<Federation>, SocketAddr, JoinHandle<()>)> {
    let mut file = RosterFile::new(&options.peers);
    let roster = file.reload(&options.name).map_err(Error::Usage)?.expect("a first read");
    let identity = ctx.store.server().id.to_string();
    let key = key::LinkKey::load_or_make(&ctx.config.data_dir)?;
    match &roster.me.fingerprint {
        Some(listed) if key::same(listed, &key.fingerprint) => {}
        listed => log::warn!(
            "link: the roster's line for {} has {} but this server's link key ({}) has the fingerprint {}: \
             peers refuse its links until the roster has its line as `wachat roster-line` prints it",
            roster.me.name,
            listed.as_deref().map_or("no fingerprint".to_string(), |f| format!("the fingerprint {f}")),
            ctx.config.data_dir.join(key::KEY_FILE).display(),
            key.fingerprint
        ),
    }
    let acceptor = key.acceptor()?;
    let listener = crate::server::listener::bind(options.link_port)?;
    let addr = listener.local_addr()?;
    // An address any node of the cluster reaches: the machine's name
    // if the port is bound to every address.
    let link_at = if addr.ip().is_unspecified() {
        format!("{}:{}", crate::sys::host::name(), addr.port())
    } else {
        addr.to_string()
    };
    let federation = Arc::new(Federation {
        me: roster.me.name.clone(),
        roster: RwLock::new(Arc::new(roster)),
        file: Mutex::new(file),
        identity,
        give_up: options.give_up,
        timeout: ctx.config.timeout,
        max_frame: ctx.config.max_frame,
        key,
        acceptor,
        links_open: Mutex::default(),
        link_at,
        advertised: Default::default(),
        incoming: Mutex::default(),
        outbound: RwLock::default(),
        status: Arc::default(),
        people: frames::counts::PeopleAcross::new(options.list_people),
        ctx: Arc::downgrade(ctx),
    });
    let _ = ctx.federation.set(federation.clone());
    ctx.remote_seen.enable();
    let links = Arc::downgrade(&federation);
    ctx.router.on_queued(Box::new(move |batch| {
        if let Some(f) = links.upgrade() {
            f.queued(batch);
        }
    }));
    let accept = accept::spawn(listener, federation.clone())?;
    dial::spawn_watcher(&federation)?;
    Ok((federation, addr, accept))
}
