//! 1.2: the files of chats (issue 42, docs/PROTOCOL.md §21) on the local
//! disk, in `<data>/files/`, each named only by its server-chosen id:
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
//! new one. Only a file whose bytes were checked and synced is served: an
//! upload cut short is a `.part`, resumed (`PART` from its length) or
//! removed an hour after it began ([`Files::sweep`]).
//!
//! Why beside the log, not records in it: the bytes cannot go in the log
//! (a 16 MB file would be read back by every replay and search), and their
//! description lives and dies with them: one directory, one rename each.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::protocol::files::{FileEvent, FileInfo, OTHER_TYPE};
use crate::protocol::{Code, EventRef, Ko, Text, files};

/// Default `--max-file-mb`.
pub const MAX_FILE_MB: u64 = 16;

/// Default `--upload-minutes`: an upload not finished by then is removed.
pub const UPLOAD_MINUTES: u64 = 60;

/// One message carrying a file: its author, its `<to>` as events show it
/// (a user or `#room`) and its id. Names are kept as the events write
/// them and compared ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carrier {
    pub from: String,
    pub to: String,
    pub id: String,
}

impl Carrier {
    fn key(&self) -> (String, String, String) {
        carrier_key(&self.from, &self.to, &self.id)
    }
}

fn carrier_key(from: &str, to: &str, id: &str) -> (String, String, String) {
    (from.to_lowercase(), to.to_lowercase(), id.to_string())
}

/// What `.meta` holds about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The uploader, as registered.
    pub owner: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// One of `files::IMAGE_TYPES` or `files::OTHER_TYPE` once complete.
    pub kind: String,
    /// When the upload began (Unix ms).
    pub created: u64,
    pub complete: bool,
    pub carriers: Vec<Carrier>,
}

impl Meta {
    fn to_text(&self) -> String {
        let mut out = format!(
            "owner={}\nname={}\nsize={}\nsha256={}\ntype={}\ncreated={}\ncomplete={}\n",
            self.owner, self.name, self.size, self.sha256, self.kind, self.created, self.complete
        );
        for c in &self.carriers {
            out.push_str(&format!("msg={}\t{}\t{}\n", c.from, c.to, c.id));
        }
        out
    }

    fn parse(text: &str) -> Option<Meta> {
        let mut fields = HashMap::new();
        let mut carriers = Vec::new();
        for line in text.lines() {
            let (key, value) = line.split_once('=')?;
            if key == "msg" {
                let mut parts = value.split('\t');
                let (from, to, id) = (parts.next()?, parts.next()?, parts.next()?);
                carriers.push(Carrier { from: from.into(), to: to.into(), id: id.into() });
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

    pub fn info(&self, id: &str) -> FileInfo {
        FileInfo { id: id.into(), size: self.size, kind: self.kind.clone(), name: self.name.clone() }
    }
}

/// The files of a server's data directory.
pub struct Files {
    dir: PathBuf,
    /// Largest file (`--max-file-mb`).
    pub max_size: u64,
    /// An upload not complete this long after it began is removed.
    pub upload_ttl: Duration,
    index: Mutex<Index>,
    /// Thumbnails are made one at a time: what decoding costs in memory
    /// is then one image's, however many uploads complete at once.
    thumbnails: Mutex<()>,
}

#[derive(Default)]
struct Index {
    files: HashMap<String, Arc<Mutex<Meta>>>,
    carriers: HashMap<(String, String, String), String>,
}

fn internal(e: io::Error) -> Ko {
    log::error!("files: {e}");
    Ko::new(Code::Internal, "the server could not store the file")
}

fn unknown() -> Ko {
    Ko::new(Code::UnknownFile, "no such file that you may see")
}

impl Files {
    /// Opens `<data_dir>/files`, loading every `.meta`; files left half
    /// written by a crash (a `.tmp`, bytes without a `.meta`) are removed.
    pub fn open(data_dir: &Path, max_size: u64, upload_ttl: Duration) -> io::Result<Files> {
        let dir = data_dir.join("files");
        // Private, as the rest of the data directory (store::permissions).
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let mut index = Index::default();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if let Some(id) = name.strip_suffix(".meta")
                && files::check_file_id(id).is_ok()
                && let Some(meta) = fs::read_to_string(&path).ok().and_then(|t| Meta::parse(&t))
            {
                for c in &meta.carriers {
                    index.carriers.insert(c.key(), id.to_string());
                }
                index.files.insert(id.to_string(), Arc::new(Mutex::new(meta)));
            }
        }
        let files = Files { dir, max_size, upload_ttl, index: Mutex::new(index), thumbnails: Mutex::new(()) };
        files.remove_orphans()?;
        files.sweep(crate::store::now_ms());
        Ok(files)
    }

    fn path(&self, id: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{id}{suffix}"))
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

    fn entry(&self, id: &str) -> Option<Arc<Mutex<Meta>>> {
        self.index.lock().files.get(id).cloned()
    }

    /// Bytes `owner`'s files take or have reserved (uploads under way):
    /// what counts in `--user-quota` beside its messages.
    pub fn bytes_of(&self, owner: &str) -> u64 {
        let index = self.index.lock();
        index
            .files
            .values()
            .map(|m| m.lock())
            .filter(|m| m.owner.eq_ignore_ascii_case(owner))
            .map(|m| m.size)
            .sum()
    }

    /// `UPLOAD`: reserves a new file id for `owner`. `stored` is what its
    /// messages already take of `quota` (0: no quota).
    pub fn upload(
        &self,
        owner: &str,
        name: &str,
        size: u64,
        sha256: &str,
        stored: u64,
        quota: u64,
    ) -> Result<String, Ko> {
        self.sweep(crate::store::now_ms());
        if size == 0 {
            return Err(Ko::new(Code::BadRequest, "a file of 0 bytes has nothing to send"));
        }
        if size > self.max_size {
            let mb = self.max_size / (1024 * 1024);
            return Err(Ko::new(Code::TooLong, format!("a file is at most {mb} MB (--max-file-mb)")));
        }
        let used = stored + self.bytes_of(owner);
        if quota > 0 && used + size > quota {
            let why = format!(
                "you have stored {} of messages and files; this one would pass your quota of {} (--user-quota)",
                files::size_words(used),
                files::size_words(quota)
            );
            return Err(Ko::new(Code::Full, why));
        }
        let id = new_id().map_err(internal)?;
        let meta = Meta {
            owner: owner.into(),
            name: name.into(),
            size,
            sha256: sha256.into(),
            kind: OTHER_TYPE.into(),
            created: crate::store::now_ms(),
            complete: false,
            carriers: Vec::new(),
        };
        private_file(&self.path(&id, ".part")).map_err(internal)?;
        self.write_meta(&id, &meta).map_err(internal)?;
        self.index.lock().files.insert(id.clone(), Arc::new(Mutex::new(meta)));
        Ok(id)
    }

    /// `PART`: appends `data` at `offset` of `owner`'s upload `id`;
    /// returns the bytes received so far. A part already received (it
    /// ends at or before them) changes nothing; a part past them is
    /// refused. The last one returns once the file is checked and synced.
    pub fn part(&self, owner: &str, id: &str, offset: u64, data: &[u8]) -> Result<u64, Ko> {
        let entry = self.entry(id).ok_or_else(unknown)?;
        let mut meta = entry.lock();
        if !meta.owner.eq_ignore_ascii_case(owner) {
            return Err(unknown());
        }
        if meta.complete {
            return Ok(meta.size);
        }
        let part = self.path(id, ".part");
        let received = fs::metadata(&part).map_err(internal)?.len();
        let end = offset.saturating_add(data.len() as u64);
        if offset > received {
            return Err(Ko::new(Code::BadRequest, format!("expected the part at offset {received}")));
        }
        if end > meta.size {
            return Err(Ko::new(
                Code::TooLong,
                format!("the file is {} bytes, this part ends at {end}", meta.size),
            ));
        }
        if end > received {
            let fresh = &data[(received - offset) as usize..];
            OpenOptions::new()
                .append(true)
                .open(&part)
                .and_then(|mut f| f.write_all(fresh))
                .map_err(internal)?;
        }
        let received = received.max(end);
        if received == meta.size {
            self.complete(id, &mut meta)?;
        }
        Ok(received)
    }

    /// The last part came: checks the sha256 (reading the bytes back, a
    /// buffer at a time), syncs them, renames them into place, makes the
    /// thumbnail. Bytes that do not match are removed with their upload.
    fn complete(&self, id: &str, meta: &mut Meta) -> Result<(), Ko> {
        let part = self.path(id, ".part");
        let digest = sha256_of(&part).map_err(internal)?;
        if digest != meta.sha256 {
            self.remove(id);
            let why = "the bytes received do not match the sha256 of the UPLOAD: the upload is removed, start again";
            return Err(Ko::new(Code::BadRequest, why));
        }
        File::open(&part).and_then(|f| f.sync_all()).map_err(internal)?;
        fs::rename(&part, self.path(id, "")).map_err(internal)?;
        let thumb = {
            let _one_at_a_time = self.thumbnails.lock();
            super::thumbnail::make(&self.path(id, ""))
        };
        if let Some((kind, jpeg)) = thumb {
            write_synced(&self.path(id, ".thumb"), &jpeg).map_err(internal)?;
            meta.kind = kind.into();
        }
        meta.complete = true;
        self.write_meta(id, meta).map_err(internal)
    }

    /// `FILE`: `owner`'s complete file `id` as a message would carry it
    /// (its readable text's name and size).
    pub fn complete_file(&self, owner: &str, id: &str) -> Result<Meta, Ko> {
        let entry = self.entry(id).ok_or_else(unknown)?;
        let meta = entry.lock();
        if !meta.owner.eq_ignore_ascii_case(owner) {
            return Err(unknown());
        }
        if !meta.complete {
            return Err(Ko::new(
                Code::UnknownFile,
                format!("the file {id} is not complete yet: send its parts"),
            ));
        }
        Ok(meta.clone())
    }

    /// Records that `carrier` carries the file `id` (before the message is
    /// sent: a crash after it leaves a carrier that holds the file longer,
    /// never a message whose file is gone).
    /// True if it is new.
    pub fn carry(&self, id: &str, carrier: Carrier) -> Result<bool, Ko> {
        let entry = self.entry(id).ok_or_else(unknown)?;
        let mut meta = entry.lock();
        let added = !meta.carriers.iter().any(|c| c.key() == carrier.key());
        if added {
            meta.carriers.push(carrier.clone());
            self.write_meta(id, &meta).map_err(internal)?;
        }
        self.index.lock().carriers.insert(carrier.key(), id.to_string());
        Ok(added)
    }

    /// The message `from`/`to`/`id` was deleted (or never sent): it no
    /// longer carries its file, and a file nothing carries any more is
    /// removed from the disk.
    pub fn forget(&self, from: &str, to: &str, id: &str) {
        let key = carrier_key(from, to, id);
        let Some(file) = self.index.lock().carriers.remove(&key) else { return };
        let Some(entry) = self.entry(&file) else { return };
        let mut meta = entry.lock();
        meta.carriers.retain(|c| c.key() != key);
        if meta.carriers.is_empty() {
            drop(meta);
            self.remove(&file);
        } else if let Err(e) = self.write_meta(&file, &meta) {
            log::error!("files: {e}");
        }
    }

    /// Removes a file's bytes, thumbnail and description.
    fn remove(&self, id: &str) {
        let mut index = self.index.lock();
        index.files.remove(id);
        index.carriers.retain(|_, file| file != id);
        for suffix in [".meta", "", ".part", ".thumb"] {
            let _ = fs::remove_file(self.path(id, suffix));
        }
        let _ = sync_dir(&self.dir);
    }

    /// Removes the uploads begun more than `upload_ttl` before `now` and
    /// still not complete: their quota comes back.
    pub fn sweep(&self, now: u64) {
        let ttl = u64::try_from(self.upload_ttl.as_millis()).unwrap_or(u64::MAX);
        let stale: Vec<String> = {
            let index = self.index.lock();
            let old = |m: &Meta| !m.complete && m.created.saturating_add(ttl) <= now;
            index.files.iter().filter(|(_, m)| old(&m.lock())).map(|(id, _)| id.clone()).collect()
        };
        for id in stale {
            log::info!("files: upload {id} not finished in time: removed");
            self.remove(&id);
        }
    }

    /// The file a message carries, if any.
    pub fn carried(&self, from: &str, to: &str, id: &str) -> Option<FileInfo> {
        let file = self.index.lock().carriers.get(&carrier_key(from, to, id)).cloned()?;
        Some(self.entry(&file)?.lock().info(&file))
    }

    /// The 1.2 `FILE` event of a `MSG` event, if its message carries a file.
    pub fn event(&self, seq: u64, from: &str, to: &str, id: &str, ts: u64, text: &str) -> Option<FileEvent> {
        if !text.starts_with(files::CLIP) {
            return None;
        }
        let file = self.carried(from, to, id)?;
        let text = Text::parse(text).ok()?;
        Some(FileEvent { seq, from: from.into(), to: to.into(), id: id.into(), ts, file, text })
    }

    /// Rewrites, in frames of a replay for a 1.2 connection, each `MSG`
    /// of a message carrying a file into its `FILE` event.
    pub fn rewrite_frames(&self, frames: &mut String) {
        if !frames.contains(files::CLIP) {
            return;
        }
        let mut out = String::with_capacity(frames.len());
        for line in frames.split_inclusive('\n') {
            let frame = line.trim_end_matches('\n');
            match EventRef::parse(frame) {
                Some(EventRef::Msg { seq, from, to, id, ts, text }) => {
                    match self.event(seq, from, to, id, ts, text) {
                        Some(event) => out.push_str(&format!("{event}\n")),
                        None => out.push_str(line),
                    }
                }
                _ => out.push_str(line),
            }
        }
        *frames = out;
    }

    /// `FETCH`: the next part of file `id` (or of its thumbnail) from
    /// `offset`, empty at the end, for `reader` if `may_see` says it may
    /// see one of the messages that carry it (or it uploaded it).
    pub fn fetch(
        &self,
        reader: &str,
        what: &str,
        offset: u64,
        may_see: impl Fn(&Carrier) -> bool,
    ) -> Result<Vec<u8>, Ko> {
        let (id, thumb) = files::split_thumb(what).map_err(|e| Ko::new(Code::BadRequest, e))?;
        let entry = self.entry(id).ok_or_else(unknown)?;
        let meta = entry.lock().clone();
        let allowed = meta.owner.eq_ignore_ascii_case(reader) || meta.carriers.iter().any(may_see);
        if !allowed || !meta.complete || (thumb && !meta.info(id).is_image()) {
            return Err(unknown());
        }
        let path = self.path(id, if thumb { ".thumb" } else { "" });
        read_part(&path, offset).map_err(internal)
    }

    /// The bytes of a complete file, for `wachat export`.
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.path(id, "")
    }

    /// Every file of `owner`: its id and description.
    pub fn of_owner(&self, owner: &str) -> Vec<(String, Meta)> {
        let index = self.index.lock();
        let mut all: Vec<(String, Meta)> = index
            .files
            .iter()
            .map(|(id, m)| (id.clone(), m.lock().clone()))
            .filter(|(_, m)| m.complete && m.owner.eq_ignore_ascii_case(owner))
            .collect();
        all.sort_by_key(|(_, m)| m.created);
        all
    }

    fn write_meta(&self, id: &str, meta: &Meta) -> io::Result<()> {
        write_synced(&self.path(id, ".meta"), meta.to_text().as_bytes())
    }
}

/// At most `PART_BYTES` of `path` from `offset`.
fn read_part(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
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

/// A new file id: 128 bits from the operating system's generator, in hex.
fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The sha256 of a file in hex, read 64 KiB at a time.
pub fn sha256_of(path: &Path) -> io::Result<String> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut file = File::open(path)?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    Ok(context.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect())
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
    File::open(dir)?.sync_all()
}

/// A new, empty file only its owner may read (0600), as the data
/// directory's other files: a photo is as private as a message.
fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        ring::digest::digest(&ring::digest::SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn an_upload_is_served_once_complete_and_only_to_who_may_see_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap();
        let bytes: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
        let id = files.upload("ana", "a.bin", bytes.len() as u64, &sha(&bytes), 0, 0).unwrap();
        assert_eq!(files.part("ana", &id, 0, &bytes[..12_000]).unwrap(), 12_000);
        assert_eq!(files.part("ana", &id, 0, &bytes[..12_000]).unwrap(), 12_000, "a resend changes nothing");
        assert_eq!(files.part("bob", &id, 12_000, &bytes[12_000..]).unwrap_err().code, Code::UnknownFile);
        assert_eq!(files.part("ana", &id, 20_000, &bytes[20_000..]).unwrap_err().code, Code::BadRequest);
        assert!(files.fetch("ana", &id, 0, |_| true).is_err(), "not complete: not served");
        assert_eq!(files.part("ana", &id, 12_000, &bytes[12_000..]).unwrap(), 30_000);
        files.carry(&id, Carrier { from: "ana".into(), to: "Bob".into(), id: "m1".into() }).unwrap();
        let mut got = Vec::new();
        loop {
            let part =
                files.fetch("bob", &id, got.len() as u64, |c| c.to.eq_ignore_ascii_case("bob")).unwrap();
            if part.is_empty() {
                break;
            }
            got.extend(part);
        }
        assert_eq!(got, bytes);
        assert!(files.fetch("eve", &id, 0, |_| false).is_err());
        assert_eq!(files.carried("ANA", "bob", "m1").unwrap().size, 30_000);
        files.forget("ana", "bob", "m1");
        assert!(!dir.path().join("files").join(&id).exists(), "deleted with its last message");
    }

    #[test]
    fn a_wrong_hash_removes_the_upload_and_quota_and_size_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
        assert_eq!(files.upload("ana", "a", 101, &sha(b""), 0, 0).unwrap_err().code, Code::TooLong);
        assert_eq!(files.upload("ana", "a", 60, &sha(b""), 50, 100).unwrap_err().code, Code::Full);
        let id = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
        assert_eq!(files.part("ana", &id, 0, b"abd").unwrap_err().code, Code::BadRequest);
        assert_eq!(files.bytes_of("ana"), 0, "its reservation given back");
    }

    #[test]
    fn an_unfinished_upload_is_swept_and_a_restart_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path(), 100, Duration::from_millis(0)).unwrap();
        let stale = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
        files.sweep(crate::store::now_ms() + 1);
        assert_eq!(files.bytes_of("ana"), 0);
        assert!(!dir.path().join("files").join(format!("{stale}.part")).exists());
        let files = Files::open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
        let id = files.upload("ana", "a", 3, &sha(b"abc"), 0, 0).unwrap();
        files.part("ana", &id, 0, b"abc").unwrap();
        let again = Files::open(dir.path(), 100, Duration::from_secs(3600)).unwrap();
        assert_eq!(again.fetch("ana", &id, 0, |_| false).unwrap(), b"abc");
    }
}
