//! `LOGIN` and `REGISTER`, the first frame on either port (protocol §3),
//! and the limits that keep them from being abused.
//!
//! Every password check and every new account costs an argon2 hash, on
//! purpose. What a client may make the server hash is limited *before*
//! hashing, by the token buckets of [`AuthLimits`]:
//!
//! | bucket | what it stops |
//! |---|---|
//! | failures per (account, address) | one client guessing one password |
//! | failures per account, from addresses it never logged in from | many addresses guessing one password |
//! | failures per address, at any account | one client trying passwords on many accounts |
//! | new accounts per address, and overall | filling the disk (and the hash pool) with accounts |
//!
//! The tokens are taken before the hash and given back when it logs in:
//! only a real failure keeps them. An attempt that finds a bucket empty
//! while attempts in flight hold its tokens waits in line for their
//! outcome instead of being refused (`limits::InFlight`): a class logging
//! in at once from one address is no failure, and the hashes in flight
//! stay bounded by the bucket.
//!
//! A `REGISTER` for a name that is taken is a failed attempt at that name:
//! it costs a hash and takes the same tokens as a wrong password, so
//! finding out which accounts exist is as slow as guessing passwords.
//!
//! A stranger must not be able to lock a user out by failing on purpose.
//! So an (account, address) pair that has logged in successfully is
//! *known*, and a known pair is held back only by its own bucket: the
//! failures of others (at the account, or from the address, such as a
//! classmate behind the same NAT spraying guesses) do not refuse it.
//!
//! Its own bucket is still shared with a stranger guessing at that very
//! account from that very address (a lab's NAT). When it is empty, a
//! `LOGIN` of a known pair gets a second chance: its password is compared,
//! cheaply, with the one that last logged in from there (see `known.rs`),
//! and only if it is that one, checked against the stored hash (a
//! password changed since, protocol 1.2's `PASSWD`, does not log in),
//! within a grace bucket of [`GRACE_BURST`] wrong guesses, refilled at
//! [`GRACE_PER_SEC`]. The right password logs in and gives its token back;
//! a wrong one is refused as if unchecked (`KO:RATE_LIMITED`) and spends
//! it. The trade-off, in numbers: a stranger at bob's address may make
//! 5 + 360 guesses an hour at bob (the pair's own bucket) plus 300
//! a day (the grace), no wrong one of the grace costing a hash; bob gets in
//! until the stranger has spent those 300 in a day. Past them he waits
//! like everyone, with his password; his linked devices do not wait at
//! all: a `LOGIN:<user>@<device>:<token>` with that device's token is
//! checked first (a SHA-256, no bucket taken) and never throttled by
//! anyone else's failures (OWASP's "device cookie"; protocol 1.2, §16).
//! A wrong token is then tried as a password, within the buckets.
//!
//! `PAIR:<user>@<device>:<code>` (a code of `LINK`) is an attempt at
//! `<user>` like a password, in buckets of its own (as many, as large):
//! shared buckets would let 60 wrong codes from 60 addresses empty the
//! account's bucket, and a right password from a new address be refused. A
//! code is 50 random bits valid 5 minutes; guessing one is no way to guess
//! a password, so its failures say nothing about password guessers.
//!
//! Known pairs survive a restart (`known.csv`, see `known.rs`), without
//! the MAC of their password: until a pair's next login, its second
//! chance checks the stored hash, within a bucket of [`RELEARN_BURST`]
//! per pair refilled at [`RELEARN_PER_SEC`].
//!
//! New accounts have a reserve for fresh addresses (see
//! [`AuthLimits::begin_registration`]): a flood from many addresses that
//! empties the overall cap takes at most one of them per address, so a
//! classmate on an address that made no account lately still registers.

use std::net::IpAddr;
use std::sync::Arc;

use super::Ctx;
use super::log_limit::log_limited;
use super::throttle::address_key;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko, Request};
use crate::store::UserId;
pub use crate::store::devices::Proof;
use watch::Limit;

mod limits;
mod outcome;
pub mod watch;
use limits::Second;
pub use limits::{AuthLimits, GRACE_BURST, GRACE_PER_SEC, RELEARN_BURST, RELEARN_PER_SEC};
pub use outcome::Outcome;

/// Handles one frame of a connection that is not logged in yet; `peer` is
/// where the connection comes from, and `opens` whether the frame's word
/// may open a session (its row of the request table, `requests::may_open`):
/// a malformed one of those is told what is wrong, anything else that it
/// must log in first. The caller asks the table because this module
/// cannot: the first frames' handler (`requests::login::first_frame`)
/// calls it, and an arrow back would close a circle of imports
/// (tests/tools/layers.rs).
pub fn authenticate(ctx: &Ctx, line: &str, peer: IpAddr, opens: bool) -> Outcome {
    let mut disabled = false;
    let outcome = match check_first_frame(ctx, line, peer, opens) {
        // A disabled account's password is right, and it is still refused
        // (`wachat users disable`), on every port.
        Outcome::LoggedIn(_, name, _) if let Err(ko) = refuse_disabled(ctx, &name) => {
            log::info!("{peer}: {name} refused: disabled");
            disabled = true;
            Outcome::Refused(ko)
        }
        outcome => outcome,
    };
    let metrics = crate::metrics::get();
    let address = address_key(peer);
    match &outcome {
        Outcome::LoggedIn(_, name, _) => {
            ctx.watch.logged_in(name, address);
            metrics.logins_ok.inc();
        }
        // A disabled account's right password is no failed login.
        Outcome::Refused(ko) if ko.code == Code::AuthFailed && !disabled => {
            metrics.logins_failed.inc();
        }
        Outcome::Refused(ko) if ko.code == Code::RateLimited => {
            let limit = if ko.reason.contains("new accounts") { Limit::NewAccounts } else { Limit::Logins };
            ctx.watch.refused(first_frame_user(line).as_deref(), address, limit);
        }
        Outcome::Refused(_) | Outcome::Paired(_) => {}
    };
    outcome
}

/// The user a first frame names (`LOGIN`, `REGISTER`, `REDEEM`, `PAIR`),
/// if it parses, for what [`watch`] counts.
fn first_frame_user(line: &str) -> Option<String> {
    match Request::parse(line).ok()? {
        Request::Login { user, .. }
        | Request::Register { user, .. }
        | Request::Redeem { user, .. }
        | Request::Pair { user, .. } => Some(user),
        _ => None,
    }
}

/// [`authenticate`], before the metrics count its outcome.
fn check_first_frame(ctx: &Ctx, line: &str, peer: IpAddr, opens: bool) -> Outcome {
    let addr = address_key(peer);
    match Request::parse(line) {
        Ok(Request::Login { user, device: Some(device), password })
            if ctx.devices.token_matches(&user, &device, &password) =>
        {
            // A linked device's token: no hash, no bucket (module docs).
            // (1.2: a deleted account's devices are forgotten; a token
            // that a race let through still finds no account.)
            match ctx.store.find_account(&user) {
                Some(account) if !account.is_deleted() => {
                    Outcome::LoggedIn(account.id, account.name, Proof::Token)
                }
                _ => Outcome::Refused(Ko::wrong_login()),
            }
        }
        Ok(Request::Pair { user, device, code }) => pair(ctx, &user, &device, &code, peer),
        Ok(Request::Login { user, password, .. }) => {
            // With --auto-register, a login for a new name creates an account.
            let new = ctx.config.auto_register && ctx.store.user_id(&user).is_none();
            if new && let Err(ko) = crate::store::password::check_new(&password) {
                return Outcome::Refused(ko);
            }
            let registration = if new { ctx.auth.begin_registration(addr).map(Some) } else { Ok(None) };
            let took = match registration {
                Ok(took) => took,
                Err(ko) => {
                    log_limited!(ctx.logs.throttled, info, "{peer}: {}", ko.reason);
                    return Outcome::Refused(ko);
                }
            };
            let check = || ctx.store.login(&user, &password, new);
            let outcome = attempt(ctx, &user, &password, peer, Grace::Allowed, check);
            if let Some(took) = took
                && !matches!(outcome, Outcome::LoggedIn(..))
            {
                ctx.auth.cancel_registration(addr, took);
            }
            outcome
        }
        Ok(Request::Register { user, email, password }) => match ctx.config.registration.refuses_register() {
            Some(ko) => Outcome::Refused(ko),
            None => register(ctx, &user, &email, &password, peer),
        },
        // REDEEM: an account with an invite code, used up only if the
        // account is made (a taken name leaves it valid).
        Ok(Request::Redeem { code, user, email, password }) => {
            match ctx.config.registration.check_redeem(&ctx.store, &code, &password) {
                Err(ko) => {
                    log_limited!(ctx.logs.auth, warn, "{peer}: REDEEM for {user} refused: {}", ko.reason);
                    Outcome::Refused(ko)
                }
                Ok(code) => {
                    let outcome = create(ctx, &user, &email, &password, peer, Some(&code));
                    if let Outcome::LoggedIn(_, name, _) = &outcome {
                        log::info!("{peer}: new account {name} (invite code)");
                    }
                    outcome
                }
            }
        }
        // A malformed LOGIN/REGISTER: say what is wrong, let them retry.
        Err(ko) if opens => Outcome::Refused(ko),
        // `VERSION` typed first on the send port is a mix-up of
        // the ports; the same code, and a text that says where it goes.
        _ if crate::protocol::request::command_word(line) == "VERSION" => Outcome::Refused(Ko::new(
            Code::AuthRequired,
            "log in first: LOGIN:<user>:<password>; VERSION is said on the receive port, with its login",
        )),
        _ => Outcome::Refused(Ko::new(Code::AuthRequired, "log in first: LOGIN:<user>:<password>")),
    }
}

/// `KO:AUTH_FAILED` if `name`'s account is disabled (`wachat users
/// disable`): a record of the log, as the state has it (`store::disabled`).
pub fn refuse_disabled(ctx: &Ctx, name: &str) -> Result<(), Ko> {
    if ctx.store.is_disabled(name) {
        return Err(Ko::new(
            Code::AuthFailed,
            format!("the account {name} is disabled by the server's administrator"),
        ));
    }
    Ok(())
}

/// 1.2 (`PASSWD`, `server::accounts`): `password` checked
/// as a login attempt at `user` from `peer`, within the same failed-login
/// limits (no known pair's grace: the password itself must be right). A
/// wrong one is `KO:FORBIDDEN`, not `KO:AUTH_FAILED`, which would close a
/// session that is logged in; its tokens stay taken, as a failed login's.
pub fn check_password(ctx: &Ctx, user: &str, password: &str, peer: IpAddr) -> Result<(), Ko> {
    let check = || ctx.store.login(user, password, false);
    match attempt(ctx, user, password, peer, Grace::Denied, check) {
        Outcome::LoggedIn(..) => Ok(()),
        Outcome::Refused(ko) if ko.code == Code::AuthFailed => {
            crate::metrics::get().logins_failed.inc();
            Err(Ko::new(Code::Forbidden, "wrong password"))
        }
        Outcome::Refused(ko) => Err(ko),
        Outcome::Paired(_) => Err(Ko::new(Code::Internal, "a password check made a token")),
    }
}

/// 1.2: `user` (as registered) has a new password: what the login limits
/// remember of the old one is forgotten (see [`KnownPairs::forget`](super::known::KnownPairs::forget)).
pub fn forget_password(ctx: &Ctx, user: &str) {
    ctx.auth.known.forget(&fold(user));
}

/// `PAIR`: trades a code of `LINK` for the device's token, as an attempt
/// at `user` within the failed-login limits (a wrong code is a failure).
fn pair(ctx: &Ctx, user: &str, device: &str, code: &str, peer: IpAddr) -> Outcome {
    let attempt = match ctx.auth.begin_as(true, user, address_key(peer)) {
        Ok(attempt) => attempt,
        Err(ko) => {
            log_limited!(ctx.logs.throttled, warn, "{peer}: too many failed attempts at {user}: throttled");
            return Outcome::Refused(ko);
        }
    };
    let account = ctx.store.find_account(user).filter(|a| !a.is_deleted());
    let valid = account.is_some_and(|a| ctx.devices.take_code(a.id, code));
    if !valid {
        log_limited!(ctx.logs.auth, info, "{peer}: wrong link code for {user}");
        return Outcome::Refused(Ko::new(Code::AuthFailed, "wrong, used or expired link code"));
    }
    ctx.auth.give_back(attempt);
    let name = ctx.store.user_name(user).map_or_else(|| user.to_string(), |n| n.to_string());
    match ctx.devices.new_token(&name, device, peer) {
        Ok(token) => {
            log::info!("{peer}: {name} linked the device {device}");
            Outcome::Paired(token)
        }
        Err(ko) => Outcome::Refused(ko),
    }
}

/// The device a first frame logs in as (`LOGIN:<user>@<device>:…`), if it
/// names one.
pub fn login_device(line: &str) -> Option<String> {
    match Request::parse(line) {
        Ok(Request::Login { device, .. }) => device,
        _ => None,
    }
}

/// Whether a refused attempt may have a known pair's second chance: a
/// `LOGIN` may, a `REGISTER` (which must create, not log in) may not.
#[derive(PartialEq)]
enum Grace {
    Allowed,
    Denied,
}

/// Runs `check` (which hashes) as an attempt at `user` with `password`,
/// within the failed-login limits.
fn attempt(
    ctx: &Ctx,
    user: &str,
    password: &str,
    peer: IpAddr,
    grace: Grace,
    check: impl FnOnce() -> Result<(UserId, Arc<str>), Ko>,
) -> Outcome {
    let attempt = match ctx.auth.begin(user, address_key(peer)) {
        Ok(attempt) => attempt,
        Err(ko) => {
            let addr = address_key(peer);
            let second = if grace == Grace::Allowed {
                ctx.auth.second_chance(user, addr, password)
            } else {
                Second::No
            };
            if second != Second::No {
                // The password that logged in from here last, or (after a
                // restart, which forgets it) within the relearn bucket.
                // Still checked against the stored hash (the cache of
                // recent logins, else one argon2): it may have been changed
                // since (`PASSWD`, 1.2), on a cluster by another node while
                // it led, whose `forget_password` did not reach this
                // node's known pairs. A wrong guess gets here only past a restart, each
                // a relearn token.
                if let Ok((id, name)) = ctx.store.login(user, password, false) {
                    ctx.auth.let_in(user, addr, password, second);
                    return Outcome::LoggedIn(id, name, Proof::Password);
                }
            }
            // A limit acting is what the operator must hear about (WARN);
            // a single failed login is a person mistyping (INFO).
            log_limited!(ctx.logs.throttled, warn, "{peer}: too many failed attempts at {user}: throttled");
            return Outcome::Refused(ko);
        }
    };
    match check() {
        Ok((id, name)) => {
            ctx.auth.succeeded(attempt, password);
            Outcome::LoggedIn(id, name, Proof::Password)
        }
        Err(ko) => {
            if matches!(ko.code, Code::AuthFailed | Code::UserExists) {
                // The tokens stay taken: this is what the limits count.
                log_limited!(ctx.logs.auth, info, "{peer}: {} for {user}", failure(ko.code));
            } else {
                ctx.auth.give_back(attempt);
            }
            Outcome::Refused(ko)
        }
    }
}

fn failure(code: Code) -> &'static str {
    if code == Code::UserExists { "registration of a taken name" } else { "failed login" }
}

/// `REGISTER`: a new account, within the registration limits; a taken
/// name costs what a wrong password costs.
fn register(ctx: &Ctx, user: &str, email: &str, password: &str, peer: IpAddr) -> Outcome {
    // A request the server would refuse anyway takes no registration token.
    if let Err(ko) = crate::store::password::check_new(password) {
        return Outcome::Refused(ko);
    }
    let addr = address_key(peer);
    let took = match ctx.auth.begin_registration(addr) {
        Ok(took) => took,
        Err(ko) => {
            log_limited!(ctx.logs.throttled, info, "{peer}: registration of {user} throttled: {}", ko.reason);
            return Outcome::Refused(ko);
        }
    };
    let outcome = create(ctx, user, email, password, peer, None);
    match &outcome {
        Outcome::LoggedIn(_, name, _) => log::info!("{peer}: new account {name}"),
        Outcome::Refused(_) | Outcome::Paired(_) => ctx.auth.cancel_registration(addr, took),
    }
    outcome
}

/// Creates an account as an attempt at its name (for `REGISTER` within
/// the register caps, and `REDEEM` with a code): a taken name costs what
/// a wrong password costs.
fn create(ctx: &Ctx, user: &str, email: &str, password: &str, peer: IpAddr, invite: Option<&str>) -> Outcome {
    // A taken name is refused as slowly as a wrong password (`Store::register`).
    attempt(ctx, user, password, peer, Grace::Denied, || {
        forget_deleted(ctx, user)?;
        match invite {
            Some(code) => ctx.store.redeem(code, user, email, password),
            None => ctx.store.register(user, email, password),
        }
    })
}

/// 1.2: before a deleted account's name gets a new account, what the
/// old one's files owed to its name is forgotten, again: a crash between
/// `DELACCOUNT`'s steps (the account, then its files) must not hand a
/// file to the new account. (Its devices went with the `DELACCOUNT`
/// record itself, which clears its settings.)
fn forget_deleted(ctx: &Ctx, user: &str) -> Result<(), Ko> {
    match ctx.store.find_account(user) {
        Some(old) if old.is_deleted() => ctx.files.forget_account(&old.name).map(drop),
        _ => Ok(()),
    }
}
