//! Stopping: the request to stop a server or a bridge (Ctrl+C, and on
//! Unix `SIGTERM` from `kill` or systemd), the signal a server must not
//! die of, and asking a child process to stop.

use std::io;
use std::process::Child;

/// Listens for the requests to stop, from its creation on.
pub struct Stop(Requests);

/// The signals, as signal-hook delivers them to one thread.
#[cfg(unix)]
type Requests = signal_hook::iterator::Signals;
/// A flag set by Ctrl+C (the C runtime's `SIGINT`), which Windows
/// delivers on a thread of its own, where nothing may block.
#[cfg(not(unix))]
type Requests = std::sync::Arc<std::sync::atomic::AtomicBool>;

impl Stop {
    #[cfg(unix)]
    pub fn listen() -> io::Result<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        Ok(Stop(signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?))
    }

    #[cfg(not(unix))]
    pub fn listen() -> io::Result<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let asked = Requests::default();
        for signal in [SIGINT, SIGTERM] {
            signal_hook::flag::register(signal, asked.clone())?;
        }
        Ok(Stop(asked))
    }

    /// Blocks until the next request to stop; the signal's number.
    #[cfg(unix)]
    pub fn wait(&mut self) -> i32 {
        self.0.forever().next().unwrap_or(signal_hook::consts::SIGTERM)
    }

    /// A request to stop that came already, if any, without waiting.
    #[cfg(unix)]
    pub fn asked(&mut self) -> Option<i32> {
        self.0.pending().next()
    }

    /// A request to stop that came already, if any, without waiting.
    #[cfg(not(unix))]
    pub fn asked(&mut self) -> Option<i32> {
        use std::sync::atomic::Ordering;
        self.0.swap(false, Ordering::SeqCst).then_some(signal_hook::consts::SIGINT)
    }

    /// Looks at the flag ten times a second (nothing can wake a thread
    /// from the handler's).
    #[cfg(not(unix))]
    pub fn wait(&mut self) -> i32 {
        use std::sync::atomic::Ordering;
        while !self.0.swap(false, Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        signal_hook::consts::SIGINT
    }
}

/// A file-size limit (`ulimit -f`, Unix only) must fail the write, which
/// the store turns into `KO:INTERNAL`, not kill the server with `SIGXFSZ`.
pub fn survive_file_size_limit() {
    #[cfg(unix)]
    // SAFETY: setting a signal to "ignore" installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Asks `child` to stop: `SIGTERM`, which lets a server end cleanly.
#[cfg(unix)]
pub fn terminate(child: &mut Child) -> io::Result<()> {
    // SAFETY: kill only sends a signal to a process we started.
    match unsafe { libc::kill(child.id() as i32, libc::SIGTERM) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Windows has no request to stop a console program from outside: the
/// process is ended at once (`TerminateProcess`).
#[cfg(not(unix))]
pub fn terminate(child: &mut Child) -> io::Result<()> {
    child.kill()
}
