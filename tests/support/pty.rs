//! A program run in a pseudo-terminal, for what only happens in a terminal:
//! rustyline's prompt, Ctrl+C and Ctrl+D as keys, a password typed at a
//! hidden prompt, the terminal's settings put back on exit.
//!
//! The pseudo-terminal is opened with `openpty(3)` from `libc` (already a
//! dependency of wachat; no crate needed for sixty lines). The child gets
//! the terminal as its stdin, stdout and stderr and as its controlling
//! terminal (`/dev/tty`, where a password prompt reads). A thread reads
//! everything the child writes; what a terminal would answer by itself
//! (rustyline asks where the cursor is, `ESC [ 6 n`) it answers.
//!
//! A full-screen program (`wachat connect --tui`) redraws only the cells
//! that change, anywhere on the screen: its output read as text means
//! nothing. [`Pty::wait_screen`] feeds it to a terminal emulator's parser
//! (the `vt100` crate) and looks at the screen as a person would see it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::{READ_TIMEOUT, wait_with_timeout};

/// A child process on a pseudo-terminal.
pub struct Pty {
    child: Child,
    /// The terminal's end we type into.
    master: File,
    /// The child's end, kept to look at the terminal's settings.
    slave: OwnedFd,
    /// Everything the child wrote, and a signal when more comes.
    output: Arc<(Mutex<Vec<u8>>, Condvar)>,
    /// `expect` looks from here on (in the cleaned text).
    next: usize,
    /// The terminal's size: rows, columns.
    size: (u16, u16),
}

/// The screen of a full-screen program, as a terminal shows it.
pub struct Screen {
    /// Each row's text, trailing blanks kept out.
    pub rows: Vec<String>,
    /// How many times it rang the bell.
    pub bells: usize,
    /// The alternate screen is up (a full-screen program is running).
    pub alternate: bool,
}

impl Screen {
    /// The first row containing `needle`, and its number.
    pub fn find(&self, needle: &str) -> Option<(usize, &str)> {
        self.rows.iter().enumerate().find(|(_, r)| r.contains(needle)).map(|(y, r)| (y, r.as_str()))
    }

    pub fn text(&self) -> String {
        self.rows.join("\n")
    }
}

/// Counts the bells a screen rang.
#[derive(Default)]
struct Bells(usize);

impl vt100::Callbacks for Bells {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.0 += 1;
    }
}

impl Pty {
    /// Starts `command` on a new 100×30 pseudo-terminal, with `TERM=xterm`.
    pub fn spawn(command: Command) -> Pty {
        Self::spawn_sized(command, 30, 100)
    }

    /// Starts `command` on a new pseudo-terminal of `rows`×`cols`, with
    /// `TERM=xterm` unless the command sets its own.
    pub fn spawn_sized(mut command: Command, rows: u16, cols: u16) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors into the ints we pass.
        let opened =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are new and owned by nothing else.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = || Stdio::from(slave.try_clone().expect("dup the terminal"));
        if !command.get_envs().any(|(key, _)| key == "TERM") {
            command.env("TERM", "xterm");
        }
        command.stdin(io()).stdout(io()).stderr(io());
        // SAFETY: setsid and ioctl are async-signal-safe, as pre_exec needs.
        unsafe {
            command.pre_exec(|| {
                // A session of its own, with this terminal as /dev/tty.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start the program on a terminal");
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let (mut reader, mut answer) = (master.try_clone().unwrap(), master.try_clone().unwrap());
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once the child and its descendants are gone.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                let (lock, more) = &*sink;
                lock.lock().unwrap().extend_from_slice(&buf[..n]);
                more.notify_all();
            }
        });
        Pty { child, master, slave, output, next: 0, size: (rows, cols) }
    }

    /// Waits until the screen, as a terminal would show everything written
    /// so far, satisfies `ready` (`what` names it for the failure); returns
    /// that screen. Fails after [`READ_TIMEOUT`].
    pub fn wait_screen(&mut self, what: &str, ready: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = Instant::now() + READ_TIMEOUT;
        let (lock, more) = &*self.output;
        let mut bytes = lock.lock().unwrap();
        loop {
            let screen = self.parse(&bytes);
            if ready(&screen) {
                return screen;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the screen never showed {what}; it shows:\n{}", screen.text());
            bytes = more.wait_timeout(bytes, left).unwrap().0;
        }
    }

    /// The terminal's window changes size (the kernel tells the program,
    /// `SIGWINCH`); the screen is read at the new size from then on.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ reads the struct we pass, for a descriptor we own.
        let set = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(set, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
        self.size = (rows, cols);
    }

    fn parse(&self, bytes: &[u8]) -> Screen {
        let (rows, cols) = self.size;
        let mut parser = vt100::Parser::new_with_callbacks(rows, cols, 0, Bells::default());
        parser.process(bytes);
        let screen = parser.screen();
        let rows = screen.rows(0, cols).map(|r| r.trim_end().to_string()).collect();
        Screen { rows, bells: parser.callbacks().0, alternate: screen.alternate_screen() }
    }

    /// Types bytes (`"\r"` is Enter, `"\x03"` Ctrl+C, `"\x04"` Ctrl+D).
    pub fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("type into the terminal");
    }

    /// Everything shown so far, as text: escape sequences and carriage
    /// returns taken out.
    pub fn screen(&self) -> String {
        clean(&self.output.0.lock().unwrap())
    }

    /// Waits until the text shown after the last match contains `needle`;
    /// returns that text up to and including it. Fails after [`READ_TIMEOUT`].
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_from(needle, false)
    }

    /// Waits until `needle` was shown at all, before the last match or
    /// after it: for what a thread of the program prints while another
    /// draws the prompt, in either order. Later matches start after both.
    pub fn expect_shown(&mut self, needle: &str) {
        self.expect_from(needle, true);
    }

    fn expect_from(&mut self, needle: &str, anywhere: bool) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        let (lock, more) = &*self.output;
        let mut bytes = lock.lock().unwrap();
        loop {
            let text = clean(&bytes);
            let from = if anywhere { 0 } else { self.next };
            if let Some(at) = text[from..].find(needle) {
                let end = from + at + needle.len();
                let seen = text[from..end].to_string();
                self.next = self.next.max(end);
                return seen;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {needle:?} on the terminal in time; it shows:\n{text}");
            bytes = more.wait_timeout(bytes, left).unwrap().0;
        }
    }

    /// The terminal is in its ordinary (cooked) mode: lines, echo.
    pub fn is_cooked(&self) -> bool {
        // SAFETY: tcgetattr fills the struct we pass for a valid descriptor.
        let termios = unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), &mut termios), 0);
            termios
        };
        termios.c_lflag & libc::ICANON != 0 && termios.c_lflag & libc::ECHO != 0
    }

    /// Waits for the program to exit.
    pub fn wait(&mut self) -> ExitStatus {
        wait_with_timeout(&mut self.child, READ_TIMEOUT)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Terminal output as plain text: `ESC [ … letter` and `ESC ] … BEL`
/// sequences and `\r` removed.
pub fn clean(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => while chars.next().is_some_and(|c| !c.is_ascii_alphabetic() && c != '~') {},
                Some(']') => while chars.next().is_some_and(|c| c != '\u{7}') {},
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
