//! The door: the way the administrator's commands reach the running
//! server (`wachat users add|import|passwd|admin|room|export|list|
//! disable|enable|invite|invites|revoke`): a request left at the door
//! ([`Door::ask`]), taken and answered by the server's operator thread
//! ([`Door::next_request`], [`Door::answer`], `server::operator`). What
//! the server changes for them (accounts, disabled accounts, invite
//! codes: `store::disabled`, `store::invites`) are records of its log.
//!
//! Where a request waits is the storage's:
//!
//! - a single server's data directory ([`FolderDoor`]): a file a request
//!   (`accounts.request`, answered in `accounts.answer`);
//! - a cluster's database (`cluster::door`), so that a teacher's request
//!   is taken by the node that leads, whose answer is the whole
//!   cluster's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::protocol::{Code, Ko};

/// Where a command's requests wait for the running server.
pub trait Door: Send + Sync {
    /// The command's side: leaves a request of `kind` with `body` for the
    /// running server and waits up to `within` for its answer. `Ok(None)`:
    /// no server took it in time (none runs); the request is withdrawn.
    fn ask(&self, kind: Inquiry, body: &[u8], within: Duration) -> Result<Option<Vec<u8>>, Ko>;
    /// The server's side: the oldest request waiting, taken, so that no
    /// other node of a cluster takes it too.
    fn next_request(&self) -> Option<Asked>;
    /// The server's answer to a request it took.
    fn answer(&self, asked: &Asked, answer: &[u8]) -> Result<(), Ko>;
}

/// What an administrator's command asks the running server, which answers
/// from its own state (`server::operator`), beside which `wachat users`
/// would otherwise read files the server is changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inquiry {
    /// `users list`: each named account's live figures (one name a line;
    /// answered in CSV, `server::operator::STATUS_HEADER`).
    Status,
    /// `users add|import|passwd|admin|room`: changes to accounts, made by
    /// the server (`server::operator::changes`, CSV both ways).
    Accounts,
    /// `users export NAME`: an account's export (the name; answered in
    /// JSON Lines, `server::accounts`).
    Export,
    /// `users invites|revoke --unused`: the invite codes (no body;
    /// answered in CSV, `server::operator::INVITES_HEADER`).
    Invites,
}

impl Inquiry {
    pub const ALL: [Inquiry; 4] = [Inquiry::Status, Inquiry::Accounts, Inquiry::Export, Inquiry::Invites];

    /// Its name, as a cluster's `admin_requests` rows keep it.
    pub fn name(self) -> &'static str {
        match self {
            Inquiry::Status => "status",
            Inquiry::Accounts => "accounts",
            Inquiry::Export => "export",
            Inquiry::Invites => "invites",
        }
    }

    pub fn named(name: &str) -> Option<Inquiry> {
        Inquiry::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// A single server's files for it: the request, and the answer.
    pub fn files(self) -> (&'static str, &'static str) {
        match self {
            Inquiry::Status => ("status.request", "status.csv"),
            Inquiry::Accounts => ("accounts.request", "accounts.answer"),
            Inquiry::Export => ("export.request", "export.jsonl"),
            Inquiry::Invites => ("invites.request", "invites.csv"),
        }
    }
}

/// A request the server took: what is asked, and where its answer goes
/// (`key`: a cluster's row; a single server's files are named by `kind`).
#[derive(Debug)]
pub struct Asked {
    pub kind: Inquiry,
    pub body: Vec<u8>,
    pub key: i64,
}

/// How often a command looks for the server's answer.
pub const LOOK_FOR_ANSWER: Duration = Duration::from_millis(50);

/// The file a cluster node keeps in its data directory (the node's name):
/// the directory holds the node's copy of the cluster's log, so `wachat
/// users` refuses it and names the cluster's `--store` instead of
/// writing a change into one copy that the log does not have. A single server started on the directory
/// takes it back (the file goes).
pub const NODE_MARK: &str = "cluster-node.txt";

/// Marks `data_dir` as node `node`'s (made if missing).
pub fn mark_node(data_dir: &Path, node: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join(NODE_MARK), format!("{node}\n"))
}

/// `data_dir` is a single server's again.
pub fn unmark_node(data_dir: &Path) {
    let _ = std::fs::remove_file(data_dir.join(NODE_MARK));
}

/// The node whose directory `data_dir` is, if a node's.
pub fn node_of(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(NODE_MARK)).ok()?;
    Some(text.lines().next().unwrap_or("").chars().take(64).collect())
}

/// A single server's door: files in its data directory.
pub struct FolderDoor {
    data_dir: PathBuf,
}

impl FolderDoor {
    pub fn new(data_dir: &Path) -> FolderDoor {
        FolderDoor { data_dir: data_dir.to_path_buf() }
    }
}

impl Door for FolderDoor {
    /// Writes the request file; the server's answer file appears before
    /// the request file goes (`answer`).
    fn ask(&self, kind: Inquiry, body: &[u8], within: Duration) -> Result<Option<Vec<u8>>, Ko> {
        let (request, answer) = kind.files();
        let (request, answer) = (self.data_dir.join(request), self.data_dir.join(answer));
        let failed =
            |path: &Path, e: std::io::Error| Ko::new(Code::Internal, format!("{}: {e}", path.display()));
        let _ = std::fs::remove_file(&answer); // a stale one, from a command interrupted
        // Written aside, then renamed: the server, looking twice a second,
        // must never read a request half written.
        let aside = request.with_extension("tmp");
        // Run as root beside a server that runs as the directory's owner
        // (a packaged server's), the request is given to that owner, who
        // must read it whatever root's umask made it.
        let owner = crate::sys::owner::foreign(&self.data_dir);
        std::fs::write(&aside, body)
            .and_then(|()| owner.map_or(Ok(()), |owner| owner.give_file(&aside)))
            .and_then(|()| std::fs::rename(&aside, &request))
            .map_err(|e| failed(&request, e))?;
        let deadline = Instant::now() + within;
        while request.exists() {
            if Instant::now() > deadline {
                let _ = std::fs::remove_file(&request);
                return Ok(None);
            }
            std::thread::sleep(LOOK_FOR_ANSWER);
        }
        let bytes = std::fs::read(&answer).map_err(|e| failed(&answer, e))?;
        let _ = std::fs::remove_file(&answer);
        Ok(Some(bytes))
    }

    fn next_request(&self) -> Option<Asked> {
        Inquiry::ALL.into_iter().find_map(|kind| {
            let body = std::fs::read(self.data_dir.join(kind.files().0)).ok()?;
            Some(Asked { kind, body, key: 0 })
        })
    }

    /// The answer written aside, then renamed; then the request removed,
    /// which tells the command that the answer is there.
    fn answer(&self, asked: &Asked, answer: &[u8]) -> Result<(), Ko> {
        let (request, answer_file) = asked.kind.files();
        let aside = self.data_dir.join(format!("{answer_file}.tmp"));
        let written = std::fs::write(&aside, answer)
            .and_then(|()| std::fs::rename(&aside, self.data_dir.join(answer_file)))
            .and_then(|()| std::fs::remove_file(self.data_dir.join(request)));
        written.map_err(|e| {
            Ko::new(Code::Internal, format!("{}: {e}", self.data_dir.join(answer_file).display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_left_at_the_door_is_answered_once_by_whoever_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = std::sync::Arc::new(FolderDoor::new(dir.path()));
        // No server: the request is withdrawn after the wait.
        assert_eq!(folder.ask(Inquiry::Export, b"ana\n", Duration::from_millis(120)).unwrap(), None);
        assert!(folder.next_request().is_none(), "withdrawn");
        // A server that takes each request and answers it in capitals.
        let server = folder.clone();
        let answering = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(asked) = server.next_request() {
                    assert_eq!(asked.kind, Inquiry::Accounts);
                    server.answer(&asked, &asked.body.to_ascii_uppercase()).unwrap();
                    return;
                }
                assert!(Instant::now() < deadline, "no request came");
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let answer = folder.ask(Inquiry::Accounts, b"op,name\nadd,ana\n", Duration::from_secs(20)).unwrap();
        answering.join().unwrap();
        assert_eq!(answer.as_deref(), Some(&b"OP,NAME\nADD,ANA\n"[..]));
        assert!(folder.next_request().is_none(), "answered once");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no file left behind");
        assert_eq!(Inquiry::ALL.map(|kind| Inquiry::named(kind.name())), Inquiry::ALL.map(Some));
    }
}
