//! A server's Prometheus endpoint (`--metrics`), scraped over HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{READ_TIMEOUT, TestServer};

/// The address of the metrics endpoint of a server started with
/// `--metrics`, as its log says it.
pub fn metrics_address(server: &TestServer) -> SocketAddr {
    let line = server.wait_for_log("listening: metrics http://");
    line.split("http://").nth(1).unwrap().trim().trim_end_matches("/metrics").parse().unwrap()
}

/// The whole HTTP response to `GET path`, or what came before the close.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    // A refused scraper's connection is closed unread: the write may then
    // meet a reset, which is an answer too (nothing comes back).
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

/// The value of the sample `name` (with its labels, as written) in a scrape.
pub fn value(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{scrape}"))
        .parse()
        .unwrap()
}

/// Scrapes until `name` reaches `at_least` (the metrics move once the
/// server has done the work, which may be just after our reply).
pub fn scrape_until(addr: SocketAddr, name: &str, at_least: f64) -> String {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let scrape = http_get(addr, "/metrics");
        if value(&scrape, name) >= at_least || Instant::now() > deadline {
            return scrape;
        }
        std::thread::sleep(Duration::from_millis(20)); // polling the endpoint
    }
}
