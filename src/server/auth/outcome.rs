//! What a frame sent before login leads to, apart from the code that
//! decides it.

use std::sync::Arc;

use crate::protocol::Ko;
use crate::store::UserId;
use crate::store::devices::Proof;

/// What a frame sent before login leads to.
pub enum Outcome {
    /// Logged in as this user (registered spelling), by what proof.
    LoggedIn(UserId, Arc<str>, Proof),
    /// Refused; the connection stays open if the code allows it.
    Refused(Ko),
    /// `PAIR` gave this device token (`OK:<token>`); the connection waits
    /// for a `LOGIN`.
    Paired(String),
}
