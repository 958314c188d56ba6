//! Everything a [`super::Client`] needs to know before it connects: who,
//! where, and where its local files go. One struct, filled from the command
//! line by the console and the one-shot subcommands, or by a bot in code.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::i18n::client::Msg;
use crate::protocol::{DEFAULT_RECV_PORT, DEFAULT_SEND_PORT, DEFAULT_TIMEOUT_SECS, Port};

/// How to reach the server and as whom.
#[derive(Clone)]
pub struct ClientOptions {
    /// The account name.
    pub user: String,
    /// Its password. Never printed: `Debug` and `--trace` mask it.
    pub password: String,
    /// `Some(email)`: create the account (`REGISTER`) on the first
    /// connection instead of logging in; the email may be empty.
    pub register: Option<String>,
    /// Which device of the account this client is (protocol 1.2,
    /// `LOGIN:<user>@<device>:…`): `--device`, or `None` for the default
    /// one that the client's folder keeps ([`super::device`]); the client
    /// fills it in when it opens its folder.
    pub device: Option<String>,
    /// `Some(code)`: link this device to the account with a code that
    /// another device of it got (`LINK`), instead of the password:
    /// `PAIR` gives a token, kept in the device's folder and used to log
    /// in from then on.
    pub pair: Option<String>,
    /// Once logged in with the password, link this device to itself
    /// (`LINK`, then `PAIR`) and keep its token, as `pair` does: the next
    /// start logs in with the token, never asking the password again
    /// ("stay signed in on this device"; see [`super::token::stay`]).
    pub stay: bool,
    /// With `register`: the invite code to create the account with
    /// (`REDEEM`, for a server with `--registration invite`).
    pub invite: Option<String>,
    /// Host name or address of the server; or several, separated by
    /// commas, each `HOST[:SEND_PORT[:RECV_PORT]]`: the nodes of one
    /// cluster, tried in order ([`ClientOptions::endpoints`]).
    pub server: String,
    pub send_port: u16,
    pub recv_port: u16,
    /// The directory of the local files: each server gets a folder in it,
    /// and each user a folder in that ([`ClientOptions::user_dir`]).
    pub data_dir: PathBuf,
    /// How long the server may take to answer, and how long the receive
    /// port may stay silent, before the connection counts as lost. Match the
    /// server's `--timeout`: the client pings the send port every half of it.
    pub timeout: Duration,
    /// Called with every frame sent (`>`) and received (`<`).
    pub trace: Option<Trace>,
    /// Direct chats (protocol §8): `Some(port)` listens for peers on that
    /// TCP port (`0` for a free one the system picks), on the local address
    /// that reaches the server only, and announces it to the server with
    /// `P2P:<port>`; `None` listens on nothing and accepts none (this client
    /// can still open direct chats with others).
    pub p2p_port: Option<u16>,
    /// `Some`: connect with TLS, trusting these certificates (never
    /// plaintext then); `None`: plaintext.
    pub tls: Option<crate::transport::Tls>,
    /// Which server of the list answered last: shared by the client's
    /// threads (and clones), so both ports go to the same node and a
    /// reconnection tries first the node that worked.
    pub preferred: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ClientOptions {
    /// The defaults of `wachat connect`: `127.0.0.1`, ports 6666 and 9999,
    /// a 10 s timeout, the user's data directory, no trace, direct chats
    /// accepted on a free port.
    pub fn new(user: &str, password: &str) -> ClientOptions {
        ClientOptions {
            user: user.to_string(),
            password: password.to_string(),
            register: None,
            invite: None,
            device: None,
            pair: None,
            stay: false,
            server: "127.0.0.1".into(),
            send_port: DEFAULT_SEND_PORT,
            recv_port: DEFAULT_RECV_PORT,
            data_dir: default_data_dir().unwrap_or_else(|| PathBuf::from(".wachat")),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            trace: None,
            p2p_port: Some(0),
            tls: None,
            preferred: Default::default(),
        }
    }

    /// The folder of this user's local files on this server:
    /// `<data dir>/<host>:<send port>/<user>/` (see `client/local.rs`).
    /// Names are unique ignoring case, so `Ana` and `ana` share one.
    /// [`crate::client::prepare_dir`] creates it (and adopts a folder left
    /// in the older layout); this only says where it is.
    ///
    /// With several servers (the nodes of one cluster, one chat), the
    /// folder is the first one's: list the same node first every time
    /// (see `client/local.rs`).
    pub fn user_dir(&self) -> PathBuf {
        let first = self.endpoints().swap_remove(0);
        let server = server_folder(&first.host, first.send_port);
        self.data_dir.join(server).join(crate::protocol::names::fold(&self.user))
    }

    /// The folder of one device's files: `<user folder>/devices/<device>/`
    /// (folded, as names are).
    pub fn device_dir(&self, device: &str) -> PathBuf {
        self.user_dir().join("devices").join(crate::protocol::names::fold(device))
    }
}

/// The longest folder name made from a host (file systems allow 255 bytes).
const MAX_HOST_NAME: usize = 200;

/// The folder name of a server: `<host>:<send port>` (`+` for `:` on
/// Windows, `sys::places::PORT_SEPARATOR`), safe on disk. The
/// host is lowercased (host names ignore case) and every byte outside
/// `a-z 0-9 . -` is written `%XX`: no `/`, no control character, and an
/// IPv6 address keeps its colons apart from the port's (`%3A%3A1:6666` for
/// `::1`); with the port after it, the name is never `.` or `..`. A host
/// too long for a file name is cut and ends with a hash of the whole, so
/// two long names stay apart.
pub fn server_folder(host: &str, send_port: u16) -> String {
    let mut name = String::with_capacity(host.len());
    for b in host.to_ascii_lowercase().bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => name.push(b as char),
            _ => name.push_str(&format!("%{b:02X}")),
        }
    }
    if name.len() > MAX_HOST_NAME {
        name.truncate(MAX_HOST_NAME - 17);
        name.push_str(&format!("~{:016x}", fnv1a(host.as_bytes())));
    }
    format!("{name}{}{send_port}", crate::sys::places::PORT_SEPARATOR)
}

/// FNV-1a, 64 bits: a stable hash with no dependency, for the rare long host.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where `--trace` lines go: the console prints them above the prompt, the
/// one-shot subcommands on stderr.
pub type Trace = Arc<dyn Fn(&str) + Send + Sync>;

/// A port's name in a sentence, in the user's language: "send port".
pub(super) fn port_name(port: Port) -> &'static str {
    let msg = if port == Port::Send { Msg::SendPort } else { Msg::ReceivePort };
    msg.text(crate::i18n::current())
}

/// One server of a `--server` list, with its two ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub send_port: u16,
    pub recv_port: u16,
}

impl Endpoint {
    /// The port number of `port` on this server.
    pub fn port(&self, port: Port) -> u16 {
        match port {
            Port::Send => self.send_port,
            Port::Receive => self.recv_port,
        }
    }
}

impl ClientOptions {
    /// The servers to try, in order: [`ClientOptions::server`] split at its
    /// commas, each with the default ports (`send_port`, `recv_port`)
    /// unless it names its own. Never empty.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        parse_servers(&self.server, self.send_port, self.recv_port).unwrap_or_else(|_| {
            vec![Endpoint { host: self.server.clone(), send_port: self.send_port, recv_port: self.recv_port }]
        })
    }
}

/// Parses `HOST[:SEND_PORT[:RECV_PORT]],…` (an IPv6 address in brackets
/// when ports follow it: `[::1]:6666:9999`); missing ports are `send_port`
/// and `recv_port`.
/// A `--server` value: checked now, kept as typed (see [`ClientOptions::endpoints`]).
pub fn parse_server_list(s: &str) -> Result<String, String> {
    parse_servers(s, 1, 1).map(|_| s.to_string())
}

pub fn parse_servers(list: &str, send_port: u16, recv_port: u16) -> Result<Vec<Endpoint>, String> {
    let mut endpoints = Vec::new();
    for entry in list.split(',').map(str::trim) {
        let (host, ports) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| format!("{entry:?}: a ']' is missing"))?;
            (host, after.strip_prefix(':').unwrap_or(after))
        } else if entry.matches(':').count() > 2 || entry.contains("::") {
            (entry, "") // a bare IPv6 address (`host:send:recv` has two colons, never `::`)
        } else {
            entry.split_once(':').unwrap_or((entry, ""))
        };
        if host.is_empty() {
            return Err(format!("{list:?}: a server without a host"));
        }
        let mut numbers = ports.split(':').filter(|p| !p.is_empty()).map(|p| {
            p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(|| format!("{entry:?}: {p:?} is not a port"))
        });
        let send = numbers.next().transpose()?.unwrap_or(send_port);
        let recv = numbers.next().transpose()?.unwrap_or(recv_port);
        if numbers.next().is_some() {
            return Err(format!("{entry:?}: HOST[:SEND_PORT[:RECV_PORT]]"));
        }
        endpoints.push(Endpoint { host: host.to_string(), send_port: send, recv_port: recv });
    }
    Ok(endpoints)
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("user", &self.user)
            .field("password", &"***")
            .field("register", &self.register)
            .field("device", &self.device)
            .field("pair", &self.pair.as_ref().map(|_| "***"))
            .field("server", &self.server)
            .field("send_port", &self.send_port)
            .field("recv_port", &self.recv_port)
            .field("data_dir", &self.data_dir)
            .field("timeout", &self.timeout)
            .field("trace", &self.trace.is_some())
            .field("p2p_port", &self.p2p_port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Where wachat keeps its files when `--data-dir` is not given: `wachat`
/// in the user's data folder (`$XDG_DATA_HOME`, else `~/.local/share`;
/// `%LOCALAPPDATA%` on Windows: `sys::places::data_home`). `None` if the
/// system does not say where that is.
pub fn default_data_dir() -> Option<PathBuf> {
    crate::sys::places::data_home().map(|base| base.join("wachat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_folders_are_safe_names_that_never_collide_with_user_names() {
        assert_eq!(server_folder("127.0.0.1", 6666), "127.0.0.1:6666");
        assert_eq!(server_folder("Class.Example.ORG", 7000), "class.example.org:7000");
        assert_eq!(server_folder("::1", 6666), "%3A%3A1:6666");
        assert_eq!(server_folder("../../etc", 1), "..%2F..%2Fetc:1");
        assert_eq!(server_folder("..", 1), "..:1");
        assert_eq!(server_folder("a\u{1b}b c", 1), "a%1Bb%20c:1");
        let long = "x".repeat(300);
        let folder = server_folder(&long, 1);
        assert!(folder.len() <= MAX_HOST_NAME + 6, "{}", folder.len());
        assert_ne!(folder, server_folder(&format!("{long}y"), 1));
        // A user name never contains ':', so no folder of the old layout
        // can be taken for a server's.
        assert!(crate::protocol::names::name_problem(&server_folder("localhost", 6666)).is_some());
    }

    /// Each default is defined once (`protocol::DEFAULT_*`): the client
    /// library, every command's flags, the server and the bench agree.
    #[test]
    fn the_defaults_are_the_same_for_the_library_the_commands_and_the_server() {
        use crate::cli::{Cli, Command};
        use clap::Parser;
        let defaults = ClientOptions::new("ana", "pw");
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap().command;
        let Command::Connect(connect) = parse(&["wachat", "connect", "--user", "ana"]) else { panic!() };
        let flags = connect.server;
        assert_eq!(flags.server, defaults.server);
        assert_eq!((flags.send_port, flags.recv_port), (defaults.send_port, defaults.recv_port));
        assert_eq!(Duration::from_secs(flags.timeout), defaults.timeout);
        let Command::Serve(serve) = parse(&["wachat", "serve"]) else { panic!() };
        assert_eq!((serve.send_port, serve.recv_port), (defaults.send_port, defaults.recv_port));
        assert_eq!(Duration::from_secs(serve.timeout), defaults.timeout);
        assert_eq!(crate::server::Config::new("data").timeout, defaults.timeout);
        let Command::Bench(bench) = parse(&["wachat", "bench"]) else { panic!() };
        assert_eq!((bench.send_port, bench.recv_port), (defaults.send_port, defaults.recv_port));
        assert_eq!((defaults.send_port, defaults.recv_port), (6666, 9999), "the contract's (§1)");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let options = ClientOptions::new("ana", "hunter2");
        assert!(!format!("{options:?}").contains("hunter2"));
    }

    #[test]
    fn every_user_has_a_folder_per_server_ignoring_case() {
        let mut options = ClientOptions::new("Ana", "pw");
        options.data_dir = PathBuf::from("/d");
        assert_eq!(options.user_dir(), PathBuf::from("/d/127.0.0.1:6666/ana"));
        options.server = "Chat.Example.org".into();
        options.send_port = 7000;
        assert_eq!(options.user_dir(), PathBuf::from("/d/chat.example.org:7000/ana"));
        // A cluster's nodes share the first one's folder.
        options.server = "node1:7001:7002,node2".into();
        assert_eq!(options.user_dir(), PathBuf::from("/d/node1:7001/ana"));
    }

    #[test]
    fn a_server_list_names_each_node_and_its_ports() {
        let e = |host: &str, send, recv| Endpoint { host: host.into(), send_port: send, recv_port: recv };
        assert_eq!(parse_servers("a", 6666, 9999).unwrap(), [e("a", 6666, 9999)]);
        assert_eq!(
            parse_servers("a:7001, b:7011:7012,[::1]:1:2,::1", 6666, 9999).unwrap(),
            [e("a", 7001, 9999), e("b", 7011, 7012), e("::1", 1, 2), e("::1", 6666, 9999)]
        );
        for bad in ["", "a,,b", "a:x", "a:0", "a:1:x", "[::1", "[::1]:9:9:9"] {
            assert!(parse_servers(bad, 1, 2).is_err(), "{bad}");
        }
    }
}
