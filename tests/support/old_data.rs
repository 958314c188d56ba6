//! Old data: a text that protocol 1.2 refuses on `MSG` (a control character,
//! docs/PROTOCOL.md §1 "Text") but that a server before 1.2 accepted and
//! stored. Such a record must still load, and every client must still show
//! its text escaped, never obeyed: tests plant one in the log here.

use std::path::Path;

use super::TestServer;

/// Has `from` send `to` a direct message `id` whose stored text is `plain`,
/// as a server before 1.2 would have stored it: sends a placeholder of the
/// same length on disk, kills the server, writes `plain` (escaped, then
/// quoted as the log's CSV quotes a field with a CR) over the placeholder in
/// the data directory, and starts the server again on it, on the same ports
/// (a server of [`TestServer::start_restartable`]), with `args` (its flags
/// besides the data directory and ports).
/// Same length, so every position in the log stays right.
pub fn plant_old_text(server: &mut TestServer, args: &[&str], from: &str, to: &str, id: &str, plain: &str) {
    let escaped = plain.replace('\\', "\\\\").replace('\n', "\\n");
    let stored = if escaped.contains(['\r', ',', '"']) {
        format!("\"{}\"", escaped.replace('"', "\"\""))
    } else {
        escaped
    };
    let placeholder = "Q".repeat(stored.len());
    let mut sender = server.login_send(from, &format!("pw-{from}"));
    let ok = sender.request(&format!("MSG:{to}:{id}:{placeholder}"));
    assert!(ok.starts_with(&format!("OK:{id}:")), "{ok}");
    drop(sender);
    server.kill();
    let planted = replace_in_files(&server.data_dir, placeholder.as_bytes(), stored.as_bytes());
    assert!(planted > 0, "the placeholder is nowhere in {}", server.data_dir.display());
    server.restart_in_place(args);
}

/// Replaces `from` by `to` (as long) in every file under `dir`; how many.
fn replace_in_files(dir: &Path, from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            count += replace_in_files(&path, from, to);
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let mut changed = false;
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
            bytes[at + i..at + i + from.len()].copy_from_slice(to);
            at += i + from.len();
            changed = true;
            count += 1;
        }
        if changed {
            std::fs::write(&path, bytes).unwrap();
        }
    }
    count
}

/// Has `from` send `to` a direct message whose stored id is `id`, as an
/// older server (one that took an action's id, `_e1_m1`, from any
/// client) would have stored it: sends it under a placeholder id of the
/// same length, kills the server, writes `id` over the placeholder, and
/// removes `actions.csv`, the time since when action ids are the server's,
/// as a data directory of such a server has none; the new start makes it,
/// after this message. Then starts the server again on the same ports (a
/// server of [`TestServer::start_restartable`]).
pub fn plant_old_id(server: &mut TestServer, from: &str, to: &str, id: &str, text: &str) {
    let placeholder: String = (0..id.len()).map(|i| if i % 2 == 0 { 'Z' } else { 'q' }).collect();
    let mut sender = server.login_send(from, &format!("pw-{from}"));
    let ok = sender.request(&format!("MSG:{to}:{placeholder}:{text}"));
    assert!(ok.starts_with(&format!("OK:{placeholder}:")), "{ok}");
    drop(sender);
    server.kill();
    let planted = replace_in_files(&server.data_dir, placeholder.as_bytes(), id.as_bytes());
    assert!(planted > 0, "the placeholder is nowhere in {}", server.data_dir.display());
    let _ = std::fs::remove_file(server.data_dir.join("actions.csv")); // an older server's data has none
    server.restart_in_place(&[]);
}
