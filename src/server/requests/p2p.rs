//! `P2P:<port>` and `PEER:<user>` (protocol §9): the server's half of
//! peer-to-peer chat, refused on a TLS server (whose users expect every
//! byte encrypted). The ports and the introductions are `server::p2p`.

use crate::protocol::{Reply, Request};
use crate::server::p2p;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const P2P: Row = Row::asking(&["P2P"], Version::V1_0, Kind::Ephemeral, announce);

pub(super) const PEER: Row = Row::asking(&["PEER"], Version::V1_0, Kind::Ephemeral, introduce);

/// `P2P:<port>`: the asker accepts direct chats on `port`.
fn announce(a: Asking, request: Request) -> Flow {
    let Request::P2p { port } = request else { return a.not_served(&request) };
    if a.base.config.tls.is_some() {
        return a.reply(Err(p2p::not_with_tls()));
    }
    a.p2p_ports().announce(a.who.id, port);
    a.reply(Ok(Reply::Ok))
}

/// `PEER:<user>`: introduces the asker to `peer`.
fn introduce(a: Asking, request: Request) -> Flow {
    let Request::Peer { user: peer } = request else { return a.not_served(&request) };
    if a.base.config.tls.is_some() {
        return a.reply(Err(p2p::not_with_tls()));
    }
    let introduced = a.p2p_ports().introduce(a.base, a.who.name, &peer);
    a.reply(introduced.map(Reply::with))
}
