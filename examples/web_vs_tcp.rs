//! What a message costs the server over the browser's WebSockets against
//! the terminal's TCP ports (docs/BENCHMARKS.md, "The web port"): the same
//! `N` direct messages ana → bob, pipelined, bob acknowledging each one
//! (`ACK:<seq>`) as `wachat connect` does, against a real `wachat serve`
//! (the binary next to this example, or `WACHAT_BIN`) with `--rate 0`.
//!
//! - `tcp`: two raw protocol connections, as two consoles have.
//! - the same lines as WebSocket messages on `/ws/send` and `/ws/receive`,
//!   a burst written at once as the TCP client writes it: what the
//!   WebSocket layer itself costs the server.
//! - `browser`: two logins of the app's own `link.js` inside one headless
//!   chromium page (tests/support/browser.rs: needs `chromium` and
//!   `chromium-driver`), over `/ws/send` and `/ws/receive`: the browser
//!   sends each message in its own write, so fewer arrive together.
//!
//! Each twice: pipelined 500 at a time, and one at a time (each `MSG`
//! waits for its `OK`, as a person typing does).
//!
//! For each: messages per second until bob has the last one, and the
//! server's CPU time (user + system, from `/proc/<pid>/stat`) per message.
//! Also the bytes of the app's first load.
//!
//! ```sh
//! cargo build --release && cargo run --release --example web_vs_tcp -- 3000
//! ```

#[path = "../tests/support/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "../tests/support/ports.rs"]
mod ports;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long any read may wait (tests/support/browser.rs uses it too).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> Result<()> {
    let arg = |i: usize, default: usize| std::env::args().nth(i).map_or(Ok(default), |a| a.parse::<usize>());
    // Enough messages for the CPU clock's 10 ms ticks to count.
    let (pipelined, one_by_one) = (arg(1, 20_000)?, arg(2, 2_000)?);
    for (n, window) in [(pipelined, 500), (one_by_one, 1)] {
        let runs = [
            ("TCP (console to console)", over_tcp(n, window, false)?),
            ("WebSocket, frames written at once", over_tcp(n, window, true)?),
            ("WebSocket (browser to browser)", over_browser(n, window)?),
        ];
        let what =
            if window == 1 { "one at a time (each waits for its OK)" } else { "pipelined, 500 at a time" };
        println!("{n} messages ana → bob, {what}, each acknowledged by bob:");
        for (name, (secs, cpu)) in runs {
            let ratio = cpu / runs[0].1.1;
            println!(
                "  {name:36} {:>8.0} msgs/s   server CPU {:>6.1} µs/msg ({ratio:.2}x TCP)",
                n as f64 / secs,
                cpu * 1e6 / n as f64
            );
        }
    }
    Ok(())
}

/// Wall time and server CPU seconds for `n` messages, `window` at a time,
/// over the TCP ports, or (`websocket`) the same lines as WebSocket messages
/// on the web port, a burst written at once as a TCP client writes it.
fn over_tcp(n: usize, window: usize, websocket: bool) -> Result<(f64, f64)> {
    let server = Server::start()?;
    server.user("ana", server.send)?;
    server.user("bob", server.send)?;
    let web = server.web.ok_or("no web port")?;
    let open = |port: SocketAddr, path: &str, user: &str| -> Result<Conn> {
        let mut c = if websocket { Conn::websocket(web, path)? } else { Conn::connect(port)? };
        c.send(&format!("LOGIN:{user}:pw-{user}-1234\n"))?;
        c.line()?;
        Ok(c)
    };
    let mut ana = open(server.send, "/ws/send", "ana")?;
    let mut bob = open(server.recv, "/ws/receive", "bob")?;
    // Ana's receive connection takes her DELIVERED, as her browser does.
    let mut ana_events = open(server.recv, "/ws/receive", "ana")?;
    let ana_socket = ana_events.stream.try_clone()?;
    std::thread::spawn(move || -> Result<()> {
        loop {
            let line = ana_events.line()?;
            if let Some(seq) = line.strip_prefix("STATUS:").and_then(|rest| rest.split(':').next()) {
                ana_events.send(&format!("ACK:{seq}\n"))?;
            } else if line == "PING" {
                ana_events.send("PONG\n")?;
            }
        }
    });
    let cpu = server.cpu()?;
    let started = Instant::now();
    let reader = std::thread::spawn(move || -> Result<()> {
        let mut got = 0;
        while got < n {
            let line = bob.line()?;
            if let Some(seq) = line.strip_prefix("MSG:").and_then(|rest| rest.split(':').next()) {
                bob.send(&format!("ACK:{seq}\n"))?;
                got += 1;
            } else if line == "PING" {
                bob.send("PONG\n")?;
            }
        }
        Ok(())
    });
    for k in (0..n).step_by(window) {
        let burst: String =
            (k..n.min(k + window)).map(|i| format!("MSG:bob:m{i}:hello there number {i}\n")).collect();
        ana.send(&burst)?;
        for _ in k..n.min(k + window) {
            ana.line()?;
        }
    }
    reader.join().map_err(|_| "bob's reader panicked")??;
    let secs = started.elapsed().as_secs_f64();
    let cpu = server.cpu()? - cpu;
    let _ = ana_socket.shutdown(std::net::Shutdown::Both);
    Ok((secs, cpu))
}

/// The same through the app's link.js in a headless chromium.
fn over_browser(n: usize, window: usize) -> Result<(f64, f64)> {
    let server = Server::start()?;
    server.user("ana", server.send)?;
    server.user("bob", server.send)?;
    let web = server.web.ok_or("no web port")?;
    let page = browser::Browser::start(800, 600);
    page.goto(&format!("http://{web}/"));
    let ready = page.exec_async(
        "const done = arguments[0];
         Promise.all([import('/link.js'), import('/wire.js')]).then(async ([{ Link }, wire]) => {
           const base = `ws://${location.host}`;
           window.bench = { wire,
             ana: new Link(base, { user: 'ana', secret: 'pw-ana-1234' }),
             bob: new Link(base, { user: 'bob', secret: 'pw-bob-1234' }) };
           await bench.ana.start();
           await bench.bob.start();
           done(true);
         }).catch((e) => done(String(e)));",
        json!([]),
    );
    if ready != json!(true) {
        return Err(format!("the page could not log in: {ready}").into());
    }
    let cpu = server.cpu()?;
    let started = Instant::now();
    let result = page.exec_async(
        "const [n, window, done] = arguments;
         let got = 0;
         bench.bob.addEventListener('event', (e) => { if (e.detail.kind === 'MSG' && ++got === n) done(got); });
         (async () => {
           for (let k = 0; k < n; k += window) {
             const burst = [];
             for (let i = k; i < Math.min(n, k + window); i++) {
               burst.push(bench.ana.request(bench.wire.request.msg('bob', `m${i}`, `hello there number ${i}`)));
             }
             await Promise.all(burst);
           }
         })().catch((e) => done(String(e)));",
        json!([n, window]),
    );
    let secs = started.elapsed().as_secs_f64();
    if result != json!(n) {
        return Err(format!("the page said {result}").into());
    }
    let first_load: usize = [
        "/",
        "/app.css",
        "/app.js",
        "/wire.js",
        "/link.js",
        "/chats.js",
        "/view.js",
        "/i18n.js",
        "/icon.svg",
    ]
    .iter()
    .map(|path| get_len(web, path))
    .sum::<Result<usize>>()?;
    if window > 1 {
        println!("the app's first load: {first_load} bytes (9 files, uncompressed)");
    }
    Ok((secs, server.cpu()? - cpu))
}

/// The body length of `GET path`.
fn get_len(web: SocketAddr, path: &str) -> Result<usize> {
    let mut tcp = TcpStream::connect(web)?;
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)?;
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no HTTP head")?;
    Ok(answer.len() - at - 4)
}

struct Server {
    child: Child,
    send: SocketAddr,
    recv: SocketAddr,
    web: Option<SocketAddr>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Result<Server> {
        let bin = std::env::var("WACHAT_BIN").unwrap_or_else(|_| {
            let exe = std::env::current_exe().expect("the example's path");
            exe.parent()
                .and_then(|p| p.parent())
                .expect("target/release")
                .join("wachat")
                .display()
                .to_string()
        });
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(&bin)
            .args(["serve", "--send-port", "0", "--recv-port", "0", "--web-port", "0", "--kdf-cost", "8"])
            .args(["--rate", "0", "--exempt", "127.0.0.1", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut log = BufReader::new(child.stderr.take().ok_or("no stderr")?);
        let (mut send, mut recv, mut web) = (None, None, None);
        while send.is_none() || recv.is_none() || web.is_none() {
            let mut line = String::new();
            if log.read_line(&mut line)? == 0 {
                return Err("the server ended before listening".into());
            }
            let after =
                |what: &str| line.split(what).nth(1).map(|s| s.split_whitespace().next().unwrap_or(""));
            if let Some(addr) = after("listening: send ") {
                send = Some(addr.parse()?);
            }
            if let Some(addr) = after("listening: receive ") {
                recv = Some(addr.parse()?);
            }
            if let Some(url) = after("listening: web http://") {
                web = Some(url.parse()?);
            }
        }
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Ok(Server { child, send: send.unwrap(), recv: recv.unwrap(), web, _dir: dir })
    }

    /// The server's CPU time so far (user + system), in seconds.
    fn cpu(&self) -> Result<f64> {
        Ok(wachat::sys::process::cpu_seconds(self.child.id()).ok_or("no CPU time (Linux's /proc only)")?)
    }

    /// Registers `name` (password `pw-<name>-1234`), then logs it in on `port`.
    fn user(&self, name: &str, port: SocketAddr) -> Result<Conn> {
        let mut c = Conn::connect(self.send)?;
        c.send(&format!("REGISTER:{name}::pw-{name}-1234\n"))?;
        c.line()?;
        let mut c = Conn::connect(port)?;
        c.send(&format!("LOGIN:{name}:pw-{name}-1234\n"))?;
        c.line()?;
        Ok(c)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line connection: plain TCP, or a WebSocket whose messages are the
/// lines (masked by hand, as any client must; the server's side is tungstenite).
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    websocket: bool,
}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn { reader: BufReader::new(stream.try_clone()?), stream, websocket: false })
    }

    fn websocket(web: SocketAddr, path: &str) -> Result<Conn> {
        let mut c = Conn::connect(web)?;
        c.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: {web}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ))?;
        while !c.line()?.is_empty() {}
        c.websocket = true;
        Ok(c)
    }

    /// Sends lines (each ending in `\n`): as they are, or one message each.
    fn send(&mut self, bytes: &str) -> Result<()> {
        if !self.websocket {
            return Ok(self.stream.write_all(bytes.as_bytes())?);
        }
        let mut frames = Vec::with_capacity(bytes.len() + 8 * bytes.len() / 30);
        for line in bytes.lines() {
            let (payload, mask) = (line.as_bytes(), [1u8, 2, 3, 4]);
            frames.push(0x81);
            if payload.len() < 126 {
                frames.push(0x80 | payload.len() as u8);
            } else {
                frames.push(0x80 | 126);
                frames.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            frames.extend_from_slice(&mask);
            frames.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        Ok(self.stream.write_all(&frames)?)
    }

    fn line(&mut self) -> Result<String> {
        if self.websocket {
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head)?;
            let len = match head[1] & 0x7F {
                126 => {
                    let mut n = [0u8; 2];
                    self.reader.read_exact(&mut n)?;
                    u16::from_be_bytes(n) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.reader.read_exact(&mut payload)?;
            return Ok(String::from_utf8(payload)?);
        }
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("closed".into());
        }
        Ok(line.trim_end().to_string())
    }
}
