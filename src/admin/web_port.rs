//! `web.csv` in the data directory: the port of the web app the server
//! last listened on (`serve --web-port`), so that `wachat users invite`
//! prints a link that opens (issue 53: it printed `:8080` whatever the
//! port was).
//!
//! ```text
//! port
//! 8081
//! ```
//!
//! Written at each start that serves the web app, removed at a start
//! without one (`--web-port off`); a server killed leaves it, which is
//! still the port it will most likely use again. Only a hint for a
//! printed link: nothing else reads it.

use std::io::Write;
use std::path::Path;

use crate::sys::private::Mode;

/// The file, in the data directory.
pub const FILE: &str = "web.csv";

/// Notes `port` (`None`: no web app) in `data_dir`. A failure costs only
/// the link's port, so it is logged, never fatal.
pub fn record(data_dir: &Path, port: Option<u16>) {
    let path = data_dir.join(FILE);
    let result = match port {
        None => std::fs::remove_file(&path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
        // 0600, like every file of the directory.
        Some(port) => std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("port\n{port}\n").as_bytes())),
    };
    if let Err(e) = result {
        log::warn!("{}: {e} (wachat users invite will print the default web port)", path.display());
    }
}

/// The port noted in `data_dir`, if any.
pub fn recorded(data_dir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
    let mut lines = text.lines();
    (lines.next()? == "port").then_some(())?;
    lines.next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_noted_read_back_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path()), None);
        record(dir.path(), Some(8081));
        assert_eq!(recorded(dir.path()), Some(8081));
        record(dir.path(), None);
        assert_eq!(recorded(dir.path()), None);
        std::fs::write(dir.path().join(FILE), "nonsense\n").unwrap();
        assert_eq!(recorded(dir.path()), None);
    }
}
