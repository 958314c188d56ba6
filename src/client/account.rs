//! The requests about this account itself (protocol 1.2, §20): a new
//! password (`PASSWD`, `PASSWDKEEP`), or the account deleted
//! (`DELACCOUNT`).
//!
//! After a new password, this client logs in with it whenever it
//! reconnects (unless it logs in with its device's token, which the
//! server keeps for the device that asked): the old one no longer works.

use super::Client;
use crate::error::{Error, Result};
use crate::i18n::account::Msg;
use crate::i18n::tr;
use crate::protocol::Request;
use crate::store::password::MIN_CHARS;

impl Client {
    /// Changes this account's password from `old` to `new`; every other
    /// device is logged out and its token revoked, unless `keep`.
    pub fn change_password(&self, old: &str, new: &str, keep: bool) -> Result<()> {
        if old.contains(':') {
            return Err(Error::Usage(tr!(Msg::OldPasswordColon)));
        }
        if new.chars().count() < MIN_CHARS {
            return Err(Error::Usage(tr!(Msg::NewPasswordShort, min = MIN_CHARS)));
        }
        let request = Request::Passwd { old: old.to_string(), new: new.to_string(), keep };
        self.expect_ok(request, &tr!(Msg::ReqPasswd))?;
        if !self.shared.uses_token {
            *self.shared.new_password.lock() = Some(new.to_string());
        }
        Ok(())
    }

    /// True once this client deleted its account (`DELACCOUNT` answered `OK`,
    /// or asked and not refused yet).
    pub fn is_deleted(&self) -> bool {
        self.shared.deleted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Deletes this account for good (`DELACCOUNT`). On the `OK`, this
    /// client stops reconnecting and forgets its device's token; the
    /// server closes both connections.
    pub fn delete_account(&self, password: &str) -> Result<()> {
        let request = Request::DelAccount { password: password.to_string() };
        self.shared.deleted.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = self.expect_ok(request, &tr!(Msg::ReqDelete)) {
            self.shared.deleted.store(false, std::sync::atomic::Ordering::Relaxed);
            return Err(e);
        }
        self.shared.link.replaced();
        super::token::forget(&self.shared.folder.lock().dir);
        Ok(())
    }
}
