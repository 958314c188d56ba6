//! The small files a client folder rewrites whole (the server's id, a
//! device's token, the kept device names): readable by their owner only,
//! and never left half-written. Apart from `local.rs`, which uses it, so
//! that the modules those files belong to need nothing of the folder's
//! other rules.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::sys::private::Mode;

/// Permissions of the client's files: the owner only.
pub const FILE_MODE: u32 = 0o600;

/// Replaces the file `name` of the folder `dir` with `text`, durably and
/// privately: a temporary file (0600), synced, renamed over the old one,
/// then the folder synced. A crash leaves the old content or the new,
/// whole (the server's id, a device's token, the kept device names).
pub fn replace_private(dir: &Path, name: &str, text: &str) -> Result<()> {
    let (path, tmp) = (dir.join(name), dir.join(format!("{name}.tmp")));
    let failed = |e| Error::io(tr!(Msg::Writing, path = path.display()), e);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&tmp)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(failed)?;
    fs::rename(&tmp, &path).map_err(failed)?;
    crate::sys::disk::sync_dir(dir).map_err(failed)
}
