//! 1.2 (docs/PROTOCOL.md §30): what others see of you, as the wire says
//! it: a display name and a photo (your *profile*), and whether they see
//! when you were last online and when you read their messages (your
//! *privacy*). One request variant, [`Request::Profile`](super::Request),
//! holds the family:
//!
//! - `NAME:<display name>` (empty: none), `PHOTO:<file id>` (an image you
//!   uploaded, made into your photo by the server) or `PHOTO:` (none);
//! - `PROFILE:<user>` (`OK:<user>:<photo tag>:<display name>`), `PROFILES`
//!   (a listing of [`ProfileLine`]s), `PHOTOOF:<user>` (`OK:<base64>`);
//! - `PRIVACY` (`OK:lastseen:<on|off>:receipts:<on|off>`) and
//!   `PRIVACY:<lastseen|receipts>:<on|off>`;
//! - the ephemeral events `PROFILE:<user>:<photo tag>:<display name>` and
//!   `PRIVACY:lastseen:<on|off>:receipts:<on|off>`.

use std::fmt;

use super::escape::{check_name_text, forbidden};
use super::names::check_user;
use super::{Code, Ko, split_fields};

/// Most characters (not bytes: any script counts alike) of a display name.
pub const MAX_DISPLAY_NAME: usize = 64;

/// Most bytes of a photo as the server keeps and serves it (a JPEG): one
/// `PHOTOOF` reply, its base64 within a frame, as a `PART` is.
pub const MAX_PHOTO_BYTES: usize = 12_000;

/// Length of a photo's tag: hex digits of its SHA-256, enough for a
/// client to know it has this photo already.
pub const PHOTO_TAG_LEN: usize = 16;

/// One request of the family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileRequest {
    /// `NAME:<display name>`: an empty one removes it.
    Name(String),
    /// `PHOTO:<file id>`, or `PHOTO:` (`None`): no photo.
    Photo(Option<String>),
    /// `PROFILE:<user>`.
    Profile(String),
    /// `PROFILES`: yours and those of the people you share a chat with.
    Profiles,
    /// `PHOTOOF:<user>`: the photo's bytes.
    PhotoOf(String),
    /// `PRIVACY` (`None`) or `PRIVACY:<lastseen|receipts>:<on|off>`.
    Privacy(Option<(PrivacyKey, bool)>),
}

/// The command words of the family.
pub const WORDS: [&str; 6] = ["NAME", "PHOTO", "PROFILE", "PROFILES", "PHOTOOF", "PRIVACY"];

fn bad(reason: impl Into<String>) -> Ko {
    Ko::new(Code::BadRequest, reason)
}

impl ProfileRequest {
    /// Parses a frame whose word is one of [`WORDS`].
    pub fn parse(line: &str) -> Result<ProfileRequest, Ko> {
        let (word, rest) = match line.split_once(':') {
            Some((word, rest)) => (word, Some(rest)),
            None => (line, None),
        };
        let user = |rest: Option<&str>, shape: &str| {
            let name = rest.ok_or_else(|| bad(format!("expected {shape}")))?;
            // 1.3 (§27): a user of another server, by its address; whether
            // this server knows it is the server's to say.
            check_user(name).map_err(|e| bad(format!("bad user name: {e}")))?;
            Ok::<_, Ko>(name.to_string())
        };
        Ok(match word {
            "NAME" => {
                let name = rest.ok_or_else(|| bad("expected NAME:<display name> (empty: none)"))?;
                ProfileRequest::Name(check_display_name(name).map_err(bad)?.to_string())
            }
            "PHOTO" => match rest {
                None => return Err(bad("expected PHOTO:<file id> or PHOTO: (no photo)")),
                Some("") => ProfileRequest::Photo(None),
                Some(id) => {
                    super::files::check_file_id(id).map_err(bad)?;
                    ProfileRequest::Photo(Some(id.to_string()))
                }
            },
            "PROFILE" => ProfileRequest::Profile(user(rest, "PROFILE:<user>")?),
            "PHOTOOF" => ProfileRequest::PhotoOf(user(rest, "PHOTOOF:<user>")?),
            "PROFILES" if rest.is_none() => ProfileRequest::Profiles,
            "PROFILES" => return Err(bad("PROFILES takes no fields")),
            "PRIVACY" => match rest {
                None => ProfileRequest::Privacy(None),
                Some(rest) => {
                    let shape = "expected PRIVACY:<lastseen|receipts>:<on|off>";
                    let (key, on) = rest.split_once(':').ok_or_else(|| bad(shape))?;
                    let key = PrivacyKey::parse(key).ok_or_else(|| bad(shape))?;
                    ProfileRequest::Privacy(Some((key, on_off(on).ok_or_else(|| bad(shape))?)))
                }
            },
            other => return Err(Ko::unknown_request(other)),
        })
    }

    /// True for the one answered with a listing (`PROFILES`).
    pub fn lists(&self) -> bool {
        matches!(self, ProfileRequest::Profiles)
    }
}

impl fmt::Display for ProfileRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileRequest::Name(name) => write!(f, "NAME:{name}"),
            ProfileRequest::Photo(None) => f.write_str("PHOTO:"),
            ProfileRequest::Photo(Some(id)) => write!(f, "PHOTO:{id}"),
            ProfileRequest::Profile(user) => write!(f, "PROFILE:{user}"),
            ProfileRequest::Profiles => f.write_str("PROFILES"),
            ProfileRequest::PhotoOf(user) => write!(f, "PHOTOOF:{user}"),
            ProfileRequest::Privacy(None) => f.write_str("PRIVACY"),
            ProfileRequest::Privacy(Some((key, on))) => write!(f, "PRIVACY:{key}:{}", word(*on)),
        }
    }
}

/// Checks a display name as `NAME` gives it: at most
/// [`MAX_DISPLAY_NAME`] characters, none a control or invisible one
/// (`escape::check_name_text`: `evil\u{202E}` is refused), no space at
/// either end. Returns it unchanged (empty: none).
pub fn check_display_name(name: &str) -> Result<&str, String> {
    let chars = name.chars().count();
    if chars > MAX_DISPLAY_NAME {
        return Err(format!("a display name is at most {MAX_DISPLAY_NAME} characters, not {chars}"));
    }
    check_name_text(name, "a display name")?;
    if name.trim() != name {
        return Err("a display name does not begin or end with a space".into());
    }
    Ok(name)
}

/// A line of `PROFILES`, the reply to `PROFILE:<user>` and the payload of
/// the `PROFILE` event: `<user>:<photo tag>:<display name>`, the tag empty
/// for no photo, the name empty for none (it is last: it may hold `:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileLine {
    pub user: String,
    pub tag: String,
    pub name: String,
}

impl ProfileLine {
    pub fn parse(line: &str) -> Result<ProfileLine, String> {
        let f = split_fields(line, 3)
            .ok_or_else(|| format!("expected <user>:<photo tag>:<name>, got {line:?}"))?;
        if !f[1].is_empty() && (f[1].len() != PHOTO_TAG_LEN || !f[1].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("a photo tag is {PHOTO_TAG_LEN} hex digits, not {:?}", f[1]));
        }
        if f[2].chars().any(forbidden) {
            return Err("a display name holds no control character".into());
        }
        Ok(ProfileLine { user: f[0].into(), tag: f[1].into(), name: f[2].into() })
    }

    /// True if it says nothing: no photo, no name.
    pub fn is_empty(&self) -> bool {
        self.tag.is_empty() && self.name.is_empty()
    }
}

impl fmt::Display for ProfileLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.user, self.tag, self.name)
    }
}

/// What `PRIVACY` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrivacyKey {
    /// Whether others see when you were last online (`LASTSEEN`,
    /// `MEMBERS`, `PEOPLE`).
    LastSeen,
    /// Whether the authors of direct messages you read are told `READ`.
    Receipts,
}

impl PrivacyKey {
    pub fn parse(word: &str) -> Option<PrivacyKey> {
        match word {
            "lastseen" => Some(PrivacyKey::LastSeen),
            "receipts" => Some(PrivacyKey::Receipts),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyKey::LastSeen => "lastseen",
            PrivacyKey::Receipts => "receipts",
        }
    }
}

impl fmt::Display for PrivacyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn on_off(word: &str) -> Option<bool> {
    match word {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

fn word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// A user's privacy, the reply to `PRIVACY` and the payload of its event:
/// `lastseen:<on|off>:receipts:<on|off>`. Both are on by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrivacyLine {
    pub last_seen: bool,
    pub receipts: bool,
}

impl Default for PrivacyLine {
    fn default() -> PrivacyLine {
        PrivacyLine { last_seen: true, receipts: true }
    }
}

impl PrivacyLine {
    pub fn parse(line: &str) -> Result<PrivacyLine, String> {
        let expected = || format!("expected lastseen:<on|off>:receipts:<on|off>, got {line:?}");
        let f = split_fields(line, 4).ok_or_else(expected)?;
        match (f[0], on_off(f[1]), f[2], on_off(f[3])) {
            ("lastseen", Some(last_seen), "receipts", Some(receipts)) => {
                Ok(PrivacyLine { last_seen, receipts })
            }
            _ => Err(expected()),
        }
    }
}

impl fmt::Display for PrivacyLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lastseen:{}:receipts:{}", word(self.last_seen), word(self.receipts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_reads_back_as_written() {
        for line in [
            "NAME:Ana María: TA",
            "NAME:",
            "NAME:Аня 🎓",
            "PHOTO:0123456789abcdef0123456789abcdef",
            "PHOTO:",
            "PROFILE:bob",
            "PROFILES",
            "PHOTOOF:bob",
            "PRIVACY",
            "PRIVACY:lastseen:off",
            "PRIVACY:receipts:on",
        ] {
            assert_eq!(ProfileRequest::parse(line).unwrap().to_string(), line);
        }
    }

    #[test]
    fn bad_lines_say_what_is_expected() {
        let reason = |line: &str| ProfileRequest::parse(line).unwrap_err().reason;
        assert!(reason(&format!("NAME:{}", "é".repeat(65))).contains("at most 64 characters"));
        assert!(ProfileRequest::parse(&format!("NAME:{}", "é".repeat(64))).is_ok());
        assert!(reason("NAME:ana\u{202E}").contains("U+202E"));
        assert!(reason("NAME: ana").contains("space"));
        assert!(reason("NAME").contains("NAME:<display name>"));
        assert!(reason("PHOTO:../x").contains("file id"), "{}", reason("PHOTO:../x"));
        assert!(reason("PRIVACY:lastseen").contains("PRIVACY:<lastseen|receipts>:<on|off>"));
        assert!(reason("PRIVACY:typing:off").contains("PRIVACY:<lastseen|receipts>"));
        assert!(reason("PROFILES:x").contains("no fields"));
        assert!(reason("PROFILE:").contains("user name"));
    }

    #[test]
    fn lines_read_back() {
        for line in ["ana:0123456789abcdef:Ana: TA", "bob::", "carl::Карл"] {
            assert_eq!(ProfileLine::parse(line).unwrap().to_string(), line);
        }
        assert!(ProfileLine::parse("ana:xyz:Ana").is_err());
        let privacy = PrivacyLine { last_seen: false, receipts: true };
        assert_eq!(privacy.to_string(), "lastseen:off:receipts:on");
        assert_eq!(PrivacyLine::parse("lastseen:off:receipts:on"), Ok(privacy));
        assert!(PrivacyLine::parse("receipts:on:lastseen:off").is_err());
    }
}
