//! Fills a data directory with many messages, fast and offline: what
//! `wachat bench --pairs 100` would leave after sending them, in a
//! fraction of the time (no sockets, no fsync while filling; see
//! `support/filling.rs`).
//!
//! ```sh
//! cargo run --release --example fill_store -- /tmp/big 10000000
//! target/release/wachat serve --data-dir /tmp/big     # then time a restart
//! ```

use std::time::Instant;

#[path = "support/filling.rs"]
mod filling;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(total)) = (args.get(1), args.get(2)) else {
        return Err("usage: fill_store <data-dir> <messages>".into());
    };
    let started = Instant::now();
    let sent = filling::fill(dir.as_ref(), total.parse()?)?;
    println!("{sent} messages in {:.1} s into {dir}", started.elapsed().as_secs_f64());
    Ok(())
}
