//! What a file store keeps — a description ([`Meta`]) and the messages
//! that carry a file ([`Carrier`]), kept in the log
//! ([`FilesInLog`](crate::store::FilesInLog)), the bytes behind
//! [`Blobs`] — and the interface every store of bytes implements. A store
//! decides nothing: the rules are `rules.rs`'s, applied by `Files`
//! (`mod.rs`).

use std::io::{Read, Seek};

use crate::protocol::files::FileInfo;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};

/// One message carrying a file: its author, its `<to>` as events show it
/// (a user or `#room`) and its id. Names are kept as the events write
/// them and compared ignoring case ([`Carrier::key`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carrier {
    pub from: String,
    pub to: String,
    pub id: String,
    /// Which of its accounts were deleted since it was sent ([`Left`]).
    pub left: Left,
}

/// 1.2: the sides of a message whose accounts were deleted
/// after it was sent. A name is reused by a new account once its
/// quarantine is over, and a message names its sides by name: a side
/// that left no longer reads the file by that name, so the next owner of
/// the name does not either. The other side keeps it, as its message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Left {
    pub author: bool,
    pub recipient: bool,
}

impl Carrier {
    /// The message `id` of `from` to `to`, both of whose accounts still exist.
    pub fn new(from: &str, to: &str, id: &str) -> Carrier {
        Carrier { from: from.into(), to: to.into(), id: id.into(), left: Left::default() }
    }

    /// What identifies the message: author and chat folded, the id as sent.
    pub fn key(&self) -> (String, String, String) {
        (fold(&self.from), fold(&self.to), self.id.clone())
    }

    /// Whether `reader` is a side of this direct message whose account
    /// has not left since (a room's message is read by its members,
    /// which the server knows, not by name).
    pub fn is_party(&self, reader: &str) -> bool {
        !self.to.starts_with('#')
            && ((!self.left.author && self.from.eq_ignore_ascii_case(reader))
                || (!self.left.recipient && self.to.eq_ignore_ascii_case(reader)))
    }
}

/// What a store knows about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The uploader's account, by its name as registered; empty once
    /// that account was deleted
    /// ([`Files::forget_account`](super::Files::forget_account)): the
    /// file is then nobody's, and no later account of the name is its
    /// owner.
    pub owner: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// One of `files::IMAGE_TYPES` or `files::OTHER_TYPE` once complete.
    pub kind: String,
    /// When the upload began (Unix ms).
    pub created: u64,
    pub complete: bool,
    /// The messages that carry it, in the order they were attached (as
    /// `FILES` lists them): the order of their `FILE` records.
    pub carriers: Vec<Carrier>,
}

impl Meta {
    pub fn info(&self, id: &str) -> FileInfo {
        FileInfo { id: id.into(), size: self.size, kind: self.kind.clone(), name: self.name.clone() }
    }
}

/// What to do once a part is durable (`Err`: it never will be); see
/// [`Blobs::append_later`].
pub type Stored = Box<dyn FnOnce(Result<(), Ko>) + Send>;

/// Bytes read back in order, and sought in (an image decoder needs both),
/// by the thread that decodes them (`thumbnail::on_decoder_stack`).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// The `KO` of a `PART` past the bytes received (docs/PROTOCOL.md §21):
/// sent too early, or a part before it was lost. One refusal, whichever
/// store finds the gap (a cluster's, when an earlier part of a window it
/// commits together was not stored).
pub fn part_gap(received: u64) -> Ko {
    Ko::new(Code::BadRequest, format!("expected the part at offset {received}"))
}

/// Where the bytes of files are kept, and nothing else: an upload's as
/// they come, a complete file's and its thumbnail's, each named by the
/// file's id. Who may read or write them, and when, is decided before
/// (by [`Files`](super::Files), from the descriptions of [`FilesInLog`](crate::store::FilesInLog)).
pub trait Blobs: Send + Sync {
    /// Makes room for the bytes of a new upload `id`: none yet.
    fn begin(&self, id: &str) -> Result<(), Ko>;
    /// Bytes of upload `id` received so far.
    fn received(&self, id: &str) -> Result<u64, Ko>;
    /// Appends `data`, which begins at `offset`, the bytes received so far.
    fn append(&self, id: &str, offset: u64, data: &[u8]) -> Result<(), Ko>;
    /// Whether [`Blobs::append_later`] answers later than it is
    /// called (a store that commits several parts together).
    fn appends_later(&self) -> bool {
        false
    }
    /// [`Blobs::append`], but `then` says when `data` is durable:
    /// the default appends at once; a store that [appends
    /// later](Blobs::appends_later) queues the part for a commit it
    /// shares with others, and calls `then` once that is committed, from
    /// its committer, in the order of the calls. `offset` is where the
    /// bytes received end once every earlier call's part is stored; an
    /// empty `data` asks only that they do (`Err` if an earlier part was
    /// lost).
    fn append_later(&self, id: &str, offset: u64, data: Vec<u8>, then: Stored) {
        then(self.append(id, offset, &data))
    }
    /// The bytes received of upload `id`, read back from where they are kept.
    fn open(&self, id: &str) -> Result<Box<dyn ReadSeek + '_>, Ko>;
    /// The sha256 (hex) of upload `id`'s `size` bytes if the store
    /// hashed them as it stored them, all of them, in order, and its
    /// rows hold those bytes end to end (a cluster's parts committer:
    /// `cluster::parts`); `None` if not, and they are read back
    /// ([`Blobs::open`]). Asked once, by the last part.
    fn digest(&self, _id: &str, _size: u64) -> Result<Option<String>, Ko> {
        Ok(None)
    }
    /// Upload `id`'s bytes are checked: they are kept for good, with its
    /// thumbnail if it has one.
    fn seal(&self, id: &str, thumbnail: Option<&[u8]>) -> Result<(), Ko>;
    /// At most `files::PART_BYTES` of sealed file `id` (or of its
    /// thumbnail) from `offset`; empty at the end.
    fn read(&self, id: &str, thumb: bool, offset: u64) -> Result<Vec<u8>, Ko>;
    /// Removes the bytes of `id`, sealed or not, and its thumbnail.
    fn remove(&self, id: &str) -> Result<(), Ko>;
    /// The id of every file whose bytes are kept, sealed or not.
    fn kept(&self) -> Result<Vec<String>, Ko>;
}

/// What an owner's files take: their bytes (complete or not, an upload
/// counts its declared size from its `UPLOAD`) and how many are unfinished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    pub bytes: u64,
    pub pending: u64,
}
