//! 1.2 (§23): a user's *settings*, one generic store for the small
//! per-user facts a request may keep, on both backends.
//!
//! Before it, each such fact (a block, a pin, a level) needed its own
//! record kind, its own table and its own `Backend` methods: ten files
//! or more for a request that stores one word per chat. A setting is
//! instead declared by its request, in the request's own file:
//!
//! ```ignore
//! pub const ARCHIVE: Setting = Setting { name: "archive", most: MAX_ARCHIVED, what: "archived chats" };
//! ```
//!
//! and stored through two [`Backend`](super::Backend) methods that every
//! setting shares: `set_setting(user, &ARCHIVE, key, Some(value))` (or
//! `None` to remove the key) and `settings(user, &ARCHIVE)`, the user's
//! `(key, value)` pairs sorted by key. The local store keeps them in
//! `state::User::settings` and writes a `SET` record
//! (`record/settings.rs`); the cluster keeps them in its `settings`
//! table (`cluster/settings.rs`).
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
//! Both backends ask [`check`] and [`may_set`], under their lock or in
//! their transaction, so that they cannot answer differently.

use std::collections::BTreeMap;

use crate::protocol::{Code, Ko};

/// Most bytes of a setting's key (a folded chat name is at most 33; a
/// starred message's `<chat>:<from>:<id>`, 1.2 §25, at most 131).
pub const MAX_KEY: usize = 160;
/// Most bytes of a setting's value.
pub const MAX_VALUE: usize = 200;

/// One kind of setting, declared by the request that keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// Its name in the log's `SET` records and the cluster's table
    /// (lower case, no comma: it is never shown to a user).
    pub name: &'static str,
    /// Most keys one user may have of it (`KO:FULL` past it).
    pub most: usize,
    /// What its keys are, in the plural, for the `KO:FULL` reason
    /// ("archived chats").
    pub what: &'static str,
}

/// Whether `key` and `value` may be stored: `KO:BAD_REQUEST` past
/// [`MAX_KEY`] or [`MAX_VALUE`], for an empty key, or for a control
/// character in either.
pub fn check(key: &str, value: Option<&str>) -> Result<(), Ko> {
    let bad = |s: &str| s.chars().any(char::is_control);
    if key.is_empty() || key.len() > MAX_KEY || bad(key) {
        let why = format!("a setting's key is 1 to {MAX_KEY} bytes, without control characters");
        return Err(Ko::new(Code::BadRequest, why));
    }
    if value.is_some_and(|v| v.len() > MAX_VALUE || bad(v)) {
        let why = format!("a setting's value is at most {MAX_VALUE} bytes, without control characters");
        return Err(Ko::new(Code::BadRequest, why));
    }
    Ok(())
}

/// THE rule of the setting's bound, which both backends ask: a user who
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

/// One user's settings in memory (`state::User::settings`), as `SET`
/// records leave them: by setting's name, then key, the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings(BTreeMap<(String, String), String>);

impl Settings {
    /// The value of `key` of the setting `name`, if it has one.
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.0.get(&(name.to_string(), key.to_string())).map(String::as_str)
    }

    /// How many keys of the setting `name` there are.
    pub fn count(&self, name: &str) -> usize {
        self.of(name).count()
    }

    /// Sets `key` of `name` to `value`, or removes it (`None`).
    pub fn set(&mut self, name: &str, key: &str, value: Option<&str>) {
        let at = (name.to_string(), key.to_string());
        match value {
            Some(value) => self.0.insert(at, value.to_string()),
            None => self.0.remove(&at),
        };
    }

    /// The `(key, value)` pairs of the setting `name`, sorted by key.
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let from = (name.to_string(), String::new());
        self.0
            .range(from..)
            .take_while(move |((n, _), _)| n == name)
            .map(|((_, k), v)| (k.as_str(), v.as_str()))
    }

    /// Every `(name, key, value)`, for a checkpoint and an export.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.0.iter().map(|((n, k), v)| (n.as_str(), k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: Setting = Setting { name: "two", most: 2, what: "things" };

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
        assert_eq!((s.count("a"), s.count("b"), s.count("nope")), (1, 2, 0));
        s.set("b", "a", None);
        assert_eq!((s.get("b", "a"), s.get("b", "z")), (None, Some("Z")));
        assert_eq!(s.all().count(), 3);
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
