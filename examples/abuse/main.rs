//! Plays attacks on the server's resources (docs/RELIABILITY.md) against a real `wachat serve` and prints
//! what each one costs the server, for docs/RELIABILITY.md. The tests in
//! `tests/attacks/hardening.rs` check that each limit holds; this measures how
//! well (memory, threads, seconds), which a shared machine makes too noisy
//! for a test.
//!
//!     cargo build --release && cargo run --release --example abuse
//!     cargo run --release --example abuse -- history trickle   # some of them
//!     cargo run --release --example abuse -- search   # SEARCH against a bystander
//!     cargo run --release --example abuse -- class    # 60 clients behind one address, then a hostile one
//!     cargo run --release --example abuse -- class-first-minute   # 60 fresh accounts logging in at once
//!
//! `ws-pongs` plays the web port, with WebSockets written by
//! hand (`web.rs`).
//!
//! Each attack starts its own server (the release binary next to this
//! example, or `WACHAT_BIN`) on free ports with a temporary data directory,
//! and reads its log and `/proc/<pid>` (Linux). Clients come from several
//! loopback addresses (127.0.0.1, 127.0.0.2, …) to play several machines.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod class;
mod harness;
mod search;
mod web;

use harness::{Client, Server, count, median_ms};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// An attack: it starts its own server(s), plays, and prints its figures.
type Attack = fn() -> Result<()>;

fn main() -> Result<()> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let attacks: &[(&str, Attack)] = &[
        ("history", history),
        ("trickle", trickle),
        ("register", register_flood),
        ("lockout", lockout),
        ("enumerate", enumerate),
        ("rate", rate),
        ("per-address", per_address),
        ("multiply", multiply),
        ("ws-pongs", web::ws_pongs),
        ("search", search::search),
        ("topic-flood", topic_flood),
        ("class", class::class),
        ("class-first-minute", class::first_minute),
    ];
    for &(name, attack) in attacks {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("== {name}");
            attack()?;
            println!();
        }
    }
    Ok(())
}

// ----- the attacks ---------------------------------------------------------

/// 100 pipelined `HISTORY` of a 1.2 MB room, never read.
fn history() -> Result<()> {
    let timeout = 3;
    let server = Server::start(&["--timeout", &timeout.to_string(), "--rate", "0"])?;
    let mut ana = server.user("ana")?;
    let text = "x".repeat(4000);
    let burst: String = (0..300).map(|i| format!("MSG:#general:big{i}:{text}\n")).collect();
    ana.send(&burst)?;
    for _ in 0..300 {
        ana.line()?;
    }
    let rss_before = server.rss_kib();
    let mut hog = server.login("ana", [127, 0, 0, 1])?;
    let sent = Instant::now();
    hog.send(&"HISTORY:#general:1000000\n".repeat(100))?;
    let mut peak = rss_before;
    let dropped = loop {
        peak = peak.max(server.rss_kib());
        if let Some(at) = server.logged("did not read its replies") {
            break at.duration_since(sent);
        }
        if sent.elapsed() > Duration::from_secs(10 * timeout) {
            return Err("the hog was never dropped".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("room of 1.2 MB, 100 × HISTORY:#general:1000000 never read, --timeout {timeout}");
    println!("  RSS growth (peak): {:.1} MiB", (peak - rss_before) as f64 / 1024.0);
    println!("  dropped after:     {:.2} s (target ≤ {} s)", dropped.as_secs_f64(), 2 * timeout);
    drop(hog);

    // The worst room (1,000 of the longest lines: 8 MB) and 100 hogs on
    // 100 connections, one HISTORY each.
    let server = Server::start(&["--timeout", &timeout.to_string(), "--rate", "0"])?;
    let mut ana = server.user("ana")?;
    let longest = "\\n".repeat(4096); // 4,096 newlines, escaped: 8 KiB
    for part in 0..10 {
        let burst: String = (0..100).map(|i| format!("MSG:#general:w{part}-{i}:{longest}\n")).collect();
        ana.send(&burst)?;
        for _ in 0..100 {
            ana.line()?;
        }
    }
    let rss_before = server.rss_kib();
    let mut hogs = Vec::new();
    for _ in 0..100 {
        let mut hog = server.login("ana", [127, 0, 0, 1])?;
        hog.send("HISTORY:#general:1000\n")?;
        hogs.push(hog);
    }
    let started = Instant::now();
    let mut peak = rss_before;
    while started.elapsed() < Duration::from_secs(2 * timeout) {
        peak = peak.max(server.rss_kib());
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "room of 1,000 × 8 KiB lines, 100 connections each sending one HISTORY:#general:1000, never read"
    );
    println!("  RSS growth (peak): {:.1} MiB", (peak - rss_before) as f64 / 1024.0);
    drop(hogs);

    // The same hog, with a write deadline longer than anyone would wait.
    let server = Server::start(&["--timeout", "60", "--rate", "0"])?;
    let mut ana = server.user("ana")?;
    ana.send(&burst)?;
    for _ in 0..300 {
        ana.line()?;
    }
    let mut hog = server.login("ana", [127, 0, 0, 1])?;
    hog.send(&"HISTORY:#general:1000000\n".repeat(100))?;
    std::thread::sleep(Duration::from_millis(500)); // let it fill the buffers and block
    let stopped = server.terminate()?;
    println!("  SIGTERM with a blocked hog (--timeout 60): exited in {:.2} s", stopped.as_secs_f64());
    Ok(())
}

/// 40 clients that trickle a byte every 0.4 s, before and after `KO:TIMEOUT`.
fn trickle() -> Result<()> {
    let timeout = 3;
    let server = Server::start(&["--timeout", &timeout.to_string()])?;
    let idle_threads = server.threads();
    let started = Instant::now();
    let tricklers: Vec<_> = (0..40).map(|_| spawn_trickler(server.send)).collect();
    let mut peak = idle_threads;
    let freed = loop {
        let threads = server.threads();
        peak = peak.max(threads);
        if started.elapsed() > Duration::from_secs(1) && threads <= idle_threads {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(30 * timeout) {
            return Err(format!("{threads} threads still busy").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for t in tricklers {
        let _ = t.join();
    }
    println!("40 clients trickling a byte every 0.4 s, --timeout {timeout}");
    println!("  server threads: {idle_threads} idle, {peak} at the peak");
    println!("  all freed after: {:.2} s (target ≤ {} s)", freed.as_secs_f64(), 3 * timeout);

    // With room for 10 connections: how long are other clients refused?
    let server = Server::start(&["--timeout", &timeout.to_string(), "--max-connections", "10"])?;
    let started = Instant::now();
    let tricklers: Vec<_> = (0..10).map(|_| spawn_trickler(server.send)).collect();
    std::thread::sleep(Duration::from_millis(200)); // the tricklers are in
    let mut busy = 0;
    let served = loop {
        let mut c = Client::connect(server.send, [127, 0, 0, 2])?;
        match c.request("PING") {
            Ok(reply) if !reply.starts_with("KO:BUSY") => break started.elapsed(),
            _ => busy += 1,
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for t in tricklers {
        let _ = t.join();
    }
    println!(
        "  --max-connections 10 held by 10 tricklers: another client served after {:.2} s ({busy} KO:BUSY before)",
        served.as_secs_f64()
    );
    Ok(())
}

/// A client that writes one byte every 0.4 s until the server hangs up.
fn spawn_trickler(addr: SocketAddr) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut stream) = TcpStream::connect(addr) else { return };
        for _ in 0..500 {
            if stream.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    })
}

/// 200 `REGISTER`s from one address, and 400 at once from 400 addresses,
/// while another user logs in (argon2 at its default cost).
fn register_flood() -> Result<()> {
    let server = Server::start_with_cost(&[], None)?;
    let mut c = server.client([127, 0, 0, 1])?;
    let (mut ok, mut limited) = (0, 0);
    let started = Instant::now();
    for i in 0..200 {
        let reply = c.request(&format!("REGISTER:flood{i}::secret"))?;
        if reply.starts_with("OK:") {
            ok += 1;
            c = server.client([127, 0, 0, 1])?;
        } else if reply.starts_with("KO:RATE_LIMITED") {
            limited += 1;
        }
    }
    println!("200 REGISTERs in a row from one address (default --kdf-cost)");
    println!("  {ok} created, {limited} KO:RATE_LIMITED, in {:.2} s", started.elapsed().as_secs_f64());

    // Logins of users whose password the server has not checked since it
    // started (so each costs a full argon2 check), alone, then during a
    // flood of 400 registrations at once.
    for i in 0..10 {
        server.client([127, 0, 0, 9])?.request(&format!("REGISTER:bob{i}::secret"))?;
    }
    let server = server.restart()?;
    let login = |i: usize| -> Result<Duration> {
        let mut c = server.client([127, 0, 0, 9])?;
        let started = Instant::now();
        let reply = c.request(&format!("LOGIN:bob{i}:secret"))?;
        if !reply.starts_with("OK:") {
            return Err(reply.into());
        }
        Ok(started.elapsed())
    };
    let alone: Vec<Duration> = (0..5).map(login).collect::<Result<_>>()?;
    let flood: Vec<_> = (0..400u32)
        .map(|i| {
            let send = server.send;
            std::thread::spawn(move || -> Option<String> {
                let mut c = Client::connect(send, [127, 0, 3 + (i / 250) as u8, 1 + (i % 250) as u8]).ok()?;
                c.request(&format!("REGISTER:crowd{i}::secret")).ok()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200)); // the flood is queued
    let during: Vec<Duration> = (5..10).map(login).collect::<Result<_>>()?;
    let flood_started = Instant::now();
    let replies: Vec<String> = flood.into_iter().filter_map(|t| t.join().ok().flatten()).collect();
    let created = replies.iter().filter(|r| r.starts_with("OK:")).count();
    println!(
        "400 REGISTERs at once from 400 addresses ({created} created, the last {:.1} s after the logins)",
        flood_started.elapsed().as_secs_f64()
    );
    println!(
        "  LOGIN from another address (median of 5, each a full argon2 check): alone {} ms, \
         during the flood {} ms (max {} ms; target < 1000 ms)",
        median_ms(&alone),
        median_ms(&during),
        during.iter().max().map_or(0, Duration::as_millis)
    );
    fresh_during_flood()
}

/// A flood of `REGISTER`s from 70 addresses (each until refused), while
/// classmates on fresh addresses register, one every 250 ms; then 5 more
/// after the flood.
fn fresh_during_flood() -> Result<()> {
    let server = Server::start(&[])?;
    let send = server.send;
    let flood = std::thread::spawn(move || {
        let mut n = 0;
        for i in 0..70u8 {
            for _ in 0..70 {
                let Ok(mut c) = Client::connect(send, [127, 0, 7, i + 1]) else { continue };
                let reply = c.request(&format!("REGISTER:flood{n}::secret")).unwrap_or_default();
                n += 1;
                if reply.contains("from your address") {
                    break;
                }
            }
        }
        n
    });
    let mut during = Vec::new();
    let mut k = 0u8;
    while !flood.is_finished() && k < 200 {
        k += 1;
        during.push(server.client([127, 0, 8, k])?.request(&format!("REGISTER:mate{k}::pw-mate"))?);
        std::thread::sleep(Duration::from_millis(250));
    }
    let sent = flood.join().map_err(|_| "the flood panicked")?;
    let after: Vec<String> = (1..=5u8)
        .map(|i| server.client([127, 0, 9, i])?.request(&format!("REGISTER:late{i}::pw-late")))
        .collect::<Result<_>>()?;
    println!(
        "{sent} REGISTERs from 70 addresses (each until its own cap), classmates on fresh addresses meanwhile"
    );
    println!(
        "  fresh addresses admitted: {} of {} during the flood, {} of 5 after it",
        count(&during, "OK:"),
        during.len(),
        count(&after, "OK:")
    );
    Ok(())
}

/// 20 wrong guesses at bob from a stranger's address, then bob from his;
/// and 100 guesses from 100 addresses.
fn lockout() -> Result<()> {
    let server = Server::start(&[])?;
    server.client([127, 0, 0, 2])?.request("REGISTER:bob::pw-bob")?;
    let mut stranger = Vec::new();
    for _ in 0..20 {
        stranger.push(server.client([127, 0, 0, 3])?.request("LOGIN:bob:guess")?);
    }
    let bob = server.client([127, 0, 0, 2])?.request("LOGIN:bob:pw-bob")?;
    println!("20 wrong guesses at bob from 127.0.0.3, then bob from 127.0.0.2");
    println!(
        "  stranger: {} AUTH_FAILED, {} RATE_LIMITED; bob: {bob}",
        count(&stranger, "KO:AUTH_FAILED"),
        count(&stranger, "KO:RATE_LIMITED")
    );
    let mut swarm = Vec::new();
    let started = Instant::now();
    for i in 0..100u8 {
        swarm.push(server.client([127, 0, 4, i + 1])?.request("LOGIN:bob:guess")?);
    }
    let bob = server.client([127, 0, 0, 2])?.request("LOGIN:bob:pw-bob")?;
    println!("100 guesses at bob from 100 addresses, in {:.2} s", started.elapsed().as_secs_f64());
    println!(
        "  {} checked (AUTH_FAILED), {} refused unchecked (RATE_LIMITED); bob from his address: {bob}",
        count(&swarm, "KO:AUTH_FAILED"),
        count(&swarm, "KO:RATE_LIMITED")
    );
    let server = server.restart()?;
    let codes: Vec<String> = (0..60u8)
        .map(|i| server.client([127, 0, 5, i + 1])?.request("PAIR:bob@x:wrongcode0"))
        .collect::<Result<_>>()?;
    let bob = server.client([127, 0, 6, 1])?.request("LOGIN:bob:pw-bob")?;
    println!("60 wrong PAIR codes for bob from 60 addresses, then bob's password from a new one");
    println!(
        "  {} AUTH_FAILED, {} RATE_LIMITED; bob: {bob} (codes have buckets of their own)",
        count(&codes, "KO:AUTH_FAILED"),
        count(&codes, "KO:RATE_LIMITED")
    );
    nat_spray(server)
}

/// A lab behind one NAT (127.0.0.50): 4 classmates who logged in from
/// there, and a neighbour spraying guesses at 100 names (theirs among
/// them), 10 a second, while each classmate logs in 15 times with the
/// right password; before a restart and after it.
fn nat_spray(server: Server) -> Result<()> {
    const NAT: [u8; 4] = [127, 0, 0, 50];
    let classmates = ["ana", "bea", "cai", "dov"];
    for name in classmates {
        server.client(NAT)?.request(&format!("REGISTER:{name}::pw-{name}"))?;
    }
    let during = |server: &Server| -> Result<Vec<usize>> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sprayer = {
            let (send, stop) = (server.send, stop.clone());
            std::thread::spawn(move || {
                let mut names: Vec<String> = classmates.iter().map(|n| n.to_string()).collect();
                names.extend((0..96).map(|i| format!("name{i}")));
                for name in names.iter().cycle() {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(mut c) = Client::connect(send, NAT) {
                        let _ = c.request(&format!("LOGIN:{name}:guess"));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        std::thread::sleep(Duration::from_secs(5)); // the address's budget is spent
        let mut admitted = vec![0; classmates.len()];
        for _ in 0..15 {
            for (i, name) in classmates.iter().enumerate() {
                let reply = server.client(NAT)?.request(&format!("LOGIN:{name}:pw-{name}"))?;
                admitted[i] += usize::from(reply.starts_with("OK:"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = sprayer.join();
        Ok(admitted)
    };
    let before = during(&server)?;
    let server = server.restart()?;
    let after = during(&server)?;
    println!("a neighbour at the classmates' NAT sprays 100 names (theirs among them), 10 a second;");
    println!("each of 4 classmates logs in 15 times with the right password (target: >= 14 each)");
    println!("  before a restart: {before:?} of 15; after it: {after:?} of 15");
    Ok(())
}

/// Probing which of 100 names exist with `REGISTER:<name>::guessing`.
fn enumerate() -> Result<()> {
    let server = Server::start_with_cost(&[], None)?;
    for i in 0..50 {
        server.client([127, 0, 0, 1])?.request(&format!("REGISTER:user{i}::secret"))?;
    }
    let mut prober = server.client([127, 0, 0, 5])?;
    let mut replies = Vec::new();
    let started = Instant::now();
    for i in 0..100 {
        replies.push(prober.request(&format!("REGISTER:user{i}::guessing"))?);
        if replies.last().is_some_and(|r| r.starts_with("OK:")) {
            prober = server.client([127, 0, 0, 5])?;
        }
    }
    let elapsed = started.elapsed();
    println!("REGISTER:<name>::x for 100 names (50 exist) from one address (default --kdf-cost)");
    println!(
        "  {} USER_EXISTS, {} created, {} RATE_LIMITED, in {:.2} s",
        count(&replies, "KO:USER_EXISTS"),
        count(&replies, "OK:"),
        count(&replies, "KO:RATE_LIMITED"),
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// 200 pipelined requests of each kind with `--rate 5` (burst by default).
fn rate() -> Result<()> {
    let server = Server::start(&["--rate", "5"])?;
    let mut ana = server.user("ana")?;
    println!("--rate 5 (no --rate-burst): 200 pipelined requests of one kind, one user");
    for (kind, request) in [
        ("JOIN", "JOIN:#r{i}"),
        ("READ", "READ:#general:none{i}"),
        ("HISTORY", "HISTORY:#general:10"),
        ("USERS", "USERS"),
    ] {
        std::thread::sleep(Duration::from_secs(3)); // a full bucket for each kind
        let burst: String = (0..200).map(|i| request.replace("{i}", &i.to_string()) + "\n").collect();
        ana.send(&burst)?;
        let mut limited = 0;
        for _ in 0..200 {
            let reply = ana.line()?;
            if reply.starts_with("KO:RATE_LIMITED") {
                limited += 1;
            } else if let Some(n) = reply.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok())
                && (kind == "USERS" || kind == "HISTORY")
            {
                for _ in 0..n {
                    ana.line()?; // the listing's lines
                }
            }
        }
        println!("  {kind:8} {:3} served, {limited:3} KO:RATE_LIMITED", 200 - limited);
    }
    Ok(())
}

/// The owner of a room sends `TOPIC`s as fast as the
/// server takes them for 10 s, from one address. Each one that changes
/// the topic stores a `RULE` record and its notice (a `MSG`): what it
/// costs the disk, with the default limits and then with a quota of
/// 100 KiB, which a moderation pays from as a message does.
fn topic_flood() -> Result<()> {
    const SECONDS: u64 = 10;
    for args in [&[][..], &["--user-quota", "100KiB"][..]] {
        let server = Server::start(args)?;
        let mut ana = server.user("ana")?;
        if ana.request("JOIN:#lab3")? != "OK" {
            return Err("ana could not make #lab3".into());
        }
        let before = server.data_bytes();
        let (mut ok, mut full, mut limited, mut i) = (0u64, 0u64, 0u64, 0u64);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(SECONDS) {
            let burst: String = (i..i + 100)
                .map(|n| format!("TOPIC:#lab3:deadline moved to friday 23:59, room 4.12, version {n}\n"))
                .collect();
            i += 100;
            ana.send(&burst)?;
            for _ in 0..100 {
                let reply = ana.line()?;
                match reply.split(':').nth(1) {
                    _ if reply == "OK" => ok += 1,
                    Some("FULL") => full += 1,
                    Some("RATE_LIMITED") => limited += 1,
                    _ => return Err(format!("unexpected reply {reply}").into()),
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(300)); // the last batch on disk
        let grown = server.data_bytes().saturating_sub(before);
        let limits = if args.is_empty() { "default limits".to_string() } else { args.join(" ") };
        println!("TOPIC flood from one address for {SECONDS} s, {limits}: {i} sent");
        println!("  accepted: {ok} ({:.0} records/s: a RULE and a notice each)", 2.0 * ok as f64 / secs);
        println!("  KO:FULL: {full}, KO:RATE_LIMITED: {limited}");
        println!("  disk:     {:.1} KB/s ({} KB in all)", grown as f64 / 1000.0 / secs, grown / 1000);
    }
    Ok(())
}

/// 300 connections from one address with the default `--max-per-address`.
fn per_address() -> Result<()> {
    let server = Server::start(&[])?;
    let conns: Vec<Client> = (0..300).map(|_| server.client([127, 0, 0, 1])).collect::<Result<_>>()?;
    std::thread::sleep(Duration::from_millis(500)); // every refusal is written
    let mut busy = 0;
    for c in &conns {
        c.stream.set_nonblocking(true)?;
        let mut head = [0u8; 7];
        if matches!((&c.stream).read(&mut head), Ok(7) if &head == b"KO:BUSY") {
            busy += 1;
        }
    }
    let mut other = server.client([127, 0, 0, 2])?;
    let reply = other.request("PING")?;
    println!("300 connections at once from one address (default --max-per-address)");
    println!("  {} served, {busy} KO:BUSY; another address meanwhile: {reply}", conns.len() - busy);
    Ok(())
}

/// Accounts multiplying a rate: 40 accounts from 40 addresses, each
/// sending at a steady pace, while ana sends one message every 10 ms and
/// times its `OK`: nobody else; 1,000 msgs/s each (the default `--rate`)
/// with no per-address limit (`--address-rate 0`); each at its address's
/// limit (the default `--address-rate`); and each offering 1,000 a
/// second anyway.
fn multiply() -> Result<()> {
    let configs: [(&str, &[&str], usize, u64); 4] = [
        ("nobody else", &[], 0, 0),
        (
            "40 addresses at 1,000 msgs/s each, --address-rate 0 (no per-address limit)",
            &["--address-rate", "0"],
            40,
            1000,
        ),
        ("40 addresses at their --address-rate (200 msgs/s each)", &[], 40, 200),
        ("40 addresses offering 1,000 msgs/s each, default --address-rate", &[], 40, 1000),
    ];
    for (label, args, hostiles, per_sec) in configs {
        let server = Server::start(args)?;
        server.user("sink")?;
        let mut conns = Vec::new();
        for i in 0..hostiles as u8 {
            let mut c = server.client([127, 0, 10, i + 1])?;
            let reply = c.request(&format!("REGISTER:h{i}::pw-h{i}"))?;
            if !reply.starts_with("OK:") {
                return Err(reply.into());
            }
            conns.push(c);
        }
        let mut ana = server.user("ana")?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let stop = stop.clone();
                std::thread::spawn(move || -> (usize, u64) {
                    let (mut ok, mut n) = (0, 0u64);
                    let started = Instant::now();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // 10 messages at a time, paced to per_sec.
                        let burst: String =
                            (0..10).map(|k| format!("MSG:sink:h{i}m{}:spam\n", n + k)).collect();
                        if c.send(&burst).is_err() {
                            break;
                        }
                        for _ in 0..10 {
                            match c.line() {
                                Ok(reply) if reply.starts_with("OK:") => ok += 1,
                                Ok(_) => {}
                                Err(_) => return (ok, n),
                            }
                        }
                        n += 10;
                        let due = started + Duration::from_secs_f64(n as f64 / per_sec as f64);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    (ok, n)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(3)); // the flood is on, past its bursts
        let started = Instant::now();
        let mut samples = Vec::new();
        for k in 0..500 {
            let sent = Instant::now();
            let reply = ana.request(&format!("MSG:sink:ana{k}:hello"))?;
            if !reply.starts_with("OK:") {
                return Err(format!("ana: {reply}").into());
            }
            samples.push(sent.elapsed());
            std::thread::sleep(Duration::from_millis(10).saturating_sub(sent.elapsed()));
        }
        let elapsed = started.elapsed().as_secs_f64() + 3.0;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (ok, offered) =
            threads.into_iter().filter_map(|t| t.join().ok()).fold((0, 0), |(a, b), (ok, n)| (a + ok, b + n));
        samples.sort();
        let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
        println!("{label}");
        println!(
            "  hostile: {:.0} msgs/s stored of {:.0} offered; ana's MSG round trip p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ok as f64 / elapsed,
            offered as f64 / elapsed,
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            samples[samples.len() - 1].as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
