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
//! 5 + 360 guesses an hour at bob (the pair's bucket, as before) plus 300
//! a day (the grace), no wrong one of the grace costing a hash; bob gets in
//! until the stranger has spent those 300 in a day. Past them he waits
//! like everyone, with his password; his linked devices do not wait at
//! all: a `LOGIN:<user>@<device>:<token>` with that device's token is
//! checked first (a SHA-256, no bucket taken) and never throttled by
//! anyone else's failures (OWASP's "device cookie"; protocol 1.2, §16).
//! A wrong token is then tried as a password, within the buckets.
//!
//! `PAIR:<user>@<device>:<code>` (a code of `LINK`) is an attempt at
//! `<user>` like a password: a wrong code takes the same tokens.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use super::known::{KnownPairs, Pair};
use super::log_limit::log_limited;
use super::registration;
use super::throttle::{Throttle, address_key, whole_secs};
use crate::protocol::names::fold;
use crate::protocol::request::command_word;
use crate::protocol::{Code, Ko, Request};
use crate::store::{UserId, disabled};

/// What a frame sent before login leads to.
pub enum Outcome {
    /// Logged in as this user (registered spelling).
    LoggedIn(UserId, Arc<str>),
    /// Refused; the connection stays open if the code allows it.
    Refused(Ko),
    /// `PAIR` gave this device token (`OK:<token>`); the connection waits
    /// for a `LOGIN`.
    Paired(String),
}

/// Failed attempts of one address at one account: 5, then one every 10 s.
const PAIR_BURST: u32 = 5;
const PAIR_PER_SEC: f64 = 0.1;
/// Failed attempts at one account from all the addresses it is not known
/// at: 20, then one every 15 s (240 an hour, however many addresses guess).
const ACCOUNT_BURST: u32 = 20;
const ACCOUNT_PER_SEC: f64 = 1.0 / 15.0;
/// Failed attempts from one address at any account: a classroom may share
/// one address, so 30, then one a second.
const ADDR_BURST: u32 = 30;
const ADDR_PER_SEC: f64 = 1.0;
/// New accounts from one address: a class of 60 registering at once
/// behind one NAT, then one a minute.
const REGISTER_ADDR_BURST: u32 = 60;
const REGISTER_ADDR_PER_SEC: f64 = 1.0 / 60.0;
/// New accounts from every address together: 600, then one every 6 s.
const REGISTER_ALL_BURST: u32 = 600;
const REGISTER_ALL_PER_SEC: f64 = 1.0 / 6.0;
/// Wrong guesses at a known pair once its own bucket is empty, checked
/// without a hash: 300, then 300 a day (one every 288 s). A day's worth, so
/// that a stranger who spends them all adds 3.5 % to the pair's 8,640 a day.
pub const GRACE_BURST: u32 = 300;
pub const GRACE_PER_SEC: f64 = 300.0 / 86_400.0;

/// The login and registration limits (see the module documentation).
pub struct AuthLimits {
    pairs: Throttle<(String, IpAddr)>,
    accounts: Throttle<String>,
    addrs: Throttle<IpAddr>,
    registrations: Throttle<IpAddr>,
    all_registrations: Throttle<()>,
    /// (account, address) pairs that logged in, and with which password.
    known: KnownPairs,
    /// Wrong passwords of known pairs checked past their own bucket.
    grace: Throttle<Pair>,
    /// Addresses without per-address limits (`--exempt`).
    exempt: Vec<IpAddr>,
}

/// The tokens one attempt took, to give back if it succeeds.
struct Attempt {
    pair: (String, IpAddr),
    account: Option<String>,
    addr: Option<IpAddr>,
}

impl AuthLimits {
    /// Limits with no per-address limit for the `exempt` addresses.
    pub fn new(exempt: &[IpAddr]) -> AuthLimits {
        AuthLimits {
            pairs: Throttle::new(PAIR_BURST, PAIR_PER_SEC),
            accounts: Throttle::new(ACCOUNT_BURST, ACCOUNT_PER_SEC),
            addrs: Throttle::new(ADDR_BURST, ADDR_PER_SEC),
            registrations: Throttle::new(REGISTER_ADDR_BURST, REGISTER_ADDR_PER_SEC),
            all_registrations: Throttle::new(REGISTER_ALL_BURST, REGISTER_ALL_PER_SEC),
            known: KnownPairs::default(),
            grace: Throttle::new(GRACE_BURST, GRACE_PER_SEC),
            exempt: exempt.iter().map(|&ip| address_key(ip)).collect(),
        }
    }

    fn is_exempt(&self, addr: IpAddr) -> bool {
        self.exempt.contains(&addr)
    }

    /// Takes the tokens of one attempt at `user` from `addr`, before any
    /// hashing; refused if a bucket that applies is empty.
    fn begin(&self, user: &str, addr: IpAddr) -> Result<Attempt, Ko> {
        let pair = (fold(user), addr);
        let known = self.known.contains(&pair);
        let refused = |wait: Duration| {
            let secs = whole_secs(wait);
            Ko::new(Code::RateLimited, format!("too many failed logins; try again in {secs} s"))
        };
        self.pairs.try_take(pair.clone(), 1).map_err(refused)?;
        let mut attempt = Attempt { pair, account: None, addr: None };
        if !known {
            if let Err(wait) = self.accounts.try_take(attempt.pair.0.clone(), 1) {
                self.give_back(attempt);
                return Err(refused(wait));
            }
            attempt.account = Some(attempt.pair.0.clone());
        }
        if !known && !self.is_exempt(addr) {
            if let Err(wait) = self.addrs.try_take(addr, 1) {
                self.give_back(attempt);
                return Err(refused(wait));
            }
            attempt.addr = Some(addr);
        }
        Ok(attempt)
    }

    /// The attempt did not count as a failure: its tokens go back.
    fn give_back(&self, attempt: Attempt) {
        if let Some(addr) = attempt.addr {
            self.addrs.give_back(addr);
        }
        if let Some(account) = attempt.account {
            self.accounts.give_back(account);
        }
        self.pairs.give_back(attempt.pair);
    }

    /// The attempt logged in with `password`: its tokens go back, and its
    /// pair is known.
    fn succeeded(&self, attempt: Attempt, password: &str) {
        let pair = attempt.pair.clone();
        self.give_back(attempt);
        self.known.remember(pair, password);
    }

    /// A known pair's second chance, once its own bucket refused it: true
    /// if `password` is the one that last logged in from there, within
    /// the grace bucket (see the module documentation).
    fn grace(&self, user: &str, addr: IpAddr, password: &str) -> bool {
        let pair = (fold(user), addr);
        if !self.known.contains(&pair) || self.grace.try_take(pair.clone(), 1).is_err() {
            return false;
        }
        let right = self.known.recall(&pair, password);
        if right {
            self.grace.give_back(pair);
        }
        right
    }

    /// Takes the tokens of a new account from `addr`.
    fn begin_registration(&self, addr: IpAddr) -> Result<(), Ko> {
        if self.is_exempt(addr) {
            return Ok(());
        }
        let refused = |wait: Duration, whose: &str| {
            let secs = whole_secs(wait);
            Ko::new(Code::RateLimited, format!("too many new accounts{whose}; try again in {secs} s"))
        };
        self.registrations.try_take(addr, 1).map_err(|wait| refused(wait, " from your address"))?;
        if let Err(wait) = self.all_registrations.try_take((), 1) {
            self.registrations.give_back(addr);
            return Err(refused(wait, ""));
        }
        Ok(())
    }

    /// No account was created after all.
    fn cancel_registration(&self, addr: IpAddr) {
        if !self.is_exempt(addr) {
            self.registrations.give_back(addr);
            self.all_registrations.give_back(());
        }
    }
}

/// Handles one frame of a connection that is not logged in yet; `peer` is
/// where the connection comes from.
pub fn authenticate(ctx: &Ctx, line: &str, peer: IpAddr) -> Outcome {
    let outcome = match check_first_frame(ctx, line, peer) {
        // A disabled account's password is right, and it is still refused
        // (`wachat users disable`), on every port.
        Outcome::LoggedIn(_, name) if let Err(ko) = refuse_disabled(ctx, &name) => {
            log::info!("{peer}: {name} refused: disabled");
            Outcome::Refused(ko)
        }
        outcome => outcome,
    };
    let metrics = crate::metrics::get();
    match &outcome {
        Outcome::LoggedIn(..) => metrics.logins_ok.inc(),
        Outcome::Refused(ko) if ko.code == Code::AuthFailed => metrics.logins_failed.inc(),
        Outcome::Refused(_) | Outcome::Paired(_) => 0,
    };
    outcome
}

/// [`authenticate`], before the metrics count its outcome.
fn check_first_frame(ctx: &Ctx, line: &str, peer: IpAddr) -> Outcome {
    let addr = address_key(peer);
    match Request::parse(line) {
        Ok(Request::Login { user, device: Some(device), password })
            if ctx.devices.token_matches(&user, &device, &password) =>
        {
            // A linked device's token: no hash, no bucket (module docs).
            // (1.2: a deleted account's devices are forgotten; a token
            // that a race let through still finds no account.)
            match ctx.store.find_account(&user) {
                Some(account) if !account.is_deleted() => Outcome::LoggedIn(account.id, account.name),
                _ => Outcome::Refused(Ko::new(Code::AuthFailed, "wrong user or password")),
            }
        }
        Ok(Request::Pair { user, device, code }) => pair(ctx, &user, &device, &code, peer),
        Ok(Request::Login { user, password, .. }) => {
            // With --auto-register, a login for a new name creates an account.
            let new = ctx.config.auto_register && ctx.store.user_id(&user).is_none();
            if new && let Err(ko) = crate::store::password::check_new(&password) {
                return Outcome::Refused(ko);
            }
            let registration = if new { ctx.auth.begin_registration(addr) } else { Ok(()) };
            if let Err(ko) = registration {
                log_limited!(ctx.logs.throttled, info, "{peer}: {}", ko.reason);
                return Outcome::Refused(ko);
            }
            let check = || ctx.store.login(&user, &password, new);
            let outcome = attempt(ctx, &user, &password, peer, Grace::Allowed, check);
            if new && !matches!(outcome, Outcome::LoggedIn(..)) {
                ctx.auth.cancel_registration(addr);
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
            match registration::claim_invite(ctx, &code, &user, &password, peer) {
                Err(ko) => Outcome::Refused(ko),
                Ok(claim) => {
                    let outcome = create(ctx, &user, &email, &password, peer);
                    match &outcome {
                        Outcome::LoggedIn(_, name) => log::info!("{peer}: new account {name} (invite code)"),
                        Outcome::Refused(_) | Outcome::Paired(_) => claim.release(),
                    }
                    outcome
                }
            }
        }
        // A malformed LOGIN/REGISTER: say what is wrong, let them retry.
        Err(ko) if matches!(command_word(line), "LOGIN" | "REGISTER" | "REDEEM" | "PAIR") => {
            Outcome::Refused(ko)
        }
        _ => Outcome::Refused(Ko::new(Code::AuthRequired, "log in first: LOGIN:<user>:<password>")),
    }
}

/// `KO:AUTH_FAILED` if `name`'s account is disabled (`wachat users
/// disable`, `server::operator`).
pub fn refuse_disabled(ctx: &Ctx, name: &str) -> Result<(), Ko> {
    if disabled::is_disabled(&ctx.config.data_dir, name) {
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
/// remember of the old one is forgotten (see [`KnownPairs::forget`]).
pub fn forget_password(ctx: &Ctx, user: &str) {
    ctx.auth.known.forget(&fold(user));
}

/// `PAIR`: trades a code of `LINK` for the device's token, as an attempt
/// at `user` within the failed-login limits (a wrong code is a failure).
fn pair(ctx: &Ctx, user: &str, device: &str, code: &str, peer: IpAddr) -> Outcome {
    let attempt = match ctx.auth.begin(user, address_key(peer)) {
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
            if grace == Grace::Allowed && ctx.auth.grace(user, address_key(peer), password) {
                // The password that logged in from here last. Still checked
                // against the stored hash (the cache of recent logins, else
                // one argon2): it may have been changed since (`PASSWD`,
                // 1.2), on another node of a cluster too, whose known pairs
                // this node's `forget_password` did not reach. Wrong guesses
                // never get here: they cost no hash.
                if let Ok((id, name)) = ctx.store.login(user, password, false) {
                    return Outcome::LoggedIn(id, name);
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
            Outcome::LoggedIn(id, name)
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
    if let Err(ko) = ctx.auth.begin_registration(addr) {
        log_limited!(ctx.logs.throttled, info, "{peer}: registration of {user} throttled: {}", ko.reason);
        return Outcome::Refused(ko);
    }
    let outcome = create(ctx, user, email, password, peer);
    match &outcome {
        Outcome::LoggedIn(_, name) => log::info!("{peer}: new account {name}"),
        Outcome::Refused(_) | Outcome::Paired(_) => ctx.auth.cancel_registration(addr),
    }
    outcome
}

/// Creates an account as an attempt at its name (for `REGISTER` within
/// the register caps, and `REDEEM` with a code): a taken name costs what
/// a wrong password costs.
fn create(ctx: &Ctx, user: &str, email: &str, password: &str, peer: IpAddr) -> Outcome {
    // A taken name is refused as slowly as a wrong password (`Store::register`).
    attempt(ctx, user, password, peer, Grace::Denied, || ctx.store.register(user, email, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn fail(limits: &AuthLimits, user: &str, addr: IpAddr) -> Result<(), Ko> {
        limits.begin(user, addr).map(drop) // the tokens stay taken
    }

    #[test]
    fn a_known_pair_is_not_held_back_by_strangers() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("bob", A).unwrap(), "pw");
        // A stranger guesses bob's password until throttled ...
        let refused = (0..100).find(|_| fail(&limits, "bob", B).is_err()).unwrap();
        assert_eq!(refused, PAIR_BURST as usize);
        // ... and a swarm of addresses until the account bucket is empty.
        for i in 0..ACCOUNT_BURST {
            let _ = fail(&limits, "bob", IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 0, i as u8)));
        }
        let newcomer = IpAddr::V4(std::net::Ipv4Addr::new(10, 2, 0, 1));
        assert_eq!(
            fail(&limits, "bob", newcomer).unwrap_err().code,
            Code::RateLimited,
            "distributed: slowed"
        );
        // Bob, from where he logged in before, is not refused.
        limits.succeeded(limits.begin("BOB", A).expect("bob's own address"), "pw");
    }

    #[test]
    fn a_pair_is_held_back_by_its_own_failures_even_when_known() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("ana", A).unwrap(), "pw");
        for _ in 0..PAIR_BURST {
            fail(&limits, "ana", A).unwrap();
        }
        assert!(fail(&limits, "ana", A).is_err());
    }

    #[test]
    fn a_known_pair_gets_in_with_its_password_past_a_neighbours_guesses() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("bob", A).unwrap(), "pw-bob");
        // A stranger at bob's own address empties the pair's bucket ...
        while fail(&limits, "bob", A).is_ok() {}
        // ... bob's right password still logs in, his wrong one does not,
        // and an address bob never logged in from gets no second chance.
        assert!(limits.grace("bob", A, "pw-bob"));
        assert!(!limits.grace("bob", A, "guess"));
        assert!(!limits.grace("bob", B, "pw-bob"));
        assert!(!limits.grace("ana", A, "pw-bob"));
        // The grace is counted: bob gets in until GRACE_BURST wrong guesses
        // in a row have been spent (a right one gives its token back) ...
        for _ in 2..GRACE_BURST {
            assert!(!limits.grace("bob", A, "guess"));
        }
        assert!(limits.grace("bob", A, "pw-bob"), "one token left");
        assert!(!limits.grace("bob", A, "guess"));
        // ... then he waits like the stranger.
        assert!(!limits.grace("bob", A, "pw-bob"), "the grace is spent");
    }

    #[test]
    fn an_address_spraying_accounts_is_throttled_unless_exempt() {
        let limits = AuthLimits::new(&[]);
        let refused = (0..100).find(|i| fail(&limits, &format!("u{i}"), A).is_err()).unwrap();
        assert_eq!(refused, ADDR_BURST as usize);
        let exempt = AuthLimits::new(&[A]);
        assert!((0..100).all(|i| fail(&exempt, &format!("u{i}"), A).is_ok()));
    }

    #[test]
    fn registrations_are_limited_per_address_and_overall() {
        let limits = AuthLimits::new(&[]);
        let refused = (0..100).find(|_| limits.begin_registration(A).is_err()).unwrap();
        assert_eq!(refused, REGISTER_ADDR_BURST as usize);
        limits.cancel_registration(A);
        assert!(limits.begin_registration(A).is_ok(), "a cancelled one is given back");
        assert!(limits.begin_registration(B).is_ok(), "per address");
        let all = (1..=255u8)
            .flat_map(|a| (1..=255u8).map(move |b| IpAddr::V4(std::net::Ipv4Addr::new(10, 9, a, b))))
            .take(2 * REGISTER_ALL_BURST as usize);
        let created = all.filter(|&ip| limits.begin_registration(ip).is_ok()).count();
        assert!(created < REGISTER_ALL_BURST as usize, "overall: {created}");
    }
}
