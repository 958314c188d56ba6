//! `wachat chaos`: a server checked under faults, against a written model
//! of what it promises (docs/MODEL.md).
//!
//! `wachat conform` checks a server case by case, each case a script on a
//! quiet network. What a distributed-systems course is about shows only
//! under faults: a connection reset in the middle of a frame, a receive
//! port cut off for a while, the server killed and started again while
//! messages fly (the approach of Maelstrom, labrpc, DSLabs). So chaos runs
//! a workload of users through a proxy of its own that injects those
//! faults, records every frame, and at the end checks the whole history
//! against the model, one function per guarantee.
//!
//! - [`schedule`]: the operations and faults, drawn from `--seed` (the same
//!   seed, the same schedule: a failure can be replayed);
//! - [`proxy`]: a TCP proxy per user and port that delays, resets and
//!   partitions; [`faults`] plays the fault schedule (and `--restart`);
//! - [`network`], [`links`]: a federation's servers (`--federation`,
//!   protocol 1.3), chaos's own or someone else's, each behind a proxy on
//!   its link port that splits it from the others; kill -9 and restarts;
//! - [`wire`], [`workload`]: the users, each a sender with an outbox and a
//!   receiver that ACKs (some late), reconnecting as a real client does;
//! - [`history`]: every frame and fault with its time and connection;
//! - [`model`]: the history read back as messages, receipts, ACKs, READs;
//! - [`check`]: the guarantees, each held or violated with examples;
//! - [`report`], [`html`]: text, JSON, and a Lamport diagram of the run;
//! - [`run`]: one run, from the accounts to the drain and `HISTORY`;
//! - [`command`]: the command line.
//!
//! Plain threads and std::net, like the rest of wachat.

pub mod check;
pub mod command;
pub mod faults;
pub mod history;
pub mod html;
pub mod links;
pub mod model;
pub mod network;
pub mod proxy;
pub mod report;
pub mod run;
pub mod schedule;
pub mod wire;
pub mod workload;
