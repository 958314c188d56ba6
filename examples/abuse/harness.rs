//! The harness of the attacks: a `wachat serve` of their own (`Server`),
//! raw protocol connections from chosen loopback addresses (`Client`),
//! and the two small sums the figures need.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Result;
pub fn count(replies: &[String], prefix: &str) -> usize {
    replies.iter().filter(|r| r.starts_with(prefix)).count()
}

pub fn median_ms(samples: &[Duration]) -> u128 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2].as_millis()
}

/// A `wachat serve` of its own, on free ports and a temporary directory.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub send: SocketAddr,
    pub recv: SocketAddr,
    /// Log lines with the moment each was read.
    log: Arc<Mutex<Vec<(Instant, String)>>>,
    /// How it was started (for `restart`).
    args: Vec<String>,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    /// With fast password hashing (`--kdf-cost 8`).
    pub fn start(args: &[&str]) -> Result<Server> {
        Server::start_with_cost(args, Some(8))
    }

    /// `cost` None: the default argon2 cost, as deployed.
    pub fn start_with_cost(args: &[&str], cost: Option<u32>) -> Result<Server> {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if let Some(cost) = cost {
            args.extend(["--kdf-cost".to_string(), cost.to_string()]);
        }
        Server::spawn(args, tempfile::tempdir()?)
    }

    /// On a data directory made beforehand (fast password hashing).
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Result<Server> {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["--kdf-cost".to_string(), "8".to_string()]);
        Server::spawn(args, dir)
    }

    /// Stops this server and starts another on the same data directory
    /// (which forgets whose passwords were checked lately).
    pub fn restart(mut self) -> Result<Server> {
        let dir = self.dir.take().ok_or("no data directory")?;
        self.child.kill()?;
        self.child.wait()?;
        Server::spawn(std::mem::take(&mut self.args), dir)
    }

    fn spawn(args: Vec<String>, dir: tempfile::TempDir) -> Result<Server> {
        let bin = match std::env::var_os("WACHAT_BIN") {
            Some(bin) => PathBuf::from(bin),
            None => std::env::current_exe()?
                .parent()
                .and_then(|p| p.parent())
                .ok_or("no target dir")?
                .join("wachat"),
        };
        let mut command = Command::new(&bin);
        command.args(["serve", "--send-port", "0", "--recv-port", "0", "--data-dir"]).arg(dir.path());
        let mut child = command
            .args(&args)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e} (cargo build --release first)", bin.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, addr) = std::sync::mpsc::channel();
        let (stderr, lines) = (child.stderr.take().ok_or("no stderr")?, log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                for port in ["listening: send ", "listening: receive "] {
                    if let Some(addr) = line.split(port).nth(1) {
                        let _ = found.send(addr.trim().to_string());
                    }
                }
                lines.lock().unwrap().push((Instant::now(), line));
            }
        });
        let send = addr.recv_timeout(Duration::from_secs(10))?.parse()?;
        let recv = addr.recv_timeout(Duration::from_secs(10))?.parse()?;
        Ok(Server { pid: child.id(), child, send, recv, log, args, dir: Some(dir) })
    }

    /// When the server first logged a line containing `needle`.
    pub fn logged(&self, needle: &str) -> Option<Instant> {
        self.log.lock().unwrap().iter().find(|(_, line)| line.contains(needle)).map(|(at, _)| *at)
    }

    /// The lines the server logged that contain one of `needles`.
    pub fn lines_matching(&self, needles: &[&str]) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|(_, l)| needles.iter().any(|n| l.contains(n))).map(|(_, l)| l.clone()).collect()
    }

    /// How many lines the server logged that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(_, line)| line.contains(needle)).count()
    }

    /// The web port's address (the server was started with `--web-port`).
    pub fn web(&self) -> Result<SocketAddr> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let line = self.log.lock().unwrap().iter().find_map(|(_, line)| {
                let url = line.split("listening: web ").nth(1)?;
                url.split("://").nth(1)?.split(' ').next().map(str::to_string)
            });
            if let Some(addr) = line {
                return Ok(addr.parse()?);
            }
            if Instant::now() > deadline {
                return Err("no web port (--web-port)".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// CPU time (user + system) the server used so far, from /proc.
    pub fn cpu_ms(&self) -> u64 {
        (wachat::sys::process::cpu_seconds(self.pid).unwrap_or(0.0) * 1000.0) as u64
    }

    /// Bytes of the files in the data directory (log, checkpoints…).
    pub fn data_bytes(&self) -> u64 {
        fn walk(dir: &std::path::Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        self.dir.as_ref().map_or(0, |d| walk(d.path()))
    }

    pub fn rss_kib(&self) -> u64 {
        self.status("VmRSS:")
    }

    pub fn threads(&self) -> u64 {
        self.status("Threads:")
    }

    pub fn client(&self, from: [u8; 4]) -> Result<Client> {
        Client::connect(self.send, from)
    }

    /// A send connection logged in as `user` (password `pw-<user>`).
    pub fn login(&self, user: &str, from: [u8; 4]) -> Result<Client> {
        let mut c = self.client(from)?;
        let reply = c.request(&format!("LOGIN:{user}:pw-{user}"))?;
        if !reply.starts_with("OK:") {
            return Err(reply.into());
        }
        Ok(c)
    }

    /// Registers `user` and returns its logged-in send connection.
    pub fn user(&self, user: &str) -> Result<Client> {
        let mut c = self.client([127, 0, 0, 1])?;
        let reply = c.request(&format!("REGISTER:{user}::pw-{user}"))?;
        if !reply.starts_with("OK:") {
            return Err(reply.into());
        }
        Ok(c)
    }

    /// SIGTERM; how long the server took to exit.
    pub fn terminate(mut self) -> Result<Duration> {
        let started = Instant::now();
        wachat::sys::signals::terminate(&mut self.child)?;
        self.child.wait()?;
        Ok(started.elapsed())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw protocol connection from a chosen loopback address.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(to: SocketAddr, from: [u8; 4]) -> Result<Client> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.bind(&SocketAddr::from((from, 0)).into())?;
        socket.connect(&to.into())?;
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client { reader: BufReader::new(stream.try_clone()?), stream })
    }

    pub fn send(&mut self, frames: &str) -> Result<()> {
        Ok(self.stream.write_all(frames.as_bytes())?)
    }

    pub fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("closed".into());
        }
        Ok(line.trim_end().to_string())
    }

    pub fn request(&mut self, frame: &str) -> Result<String> {
        self.send(&format!("{frame}\n"))?;
        self.line()
    }
}

/// Unused reads would reset a connection at close; drain what is left.
impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(10)));
        let mut sink = [0u8; 4096];
        let _ = self.stream.read(&mut sink);
    }
}
