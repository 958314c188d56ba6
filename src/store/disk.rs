//! The file interface of the store: every byte the store writes goes
//! through [`Disk`], so that a test can run the store on a [`SimDisk`],
//! a disk in memory that loses, at a simulated power cut, everything that
//! was not synced.
//!
//! Why a simulated disk: killing the server with SIGKILL (`tests/crash.rs`)
//! keeps the kernel's page cache, so a test of that kind passes even if
//! every `fsync` is removed. A power cut does not keep it. [`SimDisk`]
//! keeps two copies of every file — what a reader sees, and what was last
//! synced — and of every directory's names, so a power cut can put back
//! exactly what a real disk would have kept.
//!
//! Every sync names its [`SyncPoint`]: why that fsync is there. The same
//! name lets a test skip one of them and check that the crash test then
//! fails (`tests/power_cut.rs`).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

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
    /// leaves the old file or the new one, never a mix.
    fn replace(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = parent(path);
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let tmp = dir.join(name);
        if self.exists(&tmp) {
            self.remove(&tmp)?; // left by a crash
        }
        let mut file = self.open_append(&tmp)?;
        file.append(bytes)?;
        file.sync(SyncPoint::Replace)?;
        drop(file);
        self.rename(&tmp, path)?;
        self.sync_dir(dir, SyncPoint::Replace)
    }
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
            match FileExt::read_at(self, buf, offset) {
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
        File::open(dir)?.sync_all()
    }
}

use std::os::unix::fs::DirBuilderExt;

// ----- the simulated disk ----------------------------------------------------

/// A disk in memory with power cuts. See the module documentation.
///
/// What survives [`SimDisk::power_cut`]: a file's bytes up to its last
/// [`Appender::sync`]; a directory entry (a file created, renamed or
/// removed) once its directory was synced with [`Disk::sync_dir`]; a
/// directory once its parent was synced. Everything else goes back to how
/// it was at those syncs. Handles opened before the cut stop working: the
/// store that held them is gone, as after a real power cut.
#[derive(Default)]
pub struct SimDisk {
    inner: Mutex<Sim>,
    /// Operations (writes, syncs, renames …) done so far, for `cut_after`.
    ops: AtomicU64,
}

#[derive(Default)]
struct Sim {
    /// What readers see now.
    files: HashMap<PathBuf, Arc<Mutex<Inode>>>,
    dirs: HashSet<PathBuf>,
    /// What a power cut would leave: entries as of each directory's last sync.
    synced_files: HashMap<PathBuf, Arc<Mutex<Inode>>>,
    synced_dirs: HashSet<PathBuf>,
    /// Bumped by every power cut: handles of an older generation are dead.
    generation: u64,
    /// Sync points that are skipped (the sync does nothing), to prove the
    /// crash test notices each missing fsync.
    skipped: HashSet<SyncPoint>,
    /// Cut the power when the operation counter reaches this.
    cut_at: Option<u64>,
    /// The disk is full: every write fails, reads go on.
    full: bool,
    /// How many syncs of each kind were done.
    syncs: HashMap<SyncPoint, u64>,
}

#[derive(Default, Clone)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
}

fn dead() -> io::Error {
    io::Error::other("the simulated disk lost power")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such file (simulated disk)", path.display()))
}

impl SimDisk {
    pub fn new() -> Arc<SimDisk> {
        let disk = SimDisk::default();
        {
            let mut sim = disk.inner.lock();
            for root in [PathBuf::from("/"), PathBuf::from(".")] {
                sim.dirs.insert(root.clone());
                sim.synced_dirs.insert(root);
            }
        }
        Arc::new(disk)
    }

    /// Cuts the power now: only what was synced stays, and every open
    /// handle stops working.
    pub fn power_cut(&self) {
        let mut sim = self.inner.lock();
        sim.cut();
    }

    /// The process dies (SIGKILL) but the machine stays up: every byte
    /// written stays, synced or not (the kernel's page cache), and every
    /// open handle stops working.
    pub fn kill_process(&self) {
        self.inner.lock().generation += 1;
    }

    /// Cuts the power at the `n`-th disk operation from now (that operation
    /// fails): a crash at an exact moment, e.g. in the middle of a checkpoint.
    pub fn cut_after(&self, n: u64) {
        let mut sim = self.inner.lock();
        sim.cut_at = Some(self.ops.load(Ordering::SeqCst) + n);
    }

    /// True once a cut planned by [`SimDisk::cut_after`] happened.
    pub fn was_cut(&self) -> bool {
        let sim = self.inner.lock();
        sim.cut_at.is_none() && sim.generation > 0
    }

    /// Fills the disk: from now on every write fails (reads go on).
    pub fn fill(&self) {
        self.inner.lock().full = true;
    }

    /// Makes every sync named `point` do nothing (a removed fsync).
    pub fn skip_sync(&self, point: SyncPoint) {
        self.inner.lock().skipped.insert(point);
    }

    /// How many syncs named `point` were done.
    pub fn syncs(&self, point: SyncPoint) -> u64 {
        self.inner.lock().syncs.get(&point).copied().unwrap_or(0)
    }

    /// Operations so far.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::SeqCst)
    }

    /// Counts one operation by a handle of generation `generation`; fails
    /// if the power is off for it (or goes off now).
    fn step(&self, sim: &mut Sim, generation: u64) -> io::Result<()> {
        if generation != sim.generation {
            return Err(dead());
        }
        let op = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        if sim.cut_at.is_some_and(|at| op >= at) {
            sim.cut();
            return Err(dead());
        }
        Ok(())
    }

    fn inode(&self, path: &Path) -> io::Result<(Arc<Mutex<Inode>>, u64)> {
        let sim = self.inner.lock();
        let inode = sim.files.get(path).cloned().ok_or_else(|| not_found(path))?;
        Ok((inode, sim.generation))
    }
}

impl Sim {
    fn cut(&mut self) {
        self.generation += 1;
        self.cut_at = None;
        // Fresh inodes holding only the synced bytes: old handles point to
        // the old ones and can no longer change anything.
        let mut fresh: HashMap<*const Mutex<Inode>, Arc<Mutex<Inode>>> = HashMap::new();
        let mut files = HashMap::new();
        self.synced_dirs = self.synced_dirs.iter().filter(|d| self.durable_dir(d)).cloned().collect();
        for (path, inode) in &self.synced_files {
            if !self.synced_dirs.contains(parent(path)) {
                continue;
            }
            let copy = fresh.entry(Arc::as_ptr(inode)).or_insert_with(|| {
                let synced = inode.lock().synced.clone();
                Arc::new(Mutex::new(Inode { data: synced.clone(), synced }))
            });
            files.insert(path.clone(), copy.clone());
        }
        self.files = files.clone();
        self.synced_files = files;
        self.dirs = self.synced_dirs.clone();
    }

    /// A directory survives a cut if it and every directory above it were
    /// synced into their parents.
    fn durable_dir(&self, dir: &Path) -> bool {
        match dir.parent() {
            None => true,
            Some(up) if up.as_os_str().is_empty() => true,
            Some(up) => self.synced_dirs.contains(dir) && self.durable_dir(up),
        }
    }

    fn need_dir(&self, dir: &Path) -> io::Result<()> {
        if self.dirs.contains(dir) { Ok(()) } else { Err(not_found(dir)) }
    }
}

struct SimAppender {
    disk: Arc<SimDisk>,
    inode: Arc<Mutex<Inode>>,
    generation: u64,
}

impl Appender for SimAppender {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut sim = self.disk.inner.lock();
        self.disk.step(&mut sim, self.generation)?;
        if sim.full {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left (simulated disk)"));
        }
        self.inode.lock().data.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self, why: SyncPoint) -> io::Result<()> {
        let mut sim = self.disk.inner.lock();
        self.disk.step(&mut sim, self.generation)?;
        *sim.syncs.entry(why).or_default() += 1;
        if !sim.skipped.contains(&why) {
            let mut inode = self.inode.lock();
            inode.synced = inode.data.clone();
        }
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut sim = self.disk.inner.lock();
        self.disk.step(&mut sim, self.generation)?;
        let mut inode = self.inode.lock();
        inode.data.truncate(len as usize);
        inode.synced = inode.data.clone();
        Ok(())
    }

    fn len(&self) -> u64 {
        self.inode.lock().data.len() as u64
    }
}

struct SimReader {
    disk: Arc<SimDisk>,
    inode: Arc<Mutex<Inode>>,
    generation: u64,
}

impl SimReader {
    fn alive(&self) -> io::Result<()> {
        if self.disk.inner.lock().generation == self.generation { Ok(()) } else { Err(dead()) }
    }
}

impl ReadAt for SimReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.alive()?;
        let inode = self.inode.lock();
        let start = (offset as usize).min(inode.data.len());
        let n = buf.len().min(inode.data.len() - start);
        buf[..n].copy_from_slice(&inode.data[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> io::Result<u64> {
        self.alive()?;
        Ok(self.inode.lock().data.len() as u64)
    }
}

/// The simulated disk is used through an `Arc`, which its handles share.
impl Disk for Arc<SimDisk> {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !sim.dirs.contains(*d)) {
            missing.push(d.to_path_buf());
            at = d.parent();
        }
        for d in missing.into_iter().rev() {
            self.step(&mut sim, generation)?;
            sim.dirs.insert(d);
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let sim = self.inner.lock();
        sim.need_dir(dir)?;
        let files = sim.files.keys().filter(|p| parent(p) == dir);
        let dirs = sim.dirs.iter().filter(|p| p.parent() == Some(dir) && p.as_path() != dir);
        Ok(files
            .chain(dirs)
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    fn exists(&self, path: &Path) -> bool {
        let sim = self.inner.lock();
        sim.files.contains_key(path) || sim.dirs.contains(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn Appender>> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        sim.need_dir(parent(path))?;
        let inode = match sim.files.get(path) {
            Some(inode) => inode.clone(),
            None => {
                self.step(&mut sim, generation)?;
                let inode = Arc::new(Mutex::new(Inode::default()));
                sim.files.insert(path.to_path_buf(), inode.clone());
                inode
            }
        };
        Ok(Box::new(SimAppender { disk: self.clone(), inode, generation }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadAt>> {
        let (inode, generation) = self.inode(path)?;
        Ok(Arc::new(SimReader { disk: self.clone(), inode, generation }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        self.step(&mut sim, generation)?;
        sim.need_dir(parent(to))?;
        let inode = sim.files.remove(from).ok_or_else(|| not_found(from))?;
        sim.files.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        self.step(&mut sim, generation)?;
        sim.files.remove(path).map(drop).ok_or_else(|| not_found(path))
    }

    fn sync_dir(&self, dir: &Path, why: SyncPoint) -> io::Result<()> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        self.step(&mut sim, generation)?;
        sim.need_dir(dir)?;
        *sim.syncs.entry(why).or_default() += 1;
        if sim.skipped.contains(&why) {
            return Ok(());
        }
        // This directory's entries as they are now; its subdirectories too.
        sim.synced_files.retain(|p, _| parent(p) != dir);
        let entries: Vec<(PathBuf, Arc<Mutex<Inode>>)> =
            sim.files.iter().filter(|(p, _)| parent(p) == dir).map(|(p, i)| (p.clone(), i.clone())).collect();
        sim.synced_files.extend(entries);
        let subdirs: Vec<PathBuf> = sim.dirs.iter().filter(|d| d.parent() == Some(dir)).cloned().collect();
        sim.synced_dirs.retain(|d| d.parent() != Some(dir));
        sim.synced_dirs.extend(subdirs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(disk: &Arc<SimDisk>, path: &str, bytes: &[u8], sync: bool) {
        let mut f = disk.open_append(Path::new(path)).unwrap();
        f.append(bytes).unwrap();
        if sync {
            f.sync(SyncPoint::LogBatch).unwrap();
        }
    }

    #[test]
    fn a_power_cut_keeps_only_synced_bytes_of_synced_entries() {
        let disk = SimDisk::new();
        disk.create_dir_all(Path::new("/d")).unwrap();
        disk.sync_dir(Path::new("/"), SyncPoint::DataDir).unwrap();
        write(&disk, "/d/a", b"one\n", true);
        disk.sync_dir(Path::new("/d"), SyncPoint::DataDir).unwrap();
        write(&disk, "/d/a", b"two\n", false);
        write(&disk, "/d/b", b"new\n", true); // synced, but its entry is not
        assert_eq!(disk.read_all(Path::new("/d/a")).unwrap(), b"one\ntwo\n");
        disk.power_cut();
        assert_eq!(disk.read_all(Path::new("/d/a")).unwrap(), b"one\n");
        assert!(!disk.exists(Path::new("/d/b")));
    }

    #[test]
    fn a_rename_needs_its_directory_synced_and_old_handles_die() {
        let disk = SimDisk::new();
        disk.create_dir_all(Path::new("/d")).unwrap();
        disk.sync_dir(Path::new("/"), SyncPoint::DataDir).unwrap();
        disk.replace(Path::new("/d/c"), b"v1").unwrap();
        let mut old = disk.open_append(Path::new("/d/c")).unwrap();
        let mut tmp = disk.open_append(Path::new("/d/c.new")).unwrap();
        tmp.append(b"v2").unwrap();
        tmp.sync(SyncPoint::CheckpointFile).unwrap();
        disk.rename(Path::new("/d/c.new"), Path::new("/d/c")).unwrap();
        assert_eq!(disk.read_all(Path::new("/d/c")).unwrap(), b"v2");
        disk.power_cut();
        assert_eq!(disk.read_all(Path::new("/d/c")).unwrap(), b"v1");
        assert!(old.append(b"x").is_err(), "a handle from before the cut is dead");
        assert_eq!(disk.read_all(Path::new("/d/c")).unwrap(), b"v1");
    }

    #[test]
    fn a_skipped_sync_keeps_nothing_and_a_planned_cut_fails_that_operation() {
        let disk = SimDisk::new();
        disk.skip_sync(SyncPoint::LogBatch);
        write(&disk, "/x", b"lost", true);
        disk.sync_dir(Path::new("/"), SyncPoint::DataDir).unwrap();
        disk.power_cut();
        assert_eq!(disk.read_all(Path::new("/x")).unwrap(), b"");
        disk.cut_after(2);
        let mut f = disk.open_append(Path::new("/x")).unwrap();
        f.append(b"a").unwrap();
        assert!(f.append(b"b").is_err());
        assert!(disk.was_cut());
        assert_eq!(disk.syncs(SyncPoint::LogBatch), 1);
    }
}
