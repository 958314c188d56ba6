//! The files of chats on a cluster (protocol 1.2, §21):
//! the `files`, `file_chunks` and `file_carriers` tables, so that a file
//! uploaded through one node is fetched through any other.
//!
//! Why PostgreSQL and not a shared directory or an object store: it is
//! already what every node reaches, it is the cluster's durable store,
//! and the failover set-up replicates it (docs/CLUSTER-OPS.md). A file is
//! then as safe as the message that carries it, and one more service is
//! not needed to run a cluster in a class.
//!
//! Two stores that keep rows, and decide nothing: [`PgFiles`], a
//! [`FileStore`], keeps the descriptions (`files`, `file_carriers`);
//! [`PgBlobs`], [`Blobs`], the bytes (`file_chunks`, and each upload's
//! `received`). What is allowed (quota, who fetches, the sweep, when a
//! `DELETE` takes the bytes, what an account's deletion changes) is
//! decided by `store::files::Files`, for these stores and the disk's alike.
//!
//! Bytes are never whole in memory: a part uploaded is one row of
//! `file_chunks` (at most 12,000 bytes), a download reads the one or two
//! rows it spans, and the last part's sha256 (unless the parts
//! committer hashed every part: [`PgBlobs::digest`]) and thumbnail read
//! the rows back in batches ([`UploadReader`]). Each change is committed before
//! its `OK`: the parts waiting share one transaction (`parts/`), every
//! other change is one on a pooled connection.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::Row;

use super::db::{Db, OrKo};
use super::parts::Parts;
use crate::protocol::Ko;
use crate::protocol::files::PART_BYTES;
use crate::protocol::names::fold;
use crate::store::files::{Blobs, Carrier, FileStore, Footprint, Left, Meta, ReadSeek, Stored};

/// The descriptions of a cluster's files, in its database: `files` and
/// `file_carriers`.
pub struct PgFiles {
    db: Arc<Db>,
}

impl PgFiles {
    pub fn new(db: Arc<Db>) -> PgFiles {
        PgFiles { db }
    }
}

/// The bytes of a cluster's files, in its database: `file_chunks`, and
/// the bytes received of each upload (the `received` of its `files` row).
pub struct PgBlobs {
    db: Arc<Db>,
    /// Where the parts go: committed several at a time.
    parts: Parts,
}

impl PgBlobs {
    pub fn new(db: Arc<Db>) -> PgBlobs {
        PgBlobs { parts: Parts::new(db.clone()), db }
    }
}

/// The columns of `files` that [`meta_of`] reads, in its order.
const META: &str = "id, owner, name, size, sha256, type, created, complete";

/// A file's row (without its carriers), and its id.
fn meta_of(row: &Row) -> (String, Meta) {
    let meta = Meta {
        owner: row.get(1),
        name: row.get(2),
        size: row.get::<_, i64>(3) as u64,
        sha256: row.get(4),
        kind: row.get(5),
        created: row.get::<_, i64>(6) as u64,
        complete: row.get(7),
        carriers: Vec::new(),
    };
    (row.get(0), meta)
}

/// The files of `query` (selecting [`META`]) read through `client` (a
/// connection, or a transaction), each with its carriers.
fn files_of(
    client: &mut impl postgres::GenericClient,
    query: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<(String, Meta)>, Ko> {
    const DOING: &str = "reading files";
    let mut files: Vec<(String, Meta)> =
        client.query(query, params).or_ko(DOING)?.iter().map(meta_of).collect();
    if files.is_empty() {
        return Ok(files);
    }
    let ids: Vec<&str> = files.iter().map(|(id, _)| id.as_str()).collect();
    let rows = client
        .query(
            "SELECT file, sender, chat, msg, author_left, recipient_left FROM file_carriers \
             WHERE file = ANY($1) ORDER BY attached",
            &[&ids],
        )
        .or_ko(DOING)?;
    for row in rows {
        let file: &str = row.get(0);
        if let Some((_, meta)) = files.iter_mut().find(|(id, _)| id == file) {
            let left = Left { author: row.get(4), recipient: row.get(5) };
            meta.carriers.push(Carrier { from: row.get(1), to: row.get(2), id: row.get(3), left });
        }
    }
    Ok(files)
}

impl FileStore for PgFiles {
    /// The owner's turn is a transaction-scoped advisory lock on its
    /// name: two nodes' uploads of one owner take turns, and the second
    /// sums the first's reservation.
    fn create(&self, id: &str, meta: &Meta, allow: &dyn Fn(Footprint) -> Result<(), Ko>) -> Result<(), Ko> {
        const DOING: &str = "recording an upload";
        let owner_key = fold(&meta.owner);
        let mut conn = self.db.get()?;
        let mut tx = conn.transaction().or_ko(DOING)?;
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&FILES_LOCK, &owner_key])
            .or_ko(DOING)?;
        allow(usage_of(&mut tx, &owner_key)?)?;
        tx.execute(
            "INSERT INTO files (id, owner, owner_key, name, size, sha256, type, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &meta.owner,
                &owner_key,
                &meta.name,
                &(meta.size as i64),
                &meta.sha256,
                &meta.kind,
                &(meta.created as i64),
            ],
        )
        .or_ko(DOING)?;
        tx.commit().or_ko(DOING)
    }

    fn meta(&self, id: &str) -> Result<Option<Meta>, Ko> {
        let query = format!("SELECT {META} FROM files WHERE id = $1");
        Ok(files_of(&mut *self.db.get()?, &query, &[&id])?.pop().map(|(_, meta)| meta))
    }

    fn finish(&self, id: &str, kind: &str) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("UPDATE files SET complete = true, type = $2 WHERE id = $1", &[&id, &kind])
            .or_ko("completing a file")
            .map(drop)
    }

    fn carry(&self, id: &str, c: &Carrier) -> Result<bool, Ko> {
        let mut conn = self.db.get()?;
        let (from_key, to_key, _) = c.key();
        let added = conn
            .execute(
                "INSERT INTO file_carriers (file, sender, chat, msg, sender_key, chat_key) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&id, &c.from, &c.to, &c.id, &from_key, &to_key],
            )
            .or_ko("recording a file's message")?;
        Ok(added == 1)
    }

    fn uncarry(&self, c: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        let (from_key, to_key, id) = c.key();
        let row = {
            let mut conn = self.db.get()?;
            conn.query_opt(
                "DELETE FROM file_carriers WHERE sender_key = $1 AND chat_key = $2 AND msg = $3 RETURNING file",
                &[&from_key, &to_key, &id],
            )
            .or_ko("forgetting a file's message")?
        };
        let Some(row) = row else { return Ok(None) };
        let file: String = row.get(0);
        Ok(self.meta(&file)?.map(|meta| (file, meta)))
    }

    fn carried(&self, c: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        let (from_key, to_key, id) = c.key();
        let query = format!(
            "SELECT {META} FROM files WHERE id = (SELECT file FROM file_carriers \
             WHERE sender_key = $1 AND chat_key = $2 AND msg = $3)"
        );
        Ok(files_of(&mut *self.db.get()?, &query, &[&from_key, &to_key, &id])?.pop())
    }

    /// Its chunks and carriers go with it (`ON DELETE CASCADE`).
    fn remove(&self, id: &str) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("DELETE FROM files WHERE id = $1", &[&id]).or_ko("removing a file").map(drop)
    }

    fn of_owner(&self, owner: &str) -> Result<Vec<(String, Meta)>, Ko> {
        let query = format!("SELECT {META} FROM files WHERE owner_key = $1");
        files_of(&mut *self.db.get()?, &query, &[&fold(owner)])
    }

    /// One sum by the owner's index: asked for each burst of messages.
    fn usage(&self, owner: &str) -> Result<Footprint, Ko> {
        let mut conn = self.db.get()?;
        usage_of(&mut *conn, &fold(owner))
    }

    /// By the index of the uploads under way (`files_uploads`, on `created`).
    fn stale(&self, before: u64, limit: usize) -> Result<Vec<String>, Ko> {
        let mut conn = self.db.get()?;
        let rows = conn
            .query(
                "SELECT id FROM files WHERE NOT complete AND created <= $1 ORDER BY created LIMIT $2",
                &[&(before as i64), &(limit as i64)],
            )
            .or_ko("listing uploads")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// By the owner's and the carriers' indexes (a room's `chat_key`
    /// begins with `#`: never a name's).
    fn concerning(&self, name: &str) -> Result<Vec<String>, Ko> {
        let mut conn = self.db.get()?;
        let rows = conn
            .query(
                "SELECT id FROM files WHERE owner_key = $1 AND owner_key <> '' \
                 UNION SELECT file FROM file_carriers WHERE sender_key = $1 \
                 UNION SELECT file FROM file_carriers WHERE chat_key = $1",
                &[&fold(name)],
            )
            .or_ko("reading a deleted account's files")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// One transaction, in which the file's row is locked first: the
    /// changes of one file take turns, on any node.
    fn reassign(&self, id: &str, change: &dyn Fn(&mut Meta) -> bool) -> Result<Option<(Meta, bool)>, Ko> {
        const DOING: &str = "changing whose a file is";
        let mut conn = self.db.get()?;
        let mut tx = conn.transaction().or_ko(DOING)?;
        let query = format!("SELECT {META} FROM files WHERE id = $1 FOR UPDATE");
        let Some((_, mut meta)) = files_of(&mut tx, &query, &[&id])?.pop() else { return Ok(None) };
        let before = meta.clone();
        if !change(&mut meta) {
            return Ok(Some((meta, false)));
        }
        if meta.owner != before.owner {
            tx.execute(
                "UPDATE files SET owner = $2, owner_key = $3 WHERE id = $1",
                &[&id, &meta.owner, &fold(&meta.owner)],
            )
            .or_ko(DOING)?;
        }
        for (now, was) in meta.carriers.iter().zip(&before.carriers).filter(|(now, was)| now.left != was.left)
        {
            let (from_key, to_key, msg) = was.key();
            tx.execute(
                "UPDATE file_carriers SET author_left = $4, recipient_left = $5 \
                 WHERE sender_key = $1 AND chat_key = $2 AND msg = $3",
                &[&from_key, &to_key, &msg, &now.left.author, &now.left.recipient],
            )
            .or_ko(DOING)?;
        }
        tx.commit().or_ko(DOING)?;
        Ok(Some((meta, true)))
    }
}

impl Blobs for PgBlobs {
    /// Nothing: the upload's `files` row, made with its description,
    /// holds the bytes received (0).
    fn begin(&self, _id: &str) -> Result<(), Ko> {
        Ok(())
    }

    fn received(&self, id: &str) -> Result<u64, Ko> {
        let mut conn = self.db.get()?;
        let row =
            conn.query_opt("SELECT received FROM files WHERE id = $1", &[&id]).or_ko("reading an upload")?;
        Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
    }

    /// Through the parts committer ([`Parts`]), waited for.
    fn append(&self, id: &str, offset: u64, data: &[u8]) -> Result<(), Ko> {
        let (done, stored) = crossbeam_channel::bounded(1);
        self.parts.append(id, offset, data.to_vec(), Box::new(move |r| drop(done.send(r))));
        stored.recv().unwrap_or_else(|_| Err(super::db::down()))
    }

    fn appends_later(&self) -> bool {
        true
    }

    /// Queued for a commit shared with the parts waiting (`parts/`).
    fn append_later(&self, id: &str, offset: u64, data: Vec<u8>, then: Stored) {
        self.parts.append(id, offset, data, then);
    }

    /// The parts committer's hash ([`Parts::digest`]), if the rows hold
    /// `size` bytes end to end from offset 0: what the hash cannot see
    /// (an offset written wrong, a row twice or missing) read from the
    /// rows' offsets and lengths, not their bytes (`length` of a bytea
    /// stored apart, TOAST, reads its header only).
    fn digest(&self, id: &str, size: u64) -> Result<Option<String>, Ko> {
        let Some(digest) = self.parts.digest(id, size) else { return Ok(None) };
        let mut conn = self.db.get()?;
        let row = conn
            .query_one(
                "SELECT count(*) FILTER (WHERE off <> coalesce(ended, 0)), coalesce(sum(len), 0)::bigint \
                 FROM (SELECT off, length(data) AS len, lag(off + length(data)) OVER (ORDER BY off) AS ended \
                       FROM file_chunks WHERE file = $1 AND NOT thumb) AS rows",
                &[&id],
            )
            .or_ko("checking an upload")?;
        let (gaps, bytes): (i64, i64) = (row.get(0), row.get(1));
        Ok((gaps == 0 && bytes as u64 == size).then_some(digest))
    }

    fn open(&self, id: &str) -> Result<Box<dyn ReadSeek + '_>, Ko> {
        let size = self.received(id)?;
        Ok(Box::new(UploadReader {
            db: &self.db,
            id: id.to_string(),
            size,
            pos: 0,
            buf: Vec::new(),
            buf_at: 0,
        }))
    }

    /// The thumbnail's chunks, in one transaction.
    fn seal(&self, id: &str, thumbnail: Option<&[u8]>) -> Result<(), Ko> {
        const DOING: &str = "storing a thumbnail";
        let Some(thumbnail) = thumbnail else { return Ok(()) };
        let mut conn = self.db.get()?;
        let mut tx = conn.transaction().or_ko(DOING)?;
        for (i, chunk) in thumbnail.chunks(PART_BYTES).enumerate() {
            tx.execute(
                "INSERT INTO file_chunks (file, thumb, off, data) VALUES ($1, true, $2, $3) ON CONFLICT DO NOTHING",
                &[&id, &((i * PART_BYTES) as i64), &chunk],
            )
            .or_ko(DOING)?;
        }
        tx.commit().or_ko(DOING)
    }

    /// The rows that `[offset, offset + PART_BYTES)` spans: the one that
    /// holds `offset`, and those that begin before the end.
    fn read(&self, id: &str, thumb: bool, offset: u64) -> Result<Vec<u8>, Ko> {
        let mut conn = self.db.get()?;
        let rows = conn
            .query(
                "SELECT off, data FROM file_chunks WHERE file = $1 AND thumb = $2 AND off < $3::bigint + $4::bigint \
                 AND off >= (SELECT coalesce(max(off), 0) FROM file_chunks \
                             WHERE file = $1 AND thumb = $2 AND off <= $3) \
                 ORDER BY off",
                &[&id, &thumb, &(offset as i64), &(PART_BYTES as i64)],
            )
            .or_ko("reading a file")?;
        let mut out = Vec::with_capacity(PART_BYTES);
        for row in rows {
            let (off, data): (i64, &[u8]) = (row.get(0), row.get(1));
            let skip = (offset.saturating_sub(off as u64) as usize).min(data.len());
            let room = PART_BYTES - out.len();
            out.extend_from_slice(&data[skip..data.len().min(skip + room)]);
        }
        Ok(out)
    }

    /// Its chunks and its thumbnail's (its `files` row takes them too).
    fn remove(&self, id: &str) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("DELETE FROM file_chunks WHERE file = $1", &[&id]).or_ko("removing a file").map(drop)
    }
}

/// The first key of the advisory locks of uploads (the second is the
/// owner's name hashed): a number no other lock of wachat's uses.
const FILES_LOCK: i32 = 0x6669_6c65; // "file"

/// What the files of `owner_key` take, complete or not.
fn usage_of(client: &mut impl postgres::GenericClient, owner_key: &str) -> Result<Footprint, Ko> {
    let row = client
        .query_one(
            "SELECT coalesce(sum(size), 0)::bigint, count(*) FILTER (WHERE NOT complete) \
             FROM files WHERE owner_key = $1",
            &[&owner_key],
        )
        .or_ko("reading a quota")?;
    Ok(Footprint { bytes: row.get::<_, i64>(0) as u64, pending: row.get::<_, i64>(1) as u64 })
}

/// Rows of `file_chunks` fetched per round trip while reading back.
const BATCH: i64 = 64;

/// An upload's bytes read back from its chunks, [`BATCH`] rows at a time
/// (768 KB): what its sha256 and its thumbnail read.
struct UploadReader<'a> {
    db: &'a Db,
    id: String,
    size: u64,
    pos: u64,
    /// Bytes from `buf_at` on, the last batch read.
    buf: Vec<u8>,
    buf_at: u64,
}

impl UploadReader<'_> {
    /// Reads the batch of rows from the one holding `pos`.
    fn fill(&mut self) -> io::Result<()> {
        let mut conn = self.db.get().map_err(|ko| io::Error::other(ko.reason))?;
        let rows = conn
            .query(
                "SELECT off, data FROM file_chunks WHERE file = $1 AND NOT thumb \
                 AND off >= (SELECT coalesce(max(off), 0) FROM file_chunks \
                             WHERE file = $1 AND NOT thumb AND off <= $2) \
                 ORDER BY off LIMIT $3",
                &[&self.id, &(self.pos as i64), &BATCH],
            )
            .map_err(|e| io::Error::other(super::db::describe(&e)))?;
        self.buf.clear();
        self.buf_at = rows.first().map_or(self.pos, |row| row.get::<_, i64>(0) as u64);
        for row in &rows {
            self.buf.extend_from_slice(row.get::<_, &[u8]>(1));
        }
        Ok(())
    }
}

impl Read for UploadReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size {
            return Ok(0);
        }
        let held = self.buf_at..self.buf_at + self.buf.len() as u64;
        if !held.contains(&self.pos) {
            self.fill()?;
        }
        let start = (self.pos - self.buf_at) as usize;
        if start >= self.buf.len() {
            return Ok(0); // fewer rows than `size` says: the end
        }
        let n = out.len().min(self.buf.len() - start);
        out[..n].copy_from_slice(&self.buf[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for UploadReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
