//! `wachat conform client -- CMD ARGS…`: the suite plays the server for a
//! student's client.
//!
//! It listens on two ports of 127.0.0.1 (free ones, or `--send-port` and
//! `--recv-port`) and starts CMD with
//! `WACHAT_HOST`, `WACHAT_SEND_PORT`, `WACHAT_RECV_PORT`, `WACHAT_USER` and
//! `WACHAT_PASSWORD` in its environment (any `LOGIN`/`REGISTER` is
//! accepted), then runs scripted scenarios and checks what the client
//! sends back: `ACK`s for a burst, `PONG`, a reconnection without a
//! duplicate shown, a resend with the same id after a send that failed,
//! a hostile text that must not reach the terminal as control codes.
//! The client's console output is judged only where the protocol says
//! what a client must do (§10); the rest is reported in the transcript.
//!
//! Lines typed "by the user" go to the client's stdin, shaped by `--say`
//! (`{to} {text}` for examples/wachat_client.py, `/msg {to} {text}` for
//! `wachat connect`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use crossbeam_channel::{Receiver, Sender, unbounded};

use super::case::run_prefix;
use super::report::{verdict, write_file};
use super::wire::{Conn, Dir, Transcript, TranscriptLine};
use super::{CaseOutcome, Failure, Group, ProtocolLevel, Status, html, report};
use crate::error::Error;
use crate::protocol::{Event, Text};

#[derive(Args, Debug)]
pub struct ClientCheck {
    /// How a line typed by the user to send `{text}` to `{to}` looks.
    #[arg(long, default_value = "{to} {text}")]
    pub say: String,
    /// Seconds the client may take to answer (its own timeout, for a
    /// reconnection).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// The local port the suite listens on for the client's requests
    /// (`WACHAT_SEND_PORT`); by default any free one.
    #[arg(long, default_value_t = 0)]
    pub send_port: u16,
    /// The local port the suite pushes events on (`WACHAT_RECV_PORT`);
    /// by default any free one.
    #[arg(long, default_value_t = 0)]
    pub recv_port: u16,
    /// Print one JSON object per scenario instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page with the failing scenarios.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// The client to check, and its arguments (after `--`).
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The name of the user the client talks to in the scenarios.
const PEER: &str = "conform-bob";

/// What the suite shares with its threads.
struct Stage {
    transcript: Transcript,
    /// Everything the client printed (stdout and stderr), as bytes.
    output: Mutex<Vec<u8>>,
    /// Close the next send connection that sends `MSG` without a reply.
    drop_next_msg: AtomicBool,
    /// The user name the client logged in with.
    user: Mutex<String>,
}

/// A `MSG` the client sent: (`to`, `id`, `text`, answered).
type SentMsg = (String, String, String, bool);

pub fn run(check: ClientCheck) -> crate::error::Result<()> {
    let io = |e| Error::io("wachat conform client: listening", e);
    let send_listener = TcpListener::bind(("127.0.0.1", check.send_port)).map_err(io)?;
    let recv_listener = TcpListener::bind(("127.0.0.1", check.recv_port)).map_err(io)?;
    let stage = Arc::new(Stage {
        transcript: Transcript::new(),
        output: Mutex::default(),
        drop_next_msg: AtomicBool::new(false),
        user: Mutex::new(String::new()),
    });
    let (msg_tx, msgs) = unbounded();
    let (conn_tx, conns) = unbounded();
    let wait = Duration::from_secs(check.timeout);
    spawn_send_port(send_listener.try_clone().map_err(io)?, stage.clone(), msg_tx, wait);
    spawn_recv_port(recv_listener.try_clone().map_err(io)?, stage.clone(), conn_tx, wait);
    let mut child = start(&check, &send_listener, &recv_listener, &stage)?;
    let stdin = child.stdin.take();
    let mut script = Script {
        stage: stage.clone(),
        msgs,
        conns,
        recv: None,
        stdin,
        wait,
        say: check.say.clone(),
        seq: 0,
        skipped: None,
    };
    let start_time = Instant::now();
    let mut outcomes = Vec::new();
    for (name, section, scenario) in SCENARIOS {
        let from = stage.transcript.lines().len();
        let begun = Instant::now();
        let status = match (scenario(&mut script), script.skipped.take()) {
            (_, Some(why)) => Status::Skip(why),
            (Ok(()), None) => Status::Pass,
            (Err(failure), None) => Status::Fail(failure),
        };
        let lines: Vec<TranscriptLine> = stage.transcript.lines().split_off(from);
        let outcome = CaseOutcome {
            id: format!("client/{name}"),
            group: Group::Client,
            section,
            level: ProtocolLevel::V1_0,
            status,
            ms: begun.elapsed().as_millis() as u64,
            transcript: lines,
        };
        print!("{}", if check.json { report::json(&outcome) + "\n" } else { report::text(&outcome) });
        outcomes.push(outcome);
    }
    drop(script.stdin.take());
    stop(&mut child);
    if !check.json {
        print!("{}", report::summary(&outcomes, start_time.elapsed().as_secs_f64()));
    }
    if let Some(path) = &check.html {
        write_file(
            path,
            &html::page(&format!("wachat conform client: {}", check.command.join(" ")), "client", &outcomes),
        )?;
    }
    verdict(&outcomes)
}

/// Starts the client with the ports in its environment; its output goes
/// to the transcript (as `console`) and to [`Stage::output`].
fn start(
    check: &ClientCheck,
    send: &TcpListener,
    recv: &TcpListener,
    stage: &Arc<Stage>,
) -> crate::error::Result<Child> {
    let port = |l: &TcpListener| l.local_addr().map(|a| a.port().to_string()).unwrap_or_default();
    let mut child = Command::new(&check.command[0])
        .args(&check.command[1..])
        .env("WACHAT_HOST", "127.0.0.1")
        .env("WACHAT_SEND_PORT", port(send))
        .env("WACHAT_RECV_PORT", port(recv))
        .env("WACHAT_USER", format!("{}ana", run_prefix()))
        .env("WACHAT_PASSWORD", "conform-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("starting {}", check.command[0]), e))?;
    let out: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("piped stdout")),
        Box::new(child.stderr.take().expect("piped stderr")),
    ];
    for mut pipe in out {
        let stage = stage.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                stage.output.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
                for line in String::from_utf8_lossy(&chunk[..n]).lines() {
                    stage.transcript.push("console", Dir::Note, &crate::display::visible(line));
                }
            }
        });
    }
    Ok(child)
}

/// Ends the client: stdin is closed already; a second later it is killed.
fn stop(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Logs a new connection in: any `LOGIN`/`REGISTER` is accepted.
fn accept_login(stream: TcpStream, label: &str, stage: &Stage, wait: Duration) -> Option<Conn> {
    let mut conn = Conn::accepted(stream, label, &stage.transcript, wait, "the client");
    let first = conn.line("LOGIN or REGISTER").ok()?;
    let fields: Vec<&str> = first.split(':').collect();
    match fields.as_slice() {
        ["LOGIN", user, ..] | ["REGISTER", user, ..] => {
            // A 1.2 client names its device (`LOGIN:<user>@<device>:…`,
            // §16): the user is the part before the `@`.
            let user = user.split_once('@').map_or(*user, |(user, _device)| user);
            *stage.user.lock().unwrap_or_else(|e| e.into_inner()) = user.to_string();
            conn.send(&format!("OK:{user}")).ok()?;
            Some(conn)
        }
        _ => {
            conn.send("KO:AUTH_REQUIRED:log in first").ok()?;
            None
        }
    }
}

/// The send port: answers every request as a version-1 server would, and
/// tells the script about each `MSG`.
fn spawn_send_port(listener: TcpListener, stage: Arc<Stage>, msgs: Sender<SentMsg>, wait: Duration) {
    thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let (stage, msgs) = (stage.clone(), msgs.clone());
            thread::spawn(move || {
                let Some(mut conn) = accept_login(stream, &format!("send{}", n + 1), &stage, wait) else {
                    return;
                };
                while let Ok(Some(line)) = conn.read_within(Duration::from_secs(3600)) {
                    let fields: Vec<&str> = line.splitn(4, ':').collect();
                    let reply = match fields.as_slice() {
                        ["MSG", to, id, text] => {
                            let dropped = stage.drop_next_msg.swap(false, Ordering::SeqCst);
                            let _ = msgs.send((to.to_string(), id.to_string(), text.to_string(), !dropped));
                            if dropped {
                                conn.close();
                                return;
                            }
                            format!("OK:{id}:{}", now_ms())
                        }
                        ["PING"] | ["READ", ..] | ["JOIN", ..] | ["LEAVE", ..] | ["P2P", ..] => "OK".into(),
                        ["USERS"] | ["ROOMS"] | ["CHATS"] | ["HISTORY", ..] => "OK:0".into(),
                        ["QUIT"] => {
                            let _ = conn.send("OK");
                            return;
                        }
                        _ => "KO:BAD_REQUEST:not a version-1 request".into(),
                    };
                    if conn.send(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// The receive port: logs each connection in and hands it to the script.
fn spawn_recv_port(listener: TcpListener, stage: Arc<Stage>, conns: Sender<Conn>, wait: Duration) {
    thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            if let Some(conn) = accept_login(stream, &format!("recv{}", n + 1), &stage, wait) {
                let _ = conns.send(conn);
            }
        }
    });
}

/// The script's state between scenarios.
struct Script {
    stage: Arc<Stage>,
    msgs: Receiver<SentMsg>,
    conns: Receiver<Conn>,
    /// The client's current receive connection.
    recv: Option<Conn>,
    stdin: Option<ChildStdin>,
    wait: Duration,
    say: String,
    /// The last seq pushed.
    seq: u64,
    /// Set when a scenario could not run (the client left the receive
    /// port in an earlier one): reported as skipped, not failed twice.
    skipped: Option<&'static str>,
}

impl Script {
    fn note(&self, text: &str) {
        self.stage.transcript.push("suite", Dir::Note, text);
    }

    /// Waits for the client's next receive connection.
    fn reconnected(&mut self, within: Duration, why: &str) -> Result<(), Failure> {
        match self.conns.recv_timeout(within) {
            Ok(conn) => {
                self.recv = Some(conn);
                Ok(())
            }
            Err(_) => Err(Failure::new(why, format!("no login on the receive port within {within:?}"))),
        }
    }

    /// The client's receive connection; if an earlier scenario lost it,
    /// one more chance to log in, else this scenario is skipped.
    fn recv(&mut self) -> Result<&mut Conn, Failure> {
        if self.recv.is_none() {
            match self.conns.recv_timeout(self.wait) {
                Ok(conn) => self.recv = Some(conn),
                Err(_) => {
                    self.skipped =
                        Some("the client is not on the receive port (an earlier scenario lost it)");
                    return Err(Failure::new("a receive connection", "none"));
                }
            }
        }
        Ok(self.recv.as_mut().expect("set above"))
    }

    /// Pushes `MSG:<seq>:conform-bob:<user>:<id>:<ts>:<text>`; returns
    /// the frame, for a replay.
    fn push_msg(&mut self, seq: u64, id: &str, plain: &str) -> Result<String, Failure> {
        let to = self.stage.user.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let text = Text::from_plain(plain).map_err(|e| Failure::new("a text", e))?;
        let event = Event::Msg { seq, from: PEER.into(), to, id: id.into(), ts: now_ms(), text }.to_string();
        self.seq = self.seq.max(seq);
        self.recv()?.send(&event)?;
        Ok(event)
    }

    /// Reads until the client acknowledged `seq` (cumulative).
    fn acked(&mut self, seq: u64) -> Result<(), Failure> {
        let deadline = Instant::now() + self.wait;
        let want = format!("ACK:{seq} (or above)");
        let conn = self.recv()?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match conn.read_within(left) {
                Ok(Some(line)) => match line.strip_prefix("ACK:").and_then(|n| n.parse::<u64>().ok()) {
                    Some(n) if n >= seq => return Ok(()),
                    _ => {}
                },
                Ok(None) => return Err(Failure::new(want, "the client closed the receive connection")),
                Err(_) => return Err(Failure::new(want, "nothing")),
            }
        }
    }

    /// How many times `needle` appears in the client's output so far.
    fn shown(&self, needle: &str) -> usize {
        let output = self.stage.output.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&output).matches(needle).count()
    }

    /// Types a line for the client's user.
    fn type_line(&mut self, to: &str, text: &str) -> Result<(), Failure> {
        let line = self.say.replace("{to}", to).replace("{text}", text);
        self.stage.transcript.push("console", Dir::Sent, &format!("(typed) {line}"));
        let stdin = self.stdin.as_mut().ok_or_else(|| Failure::new("the client's stdin", "closed"))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| Failure::new("to type into the client", e.to_string()))
    }
}

type Scenario = fn(&mut Script) -> Result<(), Failure>;

/// The scenarios, in order: each starts where the previous one left off.
const SCENARIOS: [(&str, &str, Scenario); 8] = [
    ("logs-in-on-both-ports", "§10 Writing your own client", logs_in),
    ("acks-a-burst", "§6 The receive port", acks_a_burst),
    ("answers-ping", "§8 Timeouts", answers_ping),
    ("hostile-text-stays-text", "§10 Writing your own client", hostile_text),
    ("replay-shown-once", "§6 Replay", replay_shown_once),
    ("resends-with-same-id", "§4 MSG", resends_with_same_id),
    ("reconnects-after-bye-slow", "§6 BYE:SLOW", reconnects_after_bye_slow),
    ("bye-replaced-reported", "§6 BYE:REPLACED", bye_replaced),
];

/// How long a client's program may take to start, at the least, before
/// its first login: an interpreter or a JVM on a busy machine takes
/// seconds, which is no reaction time of the client's.
const START: Duration = Duration::from_secs(10);

fn logs_in(s: &mut Script) -> Result<(), Failure> {
    s.reconnected(s.wait.max(START), "a LOGIN or REGISTER on the receive port")
}

fn acks_a_burst(s: &mut Script) -> Result<(), Failure> {
    for n in 1..=20 {
        s.push_msg(n, &format!("b{n}"), &format!("burst message {n}")).map(drop)?;
    }
    s.acked(20)
}

fn answers_ping(s: &mut Script) -> Result<(), Failure> {
    let wait = s.wait;
    let conn = s.recv()?;
    conn.send("PING")?;
    let deadline = Instant::now() + wait;
    loop {
        match conn.read_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Some(line)) if line == "PONG" => return Ok(()),
            Ok(Some(_)) => {}
            Ok(None) => return Err(Failure::new("PONG", "the client closed the receive connection")),
            Err(_) => return Err(Failure::new("PONG", "nothing")),
        }
    }
}

fn hostile_text(s: &mut Script) -> Result<(), Failure> {
    let mark = s.stage.output.lock().unwrap_or_else(|e| e.into_inner()).len();
    let seq = s.seq + 1;
    s.push_msg(seq, "h1", "\u{1b}[2J\u{1b}]0;pwned\u{7}hostile \u{1b}[31mred").map(drop)?;
    s.acked(seq)?;
    thread::sleep(Duration::from_millis(300));
    let output = s.stage.output.lock().unwrap_or_else(|e| e.into_inner());
    let controls = output[mark..].iter().filter(|&&b| b == 0x1b || b == 0x07).count();
    check(
        controls == 0,
        "no ESC or BEL from the text in the console (shown as ^[ and ^G)",
        format!("{controls} raw control bytes"),
    )
}

fn replay_shown_once(s: &mut Script) -> Result<(), Failure> {
    let nonce = run_prefix();
    let seq = s.seq + 1;
    let frame = s.push_msg(seq, &format!("r{nonce}"), &format!("replayed {nonce}"))?;
    s.acked(seq)?;
    s.note("the suite drops the receive connection (as a server restart would) before it saw the ACK");
    s.recv.take();
    s.reconnected(s.wait * 2, "the client to log in again on the receive port")?;
    s.recv()?.send(&frame)?; // the same event again: at-least-once
    s.push_msg(seq + 1, &format!("n{nonce}"), &format!("new {nonce}"))?;
    s.acked(seq + 1)?;
    thread::sleep(Duration::from_millis(300));
    let (old, new) = (s.shown(&format!("replayed {nonce}")), s.shown(&format!("new {nonce}")));
    check(
        old == 1 && new == 1,
        "each message shown once (dedupe by <from>,<id>)",
        format!("shown {old} and {new} times"),
    )
}

fn resends_with_same_id(s: &mut Script) -> Result<(), Failure> {
    let text = format!("resend {}", run_prefix());
    while s.msgs.try_recv().is_ok() {}
    s.stage.drop_next_msg.store(true, Ordering::SeqCst);
    s.type_line(PEER, &text)?;
    let first = loop {
        match s.msgs.recv_timeout(s.wait) {
            Ok(m) if m.2 == text => break m,
            Ok(_) => {}
            Err(_) => {
                return Err(Failure::new(format!("MSG:{PEER}:<id>:{text} on the send port"), "nothing"));
            }
        }
    };
    s.note("the suite closed that send connection without a reply");
    loop {
        match s.msgs.recv_timeout(s.wait * 2) {
            Ok(m) if m.2 == text => {
                return check(
                    m.1 == first.1,
                    format!("MSG:{PEER}:{}:… (the same id)", first.1),
                    format!("id {}", m.1),
                );
            }
            Ok(_) => {}
            Err(_) => return Err(Failure::new(format!("the MSG sent again with id {}", first.1), "nothing")),
        }
    }
}

fn reconnects_after_bye_slow(s: &mut Script) -> Result<(), Failure> {
    s.recv()?.send("BYE:SLOW")?;
    s.recv.take();
    s.reconnected(s.wait * 2, "the client to log in again after BYE:SLOW")
}

fn bye_replaced(s: &mut Script) -> Result<(), Failure> {
    s.recv()?.send("BYE:REPLACED")?;
    s.recv.take();
    // Whether a replaced client comes back is its own choice: reported.
    match s.conns.recv_timeout(Duration::from_secs(2)) {
        Ok(conn) => {
            s.note("reported: the client logged in again after BYE:REPLACED");
            s.recv = Some(conn);
        }
        Err(_) => s.note("reported: the client did not log in again after BYE:REPLACED"),
    }
    Ok(())
}

fn check(ok: bool, expected: impl Into<String>, got: impl Into<String>) -> Result<(), Failure> {
    super::case::check(ok, expected, got)
}
