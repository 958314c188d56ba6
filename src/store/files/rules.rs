//! The rules of files, one small function each, for every file store:
//! the quota, who may fetch, which uploads are swept, when a `DELETE`
//! takes the bytes with it, who pays for a forwarded file, and what an
//! account's deletion does to the files it touched. `Files` (`mod.rs`)
//! applies them to what a store keeps (`kept.rs`); the two that change a
//! file's description ([`disown`], [`pass_to_heir`]) are run by the
//! store on the description it holds, in the same step as it keeps the
//! result ([`FilesInLog::reassign`](crate::store::FilesInLog::reassign)).

use std::time::Duration;

use super::kept::{Carrier, Footprint, Meta};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, files};

/// `KO:FULL` if a new `size` bytes on top of `used` (messages and files)
/// pass `quota` (`--user-quota`; 0: none). `size` 0 asks whether `used`
/// alone reached it, as a `MSG` does.
pub fn check_quota(used: u64, size: u64, quota: u64) -> Result<(), Ko> {
    let over = if size == 0 { used >= quota } else { used + size > quota };
    if quota > 0 && over {
        let why = format!(
            "you have stored {} of messages and files; {} would pass your quota of {} (--user-quota)",
            files::size_words(used),
            if size == 0 { "a message" } else { "this file" },
            files::size_words(quota)
        );
        return Err(Ko::new(Code::Full, why));
    }
    Ok(())
}

/// Most uploads a user may leave unfinished at once: the quota counts
/// bytes, and a 1-byte upload is two files on the disk.
pub const PENDING_PER_USER: u64 = 32;

/// Most uploads unfinished at once from one address (IPv6: its /64),
/// whoever asked them: a few accounts of one student share it.
pub const PENDING_PER_ADDRESS: usize = 128;

/// `KO:FULL` if an owner whose files take `usage` may not begin an upload
/// of `size` more bytes: [`check_quota`], then [`PENDING_PER_USER`].
pub fn check_upload(usage: Footprint, stored: u64, size: u64, quota: u64) -> Result<(), Ko> {
    check_quota(stored + usage.bytes, size, quota)?;
    if usage.pending >= PENDING_PER_USER {
        let why = format!(
            "you have {} uploads not finished (at most {PENDING_PER_USER}): finish them, or wait until they are removed",
            usage.pending
        );
        return Err(Ko::new(Code::Full, why));
    }
    Ok(())
}

/// Whether `reader` may fetch the file `meta` describes: it is complete,
/// and `reader` uploaded it or may see one of the messages that carry it.
pub fn may_fetch(meta: &Meta, reader: &str, may_see: impl Fn(&Carrier) -> bool) -> bool {
    meta.complete && (is_owner(meta, reader) || meta.carriers.iter().any(may_see))
}

/// Whether `name`'s account uploaded the file `meta` describes (a deleted
/// account's files have no owner: its name's next account is not it).
pub fn is_owner(meta: &Meta, name: &str) -> bool {
    !meta.owner.is_empty() && meta.owner.eq_ignore_ascii_case(name)
}

/// Whether nobody may read a file any more once accounts left: it has no
/// owner, and every message carrying it is a direct one whose two sides
/// were deleted. A room's message stays its members'.
pub fn is_unread(meta: &Meta) -> bool {
    meta.owner.is_empty()
        && meta.carriers.iter().all(|c| !c.to.starts_with('#') && c.left.author && c.left.recipient)
}

/// Whether an upload is swept: not complete `ttl` after it began.
pub fn is_stale(meta: &Meta, now: u64, ttl: Duration) -> bool {
    let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    !meta.complete && meta.created.saturating_add(ttl) <= now
}

/// Whether a file leaves the store after a `DELETE` of one of its
/// messages: when no other message carries it.
pub fn is_orphan(meta: &Meta) -> bool {
    meta.carriers.is_empty()
}

/// Who pays for a file from now on, if no longer its owner (1.2,
/// forwarding): a forwarded file is the same bytes, counted once, in its
/// uploader's quota while a message of hers carries it. Once she deleted
/// every one of those, and others' messages still carry it (someone
/// forwarded it, to herself or on), it is the author of the first of
/// those who pays, and who may free it by deleting her message; she
/// kept it, so it is hers. `None`: it stays where it is (a message of
/// its owner still carries it, nothing does, or it is nobody's: a
/// deleted account's, which stays with its recipients outside any
/// quota).
pub fn heir(meta: &Meta) -> Option<&str> {
    let owns = |c: &&Carrier| !c.left.author && c.from.eq_ignore_ascii_case(&meta.owner);
    if meta.owner.is_empty() || meta.carriers.iter().any(|c| owns(&c)) {
        return None;
    }
    meta.carriers.iter().find(|c| !c.left.author).map(|c| c.from.as_str())
}

/// A file passes to its [`heir`], if it has one, quota and all: whether
/// it did. Asked on the description as it is when the file is changed,
/// so two deletions at once hand it over once, to whom the last one left.
pub fn pass_to_heir(meta: &mut Meta) -> bool {
    let Some(heir) = heir(meta).map(str::to_string) else { return false };
    meta.owner = heir;
    true
}

/// Whether the account of `name` touched the file `meta` describes: it
/// uploaded it, or wrote or received a message that carries it (a room's
/// `to` begins with `#`: never a name).
pub fn concerns(meta: &Meta, name: &str) -> bool {
    let key = fold(name);
    is_owner(meta, name) || meta.carriers.iter().any(|c| fold(&c.from) == key || fold(&c.to) == key)
}

/// 1.2: what the deletion of `name`'s account does to a file: it is
/// nobody's if it was that account's (no later account of the name is
/// its owner), and each message the account wrote or received marks that
/// side [`Left`](super::Left). Whether it changed anything.
pub fn disown(meta: &mut Meta, name: &str) -> bool {
    let key = fold(name);
    let mut changed = false;
    if is_owner(meta, name) {
        meta.owner.clear();
        changed = true;
    }
    for c in &mut meta.carriers {
        for (left, side) in [(&mut c.left.author, &c.from), (&mut c.left.recipient, &c.to)] {
            if !*left && fold(side) == key {
                *left = true;
                changed = true;
            }
        }
    }
    changed
}
