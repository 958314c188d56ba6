//! A cluster's door (`store::door`): the way a teacher's command
//! (`wachat users … --store`) reaches the node that leads.
//!
//! A teacher's request (`wachat users add|disable|invite --store …`) is a row
//! of `admin_requests`: the command inserts it and waits; the node that
//! holds the lease takes it (`FOR UPDATE SKIP LOCKED`), makes the
//! changes through its store, which writes them into the log, and writes
//! the answer into the row, which the command reads and deletes. No
//! other node takes one ([`PgDoor::next_request`]): a follower writes
//! nothing itself, and a leader deposed but not yet stopped could only
//! refuse it. With no node leading, the request waits for the next
//! leader, until the command gives up and deletes it: at its time limit,
//! or once no node has held the lease for [`NO_LEADER`] (none is running).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::db::{Db, OrKo};
use super::lease;
use crate::error::{Error, Result};
use crate::protocol::Ko;
use crate::store::door::{Asked, Door, Inquiry, LOOK_FOR_ANSWER};

/// The door in the cluster's database.
pub struct PgDoor {
    db: Arc<Db>,
    /// This node's name, written into the requests it takes (`None`: a
    /// command's door, which takes none).
    node: Option<String>,
}

/// How old a request left by a killed command is when the next command
/// deletes it.
const STALE_REQUEST_MS: i64 = 3_600_000;

/// How long a command waits while no node holds the lease before it
/// gives up: a failover gives the lease a new holder within a term and
/// its confirmation (`lease::TERM`, `lease::CONFIRM`: about 5 s), and a
/// leader renews it within a second of the database answering again; a
/// lease held by nobody for three times that means no node is running.
const NO_LEADER: Duration = Duration::from_secs(15);

impl PgDoor {
    /// The door of node `node`.
    pub fn new(db: Arc<Db>, node: &str) -> PgDoor {
        PgDoor { db, node: Some(node.to_string()) }
    }

    /// The door of the cluster at `--store` `store`, for `wachat users`
    /// (its nodes may be running): its schema brought up to date first,
    /// as a node's start does.
    pub fn open(store: &str) -> Result<PgDoor> {
        let db = Arc::new(Db::new(store)?);
        let mut client = db.connect_at_start()?;
        super::schema::upgrade(&mut client, &db.url)?;
        Ok(PgDoor { db, node: None })
    }

    /// The database's URL, without a password, for messages.
    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// `wachat users`' error for a `KO` of the database.
    pub fn error(&self, ko: Ko) -> Error {
        Error::Usage(format!("cluster: {}: {}", self.db.url, ko.reason))
    }

    /// The cluster's accounts as rows of `users.csv`, without its header,
    /// in the order they were made: the rows the leader's batches carry
    /// (`wachat users list --store` reads them, as a single server's
    /// command reads the file).
    pub fn accounts(&self) -> std::result::Result<Vec<u8>, Ko> {
        let mut conn = self.db.get()?;
        let rows = conn
            .query("SELECT users FROM log WHERE octet_length(users) > 0 ORDER BY pos", &[])
            .or_ko("reading the accounts")?;
        Ok(rows.iter().flat_map(|row| row.get::<Vec<u8>>(0)).collect())
    }
}

impl Door for PgDoor {
    /// Inserts the request (deleting those a killed command left), then
    /// reads its row until a node has answered, and deletes it; `None`
    /// past `within`, or once no node has held the lease for
    /// [`NO_LEADER`]. Each look borrows a connection of its own: one held
    /// through the whole wait would outlive the database calls' deadline
    /// and be cut.
    fn ask(&self, kind: Inquiry, body: &[u8], within: Duration) -> std::result::Result<Option<Vec<u8>>, Ko> {
        const DOING: &str = "asking the nodes";
        let now = crate::store::now_ms() as i64;
        let mut conn = self.db.get()?;
        conn.execute("DELETE FROM admin_requests WHERE asked_ms < $1", &[&(now - STALE_REQUEST_MS)])
            .or_ko(DOING)?;
        let row = conn
            .query_one(
                "INSERT INTO admin_requests (kind, body, asked_ms) VALUES ($1, $2, $3) RETURNING id",
                &[&kind.name(), &body, &now],
            )
            .or_ko(DOING)?;
        drop(conn);
        let id: i64 = row.get(0);
        let deadline = Instant::now() + within;
        let mut leaderless = None;
        let answer = loop {
            let mut conn = self.db.get()?;
            let row =
                conn.query_one("SELECT answer FROM admin_requests WHERE id = $1", &[&id]).or_ko(DOING)?;
            if let Some(answer) = row.get::<Option<Vec<u8>>>(0) {
                break Some(answer);
            }
            let led = lease::read(&mut conn).or_ko(DOING)?.is_some_and(|lease| !lease.expired);
            drop(conn);
            if led {
                leaderless = None;
            } else {
                leaderless.get_or_insert_with(Instant::now);
            }
            if Instant::now() > deadline || leaderless.is_some_and(|since| since.elapsed() >= NO_LEADER) {
                break None;
            }
            std::thread::sleep(LOOK_FOR_ANSWER);
        };
        self.db.get()?.execute("DELETE FROM admin_requests WHERE id = $1", &[&id]).or_ko(DOING)?;
        Ok(answer)
    }

    /// The oldest request nobody took, taken by this node only while it
    /// holds the lease (see the module documentation).
    fn next_request(&self) -> Option<Asked> {
        let node = self.node.as_deref()?;
        let taken = self.db.get().and_then(|mut conn| {
            conn.query_opt(
                "UPDATE admin_requests SET taken_by = $1 WHERE id = (SELECT id FROM admin_requests \
                 WHERE taken_by IS NULL AND EXISTS (SELECT 1 FROM lease WHERE holder = $1) \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, kind, body",
                &[&node],
            )
            .or_ko("taking a request of wachat users")
        });
        let row = taken.ok()??;
        let kind: String = row.get(1);
        match Inquiry::named(&kind) {
            Some(kind) => Some(Asked { kind, body: row.get(2), key: row.get(0) }),
            None => {
                // A newer command's kind: answered with nothing, which the
                // command reads as the server not knowing it.
                let asked = Asked { kind: Inquiry::Status, body: Vec::new(), key: row.get(0) };
                let _ = self.answer(&asked, b"");
                log::warn!("cluster: a request of wachat users of an unknown kind {kind:?}: answered empty");
                None
            }
        }
    }

    fn answer(&self, asked: &Asked, answer: &[u8]) -> std::result::Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("UPDATE admin_requests SET answer = $2 WHERE id = $1", &[&asked.key, &answer])
            .or_ko("answering a request of wachat users")?;
        Ok(())
    }
}
