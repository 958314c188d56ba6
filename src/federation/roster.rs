//! The class roster (`--peers FILE`): one CSV line
//! `name,host,port,fingerprint` per server of the network, this one's
//! included, no header; `fingerprint` is its link key's (`key.rs`), as
//! `wachat roster-line` prints the line. A teacher collects the lines and
//! gives everyone the same file; the server reads it again whenever it
//! changes (`RosterFile::reload`), so a class adds or moves a server without
//! restarts.
//!
//! A line of the earlier form `name,host,port,secret` is read, with no
//! fingerprint: no link is made with that server (it is said why, in
//! words, each time one is tried), until its line carries its
//! fingerprint. `name,host,port,secret,fingerprint` (an old line with the
//! fingerprint added) is read too; the secret has no role any more.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::protocol::link::check_secret;
use crate::protocol::names::{check_name, fold};

/// Checks a fingerprint as the roster writes it: 32 bytes in hex, each
/// two digits apart by `:` (either case).
pub fn check_fingerprint(text: &str) -> std::result::Result<(), String> {
    let bytes: Vec<&str> = text.split(':').collect();
    let ok =
        bytes.len() == 32 && bytes.iter().all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err("a fingerprint is 32 bytes in hex, two digits each, apart by `:` (AB:CD:…), as `wachat roster-line` prints it".into())
    }
}

/// Most servers a roster may name: a class, with room to spare; what each
/// costs (a dialer thread, a link) is bounded by it.
pub const MAX_SERVERS: usize = 256;

/// One server of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// The secret of an earlier roster's line (no role: kept as read).
    pub secret: String,
    /// Its link key's fingerprint; `None` on a line of the earlier form,
    /// with which no link is made.
    pub fingerprint: Option<String>,
}

impl Entry {
    /// `host:port`, to connect to.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Its fingerprint, or why no link is made with it: the words a
    /// server with an old roster line is told.
    pub fn fingerprint(&self) -> Result<&str, String> {
        self.fingerprint.as_deref().ok_or_else(|| {
            format!(
                "the roster's line for {} has no fingerprint (name,host,port,fingerprint): \
                 {} runs `wachat roster-line` and the teacher puts the line it prints in the roster",
                self.name, self.name
            )
        })
    }
}

/// The roster as read, with what this server is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// This server's own line.
    pub me: Entry,
    /// The others, in the file's order.
    pub peers: Vec<Entry>,
}

impl Roster {
    /// Reads the roster of the server named `me` from its text; the error
    /// names the line and what is wrong with it.
    pub fn parse(text: &str, me: &str) -> Result<Roster, String> {
        let mut all: Vec<Entry> = Vec::new();
        // Each fingerprint's first line, and its server's name.
        let mut keys: Vec<(String, usize, String)> = Vec::new();
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        for (i, row) in reader.records().enumerate() {
            let line = i + 1;
            let row = row.map_err(|e| format!("line {line}: {e}"))?;
            if row.len() == 1 && row[0].trim().is_empty() {
                continue;
            }
            if row.len() != 4 && row.len() != 5 {
                return Err(format!(
                    "line {line}: expected name,host,port,fingerprint, found {} fields",
                    row.len()
                ));
            }
            let name = row[0].trim();
            check_name(name).map_err(|e| format!("line {line}: bad server name: {e}"))?;
            let host = row[1].trim();
            if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("line {line}: bad host {host:?}"));
            }
            let port =
                row[2].trim().parse::<u16>().map_err(|_| format!("line {line}: bad port {:?}", &row[2]))?;
            // The fourth field is a fingerprint (it has `:`s, a secret
            // cannot), or an old line's secret, which a fifth may follow.
            let (secret, fingerprint) = match (row[3].trim(), row.get(4).map(str::trim)) {
                (fingerprint, None) if fingerprint.contains(':') => ("", Some(fingerprint)),
                (secret, fingerprint) => {
                    check_secret(secret).map_err(|e| format!("line {line}: {e}"))?;
                    (secret, fingerprint)
                }
            };
            if let Some(fingerprint) = fingerprint {
                check_fingerprint(fingerprint).map_err(|e| format!("line {line}: {e}"))?;
                if let Some((_, first, other)) =
                    keys.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(fingerprint))
                {
                    return Err(format!(
                        "line {line}: {name} has the link key of {other} (line {first}): that key would link \
                         as both. Each server needs a key of its own: servers started from one data \
                         directory share its key (two students keeping the default --data-dir data in a \
                         shared folder); give each its own --data-dir, run `wachat roster-line` there, and \
                         put the line it prints in the roster"
                    ));
                }
                keys.push((fingerprint.to_string(), line, name.to_string()));
            }
            if all.iter().any(|e| fold(&e.name) == fold(name)) {
                return Err(format!("line {line}: {name} is named twice"));
            }
            all.push(Entry {
                name: name.into(),
                host: host.into(),
                port,
                secret: secret.into(),
                fingerprint: fingerprint.map(str::to_string),
            });
            if all.len() > MAX_SERVERS {
                return Err(format!("more than {MAX_SERVERS} servers"));
            }
        }
        let at =
            all.iter().position(|e| fold(&e.name) == fold(me)).ok_or(format!("no line for {me} (--name)"))?;
        let me = all.remove(at);
        Ok(Roster { me, peers: all })
    }

    /// The peer named `name` (ignoring case).
    pub fn peer(&self, name: &str) -> Option<&Entry> {
        self.peers.iter().find(|e| e.name.eq_ignore_ascii_case(name))
    }
}

/// The roster's file, and when it was last read.
pub struct RosterFile {
    path: PathBuf,
    stamp: Option<(SystemTime, u64)>,
}

impl RosterFile {
    pub fn new(path: &Path) -> RosterFile {
        RosterFile { path: path.to_path_buf(), stamp: None }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The roster, if the file changed since the last read (or this is the
    /// first); an error if it changed into something that is not a roster.
    pub fn reload(&mut self, me: &str) -> Result<Option<Roster>, String> {
        let meta = std::fs::metadata(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
        if self.stamp == Some(stamp) {
            return Ok(None);
        }
        self.stamp = Some(stamp);
        let text =
            std::fs::read_to_string(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Roster::parse(&text, me).map(Some).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(byte: &str) -> String {
        [byte; 32].join(":")
    }

    #[test]
    fn a_roster_names_this_server_and_its_peers() {
        let text = format!("lab1,10.0.0.11,7001,{}\nlab2,pc-2.local,7002,{}\n\n", print("AB"), print("cd"));
        let r = Roster::parse(&text, "LAB1").unwrap();
        assert_eq!(r.me.name, "lab1");
        assert_eq!(r.peers.len(), 1);
        assert_eq!(r.peer("Lab2").unwrap().addr(), "pc-2.local:7002");
        assert_eq!(r.peer("lab2").unwrap().fingerprint(), Ok(print("cd").as_str()));
    }

    #[test]
    fn an_old_line_is_read_and_says_what_to_add() {
        let text = format!("lab1,h,1,s1,{}\nlab2,h,2,s2\n", print("AB"));
        let r = Roster::parse(&text, "lab1").unwrap();
        assert_eq!(r.me.fingerprint.as_deref(), Some(print("AB").as_str()));
        let why = r.peer("lab2").unwrap().fingerprint().unwrap_err();
        assert!(why.contains("has no fingerprint") && why.contains("wachat roster-line"), "{why}");
    }

    #[test]
    fn fingerprints_are_checked() {
        assert!(check_fingerprint(&["ab"; 32].join(":")).is_ok());
        assert!(check_fingerprint(&["ab"; 31].join(":")).is_err());
        assert!(check_fingerprint("s-lab1").is_err());
        assert!(check_fingerprint(&["zz"; 32].join(":")).is_err());
    }

    #[test]
    fn a_bad_line_is_named() {
        let bad = |text: &str| Roster::parse(text, "lab1").unwrap_err();
        assert!(bad("lab2,h,1,s\n").contains("no line for lab1"));
        assert!(bad("lab1,h,1,s\nlab 2,h,1,s\n").starts_with("line 2: bad server name"));
        assert!(bad("lab1,h,99999,s\n").starts_with("line 1: bad port"));
        assert!(bad("lab1,h,1\n").contains("expected name,host,port,fingerprint"));
        assert!(bad("lab1,h,1,AB:CD\n").contains("a fingerprint is 32 bytes"));
        assert!(bad("lab1,h,1,s x\n").contains("secret"));
        assert!(bad("lab1,h,1,s\nLAB1,h,2,t\n").contains("named twice"));
    }

    #[test]
    fn one_key_on_two_lines_is_refused_naming_both() {
        let text = format!("lab1,h,1,{}\nlab2,h,2,{}\nlab3,h,3,{}\n", print("AB"), print("cd"), print("CD"));
        let why = Roster::parse(&text, "lab1").unwrap_err();
        assert!(why.starts_with("line 3: lab3 has the link key of lab2 (line 2)"), "{why}");
        assert!(why.contains("--data-dir") && why.contains("wachat roster-line"), "{why}");
        // An old line with a secret and the same fingerprint, too.
        let text = format!("lab1,h,1,{}\nlab2,h,2,s2,{}\n", print("AB"), print("ab"));
        assert!(Roster::parse(&text, "lab2").unwrap_err().contains("lab2 has the link key of lab1"));
    }
}
