//! [`SimDisk`]: a disk in memory with power cuts, for the crash tests (see
//! [`super::disk`] for why). What a power cut keeps is what a real disk
//! keeps: the bytes of a file up to its last sync, and a directory's
//! entries as of its last sync.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::disk::{Appender, Disk, ReadAt, Space, SyncPoint, parent};

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
    /// The disk's size: a write past it fails as on a full disk (`None`:
    /// as large as memory allows).
    capacity: Option<u64>,
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

    /// Bytes held by the disk's files now.
    pub fn used_bytes(&self) -> u64 {
        self.inner.lock().used()
    }

    /// Frees the disk [`SimDisk::fill`] filled: writes work again.
    pub fn free_up(&self) {
        self.inner.lock().full = false;
    }

    /// Gives the disk a size: a write that would go past it fails with
    /// "no space left", and [`Disk::space`] says what is left.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.inner.lock().capacity = bytes;
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

    /// Bytes held by the files readers see now.
    fn used(&self) -> u64 {
        self.files.values().map(|inode| inode.lock().data.len() as u64).sum()
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
        let past_capacity = sim.capacity.is_some_and(|c| sim.used() + bytes.len() as u64 > c);
        if sim.full || past_capacity {
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

    /// In place and synced, as the real disk does; past the end refused.
    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut sim = self.inner.lock();
        let generation = sim.generation;
        self.step(&mut sim, generation)?;
        let inode = sim.files.get(path).cloned().ok_or_else(|| not_found(path))?;
        let mut inode = inode.lock();
        let range = offset as usize..offset as usize + bytes.len();
        if range.end > inode.data.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an overwrite past the end of the file"));
        }
        inode.data[range.clone()].copy_from_slice(bytes);
        let synced = inode.data.clone();
        inode.synced = synced;
        Ok(())
    }

    fn space(&self, _dir: &Path) -> io::Result<Space> {
        let sim = self.inner.lock();
        let total = sim.capacity.unwrap_or(u64::MAX);
        let available = if sim.full { 0 } else { total.saturating_sub(sim.used()) };
        Ok(Space { available, total })
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
