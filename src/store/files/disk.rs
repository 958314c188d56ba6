//! The files of a single server, on its disk, in `<data>/files/`, each
//! named only by its server-chosen id: the descriptions ([`DiskFiles`],
//! `.meta`) and the bytes ([`DiskBlobs`], the others):
//!
//! | file | what |
//! | --- | --- |
//! | `<id>.part` | the bytes received so far of an upload |
//! | `<id>` | a complete file: its sha256 checked, fsynced, renamed from `.part` |
//! | `<id>.thumb` | its JPEG thumbnail (at most ~100 KB), if it is an image |
//! | `<id>.meta` | who uploaded it, its name, size, sha256, type, and the messages that carry it |
//!
//! The name a sender gave is only in `.meta`, never in a path. `.meta` is
//! replaced whole (written, fsynced, renamed, its directory fsynced) at
//! each change, so a `kill -9` or a power cut leaves the old one or the
//! new one. Only a file whose bytes were checked and synced is complete:
//! an upload cut short is a `.part`, resumed (`PART` from its length) or
//! swept (`Files::sweep`). Every `.meta` is also held in memory, so that a
//! lookup (a `FETCH`, each `FILE` event) reads no disk.
//!
//! Why beside the log, not records in it: the bytes cannot go in the log
//! (a 16 MB file would be read back by every replay and search), and their
//! description lives and dies with them: one directory, one rename each.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::{Blobs, Carrier, FileStore, Footprint, Meta, ReadSeek, internal};
use crate::protocol::names::fold;
use crate::protocol::{Ko, files};
use crate::sys::disk::At;
use crate::sys::private::Mode;

/// The descriptions of the `files/` directory of a data directory (its
/// `.meta` files), held in memory too.
pub struct DiskFiles {
    dir: PathBuf,
    index: Mutex<Metas>,
}

/// The bytes of the `files/` directory of a data directory: `.part`,
/// the complete file, `.thumb`.
pub struct DiskBlobs {
    dir: PathBuf,
}

/// Opens `<data_dir>/files`: its descriptions, every `.meta` loaded, and
/// its bytes; files left half written by a crash (a `.tmp`, bytes
/// without a `.meta`) are removed.
pub fn open(data_dir: &Path) -> io::Result<(DiskFiles, DiskBlobs)> {
    let files = DiskFiles::open(data_dir)?;
    let blobs = DiskBlobs { dir: files.dir.clone() };
    Ok((files, blobs))
}

/// `<dir>/<id><suffix>`.
fn path(dir: &Path, id: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{id}{suffix}"))
}

/// What the `.meta` files say, in memory.
#[derive(Default)]
struct Metas {
    files: HashMap<String, Meta>,
    /// Which file each message carries ([`Carrier::key`]).
    carriers: HashMap<(String, String, String), String>,
    /// What each owner's files take (its name folded), kept as files
    /// come and go: an `UPLOAD` checks its own, never the others', so its
    /// cost does not grow with what other users stored.
    owners: HashMap<String, Footprint>,
    /// The unfinished uploads, oldest first (created, id): the sweep
    /// reads the stale ones only.
    pending: BTreeSet<(u64, String)>,
}

impl Metas {
    /// Adds (or replaces) the description of `id`, and what it counts.
    fn insert(&mut self, id: &str, meta: Meta) {
        self.take(id);
        let usage = self.owners.entry(fold(&meta.owner)).or_default();
        usage.bytes += meta.size;
        if !meta.complete {
            usage.pending += 1;
            self.pending.insert((meta.created, id.to_string()));
        }
        self.files.insert(id.to_string(), meta);
    }

    /// Removes the description of `id`, and what it counted.
    fn take(&mut self, id: &str) -> Option<Meta> {
        let meta = self.files.remove(id)?;
        let key = fold(&meta.owner);
        if let Some(usage) = self.owners.get_mut(&key) {
            usage.bytes -= meta.size;
            usage.pending -= u64::from(!meta.complete);
            if *usage == Footprint::default() {
                self.owners.remove(&key);
            }
        }
        self.pending.remove(&(meta.created, id.to_string()));
        Some(meta)
    }
}

impl DiskFiles {
    /// Opens `<data_dir>/files`, loading every `.meta`; files left half
    /// written by a crash (a `.tmp`, bytes without a `.meta`) are removed.
    fn open(data_dir: &Path) -> io::Result<DiskFiles> {
        let dir = data_dir.join("files");
        // Private, as the rest of the data directory (store::permissions).
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let mut index = Metas::default();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if let Some(id) = name.strip_suffix(".meta")
                && files::check_file_id(id).is_ok()
                && let Some(meta) = fs::read_to_string(&path).ok().and_then(|t| parse_meta(&t))
            {
                for c in &meta.carriers {
                    index.carriers.insert(c.key(), id.to_string());
                }
                index.insert(id, meta);
            }
        }
        let disk = DiskFiles { dir, index: Mutex::new(index) };
        disk.remove_orphans()?;
        Ok(disk)
    }

    fn path(&self, id: &str, suffix: &str) -> PathBuf {
        path(&self.dir, id, suffix)
    }

    /// Removes what no `.meta` describes (a crash between writing bytes
    /// and their description, or a `.tmp`).
    fn remove_orphans(&self) -> io::Result<()> {
        let index = self.index.lock();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let id = name.split('.').next().unwrap_or("");
            if name.ends_with(".tmp") || !index.files.contains_key(id) {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// Changes the description of `id` with `change`, on disk then in memory.
    fn change<T>(&self, id: &str, change: impl FnOnce(&mut Meta) -> T) -> Result<Option<T>, Ko> {
        let mut index = self.index.lock();
        let Some(meta) = index.files.get(id) else { return Ok(None) };
        let mut meta = meta.clone();
        let out = change(&mut meta);
        write_synced(&self.path(id, ".meta"), meta_text(&meta).as_bytes()).map_err(internal)?;
        index.insert(id, meta);
        Ok(Some(out))
    }
}

impl FileStore for DiskFiles {
    /// The check and the reservation under the index's lock: two
    /// `UPLOAD`s of one owner take turns, and see each other's.
    fn create(&self, id: &str, meta: &Meta, allow: &dyn Fn(Footprint) -> Result<(), Ko>) -> Result<(), Ko> {
        let mut index = self.index.lock();
        allow(index.owners.get(&fold(&meta.owner)).copied().unwrap_or_default())?;
        write_synced(&self.path(id, ".meta"), meta_text(meta).as_bytes()).map_err(internal)?;
        index.insert(id, meta.clone());
        Ok(())
    }

    fn meta(&self, id: &str) -> Result<Option<Meta>, Ko> {
        Ok(self.index.lock().files.get(id).cloned())
    }

    /// The `.meta` that says it is complete, once its bytes were sealed.
    fn finish(&self, id: &str, kind: &str) -> Result<(), Ko> {
        self.change(id, |meta| {
            meta.kind = kind.into();
            meta.complete = true;
        })
        .map(drop)
    }

    fn carry(&self, id: &str, carrier: &Carrier) -> Result<bool, Ko> {
        let key = carrier.key();
        let added = self.change(id, |meta| {
            let added = !meta.carriers.iter().any(|c| c.key() == key);
            if added {
                meta.carriers.push(carrier.clone());
            }
            added
        })?;
        let added = added.ok_or_else(super::unknown)?;
        self.index.lock().carriers.insert(key, id.to_string());
        Ok(added)
    }

    fn uncarry(&self, carrier: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        let key = carrier.key();
        let Some(file) = self.index.lock().carriers.remove(&key) else { return Ok(None) };
        self.change(&file, |meta| {
            meta.carriers.retain(|c| c.key() != key);
            meta.clone()
        })
        .map(|meta| meta.map(|meta| (file, meta)))
    }

    fn carried(&self, carrier: &Carrier) -> Result<Option<(String, Meta)>, Ko> {
        let index = self.index.lock();
        let Some(file) = index.carriers.get(&carrier.key()) else { return Ok(None) };
        Ok(index.files.get(file).map(|meta| (file.clone(), meta.clone())))
    }

    fn remove(&self, id: &str) -> Result<(), Ko> {
        let mut index = self.index.lock();
        if let Some(meta) = index.take(id) {
            for key in meta.carriers.iter().map(Carrier::key) {
                if index.carriers.get(&key).is_some_and(|file| file == id) {
                    index.carriers.remove(&key);
                }
            }
        }
        let _ = fs::remove_file(self.path(id, ".meta"));
        sync_dir(&self.dir).map_err(internal)
    }

    fn of_owner(&self, owner: &str) -> Result<Vec<(String, Meta)>, Ko> {
        let index = self.index.lock();
        let mine = index.files.iter().filter(|(_, m)| m.owner.eq_ignore_ascii_case(owner));
        Ok(mine.map(|(id, m)| (id.clone(), m.clone())).collect())
    }

    fn usage(&self, owner: &str) -> Result<Footprint, Ko> {
        Ok(self.index.lock().owners.get(&fold(owner)).copied().unwrap_or_default())
    }

    /// The oldest first, from the ordered set: what it costs is the
    /// stale ones', however many others are under way.
    fn stale(&self, before: u64, limit: usize) -> Result<Vec<String>, Ko> {
        let index = self.index.lock();
        let old = index.pending.iter().take_while(|(created, _)| *created <= before);
        Ok(old.take(limit).map(|(_, id)| id.clone()).collect())
    }

    /// A look at every description: an account deletion is rare.
    fn concerning(&self, name: &str) -> Result<Vec<String>, Ko> {
        let index = self.index.lock();
        Ok(index.files.iter().filter(|(_, m)| super::concerns(m, name)).map(|(id, _)| id.clone()).collect())
    }

    /// Under the index's lock, its `.meta` rewritten as any change is.
    fn reassign(&self, id: &str, change: &dyn Fn(&mut Meta) -> bool) -> Result<Option<(Meta, bool)>, Ko> {
        let mut index = self.index.lock();
        let Some(meta) = index.files.get(id) else { return Ok(None) };
        let mut meta = meta.clone();
        if !change(&mut meta) {
            return Ok(Some((meta, false)));
        }
        write_synced(&self.path(id, ".meta"), meta_text(&meta).as_bytes()).map_err(internal)?;
        index.insert(id, meta.clone());
        Ok(Some((meta, true)))
    }
}

impl DiskBlobs {
    fn path(&self, id: &str, suffix: &str) -> PathBuf {
        path(&self.dir, id, suffix)
    }
}

impl Blobs for DiskBlobs {
    /// An empty `.part`.
    fn begin(&self, id: &str) -> Result<(), Ko> {
        private_file(&self.path(id, ".part")).map(drop).map_err(internal)
    }

    fn received(&self, id: &str) -> Result<u64, Ko> {
        Ok(fs::metadata(self.path(id, ".part")).map_err(internal)?.len())
    }

    /// A part that meets a full disk is cut back out: the `.part` keeps
    /// the parts that were whole, and `PART` goes on from its length.
    fn append(&self, id: &str, _offset: u64, data: &[u8]) -> Result<(), Ko> {
        let mut file = OpenOptions::new().append(true).open(self.path(id, ".part")).map_err(internal)?;
        let before = file.metadata().map_err(internal)?.len();
        file.write_all(data).map_err(|e| {
            let _ = file.set_len(before);
            internal(e)
        })
    }

    fn open(&self, id: &str) -> Result<Box<dyn ReadSeek + '_>, Ko> {
        Ok(Box::new(File::open(self.path(id, ".part")).map_err(internal)?))
    }

    /// The bytes are synced, renamed into place, the thumbnail written.
    fn seal(&self, id: &str, thumbnail: Option<&[u8]>) -> Result<(), Ko> {
        let part = self.path(id, ".part");
        File::open(&part).and_then(|f| f.sync_all()).map_err(internal)?;
        fs::rename(&part, self.path(id, "")).map_err(internal)?;
        if let Some(jpeg) = thumbnail {
            write_synced(&self.path(id, ".thumb"), jpeg).map_err(internal)?;
        }
        Ok(())
    }

    fn read(&self, id: &str, thumb: bool, offset: u64) -> Result<Vec<u8>, Ko> {
        read_part(&self.path(id, if thumb { ".thumb" } else { "" }), offset).map_err(internal)
    }

    fn remove(&self, id: &str) -> Result<(), Ko> {
        for suffix in ["", ".part", ".thumb"] {
            let _ = fs::remove_file(self.path(id, suffix));
        }
        sync_dir(&self.dir).map_err(internal)
    }
}

/// `.meta`'s text: `key=value` lines, a `msg=from\tto\tid` line per
/// carrier, followed (1.2) by `\tleft=author`, `\tleft=recipient`
/// or both, for its sides whose accounts were deleted (`owner=` is then
/// empty if the uploader's was).
fn meta_text(meta: &Meta) -> String {
    let mut out = format!(
        "owner={}\nname={}\nsize={}\nsha256={}\ntype={}\ncreated={}\ncomplete={}\n",
        meta.owner, meta.name, meta.size, meta.sha256, meta.kind, meta.created, meta.complete
    );
    for c in &meta.carriers {
        out.push_str(&format!("msg={}\t{}\t{}", c.from, c.to, c.id));
        for (left, side) in [(c.left.author, "author"), (c.left.recipient, "recipient")] {
            if left {
                out.push_str(&format!("\tleft={side}"));
            }
        }
        out.push('\n');
    }
    out
}

fn parse_meta(text: &str) -> Option<Meta> {
    let mut fields = HashMap::new();
    let mut carriers = Vec::new();
    for line in text.lines() {
        let (key, value) = line.split_once('=')?;
        if key == "msg" {
            let mut parts = value.split('\t');
            let (from, to, id) = (parts.next()?, parts.next()?, parts.next()?);
            let mut carrier = Carrier::new(from, to, id);
            for left in parts {
                match left {
                    "left=author" => carrier.left.author = true,
                    "left=recipient" => carrier.left.recipient = true,
                    _ => {} // a later version's: this one reads what it knows
                }
            }
            carriers.push(carrier);
        } else {
            fields.insert(key, value);
        }
    }
    let meta = Meta {
        owner: fields.get("owner")?.to_string(),
        name: fields.get("name")?.to_string(),
        size: fields.get("size")?.parse().ok()?,
        sha256: fields.get("sha256")?.to_string(),
        kind: fields.get("type")?.to_string(),
        created: fields.get("created")?.parse().ok()?,
        complete: fields.get("complete")? == &"true",
        carriers,
    };
    files::check_file_name(&meta.name).ok()?;
    Some(meta)
}

/// At most `PART_BYTES` of `path` from `offset`.
fn read_part(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut buf = vec![0; files::PART_BYTES];
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read_at(&mut buf[filled..], offset + filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Replaces `path` whole: a temporary file written and synced, renamed
/// over it, the directory synced.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    let mut file = private_file(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    crate::sys::disk::sync_dir(dir)
}

/// A new, empty file only its owner may read (0600), as the data
/// directory's other files: a photo is as private as a message.
fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}
