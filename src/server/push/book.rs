//! The subscriptions: one per device at most, each the browser's keys and
//! endpoint, and who turned message previews off. Kept in the data
//! directory's `push.csv`, rewritten whole (written aside, synced,
//! renamed) before the `OK` of the request that changed it, so that it
//! survives a restart, and read once at start.
//!
//! ```text
//! sub,<user>,<device>,<p256dh>,<auth>,<endpoint>
//! previews-off,<user>
//! ```
//!
//! The endpoint is last: it may hold commas. A line that does not read
//! (damaged, or its account deleted since) is dropped with a warning.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::crypto::UaKeys;
use super::endpoint::Endpoint;
use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::store::disk::{Disk, RealDisk};
use crate::store::{Store, UserId};

/// The file's name in the data directory.
pub const FILE: &str = "push.csv";

/// One device's subscription.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub user: UserId,
    /// The user's name as registered.
    pub name: Arc<str>,
    /// The device, folded (device names compare without case).
    pub device: String,
    pub keys: UaKeys,
    pub endpoint: Endpoint,
}

#[derive(Default)]
struct Inner {
    subs: Vec<Subscription>,
    /// The users of `subs`: what every message delivered asks first
    /// ([`Book::has`]), so that a user without a subscription costs one
    /// lookup.
    users: HashSet<UserId>,
    /// Folded names of the users who turned previews off.
    previews_off: HashSet<String>,
}

/// Every subscription, and the previews setting, behind one leaf lock
/// (held while `push.csv` is written: a few KB).
pub struct Book {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl Book {
    /// Reads `push.csv` of `dir` (none: an empty book).
    pub fn open(dir: &Path, store: &Store) -> std::io::Result<Book> {
        let path = dir.join(FILE);
        let mut inner = Inner::default();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (i, line) in text.lines().enumerate() {
                    if let Err(why) = read_line(line, store, &mut inner) {
                        log::warn!("push: {FILE} line {}: {why}; dropped", i + 1);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        inner.users = inner.subs.iter().map(|s| s.user).collect();
        Ok(Book { path, inner: Mutex::new(inner) })
    }

    /// `sub` replaces its device's subscription. An endpoint that is
    /// another user's subscription is refused (`KO:FORBIDDEN`), that one
    /// untouched; the same user's other device with it gives it up (a
    /// browser holds one subscription per origin).
    pub fn subscribe(&self, sub: Subscription) -> Result<(), Ko> {
        let mut inner = self.inner.lock();
        if inner.subs.iter().any(|s| s.endpoint.url == sub.endpoint.url && s.user != sub.user) {
            return Err(Ko::new(Code::Forbidden, "that endpoint is another user's subscription"));
        }
        self.change(&mut inner, |inner| {
            inner.subs.retain(|s| {
                !(s.user == sub.user && (s.device == sub.device || s.endpoint.url == sub.endpoint.url))
            });
            inner.subs.push(sub);
        })
    }

    /// Removes the subscription of `user`'s `device`; true if it had one.
    pub fn unsubscribe(&self, user: UserId, device: &str) -> Result<bool, Ko> {
        let device = fold(device);
        let mut inner = self.inner.lock();
        if !inner.subs.iter().any(|s| s.user == user && s.device == device) {
            return Ok(false);
        }
        self.change(&mut inner, |inner| inner.subs.retain(|s| !(s.user == user && s.device == device)))?;
        Ok(true)
    }

    /// Removes every subscription of `user` (its account deleted).
    pub fn forget_user(&self, user: UserId, name: &str) -> Result<(), Ko> {
        let folded = fold(name);
        let mut inner = self.inner.lock();
        self.change(&mut inner, |inner| {
            inner.subs.retain(|s| s.user != user);
            inner.previews_off.remove(&folded);
        })
    }

    /// Removes the subscription at `url` (its push service said 404 or
    /// 410: it expired); true if there was one.
    pub fn remove_endpoint(&self, url: &str) -> bool {
        let mut inner = self.inner.lock();
        if !inner.subs.iter().any(|s| s.endpoint.url == url) {
            return false;
        }
        self.change(&mut inner, |inner| inner.subs.retain(|s| s.endpoint.url != url)).is_ok()
    }

    /// `PREVIEWS:ON` or `PREVIEWS:OFF` for `name`.
    pub fn set_previews(&self, name: &str, on: bool) -> Result<(), Ko> {
        let folded = fold(name);
        let mut inner = self.inner.lock();
        if inner.previews_off.contains(&folded) != on {
            return Ok(());
        }
        self.change(&mut inner, |inner| match on {
            true => inner.previews_off.remove(&folded),
            false => inner.previews_off.insert(folded),
        })
        .map(drop)
    }

    pub fn previews(&self, name: &str) -> bool {
        !self.inner.lock().previews_off.contains(&fold(name))
    }

    /// The subscriptions of `user`.
    pub fn of(&self, user: UserId) -> Vec<Subscription> {
        let inner = self.inner.lock();
        if !inner.users.contains(&user) {
            return Vec::new();
        }
        inner.subs.iter().filter(|s| s.user == user).cloned().collect()
    }

    /// Whether `user` has a subscription.
    pub fn has(&self, user: UserId) -> bool {
        self.inner.lock().users.contains(&user)
    }

    /// Makes `change` and writes the file; if the write fails, the change
    /// is undone and the request refused.
    fn change<T>(&self, inner: &mut Inner, change: impl FnOnce(&mut Inner) -> T) -> Result<T, Ko> {
        let (subs, previews_off) = (inner.subs.clone(), inner.previews_off.clone());
        let out = change(inner);
        if let Err(e) = RealDisk.replace(&self.path, write(inner).as_bytes()) {
            log::error!("push: writing {}: {e}", self.path.display());
            inner.subs = subs;
            inner.previews_off = previews_off;
            return Err(Ko::store_unavailable());
        }
        inner.users = inner.subs.iter().map(|s| s.user).collect();
        Ok(out)
    }
}

fn write(inner: &Inner) -> String {
    let mut out = String::new();
    for s in &inner.subs {
        let (p256dh, auth) = (s.keys.p256dh_b64(), s.keys.auth_b64());
        out.push_str(&format!("sub,{},{},{p256dh},{auth},{}\n", s.name, s.device, s.endpoint.url));
    }
    let mut off: Vec<&String> = inner.previews_off.iter().collect();
    off.sort();
    for name in off {
        out.push_str(&format!("previews-off,{name}\n"));
    }
    out
}

fn read_line(line: &str, store: &Store, inner: &mut Inner) -> Result<(), String> {
    let fields: Vec<&str> = line.splitn(6, ',').collect();
    match fields[..] {
        ["sub", name, device, p256dh, auth, url] => {
            let account = store.find_account(name).ok_or(format!("no account {name}"))?;
            let keys = UaKeys::parse(p256dh, auth)?;
            let endpoint = Endpoint::parse(url)?;
            inner.subs.push(Subscription {
                user: account.id,
                name: account.name.clone(),
                device: fold(device),
                keys,
                endpoint,
            });
            Ok(())
        }
        ["previews-off", name] => {
            inner.previews_off.insert(fold(name));
            Ok(())
        }
        _ => Err("not a line of push.csv".into()),
    }
}
