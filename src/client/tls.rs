//! TLS as the client's user reads it: what `--tls` and `--ca FILE` ask
//! for, and a failed handshake in words (in the user's language). The
//! transport below classifies ([`transport::tls::Failure`]); the words
//! live here, above it, with the client's catalogue.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::transport::Tls;
use crate::transport::tls::{self as transport, Failure};

/// What `--tls` and `--ca FILE` ask of a client: `None` for plaintext,
/// else what to trust (`--ca` implies `--tls`).
pub fn for_client(tls: bool, ca: Option<&Path>) -> Result<Option<Tls>> {
    match (ca, tls) {
        (Some(ca), _) => Ok(Some(Tls::trusting(ca)?)),
        (None, true) => match Tls::system_roots()? {
            Some(tls) => Ok(Some(tls)),
            None => Err(Error::Usage(tr!(Msg::TlsNoSystemRoots))),
        },
        (None, false) => Ok(None),
    }
}

/// A TLS failure said for a person: why the connection was refused and
/// what to check. Other errors come back as they are.
pub fn explain(e: io::Error) -> io::Error {
    let Some(failure) = transport::failure(&e) else { return e };
    let words = match failure {
        Failure::Untrusted => tr!(Msg::TlsUntrusted),
        Failure::WrongName => tr!(Msg::TlsWrongName),
        Failure::Expired => tr!(Msg::TlsExpired),
        Failure::BadCertificate(why) => tr!(Msg::TlsBadCertificate, why = why),
        Failure::NotTls => tr!(Msg::TlsNotTls),
        Failure::Other(why) => tr!(Msg::TlsFailed, why = why),
    };
    io::Error::new(io::ErrorKind::InvalidData, words)
}
