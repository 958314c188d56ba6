//! A server's link key: the key pair that proves, at each link's TLS
//! handshake, that this server is the one the roster names. Made at the
//! first start (or by `wachat roster-line`) in the data directory,
//! `link-key.pem` (mode 0600, it never leaves the directory) and
//! `link-cert.pem` (a self-signed certificate of it); the roster carries
//! the certificate's fingerprint, which is all a classmate learns.
//!
//! Both ends of a link are TLS 1.3 with a certificate each:
//! - the dialer presents its certificate as a client certificate, and
//!   takes the acceptor's only if its fingerprint is the roster's for the
//!   server it dialed ([`LinkKey::dialer`]);
//! - the acceptor requires a client certificate, any self-signed one at
//!   the handshake (so that a wrong one is told why in words, after it),
//!   and once the hello names the server it claims to be, takes the link
//!   only if the certificate's fingerprint is that server's in the
//!   roster (`frames::hello::open`), before any frame is read.
//!
//! rustls checks at the handshake that each end holds the private key of
//! the certificate it shows; the fingerprint says whose key it is. Names
//! and dates in the certificates mean nothing here: the fingerprint is the
//! pin, as SSH's known hosts are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

use crate::error::{Error, Result};

/// The private key's file in the data directory (mode 0600).
pub const KEY_FILE: &str = "link-key.pem";
/// The certificate's file in the data directory.
pub const CERT_FILE: &str = "link-cert.pem";

/// The name a dialer gives TLS for the server it dials: certificates are
/// taken by fingerprint, so the name is only what the handshake carries.
pub const SERVER_NAME: &str = "wachat-link";

/// A server's link key pair, as read from its data directory.
pub struct LinkKey {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// The certificate's fingerprint (see [`fingerprint`]).
    pub fingerprint: String,
}

/// The SHA-256 of a certificate (its DER bytes), as `openssl x509 -noout
/// -fingerprint -sha256 -in link-cert.pem` prints it: `AB:CD:…`, 32
/// bytes. The roster's fingerprint column.
pub fn fingerprint(cert_der: &[u8]) -> String {
    crate::transport::tls::fingerprint(cert_der)
}

/// Whether two fingerprints are the same (case does not count).
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `wachat roster-line`'s flags.
#[derive(clap::Args, Debug)]
pub struct RosterLineArgs {
    /// The server's data directory (its link key is made there if missing).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// The server's name in the network (its --name).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Where its classmates' servers reach its link port: a host name or
    /// an address, and the --link-port.
    #[arg(long, value_name = "HOST:PORT")]
    pub link_addr: String,
}

/// Prints the server's roster line, `name,host,port,fingerprint`, to
/// give the teacher.
pub fn roster_line(args: &RosterLineArgs) -> Result<()> {
    println!("{}", line(args)?);
    Ok(())
}

/// The line `wachat roster-line` prints, checked as the roster reads it.
pub fn line(args: &RosterLineArgs) -> Result<String> {
    let usage = |why: String| Error::Usage(why);
    let (host, port) = args
        .link_addr
        .rsplit_once(':')
        .ok_or_else(|| usage(format!("--link-addr {:?}: HOST:PORT expected", args.link_addr)))?;
    let key = LinkKey::load_or_make(&args.data_dir)?;
    let line = format!("{},{host},{port},{}", args.name, key.fingerprint);
    super::roster::Roster::parse(&line, &args.name).map_err(|e| usage(e.replacen("line 1: ", "", 1)))?;
    Ok(line)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl LinkKey {
    /// The key pair of the data directory `dir`, made there if it has
    /// none (the directory too). A directory with one file of the two is
    /// refused: the other was lost, and a new pair would need a new roster
    /// line.
    pub fn load_or_make(dir: &Path) -> Result<LinkKey> {
        let (key_path, cert_path) = (dir.join(KEY_FILE), dir.join(CERT_FILE));
        match (key_path.exists(), cert_path.exists()) {
            (true, true) => {}
            (false, false) => make(dir, &key_path, &cert_path)?,
            (has_key, _) => {
                let (there, missing) =
                    if has_key { (&key_path, &cert_path) } else { (&cert_path, &key_path) };
                return Err(Error::Usage(format!(
                    "{} is there but {} is missing: put it back, or remove both to make a new link key \
                     (then the roster needs this server's new line: wachat roster-line)",
                    there.display(),
                    missing.display()
                )));
            }
        }
        LinkKey::read(&key_path, &cert_path)
    }

    /// A key pair kept in memory only (`wachat conform federation`'s
    /// impostor: a key that is not the roster's).
    pub fn generate() -> Result<LinkKey> {
        let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
            .map_err(|e| Error::Usage(format!("making a link key: {e}")))?;
        let cert = made.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        Ok(LinkKey { fingerprint: fingerprint(&cert), cert, key })
    }

    fn read(key_path: &Path, cert_path: &Path) -> Result<LinkKey> {
        let unreadable = |path: &PathBuf, e: rustls::pki_types::pem::Error| {
            Error::Usage(format!("{}: not a readable PEM file ({e})", path.display()))
        };
        let cert = CertificateDer::from_pem_file(cert_path).map_err(|e| unreadable(&cert_path.into(), e))?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| unreadable(&key_path.into(), e))?;
        let fingerprint = fingerprint(&cert);
        let pair = LinkKey { cert, key, fingerprint };
        // A key that is not the certificate's would fail every handshake:
        // said now, naming both files.
        pair.acceptor().map_err(|_| {
            Error::Usage(format!("{} is not the key of {}", key_path.display(), cert_path.display()))
        })?;
        Ok(pair)
    }

    /// The acceptor's TLS configuration: this certificate, and a client
    /// certificate required (any, checked against the roster after the
    /// hello).
    pub fn acceptor(&self) -> Result<Arc<ServerConfig>> {
        let verifier = Arc::new(AnyClientKey(provider().signature_verification_algorithms));
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| Error::Usage(format!("TLS: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| Error::Usage(format!("link key: {e}")))?;
        Ok(Arc::new(config))
    }

    /// The dialer's TLS configuration for a server whose roster
    /// fingerprint is `expected`: this certificate as the client's, and
    /// the server's taken only if it has that fingerprint.
    pub fn dialer(&self, expected: &str) -> Result<crate::transport::Tls> {
        let config = pinning(expected)?
            .with_client_auth_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| Error::Usage(format!("link key: {e}")))?;
        Ok(crate::transport::Tls::from_config(Arc::new(config)))
    }
}

/// A client's TLS configuration that takes the server's certificate only
/// if it has the fingerprint `expected`, and shows none of its own: a
/// cluster's node linking to its leader, which said its fingerprint in
/// the replicated state (`cluster::links`).
pub fn pinned(expected: &str) -> Result<crate::transport::Tls> {
    let config = pinning(expected)?.with_no_client_auth();
    Ok(crate::transport::Tls::from_config(Arc::new(config)))
}

/// A client's TLS configuration, up to its own certificate (or none),
/// that takes the server's only with the fingerprint `expected`.
fn pinning(expected: &str) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>> {
    let verifier = Arc::new(PinnedServerKey {
        expected: expected.to_string(),
        algorithms: provider().signature_verification_algorithms,
    });
    Ok(ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Usage(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier))
}

/// Makes a key pair in `dir`: the key first (0600, never replacing a
/// file), then its certificate.
fn make(dir: &Path, key_path: &Path, cert_path: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_string()])
        .map_err(|e| Error::Usage(format!("making a link key: {e}")))?;
    crate::cert::write_new(key_path, made.signing_key.serialize_pem().as_bytes(), 0o600)?;
    crate::cert::write_new(cert_path, made.cert.pem().as_bytes(), 0o644)?;
    log::info!("link key made: {} (its certificate {})", key_path.display(), cert_path.display());
    Ok(())
}

/// The acceptor's check at the handshake: any certificate whose key
/// signed the handshake (whose it is, the hello and the roster say).
#[derive(Debug)]
struct AnyClientKey(WebPkiSupportedAlgorithms);

impl ClientCertVerifier for AnyClientKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The dialer's check at the handshake: the server's certificate has the
/// roster's fingerprint for the server dialed.
#[derive(Debug)]
struct PinnedServerKey {
    expected: String,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if same(&fingerprint(end_entity), &self.expected) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let made = LinkKey::load_or_make(dir.path()).unwrap();
        assert!(super::super::roster::check_fingerprint(&made.fingerprint).is_ok(), "{}", made.fingerprint);
        let again = LinkKey::load_or_make(dir.path()).unwrap();
        assert_eq!(made.fingerprint, again.fingerprint);
        std::fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let e = LinkKey::load_or_make(dir.path()).err().unwrap().to_string();
        assert!(e.contains("is missing"), "{e}");
    }

    #[test]
    fn a_roster_line_is_one_the_roster_reads() {
        let dir = tempfile::tempdir().unwrap();
        let args = |name: &str, at: &str| RosterLineArgs {
            data_dir: dir.path().join("data"),
            name: name.into(),
            link_addr: at.into(),
        };
        let line = line(&args("lab1", "pc-1.local:7001")).unwrap();
        let key = LinkKey::load_or_make(&dir.path().join("data")).unwrap();
        assert_eq!(line, format!("lab1,pc-1.local,7001,{}", key.fingerprint));
        assert!(super::line(&args("lab1", "pc-1.local")).is_err());
        assert!(super::line(&args("lab1", "h:99999")).unwrap_err().to_string().contains("bad port"));
        assert!(super::line(&args("lab 1", "h:1")).unwrap_err().to_string().contains("bad server name"));
    }
}
