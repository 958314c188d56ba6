//! An `OK` from a cluster node is a commit on PostgreSQL's disk: the
//! leader commits each batch to the shared log synchronously
//! (PostgreSQL's default, which it never turns off) and answers after.
//! Tested the hard way: PostgreSQL crashes (`immediate`: its log buffers
//! are lost) in the middle of a stream of messages, and every message
//! that got an `OK` is in the log after it recovered.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::support::cluster::{Cluster, eventually};
use super::{register, send_conn};

#[test]
fn every_message_answered_ok_survives_postgresql_crashing() {
    let cluster = Cluster::start_own();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    for user in ["ana", "bob", "carl"] {
        register(&a, user);
    }
    let answered: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    // Two senders, one on each node, each waiting for its OK before the
    // next message: every message is a batch of its own.
    let senders: Vec<_> = [("ana", &a), ("carl", &b)]
        .into_iter()
        .map(|(user, node)| {
            let mut conn = send_conn(node, user);
            let (answered, stop) = (answered.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("{user}{n}");
                    conn.send(&format!("MSG:bob:{id}:number {n}"));
                    match conn.line_or_none() {
                        Some(reply) if reply.starts_with(&format!("OK:{id}:")) => {
                            answered.lock().unwrap().insert(id);
                        }
                        _ => break, // KO:UNAVAILABLE while the database is down, or closed
                    }
                }
            })
        })
        .collect();
    eventually("200 messages answered", Duration::from_secs(20), || answered.lock().unwrap().len() >= 200);
    cluster.pg.crash();
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.join().unwrap();
    }
    cluster.pg.start_again();
    let answered = answered.lock().unwrap().clone();
    let mut stored = BTreeSet::new();
    for row in cluster.pg.client().query("SELECT records FROM log ORDER BY pos", &[]).unwrap() {
        let records: Vec<u8> = row.get(0);
        for line in String::from_utf8(records).unwrap().lines() {
            if let Ok(wachat::store::Record::Msg { msg, .. }) = wachat::store::Record::decode(line) {
                stored.insert(msg.id.to_string());
            }
        }
    }
    let lost: Vec<&String> = answered.difference(&stored).collect();
    assert!(lost.is_empty(), "{} of {} messages answered OK were lost: {lost:?}", lost.len(), answered.len());
}
