//! 1.2: the files of chats (docs/PROTOCOL.md §21): the rules,
//! and the one interface the server calls, whatever keeps the bytes.
//!
//! A file is two things: its description ([`Meta`], with the messages
//! that carry it, [`Carrier`]), and its bytes, behind [`Blobs`], a
//! handful of methods (`kept.rs`). The descriptions are records of the
//! log, on a single server as on a cluster (`FILE`:
//! `store::record::files`, applied to the state's [`FileIndex`] as every
//! record is, kept by [`FilesInLog`]); only the bytes differ:
//!
//! | bytes | where | for |
//! | --- | --- | --- |
//! | [`disk::DiskBlobs`] | `<data>/files/<id>` | a single server |
//! | `cluster::files::PgBlobs` | the `file_chunks` table | a cluster: any node serves any file |
//!
//! What is allowed is decided here, in [`Files`], once, by the
//! small functions of `rules.rs`: who may fetch ([`may_fetch`]), the
//! quota ([`check_quota`]), which uploads are swept ([`is_stale`]), when
//! a `DELETE` takes the bytes with it ([`is_orphan`]), who pays for a
//! forwarded file once its uploader deleted her messages ([`heir`],
//! [`pass_to_heir`]) and what an account's deletion does to the files it
//! touched ([`disown`]); the last two are named by their records
//! ([`FileChange`]), whose applying runs them, on the leader and on each
//! follower alike.
//!
//! An upload is checked before it is served: its sha256 is computed from
//! the stored bytes read back (a buffer or a chunk at a time, never the
//! whole file in memory), or, where the store hashed the bytes as it
//! committed them ([`Blobs::digest`]: a cluster's, where reading
//! 16 MB back from PostgreSQL took a sixth of an upload), from those;
//! only then is it marked complete and its thumbnail made
//! (`store::thumbnail`).

pub mod disk;
mod in_flight;
mod index;
mod kept;
mod names;
mod rules;

pub use index::{FileChange, FileIndex};
pub use kept::{Blobs, Carrier, Footprint, Left, Meta, ReadSeek, Stored, part_gap};
pub use rules::{
    PENDING_PER_ADDRESS, PENDING_PER_USER, check_quota, check_upload, concerns, disown, heir, is_orphan,
    is_owner, is_stale, is_unread, may_fetch, pass_to_heir,
};

use names::new_id;
pub use names::{export_name, hex, peer_file_id, sha256_of, sha256_of_reader};

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read, Seek};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::files::{FileEvent, FileInfo, OTHER_TYPE};
use crate::protocol::names::fold;
use crate::protocol::{Code, EventRef, Ko, Text, files};
use crate::store::FilesInLog;

/// Default `--max-file-mb`.
pub const MAX_FILE_MB: u64 = 16;

/// Default `--upload-minutes`: an upload not finished by then is removed.
pub const UPLOAD_MINUTES: u64 = 60;

/// What to do with a `PART`'s answer (the bytes received so far), when
/// it is known; see [`Files::part_then`].
pub type AfterPart = Box<dyn FnOnce(Result<u64, Ko>) + Send>;

/// What a `PART` finds ([`Files::check_part`]).
enum Checked {
    /// The file is complete already, of this size: a part changes nothing.
    Complete(u64),
    /// The upload, and the bytes it has received.
    Upload(Meta, u64),
}

fn unknown() -> Ko {
    Ko::new(Code::UnknownFile, "no such file that you may see")
}

/// Locks per file id, spread over a few mutexes: two `PART`s of one
/// upload on this node take turns (two nodes: the store's keys decide).
const STRIPES: usize = 16;

/// The files of a server, on whichever store.
pub struct Files {
    store: FilesInLog,
    blobs: Box<dyn Blobs>,
    /// Largest file (`--max-file-mb`).
    pub max_size: u64,
    /// An upload not complete this long after it began is removed.
    pub upload_ttl: Duration,
    stripes: [Mutex<()>; STRIPES],
    /// Thumbnails are made one at a time: what decoding costs in memory
    /// is then one image's, however many uploads complete at once.
    thumbnails: Mutex<()>,
    /// Images of each uploader and of each address waiting for the
    /// thumbnailer or in it ([`THUMBNAILS_QUEUED`]).
    queued: Mutex<HashMap<Queuer, usize>>,
    /// The uploads under way that each address began here, and when
    /// ([`PENDING_PER_ADDRESS`]); one is let go when it completes here, or
    /// once it is `upload_ttl` old (it was completed by a cluster's leader
    /// before a failover, or swept).
    by_address: Mutex<AddressUploads>,
    /// When [`Files::sweep`] last ran from an `UPLOAD`.
    swept: Mutex<Option<Instant>>,
    /// Uploads whose last part came and that are being completed, out of
    /// their stripe: an image's completion waits for the thumbnailer, and
    /// another upload of the same stripe (a bystander's text) must not
    /// wait with it.
    completing: Mutex<std::collections::HashSet<String>>,
    /// Uploads with parts on their way to a store that appends later.
    in_flight: std::sync::Arc<in_flight::InFlight>,
    /// Held (shared) by each upload between the room for its bytes and
    /// its description, and (alone) by [`Files::remove_undescribed`].
    making: parking_lot::RwLock<()>,
    /// Whether [`Files::remove_undescribed`] ran (once, at the first sweep).
    undescribed_removed: std::sync::atomic::AtomicBool,
}

/// The uploads under way of each address, and each one's address.
#[derive(Default)]
struct AddressUploads {
    of: HashMap<IpAddr, Vec<(String, Instant)>>,
    address: HashMap<String, IpAddr>,
}

impl AddressUploads {
    /// Forgets upload `id`.
    fn remove(&mut self, id: &str) {
        let Some(address) = self.address.remove(id) else { return };
        if let Some(ids) = self.of.get_mut(&address) {
            ids.retain(|(i, _)| i != id);
            if ids.is_empty() {
                self.of.remove(&address);
            }
        }
    }
}

/// Most images of one uploader, and of one address, waiting for the
/// thumbnailer or in it, so that one student cannot hold the thumbnailer:
/// one more completing upload is `KO:RATE_LIMITED`, its last part kept
/// (sent again, it completes). Those of others wait behind a few of each,
/// never behind a flood.
pub const THUMBNAILS_QUEUED: usize = 2;

/// Who queues images for the thumbnailer: an uploader (its name folded)
/// or an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Queuer {
    User(String),
    Address(IpAddr),
}

/// How often an `UPLOAD` sweeps the stale uploads (and how many, at
/// most, a sweep removes): a flood of `UPLOAD`s does not sweep a flood
/// of times.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const SWEEP_AT_MOST: usize = 256;

impl Files {
    /// The files of a single server: their descriptions in the log of
    /// `store`, their bytes in `<data_dir>/files` ([`disk::open`]).
    pub fn open(
        data_dir: &Path,
        store: &std::sync::Arc<crate::store::LocalStore>,
        max_size: u64,
        upload_ttl: Duration,
    ) -> io::Result<Files> {
        let blobs = disk::open(data_dir, store)?;
        let files = Files::new(FilesInLog::new(store.clone()), Box::new(blobs), max_size, upload_ttl);
        files.sweep(crate::store::now_ms());
        Ok(files)
    }

    /// The files whose descriptions `store` keeps, and their bytes `blobs`.
    pub fn new(store: FilesInLog, blobs: Box<dyn Blobs>, max_size: u64, upload_ttl: Duration) -> Files {
        let stripes = std::array::from_fn(|_| Mutex::new(()));
        let (thumbnails, by_address, swept) = (Mutex::new(()), Mutex::default(), Mutex::new(None));
        let queued = Mutex::default();
        let completing = Mutex::default();
        Files {
            store,
            blobs,
            max_size,
            upload_ttl,
            stripes,
            thumbnails,
            queued,
            by_address,
            swept,
            completing,
            in_flight: Default::default(),
            making: Default::default(),
            undescribed_removed: Default::default(),
        }
    }

    fn stripe(&self, id: &str) -> &Mutex<()> {
        let sum = id.bytes().fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize));
        &self.stripes[sum % STRIPES]
    }

    /// Bytes `owner`'s files take or have reserved (uploads under way):
    /// what counts in `--user-quota` beside its messages.
    pub fn bytes_of(&self, owner: &str) -> u64 {
        self.store.usage(owner).bytes
    }

    /// Whether `owner` may store one more message: `KO:FULL` once its
    /// messages (`stored`) and its files reach `quota` (0: none). A burst
    /// of `MSG`s asks once; an owner without files has nothing to add to
    /// what the store checks (its messages alone), and its messages'
    /// bytes are not read.
    pub fn check_message(&self, owner: &str, stored: impl FnOnce() -> u64, quota: u64) -> Result<(), Ko> {
        if quota == 0 {
            return Ok(());
        }
        let files = self.bytes_of(owner);
        if files == 0 { Ok(()) } else { check_quota(stored() + files, 0, quota) }
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
        self.create_upload(new_id().map_err(internal)?, owner, (name, size, sha256), stored, quota)
    }

    fn create_upload(
        &self,
        id: String,
        owner: &str,
        (name, size, sha256): (&str, u64, &str),
        stored: u64,
        quota: u64,
    ) -> Result<String, Ko> {
        self.sweep_now_and_then();
        if size == 0 {
            return Err(Ko::new(Code::BadRequest, "a file of 0 bytes has nothing to send"));
        }
        if size > self.max_size {
            let mb = self.max_size / (1024 * 1024);
            return Err(Ko::new(Code::TooLong, format!("a file is at most {mb} MB (--max-file-mb)")));
        }
        check_upload(self.store.usage(owner), stored, size, quota)?; // cheap refusals first
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
        // The room for its bytes first: a crash before its description
        // leaves bytes nothing describes, which the first sweep of the
        // next server that leads removes ([`Files::remove_undescribed`]),
        // and which waits for this meanwhile.
        let made = {
            let _making = self.making.read();
            self.blobs.begin(&id)?;
            self.store.create(&id, &meta, &|usage| check_upload(usage, stored, size, quota))
        };
        if let Err(ko) = made {
            // Left behind, they are removed at the next start.
            if let Err(e) = self.blobs.remove(&id) {
                log::warn!("files: removing the room of a refused upload {id}: {}", e.reason);
            }
            return Err(ko);
        }
        Ok(id)
    }

    /// 1.3 (§27): a peer's `UPLOAD` of its file, kept here as `id`
    /// ([`peer_file_id`]) for `owner` (the peer's account, `@lab1`), within
    /// `quota` with its messages' `stored` bytes (`--peer-quota`) and
    /// [`PENDING_PER_USER`] unfinished at once. Returns the bytes already
    /// received (all of them once complete): where its parts resume. The
    /// same id announced again with another size or sha256 is refused.
    pub fn receive(
        &self,
        id: &str,
        owner: &str,
        (name, size, sha256): (&str, u64, &str),
        stored: u64,
        quota: u64,
    ) -> Result<u64, Ko> {
        // No stripe is held: making the upload may sweep others (one
        // link per peer at a time announces its files one by one).
        if let Some(meta) = self.store.meta(id) {
            if !is_owner(&meta, owner) || meta.size != size || meta.sha256 != sha256 {
                let why = format!("the file {id} was announced with another owner, size or sha256");
                return Err(Ko::new(Code::BadRequest, why));
            }
            return if meta.complete { Ok(meta.size) } else { self.blobs.received(id) };
        }
        self.create_upload(id.to_string(), owner, (name, size, sha256), stored, quota)?;
        Ok(0)
    }

    /// The file a message carries, with its description (its sha256
    /// among it), if any.
    pub fn carried_meta(&self, from: &str, to: &str, id: &str) -> Option<(String, Meta)> {
        self.store.carried(&Carrier::new(from, to, id))
    }

    /// Whether file `id` is complete and `owner`'s: a peer names only its
    /// own files in a `FILE` frame.
    pub fn complete_of(&self, id: &str, owner: &str) -> bool {
        self.store.meta(id).is_some_and(|meta| meta.complete && is_owner(&meta, owner))
    }

    /// The next part of complete file `id` from `offset`, for whoever this
    /// server decided may have it (a link sends a file a message carries).
    pub fn read_part(&self, id: &str, offset: u64) -> Result<Vec<u8>, Ko> {
        self.blobs.read(id, false, offset)
    }

    /// `UPLOAD` from `address`: [`Files::upload`] within
    /// [`PENDING_PER_ADDRESS`] of this address's uploads under way.
    pub fn upload_from(
        &self,
        address: IpAddr,
        owner: &str,
        (name, size, sha256): (&str, u64, &str),
        stored: u64,
        quota: u64,
    ) -> Result<String, Ko> {
        let id = new_id().map_err(internal)?;
        {
            // The place is taken before the upload is made (and given
            // back if it is refused): two `UPLOAD`s of one address at once
            // do not both take the last one, nor wait for each other's disk.
            let mut uploads = self.by_address.lock();
            let old = |(i, at): &(String, Instant)| (at.elapsed() >= self.upload_ttl).then(|| i.clone());
            let expired: Vec<String> =
                uploads.of.get(&address).into_iter().flatten().filter_map(old).collect();
            for i in &expired {
                uploads.remove(i);
            }
            let mine = uploads.of.entry(address).or_default();
            if mine.len() >= PENDING_PER_ADDRESS {
                let why = format!(
                    "{} uploads from your address are not finished (at most {PENDING_PER_ADDRESS}): \
                     finish them, or wait until they are removed",
                    mine.len()
                );
                return Err(Ko::new(Code::Full, why));
            }
            mine.push((id.clone(), Instant::now()));
            uploads.address.insert(id.clone(), address);
        }
        let made = self.create_upload(id.clone(), owner, (name, size, sha256), stored, quota);
        if made.is_err() {
            self.done(&id);
        }
        made
    }

    /// Upload `id` is under way no more (complete, or removed).
    fn done(&self, id: &str) {
        self.in_flight.forget(id);
        self.by_address.lock().remove(id);
    }

    /// `PART`: appends `data` at `offset` of `owner`'s upload `id`;
    /// returns the bytes received so far. A part already received (it
    /// ends at or before them) changes nothing; a part past them is
    /// refused. The last one returns once the file is checked and stored.
    pub fn part(&self, owner: &str, id: &str, offset: u64, data: &[u8]) -> Result<u64, Ko> {
        self.part_from(None, owner, id, offset, data).map(|(received, _)| received)
    }

    /// [`Files::part`] from `address` (its images queue within
    /// [`THUMBNAILS_QUEUED`] of it too); also how long its thumbnail took,
    /// which the caller charges to the uploader's rate.
    pub fn part_from(
        &self,
        address: Option<IpAddr>,
        owner: &str,
        id: &str,
        offset: u64,
        data: &[u8],
    ) -> Result<(u64, Duration), Ko> {
        let (done, answer) = crossbeam_channel::bounded(1);
        let then = Box::new(move |r| drop(done.send(r)));
        let spent = self.part_then(address, owner, id, (offset, Cow::Borrowed(data)), then);
        let received =
            answer.recv().unwrap_or_else(|_| Err(Ko::new(Code::Internal, "a part was not answered")));
        Ok((received?, spent))
    }

    /// Whether a `PART`'s answer may come after [`Files::part_then`]
    /// returned: the store commits parts together ([`Blobs::appends_later`]).
    pub fn parts_later(&self) -> bool {
        self.blobs.appends_later()
    }

    /// [`Files::part_from`], answered through `then`: at once, or (a
    /// store that [appends later](Blobs::appends_later), a part that
    /// is not the last) once the part is durable, from the store's
    /// committer. The same rules either way: parts in order from the
    /// bytes received (those on their way included: `in_flight.rs`),
    /// within the size the `UPLOAD` reserved, and the last one returns
    /// once the file is checked and stored. How long its thumbnail took.
    /// `data` owned (a decoded request's) goes to a store that appends
    /// later as it is, not copied.
    pub fn part_then(
        &self,
        address: Option<IpAddr>,
        owner: &str,
        id: &str,
        (offset, data): (u64, Cow<'_, [u8]>),
        then: AfterPart,
    ) -> Duration {
        let turn = self.stripe(id).lock();
        let (meta, received) = match self.check_part(owner, id, offset, data.len() as u64) {
            Ok(Checked::Complete(size)) => {
                then(Ok(size));
                return Duration::ZERO;
            }
            Ok(Checked::Upload(meta, received)) => (meta, received),
            Err(ko) => {
                then(Err(ko));
                return Duration::ZERO;
            }
        };
        let end = offset + data.len() as u64;
        // What was received already of it (a resend's overlap) is skipped.
        let skip = (received.min(end) - offset) as usize;
        let upto = received.max(end);
        if upto < meta.size && self.blobs.appends_later() {
            let generation = self.in_flight.begin(id, &meta, upto);
            let (in_flight, file) = (self.in_flight.clone(), id.to_string());
            let stored: Stored = Box::new(move |stored| {
                in_flight.end(&file, generation, stored.is_ok());
                then(stored.map(|()| upto));
            });
            let new = match data {
                Cow::Owned(mut bytes) => {
                    bytes.drain(..skip);
                    bytes
                }
                Cow::Borrowed(bytes) => bytes[skip..].to_vec(),
            };
            self.blobs.append_later(id, received, new, stored);
            return Duration::ZERO;
        }
        if let Err(ko) = self.append_now(id, received, &data[skip..]) {
            then(Err(ko));
            return Duration::ZERO;
        }
        if upto < meta.size {
            then(Ok(upto));
            return Duration::ZERO;
        }
        // Completed out of the stripe (`completing`), and the stripe
        // let go: the thumbnailer's wait is this upload's alone.
        self.completing.lock().insert(id.to_string());
        drop(turn);
        let completed = self.complete(id, &meta, address);
        self.completing.lock().remove(id);
        match completed {
            // No room for it in the thumbnailer's queue: the upload
            // stays under way, its bytes kept, for the last part again.
            Err(ko) if ko.code == Code::RateLimited => then(Err(ko)),
            done => {
                self.done(id);
                match done {
                    Ok(spent) => {
                        then(Ok(upto));
                        return spent;
                    }
                    Err(ko) => then(Err(ko)),
                }
            }
        }
        Duration::ZERO
    }

    /// What a `PART` of `len` bytes at `offset` of `owner`'s upload `id`
    /// finds: a file complete already, or the upload and the bytes it
    /// has received (those on their way included); refused if not the
    /// owner's, being completed, past the bytes received or past its size.
    fn check_part(&self, owner: &str, id: &str, offset: u64, len: u64) -> Result<Checked, Ko> {
        let known = match self.in_flight.get(id) {
            // Past what this node knows, with nothing on its way: another
            // node may have appended it; the store tells.
            Some((_, received, false)) if offset > received => {
                self.in_flight.forget(id);
                None
            }
            known => known.map(|(meta, received, _)| (meta, received)),
        };
        // Someone else's upload is unknown to this one, whether this node
        // knows it or the store tells, and before it says it is complete.
        let (meta, received) = match known {
            Some((meta, received)) => (meta, Some(received)),
            None => (self.store.meta(id).ok_or_else(unknown)?, None),
        };
        if !is_owner(&meta, owner) {
            return Err(unknown());
        }
        let received = match received {
            Some(received) => received,
            None if meta.complete => return Ok(Checked::Complete(meta.size)),
            None => self.blobs.received(id)?,
        };
        if self.completing.lock().contains(id) {
            let why = "this file's last part is being completed: send this part again in a moment";
            return Err(Ko::new(Code::RateLimited, why));
        }
        let end = offset.saturating_add(len);
        if offset > received {
            return Err(part_gap(received));
        }
        if end > meta.size {
            return Err(Ko::new(
                Code::TooLong,
                format!("the file is {} bytes, this part ends at {end}", meta.size),
            ));
        }
        Ok(Checked::Upload(meta, received))
    }

    /// Appends `data` at `offset` of upload `id` and returns once it is
    /// durable: at once, or after the parts on their way before it (a
    /// store that appends later), which must all have been stored.
    /// (An empty `data` is still handed to a store that appends later: it
    /// waits there for the parts before it.)
    fn append_now(&self, id: &str, offset: u64, data: &[u8]) -> Result<(), Ko> {
        if data.is_empty() && !self.blobs.appends_later() {
            return Ok(());
        }
        self.blobs.append(id, offset, data)
    }

    /// The last part came: checks the sha256 from the stored bytes, makes
    /// the thumbnail, marks the file complete. Bytes that do not match are
    /// removed with their upload.
    /// A file that is not an image by its first bytes never waits for
    /// the thumbnailer; an image waits within [`THUMBNAILS_QUEUED`] of its
    /// uploader's and its address's. How long its thumbnail took.
    fn complete(&self, id: &str, meta: &Meta, address: Option<IpAddr>) -> Result<Duration, Ko> {
        let digest = match self.blobs.digest(id, meta.size)? {
            Some(digest) => digest,
            None => sha256_of_reader(&mut *self.blobs.open(id)?).map_err(internal)?,
        };
        if digest != meta.sha256 {
            self.remove(id)?;
            let why = "the bytes received do not match the sha256 of the UPLOAD: the upload is removed, start again";
            return Err(Ko::new(Code::BadRequest, why));
        }
        let mut head = Vec::with_capacity(super::thumbnail::HEAD_BYTES);
        let mut bytes = self.blobs.open(id)?;
        (&mut bytes).take(super::thumbnail::HEAD_BYTES as u64).read_to_end(&mut head).map_err(internal)?;
        let mut spent = Duration::ZERO;
        let thumb = if super::thumbnail::may_be_image(&head) {
            let queuers: Vec<Queuer> = [Some(Queuer::User(fold(&meta.owner))), address.map(Queuer::Address)]
                .into_iter()
                .flatten()
                .collect();
            let _place = self.queue_for_thumbnail(queuers)?;
            let _one_at_a_time = self.thumbnails.lock();
            // Only the making is charged, not the wait behind others'.
            let began = Instant::now();
            bytes.seek(io::SeekFrom::Start(0)).map_err(internal)?;
            let bytes = io::BufReader::with_capacity(64 * 1024, bytes);
            let thumb =
                super::thumbnail::on_decoder_stack(|| super::thumbnail::make_from(bytes, id)).flatten();
            spent = began.elapsed();
            thumb
        } else {
            None
        };
        let kind = thumb.as_ref().map_or(OTHER_TYPE, |(kind, _)| kind);
        self.blobs.seal(id, thumb.as_ref().map(|(_, jpeg)| &jpeg[..]))?;
        self.store.finish(id, kind)?;
        Ok(spent)
    }

    /// A place in the thumbnailer's queue for each of `queuers`, given
    /// back when the returned guard goes; `KO:RATE_LIMITED` if one of them
    /// has [`THUMBNAILS_QUEUED`] already.
    fn queue_for_thumbnail(&self, queuers: Vec<Queuer>) -> Result<QueuePlace<'_>, Ko> {
        let mut queued = self.queued.lock();
        if queuers.iter().any(|q| queued.get(q).copied().unwrap_or(0) >= THUMBNAILS_QUEUED) {
            let why = format!(
                "{THUMBNAILS_QUEUED} of your images are being made into thumbnails already: \
                 send this last part again in a moment"
            );
            return Err(Ko::new(Code::RateLimited, why));
        }
        for q in &queuers {
            *queued.entry(q.clone()).or_default() += 1;
        }
        Ok(QueuePlace { files: self, queuers })
    }

    /// `FILE`: the complete file `id` as a message of `sender` would carry
    /// it (its readable text's name and size). Its uploader may send it,
    /// and (1.2, forwarding: docs/PROTOCOL.md §21) so may whoever may
    /// fetch it ([`may_fetch`]): a photo forwarded is the same file, never
    /// uploaded again, and reaches no one its reader could not show it to
    /// anyway. It stays in its uploader's quota while a message of hers
    /// carries it ([`heir`]).
    pub fn complete_file(
        &self,
        sender: &str,
        id: &str,
        may_see: impl Fn(&Carrier) -> bool,
    ) -> Result<Meta, Ko> {
        let meta = self.store.meta(id).ok_or_else(unknown)?;
        if !meta.complete && is_owner(&meta, sender) {
            return Err(Ko::new(
                Code::UnknownFile,
                format!("the file {id} is not complete yet: send its parts"),
            ));
        }
        if !may_fetch(&meta, sender, may_see) {
            return Err(unknown());
        }
        Ok(meta)
    }

    /// Records that `carrier` carries the file `id` (before the message is
    /// sent: a crash after it leaves a carrier that holds the file longer,
    /// never a message whose file is gone). True if it is new.
    pub fn carry(&self, id: &str, carrier: Carrier) -> Result<bool, Ko> {
        let _turn = self.stripe(id).lock();
        self.store.carry(id, &carrier)
    }

    /// The message `from`/`to`/`id` was deleted (or never sent): it no
    /// longer carries its file; a file nothing carries any more is
    /// removed from the store ([`is_orphan`]), and one that only others'
    /// messages carry now passes to its [`heir`], quota and all.
    pub fn forget(&self, from: &str, to: &str, id: &str) {
        let carrier = Carrier::new(from, to, id);
        let done = self.store.uncarry(&carrier).and_then(|left| match left {
            Some((file, meta)) if is_orphan(&meta) => self.remove(&file),
            Some((file, meta)) => {
                if let Some((now, true)) = self.store.reassign(&file, &FileChange::Heir)? {
                    log::info!(
                        "files: {file} is {}'s now: {} deleted the messages carrying it",
                        now.owner,
                        meta.owner
                    );
                }
                Ok(())
            }
            None => Ok(()),
        });
        if let Err(ko) = done {
            log::error!("files: forgetting the file of message {id}: {}", ko.reason);
        }
    }

    /// 1.2 (§30): removes `owner`'s complete file `id` if no message
    /// carries it (the upload a profile photo was made of): its quota
    /// comes back. Anyone else's file, or one a message carries, stays.
    pub fn discard(&self, owner: &str, id: &str) -> Result<(), Ko> {
        let _turn = self.stripe(id).lock();
        let Some(meta) = self.store.meta(id) else { return Ok(()) };
        if !meta.complete || !is_owner(&meta, owner) || !is_orphan(&meta) {
            return Ok(());
        }
        self.remove(id)?;
        self.done(id);
        Ok(())
    }

    /// 1.2: the account of `name` was deleted (or its name is
    /// about to be registered again, which covers a crash between the
    /// two): its files are its name's no more, those nobody may read now
    /// ([`is_unread`]: its uploads, the files it never sent) are removed,
    /// bytes and description; what a recipient still has stays the
    /// recipient's. How many were removed.
    pub fn forget_account(&self, name: &str) -> Result<usize, Ko> {
        let mut removed = 0;
        for id in self.store.concerning(name) {
            let _turn = self.stripe(&id).lock();
            let Some((meta, _)) = self.store.reassign(&id, &FileChange::Disown(name.to_string()))? else {
                continue;
            };
            if is_unread(&meta) {
                self.remove(&id)?;
                self.done(&id);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes the bytes that no description is of, and says how many
    /// files' it removed: what a crash left between a file's bytes and its
    /// record (the room of an upload made before its `UPLOAD` record, the
    /// bytes of a file whose `GONE` record went first). Run once by the
    /// first [`Files::sweep`] (a single server's at its start, a
    /// cluster's leader's as it leads); the uploads being made wait.
    pub fn remove_undescribed(&self) -> Result<usize, Ko> {
        let _no_upload_is_being_made = self.making.write();
        let mut removed = 0;
        for id in self.blobs.kept()? {
            if self.store.meta(&id).is_none() {
                self.blobs.remove(&id)?;
                removed += 1;
            }
        }
        if removed > 0 {
            log::info!(
                "files: the bytes of {removed} files that nothing describes (left by a crash) removed"
            );
        }
        Ok(removed)
    }

    /// Removes the uploads [`is_stale`] at `now`: their quota comes back.
    /// It reads the stale ones only (at most [`SWEEP_AT_MOST`] a time).
    /// The first one also runs [`Files::remove_undescribed`].
    pub fn sweep(&self, now: u64) {
        use std::sync::atomic::Ordering;
        if !self.undescribed_removed.swap(true, Ordering::SeqCst)
            && let Err(ko) = self.remove_undescribed()
        {
            log::warn!("files: removing the bytes nothing describes: {}", ko.reason);
        }
        let ttl = u64::try_from(self.upload_ttl.as_millis()).unwrap_or(u64::MAX);
        let Some(before) = now.checked_sub(ttl) else { return };
        for id in &self.store.stale(before, SWEEP_AT_MOST) {
            let _turn = self.stripe(id).lock();
            // Checked again under the upload's turn: its last part may
            // have just completed it.
            if !self.store.meta(id).is_some_and(|meta| is_stale(&meta, now, self.upload_ttl)) {
                continue;
            }
            log::info!("files: upload {id} not finished in time: removed");
            self.done(id);
            if let Err(ko) = self.remove(id) {
                log::warn!("files: removing upload {id}: {}", ko.reason);
            }
        }
    }

    /// [`Files::sweep`], at most every [`SWEEP_EVERY`].
    fn sweep_now_and_then(&self) {
        {
            let mut swept = self.swept.lock();
            if swept.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
                return;
            }
            *swept = Some(Instant::now());
        }
        self.sweep(crate::store::now_ms());
    }

    /// Removes file `id`: its description and carriers first (nothing
    /// serves it any more), then its bytes; a crash between leaves bytes
    /// nothing describes ([`Files::remove_undescribed`]).
    fn remove(&self, id: &str) -> Result<(), Ko> {
        self.store.remove(id)?;
        self.blobs.remove(id)
    }

    /// The file a message carries, if any.
    pub fn carried(&self, from: &str, to: &str, id: &str) -> Option<FileInfo> {
        let carrier = Carrier::new(from, to, id);
        let (file, meta) = self.store.carried(&carrier)?;
        Some(meta.info(&file))
    }

    /// The 1.2 `FILE` event of a `MSG` event, if its message carries a file.
    pub fn event(&self, seq: u64, from: &str, to: &str, id: &str, ts: u64, text: &str) -> Option<FileEvent> {
        // 1.3: a file a room's home relayed from a third server's user
        // reads `[relayed by lab2] 📎 …` (`protocol::relayed`).
        let words = crate::protocol::relayed::relayed_by(from, to, text).map_or(text, |(_, words)| words);
        if !words.starts_with(files::CLIP) {
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
    /// `offset`, empty at the end, if [`may_fetch`] lets `reader`.
    pub fn fetch(
        &self,
        reader: &str,
        what: &str,
        offset: u64,
        may_see: impl Fn(&Carrier) -> bool,
    ) -> Result<Vec<u8>, Ko> {
        let (id, thumb) = files::split_thumb(what).map_err(|e| Ko::new(Code::BadRequest, e))?;
        let meta = self.store.meta(id).ok_or_else(unknown)?;
        if !may_fetch(&meta, reader, may_see) || (thumb && !meta.info(id).is_image()) {
            return Err(unknown());
        }
        self.blobs.read(id, thumb, offset)
    }

    /// `FILEOF`: the file the message `carrier` carries, if [`may_fetch`]
    /// lets `reader` by this very message (or as its uploader);
    /// `KO:UNKNOWN_FILE` otherwise, the same answer as for no such message.
    pub fn file_of(
        &self,
        reader: &str,
        carrier: &Carrier,
        may_see: impl Fn(&Carrier) -> bool,
    ) -> Result<FileInfo, Ko> {
        let (id, meta) = self.store.carried(carrier).ok_or_else(unknown)?;
        let this_one = |c: &Carrier| c.key() == carrier.key() && may_see(c);
        if !may_fetch(&meta, reader, this_one) {
            return Err(unknown());
        }
        Ok(meta.info(&id))
    }

    /// Every complete file of `owner`, oldest first: its id and description.
    pub fn of_owner(&self, owner: &str) -> Vec<(String, Meta)> {
        let mut all = self.store.of_owner(owner);
        all.retain(|(_, m)| m.complete);
        all.sort_by_key(|(_, m)| m.created);
        all
    }

    /// Copies the bytes of complete file `id` to `out`, a part at a time
    /// (`wachat export`); the bytes copied.
    pub fn copy_to(&self, id: &str, out: &mut dyn io::Write) -> Result<u64, Ko> {
        let mut offset = 0;
        loop {
            let part = self.blobs.read(id, false, offset)?;
            if part.is_empty() {
                return Ok(offset);
            }
            out.write_all(&part).map_err(internal)?;
            offset += part.len() as u64;
        }
    }
}

/// Places in the thumbnailer's queue, given back when dropped.
struct QueuePlace<'a> {
    files: &'a Files,
    queuers: Vec<Queuer>,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        let mut queued = self.files.queued.lock();
        for q in &self.queuers {
            if let Some(n) = queued.get_mut(q) {
                *n -= 1;
                if *n == 0 {
                    queued.remove(q);
                }
            }
        }
    }
}

/// `KO:INTERNAL` for a store's error, logged; `KO:FULL` if it is the
/// lack of room (a disk that filled between the floor's looks):
/// what was written of it was taken back, so the client may send it again.
pub fn internal(e: io::Error) -> Ko {
    log::error!("files: {e}");
    if crate::store::disk::no_space(&e) {
        return crate::protocol::Ko::disk_full();
    }
    Ko::new(Code::Internal, "the server could not store the file")
}

#[cfg(test)]
mod tests;
