//! 1.3 (§27, §30): the profile of a user of another server, for the
//! users here who share a chat with it.
//!
//! **Told by its server.** When a user changes its display name or photo
//! (`NAME`, `PHOTO`), its server tells each server of the network whose
//! users share a chat with it (`profile::servers_sharing`) over the link:
//! the photo first (`PHOTO:<user>@<origin>:<tag>:<base64>`, the JPEG of at
//! most 12,000 bytes its server made), then the profile
//! (`PROFILE:<user>@<origin>:<tag>:<display name>`), unnumbered, each
//! answered at once ([`tell`]); told while the link is up or comes up
//! within twice the `--timeout`, not queued nor replayed. It is told
//! too with the first message a user of another server sends the user
//! (since the server's start, or since the profile changed: [`met`]), and
//! with the user's presence whenever that is noted for a server that was
//! not told the profile since this start or its last hello ([`untold`],
//! from `server::presence_across`: a link up, a `JOIN`, a first message
//! either way), so that a profile set before a chat began reaches it,
//! a room's members' included, and a server that lost a profile on its
//! way (a link broken, a server killed) gets it again once it links back:
//! its hello has our dialer link to it (`federation::dial`), and ours
//! notes every user it shares a chat with.
//!
//! **Kept as its own.** The receiving server keeps them as settings of its
//! account of that remote user (`bob@lab2`, which it has since a chat
//! began), exactly as a local user's ([`take`]): so `PROFILE:bob@lab2`,
//! `PROFILES` and `PHOTOOF:bob@lab2` answer from them, across restarts,
//! and the local users who share a chat with bob are told the `PROFILE`
//! event. A server keeps a profile only of a remote user it has an
//! account of (one who shares a chat here), one name and one photo each,
//! checked as its own user's would be (the photo a JPEG of at most
//! [`MAX_PHOTO_BYTES`] whose SHA-256 begins with its tag).

use std::collections::HashMap;

use parking_lot::Mutex;

use super::Ctx;
use crate::protocol::link::ProfileFrame;
use crate::protocol::names::fold;
use crate::protocol::profile::MAX_PHOTO_BYTES;
use crate::protocol::{Code, Ko};
use crate::store::UserId;
use crate::store::profile::{self as kept, JPEG, NAME, PHOTO, PHOTO_VALUE, PROFILE, TAG};

/// What was told to each server of each user of ours (by folded server
/// name and user): the profile line, so that a chat's message does not
/// tell it again ([`met`]). At most [`TOLD_KEPT`]; forgotten at a restart
/// (then told once more).
static TOLD: Mutex<Option<HashMap<(String, UserId), String>>> = Mutex::new(None);

/// Most entries of [`TOLD`]: past it, it starts again empty.
const TOLD_KEPT: usize = 10_000;

/// Tells the servers whose users share a chat with `me` (`my_name`) its
/// profile as it is now (its photo first, if it has one).
pub fn tell(ctx: &Ctx, me: UserId, my_name: &str) {
    if ctx.federation.get().is_none() {
        return;
    }
    for server in super::profile::servers_sharing(ctx, me) {
        tell_to(ctx, &server, me, my_name);
    }
}

/// Whether `server` is to be told `user`'s profile (`name`, one of this
/// server's users): it has one, and `server` was not told it as it is now
/// since this start or its last hello.
pub fn untold(ctx: &Ctx, server: &str, user: UserId, name: &str) -> bool {
    let (line, _) = super::profile::kept(ctx, user, name);
    if line.is_empty() {
        return false;
    }
    let told = TOLD.lock().as_ref().and_then(|told| told.get(&(fold(server), user)).cloned());
    told.as_deref() != Some(line.to_string().as_str())
}

/// `server` said hello again: what it was told may be lost (a link that
/// broke, the server killed), so each profile is told it again with its
/// users' presence ([`untold`], then [`tell_to`]).
pub fn forget_told(server: &str) {
    if let Some(told) = TOLD.lock().as_mut() {
        told.retain(|(to, _), _| *to != fold(server));
    }
}

/// Tells `server` the profile of `me` (`my_name`), and notes it told.
pub(super) fn tell_to(ctx: &Ctx, server: &str, me: UserId, my_name: &str) {
    let Some(links) = ctx.federation.get() else { return };
    let (line, photo) = super::profile::kept(ctx, me, my_name);
    {
        let mut told = TOLD.lock();
        let told = told.get_or_insert_with(HashMap::new);
        if told.len() >= TOLD_KEPT {
            told.clear();
        }
        told.insert((fold(server), me), line.to_string());
    }
    links.tell_profile(server, &line, photo.as_deref());
}

/// A direct message (or file) of `server`'s user to `to`, one of ours,
/// was taken: that user's profile is told to `server`, if it has one and
/// `server` was not told it as it is now (since this start). So the
/// profile of whom a user of another server writes to reaches it with
/// the first message, whenever it was set.
pub fn met(ctx: &Ctx, server: &str, to: &str) {
    if to.starts_with('#') {
        return;
    }
    let local = to.split_once('@').map_or(to, |(user, _)| user);
    let Some(account) = ctx.store.find_account(local).filter(|a| !a.is_deleted()) else { return };
    if untold(ctx, server, account.id, &account.name) {
        tell_to(ctx, server, account.id, &account.name);
    }
}

/// A `PHOTO` or `PROFILE` frame from `server` (the link's): taken as the
/// profile of its user, or refused with why.
pub fn take(ctx: &Ctx, server: &str, frame: &ProfileFrame) -> Result<(), Ko> {
    let (ProfileFrame::Photo { user, tag, .. } | ProfileFrame::Profile { user, tag, .. }) = frame;
    crate::store::state::remote::speaks_for(server, user)?;
    let account = ctx.store.find_account(user).filter(|a| !a.is_deleted()).ok_or_else(|| {
        Ko::new(Code::UnknownUser, format!("nobody here shares a chat with {user}: its profile is not kept"))
    })?;
    let stored_tag = || {
        let photo = ctx.store.settings(account.id, &PHOTO);
        let jpeg = photo
            .iter()
            .find(|(key, _)| key == JPEG)
            .and_then(|(_, v)| crate::protocol::files::decode(v).ok());
        jpeg.map(|jpeg| kept::tag(&jpeg))
    };
    match frame {
        ProfileFrame::Photo { base64, .. } => {
            let jpeg = photo_of(base64, tag)?;
            if stored_tag().as_deref() == Some(tag.as_str()) {
                return Ok(()); // told again: nothing changes
            }
            let value = kept::photo_value(&jpeg);
            ctx.store.wait(ctx.store.set_setting(account.id, &PHOTO, JPEG, Some(&value))?)?;
            Ok(())
        }
        ProfileFrame::Profile { name, .. } => {
            if !tag.is_empty() && stored_tag().as_deref() != Some(tag.as_str()) {
                let why = format!("{server} sent no photo {tag} of {user} before its profile");
                return Err(Ko::new(Code::UnknownFile, why));
            }
            let (now, _) = super::profile::kept(ctx, account.id, &account.name);
            if now.tag == *tag && now.name == *name {
                return Ok(());
            }
            let or_none = |s: &str| (!s.is_empty()).then(|| s.to_string());
            ctx.store.wait(ctx.store.set_setting(account.id, &PROFILE, NAME, or_none(name).as_deref())?)?;
            ctx.store.wait(ctx.store.set_setting(account.id, &PROFILE, TAG, or_none(tag).as_deref())?)?;
            if tag.is_empty() {
                ctx.store.wait(ctx.store.set_setting(account.id, &PHOTO, JPEG, None)?)?;
            }
            super::profile::tell(ctx, account.id, &account.name);
            Ok(())
        }
    }
}

/// The JPEG a `PHOTO` frame carries, checked: at most
/// [`MAX_PHOTO_BYTES`] (`KO:TOO_LONG`), a JPEG whose tag is `tag`
/// (`KO:BAD_REQUEST`).
fn photo_of(base64: &str, tag: &str) -> Result<Vec<u8>, Ko> {
    let too_long = || Ko::new(Code::TooLong, format!("a photo is at most {MAX_PHOTO_BYTES} bytes"));
    if base64.len() > PHOTO_VALUE {
        return Err(too_long());
    }
    let jpeg = crate::protocol::files::decode(base64).map_err(|e| Ko::new(Code::BadRequest, e))?;
    if jpeg.len() > MAX_PHOTO_BYTES {
        return Err(too_long());
    }
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(Ko::new(Code::BadRequest, "a photo is a JPEG"));
    }
    let made = kept::tag(&jpeg);
    if made != tag {
        return Err(Ko::new(Code::BadRequest, format!("the photo's tag is {made}, not {tag}")));
    }
    Ok(jpeg)
}
