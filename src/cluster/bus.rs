//! The bus: this node's connection to NATS, on a bridge thread.
//!
//! `async-nats` is an async client, and wachat is threads and blocking
//! sockets. So the client lives on **one** thread of its own, inside a
//! small tokio runtime that nothing else sees; the rest of the node talks
//! to it through two channels:
//!
//! ```text
//!   any thread ── Bus::publish / Bus::request ──▶ bridge thread (tokio, async-nats)
//!                                                 │  publishes, subscribes, reconnects
//!   dispatcher thread ◀── Incoming (crossbeam) ───┘  (node.rs: what the other nodes said)
//! ```
//!
//! NATS is "at most once": a message published while the bus is down is
//! dropped here on purpose (nothing waits behind it), and one the server
//! drops is gone. Nothing depends on the bus for correctness: a batch it
//! carries is also in PostgreSQL's log (a follower reads the table when
//! NATS did not bring it: `node.rs`'s keeper); a forwarded request or its
//! reply that is lost leaves the request unanswered, and its connection
//! is cut (the client sends it again, with its id: `forward.rs`) as soon
//! as the connection to NATS is back (the dispatcher hears
//! [`Incoming::Lost`]: a NATS server that died loses what was on its way
//! through it), or as soon as the client says it dropped messages of a
//! subscription that could not keep up (a slow consumer), else after
//! `--timeout`; a follower's `ALIVE` is said again each second.
//!
//! A message can also be lost while both ends stay connected (a route
//! between two servers of a NATS cluster breaks and comes back: what was
//! on it is gone, and no client hears of it). So the bridge numbers what
//! this node publishes, per subject, as it publishes it (in the order it
//! goes out, whatever thread asked), and says it in a header with who
//! sends: the node's name and a random run, drawn when the bus starts (a
//! node started again is a new sender). Each subscription keeps the last
//! number of each sender; a number past the next one is a gap, and the
//! dispatcher hears [`Incoming::Gap`] at the sender's next message on
//! that subject (it leaves a gap in the log's batches to the keeper's
//! read of the table). A subscription remembers [`SENDERS`] senders at
//! most, the one heard from longest ago forgotten first; a sender it does
//! not remember (new, or forgotten) is taken as it comes. Answers to requests are not
//! numbered: each goes to a subject of its own, once, and the asker
//! waits for it with a timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use futures_util::StreamExt;
use parking_lot::Mutex;

use crate::error::{Error, Result};

/// What the bridge hands the node's dispatcher.
pub enum Incoming {
    /// A message from another node.
    Message(Inbound),
    /// Messages may be lost, and nothing else will say so: the
    /// connection to NATS was lost and is back (to another server of the
    /// cluster, or the same), and whatever this node published, or was
    /// sent, in between is gone; or the client dropped messages sent to
    /// this node because their subscription's buffer was full.
    Lost,
    /// A message `from` that node sent on `subject` did not come: the
    /// numbers of its messages there skipped one or more.
    Gap { from: String, subject: String },
}

/// A message from another node.
pub struct Inbound {
    pub subject: String,
    /// Where to answer, for a request.
    pub reply: Option<String>,
    pub payload: Vec<u8>,
}

enum Outbound {
    /// Subject, payload, and when it was asked for (the metrics' NATS publish lag).
    Publish(String, Vec<u8>, std::time::Instant),
    /// An answer to a request: its subject, and the payload (not numbered).
    Answer(String, Vec<u8>),
    /// A request and where to hand its answer (`None`: no answer in time).
    Request(String, Vec<u8>, Sender<Option<Vec<u8>>>),
    /// A subject to listen to from now on.
    Subscribe(String),
}

/// How long a request (a follower's question to the leader: a login, a
/// receive connection's attach, the read index) waits for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// At stop, how long the bridge waits for NATS to take what was
/// published (a flush) before it gives up: NATS may be down.
const FLUSH_AT_STOP: Duration = Duration::from_secs(1);

/// How often the same NATS event may be logged again: while NATS is
/// down, the client reports the same IO error at every reconnection
/// attempt (every second or more often), which said nothing new after the
/// first time and buried the node's other lines.
const SAME_EVENT_EVERY: Duration = Duration::from_secs(60);

/// The header that numbers a message: `<number> <run> <node>`.
const SENT: &str = "Wachat-Sent";

/// How many senders a subscription remembers the last number of: far
/// more than a cluster has nodes, each started again a few times.
const SENDERS: usize = 64;

/// NATS's events (connected, disconnected, errors) in the node's log: a
/// connection regained at INFO, anything else at WARN, and the same line
/// again within [`SAME_EVENT_EVERY`] only at DEBUG.
#[derive(Default)]
struct EventLog {
    /// The last line logged above DEBUG, and when.
    last: Option<(String, Instant)>,
}

impl EventLog {
    /// Logs `event`; returns the level it was logged at.
    fn log(&mut self, event: &async_nats::Event) -> log::Level {
        let text = event.to_string();
        let again = self.last.as_ref().is_some_and(|(t, at)| *t == text && at.elapsed() < SAME_EVENT_EVERY);
        let level = match event {
            _ if again => log::Level::Debug,
            async_nats::Event::Connected => log::Level::Info,
            _ => log::Level::Warn,
        };
        if !again {
            self.last = Some((text.clone(), Instant::now()));
        }
        log::log!(level, "cluster: NATS: {text}");
        level
    }
}

/// The handle the node's threads use.
pub struct Bus {
    commands: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Outbound>>>,
    client: async_nats::Client,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Bus {
    /// Starts the bridge thread, connected (or connecting, in the
    /// background: a node starts while NATS is down) to `url`, subscribed
    /// to `subjects`; what arrives goes to `incoming`.
    pub fn start(
        url: &str,
        name: &str,
        subjects: Vec<String>,
        incoming: Sender<Incoming>,
    ) -> Result<Arc<Bus>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cluster: starting the NATS bridge's runtime", e))?;
        let said = Arc::new(Mutex::new(EventLog::default()));
        let (told, lost) = (incoming.clone(), Arc::new(AtomicBool::new(false)));
        // The client reports a slow consumer for each message it drops:
        // one loss a second is said, since each makes the node cut its
        // connections (and a leader tell every follower).
        let slow_said = Arc::new(Mutex::new(None::<Instant>));
        let options = async_nats::ConnectOptions::new()
            .name(name)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| Duration::from_millis((100 << attempts.min(4)) as u64))
            .request_timeout(Some(REQUEST_TIMEOUT))
            .event_callback(move |event| {
                let (said, told, lost) = (said.clone(), told.clone(), lost.clone());
                let slow_said = slow_said.clone();
                async move {
                    said.lock().log(&event);
                    match event {
                        async_nats::Event::Disconnected => lost.store(true, Ordering::SeqCst),
                        async_nats::Event::Connected if lost.swap(false, Ordering::SeqCst) => {
                            let _ = told.send(Incoming::Lost);
                        }
                        async_nats::Event::SlowConsumer(_) => {
                            let mut last = slow_said.lock();
                            if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                                *last = Some(Instant::now());
                                let _ = told.send(Incoming::Lost);
                            }
                        }
                        _ => {}
                    }
                }
            });
        let client = runtime
            .block_on(options.connect(servers(url)?))
            .map_err(|e| Error::Usage(format!("--bus {url}: {e}")))?;
        let (commands, mut queue) = tokio::sync::mpsc::unbounded_channel::<Outbound>();
        let bridge = client.clone();
        let sender = format!("{} {name}", new_run());
        // The last number used on each subject this node publishes to:
        // the log, each follower's, the leader's of each epoch followed.
        let mut numbers: HashMap<String, u64> = HashMap::new();
        let thread = std::thread::Builder::new()
            .name("nats-bridge".into())
            .spawn(move || {
                runtime.block_on(async move {
                    for subject in subjects {
                        match bridge.subscribe(subject.clone()).await {
                            Ok(subscriber) => drop(tokio::spawn(forward(subscriber, incoming.clone()))),
                            Err(e) => log::error!("cluster: NATS: subscribing to {subject}: {e}"),
                        }
                    }
                    while let Some(command) = queue.recv().await {
                        match command {
                            Outbound::Publish(subject, payload, asked) => {
                                let number = numbers.entry(subject.clone()).or_default();
                                *number += 1;
                                let mut headers = async_nats::HeaderMap::new();
                                headers.insert(SENT, format!("{number} {sender}"));
                                if let Err(e) =
                                    bridge.publish_with_headers(subject, headers, payload.into()).await
                                {
                                    log::debug!("cluster: NATS: publish: {e}");
                                }
                                let lag = asked.elapsed().as_secs_f64();
                                crate::metrics::get().nats_publish_lag.observe(lag);
                            }
                            Outbound::Answer(subject, payload) => {
                                if let Err(e) = bridge.publish(subject, payload.into()).await {
                                    log::debug!("cluster: NATS: answer: {e}");
                                }
                            }
                            Outbound::Subscribe(subject) => match bridge.subscribe(subject.clone()).await {
                                Ok(subscriber) => drop(tokio::spawn(forward(subscriber, incoming.clone()))),
                                Err(e) => log::error!("cluster: NATS: subscribing to {subject}: {e}"),
                            },
                            Outbound::Request(subject, payload, answer) => {
                                let bridge = bridge.clone();
                                tokio::spawn(async move {
                                    let reply = bridge.request(subject, payload.into()).await;
                                    let _ = answer.send(reply.ok().map(|m| m.payload.to_vec()));
                                });
                            }
                        }
                    }
                    // What was published goes out before the stop, if NATS
                    // is there; while it is down a flush would wait for it
                    // forever (the client reconnects without end), and a
                    // node must stop on SIGTERM whatever NATS does.
                    let flushed = tokio::time::timeout(FLUSH_AT_STOP, bridge.flush()).await;
                    if !matches!(flushed, Ok(Ok(()))) {
                        log::warn!("cluster: NATS: stopping without a flush (NATS unreachable)");
                    }
                })
            })
            .map_err(|e| Error::io("cluster: starting the NATS bridge thread", e))?;
        Ok(Arc::new(Bus { commands: Mutex::new(Some(commands)), client, thread: Mutex::new(Some(thread)) }))
    }

    /// True while connected to NATS.
    pub fn is_up(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Publishes, unless the bus is down (then the message is dropped:
    /// see the module documentation). Never waits.
    pub fn publish(&self, subject: String, payload: Vec<u8>) -> bool {
        if !self.is_up() {
            return false;
        }
        match &*self.commands.lock() {
            Some(commands) => {
                commands.send(Outbound::Publish(subject, payload, std::time::Instant::now())).is_ok()
            }
            None => false,
        }
    }

    /// Answers a request at its `reply` subject, unless the bus is down
    /// (the asker's wait runs out). Never waits.
    pub fn answer(&self, reply: String, payload: Vec<u8>) {
        if !self.is_up() {
            return;
        }
        if let Some(commands) = &*self.commands.lock() {
            let _ = commands.send(Outbound::Answer(reply, payload));
        }
    }

    /// Listens to `subject` from now on (what comes goes where the
    /// others' messages go).
    pub fn subscribe(&self, subject: String) {
        if let Some(commands) = &*self.commands.lock() {
            let _ = commands.send(Outbound::Subscribe(subject));
        }
    }

    /// Sends a request and waits for its answer ([`REQUEST_TIMEOUT`] at most).
    pub fn request(&self, subject: String, payload: Vec<u8>) -> Option<Vec<u8>> {
        if !self.is_up() {
            return None;
        }
        let (answer, answered) = crossbeam_channel::bounded(1);
        let sent = match &*self.commands.lock() {
            Some(commands) => commands.send(Outbound::Request(subject, payload, answer)).is_ok(),
            None => false,
        };
        if !sent {
            return None;
        }
        answered.recv_timeout(REQUEST_TIMEOUT + Duration::from_secs(1)).ok().flatten()
    }

    /// Flushes what is queued (for [`FLUSH_AT_STOP`] at most) and stops
    /// the bridge thread.
    pub fn stop(&self) {
        self.commands.lock().take();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

/// The NATS servers of `--bus`: `nats://HOST:PORT`, or several separated
/// by commas (a NATS cluster: the client connects to one, and to another
/// of the list, or of those the cluster announces, when it is lost).
pub fn servers(text: &str) -> Result<Vec<async_nats::ServerAddr>> {
    let servers: Vec<async_nats::ServerAddr> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| Error::Usage(format!("--bus {text}: {s:?}: {e}"))))
        .collect::<Result<_>>()?;
    if servers.is_empty() {
        return Err(Error::Usage(format!(
            "--bus {text:?}: no server; expected nats://HOST:PORT[,nats://HOST:PORT…]"
        )));
    }
    Ok(servers)
}

/// A run: a random number that tells a node's life (or part of it) from
/// the one before. Without the OS's random numbers, the clock's
/// nanoseconds: a run needs only to differ from the node's previous one.
pub fn new_run() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
    })
}

/// Hands what a subscription receives to the node's dispatcher, after
/// the gap its number shows, if any.
async fn forward(mut subscriber: async_nats::Subscriber, incoming: Sender<Incoming>) {
    let mut last = LastNumbers::default();
    while let Some(message) = subscriber.next().await {
        let sent = message.headers.as_ref().and_then(|h| h.get(SENT)).map(|v| v.as_str().to_string());
        if let Some(from) = sent.and_then(|sent| last.heard(&sent)) {
            let gap = Incoming::Gap { from, subject: message.subject.to_string() };
            if incoming.send(gap).is_err() {
                return;
            }
        }
        let incoming_message = Incoming::Message(Inbound {
            subject: message.subject.to_string(),
            reply: message.reply.map(|r| r.to_string()),
            payload: message.payload.to_vec(),
        });
        if incoming.send(incoming_message).is_err() {
            return;
        }
    }
}

/// The last number one subscription heard from each sender.
#[derive(Default)]
struct LastNumbers {
    /// (run, node) → the last number, and the count of messages heard
    /// when it came (the sender heard from longest ago has the lowest).
    last: HashMap<(u64, String), (u64, u64)>,
    /// How many numbered messages this subscription heard.
    heard: u64,
}

impl LastNumbers {
    /// Notes a message's [`SENT`] header; returns its sender's node name
    /// when messages it sent before this one did not come. A header that
    /// does not parse is not a numbered message.
    fn heard(&mut self, sent: &str) -> Option<String> {
        let mut fields = sent.splitn(3, ' ');
        let number: u64 = fields.next()?.parse().ok()?;
        let run: u64 = fields.next()?.parse().ok()?;
        let node = fields.next()?.to_string();
        let key = (run, node);
        let before = self.last.get(&key).map(|&(n, _)| n);
        if before.is_none() && self.last.len() >= SENDERS {
            let oldest = self.last.iter().min_by_key(|(_, (_, when))| *when).map(|(k, _)| k.clone());
            oldest.and_then(|k| self.last.remove(&k));
        }
        let node = key.1.clone();
        self.heard += 1;
        self.last.insert(key, (number, self.heard));
        before.is_some_and(|before| number > before + 1).then_some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::Event;

    #[test]
    fn bus_takes_one_server_or_a_list() {
        assert_eq!(servers("nats://127.0.0.1:4222").unwrap().len(), 1);
        let three = servers("nats://a:4222,nats://b:4223, nats://c:4224").unwrap();
        let hosts: Vec<String> = three.iter().map(|s| format!("{}:{}", s.host(), s.port())).collect();
        assert_eq!(hosts, ["a:4222", "b:4223", "c:4224"]);
        assert!(servers("").is_err());
        assert!(servers("nats://a:4222,nats://b:notaport").is_err());
    }

    #[test]
    fn a_gap_in_a_senders_numbers_is_a_loss_and_a_new_sender_is_taken_as_it_comes() {
        let mut last = LastNumbers::default();
        assert_eq!(last.heard("5 7 a"), None, "a new sender");
        assert_eq!(last.heard("6 7 a"), None);
        assert_eq!(last.heard("8 7 a"), Some("a".into()), "7 lost");
        assert_eq!(last.heard("9 7 a"), None);
        assert_eq!(last.heard("1 8 a"), None, "a started again: a new run");
        assert_eq!(last.heard("10 7 a"), None, "the old run still known");
        assert_eq!(last.heard("1 7 b c"), None, "a name is the rest of the line");
        assert_eq!(last.heard("3 7 b c"), Some("b c".into()));
        assert_eq!(last.heard("x 7 a"), None);
        for run in 100..100 + SENDERS as u64 {
            last.heard(&format!("1 {run} d"));
        }
        assert_eq!(last.last.len(), SENDERS);
        assert_eq!(last.heard("12 7 a"), None, "forgotten, the sender heard from longest ago");
    }

    #[test]
    fn a_repeated_nats_event_is_logged_once_a_minute_and_a_change_at_once() {
        let mut said = EventLog::default();
        assert_eq!(said.log(&Event::Disconnected), log::Level::Warn);
        for _ in 0..5 {
            assert_eq!(said.log(&Event::Disconnected), log::Level::Debug);
        }
        assert_eq!(said.log(&Event::Connected), log::Level::Info);
        assert_eq!(said.log(&Event::Disconnected), log::Level::Warn, "a new outage is news");
        said.last.as_mut().unwrap().1 -= SAME_EVENT_EVERY;
        assert_eq!(said.log(&Event::Disconnected), log::Level::Warn, "still down a minute later");
    }
}
