//! `wachat restore --data-dir DATA IN`: a backup made by `wachat backup`
//! put back as a data directory.
//!
//! Checked before a byte of `DATA` changes: the manifest's own checksum,
//! then every file of the backup against its size and checksum, and that
//! the backup holds no file its manifest does not name. Then `DATA` is
//! locked as a server locks it (`store::lock`), so a running server's
//! directory is refused (and no server can start during the copy); a
//! directory that holds anything is refused too, unless `--force`, which
//! empties it first. The files are copied, checked again as they are
//! written, and synced; the last line says what was restored.
//!
//! A restored server has forgotten everything after the backup: its log
//! ends where the backup's did (see README, "Backups").

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use blake2::{Blake2b512, Digest};

use super::manifest::{self, DATA, Entry, MANIFEST, Manifest};
use crate::error::{Error, Result};

/// Runs `wachat restore`: checks the backup `input` and copies it into
/// `data_dir` (`force`: whatever it holds is removed first), printing what
/// it restored.
pub fn run(data_dir: &Path, input: &Path, force: bool) -> Result<()> {
    let manifest = restore(data_dir, input, force)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let taken = crate::display::local_time(manifest.taken_ms);
    let accounts =
        crate::admin::live::read_accounts(data_dir).map_or(0, |a| a.iter().filter(|a| !a.removed).count());
    println!(
        "restored {} into {}: {} files, {} bytes; server id {}; {accounts} accounts; the log up to position {} \
         ({} segments), as it was at {} {} (Unix ms {}): anything the server wrote after that is not in it",
        input.display(),
        data_dir.display(),
        manifest.files.len(),
        bytes,
        if manifest.server_id.is_empty() { "(none yet)" } else { &manifest.server_id },
        manifest.log_end,
        manifest.segments,
        taken.date(),
        taken.clock(),
        manifest.taken_ms,
    );
    Ok(())
}

/// Checks the backup `input`, then copies it into `data_dir` (see the
/// module documentation). Returns its manifest.
pub fn restore(data_dir: &Path, input: &Path, force: bool) -> Result<Manifest> {
    let manifest = verify(input)?;
    let lock = crate::store::lock::DataLock::acquire(data_dir)?;
    let held: Vec<String> = std::fs::read_dir(data_dir)
        .map_err(|e| Error::io(format!("restore: {}", data_dir.display()), e))?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|name| Path::new(name) != lock.path.file_name().map(Path::new).unwrap_or(Path::new("")))
        .collect();
    if !held.is_empty() && !force {
        return Err(Error::Usage(format!(
            "restore: {} is not empty ({} entries, {}…): restore into a new or empty directory, or add \
             --force to replace what it holds",
            data_dir.display(),
            held.len(),
            held[0]
        )));
    }
    for name in &held {
        let path = data_dir.join(name);
        let removed =
            if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| Error::io(format!("restore: {} (remove)", path.display()), e))?;
    }
    for entry in &manifest.files {
        copy_checked(&input.join(DATA), data_dir, entry)?;
    }
    super::sync_folders(data_dir, &manifest.files)?;
    Ok(manifest)
}

/// The backup's manifest, once every file of the backup matches it.
pub fn verify(input: &Path) -> Result<Manifest> {
    let path = input.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::io(
            format!("restore: {} (is {} a backup made by `wachat backup`?)", path.display(), input.display()),
            e,
        )
    })?;
    let manifest = Manifest::decode(&path, &text)?;
    let root = input.join(DATA);
    for entry in &manifest.files {
        let (bytes, hash) = hash_file(&root.join(&entry.path), None)?;
        if bytes != entry.bytes || hash != entry.hash {
            return Err(not_verified(input, &entry.path, "its size or checksum differs from the manifest's"));
        }
    }
    let named: std::collections::HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    if let Some(extra) = super::walk(&root)?.into_iter().find(|p| !named.contains(p.as_str())) {
        return Err(not_verified(input, &extra, "the manifest does not name it"));
    }
    Ok(manifest)
}

fn not_verified(input: &Path, path: &str, why: &str) -> Error {
    Error::Usage(format!(
        "restore: the backup {} does not verify: {DATA}/{path}: {why} (changed or damaged since the backup); \
         nothing was restored",
        input.display()
    ))
}

/// The bytes and checksum of `path`, copying them into `copy` if given.
fn hash_file(path: &Path, mut copy: Option<&mut File>) -> Result<(u64, String)> {
    let ctx = |e: io::Error| Error::io(format!("restore: {}", path.display()), e);
    let mut file = File::open(path).map_err(ctx)?;
    let mut hasher = Blake2b512::new();
    let mut buf = vec![0u8; super::CHUNK];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(ctx)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(out) = copy.as_deref_mut() {
            out.write_all(&buf[..n]).map_err(ctx)?;
        }
        bytes += n as u64;
    }
    Ok((bytes, manifest::hex(&hasher.finalize())))
}

/// Copies one file of the backup into `data_dir`, checking it again as it
/// goes (it was checked before, but the backup may be on a disk that
/// changes), synced.
fn copy_checked(root: &Path, data_dir: &Path, entry: &Entry) -> Result<()> {
    let relative = manifest::inside(&entry.path).ok_or_else(|| {
        Error::Usage(format!("restore: {:?} is not a path inside a data directory", entry.path))
    })?;
    let target = data_dir.join(relative);
    let mut out = super::create_private(&target)?;
    let (bytes, hash) = hash_file(&root.join(&entry.path), Some(&mut out))?;
    if bytes != entry.bytes || hash != entry.hash {
        return Err(Error::Usage(format!(
            "restore: {DATA}/{} changed while it was copied; {} is incomplete: restore again with --force",
            entry.path,
            data_dir.display()
        )));
    }
    out.sync_all().map_err(|e| Error::io(format!("restore: {}", target.display()), e))
}
