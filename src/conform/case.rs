//! What a case is, and the context it runs in.
//!
//! A case is a plain function from a [`CaseCtx`] to `Result<(), Failure>`: it
//! opens connections, says things, and returns at the first reply that is
//! not what the protocol promises. The context makes its users (a random
//! prefix per run, so that the suite can run against a server that already
//! holds data, and again), labels its connections, and records the
//! transcript that a failure shows.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::ValueEnum;

pub use super::failure::{Failure, check};
use super::wire::{Conn, Dir, Transcript};
use crate::transport::Tls;

/// The protocol level a case checks: a case runs when the suite's
/// `--level` is at least its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ProtocolLevel {
    /// Version 1: log in, MSG, ACK, STATUS, rooms, presence, timeouts
    /// (docs/PROTOCOL.md §1–§10).
    #[value(name = "1.0")]
    V1_0,
    /// Version 1.1, after VERSION:1.1: LASTSEEN, MEMBERS, MEMBER events,
    /// SERVER (docs/PROTOCOL.md §11–§12).
    #[value(name = "1.1")]
    V1_1,
    /// Version 1.2: invites, TYPING, devices, INFO, moderation, message
    /// actions, accounts, files, blocks and pins, archives, starred
    /// messages (docs/PROTOCOL.md §13–§23, §25; calls, §24, are tried by
    /// the browser's tests).
    #[value(name = "1.2")]
    V1_2,
    /// Version 1.3, the class network (docs/PROTOCOL.md §27): checked by
    /// `wachat conform federation`, never by `--level`.
    #[value(skip)]
    V1_3,
}

impl ProtocolLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolLevel::V1_0 => "1.0",
            ProtocolLevel::V1_1 => "1.1",
            ProtocolLevel::V1_2 => "1.2",
            ProtocolLevel::V1_3 => "1.3",
        }
    }
}

/// The groups, in the order of docs/PROTOCOL.md, which is also the order
/// in which to make them pass (docs/LAB.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Group {
    /// Frames, `\r\n`, the last field, the size limit.
    Framing,
    /// `REGISTER` / `LOGIN` and their failures.
    Auth,
    /// `MSG`, `OK:<id>:<ts>`, resend dedup.
    Messages,
    /// The receive port: seq, `ACK`, replay, `BYE:REPLACED`.
    Receive,
    /// `STATUS` `DELIVERED` / `READ`, cumulative.
    Status,
    /// `JOIN`/`LEAVE`/`ROOMS`, room messages, presence.
    Rooms,
    /// `HISTORY`, `USERS`, `CHATS`.
    Listings,
    /// Every `KO` code for the input that earns it.
    Codes,
    /// Pipelining, `QUIT`, timeouts, `PING`/`PONG`.
    Timing,
    /// What must survive a restart (needs `--allow-restart`).
    Restart,
    /// The 1.1 additions: `LASTSEEN`, `MEMBERS`, `MEMBER`, `SERVER`, limits.
    #[value(name = "v1.1")]
    V11,
    /// The 1.2 additions: `TYPING`.
    #[value(name = "v1.2")]
    V12,
    /// `wachat conform client`'s scenarios (never a server's group).
    #[value(skip)]
    Client,
    /// `wachat conform federation`: the hello and the check of who is
    /// speaking (TLS with link keys, `HELLO`).
    #[value(skip)]
    Hello,
    /// `wachat conform federation`: the frames the server takes from a
    /// peer that links to it.
    #[value(skip)]
    Taking,
    /// `wachat conform federation`: the frames the server sends a peer it
    /// links to, and the bounces its users are told.
    #[value(skip)]
    Sending,
    /// `wachat conform federation`: a peer down and back, the give-up
    /// age, a full queue, restarts.
    #[value(skip)]
    Outage,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Framing => "framing",
            Group::Auth => "auth",
            Group::Messages => "messages",
            Group::Receive => "receive",
            Group::Status => "status",
            Group::Rooms => "rooms",
            Group::Listings => "listings",
            Group::Codes => "codes",
            Group::Timing => "timing",
            Group::Restart => "restart",
            Group::V11 => "v1.1",
            Group::V12 => "v1.2",
            Group::Client => "client",
            Group::Hello => "hello",
            Group::Taking => "taking",
            Group::Sending => "sending",
            Group::Outage => "outage",
        }
    }
}

/// What a case needs beyond a running server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// Waits for the server's `--timeout` (left out by `--fast`).
    Clock,
    /// Restarts the server (`--allow-restart CMD`).
    Restart,
    /// A server that speaks TLS (`--tls` or `--ca`).
    Tls,
    /// Sends `REGISTER` itself (skipped on an invite-only server).
    Register,
}

/// One case: a name, the section of docs/PROTOCOL.md it checks, and the
/// function that checks it.
#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub section: &'static str,
    pub group: Group,
    pub level: ProtocolLevel,
    pub needs: Needs,
    pub run: fn(&mut CaseCtx) -> Result<(), Failure>,
}

impl Case {
    /// `group/name`, how reports and `--only` name it.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group.as_str(), self.name)
    }
}

/// How the suite reaches the server and what it may do to it.
#[derive(Clone, Debug)]
pub struct SuiteConfig {
    pub host: String,
    pub send_port: u16,
    pub recv_port: u16,
    pub level: ProtocolLevel,
    /// Only these groups (all when empty).
    pub only: Vec<Group>,
    /// Leave out the cases that wait for the server's timeout.
    pub fast: bool,
    /// A shell command that restarts the server, keeping its data.
    pub restart: Option<String>,
    /// The server's `--timeout` (what the timing cases wait for).
    pub server_timeout: Duration,
    /// How long to wait for a reply or an event that must come.
    pub wait: Duration,
    /// Speak TLS, trusting this (`--tls`, `--ca`); plaintext when `None`.
    pub tls: Option<Tls>,
    /// The accounts the run made, (name, password): deleted at its end
    /// where the protocol allows (`preflight::clean_up`).
    pub made: Arc<Mutex<Vec<(String, String)>>>,
    /// Invite codes not used yet (`--invite`, `--invites`).
    pub invites: Arc<Mutex<Vec<String>>>,
    /// The server refuses `REGISTER` (the preflight found out): users are
    /// made with `REDEEM` and a code, and the cases that register by
    /// themselves are skipped.
    pub invite_only: bool,
    /// The server limits the requests of the suite's address (its `INFO`
    /// says a `rate`, and counts the address's new accounts: it is not
    /// exempt): the clean-up deletes its accounts at a pace that leaves
    /// that address's budget to whoever shares it (`preflight::clean_up`).
    pub limited: bool,
}

impl SuiteConfig {
    /// Settings with no account made and no invite code yet.
    pub fn new(host: String, send_port: u16, recv_port: u16, level: ProtocolLevel) -> SuiteConfig {
        SuiteConfig {
            host,
            send_port,
            recv_port,
            level,
            only: Vec::new(),
            fast: false,
            restart: None,
            server_timeout: Duration::from_secs(crate::protocol::DEFAULT_TIMEOUT_SECS),
            wait: Duration::from_secs(5),
            tls: None,
            made: Arc::default(),
            invites: Arc::default(),
            invite_only: false,
            limited: false,
        }
    }

    /// The next invite code, on an invite-only server.
    fn next_invite(&self) -> Option<String> {
        if !self.invite_only {
            return None;
        }
        let mut codes = self.invites.lock().unwrap_or_else(|e| e.into_inner());
        (!codes.is_empty()).then(|| codes.remove(0))
    }

    /// Notes an account the run made, to delete it at the end.
    pub fn made(&self, name: &str, password: &str) {
        self.made.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_string(), password.to_string()));
    }

    pub fn send_addr(&self) -> String {
        format!("{}:{}", self.host, self.send_port)
    }

    pub fn recv_addr(&self) -> String {
        format!("{}:{}", self.host, self.recv_port)
    }
}

/// A random prefix for this run's user names: 2 letters and 4 digits.
pub fn run_prefix() -> String {
    let n = RandomState::new().hash_one(Instant::now());
    let letters = b"abcdefghijkmnpqrstuvwxyz";
    let a = letters[(n % 24) as usize] as char;
    let b = letters[((n >> 8) % 24) as usize] as char;
    format!("c{a}{b}{:04}", (n >> 16) % 10_000)
}

/// What a case runs in: its users, its connections' transcript.
pub struct CaseCtx<'a> {
    pub settings: &'a SuiteConfig,
    pub transcript: Transcript,
    /// `<run prefix><case number>`: every name of this case starts so.
    prefix: String,
}

impl<'a> CaseCtx<'a> {
    pub fn new(settings: &'a SuiteConfig, prefix: String) -> CaseCtx<'a> {
        CaseCtx { settings, transcript: Transcript::new(), prefix }
    }

    /// This case's user name for `alias` (`a` → `cxy1234n7a`).
    pub fn name(&self, alias: &str) -> String {
        format!("{}{alias}", self.prefix)
    }

    /// This case's password for a user (with a colon: the last field
    /// takes the rest of the line).
    pub fn password(&self, user: &str) -> String {
        format!("pass:word{}", user.len()) // 6 characters at least (1.2)
    }

    /// A room of this case's own (never `#general`, whose members are
    /// everyone else's too).
    pub fn room(&self, alias: &str) -> String {
        format!("#{}{alias}", self.prefix)
    }

    pub fn note(&self, text: &str) {
        self.transcript.push("suite", Dir::Note, text);
    }

    /// A new connection to the send port, not logged in.
    pub fn send_conn(&self, label: &str) -> Result<Conn, Failure> {
        self.open(&self.settings.send_addr(), label)
    }

    /// A new connection to the receive port, not logged in.
    pub fn recv_conn(&self, label: &str) -> Result<Conn, Failure> {
        self.open(&self.settings.recv_addr(), label)
    }

    fn open(&self, addr: &str, label: &str) -> Result<Conn, Failure> {
        let mut conn =
            Conn::open(addr, self.settings.tls.as_ref(), label, &self.transcript, self.settings.wait)?;
        // A close the protocol asks for comes at once; one that comes
        // after the server's timeout is a close for silence instead.
        conn.close_wait = self.settings.wait.min(self.settings.server_timeout * 3 / 4);
        Ok(conn)
    }

    /// Registers the user `alias` and returns its send connection,
    /// logged in (label `<alias>.send`), after it left `#general`.
    ///
    /// Why leave: `#general` holds every account of the server, so on a
    /// live class server each receive login of the suite's users would be
    /// a "… is online / went offline" on every student's screen (59 lines
    /// in one run). Out of `#general` before its first receive
    /// login, a user of the suite shares a room with nobody but the
    /// suite's own; and a server does not announce leaving `#general`
    /// (docs/PROTOCOL.md §11).
    pub fn user(&self, alias: &str) -> Result<Conn, Failure> {
        let mut conn = self.user_in_general(alias)?;
        // A server that refuses it (a KO) only keeps the user in #general.
        conn.request("LEAVE:#general")?;
        Ok(conn)
    }

    /// [`CaseCtx::user`], staying in `#general` (the case that checks that a
    /// new account is put there).
    pub fn user_in_general(&self, alias: &str) -> Result<Conn, Failure> {
        let name = self.name(alias);
        let mut conn = self.send_conn(&format!("{alias}.send"))?;
        let password = self.password(&name);
        let line = match self.settings.next_invite() {
            Some(code) => format!("REDEEM:{code}:{name}::{password}"),
            None if self.settings.invite_only => {
                return Err(Failure::new(
                    "an invite code for this case's user",
                    "none left: give more with --invites FILE",
                ));
            }
            None => format!("REGISTER:{name}::{password}"),
        };
        let reply = conn.request(&line)?;
        if reply.starts_with("OK") {
            self.settings.made(&name, &password);
        }
        if reply.starts_with("KO:RATE_LIMITED") {
            return Err(Failure::new(
                format!("OK:{name} (setup: this case's user)"),
                format!(
                    "{reply} (the server throttles new accounts: exempt the suite's address, wachat serve --exempt 127.0.0.1)"
                ),
            ));
        }
        check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)?;
        Ok(conn)
    }

    /// Logs `alias` in on the send port again (label `<alias>.send2`).
    pub fn login_send(&self, alias: &str, label: &str) -> Result<Conn, Failure> {
        let name = self.name(alias);
        let mut conn = self.send_conn(label)?;
        let reply = conn.request(&format!("LOGIN:{name}:{}", self.password(&name)))?;
        check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)?;
        Ok(conn)
    }

    /// Logs `alias` in on the receive port (label `<alias>.recv`, or the
    /// one given).
    pub fn recv(&self, alias: &str) -> Result<Conn, Failure> {
        self.recv_as(alias, &format!("{alias}.recv"))
    }

    pub fn recv_as(&self, alias: &str, label: &str) -> Result<Conn, Failure> {
        let name = self.name(alias);
        let mut conn = self.recv_conn(label)?;
        let reply = conn.request(&format!("LOGIN:{name}:{}", self.password(&name)))?;
        check(reply == format!("OK:{name}"), format!("OK:{name}"), reply)?;
        Ok(conn)
    }

    /// Restarts the server with the `--allow-restart` command, then waits
    /// until both its ports accept connections again: a server opens them
    /// one after the other, in any order, and on a loaded machine the
    /// second may come long after the first (a case that went on at the
    /// send port's return found the receive port closed).
    pub fn restart(&self) -> Result<(), Failure> {
        let Some(command) = &self.settings.restart else {
            return Err(Failure::new("a restart command (--allow-restart)", "none"));
        };
        self.note(&format!("restarting the server: {}", crate::display::visible(command)));
        let limit = Duration::from_secs(super::shell::RESTART_SECS);
        let ran = super::shell::run(command, limit);
        if !ran.output.is_empty() {
            self.note(&format!("the restart command said: {}", ran.output));
        }
        if let Err(why) = ran.result {
            return Err(Failure::new("the restart command to succeed", why));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let accepts = |addr: String| TcpStream::connect(addr).is_ok();
            if accepts(self.settings.send_addr()) && accepts(self.settings.recv_addr()) {
                self.note("the server accepts connections again, on both ports");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(Failure::new(
            "the server to accept connections on both ports after the restart",
            "not within 30 s",
        ))
    }
}

/// A level-1.0 case that needs nothing but the server; see [`Case::clock`],
/// [`Case::restart`] and [`Case::at`] for the others.
pub fn case(
    group: Group,
    name: &'static str,
    section: &'static str,
    run: fn(&mut CaseCtx) -> Result<(), Failure>,
) -> Case {
    Case { name, section, group, level: ProtocolLevel::V1_0, needs: Needs::Nothing, run }
}

/// A case of an addition to version 1 (group `v1.1` or `v1.2`), run only
/// at its level and above.
pub fn addition(
    level: ProtocolLevel,
    name: &'static str,
    section: &'static str,
    run: fn(&mut CaseCtx) -> Result<(), Failure>,
) -> Case {
    let group = if level == ProtocolLevel::V1_1 { Group::V11 } else { Group::V12 };
    case(group, name, section, run).at(level)
}

impl Case {
    /// This case waits for the server's `--timeout`.
    pub fn clock(self) -> Case {
        Case { needs: Needs::Clock, ..self }
    }

    /// This case restarts the server.
    pub fn restart(self) -> Case {
        Case { needs: Needs::Restart, ..self }
    }

    /// This case sends `REGISTER` itself.
    pub fn registers(self) -> Case {
        Case { needs: Needs::Register, ..self }
    }

    /// This case needs a TLS server.
    pub fn tls(self) -> Case {
        Case { needs: Needs::Tls, ..self }
    }

    /// This case checks an addition of protocol `level`.
    pub fn at(self, level: ProtocolLevel) -> Case {
        Case { level, ..self }
    }
}
