//! A linked device's token (protocol 1.2, `LINK` and `PAIR`): how a device
//! logs in without ever being typed the password.
//!
//! ```text
//! the laptop (logged in)              the new device (wachat connect --pair CODE)
//!   LINK           ─▶ server
//!   OK:K7QM9PZRTW  ◀─        the user types the code on the new device
//!                             PAIR:ana@lab-3f9c:K7QM9PZRTW ─▶ server  (a fresh send connection)
//!                             OK:<token>                   ◀─         (32 hex digits, 128 bits)
//!                             LOGIN:ana@lab-3f9c:<token>   ─▶ both ports, from then on
//! ```
//!
//! The token is a secret as the password is: it is kept in the device's
//! folder, in the file `token`, readable by its owner only (`0600`, as
//! every file of the folder), written whole (a temporary file, synced,
//! renamed). It is valid for this device only, and until the device is
//! unlinked (`UNLINK`, `/unlink`): then the server refuses it, and the
//! client forgets it ([`forget`]) and says why.

use std::fs;
use std::path::Path;

use super::connection::Connection;
use super::options::ClientOptions;
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::Port;
use crate::protocol::{Reply, Request};

/// The file, in the device's folder: one line, the token.
pub const FILE: &str = "token";

/// The token kept in the device folder `dir`, if there is one (a damaged
/// file, not a token, is none).
pub fn saved(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(FILE)).ok()?;
    let token = text.trim_end();
    let plausible = !token.is_empty() && token.len() <= 256 && token.bytes().all(|b| b.is_ascii_graphic());
    plausible.then(|| token.to_string())
}

/// Keeps `token` in the device folder `dir`, durably and privately.
pub fn save(dir: &Path, token: &str) -> Result<()> {
    super::private::replace_private(dir, FILE, &format!("{token}\n"))
}

/// Forgets the token of the device folder `dir` (the server refused it:
/// the device was unlinked); `true` if there was one.
pub fn forget(dir: &Path) -> bool {
    match fs::remove_file(dir.join(FILE)) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            log::warn!("{}: {e}", dir.join(FILE).display());
            false
        }
    }
}

/// The token kept for the device that `options` would start as (its
/// `--device`, or the default device that is free), if any: then no
/// password need be asked for.
pub fn for_options(options: &ClientOptions) -> Result<Option<String>> {
    Ok(super::local::open_existing(options)?.and_then(|folder| saved(&folder.dir)))
}

/// Before [`super::Client::connect`] logs in: with `options.pair`, pairs
/// the device (`PAIR`) and keeps its token; else takes the token kept in
/// the device's folder `dir`, if any. Either way the token replaces the
/// password in `options`. `true` if a token is used.
pub fn use_saved_or_pair(options: &mut ClientOptions, dir: &Path) -> Result<bool> {
    let token = match options.pair.take() {
        Some(code) => {
            let token = pair(options, &code)?;
            save(dir, &token)?;
            log::info!("{}", tr!(Msg::Paired, device = options.device.as_deref().unwrap_or_default()));
            token
        }
        None => match saved(dir) {
            Some(token) => token,
            None => return Ok(false),
        },
    };
    options.password = token;
    Ok(true)
}

/// "Stay signed in" (`options.stay`): right after a password login on
/// `conn`, asks a link code (`LINK`) and trades it (`PAIR`, on a fresh
/// connection) for this very device's token, kept in its folder `dir`; the
/// token then replaces the password in `options`, for the reconnections.
/// A device that logs in with its token is outside the password-guessing
/// limits (protocol §16): a classmate spraying wrong passwords at the
/// account from the same address does not keep it out. The password is
/// never written down.
pub fn stay(conn: &mut Connection, options: &mut ClientOptions, dir: &Path) -> Result<()> {
    let what = tr!(Msg::ReqPair, user = options.user, device = options.device.as_deref().unwrap_or_default());
    let code = match conn.request(&Request::Link { password: None })? {
        Reply::OkWith(code) => code,
        Reply::Ko(ko) => return Err(Error::Refused { request: what, ko }),
        other => return Err(conn.unexpected(&other)),
    };
    let token = pair(options, &code)?;
    save(dir, &token)?;
    log::info!("{}", tr!(Msg::Paired, device = options.device.as_deref().unwrap_or_default()));
    options.password = token;
    Ok(())
}

/// Trades the link `code` for this device's token: `PAIR` as the first
/// frame of a fresh send connection (then `QUIT`). `options.device` names
/// the device.
pub fn pair(options: &ClientOptions, code: &str) -> Result<String> {
    let device = options.device.clone().unwrap_or_else(|| crate::protocol::DEFAULT_DEVICE.to_string());
    let mut conn = Connection::open_any(options, Port::Send, options.trace.clone(), &options.preferred)?;
    // Read off one screen, typed on another: as the server made it.
    let code = crate::protocol::codes::normalize(code);
    let request = Request::Pair { user: options.user.clone(), device: device.clone(), code };
    let what = tr!(Msg::ReqPair, user = options.user, device = device);
    let token = match conn.request(&request)? {
        Reply::OkWith(token) if !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            token
        }
        Reply::Ko(ko) => return Err(Error::Refused { request: what, ko }),
        other => return Err(conn.unexpected(&other)),
    };
    // The token is ours now; a lost QUIT changes nothing.
    let _ = conn.write_request(&Request::Quit);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_privately_read_back_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(saved(dir.path()), None);
        save(dir.path(), "0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(saved(dir.path()).as_deref(), Some("0123456789abcdef0123456789abcdef"));
        let mode = crate::sys::private::mode_of(&fs::metadata(dir.path().join(FILE)).unwrap()).unwrap();
        assert_eq!(mode & 0o777, crate::client::private::FILE_MODE);
        fs::write(dir.path().join(FILE), "not a\u{1b}token\n").unwrap();
        assert_eq!(saved(dir.path()), None, "damaged");
        assert!(forget(dir.path()));
        assert!(!forget(dir.path()));
        assert!(!dir.path().join(FILE).exists());
    }
}
