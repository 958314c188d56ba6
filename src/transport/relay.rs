//! A byte relay: a connection that came to this server passed on to
//! another, byte for byte both ways, over a connection of its own. A
//! cluster's follower passes each of its clients on to the leader so
//! (`cluster::links`), and a link to a follower's link port, TLS and all,
//! to the leader's ([`crate::federation`]): one rule for both, here.
//!
//! ```text
//!   near ──▶ onward ──▶ far      (a thread of its own: the caller's)
//!   near ◀── back   ◀── far      (a thread it starts)
//! ```
//!
//! Each side ends alone: the near end's end of its bytes is passed on as a
//! half-close, so that its replies still come back; the far end's end
//! ends the near end's writing side. A side that does not take what is
//! passed to it within the timeout is given up, and the relay with it.
//! How long either end may stay silent is the read timeouts the caller
//! set on the two streams.

use std::io::Read;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Stream;

/// Bytes passed on at once, each way.
const CHUNK: usize = 64 * 1024;

/// Passes `near`'s bytes to `far` and `far`'s back to `near`, until
/// either ends or breaks, each write within `timeout`; the way back runs
/// on a thread of `thread` (the caller's name and stack size). Returns
/// once both ways ended, `far` shut.
pub fn both_ways(near: &Arc<Stream>, far: &Arc<Stream>, timeout: Duration, thread: std::thread::Builder) {
    let back = {
        let (near, far) = (near.clone(), far.clone());
        thread.spawn(move || back(&far, &near, timeout)).ok()
    };
    if back.is_some() {
        onward(near, far, timeout);
    }
    let _ = far.tcp().shutdown(Shutdown::Both);
    if let Some(back) = back {
        let _ = back.join();
    }
}

/// The near end's bytes to the far end, until the near end closes (the
/// far end hears its end, as from a connection of its own) or either
/// breaks. A far end that takes none of them within `timeout` is given
/// up.
fn onward(near: &Stream, far: &Stream, timeout: Duration) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match (&*near).read(&mut buf) {
            Ok(0) => {
                // Its replies still come back: only the way there ends.
                let _ = far.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) if far.write_all_by(&buf[..n], Instant::now() + timeout).is_ok() => {}
            _ => return,
        }
    }
}

/// The far end's bytes back to the near end, until the far end closes or
/// either breaks; then the near end's connection ends too. A near end
/// that does not take them within `timeout` is cut.
fn back(far: &Stream, near: &Stream, timeout: Duration) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match (&*far).read(&mut buf) {
            Ok(n) if n > 0 && near.write_all_by(&buf[..n], Instant::now() + timeout).is_ok() => {}
            _ => break,
        }
    }
    // The writing side only: what the kernel holds still reaches the
    // near end. Its reading side ends once it hangs up, or after a
    // timeout ([`onward`] returns either way).
    let _ = near.shutdown(Shutdown::Write);
    let _ = near.set_read_timeout(Some(timeout));
}
