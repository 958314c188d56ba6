//! Who the limits refuse, and who logs in again and again, lately: what a
//! teacher watching a class in `wachat top` needs to know when something
//! goes wrong. A `KO` count alone points at nobody: 793 refusals could be
//! one student's loop, or a whole class behind one address over its
//! `--address-rate`. So each refusal is counted for its user and for its
//! address, with the limit that refused it, and so is each login (a
//! console that reconnects in a loop logs in every few seconds).
//!
//! Counted over the last minute, in two windows of [`WINDOW`]: the one
//! filling and the one before it. Bounded whatever names a client makes
//! up: at most [`MAX_KEYS`] users and as many addresses a window; past
//! that, a new name is not counted (the ones already there go on).
//! The metrics endpoint shows the most refused and the most reconnecting
//! ([`Watch::top`]), a few of each, at every scrape.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// One window; the counts shown cover the last one to two of them.
pub const WINDOW: Duration = Duration::from_secs(30);

/// Users (and addresses) counted in a window at most.
pub const MAX_KEYS: usize = 4096;

/// Which limit refused a request: each is named by what sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// The user's own requests a second (`serve --rate`).
    Rate,
    /// Every request from the address, all its users together
    /// (`serve --address-rate`).
    AddressRate,
    /// Failed logins (per account, address, or pair: `auth::limits`).
    Logins,
    /// New accounts (per address, and overall).
    NewAccounts,
}

impl Limit {
    pub const ALL: [Limit; 4] = [Limit::Rate, Limit::AddressRate, Limit::Logins, Limit::NewAccounts];

    /// How the limit is named in the log, the metrics and `wachat top`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Rate => "--rate",
            Limit::AddressRate => "--address-rate",
            Limit::Logins => "failed-logins",
            Limit::NewAccounts => "new-accounts",
        }
    }
}

/// What one user or address did in a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Refusals, by [`Limit`] (in the order of [`Limit::ALL`]).
    pub refused: [u32; 4],
    /// Logins accepted, on either port.
    pub logins: u32,
}

impl Tally {
    pub fn refusals(&self) -> u32 {
        self.refused.iter().sum()
    }

    fn add(&mut self, other: &Tally) {
        for (mine, theirs) in self.refused.iter_mut().zip(other.refused) {
            *mine = mine.saturating_add(theirs);
        }
        self.logins = self.logins.saturating_add(other.logins);
    }
}

/// The counts of one window.
#[derive(Default)]
struct WindowCounts {
    users: HashMap<String, Tally>,
    addresses: HashMap<IpAddr, Tally>,
}

impl WindowCounts {
    fn count(&mut self, user: Option<&str>, address: IpAddr, each: impl Fn(&mut Tally)) {
        if let Some(user) = user
            && let Some(tally) = slot(&mut self.users, user.to_string())
        {
            each(tally);
        }
        if let Some(tally) = slot(&mut self.addresses, address) {
            each(tally);
        }
    }
}

/// `key`'s tally, made if there is room for one more.
fn slot<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Tally>, key: K) -> Option<&mut Tally> {
    if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        return None;
    }
    Some(map.entry(key).or_default())
}

struct Windows {
    started: Instant,
    current: WindowCounts,
    previous: WindowCounts,
}

/// The counts of the last minute (see the module documentation).
pub struct Watch {
    windows: Mutex<Windows>,
}

impl Default for Watch {
    fn default() -> Watch {
        let windows = Windows {
            started: Instant::now(),
            current: WindowCounts::default(),
            previous: WindowCounts::default(),
        };
        Watch { windows: Mutex::new(windows) }
    }
}

/// Who is refused or reconnecting: the `n` most of each, most first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watchlist {
    pub users: Vec<(String, Tally)>,
    pub addresses: Vec<(IpAddr, Tally)>,
}

impl Watch {
    /// `limit` refused a request of `user` (if known) from `address`.
    pub fn refused(&self, user: Option<&str>, address: IpAddr, limit: Limit) {
        let at = Limit::ALL.iter().position(|&l| l == limit).unwrap_or(0);
        self.now().current.count(user, address, |t| t.refused[at] = t.refused[at].saturating_add(1));
    }

    /// `user` logged in from `address`.
    pub fn logged_in(&self, user: &str, address: IpAddr) {
        self.now().current.count(Some(user), address, |t| t.logins = t.logins.saturating_add(1));
    }

    /// The windows, turned if the current one is over.
    fn now(&self) -> parking_lot::MutexGuard<'_, Windows> {
        let mut windows = self.windows.lock();
        let now = Instant::now();
        let elapsed = now.duration_since(windows.started);
        if elapsed >= WINDOW {
            let current = std::mem::take(&mut windows.current);
            // A window with nothing after it is as good as gone.
            windows.previous = if elapsed < 2 * WINDOW { current } else { WindowCounts::default() };
            windows.started = now;
        }
        windows
    }

    /// The `n` users and addresses most refused, then most logged in, over
    /// both windows. A user neither refused nor logged in more than
    /// `usual_logins` times (a console's two ports) is left out; an address
    /// only when refused (a class behind one logs in by the dozen).
    pub fn top(&self, n: usize, usual_logins: u32) -> Watchlist {
        let windows = self.now();
        Watchlist {
            users: most(&windows.current.users, &windows.previous.users, n, usual_logins),
            addresses: most(&windows.current.addresses, &windows.previous.addresses, n, u32::MAX),
        }
    }
}

/// Users and addresses shown at most, of each.
pub const SHOWN: usize = 8;

/// Logins in the last minute that are a console's usual (its two ports,
/// and one reconnection): those who log in more are reconnecting.
pub const USUAL_LOGINS: u32 = 3;

/// What the metrics endpoint shows of `watch` (its [`SHOWN`] most refused
/// or reconnecting users and addresses).
pub fn watched(watch: &Watch) -> Vec<crate::metrics::Watched> {
    let top = watch.top(SHOWN, USUAL_LOGINS);
    let shown = |who: &'static str, name: String, tally: Tally| crate::metrics::Watched {
        who,
        name,
        refused: Limit::ALL.iter().map(|l| l.as_str()).zip(tally.refused).collect(),
        logins: tally.logins,
    };
    let users = top.users.into_iter().map(|(name, t)| shown("user", name, t));
    users.chain(top.addresses.into_iter().map(|(addr, t)| shown("address", addr.to_string(), t))).collect()
}

fn most<K: Clone + Ord + std::hash::Hash>(
    current: &HashMap<K, Tally>,
    previous: &HashMap<K, Tally>,
    n: usize,
    usual_logins: u32,
) -> Vec<(K, Tally)> {
    let mut all: HashMap<K, Tally> = previous.clone();
    for (key, tally) in current {
        all.entry(key.clone()).or_default().add(tally);
    }
    let mut all: Vec<(K, Tally)> =
        all.into_iter().filter(|(_, t)| t.refusals() > 0 || t.logins > usual_logins).collect();
    all.sort_by(|(ka, a), (kb, b)| {
        (b.refusals(), b.logins).cmp(&(a.refusals(), a.logins)).then_with(|| ka.cmp(kb))
    });
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn refusals_are_counted_per_user_and_address_with_their_limit() {
        let watch = Watch::default();
        for _ in 0..5 {
            watch.refused(Some("st13"), NAT, Limit::AddressRate);
        }
        watch.refused(Some("st7"), NAT, Limit::Rate);
        watch.refused(None, HOME, Limit::Logins);
        for _ in 0..4 {
            watch.logged_in("loopy", HOME);
        }
        watch.logged_in("calm", HOME);
        watch.logged_in("calm", HOME);
        for i in 0..100 {
            watch.logged_in(&format!("class{i}"), HOME);
        }
        let top = watch.top(10, 2);
        let users: Vec<(&str, u32, u32)> =
            top.users.iter().map(|(u, t)| (u.as_str(), t.refusals(), t.logins)).collect();
        assert_eq!(users, [("st13", 5, 0), ("st7", 1, 0), ("loopy", 0, 4)], "calm is usual");
        assert_eq!(top.users[0].1.refused, [0, 5, 0, 0]);
        assert_eq!(top.addresses[0].0, NAT);
        assert_eq!(top.addresses[0].1.refused, [1, 5, 0, 0]);
        assert_eq!(top.addresses[1].1, Tally { refused: [0, 0, 1, 0], logins: 106 });
        let home_only_logs_in = Watch::default();
        home_only_logs_in.logged_in("calm", HOME);
        home_only_logs_in.logged_in("calm", HOME);
        home_only_logs_in.logged_in("calm", HOME);
        home_only_logs_in.logged_in("calm", HOME);
        assert!(home_only_logs_in.top(10, 3).addresses.is_empty(), "an address logging in is no news");
        assert_eq!(watch.top(1, 2).users.len(), 1);
    }

    #[test]
    fn old_windows_are_forgotten_and_made_up_names_are_bounded() {
        let watch = Watch::default();
        watch.refused(Some("old"), NAT, Limit::Rate);
        watch.windows.lock().started -= WINDOW;
        watch.refused(Some("new"), NAT, Limit::Rate);
        assert_eq!(watch.top(10, 2).users.len(), 2, "the window before is still counted");
        watch.windows.lock().started -= 2 * WINDOW;
        assert!(watch.top(10, 2).users.is_empty(), "a minute of nothing: all gone");
        for i in 0..MAX_KEYS + 100 {
            watch.refused(Some(&format!("u{i}")), NAT, Limit::Logins);
        }
        assert_eq!(watch.windows.lock().current.users.len(), MAX_KEYS);
    }
}
