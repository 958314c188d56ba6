//! The numbers the store gives users, and the maps keyed by them: a leaf
//! that the state and the settings both name without naming each other.

use std::collections::{HashMap, HashSet};

/// Index of an account in [`State::users`](super::State::users).
pub type UserId = usize;

/// A map keyed by numbers the server assigns (user ids, pairs of them),
/// which a client cannot choose: hashed with foldhash (seeded per
/// process), not std's SipHash, whose resistance to chosen keys costs
/// ~200 instructions a lookup, ~12 of them a message (docs/BENCHMARKS.md).
/// Names, which clients choose, stay in std's maps.
pub type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The set of [`IdMap`].
pub type IdSet<K> = HashSet<K, foldhash::fast::RandomState>;
