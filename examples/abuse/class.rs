//! A class behind one address: 60 clients of the client
//! library, as the consoles use it (each marks read what arrives in its
//! open chat, `#general`), from 127.0.0.1 against a server with its
//! default budgets: all of them say hello within one second, then each
//! writes every 5 s, six times. Played twice: alone, then with a hostile
//! script from the same address (8 connections of one account pipelining
//! `USERS` as fast as they are answered). A bystander on 127.0.0.2 sends
//! a `MSG` every 100 ms meanwhile and times it.
//!
//! Printed: the server's refusals and the class's `Offline` notices, the
//! messages the class saw of the ones sent, how long a message took from
//! its writer to the others' screens (p50, p99, max), the hostile
//! script's requests served and refused a second, the bystander's p50 and
//! p99, and the server's CPU, for each half.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wachat::client::{Client, ClientOptions, Notice};

use super::Result;
use super::harness::Server;

const STUDENTS: usize = 60;
const PACE: Duration = Duration::from_secs(5);
/// Messages each student writes after its hello, one every `PACE`.
const ROUNDS: u32 = 6;

pub fn class() -> Result<()> {
    for hostile in [false, true] {
        play(hostile)?;
    }
    Ok(())
}

/// A class's first minute: 60 students whose accounts were made from
/// another address (127.0.0.2) on a server with the default argon2 cost,
/// which then starts again (no password in its cache of recent logins),
/// all start their clients from 127.0.0.1 within 0.3 s, as the consoles
/// log in: 120 logins, each an argon2 check, four times what the
/// address's failed-login bucket holds in flight. Played three times.
///
/// Printed: how many logged in and how long each took from the start
/// (p50, max), the server's log lines calling a login failed or
/// throttled, its peak memory (the hashes in flight) and CPU.
pub fn first_minute() -> Result<()> {
    for run in 1..=3 {
        let server = Server::start_with_cost(&[], None)?;
        // Made four at a time, from 127.0.0.2.
        std::thread::scope(|scope| {
            let makers: Vec<_> = (0..STUDENTS)
                .step_by(STUDENTS / 4)
                .map(|first| {
                    let server = &server;
                    scope.spawn(move || {
                        for i in first..first + STUDENTS / 4 {
                            let mut conn = server.client([127, 0, 0, 2]).map_err(|e| e.to_string())?;
                            let reply = conn
                                .request(&format!("REGISTER:st{i}::pw-st{i}"))
                                .map_err(|e| e.to_string())?;
                            if !reply.starts_with("OK:") {
                                return Err(format!("st{i}: {reply}"));
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            makers.into_iter().try_for_each(|m| m.join().unwrap_or(Err("panicked".into())))
        })?;
        let server = server.restart()?;
        let data = tempfile::tempdir()?;
        let (cpu_before, rss_before) = (server.cpu_ms(), server.rss_kib());
        let peak = AtomicUsize::new(rss_before as usize);
        let done = AtomicBool::new(false);
        let start = std::sync::Barrier::new(STUDENTS);
        let started = Instant::now();
        let results: Vec<std::result::Result<Duration, String>> = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    peak.fetch_max(server.rss_kib() as usize, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20)); // sampling /proc
                }
            });
            let students: Vec<_> = (0..STUDENTS)
                .map(|i| {
                    let (server, data, start) = (&server, data.path(), &start);
                    scope.spawn(move || {
                        let mut options = ClientOptions::new(&format!("st{i}"), &format!("pw-st{i}"));
                        (options.send_port, options.recv_port) = (server.send.port(), server.recv.port());
                        options.data_dir = data.to_path_buf();
                        options.p2p_port = None;
                        start.wait();
                        let began = Instant::now();
                        let client = Client::connect(options).map_err(|e| e.to_string())?;
                        let took = began.elapsed();
                        drop(client);
                        Ok(took)
                    })
                })
                .collect();
            let results = students.into_iter().map(|s| s.join().unwrap_or(Err("panicked".into()))).collect();
            done.store(true, Ordering::SeqCst);
            results
        });
        let secs = started.elapsed().as_secs_f64();
        let mut took: Vec<f64> = results.iter().flatten().map(|d| d.as_secs_f64()).collect();
        took.sort_by(f64::total_cmp);
        let failed = server.lines_matching(&["failed login", "failed attempts", "throttled"]);
        println!(
            "run {run}: {} of {STUDENTS} logged in; a login p50 {:.2} s, max {:.2} s; server log: {} lines calling a login failed or throttled",
            took.len(),
            took.get(took.len() / 2).copied().unwrap_or(f64::NAN),
            took.last().copied().unwrap_or(f64::NAN),
            failed.len(),
        );
        println!(
            "  server: RSS {} MiB before, peak {} MiB; CPU {:.1} s in {secs:.1} s",
            rss_before / 1024,
            peak.load(Ordering::SeqCst) / 1024,
            (server.cpu_ms() - cpu_before) as f64 / 1000.0,
        );
        for why in results.iter().filter_map(|r| r.as_ref().err()).take(3) {
            println!("  refused: {why}");
        }
        for line in failed.iter().take(3) {
            println!("  server: {line}");
        }
    }
    Ok(())
}

/// What one half measured.
#[derive(Default)]
struct Seen {
    messages: AtomicUsize,
    offline: AtomicUsize,
    /// Milliseconds from a student's `send` to another's screen.
    delays: Mutex<Vec<f64>>,
    /// Why, the first few times.
    why: Mutex<Vec<String>>,
}

fn play(hostile: bool) -> Result<()> {
    let server = Server::start(&[])?;
    let data = tempfile::tempdir()?;
    for i in 0..STUDENTS {
        server.user(&format!("st{i}"))?;
    }
    let mut register = server.client([127, 0, 0, 2])?;
    register.request("REGISTER:bystander::pw-bystander")?;
    let mut register = server.client([127, 0, 0, 3])?;
    register.request("REGISTER:mallory::pw-mallory")?;
    let seen = Arc::new(Seen::default());
    let clients: Vec<Arc<Client>> = (0..STUDENTS)
        .map(|i| {
            let mut options = ClientOptions::new(&format!("st{i}"), &format!("pw-st{i}"));
            (options.send_port, options.recv_port) = (server.send.port(), server.recv.port());
            options.data_dir = data.path().to_path_buf();
            options.p2p_port = None;
            Client::connect(options).map(Arc::new)
        })
        .collect::<std::result::Result<_, _>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let watchers: Vec<_> =
        clients.iter().map(|c| watch(c.clone(), seen.clone(), started, stop.clone())).collect();
    let cpu_before = server.cpu_ms();
    let ends = started + PACE * (ROUNDS + 1);
    let flood = hostile.then(|| flood(&server, ends));
    let bystander = bystander(&server, ends)?;
    let mut sent = 0;
    for (i, client) in clients.iter().enumerate() {
        client.send("#general", &format!("hello from st{i} @{}", started.elapsed().as_micros()))?;
        sent += 1;
    }
    for round in 1..=ROUNDS {
        for (i, client) in clients.iter().enumerate() {
            let at = started + PACE * round + PACE * i as u32 / STUDENTS as u32;
            std::thread::sleep(at.saturating_duration_since(Instant::now())); // the class's pace
            client.send("#general", &format!("on with the lab, st{i} @{}", started.elapsed().as_micros()))?;
            sent += 1;
        }
    }
    std::thread::sleep(ends.saturating_duration_since(Instant::now())); // the last ones arrive, their READs leave
    let secs = started.elapsed().as_secs_f64();
    let cpu = (server.cpu_ms() - cpu_before) as f64 / 1000.0 / secs;
    eprintln!("  (the class has written; waiting for the bystander and the script)");
    let (p50, p99, bystander_sent) = bystander.join().map_err(|_| "the bystander panicked")??;
    stop.store(true, Ordering::SeqCst);
    let refused = server.lines_with(" refused: ");
    println!(
        "{}: the class saw {} of {} messages x {STUDENTS}, {} Offline notices; server refusals logged: {refused}",
        if hostile { "with a hostile script" } else { "alone" },
        seen.messages.load(Ordering::SeqCst),
        sent,
        seen.offline.load(Ordering::SeqCst),
    );
    let mut delays = std::mem::take(&mut *seen.delays.lock().unwrap());
    delays.sort_by(f64::total_cmp);
    if let Some(&max) = delays.last() {
        let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
        println!(
            "  a message, writer to the others' screens: p50 {:.1} ms, p99 {:.1} ms, max {max:.0} ms",
            at(0.5),
            at(0.99)
        );
    }
    if let Some(flood) = flood {
        let (served, denied) = flood.join().map_err(|_| "the flood panicked")?;
        println!(
            "  hostile script: {:.0} requests/s served, {:.0}/s refused",
            served as f64 / secs,
            denied as f64 / secs
        );
    }
    println!(
        "  bystander (another address): {bystander_sent} MSGs, p50 {p50:.2} ms, p99 {p99:.2} ms; server CPU {cpu:.3} s/s"
    );
    for why in seen.why.lock().unwrap().iter() {
        println!("  offline: {why}");
    }
    for line in server.lines_matching(&["WARN", "ERROR", "dropped", "closed"]).iter().take(10) {
        println!("  server: {line}");
    }
    drop(watchers);
    Ok(())
}

/// Reads `client`'s notices as the console does: a message in the open
/// chat is read (`READ`, paced by the client) and timed from the `@`
/// its writer put in it (microseconds since `started`), an `Offline` is
/// counted.
fn watch(
    client: Arc<Client>,
    seen: Arc<Seen>,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match client.events().recv_timeout(Duration::from_millis(100)) {
                Ok(Notice::Message(m)) => {
                    seen.messages.fetch_add(1, Ordering::SeqCst);
                    let text = m.text.to_string();
                    if let Some(at) = text.rsplit_once('@').and_then(|(_, at)| at.parse::<u128>().ok()) {
                        let delay = started.elapsed().as_micros().saturating_sub(at) as f64 / 1000.0;
                        seen.delays.lock().unwrap().push(delay);
                    }
                    let _ = client.read(&m);
                }
                Ok(Notice::Sent(_)) => {
                    seen.messages.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Notice::Offline(why)) => {
                    seen.offline.fetch_add(1, Ordering::SeqCst);
                    let mut whys = seen.why.lock().unwrap();
                    if whys.len() < 3 {
                        whys.push(why);
                    }
                }
                _ => {}
            }
        }
    })
}

/// 8 connections of mallory from the class's address, pipelining `USERS`
/// until `until`: (served, refused).
fn flood(server: &Server, until: Instant) -> std::thread::JoinHandle<(usize, usize)> {
    let conns: Vec<_> = (0..8).filter_map(|_| server.login("mallory", [127, 0, 0, 1]).ok()).collect();
    std::thread::spawn(move || {
        let (served, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for mut conn in conns {
                let (served, refused) = (&served, &refused);
                scope.spawn(move || {
                    while Instant::now() < until {
                        if conn.send(&"USERS\n".repeat(50)).is_err() {
                            return;
                        }
                        for _ in 0..50 {
                            let Ok(head) = conn.line() else { return };
                            match head.strip_prefix("OK:").and_then(|n| n.parse::<usize>().ok()) {
                                Some(n) => {
                                    served.fetch_add(1, Ordering::Relaxed);
                                    (0..n).for_each(|_| drop(conn.line()));
                                }
                                None => _ = refused.fetch_add(1, Ordering::Relaxed),
                            }
                        }
                    }
                });
            }
        });
        (served.into_inner(), refused.into_inner())
    })
}

/// A user on another address: a `MSG` every 100 ms until `until`, timed.
/// (p50, p99 in ms, and how many).
type Timed = std::result::Result<(f64, f64, usize), String>;

fn bystander(server: &Server, until: Instant) -> Result<std::thread::JoinHandle<Timed>> {
    let mut conn = server.login("bystander", [127, 0, 0, 2])?;
    Ok(std::thread::spawn(move || {
        let mut times = Vec::new();
        let mut n = 0;
        while Instant::now() < until {
            n += 1;
            let sent = Instant::now();
            // To mallory, who never reads: nothing of it reaches the class.
            let reply = conn.request(&format!("MSG:mallory:b{n}:still here")).map_err(|e| e.to_string())?;
            if !reply.starts_with("OK:") {
                return Err(reply);
            }
            times.push(sent.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(100)); // a person's pace, or near
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        Ok((at(0.5), at(0.99), times.len()))
    }))
}
