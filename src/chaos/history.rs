//! The recorded run: every frame a user wrote or read, on which of its
//! connections and when, and every fault. The checks read nothing else,
//! so what they report can always be shown as frames.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::protocol::Port;

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// Written by a user (towards the server).
    Out,
    /// Read by a user (from the server).
    In,
}

/// Which of a user's devices (protocol 1.2, `LOGIN:<user>@d<n>:…`), or
/// `None`: the user's one device, logged in with no device name.
pub type DeviceIndex = Option<usize>;

/// How a report names a user's device: `u3@d1`, or `u3` for the one device.
pub fn who(names: &[String], user: usize, device: DeviceIndex) -> String {
    let name = names.get(user).map_or("?", String::as_str);
    match device {
        Some(d) => format!("{name}@d{d}"),
        None => name.to_string(),
    }
}

/// The user a name or an address names: `u4`, or `u4@lab2` when `lab2`
/// is u4's server in a federation (`homes`: each user's server; empty
/// when the run is not a federation, and then no address names anyone).
pub fn user_of(names: &[String], homes: &[String], name: &str) -> Option<usize> {
    let (local, server) = match name.split_once('@') {
        Some((user, server)) => (user, Some(server)),
        None => (name, None),
    };
    let user = names.iter().position(|n| n.eq_ignore_ascii_case(local))?;
    match server {
        None => Some(user),
        Some(server) => homes.get(user).filter(|home| home.eq_ignore_ascii_case(server)).map(|_| user),
    }
}

/// One frame as a user saw it.
#[derive(Clone, Debug)]
pub struct Observed {
    /// Microseconds since the run began.
    pub at_us: u64,
    pub user: usize,
    pub device: DeviceIndex,
    /// The connection's number, unique in the run.
    pub conn: u64,
    pub port: Port,
    pub dir: Way,
    pub text: String,
}

impl Observed {
    /// How a report quotes it: `2.315 s u3 recv#41 < MSG:…`.
    pub fn show(&self, names: &[String]) -> String {
        let arrow = if self.dir == Way::Out { ">" } else { "<" };
        let text = match self.text.char_indices().nth(120) {
            Some((cut, _)) => format!("{}…", &self.text[..cut]),
            None => self.text.clone(),
        };
        let name = who(names, self.user, self.device);
        let time = self.at_us as f64 / 1e6;
        format!("{time:.3} s {name} {}#{} {arrow} {}", self.port, self.conn, crate::display::visible(&text))
    }
}

/// A fault as it happened: from when to when, and to whom.
#[derive(Clone, Debug)]
pub struct FaultSpan {
    pub from_us: u64,
    pub to_us: u64,
    pub what: String,
    pub user: Option<usize>,
}

/// What the threads of a run write into; read once at the end.
pub struct Journal {
    start: Instant,
    frames: Mutex<Vec<Observed>>,
    faults: Mutex<Vec<FaultSpan>>,
    next_conn: AtomicU64,
    /// When a user last read a queued event (`MSG`, `STATUS`): the drain
    /// at the end waits until this stays still.
    last_event_us: AtomicU64,
}

impl Journal {
    pub fn new() -> Journal {
        Journal {
            start: Instant::now(),
            frames: Mutex::default(),
            faults: Mutex::default(),
            next_conn: AtomicU64::new(1),
            last_event_us: AtomicU64::new(0),
        }
    }

    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    pub fn new_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn frame(&self, (user, device): (usize, DeviceIndex), conn: u64, port: Port, dir: Way, text: &str) {
        let at_us = self.now_us();
        if dir == Way::In
            && port == Port::Receive
            && (text.starts_with("MSG:") || text.starts_with("STATUS:") || text.starts_with("FILE:"))
        {
            self.last_event_us.store(at_us, Ordering::Relaxed);
        }
        let frame = Observed { at_us, user, device, conn, port, dir, text: text.to_string() };
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).push(frame);
    }

    pub fn fault(&self, from_us: u64, what: String, user: Option<usize>) {
        self.fault_until(from_us, self.now_us(), what, user);
    }

    /// A fault known to last until `to_us` (recorded when it starts, so
    /// that one still on at the end of the run is in it).
    pub fn fault_until(&self, from_us: u64, to_us: u64, what: String, user: Option<usize>) {
        let span = FaultSpan { from_us, to_us: to_us.max(from_us + 1000), what, user };
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).push(span);
    }

    /// Microseconds since the last queued event reached a user.
    pub fn quiet_for_us(&self) -> u64 {
        self.now_us().saturating_sub(self.last_event_us.load(Ordering::Relaxed))
    }

    pub fn frames(&self) -> Vec<Observed> {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn faults(&self) -> Vec<FaultSpan> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Default for Journal {
    fn default() -> Self {
        Journal::new()
    }
}

/// A run, once over: who took part, what they said, and the `HISTORY`
/// each sender read at the end.
pub struct Recording {
    pub names: Vec<String>,
    /// In a federation, each user's server (empty: not a federation).
    pub homes: Vec<String>,
    /// In a federation, each room's home server (empty: not a federation).
    pub room_homes: Vec<String>,
    /// Devices per user (1: each user's one device, unnamed).
    pub devices: usize,
    /// Room names with their `#`, and their members.
    pub rooms: Vec<(String, Vec<usize>)>,
    pub frames: Vec<Observed>,
    pub faults: Vec<FaultSpan>,
    pub listings: Vec<HistoryRead>,
    pub duration_us: u64,
    /// Connections made to another server than the device's own.
    pub failovers: u64,
}

/// `HISTORY:<chat>:<limit>` as one user read it at the end.
#[derive(Clone, Debug)]
pub struct HistoryRead {
    pub user: usize,
    pub chat: String,
    pub lines: Vec<String>,
    pub limit: usize,
}
