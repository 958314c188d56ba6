//! `wachat conform server|client`: the command line of the suite, and what
//! it prints. A failing case makes the command exit non-zero, so that a
//! grading script or a CI job needs nothing but the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::report;
use super::{Group, ProtocolLevel, SuiteConfig, all_cases, html, runner};
use crate::error::{Error, Result};
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT, DEFAULT_TIMEOUT_SECS};

#[derive(Args, Debug)]
pub struct ConformArgs {
    #[command(subcommand)]
    pub command: ConformCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConformCommand {
    /// Run the protocol's cases against a server (any language): groups
    /// framing, auth, messages, receive, status, rooms, listings, codes,
    /// timing, restart, v1.1, v1.2 (see --only).
    Server(ServerCheck),
    /// Play the server for a client: start CMD with WACHAT_SEND_PORT and
    /// WACHAT_RECV_PORT set, and check what it does.
    Client(super::client::ClientCheck),
    /// Play a peer server of the class network (protocol 1.3) against a
    /// server, both ways: groups hello, taking, sending, outage; or, with
    /// --class ROSTER, the table of which servers of a roster link.
    Federation(super::federation::FederationCheck),
}

#[derive(Args, Debug)]
pub struct ServerCheck {
    /// Host name or address of the server.
    #[arg(default_value = "127.0.0.1")]
    pub host: String,
    /// The server's port for requests.
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// The server's port for pushed events.
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// The protocol level to check: the cases of that version and those
    /// below it.
    #[arg(long, value_enum, default_value = "1.0")]
    pub level: ProtocolLevel,
    /// Only this group of cases (repeatable).
    #[arg(long, value_enum, value_name = "GROUP")]
    pub only: Vec<Group>,
    /// Leave out the slow cases (those that wait for the server's timeout).
    #[arg(long)]
    pub fast: bool,
    /// A shell command that restarts the server on its data; the cases of
    /// the group `restart` are skipped without it.
    #[arg(long, value_name = "CMD")]
    pub allow_restart: Option<String>,
    /// The server's --timeout in seconds (the timing cases wait for it).
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Seconds to wait for a reply or an event that must come.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub wait: u64,
    /// Print one JSON object per case (JSON Lines) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page: the cases, and a sequence
    /// diagram of each failure.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Run the suite against every server of a roster (CSV with the header
    /// `student,host,send_port,recv_port[,restart]`; restart: a shell command
    /// that restarts that student's server) and print one table, with
    /// points per group.
    #[arg(long, value_name = "ROSTER.CSV")]
    pub class: Option<PathBuf>,
    /// With --class: how many servers are checked at once.
    #[arg(long, default_value_t = super::class::DEFAULT_JOBS, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: u64,
    /// With --class: the points a group of cases weighs (default 10 each,
    /// shared by its cases), or a case (`group/name`, as --list names it)
    /// weighs of its own, beside its group's (the lab's core, the replay
    /// after a reconnect, DELIVERED only after the ACK and a resent message
    /// stored once, 75 each by default); repeatable, e.g. --weight
    /// restart=30 --weight v1.2=0 --weight receive/acked-not-replayed=20.
    #[arg(long, value_name = "GROUP=POINTS|CASE=POINTS", value_parser = super::class::parse_weight)]
    pub weight: Vec<(super::class::Weighed, f64)>,
    /// With --class: also write the grades as CSV, one row per student
    /// (points, maximum, each group's points), for a grading script.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Speak TLS to the server, trusting the certificates the system trusts.
    #[arg(long)]
    pub tls: bool,
    /// Speak TLS to the server, trusting this certificate (PEM), e.g. the
    /// cert.pem that `wachat cert` made.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// List the cases (at --level, in --only) and exit.
    #[arg(long)]
    pub list: bool,
    /// An invite code for an invite-only server: the suite makes one of
    /// its users with it (REDEEM). Repeatable; see --invites.
    #[arg(long, value_name = "CODE")]
    pub invite: Vec<String>,
    /// A file of invite codes, one a line (what `wachat users invite
    /// --count N` prints).
    #[arg(long, value_name = "FILE")]
    pub invites: Option<PathBuf>,
}

pub fn run(args: ConformArgs) -> Result<()> {
    match args.command {
        ConformCommand::Server(check) => server(check),
        ConformCommand::Client(check) => super::client::run(check),
        ConformCommand::Federation(check) => super::federation::run(check),
    }
}

fn settings(check: &ServerCheck, host: &str, send_port: u16, recv_port: u16) -> Result<SuiteConfig> {
    let invites =
        super::preflight::read_invites(&check.invite, check.invites.as_deref()).map_err(Error::Usage)?;
    Ok(SuiteConfig {
        only: check.only.clone(),
        fast: check.fast,
        restart: check.allow_restart.clone(),
        server_timeout: Duration::from_secs(check.timeout),
        wait: Duration::from_secs(check.wait),
        tls: crate::client::tls::for_client(check.tls, check.ca.as_deref())?,
        invites: std::sync::Arc::new(std::sync::Mutex::new(invites)),
        ..SuiteConfig::new(host.to_string(), send_port, recv_port, check.level)
    })
}

fn server(check: ServerCheck) -> Result<()> {
    if let Some(roster) = &check.class {
        return class(&check, roster);
    }
    let mut settings = settings(&check, &check.host, check.send_port, check.recv_port)?;
    let cases = runner::selected(all_cases(), &settings);
    if !check.list {
        let allowed = super::preflight::check(&mut settings).map_err(Error::Usage)?;
        if !check.json && !allowed.info.is_empty() {
            let said: Vec<String> = allowed.info.iter().map(ToString::to_string).collect();
            eprintln!("the server says: {}", said.join(", "));
        }
    }
    if check.list {
        for case in &cases {
            println!("{:<48} {:<5} {}", case.id(), case.level.as_str(), case.section);
        }
        return Ok(());
    }
    let start = Instant::now();
    let mut stdout = std::io::stdout();
    let outcomes = runner::run(&cases, &settings, &mut |o| {
        let line = if check.json { report::json(o) + "\n" } else { report::text(o) };
        // A closed stdout (`| head`) must not stop the run.
        let _ = stdout.write_all(line.as_bytes()).and_then(|_| stdout.flush());
    });
    super::preflight::clean_up_and_say(&settings);
    if !check.json {
        print!("{}", report::summary(&outcomes, start.elapsed().as_secs_f64()));
    }
    if let Some(path) = &check.html {
        let title = format!("wachat conform: {} (level {})", settings.send_addr(), settings.level.as_str());
        report::write_file(path, &html::page(&title, "server", &outcomes))?;
    }
    report::verdict(&outcomes)
}

/// The suite against every server of a roster, `--jobs` at a time; the
/// table (or JSON), the CSV and the page at the end (`class.rs`).
fn class(check: &ServerCheck, roster: &Path) -> Result<()> {
    let rows = super::class::read_roster(roster)?;
    let settings = |row: &super::class::RosterEntry| {
        let mut settings = settings(check, &row.host, row.send_port, row.recv_port)?;
        settings.restart = row.restart.clone();
        Ok(settings)
    };
    let checked = super::class::check_all(rows, check.jobs as usize, &settings);
    let weights = super::class::Weights(check.weight.clone());
    let table = if check.json {
        super::class::json(&checked, &weights)
    } else {
        super::class::text(&checked, &weights)
    };
    print!("{table}");
    if let Some(path) = &check.csv {
        report::write_file(path, &super::class::csv(&checked, &weights)?)?;
    }
    if let Some(path) = &check.html {
        report::write_file(path, &html::class_page(&checked, &weights))?;
    }
    super::class::verdict(&checked)
}
