//! `P2P:<port>` and `PEER:<user>` (protocol §9): the server's half of
//! peer-to-peer chat, refused on a TLS server (whose users expect every
//! byte encrypted). The ports and the introductions are `server::p2p`.

use crate::protocol::{Reply, Request};
use crate::server::p2p;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

pub(super) const P2P: Row = Row::new(&["P2P"], Version::V1_0, Kind::Ephemeral, announce);

pub(super) const PEER: Row = Row::new(&["PEER"], Version::V1_0, Kind::Ephemeral, introduce);

/// `P2P:<port>`: `who` accepts direct chats on `port`.
fn announce(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::P2p { port } = request else { return not_served(s, &request) };
    if s.ctx.config.tls.is_some() {
        return s.refuse(p2p::not_with_tls());
    }
    s.ctx.p2p_ports.announce(s.ctx, who.id, port);
    s.reply(Ok(Reply::Ok))
}

/// `PEER:<user>`: introduces `who` to `peer`.
fn introduce(s: &mut Session, who: Who, request: Request) -> Flow {
    let Request::Peer { user: peer } = request else { return not_served(s, &request) };
    if s.ctx.config.tls.is_some() {
        return s.refuse(p2p::not_with_tls());
    }
    s.reply(s.ctx.p2p_ports.introduce(s.ctx, who.name, &peer).map(Reply::with))
}
