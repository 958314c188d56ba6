//! A device's credentials (1.2, docs/PROTOCOL.md §16): the one-time
//! code of `LINK`, traded by `PAIR` for a token; the token a device logs
//! in with afterwards; and their revocation, when the password changes
//! (the user's `PASSWD`, an administrator's `wachat users passwd`) or the
//! account is deleted (`DELACCOUNT`). A code lives in memory only
//! ([`LINK_CODE_SECS`]); a token is written, hashed, to `devices.csv`
//! (and to a cluster's shared record) before the client is given it, and
//! a revocation before the client hears `OK` ([`Devices::commit`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Devices, LinkCode};
use crate::protocol::codes;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, LINK_CODE_LEN, LINK_CODE_SECS};
use crate::store::devices::{self as book, Device, hash_token};
use crate::store::{UserId, now_ms};

impl Devices {
    /// A new password: the tokens of every device of `name` but `keep`
    /// (none: every one, an administrator's reset) are revoked, written
    /// (and on a cluster's shared record) before the password is, the
    /// devices staying on record with their positions. Returns those
    /// devices as they were, tokens included: their sessions are to be
    /// closed once the password is stored, or their tokens put back
    /// ([`Devices::restore_tokens`]) if it cannot be.
    pub fn revoke_tokens(&self, name: &str, keep: Option<&str>) -> Result<Vec<Device>, Ko> {
        if !self.refresh(name) {
            return Err(Ko::store_unavailable());
        }
        let others = |d: &Device| keep.is_none_or(|keep| !d.name.eq_ignore_ascii_case(keep));
        let before: Vec<Device> =
            self.book.lock().devices(name).iter().filter(|d| others(d)).cloned().collect();
        if let Some(shared) = self.shared.get() {
            for device in &before {
                let revoked = Device { token: None, ..device.clone() };
                shared.add(&fold(name), &revoked, true).map_err(|e| {
                    log::error!("devices: revoking {name}'s token of {} in the cluster: {e}", device.name);
                    Ko::store_unavailable()
                })?;
            }
        }
        self.commit(name, true, |devices| {
            for d in devices.iter_mut().filter(|d| others(d)) {
                d.token = None;
            }
        })?;
        Ok(before)
    }

    /// Puts back the tokens that [`Devices::revoke_tokens`] took from
    /// `revoked`, on those still on record without one: the new password
    /// could not be stored, and a refused change changes nothing. If this
    /// write fails too, they stay revoked (those devices log in again
    /// with the password, which did not change): logged.
    pub fn restore_tokens(&self, name: &str, revoked: &[Device]) {
        let had = |d: &Device| book::find(revoked, &d.name).and_then(|r| r.token);
        if let Some(shared) = self.shared.get() {
            for device in revoked.iter().filter(|d| d.token.is_some()) {
                if let Err(e) = shared.add(&fold(name), device, true) {
                    log::error!(
                        "devices: putting back {name}'s token of {} in the cluster: {e}",
                        device.name
                    );
                }
            }
        }
        let restored = self.commit(name, false, |devices| {
            for d in devices.iter_mut().filter(|d| d.token.is_none()) {
                d.token = had(d);
            }
        });
        if let Err(ko) = restored {
            log::error!("devices: {name}'s tokens stay revoked: {}", ko.reason);
        }
    }

    /// `DELACCOUNT`, once the account is deleted: every device of `name`
    /// is forgotten, tokens and positions, here and in a cluster's shared
    /// record; returns their names. Never refused: the account is gone
    /// already. If the book cannot be written now (the disk full past the
    /// spare), memory forgets them at once and the flusher writes the file
    /// once there is room; meanwhile a token of theirs finds no account
    /// (`server::auth`), and a new account of the name forgets them again
    /// before it is made (`auth::forget_deleted`).
    pub fn forget_all(&self, name: &str) -> Vec<Arc<str>> {
        self.refresh(name);
        let gone: Vec<Arc<str>> = self.book.lock().devices(name).iter().map(|d| d.name.clone()).collect();
        if let Some(shared) = self.shared.get() {
            for device in &gone {
                if let Err(e) = shared.remove(&fold(name), device) {
                    log::error!("devices: removing {name}'s device {device} from the cluster: {e}");
                }
            }
        }
        if let Err(ko) = self.commit(name, true, Vec::clear) {
            log::error!(
                "devices: {name}'s devices forgotten in memory, written once there is room: {}",
                ko.reason
            );
            let mut book = self.book.lock();
            book.devices_mut(name).clear();
            book.drop_if_empty(name);
            self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        gone
    }

    /// `LINK`: a new one-time code for `user` (replacing its previous one).
    pub fn link(&self, user: UserId) -> String {
        let code = random_code();
        let mut codes = self.codes.lock();
        let now = Instant::now();
        codes.retain(|_, c| c.expires > now && c.user != user);
        let expires = now + Duration::from_secs(LINK_CODE_SECS);
        codes.insert(code.clone(), LinkCode { user, expires });
        code
    }

    /// Uses up `code` for `user`: true if it was that user's and valid.
    /// Typed in capitals, or with spaces, it is the same code (`codes::normalize`).
    pub fn take_code(&self, user: UserId, code: &str) -> bool {
        let code = codes::normalize(code);
        let mut codes = self.codes.lock();
        match codes.get(&code) {
            Some(c) if c.user == user => {
                let valid = c.expires > Instant::now();
                codes.remove(&code);
                valid
            }
            _ => false,
        }
    }

    /// A token for `user`'s `device` (made if new, seen from `address`),
    /// written before it is given out.
    pub fn new_token(&self, name: &str, device: &str, address: IpAddr) -> Result<String, Ko> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| Ko::new(Code::Internal, format!("no random numbers: {e}")))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hash = hash_token(&token);
        let now = now_ms();
        let make = |devices: &mut Vec<Device>| {
            let made = book::touch(devices, device, address, now, 0);
            made.token = Some(hash);
            made.clone()
        };
        self.refresh(name);
        if let Some(shared) = self.shared.get() {
            let made = make(&mut self.book.lock().devices(name).to_vec());
            shared.add(&fold(name), &made, true).map_err(|e| {
                log::error!("devices: writing {name}'s token to the cluster: {e}");
                Ko::store_unavailable()
            })?;
        }
        self.commit(name, false, make)?;
        Ok(token)
    }

    /// True if `secret` is the token of `user`'s `device`.
    /// In a cluster the shared record is read first: a token made on any
    /// node counts, one unlinked on any node does not; if it cannot be
    /// read, no token logs in (the password still does).
    pub fn token_matches(&self, user: &str, device: &str, secret: &str) -> bool {
        if !self.refresh(user) {
            return false;
        }
        self.book.lock().token_matches(user, device, secret)
    }
}

/// A random code of [`LINK_CODE_LEN`] characters of `codes::ALPHABET`.
fn random_code() -> String {
    codes::random(LINK_CODE_LEN).expect("the OS random generator is available")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::disk::RealDisk;

    #[test]
    fn codes_are_single_use_and_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(Arc::new(RealDisk), dir.path().into(), 5, 30.0).unwrap();
        let code = devices.link(1);
        assert_eq!(code.len(), LINK_CODE_LEN);
        assert!(code.bytes().all(|b| codes::ALPHABET.contains(&b)));
        assert!(!devices.take_code(2, &code), "another user's code");
        assert!(devices.take_code(1, &code));
        assert!(!devices.take_code(1, &code), "used once: used up");
        let code = devices.link(1);
        let newer = devices.link(1);
        assert!(!devices.take_code(1, &code), "replaced by a newer LINK");
        assert!(devices.take_code(1, &newer));
        assert!(!devices.take_code(1, &newer));
        // Five minutes later, a code is refused (and gone).
        let old = devices.link(3);
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap();
        devices.codes.lock().get_mut(&old).unwrap().expires = past;
        assert!(!devices.take_code(3, &old), "expired");
        assert!(devices.codes.lock().is_empty());
        devices.stop(&[]);
    }

    #[test]
    fn item5_a_link_code_typed_in_capitals_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(Arc::new(RealDisk), dir.path().into(), 5, 30.0).unwrap();
        let code = devices.link(1);
        let typed = format!(" {}-{} ", code[..5].to_uppercase(), code[5..].to_uppercase());
        assert!(devices.take_code(1, &typed), "{typed} is {code}");
        devices.stop(&[]);
    }

    #[test]
    fn tokens_are_kept_hashed_and_only_for_their_device() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::start(Arc::new(RealDisk), dir.path().into(), 5, 30.0).unwrap();
        let home: IpAddr = [10, 0, 0, 1].into();
        let token = devices.new_token("ana", "browser", home).unwrap();
        assert_eq!(token.len(), 32);
        assert!(devices.token_matches("Ana", "BROWSER", &token));
        assert!(!devices.token_matches("ana", "laptop", &token));
        devices.stop(&[]);
        let file = std::fs::read_to_string(dir.path().join(crate::store::devices::FILE)).unwrap();
        assert!(!file.contains(&token), "only its hash is written");
        let again = Devices::start(Arc::new(RealDisk), dir.path().into(), 5, 30.0).unwrap();
        assert!(again.token_matches("ana", "browser", &token));
        again.stop(&[]);
    }
}
