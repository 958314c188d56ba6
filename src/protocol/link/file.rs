//! The file family (§27, "Files across servers"): a message carrying a
//! file (`FILE`, numbered, as a `MSG` is), after its bytes, sent whole on
//! a link before it (`UPLOAD`, then `PART`s, told and answered at once
//! with how many bytes the acceptor has).

use std::fmt;

use super::super::files;
use super::fields::{Refused, first_number, number, unknown};
use super::message::{MessageFrame, msg};
use crate::protocol::escape::Text;

/// A frame of the file family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileFrame {
    /// `FILE:<n>:<from>@<origin>:<to>:<id>:<ts>:<file id>:<text>`: a
    /// message carrying the dialer's file `<file id>`, whose bytes it sent
    /// whole on a link before ([`FileFrame::Upload`], [`FileFrame::Part`]);
    /// `<to>` and `<text>` as a `MSG`'s (the text is the readable
    /// `📎 <name> (<size>) <caption>`).
    File { n: u64, from: String, to: String, id: String, ts: u64, file: String, text: Text },
    /// `UPLOAD:<file id>:<size>:<sha256>:<name>`, unnumbered: the dialer
    /// is about to send its file `<file id>`; answered `OK:<bytes the
    /// acceptor has of it>`, where the parts resume.
    Upload { file: String, size: u64, sha256: String, name: String },
    /// `PART:<file id>:<offset>:<base64>`, unnumbered: bytes of it, at
    /// most `files::PART_BYTES`; answered `OK:<bytes received so far>`.
    Part { file: String, offset: u64, data: Vec<u8> },
}

/// Reads a `FILE`, an `UPLOAD` or a `PART`; its row of [`FAMILIES`](super::FAMILIES) makes it a
/// [`Frame`](super::Frame).
pub(super) fn parse(word: &str, rest: Option<&str>) -> Result<FileFrame, Refused> {
    let Some(rest) = rest else { return Err(unknown(word, rest)) };
    match word {
        "FILE" => file(rest),
        "UPLOAD" => upload(rest).map_err(|e| (None, e)),
        _ => part(rest).map_err(|e| (None, e)),
    }
}

/// A `FILE`: a `MSG` with the file id between its time and its text.
fn file(rest: &str) -> Result<FileFrame, Refused> {
    let bad = |e: String| (first_number(rest), e);
    let f: Vec<&str> = rest.splitn(7, ':').collect();
    if f.len() != 7 {
        return Err(bad("FILE:<n>:<from>@<origin>:<to>:<id>:<ts>:<file id>:<text>".into()));
    }
    files::check_file_id(f[5]).map_err(bad)?;
    let MessageFrame::Msg { n, from, to, id, ts, text } = msg(&format!("{}:{}", f[..5].join(":"), f[6]))?
    else {
        return Err(bad("a FILE is a MSG with a file id".into()));
    };
    if !text.as_escaped().starts_with(files::CLIP) {
        return Err(bad(format!("a FILE's text begins {:?}", files::CLIP)));
    }
    Ok(FileFrame::File { n, from, to, id, ts, file: f[5].into(), text })
}

fn upload(rest: &str) -> Result<FileFrame, String> {
    let f: Vec<&str> = rest.splitn(4, ':').collect();
    if f.len() != 4 {
        return Err("UPLOAD:<file id>:<size>:<sha256>:<name>".into());
    }
    files::check_file_id(f[0])?;
    let size = number(f[1])?;
    let sha256 = files::check_sha256(f[2])?;
    files::check_file_name(f[3])?;
    Ok(FileFrame::Upload { file: f[0].into(), size, sha256, name: f[3].into() })
}

fn part(rest: &str) -> Result<FileFrame, String> {
    let f: Vec<&str> = rest.splitn(3, ':').collect();
    if f.len() != 3 {
        return Err("PART:<file id>:<offset>:<base64>".into());
    }
    files::check_file_id(f[0])?;
    let offset = number(f[1])?;
    let data = files::decode(f[2])?;
    Ok(FileFrame::Part { file: f[0].into(), offset, data })
}

impl fmt::Display for FileFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileFrame::File { n, from, to, id, ts, file, text } => {
                write!(f, "FILE:{n}:{from}:{to}:{id}:{ts}:{file}:{}", text.as_escaped())
            }
            FileFrame::Upload { file, size, sha256, name } => {
                write!(f, "UPLOAD:{file}:{size}:{sha256}:{name}")
            }
            FileFrame::Part { file, offset, data } => {
                write!(f, "PART:{file}:{offset}:{}", files::encode(data))
            }
        }
    }
}
