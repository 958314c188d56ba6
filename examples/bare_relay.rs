//! The upper bound for `wachat bench`: a relay with a thread per connection
//! that speaks just enough of the protocol for the bench (REGISTER/LOGIN,
//! MSG → OK and a MSG event to the recipient, ACK/PONG ignored) and does
//! nothing else: no disk, no history, no states, no inbox, no checks.
//! Whatever wachat reaches is read as a fraction of what this reaches on the
//! same machine (see BENCHMARKS.md).
//!
//!     cargo run --release --example bare_relay -- 7001 7002
//!     wachat bench --send-port 7001 --recv-port 7002 --pairs 100 --messages 3000
//!
//! Like wachat it writes everything already queued for a socket in one
//! `write()`, so the comparison is about the work, not the syscalls.
//!
//! With `--durable FILE` it also keeps wachat's promise and nothing more:
//! a burst's messages are appended to FILE and `fdatasync`ed before their
//! `OK`s and events leave, by a group commit with the fewest hand-offs
//! there are: the thread that finds nobody writing writes (and syncs) what
//! every thread queued, then sends their replies and events, and goes on
//! while more was queued meanwhile. What wachat costs beyond this is its
//! own work; what this costs beyond the relay in memory is the durability
//! (BENCHMARKS.md, "What the shape costs").
//!
//!     cargo run --release --example bare_relay -- 7001 7002 --durable /tmp/relay.log

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// user → (its receive socket, its next sequence number)
type Online = Arc<Mutex<HashMap<String, (TcpStream, u64)>>>;

/// What a burst sends once its record is on disk.
type Then = Box<dyn FnOnce() + Send>;

/// The log of `--durable`: what waits for the disk, and whether a thread
/// is writing it now.
struct Log {
    file: Mutex<File>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    records: Vec<u8>,
    then: Vec<Then>,
    writing: bool,
}

impl Log {
    /// Queues `record`, then runs `then` once it is synced: at once on this
    /// thread if nobody is writing (it writes for everyone queued, as long
    /// as some are), else on the writer's thread.
    fn commit(&self, record: &[u8], then: Then) {
        let mut queue = self.queue.lock().unwrap();
        queue.records.extend_from_slice(record);
        queue.then.push(then);
        if queue.writing {
            return;
        }
        queue.writing = true;
        while !queue.then.is_empty() {
            let records = std::mem::take(&mut queue.records);
            let then = std::mem::take(&mut queue.then);
            drop(queue);
            let mut file = self.file.lock().unwrap();
            file.write_all(&records).and_then(|()| file.sync_data()).expect("the log is written");
            drop(file);
            then.into_iter().for_each(|then| then());
            queue = self.queue.lock().unwrap();
        }
        queue.writing = false;
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let durable = args.iter().position(|a| a == "--durable").map(|i| args[i + 1].clone());
    let ports: Vec<u16> = args.iter().filter_map(|p| p.parse().ok()).collect();
    let (send_port, recv_port) =
        (ports.first().copied().unwrap_or(7001), ports.get(1).copied().unwrap_or(7002));
    let log = match &durable {
        Some(path) => Some(Arc::new(Log {
            file: Mutex::new(File::options().create(true).append(true).open(path)?),
            queue: Mutex::default(),
        })),
        None => None,
    };
    let online: Online = Arc::default();
    let recv = TcpListener::bind(("127.0.0.1", recv_port))?;
    let online_recv = online.clone();
    std::thread::spawn(move || accept(recv, online_recv, None, receive_side));
    let kept = durable.map(|path| format!(", every message fsynced to {path} first")).unwrap_or_default();
    println!("bare relay: send 127.0.0.1:{send_port}, receive 127.0.0.1:{recv_port}{kept}");
    accept(TcpListener::bind(("127.0.0.1", send_port))?, online, log, send_side);
    Ok(())
}

type Serve = fn(TcpStream, Online, Option<Arc<Log>>) -> Option<()>;

fn accept(listener: TcpListener, online: Online, log: Option<Arc<Log>>, serve: Serve) {
    for stream in listener.incoming().flatten() {
        let _ = stream.set_nodelay(true); // as wachat: no Nagle delay on small frames
        let (online, log) = (online.clone(), log.clone());
        std::thread::spawn(move || serve(stream, online, log));
    }
}

/// Reads the first frame (LOGIN/REGISTER) and answers `OK:<user>`.
fn login(stream: &TcpStream, reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let user = line.trim_end().split(':').nth(1)?.to_string();
    (&*stream).write_all(format!("OK:{user}\n").as_bytes()).ok()?;
    Some(user)
}

fn receive_side(stream: TcpStream, online: Online, _: Option<Arc<Log>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let user = login(&stream, &mut reader)?;
    online.lock().unwrap().insert(user, (stream.try_clone().ok()?, 0));
    // Read (and ignore) ACKs and PONGs until the client leaves.
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 0 {
        line.clear();
    }
    Some(())
}

fn send_side(stream: TcpStream, online: Online, log: Option<Arc<Log>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let user = login(&stream, &mut reader)?;
    let stream = Arc::new(stream);
    let (mut replies, mut events) = (String::new(), HashMap::<String, String>::new());
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 0 {
        let fields: Vec<&str> = line.trim_end().splitn(4, ':').collect();
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis();
        match fields[..] {
            ["MSG", to, id, text] => {
                replies.push_str(&format!("OK:{id}:{ts}\n"));
                events
                    .entry(to.to_string())
                    .or_default()
                    .push_str(&format!("{user}:{to}:{id}:{ts}:{text}\n"));
            }
            _ => replies.push_str("OK\n"),
        }
        line.clear();
        if !reader.buffer().contains(&b'\n') {
            // Everything buffered is handled: one write per socket.
            match &log {
                None => {
                    deliver(&online, &mut events);
                    (&*stream).write_all(replies.as_bytes()).ok()?;
                    replies.clear();
                }
                Some(log) => {
                    let record: String = events.values().map(String::as_str).collect();
                    let (online, stream) = (online.clone(), stream.clone());
                    let (mut events, replies) = (std::mem::take(&mut events), std::mem::take(&mut replies));
                    let send = move || {
                        deliver(&online, &mut events);
                        let _ = (&*stream).write_all(replies.as_bytes());
                    };
                    log.commit(record.as_bytes(), Box::new(send));
                }
            }
        }
    }
    Some(())
}

/// Numbers and writes the events of a burst, one write per recipient.
fn deliver(online: &Online, events: &mut HashMap<String, String>) {
    let mut online = online.lock().unwrap();
    for (to, lines) in events.drain() {
        if let Some((stream, seq)) = online.get_mut(&to) {
            let mut out = String::with_capacity(lines.len() + 64);
            for line in lines.lines() {
                *seq += 1;
                out.push_str(&format!("MSG:{seq}:{line}\n"));
            }
            let _ = stream.write_all(out.as_bytes());
        }
    }
}
