//! A request's row of the table ([`Row`]): its words, whether it may
//! open a session, and what the table documents of it ([`Version`],
//! [`Kind`]). Every request file builds its row from these; `mod.rs`
//! lists the rows.

use std::fmt;

/// One request's row: the words it is sent with, and what the server
/// needs to know of a line of it before the line is parsed (whether it
/// may open a session), with what the table documents of it.
pub struct Row {
    /// The command words it is sent with (`MSG`; a moderation has ten).
    pub words: &'static [&'static str],
    /// The protocol version that brought it: documentation, read by no
    /// code at run time (a server answers every request whatever version
    /// its client said), checked against docs/PROTOCOL.md by
    /// `tests/protocol/requests.rs` and shown in docs/CONTRIBUTING.md.
    pub since: Version,
    /// A first frame: allowed before the login, and only then.
    pub first_frame: bool,
    /// Whether its effect is kept on the server's disk ([`Kind`]):
    /// documentation too, checked and shown by the same test as
    /// [`Row::since`].
    pub kind: Kind,
}

impl Row {
    /// The row of a request of a logged-in user.
    pub const fn new(words: &'static [&'static str], since: Version, kind: Kind) -> Row {
        Row { words, since, first_frame: false, kind }
    }

    /// The row of a first frame instead.
    pub const fn first_frame(self) -> Row {
        Row { first_frame: true, ..self }
    }
}

/// A protocol version (docs/PROTOCOL.md marks what each one added).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        })
    }
}

/// What a request leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Written to the data directory (a record of the log, an account, a
    /// device) before its `OK`: it survives a restart.
    Stored,
    /// Nothing kept: something relayed to whoever is online, or a read
    /// of what the server knows of its connections (who is online, the
    /// devices' sessions).
    Ephemeral,
    /// Nothing kept: a read of what the store holds.
    Read,
}
