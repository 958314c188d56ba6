//! TLS as the client's user reads it: what `--tls` and `--ca FILE` ask
//! for, and a failed handshake in words (in the user's language). The
//! transport below classifies ([`crate::transport::tls::HandshakeFailure`]); the words
//! live here, above it, with the client's catalogue.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::transport::Tls;
use crate::transport::tls::{self as transport, HandshakeFailure};

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
        HandshakeFailure::Untrusted => tr!(Msg::TlsUntrusted),
        HandshakeFailure::WrongName => tr!(Msg::TlsWrongName),
        HandshakeFailure::Expired => tr!(Msg::TlsExpired),
        HandshakeFailure::BadCertificate(why) => tr!(Msg::TlsBadCertificate, why = why),
        HandshakeFailure::NotTls => tr!(Msg::TlsNotTls),
        HandshakeFailure::Other(why) => tr!(Msg::TlsFailed, why = why),
    };
    io::Error::new(io::ErrorKind::InvalidData, words)
}
