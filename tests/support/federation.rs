//! The class network's test peers (docs/PROTOCOL.md §27): servers started
//! with a roster on a link port of their own, the roster file written by
//! the test, and the test itself as `lab9`, a peer that links to a real
//! server over a plain socket and answers its dialbacks.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::TestServer;

/// A server of the test's network: its process and its link port.
pub struct Lab {
    pub name: &'static str,
    pub server: TestServer,
    pub link: SocketAddr,
    /// Its data directory (kept across kills).
    pub dir: PathBuf,
}

/// The link port `server` listens on, as its log says.
pub fn link_port(server: &TestServer) -> SocketAddr {
    let line = server.wait_for_log("listening: link ");
    let addr = line.split("listening: link ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap();
    addr.parse().unwrap()
}

/// Starts `name` on `dir` with the roster `roster` (and `more` flags),
/// with `--timeout 4` unless `more` gives one.
pub fn start(name: &'static str, dir: &Path, roster: &Path, link: u16, more: &[&str]) -> Lab {
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

/// Writes the roster of `labs` (secret `s-<name>`), plus `extra` lines.
pub fn write_roster(path: &Path, labs: &[(&str, u16)], extra: &str) {
    let mut text: String =
        labs.iter().map(|(name, port)| format!("{name},127.0.0.1,{port},s-{name}\n")).collect();
    text.push_str(extra);
    std::fs::write(path, text).unwrap();
}

/// The test as `lab9`: a link port of its own that answers lab1's
/// dialback for the keys it sent, and a link to lab1.
pub struct Lab9 {
    pub vouch: TcpListener,
}

impl Lab9 {
    /// Opens a link to `to` with `key` and identity `id`, answering the
    /// dialback; returns the link and `to`'s answer to the hello.
    pub fn hello(
        &self,
        to: SocketAddr,
        secret: &str,
        key: &str,
        id: &str,
    ) -> (TcpStream, BufReader<TcpStream>, String) {
        self.hello_as(to, (secret, secret.starts_with("s-lab9")), key, id)
    }

    /// As [`Lab9::hello`]; `vouches`: lab1 calls back (the secret is right).
    pub fn hello_as(
        &self,
        to: SocketAddr,
        (secret, vouches): (&str, bool),
        key: &str,
        id: &str,
    ) -> (TcpStream, BufReader<TcpStream>, String) {
        let link = TcpStream::connect(to).unwrap();
        link.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(link.try_clone().unwrap());
        writeln!(&link, "HELLO:1.3:lab9:lab1:{secret}:{key}:{id}").unwrap();
        if vouches {
            self.answer_dialback(key);
        }
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        (link, reader, answer.trim_end().to_string())
    }

    /// Answers lab1's `VERIFY` of `key` with `OK`. lab1 may be dialling
    /// lab9 at the same moment for a link of its own (a user of lab1 is
    /// in a room of lab9's): such a link is closed unanswered, and lab1
    /// dials again later.
    pub fn answer_dialback(&self, key: &str) {
        loop {
            let (vouch, _) = self.vouch.accept().unwrap();
            vouch.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut line = String::new();
            BufReader::new(vouch.try_clone().unwrap()).read_line(&mut line).unwrap();
            if !line.starts_with("HELLO:") {
                assert_eq!(line.trim_end(), format!("VERIFY:lab1:lab9:{key}"));
                writeln!(&vouch, "OK").unwrap();
                return;
            }
        }
    }
}

/// The test as lab9 beside a real lab1 (and `others` in the roster, at
/// no port: they are not started), started with `flags`; the roster's
/// path, for a test that changes it.
pub fn lab9_beside_lab1(root: &Path, others: &[&str], flags: &[&str]) -> (Lab9, Lab, PathBuf) {
    let roster = root.join("class.csv");
    let lab9 = Lab9 { vouch: TcpListener::bind("127.0.0.1:0").unwrap() };
    let lab9_line = format!("lab9,127.0.0.1,{},s-lab9\n", lab9.vouch.local_addr().unwrap().port());
    let mut servers = vec![("lab1", 1)];
    servers.extend(others.iter().map(|name| (*name, 1)));
    write_roster(&roster, &servers, &lab9_line);
    let dir = root.join("lab1");
    std::fs::create_dir_all(&dir).unwrap();
    let lab1 = start("lab1", &dir, &roster, 0, flags);
    (lab9, lab1, roster)
}

/// Sends `frame` on `link` and reads its one-line answer.
pub fn ask(link: &TcpStream, reader: &mut BufReader<TcpStream>, frame: &str) -> String {
    writeln!(&*link, "{frame}").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}
