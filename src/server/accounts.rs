//! A user's own account (protocol 1.2, docs/PROTOCOL.md §20): `PASSWD`
//! and `PASSWDKEEP`, a new password; `DELACCOUNT`, the account deleted;
//! and the server's side of an
//! administrator's `wachat users export NAME` ([`StoreSource`],
//! [`answer_export`]).
//!
//! What a password change must do, in order:
//!
//! 1. the new password is checked first (at least six characters, as a
//!    new account's), so that a refusal says nothing about the old one;
//! 2. the old password is checked as a login is, **within the failed-login
//!    limits** (`auth::check_password`): an open session left on a lab
//!    machine does not let a passer-by guess at the password faster than
//!    a login would;
//! 3. the new hash is made on the hashing pool and stored durably (a
//!    `PASSWD` record on a single server, the `users` row on a cluster)
//!    before the `OK`; what the login limits remember of the old password
//!    is forgotten (`auth::forget_password`), and the cache of recent
//!    logins no longer matches it (it is keyed by the hash);
//! 4. unless the user keeps them (`PASSWDKEEP`), every **other** device is
//!    logged out and its token revoked: its receive connection hears
//!    `BYE:UNLINKED` (`BYE:REPLACED` below 1.2, which also tells it not to
//!    come back by itself), the account's other send connections are
//!    closed, and the device must log in with the new password. The
//!    device that asked stays logged in, on both ports.
//!
//! And what deleting an account (`DELACCOUNT`) does, in order:
//!
//! 1. the password is checked as `PASSWD`'s old one is, within the
//!    failed-login limits;
//! 2. every device is forgotten (tokens and positions), so no token logs
//!    in again, on any node;
//! 3. a `DELACCOUNT` record (a single server) or the `users` row and the
//!    account's rows of the database (a cluster) are stored before the
//!    `OK`: the hash is gone (no password matches what replaces it), the
//!    inbox is emptied, the account leaves every room with its read
//!    marks. Messages already delivered stay with their recipients (as in
//!    WhatsApp): they are theirs too. The name stays taken for
//!    `--name-quarantine-days`, then may be registered again as a new
//!    account that sees nothing of this one's (docs/PROTOCOL.md §20);
//! 4. every session of the account is closed: its receive connections
//!    hear `BYE:UNLINKED` (a plain close below 1.2), its other send
//!    connections are closed, and the one that asked is closed after its
//!    `OK` (`server::send`).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use super::{Ctx, auth};
use crate::protocol::{Chat, Code, DEFAULT_DEVICE, DeviceLine, Ko, MAX_HISTORY};
use crate::router::LoggedOut;
use crate::store::account_export::{self, Source};
use crate::store::files::Files;
use crate::store::{Backend, UserId};

/// Who asks: a logged-in send connection.
pub struct Asker<'a> {
    pub user: UserId,
    /// As registered.
    pub name: &'a str,
    pub peer: IpAddr,
    /// The send connection's number (`Router::sends`): kept open.
    pub conn_id: u64,
    /// The device its `LOGIN` named (`None`: `default`): kept logged in.
    pub device: Option<&'a str>,
}

impl Asker<'_> {
    fn device(&self) -> &str {
        self.device.unwrap_or(DEFAULT_DEVICE)
    }
}

/// `PASSWD:<old>:<new>` (`keep`: `PASSWDKEEP`), in the order of the
/// module documentation.
pub fn passwd(ctx: &Ctx, me: &Asker, old: &str, new: &str, keep: bool) -> Result<(), Ko> {
    crate::store::password::check_new(new)?;
    auth::check_password(ctx, me.name, old, me.peer)?;
    ctx.store.change_password(me.user, new)?;
    auth::forget_password(ctx, me.name);
    let others = if keep { 0 } else { log_out_others(ctx, me)? };
    log::info!("{}: {} changed its password ({others} other devices logged out)", me.peer, me.name);
    Ok(())
}

/// `DELACCOUNT:<password>`, in the order of the module documentation.
/// The asker's own send connection is left open for its `OK`; the
/// caller closes it.
pub fn delete_account(ctx: &Ctx, me: &Asker, password: &str) -> Result<(), Ko> {
    auth::check_password(ctx, me.name, password, me.peer)?;
    let devices = ctx.devices.forget_all(me.name)?;
    ctx.store.delete_account(me.user)?;
    // 1.2 (issue 49): its files are its account's, not its name's.
    let files = ctx.files.forget_account(me.name)?;
    auth::forget_password(ctx, me.name);
    ctx.router.sends.close(me.user, Some(me.conn_id));
    for outlet in ctx.router.outlets(me.user) {
        outlet.log_out(LoggedOut::AccountDeleted);
    }
    for device in &devices {
        ctx.nodes.logged_out(me.user, device, LoggedOut::AccountDeleted); // a cluster's other nodes
    }
    let forgot = devices.len();
    log::info!(
        "{}: {} deleted its account ({forgot} devices forgotten, {files} files removed)",
        me.peer,
        me.name
    );
    Ok(())
}

/// Logs out every device of `me`'s account but its own, and revokes
/// their tokens; returns how many devices were logged out or revoked.
fn log_out_others(ctx: &Ctx, me: &Asker) -> Result<usize, Ko> {
    let mine = me.device();
    let revoked = ctx.devices.revoke_tokens(me.name, mine)?;
    ctx.router.sends.close(me.user, Some(me.conn_id));
    let mut closed: Vec<Arc<str>> = Vec::new();
    for outlet in ctx.router.outlets(me.user) {
        if !outlet.device.eq_ignore_ascii_case(mine) {
            outlet.log_out(LoggedOut::Unlinked);
            closed.push(outlet.device.clone());
        }
    }
    // A cluster: the devices online on other nodes are told there.
    for device in &revoked {
        ctx.nodes.logged_out(me.user, device, LoggedOut::Unlinked);
    }
    closed.retain(|c| !revoked.iter().any(|r| r.eq_ignore_ascii_case(c)));
    Ok(revoked.len() + closed.len())
}

// ----- the server's side of `wachat users export NAME` -----------------

/// An account's data as the store holds it, as an export's [`Source`]:
/// the very lines the account's own requests would get (`HISTORY` with
/// edits and deletions folded in, as `server::send` serves it).
pub struct StoreSource<'a> {
    pub store: &'a dyn Backend,
    pub user: UserId,
    pub devices: Vec<DeviceLine>,
    /// 1.2: the files, and the account's name (their owner).
    pub files: Option<(&'a Files, &'a str)>,
}

impl Source for StoreSource<'_> {
    fn server(&mut self) -> crate::error::Result<String> {
        Ok(self.store.server().map(|server| server.id.to_string()).unwrap_or_default())
    }

    fn rooms(&mut self) -> crate::error::Result<Vec<String>> {
        let rooms = self.store.rooms_of(self.user, 0).map_err(refused)?;
        Ok(rooms.iter().map(|(line, _)| line.to_string()).collect())
    }

    fn chats(&mut self) -> crate::error::Result<Vec<String>> {
        Ok(self.store.chats(self.user).map_err(refused)?.iter().map(ToString::to_string).collect())
    }

    fn history(&mut self, chat: &Chat) -> crate::error::Result<Vec<String>> {
        super::actions::history(self.store, self.user, chat, MAX_HISTORY).map_err(refused)
    }

    fn starred(&mut self) -> crate::error::Result<Vec<String>> {
        Ok(crate::store::stars::starred(self.store, self.user).map_err(refused)?.0)
    }

    fn devices(&mut self) -> crate::error::Result<Option<Vec<String>>> {
        Ok(Some(self.devices.iter().map(ToString::to_string).collect()))
    }

    fn files(&mut self) -> crate::error::Result<Vec<String>> {
        let Some((files, owner)) = self.files else { return Ok(Vec::new()) };
        match super::files::lines(files, owner).map_err(refused)? {
            crate::protocol::Reply::Listing(lines) => Ok(lines),
            _ => Ok(Vec::new()),
        }
    }

    fn save_file(&mut self, id: &str, dest: &Path) -> crate::error::Result<u64> {
        let Some((files, _)) = self.files else { return Ok(0) };
        super::files::save(files, id, dest)
    }
}

fn refused(ko: Ko) -> crate::error::Error {
    crate::error::Error::Refused { request: "export".into(), ko }
}

/// The answer to `wachat users export` (`store::door::Asking::Export`):
/// the export of the account named in `request` (one line), in JSON Lines
/// as `wachat export` writes it; empty for an unknown name.
pub fn answer_export(ctx: &Ctx, request: &str) -> Result<Vec<u8>, Ko> {
    let name = request.lines().next().unwrap_or("").trim();
    let mut out = Vec::new();
    if let Some(account) = ctx.store.find_account(name) {
        let devices = ctx.devices.list(ctx, account.id, &account.name);
        // The answer is one file of lines: the files are listed, not copied.
        let files = Some((&*ctx.files, &*account.name));
        let mut source = StoreSource { store: &**ctx.store, user: account.id, devices, files };
        account_export::write(&account.name, &mut source, &mut out, None)
            .map_err(|e| Ko::new(Code::Internal, format!("exporting {name}: {e}")))?;
    }
    Ok(out)
}
