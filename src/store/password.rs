//! Password hashing: argon2id with a random salt, stored as a PHC string
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), which carries its own
//! parameters, so changing `--kdf-cost` never breaks existing accounts.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB by default: argon2's own default and OWASP's first
/// recommendation for argon2id (19 MiB, 2 passes).
pub const DEFAULT_KDF_COST: u32 = 19 * 1024;

/// Hashes passwords with a chosen memory cost.
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    /// A hash of a random password, checked when a login names an unknown
    /// user, so that the answer takes as long as for a wrong password and
    /// does not reveal which accounts exist.
    dummy: String,
}

impl Hasher {
    /// `kdf_cost` is argon2's memory cost in KiB (at least 8).
    pub fn new(kdf_cost: u32) -> Result<Hasher, String> {
        let params = Params::new(kdf_cost, Params::DEFAULT_T_COST, 1, None)
            .map_err(|e| format!("bad --kdf-cost {kdf_cost}: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"no account has this password")
            .map_err(|e| format!("password hashing: {e}"))?
            .to_string();
        Ok(Hasher { argon2, dummy })
    }

    /// A new salted hash of `password`.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("password hashing: {e}"))
    }

    /// True if `password` matches `hash`. `None` (unknown user) checks the
    /// dummy hash and returns false, taking the same time.
    pub fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        // A hash that does not parse (a disabled account: `!$argon2id…`)
        // also costs one real verification, so it cannot be told apart by
        // how fast the answer comes.
        let parsed = hash.and_then(|h| PasswordHash::new(h).ok());
        let known = parsed.is_some();
        let parsed = parsed.unwrap_or_else(|| PasswordHash::new(&self.dummy).expect("our own hash parses"));
        let ok = self.argon2.verify_password(password.as_bytes(), &parsed).is_ok();
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let hasher = Hasher::new(8).unwrap();
        let a = hasher.hash("secret").unwrap();
        let b = hasher.hash("secret").unwrap();
        assert_ne!(a, b, "two hashes of one password differ (salt)");
        assert!(a.starts_with("$argon2id$"));
        assert!(!a.contains("secret"));
        assert!(hasher.verify(Some(&a), "secret"));
        assert!(!hasher.verify(Some(&a), "Secret"));
        assert!(!hasher.verify(None, "no account has this password"));
        // A hash made with other parameters still verifies.
        assert!(Hasher::new(16).unwrap().verify(Some(&a), "secret"));
    }
}
