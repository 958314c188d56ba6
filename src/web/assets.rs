//! The app's files, embedded in the binary at build time from `web/`
//! (`include_bytes!`): `wachat serve` is still one file to copy, and the
//! only files the web port can serve are these, looked up by exact path.
//! No part of a request's path ever reaches the file system.
//!
//! Each file is sent as it is in `web/`, comments and all, and gzipped when
//! the browser takes it (a third of the bytes): compressed once, when the
//! port starts ([`prepare`]), never per request. Each carries an `ETag` (a
//! hash of its bytes), so a reload asks `If-None-Match` and gets `304` with
//! no body for every file that did not change.

use std::io::Write;
use std::sync::OnceLock;

use blake2::{Blake2b512, Digest};
use flate2::Compression;
use flate2::write::GzEncoder;

/// One embedded file.
pub struct Asset {
    /// Its path in URLs.
    pub path: &'static str,
    pub mime: &'static str,
    /// The file as it is in `web/`.
    pub source: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $mime:expr) => {
        Asset { path: $path, mime: $mime, source: include_bytes!(concat!("../../web/", $file)) }
    };
}

/// What the port sends of one file besides its source: its gzip (only
/// when that is smaller: a PNG is compressed already) and its `ETag`.
pub struct Prepared {
    pub gzip: Option<Vec<u8>>,
    /// `"<16 hex digits of its BLAKE2b>"`, the same for both encodings'
    /// bytes' source; the gzipped body's tag adds `-gz` (RFC 9110 §8.8.3:
    /// two encodings are two representations).
    pub etag: String,
    pub etag_gzip: String,
}

impl Prepared {
    fn of(asset: &Asset) -> Prepared {
        let hash = Blake2b512::digest(asset.source);
        let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let gzip = if asset.mime.starts_with("image/png") { None } else { gzip(asset.source) };
        Prepared {
            gzip: gzip.filter(|z| z.len() < asset.source.len()),
            etag: format!("\"{hex}\""),
            etag_gzip: format!("\"{hex}-gz\""),
        }
    }

    /// Whether an `If-None-Match` value names this file as it is now
    /// (either encoding's tag, or `*`).
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match.split(',').map(str::trim).any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag == "*" || tag == self.etag || tag == self.etag_gzip
        })
    }
}

/// `bytes` gzipped at the best level: done once a file, at start.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// The prepared form of `asset` (computed for every file at the first call: [`prepare`]).
pub fn prepared(asset: &Asset) -> &'static Prepared {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    let all = PREPARED.get_or_init(|| ASSETS.iter().map(Prepared::of).collect());
    // By path: `ASSETS` is a constant, so two references to one of its files need not be one address.
    let at = ASSETS.iter().position(|a| a.path == asset.path).unwrap_or(0);
    &all[at]
}

/// Compresses every file now (the web port calls it when it starts), so
/// that no request waits for it.
pub fn prepare() {
    let _ = prepared(&ASSETS[0]);
}

/// The bytes sent of `asset` to a browser that takes gzip (`gzip`) or not.
pub fn sent(asset: &Asset, gzip: bool) -> &'static [u8] {
    match (&prepared(asset).gzip, gzip) {
        (Some(zipped), true) => zipped,
        _ => asset.source,
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the app. The page loads all of them (see `first_load`).
pub const ASSETS: &[Asset] = &[
    asset!("/", "index.html", HTML),
    asset!("/app.css", "app.css", "text/css; charset=utf-8"),
    asset!("/app.js", "app.js", JS),
    asset!("/state.js", "state.js", JS),
    asset!("/wire.js", "wire.js", JS),
    asset!("/link.js", "link.js", JS),
    asset!("/chats.js", "chats.js", JS),
    asset!("/view.js", "view.js", JS),
    asset!("/moderation.js", "moderation.js", JS),
    asset!("/i18n.js", "i18n.js", JS),
    asset!("/rules.js", "rules.js", JS),
    asset!("/actions.js", "actions.js", JS),
    asset!("/fates.js", "fates.js", JS),
    asset!("/search.js", "search.js", JS),
    asset!("/account.js", "account.js", JS),
    asset!("/invite.js", "invite.js", JS),
    asset!("/files.js", "files.js", JS),
    asset!("/icon.svg", "icon.svg", "image/svg+xml"),
    // The installable app that opens offline (and its lazily loaded panels).
    asset!("/mentions.js", "mentions.js", JS),
    asset!("/store.js", "store.js", JS),
    asset!("/sw.js", "sw.js", JS),
    asset!("/manifest.webmanifest", "manifest.webmanifest", "application/manifest+json"),
    asset!("/icon-192.png", "icon-192.png", "image/png"),
    asset!("/icon-512.png", "icon-512.png", "image/png"),
    asset!("/roomadmin.js", "roomadmin.js", JS),
    asset!("/qr.js", "qr.js", JS),
    asset!("/panel.js", "panel.js", JS),
    asset!("/devices.js", "devices.js", JS),
    asset!("/widgets.js", "widgets.js", JS),
    asset!("/archive.js", "archive.js", JS),
    asset!("/starred.js", "starred.js", JS),
    // Forwarding a message or a photo; voice messages.
    asset!("/forward.js", "forward.js", JS),
    asset!("/voice.js", "voice.js", JS),
    // 1.2 (§24): calls, at the first call button or CALL event.
    asset!("/call.js", "call.js", JS),
    asset!("/call.css", "call.css", "text/css; charset=utf-8"),
    asset!("/calllog.js", "calllog.js", JS),
    // 1.2 (§32): a room's call, at the first call button of a room, GROUPCALL event or call going on.
    asset!("/groupcall.js", "groupcall.js", JS),
    asset!("/groupcall.css", "groupcall.css", "text/css; charset=utf-8"),
    asset!("/autocomplete.js", "autocomplete.js", JS),
    // A token of this browser's own: "Link with a code", "Stay signed in" (`PAIR`).
    asset!("/stay.js", "stay.js", JS),
    // 1.2 (§4): a conversation read back a page at a time, once logged in.
    asset!("/history.js", "history.js", JS),
    asset!("/people.js", "people.js", JS),
    // Whether a link's host, not in ASCII, could pass for another host.
    asset!("/links.js", "links.js", JS),
    asset!("/session.js", "session.js", JS),
    asset!("/controls.js", "controls.js", JS),
    asset!("/chatlist.js", "chatlist.js", JS),
    asset!("/conversation.js", "conversation.js", JS),
    // The phone's Back inside the signed-in app.
    asset!("/back.js", "back.js", JS),
    asset!("/sending.js", "sending.js", JS),
    asset!("/typing.js", "typing.js", JS),
    asset!("/events.js", "events.js", JS),
    asset!("/notify.js", "notify.js", JS),
    asset!("/refresh.js", "refresh.js", JS),
    // 1.2 (§28): the Web Push switches, with the ⚙ panel.
    asset!("/push.js", "push.js", JS),
    // The keyboard shortcuts and their `?` list; the emoji picker.
    asset!("/shortcuts.js", "shortcuts.js", JS),
    asset!("/emoji.js", "emoji.js", JS),
    // A chat's menu in the list (right-click, long press).
    asset!("/listmenu.js", "listmenu.js", JS),
    // 1.2 (§30): profiles and privacy, after the login and at "Profile".
    asset!("/profiles.js", "profiles.js", JS),
    // 1.2 (§31): a room message's Info, at its first "Info".
    asset!("/receipts.js", "receipts.js", JS),
];

/// The file served at `path` (`/index.html` is `/`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// Modules the page imports only when first used (`import()` in app.js):
/// the message actions at the first tap on a message's "⋯", search at the
/// first search, the account panel at its button, the server's rules when
/// they are shown (protocol 1.2), the invite code's field when a teacher's
/// link opened the page or a registration needs a code; and a chat's panel
/// at its "Details", a room's admin controls when an admin opens it, the
/// devices panel at its button, the QR code's encoder with the first link
/// code, and what a linked browser keeps of its chats when it logs in;
/// files in chats (1.2, §21) once logged in; and the small widgets those
/// panels share; and (1.2, §23) the chat list's "Archived" row once a chat
/// is archived; forwarding at the first "Forward", voice messages at the
/// first 🎤 or voice message; and (1.2, §25) starred messages with the
/// message menu, the ★ button, or a first star; and (1.2, §24) calls, at
/// the first call button or incoming call, and (1.2, §32) a room's calls,
/// at the first call button of a room or call going on in one; and the
/// @mentions' list at the
/// first `@` typed in a room; and `PAIR` when this browser gets a token of
/// its own ("Link with a code", "stay signed in"); and (1.2, §4) the pages
/// of a conversation, once logged in; and (1.2, §26) the people "New chat"
/// finds, at the first letter typed there; and the look-alike check of a
/// link whose host is not in ASCII, with the first one; and the signed-in
/// app itself (the session and what it imports, the phone's Back among
/// it), at the first login; and (1.2, §28) the Web Push switches, with the
/// ⚙ panel; and the keyboard shortcuts at the first `?` or Ctrl+Alt key,
/// the emoji picker when first opened, a chat's menu in the list at the
/// first right-click or long press on a chat; and (1.2, §30) the profiles,
/// once logged in; and (1.2, §31) a room message's Info, at its first
/// "Info"; and what the signed-in app is made of beside the wire (the
/// link, the chats, their view, a room's rules, what actions did to
/// messages, mentions), at the first login: the login form needs none of
/// them.
pub const LOADED_LATER: [&str; 48] = [
    "/actions.js",
    "/search.js",
    "/account.js",
    "/rules.js",
    "/invite.js",
    "/panel.js",
    "/roomadmin.js",
    "/devices.js",
    "/qr.js",
    "/store.js",
    "/files.js",
    "/widgets.js",
    "/archive.js",
    "/starred.js",
    "/forward.js",
    "/voice.js",
    "/call.js",
    "/call.css",
    "/calllog.js",
    "/groupcall.js",
    "/groupcall.css",
    "/autocomplete.js",
    "/stay.js",
    "/history.js",
    "/people.js",
    "/links.js",
    "/session.js",
    "/controls.js",
    "/chatlist.js",
    "/conversation.js",
    "/back.js",
    "/sending.js",
    "/typing.js",
    "/events.js",
    "/notify.js",
    "/refresh.js",
    "/push.js",
    "/shortcuts.js",
    "/emoji.js",
    "/listmenu.js",
    "/profiles.js",
    "/receipts.js",
    "/link.js",
    "/chats.js",
    "/view.js",
    "/moderation.js",
    "/fates.js",
    "/mentions.js",
];

/// The icons of the manifest: what installing the app shows.
/// A page's load does not fetch them (chromium 156's network log of a
/// first load has neither); a phone that checks whether the page can be
/// installed fetches one.
pub const INSTALL_ICONS: [&str; 2] = ["/icon-192.png", "/icon-512.png"];

/// Bytes a browser fetches to show the app the first time: every file
/// but those [`LOADED_LATER`] and the [`INSTALL_ICONS`], as sent to a
/// browser that takes gzip (`gzip`: every browser does) or not. Gzipped,
/// with the service worker and manifest, and the largest icon too for a
/// phone that fetches it at once, it stays within [`FIRST_LOAD_BUDGET`];
/// uncompressed it is about three times that; and a reload fetches none
/// of it again (304).
pub fn first_load(gzip: bool) -> usize {
    ASSETS
        .iter()
        .filter(|a| !LOADED_LATER.contains(&a.path) && !INSTALL_ICONS.contains(&a.path))
        .map(|a| sent(a, gzip).len())
        .sum()
}

/// What the first load of a phone, gzipped and with the largest icon, may
/// weigh: 60 KB on the wire, of which the headers take ~2 KB, so 58,000
/// bytes of bodies.
pub const FIRST_LOAD_BUDGET: usize = 58_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// The first load of a phone that also fetches the largest icon of the manifest.
    fn first_load_with_an_icon(gzip: bool) -> usize {
        let largest =
            INSTALL_ICONS.iter().filter_map(|p| find(p)).map(|a| sent(a, gzip).len()).max().unwrap_or(0);
        first_load(gzip) + largest
    }

    #[test]
    fn each_text_file_is_gzipped_once_and_comes_back_whole() {
        use std::io::Read;
        for asset in ASSETS {
            let prepared = prepared(asset);
            if asset.mime.starts_with("image/png") {
                assert!(prepared.gzip.is_none(), "{}", asset.path);
                continue;
            }
            let Some(zipped) = prepared.gzip.as_ref() else {
                // Only a file too small for gzip's own header and trailer to pay goes as it is.
                assert!(asset.source.len() < 200, "{} gzipped", asset.path);
                continue;
            };
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut back).unwrap();
            assert!(back == asset.source, "{}: gzip gives back another file", asset.path);
            assert!(std::ptr::eq(prepared, self::prepared(asset)), "computed once");
        }
        let app = prepared(find("/app.js").unwrap());
        assert!(app.matches(&app.etag) && app.matches(&app.etag_gzip) && app.matches("\"x\", W/*"));
        assert!(!app.matches("\"0000000000000000\"") && !app.matches(""));
        assert_ne!(app.etag, prepared(find("/view.js").unwrap()).etag);
    }

    #[test]
    fn only_embedded_paths_are_found() {
        assert!(find("/").is_some());
        assert!(find("/index.html").is_some());
        assert!(find("/wire.js").is_some());
        for path in ["/../Cargo.toml", "/web/app.js", "//app.js", "/app.js/", "/APP.JS", "/data/users.csv"] {
            assert!(find(path).is_none(), "{path}");
        }
    }

    #[test]
    fn the_first_load_stays_small() {
        // Over the wire, compressed: what a phone waits for (60 KB with the headers).
        let zipped = first_load_with_an_icon(true);
        assert!(zipped < FIRST_LOAD_BUDGET, "{zipped} bytes gzipped");
        // Uncompressed, comments and all (what a proxy that strips the encoding would pass on).
        assert!(first_load_with_an_icon(false) < 200_000, "{} bytes", first_load_with_an_icon(false));
        assert!(ASSETS.iter().filter(|a| a.mime == JS).count() >= 5);
        assert_eq!(find("/").unwrap().mime, HTML);
    }

    /// The service worker keeps the app's files for a start offline: its
    /// two lists are the first load and the modules loaded later, exactly.
    #[test]
    fn the_service_worker_keeps_every_file_of_the_app_and_no_other() {
        let sw = String::from_utf8_lossy(find("/sw.js").unwrap().source);
        let list = |name: &str| -> Vec<String> {
            let start = sw.find(&format!("const {name} = [")).unwrap_or_else(|| panic!("{name} in sw.js"));
            let rest = &sw[start..];
            rest[..rest.find(']').unwrap()].split('\'').skip(1).step_by(2).map(str::to_string).collect()
        };
        let mut shell = list("SHELL");
        shell.sort();
        let mut first: Vec<String> = ASSETS
            .iter()
            .map(|a| a.path.to_string())
            .filter(|p| {
                !LOADED_LATER.contains(&p.as_str()) && !INSTALL_ICONS.contains(&p.as_str()) && p != "/sw.js"
            })
            .collect();
        first.sort();
        assert_eq!(shell, first, "sw.js's SHELL");
        assert_eq!(list("LATER"), LOADED_LATER, "sw.js's LATER");
        assert_eq!(find("/manifest.webmanifest").unwrap().mime, "application/manifest+json");
    }

    #[test]
    fn modules_loaded_later_are_imported_by_no_module_of_the_first_load() {
        for later in LOADED_LATER {
            assert!(find(later).is_some(), "{later}");
            let static_import = format!("from '.{later}'");
            // A module loaded later may import another (panel.js, devices.js and
            // roomadmin.js share widgets.js).
            for asset in ASSETS.iter().filter(|a| !LOADED_LATER.contains(&a.path)) {
                let body = String::from_utf8_lossy(asset.source);
                assert!(!body.contains(&static_import), "{} imports {later} at its start", asset.path);
            }
        }
    }
}
