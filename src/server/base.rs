//! [`Base`]: what every part of the server stands on: its [`Config`],
//! the [`Store`], the [`Router`] of its connections, the files of chats
//! and the door (where the requests of `wachat users` wait). The parts the
//! [`Ctx`](super::Ctx) holds beside it (devices, presence, the limits)
//! take a `&Base`, not the `Ctx`.
//!
//! On a cluster the leader's router holds every receive connection of
//! every node (a follower passes its clients on to it, `server::Leader`),
//! so who is online is the leader's router's answer.

use std::sync::Arc;

use super::config::Config;
use crate::router::Router;
use crate::store::Store;
use crate::store::door::Door;
use crate::store::files::Files;

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
    pub remote_seen: super::presence_across::RemoteSeen,
}
