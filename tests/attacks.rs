//! Attacks on a real server, each checked against the bound that stops
//! it: costs a client can cause, hostile logins, moderation and policy,
//! a full disk, text that would forge lines, the web port over raw
//! sockets, the teacher's tools (`top`, `conform`) against hostile
//! endpoints, Web Push against hostile push services.
//!
//! One test binary, its tests by topic in `tests/attacks/`.

mod support;

#[path = "attacks/auth.rs"]
mod auth;
#[path = "attacks/bounded.rs"]
mod bounded;
#[path = "attacks/disk.rs"]
mod disk;
#[path = "attacks/federation.rs"]
mod federation;
#[path = "attacks/hardening.rs"]
mod hardening;
#[path = "attacks/policy.rs"]
mod policy;
#[path = "attacks/push.rs"]
mod push;
#[path = "attacks/text_rules.rs"]
mod text_rules;
#[path = "attacks/tools.rs"]
mod tools;
#[path = "attacks/web.rs"]
mod web;
