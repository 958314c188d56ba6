//! Connections to PostgreSQL: how one is made, and a small pool of them.
//!
//! The `postgres` crate's client is synchronous: a request thread that
//! reads (`HISTORY`, `CHATS`, a login) borrows a connection from the pool,
//! runs its query and gives it back, like any blocking call. The committer
//! has a connection of its own (`committer.rs`). A connection that broke
//! (the database restarted) is not given back: the next borrower connects
//! anew, so the node recovers by itself when the database returns.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use postgres::{Client, NoTls};

use crate::error::{Error, Result};
use crate::protocol::{Code, Ko};

/// How long connecting to the database may take before the request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection idle for longer is checked (one round trip) before use.
const CHECK_AFTER: Duration = Duration::from_millis(500);

/// Idle connections kept for readers; more readers at once connect more
/// (and close them after).
const MAX_IDLE: usize = 16;

/// The database of a cluster, and the idle connections to it.
pub struct Db {
    config: postgres::Config,
    /// The URL without a password, for messages.
    pub url: String,
    /// Idle connections, each with when it was given back.
    idle: Mutex<Vec<(Client, Instant)>>,
}

impl Db {
    /// Parses `postgres://USER@HOST:PORT/DB`; connects nothing yet.
    pub fn new(url: &str) -> Result<Db> {
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| Error::Usage(format!("--store {url}: not a PostgreSQL URL: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.keepalives_idle(Duration::from_secs(10));
        config.application_name("wachat");
        config.options("-c client_min_messages=warning");
        let shown = match url.split_once('@') {
            Some((before, after)) if before.contains(':') && before.matches(':').count() > 1 => {
                format!("{}:***@{after}", before.rsplit_once(':').map_or(before, |b| b.0))
            }
            _ => url.to_string(),
        };
        Ok(Db { config, url: shown, idle: Mutex::new(Vec::new()) })
    }

    /// The database's name (it names the cluster's NATS subjects).
    pub fn name(&self) -> &str {
        self.config.get_dbname().unwrap_or("wachat")
    }

    /// A new connection (not from the pool).
    pub fn connect(&self) -> std::result::Result<Client, postgres::Error> {
        self.config.connect(NoTls)
    }

    /// A connection for a committer, which runs the same few statements
    /// for every batch, prepared once (`tx.rs`): each is planned once too
    /// (`plan_cache_mode`), not again for every batch. Its lookups are
    /// all by key (`writes.rs`), so one plan fits batches of any size.
    pub fn connect_committer(&self) -> std::result::Result<Client, postgres::Error> {
        let mut client = self.connect()?;
        client.batch_execute("SET plan_cache_mode = force_generic_plan")?;
        Ok(client)
    }

    /// A connection at start: an error says which database and why.
    pub fn connect_at_start(&self) -> Result<Client> {
        self.connect().map_err(|e| error(format!("cluster: {}", self.url), &e))
    }

    /// A connection from the pool (or a new one); `KO:INTERNAL` if the
    /// database cannot be reached.
    pub fn get(&self) -> std::result::Result<Conn<'_>, Ko> {
        let pooled = self.idle.lock().pop();
        let client = match pooled {
            // One idle for a while may have lost its server (a restart):
            // a round trip tells, before a request is failed for it.
            Some((mut client, since)) if !client.is_closed() => {
                if since.elapsed() < CHECK_AFTER || client.is_valid(CONNECT_TIMEOUT).is_ok() {
                    client
                } else {
                    self.idle.lock().clear(); // the others are from the same server: as dead
                    self.connect().map_err(|e| unavailable("connecting", &e))?
                }
            }
            _ => self.connect().map_err(|e| unavailable("connecting", &e))?,
        };
        Ok(Conn { db: self, client: Some(client) })
    }
}

/// A borrowed connection; back to the pool when dropped, unless broken.
pub struct Conn<'a> {
    db: &'a Db,
    client: Option<Client>,
}

impl Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let mut idle = self.db.idle.lock();
            if client.is_closed() {
                idle.clear(); // the database went away: the others are as dead
            } else if idle.len() < MAX_IDLE {
                idle.push((client, Instant::now()));
            }
        }
    }
}

/// A database error in words: the server's message when there is one
/// (`postgres::Error` alone says only "db error").
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// A database error at start or in `wachat migrate`, said with its context.
pub fn error(context: String, e: &postgres::Error) -> Error {
    Error::io(context, std::io::Error::other(describe(e)))
}

/// The `KO:INTERNAL` of a database error, logged with what was being done.
pub fn unavailable(doing: &str, e: &postgres::Error) -> Ko {
    log::warn!("cluster: database error while {doing}: {}", describe(e));
    down()
}

/// What a client is told while the database cannot be reached.
pub fn down() -> Ko {
    Ko::new(Code::Internal, "the database is unavailable; try again")
}

/// Shorthand: a database error while `doing` becomes `KO:INTERNAL`.
pub trait OrKo<T> {
    fn or_ko(self, doing: &str) -> std::result::Result<T, Ko>;
}

impl<T> OrKo<T> for std::result::Result<T, postgres::Error> {
    fn or_ko(self, doing: &str) -> std::result::Result<T, Ko> {
        self.map_err(|e| unavailable(doing, &e))
    }
}
