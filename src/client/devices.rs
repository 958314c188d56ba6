//! The requests about this account's devices (protocol 1.2, §16):
//! `DEVICES` (which there are, online or since when), `UNLINK` (log one out
//! for good, a lost laptop) and `LINK` (a one-time code with which a new
//! device links itself without the password: [`super::token`]).

use super::Client;
use super::requests::unexpected;
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::{DeviceLine, Reply, Request};

impl Client {
    /// Your devices, sorted by name, each online or last seen, with the
    /// address it came from.
    pub fn devices(&self) -> Result<Vec<DeviceLine>> {
        let what = tr!(Msg::ReqDevices);
        let lines = self.listing(Request::Devices, &what)?;
        let parse = |line: &String| {
            DeviceLine::parse(line).map_err(|why| Error::Protocol(format!("DEVICES {line:?}: {why}")))
        };
        lines.iter().map(parse).collect()
    }

    /// Logs `device` out for good and revokes its token (`UNLINK`).
    pub fn unlink(&self, device: &str, password: Option<&str>) -> Result<()> {
        crate::protocol::names::check_device(device).map_err(Error::Usage)?;
        let what = tr!(Msg::ReqUnlink, device = device);
        let password = password.map(str::to_string);
        self.expect_ok(Request::Unlink { device: device.to_string(), password }, &what)
    }

    /// A one-time code for linking a new device (`LINK:<password>`: the
    /// password given again, as a session logged in with this device's
    /// token must): valid [`crate::protocol::LINK_CODE_SECS`] seconds, once.
    pub fn link_code(&self, password: &str) -> Result<String> {
        let what = tr!(Msg::ReqLink);
        match self.request(Request::Link { password: Some(password.to_string()) })? {
            Reply::OkWith(code) if crate::protocol::names::check_id(&code).is_ok() => Ok(code),
            Reply::Ko(ko) => Err(Error::Refused { request: what, ko }),
            other => Err(unexpected(&what, &other)),
        }
    }
}
