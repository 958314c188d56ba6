//! The names and sums of files: a new file id, the sha256 of bytes read
//! back, and the safe name of a file's copy in an export. Small and
//! separate so that the rules in `mod.rs` read without them.

use std::io::{self, Read};
use std::path::Path;

/// A new file id: 128 bits from the operating system's generator, in hex.
pub(super) fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(hex(&bytes))
}

/// 1.3 (§27): the id here of the file `id` that the peer `server` sends
/// over a link: the first 128 bits of a SHA-256 of the two, so the same
/// file sent again (after a broken link, or to a second user) finds its
/// upload, and no peer's id can name another peer's file or a local one.
pub fn peer_file_id(server: &str, id: &str) -> String {
    let folded = crate::protocol::names::fold(server);
    let sum = ring::digest::digest(&ring::digest::SHA256, format!("link-file:{folded}:{id}").as_bytes());
    hex(&sum.as_ref()[..16])
}

/// `bytes` in lowercase hex: a file id, a sha256.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of what `reader` reads, in hex, 64 KiB at a time.
pub fn sha256_of_reader(reader: &mut dyn Read) -> io::Result<String> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    Ok(hex(context.finish().as_ref()))
}

/// The sha256 of a file in hex (the client's `UPLOAD` says it).
pub fn sha256_of(path: &Path) -> io::Result<String> {
    sha256_of_reader(&mut std::fs::File::open(path)?)
}

/// A safe name for file `id`'s bytes in an export: the id, and the
/// extension of the sender's name if it is a short run of letters and
/// digits (`3f…a1.pdf`); never the sender's name itself.
pub fn export_name(id: &str, name: &str) -> String {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let safe = !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric());
    if safe { format!("{id}.{}", ext.to_ascii_lowercase()) } else { id.to_string() }
}
