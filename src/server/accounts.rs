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
//! 3. the new hash is made on the hashing pool;
//! 4. unless the user keeps them (`PASSWDKEEP`), the tokens of every
//!    **other** device are revoked, written before the password is
//!    (`Devices::revoke_tokens`): a disk with no room for that refuses
//!    the change before anything changed;
//! 5. the hash is stored durably (a `PASSWD` record) before the `OK`;
//!    if it cannot be, the
//!    tokens are put back and the change is refused. What the login
//!    limits remember of the old password is forgotten
//!    (`auth::forget_password`), and the cache of recent logins no longer
//!    matches it (it is keyed by the hash);
//! 6. unless kept, every other device is logged out: its receive
//!    connection hears `BYE:UNLINKED` (`BYE:REPLACED` below 1.2, which
//!    also tells it not to come back by itself), the account's other send
//!    connections are closed, and the device must log in with the new
//!    password. The device that asked stays logged in, on both ports.
//!
//! An administrator's `wachat users passwd` beside a running server
//! (`server::operator::changes`) is the same change from step 4, with no
//! device kept: every token of the account is revoked and every session
//! of it closed ([`new_password`]): it is
//! how a student who lost both laptop and password gets the account
//! back, and the laptop's sessions and token must end with it.
//!
//! And what deleting an account (`DELACCOUNT`) does, in order:
//!
//! 1. the password is checked as `PASSWD`'s old one is, within the
//!    failed-login limits;
//! 2. a `DELACCOUNT` record is stored before the `OK`: the hash is gone (no password matches what replaces it), the
//!    inbox is emptied, the account leaves every room with its read
//!    marks (1.3: a room homed on another server gets the `LEAVE` its
//!    user's own would send, queued for its home, whose link is woken).
//!    Messages already delivered stay with their recipients (as in
//!    WhatsApp): they are theirs too. The name stays taken for
//!    `--name-quarantine-days`, then may be registered again as a new
//!    account that sees nothing of this one's (docs/PROTOCOL.md §20). A
//!    refusal here (a full disk) changes nothing: devices and files stay;
//! 3. every device is forgotten (tokens and positions) and the account's
//!    files are its name's no more. Neither is refused once the account
//!    is gone: a token of a deleted account finds no account, and a new
//!    account of the name forgets both again before it is made
//!    (`auth::forget_deleted`);
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
use crate::store::devices as book;
use crate::store::files::Files;
use crate::store::{LocalStore, UserId};

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
    let hash = ctx.store.hasher.hash(new).map_err(|e| Ko::new(Code::Internal, e))?;
    let others = if keep {
        store_password(ctx, me.user, hash)?;
        auth::forget_password(ctx, me.name);
        0
    } else {
        new_password(ctx, (me.user, me.name), Some((me.device(), me.conn_id)), hash)?
    };
    log::info!("{}: {} changed its password ({others} other devices logged out)", me.peer, me.name);
    Ok(())
}

/// A new password `hash` for `user` (registered as `name`) that logs out
/// every device but `keep` (its name and the send connection that
/// asked; none: an administrator's reset, every device): their tokens
/// revoked first, then the password stored, then their sessions closed
/// (on a cluster, the leader's router holds every session).
/// Refused (`KO`) with nothing
/// changed: the tokens are put back if the password cannot be stored.
/// Returns how many devices were logged out or revoked.
pub fn new_password(
    ctx: &Ctx,
    (user, name): (UserId, &str),
    keep: Option<(&str, u64)>,
    hash: String,
) -> Result<usize, Ko> {
    let revoked = ctx.devices.revoke_tokens(name, keep.map(|(device, _)| device))?;
    if let Err(ko) = store_password(ctx, user, hash) {
        ctx.devices.restore_tokens(name, &revoked);
        return Err(ko);
    }
    auth::forget_password(ctx, name);
    ctx.router.sends.close(user, keep.map(|(_, conn)| conn));
    let mut closed: Vec<Arc<str>> = Vec::new();
    for outlet in ctx.router.outlets(user) {
        if keep.is_none_or(|(mine, _)| !outlet.device.eq_ignore_ascii_case(mine)) {
            outlet.log_out(LoggedOut::Unlinked);
            closed.push(outlet.device.clone());
        }
    }
    closed.retain(|c| book::find(&revoked, c).is_none());
    Ok(revoked.len() + closed.len())
}

/// `user`'s password hash becomes `hash`, durably.
fn store_password(ctx: &Ctx, user: UserId, hash: String) -> Result<(), Ko> {
    ctx.store.set_password(user, hash).and_then(|ticket| ctx.store.wait(ticket))
}

/// `DELACCOUNT:<password>`, in the order of the module documentation.
/// The asker's own send connection is left open for its `OK`; the
/// caller closes it.
pub fn delete_account(ctx: &Ctx, me: &Asker, password: &str) -> Result<(), Ko> {
    auth::check_password(ctx, me.name, password, me.peer)?;
    // 1.3: the deletion queues a `LEAVE` for the home of each of its rooms
    // on other servers (`#lab@lab2`), whose links wake once it is on disk.
    // Its devices go with the `DELACCOUNT` record, which clears its
    // settings: counted before, for the log.
    let forgot = ctx.devices.on_record(me.name).len();
    ctx.store.wait(ctx.store.delete_account(me.user)?)?;
    // 1.2: its files are its account's, not its name's: a new account
    // under the name gets none of them.
    let files = ctx.files.forget_account(me.name).unwrap_or_else(|ko| {
        log::error!("{}: its files are forgotten when its name is registered again: {}", me.name, ko.reason);
        0
    });
    auth::forget_password(ctx, me.name);
    // 1.2 (§28): its browsers are pushed nothing more.
    if let Err(ko) = ctx.push.book.forget_user(me.user, me.name) {
        log::error!("{}: its push subscriptions stay in push.csv until a restart: {}", me.name, ko.reason);
    }
    ctx.router.sends.close(me.user, Some(me.conn_id));
    for outlet in ctx.router.outlets(me.user) {
        outlet.log_out(LoggedOut::AccountDeleted);
    }
    log::info!(
        "{}: {} deleted its account ({forgot} devices forgotten, {files} files removed)",
        me.peer,
        me.name
    );
    Ok(())
}

// ----- the server's side of `wachat users export NAME` -----------------

/// An account's data as the store holds it, as an export's [`Source`]:
/// the very lines the account's own requests would get (`HISTORY` with
/// edits and deletions folded in, as `server::send` serves it).
pub struct StoreSource<'a> {
    pub store: &'a LocalStore,
    pub user: UserId,
    pub devices: Vec<DeviceLine>,
    /// 1.2: the files, and the account's name (their owner).
    pub files: Option<(&'a Files, &'a str)>,
}

impl Source for StoreSource<'_> {
    fn server(&mut self) -> crate::error::Result<String> {
        Ok(self.store.server().id.to_string())
    }

    fn rooms(&mut self) -> crate::error::Result<Vec<String>> {
        let rooms = self.store.rooms_of(self.user, 0);
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
        Ok(super::files::lines(files, owner))
    }

    fn save_file(&mut self, id: &str, dest: &Path) -> crate::error::Result<u64> {
        let Some((files, _)) = self.files else { return Ok(0) };
        super::files::save(files, id, dest)
    }
}

fn refused(ko: Ko) -> crate::error::Error {
    crate::error::Error::Refused { request: "export".into(), ko }
}

/// The answer to `wachat users export` (`store::door::Inquiry::Export`):
/// the export of the account named in `request` (one line), in JSON Lines
/// as `wachat export` writes it; empty for an unknown name.
pub fn answer_export(ctx: &Ctx, request: &str) -> Result<Vec<u8>, Ko> {
    let name = request.lines().next().unwrap_or("").trim();
    let mut out = Vec::new();
    if let Some(account) = ctx.store.find_account(name) {
        let devices = ctx.devices.list(ctx, account.id, &account.name);
        // The answer is one file of lines: the files are listed, not copied.
        let files = Some((&*ctx.files, &*account.name));
        let mut source = StoreSource { store: &ctx.store, user: account.id, devices, files };
        account_export::write(&account.name, &mut source, &mut out, None)
            .map_err(|e| Ko::new(Code::Internal, format!("exporting {name}: {e}")))?;
    }
    Ok(out)
}
