//! One student's `SEARCH`es against a bystander's `MSG`s.
//!
//! A log of `WACHAT_SEARCH_MESSAGES` messages (default 1,000,000: ana to
//! ten peers, words of a small vocabulary, written by the store itself
//! without fsync, as `examples/search_cost.rs` does), then a real server
//! on it at its default limits. eve, in a room of her own where nobody
//! wrote, searches it for a word found in most messages, repeated 50
//! times (the query's 200 bytes), from 12 connections pipelining as fast as they are answered,
//! for a number of seconds; bob meanwhile sends a `MSG` every 10 ms and
//! times its `OK`. Printed: bob's p50/p99 alone and during the attack,
//! the searches answered and refused (`KO:RATE_LIMITED`), and the
//! server's CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wachat::protocol::{Chat, Text};
use wachat::store::{Hasher, LocalStore, Store, StoreOptions};

use super::Result;
use super::harness::Server;

const PEERS: usize = 10;
const CONNECTIONS: usize = 12;
const ATTACK_SECS: u64 = 10;
const WORDS: [&str; 8] = ["hola", "que", "tal", "the", "lab", "socket", "server", "mañana"];

pub fn search() -> Result<()> {
    let total: usize =
        std::env::var("WACHAT_SEARCH_MESSAGES").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    fill(dir.path(), total)?;
    println!("{total} messages written in {:.1} s", started.elapsed().as_secs_f64());
    // The filler wrote bob's 1M messages: past the default quota, which
    // would refuse the bystander's MSGs for a reason that is not the attack.
    let server = Server::start_in(dir, &["--user-quota", "0"])?;
    let mut eve = server.user("eve")?;
    let reply = eve.request("JOIN:#quiet")?;
    if !reply.starts_with("OK") {
        return Err(reply.into());
    }
    let mut bob = server.login("bob", [127, 0, 0, 1])?;
    // The first search after a start builds the index from the whole log.
    let t = Instant::now();
    let first = eve.request("SEARCH:#quiet:zzz")?;
    println!("first search (builds the index): {first} in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let alone = bystander(&mut bob, 300)?;
    println!("bob's MSG alone:           {}", percentiles(&alone));
    // A word in most messages, as often as a query's 200 bytes allow.
    let query = format!("SEARCH:#quiet:{}", "the ".repeat(50).trim_end());
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut attackers = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut c = server.login("eve", [127, 0, 0, 2])?; // not bob's address
        let (stop, answered, refused, query) =
            (stop.clone(), answered.clone(), refused.clone(), query.clone());
        attackers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(reply) = c.request(&query) else { return };
                let Some(n) = reply.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok()) else {
                    if refused.fetch_add(1, Ordering::Relaxed) == 0 {
                        println!("  first refusal: {reply}");
                    }
                    continue;
                };
                for _ in 0..n {
                    if c.line().is_err() {
                        return;
                    }
                }
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let cpu_before = server.cpu_ms();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(1)); // past the bursts
    let during = bystander(&mut bob, (ATTACK_SECS * 100) as usize)?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = (server.cpu_ms() - cpu_before) as f64 / 1e3;
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.join();
    }
    println!("bob's MSG during the attack: {}", percentiles(&during));
    println!(
        "eve, {CONNECTIONS} connections, {query:.40}…: {} searches answered, {} refused in {secs:.1} s; server CPU {:.2} s/s",
        answered.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        cpu / secs
    );
    Ok(())
}

/// `n` `MSG`s to ana, one every 10 ms; each round trip.
fn bystander(bob: &mut super::harness::Client, n: usize) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for k in 0..n {
        let sent = Instant::now();
        let reply = bob.request(&format!("MSG:ana:b{k}-{}:hello", sent.elapsed().as_nanos()))?;
        if !reply.starts_with("OK:") {
            return Err(format!("bob: {reply}").into());
        }
        samples.push(sent.elapsed());
        std::thread::sleep(Duration::from_millis(10).saturating_sub(sent.elapsed()));
    }
    Ok(samples)
}

fn percentiles(samples: &[Duration]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)", at(0.5), at(0.99), at(1.0), sorted.len())
}

/// The log: `total` messages from ana to ten peers; bob is one of them.
fn fill(dir: &std::path::Path, total: usize) -> Result<()> {
    // No budget: ana's 1M messages are past the default quota.
    let budget = wachat::store::budget::Budget::NONE;
    let options = StoreOptions { fsync: false, report: false, budget, ..StoreOptions::default() };
    let backend = Arc::new(LocalStore::open(dir, options, Box::new(|_| {}))?);
    let store = Store::new(backend.clone(), Hasher::new(8)?);
    let ana = store.register("ana", "", "pw-ana").map_err(|ko| ko.reason)?.0;
    let mut peers = vec![store.register("bob", "", "pw-bob").map_err(|ko| ko.reason)?.0];
    for i in 1..PEERS {
        peers.push(store.register(&format!("peer{i}"), "", "pw").map_err(|ko| ko.reason)?.0);
    }
    let names: Vec<String> =
        (0..PEERS).map(|i| if i == 0 { "bob".into() } else { format!("peer{i}") }).collect();
    let mut sent = 0;
    while sent < total {
        for (i, &peer) in peers.iter().enumerate() {
            let n = 500.min(total - sent);
            if n == 0 {
                break;
            }
            let burst: Vec<_> = (sent..sent + n)
                .map(|k| Ok((Chat::User(names[i].clone()), format!("m{k}"), text(k)?)))
                .collect::<std::result::Result<_, String>>()?;
            let (results, ticket) = store.send(ana, &burst);
            if let Some(Err(ko)) = results.into_iter().find(|r| r.is_err()) {
                return Err(ko.reason.into());
            }
            store.wait(ticket).map_err(|ko| ko.reason)?;
            store.ack(peer, store.inbox_end(peer));
            sent += n;
        }
    }
    // The peers' DELIVERED receipts, as if ana had received them.
    store.ack(ana, store.inbox_end(ana));
    backend.stop();
    Ok(())
}

fn text(k: usize) -> std::result::Result<Text, String> {
    let mut s = String::new();
    let mut i = k;
    while s.len() < 90 {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i = i / 3 + 7;
    }
    s.push_str(&format!("#{k}"));
    Text::from_plain(&s)
}
