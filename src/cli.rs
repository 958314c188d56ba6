//! The command line (clap derive): one subcommand per thing a user does.
//! Each one turns its arguments into the library's types and calls into it.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::{self, Options};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::{self, Lang, tr};
use crate::oneshot;
use crate::protocol::{Chat, DEFAULT_RECV_PORT, DEFAULT_SEND_PORT, DEFAULT_TIMEOUT_SECS};
use crate::server::{self, Config, Server, listener};

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
    /// accounts of a data directory (add, list, remove, passwd, import).
    Users(UsersArgs),
    /// Show the last messages of a conversation.
    History(HistoryArgs),
    /// Load-test a server: throughput, latency, logins, memory.
    Bench(crate::bench::BenchArgs),
    /// Watch two scripted users chat, frame by frame, on a throwaway server.
    Demo,
    /// Make a self-signed TLS certificate and key for a server (cert.pem, key.pem).
    Cert(crate::cert::CertArgs),
    /// Move a single server's data directory into a cluster's PostgreSQL
    /// (needs a build with `--features cluster`; see docs/CLUSTER.md).
    Migrate(MigrateArgs),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The data directory of the single server (no server may run on it).
    #[arg(long, value_name = "DATA_DIR")]
    pub from: PathBuf,
    /// The cluster's database, with no accounts yet.
    #[arg(long, value_name = "postgres://USER@HOST:PORT/DB")]
    pub to: String,
}

/// What a binary built without the `cluster` feature says to `--store`
/// and `migrate`.
pub const NO_CLUSTER: &str = "this wachat was built without the `cluster` feature (PostgreSQL and NATS); \
     build it with: cargo build --release --features cluster";

/// How to reach the server and as whom: shared by `connect` and the
/// one-shot subcommands. The password is never an argument (the process
/// list would show it): it comes from `--password-stdin`, from
/// `WACHAT_PASSWORD`, or from a hidden prompt.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Your user name.
    #[arg(long, value_parser = parse_user)]
    pub user: String,
    /// Host name or address of the server; or the nodes of a cluster,
    /// `HOST[:SEND_PORT[:RECV_PORT]],…`, tried in order (your local files
    /// go in the first one's folder).
    #[arg(long, default_value = "127.0.0.1", value_parser = parse_server_list)]
    pub server: String,
    /// The server's port for requests.
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// The server's port for pushed events.
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// Directory of the local files [default: $XDG_DATA_HOME/wachat or ~/.local/share/wachat].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print every frame sent (>) and received (<), with the password masked.
    #[arg(long)]
    pub trace: bool,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Seconds to wait for the server; use the server's --timeout.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Connect with TLS, trusting the certificates the system trusts.
    /// Without --tls or --ca: plaintext. With either, a failed TLS
    /// connection is an error, never a fallback to plaintext.
    #[arg(long)]
    pub tls: bool,
    /// Connect with TLS, trusting this certificate (PEM), e.g. the
    /// cert.pem that `wachat cert` made for the server.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// `wachat users --user ana` asks a server who is online (over the
/// network); `wachat users add …` edits the accounts of a data directory
/// (no server may run on it). One or the other, never both.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    arg_required_else_help = true
)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub admin: Option<crate::admin::UsersCommand>,
    #[command(flatten)]
    pub online: Option<ServerArgs>,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Create the account first.
    #[arg(long)]
    pub register: bool,
    /// Email address for --register.
    #[arg(long, requires = "register")]
    pub email: Option<String>,
    /// TCP port on which peers may open direct chats (/p2p) with you, on
    /// the local address that reaches the server; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub p2p_port: u16,
    /// Accept no direct chats: listen on no port at all (you can still
    /// open direct chats with others).
    #[arg(long, conflicts_with = "p2p_port")]
    pub no_p2p: bool,
    /// Full screen, WhatsApp-like: the chat list, the open conversation
    /// with ticks changing in place, a status line. Needs a terminal.
    #[arg(long)]
    pub tui: bool,
}

#[derive(Args, Debug)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Email address (optional).
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A user name, or #room.
    #[arg(long, value_parser = parse_chat)]
    pub to: Chat,
    /// The message; several words are joined with spaces.
    #[arg(required = true)]
    pub text: Vec<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A user name, or #room.
    #[arg(long = "with", value_parser = parse_chat)]
    pub with: Chat,
    /// How many messages, newest last.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

// clap parses the arguments before `run` has set the language, so these
// two find it themselves: a bad name on the command line is the user's
// mistake, explained in the user's words.
fn parse_user(s: &str) -> std::result::Result<String, String> {
    set_language_early();
    i18n::client::check_user(i18n::current(), s)?;
    Ok(s.to_string())
}

/// A `--server` value: checked now, kept as typed (see `client::Options::endpoints`).
pub fn parse_server_list(s: &str) -> std::result::Result<String, String> {
    client::parse_servers(s, 1, 1).map(|_| s.to_string())
}

fn parse_chat(s: &str) -> std::result::Result<Chat, String> {
    set_language_early();
    i18n::client::parse_chat(i18n::current(), s)
}

/// The language of `--lang` (`--lang es` or `--lang=es`) or of the
/// environment, while clap is still parsing; `run` sets it again from
/// what clap parsed.
fn set_language_early() {
    let args: Vec<String> = std::env::args().collect();
    let given = args.iter().enumerate().find_map(|(i, arg)| match arg.strip_prefix("--lang") {
        Some("") => args.get(i + 1).cloned(),
        Some(rest) => rest.strip_prefix('=').map(str::to_string),
        None => None,
    });
    i18n::set(given.map_or_else(Lang::from_env, |code| Lang::from_locale(&code)));
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
    #[arg(long, default_value_t = DEFAULT_SEND_PORT)]
    pub send_port: u16,
    /// Port for pushed events (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_RECV_PORT)]
    pub recv_port: u16,
    /// Directory of the CSV files (created if missing).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
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
    /// Connections on both ports together beyond which new ones get KO:BUSY
    /// [default: 20000, or what the system's limits allow if fewer].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections from one address (an IPv6 /64) beyond which new ones
    /// get KO:BUSY; 0 = no limit.
    #[arg(long, default_value_t = server::DEFAULT_MAX_PER_ADDRESS)]
    pub max_per_address: usize,
    /// An address with no per-address limit (connections, registrations,
    /// failed logins): a lab's NAT, or 127.0.0.1 for a benchmark. Repeatable.
    #[arg(long, value_name = "IP")]
    pub exempt: Vec<IpAddr>,
    /// Bytes of events that may wait for a receiver that does not read
    /// before it gets BYE:SLOW (its events stay in its inbox).
    #[arg(long, default_value_t = server::DEFAULT_MAX_PENDING)]
    pub max_pending: usize,
    /// Requests per second a user may make (KO:RATE_LIMITED beyond); 0 = no limit.
    #[arg(long, default_value_t = server::DEFAULT_RATE)]
    pub rate: f64,
    /// Requests a user may make at once above --rate [default: 2 seconds' worth of --rate].
    #[arg(long)]
    pub rate_burst: Option<u32>,
    /// Remove log segments whose messages are all older than this many
    /// days (once no undelivered message needs them); HISTORY then starts
    /// later. Default: keep everything.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_days: Option<u32>,
    /// Start a new log segment once the current one holds this many bytes.
    #[arg(long, default_value_t = crate::store::local::SEGMENT_SIZE, value_parser = clap::value_parser!(u64).range(4096..))]
    pub segment_size: u64,
    /// Write a checkpoint of the state after this many records (a start
    /// replays at most about this many).
    #[arg(long, default_value_t = crate::store::local::CHECKPOINT_RECORDS, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_records: u64,
    /// Speak TLS on both ports with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Be a node of a cluster: keep everything in this PostgreSQL database
    /// instead of --data-dir (needs --bus, and a build with `--features
    /// cluster`; see docs/CLUSTER.md).
    #[arg(long, value_name = "postgres://USER@HOST:PORT/DB", requires = "bus")]
    pub store: Option<String>,
    /// The cluster's NATS server, which carries events between nodes.
    #[arg(long, value_name = "nats://HOST:PORT", requires = "store")]
    pub bus: Option<String>,
    /// This node's name in the cluster [default: host name and send port].
    #[arg(long, requires = "store")]
    pub node: Option<String>,
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
    let for_operators = matches!(cli.command, Command::Serve(_) | Command::Bench(_));
    i18n::set(if for_operators { Lang::En } else { cli.lang.unwrap_or_else(Lang::from_env) });
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Bench(args) => crate::bench::run(args),
        Command::Connect(args) => {
            // Before the password is asked for: a pipe gets a clear refusal.
            if args.tui {
                crate::tui::check()?;
            }
            let register = args.register.then(|| args.email.clone().unwrap_or_default());
            let p2p_port = (!args.no_p2p).then_some(args.p2p_port);
            let options = match register {
                Some(_) => new_account_options(&args.server)?,
                None => options(&args.server)?,
            };
            let options = Options { register, p2p_port, ..options };
            match args.tui {
                true => crate::tui::run(options, args.server.trace),
                false => crate::console::run(options, args.server.trace),
            }
        }
        Command::Register(args) => {
            let options = Options {
                register: Some(args.email.unwrap_or_default()),
                ..new_account_options(&args.server)?
            };
            oneshot::register(&options)
        }
        Command::Send(args) => oneshot::send(&options(&args.server)?, &args.to, &args.text.join(" ")),
        Command::Users(UsersArgs { admin: Some(command), .. }) => crate::admin::run(command),
        Command::Users(UsersArgs { online: Some(args), .. }) => oneshot::users(&options(&args)?),
        Command::Users(_) => {
            Err(Error::Usage(tr!(Msg::UsersNeedsUser, commands = "add, list, remove, passwd, import")))
        }
        Command::Demo => crate::demo::run(),
        Command::Cert(args) => crate::cert::run(&args),
        Command::History(args) => oneshot::history(&options(&args.server)?, &args.with, args.limit),
        Command::Migrate(args) => migrate(&args),
    }
}

impl ServerArgs {
    /// The client library's options from these flags, password included
    /// (asked for now if it has to be). Public so that bots
    /// (`examples/echo_bot.rs`) take exactly the flags of `wachat connect`.
    pub fn options(&self) -> Result<Options> {
        options(self)
    }
}

/// The client library's options from the command line, password included.
/// The console sets its own trace (above the prompt); the one-shot
/// subcommands trace on stderr, so their stdout stays clean for scripts.
fn options(args: &ServerArgs) -> Result<Options> {
    with_password(args, password(args)?)
}

/// [`options`] for an account about to be created: its password is a new
/// one (see [`read_new_password`]).
fn new_account_options(args: &ServerArgs) -> Result<Options> {
    with_password(args, read_new_password(&args.user, args.password_stdin)?)
}

fn with_password(args: &ServerArgs, password: String) -> Result<Options> {
    let mut options = Options::new(&args.user, &password);
    options.server = args.server.clone();
    options.send_port = args.send_port;
    options.recv_port = args.recv_port;
    options.timeout = Duration::from_secs(args.timeout);
    options.tls = crate::transport::tls::for_client(args.tls, args.ca.as_deref())?;
    options.data_dir = match args.data_dir.clone().or_else(client::default_data_dir) {
        Some(dir) => dir,
        None => return Err(Error::Usage(tr!(i18n::client::Msg::NoDataDir))),
    };
    if args.trace {
        options.trace = Some(Arc::new(|frame: &str| eprintln!("{}", crate::display::visible(frame))));
    }
    Ok(options)
}

/// The password, from the first source that has one.
fn password(args: &ServerArgs) -> Result<String> {
    read_password(&args.user, args.password_stdin)
}

/// A password from stdin (`from_stdin`), else `WACHAT_PASSWORD`, else a
/// hidden prompt; never from an argument. Also used by `wachat users add`.
pub(crate) fn read_password(user: &str, from_stdin: bool) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| Error::io(tr!(Msg::ReadingPasswordStdin), e))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(password) = std::env::var("WACHAT_PASSWORD").ok().filter(|p| !p.is_empty()) {
        password
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(tr!(Msg::PasswordPrompt, user = user))
            .map_err(|e| Error::io(tr!(Msg::ReadingPassword), e))?
    } else {
        return Err(Error::Usage(tr!(Msg::NoPassword)));
    };
    if password.is_empty() {
        return Err(Error::Usage(tr!(Msg::EmptyPassword)));
    }
    Ok(password)
}

/// The fewest characters a new account's password may have (NIST's
/// minimum for a password a person chooses): the server only stores a
/// hash, but one of two letters is guessed before the throttle matters.
pub const MIN_NEW_PASSWORD: usize = 8;

/// A new account's password: from the same sources as [`read_password`],
/// at least [`MIN_NEW_PASSWORD`] characters, and, when typed at the hidden
/// prompt, typed twice (nobody sees a typo there).
pub(crate) fn read_new_password(user: &str, from_stdin: bool) -> Result<String> {
    let prompted = !from_stdin
        && std::env::var("WACHAT_PASSWORD").map_or(true, |p| p.is_empty())
        && std::io::stdin().is_terminal();
    let password = read_password(user, from_stdin)?;
    if password.chars().count() < MIN_NEW_PASSWORD {
        return Err(Error::Usage(tr!(Msg::PasswordTooShort, min = MIN_NEW_PASSWORD)));
    }
    if prompted {
        let again = rpassword::prompt_password(tr!(Msg::AgainPrompt))
            .map_err(|e| Error::io(tr!(Msg::ReadingPassword), e))?;
        if again != password {
            return Err(Error::Usage(tr!(Msg::NewPasswordsDiffer)));
        }
    }
    Ok(password)
}

#[cfg(feature = "cluster")]
fn migrate(args: &MigrateArgs) -> Result<()> {
    crate::cluster::migrate::run(&args.from, &args.to)
}

#[cfg(not(feature = "cluster"))]
fn migrate(_args: &MigrateArgs) -> Result<()> {
    Err(Error::Usage(format!("migrate: {NO_CLUSTER}")))
}

/// Starts a server that is a node of a cluster (`--store`, `--bus`).
#[cfg(feature = "cluster")]
fn start_node(
    send: std::net::TcpListener,
    recv: std::net::TcpListener,
    config: Config,
    args: &ServeArgs,
) -> Result<Server> {
    let options = crate::cluster::ClusterOptions {
        store: args.store.clone().unwrap_or_default(),
        bus: args.bus.clone().unwrap_or_default(),
        node: args.node.clone(),
    };
    let (limit, port) = (config.presence_limit, send.local_addr()?.port());
    Server::start_with(send, recv, config, |router| crate::cluster::open(router, &options, limit, port))
}

#[cfg(not(feature = "cluster"))]
fn start_node(
    _send: std::net::TcpListener,
    _recv: std::net::TcpListener,
    _config: Config,
    _args: &ServeArgs,
) -> Result<Server> {
    Err(Error::Usage(format!("--store: {NO_CLUSTER}")))
}

fn serve(args: ServeArgs) -> Result<()> {
    if let Some(store) = &args.store {
        if cfg!(not(feature = "cluster")) {
            return Err(Error::Usage(format!("--store {store}: {NO_CLUSTER}")));
        }
        if !store.starts_with("postgres://") && !store.starts_with("postgresql://") {
            return Err(Error::Usage(format!("--store {store}: expected postgres://USER@HOST:PORT/DB")));
        }
    }
    // A file-size limit (`ulimit -f`) must fail the write, which the store
    // turns into KO:INTERNAL, not kill the server with SIGXFSZ.
    // SAFETY: setting a signal to "ignore" installs no handler code.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    crate::sys::return_big_allocations();
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
        max_connections: args.max_connections.unwrap_or(server::DEFAULT_MAX_CONNECTIONS),
        max_per_address: args.max_per_address,
        exempt: args.exempt.clone(),
        max_pending: args.max_pending,
        rate: args.rate,
        store: crate::store::Options {
            segment_size: args.segment_size,
            checkpoint_records: args.checkpoint_records,
            retain: args.retain_days.map(|days| Duration::from_secs(u64::from(days) * 86_400)),
            ..crate::store::Options::default()
        },
        rate_burst: args.rate_burst.unwrap_or_else(|| server::default_burst(args.rate)),
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::transport::tls::server_config(cert, key)?),
            _ => None,
        },
        ..Config::new(&args.data_dir)
    };
    let (capacity, advice) = crate::sys::connection_capacity(config.max_connections);
    // A newcomer on a laptop meets the system's limits before the default
    // --max-connections (20,000), and reads warnings as failures. So: one
    // plain line when the default does not fit but plenty does; the advice
    // as warnings when the operator asked for more than fits, or when what
    // fits is little.
    let asked = args.max_connections.is_some();
    if capacity < config.max_connections && !asked && capacity >= FEW_CONNECTIONS {
        log::info!(
            "serving up to {capacity} connections (~{} users), what this system's limits allow \
             (see \"Limits\" in the README to raise them)",
            capacity / 2
        );
    } else {
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
    }
    let config = Config { max_connections: capacity.min(config.max_connections), ..config };
    let send = listener::bind(SocketAddr::new(args.host, args.send_port))?;
    let recv = listener::bind(SocketAddr::new(args.host, args.recv_port))?;
    let config_tls = config.tls.is_some();
    let server = match &args.store {
        None => Server::start(send, recv, config)?,
        Some(_) => start_node(send, recv, config, &args)?,
    };
    match &args.store {
        None => log::info!("data directory: {}", args.data_dir.display()),
        Some(store) => log::info!("cluster node on {store}"),
    }
    if config_tls {
        log::info!(
            "TLS on both ports ({})",
            args.tls_cert.as_ref().map_or(String::new(), |c| c.display().to_string())
        );
    } else if !args.host.is_loopback() {
        log::warn!(
            "listening on {} without TLS: passwords and messages travel in clear; \
             use --tls-cert and --tls-key (wachat cert makes them)",
            args.host
        );
    }
    log::info!("listening: send {}", server.send_addr());
    log::info!("listening: receive {}", server.recv_addr());
    wait_for_signal()?;
    server.shutdown();
    Ok(())
}

/// Below this many connections (half as many users, on two ports each),
/// the system's limits are worth a warning even if nobody asked for more.
const FEW_CONNECTIONS: usize = 1000;

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
