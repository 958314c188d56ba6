//! The crate's error type, written by hand in the style of BurntSushi's `csv`:
//! an enum of causes, each `Display` naming where it happened
//! (`store: data/users.csv line 7: …`), so an operator can act on it.
//!
//! What an error says is in the user's language ([`crate::i18n`]): a
//! `Display` that reads the process's language, with the words from
//! [`crate::i18n::client`]. The server never chooses a language, so its
//! log stays English.
//!
//! Errors caused by a *client* are not `Error`s: they are `KO` replies
//! ([`crate::protocol::Ko`]) and never leave the connection that caused them.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::i18n::client::{Msg, io_error, ko_meaning};
use crate::i18n::{Lang, tr};
use crate::protocol::Ko;

/// What a binary built without the `cluster` feature says to `--store`
/// (`serve`, `users invite|disable|enable`) and `migrate`.
pub const NO_CLUSTER: &str = "this wachat was built without the `cluster` feature (PostgreSQL); \
     build it with: cargo build --release --features cluster";

/// Everything that can stop the server, a command or the client library.
#[derive(Debug)]
pub enum Error {
    /// An I/O error with what we were doing when it happened.
    Io { context: String, source: io::Error },
    /// A stored file that cannot be read back: file, line and what is wrong.
    Corrupt { path: PathBuf, line: u64, reason: String },
    /// The server (or a peer) said `KO`, or answered something unexpected.
    Protocol(String),
    /// A bad command line or configuration value.
    Usage(String),
    /// The server answered `KO` to a request; `request` says which one
    /// (`login as ana`, `send to bob`), so the message reads on its own.
    Refused { request: String, ko: Ko },
    /// The client has no connection to the server right now (it keeps
    /// trying in the background).
    Offline,
    /// A data directory is locked by a running server (`pid`, if known).
    Locked { dir: PathBuf, pid: Option<String> },
    /// The server said goodbye (`BYE:<reason>`) on the receive port.
    Bye(crate::protocol::Bye),
    /// Another client logged in as the same user took over the receive
    /// port (`BYE:REPLACED`): this one receives nothing more, so the
    /// console stops.
    Replaced { user: String },
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with a description of what we were doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {}", io_error(source)),
            Error::Corrupt { path, line, reason } => {
                f.write_str(&tr!(Msg::Corrupt, path = path.display(), line = line, reason = reason))
            }
            Error::Protocol(detail) => f.write_str(&tr!(Msg::Protocol, detail = detail)),
            Error::Usage(msg) => write!(f, "{msg}"),
            // The server's reason is in English, the wire protocol's
            // language: in English it says it all, once; in another
            // language the code's meaning in the user's words comes first.
            Error::Refused { request, ko } if crate::i18n::current() == Lang::En && !ko.reason.is_empty() => {
                f.write_str(&tr!(Msg::RefusedSaying, request = request, reason = ko.reason, code = ko.code))
            }
            Error::Refused { request, ko } => f.write_str(&tr!(
                Msg::Refused,
                request = request,
                meaning = ko_meaning(ko.code),
                reason = ko.reason,
                code = ko.code
            )),
            Error::Offline => f.write_str(Msg::NotConnected.text(crate::i18n::current())),
            // In the user's words for `wachat users …`; a second server
            // never chose a language, so it says this in English.
            Error::Locked { dir, pid } => {
                use crate::i18n::commands::Msg as Commands;
                let who = pid.as_ref().map_or(String::new(), |pid| tr!(Commands::HolderPid, pid = pid));
                f.write_str(&tr!(Commands::InUse, dir = dir.display(), who = who))
            }
            Error::Bye(reason) => f.write_str(&tr!(Msg::ServerSaidBye, reason = reason.as_str())),
            Error::Replaced { user } => f.write_str(&tr!(Msg::ReplacedElsewhere, user = user)),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(source: io::Error) -> Error {
        Error::Io { context: "i/o".into(), source }
    }
}
