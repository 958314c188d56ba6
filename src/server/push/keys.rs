//! The server's VAPID key (RFC 8292): made at the first start of a data
//! directory and kept there as `vapid.pk8` (PKCS#8, mode 0600), so that
//! it goes into backups with the rest. Browsers subscribed with its
//! public key: a new key would silently break every subscription, so the
//! server never makes one over a file it cannot read; it refuses to start
//! and says which file to restore (or delete, to start over, after which
//! every browser must subscribe again).

use std::path::Path;

use super::crypto::Vapid;
use crate::error::{Error, Result};
use crate::store::disk::{Disk, RealDisk};

/// The key's file in the data directory.
pub const FILE: &str = "vapid.pk8";

/// The key of `dir`, made and written first if there is none.
pub fn load_or_make(dir: &Path) -> Result<Vapid> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(pkcs8) => Vapid::from_pkcs8(&pkcs8).map_err(|why| {
            Error::Usage(format!(
                "{}: {why}. Restore it from a backup; deleting it makes a new key, and every \
                 browser must then subscribe again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pkcs8 = Vapid::generate().map_err(|_| Error::Usage("push: no random numbers".into()))?;
            RealDisk
                .replace(&path, &pkcs8)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            log::info!("push: made the server's VAPID key, {}", path.display());
            Vapid::from_pkcs8(&pkcs8).map_err(Error::Usage)
        }
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_make(dir.path()).unwrap().public_b64();
        assert_eq!(load_or_make(dir.path()).unwrap().public_b64(), first);
        std::fs::write(dir.path().join(FILE), b"damaged").unwrap();
        let refused = load_or_make(dir.path()).err().unwrap().to_string();
        assert!(refused.contains("vapid.pk8") && refused.contains("backup"), "{refused}");
        assert_eq!(std::fs::read(dir.path().join(FILE)).unwrap(), b"damaged");
    }
}
