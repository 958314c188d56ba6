//! 1.3 (§27, "Files across servers"): a message carrying a file crosses
//! a link with its bytes. The bytes travel before the message, on the
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

use crate::protocol::files::CLIP;
use crate::protocol::link::{Answer, Frame};
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::server::Ctx;
use crate::store::files::{Carrier, Meta, peer_file_id};
use crate::store::local::link::Membership;
use crate::store::state::remote::{address, peer_account};

/// Parts written before their answers are read.
const PARTS_AHEAD: usize = 8;

/// `name` as this server `me` writes it: `ana@lab1` on lab1 is `ana`,
/// `#lab@lab1` is `#lab`; any other address stays as it is.
fn here<'a>(name: &'a str, me: &str) -> &'a str {
    match address(name) {
        Some((local, server)) if fold(server) == fold(me) => local,
        _ => name,
    }
}

/// The acceptor: a peer's `UPLOAD` of its file, kept as an upload of the
/// peer's account. `OK:<bytes it has>`: an upload complete but for its
/// last part's completion (its thumbnail's turn, say) asks for that part
/// again.
pub(super) fn take_upload(ctx: &Ctx, server: &str, upload: &Frame) -> Answer {
    let Frame::Upload { file, size, sha256, name } = upload else { return bad_frame() };
    let owner = peer_account(server);
    let received = ctx.store.check_room().and_then(|()| {
        let (stored, quota) = ctx.store.peer_stored(server);
        let id = peer_file_id(server, file);
        let have = ctx.files.receive(&id, &owner, (name, *size, sha256), stored, quota)?;
        Ok(if ctx.files.complete_of(&id, &owner) { have } else { have.min(size - 1) })
    });
    answer(received.map_err(|ko| peer_words(ko, server)))
}

/// The acceptor: a `PART` of a file the peer announced.
pub(super) fn take_part(ctx: &Ctx, server: &str, part: &Frame) -> Answer {
    let Frame::Part { file, offset, data } = part else { return bad_frame() };
    let owner = peer_account(server);
    let received = ctx.store.check_room().and_then(|()| {
        let id = peer_file_id(server, file);
        ctx.files.part_from(None, &owner, &id, *offset, data).map(|(received, _)| received)
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

fn bad_frame() -> Answer {
    Answer::Ko(None, Code::Internal, "not a file's frame".into())
}

/// The acceptor: the numbered `FILE` frame, a message carrying the file
/// the peer sent whole before it. The message carries the file from
/// before it is taken (a crash between leaves a file held longer, never a
/// message without its file); a message refused for good carries it no
/// more. The home's copy of one of this server's own users' posts names
/// no bytes: they never left.
pub(super) fn take_file(ctx: &Ctx, server: &str, me: &str, frame: &Frame) -> Result<Option<Membership>, Ko> {
    let Frame::File { n, from, to, id, ts, file, text } = frame else {
        return Err(Ko::new(Code::Internal, "not a FILE frame"));
    };
    let msg =
        Frame::Msg { n: *n, from: from.clone(), to: to.clone(), id: id.clone(), ts: *ts, text: text.clone() };
    let ours = address(from).is_some_and(|(_, origin)| fold(origin) == fold(me));
    if ours {
        return ctx.store.take_frame(server, me, &msg);
    }
    let local = peer_file_id(server, file);
    if !ctx.files.complete_of(&local, &peer_account(server)) {
        let why = format!("{server} sent no file {file} whole on a link before this message");
        return Err(Ko::new(Code::UnknownFile, why));
    }
    let to_here = here(to, me);
    let added = ctx.files.carry(&local, Carrier::new(from, to_here, id))?;
    let taken = ctx.store.take_frame(server, me, &msg);
    if let Err(ko) = &taken
        && added
        && !Answer::for_now(ko.code)
    {
        ctx.files.forget(from, to_here, id);
    }
    taken
}

/// The dialer: the file `frame` (a message of the queue, as the link
/// sends it) carries, as this server `me` keeps it: its id here and its
/// description; `None` for a message that carries none.
pub(super) fn carried(ctx: &Ctx, me: &str, frame: &Frame) -> Option<(String, Meta)> {
    let Frame::Msg { from, to, id, text, .. } = frame else { return None };
    if !text.as_escaped().starts_with(CLIP) {
        return None;
    }
    let found = ctx.files.carried_meta(here(from, me), here(to, me), id);
    found.filter(|(_, meta)| meta.complete)
}

/// The dialer's `FILE` frame for the message `frame`, which carries the
/// file `file` (its id here).
pub(super) fn file_frame(frame: &Frame, file: &str) -> Option<Frame> {
    let Frame::Msg { n, from, to, id, ts, text } = frame else { return None };
    let (n, ts, file) = (*n, *ts, file.to_string());
    Some(Frame::File { n, from: from.clone(), to: to.clone(), id: id.clone(), ts, file, text: text.clone() })
}

/// Whether the peer `peer` needs the bytes of a file `frame` carries:
/// not when the message is its own user's (a home's copy of a post
/// coming back to the author's server, which has them).
pub(super) fn needs_bytes(frame: &Frame, peer: &str) -> bool {
    !matches!(frame, Frame::Msg { from, .. }
        if address(from).is_some_and(|(_, origin)| fold(origin) == fold(peer)))
}

/// What became of a file's bytes on a link.
pub(super) enum Sent {
    /// The peer has them all, checked.
    Whole,
    /// The peer refused them for good: the message bounces with these
    /// words (the peer's own: a file over its size, a server that does
    /// not carry files).
    Refused(String),
}

/// How the dialer writes a line on its link.
pub(super) type WriteLine<'a> = &'a mut dyn FnMut(&str) -> Result<(), String>;
/// How the dialer reads the peer's next answer on its link.
pub(super) type ReadAnswer<'a> = &'a mut dyn FnMut() -> Result<Answer, String>;

/// The dialer: sends the bytes of file `file` (this server's id) to the
/// peer, writing on its link with `write_line` and reading each answer
/// with `read_answer`, from where the peer says it has them: `UPLOAD`, then
/// [`PARTS_AHEAD`] parts at a time, each answered. A refusal for now (a
/// full disk, a quota, a thumbnail's turn) or a broken link is an `Err`:
/// the link ends, and the next one resumes where the peer's bytes end.
pub(super) fn send_bytes(
    ctx: &Ctx,
    (write_line, read_answer): (WriteLine, ReadAnswer),
    (file, meta): (&str, &Meta),
) -> Result<Sent, String> {
    let upload = Frame::Upload {
        file: file.into(),
        size: meta.size,
        sha256: meta.sha256.clone(),
        name: meta.name.clone(),
    };
    write_line(&upload.to_string())?;
    let mut offset = match read_answer()? {
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
            out.push_str(&Frame::Part { file: file.into(), offset: at, data }.to_string());
            out.push('\n');
            (at, sent) = (at + len, sent + 1);
        }
        write_line(out.trim_end_matches('\n'))?;
        let mut refused = None;
        for _ in 0..sent {
            match read_answer()? {
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
