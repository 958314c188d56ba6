//! The client side of the command line: how to reach the server and as
//! whom ([`ServerArgs`], shared by `connect`, `register` and the one-shot
//! subcommands, and by bots such as `examples/echo_bot.rs`), each
//! subcommand's own flags, and how they become the client library's
//! [`ClientOptions`] — the password included, which is never an argument.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{read_new_password, read_password};
use crate::client::{self, ClientOptions};
use crate::error::{Error, Result};
use crate::i18n::{self, Lang, tr};
use crate::protocol::{Chat, DEFAULT_RECV_PORT, DEFAULT_SEND_PORT, DEFAULT_TIMEOUT_SECS};

/// How to reach the server and as whom: shared by `connect` and the
/// one-shot subcommands. The password is never an argument (the process
/// list would show it): it comes from `--password-stdin`, from
/// `WACHAT_PASSWORD`, or from a hidden prompt.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Your user name.
    #[arg(long, value_parser = parse_user)]
    pub user: String,
    /// This device's name, when you use the account from several (1-32
    /// characters of A-Z a-z 0-9 _ . -) [default: the host name and a
    /// short suffix, kept in the local folder].
    #[arg(long, value_parser = parse_device)]
    pub device: Option<String>,
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
    /// Directory of the local files [default: $XDG_DATA_HOME/wachat or ~/.local/share/wachat; %LOCALAPPDATA%\wachat on Windows].
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
    /// Create the account first (the password, at least 6 characters, is
    /// asked twice at a prompt).
    #[arg(long)]
    pub register: bool,
    /// Email address for --register.
    #[arg(long, requires = "register")]
    pub email: Option<String>,
    /// With --register: the invite code your teacher gave you.
    #[arg(long, requires = "register", value_name = "CODE")]
    pub invite: Option<String>,
    /// TCP port on which peers may open direct chats (/p2p) with you, on
    /// the local address that reaches the server; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub p2p_port: u16,
    /// Accept no direct chats: listen on no port at all (you can still
    /// open direct chats with others).
    #[arg(long, conflicts_with = "p2p_port")]
    pub no_p2p: bool,
    /// Link this device to your account with the code that /link shows on
    /// a device already logged in, instead of the password: the device
    /// keeps a token of its own and never needs the password again.
    #[arg(long, value_name = "CODE", conflicts_with = "register", value_parser = parse_link_code)]
    pub pair: Option<String>,
    /// Stay signed in on this device: once logged in with the password,
    /// the device gets a token of its own (as with --pair) and the next
    /// `wachat connect` logs in with it, without asking the password (which
    /// is never stored). /unlink on another device undoes it.
    #[arg(long, conflicts_with = "pair")]
    pub stay: bool,
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
    /// The invite code your teacher gave you (a server with --registration invite).
    #[arg(long, value_name = "CODE")]
    pub invite: Option<String>,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A user name, or #room.
    #[arg(long, value_parser = parse_chat)]
    pub to: Chat,
    /// The message; several words are joined with spaces. With --file,
    /// the file's caption (may be left out).
    #[arg(required_unless_present = "file")]
    pub text: Vec<String>,
    /// 1.2: send this file (a photo, a PDF…, at most the server's
    /// --max-file-mb), shown as "📎 name (size) &lt;text&gt;".
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Write to this file instead of stdout (created 0600: it holds your messages).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A user name, or #room.
    #[arg(long = "with", value_parser = parse_chat)]
    pub with: Chat,
    /// How many messages, newest last (past 1,000: read a page at a time).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Start at this cursor instead of the newest message: the page before
    /// what an earlier `wachat history` printed (it says the cursor).
    #[arg(long, value_parser = parse_cursor)]
    pub before: Option<u64>,
}

// clap parses the arguments before `run` has set the language, so these
// two find it themselves: a bad name on the command line is the user's
// mistake, explained in the user's words.
fn parse_cursor(s: &str) -> std::result::Result<u64, String> {
    crate::protocol::page::parse_cursor(s)
        .ok_or_else(|| format!("{s:?} is not a cursor (the digits wachat history printed)"))
}

fn parse_user(s: &str) -> std::result::Result<String, String> {
    set_language_early();
    i18n::client::check_user(i18n::current(), s)?;
    Ok(s.to_string())
}

pub use crate::client::options::parse_server_list;

/// A link code of `/link`: the characters of a message id (the server
/// says whether it is right).
fn parse_link_code(s: &str) -> std::result::Result<String, String> {
    let code = s.trim();
    crate::protocol::names::check_id(code).map_err(|e| format!("{code:?}: {e}"))?;
    Ok(code.to_string())
}

fn parse_device(s: &str) -> std::result::Result<String, String> {
    set_language_early();
    client::device::check(i18n::current(), s)?;
    Ok(s.to_string())
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

/// `wachat connect`: the console, or the full screen with `--tui`.
pub(super) fn connect(args: ConnectArgs) -> Result<()> {
    // Before the password is asked for: a pipe gets a clear refusal.
    if args.tui {
        crate::tui::check()?;
    }
    let register = args.register.then(|| args.email.clone().unwrap_or_default());
    let p2p_port = (!args.no_p2p).then_some(args.p2p_port);
    let options = match (&register, &args.pair) {
        (Some(_), _) => new_account_options(&args.server)?,
        // Linking: no password at all.
        (None, Some(code)) => {
            ClientOptions { pair: Some(code.clone()), ..with_password(&args.server, String::new())? }
        }
        (None, None) => device_options(&args.server)?,
    };
    let options =
        ClientOptions { register, invite: args.invite.clone(), p2p_port, stay: args.stay, ..options };
    match args.tui {
        true => crate::tui::run(options, args.server.trace),
        false => crate::console::run(options, args.server.trace),
    }
}

/// `wachat register`: a new account, then exit.
pub(super) fn register(args: RegisterArgs) -> Result<()> {
    let options = ClientOptions {
        register: Some(args.email.unwrap_or_default()),
        invite: args.invite,
        ..new_account_options(&args.server)?
    };
    crate::oneshot::register(&options)
}

impl ServerArgs {
    /// The client library's options from these flags, password included
    /// (asked for now if it has to be). Public so that bots
    /// (`examples/echo_bot.rs`) take exactly the flags of `wachat connect`.
    pub fn options(&self) -> Result<ClientOptions> {
        device_options(self)
    }
}

/// [`options`] for a client that logs in as its device: no password is
/// asked for if the device has a token (it was linked with `--pair`).
fn device_options(args: &ServerArgs) -> Result<ClientOptions> {
    let options = with_password(args, String::new())?;
    match client::token::for_options(&options)? {
        Some(_) => Ok(options), // the client reads the token itself
        None => Ok(ClientOptions { password: password(args)?, ..options }),
    }
}

/// The client library's options from the command line, password included.
/// The console sets its own trace (above the prompt); the one-shot
/// subcommands trace on stderr, so their stdout stays clean for scripts.
pub(super) fn options(args: &ServerArgs) -> Result<ClientOptions> {
    with_password(args, password(args)?)
}

/// [`options`] for an account about to be created: its password is a new
/// one (see [`read_new_password`]).
fn new_account_options(args: &ServerArgs) -> Result<ClientOptions> {
    with_password(args, read_new_password(&args.user, args.password_stdin)?)
}

pub(super) fn with_password(args: &ServerArgs, password: String) -> Result<ClientOptions> {
    let mut options = ClientOptions::new(&args.user, &password);
    options.server = args.server.clone();
    options.send_port = args.send_port;
    options.recv_port = args.recv_port;
    options.device = args.device.clone();
    options.timeout = Duration::from_secs(args.timeout);
    options.tls = crate::client::tls::for_client(args.tls, args.ca.as_deref())?;
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

/// `wachat export`: to `--out` (a new private file) or stdout.
pub(super) fn export(args: &ExportArgs) -> Result<()> {
    let options = options(&args.server)?;
    crate::export::to(args.out.as_deref(), |out, files| crate::export::run(&options, out, files))
}
