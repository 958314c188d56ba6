//! `wachat users add|import|passwd|admin|room|disable|enable|invite|revoke`
//! beside a running server: the teacher's changes to accounts and invite
//! codes during a class, made by the server itself, so that nobody is
//! disconnected.
//!
//! The command leaves a request at the door (`store::door::Inquiry::Accounts`:
//! `accounts.request` in a data directory, a row of a cluster's database),
//! one change a row (CSV, header [`REQUEST_HEADER`]); the operator thread
//! (`server::operator`) applies them in order and answers, one row a
//! change ([`ANSWER_HEADER`]). New accounts come with their password hash,
//! computed by the command (hashing is slow, and the server's pool is for
//! its clients); they are all made or none: a name taken, twice in the
//! request, or not a valid name refuses every `add` of the request.
//! A `join` puts an account in a room as its own `JOIN` would, and its
//! room's members online are told (`MEMBER:…:JOINED`, 1.1). The codes
//! of one request's `invite`s (made by the command) are kept in one
//! batch, all or none (`store::invites`); a `revoke` is `done`,
//! `unchanged` for a code used already, or refused for no such code.

use std::collections::HashSet;

use crate::protocol::Chat;
use crate::protocol::names::{fold, name_problem};
use crate::protocol::request::check_email;
use crate::server::{Ctx, presence};

/// `op` is `add` (detail: the email; hash: the password's), `passwd`
/// (hash: the new password's), `admin` or `disable` (detail: `on` or
/// `off`), `join` (detail: the room, `#lab`), `invite` (name: a new
/// code; detail: its expiry, Unix milliseconds) or `revoke` (name: a
/// code).
pub const REQUEST_HEADER: &str = "op,name,detail,hash";
/// `result` is `done`, `unchanged` or `refused` (reason: why).
pub const ANSWER_HEADER: &str = "op,name,result,reason";
/// Most changes one request may ask for (a class, many times over).
pub const MAX_CHANGES: usize = 10_000;

/// One change a teacher asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountChange {
    pub op: String,
    pub name: String,
    pub detail: String,
    pub hash: String,
}

impl AccountChange {
    pub fn add(name: &str, email: &str, hash: &str) -> AccountChange {
        AccountChange { op: "add".into(), name: name.into(), detail: email.into(), hash: hash.into() }
    }

    pub fn passwd(name: &str, hash: &str) -> AccountChange {
        AccountChange { op: "passwd".into(), name: name.into(), detail: String::new(), hash: hash.into() }
    }

    pub fn admin(name: &str, on: bool) -> AccountChange {
        let detail = if on { "on" } else { "off" };
        AccountChange { op: "admin".into(), name: name.into(), detail: detail.into(), hash: String::new() }
    }

    /// The account disabled (`on`) or enabled again (`store::disabled`).
    pub fn disabled(name: &str, on: bool) -> AccountChange {
        let detail = if on { "on" } else { "off" };
        AccountChange { op: "disable".into(), name: name.into(), detail: detail.into(), hash: String::new() }
    }

    pub fn join(name: &str, room: &str) -> AccountChange {
        AccountChange { op: "join".into(), name: name.into(), detail: room.into(), hash: String::new() }
    }

    /// Invite `code` (new) kept, valid until `expires_ms`.
    pub fn invite(code: &str, expires_ms: u64) -> AccountChange {
        AccountChange {
            op: "invite".into(),
            name: code.into(),
            detail: expires_ms.to_string(),
            hash: String::new(),
        }
    }

    /// Invite `code` revoked if unused.
    pub fn revoke(code: &str) -> AccountChange {
        AccountChange { op: "revoke".into(), name: code.into(), detail: String::new(), hash: String::new() }
    }
}

/// What became of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// Nothing to do: already an admin, already in the room.
    Unchanged,
    Refused(String),
}

/// The request file's body for `changes`.
pub fn request_body(changes: &[AccountChange]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(REQUEST_HEADER.split(','));
    for c in changes {
        let _ = out.write_record([&c.op, &c.name, &c.detail, &c.hash]);
    }
    out.into_inner().unwrap_or_default()
}

/// The changes of a request file (at most [`MAX_CHANGES`]).
fn read_request(bytes: &[u8]) -> Vec<AccountChange> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    reader
        .records()
        .map_while(Result::ok)
        .take(MAX_CHANGES)
        .map(|row| {
            let field = |i| row.get(i).unwrap_or_default().to_string();
            AccountChange { op: field(0), name: field(1), detail: field(2), hash: field(3) }
        })
        .collect()
}

/// The outcomes of an answer file, in the order of the request.
pub fn read_answer(bytes: &[u8]) -> Vec<Applied> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let outcome = |row: csv::StringRecord| match row.get(2).unwrap_or_default() {
        "done" => Applied::Done,
        "unchanged" => Applied::Unchanged,
        _ => Applied::Refused(row.get(3).unwrap_or("the server refused it").to_string()),
    };
    reader.records().map_while(Result::ok).map(outcome).collect()
}

/// Applies the changes of a request (its body, `request`): the answer.
pub fn answer(ctx: &Ctx, request: &[u8]) -> Vec<u8> {
    let changes = read_request(request);
    let outcomes = apply(ctx, &changes);
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(ANSWER_HEADER.split(','));
    for (c, outcome) in changes.iter().zip(&outcomes) {
        let (result, reason) = match outcome {
            Applied::Done => ("done", ""),
            Applied::Unchanged => ("unchanged", ""),
            Applied::Refused(why) => ("refused", why.as_str()),
        };
        let _ = out.write_record([c.op.as_str(), &c.name, result, reason]);
    }
    out.into_inner().unwrap_or_default()
}

/// Each change's outcome, in order: the new accounts first (all or none),
/// so that a roster's `join`s find them.
fn apply(ctx: &Ctx, changes: &[AccountChange]) -> Vec<Applied> {
    let refusal = refuse_adds(ctx, changes);
    let mut outcomes = vec![Applied::Unchanged; changes.len()];
    for (i, c) in changes.iter().enumerate().filter(|(_, c)| c.op == "add") {
        outcomes[i] = match &refusal {
            Some(why) => Applied::Refused(why.clone()),
            None => add(ctx, c),
        };
    }
    let invites: Vec<usize> = (0..changes.len()).filter(|&i| changes[i].op == "invite").collect();
    if !invites.is_empty() {
        let outcome = keep_invites(ctx, invites.iter().map(|&i| &changes[i]));
        for &i in &invites {
            outcomes[i] = outcome.clone();
        }
    }
    for (i, c) in changes.iter().enumerate().filter(|(_, c)| !matches!(c.op.as_str(), "add" | "invite")) {
        outcomes[i] = match c.op.as_str() {
            "admin" => admin(ctx, &c.name, c.detail == "on"),
            "disable" => disable(ctx, &c.name, c.detail == "on"),
            "passwd" => passwd(ctx, &c.name, &c.hash),
            "join" => join(ctx, &c.name, &c.detail),
            "revoke" => revoke(ctx, &c.name),
            other => Applied::Refused(format!("unknown change {other:?}")),
        };
    }
    outcomes
}

/// Why no `add` of `changes` may be made, if one of them cannot.
fn refuse_adds(ctx: &Ctx, changes: &[AccountChange]) -> Option<String> {
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for c in changes.iter().filter(|c| c.op == "add") {
        let name = &c.name;
        if name_problem(name).is_some() {
            problems.push(format!("{name:?} is not a valid user name"));
        } else if check_email(&c.detail).is_err() {
            problems.push(format!("{:?} is not an email address", c.detail));
        } else if !c.hash.starts_with("$argon2") {
            problems.push(format!("{name}: no password hash"));
        } else if let Some(taken) = ctx.store.user_name(name) {
            problems.push(format!("{taken} already has an account"));
        } else if !seen.insert(fold(name)) {
            problems.push(format!("{name} is there twice"));
        }
    }
    (!problems.is_empty()).then(|| format!("nothing added: {}", problems.join("; ")))
}

fn add(ctx: &Ctx, c: &AccountChange) -> Applied {
    let made = ctx.store.create_account(&c.name, &c.detail, c.hash.clone(), None);
    match made.and_then(|(_, ticket)| ctx.store.wait(ticket)) {
        Ok(()) => {
            log::info!("new account {} (wachat users, beside the server)", c.name);
            Applied::Done
        }
        Err(ko) => Applied::Refused(ko.reason),
    }
}

/// A new password, as the user's own `PASSWD` would set it (a record in
/// the log, which wins over `users.csv` at the next start), keeping no
/// device: every token of the account is revoked and every session of
/// it closed (`accounts::new_password`). It is how a
/// student who lost laptop and password gets the account back.
fn passwd(ctx: &Ctx, name: &str, hash: &str) -> Applied {
    let Some(account) = ctx.store.find_account(name) else { return no_account(name) };
    if !hash.starts_with("$argon2") {
        return Applied::Refused(format!("{name}: no password hash"));
    }
    match crate::server::accounts::new_password(ctx, (account.id, &account.name), None, hash.to_string()) {
        Ok(devices) => {
            log::info!("new password for {name} (wachat users passwd): {devices} devices logged out");
            Applied::Done
        }
        Err(ko) => Applied::Refused(ko.reason),
    }
}

fn admin(ctx: &Ctx, name: &str, on: bool) -> Applied {
    let Some(account) = ctx.store.find_account(name) else { return no_account(name) };
    let user = account.id;
    if account.admin == on {
        return Applied::Unchanged;
    }
    match ctx.store.set_server_admin(user, on).and_then(|ticket| ctx.store.wait(ticket)) {
        Ok(()) => {
            log::info!(
                "{name} {} a server admin (wachat users admin)",
                if on { "is now" } else { "is no longer" }
            );
            Applied::Done
        }
        Err(ko) => Applied::Refused(ko.reason),
    }
}

/// `name` disabled (`on`) or enabled again: the record written, which
/// closes its sessions once durable (the router's `written`).
fn disable(ctx: &Ctx, name: &str, on: bool) -> Applied {
    let Some(account) = ctx.store.find_account(name) else { return no_account(name) };
    match ctx.store.set_disabled(account.id, on) {
        Ok(true) => {
            log::info!("{name} {} (wachat users)", if on { "disabled" } else { "enabled again" });
            Applied::Done
        }
        Ok(false) => Applied::Unchanged,
        Err(ko) => Applied::Refused(ko.reason),
    }
}

/// `name` joins `room` as by its own `JOIN`, and the members online hear it.
fn join(ctx: &Ctx, name: &str, room: &str) -> Applied {
    let room = match Chat::parse_room(room) {
        Ok(room) => room,
        Err(why) => return Applied::Refused(why),
    };
    let Some(account) = ctx.store.find_account(name) else { return no_account(name) };
    if presence::is_member(ctx, account.id, &room) {
        return Applied::Unchanged;
    }
    match ctx.store.join(account.id, &room).and_then(|ticket| ctx.store.wait(ticket)) {
        Ok(()) => {
            presence::tell_members(ctx, account.id, &account.name, &room, true);
            log::info!("{} joined #{room} (wachat users room)", account.name);
            Applied::Done
        }
        Err(ko) => Applied::Refused(ko.reason),
    }
}

/// The codes of `changes` kept, in one batch: all or none. Their expiry
/// is one (one command's).
fn keep_invites<'a>(ctx: &Ctx, changes: impl Iterator<Item = &'a AccountChange>) -> Applied {
    let mut codes = Vec::new();
    let mut expires_ms = 0;
    for c in changes {
        let Ok(expires) = c.detail.parse::<u64>() else {
            return Applied::Refused(format!("{:?} is not an expiry", c.detail));
        };
        expires_ms = expires;
        codes.push(c.name.clone());
    }
    match crate::store::keep_invites(&ctx.store, &codes, expires_ms) {
        Ok(()) => {
            log::info!("{} invite codes made (wachat users invite)", codes.len());
            Applied::Done
        }
        Err(ko) => Applied::Refused(ko.reason),
    }
}

/// Invite `code` revoked if unused.
fn revoke(ctx: &Ctx, code: &str) -> Applied {
    let outcome = revoked(crate::store::revoke_invite(&ctx.store, code));
    if outcome == Applied::Done {
        log::info!("invite code {code} revoked (wachat users revoke)");
    }
    outcome
}

/// The refusal of a `revoke` of no such code.
pub const NO_SUCH_CODE: &str = "no such invite code";

/// What `store::revoke_invite`'s answer means for a `revoke`: `done`,
/// `unchanged` for a code used already, refused for no such code.
pub fn revoked(answer: Result<Option<crate::store::invites::Kept>, crate::protocol::Ko>) -> Applied {
    match answer {
        Ok(Some(kept)) if !kept.used => Applied::Done,
        Ok(Some(_)) => Applied::Unchanged,
        Ok(None) => Applied::Refused(NO_SUCH_CODE.to_string()),
        Err(ko) => Applied::Refused(ko.reason),
    }
}

fn no_account(name: &str) -> Applied {
    Applied::Refused(format!("no account named {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back_as_written() {
        let changes = vec![
            AccountChange::add("ana", "ana@example.org", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"),
            AccountChange::admin("prof", true),
            AccountChange::join("ana", "#lab, 2"),
        ];
        let body = request_body(&changes);
        assert!(body.starts_with(REQUEST_HEADER.as_bytes()));
        assert_eq!(read_request(&body), changes);
    }
}
