//! What a message costs the server over the browser's WebSockets against
//! the terminal's TCP ports (docs/BENCHMARKS.md, "The web port"): the same
//! `N` direct messages ana → bob, pipelined, bob acknowledging each one
//! (`ACK:<seq>`) as `wachat connect` does, against a real `wachat serve`
//! (the binary next to this example, or `WACHAT_BIN`) with `--rate 0`.
//!
//! - `tcp`: two raw protocol connections, as two consoles have.
//! - `browser`: two logins of the app's own `link.js` inside one headless
//!   chromium page (tests/support/browser.rs: needs `chromium` and
//!   `chromium-driver`), over `/ws/send` and `/ws/receive`.
//!
//! For each: messages per second until bob has the last one, and the
//! server's CPU time (user + system, from `/proc/<pid>/stat`) per message.
//! Also the bytes of the app's first load.
//!
//! ```sh
//! cargo build --release && cargo run --release --example web_vs_tcp -- 5000
//! ```

#[path = "../tests/support/browser.rs"]
#[allow(dead_code)]
mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long any read may wait (tests/support/browser.rs uses it too).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(5000), |a| a.parse())?;
    let tcp = over_tcp(n)?;
    let web = over_websockets(n)?;
    println!("{n} messages ana → bob, pipelined, each acknowledged by bob:");
    for (name, (secs, cpu)) in [("TCP (console to console)", tcp), ("WebSocket (browser to browser)", web)] {
        println!(
            "  {name:32} {:>8.0} msgs/s   server CPU {:>6.1} µs/msg",
            n as f64 / secs,
            cpu * 1e6 / n as f64
        );
    }
    println!("  WebSocket / TCP server CPU per message: {:.2}x", web.1 / tcp.1);
    Ok(())
}

/// Wall time and server CPU seconds for `n` messages over the TCP ports.
fn over_tcp(n: usize) -> Result<(f64, f64)> {
    let server = Server::start()?;
    let mut ana = server.user("ana", server.send)?;
    let mut bob = server.user("bob", server.recv)?;
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
    for k in (0..n).step_by(500) {
        let burst: String =
            (k..n.min(k + 500)).map(|i| format!("MSG:bob:m{i}:hello there number {i}\n")).collect();
        ana.send(&burst)?;
        for _ in k..n.min(k + 500) {
            ana.line()?;
        }
    }
    reader.join().map_err(|_| "bob's reader panicked")??;
    let secs = started.elapsed().as_secs_f64();
    Ok((secs, server.cpu()? - cpu))
}

/// The same through the app's link.js in a headless chromium.
fn over_websockets(n: usize) -> Result<(f64, f64)> {
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
        "const [n, done] = arguments;
         let got = 0;
         bench.bob.addEventListener('event', (e) => { if (e.detail.kind === 'MSG' && ++got === n) done(got); });
         (async () => {
           for (let k = 0; k < n; k += 500) {
             const burst = [];
             for (let i = k; i < Math.min(n, k + 500); i++) {
               burst.push(bench.ana.request(bench.wire.request.msg('bob', `m${i}`, `hello there number ${i}`)));
             }
             await Promise.all(burst);
           }
         })().catch((e) => done(String(e)));",
        json!([n]),
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
    println!("the app's first load: {first_load} bytes (9 files, uncompressed)");
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
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name, which ends with the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').ok_or("stat")?.1.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        // SAFETY: sysconf reads a constant of the system.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok(ticks / per_second)
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

struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn { reader: BufReader::new(stream.try_clone()?), stream })
    }

    fn send(&mut self, bytes: &str) -> Result<()> {
        Ok(self.stream.write_all(bytes.as_bytes())?)
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("closed".into());
        }
        Ok(line.trim_end().to_string())
    }
}
