//! Times `SEARCH:*` (protocol 1.2) inside the store, over a million
//! stored messages, and the server's memory before and after searching.
//!
//! ```sh
//! cargo run --release --example search_cost -- /tmp/search [messages] [requests]
//! ```
//!
//! Fills a fresh data directory (no fsync while filling) with `messages`
//! (default 1,000,000): `ana` writes to 10 users, 100-byte texts of words
//! from a small vocabulary, so every one of her chats is searched by
//! `SEARCH:*`. Then times three kinds of query, each `requests` times
//! (default 50, the first tenth not counted):
//!
//! - a word in most messages (`hola`): the 50 newest matches come at once;
//! - a word in one message of 20,000 (`ornitorrinco`, written `Ornitorrínco`):
//!   the scan reads ~1,000,000 / 20,000 × 50 = the whole log to find 50;
//! - a word in no message: the scan reads every message (the worst case).
//!
//! Each line also says what the last search read of the log, and whether
//! it stopped at its bound (`store::search::MAX_READ_BYTES`).
//! A bystander's latency while one student searches: `cargo run --release
//! --example abuse -- search`.
//!
//! RSS is read from /proc/self/status, after the fill, after the first
//! search (which builds the index from the whole log) and after the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wachat::protocol::{Chat, Text};
use wachat::store::search::{MAX_RESULTS, Query};
use wachat::store::{Hasher, LocalStore, Store, StoreOptions};

const PEERS: usize = 10;
const BURST: usize = 500;
const WORDS: [&str; 8] = ["hola", "que", "tal", "the", "lab", "socket", "server", "mañana"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: search_cost <new data-dir> [messages] [requests]")?;
    let total: usize = args.get(2).map_or(Ok(1_000_000), |s| s.parse())?;
    let requests: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let options = StoreOptions { fsync: false, report: false, ..StoreOptions::default() };
    let backend = Arc::new(LocalStore::open(dir.as_ref(), options, Box::new(|_| {}))?);
    let store = Store::new(backend.clone(), Hasher::new(8)?);
    let ana = store.register("ana", "", "password1").map_err(|ko| ko.reason)?.0;
    let mut peers = Vec::new();
    for i in 0..PEERS {
        peers.push(store.register(&format!("peer{i}"), "", "password1").map_err(|ko| ko.reason)?.0);
    }
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        for (i, &peer) in peers.iter().enumerate() {
            let n = BURST.min(total - sent);
            if n == 0 {
                break;
            }
            let to = Chat::User(format!("peer{i}"));
            let mut burst = Vec::with_capacity(n);
            for k in sent..sent + n {
                burst.push((to.clone(), format!("m{k}"), text(k)?));
            }
            let (results, ticket) = store.send(ana, &burst);
            if let Some(Err(ko)) = results.into_iter().find(Result::is_err) {
                return Err(ko.reason.into());
            }
            store.wait(ticket).map_err(|ko| ko.reason)?;
            store.ack(peer, store.inbox_end(peer));
            sent += n;
        }
    }
    println!("{sent} messages stored in {:.1} s; RSS {} MiB", started.elapsed().as_secs_f64(), rss_mib());
    let chats: Vec<Chat> = (0..PEERS).map(|i| Chat::User(format!("peer{i}"))).collect();
    // The first search after a start builds the index from the whole log.
    let t = Instant::now();
    backend.search(ana, &chats, &Query::new("zzz"), MAX_RESULTS).map_err(|ko| ko.reason)?;
    println!("first search (builds the index): {:.0} ms; RSS {} MiB", ms(t.elapsed()), rss_mib());
    for (what, words) in [
        ("a word in most messages", "HOLA"),
        ("a word in 1 of 20,000", "ornitorrinco"),
        ("a word in none", "zzz"),
    ] {
        let query = Query::new(words);
        let mut times = Vec::with_capacity(requests);
        let (mut found, mut reading) = (0, Default::default());
        for _ in 0..requests {
            let t = Instant::now();
            let (lines, read) =
                backend.search_reading(ana, &chats, &query, MAX_RESULTS).map_err(|ko| ko.reason)?;
            times.push(t.elapsed());
            (found, reading) = (lines.len(), read);
        }
        let warm = &mut times[requests / 10..];
        warm.sort();
        let at = |q: f64| ms(warm[((warm.len() - 1) as f64 * q) as usize]);
        let reading: wachat::store::local::search::Reading = reading;
        println!(
            "SEARCH:*:{words} ({what}): {found} found; p50 {:.1} ms, p99 {:.1} ms over {} warm requests; \
             read {:.1} MiB, {} records{}",
            at(0.5),
            at(0.99),
            warm.len(),
            reading.bytes as f64 / (1 << 20) as f64,
            reading.records,
            if reading.cut { ", cut at the bound" } else { "" }
        );
    }
    println!("RSS after the searches: {} MiB", rss_mib());
    backend.stop();
    Ok(())
}

/// Message `k`: words of the vocabulary, `Ornitorrínco` once in 20,000.
fn text(k: usize) -> Result<Text, String> {
    let mut s = String::new();
    let mut i = k;
    while s.len() < 90 {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i = i / 3 + 7;
    }
    if k % 20_000 == 7 {
        s.push_str("Ornitorrínco");
    }
    s.push_str(&format!(" #{k}"));
    Text::from_plain(&s)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The resident set of this process, from /proc (0 elsewhere).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kb / 1024
}
