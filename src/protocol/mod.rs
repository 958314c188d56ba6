//! The wire protocol, version 1 (`docs/PROTOCOL.md`): pure data, no sockets.
//!
//! Three layers, kept apart so each can be read and tested alone:
//!
//! - [`framing`]: bytes ⇄ lines. A frame is one UTF-8 line ending in `\n`,
//!   at most [`MAX_FRAME`] bytes. This is the only part that touches a reader.
//! - [`escape`], [`names`]: the vocabulary — escaped message text, user
//!   names, room names, message ids.
//! - [`request`], [`reply`], [`event`], [`lines`]: the grammar. Each type
//!   has a `parse` and a `Display`, and `parse(format(x)) == x` (checked by
//!   property tests): requests, replies, the payloads and listing lines of
//!   replies, and the events pushed on the receive port. No other module
//!   writes or splits a frame.
//! - [`peer`]: the grammar of a direct connection between two clients
//!   (§8), which the server never sees.
//! - [`refusal`]: the `KO`s many requests share ("no user named …", "you
//!   are not in #…"), as `Ko` constructors, so each is worded once.

pub mod account;
pub mod action;
pub mod call;
pub mod codes;
pub mod erase;
pub mod escape;
pub mod event;
pub mod fates;
pub mod files;
pub mod framing;
pub mod group_call;
pub mod info;
pub mod lines;
pub mod link;
pub mod mentions;
pub mod moderation;
pub mod names;
pub mod page;
pub mod peer;
pub mod prefs;
pub mod profile;
pub mod refusal;
pub mod relayed;
pub mod reply;
pub mod request;
pub mod room_info;
pub mod unread;

pub use escape::Text;
pub use event::{Bye, Event, EventRef, EventReply};
pub use framing::{FrameError, FrameReader};
pub use info::InfoLine;
pub use lines::{
    Accepted, ChatLine, DeviceLine, HistoryLine, HistoryLineRef, MemberLine, MsgState, PeerIntro, Presence,
    RoomLine, SeenLine,
};
pub use moderation::{Change, ModAction, RoomMode};
pub use names::{Chat, DEFAULT_DEVICE, DeviceName, MessageId, UserName};
pub use peer::{PeerFrame, PeerMsg};
pub use prefs::{Level, PrefLine};
pub use reply::{Code, Ko, Reply};
pub use request::{Request, Scope};
pub use room_info::{Role, RoomInfoLine};

/// The default send port (requests) and receive port (pushed events) of
/// a server, and so of every client command and the bench (§1). Defined
/// once here: clap's defaults and `client::ClientOptions::new` use these.
pub const DEFAULT_SEND_PORT: u16 = 6666;
pub const DEFAULT_RECV_PORT: u16 = 9999;

/// Which of a server's two ports: the send port (requests and their
/// replies) or the receive port (events pushed by the server, `ACK` and
/// `PONG` from the client). The number is an index, for what a client
/// keeps per port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Port {
    Send = 0,
    Receive = 1,
}

impl Port {
    /// The port's word in the server's logs and thread names.
    pub fn label(self) -> &'static str {
        match self {
            Port::Send => "send",
            Port::Receive => "receive",
        }
    }
}

/// The short name of transcripts (`send > USERS` of `--trace`, a chaos
/// run's journal): part of the frames' transcript, which stays as on the
/// wire.
impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Port::Send => "send",
            Port::Receive => "recv",
        })
    }
}

/// Seconds a connection may go without completing a frame before the
/// server closes it (`wachat serve --timeout`), and that clients wait for
/// a reply (their `--timeout`): the same on both sides (§7).
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Default size limit of one frame, `\n` included: the longest text
/// (4096 bytes) fully escaped (8192) plus its header, with room to spare.
pub const MAX_FRAME: usize = 16384;

/// Size limit of a message text, in bytes after unescaping.
pub const MAX_TEXT: usize = 4096;

/// Most messages one `HISTORY` returns (protocol 1.1): a larger `<limit>`
/// is served as this one.
pub const MAX_HISTORY: usize = 1000;

/// Most bytes of lines one `HISTORY` returns (protocol 1.1): the newest
/// messages that fit (1,000 lines of 1 KiB, or 128 of the longest).
pub const MAX_HISTORY_BYTES: usize = 1 << 20;

/// Most devices one user may have online at once, by default
/// (`wachat serve --max-devices`, protocol 1.2).
pub const DEFAULT_MAX_DEVICES: usize = 5;

/// Length of a link code (`LINK`, protocol 1.2): 10 characters of a
/// 32-letter alphabet, 50 bits, single use, valid [`LINK_CODE_SECS`].
pub const LINK_CODE_LEN: usize = 10;

/// How long a link code is valid, in seconds (5 minutes).
pub const LINK_CODE_SECS: u64 = 300;

/// How long the replay of a device login waits for `VERSION:1.2`, in ms.
pub const DEVICE_VERSION_WAIT_MS: u64 = 500;

/// Most lines of a `USERS`, `ROOMS` or `CHATS` reply (protocol 1.1): the
/// first ones, in the listing's order.
pub const MAX_LISTING: usize = 10_000;

/// At most `max` characters of `s`, for error messages that quote input.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Splits a frame into exactly `n` fields at `:`; the last field takes the
/// rest of the line, colons included (passwords, message text).
/// Returns `None` when the frame has fewer than `n` fields (`n` ≥ 1).
///
/// Each `:` is found by memchr: a `MSG`'s four fields cost 370
/// instructions so, 733 with `str::splitn`'s searcher and `collect`
/// (docs/BENCHMARKS.md).
pub fn split_fields(line: &str, n: usize) -> Option<Vec<&str>> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line;
    while fields.len() + 1 < n {
        let colon = memchr::memchr(b':', rest.as_bytes())?;
        fields.push(&rest[..colon]);
        rest = &rest[colon + 1..];
    }
    fields.push(rest);
    Some(fields)
}
