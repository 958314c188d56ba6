//! The idle crowd: many users logged in on both ports who only keep their
//! connections alive. A few sweeper threads serve all of them with
//! non-blocking reads, so the bench itself needs no thread per user.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{BenchArgs, Both, login_each};
use crate::error::Result;
use crate::protocol::{EventReply, Request};

/// How often each idle connection says something (the server closes a
/// connection that sends nothing for its timeout, 10 s by default).
const KEEPALIVE: Duration = Duration::from_secs(3);
const SWEEPERS: usize = 4;

pub struct Crowd {
    pub login_time: Duration,
    stop: Arc<AtomicBool>,
    sweepers: Vec<JoinHandle<()>>,
}

impl Crowd {
    /// Logs in `--idle-users` users and keeps each alive from the moment it
    /// is in (a slow login phase must not let the first ones time out).
    pub fn start(args: &BenchArgs) -> Result<Crowd> {
        let names: Vec<String> = (0..args.idle_users).map(|i| format!("{}-i{i}", args.prefix)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let shares: Vec<Share> = (0..SWEEPERS).map(|_| Share::default()).collect();
        let sweepers = shares
            .iter()
            .map(|share| {
                let (stop, share) = (stop.clone(), share.clone());
                std::thread::spawn(move || sweep(&share, &stop))
            })
            .collect();
        // Built before logging in: if a login fails, dropping it stops the sweepers.
        let mut crowd = Crowd { login_time: Duration::ZERO, stop, sweepers };
        let started = Instant::now();
        login_each(args, &names, &|i, pair| {
            let _ = pair.0.stream().set_nonblocking(true);
            let _ = pair.1.stream().set_nonblocking(true);
            shares[i % SWEEPERS].lock().expect("no panic holding it").push(pair);
        })?;
        crowd.login_time = started.elapsed();
        Ok(crowd)
    }
}

/// The connections one sweeper keeps alive; filled while users log in.
type Share = Arc<Mutex<Vec<Both>>>;

impl Drop for Crowd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for sweeper in self.sweepers.drain(..) {
            let _ = sweeper.join();
        }
    }
}

/// Every `KEEPALIVE`: `PING` on each send connection and `PONG` on each
/// receive connection (a `PONG` the server did not ask for is harmless),
/// and read away whatever arrived.
fn sweep(conns: &Share, stop: &AtomicBool) {
    let mut scratch = vec![0u8; 4096];
    let (ping, pong) = (format!("{}\n", Request::Ping), format!("{}\n", EventReply::Pong));
    while !stop.load(Ordering::Relaxed) {
        let round = Instant::now();
        for (send, recv) in conns.lock().expect("no panic holding it").iter() {
            for (conn, frame) in [(send, &ping), (recv, &pong)] {
                let mut stream = conn.stream();
                while matches!(stream.read(&mut scratch), Ok(n) if n > 0) {}
                let _ = stream.write_all(frame.as_bytes());
            }
        }
        while round.elapsed() < KEEPALIVE && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100)); // a keep-alive timer
        }
    }
}
