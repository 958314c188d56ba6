//! The servers of a federated run (`--federation`, protocol 1.3): three or
//! more servers linked by a roster, each behind a link proxy of chaos's
//! ([`super::links`]) so that chaos can split them, and each one that
//! chaos can kill (`SIGKILL`) and start again.
//!
//! Two ways to have them:
//! - `--federation N`: chaos starts N `wachat serve` of its own (this very
//!   program), `lab1` … `labN`, each on a data directory of a temporary
//!   directory, with a roster it writes; a restart kills one with
//!   `SIGKILL` and starts it again on its data and ports a moment later.
//!   The directory is deleted at the end, or kept (and named) when a
//!   guarantee was violated: the servers' logs are in it.
//! - `--federation FILE`: servers someone else started (a student's), one
//!   CSV line each, `name,host,send_port,recv_port,link_port,proxy_port,restart`:
//!   where its clients and its link port are, the port of this machine
//!   where chaos listens as its proxy (its line of the roster the servers
//!   read names this machine and that port), and a shell command that
//!   kills it and starts it again (empty: never restarted).
//!
//! Whether a server is up, its own or a student's, federated or alone, is
//! asked here too ([`wait_for_servers`]): after a start, after a restart.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::links::{LinkProxy, Splits};
use crate::error::{Error, Result};
use crate::protocol::names::check_name;
use crate::sys::places::TempDir;

/// How long a server of chaos's own may take to listen on its ports.
const START_WAIT: Duration = Duration::from_secs(30);

/// The `--timeout` of chaos's own servers: a link that carries nothing for
/// this long is given up (a silent split is found out after it).
pub const OWN_TIMEOUT_S: u64 = 5;

/// How long a restarted server may take to open its ports again.
pub const PORT_WAIT: Duration = Duration::from_secs(30);

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One server of the federation.
pub struct Site {
    pub name: String,
    /// Its ports for clients.
    pub send: SocketAddr,
    pub recv: SocketAddr,
    /// Where its link port really is (the roster names `proxy.listen`).
    pub link: SocketAddr,
    pub proxy: LinkProxy,
    how: How,
    /// One restart of this server at a time.
    turn: Mutex<()>,
}

enum How {
    /// Chaos's own `wachat serve`: its arguments, and the process now.
    Own { args: Vec<String>, log: PathBuf, child: Mutex<Option<Child>> },
    /// Someone else's: the command that restarts it, if any.
    Command(Option<String>),
}

/// The servers of a run, the splits between them, and (for chaos's own)
/// the directory they live in.
pub struct Network {
    pub members: Vec<Site>,
    pub splits: Arc<Splits>,
    /// `N`, or the file, as `--federation` said it (for the replay line).
    pub given: String,
    /// chaos's own servers' `--give-up`.
    pub give_up: Option<String>,
    dir: Mutex<Option<TempDir>>,
}

impl Network {
    /// `--federation N`: N servers of chaos's own, `lab1` … `labN`.
    pub fn own(n: usize, give_up: &str) -> Result<Network> {
        let dir = TempDir::new("wachat-chaos").map_err(|e| Error::io("chaos: a temporary directory", e))?;
        let splits = Arc::new(Splits::default());
        let names: Vec<String> = (1..=n).map(|k| format!("lab{k}")).collect();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let proxies = names
            .iter()
            .map(|name| LinkProxy::start(name, any, &splits))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| Error::io("chaos: a link proxy", e))?;
        let root = dir.path().to_path_buf();
        let roster = root.join("class.csv");
        // Each server's link key, made in its data directory before it
        // starts, so that the roster carries its fingerprint.
        let mut lines = String::new();
        for (name, p) in names.iter().zip(&proxies) {
            let key = crate::federation::key::LinkKey::load_or_make(&root.join(name))?;
            lines.push_str(&format!("{name},127.0.0.1,{},{}\n", p.listen.port(), key.fingerprint));
        }
        std::fs::write(&roster, lines).map_err(|e| Error::io(format!("writing {}", roster.display()), e))?;
        // Built as the servers start: a failure stops the ones started.
        let mut network = Network {
            members: Vec::new(),
            splits,
            given: n.to_string(),
            give_up: Some(give_up.into()),
            dir: Mutex::new(Some(dir)),
        };
        for (name, proxy) in names.into_iter().zip(proxies) {
            let data = root.join(&name);
            let args = vec![
                "serve".to_string(),
                "--data-dir".into(),
                data.display().to_string(),
                "--host".into(),
                "127.0.0.1".into(),
                "--web-port".into(),
                "off".into(),
                "--name".into(),
                name.clone(),
                "--peers".into(),
                roster.display().to_string(),
                "--give-up".into(),
                give_up.into(),
                "--timeout".into(),
                OWN_TIMEOUT_S.to_string(),
                "--kdf-cost".into(),
                "8".into(),
                "--exempt".into(),
                "127.0.0.1".into(),
            ];
            let log = root.join(format!("{name}.log"));
            let (child, [send, recv, link]) = spawn(&args, ["0", "0", "0"], &log)?;
            proxy.aim(link);
            let how = How::Own { args, log, child: Mutex::new(Some(child)) };
            network.members.push(Site { name, send, recv, link, proxy, how, turn: Mutex::default() });
        }
        Ok(network)
    }

    /// `--federation FILE`: servers someone else runs.
    pub fn from_file(path: &Path) -> Result<Network> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let lines =
            parse(&text).map_err(|e| Error::Usage(format!("--federation {}: {e}", path.display())))?;
        // The proxies listen where the servers dial them: on this machine
        // only, unless a server is on another one.
        let local = lines.iter().all(|l| l.link.ip().is_loopback());
        let host = if local { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        let splits = Arc::new(Splits::default());
        let mut members = Vec::new();
        for l in lines {
            let proxy = LinkProxy::start(&l.name, SocketAddr::new(host, l.proxy_port), &splits)
                .map_err(|e| Error::io("chaos: a link proxy", e))?;
            proxy.aim(l.link);
            let how = How::Command(l.restart);
            let (name, send, recv, link) = (l.name, l.send, l.recv, l.link);
            members.push(Site { name, send, recv, link, proxy, how, turn: Mutex::default() });
        }
        let given = path.display().to_string();
        Ok(Network { members, splits, given, give_up: None, dir: Mutex::default() })
    }

    /// Whether chaos can restart the server number `k`.
    pub fn restartable(&self, k: usize) -> bool {
        self.members.get(k).is_some_and(|m| !matches!(m.how, How::Command(None)))
    }

    /// Kills server `k` (`SIGKILL`) and starts it again on its data and
    /// ports, `down` later (chaos's own), or runs its restart command; then
    /// waits until it listens. What happened, in words.
    pub fn restart(&self, k: usize, down: Duration) -> String {
        let m = &self.members[k];
        let _turn = locked(&m.turn);
        match &m.how {
            How::Command(None) => format!("{} has no restart command", m.name),
            How::Command(Some(cmd)) => {
                let ok = crate::sys::shell::command(cmd).status().is_ok_and(|s| s.success());
                let up = wait_for_servers(&[(m.send, m.recv)]).is_none();
                match (ok, up) {
                    (true, true) => format!("restart {}", m.name),
                    (false, _) => format!("restart {} (the command failed)", m.name),
                    (true, false) => format!("restart {} (no port after it)", m.name),
                }
            }
            How::Own { args, log, child } => {
                if let Some(mut old) = locked(child).take() {
                    let _ = old.kill();
                    let _ = old.wait();
                }
                thread::sleep(down); // the server is down
                let ports = [m.send.port(), m.recv.port(), m.link.port()].map(|p| p.to_string());
                let ports = [ports[0].as_str(), ports[1].as_str(), ports[2].as_str()];
                // Its ports may stay taken for a moment after the kill.
                let mut tries = 0;
                loop {
                    match spawn(args, ports, log) {
                        Ok((new, _)) => {
                            *locked(child) = Some(new);
                            let secs = down.as_secs_f64();
                            return format!("restart {} (kill -9, down {secs:.1} s)", m.name);
                        }
                        Err(e) if tries >= 10 => return format!("restart {} (did not start: {e})", m.name),
                        Err(_) => tries += 1,
                    }
                    thread::sleep(Duration::from_millis(300)); // before trying its ports again
                }
            }
        }
    }

    /// The end of a run: chaos's own servers stopped; their directory
    /// deleted, or, if `keep`, left where it is (its path returned).
    pub fn finish(&self, keep: bool) -> Option<PathBuf> {
        for m in &self.members {
            if let How::Own { child, .. } = &m.how
                && let Some(mut c) = locked(child).take()
            {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let dir = locked(&self.dir).take()?;
        keep.then(|| dir.keep())
    }

    /// How a report names the servers: `lab1 127.0.0.1:6661/9991, …`.
    pub fn describe(&self) -> String {
        let servers: Vec<String> =
            self.members.iter().map(|m| format!("{} {}/{}", m.name, m.send, m.recv.port())).collect();
        format!("federation of {} ({})", self.members.len(), servers.join(", "))
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// Starts `wachat serve` with `args` and the ports (send, receive, link;
/// `0`: any), its log appended to `log`; the process and its addresses.
fn spawn(args: &[String], ports: [&str; 3], log: &Path) -> Result<(Child, [SocketAddr; 3])> {
    let program = std::env::current_exe().map_err(|e| Error::io("chaos: this program's path", e))?;
    let mut child = Command::new(program)
        .args(args)
        .args(["--send-port", ports[0], "--recv-port", ports[1], "--link-port", ports[2]])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("chaos: starting wachat serve", e))?;
    let stderr = child.stderr.take().ok_or_else(|| Error::Protocol("no stderr".into()))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
    let (tx, rx) = crossbeam_channel::unbounded();
    // The server's log, copied to its file until the process ends; the
    // lines that say where it listens, told to the start.
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
            let _ = writeln!(file, "{line}");
            if line.contains("listening: ") {
                let _ = tx.send(line);
            }
        }
    });
    let mut found: [Option<SocketAddr>; 3] = [None; 3];
    let deadline = Instant::now() + START_WAIT;
    while found.iter().any(Option::is_none) {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            return Err(stop(&mut child, log, format!("did not listen within {} s", START_WAIT.as_secs())));
        };
        for (k, word) in ["listening: send ", "listening: receive ", "listening: link "].iter().enumerate() {
            if let Some(rest) = line.split(word).nth(1) {
                match rest.split(' ').next().unwrap_or_default().parse() {
                    Ok(addr) => found[k] = Some(addr),
                    Err(_) => return Err(stop(&mut child, log, format!("said {line:?}"))),
                }
            }
        }
    }
    Ok((child, found.map(|a| a.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))))))
}

/// A server that did not start as it should: stopped, and why, with the
/// end of its log (the directory goes with the error).
fn stop(child: &mut Child, log: &Path, why: String) -> Error {
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Error::Protocol(format!("chaos: wachat serve {why}; its log ends:\n{}", tail.join("\n")))
}

/// A line of a `--federation` file.
#[derive(Debug, PartialEq, Eq)]
struct Declared {
    name: String,
    send: SocketAddr,
    recv: SocketAddr,
    link: SocketAddr,
    proxy_port: u16,
    restart: Option<String>,
}

/// Reads a `--federation` file: one line per server, `#` comments; at
/// least three servers. The error names the line.
fn parse(text: &str) -> std::result::Result<Vec<Declared>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out: Vec<Declared> = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        let at = row.position().map_or(0, |p| p.line());
        if row.len() == 1 && row[0].trim().is_empty() {
            continue;
        }
        if row.len() != 7 {
            return Err(format!(
                "line {at}: expected name,host,send_port,recv_port,link_port,proxy_port,restart, found {} fields",
                row.len()
            ));
        }
        let name = row[0].trim();
        check_name(name).map_err(|e| format!("line {at}: bad server name: {e}"))?;
        if out.iter().any(|l| l.name.eq_ignore_ascii_case(name)) {
            return Err(format!("line {at}: {name} is named twice"));
        }
        let port = |k: usize, what: &str| {
            row[k]
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or(format!("line {at}: bad {what} {:?}", &row[k]))
        };
        let host = row[1].trim();
        let addr = |port: u16| {
            (host, port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(format!("line {at}: no address for {host}"))
        };
        let restart = Some(row[6].trim().to_string()).filter(|r| !r.is_empty());
        out.push(Declared {
            name: name.into(),
            send: addr(port(2, "send_port")?)?,
            recv: addr(port(3, "recv_port")?)?,
            link: addr(port(4, "link_port")?)?,
            proxy_port: port(5, "proxy_port")?,
            restart,
        });
    }
    if out.len() < 3 {
        return Err(format!("{} servers; a federation's chaos needs three or more", out.len()));
    }
    Ok(out)
}

/// Polls until every server accepts on both ports; the first that did
/// not, if any.
pub fn wait_for_servers(servers: &[(SocketAddr, SocketAddr)]) -> Option<(SocketAddr, SocketAddr)> {
    servers.iter().find(|(send, recv)| !wait_for_port(*send) || !wait_for_port(*recv)).copied()
}

/// Polls until the server accepts on `addr` (or [`PORT_WAIT`] passed).
fn wait_for_port(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + PORT_WAIT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(100)); // polling for the restarted server
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_federation_file_names_each_server_and_what_is_wrong() {
        let good = "# name,host,send,recv,link,proxy,restart\n\
            lab1,127.0.0.1,6661,9991,7101,7001,examples/restart_server.sh /tmp/lab1 --name lab1\n\
            lab2,127.0.0.1,6662,9992,7102,7002,\n\
            lab3,localhost,6663,9993,7103,7003,\"sh -c 'kill -9 $(cat /tmp/l3/wachat.lock)'\"\n";
        let lines = parse(good).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].send, "127.0.0.1:6661".parse().unwrap());
        assert_eq!(lines[0].restart.as_deref(), Some("examples/restart_server.sh /tmp/lab1 --name lab1"));
        assert_eq!((lines[1].proxy_port, lines[1].restart.as_deref()), (7002, None));
        assert_eq!(lines[2].restart.as_deref(), Some("sh -c 'kill -9 $(cat /tmp/l3/wachat.lock)'"));
        let bad = |text: &str| parse(text).unwrap_err();
        assert!(bad("lab1,h,1,2,3\n").contains("line 1: expected name,host"));
        assert!(bad("lab 1,127.0.0.1,1,2,3,4,\n").contains("bad server name"));
        assert!(bad("lab1,127.0.0.1,1,2,0,4,\n").contains("bad link_port"));
        assert!(bad("lab1,127.0.0.1,1,2,3,4,\nLAB1,127.0.0.1,1,2,3,4,\n").contains("named twice"));
        assert!(bad("lab1,127.0.0.1,1,2,3,4,\nlab2,127.0.0.1,1,2,3,5,\n").contains("three or more"));
    }
}
