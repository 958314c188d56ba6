//! `NAME`, `PHOTO`, `PROFILE`, `PROFILES`, `PHOTOOF` and `PRIVACY`
//! (protocol 1.2, §30): what others see of you, kept by the store as
//! settings and told to whoever shares a chat with you
//! (`server::profile`).

use crate::protocol::Reply;
use crate::protocol::profile::ProfileRequest;
use crate::server::profile;
use crate::server::session::{Flow, listing};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const NAME: Row = Row::new(&["NAME"], Version::V1_2, Kind::Stored);

pub(super) const PHOTO: Row = Row::new(&["PHOTO"], Version::V1_2, Kind::Stored);

pub(super) const PROFILE: Row = Row::new(&["PROFILE", "PROFILES", "PHOTOOF"], Version::V1_2, Kind::Read);

pub(super) const PRIVACY: Row = Row::new(&["PRIVACY"], Version::V1_2, Kind::Stored);

/// What a request of the family takes from `--rate`: a `PHOTO` decodes
/// an image of up to 100 KB and encodes a photo (a few ms: a token per
/// 5 ms, as the thumbnailer charges, rounded up); `PROFILES` reads the
/// members of every room of the asker, as `PEOPLE` does; the rest is
/// one setting or one read.
pub(super) fn cost(request: &ProfileRequest) -> u32 {
    match request {
        ProfileRequest::Photo(Some(_)) => 10,
        ProfileRequest::Profiles => 5,
        ProfileRequest::Name(_)
        | ProfileRequest::Photo(None)
        | ProfileRequest::Profile(_)
        | ProfileRequest::PhotoOf(_)
        | ProfileRequest::Privacy(_) => 1,
    }
}

pub(super) fn serve(a: Asking, request: ProfileRequest) -> Flow {
    let (base, me, my_name) = (a.base, a.who.id, a.who.name);
    // 1.3: another server's user (`bob@lab2`) is asked of the profile this
    // server keeps of it (`server::profile_across`); this server's own
    // address is its user; in no network, an address is refused as before.
    let request = match request {
        ProfileRequest::Profile(user) => match a.user_here(user) {
            Ok(user) => ProfileRequest::Profile(user),
            Err(ko) => return a.reply(Err(ko)),
        },
        ProfileRequest::PhotoOf(user) => match a.user_here(user) {
            Ok(user) => ProfileRequest::PhotoOf(user),
            Err(ko) => return a.reply(Err(ko)),
        },
        other => other,
    };
    let changes = matches!(request, ProfileRequest::Name(_) | ProfileRequest::Photo(_));
    let answer = match request {
        ProfileRequest::Name(name) => profile::set_name(base, me, my_name, &name).map(|()| Reply::Ok),
        ProfileRequest::Photo(file) => {
            profile::set_photo(base, me, my_name, file.as_deref()).map(|tag| match tag.is_empty() {
                true => Reply::Ok,
                false => Reply::OkWith(tag),
            })
        }
        ProfileRequest::Profile(user) => {
            profile::profile(base, &user).map(|line| Reply::OkWith(line.to_string()))
        }
        ProfileRequest::Profiles => Ok(listing(profile::profiles(base, me, my_name))),
        ProfileRequest::PhotoOf(user) => profile::photo_of(base, &user).map(Reply::OkWith),
        ProfileRequest::Privacy(None) => Ok(Reply::OkWith(profile::privacy(base, me).to_string())),
        ProfileRequest::Privacy(Some((key, on))) => {
            profile::set_privacy(base, me, key, on).map(|line| Reply::OkWith(line.to_string()))
        }
    };
    if changes && answer.is_ok() {
        a.tell_profile_across();
    }
    a.reply(answer)
}
