//! `wachat conform federation HOST --name NAME`: the suite plays a peer
//! server of the class network (protocol 1.3, docs/PROTOCOL.md §27)
//! against a student's server, both ways:
//!
//! - it **dials** the server's link port as a peer of its roster does
//!   (TLS with the suite's link key, then `HELLO`) and sends it numbered
//!   frames, right and wrong ones ([`hello`], [`taking`]);
//! - it **is dialed**: its own link port (the door, [`door`]) takes the
//!   links the server opens when its users write to the suite's users,
//!   checks the server's key, and answers its frames as a case asks: `ACK`, a
//!   refusal for good or for now, a link cut before the answer
//!   ([`sending`]); it goes down and comes back, and asks for restarts
//!   ([`outage`]).
//!
//! The server's roster must name the suite (`--as`, `conform` unless
//! told): one line `conform,<this machine>,<--listen>,<fingerprint>`, the
//! fingerprint of the suite's own link key (`--key-dir`, made there if
//! missing), which the suite prints as it starts; the roster (`--peers`)
//! gives the server's fingerprint. Its users are made on the server's send
//! port as `wachat conform server` makes them ([`CaseCtx`]), and
//! deleted after the run where the server allows it.
//!
//! [`class`]: `--class ROSTER`, the table of which servers of a roster
//! can link to which.

pub mod case;
pub mod class;
pub mod door;
pub mod group_calls;
pub mod hello;
pub mod link;
pub mod members;
pub mod outage;
pub mod peer;
pub mod sending;
pub mod taking;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::case::run_prefix;
use super::runner::{STOPPED, rate_limited};
use super::{CaseCtx, CaseOutcome, Failure, Group, ProtocolLevel, Status, SuiteConfig, html, report};
use crate::error::{Error, Result};
use crate::federation::LINK_PORT;
use crate::federation::roster::Roster;
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT, DEFAULT_TIMEOUT_SECS};
use case::{LinkCase, LinkCtx, Promised, Wants};
use door::LinkPort;
use peer::{Names, Peer};

/// The suite's link port unless told (`--listen`): the port of its line
/// in the roster.
pub const LISTEN_PORT: u16 = 7099;

#[derive(Args, Debug)]
pub struct FederationCheck {
    /// Host name or address of the server under test.
    #[arg(default_value = "127.0.0.1")]
    pub host: String,
    /// The server's name in the network (its --name, its line of the roster).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The server's link port (its --link-port).
    #[arg(long, default_value_t = LINK_PORT)]
    pub link_port: u16,
    /// The server's port for requests (the suite makes its users there).
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// The server's port for pushed events.
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// The suite's name in the roster.
    #[arg(long = "as", value_name = "NAME", default_value = "conform")]
    pub me: String,
    /// Where the suite's link key is (`link-key.pem`, `link-cert.pem`;
    /// made there if missing): its line of the roster carries its
    /// fingerprint.
    #[arg(long, value_name = "DIR", default_value = "conform-key")]
    pub key_dir: PathBuf,
    /// The suite's own link port, as on its line of the roster: the
    /// server dials the suite there.
    #[arg(long, value_name = "PORT", default_value_t = LISTEN_PORT)]
    pub listen: u16,
    /// The roster the server reads: the suite's line (--as) gives its
    /// link port, the server's line (--name) the fingerprint of its link
    /// key (the suite takes no other).
    #[arg(long, value_name = "FILE")]
    pub peers: Option<PathBuf>,
    /// The server's --timeout in seconds (it calls the suite back within
    /// it; the slow cases wait for it).
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Seconds to wait for a reply, an event or a frame that must come.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub wait: u64,
    /// The server's --give-up (90s, 2m): the case of a bounce past it
    /// runs only when it is given, and short (at most 5 minutes).
    #[arg(long, value_name = "DURATION", value_parser = crate::federation::parse_duration)]
    pub give_up: Option<Duration>,
    /// The server's --link-queue-max: the case of a full queue runs only
    /// when it is given, and small (at most 1000).
    #[arg(long, value_name = "N")]
    pub queue_max: Option<u64>,
    /// The server declares it does not carry files (1.3, §27 "Files
    /// across servers"): the file cases then check that it refuses them
    /// cleanly (a KO, the link alive) instead of taking them.
    #[arg(long)]
    pub no_files: bool,
    /// The server declares it does not search people across servers
    /// (1.3, §26 `PEOPLE:<start>@<server>`): the case of its answer then
    /// checks that it refuses a peer's search cleanly (a KO, the link
    /// alive), and the case of its users' searches is left out.
    #[arg(long)]
    pub no_people: bool,
    /// The server declares it does not carry rooms across servers (1.3,
    /// §27 "Rooms"): the membership cases then check that it refuses a
    /// `JOIN` of its room cleanly.
    #[arg(long)]
    pub no_rooms: bool,
    /// The server declares it does not carry presence (1.3, §27
    /// "Presence across servers"): the presence cases then check that it
    /// refuses a `PRESENCE` cleanly.
    #[arg(long)]
    pub no_presence: bool,
    /// The server declares it does not carry a room's call across servers
    /// (1.3, §27 "A room's call across servers"): the group call cases
    /// then check that it refuses a start with `KO:BAD_REQUEST`, its word
    /// for it.
    #[arg(long)]
    pub no_group_calls: bool,
    /// A shell command that restarts the server on its data; the cases
    /// that need it are skipped without it.
    #[arg(long, value_name = "CMD")]
    pub allow_restart: Option<String>,
    /// Leave out the slow cases (those that wait for the server's timeout).
    #[arg(long)]
    pub fast: bool,
    /// Only this group of cases (repeatable): hello, taking, sending, outage.
    #[arg(long, value_name = "GROUP", value_parser = group)]
    pub only: Vec<Group>,
    /// Only this case (repeatable), named as --list names it
    /// (`outage/full-queue-refused`).
    #[arg(long = "case", value_name = "GROUP/NAME")]
    pub cases: Vec<String>,
    /// Print one JSON object per case (JSON Lines) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page: the cases, and a sequence
    /// diagram of each failure.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Print the table of which servers of a roster (name,host,port,fingerprint)
    /// can link to which, and exit.
    #[arg(long, value_name = "ROSTER.CSV")]
    pub class: Option<PathBuf>,
    /// With --class: how many hellos are tried at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub parallel: u64,
}

/// The groups of the federation's cases, in the order they run.
const GROUPS: [Group; 4] = [Group::Hello, Group::Taking, Group::Sending, Group::Outage];

fn group(s: &str) -> std::result::Result<Group, String> {
    GROUPS.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
        let names: Vec<&str> = GROUPS.iter().map(|g| g.as_str()).collect();
        format!("the groups are {}", names.join(", "))
    })
}

/// Every case, in the order they run: the cases that make the server
/// dial the suite again after a broken link come last (a server waits
/// longer each time, up to a minute).
pub fn all_cases() -> Vec<LinkCase> {
    [
        hello::cases(),
        taking::cases(),
        members::taking(),
        group_calls::taking(),
        sending::cases(),
        members::sending(),
        group_calls::sending(),
        outage::cases(),
    ]
    .concat()
}

/// The longest `--give-up` and `--link-queue-max` the cases wait out.
const MOST_GIVE_UP: Duration = Duration::from_secs(300);
const MOST_QUEUE: u64 = 1000;

pub fn run(check: FederationCheck) -> Result<()> {
    if let Some(roster) = &check.class {
        let (wait, timeout) = (Duration::from_secs(check.wait), Duration::from_secs(check.timeout));
        return class::run(roster, wait, timeout, check.parallel as usize, check.json);
    }
    let cases: Vec<LinkCase> = all_cases()
        .into_iter()
        .filter(|c| check.only.is_empty() || check.only.contains(&c.group))
        .filter(|c| check.cases.is_empty() || check.cases.contains(&c.id()))
        .collect();
    if cases.is_empty() {
        return Err(Error::Usage("no case is selected: see --list".into()));
    }
    if check.list {
        for case in &cases {
            println!("{:<48} {:<5} {}", case.id(), "1.3", case.section);
        }
        return Ok(());
    }
    let setup = names(&check)?;
    let plan = Promised {
        give_up: check.give_up,
        queue_max: check.queue_max,
        no_files: check.no_files,
        no_people: check.no_people,
        no_rooms: check.no_rooms,
        no_presence: check.no_presence,
        no_group_calls: check.no_group_calls,
    };
    let mut settings = SuiteConfig {
        fast: check.fast,
        restart: check.allow_restart.clone(),
        server_timeout: Duration::from_secs(check.timeout),
        wait: Duration::from_secs(check.wait),
        ..SuiteConfig::new(check.host.clone(), check.send_port, check.recv_port, ProtocolLevel::V1_3)
    };
    super::preflight::check(&mut settings).map_err(Error::Usage)?;
    let bind = door_address(&check.host, setup.listen)?;
    let peer = Arc::new(Peer::new(setup.names, setup.key, settings.wait, settings.server_timeout)?);
    let door = LinkPort::new(peer.clone(), bind);
    door.up().map_err(|e| Error::io(format!("wachat conform federation: listening on {bind}"), e))?;
    eprintln!(
        "the suite is {me}, its link port {addr}: the roster of {them} must have the line\n  {me},<this machine>,{port},{print}",
        me = peer.names.me,
        addr = door.addr(),
        them = peer.names.them,
        port = door.addr().port(),
        print = peer.key.fingerprint,
    );
    let start = Instant::now();
    let mut stdout = std::io::stdout();
    let outcomes = run_cases(&cases, &settings, &peer, &door, &plan, &mut |o| {
        let line = if check.json { report::json(o) + "\n" } else { report::text(o) };
        let _ = stdout.write_all(line.as_bytes()).and_then(|_| stdout.flush());
    });
    door.down();
    super::preflight::clean_up_and_say(&settings);
    if !check.json {
        print!("{}", report::summary(&outcomes, start.elapsed().as_secs_f64()));
    }
    if let Some(path) = &check.html {
        let title = format!("wachat conform federation: {} at {}", peer.names.them, peer.names.their_link);
        report::write_file(path, &html::page(&title, "server", &outcomes))?;
    }
    report::verdict(&outcomes)
}

/// The names of the run, the suite's link key and link port.
struct Setup {
    names: Names,
    key: crate::federation::key::LinkKey,
    listen: u16,
}

/// Who is who, from the flags or the roster (`--peers`).
fn names(check: &FederationCheck) -> Result<Setup> {
    let them = check.name.clone().ok_or_else(|| {
        Error::Usage(
            "give the server's name in the network: --name NAME (its --name, its line of the roster)".into(),
        )
    })?;
    let their_link = format!("{}:{}", check.host, check.link_port);
    let key = crate::federation::key::LinkKey::load_or_make(&check.key_dir)?;
    let path = check.peers.as_ref().ok_or_else(|| {
        Error::Usage(
            "give the roster the server reads: --peers FILE (its line gives the server's key's fingerprint)"
                .into(),
        )
    })?;
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let roster = Roster::parse(&text, &check.me)
        .map_err(|e| Error::Usage(format!("{}: {e} (--as names the suite's line)", path.display())))?;
    let theirs = roster
        .peer(&them)
        .ok_or_else(|| Error::Usage(format!("{}: no line for {them} (--name)", path.display())))?;
    let their_fingerprint = theirs.fingerprint().map_err(Error::Usage)?.to_string();
    if !roster.me.fingerprint.as_deref().is_some_and(|f| crate::federation::key::same(f, &key.fingerprint)) {
        return Err(Error::Usage(format!(
            "{}: the suite's line must carry its key's fingerprint ({}, {}): \
             {},{},{},{}",
            path.display(),
            check.key_dir.display(),
            key.fingerprint,
            roster.me.name,
            roster.me.host,
            roster.me.port,
            key.fingerprint
        )));
    }
    let setup = Setup {
        names: Names { me: check.me.clone(), them, their_link, their_fingerprint },
        key,
        listen: roster.me.port,
    };
    crate::protocol::names::check_name(&setup.names.me).map_err(|e| Error::Usage(format!("--as: {e}")))?;
    Ok(setup)
}

/// Where the door listens: on loopback for a server on this machine, on
/// every interface for one elsewhere (it must reach the suite).
fn door_address(host: &str, port: u16) -> Result<SocketAddr> {
    let there = (host, 0).to_socket_addrs().map_err(|e| Error::io(format!("resolving {host}"), e))?.next();
    let loopback = there.is_some_and(|a| a.ip().is_loopback());
    let ip = if loopback { [127, 0, 0, 1] } else { [0, 0, 0, 0] };
    Ok(SocketAddr::from((ip, port)))
}

/// Runs `cases` one after the other, as [`super::runner::run`] does,
/// each in a [`LinkCtx`].
pub fn run_cases(
    cases: &[LinkCase],
    settings: &SuiteConfig,
    peer: &Arc<Peer>,
    door: &LinkPort,
    plan: &Promised,
    each: &mut dyn FnMut(&CaseOutcome),
) -> Vec<CaseOutcome> {
    let prefix = run_prefix();
    let mut outcomes = Vec::new();
    let mut stopped = false;
    for (n, case) in cases.iter().enumerate() {
        let outcome = match stopped {
            true => outcome(case, Status::Skip(STOPPED), 0, Vec::new()),
            false => run_one(case, settings, peer, door, plan, format!("{prefix}n{n}")),
        };
        stopped |= rate_limited(&outcome);
        each(&outcome);
        outcomes.push(outcome);
    }
    outcomes
}

fn run_one(
    case: &LinkCase,
    settings: &SuiteConfig,
    peer: &Arc<Peer>,
    door: &LinkPort,
    plan: &Promised,
    prefix: String,
) -> CaseOutcome {
    let skip = match case.wants {
        Wants::Clock if settings.fast => Some("slow (--fast)"),
        Wants::Restart if settings.restart.is_none() => Some("needs --allow-restart CMD"),
        Wants::GiveUp if plan.give_up.is_none_or(|g| g > MOST_GIVE_UP) => {
            Some("needs the server's --give-up, 5 minutes at most (--give-up)")
        }
        Wants::QueueMax if plan.queue_max.is_none_or(|q| q > MOST_QUEUE) => {
            Some("needs the server's --link-queue-max, 1000 at most (--queue-max)")
        }
        Wants::Files if plan.no_files => Some("the server does not carry files (--no-files)"),
        Wants::NoFiles if !plan.no_files => Some("the server carries files (without --no-files)"),
        Wants::People if plan.no_people => {
            Some("the server does not search people across servers (--no-people)")
        }
        Wants::Rooms if plan.no_rooms => Some("the server does not carry rooms across (--no-rooms)"),
        Wants::NoRooms if !plan.no_rooms => Some("the server carries rooms across (without --no-rooms)"),
        Wants::Presence if plan.no_presence => Some("the server does not carry presence (--no-presence)"),
        Wants::NoPresence if !plan.no_presence => Some("the server carries presence (without --no-presence)"),
        Wants::GroupCalls if plan.no_group_calls => {
            Some("the server does not carry group calls (--no-group-calls)")
        }
        Wants::NoGroupCalls if !plan.no_group_calls => {
            Some("the server carries group calls (without --no-group-calls)")
        }
        _ => None,
    };
    if let Some(why) = skip {
        return outcome(case, Status::Skip(why), 0, Vec::new());
    }
    peer.begin_case();
    let start = Instant::now();
    let mut ctx = LinkCtx { case: CaseCtx::new(settings, prefix), peer, door, plan };
    let result = catch_unwind(AssertUnwindSafe(|| (case.run)(&mut ctx)));
    // A case that stopped half-way leaves the suite as the next expects it.
    peer.release();
    let back = door.up();
    let status = match (result, back) {
        (Ok(Ok(())), Ok(())) => Status::Pass,
        (Ok(Err(failure)), _) => Status::Fail(failure),
        (Ok(Ok(())), Err(e)) => {
            Status::Fail(Failure::new("the suite's link port to open again", e.to_string()))
        }
        (Err(_), _) => Status::Fail(Failure::new(
            "the case to run",
            "the suite itself panicked (a bug in wachat conform)",
        )),
    };
    ctx.transcript.merge(&peer.log, start);
    outcome(case, status, start.elapsed().as_millis() as u64, ctx.transcript.lines())
}

fn outcome(
    case: &LinkCase,
    status: Status,
    ms: u64,
    transcript: Vec<super::wire::TranscriptLine>,
) -> CaseOutcome {
    CaseOutcome {
        id: case.id(),
        group: case.group,
        section: case.section,
        level: ProtocolLevel::V1_3,
        status,
        ms,
        transcript,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_many_unique_and_in_their_groups() {
        let cases = all_cases();
        let mut ids: Vec<String> = cases.iter().map(LinkCase::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), cases.len(), "two cases share a name");
        assert!(cases.len() >= 30, "{} cases", cases.len());
        assert!(cases.iter().all(|c| GROUPS.contains(&c.group)));
    }

    #[test]
    fn the_suite_keeps_its_identity_for_a_key() {
        let one = peer::identity("conform", "AB:CD");
        assert_eq!(one, peer::identity("CONFORM", "AB:CD"));
        assert_ne!(one, peer::identity("conform", "EF:01"));
        assert!(crate::protocol::link::check_identity(&one).is_ok());
    }
}
