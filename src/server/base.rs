//! [`Base`]: what every part of the server stands on: its [`Config`],
//! the [`Store`], the [`Router`] of this node's connections, the other
//! [`Nodes`] of a cluster, the files of chats and the door (invite codes,
//! disabled accounts); and the questions asked of the router and the
//! nodes together (who is online, here or on another node). The parts
//! the [`Ctx`](super::Ctx) holds beside it (devices, presence, the
//! limits) take a `&Base`, not the `Ctx`.

use std::sync::Arc;

use super::config::Config;
use super::nodes::Nodes;
use crate::router::Router;
use crate::store::door::Door;
use crate::store::files::Files;
use crate::store::{Store, UserId};

/// The server's config, storage and routing, shared by all its parts.
pub struct Base {
    pub config: Config,
    pub store: Arc<Store>,
    pub router: Arc<Router>,
    /// The other nodes of a cluster ([`Alone`](super::Alone) for a single server).
    pub nodes: Arc<dyn Nodes>,
    /// 1.2: the files of chats (`store::files`).
    pub files: Arc<Files>,
    /// Who may come in (`store::door`): the invite codes `REDEEM` takes,
    /// the accounts disabled; the data directory's, or a cluster's database.
    pub door: Box<dyn Door>,
}

impl Base {
    /// `USERS`: the users online here and on the other nodes, sorted
    /// ignoring case, each once.
    pub fn online_names(&self) -> Vec<String> {
        let mut names = self.router.online_names();
        let elsewhere = self.nodes.online_names();
        if !elsewhere.is_empty() {
            names.extend(elsewhere);
            names.sort_by_key(|n| crate::protocol::names::fold(n));
            names.dedup_by_key(|n| crate::protocol::names::fold(n));
        }
        names
    }

    /// True if `user` is logged in on the receive port here or on another node.
    pub fn is_online(&self, user: UserId) -> bool {
        self.router.is_online(user) || self.nodes.is_online(user)
    }
}
