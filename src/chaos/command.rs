//! `wachat chaos`: the command line. Exit 0 when every guarantee held, 1
//! when one was violated (or the run could not be made), 2 on a usage
//! error (clap's code, for a CI script to tell the cases apart).

use std::fmt::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::check;
use super::model::Model;
use super::report::{self, Header};
use super::run::{Plan, run};
use super::schedule::{self, FaultKind};
use crate::conform::Level;
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
    #[arg(long, value_name = "HOST:SEND:RECV", value_delimiter = ',')]
    pub server: Vec<String>,
    /// The protocol level the users speak (what each checks more:
    /// docs/MODEL.md, "Per level").
    #[arg(long, value_enum, default_value = "1.0")]
    pub level: Level,
    /// Devices per user (level 1.2 only): each user logs in as `d0`,
    /// `d1`, … and the model checks every device's copy of its inbox.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4))]
    pub devices: u16,
    /// How many users (each a sender and a receiver).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(2..=64))]
    pub users: u16,
    /// How many rooms, each with some of the users.
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
    /// restart (needs --restart).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "delay,reset,partition")]
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

pub fn run_command(args: ChaosArgs) -> Result<()> {
    if args.faults.contains(&FaultKind::Restart) && args.restart.is_none() {
        usage("--faults restart needs --restart CMD (a command that kills the server and starts it again)");
    }
    if args.devices > 1 && args.level < Level::V1_2 {
        usage("--devices needs --level 1.2 (devices are protocol 1.2)");
    }
    let mut servers = vec![(resolve(&args.host, args.send_port)?, resolve(&args.host, args.recv_port)?)];
    for more in &args.server {
        servers.push(another_server(more)?);
    }
    let seed = args.seed.unwrap_or_else(schedule::fresh_seed);
    if args.seed.is_none() && !args.json {
        println!("seed {seed} (replay with --seed {seed})");
    }
    let duration_ms = args.duration * 1000;
    let schedule = schedule::draw(seed, args.users as usize, args.rooms as usize, duration_ms, &args.faults);
    let plan = Plan {
        servers,
        level: args.level,
        devices: args.devices as usize,
        seed,
        duration: Duration::from_millis(duration_ms),
        restart: args.restart.clone(),
        proxy_ports: args.proxy_ports,
        schedule,
    };
    let done = run(&plan)?;
    let model = Model::build(&done);
    let verdicts = check::all(&model);
    let header = header(&args, seed);
    if args.json {
        print!("{}", report::json(&header, &done, &model, &verdicts));
    } else {
        print!("{}", report::text(&header, &done, &model, &verdicts));
    }
    if let Some(path) = &args.html {
        let title = format!("wachat chaos: {} (seed {seed})", header.target);
        crate::conform::report::write_file(path, &super::html::page(&title, &done, &verdicts))?;
    }
    match verdicts.iter().filter(|v| !v.violations.is_empty()).count() {
        0 => Ok(()),
        n => Err(Error::Protocol(format!("{n} of {} guarantees violated (seed {seed})", verdicts.len()))),
    }
}

fn header(args: &ChaosArgs, seed: u64) -> Header {
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
    if args.devices > 1 {
        let _ = write!(replay, " --devices {}", args.devices);
    }
    for more in &args.server {
        let _ = write!(replay, " --server {more}");
    }
    // The whole command, quoted for a shell, so that the line can be
    // pasted as it is (issue 53: it printed `--restart …`).
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
        rooms: args.rooms as usize,
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
