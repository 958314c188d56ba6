//! Plays the fault schedule on the proxies (delay, reset, partition) and
//! on the server itself (restart: `--restart CMD`, then wait for its ports);
//! in a federation, on the links between its servers (split) and on each
//! server (restart: kill -9, then started again, in a thread of its own so
//! that other faults go on meanwhile).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::history::Journal;
use super::network::{Network, PORT_WAIT, wait_for_servers};
use super::proxy::{Global, Proxy};
use super::schedule::{Fault, FaultStep, SplitKind};

pub struct Faults {
    /// Per user, a proxy per device.
    pub proxies: Arc<Vec<Vec<Proxy>>>,
    pub global: Arc<Global>,
    pub journal: Arc<Journal>,
    pub restart: Option<String>,
    pub servers: Vec<(SocketAddr, SocketAddr)>,
    pub network: Option<Arc<Network>>,
    /// The restarts of a federation's servers under way.
    pub restarts: Mutex<Vec<JoinHandle<()>>>,
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
                self.journal.fault(from, format!("reset {} ({cut} cut)", port), Some(user));
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
            Fault::Restart { server: None, .. } => self.restart(from),
            Fault::Restart { server: Some(k), down_ms } => {
                let (Some(network), journal) = (self.network.clone(), self.journal.clone()) else { return };
                let restart = thread::spawn(move || {
                    let what = network.restart(k, Duration::from_millis(down_ms));
                    journal.fault(from, what, None);
                });
                self.restarts.lock().unwrap_or_else(|e| e.into_inner()).push(restart);
            }
            Fault::Split { a, b, for_ms, how } => {
                let Some(network) = &self.network else { return };
                let name = |k: usize| network.members[k].name.clone();
                let (a, b) = (name(a), b.map(name));
                let hit = network.splits.split(&a, b.as_deref(), Duration::from_millis(for_ms), how);
                let what = format!(
                    "split {a} from {} ({}, {hit} links {})",
                    b.as_deref().unwrap_or("all"),
                    how.as_str(),
                    if how == SplitKind::Closed { "cut" } else { "held" }
                );
                self.journal.fault_until(from, from + for_ms * 1000, what, None);
            }
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

    /// The end of the faults: no delay, no partition, no split, every
    /// server up again.
    pub fn calm(&self) {
        self.global.delay_ms.store(0, Ordering::SeqCst);
        for proxy in self.proxies.iter().flatten() {
            proxy.partition(None);
        }
        if let Some(network) = &self.network {
            network.splits.heal();
        }
        let restarts = std::mem::take(&mut *self.restarts.lock().unwrap_or_else(|e| e.into_inner()));
        for restart in restarts {
            let _ = restart.join();
        }
    }
}
