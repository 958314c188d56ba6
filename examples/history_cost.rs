//! Times `HISTORY:<peer>:<limit>` inside the store (no socket, no client):
//! what reading a conversation back from the log costs the server.
//!
//! ```sh
//! cargo run --release --example history_cost -- <data-dir> [limit] [requests]
//! ```
//! The data directory must not be in use (stop its server first). It uses
//! the conversations `bench-s<i>` → `bench-r<i>` that `wachat bench` makes.

use std::time::Instant;

use wachat::protocol::Chat;
use wachat::store::{Backend, LocalStore, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: history_cost <data-dir> [limit] [requests]")?;
    let limit: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let requests: usize = args.get(3).map_or(Ok(2000), |s| s.parse())?;
    let store = LocalStore::open(dir.as_ref(), Options::default(), Box::new(|_| {}))?;
    let users: Vec<_> =
        (0..10).filter_map(|i| store.account(&format!("bench-s{i}")).ok().flatten()).collect();
    if users.is_empty() {
        return Err("no bench-s<i> users in this data directory".into());
    }
    let mut times = Vec::with_capacity(requests);
    let mut lines = 0;
    for k in 0..requests {
        let (user, peer) = (&users[k % users.len()], format!("bench-r{}", k % users.len()));
        let started = Instant::now();
        let mut listing =
            store.history(user.id, &Chat::User(peer), limit, usize::MAX).map_err(|ko| ko.reason)?;
        let mut out = String::new();
        while listing.lines.next_chunk(&mut out).map_err(|ko| ko.reason)? {
            lines += out.len();
            out.clear();
        }
        times.push(started.elapsed());
    }
    let warm = &mut times[requests / 10..];
    warm.sort();
    let at = |q: f64| warm[((warm.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "HISTORY:<peer>:{limit} in the store, {} warm requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} bytes each)",
        warm.len(),
        at(0.5),
        at(0.99),
        at(1.0),
        lines / requests
    );
    store.stop();
    Ok(())
}
