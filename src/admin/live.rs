//! `wachat users list` beside a running server: what an administrator
//! sees without stopping the class (the accounts as the server has them),
//! and the same rows for the other commands' checks (`reach.rs`).
//!
//! `list` reads `users.csv` (append-only, or replaced whole by a rename:
//! safe to read while the server appends), marks removed accounts, and,
//! when a server runs on the directory, asks it for each account's
//! presence and usage at its door (`status.request`, answered within a
//! second in `status.csv`); whether it is disabled (a record of its log);
//! and whether it is deleted, since the
//! server knows a `DELACCOUNT` before `users.csv` says it (the state the
//! server has, as the same command shows once it stopped). On a cluster
//! (`--store`) the rows are those its log carries (`read_cluster`, built
//! with the `cluster` feature), and the figures the leader's.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::tr;
use crate::server::operator::STATUS_HEADER;
use crate::store::door::Inquiry;
use crate::store::users::USERS_HEADER;

/// How long `list` waits for the server's answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// One account as `list` shows it.
#[derive(Debug, Default, PartialEq)]
pub struct Listed {
    pub name: String,
    pub email: String,
    pub removed: bool,
    /// 1.2: its user deleted it (`DELACCOUNT`), as `users.csv` or, beside
    /// a running server, the server says.
    pub deleted: bool,
    pub disabled: bool,
    /// The running server's figures (`None`: no server, or it did not say).
    pub live: Option<Live>,
}

/// What a running server says of an account.
#[derive(Debug, Default, PartialEq)]
pub struct Live {
    pub online: bool,
    pub last_seen_ms: Option<u64>,
    pub rooms: u64,
    pub chats: u64,
    pub unread: u64,
    /// A server admin (1.2).
    pub admin: bool,
}

/// The accounts of `users.csv`, marked removed.
pub fn read_accounts(data_dir: &Path) -> Result<Vec<Listed>> {
    let path = data_dir.join("users.csv");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(format!("{}", path.display()), e))?;
    rows_of(&path, &bytes)
}

/// `users list --store`: a cluster's accounts, as its log carries them
/// (its nodes may be running).
#[cfg(feature = "cluster")]
pub fn read_cluster(door: &crate::cluster::door::PgDoor) -> Result<Vec<Listed>> {
    let mut bytes = format!("{USERS_HEADER}\n").into_bytes();
    bytes.extend(door.accounts().map_err(|ko| door.error(ko))?);
    rows_of(Path::new("users.csv"), &bytes)
}

/// The rows of `users.csv`'s `bytes`, marked removed (and deleted, as the
/// file says it).
fn rows_of(path: &Path, bytes: &[u8]) -> Result<Vec<Listed>> {
    // A row being appended right now may be torn: only whole lines count.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut rows: Vec<Listed> = Vec::new();
    // 1.2: a deleted account's name registered again has a newer row,
    // which counts (the next start drops the old one).
    let mut at = std::collections::HashMap::new();
    crate::csvlog::read_rows_from(path, &bytes[..whole], USERS_HEADER, |row| {
        let name = row.get(0).unwrap_or_default().to_string();
        let i = *at.entry(crate::protocol::names::fold(&name)).or_insert(rows.len());
        let row = Listed {
            disabled: false,
            email: row.get(1).unwrap_or_default().to_string(),
            removed: row.get(2).unwrap_or_default().starts_with(crate::store::accounts::REMOVED),
            deleted: crate::store::state::deleted_at(row.get(2).unwrap_or_default()).is_some(),
            name,
            live: None,
        };
        match rows.get_mut(i) {
            Some(old) => *old = row,
            None => rows.push(row),
        }
        Ok(())
    })
    .map_err(|e| e.into_error(path))?;
    // By name, ignoring case, as the stopped server's list: the same list
    // whether the server runs or not.
    rows.sort_by_key(|r| crate::protocol::names::fold(&r.name));
    Ok(rows)
}

/// The request for the live figures of `rows` (`Inquiry::Status`).
pub fn status_request(rows: &[Listed]) -> String {
    rows.iter().map(|r| format!("{}\n", r.name)).collect()
}

/// Puts the server's answer to [`status_request`], `text`, into `rows`.
pub fn read_status(rows: &mut [Listed], text: &[u8]) -> Result<()> {
    let answer = Path::new(Inquiry::Status.files().1);
    crate::csvlog::read_rows_from(answer, text, STATUS_HEADER, |row| {
        let field = |i| row.get(i).unwrap_or_default();
        let number = |i| field(i).parse::<u64>().unwrap_or(0);
        if let Some(r) = rows.iter_mut().find(|r| r.name == field(0)) {
            // The server's word: an account deleted a moment ago is not in
            // `users.csv` as deleted yet.
            r.deleted |= field(7) == "true";
            r.disabled = field(8) == "true";
            r.live = Some(Live {
                online: field(1) == "true",
                last_seen_ms: field(2).parse().ok(),
                rooms: number(3),
                chats: number(4),
                unread: number(5),
                admin: field(6) == "true",
            });
        }
        Ok(())
    })
    .map_err(|e| e.into_error(answer))
}

/// `name  email  marks  presence  usage`, columns aligned.
pub fn format(rows: &[Listed]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in rows {
        let mut fields: Vec<String> = vec![format!("{:width$}", r.name)];
        if !r.email.is_empty() {
            fields.push(r.email.clone());
        }
        if r.removed {
            fields.push(tr!(Msg::RemovedMark));
        }
        if r.deleted {
            // Nothing live to say of it: it can never log in again.
            fields.push(tr!(Msg::DeletedMark));
            out.push_str(fields.join("  ").trim_end());
            out.push('\n');
            continue;
        }
        if r.disabled {
            fields.push(tr!(Msg::DisabledMark));
        }
        if r.live.as_ref().is_some_and(|live| live.admin) {
            fields.push(tr!(Msg::AdminMark));
        }
        if let Some(live) = &r.live {
            fields.push(match (live.online, live.last_seen_ms) {
                (true, _) => tr!(Msg::ListOnline),
                (false, Some(ts)) => {
                    let at = crate::display::local_time(ts);
                    tr!(Msg::ListLastSeen, date = at.date(), time = at.clock())
                }
                (false, None) => tr!(Msg::ListNeverSeen),
            });
            let (rooms, chats, unread) = (live.rooms, live.chats, live.unread);
            fields.push(tr!(Msg::ListUsage, rooms = rooms, chats = chats, unread = unread));
        }
        out.push_str(fields.join("  ").trim_end());
        out.push('\n');
    }
    out
}
