//! `wachat bench`: a load generator built into the binary, so a teacher can
//! load-test a deployment with the same tool we use.
//!
//! Workloads (one per run, plus an optional idle crowd):
//! - **pairs**: `--pairs P` senders, each sending `--messages M` direct
//!   messages to its own receiver, pipelining up to `--window` requests;
//!   or at a fixed `--rate` per sender (latency is then measured from the
//!   moment each message was *due*, so a stalled server cannot hide its
//!   stalls — no "coordinated omission").
//! - **fan-out**: `--room-size R`: one sender, a room of R members.
//! - **idle crowd**: `--idle-users N` users logged in on both ports who
//!   answer `PING`s and otherwise stay quiet, to measure holding a crowd.
//!
//! Each message's text starts with the time it was sent (nanoseconds since
//! the bench started); receivers subtract it from the time they read it.
//! Users are created with `REGISTER` (or logged in if they exist), message
//! ids carry a per-run prefix so that a rerun is never taken for a resend.

mod conn;
mod crowd;
mod login;
mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use crate::error::{Error, Result};
use crate::protocol::{Chat, Code, Event, EventRef, EventReply, Reply, Request, Text};
use conn::LineConn;
use login::{Both, exists, expect_ok, login_all, login_both, login_each};
use report::Report;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Server host name or address; or the nodes of a cluster,
    /// `HOST[:SEND_PORT[:RECV_PORT]],…`: user number i goes to node i mod n,
    /// so each pair's sender and receiver are on different nodes.
    #[arg(long, default_value = "127.0.0.1", value_parser = crate::client::options::parse_server_list)]
    pub server: String,
    #[arg(long, default_value_t = crate::protocol::DEFAULT_SEND_PORT)]
    pub send_port: u16,
    #[arg(long, default_value_t = crate::protocol::DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// P senders, each sending to its own receiver.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
    /// Messages per sender.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Bytes of text per message (at least 20: the send time).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(20..=4096))]
    pub size: u64,
    /// Messages per second per sender; 0 = as fast as the window allows.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Requests a sender may have in flight (pipelining).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,
    /// Extra users who log in on both ports and stay connected.
    #[arg(long, default_value_t = 0)]
    pub idle_users: usize,
    /// Fan-out test: one sender and a room of this many members (instead of pairs).
    #[arg(long, default_value_t = 0)]
    pub room_size: usize,
    /// Pid of the server, to report its memory (RSS) when on this machine.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Prefix of the bench's user names.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// Password of the bench users.
    #[arg(long, default_value = "bench-password")]
    pub password: String,
    /// Seconds to wait for a reply or an event before giving up.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Connect with TLS, trusting the certificates the system trusts.
    #[arg(long)]
    pub tls: bool,
    /// Connect with TLS, trusting this certificate (PEM), e.g. the
    /// cert.pem that `wachat cert` made for the server.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// What `--tls`/`--ca` trust, loaded once for every connection.
    #[arg(skip)]
    pub tls_config: Option<crate::transport::Tls>,
}

impl BenchArgs {
    /// The servers of `--server`, each with its ports.
    fn endpoints(&self) -> Vec<crate::client::Endpoint> {
        crate::client::parse_servers(&self.server, self.send_port, self.recv_port)
            .expect("checked when the command line was parsed")
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

/// Runs the bench and prints its report.
pub fn run(mut args: BenchArgs) -> Result<()> {
    args.tls_config = crate::client::tls::for_client(args.tls, args.ca.as_deref())?;
    if let Ok((soft, _)) = crate::sys::limits::raise_nofile_limit() {
        let needed = 2 * (args.idle_users + args.room_size + 2 * args.pairs) + 64;
        if (soft as usize) < needed {
            log::warn!("open-files limit {soft} < {needed} needed: some connections will fail");
        }
    }
    let run_id = format!("{:x}", crate::store::now_ms() % 0xff_ffff_ffff);
    let mut report = Report::new(&args);
    let crowd = if args.idle_users > 0 {
        let crowd = crowd::Crowd::start(&args)?;
        report.idle_users = Some((args.idle_users, crowd.login_time));
        report.rss_idle = args.server_pid.and_then(crate::sys::process::rss_bytes);
        Some(crowd)
    } else {
        None
    };
    if args.room_size > 0 {
        fanout(&args, &run_id, &mut report)?;
    } else if args.pairs > 0 {
        pairs(&args, &run_id, &mut report)?;
    }
    report.rss_end = args.server_pid.and_then(crate::sys::process::rss_bytes);
    drop(crowd);
    report.print(args.json);
    Ok(())
}

/// A run stops at the first sender that fails: its error is kept, and the
/// receive sockets are shut so that no receiver waits for messages that
/// will never come.
#[derive(Default)]
struct Abort {
    error: std::sync::Mutex<Option<Error>>,
    sockets: std::sync::Mutex<Vec<Arc<crate::transport::Stream>>>,
}

impl Abort {
    fn watch(&self, socket: Arc<crate::transport::Stream>) {
        self.sockets.lock().expect("no panic holding it").push(socket);
    }

    fn fail(&self, error: Error) {
        self.error.lock().expect("no panic holding it").get_or_insert(error);
        for socket in self.sockets.lock().expect("no panic holding it").iter() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The run's result: the senders' first error, else the receivers'.
    fn result(self, received: Vec<Result<Received>>) -> Result<Vec<Received>> {
        match self.error.into_inner().expect("no panic holding it") {
            Some(error) => Err(error),
            None => received.into_iter().collect(),
        }
    }
}

/// Waits for the receivers, printing a progress line every second on
/// runs long enough to need one (not with `--json`).
fn join_with_progress(
    receivers: Vec<std::thread::ScopedJoinHandle<'_, Result<Received>>>,
    delivered: &AtomicU64,
    total: usize,
    quiet: bool,
) -> Vec<Result<Received>> {
    let started = Instant::now();
    let mut last_print = started;
    while !receivers.iter().all(|r| r.is_finished()) {
        std::thread::sleep(Duration::from_millis(100)); // a progress display's tick
        if !quiet && last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let n = delivered.load(Ordering::Relaxed);
            let rate = n as f64 / started.elapsed().as_secs_f64();
            eprintln!("  delivered {n}/{total} ({rate:.0} msg/s)");
        }
    }
    receivers.into_iter().map(|r| r.join().expect("receiver thread")).collect()
}

/// Nanoseconds since `epoch`, written into every message.
fn text_at(epoch: Instant, at: Instant, size: usize) -> Result<Text> {
    let nanos = at.duration_since(epoch).as_nanos();
    let mut text = format!("{nanos:020}");
    text.extend(std::iter::repeat_n('x', size.saturating_sub(20)));
    Text::from_plain(&text).map_err(|e| Error::Protocol(format!("--size {size}: {e}")))
}

/// Reads a sender's receive connection, acknowledging every burst of
/// `STATUS` events, until the connection is shut.
fn acknowledge_ticks(mut conn: LineConn) {
    let (mut last, mut acked) = (0u64, 0u64);
    while let Ok(line) = conn.line() {
        if let Some(EventRef::Status { seq, .. }) = EventRef::parse(&line) {
            last = seq;
        } else if let Ok(Event::Ping) = Event::parse(&line) {
            let _ = conn.send(&EventReply::Pong);
        }
        if !conn.has_line() && last > acked {
            if conn.send(&EventReply::Ack(last)).is_err() {
                return;
            }
            acked = last;
        }
    }
}

/// What one receiver measured.
struct Received {
    latencies_us: Vec<u32>,
    last_at: Instant,
}

/// Reads events until `expected` messages of this run arrived, ACKing
/// after every burst and answering PINGs; counts into `delivered`.
fn receive(
    mut conn: LineConn,
    epoch: Instant,
    run_id: &str,
    expected: usize,
    delivered: &AtomicU64,
) -> Result<Received> {
    let mut latencies_us = Vec::with_capacity(expected);
    let mut last_seq = 0u64;
    let mut acked = 0u64;
    let mut counted = 0;
    while latencies_us.len() < expected {
        let line = conn.line()?;
        if let Some(EventRef::Msg { seq, id, text, .. }) = EventRef::parse(&line) {
            last_seq = last_seq.max(seq);
            if of_run(id, run_id) {
                let sent_ns: u64 = text.get(..20).and_then(|t| t.parse().ok()).unwrap_or(0);
                let now_ns = epoch.elapsed().as_nanos() as u64;
                latencies_us.push((now_ns.saturating_sub(sent_ns) / 1000).min(u32::MAX as u64) as u32);
            }
        } else {
            match Event::parse(&line) {
                Ok(Event::Ping) => conn.send(&EventReply::Pong)?,
                Ok(Event::Bye(_)) => return Err(Error::Protocol(format!("the server said {line}"))),
                _ => {}
            }
        }
        if !conn.has_line() && last_seq > acked {
            conn.send(&EventReply::Ack(last_seq))?;
            acked = last_seq;
            delivered.fetch_add((latencies_us.len() - counted) as u64, Ordering::Relaxed);
            counted = latencies_us.len();
        }
    }
    delivered.fetch_add((latencies_us.len() - counted) as u64, Ordering::Relaxed);
    Ok(Received { latencies_us, last_at: Instant::now() })
}

/// Whether a message id is one of this run's (`<run_id>-<k>`, see
/// [`send_messages`]): events left from earlier runs are not measured.
fn of_run(id: &str, run_id: &str) -> bool {
    id.strip_prefix(run_id).is_some_and(|k| k.starts_with('-'))
}

/// Sends `count` messages to `to`, keeping at most `window` in flight; at a
/// fixed rate if `rate > 0`.
///
/// Pipelining as redis-benchmark does it: when the window is full, send
/// what is buffered and wait until half the window has been answered, so
/// the server sees bursts rather than one message per `write()`.
///
/// `phase` (0 to 1) shifts this sender's schedule within one interval, so
/// that P senders at a fixed rate spread their messages evenly instead of
/// all firing at the same instant.
fn send_messages(
    args: &BenchArgs,
    conn: LineConn,
    to: &str,
    run_id: &str,
    epoch: Instant,
    phase: f64,
) -> Result<()> {
    let to = Chat::parse(to).map_err(Error::Protocol)?;
    let window = args.window as usize;
    let (answered, answers) = crossbeam_channel::unbounded::<()>();
    let (mut writer, mut reader) = conn.split()?;
    let count = args.messages;
    let replies = std::thread::spawn(move || -> Result<()> {
        for _ in 0..count {
            if let Reply::Ko(ko) = reader.reply()? {
                let hint = if ko.code == Code::RateLimited {
                    "\n  the server limits the messages of each user (--rate): start it with --rate 0 to measure"
                } else {
                    ""
                };
                return Err(Error::Protocol(format!("MSG answered {ko}{hint}")));
            }
            let _ = answered.send(());
        }
        Ok(())
    });
    let mut in_flight = 0;
    let start = Instant::now();
    for k in 0..count {
        let due = if args.rate > 0.0 {
            let due = start + Duration::from_secs_f64((k as f64 + phase) / args.rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                writer.flush()?;
                std::thread::sleep(wait); // pacing an open-loop load, by design
            }
            due
        } else {
            Instant::now()
        };
        if in_flight == window {
            writer.flush()?;
            while in_flight > window / 2 {
                if answers.recv().is_err() {
                    // The reader stopped on a refusal or a closed connection:
                    // its own error says which.
                    return match replies.join() {
                        Ok(Err(e)) => Err(e),
                        _ => Err(Error::Protocol("the reply reader stopped".into())),
                    };
                }
                in_flight -= 1;
            }
        }
        in_flight -= answers.try_iter().count();
        let text = text_at(epoch, due, args.size as usize)?;
        writer.queue(&Request::Msg { to: to.clone(), id: format!("{run_id}-{k}"), text })?;
        in_flight += 1;
    }
    writer.flush()?;
    replies.join().map_err(|_| Error::Protocol("reply reader panicked".into()))?
}

fn pairs(args: &BenchArgs, run_id: &str, report: &mut Report) -> Result<()> {
    let p = args.pairs;
    let names: Vec<String> =
        (0..p).flat_map(|i| [format!("{}-s{i}", args.prefix), format!("{}-r{i}", args.prefix)]).collect();
    let started = Instant::now();
    let mut conns = login_all(args, &names)?.into_iter();
    report.login_time = Some(started.elapsed());
    let epoch = Instant::now();
    let delivered = AtomicU64::new(0);
    let total = p * args.messages;
    let abort = Abort::default();
    let received = std::thread::scope(|s| {
        let mut receivers = Vec::new();
        let mut ticks = Vec::new();
        for i in 0..p {
            let (send, ticks_conn) = conns.next().expect("sender");
            let (_, recv) = conns.next().expect("receiver");
            let to = names[2 * i + 1].clone();
            let delivered = &delivered;
            abort.watch(recv.shared());
            receivers.push(s.spawn(move || receive(recv, epoch, run_id, args.messages, delivered)));
            let abort = &abort;
            s.spawn(move || {
                if let Err(e) = send_messages(args, send, &to, run_id, epoch, i as f64 / p as f64) {
                    abort.fail(e);
                }
            });
            // A real sender's client stays online to get its ticks (✓✓)
            // and acknowledges them, as the server expects.
            ticks.push(ticks_conn.shared());
            s.spawn(move || acknowledge_ticks(ticks_conn));
        }
        let received = join_with_progress(receivers, &delivered, total, args.json);
        for stream in ticks {
            let _ = stream.shutdown(std::net::Shutdown::Both); // ends acknowledge_ticks
        }
        received
    });
    let result = abort.result(received)?;
    report.add_run(epoch, p * args.messages, result.iter().map(|r| (&r.latencies_us, r.last_at)));
    Ok(())
}

fn fanout(args: &BenchArgs, run_id: &str, report: &mut Report) -> Result<()> {
    let room = format!("#b{run_id}");
    let sender_name = format!("{}-fan", args.prefix);
    let members: Vec<String> = (0..args.room_size).map(|i| format!("{}-m{i}", args.prefix)).collect();
    let started = Instant::now();
    let (mut sender, _sender_events) = login_both(args, &sender_name, exists(args, &sender_name)?, 0)?;
    let join = Request::Join { room: Chat::parse_room(&room).map_err(Error::Protocol)? };
    expect_ok(sender.request(&join)?, "JOIN")?;
    let mut conns = login_all(args, &members)?;
    for (send, _) in &mut conns {
        expect_ok(send.request(&join)?, "JOIN")?;
    }
    report.login_time = Some(started.elapsed());
    let epoch = Instant::now();
    let delivered = AtomicU64::new(0);
    let total = args.room_size * args.messages;
    let abort = Abort::default();
    let received = std::thread::scope(|s| {
        let delivered = &delivered;
        let receivers: Vec<_> = conns
            .into_iter()
            .map(|(_, recv)| {
                abort.watch(recv.shared());
                s.spawn(move || receive(recv, epoch, run_id, args.messages, delivered))
            })
            .collect();
        let abort = &abort;
        s.spawn(move || {
            if let Err(e) = send_messages(args, sender, &room, run_id, epoch, 0.0) {
                abort.fail(e);
            }
        });
        join_with_progress(receivers, delivered, total, args.json)
    });
    let result = abort.result(received)?;
    report.add_run(
        epoch,
        args.room_size * args.messages,
        result.iter().map(|r| (&r.latencies_us, r.last_at)),
    );
    Ok(())
}
