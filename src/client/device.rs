//! Which device this client is (protocol 1.2: `LOGIN:<user>@<device>:…`).
//!
//! One account may be online from several devices at once: the lab's
//! console, the laptop's full-screen console, a browser at home. The
//! server tells them apart by a name the client chooses and keeps: the
//! same name after a restart is the same device, which gets exactly what
//! it missed; a new name is one more device, which counts against the
//! server's `--max-devices`. So a client must not invent a new name on
//! every start.
//!
//! `--device NAME` names the device. Without it, the client takes the
//! host name plus a short random suffix (`lab-pc-07-3f9c`), and keeps it in
//! the user's folder (`default_devices`, see [`super::local`]), so that
//! the next start is the same device. The suffix keeps two machines that
//! share a host name (`localhost`, a lab's cloned images) apart. A second
//! console of the same user on the same machine, started while the first
//! one runs, cannot share its folder (each keeps an outbox in memory):
//! it becomes a second device, also kept, and is the same second device
//! the next time both run.
//!
//! A device name follows the rules of a user name (1–32 characters of
//! `A-Z a-z 0-9 _ . -`), so `@` and `:` can never be in it and the login
//! line splits one way only.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::names::{MAX_NAME, fold, name_problem};

/// The file, in the user's folder, of the device names this machine made
/// up for the user: one a line, the oldest first.
pub const DEFAULTS_FILE: &str = "default_devices";

/// The random suffix: 4 hex digits, 65,536 names per host name.
const SUFFIX_LEN: usize = 4;

/// A `--device` value, checked by the user-name rules; the refusal in the
/// user's language.
pub fn check(lang: crate::i18n::Lang, name: &str) -> std::result::Result<(), String> {
    match name_problem(name) {
        Some(problem) => Err(tr!(in lang; Msg::BadDeviceName,
            why = crate::i18n::client::name_problem(lang, problem, name))),
        None => Ok(()),
    }
}

/// A new default name: the host name, made a valid name, then `-` and
/// four random hex digits (`SUFFIX_LEN`).
pub fn new_name() -> Result<String> {
    let random = getrandom::u32().map_err(|e| Error::Usage(tr!(Msg::NoRandom, error = e)))?;
    Ok(format!("{}-{:04x}", from_host(&crate::sys::host::name()), random & 0xffff))
}

/// `lab-pc-07.school.example` → `lab-pc-07`: the first label of the host
/// name, every character a name may not hold made `-`, cut so that the
/// suffix fits in [`MAX_NAME`]. `device` if nothing is left.
fn from_host(host: &str) -> String {
    let first = host.split('.').next().unwrap_or_default();
    let mut name: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
        .take(MAX_NAME - SUFFIX_LEN - 1)
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() { "device".to_string() } else { name }
}

/// The default names kept in `user_dir`, oldest first; lines that are not
/// a valid name (a damaged file) are skipped, and a name is listed once.
pub fn kept(user_dir: &Path) -> Vec<String> {
    let text = fs::read_to_string(user_dir.join(DEFAULTS_FILE)).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if name_problem(line).is_none() && !names.iter().any(|n| fold(n) == fold(line)) {
            names.push(line.to_string());
        }
    }
    names
}

/// Adds `name` to the kept names, durably: the whole list written to a
/// temporary file, synced, renamed over the old one.
pub fn keep(user_dir: &Path, name: &str) -> Result<()> {
    let mut names = kept(user_dir);
    names.push(name.to_string());
    let text: String = names.iter().map(|n| format!("{n}\n")).collect();
    super::private::replace_private(user_dir, DEFAULTS_FILE, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn a_default_name_is_the_host_name_and_a_suffix_and_always_a_valid_name() {
        assert_eq!(from_host("lab-pc-07.school.example"), "lab-pc-07");
        assert_eq!(from_host("Ana's MacBook Pro"), "Ana-s-MacBook-Pro");
        assert_eq!(from_host(""), "device");
        assert_eq!(from_host("---"), "device");
        assert_eq!(from_host(&"x".repeat(100)).len(), MAX_NAME - SUFFIX_LEN - 1);
        let name = new_name().unwrap();
        assert!(name_problem(&name).is_none(), "{name}");
        assert_eq!(name.rsplit_once('-').unwrap().1.len(), SUFFIX_LEN, "{name}");
        assert_ne!(new_name().unwrap(), new_name().unwrap(), "or a 1 in 65,536 chance");
    }

    #[test]
    fn names_are_kept_in_order_once_each_and_damage_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(kept(dir.path()).is_empty());
        keep(dir.path(), "lab-1a2b").unwrap();
        keep(dir.path(), "lab-9f00").unwrap();
        assert_eq!(kept(dir.path()), ["lab-1a2b", "lab-9f00"]);
        fs::write(dir.path().join(DEFAULTS_FILE), "lab-1a2b\nnot a name\nLAB-1A2B\nok\n").unwrap();
        assert_eq!(kept(dir.path()), ["lab-1a2b", "ok"]);
        keep(dir.path(), "x").unwrap();
        let mode =
            crate::sys::private::mode_of(&fs::metadata(dir.path().join(DEFAULTS_FILE)).unwrap()).unwrap();
        assert_eq!(mode & 0o777, crate::client::private::FILE_MODE);
    }

    #[test]
    fn a_bad_device_name_is_refused_in_words() {
        assert!(check(Lang::En, "laptop").is_ok());
        let e = check(Lang::En, "ana@laptop").unwrap_err();
        assert!(e.contains("device") && e.contains("'@'"), "{e}");
        assert!(check(Lang::Es, "").unwrap_err().contains("dispositivo"));
    }
}
