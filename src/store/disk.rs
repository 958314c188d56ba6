//! The file interface of the store: every byte the store writes goes
//! through [`Disk`], so that a test can run the store on a `SimDisk`
//! (`sim_disk.rs`),
//! a disk in memory that loses, at a simulated power cut, everything that
//! was not synced.
//!
//! Why a simulated disk: killing the server with SIGKILL (`tests/store/crash.rs`)
//! keeps the kernel's page cache, so a test of that kind passes even if
//! every `fsync` is removed. A power cut does not keep it. `SimDisk`
//! keeps two copies of every file — what a reader sees, and what was last
//! synced — and of every directory's names, so a power cut can put back
//! exactly what a real disk would have kept.
//!
//! Every sync names its [`SyncPoint`]: why that fsync is there. The same
//! name lets a test skip one of them and check that the crash test then
//! fails (`tests/store/power_cut.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use crate::sys::disk::At;
use crate::sys::private::Mode;

/// Why the store syncs: one name per fsync in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncPoint {
    /// A batch of log records, before its `OK`s and its deliveries.
    LogBatch,
    /// A full segment, before the next one starts: the acknowledgements at
    /// its end (not synced on their own) must not leave a gap before the
    /// records of the next segment.
    SegmentSeal,
    /// The log directory after a new segment appeared in it: without it a
    /// power cut can take the whole segment away, `OK`ed records and all.
    SegmentDir,
    /// New accounts in `users.csv`, before their `OK`.
    Users,
    /// The data directory after a file was created or replaced in it.
    DataDir,
    /// A checkpoint's content, before it is renamed into place.
    CheckpointFile,
    /// The rename of a checkpoint (and the removal of older ones).
    CheckpointDir,
    /// A file rewritten whole (`users.csv` by `wachat users`, conversion).
    Replace,
}

/// A file being appended to (one writer at a time: the committer).
pub trait Appender: Send {
    /// Writes `bytes` at the end of the file.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything written so far survive a power cut.
    fn sync(&mut self, why: SyncPoint) -> io::Result<()>;
    /// Cuts the file back to `len` bytes (undoing a failed write).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Bytes in the file.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A file read at given positions, by any number of threads at once.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; fewer at the end of the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Bytes in the file now.
    fn len(&self) -> io::Result<u64>;
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Where the store's files live.
pub trait Disk: Send + Sync {
    /// Creates a directory and its parents (mode 0700).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries of a directory (not sorted).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn exists(&self, path: &Path) -> bool;
    /// Opens a file for appending, creating it (mode 0600) if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn Appender>>;
    /// Opens a file for positioned reads.
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadAt>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of `dir` (files created, renamed, removed) survive
    /// a power cut.
    fn sync_dir(&self, dir: &Path, why: SyncPoint) -> io::Result<()>;
    /// Room left on the file system that holds `dir` (`statvfs`): the
    /// free-space floor (`--min-free`, `store::budget`) asks it, at most
    /// every few milliseconds of writes (`budget::LOOK_EVERY`).
    fn space(&self, dir: &Path) -> io::Result<Space>;

    /// Creates `path` holding `len` bytes of disk, synced: the ballast
    /// (`store::ballast`). This default writes zeros; the real disk only
    /// allocates the blocks.
    fn reserve(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut file = self.open_append(path)?;
        let zeros = vec![0; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64);
            file.append(&zeros[..n as usize])?;
            left -= n;
        }
        file.sync(SyncPoint::DataDir)
    }

    /// Overwrites `bytes` at `offset` in an existing file, in place (its
    /// length unchanged), and syncs the file: how a deleted text leaves a
    /// log segment without moving any record (`store::local::erase`). A disk
    /// that cannot says so; the erasure then waits for the next start.
    fn write_at(&self, path: &Path, _offset: u64, _bytes: &[u8]) -> io::Result<()> {
        let what = format!("{}: this disk cannot overwrite in place", path.display());
        Err(io::Error::new(io::ErrorKind::Unsupported, what))
    }

    /// The whole content of a file.
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let file = self.open_read(path)?;
        let mut bytes = vec![0; file.len()? as usize];
        let mut at = 0;
        while at < bytes.len() {
            match file.read_at(&mut bytes[at..], at as u64)? {
                0 => {
                    bytes.truncate(at);
                    break;
                }
                n => at += n,
            }
        }
        Ok(bytes)
    }

    /// Replaces `path` with `bytes` atomically: a temporary file next to
    /// it, synced, renamed over it, then the directory synced. A power cut
    /// leaves the old file or the new one, never a mix; a failed write
    /// (a full disk) leaves the old one, and gives back what the
    /// temporary file took.
    fn replace(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = parent(path);
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let tmp = dir.join(name);
        if self.exists(&tmp) {
            self.remove(&tmp)?; // left by a crash
        }
        let written = self.open_append(&tmp).and_then(|mut file| {
            file.append(bytes)?;
            file.sync(SyncPoint::Replace)
        });
        if let Err(e) = written {
            let _ = self.remove(&tmp);
            return Err(e);
        }
        self.rename(&tmp, path)?;
        self.sync_dir(dir, SyncPoint::Replace)
    }
}

/// Room on a file system, as `statvfs` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// Bytes this process may still write: `f_bavail`, which leaves out
    /// the blocks reserved for root (a server not run as root cannot use them).
    pub available: u64,
    /// The file system's size in bytes.
    pub total: u64,
}

/// Whether a write failed for lack of room (a full disk, a disk quota,
/// `ulimit -f`): the failures that room can cure, answered
/// [`Ko::disk_full`](crate::protocol::Ko::disk_full) by whatever writes
/// beside the log (files, devices) and by the log's writer.
pub fn no_space(e: &io::Error) -> bool {
    use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
    matches!(e.kind(), StorageFull | FileTooLarge | QuotaExceeded)
}

/// The directory a path is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

// ----- the real disk ---------------------------------------------------------

/// The operating system's files. New files are 0600 and new directories
/// 0700: the data holds password hashes and private messages.
#[derive(Default, Clone, Copy)]
pub struct RealDisk;

struct RealAppender {
    file: File,
    len: u64,
}

impl Appender for RealAppender {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self, _why: SyncPoint) -> io::Result<()> {
        // The data, and the length it grew to: sync_data covers both for
        // an append (the size is metadata needed to read the data back).
        self.file.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        self.file.sync_data()
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match At::read_at(self, buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl Disk for RealDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn Appender>> {
        let file = OpenOptions::new().append(true).create(true).mode(0o600).open(path)?;
        let len = file.metadata()?.len();
        Ok(Box::new(RealAppender { file, len }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadAt>> {
        Ok(Arc::new(File::open(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path, _why: SyncPoint) -> io::Result<()> {
        crate::sys::disk::sync_dir(dir)
    }

    fn space(&self, dir: &Path) -> io::Result<Space> {
        let stats = fs4::statvfs(dir)?;
        Ok(Space { available: stats.available_space(), total: stats.total_space() })
    }

    fn reserve(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        // Blocks allocated, not written: a ballast costs no write of its size.
        crate::sys::disk::reserve(&file, len)?;
        file.sync_all()
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        if offset + bytes.len() as u64 > file.metadata()?.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an overwrite past the end of the file"));
        }
        file.write_all_at(bytes, offset)?;
        file.sync_data()
    }
}
