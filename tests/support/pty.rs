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
}

impl Pty {
    /// Starts `command` on a new 100×30 pseudo-terminal, with `TERM=xterm`.
    pub fn spawn(mut command: Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize { ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors into the ints we pass.
        let opened =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors are new and owned by nothing else.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = || Stdio::from(slave.try_clone().expect("dup the terminal"));
        command.env("TERM", "xterm").stdin(io()).stdout(io()).stderr(io());
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
        Pty { child, master, slave, output, next: 0 }
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
        let deadline = Instant::now() + READ_TIMEOUT;
        let (lock, more) = &*self.output;
        let mut bytes = lock.lock().unwrap();
        loop {
            let text = clean(&bytes);
            if let Some(at) = text[self.next..].find(needle) {
                let end = self.next + at + needle.len();
                let seen = text[self.next..end].to_string();
                self.next = end;
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
