//! A data directory filled with many messages, fast and offline: what
//! `wachat bench --pairs 100` would leave after sending them, in a
//! fraction of the time (no sockets, no fsync while filling).
//!
//! 100 senders `bench-s<i>` each send to their receiver `bench-r<i>`
//! (password `bench-password`, as the bench's users), 100-byte texts; every
//! receiver acknowledges what it got (so the messages are DELIVERED and the
//! inboxes empty, as after a bench run). The store writes its checkpoints
//! as it goes, and a last one at the end, as a server would.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use wachat::protocol::{Chat, Text};
use wachat::store::{Hasher, LocalStore, Store, StoreOptions};

const PAIRS: usize = 100;
const BURST: usize = 500;

/// Sends `total` messages into the store in `dir` (made if missing, added
/// to if not); returns how many it sent.
pub fn fill(dir: &Path, total: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let options = StoreOptions { fsync: false, ..StoreOptions::default() };
    let backend = LocalStore::open(dir, options, Box::new(|_| {}))?;
    let store = Store::new(Arc::new(backend), Hasher::new(8)?);
    let mut pairs = Vec::new();
    for i in 0..PAIRS {
        let id = |name: String| match store.login(&name, "bench-password", false) {
            Ok((id, _)) => Ok(id),
            Err(_) => store.register(&name, "", "bench-password").map(|(id, _)| id),
        };
        pairs.push((
            id(format!("bench-s{i}")).map_err(|ko| ko.reason)?,
            id(format!("bench-r{i}")).map_err(|ko| ko.reason)?,
        ));
    }
    let run = wachat::store::now_ms();
    let text = Text::parse(&"x".repeat(100))?;
    let started = Instant::now();
    let mut sent = 0;
    let mut round = 0;
    while sent < total {
        for (i, &(sender, receiver)) in pairs.iter().enumerate() {
            let n = BURST.min(total - sent);
            if n == 0 {
                break;
            }
            let to = Chat::User(format!("bench-r{i}"));
            let burst: Vec<_> =
                (0..n).map(|k| (to.clone(), format!("f{run}-{round}-{k}"), text.clone())).collect();
            let (results, ticket) = store.send(sender, &burst);
            if let Some(Err(ko)) = results.into_iter().find(Result::is_err) {
                return Err(ko.reason.into());
            }
            store.wait(ticket).map_err(|ko| ko.reason)?;
            // Both acknowledge, as the bench's clients do: the receiver its
            // messages, the sender its STATUS events (inboxes stay empty).
            store.ack(receiver, store.inbox_end(receiver));
            store.ack(sender, store.inbox_end(sender));
            sent += n;
        }
        round += 1;
        if round % 20 == 0 {
            let rate = sent as f64 / started.elapsed().as_secs_f64();
            eprintln!("  {sent} messages ({rate:.0}/s)");
        }
    }
    // The last DELIVERED records on disk (a resend writes nothing and waits
    // for everything before it), then the last STATUS events acknowledged.
    let (sender, _) = pairs[0];
    let (mut results, ticket) =
        store.send(sender, &[(Chat::User("bench-r0".into()), format!("f{run}-0-0"), text.clone())]);
    results.pop().expect("one result per message").map_err(|ko| ko.reason)?;
    store.wait(ticket).map_err(|ko| ko.reason)?;
    for &(sender, _) in &pairs {
        store.ack(sender, store.inbox_end(sender));
    }
    store.stop();
    Ok(sent)
}
