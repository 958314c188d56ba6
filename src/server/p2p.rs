//! The server's half of peer-to-peer chat (protocol §8). A user announces
//! with `P2P:<port>` that it accepts direct chats; the port is kept on its
//! receive connection's outlet, so it is forgotten when that connection
//! ends. `PEER:<user>` introduces two users with a random single-use token.
//! The chat itself never passes through the server, and the server keeps
//! no token: the peer who receives `P2P:<from>:<token>` checks it.

use super::Ctx;
use crate::protocol::{Code, Ko};
use crate::store::UserId;

/// `P2P:<port>`
pub fn announce(ctx: &Ctx, user: UserId, port: u16) -> Result<(), Ko> {
    match ctx.router.get(user) {
        Some(outlet) => {
            outlet.set_p2p_port(port);
            Ok(())
        }
        None => {
            Err(Ko::new(Code::Offline, "log in on the receive port first: the port is kept while it is up"))
        }
    }
}

/// `PEER:<user>`: returns `<ip>:<port>:<token>` and tells the peer.
pub fn introduce(ctx: &Ctx, me: &str, peer: &str) -> Result<String, Ko> {
    let offline = || Ko::new(Code::Offline, format!("{peer} is not connected or accepts no direct chats"));
    let id = match ctx.store.user_name(peer) {
        Some(_) => ctx.store.user_id(peer).ok_or_else(offline)?,
        None => return Err(Ko::new(Code::UnknownUser, format!("no user named {peer}"))),
    };
    let outlet = ctx.router.get(id).ok_or_else(offline)?;
    let port = outlet.p2p_port().ok_or_else(offline)?;
    let token = new_token();
    outlet.push(&format!("P2P:{me}:{token}\n"));
    Ok(format!("{}:{port}:{token}", outlet.peer_ip))
}

/// A random token of 32 hex digits (128 bits) from the OS's generator.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
