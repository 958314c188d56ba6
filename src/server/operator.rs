//! What an administrator asks of a running server, with no restart and no
//! network port of its own: the requests of the `wachat users` commands,
//! left at the server's door (`Door::ask`: a file of the data directory,
//! or a row of a cluster's database) and answered here.
//!
//! The **operator** thread ([`start`]) looks at the door twice a second
//! and answers the requests waiting ([`answer`]):
//!
//! | request (`store::door::Inquiry`) | command | answered by |
//! |---|---|---|
//! | `Status`: names | `users list` | each one's live figures ([`STATUS_HEADER`]) |
//! | `Accounts`: changes | `users add\|import\|passwd\|admin\|room\|disable\|enable\|invite\|revoke` | [`changes`]: made by the server during a class |
//! | `Export`: a name | `users export` | its export (`server::accounts`) |
//! | `Invites`: nothing | `users invites`, `users revoke --unused` | the invite codes ([`INVITES_HEADER`]) |
//!
//! A disabled account (`store::disabled`) is a record the server writes
//! for `users disable`: every login asks the state
//! ([`refuse_disabled`](super::auth::refuse_disabled)), and the record,
//! once written, closes the account's sessions (the router's `written`;
//! on a cluster, the leader's router holds them all).
//!
//! Why files on a single server: the data directory is
//! private to its owner (0700), so whoever may write there is the
//! administrator, and a teacher can see and undo it with `ls` and `rm`. A
//! cluster's door is rows of its database's `admin_requests`, written by
//! whoever may write that database: the same administrator; the leader takes the requests and makes the changes for
//! the whole cluster (a follower's operator does nothing).

use std::fmt::Write as _;
use std::sync::Weak;
use std::thread::JoinHandle;
use std::time::Duration;

use super::Ctx;
use crate::protocol::Ko;
use crate::store::door::{Asked, Inquiry};

#[path = "operator_accounts.rs"]
pub mod changes;

/// How often the operator thread looks at the data directory.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The header of the answer to `wachat users list`'s request for live
/// figures (one name a line).
pub const STATUS_HEADER: &str = "name,online,last_seen_ms,rooms,chats,unread,admin,deleted,disabled";
/// The header of the answer to `wachat users invites`' request: every
/// invite code the server keeps, by expiry (`used`: `true` or `false`).
pub const INVITES_HEADER: &str = "code,expires_ms,used";
/// Most names one status request may ask about.
const MAX_STATUS_NAMES: usize = 100_000;
/// Most requests answered in one look: the uploads are swept at the next
/// one whatever waits at the door.
const MAX_ANSWERS_A_LOOK: usize = 8;

/// Starts the operator thread. It holds the server only weakly and ends
/// at the first look after the server is gone or shutting down.
pub fn start(ctx: Weak<Ctx>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("operator".into()).spawn(move || {
        loop {
            std::thread::sleep(LOOK_EVERY);
            let Some(ctx) = ctx.upgrade() else { return };
            if ctx.shutting_down() {
                return;
            }
            // A cluster's follower leaves it all to the leader, which
            // answers the door and holds every session.
            if ctx.leader().is_some() {
                continue;
            }
            look(&ctx);
            ctx.files.sweep(crate::store::now_ms()); // 1.2: uploads not finished in time
        }
    })
}

/// One look: answers the requests waiting.
fn look(ctx: &Ctx) {
    for asked in std::iter::from_fn(|| ctx.door.next_request()).take(MAX_ANSWERS_A_LOOK) {
        let answered = answer(ctx, &asked).and_then(|bytes| ctx.door.answer(&asked, &bytes));
        if let Err(ko) = answered {
            log::warn!("the request of wachat users ({:?}) was not answered: {}", asked.kind, ko.reason);
        }
    }
}

/// The answer to a request taken at the door.
fn answer(ctx: &Ctx, asked: &Asked) -> Result<Vec<u8>, Ko> {
    match asked.kind {
        Inquiry::Status => Ok(status(ctx, &String::from_utf8_lossy(&asked.body)).into_bytes()),
        Inquiry::Accounts => Ok(changes::answer(ctx, &asked.body)),
        Inquiry::Export => super::accounts::answer_export(ctx, &String::from_utf8_lossy(&asked.body)),
        Inquiry::Invites => Ok(invites(ctx).into_bytes()),
    }
}

/// Every invite code the state keeps, one a line (a code needs no quoting).
fn invites(ctx: &Ctx) -> String {
    let mut out = format!("{INVITES_HEADER}\n");
    for (code, kept) in ctx.store.invites() {
        let _ = writeln!(out, "{code},{},{}", kept.expires_ms, kept.used);
    }
    out
}

/// The live figures of the accounts named in `request`, one a line.
fn status(ctx: &Ctx, request: &str) -> String {
    let mut out = format!("{STATUS_HEADER}\n");
    for name in request.lines().take(MAX_STATUS_NAMES) {
        // One read of the account: its id, and (1.2) whether it is a
        // server admin and deleted as the server knows it (its log),
        // which `users.csv` says only from the next checkpoint on.
        let Some(account) = ctx.store.find_account(name) else { continue };
        let (user, admin, deleted) = (account.id, account.admin, account.is_deleted());
        let disabled = ctx.store.is_disabled(name);
        let online = ctx.router.is_online(user);
        let last_seen = ctx.store.last_seen(user).map_or(String::new(), |ts| ts.to_string());
        let rooms = ctx.store.rooms(user).len();
        let (chats, unread) =
            ctx.store.chats(user).map_or((0, 0), |c| (c.len(), c.iter().map(|l| l.unread).sum::<u64>()));
        // The name is a checked one (an account has it): no field needs quoting.
        let _ = writeln!(
            out,
            "{name},{online},{last_seen},{rooms},{chats},{unread},{admin},{deleted},{disabled}"
        );
    }
    out
}
