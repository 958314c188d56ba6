//! 1.2 (docs/PROTOCOL.md §30): `NAME`, `PHOTO`, `PROFILE`, `PROFILES`,
//! `PHOTOOF` and `PRIVACY` on the send port.
//!
//! A change is stored as settings (`store::profile`), then told as an
//! ephemeral `PROFILE` event to every receive connection of 1.2 of the
//! user and of the people who share a chat with it ([`sharers`]: its
//! roommates and the peers of its direct chats), or, for `PRIVACY`, to
//! the user's own devices. A device learns the state at login with
//! `PROFILES` and `PRIVACY`. What the privacy hides is enforced here and
//! where the facts are read: [`seen_as`] (`server::presence`)
//! and the store's read receipts (`store::local::read_receipt`).

use std::collections::HashMap;

use super::base::Base;
use super::relay;
use crate::protocol::names::fold;
use crate::protocol::profile::{MAX_PHOTO_BYTES, PrivacyKey, PrivacyLine, ProfileLine};
use crate::protocol::{Chat, Code, Event, HistoryLine, Ko, MAX_LISTING, MsgState, Presence, files};
use crate::store::UserId;
use crate::store::profile::{self as kept, JPEG, NAME, PHOTO, PROFILE, TAG};

/// `NAME:<display name>` (checked by the grammar; empty: none).
pub fn set_name(base: &Base, me: UserId, my_name: &str, name: &str) -> Result<(), Ko> {
    let value = (!name.is_empty()).then(|| name.to_string());
    let ticket = base.store.change_setting(me, &PROFILE, NAME, &mut |_| Ok(value.clone()))?;
    base.store.wait(ticket)?;
    tell(base, me, my_name);
    Ok(())
}

/// `PHOTO:<file id>`: `me`'s (called `my_name`) complete upload, an image,
/// becomes its photo (its centre made square and small by the thumbnail
/// code, `store::thumbnail::photo`); the upload is then removed. The
/// photo's tag. `PHOTO:` (`None`) removes the photo.
pub fn set_photo(base: &Base, me: UserId, my_name: &str, file: Option<&str>) -> Result<String, Ko> {
    let Some(file) = file else {
        // The tag first: a crash between the two leaves no tag naming a
        // photo that is gone.
        base.store.wait(base.store.set_setting(me, &PROFILE, TAG, None)?)?;
        base.store.wait(base.store.set_setting(me, &PHOTO, JPEG, None)?)?;
        tell(base, me, my_name);
        return Ok(String::new());
    };
    let source = thumbnail_of(base, my_name, file)?;
    let jpeg = make_photo(&source)?
        .ok_or_else(|| Ko::new(Code::BadRequest, "that image could not be made into a photo"))?;
    let tag = kept::tag(&jpeg);
    // The photo first, then its tag: a tag never names a photo not stored.
    let value = kept::photo_value(&jpeg);
    base.store.wait(base.store.set_setting(me, &PHOTO, JPEG, Some(&value))?)?;
    base.store.wait(base.store.set_setting(me, &PROFILE, TAG, Some(&tag))?)?;
    if let Err(ko) = base.files.discard(my_name, file) {
        log::warn!("profile: removing {my_name}'s upload {file} made into a photo: {}", ko.reason);
    }
    tell(base, me, my_name);
    Ok(tag)
}

/// Photos are made one at a time, server-wide (as thumbnails are): at
/// most one photo thread and its `thumbnail::DECODER_STACK` at once.
static MAKING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// `store::thumbnail::photo` of `source`, on a thread of its own.
fn make_photo(source: &[u8]) -> Result<Option<Vec<u8>>, Ko> {
    let _turn = MAKING.lock();
    let thumbnail = crate::store::thumbnail::photo;
    crate::store::thumbnail::on_decoder_stack(|| thumbnail(source, MAX_PHOTO_BYTES))
        .ok_or_else(|| Ko::new(Code::Internal, "the server could not make the photo; try again"))
}

/// Most bytes read of an upload's thumbnail (`store::thumbnail::MAX_BYTES`).
const MOST_SOURCE: usize = crate::store::thumbnail::MAX_BYTES;

/// The thumbnail the server made of `owner`'s upload `file` when it
/// completed: `KO:UNKNOWN_FILE` if it is not `owner`'s complete file,
/// `KO:BAD_REQUEST` if it is not an image (it has no thumbnail).
fn thumbnail_of(base: &Base, owner: &str, file: &str) -> Result<Vec<u8>, Ko> {
    let nobody_else = |_: &crate::store::files::Carrier| false;
    base.files.fetch(owner, file, 0, nobody_else)?; // is it yours, and complete?
    let thumb = format!("{file}{}", files::THUMB_SUFFIX);
    let mut bytes = Vec::new();
    loop {
        let part = base.files.fetch(owner, &thumb, bytes.len() as u64, nobody_else).map_err(|_| {
            Ko::new(Code::BadRequest, "not an image: a photo is a PNG, JPEG, GIF or WebP that decodes")
        })?;
        if part.is_empty() || bytes.len() + part.len() > MOST_SOURCE {
            break;
        }
        bytes.extend_from_slice(&part);
    }
    Ok(bytes)
}

/// `PROFILE:<user>`: its line (empty fields for none).
pub fn profile(base: &Base, name: &str) -> Result<ProfileLine, Ko> {
    let account = crate::store::meaning::named(name, base.store.account(name))?;
    Ok(line_of(base, account.id, &account.name))
}

/// `PROFILES`: `me`'s line and those of the people who share a chat with
/// it, but lines that say nothing; at most [`MAX_LISTING`].
pub fn profiles(base: &Base, me: UserId, my_name: &str) -> Vec<ProfileLine> {
    let mut lines = vec![line_of(base, me, my_name)];
    for (user, name) in sharers(base, me) {
        lines.push(line_of(base, user, &name));
    }
    lines.retain(|line| !line.is_empty());
    lines.truncate(MAX_LISTING);
    lines
}

/// `PHOTOOF:<user>`: its photo in base64, `KO:UNKNOWN_FILE` for none.
pub fn photo_of(base: &Base, name: &str) -> Result<String, Ko> {
    let account = crate::store::meaning::named(name, base.store.account(name))?;
    let photo = base.store.settings(account.id, &PHOTO);
    let no_photo = || Ko::new(Code::UnknownFile, format!("{} has no photo", account.name));
    photo.into_iter().find(|(key, _)| key == JPEG).map(|(_, value)| value).ok_or_else(no_photo)
}

/// `PRIVACY`: `me`'s.
pub fn privacy(base: &Base, me: UserId) -> PrivacyLine {
    kept::privacy(&base.store.settings(me, &PROFILE))
}

/// `PRIVACY:<key>:<on|off>`: stored, then told to `me`'s devices.
pub fn set_privacy(base: &Base, me: UserId, key: PrivacyKey, on: bool) -> Result<PrivacyLine, Ko> {
    let value = (!on).then(|| kept::OFF.to_string());
    let ticket =
        base.store.change_setting(me, &PROFILE, kept::privacy_key(key), &mut |_| Ok(value.clone()))?;
    base.store.wait(ticket)?;
    let line = privacy(base, me);
    relay::relay(base, [me], &Event::Privacy(line));
    base.remote_seen.note(base, me); // 1.3: what other servers are told of it changes
    Ok(line)
}

/// `presence` of `user` as `viewer`, whose privacy is `viewer_privacy`
/// ([`privacy`]), is shown it: a time last seen only if neither hides
/// it (`store::profile::shows`); online and unknown as they are.
pub fn seen_as(base: &Base, user: UserId, viewer_privacy: PrivacyLine, presence: Presence) -> Presence {
    match presence {
        Presence::LastSeen(_) if !kept::shows(PrivacyKey::LastSeen, privacy(base, user), viewer_privacy) => {
            Presence::Unknown
        }
        other => other,
    }
}

/// Whether `me` is shown the reads of the user called `peer` (by name,
/// each looked up once): neither turned read receipts off
/// (`store::profile::shows`). The store keeps the read marks (a reader's
/// unread count is its); this is where the sender's view of them is made.
pub fn reads_shown(base: &Base, me: UserId) -> impl FnMut(&str) -> bool + '_ {
    let mine = privacy(base, me);
    let mut known: HashMap<String, bool> = HashMap::new();
    move |peer| {
        *known.entry(fold(peer)).or_insert_with(|| match base.store.find_account(peer) {
            Some(account) => kept::shows(PrivacyKey::Receipts, privacy(base, account.id), mine),
            None => true, // no account here: a user of another server
        })
    }
}

/// A `HISTORY` line as `me` (called `my_name`) is shown it: its own
/// direct message `READ` only where `shown` its peer ([`reads_shown`]),
/// `DELIVERED` otherwise.
pub fn hide_read(line: &mut HistoryLine, my_name: &str, shown: &mut impl FnMut(&str) -> bool) {
    if line.state == MsgState::Read
        && line.from.eq_ignore_ascii_case(my_name)
        && let Chat::User(peer) = &line.to
        && !shown(peer)
    {
        line.state = MsgState::Delivered;
    }
}

/// [`hide_read`] of the `HISTORY` lines (`HISTORY`, `STARRED`) `me` is sent.
pub fn hide_reads(base: &Base, me: UserId, my_name: &str, lines: &mut [String]) {
    let mut shown = reads_shown(base, me);
    for line in lines.iter_mut().filter(|line| line.contains(":READ:")) {
        if let Ok(mut parsed) = HistoryLine::parse(line) {
            hide_read(&mut parsed, my_name, &mut shown);
            if parsed.state != MsgState::Read {
                *line = parsed.to_string();
            }
        }
    }
}

/// `user`'s line, as `PROFILE` answers it.
fn line_of(base: &Base, user: UserId, name: &str) -> ProfileLine {
    let pairs = base.store.settings(user, &PROFILE);
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    ProfileLine { user: name.to_string(), tag: get(TAG), name: get(NAME) }
}

/// The people who share a chat with `me`: the members of its rooms and
/// the peers of its direct chats, each once, `me` left out.
fn sharers(base: &Base, me: UserId) -> Vec<(UserId, String)> {
    let mut people: Vec<(UserId, String)> = base
        .store
        .rooms_of(me, usize::MAX)
        .into_iter()
        .flat_map(|(_, members)| members)
        .map(|(user, name)| (user, name.to_string()))
        .collect();
    for line in base.store.chats(me).unwrap_or_default() {
        if let Chat::User(name) = line.chat
            && let Some(account) = base.store.find_account(&name).filter(|a| !a.is_deleted())
        {
            people.push((account.id, account.name.to_string()));
        }
    }
    people.retain(|(user, _)| *user != me);
    people.sort_unstable_by_key(|(user, _)| *user);
    people.dedup_by_key(|(user, _)| *user);
    people
}

/// 1.3 (§27): the servers of the network whose users share a chat with
/// `me`: those of the remote users among [`sharers`], and the homes of
/// the rooms of other servers `me` is in. Sorted, each once.
pub fn servers_sharing(base: &Base, me: UserId) -> Vec<String> {
    let mut servers: Vec<String> = sharers(base, me)
        .into_iter()
        .filter_map(|(_, name)| {
            crate::store::state::remote::address(&name).map(|(_, server)| server.to_string())
        })
        .collect();
    for (room, _) in base.store.rooms_of(me, 0) {
        if let Some((_, home)) = crate::store::state::remote::address(&room.room) {
            servers.push(home.to_string());
        }
    }
    servers.sort_unstable_by_key(|server| fold(server));
    servers.dedup_by_key(|server| fold(server));
    servers
}

/// `user`'s profile as kept here, and its photo's base64 if it has one.
pub fn kept(base: &Base, user: UserId, name: &str) -> (ProfileLine, Option<String>) {
    let photo = base.store.settings(user, &PHOTO).into_iter().find(|(key, _)| key == JPEG).map(|(_, v)| v);
    (line_of(base, user, name), photo)
}

/// Tells `me`'s devices and the people who share a chat with it its new
/// profile (those online; the others ask `PROFILES` at their login).
pub(super) fn tell(base: &Base, me: UserId, my_name: &str) {
    let event = Event::Profile(line_of(base, me, my_name));
    let users: Vec<UserId> = sharers(base, me).into_iter().map(|(user, _)| user).collect();
    relay::relay(base, std::iter::once(me).chain(users), &event);
}
