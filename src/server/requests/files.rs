//! `UPLOAD`, `PART`, `FILE`, `FETCH`, `FILEOF` and `FILES` (protocol 1.2,
//! §21): photos and files in chats. One family: an upload's parts, the
//! message that carries the file, its fetch, the file of a message seen
//! in `HISTORY`, and the list of yours. Who may do what is
//! `server::files`'s; the bytes are `store::files`'.

use crate::protocol::{Chat, Request, Text};
use crate::server::files;
use crate::server::session::{Flow, Session, Who};

use super::not_served::not_served;
use super::row::{Kind, Row, Version};

/// Each costs one token: a `PART` or a `FETCH` moves at most 12,000
/// bytes, so the default `--address-rate` (200/s) lets one address move
/// about 2.4 MB/s.
pub(super) const UPLOAD: Row = Row::new(&["UPLOAD"], Version::V1_2, Kind::Stored, serve);

pub(super) const PART: Row = Row::new(&["PART"], Version::V1_2, Kind::Stored, serve);

pub(super) const FILE: Row = Row::new(&["FILE"], Version::V1_2, Kind::Stored, serve);

pub(super) const FETCH: Row = Row::new(&["FETCH"], Version::V1_2, Kind::Ephemeral, serve);

/// `FILEOF`: the file a message carries, a lookup as cheap as a `FETCH`.
pub(super) const FILEOF: Row = Row::new(&["FILEOF"], Version::V1_2, Kind::Ephemeral, serve);

/// `FILES`: your files, for `wachat export`.
pub(super) const FILES: Row = Row::new(&["FILES"], Version::V1_2, Kind::Ephemeral, serve);

/// Serves one of the six: one handler for the family, whose arms share
/// the asker's triple.
fn serve(s: &mut Session, who: Who, request: Request) -> Flow {
    let ctx = s.ctx;
    match request {
        Request::Upload { name, size, sha256 } => {
            s.reply(files::upload(ctx, (who.id, who.name, s.peer.ip()), &name, size, &sha256))
        }
        // On a cluster the part's commit is shared (`cluster::parts`):
        // its reply keeps its place while the next parts are read.
        Request::Part { file, offset, data } if ctx.files.parts_later() => {
            let peer = s.peer.ip();
            s.reply_later(|then| {
                files::part_then(ctx, (who.id, who.name, peer), (&file, offset, &data), then)
            })
        }
        Request::Part { file, offset, data } => {
            s.reply(files::part(ctx, (who.id, who.name, s.peer.ip()), &file, offset, &data))
        }
        Request::File { to, id, file, caption } => send(s, who, &to, &id, &file, caption.as_ref()),
        Request::Fetch { file, offset } => s.reply(files::fetch(ctx, who.id, who.name, &file, offset)),
        Request::FileOf { chat, from, id } => {
            s.reply(files::file_of(ctx, who.id, who.name, &chat, &from, &id))
        }
        Request::Files => s.reply(files::list(ctx, who.name)),
        other => not_served(s, &other),
    }
}

/// `FILE`: a message as `MSG` is, once the `MSG`s before it are stored.
fn send(s: &mut Session, who: Who, to: &Chat, id: &str, file: &str, caption: Option<&Text>) -> Flow {
    s.send_msgs();
    s.reply_durable(files::send(s.ctx, (who.id, who.name), to, id, file, caption))
}
