//! `wachat backup --data-dir DATA OUT` and `wachat restore --data-dir DATA
//! IN`: a copy of a server's data directory taken while the server runs,
//! and the way back.
//!
//! The backup is the data directory as a `kill -9` could have left it at
//! one moment: a directory that the server's own start knows how to open
//! (it cuts a torn last line, replays the log after its newest
//! checkpoint). No lock of the server's is taken and the server is not
//! asked anything: the copy only reads files, in an order that follows
//! what the store writes before what:
//!
//! 1. **Checkpoints first.** A checkpoint at position P is written only
//!    once the log up to P is on disk, so the log read *after* it holds
//!    at least P.
//! 2. **Then the log**, segment by segment. Every segment but the newest
//!    was synced before the next one began; the newest is copied up to
//!    its last complete line at the moment it is read (its committed
//!    length: every record acknowledged before the backup began is in
//!    it, since an `OK` waits for the sync). Lines written but not yet
//!    synced may come along: a crash could have kept them too.
//! 3. **Then everything else**, whatever it is, so that files added to
//!    the directory later are backed up without a change here: accounts
//!    (`users.csv`, append-only), the server's identity (`server.csv`),
//!    uploaded files (their bytes land before the message that names
//!    them, so after the log they are there), `actions.csv`, `known.csv`…
//!    `erase.csv` (the deleted texts still to overwrite) is read before
//!    the log *and* after it, and the backup keeps both sets of lines,
//!    so that a text deleted before the backup is erased by the restored
//!    server even if the eraser finished with it while the log was read.
//!
//! Left out: `wachat.lock` (a server's, not data), `ballast` (reserve
//! space, made again at the start), the temporary files of an atomic
//! replace (`*.tmp`, `*.new`: half-made by definition) and the door's
//! requests and answers (`store::door`: questions to this run of the
//! server).
//!
//! If a checkpoint or a segment vanishes while it is copied (the server
//! keeps two checkpoints; retention removes old segments), the copy
//! starts again. Every file is hashed as it is written, and
//! `MANIFEST.csv` ([`manifest`]), written and synced last, holds the
//! checksums that `restore` ([`restore`]) checks before it copies a
//! byte.
//!
//! A cluster node's directory holds the node's copy of the cluster's log,
//! made again from the database when it is missing or too far behind: the
//! cluster's data is its PostgreSQL database, backed up with `pg_dump`
//! (docs/CLUSTER-OPS.md), which `backup` says.

pub mod manifest;
pub mod restore;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use blake2::{Blake2b512, Digest};

use crate::error::{Error, Result};
use crate::store::record::LOG_HEADER;
use crate::sys::private::Mode;
use manifest::{DATA, Entry, MANIFEST, Manifest};

/// How many times the copy starts again when a checkpoint or a segment
/// vanishes under it (each time means the server wrote a new checkpoint
/// or removed old segments in the meantime: rare, not repeated for ever).
const ATTEMPTS: usize = 5;

/// Bytes copied at once.
const CHUNK: usize = 256 * 1024;

/// Runs `wachat backup`: copies `data_dir` into `out`, printing what it took.
pub fn run(data_dir: &Path, out: &Path) -> Result<()> {
    let started = Instant::now();
    let manifest = backup(data_dir, out)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "backup of {} in {}: {} files, {} bytes, the log up to position {} ({} segments), in {:.2} s",
        data_dir.display(),
        out.display(),
        manifest.files.len(),
        bytes,
        manifest.log_end,
        manifest.segments,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Copies `data_dir` into `out` (see the module documentation) and
/// returns its manifest, written in `out` last.
pub fn backup(data_dir: &Path, out: &Path) -> Result<Manifest> {
    check_source(data_dir)?;
    check_target(data_dir, out)?;
    // A server that does not run may not start during the copy; one that
    // runs keeps running (its lock is simply not ours).
    let _lock = crate::store::lock::DataLock::acquire(data_dir).ok();
    make_private_dir(out)?;
    let copy = out.join(DATA);
    let mut taken = None;
    for _ in 0..ATTEMPTS {
        if copy.exists() {
            std::fs::remove_dir_all(&copy)
                .map_err(|e| Error::io(format!("backup: {}", copy.display()), e))?;
        }
        match take(data_dir, &copy)? {
            Some(manifest) => {
                taken = Some(manifest);
                break;
            }
            None => log::info!("backup: a file vanished while it was copied; starting again"),
        }
    }
    let Some(mut manifest) = taken else {
        return Err(Error::Usage(format!(
            "backup: {} changed under the copy {ATTEMPTS} times in a row (checkpoints or segments removed); \
             try again",
            data_dir.display()
        )));
    };
    let disk = crate::store::disk::RealDisk;
    manifest.server_id = crate::store::server_id::read(&disk, &copy)?.unwrap_or_default();
    manifest.taken_ms = crate::store::now_ms();
    let path = out.join(MANIFEST);
    write_synced(&path, manifest.encode().as_bytes())?;
    sync_dir(out)?;
    Ok(manifest)
}

/// `data_dir` must be a single server's data directory.
fn check_source(data_dir: &Path) -> Result<()> {
    if !data_dir.join("log").is_dir() && !data_dir.join("users.csv").is_file() {
        return Err(Error::Usage(format!(
            "backup: {} is not a wachat data directory (no log/, no users.csv)",
            data_dir.display()
        )));
    }
    if let Some(node) = crate::store::door::node_of(data_dir) {
        return Err(Error::Usage(format!(
            "backup: {} is cluster node {node}'s directory, which holds its copy of the cluster's log; a \
             cluster's data is its PostgreSQL database: back it up with pg_dump (docs/CLUSTER-OPS.md, \"Backups\")",
            data_dir.display()
        )));
    }
    Ok(())
}

/// `out` must be new or empty, and not inside `data_dir` (the copy would
/// copy itself).
fn check_target(data_dir: &Path, out: &Path) -> Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(Error::Usage(format!("backup: {} is not empty: name a new directory", out.display())));
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if absolute(out).starts_with(absolute(data_dir)) {
        return Err(Error::Usage(format!(
            "backup: {} is inside the data directory {}: put the backup elsewhere",
            out.display(),
            data_dir.display()
        )));
    }
    Ok(())
}

/// One copy, in the order of the module documentation. `None`: a file it
/// needed vanished (the caller starts again).
fn take(data_dir: &Path, copy: &Path) -> Result<Option<Manifest>> {
    let mut manifest = Manifest::default();
    let mut names = list(data_dir)?;
    names.sort();
    // 1. Checkpoints.
    for name in names.iter().filter(|n| is_checkpoint(n)) {
        match copy_file(data_dir, copy, name, false)? {
            Some(entry) => manifest.files.push(entry),
            None => return Ok(None),
        }
    }
    let erase_before = read_if_there(&data_dir.join(ERASE))?;
    // 2. The log.
    let mut segments: Vec<(u64, String)> = list(&data_dir.join("log"))?
        .into_iter()
        .filter_map(|name| Some((name.strip_suffix(".csv")?.parse().ok()?, name)))
        .collect();
    segments.sort();
    for (i, (base, name)) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        let Some(entry) = copy_file(data_dir, copy, &format!("log/{name}"), newest)? else {
            return Ok(None);
        };
        if newest {
            manifest.log_end = base + entry.bytes.saturating_sub(LOG_HEADER.len() as u64 + 1);
        }
        manifest.files.push(entry);
    }
    manifest.segments = segments.len() as u64;
    // 3. Everything else, as it is now.
    for name in walk(data_dir)? {
        if name.starts_with("log/") || is_checkpoint(&name) || name == ERASE || left_out(&name) {
            continue;
        }
        // A file gone since the walk (an upload finished, a request
        // answered) is simply not in the backup.
        if let Some(entry) = copy_file(data_dir, copy, &name, false)? {
            manifest.files.push(entry);
        }
    }
    let erase_after = read_if_there(&data_dir.join(ERASE))?;
    if let Some(both) = erasures(erase_before, erase_after) {
        manifest.files.push(write_entry(copy, ERASE, &both)?);
    }
    sync_folders(copy, &manifest.files)?;
    Ok(Some(manifest))
}

/// The eraser's file (`store::local::erase`).
const ERASE: &str = "erase.csv";

fn is_checkpoint(name: &str) -> bool {
    name.starts_with("checkpoint-") && name.ends_with(".csv")
}

/// What a backup leaves out (module documentation), by its path.
fn left_out(path: &str) -> bool {
    let door = crate::store::door::Inquiry::ALL.iter().any(|k| {
        let (request, answer) = k.files();
        path == request || path == answer
    });
    door || path == "wachat.lock" || path == "ballast" || path.ends_with(".tmp") || path.ends_with(".new")
}

/// The lines of `erase.csv` read before the log and after it, each once
/// (the header first, then the older lines the newer file no longer has).
/// Whole lines only: a line being appended while it was read is cut (it
/// could name another message than the one it will).
fn erasures(before: Option<Vec<u8>>, after: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let whole = |mut bytes: Vec<u8>| {
        bytes.truncate(bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
        bytes
    };
    let (before, after) = match (before.map(whole), after.map(whole)) {
        (None, None) => return None,
        (Some(one), None) | (None, Some(one)) => return Some(one),
        (Some(before), Some(after)) => (before, after),
    };
    let text = String::from_utf8_lossy(&after);
    let mut lines: Vec<&str> = text.lines().collect();
    let old = String::from_utf8_lossy(&before).into_owned();
    let header = lines.first().copied().unwrap_or("");
    let missing: Vec<&str> = old.lines().skip(1).filter(|l| !lines.contains(l)).collect();
    if header.is_empty() {
        return Some(before);
    }
    lines.splice(1..1, missing);
    Some(lines.iter().flat_map(|l| [l.as_bytes(), b"\n"]).flatten().copied().collect())
}

/// The file names in `dir` (not its folders); none if it does not exist.
fn list(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("backup: {}", dir.display()), e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("backup: {}", dir.display()), e))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name_of(&entry.path())?);
        }
    }
    Ok(names)
}

/// Every file under `root`, as a path relative to it with `/` between
/// folders, folders before their files, sorted.
pub(crate) fn walk(root: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        let dir = root.join(&folder);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("{}", dir.display()), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("{}", dir.display()), e))?;
            let relative = folder.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push(relative),
                Ok(t) if t.is_file() => found.push(slashed(&relative)?),
                _ => log::warn!("{}: neither a file nor a folder, left out", entry.path().display()),
            }
        }
    }
    found.sort();
    Ok(found)
}

fn name_of(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Usage(format!("{}: a name that is not UTF-8", path.display())))
}

fn slashed(relative: &Path) -> Result<String> {
    let parts: Option<Vec<&str>> = relative.iter().map(|p| p.to_str()).collect();
    match parts {
        Some(parts) if parts.iter().all(|p| !p.contains('\n')) => Ok(parts.join("/")),
        _ => Err(Error::Usage(format!("{}: a name that is not one line of UTF-8", relative.display()))),
    }
}

fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("backup: {}", path.display()), e)),
    }
}

/// Copies `from/<name>` to `to/<name>` (its committed length only if
/// `complete_lines`), synced, and returns its entry; `None` if the file
/// is not there.
fn copy_file(from: &Path, to: &Path, name: &str, complete_lines: bool) -> Result<Option<Entry>> {
    let source = from.join(name);
    let ctx = |e| Error::io(format!("backup: {}", source.display()), e);
    let mut file = match File::open(&source) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ctx(e)),
    };
    let len = file.metadata().map_err(ctx)?.len();
    let len = if complete_lines { crate::csvlog::complete_length(&mut file, len).map_err(ctx)? } else { len };
    file = File::open(&source).map_err(ctx)?;
    let target = to.join(name);
    let mut out = create_private(&target)?;
    let mut hasher = Blake2b512::new();
    let mut left = len;
    let mut buf = vec![0u8; CHUNK];
    let mut bytes = 0;
    // Up to `len`, or the file's end if it shrank (a file replaced whole
    // is read from the one opened): what was read is what is hashed.
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = file.read(&mut buf[..want]).map_err(ctx)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(format!("backup: {}", target.display()), e))?;
        left -= n as u64;
        bytes += n as u64;
    }
    out.sync_all().map_err(|e| Error::io(format!("backup: {}", target.display()), e))?;
    Ok(Some(Entry { path: name.to_string(), bytes, hash: manifest::hex(&hasher.finalize()) }))
}

/// Writes `bytes` as `to/<name>`, synced, and returns its entry.
fn write_entry(to: &Path, name: &str, bytes: &[u8]) -> Result<Entry> {
    write_synced(&to.join(name), bytes)?;
    let hash = manifest::hex(&Blake2b512::digest(bytes));
    Ok(Entry { path: name.to_string(), bytes: bytes.len() as u64, hash })
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("backup: {}", path.display()), e))
}

/// A new file, 0600, its folders made 0700 (a backup is as private as
/// the data directory).
pub(crate) fn create_private(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        make_private_dir(parent)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("{}", path.display()), e))
}

pub(crate) fn make_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("{}", dir.display()), e))
}

/// Syncs `root` and every folder under it that holds one of `files`, so
/// that their entries are as durable as their bytes.
pub(crate) fn sync_folders(root: &Path, files: &[Entry]) -> Result<()> {
    let mut folders: Vec<PathBuf> =
        files.iter().filter_map(|f| Path::new(&f.path).parent().map(Path::to_path_buf)).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        sync_dir(&root.join(folder))?;
    }
    sync_dir(root)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    crate::sys::disk::sync_dir(dir).map_err(|e| Error::io(format!("{} (sync)", dir.display()), e))
}

#[cfg(test)]
mod tests;
