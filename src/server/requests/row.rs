//! A request's row of the table ([`Row`]): its words, its handler, what
//! it costs and the two facts the table documents ([`Version`], [`Kind`]).
//! Every request file builds its row from these; `mod.rs` lists the rows.

use std::fmt;

use crate::protocol::Request;
use crate::server::session::{Flow, Session, Who};

use super::asking::Asking;

/// One request's row: the words it is sent with, its handler, and what
/// the server needs to know of it before the handler runs (whether it may
/// open a session, what it costs).
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
    /// Whether its effect is kept on the server's disk: documentation as
    /// [`Row::since`] is, checked and shown by the same test.
    pub kind: Kind,
    /// Tokens it takes from its user's (and address's) `--rate` bucket
    /// before it is served.
    pub cost: fn(&Request) -> u32,
    /// What the server does with it, in its file: [`Row::serve`].
    serve: Serve,
}

/// A row's handler, of one of two kinds.
#[derive(Clone, Copy)]
enum Serve {
    /// Given the whole session: a request that needs its connection.
    Session(Handler),
    /// Given only who asks, the base and the reply sink ([`Asking`]).
    Asking(fn(Asking, Request) -> Flow),
}

/// A request's handler: serves `request`, one that the row's words parse
/// to, from the logged-in user. It takes its own variant apart, and
/// answers any other with `not_served` (which cannot happen: the row is
/// found by the word the parser read).
pub(in crate::server) type Handler = fn(&mut Session, Who, Request) -> Flow;

impl Row {
    /// The row of a request of a logged-in user that costs one token,
    /// served by `serve`.
    pub(in crate::server) const fn new(
        words: &'static [&'static str],
        since: Version,
        kind: Kind,
        serve: Handler,
    ) -> Row {
        Row { words, since, first_frame: false, kind, cost: tokens::<1>, serve: Serve::Session(serve) }
    }

    /// The row of a request of a logged-in user that costs one token,
    /// served by `serve` with only what it needs ([`Asking`]).
    pub(in crate::server) const fn asking(
        words: &'static [&'static str],
        since: Version,
        kind: Kind,
        serve: fn(Asking, Request) -> Flow,
    ) -> Row {
        Row { words, since, first_frame: false, kind, cost: tokens::<1>, serve: Serve::Asking(serve) }
    }

    /// The row of a first frame instead.
    pub const fn first_frame(self) -> Row {
        Row { first_frame: true, ..self }
    }

    /// The row with another cost (say why, with the figure, beside it).
    pub const fn costing(self, cost: fn(&Request) -> u32) -> Row {
        Row { cost, ..self }
    }

    /// Serves `request`, sent with one of this row's words, from the
    /// logged-in `who`, its cost already metered.
    pub(in crate::server) fn serve(&self, s: &mut Session, who: Who, request: Request) -> Flow {
        match self.serve {
            Serve::Session(serve) => serve(s, who, request),
            Serve::Asking(serve) => serve(Asking::new(s, who), request),
        }
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
    /// of what only the leader of a cluster knows (who is online where,
    /// the devices).
    Ephemeral,
    /// Nothing kept: a read of what the store holds, which a cluster's
    /// follower answers from its own copy (`server::leader`).
    Read,
}

/// What a message action (`REPLY`, `EDIT`, `DELETE`, `REACT`) costs: it
/// reads up to 1,000 messages of its chat first, a full `HISTORY`.
pub(in crate::server) const ACTION_COST: fn(&Request) -> u32 = tokens::<11>;

/// A fixed cost of `N` tokens, for a [`Row::cost`].
pub fn tokens<const N: u32>(_: &Request) -> u32 {
    N
}
