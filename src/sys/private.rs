//! Files only their owner may read: the server's data directory holds
//! password hashes and everyone's messages, a client's folder a user's
//! conversations and device token.
//!
//! On Unix (Linux, macOS) that is the file's mode: wachat creates files
//! 0600 and folders 0700, and tightens older ones. Windows has no mode
//! bits: a new file takes the access list of the folder it is created in,
//! and a folder under the user's profile (`%LOCALAPPDATA%`, where a client
//! keeps its files by default) is open to that user, the administrators
//! and the system only. There the mode asked for is left out, a file's
//! mode reads as unknown (`None`), and nothing is tightened; the README
//! tells a server's owner to keep its data directory inside their profile.

use std::fs::{DirBuilder, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// The mode a new file or folder is created with (`0o600`, `0o700`):
/// `mode` as on Unix, on every system (see the module documentation for
/// what Windows does instead).
pub trait Mode {
    fn mode(&mut self, mode: u32) -> &mut Self;
}

#[cfg(unix)]
impl Mode for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, mode)
    }
}

#[cfg(unix)]
impl Mode for DirBuilder {
    fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::DirBuilderExt::mode(self, mode)
    }
}

#[cfg(not(unix))]
impl Mode for OpenOptions {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
}

#[cfg(not(unix))]
impl Mode for DirBuilder {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
}

/// The permission bits of a file or folder (`0o644`…); `None` where the
/// system has none.
#[cfg(unix)]
pub fn mode_of(meta: &Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
pub fn mode_of(_meta: &Metadata) -> Option<u32> {
    None
}

/// Sets the permission bits of `path`; does nothing where there are none.
#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// True if `meta` says that others than the owner may reach it (any of
/// the bits `0o077`); never on a system without modes.
pub fn open_to_others(meta: &Metadata) -> bool {
    mode_of(meta).is_some_and(|mode| mode & 0o077 != 0)
}
