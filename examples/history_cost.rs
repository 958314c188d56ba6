//! Times `HISTORY:<peer>:<limit>`: inside the store (what reading a
//! conversation back from the log costs the server: no socket, no client),
//! or over the wire against a running server (what a client waits).
//!
//! ```sh
//! cargo run --release --example history_cost -- store <data-dir> [limit] [requests]
//! cargo run --release --example history_cost -- wire <host:send-port> [limit] [requests]
//! ```
//! `store` needs the data directory not in use (stop its server first).
//! Both use the conversations `bench-s<i>` → `bench-r<i>` (password
//! `bench-password`) that `wachat bench` and `examples/fill_store.rs` make.
//! The first tenth of the requests warms the caches and is not counted.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wachat::protocol::Chat;
use wachat::store::{LocalStore, StoreOptions};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: history_cost store <data-dir> | wire <host:port> [limit] [requests]";
    let (mode, target) = (args.get(1).ok_or(usage)?, args.get(2).ok_or(usage)?);
    let limit: usize = args.get(3).map_or(Ok(1000), |s| s.parse())?;
    let requests: usize = args.get(4).map_or(Ok(2000), |s| s.parse())?;
    let (mut times, bytes) = match mode.as_str() {
        "store" => in_store(target, limit, requests)?,
        "wire" => over_the_wire(target, limit, requests)?,
        _ => return Err(usage.into()),
    };
    let warm = &mut times[requests / 10..];
    warm.sort();
    let at = |q: f64| warm[((warm.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "HISTORY:<peer>:{limit} ({mode}), {} warm requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} bytes each)",
        warm.len(),
        at(0.5),
        at(0.99),
        at(1.0),
        bytes / requests
    );
    Ok(())
}

fn in_store(dir: &str, limit: usize, requests: usize) -> Result<(Vec<Duration>, usize)> {
    let store = LocalStore::open(dir.as_ref(), StoreOptions::default(), Box::new(|_| {}))?;
    let users: Vec<_> = (0..10).filter_map(|i| store.account(&format!("bench-s{i}"))).collect();
    if users.is_empty() {
        return Err("no bench-s<i> users in this data directory".into());
    }
    let (mut times, mut bytes) = (Vec::with_capacity(requests), 0);
    for k in 0..requests {
        let (user, peer) = (&users[k % users.len()], format!("bench-r{}", k % users.len()));
        let started = Instant::now();
        let mut listing =
            store.history(user.id, &Chat::User(peer), limit, usize::MAX).map_err(|ko| ko.reason)?;
        let mut out = String::new();
        while listing.lines.next_chunk(&mut out).map_err(|ko| ko.reason)? {
            bytes += out.len();
            out.clear();
        }
        times.push(started.elapsed());
    }
    store.stop();
    Ok((times, bytes))
}

fn over_the_wire(addr: &str, limit: usize, requests: usize) -> Result<(Vec<Duration>, usize)> {
    let mut conns = Vec::new();
    for i in 0..10 {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        let mut conn = (stream.try_clone()?, BufReader::new(stream));
        let reply = request(&mut conn, &format!("LOGIN:bench-s{i}:bench-password"))?;
        if !reply.starts_with("OK:") {
            return Err(format!("LOGIN bench-s{i}: {reply}").into());
        }
        conns.push(conn);
    }
    let (mut times, mut bytes) = (Vec::with_capacity(requests), 0);
    let mut line = String::new();
    for k in 0..requests {
        let conn = &mut conns[k % 10];
        let started = Instant::now();
        let head = request(conn, &format!("HISTORY:bench-r{}:{limit}", k % 10))?;
        let n: usize = head.strip_prefix("OK:").ok_or_else(|| format!("HISTORY: {head}"))?.parse()?;
        for _ in 0..n {
            line.clear();
            bytes += conn.1.read_line(&mut line)?;
        }
        times.push(started.elapsed());
    }
    Ok((times, bytes))
}

fn request(conn: &mut (TcpStream, BufReader<TcpStream>), line: &str) -> Result<String> {
    conn.0.write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    conn.1.read_line(&mut reply)?;
    Ok(reply.trim_end().to_string())
}
