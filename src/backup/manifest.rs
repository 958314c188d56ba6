//! A backup's manifest, `MANIFEST.csv`: what the backup holds and the
//! checksum of every file, so that `wachat restore` copies nothing it
//! has not checked first.
//!
//! ```text
//! kind,a,b,c
//! BACKUP,1,<taken, Unix ms>,<the server's id>
//! LOG,<segments>,<end position>
//! FILE,<bytes>,<BLAKE2b-512, hex>,<path in the data directory, / between folders>
//! …
//! END,<lines above>,<BLAKE2b-512 of the lines above, hex>
//! ```
//!
//! The path is the last field so that it may hold any character but a
//! newline. The `END` line is written last: a manifest without it (a
//! backup cut short) does not verify.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use blake2::{Blake2b512, Digest};

use crate::error::{Error, Result};

/// The manifest's file name, beside the `data/` folder of the backup.
pub const MANIFEST: &str = "MANIFEST.csv";
/// The folder of a backup that holds the data directory's files.
pub const DATA: &str = "data";
const HEADER: &str = "kind,a,b,c";
/// The version of this layout of a backup.
const VERSION: u64 = 1;

/// One file of the backup.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Relative to the data directory, `/` between folders.
    pub path: String,
    pub bytes: u64,
    /// BLAKE2b-512 of its bytes, in hex.
    pub hash: String,
}

/// What a backup holds.
#[derive(Debug, Default, PartialEq)]
pub struct Manifest {
    pub taken_ms: u64,
    /// `server.csv`'s id (empty: the directory had none yet).
    pub server_id: String,
    pub segments: u64,
    /// The log's position after its last record: where a restored server
    /// goes on writing.
    pub log_end: u64,
    pub files: Vec<Entry>,
}

/// The hex of a BLAKE2b-512 digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().fold(String::with_capacity(digest.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Manifest {
    /// The manifest's text, its `END` line included.
    pub fn encode(&self) -> String {
        let mut text = format!("{HEADER}\nBACKUP,{VERSION},{},{}\n", self.taken_ms, self.server_id);
        let _ = writeln!(text, "LOG,{},{}", self.segments, self.log_end);
        for file in &self.files {
            let _ = writeln!(text, "FILE,{},{},{}", file.bytes, file.hash, file.path);
        }
        let lines = text.lines().count();
        let sum = hex(&Blake2b512::digest(text.as_bytes()));
        let _ = writeln!(text, "END,{lines},{sum}");
        text
    }

    /// Reads and checks `path`'s manifest: its `END` line and checksum,
    /// its version, and that every path stays inside the data directory.
    pub fn decode(path: &Path, text: &str) -> Result<Manifest> {
        let bad = |line: usize, reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            line: line as u64,
            reason,
        };
        let Some(last) = text.strip_suffix('\n').and_then(|t| t.rfind('\n').map(|i| i + 1)) else {
            return Err(bad(1, "not a backup's manifest (no END line: the backup was cut short)".into()));
        };
        let (body, end) = text.split_at(last);
        let lines = body.lines().count();
        let expected = format!("END,{lines},{}\n", hex(&Blake2b512::digest(body.as_bytes())));
        if end != expected {
            return Err(bad(
                lines + 1,
                "the manifest's checksum does not match: it was changed or damaged".into(),
            ));
        }
        let mut manifest = Manifest::default();
        for (i, line) in body.lines().enumerate() {
            let n = i + 1;
            let fields: Vec<&str> = line.splitn(4, ',').collect();
            let number = |k: usize| fields.get(k).and_then(|f| f.parse::<u64>().ok());
            match fields[0] {
                "kind" if n == 1 && line == HEADER => {}
                "BACKUP" => match number(1) {
                    Some(VERSION) => {
                        manifest.taken_ms = number(2).ok_or_else(|| bad(n, "a bad time".into()))?;
                        manifest.server_id = fields.get(3).unwrap_or(&"").to_string();
                    }
                    Some(v) => {
                        return Err(bad(
                            n,
                            format!(
                                "a backup of layout {v}, which this wachat (layout {VERSION}) cannot read"
                            ),
                        ));
                    }
                    None => return Err(bad(n, "a bad version".into())),
                },
                "LOG" => {
                    manifest.segments = number(1).ok_or_else(|| bad(n, "a bad segment count".into()))?;
                    manifest.log_end = number(2).ok_or_else(|| bad(n, "a bad log position".into()))?;
                }
                "FILE" => {
                    let (Some(bytes), Some(hash), Some(path)) = (number(1), fields.get(2), fields.get(3))
                    else {
                        return Err(bad(n, "a FILE line needs bytes, checksum and path".into()));
                    };
                    inside(path)
                        .ok_or_else(|| bad(n, format!("{path:?} is not a path inside a data directory")))?;
                    manifest.files.push(Entry { path: path.to_string(), bytes, hash: hash.to_string() });
                }
                _ => return Err(bad(n, format!("unexpected line {line:?}"))),
            }
        }
        Ok(manifest)
    }
}

/// `path` (relative, `/` between folders) as a path under a directory,
/// if it names only folders and a file below it (no `..`, no root).
pub fn inside(path: &str) -> Option<PathBuf> {
    let relative = Path::new(path);
    let plain = !path.is_empty() && relative.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| relative.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let file = |path: &str| Entry { path: path.into(), bytes: 3, hash: hex(&Blake2b512::digest(b"abc")) };
        Manifest {
            taken_ms: 1_700_000_000_000,
            server_id: "0123456789abcdef0123456789abcdef".into(),
            segments: 1,
            log_end: 42,
            files: vec![file("users.csv"), file("log/00000000000000000000.csv"), file("files/a,b")],
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let manifest = sample();
        let text = manifest.encode();
        assert_eq!(Manifest::decode(Path::new("M"), &text).unwrap(), manifest);
    }

    #[test]
    fn a_changed_or_cut_manifest_does_not_verify() {
        let text = sample().encode();
        let changed = text.replace("FILE,3,", "FILE,4,");
        let err = Manifest::decode(Path::new("M"), &changed).unwrap_err().to_string();
        assert!(err.contains("checksum does not match"), "{err}");
        let cut = &text[..text.rfind("END").unwrap()];
        let err = Manifest::decode(Path::new("M"), cut).unwrap_err().to_string();
        assert!(err.contains("checksum does not match") || err.contains("END"), "{err}");
    }

    #[test]
    fn a_path_leaving_the_data_directory_is_refused() {
        let mut manifest = sample();
        manifest.files[0].path = "../etc/passwd".into();
        let err = Manifest::decode(Path::new("M"), &manifest.encode()).unwrap_err().to_string();
        assert!(err.contains("not a path inside"), "{err}");
        assert!(inside("/etc/passwd").is_none() && inside("").is_none() && inside("log/0.csv").is_some());
    }
}
