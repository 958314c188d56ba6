//! The command line (clap derive): one subcommand per thing a user does.
//! Each one turns its arguments into the library's types and calls into it.
//!
//! - [`serve`](mod@serve): `wachat serve` (and `migrate`): configuration, the
//!   system's limits, start and stop;
//! - `client_args.rs`: how to reach a server and as whom, for `connect`,
//!   `register` and the one-shot subcommands, turned into the client
//!   library's [`ClientOptions`](crate::client::ClientOptions);
//! - [`config`]: where `serve`'s settings come from (flag, `WACHAT_`
//!   variable, `--config` file, default), and the parse of the command line;
//! - `account.rs`: `wachat passwd`;
//! - passwords come from [`crate::prompt`] (shared with `wachat users`).

mod account;
mod client_args;
pub mod config;
pub mod data_dir;
mod serve;

pub use client_args::{
    ConnectArgs, ExportArgs, HistoryArgs, RegisterArgs, SendArgs, ServerArgs, UsersArgs, parse_server_list,
};
use client_args::{options, with_password};
pub use config::{try_parse, try_parse_from};
pub use data_dir::{ConfigFile, DataDirArgs};

pub use crate::prompt::MIN_NEW_PASSWORD;
pub(crate) use crate::prompt::{read_new_password, read_password};

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::{self, Lang, tr};
use crate::oneshot;
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT};
use crate::server;

/// wachat: a WhatsApp-style chat over plain TCP sockets.
#[derive(Parser, Debug)]
#[command(name = "wachat", version, about, long_about = None)]
pub struct Cli {
    /// Language of the console and of messages: en, es or pt
    /// [default: from LC_ALL, LC_MESSAGES or LANG; English otherwise].
    /// The server (serve) and bench always speak English.
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,
    #[command(subcommand)]
    pub command: Command,
}

// One `Command` is parsed per process: the size of its largest variant
// (`serve`'s many flags) costs nothing worth a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the chat server (send port and receive port).
    Serve(ServeArgs),
    /// Chat in this terminal (the console client).
    Connect(ConnectArgs),
    /// Create an account.
    Register(RegisterArgs),
    /// Send one message and exit (0 once the server has it).
    Send(SendArgs),
    /// List the users online now; or, with a subcommand, manage the
    /// accounts of a data directory (add, list, remove, passwd, import, invite, check).
    ///
    /// The data directory is `--data-dir`, `WACHAT_DATA_DIR` or the
    /// `data-dir` of `--config FILE`, as `wachat serve` reads them. On a
    /// packaged server (the Debian package's service runs as the user
    /// `wachat`): `sudo wachat users … --config /etc/wachat/wachat.toml`.
    /// Run as root on a data directory that another user owns, what a
    /// command writes there is given to that user, whose server can then
    /// read it.
    Users(UsersArgs),
    /// Show the last messages of a conversation.
    History(HistoryArgs),
    /// Change your password (asks the current one and the new one); your
    /// other devices are logged out unless --keep.
    Passwd(account::PasswdArgs),
    /// Load-test a server: throughput, latency, logins, memory.
    Bench(crate::bench::BenchArgs),
    /// Watch two scripted users chat, frame by frame, on a throwaway server.
    Demo,
    /// Make a self-signed TLS certificate and key for a server (cert.pem, key.pem).
    Cert(crate::cert::CertArgs),
    /// 1.3: print this server's line of the class roster
    /// (`name,host,port,fingerprint`), making its link key in --data-dir
    /// if it has none; the server need not run.
    RosterLine(crate::federation::key::RosterLineArgs),
    /// Move a single server's data directory into a cluster's PostgreSQL
    /// (`--from`), or convert a cluster of wachat's first design (schema
    /// 18) in place (`--to` alone, every node stopped). Needs a build with
    /// `--features cluster`; see docs/CLUSTER-OPS.md.
    Migrate(MigrateArgs),
    /// Write everything the server holds about you (rooms, chats, their
    /// messages) as JSON Lines.
    Export(ExportArgs),
    /// A live dashboard of a running server, read from its --metrics
    /// endpoint (`--once`: a plain-text snapshot).
    Top(crate::top::TopArgs),
    /// The protocol's test suite: check a server (`conform server HOST`)
    /// or a client (`conform client -- CMD`) written by anyone.
    Conform(crate::conform::command::ConformArgs),
    /// Run users against a server through injected faults (delay, reset,
    /// partition, restart) and check the run against docs/MODEL.md.
    Chaos(crate::chaos::command::ChaosArgs),
    /// Copy a server's data directory while it runs (a backup with a
    /// checksum per file; README, "Backups").
    ///
    /// The data directory is `--data-dir`, `WACHAT_DATA_DIR` or the
    /// `data-dir` of `--config FILE`, as `wachat serve` reads them. The
    /// backup is its maker's, 0700: on a packaged server, `sudo wachat
    /// backup --config /etc/wachat/wachat.toml OUT` makes a backup only
    /// root can read.
    Backup(BackupArgs),
    /// Put a backup made by `wachat backup` back as a data directory
    /// (checked first; no server may run on it).
    ///
    /// The data directory is `--data-dir`, `WACHAT_DATA_DIR` or the
    /// `data-dir` of `--config FILE`, as `wachat serve` reads them. Run as
    /// root on a data directory that another user owns (a packaged
    /// server's: `sudo wachat restore --config /etc/wachat/wachat.toml
    /// --force IN`, the service stopped), what it restores is given to
    /// that user, whose server can then read it.
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The data directory of the single server (no server may run on
    /// it). Without it, the database of `--to` is converted from an older
    /// schema (the first design's, 18, or 22) to the current one.
    #[arg(long, value_name = "DATA_DIR")]
    pub from: Option<PathBuf>,
    /// The cluster's database: with no accounts yet (`--from`), or of an
    /// older schema (alone). Stop every node first.
    #[arg(long, value_name = "postgres://USER@HOST:PORT/DB")]
    pub to: String,
}

/// `wachat backup`.
#[derive(Args, Debug)]
pub struct BackupArgs {
    // The server's data directory (a server may be running on it).
    #[command(flatten)]
    pub dir: DataDirArgs,
    /// Where the backup goes: a directory that does not exist yet, or an
    /// empty one (made 0700: it holds messages, password hashes, device
    /// tokens' hashes, and the server's private keys: its link key,
    /// link-key.pem, by which a class network knows it, and its Web Push
    /// key, vapid.pk8; whoever reads a backup can pass for this server).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
}

/// `wachat restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    // The data directory to restore into: new, or empty (no server may
    // run on it).
    #[command(flatten)]
    pub dir: DataDirArgs,
    /// Replace what the data directory holds (everything in it is removed first).
    #[arg(long)]
    pub force: bool,
    /// The backup, a directory made by `wachat backup`.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
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
    /// How the log's lines are written: `text`, for a person, or `json`,
    /// one object a line (timestamp, level, target, message) for a log
    /// collector, start-up errors included.
    #[arg(long, value_enum, default_value_t = crate::display::LogFormat::Text)]
    pub log_format: crate::display::LogFormat,
    /// Port for requests (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// Port for pushed events (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    #[command(flatten)]
    pub dir: DataDirArgs,
    /// Seconds a connection may go without sending a complete frame, or
    /// without reading what it was sent.
    #[arg(long, default_value_t = server::DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
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
    #[arg(long, default_value_t = server::DEFAULT_PRESENCE_LIMIT)]
    pub presence_limit: usize,
    /// How long a minute of MUTE and BAN lasts, in ms (for tests).
    #[arg(long, default_value_t = server::MINUTE_MS, hide = true)]
    pub minute_ms: u64,
    /// 1.2 calls: seconds a call rings before it ends as a missed call.
    #[arg(long, default_value_t = server::calls::DEFAULT_RING_SECONDS, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub ring_seconds: u64,
    /// 1.2 calls: a TURN server for browsers that cannot reach each other
    /// directly (turn:host:port, coturn with --use-auth-secret); logged-in
    /// clients get short-lived credentials for it (docs/CALLS.md).
    #[arg(long, requires = "turn_secret")]
    pub turn: Option<String>,
    /// The secret shared with the TURN server (coturn's --static-auth-secret).
    #[arg(long, requires = "turn")]
    pub turn_secret: Option<String>,
    /// For tests only: trust this CA (a PEM file) for the push services'
    /// HTTPS too, and allow push endpoints on loopback, so that a test's
    /// push service can stand in for a browser vendor's (Web Push, 1.2).
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    pub push_test_ca: Option<std::path::PathBuf>,
    /// Devices one user may have online at once (protocol 1.2); one more
    /// gets KO:TOO_MANY_DEVICES.
    #[arg(long, default_value_t = crate::protocol::DEFAULT_MAX_DEVICES)]
    pub max_devices: usize,
    /// Days after which a device not seen is forgotten and stops holding
    /// its user's inbox (fractions allowed: 0.0001 is about 9 s).
    #[arg(long, default_value_t = server::DEFAULT_DEVICE_DAYS, value_parser = not_negative)]
    pub device_days: f64,
    /// 1.2: days a deleted account's name stays reserved before REGISTER
    /// may take it for a new account (fractions allowed; 0: at once).
    #[arg(long, default_value_t = crate::store::NAME_QUARANTINE_DAYS, value_parser = not_negative)]
    pub name_quarantine_days: f64,
    /// Connections on both ports together beyond which new ones get KO:BUSY
    /// [default: 20000, or what the system's limits allow if fewer].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections from one address (an IPv6 /64) beyond which new ones
    /// get KO:BUSY; 0 = no limit.
    #[arg(long, default_value_t = server::DEFAULT_MAX_PER_ADDRESS)]
    pub max_per_address: usize,
    /// An address with no per-address limit (connections, registrations,
    /// failed logins): a lab's NAT, or 127.0.0.1 for a benchmark. Repeatable,
    /// or a comma list.
    #[arg(long, value_name = "IP")]
    pub exempt: Vec<IpAddr>,
    /// Bytes of events that may wait for a receiver that does not read
    /// before it gets BYE:SLOW (its events stay in its inbox).
    #[arg(long, default_value_t = server::DEFAULT_MAX_PENDING)]
    pub max_pending: usize,
    /// Requests per second a user may make (KO:RATE_LIMITED beyond); 0 = no limit.
    #[arg(long, default_value_t = server::DEFAULT_RATE, value_parser = not_negative)]
    pub rate: f64,
    /// Who may create an account over the network: open (REGISTER), invite
    /// (only with a code from `wachat users invite`), closed (only `wachat
    /// users add|import`).
    #[arg(long, value_enum, default_value_t = server::registration::Registration::Open)]
    pub registration: server::registration::Registration,
    /// Requests a user may make at once above --rate [default: 2 seconds' worth of --rate].
    #[arg(long)]
    pub rate_burst: Option<u32>,
    /// Requests per second from one address (an IPv6 /64), all its users
    /// together, 10 seconds' worth at once; 0 = no limit (nor with --rate 0).
    /// --exempt lifts it for an address.
    #[arg(long, default_value_t = server::DEFAULT_ADDRESS_RATE, value_parser = not_negative)]
    pub address_rate: f64,
    /// Remove log segments whose messages are all older than this many
    /// days (once no undelivered message needs them); HISTORY then starts
    /// later. Default: keep everything.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_days: Option<u32>,
    /// Bytes of messages each user may have stored (64MiB, 1GiB, 4096 …);
    /// past it, their sends get KO:FULL. 0 = no limit.
    #[arg(long, value_name = "SIZE", default_value = crate::store::budget::USER_QUOTA_FLAG, value_parser = crate::store::budget::parse_size)]
    pub user_quota: u64,
    /// Events that may wait for one user who is away; past it, direct
    /// messages to that user get KO:FULL (the sender's, not the user's loss). 0 = no limit.
    #[arg(long, value_name = "EVENTS", default_value_t = crate::store::budget::INBOX_MAX)]
    pub inbox_max: u64,
    /// 1.3: this server's name in a class network (`INFO` says it; needed
    /// with --peers): 1-32 of A-Z a-z 0-9 _ . -
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// 1.3: the class roster, a CSV file of lines `name,host,port,fingerprint`
    /// (its own line included; `wachat roster-line` prints a server's):
    /// link to those servers, over TLS with the link key of --data-dir
    /// (docs/PROTOCOL.md §27). Without it the server is alone, linked to no other.
    #[arg(long, value_name = "FILE", value_parser = existing_file)]
    pub peers: Option<std::path::PathBuf>,
    /// 1.3: the port other servers of the network link to (0: any free one).
    #[arg(long, value_name = "PORT", default_value_t = crate::federation::LINK_PORT)]
    pub link_port: u16,
    /// 1.3: how long a message waits for an unreachable server before it
    /// is bounced to its sender (90s, 10m, 24h, 2d).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::federation::parse_duration)]
    pub give_up: Duration,
    /// 1.3: whether users of other servers of the network may find this
    /// server's users by the start of their names (`PEOPLE:<start>@<server>`):
    /// on, or off (their searches get KO:FORBIDDEN).
    #[arg(long, value_name = "on|off", default_value = "on", action = clap::ArgAction::Set,
        value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["on", "off"]), |s| s == "on"))]
    pub people_across: bool,
    /// 1.3: messages that may wait for one peer server; past it, messages to
    /// its users get KO:FULL. 0 = no limit.
    #[arg(long, value_name = "FRAMES", default_value_t = crate::store::state::remote::LINK_QUEUE_MAX)]
    pub link_queue_max: u64,
    /// 1.3: bytes one peer server may make this one store in all (its
    /// users' messages, its rooms' copies and the files it sent: 256MiB,
    /// 1GiB …); past it, its link's messages are refused for now. 0 = no limit.
    #[arg(long, value_name = "SIZE", default_value = crate::store::budget::PEER_QUOTA_FLAG, value_parser = crate::store::budget::parse_size)]
    pub peer_quota: u64,
    /// Refuse writes with KO:FULL while the data directory's disk has less
    /// than this free (1GiB, 500MiB, 5%), so that the log never meets a
    /// full disk; they resume by themselves once there is room. 0 = no
    /// floor: a write that meets a full disk is answered from the 8 MiB
    /// ballast file, and later ones get KO:FULL until there is room.
    #[arg(long, value_name = "SIZE|PERCENT", default_value = crate::store::budget::MIN_FREE_FLAG, value_parser = crate::store::budget::MinFree::parse)]
    pub min_free: crate::store::budget::MinFree,
    /// 1.2: a message may be edited (EDIT) this many minutes after it was sent.
    #[arg(long, default_value_t = server::DEFAULT_EDIT_MINUTES)]
    pub edit_minutes: u64,
    /// 1.2: a message may be deleted for everyone (DELETE) this many hours after it was sent.
    #[arg(long, default_value_t = server::DEFAULT_DELETE_HOURS)]
    pub delete_hours: u64,
    /// 1.2: a deleted text leaves the data directory's files within this
    /// many minutes (0: at once), and at the latest at the next start.
    #[arg(long, default_value_t = crate::store::options::ERASE_MINUTES)]
    pub erase_minutes: u64,
    /// 1.2: the largest file one UPLOAD may send, in MiB (photos and files
    /// in chats count in --user-quota too).
    #[arg(long, default_value_t = crate::store::files::MAX_FILE_MB, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_file_mb: u64,
    /// 1.2: an upload not finished this many minutes after its UPLOAD is
    /// removed and its quota given back.
    #[arg(long, default_value_t = crate::store::files::UPLOAD_MINUTES)]
    pub upload_minutes: u64,
    /// Start a new log segment once the current one holds this many bytes.
    #[arg(long, default_value_t = crate::store::local::SEGMENT_SIZE, value_parser = clap::value_parser!(u64).range(4096..))]
    pub segment_size: u64,
    /// Write a checkpoint of the state after this many records (a start
    /// replays at most about this many).
    #[arg(long, default_value_t = crate::store::local::CHECKPOINT_RECORDS, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_records: u64,
    /// Speak TLS on both ports with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", value_parser = existing_file)]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert", value_parser = existing_file)]
    pub tls_key: Option<PathBuf>,
    /// Port of the browser app and its WebSockets (0 picks a free one;
    /// `off` serves none) [default: 8080, skipped with a warning if taken].
    #[arg(long, value_name = "PORT|off")]
    pub web_port: Option<crate::web::WebPort>,
    /// An origin besides the app's own whose pages may open WebSockets
    /// here, e.g. `https://chat.school.example`. Repeatable, or a comma list.
    #[arg(long, value_name = "ORIGIN")]
    pub web_origin: Vec<String>,
    /// A name besides localhost (and IP addresses) by which browsers may
    /// reach the web port (and scrapers --metrics), e.g.
    /// chat.school.example; other names are refused (DNS rebinding).
    /// Repeatable, or a comma list.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub web_host: Vec<String>,
    /// A reverse proxy in front of the web port whose X-Forwarded-For is
    /// believed (the client's address for limits). Repeatable, or a comma list.
    #[arg(long, value_name = "IP")]
    pub trusted_proxy: Vec<IpAddr>,
    /// Be a node of a cluster on this PostgreSQL database: the shared log
    /// (which the node that leads writes, and every node applies to its
    /// copy in --data-dir), the lease, checkpoints and files are there
    /// (needs a build with `--features cluster`; see docs/CLUSTER.md).
    ///
    /// Several hosts (a primary and its standby, docs/CLUSTER-OPS.md):
    /// postgres://USER@HOST1:PORT1,HOST2:PORT2/DB, or libpq's keywords
    /// "host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB".
    #[arg(long, value_name = "postgres://USER@HOST:PORT/DB")]
    pub store: Option<String>,
    /// This node's name in the cluster [default: host name and send port].
    #[arg(long, requires = "store")]
    pub node: Option<String>,
    /// Where this node takes the other nodes' links when it leads (they
    /// pass their clients on to it there): PORT, or HOST:PORT, a host the
    /// other nodes reach [default: the send port's host (loopback if that
    /// is every address), any free port].
    #[arg(long, value_name = "[HOST:]PORT", requires = "store", value_parser = crate::web::metrics::parse_addr)]
    pub node_port: Option<std::net::SocketAddr>,
    /// Where the other nodes reach --node-port, when not at the address
    /// it listens on (a proxy or a NAT between the nodes): HOST:PORT, what
    /// the node says when it leads [default: --node-port's address].
    #[arg(long, value_name = "HOST:PORT", requires = "store")]
    pub node_advertise: Option<std::net::SocketAddr>,
    /// Serve Prometheus metrics over HTTP at /metrics: PORT (on loopback),
    /// or HOST:PORT. Off unless given. `wachat top` reads them.
    #[arg(long, value_name = "[HOST:]PORT", value_parser = crate::web::metrics::parse_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// An address besides loopback that may scrape --metrics (0.0.0.0 or
    /// :: for any). Repeatable, or a comma list.
    #[arg(long, value_name = "IP", requires = "metrics")]
    pub metrics_allow: Vec<IpAddr>,
    /// Print every setting (`key = value  # flag|env WACHAT_…|file
    /// PATH:LINE|default`: where it came from), secrets masked, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// What --print-config prints, filled by [`try_parse_from`].
    #[arg(skip)]
    pub settings: Vec<config::Setting>,
}

/// A flag's number of days (fractions allowed) as a duration: a negative,
/// infinite or huge number is a usage error, not a panic.
pub(crate) fn days(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value * 86_400.0)
        .ok()
        .filter(|_| value.is_finite())
        .ok_or_else(|| Error::Usage(format!("{flag} {value}: expected a number of days, 0 or more")))
}

/// A number of a flag that counts (a rate, days): 0 or more, finite.
fn not_negative(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        Ok(n) if n < 0.0 => Err(format!("{s} is negative: expected 0 or more")),
        _ => Err(format!("{s:?} is not a number (0 or more)")),
    }
}

/// A file the server reads at its start (a certificate, a key, the
/// roster): one that is not there is the flag's error, so that a wrong
/// path in the configuration file is named by its file and line.
fn existing_file(s: &str) -> std::result::Result<PathBuf, String> {
    match std::fs::metadata(s) {
        Ok(meta) if meta.is_file() => Ok(PathBuf::from(s)),
        Ok(_) => Err(format!("{s}: not a file")),
        Err(e) => Err(format!("{s}: {e}")),
    }
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
    // Users read what the other commands say; operators read the server's
    // and the benchmark's output, which stays English whatever the locale.
    let for_operators =
        matches!(cli.command, Command::Serve(_) | Command::Bench(_) | Command::Conform(_) | Command::Top(_))
            || matches!(cli.command, Command::Backup(_) | Command::Restore(_));
    i18n::set(if for_operators { Lang::En } else { cli.lang.unwrap_or_else(Lang::from_env) });
    match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Connect(args) => client_args::connect(args),
        Command::Register(args) => client_args::register(args),
        Command::Bench(args) => crate::bench::run(args),
        Command::Top(args) => crate::top::run(args),
        Command::Send(SendArgs { file: Some(path), server, to, text }) => {
            oneshot::send_file(&options(&server)?, &to, &path, &text.join(" "))
        }
        Command::Send(args) => oneshot::send(&options(&args.server)?, &args.to, &args.text.join(" ")),
        Command::Users(UsersArgs { admin: Some(command), .. }) => {
            let dir = command.data_dir().map(Path::to_path_buf);
            as_its_owner(dir.as_deref(), || crate::admin::run(command))
        }
        Command::Users(UsersArgs { online: Some(args), .. }) => oneshot::users(&options(&args)?),
        Command::Users(_) => Err(Error::Usage(tr!(
            Msg::UsersNeedsUser,
            commands = "add, list, remove, passwd, import, invite, check, export"
        ))),
        Command::Demo => crate::demo::run(),
        Command::Cert(args) => crate::cert::run(&args),
        Command::RosterLine(args) => crate::federation::key::roster_line(&args),
        Command::History(args) => {
            oneshot::history(&options(&args.server)?, &args.with, args.limit, args.before)
        }
        Command::Export(args) => client_args::export(&args),
        Command::Passwd(args) => account::passwd(&args),
        Command::Migrate(args) => serve::migrate(&args),
        Command::Conform(args) => crate::conform::command::run(args),
        Command::Chaos(args) => crate::chaos::command::run_command(args),
        Command::Backup(args) => crate::backup::run(&args.dir.data_dir, &args.out),
        Command::Restore(args) => as_its_owner(Some(&args.dir.data_dir), || {
            crate::backup::restore::run(&args.dir.data_dir, &args.input, args.force)
        }),
    }
}

/// Runs a command that writes in the data directory `dir`. Run as root on
/// a directory that another user owns (a packaged server's, `wachat`'s),
/// what it left there is given to that user afterwards, whether it
/// succeeded or not, so that the server, which runs as that user, can
/// read it ([`crate::sys::owner`]).
fn as_its_owner(dir: Option<&Path>, command: impl FnOnce() -> Result<()>) -> Result<()> {
    let Some((dir, owner)) = dir.and_then(|dir| Some((dir, crate::sys::owner::foreign(dir)?))) else {
        return command();
    };
    let done = command();
    let given = owner.give(dir).map_err(|e| {
        Error::io(format!("giving what was written in {} to its owner, {}", dir.display(), owner.name), e)
    });
    done.and(given.map(drop))
}
