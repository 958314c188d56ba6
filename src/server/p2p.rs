//! The server's half of peer-to-peer chat (protocol §8). A user announces
//! with `P2P:<port>` that it accepts direct chats; the port is kept until
//! the user's receive connection ends (so a client may announce it before
//! its receive login completes). `PEER:<user>` introduces two users with a
//! random single-use token. The chat itself never passes through the
//! server, and the server keeps no token: the peer who receives
//! `P2P:<from>:<token>` checks it.

use std::collections::HashMap;
use std::net::SocketAddr;

use parking_lot::Mutex;

use super::base::Base;
use crate::protocol::{Code, Event, Ko, PeerIntro};
use crate::router::Outlet;
use crate::store::UserId;

/// Announced P2P ports, by user.
#[derive(Default)]
pub struct Ports(Mutex<HashMap<UserId, u16>>);

impl Ports {
    /// The user's receive connection ended: its announcement ends too.
    pub fn forget(&self, user: UserId) {
        self.0.lock().remove(&user);
    }

    /// `P2P:<port>`.
    pub fn announce(&self, user: UserId, port: u16) {
        self.0.lock().insert(user, port);
    }

    /// `PEER:<user>`: returns `<ip>:<port>:<token>` and tells the peer.
    /// Every failure is `OFFLINE` (the contract's only code for it), with
    /// a reason. The user's newest receive connection is told.
    pub fn introduce(&self, base: &Base, me: &str, peer: &str) -> Result<PeerIntro, Ko> {
        let id = base.store.user_id(peer).ok_or_else(|| offline(peer, "is not a user here"))?;
        let Some(outlet) = base.router.get(id) else { return Err(offline(peer, "is not connected")) };
        let port = self.0.lock().get(&id).copied();
        introduce_to(&outlet, me, peer, port)
    }
}

/// Introduces `me` to `peer`, whose receive connection is `outlet` and
/// who announced `port`: pushes `P2P:<me>:<token>`, returns `<ip>:<port>:<token>`.
pub fn introduce_to(outlet: &Outlet, me: &str, peer: &str, port: Option<u16>) -> Result<PeerIntro, Ko> {
    let port = port.ok_or_else(|| offline(peer, "accepts no direct chats (no P2P port announced)"))?;
    let token = new_token();
    outlet.push(&Event::P2p { from: me.to_string(), token: token.clone() });
    Ok(PeerIntro { addr: SocketAddr::new(outlet.peer_ip, port), token })
}

/// `P2P` and `PEER` on a TLS server (protocol 1.1, §9): a direct chat is
/// plaintext, and a client that chose TLS must not be handed one without
/// a word (the wachat client never asks; a third-party one might).
pub fn not_with_tls() -> Ko {
    Ko::new(Code::BadRequest, "direct chats are plaintext; not on a TLS server")
}

/// The one code for every failure of `PEER`, with a reason.
pub fn offline(peer: &str, why: &str) -> Ko {
    Ko::new(Code::Offline, format!("{peer} {why}"))
}

/// A random token of 32 hex digits (128 bits) from the OS's generator.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
