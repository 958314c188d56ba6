//! The file family (`protocol::link::file`, §27, "Files across
//! servers"): a message carrying a file crosses a link with its bytes. The bytes travel before the message, on the
//! same link, in unnumbered frames the acceptor answers at once:
//! `UPLOAD:<file id>:<size>:<sha256>:<name>` (answered `OK:<bytes it
//! has>`, where the parts resume after a broken link or a restart of
//! either side), then `PART:<file id>:<offset>:<base64>` (answered
//! `OK:<bytes received>`), the client's `UPLOAD` and `PART` of §21 with
//! the dialer's file id. Only once the acceptor has the whole file,
//! checked, does the numbered `FILE:<n>:…` frame go, and its `ACK` is the
//! custody of message and bytes together: the message is in the
//! recipient's inbox only with its file, so its `DELIVERED` (✓✓) never
//! comes before the bytes are there.
//!
//! The acceptor keeps the file as any upload (`store::files`), under an id
//! of its own ([`peer_file_id`]), owned by the peer's account (`@lab1`):
//! a peer's files and its messages together stay within `--peer-quota`,
//! at most [`PENDING_PER_USER`](crate::store::files::PENDING_PER_USER) of
//! them unfinished at once, each within `--max-file-mb`, an unfinished
//! one removed after `--upload-minutes`. The message carries it as a
//! local message carries its file, so `FILEOF`, `FETCH`, the `FILE`
//! event and thumbnails are the single server's.
//!
//! - **Accepting**: `UPLOAD` and `PART` answered at once ([`take`]); the
//!   numbered `FILE` taken as the message family's `MSG` is, carrying
//!   its file.
//! - **Sending**: a window of the queue stops before a message carrying
//!   a file; that message goes alone, once the peer has its bytes
//!   ([`carry`]).

use super::message::{first_words, stranger, told_back};
use super::sides::{Dialing, Flow, Taking, Why};
use crate::protocol::files::CLIP;
use crate::protocol::link::{Answer, FileFrame, Frame, MessageFrame};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::store::files::{Carrier, Meta, peer_file_id};
use crate::store::local::link::Unacked;
use crate::store::state::remote::{address, here, peer_account};

/// Parts written before their answers are read.
const PARTS_AHEAD: usize = 8;

/// The accepting side of a frame of the file family.
pub(super) fn take(link: &mut Taking, frame: FileFrame) -> std::io::Result<Flow> {
    match frame {
        FileFrame::Upload { file, size, sha256, name } => {
            let ctx = link.ctx()?;
            link.say(&take_upload(&ctx, link.from, (&file, size, &sha256, &name)))
        }
        FileFrame::Part { file, offset, data } => {
            let ctx = link.ctx()?;
            link.say(&take_part(&ctx, link.from, (&file, offset, &data)))
        }
        FileFrame::File { n, from, to, id, ts, file, text } => {
            let (f, server) = (link.f, link.from);
            let taken = link.numbered(n, |ctx| {
                if let Some(ko) = stranger(f, &from, &to) {
                    return Err(ko);
                }
                let first = first_words(ctx, &from, &to);
                let msg = MessageFrame::Msg { n, from: from.clone(), to: to.clone(), id, ts, text };
                take_file(ctx, (server, &f.me), msg, &file)?;
                Ok(first)
            })?;
            if let Some((ctx, first)) = taken {
                told_back(&ctx, server, &to, first);
            }
            Ok(Flow::More)
        }
    }
}

/// A peer's `UPLOAD` of its file, kept as an upload of the peer's
/// account. `OK:<bytes it has>`: an upload complete but for its last
/// part's completion (its thumbnail's turn, say) asks for that part
/// again.
fn take_upload(ctx: &Ctx, server: &str, (file, size, sha256, name): (&str, u64, &str, &str)) -> Answer {
    let owner = peer_account(server);
    let received = ctx.store.check_room().and_then(|()| {
        let (stored, quota) = ctx.store.peer_stored(server);
        let id = peer_file_id(server, file);
        let have = ctx.files.receive(&id, &owner, (name, size, sha256), stored, quota)?;
        Ok(if ctx.files.complete_of(&id, &owner) { have } else { have.min(size - 1) })
    });
    answer(received.map_err(|ko| peer_words(ko, server)))
}

/// A `PART` of a file the peer announced.
fn take_part(ctx: &Ctx, server: &str, (file, offset, data): (&str, u64, &[u8])) -> Answer {
    let owner = peer_account(server);
    let received = ctx.store.check_room().and_then(|()| {
        let id = peer_file_id(server, file);
        ctx.files.part_from(None, &owner, &id, offset, data).map(|(received, _)| received)
    });
    answer(received.map_err(|ko| match ko.code {
        Code::UnknownFile => Ko::new(Code::UnknownFile, format!("{server} announced no file {file}")),
        _ => ko,
    }))
}

/// A refusal's words, said to a peer: the client's "your quota" is the
/// peer's.
fn peer_words(ko: Ko, server: &str) -> Ko {
    match ko.code {
        Code::Full if ko.reason.contains("--user-quota") => {
            Ko::new(Code::Full, format!("{server}'s messages and files here reach its --peer-quota"))
        }
        Code::Full if ko.reason.contains("uploads not finished") => {
            Ko::new(Code::Full, ko.reason.replace("you have", &format!("{server} has")))
        }
        _ => ko,
    }
}

fn answer(received: Result<u64, Ko>) -> Answer {
    match received {
        Ok(n) => Answer::Hello(n),
        Err(ko) => Answer::Ko(None, ko.code, ko.reason),
    }
}

/// The numbered `FILE` frame from `server` (this server is `me`): `msg`,
/// a message carrying the file `file` the peer sent whole before it. The
/// message carries the file from before it is taken (a crash between
/// leaves a file held longer, never a message without its file); a
/// message refused for good carries it no more. The home's copy of one
/// of this server's own users' posts names no bytes: they never left.
fn take_file(ctx: &Ctx, (server, me): (&str, &str), msg: MessageFrame, file: &str) -> Result<(), Ko> {
    let MessageFrame::Msg { from, to, id, .. } = &msg else {
        return Err(Ko::new(Code::Internal, "a FILE is a MSG"));
    };
    let (from, to, id) = (from.clone(), to.clone(), id.clone());
    let msg = Frame::Message(msg);
    let ours = address(&from).is_some_and(|(_, origin)| fold(origin) == fold(me));
    if ours {
        return ctx.store.take_frame(server, me, &msg).map(drop);
    }
    let local = peer_file_id(server, file);
    if !ctx.files.complete_of(&local, &peer_account(server)) {
        let why = format!("{server} sent no file {file} whole on a link before this message");
        return Err(Ko::new(Code::UnknownFile, why));
    }
    let to_here = here(&to, me);
    let added = ctx.files.carry(&local, Carrier::new(&from, to_here, &id))?;
    let taken = ctx.store.take_frame(server, me, &msg);
    if let Err(ko) = &taken
        && added
        && !Answer::for_now(ko.code)
    {
        ctx.files.forget(&from, to_here, &id);
    }
    taken.map(drop)
}

/// The sending side: a window of the queue, `frames`, stops before the
/// first message carrying a file; if it is that message, it goes alone,
/// once the peer has the file's bytes (sent now), as a `FILE` frame.
/// The peer may refuse the bytes for good: then the message bounces
/// with its words.
pub fn carry(ctx: &Ctx, d: &mut Dialing, frames: &mut Vec<Unacked>) -> Result<Carried, Why> {
    let me = &d.f.me;
    let Some(at) = frames.iter().position(|o| carried(ctx, me, &o.frame).is_some()) else {
        return Ok(Carried::Ready);
    };
    if at > 0 {
        frames.truncate(at);
        return Ok(Carried::Ready);
    }
    frames.truncate(1);
    let o = &mut frames[0];
    let (file, meta) = carried(ctx, me, &o.frame).ok_or("a file went")?;
    if needs_bytes(&o.frame, d.peer)
        && let Sent::Refused(why) = send_bytes(ctx, d, (&file, &meta))?
    {
        // Never written: the peer has nothing of it.
        log::debug!("link to {}: the file of frame {} refused: {why}", d.peer, o.n);
        return Ok(Carried::Refused(o.n, format!("{} refused its file: {why}", d.peer)));
    }
    o.frame = file_frame(&o.frame, &file).ok_or("not a message")?;
    Ok(Carried::Ready)
}

/// What became of a window of the queue ([`carry`]).
pub enum Carried {
    /// It goes as it is now.
    Ready,
    /// The message `<n>`, alone in it, bounces with these words: the
    /// peer refused its file for good.
    Refused(u64, String),
}

/// The file `frame` (a message of the queue, as the link sends it)
/// carries, as this server `me` keeps it: its id here and its
/// description; `None` for a message that carries none.
fn carried(ctx: &Ctx, me: &str, frame: &Frame) -> Option<(String, Meta)> {
    let Frame::Message(MessageFrame::Msg { from, to, id, text, .. }) = frame else { return None };
    if !text.as_escaped().starts_with(CLIP) {
        return None;
    }
    let found = ctx.files.carried_meta(here(from, me), here(to, me), id);
    found.filter(|(_, meta)| meta.complete)
}

/// The `FILE` frame for the message `frame`, which carries the file
/// `file` (its id here).
fn file_frame(frame: &Frame, file: &str) -> Option<Frame> {
    let Frame::Message(MessageFrame::Msg { n, from, to, id, ts, text }) = frame else { return None };
    let (n, ts, file) = (*n, *ts, file.to_string());
    let (from, to, id, text) = (from.clone(), to.clone(), id.clone(), text.clone());
    Some(Frame::File(FileFrame::File { n, from, to, id, ts, file, text }))
}

/// Whether the peer `peer` needs the bytes of a file `frame` carries:
/// not when the message is its own user's (a home's copy of a post
/// coming back to the author's server, which has them).
fn needs_bytes(frame: &Frame, peer: &str) -> bool {
    !matches!(frame, Frame::Message(MessageFrame::Msg { from, .. })
        if address(from).is_some_and(|(_, origin)| fold(origin) == fold(peer)))
}

/// What became of a file's bytes on a link.
enum Sent {
    /// The peer has them all, checked.
    Whole,
    /// The peer refused them for good: the message bounces with these
    /// words (the peer's own: a file over its size, a server that does
    /// not carry files).
    Refused(String),
}

/// Sends the bytes of file `file` (this server's id) to the peer on the
/// link `d`, from where the peer says it has them: `UPLOAD`, then
/// [`PARTS_AHEAD`] parts at a time, each answered. A refusal for now (a
/// full disk, a quota, a thumbnail's turn) or a broken link is an `Err`:
/// the link ends, and the next one resumes where the peer's bytes end.
fn send_bytes(ctx: &Ctx, d: &mut Dialing, (file, meta): (&str, &Meta)) -> Result<Sent, Why> {
    let upload = FileFrame::Upload {
        file: file.into(),
        size: meta.size,
        sha256: meta.sha256.clone(),
        name: meta.name.clone(),
    };
    d.write(&upload.to_string())?;
    let mut offset = match d.answer()? {
        Answer::Hello(have) => have,
        Answer::Ko(None, code, why) if !Answer::for_now(code) => return Ok(Sent::Refused(why)),
        other => return Err(format!("UPLOAD of {file} answered {other}")),
    };
    while offset < meta.size {
        let mut out = String::new();
        let (mut at, mut sent) = (offset, 0);
        while sent < PARTS_AHEAD && at < meta.size {
            let data = ctx.files.read_part(file, at).map_err(|ko| ko.reason)?;
            if data.is_empty() {
                return Err(format!("file {file} ends at {at}, before its {} bytes", meta.size));
            }
            let len = data.len() as u64;
            out.push_str(&FileFrame::Part { file: file.into(), offset: at, data }.to_string());
            out.push('\n');
            (at, sent) = (at + len, sent + 1);
        }
        d.write(out.trim_end_matches('\n'))?;
        let mut refused = None;
        for _ in 0..sent {
            match d.answer()? {
                Answer::Hello(received) => offset = offset.max(received),
                Answer::Ko(None, code, why) if !Answer::for_now(code) => {
                    refused.get_or_insert(why);
                }
                other => return Err(format!("a PART of {file} answered {other}")),
            }
        }
        if let Some(why) = refused {
            return Ok(Sent::Refused(why));
        }
    }
    Ok(Sent::Whole)
}
