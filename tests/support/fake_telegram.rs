//! A fake Telegram Bot API on loopback, for the bridge's tests: a tiny
//! HTTP/1.1 server (one thread per connection, `Connection: close`) that
//! answers `getMe`, `getUpdates` and `sendMessage` with the real JSON of
//! the Bot API, holds a long poll open until an update comes, and can be
//! "down" for a while.
//!
//! One difference from Telegram, on purpose: it never forgets an update
//! (Telegram forgets those below the offset of a later `getUpdates`). The
//! bridge never asks for an offset it has passed, except when a test
//! rewinds its state file to replay a crash between its two steps.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::READ_TIMEOUT;

/// The bot the fake API serves.
pub const BOT_ID: i64 = 4242;
pub const TOKEN: &str = "4242:fake-secret-token";

/// How the fake API is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// Answers every call `502 Bad Gateway`, as Telegram does when it is in trouble.
    BadGateway,
    /// Closes every connection without a word, like a network cut.
    HangUp,
}

/// What the API has seen and holds.
#[derive(Default)]
struct Inner {
    /// Every update ever pushed, in order.
    updates: Vec<Value>,
    /// Every `sendMessage`: chat id and text.
    sent: Vec<(i64, String)>,
    outage: Option<Outage>,
    /// The methods of the calls answered with an error (or hung up on)
    /// during an outage.
    failed: Vec<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Notified on every change: a new update, a message sent, an outage.
    changed: Condvar,
    closing: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that failed while holding the lock poisons it; the
        // connection threads still answering must not panic a second time.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake Bot API.
pub struct FakeTelegram {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FakeTelegram {
    pub fn start() -> FakeTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            changed: Condvar::new(),
            closing: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.closing.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        FakeTelegram { addr, shared, accept: Some(accept) }
    }

    /// The `--api-base` of this fake.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Someone writes `text` in the chat `chat_id`; returns the update id.
    pub fn push_message(&self, chat_id: i64, first_name: &str, is_bot: bool, text: &str) -> i64 {
        let mut inner = self.shared.lock();
        // Telegram starts update ids at some large number; so does this.
        let update_id = 700_000 + inner.updates.len() as i64;
        inner.updates.push(json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id - 699_000,
                "from": { "id": 100 + update_id, "is_bot": is_bot, "first_name": first_name, "language_code": "es" },
                "chat": { "id": chat_id, "title": "family", "type": "supergroup" },
                "date": 1_763_712_193,
                "text": text,
            }
        }));
        self.shared.changed.notify_all();
        update_id
    }

    /// Starts (`Some`) or ends (`None`) an outage.
    pub fn set_outage(&self, outage: Option<Outage>) {
        self.shared.lock().outage = outage;
        self.shared.changed.notify_all();
    }

    /// Every `sendMessage` so far: chat id and text.
    pub fn sent(&self) -> Vec<(i64, String)> {
        self.shared.lock().sent.clone()
    }

    /// Waits until `n` messages were sent in all, then returns them all;
    /// fails the test after [`READ_TIMEOUT`].
    pub fn wait_sent(&self, n: usize) -> Vec<(i64, String)> {
        let inner = self.wait_for(&format!("{n} sendMessage calls"), |inner| inner.sent.len() >= n);
        inner.sent.clone()
    }

    /// How many calls of `method` have failed because of an outage.
    pub fn failed(&self, method: &str) -> usize {
        self.shared.lock().failed.iter().filter(|m| *m == method).count()
    }

    /// Waits until `n` calls of `method` in all have failed because of an outage.
    pub fn wait_failed(&self, method: &str, n: usize) {
        let count = |inner: &Inner| inner.failed.iter().filter(|m| *m == method).count();
        drop(self.wait_for(&format!("{n} failed {method} calls"), |inner| count(inner) >= n));
    }

    fn wait_for(&self, what: &str, done: impl Fn(&Inner) -> bool) -> MutexGuard<'_, Inner> {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut inner = self.shared.lock();
        while !done(&inner) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "fake Telegram: not in time: {what}; sent so far: {:?}", inner.sent);
            inner = self.shared.changed.wait_timeout(inner, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        inner
    }
}

impl Drop for FakeTelegram {
    /// Stops accepting (a connection to itself wakes the blocked `accept`)
    /// and releases the long polls still waiting.
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One HTTP request, as far as the fake needs it.
struct Request {
    path: String,
    query: HashMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request, answers it, closes the connection.
fn serve(stream: TcpStream, shared: &Shared) {
    // The bridge may be gone already (killed by the test): then there is
    // nobody to answer.
    let Ok(clone) = stream.try_clone() else { return };
    if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err() {
        return;
    }
    let mut reader = BufReader::new(clone);
    let Some(request) = read_request(&mut reader) else { return };
    let outage = shared.lock().outage;
    match outage.map_or_else(|| answer(&request, shared), Err) {
        Ok((status, body)) => respond(stream, status, &body),
        Err(outage) => fail(stream, shared, outage, &request),
    }
}

fn fail(stream: TcpStream, shared: &Shared, outage: Outage, request: &Request) {
    let method = request.path.rsplit('/').next().unwrap_or_default();
    shared.lock().failed.push(method.to_string());
    shared.changed.notify_all();
    if outage == Outage::BadGateway {
        respond(stream, 502, &json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}));
    }
    // HangUp: dropping the stream closes it with nothing said.
}

/// The status and JSON of the answer, or the outage that began while a
/// long poll was waiting.
fn answer(request: &Request, shared: &Shared) -> Result<(u16, Value), Outage> {
    let method = request.path.strip_prefix(&format!("/bot{TOKEN}/"));
    Ok(match method {
        Some("getMe") => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "wachat bridge", "username": "wachat_bridge_bot"
        })),
        Some("getUpdates") => get_updates(request, shared)?,
        Some("sendMessage") => send_message(request, shared),
        Some(_) => (404, json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        None => (401, json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
    })
}

/// Long polling: the updates from `offset` on, as soon as there is one,
/// or none after `timeout` seconds.
fn get_updates(request: &Request, shared: &Shared) -> Result<(u16, Value), Outage> {
    let number = |name: &str| request.query.get(name).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let (offset, timeout) = (number("offset"), number("timeout"));
    let deadline = Instant::now() + Duration::from_secs(timeout as u64);
    let mut inner = shared.lock();
    loop {
        if let Some(outage) = inner.outage {
            return Err(outage);
        }
        let found: Vec<Value> =
            inner.updates.iter().filter(|u| u["update_id"].as_i64() >= Some(offset)).cloned().collect();
        let left = deadline.saturating_duration_since(Instant::now());
        if !found.is_empty() || left.is_zero() || shared.closing.load(Ordering::SeqCst) {
            return Ok(ok(Value::Array(found)));
        }
        inner = shared.changed.wait_timeout(inner, left).unwrap_or_else(|p| p.into_inner()).0;
    }
}

fn send_message(request: &Request, shared: &Shared) -> (u16, Value) {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return (400, json!({"ok": false, "error_code": 400, "description": "Bad Request: not JSON"}));
    };
    let (Some(chat_id), Some(text)) = (body["chat_id"].as_i64(), body["text"].as_str()) else {
        return (400, json!({"ok": false, "error_code": 400, "description": "Bad Request: chat_id, text"}));
    };
    let mut inner = shared.lock();
    inner.sent.push((chat_id, text.to_string()));
    shared.changed.notify_all();
    let message_id = inner.sent.len();
    ok(json!({
        "message_id": message_id,
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "wachat bridge" },
        "chat": { "id": chat_id, "type": "supergroup" },
        "date": 1_763_712_200,
        "text": text,
    }))
}

fn ok(result: Value) -> (u16, Value) {
    (200, json!({"ok": true, "result": result}))
}

fn respond(mut stream: TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Bad Gateway",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    // The bridge may have gone (killed by the test): nothing to do then.
    let _ = stream.write_all(format!("{head}{body}").as_bytes());
}

/// The request line, the headers, and a body of `Content-Length` bytes or
/// in chunks. `None` if the client went away first.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let (mut length, mut chunked) = (0, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked { read_chunks(reader)? } else { read_exact(reader, length)? };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(Request { path: path.to_string(), query, body })
}

fn read_exact(reader: &mut BufReader<TcpStream>, n: usize) -> Option<Vec<u8>> {
    let mut body = vec![0; n];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// `<hex size>\r\n<bytes>\r\n` … `0\r\n\r\n`.
fn read_chunks(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        let chunk = read_exact(reader, size + 2)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
