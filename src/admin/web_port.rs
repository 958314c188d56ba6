//! `web.csv` in the data directory: how the server last served the web
//! app (`serve --web-port`; https with `--tls-cert`), so that `wachat
//! users invite` prints a link that opens: the scheme and the port the
//! server serves, not the defaults.
//!
//! ```text
//! scheme,port
//! https,8443
//! ```
//!
//! Written at each start that serves the web app (whole, then renamed
//! into place: a `users invite` reading it meanwhile finds the old file
//! or the new one, never half of one), removed at a start without one
//! (`--web-port off`); a server killed leaves it, which is still how it
//! will most likely serve again. Only a hint for a printed link: nothing
//! else reads it.

use std::io::Write;
use std::path::Path;

use crate::sys::private::Mode;

/// The file, in the data directory.
pub const FILE: &str = "web.csv";

/// How the web app is served: its scheme and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Over TLS (`https://`), as the ports are with `--tls-cert`.
    pub tls: bool,
    pub port: u16,
}

impl Served {
    /// `https`, `http`.
    pub fn scheme(self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// `https://<server>:8443/`, the server's address left for the
    /// teacher to fill in (only the teacher knows how the class reaches it).
    pub fn url(self, host: &str) -> String {
        format!("{}://{host}:{}/", self.scheme(), self.port)
    }
}

/// Notes how the web app is served (`None`: it is not) in `data_dir`. A
/// failure costs only the link, so it is logged, never fatal.
pub fn record(data_dir: &Path, served: Option<Served>) {
    let path = data_dir.join(FILE);
    let result = match served {
        None => std::fs::remove_file(&path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
        Some(served) => {
            let aside = data_dir.join(format!("{FILE}.new"));
            // 0600, like every file of the directory.
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&aside)
                .and_then(|mut f| {
                    f.write_all(format!("scheme,port\n{},{}\n", served.scheme(), served.port).as_bytes())
                })
                .and_then(|()| std::fs::rename(&aside, &path))
        }
    };
    if let Err(e) = result {
        log::warn!("{}: {e} (wachat users invite will not know the web app's port)", path.display());
    }
}

/// How the server in `data_dir` last served the web app, if it did. A
/// file of the first layout (`port` alone) was plain HTTP.
pub fn recorded(data_dir: &Path) -> Option<Served> {
    let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
    let mut lines = text.lines();
    match lines.next()? {
        "port" => Some(Served { tls: false, port: lines.next()?.trim().parse().ok()? }),
        "scheme,port" => {
            let (scheme, port) = lines.next()?.split_once(',')?;
            let tls = match scheme.trim() {
                "https" => true,
                "http" => false,
                _ => return None,
            };
            Some(Served { tls, port: port.trim().parse().ok()? })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_and_port_are_noted_read_back_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path()), None);
        record(dir.path(), Some(Served { tls: true, port: 8443 }));
        assert_eq!(recorded(dir.path()), Some(Served { tls: true, port: 8443 }));
        assert_eq!(recorded(dir.path()).unwrap().url("<server>"), "https://<server>:8443/");
        assert!(!dir.path().join("web.csv.new").exists());
        record(dir.path(), Some(Served { tls: false, port: 8081 }));
        assert_eq!(recorded(dir.path()).unwrap().url("h"), "http://h:8081/");
        record(dir.path(), None);
        assert_eq!(recorded(dir.path()), None);
        std::fs::write(dir.path().join(FILE), "nonsense\n").unwrap();
        assert_eq!(recorded(dir.path()), None);
        std::fs::write(dir.path().join(FILE), "port\n8082\n").unwrap();
        assert_eq!(recorded(dir.path()), Some(Served { tls: false, port: 8082 }), "the first layout");
    }
}
