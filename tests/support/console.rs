//! Test support for the client: `wachat connect` driven through its stdin
//! (piped, so it reads plain lines), its output read line by line with a
//! deadline, and the one-shot subcommands run with a timeout.
//!
//! Every command runs in the `C` locale, so the tests read English
//! whatever the machine's `LANG`; the tests of the other languages say
//! theirs with `--lang` or [`Console::start_in_locale`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Instant;

use super::{READ_TIMEOUT, TestServer, wachat_bin, wait_with_timeout};

/// A running `wachat connect` whose stdin is a pipe.
pub struct Console {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines of stdout and stderr, as they come.
    lines: Receiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
    /// `expect` looks from here on: each line is matched once.
    next: usize,
}

impl Console {
    /// `wachat connect --user <user>` to `server`, password `pw-<user>`.
    pub fn start(server: &TestServer, user: &str, data_dir: &Path, extra: &[&str]) -> Console {
        Self::start_at(server.send, server.recv, user, data_dir, extra)
    }

    /// [`Console::start`], once it says it is connected.
    pub fn connected(server: &TestServer, user: &str, data_dir: &Path, extra: &[&str]) -> Console {
        let mut console = Self::start(server, user, data_dir, extra);
        console.expect("connected");
        console
    }

    /// The same, to ports where a server may or may not be listening.
    pub fn start_at(
        send: SocketAddr,
        recv: SocketAddr,
        user: &str,
        data_dir: &Path,
        extra: &[&str],
    ) -> Console {
        Self::spawn_command(Self::command(send, recv, user, data_dir, extra, "C"))
    }

    /// [`Console::start`] with `LANG` set to `locale` (`pt_BR.UTF-8`).
    pub fn start_in_locale(
        server: &TestServer,
        user: &str,
        data_dir: &Path,
        extra: &[&str],
        locale: &str,
    ) -> Console {
        Self::spawn_command(Self::command(server.send, server.recv, user, data_dir, extra, locale))
    }

    /// [`Console::start`] logging at `level` (`RUST_LOG`) instead of `warn`.
    pub fn start_logging(server: &TestServer, user: &str, data_dir: &Path, level: &str) -> Console {
        let mut command = Self::command(server.send, server.recv, user, data_dir, &[], "C");
        command.env("RUST_LOG", level);
        Self::spawn_command(command)
    }

    /// `wachat connect` as `user`, password `pw-<user>`, logging warnings.
    fn command(
        send: SocketAddr,
        recv: SocketAddr,
        user: &str,
        data_dir: &Path,
        extra: &[&str],
        locale: &str,
    ) -> Command {
        let mut command = Command::new(wachat_bin());
        command
            .args(["connect", "--user", user])
            .args(connection_args(send, recv, data_dir))
            .args(extra)
            .env("WACHAT_PASSWORD", format!("pw-{user}"))
            .env("RUST_LOG", "warn");
        in_locale(&mut command, locale);
        command
    }

    fn spawn_command(mut command: Command) -> Console {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wachat connect");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let stdin = child.stdin.take();
        Console { child, stdin, lines, seen: Vec::new(), next: 0 }
    }

    /// Types one line.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("write to the console");
    }

    /// Waits for the next line containing `needle` (after the last one
    /// matched) and returns it; fails the test after [`READ_TIMEOUT`].
    pub fn expect(&mut self, needle: &str) -> String {
        let at = self.expect_each(&[needle]);
        self.seen[at].clone()
    }

    /// Waits until lines after the last one matched contain each of
    /// `needles`, in any order (what reaches the console by two paths,
    /// such as an event and a stored message, may come either way round);
    /// the next match starts after the last of them, whose index it
    /// returns. Fails the test after [`READ_TIMEOUT`].
    pub fn expect_each(&mut self, needles: &[&str]) -> usize {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let found: Option<Vec<usize>> = needles
                .iter()
                .map(|needle| self.seen[self.next..].iter().position(|l| l.contains(needle)))
                .collect();
            if let Some(last) = found.and_then(|at| at.into_iter().max()) {
                self.next += last + 1;
                return self.next - 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no lines with {needles:?} in time; got:\n{}", self.dump())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the console ended without lines with {needles:?}; got:\n{}", self.dump())
                }
            }
        }
    }

    /// How many lines so far contain `needle`.
    pub fn count(&mut self, needle: &str) -> usize {
        self.seen.extend(self.lines.try_iter());
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }

    /// Whether the console process still runs (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    fn dump(&self) -> String {
        self.seen.join("\n")
    }

    /// Types `quit` (a command or an alias), closes stdin, and waits for
    /// the exit; returns the status and every line printed.
    pub fn quit(mut self, quit: &str) -> (ExitStatus, Vec<String>) {
        // A console that is leaving by itself (unlinked, disabled) may have
        // closed its stdin already: a broken pipe here is not the test's
        // failure, the exit status below says what happened.
        let stdin = self.stdin.as_mut().expect("stdin still open");
        if let Err(e) = stdin.write_all(format!("{quit}\n").as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write to the console: {e}");
        }
        self.stdin.take();
        let status = wait_with_timeout(&mut self.child, READ_TIMEOUT);
        // The readers end at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(READ_TIMEOUT) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wachat connect --user ana` against a fake server: its send port logs
/// ana in and answers `OK` to whatever follows (a `PING`, a `P2P`); its
/// receive port is left to the test, to play what a server would send.
/// Returns the console, the fake send port's address (it names the
/// client's folder) and the receive port's listener.
pub fn console_on_fake_server(dir: &Path) -> (Console, SocketAddr, std::net::TcpListener) {
    let send = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let recv = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ana = Console::start_at(send.local_addr().unwrap(), recv.local_addr().unwrap(), "ana", dir, &[]);
    let mut send_conn = super::FakeConn::accept(&send);
    old_server_login_send(&mut send_conn, "ana", "pw-ana");
    std::thread::spawn(move || {
        while send_conn.try_line().is_some() {
            send_conn.send("OK")
        }
    });
    (ana, send.local_addr().unwrap(), recv)
}

/// Plays a server older than protocol 1.2 on a send connection just
/// accepted: the client's device login (`LOGIN:<user>@<device>:…`) is a
/// bad name there (`KO:BAD_REQUEST`), and the client logs in again
/// without a device.
pub fn old_server_login_send(conn: &mut super::FakeConn, user: &str, password: &str) {
    let first = conn.line();
    assert!(
        first.starts_with(&format!("LOGIN:{user}@")) && first.ends_with(&format!(":{password}")),
        "{first}"
    );
    conn.send(&format!("KO:BAD_REQUEST:bad user name {:?}", first.split(':').nth(1).unwrap()));
    assert_eq!(conn.line(), format!("LOGIN:{user}:{password}"));
    conn.send(&format!("OK:{user}"));
}

/// Plays a server older than protocol 1.2 on its receive port: the
/// client's `VERSION:1.2` before its login is refused (`KO:AUTH_REQUIRED`,
/// closed), and the client connects again the way of 1.1: `LOGIN` without
/// a device, then `VERSION:1.1` and `VERSION:1.2` (ignored there).
/// Returns the second connection, logged in.
pub fn old_server_login_recv(recv: &std::net::TcpListener, user: &str, password: &str) -> super::FakeConn {
    let mut probe = super::FakeConn::accept(recv);
    assert_eq!(probe.line(), "VERSION:1.2");
    probe.send("KO:AUTH_REQUIRED:log in first: LOGIN:<user>:<password>");
    drop(probe);
    let mut events = super::FakeConn::accept(recv);
    assert_eq!(events.line(), format!("LOGIN:{user}:{password}"));
    events.send(&format!("OK:{user}"));
    assert_eq!(events.line(), "VERSION:1.1");
    assert_eq!(events.line(), "VERSION:1.2");
    events
}

/// `--send-port … --recv-port … --data-dir …`
pub fn connection_args(send: SocketAddr, recv: SocketAddr, data_dir: &Path) -> Vec<String> {
    vec![
        "--send-port".into(),
        send.port().to_string(),
        "--recv-port".into(),
        recv.port().to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ]
}

/// The folder of `user`'s local files for the server on `send`, on the
/// first device a console made up for it (the client's layout:
/// `<data dir>/<host>:<send port>/<user>/devices/<device>/`); before any
/// console ran, the user's folder itself (where files of the layout
/// before devices are planted, converted at the next start).
pub fn user_dir(data_dir: &Path, send: SocketAddr, user: &str) -> std::path::PathBuf {
    let user_dir = data_dir.join(format!("127.0.0.1:{}", send.port())).join(user);
    let kept = std::fs::read_to_string(user_dir.join("default_devices")).unwrap_or_default();
    match kept.lines().next() {
        Some(device) => device_dir(data_dir, send, user, device),
        None => user_dir,
    }
}

/// The name of the first device a console made up for `user` (its
/// folder's name), once a console has started.
pub fn device_of(data_dir: &Path, send: SocketAddr, user: &str) -> String {
    let folder = user_dir(data_dir, send, user);
    assert!(folder.parent().is_some_and(|p| p.ends_with("devices")), "no console ran: {}", folder.display());
    folder.file_name().unwrap().to_string_lossy().into_owned()
}

/// A receive connection of `user` as the device that `user`'s console is
/// (protocol 1.2): it takes that device's place, and the console is
/// replaced (`BYE:REPLACED`). Another device would only be added.
pub fn replacing_recv(server: &TestServer, data_dir: &Path, user: &str) -> super::Conn {
    let device = device_of(data_dir, server.send, user);
    let mut c = server.recv_conn();
    assert_eq!(c.request(&format!("LOGIN:{user}@{device}:pw-{user}")), format!("OK:{user}"));
    c
}

/// The folder of `user`'s device `device` for the server on `send`.
pub fn device_dir(data_dir: &Path, send: SocketAddr, user: &str, device: &str) -> std::path::PathBuf {
    let user_dir = data_dir.join(format!("127.0.0.1:{}", send.port())).join(user);
    user_dir.join("devices").join(device.to_ascii_lowercase())
}

/// What a one-shot subcommand did.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Its stdout, once it succeeded (else the test fails with its stderr).
    pub fn ok(self) -> String {
        assert!(self.status.success(), "exit {}: {}", self.status, self.stderr);
        self.stdout
    }
}

/// `wachat users <args>` at `at` (`["--data-dir", DIR]` or `["--store",
/// URL]`), with fast hashing where it applies and `password` in
/// `WACHAT_PASSWORD`.
pub fn users(at: [&str; 2], args: &[&str], password: &str) -> Outcome {
    let mut all: Vec<String> =
        std::iter::once("users").chain(args.iter().copied()).map(String::from).collect();
    all.extend(at.map(String::from));
    if ["add", "import", "passwd"].contains(&args[0]) {
        all.extend(["--kdf-cost".into(), "8".into()]);
    }
    run_wachat(&all, password, "")
}

/// Runs `wachat <args>` with `password` in `WACHAT_PASSWORD` (none if
/// empty) and `stdin` as its input; fails the test if it does not exit in time.
pub fn run_wachat(args: &[String], password: &str, stdin: &str) -> Outcome {
    run_wachat_in_locale(args, password, stdin, "C")
}

/// [`run_wachat`] with `LANG` set to `locale`.
pub fn run_wachat_in_locale(args: &[String], password: &str, stdin: &str, locale: &str) -> Outcome {
    let mut command = Command::new(wachat_bin());
    command.args(args).env_remove("WACHAT_PASSWORD").env("RUST_LOG", "warn");
    in_locale(&mut command, locale);
    if !password.is_empty() {
        command.env("WACHAT_PASSWORD", password);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wachat");
    // A command that refuses at once may exit before reading its input:
    // its closed pipe is then an answer, not a failure.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write to wachat: {e}"),
        _ => {}
    }
    // Outputs are a few lines: they fit in the pipes while we wait.
    let status = wait_with_timeout(&mut child, READ_TIMEOUT);
    let mut stdout = String::new();
    let mut stderr = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Outcome { status, stdout, stderr }
}

/// Runs `command` in `locale` alone: `LANG` set, and the variables that
/// would override it (`LC_ALL`, `LC_MESSAGES`) removed.
pub fn in_locale(command: &mut Command, locale: &str) {
    command.env("LANG", locale).env_remove("LC_ALL").env_remove("LC_MESSAGES");
}
