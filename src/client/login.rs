//! Logging in as a device (protocol 1.2), and still with a server that
//! does not know devices.
//!
//! A 1.2 client logs in with `LOGIN:<user>@<device>:<secret>` on both
//! ports ([`super::device`] names the device; the secret is the password
//! or the device's token, [`super::token`]). On the receive port it says
//! `VERSION:1.2` **before** its login, so that the server knows, before
//! it replays the inbox, that this device wants the copies of its own
//! messages and the read marks of the others:
//!
//! ```text
//! client                                  server
//!   VERSION:1.2                  ──▶
//!                                ◀──      OK
//!   LOGIN:ana@lab-3f9c:secret    ──▶
//!                                ◀──      OK:ana, then the replay
//! ```
//!
//! A server older than 1.2 knows neither. On the send port it answers
//! the device login `KO:BAD_REQUEST` (`ana@lab-3f9c` is not a name) and
//! keeps the connection: the client logs in again with `LOGIN:ana:secret`.
//! On the receive port it answers the early `VERSION` `KO:AUTH_REQUIRED`
//! and closes: the client connects again, logs in without a device, and
//! says `VERSION:1.1` and `VERSION:1.2` after the login, as before 1.2
//! (a server ignores a frame it does not know there). Either way the
//! client keeps working, as the one device `default` of its user.

use std::time::Instant;

use super::connection::{Connection, Login};
use super::options::ClientOptions;
use crate::error::{Error, Result};
use crate::protocol::Port;
use crate::protocol::{Code, EventReply, Reply};

/// Connects to `port` of the first server that answers and logs in as the
/// device of `options` (which [`super::Client::connect`] has named);
/// returns the connection and the user's name as registered.
pub fn open(options: &ClientOptions, port: Port) -> Result<(Connection, String)> {
    let (o, trace) = (options, options.trace.clone());
    let mut conn = Connection::open_any(o, port, trace.clone(), &o.preferred)?;
    if port == Port::Receive && !version_first(&mut conn)? {
        // An older server closed the connection: again, the old way.
        let mut conn = Connection::open_any(o, port, trace, &o.preferred)?;
        let name = conn.login(&o.user, &o.password, &Login::Existing)?;
        // Protocol 1.1's and 1.2's events, please (`MEMBER`, `TYPING`); a
        // 1.1 server takes the first, a version-1 server neither.
        for version in [EventReply::Version11, EventReply::Version12] {
            let hello = version.to_string();
            conn.write_frame(&hello, &hello)?;
        }
        return Ok((conn, name));
    }
    let name = as_device(&mut conn, options, &Login::Existing)?;
    Ok((conn, name))
}

/// Logs in (or registers, with `how`) on a connection just opened: as the
/// device of `options` if it names one and the server knows devices;
/// else, after the server's `KO:BAD_REQUEST`, as before 1.2.
pub fn as_device(conn: &mut Connection, options: &ClientOptions, how: &Login) -> Result<String> {
    let (user, secret) = (&options.user, &options.password);
    let Some(device) = options.device.as_deref().filter(|_| matches!(how, Login::Existing)) else {
        // REGISTER and REDEEM name no device: the account is made from the
        // send port, and the receive port logs in as the device.
        return conn.login(user, secret, how);
    };
    match conn.login_device(user, Some(device), secret) {
        Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => {
            log::debug!("LOGIN as a device: {}; a server older than 1.2, logging in without", ko.reason);
            conn.login(user, secret, how)
        }
        other => other,
    }
}

/// Says `VERSION:1.2` before the login; `true` if the server answered `OK`
/// (it knows 1.2), `false` if it refused or closed (an older server).
fn version_first(conn: &mut Connection) -> Result<bool> {
    let hello = EventReply::Version12.to_string();
    conn.write_frame(&hello, &hello)?;
    let deadline = Instant::now() + conn.timeout();
    Ok(match conn.poll_frame(deadline) {
        Ok(Some(line)) => matches!(Reply::parse(&line), Ok(Reply::Ok)),
        // Closed after its KO: an older server too.
        Err(Error::Io { .. }) => false,
        Ok(None) => {
            let silent = std::io::Error::new(std::io::ErrorKind::TimedOut, hello);
            return Err(Error::io(crate::i18n::tr!(crate::i18n::client::Msg::ServerClosed), silent));
        }
        Err(e) => return Err(e),
    })
}
