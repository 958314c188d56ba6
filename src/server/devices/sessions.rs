//! A device's send connections: an unlinked device keeps no
//! session open. `UNLINK` closes every connection of the device, on both
//! ports (on a cluster, the leader holds every session);
//! and `LINK`, the one request that makes a new credential (a code that
//! trades for a permanent token), checks against the record that the
//! asking session's device is still what it was when the session logged
//! in. So a stolen phone unlinked by its owner can neither read on nor
//! link itself a new device, even if its connection outlived the closing
//! (a race).
//!
//! And a token is one device's: a session that logged in with a device's
//! token (not the password) may not make another credential with it.
//! Its `LINK` must give the password again, `LINK:<password>` (1.2),
//! checked within the failed-login limits as `PASSWD`'s; a plain `LINK`
//! is `KO:FORBIDDEN` (the session stays). So a stolen token cannot mint
//! devices that outlive its own unlinking, and every device on record was
//! made by someone who knew the password. A session logged in with the
//! password (`LOGIN:<user>@<device>:<password>`, a browser's password
//! login, "Stay signed in" as it makes its own token) links as before:
//! no frame of a password session changes.

use std::sync::Arc;

use super::Devices;
use crate::protocol::{Code, DEFAULT_DEVICE, Ko};
use crate::server::base::Base;
use crate::store::UserId;
use crate::store::devices::{Proof, Standing};
use crate::transport::Stream;

impl Devices {
    /// A send connection (`id`) logged in as `name`'s `device` (`None`:
    /// `default`), having proved `proof`: it is registered with what its
    /// device is on record as, so that `UNLINK` can close it and `LINK`
    /// can check it.
    pub fn open_session(
        &self,
        base: &Base,
        (user, name): (UserId, &str),
        id: u64,
        (device, proof): (Option<&str>, Proof),
        stream: &Arc<Stream>,
    ) {
        let device = device.unwrap_or(DEFAULT_DEVICE);
        let standing = crate::store::devices::standing(&self.record.load(name), device);
        base.router.sends.add(user, id, (device.into(), standing, proof), stream);
    }

    /// `LINK` from `user`'s send connection `id`: a new code, unless the
    /// connection's device was unlinked (or its token revoked) since it
    /// logged in, refused with `KO:AUTH_FAILED`, which closes the
    /// connection: it is not that device's any more. A session that
    /// logged in with a token must give the password: `check_password`
    /// (`LINK:<password>`) checks it, and without it the answer is
    /// `KO:FORBIDDEN`.
    pub fn link_from(
        &self,
        base: &Base,
        (user, name): (UserId, &str),
        id: u64,
        check_password: Option<impl FnOnce() -> Result<(), Ko>>,
    ) -> Result<String, Ko> {
        let Some((device, then, proof)) = base.router.sends.device(user, id) else {
            return Err(Ko::new(Code::Internal, "this connection is not logged in"));
        };
        let now = crate::store::devices::standing(&self.record.load(name), &device);
        if !still_linked(then, now) {
            log::warn!("{name}: LINK from the unlinked device {device} refused");
            return Err(Ko::new(
                Code::AuthFailed,
                format!("the device {device} was unlinked or its password changed: log in again"),
            ));
        }
        match check_password {
            Some(check) => check()?,
            None if proof == Proof::Token => {
                return Err(Ko::new(
                    Code::Forbidden,
                    format!(
                        "this session logged in with the token of {device}: linking a new device needs your password, LINK:<password>"
                    ),
                ));
            }
            None => {}
        }
        Ok(self.link(user))
    }

    /// `UNLINK:<device>` from the send connection `id`: a session that
    /// logged in with a token unlinks its own device (a browser's log-out),
    /// and another only with the password (`check_password`, from
    /// `UNLINK:<device>:<password>`), as `LINK` needs it: a stolen token
    /// logs its own device in and unlinks nothing of its owner's. Then
    /// [`Devices::unlink`].
    pub fn unlink_from(
        &self,
        base: &Base,
        (user, name): (UserId, &str),
        device: &str,
        id: u64,
        check_password: Option<impl FnOnce() -> Result<(), Ko>>,
    ) -> Result<(), Ko> {
        let Some((mine, _, proof)) = base.router.sends.device(user, id) else {
            return Err(Ko::new(Code::Internal, "this connection is not logged in"));
        };
        match check_password {
            Some(check) => check()?,
            None if proof == Proof::Token && !mine.eq_ignore_ascii_case(device) => {
                return Err(Ko::new(
                    Code::Forbidden,
                    format!(
                        "this session logged in with the token of {mine}: unlinking another device needs your password, UNLINK:{device}:<password>"
                    ),
                ));
            }
            None => {}
        }
        self.unlink(base, (user, name), device, id)
    }
}

/// True if a session whose device was `then` at its login is still that
/// device's with the record at `now`: a device on record then must be on
/// record now with the same token. (A device not on record then, a send
/// connection under a new name, had nothing to unlink; its connections
/// are still closed by `UNLINK`.)
pub fn still_linked(then: Standing, now: Standing) -> bool {
    match then {
        Standing::Unrecorded => true,
        Standing::Recorded(_) => then == now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_of_a_device_unlinked_since_its_login_is_not_linked() {
        let token = Some([7; 32]);
        assert!(still_linked(Standing::Recorded(token), Standing::Recorded(token)));
        assert!(still_linked(Standing::Recorded(None), Standing::Recorded(None)));
        assert!(!still_linked(Standing::Recorded(token), Standing::Unrecorded), "unlinked");
        assert!(!still_linked(Standing::Recorded(None), Standing::Unrecorded), "unlinked");
        assert!(!still_linked(Standing::Recorded(token), Standing::Recorded(None)), "token revoked");
        assert!(!still_linked(Standing::Recorded(token), Standing::Recorded(Some([8; 32]))), "paired again");
        assert!(still_linked(Standing::Unrecorded, Standing::Unrecorded));
    }
}
