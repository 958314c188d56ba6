//! The idle crowd: many users logged in on both ports who only keep their
//! connections alive. A few sweeper threads serve all of them with
//! non-blocking reads, so the bench itself needs no thread per user.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{BenchArgs, login_all};
use crate::error::Result;

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
    /// Logs in `--idle-users` users and starts keeping them alive.
    pub fn start(args: &BenchArgs) -> Result<Crowd> {
        let names: Vec<String> = (0..args.idle_users).map(|i| format!("{}-i{i}", args.prefix)).collect();
        let started = Instant::now();
        let conns = login_all(args, &names)?;
        let login_time = started.elapsed();
        let stop = Arc::new(AtomicBool::new(false));
        let mut shares: Vec<Vec<super::Both>> = (0..SWEEPERS).map(|_| Vec::new()).collect();
        for (i, pair) in conns.into_iter().enumerate() {
            pair.0.stream().set_nonblocking(true)?;
            pair.1.stream().set_nonblocking(true)?;
            shares[i % SWEEPERS].push(pair);
        }
        let sweepers = shares
            .into_iter()
            .map(|share| {
                let stop = stop.clone();
                std::thread::spawn(move || sweep(share, &stop))
            })
            .collect();
        Ok(Crowd { login_time, stop, sweepers })
    }
}

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
fn sweep(conns: Vec<super::Both>, stop: &AtomicBool) {
    let mut scratch = vec![0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let round = Instant::now();
        for (send, recv) in &conns {
            for (conn, word) in [(send, b"PING\n"), (recv, b"PONG\n")] {
                let mut stream = conn.stream();
                while matches!(stream.read(&mut scratch), Ok(n) if n > 0) {}
                let _ = stream.write_all(word);
            }
        }
        while round.elapsed() < KEEPALIVE && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100)); // a keep-alive timer
        }
    }
}
