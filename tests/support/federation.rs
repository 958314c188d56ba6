//! The class network's test peers (docs/PROTOCOL.md §27): servers started
//! with a roster on a link port of their own, the roster file written by
//! the test from each server's `wachat roster-line`, and the test itself
//! as `lab9`, a peer that links to a real server over TLS with a link key
//! of its own.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wachat::federation::key::LinkKey;
use wachat::transport::{SharedStream, Stream};

use super::TestServer;

/// A link of the test's: TLS over a socket, read through `BufReader<Link>`.
pub type Link = SharedStream;

/// A server of the test's network: its process and its link port.
pub struct Lab {
    pub name: &'static str,
    pub server: TestServer,
    pub link: SocketAddr,
    /// Its data directory (kept across kills).
    pub dir: PathBuf,
}

impl Lab {
    /// This server started again (after a kill) in its data directory, on
    /// its link port, with the roster `roster` and `more` flags.
    pub fn restart(&self, roster: &Path, more: &[&str]) -> Lab {
        start(self.name, &self.dir, roster, self.link.port(), more)
    }
}

/// The link port `server` listens on, as its log says.
pub fn link_port(server: &TestServer) -> SocketAddr {
    let line = server.wait_for_log("listening: link ");
    let addr = line.split("listening: link ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap();
    addr.parse().unwrap()
}

/// Where the test keeps the link key of `name` for the roster `roster`
/// (copied into its data directory as it starts).
pub fn key_dir(roster: &Path, name: &str) -> PathBuf {
    roster.parent().unwrap().join("keys").join(name)
}

/// The roster line of `name` at `127.0.0.1:port`, as `wachat roster-line`
/// prints it (its key made in `key_dir` if missing).
pub fn roster_line(roster: &Path, name: &str, port: u16) -> String {
    let dir = key_dir(roster, name);
    let out = super::run_wachat_output(
        "roster-line",
        &["--data-dir", dir.to_str().unwrap(), "--name", name, "--link-addr", &format!("127.0.0.1:{port}")],
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

/// Copies `name`'s key of the roster's into `dir` if `dir` has none.
pub fn give_key(roster: &Path, name: &str, dir: &Path) {
    let from = key_dir(roster, name);
    for file in ["link-key.pem", "link-cert.pem"] {
        if from.join(file).exists() && !dir.join(file).exists() {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::copy(from.join(file), dir.join(file)).unwrap();
        }
    }
}

/// Starts `name` on `dir` with the roster `roster` (and `more` flags),
/// with `--timeout 4` unless `more` gives one.
pub fn start(name: &'static str, dir: &Path, roster: &Path, link: u16, more: &[&str]) -> Lab {
    give_key(roster, name, dir);
    let port = link.to_string();
    let mut args = vec!["--name", name, "--peers", roster.to_str().unwrap(), "--link-port", &port];
    if !more.contains(&"--timeout") {
        args.extend(["--timeout", "4"]);
    }
    args.extend_from_slice(more);
    let server = TestServer::start_in(dir, &args);
    let link = link_port(&server);
    Lab { name, server, link, dir: dir.to_path_buf() }
}

/// Writes the roster of `labs` (each line as its `wachat roster-line`
/// prints it), plus `extra` lines.
pub fn write_roster(path: &Path, labs: &[(&str, u16)], extra: &str) {
    let mut text: String = labs.iter().map(|(name, port)| roster_line(path, name, *port) + "\n").collect();
    text.push_str(extra);
    std::fs::write(path, text).unwrap();
}

/// The test as `lab9`: its link key, a port of its own (where lab1 dials
/// it), and links to lab1.
pub struct Lab9 {
    pub port: TcpListener,
    pub key: LinkKey,
    /// lab1's fingerprint, as the roster has it.
    pub lab1: String,
}

/// Connects to `to` over TLS with `key`, taking the other end's key only
/// if its fingerprint is `expected`.
pub fn tls_to(to: SocketAddr, key: &LinkKey, expected: &str) -> std::io::Result<Link> {
    tls_on(TcpStream::connect(to)?, key, expected)
}

/// As [`tls_to`], on a socket connected already.
pub fn tls_on(tcp: TcpStream, key: &LinkKey, expected: &str) -> std::io::Result<Link> {
    let tls = key.dialer(expected).unwrap();
    let stream = Stream::connect(tcp, Some(&tls), "wachat-link", Instant::now() + Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(SharedStream(Arc::new(stream)))
}

/// Says `line` on `link` and reads its one-line answer.
pub fn hello_on(link: &Link, line: &str) -> (Link, BufReader<Link>, String) {
    let mut reader = BufReader::new(link.clone());
    writeln!(link.clone(), "{line}").unwrap();
    let mut answer = String::new();
    let _ = reader.read_line(&mut answer);
    (link.clone(), reader, answer.trim_end().to_string())
}

impl Lab9 {
    /// Opens a link to `to` as lab9 with identity `id`; returns the link
    /// and `to`'s answer to the hello.
    pub fn hello(&self, to: SocketAddr, id: &str) -> (Link, BufReader<Link>, String) {
        let link = tls_to(to, &self.key, &self.lab1).unwrap();
        hello_on(&link, &format!("HELLO:1.3:lab9:lab1:-:0000000000000000:{id}"))
    }
}

/// The test as lab9 beside a real lab1 (and `others` in the roster, at
/// no port: they are not started), started with `flags`; the roster's
/// path, for a test that changes it.
pub fn lab9_beside_lab1(root: &Path, others: &[&str], flags: &[&str]) -> (Lab9, Lab, PathBuf) {
    let roster = root.join("class.csv");
    let port = TcpListener::bind("127.0.0.1:0").unwrap();
    let lab9_line = roster_line(&roster, "lab9", port.local_addr().unwrap().port());
    let mut servers = vec![("lab1", 1)];
    servers.extend(others.iter().map(|name| (*name, 1)));
    write_roster(&roster, &servers, &(lab9_line + "\n"));
    let dir = root.join("lab1");
    std::fs::create_dir_all(&dir).unwrap();
    let lab1 = start("lab1", &dir, &roster, 0, flags);
    let key = LinkKey::load_or_make(&key_dir(&roster, "lab9")).unwrap();
    let lab1_print = LinkKey::load_or_make(&dir).unwrap().fingerprint;
    (Lab9 { port, key, lab1: lab1_print }, lab1, roster)
}

/// Sends `frame` on `link` and reads its one-line answer.
pub fn ask(link: &Link, reader: &mut BufReader<Link>, frame: &str) -> String {
    writeln!(link.clone(), "{frame}").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// Starts servers named `names`, each in a directory of `root`, linked by
/// one roster (`root/class.csv`).
pub fn network(root: &Path, names: &[&'static str], more: &[&str]) -> Vec<Lab> {
    let roster = root.join("class.csv");
    // Link ports below the ephemeral range, this test process's for its
    // life: a server killed and started again finds its port still free
    // (an outgoing connection would take one of port 0's range).
    let servers: Vec<(&'static str, u16)> =
        names.iter().map(|name| (*name, super::ports::free_port())).collect();
    write_roster(&roster, &servers, "");
    servers
        .iter()
        .map(|&(name, port)| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            start(name, &dir, &roster, port, more)
        })
        .collect()
}

/// A receive connection that said `VERSION:1.3` before its login.
pub fn events_1_3(server: &TestServer, user: &str) -> super::Conn {
    let mut events = server.recv_conn();
    assert_eq!(events.request("VERSION:1.3"), "OK");
    assert_eq!(events.request(&format!("LOGIN:{user}:pw-{user}")), format!("OK:{user}"));
    events
}

/// lab1, serving the browser app, and lab2, linked, in directories of `root`.
pub fn lab1_with_the_browser_app_and_lab2(root: &Path) -> (Lab, Lab) {
    let roster = root.join("class.csv");
    let servers = [("lab1", super::ports::free_port()), ("lab2", super::ports::free_port())];
    write_roster(&roster, &servers, "");
    let (dir1, dir2) = (root.join("lab1"), root.join("lab2"));
    std::fs::create_dir_all(&dir1).unwrap();
    std::fs::create_dir_all(&dir2).unwrap();
    // A --timeout of 60 s: a browser's steps on a loaded machine may keep
    // a test's raw connections idle longer than the default's 10 s.
    let lab1 = start("lab1", &dir1, &roster, servers[0].1, &["--web-port", "0", "--timeout", "60"]);
    let lab2 = start("lab2", &dir2, &roster, servers[1].1, &["--timeout", "60"]);
    (lab1, lab2)
}
