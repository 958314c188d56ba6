//! Who may hold the link port's connections: strangers, and the servers
//! of the roster. Anyone can open a connection; what it is shows only
//! once its TLS handshake is done, by the key it showed (`key.rs`). Until
//! then it is a **stranger** (silent, in its handshake, saying its hello,
//! or with a key the roster does not have), and the strangers share a
//! room of their own, well below the port's whole: [`MAX_HELLOS`] in
//! all, [`MAX_PER_ADDRESS`] of one address (an IPv4 address or an IPv6
//! /64: [`address_key`]), each for the hello's deadline at most
//! ([`HELLO_WITHIN_MAX`](super::links::HELLO_WITHIN_MAX)).
//!
//! A new connection past its address's share is refused `KO:BUSY` (no
//! thread spent on it). One that finds the strangers' room full makes
//! room for itself: the oldest connection of the addresses that hold at
//! least two more than its own is closed for it, if that one is older
//! than [`GRACE`]; else it is refused. So strangers make room for each
//! other only from whoever holds more, at most [`MAX_HELLOS`] a
//! [`GRACE`], and strangers of balanced addresses are refused, not
//! churned. A roster server's connection, from an address that holds
//! few, is taken unless every address holds as few (the room shared by
//! [`MAX_HELLOS`] addresses or more) or every richer one's connections
//! are younger than [`GRACE`]; taken, it is closed for no other: its
//! address holds fewer than any that would take from it. It is no
//! stranger as soon as its handshake is done (~1 ms on a class's
//! network). What it cannot escape is a stranger of its own address
//! (the same machine, the same /64) that holds the address's share: the
//! two are one address until their keys show.
//!
//! Once its handshake showed a roster key, a connection is **vouched**
//! ([`Doorway::vouch`]): it leaves the strangers' room for the roster's,
//! [`MAX_VOUCHED`] connections, at most [`PER_KEY`] of one key (a link,
//! and the next one that replaces it: a third closes the oldest). Nothing
//! a stranger does takes a roster server's room.
//!
//! A cluster's follower relays each connection to its leader untouched,
//! TLS and all (`accept::relay`): it never sees a key, so what it relays
//! stays a stranger there, within the strangers' room.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::roster;
use crate::server::throttle::address_key;

/// Most strangers at once: well below the roster's room.
pub const MAX_HELLOS: usize = 128;

/// Most strangers of one address (an IPv4 address or an IPv6 /64) at
/// once: a class of 32 servers on one machine dialing at once.
pub const MAX_PER_ADDRESS: usize = 32;

/// How old a stranger must be to be closed for a newer one: a roster
/// server's handshake is done long before.
pub const GRACE: Duration = Duration::from_secs(1);

/// Connections of one roster key at once: its link, and the next one
/// that replaces it.
pub const PER_KEY: usize = 2;

/// Most vouched connections at once: each server of the largest roster
/// its [`PER_KEY`].
pub const MAX_VOUCHED: usize = PER_KEY * roster::MAX_SERVERS;

/// Most connections to the link port at once.
pub const MAX_LINKS: usize = MAX_VOUCHED + MAX_HELLOS;

/// A connection's place at the door, from its [`Doorway::admit`] to its
/// [`Doorway::close`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Where a connection is.
enum Place {
    /// A stranger of this address (its key).
    Stranger(IpAddr),
    /// Vouched for by this key (its fingerprint, upper case).
    Vouched(String),
}

/// An address's key as a person reads it: an IPv6 one with its `/64`.
fn shown(key: IpAddr) -> String {
    match key {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// The link port's connections, each with `H`, what closes it (a copy of
/// its socket).
pub struct Doorway<H> {
    next: u64,
    places: HashMap<Ticket, Place>,
    /// The strangers, by address, oldest first, each with when it came.
    strangers: HashMap<IpAddr, VecDeque<(Ticket, H, Instant)>>,
    stranger_count: usize,
    /// The vouched ones, by key, oldest first.
    vouched: HashMap<String, VecDeque<(Ticket, H, Instant)>>,
    vouched_count: usize,
}

impl<H> Default for Doorway<H> {
    fn default() -> Self {
        Doorway {
            next: 0,
            places: HashMap::new(),
            strangers: HashMap::new(),
            stranger_count: 0,
            vouched: HashMap::new(),
            vouched_count: 0,
        }
    }
}

impl<H> Doorway<H> {
    /// Takes a new connection from `from`, come `now`, as a stranger:
    /// its ticket, and the connection closed to make room for it, if one
    /// was, for the caller to close; or why not (the module's
    /// documentation).
    pub fn admit(&mut self, from: IpAddr, handle: H, now: Instant) -> Result<(Ticket, Option<H>), String> {
        let key = address_key(from);
        let here = self.strangers.get(&key).map_or(0, VecDeque::len);
        if here >= MAX_PER_ADDRESS {
            return Err(format!("too many links open from {}; try later", shown(key)));
        }
        let busy = || "too many links open; try later".to_string();
        let closed = match self.stranger_count >= MAX_HELLOS {
            false => None,
            true => {
                let richer = self.oldest_of_richer(here + 1).ok_or_else(busy)?;
                let oldest = self.strangers.get(&richer).and_then(|q| q.front()).map(|(_, _, at)| *at);
                if oldest.is_none_or(|at| now.saturating_duration_since(at) < GRACE) {
                    return Err(busy());
                }
                self.close_oldest(richer)
            }
        };
        let ticket = Ticket(self.next);
        self.next += 1;
        self.strangers.entry(key).or_default().push_back((ticket, handle, now));
        self.stranger_count += 1;
        self.places.insert(ticket, Place::Stranger(key));
        Ok((ticket, closed))
    }

    /// The connection of `ticket` showed the roster key `key`: it leaves
    /// the strangers for the roster's room. The oldest connection of
    /// that key, if it had [`PER_KEY`] already, is given back to be
    /// closed. Refused if the roster's room is full, or if the connection
    /// was closed for another (it closes then).
    pub fn vouch(&mut self, ticket: Ticket, key: &str) -> Result<Option<H>, String> {
        let key = key.to_ascii_uppercase();
        let Some(Place::Stranger(from)) = self.places.get(&ticket) else {
            return match self.places.contains_key(&ticket) {
                true => Ok(None), // vouched already
                false => Err("closed to make room for another connection".into()),
            };
        };
        let from = *from;
        let key_full = self.vouched.get(&key).map_or(0, VecDeque::len) >= PER_KEY;
        if !key_full && self.vouched_count >= MAX_VOUCHED {
            return Err("too many links open; try later".into());
        }
        let older = match key_full {
            true => self.vouched.get_mut(&key).and_then(VecDeque::pop_front),
            false => None,
        };
        if let Some((old, _, _)) = &older {
            self.places.remove(old);
            self.vouched_count -= 1;
        }
        let (_, handle, _) =
            take(&mut self.strangers, &from, ticket).expect("a stranger is in its address's list");
        self.stranger_count -= 1;
        self.vouched.entry(key.clone()).or_default().push_back((ticket, handle, Instant::now()));
        self.vouched_count += 1;
        self.places.insert(ticket, Place::Vouched(key));
        Ok(older.map(|(_, handle, _)| handle))
    }

    /// The connection of `ticket` ended (nothing, if it was closed to
    /// make room already).
    pub fn close(&mut self, ticket: Ticket) {
        match self.places.remove(&ticket) {
            Some(Place::Stranger(from)) => {
                take(&mut self.strangers, &from, ticket);
                self.stranger_count -= 1;
            }
            Some(Place::Vouched(key)) => {
                take(&mut self.vouched, &key, ticket);
                self.vouched_count -= 1;
            }
            None => {}
        }
    }

    /// The strangers now, and the vouched connections.
    pub fn counts(&self) -> (usize, usize) {
        (self.stranger_count, self.vouched_count)
    }

    /// Of the addresses that hold more than `than` strangers, the one
    /// whose oldest connection is the oldest.
    fn oldest_of_richer(&self, than: usize) -> Option<IpAddr> {
        self.strangers
            .iter()
            .filter(|(_, q)| q.len() > than)
            .filter_map(|(key, q)| Some((q.front()?.0, *key)))
            .min()
            .map(|(_, key)| key)
    }

    /// Closes the oldest stranger of `key`: its handle, to close.
    fn close_oldest(&mut self, key: IpAddr) -> Option<H> {
        let queue = self.strangers.get_mut(&key)?;
        let (ticket, handle, _) = queue.pop_front()?;
        if queue.is_empty() {
            self.strangers.remove(&key);
        }
        self.places.remove(&ticket);
        self.stranger_count -= 1;
        Some(handle)
    }
}

/// Takes `ticket`'s entry out of `key`'s list in `lists`.
fn take<K: std::hash::Hash + Eq, H>(
    lists: &mut HashMap<K, VecDeque<(Ticket, H, Instant)>>,
    key: &K,
    ticket: Ticket,
) -> Option<(Ticket, H, Instant)> {
    let list = lists.get_mut(key)?;
    let at = list.iter().position(|(t, _, _)| *t == ticket)?;
    let entry = list.remove(at)?;
    if list.is_empty() {
        lists.remove(key);
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// 59 strangers from each of 9 addresses, each opened again as soon
    /// as it is closed or refused, once a second for 10 s: the room
    /// stays within its bounds, no address holds much more than its part,
    /// the churn is bounded, and a roster server's connection from a
    /// tenth address is taken and never closed for them.
    #[test]
    fn strangers_from_nine_addresses_make_room_for_a_tenth_and_never_close_it() {
        let mut door: Doorway<IpAddr> = Doorway::default();
        let attackers: Vec<IpAddr> = (3..12).map(|i| ip(&format!("127.0.0.{i}"))).collect();
        let start = Instant::now();
        let (mut peer, mut closed_each_second) = (None, Vec::new());
        for second in 0..10 {
            let now = start + Duration::from_secs(second);
            closed_each_second.push(0);
            for from in &attackers {
                for _ in 0..59 {
                    let Ok((_, closed)) = door.admit(*from, *from, now) else { continue };
                    *closed_each_second.last_mut().unwrap() += usize::from(closed.is_some());
                    assert_ne!(closed, Some(ip("127.0.0.1")), "the peer's connection was closed");
                    assert!(door.counts().0 <= MAX_HELLOS);
                }
            }
            if second == 5 {
                let (ticket, closed) =
                    door.admit(ip("127.0.0.1"), ip("127.0.0.1"), now).expect("the peer is taken");
                assert!(closed.is_some(), "taken by closing a stranger of the fullest address");
                peer = Some(ticket);
            }
        }
        // The first ones took the room; a second later the others began to
        // take from them, until no address held two more than another.
        for from in &attackers {
            let held = door.strangers.get(from).map_or(0, VecDeque::len);
            assert!(held <= MAX_HELLOS.div_ceil(attackers.len()) + 1, "{from} holds {held}");
        }
        // At most MAX_HELLOS a GRACE; balanced, they are refused, not churned.
        assert!(closed_each_second.iter().all(|n| *n <= MAX_HELLOS), "{closed_each_second:?}");
        assert!(closed_each_second[7..].iter().all(|n| *n == 0), "{closed_each_second:?}");
        let peer = peer.unwrap();
        assert!(matches!(door.places.get(&peer), Some(Place::Stranger(_))), "the peer is still in");
        assert_eq!(door.vouch(peer, "ab:cd").unwrap(), None);
        assert_eq!(door.counts(), (MAX_HELLOS - 1, 1));
    }

    /// An IPv6 /64 is one address: 1,000 connections from addresses of
    /// one /64 hold at most its share, and a connection from another /64
    /// and from an IPv4 address are taken beside them.
    #[test]
    fn the_addresses_of_one_ipv6_64_share_one_addresss_part() {
        let mut door: Doorway<u32> = Doorway::default();
        let now = Instant::now();
        let mut refused = 0;
        for i in 0..1000u32 {
            let from = ip(&format!("2001:db8:1:2:{:x}::{:x}", i % 7, i + 1));
            match door.admit(from, i, now) {
                Ok(_) => {}
                Err(why) => {
                    assert_eq!(why, "too many links open from 2001:db8:1:2::/64; try later");
                    refused += 1;
                }
            }
        }
        assert_eq!((door.counts(), refused), ((MAX_PER_ADDRESS, 0), 1000 - MAX_PER_ADDRESS));
        let later = now + GRACE;
        let (other, closed) = door.admit(ip("2001:db8:1:3::1"), 0, later).unwrap();
        assert!(closed.is_none());
        door.admit(ip("10.0.0.1"), 0, later).unwrap();
        assert_eq!(door.counts(), (MAX_PER_ADDRESS + 2, 0));
        door.close(other);
        assert_eq!(door.counts(), (MAX_PER_ADDRESS + 1, 0));
    }

    /// A roster key's connections leave the strangers' room; a third of
    /// one key closes its oldest; a connection closed to make room cannot
    /// be vouched for any more; the roster's room has its own bound.
    #[test]
    fn vouched_connections_are_out_of_the_strangers_room_two_of_a_key() {
        let mut door: Doorway<u32> = Doorway::default();
        let (from, now) = (ip("127.0.0.2"), Instant::now());
        let tickets: Vec<Ticket> = (0..3).map(|i| door.admit(from, i, now).unwrap().0).collect();
        assert_eq!(door.vouch(tickets[0], "AA").unwrap(), None);
        assert_eq!(door.vouch(tickets[1], "aa").unwrap(), None);
        assert_eq!(door.vouch(tickets[2], "AA").unwrap(), Some(0), "the oldest of the key closes");
        assert_eq!(door.counts(), (0, 2));
        door.close(tickets[0]); // its thread ends: nothing more
        assert_eq!(door.counts(), (0, 2));
        // Closed to make room: a vouch comes too late.
        let first = door.admit(ip("10.1.0.1"), 10, now).unwrap().0;
        for i in 1..MAX_HELLOS {
            door.admit(ip(&format!("10.1.{}.{}", i / MAX_PER_ADDRESS, 1 + i % 2)), 0, now).unwrap();
        }
        assert_eq!(door.counts(), (MAX_HELLOS, 2));
        assert!(door.admit(ip("10.9.9.9"), 99, now).is_err(), "none older than GRACE");
        assert_eq!(door.admit(ip("10.9.9.9"), 99, now + GRACE).unwrap().1, Some(10));
        assert!(door.vouch(first, "BB").is_err());
        // The roster's room is full: refused.
        let mut full: Doorway<u32> = Doorway::default();
        for i in 0..MAX_VOUCHED {
            let t = full.admit(ip(&format!("10.0.{}.{}", i / 200, i % 200)), 0, now).unwrap().0;
            full.vouch(t, &format!("K{}", i / PER_KEY)).unwrap();
        }
        let t = full.admit(from, 0, now).unwrap().0;
        assert!(full.vouch(t, "NEW").unwrap_err().contains("too many links"));
        assert_eq!(full.counts(), (1, MAX_VOUCHED));
    }
}
