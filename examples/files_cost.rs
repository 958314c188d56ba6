//! What a file costs (docs/BENCHMARKS.md, "Files"): a 16 MB file uploaded
//! (`UPLOAD`, `PART`s pipelined a window at a time, as `wachat send --file`
//! does: `client::files::WINDOW`, 64 parts, 768,000 bytes) and downloaded
//! (`FETCH`es pipelined 8 at a time) over the send port's
//! TCP and over the web port's WebSocket (`/ws/send`, as the browser
//! does), in MB/s; and the server's resident memory while ten users
//! upload 16 MB each at once, above what it held idle (goal: ≤ 20 MiB).
//! Against a real `wachat serve` (the binary beside this example, or
//! `WACHAT_BIN`) with `--rate 0`, each figure the median of `RUNS` runs.
//!
//! ```sh
//! cargo build --release && cargo run --release --example files_cost -- 5
//! ```
//!
//! A second argument sends that many parts a window instead (`-- 5 8`:
//! 8 parts, 96 KB, a window an eighth as wide), to compare.
//!
//! On a cluster node (docs/CLUSTER-OPS.md: the bytes in PostgreSQL), with
//! `WACHAT_STORE=postgres://…` set: each run starts a node on that
//! database, with users of its own.
//!
//! With `FILES_COST_TRACE=1` set, where an upload's time goes: for each
//! of the two, its windows' median and slowest time, from the first
//! part sent to the last `OK` read, and its last window's, whose last
//! part's `OK` waits for the file's check (its sha256) too.

#[path = "support/line_conn.rs"]
mod line_conn;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use line_conn::{Conn, Result, spawn_serve};
use tungstenite::{Message, WebSocket};

const MB: usize = 1024 * 1024;
const SIZE: usize = 16 * MB;
const PART: usize = 12_000;
/// `FETCH`es in flight.
const FETCHES: usize = 8;

/// A send connection: lines over TCP, or one line per WebSocket message.
enum Line {
    Tcp(Conn),
    Ws(Box<WebSocket<TcpStream>>),
}

impl Line {
    fn send(&mut self, line: &str) -> Result<()> {
        match self {
            Line::Tcp(c) => c.send(&format!("{line}\n")),
            Line::Ws(ws) => Ok(ws.send(Message::text(line))?),
        }
    }

    fn read(&mut self) -> Result<String> {
        match self {
            Line::Tcp(c) => c.line(),
            Line::Ws(ws) => loop {
                if let Message::Text(text) = ws.read()? {
                    return Ok(text.to_string());
                }
            },
        }
    }

    fn request(&mut self, line: &str) -> Result<String> {
        self.send(line)?;
        self.read()
    }
}

fn login(how: Where, user: &str) -> Result<Line> {
    let mut line = match how {
        Where::Tcp(send) => Line::Tcp(Conn::connect(send)?),
        Where::Web(web) => {
            let stream = TcpStream::connect(web)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            let (ws, _) = tungstenite::client::client(format!("ws://{web}/ws/send"), stream)?;
            Line::Ws(Box::new(ws))
        }
    };
    let reply = line.request(&format!("LOGIN:{user}:pw-{user}-1234"))?;
    if reply != format!("OK:{user}") {
        return Err(format!("login {user}: {reply}").into());
    }
    Ok(line)
}

#[derive(Clone, Copy)]
enum Where {
    Tcp(SocketAddr),
    Web(SocketAddr),
}

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Uploads `bytes` with `window` parts in flight; the file id, and
/// each window's time.
fn upload(c: &mut Line, name: &str, bytes: &[u8], window: usize) -> Result<(String, Vec<Duration>)> {
    let reply = c.request(&format!("UPLOAD:{name}:{}:{}", bytes.len(), sha256(bytes)))?;
    let id = reply.strip_prefix("OK:").ok_or(format!("UPLOAD: {reply}"))?.to_string();
    let offsets: Vec<usize> = (0..bytes.len()).step_by(PART).collect();
    let mut windows = Vec::new();
    for batch in offsets.chunks(window) {
        let sent = Instant::now();
        for &at in batch {
            let end = (at + PART).min(bytes.len());
            c.send(&format!("PART:{id}:{at}:{}", STANDARD.encode(&bytes[at..end])))?;
        }
        for _ in batch {
            let reply = c.read()?;
            if !reply.starts_with("OK:") {
                return Err(format!("PART: {reply}").into());
            }
        }
        windows.push(sent.elapsed());
    }
    Ok((id, windows))
}

/// `FILES_COST_TRACE`'s line for one upload's `windows`.
fn trace(how: &str, mut windows: Vec<Duration>) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let Some(last) = windows.pop() else { return };
    windows.sort();
    let (median, slowest) = (windows.get(windows.len() / 2), windows.last());
    eprintln!(
        "{how} up: {} windows, median {:.1} ms, slowest {:.1} ms; the last, with the file's check: {:.1} ms",
        windows.len() + 1,
        median.map_or(0.0, |d| ms(*d)),
        slowest.map_or(0.0, |d| ms(*d)),
        ms(last)
    );
}

/// Fetches `size` bytes of `id` with [`FETCHES`] in flight.
fn download(c: &mut Line, id: &str, size: usize) -> Result<Vec<u8>> {
    let mut got = Vec::with_capacity(size);
    let offsets: Vec<usize> = (0..size).step_by(PART).collect();
    for batch in offsets.chunks(FETCHES) {
        for &at in batch {
            c.send(&format!("FETCH:{id}:{at}"))?;
        }
        for _ in batch {
            let reply = c.read()?;
            got.extend(STANDARD.decode(reply.strip_prefix("OK:").ok_or(format!("FETCH: {reply}"))?)?);
        }
    }
    Ok(got)
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// One run: MB/s up and down over TCP and WebSocket, and MiB above idle
/// during ten uploads at once.
fn run(bytes: &[u8], window: usize) -> Result<[f64; 5]> {
    let dir = tempfile::tempdir()?;
    let web_port = free_port()?;
    let data = dir.path().display().to_string();
    let web_port = web_port.to_string();
    let mut args = vec!["--rate", "0", "--data-dir", &data, "--web-port", &web_port];
    let cluster = std::env::var("WACHAT_STORE").ok();
    let node = format!("files-cost-{web_port}");
    if let Some(store) = &cluster {
        args.extend(["--store", store, "--node", &node]);
    }
    let (mut child, send, _) = spawn_serve(&args)?;
    let web: SocketAddr = format!("127.0.0.1:{web_port}").parse()?;
    // Users of this run's own: a cluster's database keeps the last run's.
    let user = |i: usize| format!("r{web_port}u{i}");
    for i in 0..10 {
        let u = user(i);
        Conn::connect(send)?.request(&format!("REGISTER:{u}::pw-{u}-1234"))?; // one account per connection
    }
    let mut figures = [0.0; 5];
    for (k, how) in [Where::Tcp(send), Where::Web(web)].into_iter().enumerate() {
        let mut c = login(how, &user(0))?;
        let started = Instant::now();
        let (id, windows) = upload(&mut c, "big.bin", bytes, window)?;
        figures[2 * k] = SIZE as f64 / MB as f64 / started.elapsed().as_secs_f64();
        if std::env::var_os("FILES_COST_TRACE").is_some() {
            trace(["TCP", "WebSocket"][k], windows);
        }
        let started = Instant::now();
        let got = download(&mut c, &id, bytes.len())?;
        figures[2 * k + 1] = SIZE as f64 / MB as f64 / started.elapsed().as_secs_f64();
        if got != bytes {
            return Err("the bytes came back different".into());
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(child.id())?;
    let peak = std::sync::atomic::AtomicU64::new(idle);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let uploads: Vec<_> = (0..10)
            .map(|i| {
                let u = user(i);
                scope.spawn(move || -> std::result::Result<(), String> {
                    let mut c = login(Where::Tcp(send), &u).map_err(|e| e.to_string())?;
                    upload(&mut c, "ten.bin", bytes, window).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(now) = rss_kib(child.id()) {
                    peak.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20)); // sampling the server's RSS
            }
        });
        let results: Vec<_> = uploads.into_iter().map(|u| u.join()).collect();
        done.store(true, std::sync::atomic::Ordering::Relaxed); // the sampler stops whatever happened
        for result in results {
            result.map_err(|_| "an upload panicked")??;
        }
        Ok(())
    })?;
    figures[4] = (peak.into_inner().saturating_sub(idle)) as f64 / 1024.0;
    line_conn::stop(&mut child);
    Ok(figures)
}

fn main() -> Result<()> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(5), |a| a.parse())?;
    let window: usize = std::env::args().nth(2).map_or(Ok(wachat::client::files::WINDOW), |a| a.parse())?;
    if window == 0 {
        return Err("a window of 0 parts sends nothing".into());
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut all = Vec::new();
    for i in 1..=runs {
        eprintln!("run {i}…");
        let f = run(&bytes, window)?;
        println!(
            "run {i}: TCP up {:.1} down {:.1} MB/s, WebSocket up {:.1} down {:.1} MB/s, ten uploads at once: +{:.1} MiB RSS",
            f[0], f[1], f[2], f[3], f[4]
        );
        all.push(f);
    }
    let m = |k: usize| median(all.iter().map(|f| f[k]).collect());
    println!(
        "median of {runs}: a 16 MB file over TCP up {:.1} MB/s, down {:.1} MB/s; over WebSocket up {:.1} MB/s, \
         down {:.1} MB/s; ten 16 MB uploads at once: +{:.1} MiB above idle",
        m(0),
        m(1),
        m(2),
        m(3),
        m(4)
    );
    Ok(())
}
