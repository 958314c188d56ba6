//! Where a user's files go, and what a file may be named.

use std::path::PathBuf;

/// Where a user's programs keep their data, unless told otherwise: on
/// Unix (Linux and macOS alike) the XDG convention, `$XDG_DATA_HOME`, else
/// `~/.local/share`; on Windows the user's local application data,
/// `%LOCALAPPDATA%` (`C:\Users\<name>\AppData\Local`), which is not copied
/// between machines and which only its user can open. `None` if the
/// variables are not set.
pub fn data_home() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    #[cfg(unix)]
    return non_empty("XDG_DATA_HOME")
        .or_else(|| non_empty("HOME").map(|home| home.join(".local").join("share")));
    #[cfg(not(unix))]
    non_empty("LOCALAPPDATA")
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
