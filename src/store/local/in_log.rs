//! [`InLog`]: every user's devices (`store::devices`) kept as settings
//! of a [`LocalStore`]'s log, read and written as a server needs them.

use std::sync::Arc;

use super::LocalStore;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::devices::{DEVICE, Device, decode, encode, key};
use crate::store::ids::UserId;
use crate::store::settings::{KeyChange, KeyView, Keys};

/// Every user's devices on record: [`DEVICE`] settings of the store,
/// written as `SET` records through its log (on a cluster, the leader's,
/// through the shared log). A server reads a user's devices from it
/// before they count (a login, a token, `DEVICES`, `UNLINK`), and writes
/// there what it changed (`server::devices`).
///
/// `user` is a user's name (any case).
pub struct InLog {
    store: Arc<LocalStore>,
}

impl InLog {
    pub fn new(store: Arc<LocalStore>) -> InLog {
        InLog { store }
    }

    /// `user`'s account, `None` if there is none.
    fn user(&self, user: &str) -> Option<UserId> {
        self.store.account(user).map(|account| account.id)
    }

    /// Changes `user`'s device `name` by `change` (from what is on record,
    /// the value to keep; `None`: none), durably before it returns. A
    /// change that revokes goes `first` ([`LocalStore::change_setting_first`]).
    fn change(
        &self,
        user: &str,
        name: &str,
        first: bool,
        mut change: impl FnMut(Option<Device>) -> Option<Device>,
    ) -> Result<(), Ko> {
        let Some(id) = self.user(user) else {
            return Err(Ko::new(Code::Internal, format!("no account {user}")));
        };
        let mut decided = |kept: &KeyView| Ok(change(kept.current().and_then(decode)).as_ref().map(encode));
        let change: KeyChange = &mut decided;
        let ticket = if first {
            self.store.change_setting_first(id, &DEVICE, &key(name), change)?
        } else {
            self.store.change_setting(id, &DEVICE, &key(name), change)?
        };
        self.store.wait(ticket)
    }

    /// Every device of `user` on record (none for no account).
    pub fn load(&self, user: &str) -> Vec<Device> {
        let Some(id) = self.user(user) else { return Vec::new() };
        let kept = self.store.read_settings(&DEVICE, Keys::Of(id));
        kept.iter().filter_map(|k| decode(&k.value)).collect()
    }

    /// Writes that `user`'s device `name` was seen at `seen_ms` from
    /// `address` (its connection ended, or a forgotten device came back:
    /// then, `hold`, it holds the inbox again from position 0). One
    /// unlinked meanwhile stays gone; its position is otherwise its
    /// `ACK`s' (`LocalStore::ack_device`); no token is written here.
    ///
    /// A record nobody waits for ([`LocalStore::change_setting_unwaited`]),
    /// as an acknowledgement's is: it rides the next batch, whether the
    /// disk or the database answers or not, and a failure is logged. A
    /// cluster's follower has none of its own to write: its devices are
    /// the leader's, which serves every session, and which it applies.
    pub fn seen(&self, user: &str, name: &str, address: std::net::IpAddr, seen_ms: u64, hold: bool) {
        if !self.store.leads() {
            return;
        }
        let Some(id) = self.user(user) else { return };
        let mut change = |kept: &KeyView| {
            let Some(mut kept) = kept.current().and_then(decode) else {
                return Ok(None); // unlinked meanwhile: stays gone
            };
            if hold && kept.position.is_none() {
                kept.position = Some(0);
            }
            kept.seen_ms = kept.seen_ms.max(seen_ms);
            kept.address = address;
            Ok(Some(encode(&kept)))
        };
        if let Err(ko) = self.store.change_setting_unwaited(id, &DEVICE, &key(name), &mut change) {
            // At shutdown the server notes every device online before the
            // store stops; a connection that ends after that lands here.
            log::debug!("devices: when {user}'s device {name} was seen not stored: {}", ko.reason);
        }
    }

    /// Puts `user`'s `device` on record (a login, a link), with its token
    /// if `with_token` (before the token is given out); without, a token
    /// on record stays (a stale cache must not bring back a revoked one).
    pub fn add(&self, user: &str, device: &Device, with_token: bool) -> Result<(), Ko> {
        self.change(user, &device.name, false, |kept| {
            let mut new = device.clone();
            if let Some(kept) = kept {
                if let (Some(k), Some(p)) = (kept.position, new.position) {
                    new.position = Some(k.max(p));
                }
                new.seen_ms = new.seen_ms.max(kept.seen_ms);
                if !with_token {
                    new.token = kept.token;
                }
            } else if !with_token {
                new.token = None;
            }
            Some(new)
        })
    }

    /// Removes `user`'s device `name` (`UNLINK`, or pushed out past
    /// [`MAX_KNOWN`](crate::store::devices::MAX_KNOWN)): its token no longer logs in, on any node.
    pub fn remove(&self, user: &str, name: &str) -> Result<(), Ko> {
        self.change(user, name, true, |_| None)
    }

    /// A new password: the tokens of every device of `user` but `keep`
    /// (none: every one) are revoked, the devices staying on record with
    /// their positions. Returns the devices revoked, as they were (their
    /// tokens included), for [`InLog::restore_tokens`]. Refused: none is
    /// revoked.
    pub fn revoke_tokens(&self, user: &str, keep: Option<&str>) -> Result<Vec<Device>, Ko> {
        let others = |d: &Device| keep.is_none_or(|keep| fold(&d.name) != fold(keep));
        let tokened: Vec<Device> =
            self.load(user).into_iter().filter(|d| d.token.is_some() && others(d)).collect();
        for (i, device) in tokened.iter().enumerate() {
            let revoked =
                self.change(user, &device.name, true, |kept| kept.map(|kept| Device { token: None, ..kept }));
            if let Err(ko) = revoked {
                let _ = self.restore_tokens(user, &tokened[..i]);
                return Err(ko);
            }
        }
        Ok(tokened)
    }

    /// Puts back the tokens that [`InLog::revoke_tokens`] took from
    /// `revoked`, on those still on record without one.
    pub fn restore_tokens(&self, user: &str, revoked: &[Device]) -> Result<(), Ko> {
        for device in revoked.iter().filter(|d| d.token.is_some()) {
            self.change(user, &device.name, true, |kept| {
                kept.map(|kept| Device { token: kept.token.or(device.token), ..kept })
            })?;
        }
        Ok(())
    }
}
