//! `wachat cert`: a self-signed certificate and its key for a class
//! server, so that TLS needs no authority: the server runs with
//! `--tls-cert cert.pem --tls-key key.pem`, and every client trusts
//! exactly that certificate with `--ca cert.pem` (or checks the
//! fingerprint printed here against the one a client shows).
//!
//! The key file is created readable by its owner only (0600) and never
//! overwritten: a new certificate would make every client's `--ca` wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
};

use crate::error::{Error, Result};
use crate::transport::tls::fingerprint;

/// How long a certificate made here is valid, in years from this one.
const VALID_YEARS: i32 = 5;

#[derive(Args, Debug)]
pub struct CertArgs {
    /// A name clients will connect to (`--server`): a host name or an IP
    /// address. Repeat it for several (e.g. the name and the address).
    #[arg(long = "host", value_name = "NAME", required = true)]
    pub hosts: Vec<String>,
    /// Where to write cert.pem and key.pem (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// Makes the certificate and key, writes them, prints where and the
/// certificate's fingerprint.
pub fn run(args: &CertArgs) -> Result<()> {
    let (cert_path, key_path) = (args.out.join("cert.pem"), args.out.join("key.pem"));
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(Error::Usage(format!(
                "{} exists already: a new certificate would make every client's --ca wrong; \
                 remove it first, or choose another --out",
                path.display()
            )));
        }
    }
    let (cert_pem, key_pem, der) = make(&args.hosts)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::io(format!("creating {}", args.out.display()), e))?;
    write_new(&key_path, key_pem.as_bytes(), 0o600)?;
    write_new(&cert_path, cert_pem.as_bytes(), 0o644)?;
    println!("certificate: {}  (give it to clients: --ca {})", cert_path.display(), cert_path.display());
    println!("private key: {}  (the server's only; mode 0600)", key_path.display());
    println!("names: {}", args.hosts.join(", "));
    println!("SHA-256 fingerprint: {}", fingerprint(&der));
    println!(
        "start the server with: wachat serve --tls-cert {} --tls-key {}",
        cert_path.display(),
        key_path.display()
    );
    Ok(())
}

/// A new key pair and a certificate for `hosts` signed by it: the
/// certificate and the key in PEM, and the certificate in DER.
pub fn make(hosts: &[String]) -> Result<(String, String, Vec<u8>)> {
    for host in hosts {
        check_host(host)?;
    }
    let bad = |e: rcgen::Error| Error::Usage(format!("--host {}: {e}", hosts.join(", ")));
    let mut params = CertificateParams::new(hosts.to_vec()).map_err(bad)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, hosts[0].clone());
    name.push(DnType::OrganizationName, "wachat class server");
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let year = this_year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + VALID_YEARS, 1, 1);
    let key = KeyPair::generate().map_err(bad)?;
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok((cert.pem(), key.serialize_pem(), cert.der().to_vec()))
}

/// A name a client can meet the certificate by: what `--server` takes
/// and TLS checks (a DNS name or an IP address, parsed as the client
/// parses it), or `*.` and a DNS name. An empty name, or one with spaces
/// or control characters, would make a certificate that no client
/// accepts, so it is refused here instead.
fn check_host(host: &str) -> Result<()> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    if rustls::pki_types::ServerName::try_from(name).is_ok() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--host {:?}: not a host name or an IP address a client could connect to",
        crate::display::visible(host)
    )))
}

/// The current year (UTC), near enough for a validity period.
fn this_year() -> i32 {
    let secs = crate::store::now_ms() / 1000;
    1970 + (secs / 31_556_952) as i32 // seconds in an average Gregorian year
}

/// Creates `path` with `mode` (never replacing a file) and writes `bytes`.
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use crate::sys::private::Mode;
    let context = || format!("writing {}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(context(), e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io(context(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_certificate_a_server_and_a_client_accept() {
        let (cert, key, der) = make(&["chat.example.org".into(), "127.0.0.1".into()]).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(fingerprint(&der).len(), 32 * 3 - 1);
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, &cert).unwrap();
        std::fs::write(&k, &key).unwrap();
        assert!(crate::transport::tls::server_config(&c, &k).is_ok());
        assert!(crate::transport::Tls::trusting(&c).is_ok());
        // The key of another certificate is refused, naming both files.
        let (_, other_key, _) = make(&["x".into()]).unwrap();
        std::fs::write(&k, other_key).unwrap();
        let e = crate::transport::tls::server_config(&c, &k).unwrap_err().to_string();
        assert!(e.contains("is not the key of the certificate"), "{e}");
    }

    #[test]
    fn refuses_names_no_client_could_connect_to() {
        for host in ["", " ", "chat example", "chat.example.org\n", "ch\u{1b}[2Jat", "a..b", "*."] {
            let e = make(&["127.0.0.1".into(), host.into()]).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{host:?}: {e}");
            assert!(e.to_string().starts_with("--host \""), "{host:?}: {e}");
            assert!(!e.to_string().contains('\u{1b}'), "{e}");
        }
        for host in ["localhost", "chat.example.org", "*.example.org", "::1", "10.0.0.7"] {
            assert!(make(&[host.into()]).is_ok(), "{host}");
        }
    }
}
