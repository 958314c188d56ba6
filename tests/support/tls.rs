//! Test support for TLS: a certificate made by `wachat cert` itself (so
//! every TLS test also checks that its output works with `--ca`), and raw
//! protocol connections over TLS with the client's own transport.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use wachat::transport::{SharedStream, Stream, Tls};

use super::{Conn, READ_TIMEOUT, TestServer, wachat_bin};

/// A certificate and key from `wachat cert`, in a temporary directory.
pub struct Certs {
    dir: tempfile::TempDir,
    /// What `wachat cert` printed.
    pub printed: String,
}

impl Certs {
    /// `wachat cert --host <each of hosts> --out <a new directory>`.
    pub fn make(hosts: &[&str]) -> Certs {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(wachat_bin());
        command.arg("cert").arg("--out").arg(dir.path());
        for host in hosts {
            command.args(["--host", host]);
        }
        let out = command.output().expect("run wachat cert");
        assert!(out.status.success(), "wachat cert: {}", String::from_utf8_lossy(&out.stderr));
        Certs { dir, printed: String::from_utf8(out.stdout).unwrap() }
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The certificate, as clients give it to `--ca`.
    pub fn ca(&self) -> &str {
        leak(self.cert_path())
    }

    /// `--tls-cert … --tls-key …` for `wachat serve`.
    pub fn serve_args(&self) -> Vec<&str> {
        vec!["--tls-cert", leak(self.cert_path()), "--tls-key", leak(self.key_path())]
    }

    /// What a client trusting this certificate uses.
    pub fn trust(&self) -> Tls {
        Tls::trusting(Path::new(self.ca())).expect("a usable certificate")
    }
}

/// A path as a `&'static str`, for argument lists (a few bytes per test).
fn leak(path: PathBuf) -> &'static str {
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}

/// A raw protocol connection over TLS to `addr`, checking the certificate
/// against `host`; the TLS error if the handshake fails.
pub fn try_connect(addr: SocketAddr, tls: &Tls, host: &str) -> std::io::Result<Conn> {
    let tcp = TcpStream::connect(addr)?;
    let stream = Stream::connect(tcp.try_clone()?, Some(tls), host, Instant::now() + READ_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let shared = SharedStream(Arc::new(stream));
    Ok(Conn::over(tcp, Box::new(shared.clone()), Box::new(shared)))
}

/// [`try_connect`] to 127.0.0.1, which must succeed.
pub fn connect(addr: SocketAddr, certs: &Certs) -> Conn {
    try_connect(addr, &certs.trust(), "127.0.0.1").expect("a TLS connection")
}

/// Registers users over TLS, each with the password `pw-<name>`.
pub fn register(server: &TestServer, certs: &Certs, users: &[&str]) {
    for user in users {
        let mut c = connect(server.send, certs);
        assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
    }
}

/// A send connection over TLS logged in as `user` (registered first if new).
pub fn login_send(server: &TestServer, certs: &Certs, user: &str) -> Conn {
    login(server.send, certs, user)
}

/// A receive connection over TLS logged in as `user`.
pub fn login_recv(server: &TestServer, certs: &Certs, user: &str) -> Conn {
    login(server.recv, certs, user)
}

fn login(addr: SocketAddr, certs: &Certs, user: &str) -> Conn {
    let mut c = connect(addr, certs);
    let reply = c.request(&format!("LOGIN:{user}:pw-{user}"));
    if reply == format!("OK:{user}") {
        return c;
    }
    let mut c = connect(addr, certs);
    assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"), "after {reply}");
    c
}
