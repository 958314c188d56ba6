//! A device's credentials (1.2, docs/PROTOCOL.md §16): the one-time
//! code of `LINK`, traded by `PAIR` for a token; the token a device logs
//! in with afterwards; and their revocation, when the password changes
//! (the user's `PASSWD`, an administrator's `wachat users passwd`) or the
//! account is deleted (`DELACCOUNT`). A code lives in memory only
//! ([`LINK_CODE_SECS`]); a token is written, hashed, on record (the log,
//! `store::devices`) before the client is given it, and a revocation
//! before the client hears `OK`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Devices, LinkCode};
use crate::protocol::codes;
use crate::protocol::{Code, Ko, LINK_CODE_LEN, LINK_CODE_SECS};
use crate::store::devices::{self as book, Device, hash_token};
use crate::store::{UserId, now_ms};

impl Devices {
    /// A new password: the tokens of every device of `name` but `keep`
    /// (none: every one, an administrator's reset) are revoked, on record
    /// before the password is written (`InLog::revoke_tokens`: refused,
    /// none is), the devices staying with their positions. Returns those
    /// devices as they were, tokens included: their sessions are to be
    /// closed once the password is stored, or their tokens put back
    /// ([`Devices::restore_tokens`]) if it cannot be.
    pub fn revoke_tokens(&self, name: &str, keep: Option<&str>) -> Result<Vec<Device>, Ko> {
        self.record.revoke_tokens(name, keep).inspect_err(|ko| {
            log::error!("devices: revoking {name}'s tokens: {}", ko.reason);
        })
    }

    /// Puts back the tokens that [`Devices::revoke_tokens`] took from
    /// `revoked`, on those still on record without one: the new password
    /// could not be stored, and a refused change changes nothing. If this
    /// write fails too, they stay revoked (those devices log in again
    /// with the password, which did not change): logged.
    pub fn restore_tokens(&self, name: &str, revoked: &[Device]) {
        if let Err(ko) = self.record.restore_tokens(name, revoked) {
            log::error!("devices: {name}'s tokens stay revoked: {}", ko.reason);
        }
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
        let (made, dropped) = super::record::put(self.record.load(name), |devices| {
            let made = book::touch(devices, device, address, now_ms(), 0);
            made.token = Some(hash);
            made.clone()
        });
        self.write(name, &made, &dropped, true).inspect_err(|ko| {
            log::error!("devices: writing {name}'s token of {device}: {}", ko.reason);
        })?;
        Ok(token)
    }

    /// True if `secret` is the token of `user`'s `device` on record: one
    /// made by any leader of a cluster counts, one unlinked or revoked
    /// does not.
    pub fn token_matches(&self, user: &str, device: &str, secret: &str) -> bool {
        book::token_matches(&self.record.load(user), device, secret)
    }
}

/// A random code of [`LINK_CODE_LEN`] characters of `codes::ALPHABET`.
fn random_code() -> String {
    codes::random(LINK_CODE_LEN).expect("the OS random generator is available")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::devices::tests::on_a_store;

    #[test]
    fn codes_are_single_use_and_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let (devices, _) = on_a_store(dir.path());
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
    fn a_link_code_typed_in_capitals_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let (devices, _) = on_a_store(dir.path());
        let code = devices.link(1);
        let typed = format!(" {}-{} ", code[..5].to_uppercase(), code[5..].to_uppercase());
        assert!(devices.take_code(1, &typed), "{typed} is {code}");
        devices.stop(&[]);
    }

    #[test]
    fn tokens_are_kept_hashed_and_only_for_their_device() {
        let dir = tempfile::tempdir().unwrap();
        let (devices, store) = on_a_store(dir.path());
        let home: IpAddr = [10, 0, 0, 1].into();
        let token = devices.new_token("ana", "browser", home).unwrap();
        assert_eq!(token.len(), 32);
        assert!(devices.token_matches("Ana", "BROWSER", &token));
        assert!(!devices.token_matches("ana", "laptop", &token));
        devices.stop(&[]);
        drop(devices);
        store.stop();
        drop(store);
        let segments = std::fs::read_dir(dir.path().join("log")).unwrap();
        let log: String =
            segments.map(|segment| std::fs::read_to_string(segment.unwrap().path()).unwrap()).collect();
        assert!(!log.contains(&token), "only its hash is written");
        assert!(log.contains(&hex_of(&hash_token(&token))), "its hash is: {log}");
        let (again, _) = on_a_store(dir.path());
        assert!(again.token_matches("ana", "browser", &token), "through a restart");
        again.stop(&[]);
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
