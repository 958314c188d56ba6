//! `wachat demo`: the whole protocol in one minute, on screen.
//!
//! It starts a real server in this process, on free ports (port 0) with a
//! throwaway data directory, and plays two users, ana and bob, speaking raw
//! frames over real sockets. Every frame is printed as it crosses the wire
//! (`ana send > MSG:bob:…` is ana writing on the send port, `bob recv <
//! MSG:1:…` the server pushing to bob on the receive port), under one line
//! saying what the step shows: a message to an offline user, delivery at
//! login, `✓` → `✓✓` → `✓✓ read`, a room message, and a restart that loses
//! nothing. Then it deletes the directory and exits 0.
//!
//! It is a script, not a client: each step knows which frame must come
//! next, and anything else stops the demo with an error (so the test that
//! runs it also checks the protocol). Events that may arrive at any moment
//! (`JOINED`, `LEFT`, `PING`) are printed and skipped.
//!
//! On a terminal it goes frame by frame, with a pause before each step
//! and each frame; into a pipe or a file it prints at full speed.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::i18n::demo::Msg;
use crate::i18n::tr;
use crate::protocol::{Event, EventReply};
use crate::server::{Config, Server, listener};
use crate::sys::places::TempDir;

/// Password hashing cost for the demo's accounts: the smallest argon2
/// allows, since nobody attacks a directory deleted a second later.
const DEMO_KDF_COST: u32 = 8;

/// The server's `--timeout` in the demo: longer than the whole demo.
const DEMO_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the demo waits for any frame before it gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the demo on stdout.
pub fn run() -> Result<()> {
    // The server's log lines would cut the transcript; keep warnings only,
    // unless the user asked for more with RUST_LOG.
    if std::env::var_os("RUST_LOG").is_none() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let dir = TempDir::new("wachat-demo").map_err(|e| Error::io("demo: a temporary directory", e))?;
    match play(dir.path()) {
        // Whoever read the transcript has stopped reading (`wachat demo |
        // head`): stop quietly, as Unix tools do. `dir` goes on the way out.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The script: steps 1 to 12 on a server in `dir`, restarted after step 9.
fn play(dir: &Path) -> Result<()> {
    let server = start(dir)?;
    say(&tr!(Msg::Header, dir = dir.display()))?;
    say(&tr!(Msg::Ports, send = server.send_addr(), recv = server.recv_addr()))?;
    say(&tr!(Msg::Arrows))?;
    let mut bob_events = before_restart(&server)?;

    step(9, Msg::Step9)?;
    server.shutdown();
    bob_events.until("BYE:SHUTDOWN")?;
    let server = start(dir)?;
    say(&tr!(Msg::NewServer, send = server.send_addr(), recv = server.recv_addr()))?;
    after_restart(&server)?;
    server.shutdown();
    say(&tr!(Msg::Done))?;
    Ok(())
}

/// A server on free ports of this machine, with fast password hashing.
fn start(dir: &Path) -> Result<Server> {
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    // Paced on a terminal, the demo takes half a minute: no connection of
    // it may time out, nor get a PING (at half the timeout) in the middle
    // of a step's frames.
    let config = Config { kdf_cost: DEMO_KDF_COST, timeout: DEMO_TIMEOUT, ..Config::new(dir) };
    let server = Server::start(listener::bind(any_port)?, listener::bind(any_port)?, config)?;
    server.open();
    Ok(server)
}

/// Steps 1 to 8. Returns bob's receive connection, which hears the restart.
fn before_restart(server: &Server) -> Result<Wire> {
    let (send, recv) = (server.send_addr(), server.recv_addr());
    step(1, Msg::Step1)?;
    let mut ana = Wire::open("ana", "send", send)?;
    ana.expect("REGISTER:ana:ana@example.org:ana-pw", "OK:ana")?;
    let mut bob = Wire::open("bob", "send", send)?;
    bob.expect("REGISTER:bob::bob-pw", "OK:bob")?;

    step(2, Msg::Step2)?;
    let mut ana_events = Wire::open("ana", "recv", recv)?;
    ana_events.expect("LOGIN:ana:ana-pw", "OK:ana")?;

    step(3, Msg::Step3)?;
    ana.expect("MSG:bob:m1:hola bob, ¿estás?", "OK:m1:")?;

    step(4, Msg::Step4)?;
    let mut bob_events = Wire::open("bob", "recv", recv)?;
    bob_events.expect("LOGIN:bob:bob-pw", "OK:bob")?;
    bob_events.until("MSG:1:ana:bob:m1:")?;
    ana_events.until("JOINED:bob")?; // they share #general: ana hears he is online

    step(5, Msg::Step5)?;
    bob_events.send("ACK:1")?;
    ana_events.until("STATUS:1:bob:m1:DELIVERED:")?;
    ana_events.send("ACK:1")?;

    step(6, Msg::Step6)?;
    bob.expect("READ:ana:m1", "OK")?;
    ana_events.until("STATUS:2:bob:m1:READ:")?;
    ana_events.send("ACK:2")?;

    step(7, Msg::Step7)?;
    ana.expect("MSG:#general:m2:hola a todos", "OK:m2:")?;
    bob_events.until("MSG:2:ana:#general:m2:")?;
    bob_events.send("ACK:2")?;

    step(8, Msg::Step8)?;
    ana_events.close();
    bob_events.until("LEFT:ana")?;
    bob.expect("MSG:ana:b1:sí, aquí estoy", "OK:b1:")?;
    Ok(bob_events)
}

/// Steps 10 to 12, on the restarted server.
fn after_restart(server: &Server) -> Result<()> {
    let (send, recv) = (server.send_addr(), server.recv_addr());
    step(10, Msg::Step10)?;
    let mut ana_events = Wire::open("ana", "recv", recv)?;
    ana_events.expect("LOGIN:ana:ana-pw", "OK:ana")?;
    ana_events.until("MSG:3:bob:ana:b1:")?;
    ana_events.send("ACK:3")?;

    step(11, Msg::Step11)?;
    let mut bob_events = Wire::open("bob", "recv", recv)?;
    bob_events.expect("LOGIN:bob:bob-pw", "OK:bob")?;
    bob_events.until("STATUS:3:ana:b1:DELIVERED:")?;
    bob_events.send("ACK:3")?;

    step(12, Msg::Step12)?;
    let mut ana = Wire::open("ana", "send", send)?;
    ana.expect("LOGIN:ana:ana-pw", "OK:ana")?;
    ana.expect("HISTORY:bob:10", "OK:2")?;
    ana.until("ana:bob:m1:")?;
    ana.until("bob:ana:b1:")?;
    ana.expect("QUIT", "OK")?;
    Ok(())
}

/// Pauses on a terminal before a step's line, so a person reads what the
/// step shows before its frames come ...
const STEP_PAUSE: Duration = Duration::from_millis(1200);
/// ... and before each frame, so the frames come one by one (about 30 s
/// for the whole demo). Never when the output goes to a pipe or a file
/// (`wachat demo | less`, the tests): there nobody watches it happen.
const FRAME_PAUSE: Duration = Duration::from_millis(250);

/// Prints the line that says what the next frames show.
fn step(n: u32, what: Msg) -> Result<()> {
    pause(STEP_PAUSE);
    say(&format!("\n── {n}. {}", tr!(what)))
}

/// Waits `how_long` if a person watches the demo on a terminal.
fn pause(how_long: Duration) {
    static WATCHED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *WATCHED.get_or_init(|| std::io::stdout().is_terminal()) {
        std::thread::sleep(how_long);
    }
}

/// Prints one line of the transcript. Writing can fail when whoever reads
/// it has gone (`wachat demo | head`): the demo then stops, see [`run`].
fn say(line: &str) -> Result<()> {
    writeln!(std::io::stdout(), "{line}").map_err(|e| Error::io(tr!(Msg::Writing), e))
}

/// Prints one frame of the transcript, paced on a terminal.
fn say_frame(line: &str) -> Result<()> {
    pause(FRAME_PAUSE);
    say(line)
}

/// One connection of a scripted user, printing every frame it carries.
struct Wire {
    /// `ana send`, `bob recv`: whose connection, on which port.
    label: String,
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Wire {
    fn open(user: &str, port: &str, addr: SocketAddr) -> Result<Wire> {
        let label = format!("{user} {port}");
        let ctx = |e| Error::io(tr!(Msg::Connecting, label = label, addr = addr), e);
        let stream = TcpStream::connect(addr).map_err(ctx)?;
        // Every read has a deadline: a demo that hangs teaches nothing.
        stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(ctx)?;
        let reader = BufReader::new(stream.try_clone().map_err(ctx)?);
        Ok(Wire { label, stream, reader })
    }

    fn send(&mut self, frame: &str) -> Result<()> {
        say_frame(&format!("{} > {frame}", self.label))?;
        let ctx = |e| Error::io(tr!(Msg::WritingFrame, label = self.label), e);
        self.stream.write_all(format!("{frame}\n").as_bytes()).map_err(ctx)
    }

    /// Reads one frame and prints it.
    fn read(&mut self) -> Result<String> {
        let mut line = String::new();
        let read = self.reader.read_line(&mut line);
        let ctx = |e| Error::io(tr!(Msg::WaitingFrame, label = self.label), e);
        if read.map_err(ctx)? == 0 {
            return Err(Error::Protocol(tr!(Msg::ServerClosed, label = self.label)));
        }
        let frame = line.trim_end_matches('\n').to_string();
        say_frame(&format!("{} < {frame}", self.label))?;
        Ok(frame)
    }

    /// Sends a request; its reply must start with `reply`.
    fn expect(&mut self, request: &str, reply: &str) -> Result<()> {
        self.send(request)?;
        let got = self.read()?;
        if !got.starts_with(reply) {
            return Err(Error::Protocol(tr!(Msg::Expected, label = self.label, expected = reply, got = got)));
        }
        Ok(())
    }

    /// Reads until a frame starts with `prefix`. Presence events and pings
    /// come whenever they happen: they are printed, and a `PING` answered.
    fn until(&mut self, prefix: &str) -> Result<String> {
        loop {
            let frame = self.read()?;
            if frame.starts_with(prefix) {
                return Ok(frame);
            }
            match Event::parse(&frame) {
                Ok(Event::Joined { .. } | Event::Left { .. }) => {}
                Ok(Event::Ping) => self.send(&EventReply::Pong.to_string())?,
                _ => {
                    let why = tr!(Msg::Expected, label = self.label, expected = prefix, got = frame);
                    return Err(Error::Protocol(why));
                }
            }
        }
    }

    /// Closes the connection (the user goes offline).
    fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
