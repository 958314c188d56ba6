//! Ports picked before the program that listens on them starts: a
//! program that takes its port on the command line (chromedriver,
//! PostgreSQL, NATS, a server named in a roster). A file of its own so that
//! an example that drives the browser (`examples/web_vs_tcp.rs`) shares it.

use std::net::TcpListener;

/// A port for a program that must be given its port before it starts (a
/// roster names every server's link port; PostgreSQL and NATS take theirs
/// on the command line): free now, and below the kernel's ephemeral range,
/// where the port-0 binds and the outgoing connections of the tests
/// running beside this one land: a port of that range found free was
/// taken before its server bound it. Where each process starts looking
/// is spread by its id, so that two test processes seldom try the same.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOWEST: u32 = 10_000;
    static TRIED: AtomicU32 = AtomicU32::new(0);
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&low| low > LOWEST + 1_000)
        .unwrap_or(32_768);
    let span = ephemeral_from - LOWEST;
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let port = LOWEST + (start + TRIED.fetch_add(1, Ordering::Relaxed)) % span;
        if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port from {LOWEST} to {ephemeral_from}");
}
