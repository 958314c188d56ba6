//! Plays the fault schedule on the proxies (delay, reset, partition) and
//! on the server itself (restart: `--restart CMD`, then wait for its ports).

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::history::Journal;
use super::proxy::{Global, Proxy};
use super::schedule::{Fault, FaultStep};

/// How long a restarted server may take to open its ports again.
const PORT_WAIT: Duration = Duration::from_secs(30);

pub struct Faults {
    /// Per user, a proxy per device.
    pub proxies: Arc<Vec<Vec<Proxy>>>,
    pub global: Arc<Global>,
    pub journal: Arc<Journal>,
    pub restart: Option<String>,
    pub servers: Vec<(SocketAddr, SocketAddr)>,
}

impl Faults {
    /// Applies each fault at its time, until `stop` or the schedule's end.
    pub fn play(&self, steps: &[FaultStep], start: Instant, stop: &AtomicBool) {
        for step in steps {
            let at = start + Duration::from_millis(step.at_ms);
            while Instant::now() < at {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                thread::sleep(Duration::from_millis(20)); // waiting for the fault's moment
            }
            self.apply(&step.fault);
        }
    }

    fn apply(&self, fault: &Fault) {
        let from = self.journal.now_us();
        match *fault {
            Fault::Delay { ms, for_ms } => {
                self.global.delay_ms.store(ms, Ordering::SeqCst);
                let (global, journal) = (self.global.clone(), self.journal.clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(for_ms)); // the window's length
                    global.delay_ms.store(0, Ordering::SeqCst);
                    journal.fault(from, format!("delay {ms} ms"), None);
                });
            }
            Fault::Reset { user, port } => {
                let cut: usize = self.proxies[user].iter().map(|p| p.reset(port)).sum();
                self.journal.fault(from, format!("reset {} ({cut} cut)", port.as_str()), Some(user));
            }
            Fault::Partition { user, for_ms } => {
                let until = Instant::now() + Duration::from_millis(for_ms);
                self.proxies[user].iter().for_each(|p| p.partition(Some(until)));
                let journal = self.journal.clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(for_ms)); // the partition's length
                    journal.fault(from, "partition".into(), Some(user));
                });
            }
            Fault::Restart => self.restart(from),
        }
    }

    fn restart(&self, from: u64) {
        let Some(cmd) = &self.restart else { return };
        let ok = crate::sys::shell::command(cmd).status().map(|s| s.success()).unwrap_or(false);
        let up = wait_for_servers(&self.servers).is_none();
        let what = match (ok, up) {
            (true, true) => "restart".to_string(),
            (false, _) => "restart (the command failed)".to_string(),
            (true, false) => format!("restart (no port after {} s)", PORT_WAIT.as_secs()),
        };
        self.journal.fault(from, what, None);
    }

    /// The end of the faults: no delay, no partition.
    pub fn calm(&self) {
        self.global.delay_ms.store(0, Ordering::SeqCst);
        for proxy in self.proxies.iter().flatten() {
            proxy.partition(None);
        }
    }
}

/// Polls until every server accepts on both ports; the first that did
/// not, if any.
pub fn wait_for_servers(servers: &[(SocketAddr, SocketAddr)]) -> Option<(SocketAddr, SocketAddr)> {
    servers.iter().find(|(send, recv)| !wait_for_port(*send) || !wait_for_port(*recv)).copied()
}

/// Polls until the server accepts on `addr` (or [`PORT_WAIT`] passed).
pub fn wait_for_port(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + PORT_WAIT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(100)); // polling for the restarted server
    }
    false
}
