//! 1.2 `DELACCOUNT` (`server::accounts`): a deleted account's devices
//! are forgotten, every one, tokens and positions with them. In a file of
//! its own, as the cluster's side (`shared.rs`) is, keeping `devices/mod.rs`
//! under 500 lines.

use std::sync::Arc;

use super::Devices;
use crate::protocol::Ko;
use crate::protocol::names::fold;

impl Devices {
    /// Removes every device of `name` (from this node's book, the file,
    /// and a cluster's shared record) before the `OK`; returns their names.
    pub fn forget_all(&self, name: &str) -> Result<Vec<Arc<str>>, Ko> {
        if !self.refresh(name) {
            return Err(Ko::store_unavailable());
        }
        let gone: Vec<Arc<str>> = {
            let mut book = self.book.lock();
            let names: Vec<Arc<str>> = book.devices(name).iter().map(|d| d.name.clone()).collect();
            for device in &names {
                book.remove(name, device);
            }
            names
        };
        if let Some(shared) = self.shared.get() {
            for device in &gone {
                shared.remove(&fold(name), device).map_err(|e| {
                    log::error!("devices: removing {name}'s device {device} from the cluster: {e}");
                    Ko::store_unavailable()
                })?;
            }
        }
        self.save_or_ko()?;
        Ok(gone)
    }
}
