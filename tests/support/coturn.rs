//! A real coturn (`/usr/bin/turnserver`, Debian's `coturn`) for the call
//! tests, started with docs/CALLS.md's own command line, read from the
//! document: only its ports are changed (to free ones), and the flags a
//! test adds (where it listens; on loopback, the one peer it allows) come
//! after it. So the tests show what the documented set-up does, and a
//! change to the document is a change to what they run.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wachat::server::turn::Turn;
use wachat::server::turn::stun::{Transport, TurnClient};

/// The secret of docs/CALLS.md's line, which the tests keep.
pub const SECRET: &str = "CHANGE-ME";

/// Where a test's coturn listens and relays: loopback, IPv4 and IPv6.
pub const ON_LOOPBACK: [&str; 4] =
    ["--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-ip=::1", "--relay-ip=::1"];

/// What a relayed call between browsers on one machine needs besides:
/// peers on loopback, of which the documented line denies all, and one
/// address allowed back (coturn's allowed list wins over its denied one).
pub const ONE_LOOPBACK_PEER: [&str; 2] = ["--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1"];

pub struct Coturn {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The `turnserver` command of docs/CALLS.md's section on coturn, as
/// arguments (the backslashed lines joined).
pub fn documented_line() -> Vec<String> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CALLS.md")).unwrap();
    let section = &docs[docs.find("### coturn, the TURN server").expect("the coturn section")..];
    let start = section.find("\nturnserver ").expect("the turnserver line") + 1;
    let end = start + section[start..].find("\n```").expect("the end of the block");
    // The block's `PUBLIC_IP=<address>` line, put where the line says `$PUBLIC_IP`.
    let public = section[..start].rsplit_once("\nPUBLIC_IP=").expect("the PUBLIC_IP line").1;
    let public = public.split_whitespace().next().unwrap();
    let words: Vec<String> = section[start..end]
        .replace("\\\n", " ")
        .replace("$PUBLIC_IP", public)
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(words[0], "turnserver");
    words[1..].to_vec()
}

impl Coturn {
    /// The documented coturn, on free ports, with `extra` flags after it.
    pub fn documented(extra: &[&str]) -> Coturn {
        Coturn::start(documented_line(), extra)
    }

    /// A coturn with `line` for its flags (its ports replaced by free
    /// ones), `extra` after it; started when it answers an allocation.
    pub fn start(line: Vec<String>, extra: &[&str]) -> Coturn {
        assert!(
            std::path::Path::new("/usr/bin/turnserver").exists(),
            "/usr/bin/turnserver is missing: install coturn (apt-get install -y coturn), or run .ci/test"
        );
        let free = || UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, low) = (listening_port(), free().min(60000));
        let args: Vec<String> = line
            .into_iter()
            .map(|arg| match arg.split_once('=') {
                Some(("--listening-port", _)) => format!("--listening-port={port}"),
                Some(("--min-port", _)) => format!("--min-port={low}"),
                Some(("--max-port", _)) => format!("--max-port={}", low + 299),
                _ => arg,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("turnserver.log")).unwrap();
        let child = Command::new("/usr/bin/turnserver")
            .args(&args)
            .args(extra)
            .arg(format!("--pidfile={}", dir.path().join("turnserver.pid").display()))
            .arg(format!("--db={}", dir.path().join("turndb").display()))
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver");
        let mut coturn = Coturn { child, port, _dir: dir };
        coturn.wait_until_it_answers();
        coturn
    }

    /// What it logged (the line asks for `--log-file=stdout`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("turnserver.log")).unwrap_or_default()
    }

    /// Waits until coturn has closed every session it allocated a relay
    /// for, and at least one: the relays made and the sessions closed, as
    /// its log counts them (a coturn started with `--verbose`, without which
    /// coturn 4.6 logs neither). Fails if one is still held after 20 s.
    pub fn relays_made_and_freed(&self) -> (usize, usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            let made = log.matches("ALLOCATE processed, success").count();
            let freed = log.matches("closed (2nd stage)").count();
            if made > 0 && freed >= made {
                return (made, freed);
            }
            assert!(
                Instant::now() < deadline,
                "coturn holds relays past the call: {made} made, {freed} closed"
            );
            std::thread::sleep(Duration::from_millis(200)); // polling coturn's log
        }
    }

    /// `turn:127.0.0.1:<port>`, as `wachat serve --turn` names it.
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// wachat's view of it, with the documented secret.
    pub fn turn(&self) -> Turn {
        Turn::new(&self.url(), SECRET).unwrap()
    }

    /// A TURN client of `user`'s, with the credential wachat would hand it.
    pub fn client(&self, user: &str) -> TurnClient {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let credential = self.turn().credentials(user, now);
        TurnClient::new(self.addr(), &credential.username, &credential.password).unwrap()
    }

    /// Polls with an allocation until coturn answers one (it takes a
    /// moment to open its ports).
    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut client = self.client("+ready");
            if let Ok(answer) = client.allocate(false, Transport::Udp) {
                if answer.is_ok() {
                    let _ = client.release();
                }
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("coturn ended ({status}) before it answered on {}:\n{}", self.port, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "coturn did not answer on {} within 10 s; its log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50)); // polling: coturn starts
        }
    }
}

/// A port free for coturn's listeners: UDP and TCP, on 127.0.0.1 and ::1
/// (`ON_LOOPBACK`). Free for UDP is not enough: while the suite runs, the
/// same number is often some TCP connection's own port, and a coturn that
/// cannot open its TCP listener keeps trying, and answers nothing on UDP.
fn listening_port() -> u16 {
    loop {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        let others = (
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)),
            UdpSocket::bind((Ipv6Addr::LOCALHOST, port)),
            TcpListener::bind((Ipv6Addr::LOCALHOST, port)),
        );
        if let (Ok(_), Ok(_), Ok(_)) = others {
            return port;
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
