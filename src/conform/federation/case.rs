//! A case of `wachat conform federation`: what it needs to run
//! ([`Wants`]), and the context it runs in ([`LinkCtx`]): the server's
//! users on the client side, the suite's peer and its door on the
//! network's side.

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::door::LinkPort;
use super::peer::Peer;
use crate::conform::{CaseCtx, Failure, Group};

/// What a case needs beyond the server and the suite's link port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wants {
    Nothing,
    /// Waits for the server's `--timeout` (left out by `--fast`).
    Clock,
    /// Restarts the server (`--allow-restart`).
    Restart,
    /// Waits for the server's `--give-up` (given, and short).
    GiveUp,
    /// Fills the server's queue for the suite (`--queue-max`, small).
    QueueMax,
    /// A file crosses (1.3): left out by `--no-files`.
    Files,
    /// The server says it does not carry files (`--no-files`): its refusal.
    NoFiles,
    /// 1.3: a user of the server searches the suite's people
    /// (`PEOPLE:<start>@<suite>`): left out by `--no-people`.
    People,
    /// A room's membership crosses (1.3): left out by `--no-rooms`.
    Rooms,
    /// The server says it does not carry rooms across (`--no-rooms`): its refusal.
    NoRooms,
    /// Presence crosses (1.3): left out by `--no-presence`.
    Presence,
    /// The server says it does not carry presence (`--no-presence`): its refusal.
    NoPresence,
    /// A room's call crosses (1.3): left out by `--no-group-calls`.
    GroupCalls,
    /// The server says it does not carry group calls (`--no-group-calls`): its refusal.
    NoGroupCalls,
}

/// One case: as [`Case`](crate::conform::Case), run in a [`LinkCtx`].
#[derive(Clone, Copy)]
pub struct LinkCase {
    pub name: &'static str,
    pub section: &'static str,
    pub group: Group,
    pub wants: Wants,
    pub run: fn(&mut LinkCtx) -> std::result::Result<(), Failure>,
}

impl LinkCase {
    pub fn id(&self) -> String {
        format!("{}/{}", self.group.as_str(), self.name)
    }

    pub fn wants(self, wants: Wants) -> LinkCase {
        LinkCase { wants, ..self }
    }
}

/// A case that needs nothing more (see [`LinkCase::wants`]).
pub fn case(
    group: Group,
    name: &'static str,
    section: &'static str,
    run: fn(&mut LinkCtx) -> std::result::Result<(), Failure>,
) -> LinkCase {
    LinkCase { name, section, group, wants: Wants::Nothing, run }
}

/// What the cases may do beyond [`SuiteConfig`](crate::conform::SuiteConfig): the server's limits the
/// suite was told.
#[derive(Clone, Debug, Default)]
pub struct Promised {
    pub give_up: Option<Duration>,
    pub queue_max: Option<u64>,
    /// `--no-files`: the server declares it does not carry files.
    pub no_files: bool,
    /// `--no-people`: the server declares it neither lists its people to
    /// peers nor searches theirs (§26, `PEOPLE:<start>@<server>`).
    pub no_people: bool,
    /// `--no-rooms`: nor rooms across servers.
    pub no_rooms: bool,
    /// `--no-presence`: nor presence.
    pub no_presence: bool,
    /// `--no-group-calls`: nor a room's call across servers.
    pub no_group_calls: bool,
}

/// A case's context: the client side ([`CaseCtx`], which it derefs to:
/// users, connections, the transcript, restarts), the suite's side of
/// the network ([`Peer`]) and its link port ([`LinkPort`]).
pub struct LinkCtx<'a> {
    pub case: CaseCtx<'a>,
    pub peer: &'a Arc<Peer>,
    pub door: &'a LinkPort,
    pub plan: &'a Promised,
}

impl<'a> Deref for LinkCtx<'a> {
    type Target = CaseCtx<'a>;
    fn deref(&self) -> &CaseCtx<'a> {
        &self.case
    }
}

impl LinkCtx<'_> {
    /// The address of the suite's user `alias`: `<name>@<suite>`.
    pub fn remote(&self, alias: &str) -> String {
        format!("{}@{}", self.name(alias), self.peer.names.me)
    }

    /// The address of the server's user `alias`: `<name>@<server>`.
    pub fn address(&self, alias: &str) -> String {
        format!("{}@{}", self.name(alias), self.peer.names.them)
    }

    /// The server's name.
    pub fn them(&self) -> &str {
        &self.peer.names.them
    }

    /// When a frame the server must send comes at the latest: at once
    /// when linked, and after a redial's wait when its link broke.
    pub fn redial_deadline(&self) -> Instant {
        Instant::now() + REDIAL
    }

    /// Restarts the server ([`CaseCtx::restart`]) and waits until its
    /// link port accepts connections too.
    pub fn restart(&self) -> std::result::Result<(), Failure> {
        self.case.restart()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&self.peer.names.their_link).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50)); // polling for the port to open
        }
        Err(Failure::new(
            "the server's link port to accept connections after the restart",
            "nothing within 30 s",
        ))
    }

    /// The server's user `alias`, made now, to write with.
    pub fn writer(&self, alias: &str) -> std::result::Result<Writer, Failure> {
        let conn = self.user(alias)?;
        Ok(Writer { alias: alias.to_string(), conn, used: Instant::now(), logins: 1 })
    }
}

/// A user of the server under test who writes, while the case waits for
/// the network between its messages: its send connection is opened again
/// when the server may have closed it for silence (its `--timeout`).
pub struct Writer {
    alias: String,
    conn: crate::conform::wire::Conn,
    used: Instant,
    logins: usize,
}

impl Writer {
    /// The send connection, logged in.
    pub fn conn(&mut self, ctx: &LinkCtx) -> std::result::Result<&mut crate::conform::wire::Conn, Failure> {
        if self.used.elapsed() > ctx.settings.server_timeout / 2 {
            self.logins += 1;
            self.conn = ctx.login_send(&self.alias, &format!("{}.send{}", self.alias, self.logins))?;
        }
        self.used = Instant::now();
        Ok(&mut self.conn)
    }

    /// `MSG:<to>:<id>:<text>`, answered `OK:<id>:<ts>`: the `<ts>`.
    pub fn msg(
        &mut self,
        ctx: &LinkCtx,
        to: &str,
        id: &str,
        text: &str,
    ) -> std::result::Result<u64, Failure> {
        crate::conform::messages::send_msg(self.conn(ctx)?, to, id, text)
    }
}

/// How long a server takes at most to dial a peer again after its link
/// broke: §27's longest wait between two dials (60 s, ± 20 %) and a margin.
pub const REDIAL: Duration = Duration::from_secs(75);
