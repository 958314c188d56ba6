//! The command line (clap derive): one subcommand per thing a user does.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::server::{Config, Server, listener};

/// wachat: a WhatsApp-style chat over plain TCP sockets.
#[derive(Parser, Debug)]
#[command(name = "wachat", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the chat server (send port and receive port).
    Serve(ServeArgs),
    /// Load-test a server: throughput, latency, logins, memory.
    Bench(crate::bench::BenchArgs),
}

/// When the server forces its writes to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Fsync {
    /// Before every `OK` (group commit): an `OK` survives a crash.
    Always,
    /// Never: UNSAFE, an `OK` can be lost in a power cut. Only for
    /// measuring what durability costs.
    Never,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port for requests (0 picks a free one).
    #[arg(long, default_value_t = 6666)]
    pub send_port: u16,
    /// Port for pushed events (0 picks a free one).
    #[arg(long, default_value_t = 9999)]
    pub recv_port: u16,
    /// Directory of the CSV files (created if missing).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Seconds a connection may go without sending a complete frame.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Create an account on LOGIN with an unknown name.
    #[arg(long)]
    pub auto_register: bool,
    /// Largest frame in bytes, newline included.
    #[arg(long, default_value_t = crate::protocol::MAX_FRAME, value_parser = parse_max_frame)]
    pub max_frame: usize,
    /// argon2id memory cost in KiB for new password hashes (lower only for tests).
    #[arg(long, default_value_t = crate::store::password::DEFAULT_KDF_COST)]
    pub kdf_cost: u32,
    /// When to fsync.
    #[arg(long, value_enum, default_value_t = Fsync::Always)]
    pub fsync: Fsync,
    /// Rooms with more members than this send no JOINED/LEFT presence.
    #[arg(long, default_value_t = 200)]
    pub presence_limit: usize,
    /// Connections on both ports together beyond which new ones get KO:BUSY.
    #[arg(long, default_value_t = 20_000)]
    pub max_connections: usize,
    /// Bytes of events that may wait for a receiver that does not read
    /// before it gets BYE:SLOW (its events stay in its inbox).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_pending: usize,
}

fn parse_max_frame(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    // A frame must hold the longest text fully escaped plus its header.
    let least = 2 * crate::protocol::MAX_TEXT + 256;
    if n < least {
        return Err(format!("at least {least} bytes (the longest message, escaped)"));
    }
    Ok(n)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Bench(args) => crate::bench::run(args),
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    if args.fsync == Fsync::Never {
        log::warn!("--fsync never: an OK may be lost in a crash of the machine; only for measuring");
    }
    let config = Config {
        timeout: Duration::from_secs(args.timeout),
        auto_register: args.auto_register,
        max_frame: args.max_frame,
        kdf_cost: args.kdf_cost,
        fsync: args.fsync == Fsync::Always,
        presence_limit: args.presence_limit,
        max_connections: args.max_connections,
        max_pending: args.max_pending,
        ..Config::new(&args.data_dir)
    };
    let (capacity, advice) = crate::sys::connection_capacity(config.max_connections);
    for line in &advice {
        log::warn!("limit: {line}");
    }
    if capacity < config.max_connections {
        log::warn!(
            "serving at most {capacity} connections instead of --max-connections {} \
             (more would exceed the limits above); the rest get KO:BUSY",
            config.max_connections
        );
    }
    let config = Config { max_connections: capacity.min(config.max_connections), ..config };
    let send = listener::bind(SocketAddr::new(args.host, args.send_port))?;
    let recv = listener::bind(SocketAddr::new(args.host, args.recv_port))?;
    let server = Server::start(send, recv, config)?;
    log::info!("data directory: {}", args.data_dir.display());
    log::info!("listening: send {}", server.send_addr());
    log::info!("listening: receive {}", server.recv_addr());
    wait_for_signal()?;
    server.shutdown();
    Ok(())
}

/// Blocks until Ctrl+C (SIGINT) or SIGTERM.
fn wait_for_signal() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::io("installing signal handlers", e))?;
    if let Some(signal) = signals.forever().next() {
        log::info!("got signal {signal}");
    }
    Ok(())
}
