//! Ports picked before the program that listens on them starts: a
//! program that takes its port on the command line (chromedriver,
//! PostgreSQL, a server named in a roster, a server started again at
//! the same address). A file of its own so that
//! an example that drives the browser (`examples/web_vs_tcp.rs`) shares it.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;

/// A port for a program that must be given its port before it starts (a
/// roster names every server's link port; PostgreSQL takes its own
/// on the command line): free now, and below the kernel's ephemeral range,
/// where the port-0 binds and the outgoing connections of the tests
/// running beside this one land: a port of that range found free was
/// taken before its server bound it. Where each process starts looking
/// is spread by its id, so that two test processes seldom try the same.
///
/// The port is also this process's for as long as it lives
/// ([`claim`]): a test that kills its server and starts it again on the
/// same port leaves the port free meanwhile, and another test process
/// that found it free then would take it.
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
        let port = (LOWEST + (start + TRIED.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && claim(port) {
            return port;
        }
    }
    panic!("no free port from {LOWEST} to {ephemeral_from}");
}

/// Claims `port` for this process among the test processes of this run
/// (they share the temporary directory, `.ci/test`'s `TMPDIR`): a file
/// named after the port holds the claimer's id, and a claim of a process
/// that has ended is taken over. False if a live process claimed it.
pub fn claim(port: u16) -> bool {
    let _ = std::fs::create_dir_all(claims_dir());
    let path = claims_dir().join(port.to_string());
    let me = std::process::id();
    for _ in 0..2 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => return write!(file, "{me}").is_ok(),
            Err(_) => {
                let owner = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                match owner {
                    Some(pid) if pid == me => return true,
                    // Its claimer still runs (or is just writing its id).
                    Some(pid) if std::path::Path::new(&format!("/proc/{pid}")).exists() => return false,
                    None => return false,
                    // An ended process's claim: removed, then claimed anew
                    // (of two that try at once, one creates the file).
                    Some(_) => drop(std::fs::remove_file(&path)),
                }
            }
        }
    }
    false
}

/// Whether `port` is this process's: [`claim`]ed by it, as [`free_port`]
/// claims each port it gives.
#[allow(dead_code)] // examples/web_vs_tcp.rs includes this file and asks no such thing
pub fn is_mine(port: u16) -> bool {
    let path = claims_dir().join(port.to_string());
    let owner = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok());
    owner == Some(std::process::id())
}

/// Where the claims are: a file a port.
fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("wachat-test-ports")
}
