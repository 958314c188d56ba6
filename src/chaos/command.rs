//! `wachat chaos`: the command line. Exit 0 when every guarantee held, 1
//! when one was violated (or the run could not be made), 2 on a usage
//! error (clap's code, for a CI script to tell the cases apart).

use std::fmt::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::check;
use super::model::Model;
use super::network::Network;
use super::report::{self, Header};
use super::run::{Plan, run};
use super::schedule::{self, FaultKind, Shape};
use crate::conform::ProtocolLevel;
use crate::error::{Error, Result};
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT};

#[derive(Args, Debug)]
pub struct ChaosArgs {
    /// Host name or address of the server.
    #[arg(default_value = "127.0.0.1")]
    pub host: String,
    /// The server's port for requests.
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// The server's port for pushed events.
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// Another server of the same chat (a node of a cluster), as
    /// HOST:SEND_PORT:RECV_PORT; several comma-separated or the option
    /// again (as `wachat connect --server`). Users are spread over the
    /// servers in turn; a user whose server refuses the connection goes
    /// to the next one, as a client with several does.
    #[arg(long, value_name = "HOST:SEND:RECV", value_delimiter = ',', conflicts_with = "federation")]
    pub server: Vec<String>,
    /// A federation (protocol 1.3) instead of one server: `N` (3 to 16)
    /// starts N `wachat serve` of chaos's own, lab1 … labN, linked by a
    /// roster through chaos's link proxies; or a FILE of servers someone
    /// else runs, one CSV line each:
    /// name,host,send_port,recv_port,link_port,proxy_port,restart
    /// (docs/MODEL.md, "A federation"). Each user lives on one server and
    /// writes to the others' users by their addresses.
    #[arg(long, value_name = "N|FILE")]
    pub federation: Option<String>,
    /// The --give-up of chaos's own federated servers: how long a message
    /// waits for an unreachable server before it is bounced.
    #[arg(long, value_name = "DURATION", default_value = "8s")]
    pub give_up: String,
    /// The protocol level the users speak (what each checks more:
    /// docs/MODEL.md, "Per level").
    #[arg(long, value_enum, default_value = "1.0")]
    pub level: ProtocolLevel,
    /// Devices per user (level 1.2 only): each user logs in as `d0`,
    /// `d1`, … and the model checks every device's copy of its inbox.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4))]
    pub devices: u16,
    /// How many users (each a sender and a receiver).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(2..=64))]
    pub users: u16,
    /// How many rooms, each with some of the users (in a federation,
    /// each homed on one server, with members of several).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=16))]
    pub rooms: u16,
    /// Seconds of operations and faults (then the drain and the checks).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// The seed of the schedule (printed when not given): the same seed
    /// gives the same operations and faults, to replay a failure.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The faults to inject, comma-separated: delay, reset, partition,
    /// restart (needs --restart, but in a federation), split (a
    /// federation's servers cut off from each other) [default:
    /// delay,reset,partition; in a federation reset,partition,split,restart].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub faults: Vec<FaultKind>,
    /// A shell command that kills the server (SIGKILL) and starts it again
    /// on its data; chaos then waits for its ports. For `wachat serve`:
    /// `examples/restart_server.sh DATA_DIR [SERVE OPTIONS]`.
    #[arg(long, value_name = "CMD")]
    pub restart: Option<String>,
    /// The first of the local ports the fault-injecting proxy listens on
    /// (two per user and device: send, then receive, in a row); by default
    /// any free ones. For a firewall, or to watch a user with `tcpdump`.
    #[arg(long, value_name = "PORT")]
    pub proxy_ports: Option<u16>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write a page with a Lamport diagram of the run.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run_command(mut args: ChaosArgs) -> Result<()> {
    if args.faults.is_empty() {
        args.faults = match args.federation {
            Some(_) => vec![FaultKind::Reset, FaultKind::Partition, FaultKind::Split, FaultKind::Restart],
            None => vec![FaultKind::Delay, FaultKind::Reset, FaultKind::Partition],
        };
    }
    if args.faults.contains(&FaultKind::Restart) && args.restart.is_none() && args.federation.is_none() {
        usage("--faults restart needs --restart CMD (a command that kills the server and starts it again)");
    }
    if args.faults.contains(&FaultKind::Split) && args.federation.is_none() {
        usage("--faults split needs --federation (servers to split)");
    }
    if args.devices > 1 && args.level < ProtocolLevel::V1_2 {
        usage("--devices needs --level 1.2 (devices are protocol 1.2)");
    }
    let network = match &args.federation {
        Some(given) => Some(Arc::new(federation(given, &args)?)),
        None => None,
    };
    let servers = match &network {
        Some(network) => network.members.iter().map(|m| (m.send, m.recv)).collect(),
        None => {
            let mut servers =
                vec![(resolve(&args.host, args.send_port)?, resolve(&args.host, args.recv_port)?)];
            for more in &args.server {
                servers.push(another_server(more)?);
            }
            servers
        }
    };
    let seed = args.seed.unwrap_or_else(schedule::fresh_seed);
    if args.seed.is_none() && !args.json {
        println!("seed {seed} (replay with --seed {seed})");
    }
    let duration_ms = args.duration * 1000;
    // In a federation each room has a home server and members on several
    // servers (§27, "Rooms"): the run's `Plan` places them.
    let shape = Shape {
        users: args.users as usize,
        rooms: args.rooms as usize,
        servers: network.as_ref().map_or(0, |n| n.members.len()),
    };
    let schedule = schedule::draw(seed, shape, duration_ms, &args.faults);
    let plan = Plan {
        servers,
        level: args.level,
        devices: args.devices as usize,
        seed,
        duration: Duration::from_millis(duration_ms),
        restart: args.restart.clone(),
        proxy_ports: args.proxy_ports,
        schedule,
        network: network.clone(),
    };
    let done = run(&plan)?;
    let model = Model::build(&done);
    let verdicts = check::all(&model);
    let broken = verdicts.iter().filter(|v| !v.violations.is_empty()).count();
    // chaos's own servers stop; what they wrote stays when it must be read.
    if let Some(kept) = network.as_ref().and_then(|n| n.finish(broken > 0)) {
        eprintln!("chaos: the servers' data and logs are kept in {}", kept.display());
    }
    let header = header(&args, shape, seed, network.as_deref());
    if args.json {
        print!("{}", report::json(&header, &done, &model, &verdicts));
    } else {
        print!("{}", report::text(&header, &done, &model, &verdicts));
    }
    if let Some(path) = &args.html {
        let title = format!("wachat chaos: {} (seed {seed})", header.target);
        crate::conform::report::write_file(path, &super::html::page(&title, &done, &verdicts))?;
    }
    match broken {
        0 => Ok(()),
        n => Err(Error::Protocol(format!("{n} of {} guarantees violated (seed {seed})", verdicts.len()))),
    }
}

/// `--federation N|FILE`: chaos's own servers, or someone else's.
fn federation(given: &str, args: &ChaosArgs) -> Result<Network> {
    if args.devices > 1 {
        usage("--devices and --federation: a federation's users have one device each");
    }
    match given.parse::<usize>() {
        Ok(n) if (3..=16).contains(&n) => {
            if let Err(e) = crate::federation::parse_duration(&args.give_up) {
                usage(&format!("--give-up: {e}"));
            }
            Network::own(n, &args.give_up)
        }
        Ok(n) => usage(&format!("--federation {n}: from 3 to 16 servers of chaos's own")),
        Err(_) => {
            let network = match Network::from_file(Path::new(given)) {
                Err(Error::Usage(why)) => usage(&why),
                other => other?,
            };
            let can = (0..network.members.len()).any(|k| network.restartable(k));
            if args.faults.contains(&FaultKind::Restart) && !can {
                usage("--faults restart: no server of the --federation file has a restart command");
            }
            Ok(network)
        }
    }
}

fn header(args: &ChaosArgs, shape: Shape, seed: u64, network: Option<&Network>) -> Header {
    let faults: Vec<&str> = args.faults.iter().map(|f| fault_name(*f)).collect();
    let faults = faults.join(",");
    let mut target = format!("{} send {} receive {}", args.host, args.send_port, args.recv_port);
    for more in &args.server {
        let _ = write!(target, " + {more}");
    }
    let mut replay = format!(
        "wachat chaos {} --send-port {} --recv-port {} --level {} --users {} --rooms {} --duration {} --faults {faults} --seed {seed}",
        args.host,
        args.send_port,
        args.recv_port,
        args.level.as_str(),
        args.users,
        args.rooms,
        args.duration
    );
    if let Some(network) = network {
        target = network.describe();
        let give_up = network.give_up.as_ref().map(|g| format!(" --give-up {g}")).unwrap_or_default();
        replay = format!(
            "wachat chaos --federation {}{give_up} --level {} --users {} --rooms {} --duration {} --faults {faults} --seed {seed}",
            shell_quoted(&network.given),
            args.level.as_str(),
            args.users,
            args.rooms,
            args.duration
        );
    }
    if args.devices > 1 {
        let _ = write!(replay, " --devices {}", args.devices);
    }
    for more in &args.server {
        let _ = write!(replay, " --server {more}");
    }
    // The whole command, quoted for a shell, so that the line can be
    // pasted as it is (a shortened `--restart …` could not be run).
    if let Some(restart) = &args.restart {
        let _ = write!(replay, " --restart {}", shell_quoted(restart));
    }
    if let Some(first) = args.proxy_ports {
        let _ = write!(replay, " --proxy-ports {first}");
    }
    Header {
        target,
        level: args.level.as_str().into(),
        devices: args.devices as usize,
        users: args.users as usize,
        rooms: shape.rooms,
        duration_s: args.duration,
        seed,
        faults,
        replay,
    }
}

/// `text` as one word for `sh`: in single quotes, each `'` in it closed,
/// escaped and opened again; a plain word stays as it is.
fn shell_quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn fault_name(f: FaultKind) -> &'static str {
    match f {
        FaultKind::Delay => "delay",
        FaultKind::Reset => "reset",
        FaultKind::Partition => "partition",
        FaultKind::Restart => "restart",
        FaultKind::Split => "split",
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    let found = (host, port).to_socket_addrs().map_err(|e| Error::io(format!("resolving {host}"), e))?.next();
    found.ok_or_else(|| Error::Usage(format!("no address for {host}")))
}

/// `--server HOST:SEND_PORT:RECV_PORT` (the host may be an IPv6 address
/// with its colons: the ports are the last two fields).
fn another_server(text: &str) -> Result<(SocketAddr, SocketAddr)> {
    let mut fields = text.rsplitn(3, ':');
    let (recv, send, host) = (fields.next(), fields.next(), fields.next());
    let port = |p: Option<&str>| p.and_then(|p| p.parse::<u16>().ok()).filter(|&p| p != 0);
    match (host, port(send), port(recv)) {
        (Some(host), Some(send), Some(recv)) if !host.is_empty() => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Ok((resolve(host, send)?, resolve(host, recv)?))
        }
        _ => usage(&format!("--server {text:?}: give HOST:SEND_PORT:RECV_PORT, e.g. 127.0.0.1:6000:6001")),
    }
}

/// A usage error exits 2, as clap's own do.
fn usage(message: &str) -> ! {
    clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, format!("{message}\n")).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_command_is_quoted_so_that_the_replay_line_pastes() {
        assert_eq!(shell_quoted("examples/restart_server.sh"), "examples/restart_server.sh");
        assert_eq!(
            shell_quoted("examples/restart_server.sh data --timeout 2"),
            "'examples/restart_server.sh data --timeout 2'"
        );
        assert_eq!(shell_quoted("echo 'hi'"), r#"'echo '\''hi'\'''"#);
        assert_eq!(shell_quoted(""), "''");
        // What sh makes of it is the command again.
        for command in ["a b", "echo 'hi' \"there\"", "x;y $HOME"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quoted(command)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), command);
        }
    }
}
