//! The bytes of the files of chats on a cluster (protocol 1.2, §21): the
//! `file_blobs` and `file_chunks` tables, so that a file uploaded through
//! one node is fetched through any other. Their descriptions are records
//! of the log (`FILE`, `store::local::FilesInLog`), which every node
//! applies, as on a single server.
//!
//! Why PostgreSQL and not a shared directory or an object store: it is
//! already what every node reaches, it is the cluster's durable store,
//! and the failover set-up replicates it (docs/CLUSTER-OPS.md). A file is
//! then as safe as the message that carries it, and one more service is
//! not needed to run a cluster in a class.
//!
//! [`PgBlobs`], a [`Blobs`], keeps rows and decides nothing: a file's
//! bytes (`file_chunks`) and how many of them its upload received
//! (`file_blobs`). What is allowed (quota, who fetches, the sweep, when a
//! `DELETE` takes the bytes, what an account's deletion changes) is
//! decided by `store::files::Files`, for these bytes and the disk's alike.
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

use super::db::{Db, OrKo};
use super::parts::Parts;
use crate::protocol::Ko;
use crate::protocol::files::PART_BYTES;
use crate::store::files::{Blobs, ReadSeek, Stored};

/// The bytes of a cluster's files, in its database: `file_chunks`, and
/// the bytes received of each upload (the `received` of its `file_blobs` row).
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

impl Blobs for PgBlobs {
    /// Its `file_blobs` row: no bytes received yet.
    fn begin(&self, id: &str) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("INSERT INTO file_blobs (file) VALUES ($1) ON CONFLICT DO NOTHING", &[&id])
            .or_ko("making room for an upload")
            .map(drop)
    }

    fn received(&self, id: &str) -> Result<u64, Ko> {
        let mut conn = self.db.get()?;
        let row = conn
            .query_opt("SELECT received FROM file_blobs WHERE file = $1", &[&id])
            .or_ko("reading an upload")?;
        Ok(row.map_or(0, |row| row.get::<i64>(0) as u64))
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

    /// Its `file_blobs` row, and with it (`ON DELETE CASCADE`) its
    /// chunks and its thumbnail's.
    fn remove(&self, id: &str) -> Result<(), Ko> {
        let mut conn = self.db.get()?;
        conn.execute("DELETE FROM file_blobs WHERE file = $1", &[&id]).or_ko("removing a file").map(drop)
    }

    /// Every `file_blobs` row's (one column of the table's primary key).
    fn kept(&self) -> Result<Vec<String>, Ko> {
        let mut conn = self.db.get()?;
        let rows = conn.query("SELECT file FROM file_blobs", &[]).or_ko("listing the files")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
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
        self.buf_at = rows.first().map_or(self.pos, |row| row.get::<i64>(0) as u64);
        for row in &rows {
            self.buf.extend_from_slice(row.get::<&[u8]>(1));
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
