//! 1.2 (docs/PROTOCOL.md §30): what others see of a user, kept as
//! *settings* (`store::settings`) like every other per-user fact, so it
//! is durable, on every device and every node of a cluster with no
//! record of its own:
//!
//! - [`PROFILE`]: the keys [`NAME`] (the display name), [`TAG`] (the
//!   photo's tag, which says the photo changed), [`LAST_SEEN`] and
//!   [`RECEIPTS`] (`off` when hidden; no key: shown);
//! - [`PHOTO`]: the key [`JPEG`], the photo itself in base64, at most
//!   [`PHOTO_VALUE`] bytes: the one setting longer than
//!   `settings::MAX_VALUE`.
//!
//! The privacy's rules, WhatsApp's reciprocity: who hides a fact from
//! others does not see it of them either ([`shows`]).

use super::settings::{Setting, Settings};
use crate::protocol::files::encode;
use crate::protocol::profile::{MAX_PHOTO_BYTES, PHOTO_TAG_LEN, PrivacyKey, PrivacyLine};

/// A user's display name, photo tag and privacy.
pub const PROFILE: Setting =
    Setting { name: "profile", most: 4, what: "profile fields", longest: super::settings::MAX_VALUE };

/// A user's photo, a JPEG in base64.
pub const PHOTO: Setting = Setting { name: "photo", most: 1, what: "photos", longest: PHOTO_VALUE };

/// [`PROFILE`]'s key of the display name.
pub const NAME: &str = "name";
/// [`PROFILE`]'s key of the photo's tag.
pub const TAG: &str = "photo";
/// [`PROFILE`]'s key of a hidden last seen time.
pub const LAST_SEEN: &str = "lastseen";
/// [`PROFILE`]'s key of read receipts turned off.
pub const RECEIPTS: &str = "receipts";
/// [`PHOTO`]'s one key.
pub const JPEG: &str = "jpeg";

/// The value of a privacy key that hides.
pub const OFF: &str = "off";

/// Most bytes of [`PHOTO`]'s value: the base64 of a JPEG of
/// [`MAX_PHOTO_BYTES`].
pub const PHOTO_VALUE: usize = MAX_PHOTO_BYTES.div_ceil(3) * 4;

/// [`PROFILE`]'s key of a privacy setting.
pub fn privacy_key(key: PrivacyKey) -> &'static str {
    match key {
        PrivacyKey::LastSeen => LAST_SEEN,
        PrivacyKey::Receipts => RECEIPTS,
    }
}

/// A user's privacy, from its [`PROFILE`] pairs.
pub fn privacy(pairs: &[(String, String)]) -> PrivacyLine {
    let on = |key: &str| !pairs.iter().any(|(k, v)| k == key && v == OFF);
    PrivacyLine { last_seen: on(LAST_SEEN), receipts: on(RECEIPTS) }
}

/// The same read from a user's settings in the state (under the store's
/// lock: a `READ`'s receipt asks it as the record is applied).
pub fn privacy_in(settings: &Settings) -> PrivacyLine {
    let on = |key: &str| settings.get(PROFILE.name, key) != Some(OFF);
    PrivacyLine { last_seen: on(LAST_SEEN), receipts: on(RECEIPTS) }
}

/// THE rule of privacy's reciprocity: a fact `key` of one user is shown
/// to another only if neither hides it (`of`, the user's privacy; `to`,
/// the viewer's).
pub fn shows(key: PrivacyKey, of: PrivacyLine, to: PrivacyLine) -> bool {
    match key {
        PrivacyKey::LastSeen => of.last_seen && to.last_seen,
        PrivacyKey::Receipts => of.receipts && to.receipts,
    }
}

/// A photo's tag: the first hex digits of its SHA-256.
pub fn tag(jpeg: &[u8]) -> String {
    let hex = super::files::sha256_of_reader(&mut &jpeg[..]).unwrap_or_default();
    hex[..PHOTO_TAG_LEN.min(hex.len())].to_string()
}

/// [`PHOTO`]'s value of `jpeg`.
pub fn photo_value(jpeg: &[u8]) -> String {
    encode(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_hides_a_fact_sees_it_of_nobody() {
        let (shown, hidden) = (PrivacyLine::default(), PrivacyLine { last_seen: false, receipts: false });
        for key in [PrivacyKey::LastSeen, PrivacyKey::Receipts] {
            assert!(shows(key, shown, shown));
            assert!(!shows(key, hidden, shown), "hidden by its user");
            assert!(!shows(key, shown, hidden), "the viewer hides its own");
        }
        let receipts_only = PrivacyLine { last_seen: true, receipts: false };
        assert!(shows(PrivacyKey::LastSeen, receipts_only, shown));
    }

    #[test]
    fn privacy_reads_the_same_from_pairs_and_from_the_state() {
        let mut settings = Settings::default();
        settings.set(PROFILE.name, RECEIPTS, Some(OFF));
        settings.set(PROFILE.name, NAME, Some("Ana"));
        let pairs: Vec<(String, String)> =
            settings.of(PROFILE.name).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let expected = PrivacyLine { last_seen: true, receipts: false };
        assert_eq!(privacy(&pairs), expected);
        assert_eq!(privacy_in(&settings), expected);
    }

    #[test]
    fn a_photo_of_the_most_bytes_fits_its_value_and_a_frame() {
        assert_eq!(photo_value(&[0u8; MAX_PHOTO_BYTES]).len(), PHOTO_VALUE);
        const { assert!(PHOTO_VALUE + "OK:\n".len() <= crate::protocol::MAX_FRAME) };
        // A `SET` record of it is one line of the log.
        const { assert!(PHOTO_VALUE + 200 <= super::super::log::MAX_LINE) };
        assert_eq!(tag(b"x").len(), PHOTO_TAG_LEN);
    }
}
