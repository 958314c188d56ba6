//! [`Asking`]: what the handler of a plain request sees: who asks, the
//! server's [`Base`] (the store, the config, and through `relay` the
//! users online here and on a cluster's other nodes), and where its reply
//! goes. Not the connection's internals (its socket, its buffers, the
//! `MSG`s it gathered) and not the whole `Ctx` (the limits, the devices,
//! the connections): a request served through it cannot touch them. A
//! row made with [`Row::asking`](super::row::Row::asking) has such a
//! handler; the requests that need more of their connection take the
//! `Session`, and `mod.rs` says why for each kind.

use crate::protocol::{Ko, Reply, Request};
use crate::server::base::Base;
use crate::server::session::{Flow, Session, Who};
use crate::store::Ticket;

use super::not_served::not_served;

/// A request being served: who asks, the base, and its reply's way out.
pub(in crate::server) struct Asking<'s, 'a> {
    /// The logged-in user it comes from.
    pub who: Who<'s>,
    /// The store, the config, the router and the other nodes.
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

    /// Waits until what this session wrote is on disk, before a read that
    /// must see it (a client sees its own writes).
    pub fn settle(&mut self) {
        self.session.settle();
    }

    /// The answer to a request this handler does not serve (see
    /// [`not_served`]).
    pub fn not_served(self, request: &Request) -> Flow {
        not_served(self.session, request)
    }
}
