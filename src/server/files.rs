//! 1.2: photos and files in chats (docs/PROTOCOL.md §21): the
//! send port's `UPLOAD`, `PART`, `FILE` and `FETCH`. The bytes and their
//! descriptions are `store::files`'; what is decided here is who may do
//! what: an upload is its uploader's, a file is fetched by whoever may
//! read a message carrying it, and the quota counts messages and files.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::base::Base;
use super::config::FileLimits;
use super::presence;
use super::replies::Later;
use crate::protocol::files::{self, FileLine, readable_text};
use crate::protocol::{Chat, Code, Ko, Reply, Text};
use crate::store::files::{Blobs, Carrier, Files};
use crate::store::{FilesInLog, LocalStore};
use crate::store::{Ticket, UserId};

/// The files of chats, within `limits`: their descriptions in the log of
/// `store`, their bytes in `blobs` if the storage has them (a cluster's
/// database), else in the server's data directory.
pub fn open(
    data_dir: &std::path::Path,
    limits: FileLimits,
    (store, blobs): (&Arc<LocalStore>, Option<Box<dyn Blobs>>),
) -> crate::error::Result<Arc<Files>> {
    let FileLimits { max_size, upload_ttl } = limits;
    let files = match blobs {
        Some(blobs) => Files::new(FilesInLog::new(store.clone()), blobs, max_size, upload_ttl),
        None => Files::open(data_dir, store, max_size, upload_ttl)
            .map_err(|e| crate::error::Error::io("opening the files directory", e))?,
    };
    Ok(Arc::new(files))
}

/// `UPLOAD:<name>:<size>:<sha256>` from `peer`: `OK:<file id>`.
pub fn upload(
    base: &Base,
    (user, owner, peer): (UserId, &str, IpAddr),
    name: &str,
    size: u64,
    sha256: &str,
) -> Result<Reply, Ko> {
    base.store.check_room()?; // a full disk refuses a file as it does a `MSG`
    let quota = base.config.store.budget.user_quota;
    let stored = base.store.stored_bytes(user);
    let address = super::throttle::address_key(peer);
    base.files.upload_from(address, owner, (name, size, sha256), stored, quota).map(Reply::OkWith)
}

/// Whether `user` may store one more message: its files count in
/// `--user-quota` beside its messages (the store counts those alone).
pub fn check_message(base: &Base, user: UserId, name: &str) -> Result<(), Ko> {
    let quota = base.config.store.budget.user_quota;
    if quota == 0 {
        return Ok(());
    }
    base.files.check_message(name, || base.store.stored_bytes(user), quota)
}

/// `PART:<file id>:<offset>:<base64>` from `peer`: `OK:<bytes received
/// so far>`. The last part of an image costs its uploader's `--rate`
/// (and its address's) a token per [`THUMBNAIL_MS_A_TOKEN`] of its
/// thumbnail's making (so the thumbnail work one student can make the
/// server do is bounded by his rate, like any request's), charged after
/// the fact through
/// `charge` (the asker's rate and its address's).
pub fn part(
    base: &Base,
    (owner, peer): (&str, IpAddr),
    (file, offset, data): (&str, u64, &[u8]),
    charge: impl Fn(u32),
) -> Result<Reply, Ko> {
    base.store.check_room()?;
    let address = super::throttle::address_key(peer);
    let (received, spent) = base.files.part_from(Some(address), owner, file, offset, data)?;
    charge(thumbnail_tokens(spent));
    Ok(Reply::with(received))
}

/// [`part`], its reply given to `then` once the part is durable: on a
/// cluster, after the commit it shares with other parts
/// (`cluster::parts`), while the connection reads on. The decoded bytes
/// are handed on, not copied.
pub fn part_then(
    base: &Base,
    (owner, peer): (&str, IpAddr),
    (file, offset, data): (&str, u64, Vec<u8>),
    charge: impl Fn(u32),
    then: Later,
) {
    let address = super::throttle::address_key(peer);
    let answer = Box::new(move |received: Result<u64, Ko>| then(received.map(Reply::with)));
    let spent = base.files.part_then(Some(address), owner, file, (offset, Cow::Owned(data)), answer);
    charge(thumbnail_tokens(spent));
}

/// The tokens `spent` making a thumbnail costs its uploader's `--rate`
/// and its address's, past the one its `PART` took (`charge` takes none
/// for 0).
fn thumbnail_tokens(spent: Duration) -> u32 {
    let tokens = spent.as_millis().div_ceil(THUMBNAIL_MS_A_TOKEN);
    u32::try_from(tokens.saturating_sub(1)).unwrap_or(u32::MAX)
}

/// Milliseconds of thumbnail making that cost one `--rate` token.
pub const THUMBNAIL_MS_A_TOKEN: u128 = 5;

/// `FILE:<to>:<id>:<file id>:<caption>`: sends the message `id` carrying
/// the complete `file` (`from`'s own, or 1.2 one `from` may fetch: a
/// forward), as a `MSG` whose text every client reads
/// (`📎 lab3.pdf (245 KB) <caption>`). Deduplicated by `id` as a `MSG`:
/// a resend gets the first `OK`.
pub fn send(
    base: &Base,
    (user, from): (UserId, &str),
    to: &Chat,
    id: &str,
    file: &str,
    caption: Option<&Text>,
) -> Result<(Reply, Ticket), Ko> {
    let meta = base.files.complete_file(from, file, may_see(base, user, from))?;
    let text = readable_text(&meta.name, meta.size, caption).map_err(|e| Ko::new(Code::BadRequest, e))?;
    let carrier = Carrier::new(from, &to.to_string(), id);
    let added = base.files.carry(file, carrier)?;
    let (mut results, ticket) = base.store.send(user, &[(to.clone(), id.to_string(), text)]);
    let result = results.pop().unwrap_or_else(|| Err(Ko::new(Code::Internal, "no result")));
    if result.is_err() && added {
        base.files.forget(from, &to.to_string(), id); // never sent: it carries nothing
    }
    result.map(|accepted| (Reply::with(accepted), ticket))
}

/// `FETCH:<file id>:<offset>`: `OK:<base64>` of the next part, `OK:` at
/// the end; `KO:UNKNOWN_FILE` for a file no message `reader` may read
/// carries (the same answer as for no file at all: ids are not probed).
pub fn fetch(base: &Base, user: UserId, reader: &str, file: &str, offset: u64) -> Result<Reply, Ko> {
    let bytes = base.files.fetch(reader, file, offset, may_see(base, user, reader))?;
    Ok(Reply::OkWith(files::encode(&bytes)))
}

/// `FILEOF:<chat>:<from>:<id>`: `OK:<file id>:<size>:<type>:<name>` of the
/// file `from`'s message `id` in `chat` carries, as its `FILE` event
/// shows it; `KO:UNKNOWN_FILE` if it carries none, does not exist, or
/// `reader` may not read it (one answer: messages are not probed). In a
/// direct chat, `chat` is the other user: the message went to `reader`
/// if the other user wrote it, else to the other user.
pub fn file_of(
    base: &Base,
    user: UserId,
    reader: &str,
    chat: &Chat,
    from: &str,
    id: &str,
) -> Result<Reply, Ko> {
    let to = match chat {
        Chat::Room(_) => chat.to_string(),
        Chat::User(other) if other.eq_ignore_ascii_case(from) => reader.to_string(),
        Chat::User(other) => other.clone(),
    };
    let carrier = Carrier::new(from, &to, id);
    let info = base.files.file_of(reader, &carrier, may_see(base, user, reader))?;
    Ok(Reply::OkWith(info.to_string()))
}

/// Whether `reader` (whose id is `user`) may read the message `c`: a
/// member of its room, or its author or recipient (not a later account
/// of a deleted one's name: `Carrier::is_party`). The one rule of
/// `FETCH` and `FILEOF` (with `store::files::may_fetch`).
fn may_see<'a>(base: &'a Base, user: UserId, reader: &'a str) -> impl Fn(&Carrier) -> bool + 'a {
    move |c: &Carrier| match c.to.strip_prefix('#') {
        Some(room) => presence::is_member(base, user, room),
        None => c.is_party(reader),
    }
}

/// `FILES`: a line per complete file of `owner` and message of its that
/// carries it (a file no message carries: one line, `<to>` and `<id>` empty).
pub fn list(base: &Base, owner: &str) -> Reply {
    Reply::listing(lines(&base.files, owner))
}

/// The lines of `FILES` for `owner`, from `files` (also the export's).
pub fn lines(files: &Files, owner: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, meta) in files.of_owner(owner) {
        let line = |message| FileLine { file: meta.info(&id), sha256: meta.sha256.clone(), message };
        // Only the owner's own messages: a forward (§21) is its sender's, and says nothing to the uploader.
        let own: Vec<_> = meta.carriers.iter().filter(|c| c.from.eq_ignore_ascii_case(owner)).collect();
        if own.is_empty() {
            lines.push(line(None).to_string());
        }
        for c in own {
            lines.push(line(Some((c.to.clone(), c.id.clone()))).to_string());
        }
    }
    lines
}

/// Copies complete file `id` into `dest`, a new private file (0600), synced
/// (an administrator's export).
pub fn save(files: &Files, id: &str, dest: &std::path::Path) -> crate::error::Result<u64> {
    use crate::sys::private::Mode;
    let io = |e| crate::error::Error::io(format!("export: {}", dest.display()), e);
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dest).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    let written = files
        .copy_to(id, &mut out)
        .map_err(|ko| crate::error::Error::Refused { request: "export".into(), ko })?;
    out.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
    Ok(written)
}

/// A `DELETE` of `author`'s message `id` to `chat` succeeded: the message
/// carries its file no more, and a file nothing carries leaves the disk.
pub fn deleted(ctx: &Base, author: &str, chat: &Chat, id: &str) {
    ctx.files.forget(author, &chat.to_string(), id);
}
