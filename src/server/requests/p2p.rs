//! `P2P:<port>` and `PEER:<user>` (protocol §9): the server's half of
//! peer-to-peer chat, refused on a TLS server (whose users expect every
//! byte encrypted). The ports and the introductions are `server::p2p`.

use crate::protocol::{Chat, Reply};
use crate::server::p2p;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const P2P: Row = Row::new(&["P2P"], Version::V1_0, Kind::Ephemeral);

pub(super) const PEER: Row = Row::new(&["PEER"], Version::V1_0, Kind::Ephemeral);

/// `P2P:<port>`: the asker accepts direct chats on `port`.
pub(super) fn announce(a: Asking, port: u16) -> Flow {
    if a.base.config.tls.is_some() {
        return a.reply(Err(p2p::not_with_tls()));
    }
    a.p2p_ports().announce(a.who.id, port);
    a.reply(Ok(Reply::Ok))
}

/// `PEER:<user>`: introduces the asker to `peer`.
pub(super) fn introduce(a: Asking, peer: String) -> Flow {
    if a.base.config.tls.is_some() {
        return a.reply(Err(p2p::not_with_tls()));
    }
    // 1.3: a user of another server is out of reach of a direct connection.
    let peer = match a.here_only(Chat::User(peer), "P2P") {
        Ok(peer) => peer.to_string(),
        Err(ko) => return a.reply(Err(ko)),
    };
    let introduced = a.p2p_ports().introduce(a.base, a.who.name, &peer);
    a.reply(introduced.map(Reply::with))
}
