//! Crash safety: senders and a receiver keep talking while the server is
//! killed with SIGKILL at random moments and restarted on the same files.
//! At the end, every message that got an `OK` reached the receiver exactly
//! once (one sequence number per message, however often the wire repeated
//! it), in order per sender, and every file loads.
//!
//! The server runs with small log segments and frequent checkpoints, so
//! that kills also land in the middle of a segment roll and of a checkpoint
//! (`src/store/local/tests.rs` crashes at every step of each, on a
//! simulated disk).
//!
//! CI runs a few kills; the long run is
//! `WACHAT_CRASH_KILLS=50 cargo test --release --test store crash:: -- --nocapture`.
//! The random seed is printed; `WACHAT_CRASH_SEED=<seed>` runs the same
//! kill moments again.

use super::support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Random, TestServer};

const SENDERS: usize = 3;
const WINDOW: usize = 50;
const DEADLINE: Duration = Duration::from_secs(60);

/// Connects and logs in, retrying while the server restarts.
fn login(addr: SocketAddr, user: &str) -> Option<(TcpStream, BufReader<TcpStream>)> {
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            let mut reader = BufReader::new(stream.try_clone().ok()?);
            let mut reply = String::new();
            let sent = stream.write_all(format!("LOGIN:{user}:secret\n").as_bytes());
            if sent.is_ok() && reader.read_line(&mut reply).is_ok() && reply.starts_with("OK:") {
                return Some((stream, reader));
            }
        }
        std::thread::sleep(Duration::from_millis(10)); // polling for the restarted server
    }
    None
}

/// Sends `s<k>-<n>` messages until told to stop, then until every one sent
/// has its `OK`. After a broken connection it resends, in order, all that
/// had no `OK` (the ids make that safe). Returns how many got an `OK`.
fn sender(addr: SocketAddr, k: usize, stop: &AtomicBool) -> usize {
    let mut acked = 0; // every id below this one has its OK
    let mut generated = 0;
    loop {
        let Some((mut stream, mut reader)) = login(addr, &format!("s{k}")) else { return acked };
        'connected: loop {
            if stop.load(Ordering::SeqCst) && acked == generated {
                return acked;
            }
            if !stop.load(Ordering::SeqCst) {
                generated = generated.max(acked + WINDOW);
            }
            let burst: String = (acked..generated).map(|n| format!("MSG:r:s{k}-{n}:payload {n}\n")).collect();
            if stream.write_all(burst.as_bytes()).is_err() {
                break 'connected;
            }
            let unanswered = acked..generated;
            for n in unanswered {
                let mut reply = String::new();
                match reader.read_line(&mut reply) {
                    Ok(read) if read > 0 && reply.starts_with(&format!("OK:s{k}-{n}:")) => acked = n + 1,
                    Ok(read) if read > 0 => panic!("s{k}-{n}: {reply}"),
                    _ => break 'connected,
                }
            }
        }
    }
}

/// What the receiver saw: for each (sender, id), the sequence numbers of
/// every copy, in arrival order.
type Seen = Arc<Mutex<Vec<(String, u64)>>>;

fn receiver(addr: SocketAddr, seen: &Seen, done: &AtomicBool) {
    while !done.load(Ordering::SeqCst) {
        let Some((mut stream, mut reader)) = login(addr, "r") else { return };
        let mut last = 0;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
            let fields: Vec<&str> = line.trim_end().splitn(7, ':').collect();
            match fields[0] {
                "MSG" => {
                    last = fields[1].parse().unwrap();
                    seen.lock().unwrap().push((fields[4].to_string(), last));
                }
                "PING" => drop(stream.write_all(b"PONG\n")),
                _ => {}
            }
            // ACK only what is recorded, after each burst.
            if reader.buffer().is_empty()
                && last > 0
                && stream.write_all(format!("ACK:{last}\n").as_bytes()).is_err()
            {
                break;
            }
            if done.load(Ordering::SeqCst) {
                return;
            }
        }
    }
}

#[test]
fn every_ok_survives_random_sigkills_exactly_once_and_in_order() {
    let kills: usize = std::env::var("WACHAT_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(3);
    // Senders go as fast as they can: no --rate limit. A segment roll every
    // ~100 messages, a checkpoint every 300 records.
    let no_limit = ["--rate", "0", "--segment-size", "16384", "--checkpoint-records", "300"];
    let mut server = TestServer::start_restartable(&no_limit);
    let mut setup = server.send_conn();
    for user in (0..SENDERS).map(|k| format!("s{k}")).chain(["r".to_string()]) {
        assert_eq!(setup.request(&format!("REGISTER:{user}::secret")), format!("OK:{user}"));
        setup = server.send_conn();
    }
    let (send_addr, recv_addr) = (server.send, server.recv);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::default();
    let senders: Vec<_> = (0..SENDERS)
        .map(|k| {
            let stop = stop.clone();
            std::thread::spawn(move || sender(send_addr, k, &stop))
        })
        .collect();
    let receiving = {
        let (seen, done) = (seen.clone(), done.clone());
        std::thread::spawn(move || receiver(recv_addr, &seen, &done))
    };

    let seed = std::env::var("WACHAT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        now.as_nanos() as u64 | 1
    });
    println!("crash test seed {seed} (WACHAT_CRASH_SEED={seed} replays it)");
    let mut random = Random(seed);
    for _ in 0..kills {
        // The point of the test: a kill at a moment nobody chose.
        std::thread::sleep(Duration::from_millis(30 + random.below(200)));
        server.kill();
        server.restart_in_place(&no_limit);
    }
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<usize> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let total: usize = acked.iter().sum();

    // Wait until the receiver has a copy of every acknowledged message.
    let started = Instant::now();
    loop {
        let have: std::collections::HashSet<String> =
            seen.lock().unwrap().iter().map(|(id, _)| id.clone()).collect();
        if (0..SENDERS).all(|k| (0..acked[k]).all(|n| have.contains(&format!("s{k}-{n}")))) {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "only {} of {total} messages arrived", have.len());
        std::thread::sleep(Duration::from_millis(20)); // polling the receiver's record
    }
    done.store(true, Ordering::SeqCst);
    server.kill(); // ends the receiver's connection
    receiving.join().unwrap();

    // One sequence number per message, and first copies in order.
    let seen = seen.lock().unwrap();
    let mut seq_of: HashMap<&str, u64> = HashMap::new();
    let mut next_of = [0usize; SENDERS];
    for (id, seq) in seen.iter() {
        if let Some(first) = seq_of.insert(id, *seq) {
            assert_eq!(first, *seq, "{id} was delivered as two different events");
            continue;
        }
        let (k, n) = id[1..].split_once('-').unwrap();
        let (k, n): (usize, usize) = (k.parse().unwrap(), n.parse().unwrap());
        assert_eq!(n, next_of[k], "s{k}: messages out of order");
        next_of[k] += 1;
    }
    // Every file loads, and history holds each acknowledged message once.
    server.restart_in_place(&no_limit);
    let mut r = server.login_send("r", "secret");
    let max = wachat::protocol::MAX_HISTORY; // HISTORY returns the newest `max` at most
    for (k, &count) in acked.iter().enumerate() {
        let ids: Vec<String> = r
            .listing(&format!("HISTORY:s{k}:{max}"))
            .iter()
            .map(|line| line.split(':').nth(2).unwrap().to_string())
            .collect();
        let want: Vec<String> = (count.saturating_sub(max)..count).map(|n| format!("s{k}-{n}")).collect();
        assert_eq!(ids, want, "s{k}");
    }
    let segments = std::fs::read_dir(server.data_dir.join("log")).unwrap().count();
    println!(
        "crash test (seed {seed}): {kills} kills, {total} messages acknowledged and delivered exactly once, \
         {} copies on the wire ({} repeats dropped by (from, id)); {segments} log segments",
        seen.len(),
        seen.len() - seq_of.len()
    );
}
