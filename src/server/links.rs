//! [`Links`]: what the server asks of the class network (protocol 1.3,
//! docs/PROTOCOL.md §27), which `--peers` starts (`crate::federation`,
//! built on the server as the cluster is). The server routes its
//! clients' addresses (`bob@lab2`, `#lab@lab2`) through it, and shows
//! each link in the metrics. What a request queues for a peer wakes its
//! link once it is on disk, whatever queued it (`State::note_links`).
//!
//! A server without `--peers` has none (`Ctx::federation` is unset): an
//! address gets the `KO:BAD_REQUEST` a name with `@` always got
//! ([`not_linked`]).

use crate::metrics::PeerLink;
use crate::protocol::call::Signal;
use crate::protocol::group_call::{GroupCallLine, GroupEvent, GroupRequest};
use crate::protocol::profile::ProfileLine;
use crate::protocol::{Chat, Code, Ko, SeenLine};

/// The class network's links, as the server's handlers use them.
pub trait Links: Send + Sync {
    /// Where a request naming `chat` goes: `Ok(None)` if it stays as it
    /// is (a local name or room, or an address of a peer in the roster);
    /// `Ok(Some(local))` for an address of this server itself (`bob@lab1`
    /// on lab1 is `bob`, `#lab@lab1` is `#lab`); `KO:UNKNOWN_SERVER` for
    /// a server not in the roster.
    fn route(&self, chat: &Chat) -> Result<Option<Chat>, Ko>;

    /// Each peer of the roster's link as it is now, for the metrics and
    /// `wachat top`.
    fn peer_links(&self) -> Vec<PeerLink>;

    /// 1.3: tells the server of `to` (`bob@lab2`) the signal of the call
    /// `id` from `from`, a user of this server (a link's `CALL` frame).
    /// `wait`ing (a user's signal), returns the peer's answer: `Ok`, its
    /// refusal, or `KO:OFFLINE` if it cannot be reached within the link's
    /// timeout. Without (an end this server decided), the signal leaves
    /// as soon as the link is free, and its answer is only logged.
    fn tell_call(&self, call: (&str, &str, &str), signal: Signal, wait: bool) -> Result<(), Ko>;

    /// 1.3: asks the home of `room` (`#lab@lab2`) what `member`, a user of
    /// this server, asks of the room's call (a link's `GROUPCALL` frame;
    /// `start_id`, the id a start's line takes), and waits for its
    /// answer: the members in the call already (a `JOIN`'s, as
    /// addresses), its refusal, or `KO:OFFLINE` if it cannot be reached
    /// within twice the link's timeout.
    fn ask_group_call(
        &self,
        call: (&str, &str),
        request: GroupRequest,
        start_id: Option<String>,
    ) -> Result<Vec<String>, Ko>;

    /// 1.3: tells the server of `member` (`ana@lab1`) `event` of the call
    /// of `room`, a room homed here (a link's `GROUPEVENT` frame), as soon
    /// as the link is free; its answer is only logged.
    fn tell_group_call(&self, call: (&str, &str), event: GroupEvent);

    /// 1.3: asks each of `homes` (peers of the roster) which calls go on
    /// in its rooms that `member`, a user of this server, is a member of
    /// (a link's `GROUPCALLS` frame), all at once, and waits for their
    /// answers: each home that answered within twice the link's timeout,
    /// and its calls, every name an address (a home that cannot be
    /// reached is left out: none of its calls can be joined now).
    fn ask_group_calls(&self, member: &str, homes: &[String]) -> Vec<(String, Vec<GroupCallLine>)>;

    /// 1.3: asks `server` (a peer of the roster) for its people whose
    /// names begin with `start`, for `user`, a user of this server
    /// (`PEOPLE:<start>@<server>`): the lines it answered, each naming
    /// an address (`bob@lab2`); its refusal; `KO:OFFLINE` if it cannot be
    /// reached, or does not answer within twice the link's timeout;
    /// `KO:RATE_LIMITED` past `user`'s searches a minute.
    fn ask_people(&self, user: &str, server: &str, start: &str) -> Result<Vec<SeenLine>, Ko>;

    /// 1.3: tells `server` the profile `line` of a user of this server
    /// (its name as here), with its photo's base64 if it has one: the
    /// photo first, then the profile, as soon as the link is free (within
    /// twice the link's timeout, else not at all). Their answers are only
    /// logged.
    fn tell_profile(&self, server: &str, line: &ProfileLine, photo: Option<&str>);
}

/// What a server without `--peers` answers for an address: what it
/// always answered (a name may not hold `@`); `None` for a plain name.
pub fn not_linked(chat: &Chat) -> Option<Ko> {
    chat.server()?;
    let (what, name) = match chat {
        Chat::User(name) => ("user", name),
        Chat::Room(name) => ("room", name),
    };
    let why = crate::protocol::names::check_name(name).err()?;
    Some(Ko::new(Code::BadRequest, format!("bad {what} name: {why}")))
}
