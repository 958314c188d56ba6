//! [`Asking`]: what the handler of a plain request sees: who asks, the
//! server's [`Base`] (the store, the config, and through `relay` the
//! users online), and where its reply goes. Not the connection's internals (its socket, its buffers, the
//! `MSG`s it gathered) and not the whole `Ctx` (the devices, the
//! connections, the limits' tables): a request served through it cannot
//! touch them. What a request needs beyond the base is one narrow method
//! each, below, which says what it reaches and no more: the asker's
//! address's `--rate` for work known once done ([`Asking::charge`]) and
//! the address itself, a reply written later ([`Asking::reply_later`]),
//! the
//! members to tell once a room's change is on disk
//! ([`Asking::tell_members_when_durable`]), how many accounts the
//! address may still register ([`Asking::new_accounts_left`]) and the P2P
//! ports ([`Asking::p2p_ports`]). `mod.rs`'s `serve` gives most
//! handlers one; the requests that need more of their connection take
//! the `Session`, and `mod.rs` says why for each kind.

use std::net::IpAddr;

use crate::protocol::{Chat, Ko, Reply};
use crate::server::base::Base;
use crate::server::p2p::Ports;
use crate::server::replies::Later;
use crate::server::session::{Flow, Session, Who};
use crate::store::Ticket;

/// A request being served: who asks, the base, and its reply's way out.
pub(in crate::server) struct Asking<'s, 'a> {
    /// The logged-in user it comes from.
    pub who: Who<'s>,
    /// The config, the store, the router, the files, the door.
    pub base: &'s Base,
    /// The reply sink: the session, reached only through the methods below.
    session: &'s mut Session<'a>,
}

impl<'s, 'a> Asking<'s, 'a> {
    pub(super) fn new(session: &'s mut Session<'a>, who: Who<'s>) -> Asking<'s, 'a> {
        let ctx = session.ctx;
        Asking { who, base: &ctx.base, session }
    }

    /// Answers the request (a `KO` for an error).
    pub fn reply(self, result: Result<Reply, Ko>) -> Flow {
        self.session.reply(result)
    }

    /// Answers with a reply that is true only once `ticket` is on disk.
    pub fn reply_durable(self, result: Result<(Reply, Ticket), Ko>) -> Flow {
        self.session.reply_durable(result)
    }

    /// Whether the session's `LOGIN` named a device
    /// (`LOGIN:<user>@<device>:…`): a 1.2 client, which a 1.0 or 1.1
    /// one never is. `HISTORY` shows it its room messages' ticks (§31).
    pub fn logged_in_as_device(&self) -> bool {
        self.session.device.is_some()
    }

    /// Waits until what this session wrote is on disk, before a read that
    /// must see it (a client sees its own writes).
    pub fn settle(&mut self) {
        self.session.settle();
    }

    /// 1.2 (§28): Web Push, told of what a request changes for it (a
    /// chat read: its pushes held are dropped, its notifications closed).
    pub fn pushes(&self) -> &'a crate::server::push::Pusher {
        &self.session.ctx.push
    }

    /// Takes `tokens` more from the asker's `--rate` and its address's
    /// `--address-rate`, for work whose size was known once done (what a
    /// `SEARCH` or a `STARRED` read): `Ctx::charge`.
    pub fn charge(&self, tokens: u32) {
        (self.charger())(tokens);
    }

    /// [`Asking::charge`] as a function of its own, for work that ends
    /// after the reply's place is kept ([`Asking::reply_later`]).
    pub fn charger(&self) -> impl Fn(u32) + use<'a> {
        let (ctx, user, peer) = (self.session.ctx, self.who.id, self.session.peer.ip());
        move |tokens| ctx.charge(user, peer, tokens)
    }

    /// The address the request comes from, for what is counted per
    /// address (an upload's parts).
    pub fn address(&self) -> IpAddr {
        self.session.peer.ip()
    }

    /// Keeps the reply's place in the output and hands `start` what
    /// writes it there once the request is done, while the connection
    /// reads on (`Session::reply_later`: a cluster's `PART`).
    pub fn reply_later(self, start: impl FnOnce(Later)) -> Flow {
        self.session.reply_later(start)
    }

    /// Tells `room`'s members that the asker `joined` it (or left it),
    /// with `JOINED`/`LEFT` and 1.1's `MEMBER`, once the change is on
    /// disk: at the session's next `settle` (`presence::tell_members`).
    pub fn tell_members_when_durable(&mut self, room: String, joined: bool) {
        self.session.member_changes.push((room, joined));
    }

    /// How many accounts the asker's address may still `REGISTER` now
    /// (`None`: no limit, `--exempt`), from the login limits.
    pub fn new_accounts_left(&self) -> Option<u32> {
        self.session.ctx.auth.new_accounts_left(self.session.peer.ip())
    }

    /// 1.3 (§27): the room named `room` as this server keeps it: `#lab`,
    /// `#lab@lab1` on lab1 (`#lab`), or a room homed on a server of the
    /// roster (`#lab@lab2`, this server's copy); `KO:UNKNOWN_SERVER` for
    /// a server the roster does not have, and on a server that is not in
    /// a network the `KO:BAD_REQUEST` a name with `@` always got.
    pub fn room_here(&self, room: String) -> Result<String, Ko> {
        let routed = self.session.ctx.route(&Chat::Room(room.clone()))?;
        Ok(match routed {
            Some(Chat::Room(local)) => local,
            _ => room,
        })
    }

    /// 1.3 (§27): `chat` as this server keeps it, as a `MSG`'s recipient
    /// is routed: this server's own address is the local chat; a server
    /// the roster does not have is `KO:UNKNOWN_SERVER`, and on a server
    /// that is not in a network an address is the `KO:BAD_REQUEST` a name
    /// with `@` always got.
    pub fn chat_here(&self, chat: Chat) -> Result<Chat, Ko> {
        Ok(self.session.ctx.route(&chat)?.unwrap_or(chat))
    }

    /// 1.3 (§27): the user a request names (`protocol::names::check_user`)
    /// as this server keeps it, routed as [`Asking::chat_here`] routes a
    /// direct chat: `cyd@lab1` on lab1 is `cyd`, `bob@lab2` stays an
    /// address (the account of a user of lab2), a server the roster does
    /// not have is `KO:UNKNOWN_SERVER`, and on a server in no network an
    /// address is the `KO:BAD_REQUEST` a name with `@` always got.
    pub fn user_here(&self, user: String) -> Result<String, Ko> {
        Ok(self.chat_here(Chat::User(user))?.to_string())
    }

    /// 1.3 (§27): checks that `@<server>` names a peer of the roster:
    /// this server's own name is `KO:BAD_REQUEST`, another the roster
    /// does not have `KO:UNKNOWN_SERVER`, and on a server that is not in a
    /// network the `KO:BAD_REQUEST` a name with `@` always got.
    pub fn peer_server(&self, at_server: &str) -> Result<(), Ko> {
        match self.session.ctx.route(&Chat::User(at_server.to_string()))? {
            Some(_) => {
                let why = format!("{} is this server: block its users one by one", &at_server[1..]);
                Err(Ko::new(crate::protocol::Code::BadRequest, why))
            }
            None => Ok(()),
        }
    }

    /// `chat` for what does not cross servers (1.3: `TYPING`), or the
    /// refusal of an address of another server (`Ctx::here_only`).
    pub fn here_only(&self, chat: Chat, what: &str) -> Result<Chat, Ko> {
        self.session.ctx.here_only(chat, what)
    }

    /// 1.3: `PEOPLE:<start>@<server>`: the people of another server,
    /// asked over its link; this thread waits for the answer, so the
    /// reply keeps its place (`server::people_across::ask`).
    pub fn people_across(&self, start: &str, server: &str) -> Result<Vec<crate::protocol::SeenLine>, Ko> {
        crate::server::people_across::ask(self.session.ctx, (self.who.id, self.who.name), start, server)
    }

    /// 1.3: tells the servers whose users share a chat with the asker
    /// its profile as it is now (`server::profile_across::tell`).
    pub fn tell_profile_across(&self) {
        crate::server::profile_across::tell(self.session.ctx, self.who.id, self.who.name);
    }

    /// The ports users accept direct chats on (`P2P`, `PEER`).
    pub fn p2p_ports(&self) -> &'a Ports {
        &self.session.ctx.p2p_ports
    }
}
