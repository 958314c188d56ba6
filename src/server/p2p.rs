//! The server's half of peer-to-peer chat (protocol §8). A user announces
//! with `P2P:<port>` that it accepts direct chats; the port is kept until
//! the user's receive connection ends (so a client may announce it before
//! its receive login completes). `PEER:<user>` introduces two users with a
//! random single-use token. The chat itself never passes through the
//! server, and the server keeps no token: the peer who receives
//! `P2P:<from>:<token>` checks it.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::Ctx;
use crate::protocol::{Code, Ko};
use crate::store::UserId;

/// Announced P2P ports, by user.
#[derive(Default)]
pub struct Ports(Mutex<HashMap<UserId, u16>>);

impl Ports {
    /// The user's receive connection ended: its announcement ends too.
    pub fn forget(&self, user: UserId) {
        self.0.lock().remove(&user);
    }
}

/// `P2P:<port>`
pub fn announce(ctx: &Ctx, user: UserId, port: u16) {
    ctx.p2p_ports.0.lock().insert(user, port);
}

/// `PEER:<user>`: returns `<ip>:<port>:<token>` and tells the peer. Every
/// failure is `OFFLINE` (the contract's only code for it), with a reason.
pub fn introduce(ctx: &Ctx, me: &str, peer: &str) -> Result<String, Ko> {
    let offline = |why: &str| Ko::new(Code::Offline, format!("{peer} {why}"));
    let id = ctx.store.user_id(peer).ok_or_else(|| offline("is not a user here"))?;
    let outlet = ctx.router.get(id).ok_or_else(|| offline("is not connected"))?;
    let port = ctx.p2p_ports.0.lock().get(&id).copied();
    let port = port.ok_or_else(|| offline("accepts no direct chats (no P2P port announced)"))?;
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
