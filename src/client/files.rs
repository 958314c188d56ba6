//! 1.2: photos and files in chats, on the client's side (docs/PROTOCOL.md
//! §21): sending a file (`UPLOAD`, its `PART`s pipelined a few at a time,
//! `FILE`), saving one (`FETCH` until `OK:`), and which message carries
//! which file, noted in the device's folder as the `FILE` events come
//! (`files.csv`), so that `/save N` finds it; a message seen only in
//! `HISTORY` is asked about (`FILEOF`, 1.2) and noted the same way. A file is read and written a
//! part at a time: never whole in memory.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Client, Message};
use crate::error::{Error, Result};
use crate::protocol::files::{self, FileEvent, FileInfo, PART_BYTES};
use crate::protocol::{Accepted, Chat, Code, Reply, Request, Text};

/// Parts sent before their replies are read: 64 (768,000 bytes), as
/// many as the sender thread pipelines at once (`sender::BATCH`), and
/// less than a cluster node commits in one transaction
/// (`cluster::parts::BATCH_BYTES`, 1 MiB). A node answers a part once
/// its commit is done (on two disks), so each window ends waiting for a
/// commit: with 8 parts (96 KB) an upload through a node waited for one
/// commit per 96 KB; with 64 it went 18.1 MB/s against 9.9 (medians,
/// docs/BENCHMARKS.md, "A window of 64 parts"). It is also what a
/// client holds of the file at once (and ~1 MB of base64 on its way);
/// one server, which appends each part as it comes, goes as fast with
/// either. web/files.js sends the same number (a test below holds the
/// two together).
pub const WINDOW: usize = super::sender::BATCH;

/// What the local note of files is called in a device's folder.
const NOTES: &str = "files.csv";

/// Sends requests pipelined and returns their replies in order.
pub type Requester<'a> = dyn FnMut(Vec<Request>) -> Result<Vec<Reply>> + 'a;

fn refused(what: &str, ko: crate::protocol::Ko) -> Error {
    Error::Refused { request: what.to_string(), ko }
}

fn unexpected(what: &str, reply: &Reply) -> Error {
    Error::Protocol(format!("{what}: unexpected reply {:?}", reply.to_string().trim_end()))
}

/// The name a file is sent under: its own, checked as the server does.
pub fn file_name(path: &Path) -> Result<String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    files::check_file_name(name).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Ok(name.to_string())
}

/// Uploads the file at `path`: its file id and size once the server has
/// every byte, checked and synced.
pub fn upload(requests: &mut Requester<'_>, path: &Path) -> Result<(String, u64)> {
    let name = file_name(path)?;
    let io = |e: std::io::Error| Error::Usage(format!("{}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(io)?.len();
    let sha256 = crate::store::files::sha256_of(path).map_err(io)?;
    let what = format!("UPLOAD {name}");
    let reply = requests(vec![Request::Upload { name, size, sha256 }])?.pop();
    let id = match reply {
        Some(Reply::OkWith(id)) if files::check_file_id(&id).is_ok() => id,
        Some(Reply::Ko(ko)) => return Err(refused(&what, ko)),
        other => return Err(unexpected(&what, &other.unwrap_or(Reply::Ok))),
    };
    let mut file = File::open(path).map_err(io)?;
    let mut sent = 0u64;
    while sent < size {
        let mut batch = Vec::with_capacity(WINDOW);
        let mut offset = sent;
        while batch.len() < WINDOW && offset < size {
            let mut data = vec![0; PART_BYTES.min((size - offset) as usize)];
            file.read_exact(&mut data).map_err(io)?;
            batch.push(Request::Part { file: id.clone(), offset, data: data.clone() });
            offset += data.len() as u64;
        }
        let mut received = sent;
        for reply in requests(batch)? {
            match reply {
                Reply::OkWith(n) => received = n.parse().map_err(|_| unexpected(&what, &Reply::OkWith(n)))?,
                // Too fast for --rate: wait, then go on from what arrived
                // (a part sent again is harmless).
                Reply::Ko(ko) if ko.code == Code::RateLimited => {
                    std::thread::sleep(Duration::from_millis(200));
                    break;
                }
                Reply::Ko(ko) => return Err(refused(&what, ko)),
                other => return Err(unexpected(&what, &other)),
            }
        }
        if received != offset {
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(received)).map_err(io)?;
        }
        sent = received;
    }
    Ok((id, size))
}

/// Fetches the file (or thumbnail, `<id>-t`) `what` into `dest`, a part
/// at a time, into `<dest>.part` renamed once whole; the bytes written. A
/// file already at `dest` is never overwritten.
pub fn download(requests: &mut Requester<'_>, what: &str, dest: &Path) -> Result<u64> {
    let io = |e: std::io::Error| Error::Usage(format!("{}: {e}", dest.display()));
    if dest.exists() {
        // Said in words, not as the raw "entity already exists".
        let path = dest.display();
        return Err(Error::Usage(crate::i18n::tr!(crate::i18n::files::Msg::SaveExists, path = path)));
    }
    let part = PathBuf::from(format!("{}.part", dest.display()));
    let mut out = File::create(&part).map_err(io)?;
    let mut offset = 0u64;
    loop {
        let request = Request::Fetch { file: what.to_string(), offset };
        let bytes = match requests(vec![request])?.pop() {
            Some(Reply::OkWith(b64)) => files::decode(&b64).map_err(Error::Protocol)?,
            Some(Reply::Ok) => Vec::new(),
            Some(Reply::Ko(ko)) => return Err(refused(&format!("FETCH {what}"), ko)),
            other => return Err(unexpected("FETCH", &other.unwrap_or(Reply::Ok))),
        };
        if bytes.is_empty() {
            out.sync_all().map_err(io)?;
            std::fs::rename(&part, dest).map_err(io)?;
            return Ok(offset);
        }
        out.write_all(&bytes).map_err(io)?;
        offset += bytes.len() as u64;
    }
}

/// Notes in `dir` that the message of `event` carries its file.
pub fn note(dir: &Path, from: &str, id: &str, file: &FileInfo) -> std::io::Result<()> {
    let mut notes = OpenOptions::new().create(true).append(true).open(dir.join(NOTES))?;
    writeln!(notes, "{}\t{}\t{}\t{}\t{}\t{}", from, id, file.id, file.size, file.kind, file.name)?;
    notes.sync_data()
}

/// The file the message `from`/`id` carries, as noted in `dir`.
pub fn noted(dir: &Path, from: &str, id: &str) -> Option<FileInfo> {
    let notes = File::open(dir.join(NOTES)).ok()?;
    let mut found = None;
    for line in BufReader::new(notes).lines().map_while(std::result::Result::ok) {
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        if let [who, msg, file, size, kind, name] = f[..]
            && who.eq_ignore_ascii_case(from)
            && msg == id
        {
            let size = size.parse().ok()?;
            found = Some(FileInfo { id: file.into(), size, kind: kind.into(), name: name.into() });
        }
    }
    found
}

impl Client {
    /// Sends the file at `path` to `to` (a user or `#room`) with an
    /// optional caption: uploads it, then sends the message that carries
    /// it. Returns the message as stored here.
    pub fn send_file(&self, to: &Chat, path: &Path, caption: Option<&str>) -> Result<Message> {
        let caption = caption.filter(|c| !c.trim().is_empty()).map(Text::from_plain).transpose();
        let caption = caption.map_err(Error::Usage)?;
        let mut requests = |batch: Vec<Request>| self.requests(batch);
        let (file, size) = upload(&mut requests, path)?;
        let id = format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed));
        let request =
            Request::File { to: to.clone(), id: id.clone(), file: file.clone(), caption: caption.clone() };
        let ts = match self.request(request)? {
            Reply::OkWith(fields) => Accepted::parse(&fields).map_err(Error::Protocol)?.ts,
            Reply::Ko(ko) => return Err(refused(&format!("FILE to {to}"), ko)),
            other => return Err(unexpected("FILE", &other)),
        };
        let name = file_name(path)?;
        let text = files::readable_text(&name, size, caption.as_ref()).map_err(Error::Usage)?;
        let me = self.me().to_string();
        let info = FileInfo { id: file, size, kind: files::OTHER_TYPE.into(), name };
        let dir = self.shared.folder.lock().dir.clone();
        note(&dir, &me, &id, &info).map_err(|e| Error::Usage(e.to_string()))?;
        let message = Message::accepted(me, to.clone(), id, ts, text);
        let mut log = self.shared.log.lock();
        log.add(message.clone())?;
        log.sync()?;
        Ok(message)
    }

    /// The file `message` carries, if this device was told (`FILE` event).
    pub fn file_of(&self, message: &Message) -> Option<FileInfo> {
        let dir = self.shared.folder.lock().dir.clone();
        noted(&dir, &message.from, &message.id)
    }

    /// `FILEOF` (1.2): the file `from`'s message `id` in `chat` carries
    /// (`chat`: the room, or the other user); `None` if it carries none or
    /// this user may not read it. Noted here, as a `FILE` event would be.
    pub fn file_of_message(&self, chat: &Chat, from: &str, id: &str) -> Result<Option<FileInfo>> {
        let request = Request::FileOf { chat: chat.clone(), from: from.into(), id: id.into() };
        let info = match self.request(request)? {
            Reply::OkWith(fields) => FileInfo::parse(&fields).map_err(Error::Protocol)?,
            Reply::Ko(ko) if ko.code == Code::UnknownFile => return Ok(None),
            Reply::Ko(ko) => return Err(refused(&format!("FILEOF {chat}"), ko)),
            other => return Err(unexpected("FILEOF", &other)),
        };
        let dir = self.shared.folder.lock().dir.clone();
        note(&dir, from, id, &info).map_err(|e| Error::Usage(e.to_string()))?;
        Ok(Some(info))
    }

    /// The file `message` carries: as noted from its `FILE` event, else
    /// (a message with a file's text, known from `HISTORY`; in a room of
    /// another server, a relayed post's text after its marker) asked of
    /// the server.
    pub fn file_for(&self, message: &Message) -> Result<Option<FileInfo>> {
        if let Some(info) = self.file_of(message) {
            return Ok(Some(info));
        }
        let text = message.text.unescaped();
        let to = message.to.to_string();
        let words =
            crate::protocol::relayed::relayed_by(&message.from, &to, &text).map_or(&*text, |(_, w)| w);
        if !words.starts_with(files::CLIP) {
            return Ok(None);
        }
        self.file_of_message(&message.chat(self.me()), &message.from, &message.id)
    }

    /// Saves the file `message` carries into `dest` (a folder: under the
    /// file's own name; `None`: the current folder); the path written.
    pub fn save_file(&self, message: &Message, dest: Option<&Path>) -> Result<PathBuf> {
        let file =
            self.file_for(message)?.ok_or_else(|| Error::Usage("that message carries no file".into()))?;
        let dest = match dest {
            Some(path) if !path.is_dir() => path.to_path_buf(),
            Some(dir) => dir.join(&file.name),
            None => PathBuf::from(&file.name),
        };
        let mut requests = |batch: Vec<Request>| self.requests(batch);
        download(&mut requests, &file.id, &dest)?;
        Ok(dest)
    }
}

/// Notes the file of a `FILE` event in `dir`: the receiver's part.
pub fn note_event(dir: &Path, event: &FileEvent) -> std::io::Result<()> {
    note(dir, &event.from, &event.id, &event.file)
}

#[cfg(test)]
mod tests {
    use super::{PART_BYTES, WINDOW};

    /// The browser sends the same window as the console (web/files.js).
    #[test]
    fn the_browser_sends_the_same_window() {
        let js = include_str!("../../web/files.js");
        assert!(js.contains(&format!("const WINDOW = {WINDOW};")), "web/files.js's WINDOW is not {WINDOW}");
        assert_eq!(WINDOW * PART_BYTES, 768_000, "bytes of a window of whole parts");
    }
}
