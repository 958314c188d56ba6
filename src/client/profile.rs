//! Your profile and privacy (protocol 1.2, §30): the requests both
//! consoles make. The server keeps them and tells every device.

use std::path::Path;

use super::Client;
use super::files::upload;
use super::requests::unexpected;
use crate::error::{Error, Result};
use crate::protocol::profile::{PrivacyKey, PrivacyLine, ProfileLine, ProfileRequest};
use crate::protocol::{Reply, Request};

impl Client {
    /// `NAME:<display name>` (empty: none).
    pub fn set_name(&self, name: &str) -> Result<()> {
        self.expect_ok_as_sent(Request::Profile(ProfileRequest::Name(name.to_string())))
    }

    /// Uploads the image at `path` and makes it your photo (`PHOTO:<file
    /// id>`); `None` removes it (`PHOTO:`). The photo's tag, empty for none.
    pub fn set_photo(&self, path: Option<&Path>) -> Result<String> {
        let file = match path {
            Some(path) => Some(upload(&mut |batch: Vec<Request>| self.requests(batch), path)?.0),
            None => None,
        };
        let request = Request::Profile(ProfileRequest::Photo(file));
        let what = request.to_string();
        match self.request(request)? {
            Reply::Ok => Ok(String::new()),
            Reply::OkWith(tag) => Ok(tag),
            Reply::Ko(ko) => Err(Error::Refused { request: what, ko }),
            other => Err(unexpected(&what, &other)),
        }
    }

    /// `PROFILE:<user>`.
    pub fn profile(&self, user: &str) -> Result<ProfileLine> {
        self.ok_with(ProfileRequest::Profile(user.to_string()), ProfileLine::parse)
    }

    /// `PRIVACY` (`None`) or `PRIVACY:<key>:<on|off>`: the privacy now.
    pub fn privacy(&self, change: Option<(PrivacyKey, bool)>) -> Result<PrivacyLine> {
        self.ok_with(ProfileRequest::Privacy(change), PrivacyLine::parse)
    }

    /// The `OK:<line>` `request` is answered, parsed by `parse`.
    fn ok_with<T>(
        &self,
        request: ProfileRequest,
        parse: fn(&str) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let what = request.to_string();
        match self.request(Request::Profile(request))? {
            Reply::OkWith(line) => parse(&line).map_err(|e| Error::Protocol(format!("{what}: {e}"))),
            Reply::Ko(ko) => Err(Error::Refused { request: what, ko }),
            other => Err(unexpected(&what, &other)),
        }
    }
}
