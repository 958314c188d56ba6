//! Where a user's files go, and what a file may be named.

use std::path::PathBuf;

/// Where a user's programs keep their data, unless told otherwise; `None`
/// if the system does not say. On Unix (Linux and macOS alike) the XDG
/// convention: `$XDG_DATA_HOME`, else `~/.local/share`.
#[cfg(unix)]
pub fn data_home() -> Option<PathBuf> {
    non_empty("XDG_DATA_HOME").or_else(|| non_empty("HOME").map(|home| home.join(".local").join("share")))
}

/// On Windows the user's local application data, `%LOCALAPPDATA%`
/// (`C:\Users\<name>\AppData\Local`): not copied between machines, and
/// open to its user only.
#[cfg(not(unix))]
pub fn data_home() -> Option<PathBuf> {
    non_empty("LOCALAPPDATA")
}

fn non_empty(variable: &str) -> Option<PathBuf> {
    std::env::var_os(variable).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The file that swallows what is written to it.
#[cfg(unix)]
pub const NULL_DEVICE: &str = "/dev/null";
#[cfg(not(unix))]
pub const NULL_DEVICE: &str = "NUL";

/// What separates a host from its port in a folder's name: `:`, which
/// Windows forbids in a file name (it names a file's alternate stream
/// there), so `+` on Windows. Neither may be in a user's name.
#[cfg(unix)]
pub const PORT_SEPARATOR: char = ':';
#[cfg(not(unix))]
pub const PORT_SEPARATOR: char = '+';
