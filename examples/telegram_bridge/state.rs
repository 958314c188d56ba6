//! What the bridge remembers between runs: how far it got in each
//! direction, in one small JSON file (`--state`), so that a restarted
//! bridge neither relays a message twice nor skips one.
//!
//! ```json
//! {"telegram_offset": 5001, "last_to_telegram": {"from": "ana", "id": "1763712193000-3fa2c1-1"}}
//! ```
//!
//! The file is replaced whole, never edited in place: written to a
//! temporary file, forced to disk, then renamed over the old one. A rename
//! is atomic, so after a crash the file is the old state or the new one,
//! never half of each.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use wachat::sys::private::Mode;

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    /// The next Telegram update to ask for: every update below it is
    /// already in the room's outbox (or was not for the room).
    pub telegram_offset: i64,
    /// The last room message handed to Telegram. On a restart, the
    /// messages after it in the bridge's local log are handed over first:
    /// they arrived, and were acknowledged to the server, but the bridge
    /// stopped before Telegram had them. `None`: every room message of the
    /// log is still to go (a first run starts it at the end of the log).
    pub last_to_telegram: Option<Relayed>,
}

/// A wachat message, by the name that makes it unique: its sender and id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relayed {
    pub from: String,
    pub id: String,
}

impl State {
    /// The state in `path`; `None` if there is no file yet (a first run).
    pub fn load(path: &Path) -> io::Result<Option<State>> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// Replaces the file with this state, durably.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        // The client's own files are the owner's only (0700 folders, 0600
        // files); the bridge's state beside them likewise.
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let tmp = path.with_extension("json.tmp");
        let mut file =
            fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        serde_json::to_writer(&mut file, self)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself lives in the directory: sync it too, or a power
        // cut could bring the old file back.
        wachat::sys::disk::sync_dir(dir)
    }
}
