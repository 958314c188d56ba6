//! The store: what the server remembers, and the promise that an `OK` is on
//! disk.
//!
//! - [`Store`]: what the server's handlers call. It checks passwords
//!   ([`password`]), decides what a block hides and who moderates a room,
//!   checks what an account's change needs before the store writes it
//!   (`register`, `redeem`, `login`, `change_password`), and derefs to
//!   its [`LocalStore`] for everything else: `store.history(…)` is the store's own method,
//!   with no copy of it in between.
//! - [`LocalStore`] ([`local`]): the one store, on a single server and on
//!   every node of a cluster ([`shared_log`]): the state in memory
//!   ([`state`]), the records in a segmented CSV log on disk ([`log`],
//!   [`record`]), checkpoints ([`checkpoint`]), and the group commit
//!   ([`local::committer`]); `local/requests.rs` and `local/reads.rs` hold
//!   what each request does, `local/reader.rs` how records are read back,
//!   `local/search.rs` the index `SEARCH` reads the log with (the query
//!   itself is [`search`]'s), `local/erase.rs` the eraser of deleted texts.
//!   What it takes and gives (a [`Ticket`], an [`Account`], a
//!   [`Listing`], …) is [`interface`]'s.
//! - [`budget`]: what a user, an inbox and the disk may take (`KO:FULL`
//!   past it): `--user-quota`, `--inbox-max`, `--min-free`; [`ballast`]:
//!   the room a write that meets a full disk frees, to be answered.
//! - [`deadline`]: how long one request may wait for a storage that can
//!   make it wait (a cluster's database), all its calls together.
//! - [`options`]: how the local store keeps its files; [`users`]: the
//!   accounts' file, `users.csv`.
//! - [`disk`]: the file interface every write goes through; [`sim_disk`]:
//!   the simulated disk with power cuts that the crash tests use.
//! - [`convert`]: turns a data directory of the first layout (four CSV
//!   files replayed whole at every start) into this one, once.
//! - [`accounts`]: class accounts edited offline (`wachat users …`),
//!   under the data directory's [`lock`].
//! - [`format`](mod@format): the data directory's format version (`format.csv`):
//!   a directory a newer wachat wrote is refused, naming both versions.
//! - [`server_id`]: the data directory's random identity (`server.csv`),
//!   which `SERVER` (protocol 1.1) answers.
//! - [`moderation`]: the rules of a room (protocol 1.2): owner, admins,
//!   modes, topic, invitations, bans and mutes, and who may do what.
//! - [`shared_log`]: one store on several servers: a cluster's leader
//!   commits each batch to a log they share before its own disk, and
//!   the others apply the leader's batches with the same code.
//! - [`settings`]: a user's small per-chat facts (1.2, §23: archived
//!   chats), one generic, bounded store.
//! - [`stars`]: starred messages (1.2, §25), a setting, and what a
//!   user's stars show, for `STARRED` and an account's export alike.
//! - `permissions`: the data directory and its files readable by the
//!   server's user only (`0700`/`0600`), tightened at every start.
//!
//! The store never writes a frame: what it returns to the server are the
//! types of `protocol/` (`Accepted`, `ChatLine`, `RoomLine`, and
//! `HISTORY`'s lines written through `HistoryLineRef`).

pub mod account_export;
pub mod accounts;
pub mod actions_since;
pub mod ballast;
pub mod budget;
pub mod checkpoint;
pub mod convert;
pub mod damage;
pub mod deadline;
pub mod devices;
pub mod disabled;
pub mod disk;
pub mod door;
pub mod files;
pub mod format;
pub mod ids;
pub mod interface;
pub mod invites;
pub mod local;
pub mod lock;
pub mod log;
pub mod meaning;
pub mod moderation;
pub mod options;
pub mod password;
mod permissions;
pub mod prefs;
pub mod profile;
pub mod record;
pub mod search;
pub mod server_id;
pub mod settings;
pub mod shared_log;
pub mod sim_disk;
pub mod stars;
pub mod state;
pub mod thumbnail;
pub mod users;

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use interface::{Account, Deliver, Lines, Listing, Members, Outgoing, Then, Ticket};
pub use local::READ_SEARCH_LIMIT;
pub use local::{FilesInLog, InLog, LocalStore, StoreOptions};
pub use password::Hasher;
pub use record::{Record, StoredMessage};
pub use state::{DEDUP_WINDOW, Delivery, MAX_ROOMS_PER_USER, Pushed, State, UserId};

use crate::protocol::{Code, Ko};

/// The name of the room every account joins at registration.
pub const GENERAL: &str = "#general";

/// Current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// THE rule of whom a user's presence is told: the users who share with `user` one of its `rooms` of at most `limit` members
/// (`--presence-limit`), as [`LocalStore::rooms_of`] reads them with the
/// members of those up to `limit`, in one read. Sorted.
pub fn roommates(user: UserId, limit: usize, rooms: &[(crate::protocol::RoomLine, Members)]) -> Vec<UserId> {
    let small = rooms.iter().filter(|(room, _)| room.members <= limit as u64);
    let ids = small.flat_map(|(_, members)| members.iter().map(|&(id, _)| id));
    let mut mates: Vec<UserId> = ids.filter(|&m| m != user).collect();
    mates.sort_unstable();
    mates.dedup();
    mates
}

/// Shared by every connection handler (behind an `Arc`): passwords here,
/// everything else in the [`LocalStore`], reached through `Deref`.
pub struct Store {
    local: Arc<LocalStore>,
    pub hasher: Hasher,
    /// Recent successful logins (see `password::LoginCache`).
    logins: password::LoginCache,
    /// 1.2 `--name-quarantine-days`: how long a deleted account's name
    /// stays reserved before `REGISTER` may take it again.
    quarantine: Duration,
}

/// Default `--name-quarantine-days`.
pub const NAME_QUARANTINE_DAYS: f64 = 30.0;

impl Store {
    /// A test keeps its own handle on the local store (to checkpoint or
    /// sync it) and hands the store a clone.
    pub fn new(local: Arc<LocalStore>, hasher: Hasher) -> Store {
        let quarantine = Duration::from_secs_f64(NAME_QUARANTINE_DAYS * 86_400.0);
        Store { local, hasher, logins: password::LoginCache::default(), quarantine }
    }

    /// With `--name-quarantine-days` of `quarantine` instead of the default.
    pub fn with_name_quarantine(mut self, quarantine: Duration) -> Store {
        self.quarantine = quarantine;
        self
    }

    // ----- accounts -----------------------------------------------------

    /// Creates an account (and its membership of `#general`), durably: a
    /// new name, or (1.2) the name of an account deleted longer than the
    /// quarantine ago, whose new account sees nothing of the old one's.
    pub fn register(&self, name: &str, email: &str, password: &str) -> Result<(UserId, Arc<str>), Ko> {
        self.register_with(name, email, password, None)
    }

    /// 1.2 `REDEEM`'s first look at a code as typed: the code as printed,
    /// if it lets an account in now (`store::invites::judge`), so that a
    /// wrong one is refused before any password is hashed.
    pub fn check_invite(&self, typed: &str) -> Result<String, Ko> {
        let code = invites::normalize(typed).ok_or_else(|| invites::Refused::Unknown.ko())?;
        invites::judge(self.local.invite(&code), now_ms()).map_err(|refused| refused.ko())?;
        Ok(code)
    }

    /// 1.2 `REDEEM`: [`Store::register`] with the invite `code` (checked),
    /// which the account's batch judges again and uses
    /// (`store::invites`): the account is made and the code used, or
    /// neither.
    pub fn redeem(
        &self,
        code: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<(UserId, Arc<str>), Ko> {
        self.register_with(name, email, password, Some(code))
    }

    fn register_with(
        &self,
        name: &str,
        email: &str,
        password: &str,
        invite: Option<&str>,
    ) -> Result<(UserId, Arc<str>), Ko> {
        let old = self.local.account(name);
        // Hashing is slow on purpose: done before the store locks
        // anything, and before a refusal too, so that a taken name's answer
        // does not come cheaper than a wrong password's.
        let hash = self.hasher.hash(password).map_err(|e| Ko::new(Code::Internal, e))?;
        if let Some(ko) = old.as_ref().and_then(|old| old.refusal(self.quarantine, now_ms())) {
            return Err(ko);
        }
        let (account, ticket) = match old {
            Some(old) => {
                let ticket = self.local.reuse_account(old.id, email, hash.clone(), invite)?;
                (Account { hash, admin: false, ..old }, ticket)
            }
            None => self.local.create_account(name, email, hash, invite)?,
        };
        self.local.wait(ticket)?;
        self.logins.remember(account.id, &account.hash, password);
        Ok((account.id, account.name))
    }

    /// Checks a password. With `auto_register`, an unknown name becomes a
    /// new account with this password.
    pub fn login(&self, name: &str, password: &str, auto_register: bool) -> Result<(UserId, Arc<str>), Ko> {
        match self.local.account(name) {
            Some(a) if self.logins.recall(a.id, &a.hash, password) => Ok((a.id, a.name)),
            Some(a) if self.hasher.verify(Some(&a.hash), password) => {
                self.logins.remember(a.id, &a.hash, password);
                Ok((a.id, a.name))
            }
            None if auto_register => match self.register(name, "", password) {
                // Two first logins at once: the other one created it.
                Err(e) if e.code == Code::UserExists => self.login(name, password, false),
                other => other,
            },
            None => {
                self.hasher.verify(None, password); // same time as a wrong password
                Err(Ko::wrong_login())
            }
            Some(_) => Err(Ko::wrong_login()),
        }
    }

    /// 1.2 `PASSWD`: `user`'s password becomes `new`, durably. The old one
    /// was checked by the caller (within the login limits); the new one is
    /// hashed on the pool, in the registrations' queue, so a crowd of
    /// changes waits behind logins as registrations do.
    pub fn change_password(&self, user: UserId, new: &str) -> Result<(), Ko> {
        let hash = self.hasher.hash(new).map_err(|e| Ko::new(Code::Internal, e))?;
        let ticket = self.local.set_password(user, hash)?;
        self.local.wait(ticket)
    }

    /// `SERVER`'s answer: the data's random id ([`LocalStore::server`]).
    pub fn server_id(&self) -> String {
        self.local.server().id.to_string()
    }

    // ----- rooms ---------------------------------------------------------

    /// True if `user` moderates `room` (a room admin, its owner, or a
    /// server admin): what deleting another member's message asks. The
    /// `ROLE` line of its `ROOMINFO`, so that the rank is the one the
    /// store's rules give (`store::moderation`), not decided again here;
    /// a `ROOMINFO` refused (a stranger, no such room) moderates nothing.
    pub fn is_room_admin(&self, user: UserId, room: &str) -> bool {
        let lines = self.local.room_info(user, room).unwrap_or_default();
        lines.iter().any(|line| matches!(line, crate::protocol::RoomInfoLine::Role(role) if role.moderates()))
    }

    /// `ROOMS` of `user`: its rooms, without their members.
    pub fn rooms(&self, user: UserId) -> Vec<crate::protocol::RoomLine> {
        self.local.rooms_of(user, 0).into_iter().map(|(line, _)| line).collect()
    }

    /// Users who share a room of at most `limit` members with `user`
    /// (`--presence-limit`): whom its presence (`JOINED`/`LEFT`) is told.
    /// Decided by one rule ([`roommates`]), from one read of its
    /// rooms with the members of the small ones.
    pub fn roommates(&self, user: UserId, limit: usize) -> Vec<UserId> {
        roommates(user, limit, &self.local.rooms_of(user, limit))
    }

    // ----- 1.2: what a block hides of messages (§22) ---------------------

    /// Whether a message of `from` to `to` is one a block takes nowhere
    /// (`meaning::send`): `to` is a user who blocked `from`. `server::actions` asks it of a `DELETE`,
    /// which such a block makes inert (§22).
    pub fn hides(&self, from: UserId, to: &crate::protocol::Chat) -> bool {
        matches!(to, crate::protocol::Chat::User(name) if self.is_blocked(name, from))
    }

    /// True if the user called `name` (ignoring case) blocked `whom`: one
    /// key of its [`prefs::BLOCK`] setting.
    pub fn is_blocked(&self, name: &str, whom: UserId) -> bool {
        let keys = settings::Keys::OfAbout { owner: name, about: whom };
        !self.local.read_settings(&prefs::BLOCK, keys).is_empty()
    }

    /// Who blocked `whom` (`MEMBERS` shows them as `UNKNOWN` to it).
    pub fn blockers(&self, whom: UserId) -> Vec<UserId> {
        let kept = self.local.read_settings(&prefs::BLOCK, settings::Keys::About(whom));
        kept.into_iter().map(|k| k.owner).collect()
    }

    /// Whom `user` blocked, as registered, sorted ignoring case (the
    /// order of the setting's keys).
    pub fn blocks(&self, user: UserId) -> Vec<String> {
        self.settings(user, &prefs::BLOCK).into_iter().map(|(_, name)| name).collect()
    }

    /// `user`'s `(key, value)` pairs of `setting`, sorted by key.
    pub fn settings(&self, user: UserId, setting: &settings::Setting) -> Vec<(String, String)> {
        let kept = self.local.read_settings(setting, settings::Keys::Of(user));
        kept.into_iter().map(|k| (k.key, k.value)).collect()
    }

    /// The accounts `user` blocked: whom its presence skips
    /// ([`prefs::shown_to`]). One read, whatever the number of blocks:
    /// each key comes with the account it names ([`settings::KeptKey`]).
    pub fn blocked(&self, user: UserId) -> Vec<UserId> {
        settings::accounts(self.local.read_settings(&prefs::BLOCK, settings::Keys::Of(user)))
    }

    /// `user`'s `key` of `setting` becomes `value` (`None`: removed), a
    /// setting with no rule but its bounds (an archive, a star).
    pub fn set_setting(
        &self,
        user: UserId,
        setting: &'static settings::Setting,
        key: &str,
        value: Option<&str>,
    ) -> Result<Ticket, Ko> {
        self.local.change_setting(user, setting, key, &mut |_| Ok(value.map(String::from)))
    }

    /// The users among `viewers` to whom `user`'s presence and `TYPING`
    /// still flow ([`prefs::shown_to`], given whom it blocked).
    pub fn shown_to(&self, user: UserId, viewers: Vec<UserId>) -> Vec<UserId> {
        prefs::shown_to(&self.blocked(user), viewers)
    }

    /// Whether the account called `name` (ignoring case) is disabled
    /// (`store::disabled`): every login asks.
    pub fn is_disabled(&self, name: &str) -> bool {
        self.user_id(name).is_some_and(|user| is_disabled(&self.local, user))
    }

    /// Disables `user` (`on`) or enables it again; false if it already
    /// was so. Its sessions close once the record is written.
    pub fn set_disabled(&self, user: UserId, on: bool) -> Result<bool, Ko> {
        set_disabled(&self.local, user, on)
    }

    /// The id of an account.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.find_account(name).map(|a| a.id)
    }

    /// The registered spelling of a user name, if the account exists.
    pub fn user_name(&self, name: &str) -> Option<Arc<str>> {
        self.find_account(name).map(|a| a.name)
    }

    /// The account, if it exists.
    pub fn find_account(&self, name: &str) -> Option<Account> {
        self.local.account(name)
    }
}

/// Whether `user` is disabled (`store::disabled`), as `store`'s state
/// has it.
pub fn is_disabled(store: &LocalStore, user: UserId) -> bool {
    !store.read_settings(&disabled::DISABLED, settings::Keys::Of(user)).is_empty()
}

/// Disables `user` (`on`) or enables it again (`store::disabled`),
/// durably once it returns: false if it already was so (nothing is
/// written then).
pub fn set_disabled(store: &LocalStore, user: UserId, on: bool) -> Result<bool, Ko> {
    let mut changed = false;
    let ticket = store.change_setting(user, &disabled::DISABLED, disabled::KEY, &mut |kept| {
        changed = kept.current().is_some() != on;
        Ok(on.then(|| disabled::ON.to_string()))
    })?;
    store.wait(ticket)?;
    Ok(changed)
}

/// `wachat users invite`: invite `codes`, valid until `expires_ms`, kept
/// by `store` (in one batch), durably when it returns
/// (`store::invites`). A code that is not one is refused, and then none
/// is kept.
pub fn keep_invites(store: &LocalStore, codes: &[String], expires_ms: u64) -> Result<(), Ko> {
    if let Some(bad) = codes.iter().find(|code| invites::normalize(code).as_deref() != Some(code.as_str())) {
        return Err(Ko::new(Code::BadRequest, format!("{bad:?} is not an invite code")));
    }
    let ticket = store.keep_invites(codes, expires_ms)?;
    store.wait(ticket)
}

/// `wachat users revoke`: how invite `code` (as typed) was kept (`None`:
/// no such code), revoked durably when it returns if it was unused.
pub fn revoke_invite(store: &LocalStore, code: &str) -> Result<Option<invites::Kept>, Ko> {
    let Some(code) = invites::normalize(code) else { return Ok(None) };
    let (was, ticket) = store.revoke_invite(&code)?;
    store.wait(ticket)?;
    Ok(was)
}

/// Everything but passwords and the rules above the store (1.2: the
/// blocks' reads of [`Store::hides`] and [`Store::shown_to`],
/// [`Store::is_room_admin`], whom presence is told), and the requests'
/// names for the store's changes and reads: `store.history(…)`,
/// `store.wait(ticket)` are [`LocalStore`]'s methods, documented there.
impl Deref for Store {
    type Target = LocalStore;

    fn deref(&self) -> &LocalStore {
        &self.local
    }
}
