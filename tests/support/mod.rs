//! Test support: a real `wachat serve` process on port 0 (or, when the
//! test starts it again at the same address, on ports of its own) with its
//! own temporary data directory, and a line-oriented client that speaks raw
//! protocol frames with a timeout on every read.

#![allow(dead_code)] // each test file uses a different part of this

pub mod addresses;
pub mod browser;
pub mod chaos;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod console;
pub mod coturn;
pub mod examples;
pub mod fake_telegram;
pub mod federation;
pub mod files;
pub mod group_call;
pub mod json_lines;
pub mod metrics;
pub mod minimal;
pub mod old_data;
pub mod paging;
pub mod png;
pub mod ports;
pub mod prefs;
pub mod proxy;
pub mod pty;
pub mod push_service;
pub mod tiny;
pub mod tls;
pub mod webapp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any read in a test may wait before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits for a server it starts to listen: a cluster's
/// node connects to PostgreSQL and catches up first, which on a
/// loaded machine takes longer than a read (a node that fails to start
/// exits at once, and the test with it).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a test waits for an event that is not a `PING`: a few read
/// timeouts, for a server that pings while the event is on its way.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The idle timeout of a test's server (`--timeout`), unless the test
/// gives one.
pub const TEST_TIMEOUT_SECS: &str = "60";

/// Path of the binary under test.
pub fn wachat_bin() -> &'static str {
    env!("CARGO_BIN_EXE_wachat")
}

/// The arguments of `wachat serve` for a test server.
fn serve_args(data_dir: &Path, send_port: u16, recv_port: u16, args: &[&str]) -> Vec<std::ffi::OsString> {
    let mut all: Vec<std::ffi::OsString> = ["serve", "--send-port", &send_port.to_string()]
        .iter()
        .chain(&["--recv-port", &recv_port.to_string(), "--data-dir"])
        .map(|s| s.into())
        .collect();
    all.push(data_dir.into());
    // Fast password hashing, unless the test hashes as a real server does.
    if !args.contains(&"--kdf-cost") {
        all.extend(["--kdf-cost".into(), "8".into()]);
    }
    // Never the default web port (8080): servers of parallel tests would
    // race for it. A test that wants the web port passes --web-port 0.
    if !args.iter().any(|a| a.starts_with("--web-port")) {
        all.extend(["--web-port".into(), "off".into()]);
    }
    // A test's raw connections answer no PING and may sit silent while the
    // test does something slow, which on a busy machine (tests in
    // parallel, a load of 20) took longer than the default 10 s: the
    // server dropped them and the test failed for nothing it checks. A
    // test about the timeout gives its own --timeout.
    if !args.iter().any(|a| a.starts_with("--timeout")) {
        all.extend(["--timeout".into(), TEST_TIMEOUT_SECS.into()]);
    }
    all.extend(args.iter().map(|s| s.into()));
    all
}

/// Fails unless `port` is this process's, as a server started again at
/// its address needs ([`TestServer::start_restartable`] says why).
fn assert_mine(port: u16) {
    assert!(
        ports::is_mine(port),
        "port {port} is not this test's own (the kernel's, from port 0?): start a server that is \
         started again at its address with TestServer::start_restartable"
    );
}

/// A small xorshift generator: random moments (a kill, a power cut) that
/// a printed seed reproduces, without a dependency.
pub struct Random(pub u64);

impl Random {
    /// A number in `0..n` (`0` for `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A running `wachat serve`.
pub struct TestServer {
    child: Child,
    pub send: SocketAddr,
    pub recv: SocketAddr,
    /// The web port's address, when the test asked for one (`--web-port 0`).
    pub web: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// Every line the server logged so far.
    log: Arc<Mutex<Vec<String>>>,
    /// Keeps the temporary directory alive (None when the caller owns it).
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server of another build (`bin`, a `wachat` binary) with a fresh
    /// data directory: what a test of an upgrade makes its data with.
    pub fn start_bin(bin: &str, args: &[&str]) -> TestServer {
        Self::in_temp_dir(|dir| {
            let mut command = Command::new(bin);
            command.args(serve_args(dir, 0, 0, args));
            Self::spawn(command, dir)
        })
    }

    /// The server `start` starts on a fresh temporary data directory,
    /// which lives as long as the server.
    fn in_temp_dir(start: impl FnOnce(&Path) -> TestServer) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = start(dir.path());
        server._dir = Some(dir);
        server
    }

    /// A server with a fresh data directory and fast password hashing.
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> TestServer {
        Self::in_temp_dir(|dir| Self::start_in(dir, args))
    }

    /// A server on an existing data directory (for restarts).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> TestServer {
        Self::start_serve(data_dir, 0, 0, args)
    }

    /// A server that the test kills and starts again at the same address
    /// ([`TestServer::restart_in_place`]), with a fresh data directory.
    ///
    /// Its send and receive ports, and its web port when `args` ask for
    /// one (`--web-port 0`), come from [`ports::free_port`], not from the
    /// kernel (port 0). A port the kernel picks is of its ephemeral range,
    /// where the port-0 binds and the outgoing connections of the test
    /// processes running beside this one land: while the server is down,
    /// one of them may take its port, and the server's start again fails
    /// to bind. A port of `free_port` is below that range, and this
    /// process's for as long as it lives. Every other server listens on
    /// port 0.
    pub fn start_restartable(args: &[&str]) -> TestServer {
        Self::in_temp_dir(|dir| Self::start_restartable_in(dir, args))
    }

    /// [`TestServer::start_restartable`] on an existing data directory.
    pub fn start_restartable_in(data_dir: &Path, args: &[&str]) -> TestServer {
        let web: String;
        let mut args = args.to_vec();
        if let Some(at) = args.windows(2).position(|pair| pair == ["--web-port", "0"]) {
            web = ports::free_port().to_string();
            args[at + 1] = &web;
        }
        Self::start_on(data_dir, ports::free_port(), ports::free_port(), &args)
    }

    /// A server on an existing data directory and given ports (and the
    /// web port `args` give, if any), which must be this process's
    /// ([`TestServer::start_restartable`] says why): the address of a
    /// server that ran before it, or ports the test chose with
    /// [`ports::free_port`].
    pub fn start_on(data_dir: &Path, send_port: u16, recv_port: u16, args: &[&str]) -> TestServer {
        let web = args.windows(2).find(|pair| pair[0] == "--web-port").and_then(|pair| pair[1].parse().ok());
        [send_port, recv_port].into_iter().chain(web.filter(|&port| port != 0)).for_each(assert_mine);
        Self::start_serve(data_dir, send_port, recv_port, args)
    }

    fn start_serve(data_dir: &Path, send_port: u16, recv_port: u16, args: &[&str]) -> TestServer {
        let mut command = Command::new(wachat_bin());
        command.args(serve_args(data_dir, send_port, recv_port, args));
        Self::spawn(command, data_dir)
    }

    /// A server run as the user `uid` (group `gid`) on an existing data
    /// directory, as a packaged server runs as its own user: started
    /// through `setpriv`, which becomes that user and then is the server
    /// (no process in between to pass signals on). Every folder above
    /// `data_dir` must let that user through.
    pub fn start_as(uid: u32, gid: u32, data_dir: &Path, args: &[&str]) -> TestServer {
        let mut command = Command::new("setpriv");
        let (uid, gid) = (uid.to_string(), gid.to_string());
        command.args(["--reuid", &uid, "--regid", &gid, "--clear-groups", "--", wachat_bin()]);
        command.args(serve_args(data_dir, 0, 0, args));
        Self::spawn(command, data_dir)
    }

    /// A server whose files may not grow past `max_file_bytes` (`ulimit -f`):
    /// a disk that fills up.
    pub fn start_with_file_limit(data_dir: &Path, max_file_bytes: u64, args: &[&str]) -> TestServer {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -f {} && exec \"$0\" \"$@\"", max_file_bytes / 512))
            .arg(wachat_bin())
            .args(serve_args(data_dir, 0, 0, args));
        Self::spawn(command, data_dir)
    }

    /// A server logging at `level` (`RUST_LOG`), on a fresh data directory.
    pub fn start_logging(level: &str, args: &[&str]) -> TestServer {
        Self::in_temp_dir(|dir| {
            let mut command = Command::new(wachat_bin());
            command.args(serve_args(dir, 0, 0, args)).env("RUST_LOG", level);
            Self::spawn(command, dir)
        })
    }

    /// A server started with `RUST_LOG` set to `level`, or unset (`None`),
    /// on a fresh data directory and ports of [`ports::free_port`]. Below
    /// `info` the server says nothing when it starts, not even where it
    /// listens: it is up when both its ports accept a connection, and a
    /// server that exits instead fails the test with its status and log.
    pub fn start_with_rust_log(level: Option<&str>, args: &[&str]) -> TestServer {
        Self::in_temp_dir(|dir| {
            let (send_port, recv_port) = (ports::free_port(), ports::free_port());
            let mut command = Command::new(wachat_bin());
            command.args(serve_args(dir, send_port, recv_port, args));
            match level {
                Some(level) => command.env("RUST_LOG", level),
                None => command.env_remove("RUST_LOG"),
            };
            let (mut child, log, _) = Self::spawn_child(&mut command);
            let [send, recv] = [send_port, recv_port].map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
            let deadline = Instant::now() + START_TIMEOUT;
            while TcpStream::connect(send).is_err() || TcpStream::connect(recv).is_err() {
                if let Some(status) = child.try_wait().expect("wait") {
                    panic!(
                        "RUST_LOG={level:?}: the server exited ({status}) instead of serving: {:?}",
                        log.lock().unwrap()
                    );
                }
                assert!(Instant::now() < deadline, "RUST_LOG={level:?}: the server did not listen");
                std::thread::sleep(Duration::from_millis(20));
            }
            TestServer { child, send, recv, web: None, data_dir: dir.to_path_buf(), log, _dir: None }
        })
    }

    /// Starts `command` (a `wachat serve`) with its log read into a list
    /// and, line by line, a channel.
    fn spawn_child(
        command: &mut Command,
    ) -> (Child, Arc<Mutex<Vec<String>>>, std::sync::mpsc::Receiver<String>) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wachat serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let log_writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                log_writer.lock().unwrap().push(line);
            }
        });
        (child, log, rx)
    }

    /// Starts the server and reads where it listens from its log: the
    /// `listening:` lines a server writes at its default level (`info`).
    /// Unless the test set a level, the server runs as its users start it,
    /// with no `RUST_LOG` (not even one the test runner was given).
    fn spawn(mut command: Command, data_dir: &Path) -> TestServer {
        if !command.get_envs().any(|(key, _)| key == "RUST_LOG") {
            command.env_remove("RUST_LOG");
        }
        let (mut child, log, rx) = Self::spawn_child(&mut command);
        let (mut send, mut recv, mut web) = (None, None, None);
        let wants_web =
            command.get_args().any(|a| a == "--web-port") && !command.get_args().any(|a| a == "off");
        let deadline = Instant::now() + START_TIMEOUT;
        while send.is_none() || recv.is_none() || (wants_web && web.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("server did not start: {:?}", log.lock().unwrap());
                }
            };
            if let Some(addr) = line.split("listening: send ").nth(1) {
                send = Some(addr.trim().parse().unwrap());
            }
            if let Some(addr) = line.split("listening: receive ").nth(1) {
                recv = Some(addr.trim().parse().unwrap());
            }
            if let Some(url) = line.split("listening: web ").nth(1) {
                let addr = url.split("://").nth(1).and_then(|rest| rest.split(' ').next());
                web = Some(addr.unwrap().parse().unwrap());
            }
        }
        TestServer {
            child,
            send: send.unwrap(),
            recv: recv.unwrap(),
            web,
            data_dir: data_dir.to_path_buf(),
            log,
            _dir: None,
        }
    }

    /// The server's process id (to read `/proc/<pid>`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (a crash) and waits for it to die.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the server process still runs (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        unsafe_kill(self.child.id(), "TERM");
        wait_with_timeout(&mut self.child, READ_TIMEOUT)
    }

    /// Stops the server (SIGKILL) and starts a new one on the same data.
    pub fn restart(&mut self, args: &[&str]) {
        self.kill();
        let dir = self._dir.take();
        let new = Self::start_in(&self.data_dir.clone(), args);
        let old = std::mem::replace(self, new);
        self._dir = dir;
        drop(old);
    }

    /// Kills the server and starts a new one on the same data directory
    /// and the same ports, its web port too if it has one: what clients
    /// see when a server is restarted. The server must have been started
    /// with [`TestServer::start_restartable`].
    pub fn restart_in_place(&mut self, args: &[&str]) {
        assert!(!args.contains(&"--web-port"), "restart_in_place keeps the server's web port: {args:?}");
        let web = self.web.map(|addr| addr.port().to_string());
        let mut args = args.to_vec();
        if let Some(port) = &web {
            args.extend(["--web-port", port]);
        }
        self.kill();
        let dir = self._dir.take();
        let new = Self::start_on(&self.data_dir.clone(), self.send.port(), self.recv.port(), &args);
        let old = std::mem::replace(self, new);
        self._dir = dir;
        drop(old);
    }

    /// All log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the server logs a line containing `needle`; returns it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            if let Some(line) = self.log().into_iter().find(|line| line.contains(needle)) {
                return line;
            }
            assert!(Instant::now() < deadline, "no log line with {needle:?} in {:?}", self.log());
            std::thread::sleep(Duration::from_millis(20)); // polling the log
        }
    }

    pub fn send_conn(&self) -> Conn {
        Conn::connect(self.send)
    }

    pub fn recv_conn(&self) -> Conn {
        Conn::connect(self.recv)
    }

    /// A send connection logged in as `user`, or (1.2) as a device of
    /// it, `ana@laptop` (answered `OK:ana`).
    pub fn login_send(&self, user: &str, password: &str) -> Conn {
        let mut c = self.send_conn();
        let name = user.split('@').next().unwrap_or(user);
        assert_eq!(c.request(&format!("LOGIN:{user}:{password}")), format!("OK:{name}"));
        c
    }

    /// A receive connection logged in as `user`.
    pub fn login_recv(&self, user: &str, password: &str) -> Conn {
        let mut c = self.recv_conn();
        assert_eq!(c.request(&format!("LOGIN:{user}:{password}")), format!("OK:{user}"));
        c
    }

    /// Registers `users` and logs each in on a send connection of its own.
    pub fn logged_in<const N: usize>(&self, users: [&str; N]) -> [Conn; N] {
        self.register(&users);
        users.map(|user| self.login_send(user, &format!("pw-{user}")))
    }

    /// `user`'s send connection and 1.2 receive connection on `device`
    /// (password `pw-<user>`).
    pub fn device(&self, user: &str, device: &str) -> (Conn, Conn) {
        let events = self.events_1_2(user, Some(device));
        (self.login_send(&format!("{user}@{device}"), &format!("pw-{user}")), events)
    }

    /// A receive connection of `user` (on `device`, if any) that said
    /// `VERSION:1.2` before its login, so the server has read it.
    pub fn events_1_2(&self, user: &str, device: Option<&str>) -> Conn {
        let mut events = self.recv_conn();
        assert_eq!(events.request("VERSION:1.2"), "OK");
        let login = match device {
            Some(device) => format!("LOGIN:{user}@{device}:pw-{user}"),
            None => format!("LOGIN:{user}:pw-{user}"),
        };
        assert_eq!(events.request(&login), format!("OK:{user}"));
        events
    }

    /// Registers users, each with the password `pw-<name>`.
    pub fn register(&self, users: &[&str]) {
        let mut c = self.send_conn();
        for user in users {
            assert_eq!(c.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
            c = self.send_conn();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A failed test shows what each of its servers said last, and
        // whether one had died: the panic alone cannot tell a server that
        // closed a connection on purpose from one that exited.
        if std::thread::panicking() {
            let exited = self.child.try_wait().ok().flatten();
            let log = self.log.lock().map(|log| log.clone()).unwrap_or_default();
            let mut said = format!(
                "the server on send {} / receive {} ({}){}; its last {} of {} log lines:\n",
                self.send,
                self.recv,
                self.data_dir.display(),
                exited.map_or(String::new(), |status| format!(" had exited: {status}")),
                log.len().min(LOG_LINES_SHOWN),
                log.len()
            );
            for line in &log[log.len().saturating_sub(LOG_LINES_SHOWN)..] {
                said.push_str(&format!("    {line}\n"));
            }
            eprint!("{said}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many of its last log lines a server shows when its test fails.
const LOG_LINES_SHOWN: usize = 40;

fn unsafe_kill(pid: u32, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// Restarts asked for by a tool under test (`conform --allow-restart`,
/// `chaos --restart`): the tool runs [`Restarts::command`], which makes a
/// request file and waits until it is gone; the test's own thread does
/// the restart (a crash: kill -9, then the same data and ports) and
/// removes the file.
pub struct Restarts {
    request: PathBuf,
}

impl Restarts {
    /// Requests made as a file in `dir`.
    pub fn new(dir: &Path) -> Restarts {
        Restarts { request: dir.join("restart-please") }
    }

    /// The shell command to give the tool.
    pub fn command(&self) -> String {
        format!("touch {0} && while [ -e {0} ]; do sleep 0.05; done", self.request.display())
    }

    /// Runs `run` on a thread of its own while this one answers its
    /// requests with `restart`: the run's result, and how many restarts.
    pub fn serve<T: Send>(&self, run: impl FnOnce() -> T + Send, mut restart: impl FnMut()) -> (T, usize) {
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                let out = run();
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                out
            });
            let mut restarts = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if self.request.exists() {
                    restart();
                    restarts += 1;
                    std::fs::remove_file(&self.request).unwrap();
                }
                std::thread::sleep(Duration::from_millis(20)); // polling for the request file
            }
            (run.join().unwrap(), restarts)
        })
    }
}

/// Runs `wachat <command> <args…>` to its end (at most `timeout`), its
/// stdout and stderr kept.
pub fn run_wachat_output(command: &str, args: &[&str], timeout: Duration) -> std::process::Output {
    let mut child = Command::new(wachat_bin())
        .arg(command)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("wachat {command}: {e}"));
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_with_timeout(&mut child, timeout);
    std::process::Output {
        status,
        stdout: out.join().unwrap_or_default().into_bytes(),
        stderr: err.join().unwrap_or_default().into_bytes(),
    }
}

/// Waits for a child process, failing the test after `timeout`.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "process did not exit in {timeout:?}");
        std::thread::sleep(Duration::from_millis(20)); // polling a process exit
    }
}

/// One raw protocol connection.
pub struct Conn {
    /// The socket (for options, or raw bytes on a plaintext connection).
    pub stream: TcpStream,
    /// What frames go through: the socket itself, or TLS over it.
    writer: Box<dyn Write + Send>,
    reader: BufReader<Box<dyn Read + Send>>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        Conn::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// A connection from another loopback address (`127.0.0.2`, …), as if
    /// from another machine: per-address limits count it apart.
    pub fn connect_from(addr: SocketAddr, source: [u8; 4]) -> Conn {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let from = SocketAddr::from((source, 0));
        socket.bind(&from.into()).expect("bind a loopback source address");
        socket.connect(&addr.into()).expect("connect");
        Conn::from_stream(socket.into())
    }

    /// A connection accepted by a test's own listener (a fake peer).
    pub fn from_stream(stream: TcpStream) -> Conn {
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let reader: Box<dyn Read + Send> = Box::new(stream.try_clone().unwrap());
        let writer = Box::new(stream.try_clone().unwrap());
        Conn { stream, writer, reader: BufReader::new(reader) }
    }

    /// A connection whose frames go through `reader` and `writer` (TLS)
    /// over the socket `stream`.
    pub fn over(stream: TcpStream, reader: Box<dyn Read + Send>, writer: Box<dyn Write + Send>) -> Conn {
        Conn { stream, writer, reader: BufReader::new(reader) }
    }

    /// Sends one frame (a `\n` is added).
    pub fn send(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\n").as_bytes()).expect("write");
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Reads one line (without `\n`); fails the test on timeout or EOF.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("connection closed while waiting for a line"),
            Ok(_) => line.trim_end_matches('\n').to_string(),
            Err(e) => panic!("no line within {READ_TIMEOUT:?}: {e}"),
        }
    }

    /// The line that came within `wait`, or `None` if the peer stayed
    /// silent that long; the read timeout is [`READ_TIMEOUT`] again after.
    pub fn line_within(&mut self, wait: Duration) -> Option<String> {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let line = self.try_line();
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        line
    }

    /// The next line, or `None` if none came within the read timeout.
    pub fn try_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("connection closed while waiting for a line"),
            Ok(_) => Some(line.trim_end_matches('\n').to_string()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                None
            }
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// The next line, or `None` if none comes in time or the connection
    /// closed (a server that died, a node that cut it).
    pub fn line_or_none(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end_matches('\n').to_string()),
            _ => None,
        }
    }

    /// Sends a request and reads its one-line reply.
    pub fn request(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }

    /// Sends a listing request; returns the `n` lines after `OK:<n>`.
    pub fn listing(&mut self, line: &str) -> Vec<String> {
        let head = self.request(line);
        let n: usize = head
            .strip_prefix("OK:")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}: expected OK:<n>, got {head}"));
        (0..n).map(|_| self.line()).collect()
    }

    /// Reads until the server closes the connection; returns what came.
    /// Reads lines until `wanted` (others skipped, `PING` answered).
    pub fn hears(&mut self, wanted: &str) {
        loop {
            let line = self.line();
            if line == wanted {
                return;
            }
            if line == "PING" {
                self.send("PONG");
            }
        }
    }

    pub fn read_to_close(&mut self) -> String {
        let mut rest = String::new();
        match self.reader.read_to_string(&mut rest) {
            Ok(_) => rest,
            Err(e) => panic!("connection not closed within {READ_TIMEOUT:?}: {e} (got {rest:?})"),
        }
    }

    /// Asserts the server closes the connection with nothing more to say.
    pub fn expect_closed(&mut self) {
        assert_eq!(self.read_to_close(), "", "expected the connection to close");
    }

    /// Sends `count` messages `MSG:<to>:s<i>:<text>` (`i` from 0) and
    /// reads the `OK` of each, a hundred pipelined at a time: a client
    /// that wrote them all before reading an `OK` would leave its replies
    /// unread for as long as the server takes to read the rest.
    pub fn send_burst(&mut self, to: &str, text: &str, count: usize) {
        for chunk in (0..count).step_by(100) {
            let ids = chunk..(chunk + 100).min(count);
            let burst: String = ids.clone().map(|i| format!("MSG:{to}:s{i}:{text}\n")).collect();
            self.send_raw(burst.as_bytes());
            for i in ids {
                let reply = self.line();
                assert!(reply.starts_with(&format!("OK:s{i}:")), "message {i}: {reply:.60}");
            }
        }
    }

    /// Reads a receive connection that the server gave up on, as a
    /// client that reads again does: every line up to `bye`, each `MSG`
    /// acknowledged (the connection's thread, asleep until a frame comes,
    /// then writes what the kernel could not take, `bye` included; the
    /// server applies no `ACK` that comes after its `BYE`), then the
    /// close. The lines before `bye`.
    pub fn read_until_bye(&mut self, bye: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if line == bye {
                break;
            }
            if let Some(seq) = line.strip_prefix("MSG:").and_then(|rest| rest.split(':').next()) {
                self.send(&format!("ACK:{seq}"));
            }
            lines.push(line);
        }
        self.expect_closed();
        lines
    }

    /// The next `MSG` event on a receive connection, skipping presence,
    /// `P2P` offers and `PING`s (answered).
    pub fn next_msg(&mut self) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            assert!(Instant::now() < deadline, "no MSG within {EVENT_TIMEOUT:?}");
            let line = self.line();
            if line.starts_with("MSG:") {
                return line;
            }
            if line == "PING" {
                self.send("PONG");
            }
        }
    }

    /// The next `CALL` event, past messages, statuses and the rest.
    pub fn next_call(&mut self) -> String {
        loop {
            let line = self.next_event();
            if line.starts_with("CALL:") {
                return line;
            }
        }
    }

    /// The next event on a receive connection that is not presence
    /// (`JOINED`, `LEFT`, `MEMBER`) nor a `PING` (answered).
    /// Fails the test if none comes within [`EVENT_TIMEOUT`], however
    /// many `PING`s come meanwhile (a server pings a silent connection
    /// more often than the read timeout: waiting for a line alone would
    /// wait for ever).
    pub fn next_event(&mut self) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            assert!(Instant::now() < deadline, "no event within {EVENT_TIMEOUT:?}, only PINGs or presence");
            let line = self.line();
            if line == "PING" {
                self.send("PONG");
            } else if !["JOINED:", "LEFT:", "MEMBER:"].iter().any(|p| line.starts_with(p)) {
                return line;
            }
        }
    }

    /// The `READ` statuses on a receive connection, without their times,
    /// until one names the message `id`; every event is acknowledged on
    /// the way (a client's `READ` is cumulative: how many it sends for a
    /// burst is what a test of its pace counts).
    pub fn reads_until(&mut self, id: &str) -> Vec<String> {
        let mut reads = Vec::new();
        loop {
            let event = self.next_event();
            if let Some(seq) = event.split(':').nth(1) {
                self.send(&format!("ACK:{seq}"));
            }
            if event.starts_with("STATUS:") && event.contains(":READ:") {
                reads.push(without_ts(&event));
                if event.contains(&format!(":{id}:READ:")) {
                    return reads;
                }
            }
        }
    }

    /// Reads `n` event lines.
    pub fn events(&mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.line()).collect()
    }
}

/// Strips the `<ts>` out of `MSG` and `STATUS` events so tests can compare
/// whole lines: `MSG:1:ana:bob:m1:<ts>:hi`.
pub fn without_ts(event: &str) -> String {
    let fields: Vec<&str> = event.splitn(7, ':').collect();
    match fields[0] {
        "MSG" if fields.len() == 7 => {
            format!("MSG:{}:{}:{}:{}:<ts>:{}", fields[1], fields[2], fields[3], fields[4], fields[6])
        }
        "STATUS" if fields.len() == 6 => {
            format!("STATUS:{}:{}:{}:{}:<ts>", fields[1], fields[2], fields[3], fields[4])
        }
        _ => event.to_string(),
    }
}

/// A fake server on one port (give it as both of a client's ports): on
/// each connection it reads the client's first line, then `answer`
/// writes whatever it likes to the socket.
pub fn fake_server(answer: fn(&mut TcpStream)) -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
                let mut first = String::new();
                let _ = BufReader::new(&stream).read_line(&mut first);
                answer(&mut stream);
            });
        }
    });
    listener
}

/// One side of a fake server's connection.
pub struct FakeConn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl FakeConn {
    /// Writes bytes as they are (a frame that never ends, a flood).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Accepts the client's next connection; fails the test after
    /// [`READ_TIMEOUT`] (a blocking `accept` could wait forever).
    pub fn accept(listener: &TcpListener) -> FakeConn {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + READ_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the client did not connect in time");
                    std::thread::sleep(Duration::from_millis(10)); // polling accept
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        FakeConn { stream, reader }
    }

    pub fn send(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    pub fn try_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end().to_string()),
            _ => None,
        }
    }

    pub fn line(&mut self) -> String {
        self.try_line().expect("a line from the client in time")
    }
}
