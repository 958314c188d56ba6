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

/// A directory of its own under the system's temporary directory,
/// deleted on drop (also when what used it stops with an error), unless
/// [`TempDir::keep`] kept it.
pub struct TempDir(Option<PathBuf>);

impl TempDir {
    /// A new directory `<prefix>-<pid>-<random>`. Made with `create_dir`,
    /// not `create_dir_all`: it fails if the name is taken, so nothing ever
    /// works in (and then deletes) someone else's directory.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let random = getrandom::u32().map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{random:08x}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(TempDir(Some(path)))
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.as_deref().unwrap_or(std::path::Path::new(""))
    }

    /// Leaves the directory where it is, for someone to read; its path.
    pub fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}
