//! `UPLOAD`, `PART`, `FILE`, `FETCH`, `FILEOF` and `FILES` (protocol 1.2,
//! §21): photos and files in chats. One family: an upload's parts, the
//! message that carries the file, its fetch, the file of a message seen
//! in `HISTORY`, and the list of yours. Who may do what is
//! `server::files`'s; the bytes are `store::files`'.

use crate::protocol::{Chat, Request, Text};
use crate::server::files;
use crate::server::session::Flow;

use super::asking::Asking;
use super::row::{Kind, Row, Version};

/// Each costs one token: a `PART` or a `FETCH` moves at most 12,000
/// bytes, so the default `--address-rate` (200/s) lets one address move
/// about 2.4 MB/s.
pub(super) const UPLOAD: Row = Row::asking(&["UPLOAD"], Version::V1_2, Kind::Stored, serve);

pub(super) const PART: Row = Row::asking(&["PART"], Version::V1_2, Kind::Stored, serve);

pub(super) const FILE: Row = Row::asking(&["FILE"], Version::V1_2, Kind::Stored, serve);

pub(super) const FETCH: Row = Row::asking(&["FETCH"], Version::V1_2, Kind::Read, serve);

/// `FILEOF`: the file a message carries, a lookup as cheap as a `FETCH`.
pub(super) const FILEOF: Row = Row::asking(&["FILEOF"], Version::V1_2, Kind::Read, serve);

/// `FILES`: your files, for `wachat export`.
pub(super) const FILES: Row = Row::asking(&["FILES"], Version::V1_2, Kind::Read, serve);

/// Serves one of the six: one handler for the family.
fn serve(a: Asking, request: Request) -> Flow {
    let (base, who) = (a.base, a.who);
    match request {
        Request::Upload { name, size, sha256 } => {
            let uploaded = files::upload(base, (who.id, who.name, a.address()), &name, size, &sha256);
            a.reply(uploaded)
        }
        // On a cluster the part's commit is shared (`cluster::parts`):
        // its reply keeps its place while the next parts are read.
        Request::Part { file, offset, data } if base.files.parts_later() => {
            let (asker, charge) = ((who.name, a.address()), a.charger());
            a.reply_later(|then| files::part_then(base, asker, (&file, offset, data), charge, then))
        }
        Request::Part { file, offset, data } => {
            let parted = files::part(base, (who.name, a.address()), (&file, offset, &data), a.charger());
            a.reply(parted)
        }
        Request::File { to, id, file, caption } => send(a, &to, &id, &file, caption.as_ref()),
        Request::Fetch { file, offset } => a.reply(files::fetch(base, who.id, who.name, &file, offset)),
        Request::FileOf { chat, from, id } => {
            a.reply(files::file_of(base, who.id, who.name, &chat, &from, &id))
        }
        Request::Files => a.reply(files::list(base, who.name)),
        other => a.not_served(&other),
    }
}

/// `FILE`: a message as `MSG` is. The `MSG`s gathered before it are
/// already stored (`Session::handle` sends them before any other request).
fn send(a: Asking, to: &Chat, id: &str, file: &str, caption: Option<&Text>) -> Flow {
    let sent = files::send(a.base, (a.who.id, a.who.name), to, id, file, caption);
    a.reply_durable(sent)
}
