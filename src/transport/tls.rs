//! TLS configurations, and what their failures mean in words.
//!
//! - The server's: a certificate chain and its private key, from PEM files
//!   (`wachat serve --tls-cert FILE --tls-key FILE`), checked at start: a
//!   missing or unreadable file, a file with no certificate or no key, and
//!   a key that is not the certificate's each stop the server with a
//!   sentence that names the file.
//! - The client's ([`Tls`]): which certificates it trusts — the system's
//!   (`--tls`) or one file (`--ca FILE`, e.g. the one `wachat cert` made
//!   for a class server) — and the name it expects the certificate to
//!   carry (the `--server` it connects to).
//!
//! TLS 1.3 only: every maintained client library speaks it (Python's `ssl`
//! included), and it leaves no weak choice to configure. The cryptography
//! is rustls's `ring` provider, the one this crate builds fastest with.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore, ServerConfig};

use crate::error::{Error, Result};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's TLS configuration from a PEM certificate chain and key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let chain = read_certs(cert, "--tls-cert")?;
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, "--tls-key", e, "a private key"))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Usage(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => Error::Usage(format!(
                "--tls-key {} is not the key of the certificate in --tls-cert {}",
                key.display(),
                cert.display()
            )),
            other => {
                Error::Usage(format!("--tls-cert {} / --tls-key {}: {other}", cert.display(), key.display()))
            }
        })?;
    Ok(Arc::new(config))
}

/// Every certificate of a PEM file (at least one).
fn read_certs(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, flag, e, "a certificate"))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| pem_error(path, flag, e, "a certificate"))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!("{flag} {}: no certificate in it (PEM expected)", path.display())));
    }
    Ok(certs)
}

/// A PEM file that cannot be used, in a sentence naming it.
fn pem_error(path: &Path, flag: &str, e: rustls::pki_types::pem::Error, what: &str) -> Error {
    use rustls::pki_types::pem::Error as Pem;
    match e {
        Pem::Io(e) => Error::io(format!("{flag} {}", path.display()), e),
        Pem::NoItemsFound => {
            Error::Usage(format!("{flag} {}: no {what} in it (PEM expected)", path.display()))
        }
        other => Error::Usage(format!("{flag} {}: not a readable PEM file ({other})", path.display())),
    }
}

/// What a client trusts, for its TLS connections. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// Trusts the certificates the system trusts (`--tls`): a server with
    /// a certificate from a public authority, or from one the system's
    /// administrator installed. `None` if the system trusts none (the
    /// client says what to do about it, in its user's language).
    pub fn system_roots() -> Result<Option<Tls>> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Ok(None);
        }
        Tls::trusting_roots(roots).map(Some)
    }

    /// Trusts the certificates in one PEM file (`--ca FILE`): a class
    /// server's own certificate, as `wachat cert` made it.
    pub fn trusting(ca: &Path) -> Result<Tls> {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(ca, "--ca")? {
            roots.add(cert).map_err(|e| {
                Error::Usage(format!("--ca {}: not a usable certificate ({e})", ca.display()))
            })?;
        }
        Tls::trusting_roots(roots)
    }

    /// Trusts what the system trusts and the certificates of `extra`
    /// (`serve --push-test-ca FILE`, for tests): the server's side of a
    /// push service's HTTPS (`server::push`). With no root at all it still
    /// starts: a push then fails its handshake and is logged.
    pub fn system_and(extra: Option<&Path>, flag: &str) -> Result<Tls> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(extra) = extra {
            for cert in read_certs(extra, flag)? {
                roots.add(cert).map_err(|e| {
                    Error::Usage(format!("{flag} {}: not a usable certificate ({e})", extra.display()))
                })?;
            }
        }
        Tls::trusting_roots(roots)
    }

    /// A configuration made elsewhere: a link's, whose certificates
    /// are pinned by fingerprint (`federation::key`).
    pub fn from_config(config: Arc<ClientConfig>) -> Tls {
        Tls { config }
    }

    fn trusting_roots(roots: RootCertStore) -> Result<Tls> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| Error::Usage(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls { config: Arc::new(config) })
    }

    /// A client connection to `host` (a name or an address, which the
    /// server's certificate must carry).
    pub(crate) fn client(&self, host: &str) -> io::Result<rustls::ClientConnection> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {host:?} is not a host name"))
        })?;
        rustls::ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)
    }
}

/// Why a TLS handshake failed, as far as a person can act on it. The
/// transport knows no words: the client says these in its user's
/// language (`client::tls::explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Signed by nobody the client trusts.
    Untrusted,
    /// Not made for the name the client connected to.
    WrongName,
    Expired,
    /// Another certificate problem (rustls's name for it).
    BadCertificate(String),
    /// The other end does not speak TLS.
    NotTls,
    /// Any other TLS error.
    Other(String),
}

/// The TLS failure inside `e`, if it is one.
pub fn failure(e: &io::Error) -> Option<HandshakeFailure> {
    let tls = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())?;
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => HandshakeFailure::Untrusted,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                HandshakeFailure::WrongName
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => HandshakeFailure::Expired,
            other => HandshakeFailure::BadCertificate(format!("{other:?}")),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateHandshakeMessage { .. } => {
            HandshakeFailure::NotTls
        }
        other => HandshakeFailure::Other(other.to_string()),
    })
}

/// The SHA-256 fingerprint of a certificate, as browsers and `openssl x509
/// -fingerprint -sha256` show it: `AB:CD:…`.
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The first certificate of a PEM file (`flag`'s), DER: a cluster's
/// leader says its fingerprint, and the nodes that link to it pin it.
pub fn first_cert(path: &Path, flag: &str) -> Result<Vec<u8>> {
    Ok(read_certs(path, flag)?.swap_remove(0).to_vec())
}
