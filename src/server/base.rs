//! [`Base`]: what every part of the server stands on: its [`Config`],
//! the [`Store`], the [`Router`] of its connections, the files of chats
//! and the door (where the requests of `wachat users` wait). The parts the
//! [`Ctx`](super::Ctx) holds beside it (devices, presence, the limits)
//! take a `&Base`, not the `Ctx`.
//!
//! On a cluster the leader's router holds every receive connection of
//! every node (a follower passes its clients on to it, `server::Leader`),
//! so who is online is the leader's router's answer.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use super::config::Config;
use crate::protocol::Presence;
use crate::router::Router;
use crate::store::door::Door;
use crate::store::files::Files;
use crate::store::{Store, UserId};

/// The server's config, storage and routing, shared by all its parts.
pub struct Base {
    pub config: Config,
    pub store: Arc<Store>,
    pub router: Arc<Router>,
    /// 1.2: the files of chats (`store::files`).
    pub files: Arc<Files>,
    /// Where the requests of `wachat users` wait (`store::door`): the
    /// data directory's files, or a cluster's database.
    pub door: Box<dyn Door>,
    /// 1.3: presence across servers (`server::presence_across`).
    pub remote_seen: RemoteSeen,
}

/// 1.3: presence across servers (`server::presence_across`, whose
/// methods read and change it): what is to be said to each peer, and
/// what each peer said of its users. Beside the router, as the other
/// half of who is online.
#[derive(Default)]
pub struct RemoteSeen {
    /// This server is in a network (`--peers`): nothing is noted otherwise.
    pub(super) enabled: AtomicBool,
    /// Users of this server whose presence each peer (folded name) is to
    /// be told.
    pub(super) dirty: Mutex<HashMap<String, BTreeSet<UserId>>>,
    /// Each peer's dialer's bell (folded name), rung when something is noted for it.
    pub(super) bells: Mutex<HashMap<String, Sender<()>>>,
    /// Users of other servers (their accounts here), as their servers said.
    pub(super) seen: Mutex<HashMap<UserId, Presence>>,
    /// Each peer's newest link whose presence is taken (folded name): a
    /// link that ends forgets its users' `ONLINE` only if no newer one
    /// came meanwhile.
    pub(super) links: Mutex<HashMap<String, u64>>,
    pub(super) next_link: AtomicU64,
    /// (chat, user) pairs of this server's users who wrote to a user or a
    /// room of another server (folded address) since this start: their
    /// first message noted them for it (`RemoteSeen::wrote_to`).
    pub(super) introduced: Mutex<HashSet<(String, UserId)>>,
}
