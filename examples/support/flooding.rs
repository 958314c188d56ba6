//! The two loads that `room_flood` and `room_flood_cluster` run against a
//! room: flooders pipelining messages into `#flood`, and online members
//! reading and acknowledging. Frames are made and read by `wachat::protocol`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wachat::protocol::{Chat, Event, EventRef, EventReply, Reply, Request, Text};

use super::line_conn::{Conn, Result};

/// Messages in flight per flooder.
const WINDOW: usize = 64;

/// Pipelines room messages to `#flood`, [`WINDOW`] in flight, until `stop`;
/// counts those answered `OK` into `sent`.
pub fn flood(mut c: Conn, me: usize, stop: &AtomicBool, sent: &AtomicU64) -> Result<()> {
    let text = Text::from_plain(&"x".repeat(100))?;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let burst: String = (0..WINDOW)
            .map(|k| {
                let id = format!("f{me}-{}", n + k as u64);
                format!("{}\n", Request::Msg { to: Chat::Room("flood".into()), id, text: text.clone() })
            })
            .collect();
        c.send(&burst)?;
        for _ in 0..WINDOW {
            if matches!(Reply::parse(&c.line()?), Ok(Reply::OkWith(_) | Reply::Ok)) {
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
        n += WINDOW as u64;
    }
    Ok(())
}

/// A member online: reads its events and acknowledges every 256th message.
pub fn read_and_ack(mut c: Conn, stop: &AtomicBool) -> Result<()> {
    c.stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut since_ack = 0;
    while !stop.load(Ordering::SeqCst) {
        let Ok(line) = c.line() else { continue };
        if let Some(EventRef::Msg { seq, .. }) = EventRef::parse(&line) {
            since_ack += 1;
            if since_ack == 256 {
                c.send(&format!("{}\n", EventReply::Ack(seq)))?;
                since_ack = 0;
            }
        } else if let Ok(Event::Ping) = Event::parse(&line) {
            c.send(&format!("{}\n", EventReply::Pong))?;
        }
    }
    Ok(())
}
