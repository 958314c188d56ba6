//! What each side of a link does with each family of frames, one file a
//! family, as `server/requests/` has a file a request: the family's
//! grammar is `protocol::link`'s file of the same name (the rule that
//! keeps `protocol` free of sockets puts it there), its behaviour here.
//!
//! | family | numbered | told | accepting side | sending side |
//! |---|---|---|---|---|
//! | `hello.rs` | | `PING` `QUIT` | the hello's checks, `PONG`, `OK` | the dialer's hello, its pings |
//! | `message.rs` | `MSG` `STATUS` | | taken into the store | the store's queue |
//! | `room.rs` | `JOIN` `LEAVE` | | taken, the room's members told | the store's queue |
//! | `call.rs` | | `CALL` | handed to `server::calls_across` | a user's signal, its answer to the user |
//! | `people.rs` | | `PEOPLE` | answered at once, bounded | a user's search, the lines to the user |
//! | `profile.rs` | | `PROFILE` `PHOTO` | kept by `server::profile_across` | told when a profile changes |
//! | `presence.rs` | | `PRESENCE` | kept by `server::presence_across` | what it noted, a batch a second |
//! | `file.rs` | `FILE` | `UPLOAD` `PART` | an upload of the peer's, its message | the bytes before their message |
//! | `receipt.rs` | `RECEIPT` | | a member's mark, taken into the store | the store's queue |
//! | `group_call.rs` | | `GROUPCALL` `GROUPEVENT` `GROUPCALLS` `GROUPIN` | judged by `server::group_calls_across` | a member's request and listing, the home's events and its question once a member's server is back |
//!
//! The counts that bound the people and profile families (and
//! `--people-across`) are `counts.rs`'s, held by the links
//! ([`Federation`](super::links::Federation)). What every family is given,
//! the link's two sides ([`Taking`], [`Dialing`]), is `sides.rs`'s: this
//! file only declares the families and dispatches to them.
//!
//! # The accepting side
//!
//! `accept.rs` reads a link's frames and hands each to [`take`]: one
//! `match` on the [`Frame`], an arm a family, as the send port's
//! `requests::serve` is. A family's `take` is given the link
//! ([`Taking`]) and its frame; a numbered frame goes through
//! [`Taking::numbered`] (its window, its `ACK:<n>` or `KO:<n>:…`, a
//! refusal for now that ends the link), a told one is answered at once.
//!
//! # The sending side
//!
//! The dialer (`dial.rs`) has one outbound queue per peer: the numbered
//! frames are the store's queue for it, sent in windows and dropped by
//! their `ACK`s; the told frames a handler has for the peer wait in its
//! [`Outbound`](super::outbound::Outbound), each a [`Told`] with its
//! reply slot, said between windows by its family's `say`
//! ([`Told::say`], here), with a [`Dialing`], the dialer's side of the
//! link.
//!
//! # Adding a family
//!
//! Its grammar first (`protocol::link`'s module documentation), then a
//! file here with its `take` (and, if a handler tells it, a variant of
//! [`Tell`] and its `say`), its arm in [`take`], and its line in the
//! table above; conform's door (`conform::federation::door`) answers it
//! too, in its own `match`.

use super::outbound::{Tell, Told};
use crate::protocol::link::Frame;
use sides::{Dialing, Flow, Taking, Why};

pub(super) mod call;
pub(super) mod counts;
pub(super) mod file;
pub(super) mod group_call;
pub(super) mod hello;
pub(super) mod message;
pub(super) mod people;
pub(super) mod presence;
pub(super) mod profile;
pub(super) mod receipt;
pub(super) mod room;
pub(super) mod sides;

/// Takes one frame of a link (the accepting side): each family's
/// `take`, given the fields of its variant.
pub(super) fn take(link: &mut Taking, frame: Frame) -> std::io::Result<Flow> {
    match frame {
        Frame::Ping => hello::take_ping(link),
        Frame::Quit => hello::take_quit(link),
        Frame::Message(message) => message::take(link, message),
        Frame::Room(room) => room::take(link, room),
        Frame::Call(call) => call::take(link, call),
        Frame::People(search) => people::take(link, search),
        Frame::Profile(profile) => profile::take(link, profile),
        Frame::Presence(presence) => presence::take(link, presence),
        Frame::File(file) => file::take(link, file),
        Frame::Receipt(receipt) => receipt::take(link, receipt),
        Frame::GroupCall(group) => group_call::take(link, group),
    }
}

/// The sending side of a told frame: its family's.
impl Told {
    /// Says it on the link, and its answer to whoever waits (the sending
    /// side of its family); `Err` if the link broke or the peer said what
    /// no answer says: the link ends.
    pub fn say(self, d: &mut Dialing) -> Result<(), Why> {
        match self.tell {
            Tell::Call(frame, answer) => call::say(d, frame, answer),
            Tell::People(frame, listing) => people::say(d, frame, listing),
            Tell::Profile(frame) => profile::say(d, frame),
            Tell::GroupCall(frame, answer) => group_call::say(d, frame, answer),
        }
    }
}
