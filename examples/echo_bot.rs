//! # The echo bot: a wachat bot in one screen
//!
//! It logs in as its own account and answers every direct message: it
//! reads it, then sends the same text back. The sender's ticks turn
//! `✓✓ read` before the echo arrives: the client says a chat's `READ`
//! before it writes into that chat (otherwise at most once a chat every
//! 2 s).
//!
//! ```sh
//! wachat register --user echo-bot          # once, on the server
//! WACHAT_PASSWORD=… cargo run --example echo_bot -- --user echo-bot
//! ```
//!
//! It takes the flags of `wachat connect` (`--server`, `--send-port`,
//! `--recv-port`, `--data-dir`, …) and its password from `WACHAT_PASSWORD`,
//! `--password-stdin` or a prompt. The rest is `wachat::client`'s work:
//! logging in again when the server restarts, keeping replies in the outbox
//! while it is down, and never showing the same message twice, so a
//! restarted bot answers only what it has not answered yet.

use clap::Parser;
use wachat::cli::ServerArgs;
use wachat::client::{Client, Message, Notice};
use wachat::error::{Error, Result};
use wachat::protocol::Chat;

/// Answers every direct message with the same text.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() {
    let args = Args::parse();
    // Log lines quote messages from the network: control characters shown, not obeyed.
    wachat::display::logger("info").init();
    if let Err(e) = run(args) {
        eprintln!("echo_bot: {}", wachat::display::visible(&e.to_string()));
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let client = Client::connect(args.server.options()?)?;
    log::info!("echo_bot: answering direct messages to {}", client.me());
    // Everything the client sees, in order, for as long as the bot runs.
    for notice in client.events().iter() {
        match notice {
            // Direct messages only: a bot that echoed a room would answer
            // every other bot in it, and they it, forever.
            Notice::Message(m) if matches!(m.to, Chat::User(_)) => answer(&client, &m)?,
            Notice::Offline(why) => log::warn!("echo_bot: offline ({why}); trying again"),
            Notice::Online => log::info!("echo_bot: back online"),
            Notice::Replaced => {
                return Err(Error::Protocol(format!("another client logged in as {}", client.me())));
            }
            // Unlinked from another of the account's devices: logged out for good.
            Notice::Unlinked => return Err(client.unlinked_error()),
            _ => {}
        }
    }
    Ok(())
}

/// `READ`, then the reply.
fn answer(client: &Client, m: &Message) -> Result<()> {
    let text = m.text.unescaped();
    log::info!("echo_bot: {}: {text}", m.from);
    // `READ` needs the server right now; if it has just gone away, the reply
    // still goes (the outbox keeps it), and the next `READ` covers this one.
    if let Err(e) = client.read(m) {
        log::warn!("echo_bot: READ of {}'s message: {e}", m.from);
    }
    // The same text cannot be too long: it came as a message.
    client.send(&m.from, &text)?;
    Ok(())
}
