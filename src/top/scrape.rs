//! One scrape of a server's `--metrics` endpoint: an HTTP `GET /metrics`
//! over a plain socket (bounded, with a deadline) and the text it returns
//! read into samples.
//!
//! Reading is the other half of what prometheus-client writes, and only
//! as much of the format as the server's endpoint uses: `# ` lines are
//! comments, every other line is `name{label="value",…} number`. A line
//! that does not read so is skipped: `top` shows what it understands of
//! another version's metrics, and refuses nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Largest scrape read: the server's is ~10 KiB.
const MAX_BODY: u64 = 4 << 20;

/// The samples of one scrape, in the order of the text.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// When it was taken (rates are per second of this clock).
    pub at: Option<Instant>,
}

/// One line: a name, its labels, a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Scrape {
    /// Reads the text format.
    pub fn parse(text: &str) -> Scrape {
        let samples = text.lines().filter(|l| !l.starts_with('#')).filter_map(parse_line).collect();
        Scrape { samples, at: None }
    }

    /// The value of `name` whose labels include every pair of `labels`;
    /// 0 if there is none (a counter nothing has counted yet).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels).unwrap_or(0.0)
    }

    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.iter().find(|s| s.name == name && s.has(labels)).map(|s| s.value)
    }

    /// Every sample of `name`, with the value of its label `key`.
    pub fn by_label<'a>(&'a self, name: &'a str, key: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        self.samples.iter().filter(move |s| s.name == name).filter_map(move |s| {
            let (_, v) = s.labels.iter().find(|(k, _)| k == key)?;
            Some((v.as_str(), s.value))
        })
    }

    /// The buckets of histogram `name` (`name_bucket{le=…}`), cumulative,
    /// in order of their upper bounds (`+Inf` last).
    pub fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let bucket = format!("{name}_bucket");
        let mut buckets: Vec<(f64, f64)> = self
            .by_label(&bucket, "le")
            .filter_map(|(le, n)| {
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                Some((le, n))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

impl Sample {
    fn has(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }
}

/// `name{a="x",b="y"} 12.5` (label values without `"` or `,` inside: the
/// server's never have them).
fn parse_line(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.split_once('{') {
        None => (head, Vec::new()),
        Some((name, rest)) => {
            let inner = rest.strip_suffix('}')?;
            let labels = inner
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    Some((k.to_string(), v.strip_prefix('"')?.strip_suffix('"')?.to_string()))
                })
                .collect::<Option<Vec<_>>>()?;
            (name, labels)
        }
    };
    Some(Sample { name: name.to_string(), labels, value })
}

/// `GET /metrics` from `addr` (`HOST:PORT`, or a port on loopback), the
/// whole answer within `timeout`: a read timeout alone would wait for
/// ever on an endpoint that drips a byte a second.
pub fn fetch(addr: &str, timeout: Duration) -> Result<Scrape> {
    let deadline = Instant::now() + timeout;
    let target = resolve(addr)?;
    let fail = |e| Error::io(format!("metrics at {addr}"), e);
    let mut stream = TcpStream::connect_timeout(&target, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    stream.set_write_timeout(Some(timeout)).map_err(fail)?;
    // The address, not the name given: the endpoint answers to any address,
    // and to names only from its --web-host list (DNS rebinding).
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n").map_err(fail)?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let why = format!("metrics at {addr}: no whole answer within {} s; gave up", timeout.as_secs());
            return Err(Error::Usage(why));
        }
        stream.set_read_timeout(Some(left)).map_err(fail)?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue; // the deadline above says so
            }
            Err(e) => return Err(fail(e)),
        };
        if n == 0 || response.len() as u64 >= MAX_BODY {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
    }
    response.truncate(MAX_BODY as usize);
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200") {
        let why = if status.is_empty() {
            "closed without an answer (not loopback and not in the server's --metrics-allow?)".to_string()
        } else {
            format!("answered {status:?}")
        };
        return Err(Error::Usage(format!("metrics at {addr}: {why}")));
    }
    let mut scrape = Scrape::parse(body);
    scrape.at = Some(Instant::now());
    Ok(scrape)
}

/// `PORT` is a port on 127.0.0.1, anything else a `HOST:PORT`.
fn resolve(addr: &str) -> Result<SocketAddr> {
    let with_host = match addr.parse::<u16>() {
        Ok(port) => format!("127.0.0.1:{port}"),
        Err(_) => addr.to_string(),
    };
    let mut found = with_host.to_socket_addrs().map_err(|e| Error::io(format!("metrics at {addr}"), e))?;
    found.next().ok_or_else(|| Error::Usage(format!("metrics at {addr}: no such address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP wachat_x A thing.\n\
        # TYPE wachat_x counter\n\
        wachat_messages_accepted_total 12\n\
        wachat_connections{port=\"send\"} 3\n\
        wachat_connections{port=\"receive\"} 2\n\
        wachat_lat_seconds_bucket{le=\"0.001\"} 5\n\
        wachat_lat_seconds_bucket{le=\"+Inf\"} 8\n\
        wachat_lat_seconds_bucket{le=\"0.01\"} 7\n\
        garbage line{\n\
        # EOF\n";

    #[test]
    fn the_text_format_is_read() {
        let scrape = Scrape::parse(TEXT);
        assert_eq!(scrape.value("wachat_messages_accepted_total", &[]), 12.0);
        assert_eq!(scrape.value("wachat_connections", &[("port", "receive")]), 2.0);
        assert_eq!(scrape.value("wachat_none", &[]), 0.0);
        assert_eq!(scrape.by_label("wachat_connections", "port").count(), 2);
        assert_eq!(scrape.buckets("wachat_lat_seconds"), [(0.001, 5.0), (0.01, 7.0), (f64::INFINITY, 8.0)]);
        assert_eq!(scrape.samples.len(), 6, "the garbage line is skipped");
    }

    #[test]
    fn addresses() {
        assert_eq!(resolve("9100").unwrap(), "127.0.0.1:9100".parse().unwrap());
        assert_eq!(resolve("127.0.0.1:7").unwrap(), "127.0.0.1:7".parse().unwrap());
    }
}
