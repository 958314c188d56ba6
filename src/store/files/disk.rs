//! The bytes of a single server's files, on its disk, in `<data>/files/`,
//! each named only by its server-chosen id ([`DiskBlobs`]):
//!
//! | file | what |
//! | --- | --- |
//! | `<id>.part` | the bytes received so far of an upload |
//! | `<id>` | a complete file: its sha256 checked, fsynced, renamed from `.part` |
//! | `<id>.thumb` | its JPEG thumbnail (at most ~100 KB), if it is an image |
//!
//! Their descriptions (who uploaded it, its name, size, sha256, type, the
//! messages that carry it) are `FILE` records of the log
//! (`store::local::FilesInLog`), so the name a sender gave is never in a
//! path. Only a file whose bytes were checked and synced is complete: an
//! upload cut short is a `.part`, resumed (`PART` from its length) or
//! swept (`Files::sweep`).
//!
//! Why the bytes beside the log, not in it: a 16 MB file would be read
//! back by every replay and search. What a crash leaves between the two
//! (bytes made before their `UPLOAD` record, bytes of a file whose `GONE`
//! record went first) is bytes that no record describes, removed at the
//! next start ([`open`]).
//!
//! Builds before data format 3 (`store::format`) kept each description
//! in a `<id>.meta` beside the bytes, replaced whole at each change:
//! [`open`] puts those into the log, once, then removes them.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Blobs, Carrier, Meta, ReadSeek, internal};
use crate::protocol::{Ko, files};
use crate::store::LocalStore;
use crate::sys::disk::At;
use crate::sys::private::Mode;

/// The bytes of the `files/` directory of a data directory: `.part`,
/// the complete file, `.thumb`.
pub struct DiskBlobs {
    dir: PathBuf,
}

/// Opens `<data_dir>/files` for the log of `store`: the descriptions an
/// older build kept in `.meta` files put into the log and removed, and a
/// `.tmp` a crash left removed (bytes that no record describes are
/// `Files::remove_undescribed`'s).
pub fn open(data_dir: &Path, store: &LocalStore) -> io::Result<DiskBlobs> {
    let dir = data_dir.join("files");
    // Private, as the rest of the data directory (store::permissions).
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    let old = old_descriptions(&dir)?;
    if !old.is_empty() {
        let converted = store.adopt_files(&old).map_err(|ko| io::Error::other(ko.reason))?;
        for (id, _) in &old {
            fs::remove_file(path(&dir, id, ".meta"))?;
        }
        sync_dir(&dir)?;
        log::info!("{}: {converted} descriptions of files are now records of the log", dir.display());
    }
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".tmp") || name.ends_with(".meta") {
            let _ = fs::remove_file(&path);
        }
    }
    sync_dir(&dir)?;
    Ok(DiskBlobs { dir })
}

/// The descriptions an older build kept in `<dir>/<id>.meta`, each whole.
/// One that does not read (half written by a crash) is none: its bytes
/// go as bytes nothing describes.
fn old_descriptions(dir: &Path) -> io::Result<Vec<(String, Meta)>> {
    let mut old = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if let Some(id) = name.strip_suffix(".meta")
            && files::check_file_id(id).is_ok()
            && let Some(meta) = fs::read_to_string(&path).ok().and_then(|t| parse_meta(&t))
        {
            old.push((id.to_string(), meta));
        }
    }
    old.sort_by(|a, b| (a.1.created, &a.0).cmp(&(b.1.created, &b.0)));
    Ok(old)
}

/// `<dir>/<id><suffix>`.
fn path(dir: &Path, id: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{id}{suffix}"))
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

    /// Each id once, whatever its files (`<id>`, `.part`, `.thumb`).
    fn kept(&self) -> Result<Vec<String>, Ko> {
        let mut ids = std::collections::BTreeSet::new();
        for entry in fs::read_dir(&self.dir).map_err(internal)? {
            let name = entry.map_err(internal)?.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.split('.').next()) {
                ids.insert(id.to_string());
            }
        }
        Ok(ids.into_iter().collect())
    }
}

/// Reads an older build's `.meta`: `key=value` lines, a
/// `msg=from\tto\tid` line per carrier, followed by `\tleft=author`,
/// `\tleft=recipient` or both, for its sides whose accounts were deleted
/// (`owner=` is then empty if the uploader's was).
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
