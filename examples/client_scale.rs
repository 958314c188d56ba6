//! What a client's local log costs as it grows (a classmate flooding a
//! chat makes it grow): the time to open `history.csv` and the process's
//! memory afterwards, for a log of N messages of B bytes.
//!
//! ```sh
//! cargo run --release --example client_scale -- [messages] [bytes] [dir]
//! ```
//!
//! (defaults: 100,000 messages of 4,096 bytes, in a temporary directory.)
//! It writes the file through [`History`] itself, in a process of its own
//! (it runs itself again with `fill`), then opens it here and prints the
//! RSS before and after and how long the opening took: what the console
//! and the TUI pay at every start. The goal is RSS ≤ 100 MiB and an
//! opening time that does not grow with the history: a start reads only
//! the rows of the last `WINDOW` messages, found from the end of the file
//! (`client/history/paging.rs`). It also times a page of 50 read back from the
//! oldest part of the file, what scrolling that far costs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use wachat::client::{History, Message};
use wachat::protocol::{Chat, MsgState, Text};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("fill") {
        return fill(Path::new(&args[2]), args[3].parse()?, args[4].parse()?);
    }
    let messages: usize = args.get(1).map_or(Ok(100_000), |a| a.parse())?;
    let bytes: usize = args.get(2).map_or(Ok(4_096), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args.get(3).map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let path = dir.join("history.csv");
    let started = Instant::now();
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["fill", &path.display().to_string(), &messages.to_string(), &bytes.to_string()])
        .status()?;
    assert!(status.success(), "filling failed");
    let size = std::fs::metadata(&path)?.len();
    println!(
        "history.csv: {messages} messages of {bytes} bytes, {:.1} MiB, written in {:.1} s",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    let rss = || wachat::sys::process::rss_bytes(std::process::id()).unwrap_or(0) as f64 / 1048576.0;
    let before = rss();
    let opening = Instant::now();
    let history = History::open(path)?;
    let took = opening.elapsed();
    let after = rss();
    println!("open: {:.2} s; RSS {before:.1} MiB before, {after:.1} MiB after", took.as_secs_f64());
    let chat = Chat::User("bob".into());
    let shown = Instant::now();
    let last = history.conversation("ana", &chat, 20);
    println!("the last {} messages of a chat: {:.1} ms", last.len(), shown.elapsed().as_secs_f64() * 1e3);
    let paged = Instant::now();
    let page = history.before("ana", &chat, ("ana", "m100", 0), 50);
    println!(
        "a page of {} from the oldest part: {:.1} ms; RSS {:.1} MiB",
        page.len(),
        paged.elapsed().as_secs_f64() * 1e3,
        rss()
    );
    Ok(())
}

/// Writes `n` messages of `bytes` bytes between ana and bob.
fn fill(path: &Path, n: usize, bytes: usize) -> Result<()> {
    let mut history = History::open(path.to_path_buf())?;
    let text = Text::from_plain(&"x".repeat(bytes))?;
    for i in 0..n {
        let (from, to) = if i % 2 == 0 { ("ana", "bob") } else { ("bob", "ana") };
        history.add(Message {
            from: from.into(),
            to: Chat::User(to.into()),
            id: format!("m{i}"),
            ts: 1_700_000_000_000 + i as u64,
            state: MsgState::Received,
            text: text.clone(),
            refused: None,
            p2p: false,
        })?;
        if i % 10_000 == 9_999 {
            history.sync()?;
        }
    }
    history.sync()?;
    Ok(())
}
