//! `/devices`, `/unlink <device>` and `/link` (protocol 1.2; `/link` and
//! `/unlink` ask the password first, `console::account`): managing the
//! devices of the account, for both consoles, as [`super::session`] does
//! every other command.

use super::session::{ConsoleSession, Output};
use super::view;
use crate::client::now_ms;
use crate::error::{Error, Result};
use crate::i18n::console::Msg;
use crate::i18n::tr;
use crate::protocol::Code;
use crate::protocol::names::fold;

impl ConsoleSession<'_> {
    /// `/devices`: one line per device, this one marked.
    pub(super) fn devices(&self, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        let devices = match self.client.devices() {
            Ok(devices) => devices,
            // A server older than 1.2 does not know the request.
            Err(Error::Refused { ko, .. }) if ko.code == Code::BadRequest => {
                out.line(Msg::DevicesUnknownServer.text(lang));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let (me, here, now) = (self.client.me(), fold(self.client.device()), now_ms());
        out.line(&tr!(in lang; Msg::DevicesOf, n = devices.len(), user = me));
        for d in &devices {
            let this = if fold(&d.device) == here { Msg::ThisDevice.text(lang) } else { "" };
            let presence = view::presence(lang, d.presence, now);
            out.line(&tr!(in lang; Msg::DeviceLine,
                device = d.device, here = this, presence = presence, address = d.address));
        }
        Ok(())
    }

    /// `/unlink <device>`, its password given; not this one (that is
    /// `/quit`).
    pub(super) fn unlink(&self, device: &str, password: &str, out: &dyn Output) -> Result<()> {
        let lang = self.lang;
        if fold(device) == fold(self.client.device()) {
            return Err(Error::Usage(tr!(in lang; Msg::UnlinkThisDevice, device = device)));
        }
        self.client.unlink(device, Some(password))?;
        out.line(&tr!(in lang; Msg::UnlinkedDevice, device = device));
        Ok(())
    }

    /// `/link`, its password given: the code, how long it is valid, and
    /// what to type with it.
    pub(super) fn link(&self, password: &str, out: &dyn Output) -> Result<()> {
        let code = self.client.link_code(password)?;
        let minutes = crate::protocol::LINK_CODE_SECS / 60;
        out.line(&tr!(in self.lang; Msg::LinkCode, code = code, minutes = minutes, user = self.client.me()));
        Ok(())
    }
}
