//! 1.2 (§23): a user's *settings*, one generic store for the small
//! per-user facts a request may keep.
//!
//! Without it, each such fact (a block, a pin, a level) would need its
//! own record kind, its own rows and its own store methods: ten files
//! or more for a request that stores one word per chat. A setting is
//! declared by its request, in the request's own file:
//!
//! ```ignore
//! pub const ARCHIVE: Setting = Setting { name: "archive", most: MAX_ARCHIVED, what: "archived chats", longest: MAX_VALUE };
//! ```
//!
//! and stored through the [`LocalStore`](super::LocalStore) methods that
//! every setting shares: `change_setting(user, &ARCHIVE, key, change)`,
//! where `change` makes the key's new value (`None` removes it) from what
//! the user keeps of the setting ([`KeyView`]), under the store's lock; `Store::set_setting` is the change that
//! just puts a value. One read, `read_settings(&ARCHIVE, keys)`, gives
//! the keys a [`Keys`] asks for: a user's own (`Store::settings` lists
//! its `(key, value)` pairs sorted by key), and for a setting keyed by a
//! user's name (a block) the one key an owner keeps about a user (as a
//! message asks) or every owner's (who has the key). The store keeps them
//! in `state::User::settings` and writes a `SET` record
//! (`record/settings.rs`), which a cluster's followers apply as its
//! leader did.
//!
//! Every setting of a user about a chat is kept here, by one rule: the
//! notification level and pin (`store::prefs::PREF`), a
//! block (`store::prefs::BLOCK`), an archive, a star. Their own rules
//! (three pins, no block of yourself) are the `change` a request passes,
//! one function each in `store::prefs`.
//!
//! # A name taken again
//!
//! A setting about a direct chat is keyed by the other user's folded
//! name ([`about`]). When a deleted account's name is registered again
//! (`REGISTER` after the quarantine, docs/PROTOCOL.md §20), everything
//! other users kept about the old account (a block of it, a level, a
//! pin, an archive, a star of a message in that chat) goes as the
//! name's new account takes it: the new account is
//! somebody else. At the reuse rather than the deletion, so that during
//! the quarantine the old conversation (which the other side keeps,
//! §20) stays as its owner filed it, and so that a name deleted by an
//! older server, which cleared nothing, is cleared too.
//!
//! # Bounded
//!
//! What a peer can make the server store must be bounded, so every
//! setting is:
//!
//! - a key is at most [`MAX_KEY`] bytes, a value at most [`MAX_VALUE`],
//!   neither with a control character (a record is one line), and a key
//!   is never empty ([`check`]: `KO:BAD_REQUEST` otherwise);
//! - a user has at most [`Setting::most`] keys of one setting
//!   ([`may_set`]: `KO:FULL` for one more).
//!
//! The store asks [`check`] and [`may_set`] under its state lock
//! ([`decide`]), on a single server and on every node of a cluster alike.

use std::collections::BTreeMap;

use super::ids::UserId;
use crate::protocol::{Code, Ko};

/// Most bytes of a setting's key (a folded chat name is at most 33; a
/// starred message's `<chat>:<from>:<id>`, 1.2 §25, at most 131).
pub const MAX_KEY: usize = 160;
/// Most bytes of a setting's value.
pub const MAX_VALUE: usize = 200;

/// One kind of setting, declared by the request that keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// Its name in the log's `SET` records (lower case, no comma: it is
    /// never shown to a user).
    pub name: &'static str,
    /// Most keys one user may have of it (`KO:FULL` past it).
    pub most: usize,
    /// What its keys are, in the plural, for the `KO:FULL` reason
    /// ("archived chats").
    pub what: &'static str,
    /// Most bytes of one of its values: [`MAX_VALUE`], but for a
    /// profile's photo (`store::profile::PHOTO`, a small JPEG in base64).
    pub longest: usize,
}

/// Whether `key` and `value` may be stored: `KO:BAD_REQUEST` past
/// [`MAX_KEY`] or [`MAX_VALUE`], for an empty key, or for a control
/// character in either.
pub fn check(key: &str, value: Option<&str>) -> Result<(), Ko> {
    check_within(key, value, MAX_VALUE)
}

/// [`check`], with values of at most `longest` bytes.
fn check_within(key: &str, value: Option<&str>, longest: usize) -> Result<(), Ko> {
    let bad = |s: &str| s.chars().any(char::is_control);
    if key.is_empty() || key.len() > MAX_KEY || bad(key) {
        let why = format!("a setting's key is 1 to {MAX_KEY} bytes, without control characters");
        return Err(Ko::new(Code::BadRequest, why));
    }
    if value.is_some_and(|v| v.len() > longest || bad(v)) {
        let why = format!("a setting's value is at most {longest} bytes, without control characters");
        return Err(Ko::new(Code::BadRequest, why));
    }
    Ok(())
}

/// THE rule of the setting's bound, which the store asks: a user who
/// has `have` keys of `setting`, and sets (`on`) or removes (`!on`) a key
/// that is `already` there or not. Only a new key past
/// [`Setting::most`] is refused (`KO:FULL`); changing or removing a key
/// is always allowed.
pub fn may_set(setting: &Setting, have: usize, already: bool, on: bool) -> Result<(), Ko> {
    if on && !already && have >= setting.most {
        let why = format!("you have {} {} already, the most there may be", setting.most, setting.what);
        return Err(Ko::new(Code::Full, why));
    }
    Ok(())
}

/// What a change of one key sees, under the store's state lock: the key
/// and the user's `(key, value)` pairs of the setting, sorted by key.
pub struct KeyView<'a> {
    key: &'a str,
    all: Vec<(&'a str, &'a str)>,
}

impl<'a> KeyView<'a> {
    /// What the user keeps of a setting (`all`, sorted by key), as the
    /// change of `key` sees it.
    pub fn new(key: &'a str, all: Vec<(&'a str, &'a str)>) -> KeyView<'a> {
        KeyView { key, all }
    }

    /// The key's value now, if it has one.
    pub fn current(&self) -> Option<&'a str> {
        let at = self.all.binary_search_by(|(k, _)| (*k).cmp(self.key)).ok()?;
        Some(self.all[at].1)
    }

    /// How many keys of the setting the user has.
    pub fn count(&self) -> usize {
        self.all.len()
    }

    /// Every value of the setting, in the order of the keys.
    pub fn values(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.all.iter().map(|(_, v)| *v)
    }
}

/// Which keys of a setting a read wants ([`LocalStore::read_settings`](super::LocalStore::read_settings)).
#[derive(Clone, Copy, Debug)]
pub enum Keys<'a> {
    /// Every key `user` keeps, sorted by key.
    Of(UserId),
    /// The key the user called `owner` (ignoring case) keeps about the
    /// user `about` (whose folded name is the key): whether a user blocked
    /// another, which a `DELETE`, a call and a login's presence ask
    /// (`Store::is_blocked`), so it is one lookup, not a listing. (A
    /// message's recipient is asked under the state's lock:
    /// `meaning::send`.)
    OfAbout { owner: &'a str, about: UserId },
    /// Every user's key about the user `about` (who blocked it: `MEMBERS`
    /// shows them as `UNKNOWN` to it).
    About(UserId),
}

/// One key a user keeps of a setting, as [`Keys`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptKey {
    pub owner: UserId,
    pub key: String,
    pub value: String,
    /// The account whose folded name the key is (a direct chat's own key:
    /// a block, a level, an archive), if there is one; `None` for a
    /// room's key or a message's. Read with the key, so that whom a user
    /// blocked is one read (`Store::blocked`), not one more per name.
    pub account: Option<UserId>,
}

/// The accounts the keys name (whom a user blocked, from its `BLOCK`
/// keys, `Keys::Of`): the one reading for `Store::blocked` and a cluster
/// node's presence.
pub fn accounts(kept: Vec<KeptKey>) -> Vec<UserId> {
    kept.into_iter().filter_map(|k| k.account).collect()
}

/// A request's change of one key: from what is [`KeyView`], the key's new
/// value (`None`: removed), or the refusal. Called once.
pub type KeyChange<'c> = &'c mut dyn FnMut(&KeyView) -> Result<Option<String>, Ko>;

/// THE way a key of a setting changes, the one the store applies: the request's
/// `change` first (its own rule, its own `KO`), then the bounds every
/// setting has ([`check`], [`may_set`]). `Ok(None)` if nothing changes
/// (nothing is stored), `Ok(Some(value))` the key's new value.
pub fn decide(setting: &Setting, kept: &KeyView, change: KeyChange) -> Result<Option<Option<String>>, Ko> {
    let new = change(kept)?;
    check_within(kept.key, new.as_deref(), setting.longest)?;
    may_set(setting, kept.count(), kept.current().is_some(), new.is_some())?;
    Ok((new.as_deref() != kept.current()).then_some(new))
}

/// THE rule of a name taken again: whether a setting's `key` is about the
/// direct chat with the user whose folded name is `folded`, the chat
/// itself (`bob`: a block, a level, a pin, an archive) or a message in it
/// (`bob:ana:m1`, a star). A room's keys begin with `#`, never a name.
pub fn about(key: &str, folded: &str) -> bool {
    key.strip_prefix(folded).is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// One user's settings in memory (`state::User::settings`), as `SET`
/// records leave them: by setting's name, then key, the value.
///
/// A map of maps, so that a lookup borrows its two `&str`s: whether a
/// recipient blocked a sender is asked of every direct message
/// (`prefs::blocks`), and with one map keyed by `(String, String)` each
/// lookup built two `String`s. A setting with no key left has no map
/// (two `Settings` with the same keys are equal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings(BTreeMap<String, BTreeMap<String, String>>);

impl Settings {
    /// The value of `key` of the setting `name`, if it has one.
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.0.get(name)?.get(key).map(String::as_str)
    }

    /// Sets `key` of `name` to `value`, or removes it (`None`).
    pub fn set(&mut self, name: &str, key: &str, value: Option<&str>) {
        match value {
            Some(value) => {
                self.0.entry(name.to_string()).or_default().insert(key.to_string(), value.to_string());
            }
            None => {
                if let Some(keys) = self.0.get_mut(name) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.0.remove(name);
                    }
                }
            }
        }
    }

    /// The `(key, value)` pairs of the setting `name`, sorted by key.
    pub fn of<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.get(name).into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Removes every key [`about`] the user whose folded name is `folded`.
    pub fn forget_about(&mut self, folded: &str) {
        for keys in self.0.values_mut() {
            keys.retain(|key, _| !about(key, folded));
        }
        self.0.retain(|_, keys| !keys.is_empty());
    }

    /// Every `(name, key, value)`, sorted by name then key, for a
    /// checkpoint and an export.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.0
            .iter()
            .flat_map(|(n, keys)| keys.iter().map(move |(k, v)| (n.as_str(), k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: Setting = Setting { name: "two", most: 2, what: "things", longest: MAX_VALUE };

    #[test]
    fn only_a_new_key_past_the_most_is_full() {
        assert_eq!(may_set(&TWO, 0, false, true), Ok(()));
        assert_eq!(may_set(&TWO, 1, false, true), Ok(()));
        let full = may_set(&TWO, 2, false, true).unwrap_err();
        assert_eq!(full.to_string(), "KO:FULL:you have 2 things already, the most there may be");
        assert_eq!(may_set(&TWO, 2, true, true), Ok(()), "a key already there is no new one");
        assert_eq!(may_set(&TWO, 2, true, false), Ok(()), "removing is always allowed");
        assert_eq!(may_set(&TWO, 2, false, false), Ok(()), "removing a key not there too");
    }

    #[test]
    fn settings_are_apart_by_name_and_sorted_by_key() {
        let mut s = Settings::default();
        s.set("b", "z", Some("Z"));
        s.set("b", "a", Some("A"));
        s.set("a", "q", Some("Q"));
        s.set("c", "x", Some("X"));
        assert_eq!(s.of("b").collect::<Vec<_>>(), [("a", "A"), ("z", "Z")]);
        assert_eq!((s.of("a").count(), s.of("b").count(), s.of("nope").count()), (1, 2, 0));
        s.set("b", "a", None);
        assert_eq!((s.get("b", "a"), s.get("b", "z")), (None, Some("Z")));
        assert_eq!(s.all().collect::<Vec<_>>(), [("a", "q", "Q"), ("b", "z", "Z"), ("c", "x", "X")]);
        s.set("nope", "k", None);
        assert_eq!((s.get("nope", "k"), s.of("nope").count()), (None, 0), "removing nothing adds nothing");
    }

    #[test]
    fn settings_with_the_same_keys_are_equal_however_they_came() {
        let mut changed = Settings::default();
        changed.set("block", "bob", Some("bob"));
        changed.set("pref", "#lab", Some("x"));
        changed.set("block", "bob", None);
        changed.set("star", "eve:ana:m1", Some("1"));
        changed.forget_about("eve");
        let mut direct = Settings::default();
        direct.set("pref", "#lab", Some("x"));
        assert_eq!(changed, direct, "a setting left without keys leaves nothing behind");
    }

    #[test]
    fn a_change_sees_what_is_kept_and_every_setting_stays_bounded() {
        let kept = KeyView::new("b", vec![("a", "A"), ("b", "B")]);
        assert_eq!((kept.current(), kept.count()), (Some("B"), 2));
        assert_eq!(KeyView::new("c", vec![("a", "A")]).current(), None);
        let put = |v: Option<&str>| {
            let v = v.map(String::from);
            move |_: &KeyView| Ok(v.clone())
        };
        assert_eq!(decide(&TWO, &kept, &mut put(Some("B"))), Ok(None), "the same value: nothing changes");
        assert_eq!(decide(&TWO, &kept, &mut put(None)), Ok(Some(None)));
        let full = KeyView::new("c", vec![("a", "A"), ("b", "B")]);
        assert_eq!(decide(&TWO, &full, &mut put(Some("C"))).unwrap_err().code, Code::Full);
        let mut own = |_: &KeyView| Err(Ko::new(Code::BadRequest, "its own rule"));
        assert_eq!(
            decide(&TWO, &full, &mut own).unwrap_err().reason,
            "its own rule",
            "the request's rule first"
        );
        let long = "v".repeat(MAX_VALUE + 1);
        assert_eq!(decide(&TWO, &kept, &mut put(Some(&long))).unwrap_err().code, Code::BadRequest);
    }

    #[test]
    fn what_is_about_a_name_is_its_chat_and_the_messages_in_it() {
        assert!(about("bob", "bob") && about("bob:ana:m1", "bob") && about("bob:bob:m2", "bob"));
        assert!(!about("bobby", "bob") && !about("#bob", "bob") && !about("ana:bob:m1", "bob"));
        let mut s = Settings::default();
        for (name, key) in
            [("block", "bob"), ("star", "bob:ana:m1"), ("star", "bobby:bob:m1"), ("pref", "#bob")]
        {
            s.set(name, key, Some("x"));
        }
        s.forget_about("bob");
        let left: Vec<_> = s.all().map(|(_, k, _)| k).collect();
        assert_eq!(left, ["#bob", "bobby:bob:m1"]);
    }

    #[test]
    fn keys_and_values_are_bounded() {
        assert_eq!(check("bob", Some("Bob")), Ok(()));
        assert_eq!(check(&"k".repeat(MAX_KEY), Some(&"v".repeat(MAX_VALUE))), Ok(()));
        assert_eq!(check(&"k".repeat(MAX_KEY), None), Ok(()));
        for (key, value) in [
            ("", Some("x")),
            (&*"k".repeat(MAX_KEY + 1), Some("x")),
            ("bob", Some(&*"v".repeat(MAX_VALUE + 1))),
            ("b\nob", Some("x")),
            ("bob", Some("a\rb")),
        ] {
            let ko = check(key, value).unwrap_err();
            assert!(ko.to_string().starts_with("KO:BAD_REQUEST:"), "{key:?} {value:?}: {ko}");
        }
    }
}
