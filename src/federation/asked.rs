//! What the server's handlers ask of the links ([`Links`],
//! `server::links`): where an address goes (by the roster), each link
//! as it is now (for the metrics), and the told frames of
//! `frames::call`, `frames::group_call`, `frames::people` and `frames::profile`, each handed to
//! its family.

use super::frames::{call, group_call, people, profile};
use super::links::Federation;
use crate::protocol::call::Signal;
use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest};
use crate::protocol::names::fold;
use crate::protocol::profile::ProfileLine;
use crate::protocol::{Chat, Code, Ko, SeenLine};
use crate::server::links::Links;

impl Links for Federation {
    /// An address goes by the roster as it is now: this server's own
    /// name is the local chat, a peer's stays, another is unknown.
    fn route(&self, chat: &Chat) -> std::result::Result<Option<Chat>, Ko> {
        let Some(server) = chat.server() else { return Ok(None) };
        if fold(server) == fold(&self.me) {
            return Ok(Some(chat.local_part()));
        }
        match self.roster().peer(server) {
            Some(_) => Ok(None),
            None => Err(Ko::new(Code::UnknownServer, format!("no server named {server} in the roster"))),
        }
    }

    /// Each peer of the roster's link as it is now, for the metrics and
    /// `wachat top`: up or retrying (the dialers' word), what waits for it
    /// (the store's, read now: a dialer waiting out its backoff has not
    /// looked for a while).
    fn peer_links(&self) -> Vec<crate::metrics::PeerLink> {
        let Some(ctx) = self.ctx() else { return Vec::new() };
        let store = &ctx.store;
        let status = self.status.lock().clone();
        let now = crate::store::now_ms();
        self.roster()
            .peers
            .iter()
            .map(|peer| {
                let facts = store.peer_facts(&peer.name);
                let seen = status.get(&peer.name).cloned().unwrap_or_default();
                crate::metrics::PeerLink {
                    peer: peer.name.clone(),
                    up: seen.linked,
                    retrying_since: seen.retrying_since.map_or(0, |ms| ms / 1000),
                    queued: facts.queued,
                    oldest_age: facts.oldest_ms.map_or(0, |ms| now.saturating_sub(ms) / 1000),
                    behind: facts.behind,
                }
            })
            .collect()
    }

    fn tell_call(&self, call: (&str, &str, &str), signal: Signal, wait: bool) -> Result<(), Ko> {
        call::tell(self, call, signal, wait)
    }

    fn ask_group_call(
        &self,
        call: (&str, &str),
        request: GroupRequest,
        start_id: Option<String>,
    ) -> Result<Vec<String>, Ko> {
        group_call::ask(self, call, request, start_id)
    }

    fn tell_group_call(&self, call: (&str, &str), event: GroupEvent) {
        group_call::tell(self, call, event)
    }

    fn ask_group_calls(&self, member: &str, homes: &[String]) -> Vec<(String, Vec<GroupCallLine>)> {
        group_call::ask_calls(self, member, homes)
    }

    fn ask_people(&self, user: &str, server: &str, start: &str) -> Result<Vec<SeenLine>, Ko> {
        people::ask(self, user, server, start)
    }

    fn tell_profile(&self, server: &str, line: &ProfileLine, photo: Option<&str>) {
        profile::tell(self, server, line, photo)
    }
}
