//! Where a `wachat users` command works, and how it reaches the server
//! that runs there: a single server's data directory ([`ServerAt`]'s
//! `--data-dir`), or a cluster's database (`--store`), whose nodes may be
//! running. Either way it opens the server's door (`store::door`): the
//! files of the directory, or the rows of the cluster's `admin_requests`
//! (`cluster/door.rs`). What the command asks
//! of a running server it leaves there ([`OpenedDoor::ask`]); the server
//! (a cluster's leader) answers from its own state.
//!
//! `disable`/`enable` (`admin::disable`) and `invite`/`invites`/`revoke`
//! (`admin::invite`) ask it too: the running server (a cluster's leader)
//! writes their records into its log.
//!
//! A cluster node's data directory holds the node's copy of the cluster's
//! log, which only the log's batches change: a command pointed at it
//! would write a change no other node has, after which the copy could no
//! longer follow the log. It is refused ([`refuse_node_dir`]), with the
//! `--store` to use instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::live::{self, Listed};
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::store::door::{Door, FolderDoor, Inquiry};

/// Which server a command works on.
#[derive(Args, Debug)]
pub struct ServerAt {
    // The server's data directory (the server may be running).
    #[command(flatten)]
    pub data: crate::cli::data_dir::DataDirArgs,
    /// A cluster's database instead (its nodes may be running): the
    /// command is every node's (docs/CLUSTER-OPS.md).
    #[arg(long, value_name = "postgres://USER@HOST:PORT/DB")]
    pub store: Option<String>,
}

/// The door a `users` command opened (`store::door`): a data directory's
/// files, or a cluster's database.
pub enum OpenedDoor {
    Folder(FolderDoor, PathBuf),
    #[cfg(feature = "cluster")]
    Cluster(crate::cluster::door::PgDoor),
}

impl OpenedDoor {
    /// The door at `at`. The data directory must exist: a mistyped
    /// `--data-dir` should not leave an empty directory behind.
    pub fn open(at: &ServerAt) -> Result<OpenedDoor> {
        match &at.store {
            #[cfg(feature = "cluster")]
            Some(store) => Ok(OpenedDoor::Cluster(crate::cluster::door::PgDoor::open(store)?)),
            #[cfg(not(feature = "cluster"))]
            Some(_) => Err(Error::Usage(crate::error::NO_CLUSTER.to_string())),
            None if !at.data.data_dir.is_dir() => {
                Err(Error::Usage(tr!(Msg::NoDataDir, dir = at.data.data_dir.display())))
            }
            None => Ok(OpenedDoor::Folder(FolderDoor::new(&at.data.data_dir), at.data.data_dir.clone())),
        }
    }

    /// The door of the server running at `at`: a cluster's, or the data
    /// directory's when a server runs on it. `None`: no server runs on the
    /// directory, which the command may edit itself.
    pub fn running(at: &ServerAt) -> Result<Option<OpenedDoor>> {
        if at.store.is_none() && !server_runs(&at.data.data_dir) {
            return Ok(None);
        }
        OpenedDoor::open(at).map(Some)
    }

    pub fn as_dyn(&self) -> &dyn Door {
        match self {
            OpenedDoor::Folder(folder, _) => folder,
            #[cfg(feature = "cluster")]
            OpenedDoor::Cluster(pg) => pg,
        }
    }

    /// The accounts there, as `users list` shows them, without what the
    /// server knows of each ([`OpenedDoor::listing`] adds it): the checks
    /// of the other commands (a taken name, an account to change).
    pub fn accounts(&self) -> Result<Vec<Listed>> {
        match self {
            OpenedDoor::Folder(_, dir) => live::read_accounts(dir),
            #[cfg(feature = "cluster")]
            OpenedDoor::Cluster(pg) => live::read_cluster(pg),
        }
    }

    /// `users list` beside the running server: the accounts and what the
    /// server (a cluster's leader) knows of each, asked at its door.
    pub fn listing(&self) -> Result<Vec<Listed>> {
        let mut rows = self.accounts()?;
        let request = live::status_request(&rows);
        let answer = self.ask(Inquiry::Status, request.as_bytes(), live::ANSWER_WITHIN)?;
        live::read_status(&mut rows, &answer)?;
        Ok(rows)
    }

    /// Whether `name` has an account there (removed ones do not count).
    pub fn has_account(&self, name: &str) -> Result<bool> {
        Ok(self.accounts()?.iter().any(|r| r.name.eq_ignore_ascii_case(name) && !r.removed))
    }

    /// Asks the running server (a node of a cluster) `kind` with `body`,
    /// and waits up to `within` for its answer (a cluster's door gives up
    /// sooner when no node leads: the error says how long it waited).
    pub fn ask(&self, kind: Inquiry, body: &[u8], within: Duration) -> Result<Vec<u8>> {
        let asked = std::time::Instant::now();
        let answer = self.as_dyn().ask(kind, body, within).map_err(|ko| self.error(ko))?;
        let secs = asked.elapsed().as_secs().min(within.as_secs());
        answer.ok_or_else(|| match self {
            OpenedDoor::Folder(_, dir) => {
                Error::Usage(tr!(Msg::ServerDidNotAnswer, dir = dir.display(), secs = secs))
            }
            #[cfg(feature = "cluster")]
            OpenedDoor::Cluster(_) => Error::Usage(tr!(Msg::NoNodeAnswered, secs = secs)),
        })
    }

    /// Where the answers come from, for an error about one.
    pub fn label(&self) -> String {
        match self {
            OpenedDoor::Folder(_, dir) => dir.display().to_string(),
            #[cfg(feature = "cluster")]
            OpenedDoor::Cluster(pg) => format!("cluster: {}", pg.url()),
        }
    }

    /// The command's error for a `KO` of the door.
    pub fn error(&self, ko: crate::protocol::Ko) -> Error {
        match self {
            OpenedDoor::Folder(_, dir) => Error::Usage(format!("{}: {}", dir.display(), ko.reason)),
            #[cfg(feature = "cluster")]
            OpenedDoor::Cluster(pg) => pg.error(ko),
        }
    }
}

/// Whether a server runs on `dir` now (it holds the directory's lock).
pub fn server_runs(dir: &Path) -> bool {
    dir.is_dir() && matches!(crate::store::lock::DataLock::acquire(dir), Err(Error::Locked { .. }))
}

/// Refuses `dir` if a cluster node keeps its copy of the log there
/// (`store::door::NODE_MARK`): its accounts are in the cluster's database.
pub fn refuse_node_dir(dir: &Path) -> Result<()> {
    match crate::store::door::node_of(dir) {
        Some(node) => Err(Error::Usage(tr!(Msg::NodeDirectory, dir = dir.display(), node = node))),
        None => Ok(()),
    }
}
