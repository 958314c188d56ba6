//! A class behind one address (a campus NAT): 60 real consoles
//! (`wachat connect`) from 127.0.0.1 against a server with its default
//! budgets, chatting at class pace in one room: all of them say hello
//! within one second, then each writes every 5 s. Not one request may be
//! refused, no console may go offline, and none may print a log line
//! among the messages. Then a hostile script from the same address: it
//! is held to the address's budget (its burst, then `--address-rate`),
//! and a bystander on another address is served meanwhile.

use super::support;

use std::time::{Duration, Instant};

use support::console::Console;
use support::{Conn, READ_TIMEOUT, TestServer};

const STUDENTS: usize = 60;
/// Messages each student writes after the first, one every [`PACE`].
const ROUNDS: usize = 3;
const PACE: Duration = Duration::from_secs(5);

/// The server's log lines that say a limit refused something.
fn refusals(server: &TestServer) -> Vec<String> {
    server.log().into_iter().filter(|l| l.contains(" refused: ") || l.contains("throttled")).collect()
}

/// Waits until every console has printed `n` messages of the class
/// (their texts start with `m-`), or fails naming the ones behind.
fn all_see(consoles: &mut [Console], n: usize) {
    let deadline = Instant::now() + 6 * READ_TIMEOUT;
    loop {
        let behind: Vec<(usize, usize)> = consoles
            .iter_mut()
            .enumerate()
            .map(|(i, c)| (i, c.count(": m-")))
            .filter(|(_, seen)| *seen < n)
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "consoles (index, messages seen) still behind {n}: {behind:?}");
        std::thread::sleep(Duration::from_millis(100)); // polling the consoles' output
    }
}

#[test]
fn sixty_consoles_behind_one_address_chat_at_class_pace_without_a_refusal() {
    let server = TestServer::start_with(&["--timeout", "600", "--metrics", "0"]);
    let names: Vec<String> = (0..STUDENTS).map(|i| format!("st{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    server.register(&refs);
    let dir = tempfile::tempdir().unwrap();
    let mut consoles: Vec<Console> = names
        .iter()
        .map(|name| {
            let mut console = Console::connected(&server, name, dir.path(), &["--timeout", "600"]);
            console.type_line("/chat #general");
            console
        })
        .collect();
    for console in &mut consoles {
        console.expect("#general");
    }
    // Everyone says hello within one second ...
    let started = Instant::now();
    for (i, console) in consoles.iter_mut().enumerate() {
        console.type_line(&format!("m-{i}-0 hello"));
    }
    assert!(started.elapsed() < Duration::from_secs(1), "the hellos took {:?}", started.elapsed());
    all_see(&mut consoles, STUDENTS);
    // ... then each writes every 5 s, the class spread over the interval.
    let start = Instant::now();
    for round in 1..=ROUNDS {
        for (i, console) in consoles.iter_mut().enumerate() {
            let at = start + PACE * (round - 1) as u32 + PACE * i as u32 / STUDENTS as u32;
            std::thread::sleep(at.saturating_duration_since(Instant::now())); // the class's pace
            console.type_line(&format!("m-{i}-{round} on with the lab"));
        }
    }
    all_see(&mut consoles, STUDENTS * (1 + ROUNDS));
    // Each console marked the room read on the server, a READ now and then:
    // the others' messages are read, as the CHATS of any of them says.
    let mut st0 = server.login_send("st0", "pw-st0");
    let deadline = Instant::now() + READ_TIMEOUT;
    while !st0.listing("CHATS").contains(&"#general:0".to_string()) {
        assert!(Instant::now() < deadline, "st0's console never said READ: {:?}", st0.listing("CHATS"));
        std::thread::sleep(Duration::from_millis(100)); // polling the server
    }
    assert_eq!(refusals(&server), Vec::<String>::new(), "the class was refused");
    for (i, console) in consoles.iter_mut().enumerate() {
        for needle in ["(offline", "(back online)", "WARN", "wachat::", "RATE_LIMITED"] {
            assert_eq!(console.count(needle), 0, "console {i} printed {needle:?}");
        }
    }

    // A hostile script from the same address: 8 connections of one
    // account pipelining USERS (a token each) as fast as they are answered.
    // (Its account and the bystander's made elsewhere: the class took the
    // 60 new accounts its address may make at once.)
    register_from(&server, "mallory", [127, 0, 0, 3]);
    let flood_for = Duration::from_secs(4);
    let started = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let mut conn = server.login_send("mallory", "pw-mallory");
            std::thread::spawn(move || flood(&mut conn, started + flood_for))
        })
        .collect();
    // A bystander on another address is served meanwhile, at once.
    register_from(&server, "bystander", [127, 0, 0, 2]);
    let mut bystander = Conn::connect_from(server.send, [127, 0, 0, 2]);
    assert_eq!(bystander.request("LOGIN:bystander:pw-bystander"), "OK:bystander");
    while started.elapsed() < flood_for {
        assert!(bystander.request("MSG:#general:b1:still here").starts_with("OK:b1:"));
        assert_eq!(bystander.request("PING"), "OK");
        std::thread::sleep(Duration::from_millis(200)); // a person's pace
    }
    let (served, refused) =
        threads.into_iter().map(|t| t.join().unwrap()).fold((0, 0), |(s, r), (s2, r2)| (s + s2, r + r2));
    let secs = started.elapsed().as_secs_f64();
    // The address's burst (10 s of --address-rate 200) and what refilled,
    // less what the class spent: never more.
    let bound = 2_000 + (200.0 * secs).ceil() as usize;
    println!("hostile: {served} served, {refused} refused in {secs:.1} s (bound {bound})");
    assert!(refused > 0, "the flood was never refused");
    assert!(served <= bound, "{served} served from one address, more than {bound}");
    let named = refusals(&server);
    assert!(
        named.iter().any(|l| l.contains("mallory refused: its address 127.0.0.1 is over --address-rate")),
        "{named:?}"
    );
    // The teacher's `wachat top` names who, and which limit.
    let line = server.wait_for_log("listening: metrics http://");
    let metrics = line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics");
    let top = support::console::run_wachat(
        &["top".into(), metrics.into(), "--once".into(), "--interval".into(), "0.1".into()],
        "",
        "",
    )
    .ok();
    let mallory = format!("user mallory: {refused} refused (--address-rate {refused})");
    assert!(top.contains(&mallory), "{mallory:?} not in\n{top}");
    assert!(top.contains("address 127.0.0.1: "), "{top}");
    // The class's READs of the bystander's messages were refused with
    // mallory's, and waited: no console went offline for it.
    for (i, console) in consoles.iter_mut().enumerate() {
        assert_eq!(console.count("(offline"), 0, "console {i} went offline during the flood");
    }
}

/// A class's first minute: 60 consoles started within 0.3 s from one
/// address, on accounts that never logged in from it (made from another
/// address, hashed at the default argon2 cost, as a server makes them),
/// against a server with its default limits. Their 120 logins are more
/// than the address's failed-login bucket holds in flight: all of them
/// log in within 30 s, none exits or prints a refusal, and the server
/// logs no failed login.
#[test]
fn a_class_first_minute_sixty_fresh_consoles_started_together_all_log_in() {
    let cost = wachat::store::password::DEFAULT_KDF_COST.to_string();
    let mut server = TestServer::start_with(&["--timeout", "600", "--kdf-cost", &cost]);
    let names: Vec<String> = (0..STUDENTS).map(|i| format!("st{i}")).collect();
    std::thread::scope(|s| {
        for chunk in names.chunks(STUDENTS / 4) {
            s.spawn(|| chunk.iter().for_each(|name| register_from(&server, name, [127, 0, 0, 2])));
        }
    });
    // Started again: the hashes are on disk only, none in the server's
    // cache of recent logins (as after `wachat users import`).
    server.restart(&["--timeout", "600", "--kdf-cost", &cost]);
    let dir = tempfile::tempdir().unwrap();
    // Started from twelve threads: one after another, 60 processes take
    // longer than 0.3 s to start here.
    let started = Instant::now();
    let mut consoles: Vec<Console> = std::thread::scope(|s| {
        names
            .chunks(STUDENTS / 12)
            .map(|chunk| {
                let (server, dir) = (&server, dir.path());
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|name| Console::start(server, name, dir, &["--timeout", "600"]))
                        .collect::<Vec<_>>()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    });
    println!("60 consoles started within {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    let deadline = started + Duration::from_secs(30);
    loop {
        let waiting: Vec<usize> = (0..STUDENTS).filter(|&i| consoles[i].count("connected") == 0).collect();
        for (i, console) in consoles.iter_mut().enumerate() {
            let running = console.is_running();
            for needle in ["RATE_LIMITED", "too many", "refused", "AUTH_FAILED"] {
                assert_eq!(console.count(needle), 0, "console {i} printed {needle:?}: {:?}", console.seen);
            }
            assert!(running, "console {i} exited: {:?}", console.seen);
        }
        if waiting.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not logged in after 30 s: {waiting:?}");
        std::thread::sleep(Duration::from_millis(100)); // polling the consoles' output
    }
    println!("60 consoles logged in {:.1} s after the first started", started.elapsed().as_secs_f64());
    let failed: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| l.contains("failed login") || l.contains("failed attempts"))
        .collect();
    assert_eq!(failed, Vec::<String>::new(), "the server called a login failed");
    assert_eq!(refusals(&server), Vec::<String>::new(), "the class was refused");
}

/// Registers `user` (password `pw-<user>`) from the address `from`.
fn register_from(server: &TestServer, user: &str, from: [u8; 4]) {
    let mut conn = Conn::connect_from(server.send, from);
    assert_eq!(conn.request(&format!("REGISTER:{user}::pw-{user}")), format!("OK:{user}"));
}

/// Pipelines `USERS` in batches of 50 until `until`: (served, refused).
fn flood(conn: &mut Conn, until: Instant) -> (usize, usize) {
    let (mut served, mut refused) = (0, 0);
    while Instant::now() < until {
        for _ in 0..50 {
            conn.send("USERS");
        }
        for _ in 0..50 {
            let head = conn.line();
            if let Some(n) = head.strip_prefix("OK:") {
                served += 1;
                for _ in 0..n.parse::<usize>().unwrap() {
                    conn.line();
                }
            } else {
                assert!(head.starts_with("KO:RATE_LIMITED:"), "{head}");
                refused += 1;
            }
        }
    }
    (served, refused)
}
