//! The app's files, embedded in the binary at build time from `web/`
//! (`include_bytes!`): `wachat serve` is still one file to copy, and the
//! only files the web port can serve are these, looked up by exact path.
//! No part of a request's path ever reaches the file system.

/// One embedded file.
pub struct Asset {
    /// Its path in URLs.
    pub path: &'static str,
    pub mime: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $mime:expr) => {
        Asset { path: $path, mime: $mime, body: include_bytes!(concat!("../../web/", $file)) }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the app. The page loads all of them (see `first_load`).
pub const ASSETS: &[Asset] = &[
    asset!("/", "index.html", HTML),
    asset!("/app.css", "app.css", "text/css; charset=utf-8"),
    asset!("/app.js", "app.js", JS),
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
/// link opened the page or a registration needs a code; files in chats
/// (1.2, issue 42) once logged in.
pub const LOADED_LATER: [&str; 6] =
    ["/actions.js", "/search.js", "/account.js", "/rules.js", "/invite.js", "/files.js"];

/// Bytes a browser fetches to show the app the first time: every file
/// but those [`LOADED_LATER`] (goal: under 120 KB uncompressed, the
/// budget of the installable app of issue 41, its service worker and
/// manifest included; it was 100 KB before this round's hardening).
pub fn first_load() -> usize {
    ASSETS.iter().filter(|a| !LOADED_LATER.contains(&a.path)).map(|a| a.body.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(first_load() < 120_000, "{} bytes", first_load());
        assert!(ASSETS.iter().filter(|a| a.mime == JS).count() >= 5);
        assert_eq!(find("/").unwrap().mime, HTML);
    }

    #[test]
    fn modules_loaded_later_are_imported_by_no_module_at_its_start() {
        for later in LOADED_LATER {
            assert!(find(later).is_some(), "{later}");
            let static_import = format!("from '.{later}'");
            for asset in ASSETS {
                let body = String::from_utf8_lossy(asset.body);
                assert!(!body.contains(&static_import), "{} imports {later} at its start", asset.path);
            }
        }
    }
}
