//! What one hostile student's uploads cost a bystander (images that are
//! slow to thumbnail, unfinished uploads), against a real `wachat serve`
//! (the binary beside this example, or `WACHAT_BIN`, so that an older
//! build can be measured the same way), with its default limits:
//!
//! The student is on addresses of its own (127.0.0.1, and 127.0.1.x for
//! the second part), the bystander `bob` on 127.0.0.2.
//!
//! - **thumbnails**: 24 connections of `mal` upload, over and over, a
//!   lossless WebP of 4096 × 4096 pixels (a few hundred bytes, tens of ms
//!   to decode); meanwhile `bob` uploads a 20-byte text file (`UPLOAD` and
//!   its one `PART`) 100 times: the median and the largest time of one;
//! - **unfinished uploads**: 5 users `UPLOAD` a byte each, never sending
//!   it, as fast as they are answered, for `SECONDS`; meanwhile `bob`
//!   `FETCH`es a small file of his: the median and the 99th percentile of
//!   a `FETCH`, and how many files the flood left in `data/files`.
//!
//! ```sh
//! cargo build --release && cargo run --release --example files_abuse -- 10
//! ```

#[path = "support/line_conn.rs"]
mod line_conn;

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use line_conn::{Conn, Result, spawn_serve};

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `UPLOAD` and one `PART` of `bytes`: the file id, or the refusal.
fn upload(conn: &mut Conn, name: &str, bytes: &[u8]) -> Result<String> {
    let reply = conn.request(&format!("UPLOAD:{name}:{}:{}", bytes.len(), sha256(bytes)))?;
    let Some(id) = reply.strip_prefix("OK:") else { return Err(reply.into()) };
    let done = conn.request(&format!("PART:{id}:0:{}", STANDARD.encode(bytes)))?;
    if !done.starts_with("OK:") {
        return Err(done.into());
    }
    Ok(id.to_string())
}

/// A connection from the source address `from`: the student and the
/// bystander on addresses of their own, as in a lab (one address's
/// `--address-rate` is then the student's alone).
fn connect_from(to: std::net::SocketAddr, from: [u8; 4]) -> Result<Conn> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from((from, 0)).into())?;
    socket.connect(&to.into())?;
    Conn::from_stream(socket.into())
}

fn login(send: std::net::SocketAddr, user: &str, from: [u8; 4]) -> Result<Conn> {
    let mut conn = connect_from(send, from)?;
    conn.request(&format!("REGISTER:{user}::pw-{user}-pw"))?;
    let mut conn = connect_from(send, from)?;
    let reply = conn.request(&format!("LOGIN:{user}:pw-{user}-pw"))?;
    if !reply.starts_with("OK") {
        return Err(format!("login of {user}: {reply}").into());
    }
    Ok(conn)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// A 4096 × 4096 lossless WebP: tiny, slow to decode.
fn bomb() -> Result<Vec<u8>> {
    let image = image::RgbaImage::from_pixel(4096, 4096, image::Rgba([200, 30, 30, 255]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::WebP)?;
    Ok(out.into_inner())
}

fn thumbnails(send: std::net::SocketAddr) -> Result<(f64, f64)> {
    let webp = Arc::new(bomb()?);
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    for i in 0..24 {
        let mut conn = login(send, "mal", [127, 0, 0, 1])?;
        let (webp, stop) = (webp.clone(), stop.clone());
        flood.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // A refusal (a rate, a cap) is what the server answers: go on.
                let _ = upload(&mut conn, &format!("b{i}-{n}.webp"), &webp);
                n += 1;
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    let mut bob = login(send, "bob", [127, 0, 0, 2])?;
    let mut times = Vec::new();
    for i in 0..100 {
        let at = Instant::now();
        upload(&mut bob, &format!("notes{i}.txt"), b"twenty bytes of text")?;
        times.push(at.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for t in flood {
        let _ = t.join();
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 1.0)))
}

fn pending(send: std::net::SocketAddr, data: &std::path::Path, seconds: u64) -> Result<(f64, f64, usize)> {
    let mut bob = login(send, "bob", [127, 0, 0, 2])?;
    let id = upload(&mut bob, "mine.txt", b"bob's own small file")?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    for u in 0..5 {
        let mut conn = login(send, &format!("mal{u}"), [127, 0, 1, 10 + u])?;
        let stop = stop.clone();
        flood.push(std::thread::spawn(move || {
            let sha = sha256(b"x");
            while !stop.load(Ordering::Relaxed) {
                if conn.request(&format!("UPLOAD:x.bin:1:{sha}")).is_err() {
                    return;
                }
            }
        }));
    }
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let at = Instant::now();
        let reply = bob.request(&format!("FETCH:{id}:0"))?;
        times.push(at.elapsed());
        if !reply.starts_with("OK:") {
            return Err(format!("FETCH: {reply}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for t in flood {
        let _ = t.join();
    }
    let files = std::fs::read_dir(data.join("files"))?.count();
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99), files))
}

fn main() -> Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    for part in ["thumbnails", "pending"] {
        let dir = tempfile::tempdir()?;
        let data = dir.path().to_str().ok_or("a path")?.to_string();
        let (mut child, send, _) = spawn_serve(&["--data-dir", &data])?;
        let said = if part == "thumbnails" {
            let (median, max) = thumbnails(send)?;
            format!(
                "bystander's 20-byte upload under 24 connections of WebP bombs: median {median:.1} ms, max {max:.1} ms"
            )
        } else {
            let (median, p99, files) = pending(send, dir.path(), seconds)?;
            format!(
                "bystander's FETCH under 5 users' 1-byte UPLOADs for {seconds} s: median {median:.2} ms, p99 {p99:.2} ms; {files} files in data/files"
            )
        };
        println!("{said}");
        child.kill()?;
        child.wait()?;
    }
    Ok(())
}
