//! The profile family (§30): a user's display name and photo as its
//! server says them to a server whose users share a chat with it
//! (`PHOTO` first, then `PROFILE`). Told, never stored by the link nor
//! replayed: the acceptor keeps what it is told as settings of its
//! account of that user.

use std::fmt;

use super::super::names::check_address;
use super::super::profile::{PHOTO_TAG_LEN, check_display_name};
use super::fields::{Refused, unknown};

/// A frame of the profile family, each answered at once, `OK` or
/// `KO:<CODE>:<reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileFrame {
    /// `PROFILE:<user>@<origin>:<photo tag>:<display name>`: the user's
    /// profile as it is now. The tag names the photo of the
    /// [`ProfileFrame::Photo`] said before it (empty: no photo).
    Profile { user: String, tag: String, name: String },
    /// `PHOTO:<user>@<origin>:<photo tag>:<base64>`: the photo (a JPEG
    /// the dialer made, at most `MAX_PHOTO_BYTES`) whose tag a
    /// [`ProfileFrame::Profile`] after it names; the base64 is checked by
    /// the acceptor (its size, that it is a JPEG of that tag).
    Photo { user: String, tag: String, base64: String },
}

/// Reads a `PROFILE` or a `PHOTO`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<ProfileFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    let f: Vec<&str> = rest.splitn(3, ':').collect();
    let shape = if word == "PROFILE" {
        "PROFILE:<user>@<origin>:<photo tag>:<display name>"
    } else {
        "PHOTO:<user>@<origin>:<photo tag>:<base64>"
    };
    if f.len() != 3 {
        return Err((None, shape.into()));
    }
    check_address(f[0]).map_err(|e| (None, e))?;
    let tag_ok = f[1].len() == PHOTO_TAG_LEN && f[1].bytes().all(|b| b.is_ascii_hexdigit());
    if !(tag_ok || (word == "PROFILE" && f[1].is_empty())) {
        return Err((None, format!("a photo tag is {PHOTO_TAG_LEN} hex digits, not {:?}", f[1])));
    }
    let (user, tag) = (f[0].to_string(), f[1].to_string());
    if word == "PHOTO" {
        return Ok(ProfileFrame::Photo { user, tag, base64: f[2].into() });
    }
    let name = check_display_name(f[2]).map_err(|e| (None, e))?;
    Ok(ProfileFrame::Profile { user, tag, name: name.into() })
}

impl fmt::Display for ProfileFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileFrame::Profile { user, tag, name } => write!(f, "PROFILE:{user}:{tag}:{name}"),
            ProfileFrame::Photo { user, tag, base64 } => write!(f, "PHOTO:{user}:{tag}:{base64}"),
        }
    }
}
