//! The one-shot subcommands, for scripts: `wachat register`, `wachat send`,
//! `wachat users`, `wachat history`. Each opens one send connection, makes
//! one request, prints the answer on stdout and says `QUIT`.
//!
//! The exit code is the answer: `main` turns an `Err` into a message on
//! stderr and exit code 1, so `wachat send … && echo delivered` works, and
//! a `KO` prints the server's reason. No threads, no outbox: a script wants
//! to know *now* whether the server took its message.

use crate::client::server_id::{self, Folder};
use crate::client::{self, ClientOptions, Connection, History, Login};
use crate::console::view;
use crate::display::visible;
use crate::error::{Error, Result};
use crate::i18n::commands::Msg;
use crate::i18n::{self, tr};
use crate::protocol::Port;
use crate::protocol::page::Start;
use crate::protocol::{Accepted, Chat, Reply, Request};

/// `wachat register`: creates the account.
pub fn register(options: &ClientOptions) -> Result<()> {
    let (conn, name) = open(options)?;
    println!("{}", visible(&tr!(Msg::Registered, name = name)));
    quit(conn);
    Ok(())
}

/// `wachat send --to <user|#room> TEXT`: exits 0 once the server stored it.
pub fn send(options: &ClientOptions, to: &Chat, text: &str) -> Result<()> {
    let text = i18n::client::text_from_plain(i18n::current(), text).map_err(Error::Usage)?;
    let id = format!("{}-1", client::id_prefix()?);
    // A cluster failing over refuses logins too: tried again likewise.
    let (mut conn, me) = patiently(|| open(options))?;
    // Which server this is: the local log kept for another one at this
    // address is not this one's (see `client/server_id.rs`).
    let server = server_id::ask(&mut conn)?;
    let request = Request::Msg { to: to.clone(), id: id.clone(), text: text.clone() };
    let ts = match send_until_taken(&mut conn, &request, to)? {
        Reply::OkWith(fields) => Accepted::parse(&fields).map_or(0, |accepted| accepted.ts),
        Reply::Ko(ko) => {
            return Err(Error::Refused { request: tr!(i18n::client::Msg::ReqSend, to = to), ko });
        }
        other => return Err(conn.unexpected(&other)),
    };
    quit(conn);
    // Kept in the local log too, so that the console's history shows it;
    // unless a console (or a bot) holds the folder now: the server has the
    // message anyway, and the console's /chat fetches it from there.
    let mut folder = match Folder::open_existing(options) {
        Ok(Some(folder)) => folder,
        Ok(None) => {
            log::debug!("not logged locally: every device's folder is in use");
            println!("{}", tr!(Msg::SentTo, to = to));
            return Ok(());
        }
        Err(e) => {
            log::debug!("not logged locally: {e}");
            println!("{}", tr!(Msg::SentTo, to = to));
            return Ok(());
        }
    };
    if let Some(id) = server
        && let Some(moved) = folder.meet(options, &id)?
    {
        eprintln!("{}", visible(&server_id::changed_text(i18n::current(), &moved)));
    }
    let mut log = History::open(folder.dir.join("history.csv"))?;
    log.add(client::Message::accepted(me, to.clone(), id, ts, text))?;
    log.sync()?;
    println!("{}", tr!(Msg::SentTo, to = to));
    Ok(())
}

/// `wachat send --to <user|#room> --file PATH [caption]` (1.2): uploads
/// the file, its parts pipelined, then sends the message carrying it;
/// exits 0 once the server stored both.
pub fn send_file(options: &ClientOptions, to: &Chat, path: &std::path::Path, caption: &str) -> Result<()> {
    let caption = match caption.trim() {
        "" => None,
        c => Some(i18n::client::text_from_plain(i18n::current(), c).map_err(Error::Usage)?),
    };
    let (mut conn, _) = open(options)?;
    let mut requests = |batch: Vec<Request>| pipelined(&mut conn, batch);
    let (file, _) = client::files::upload(&mut requests, path)?;
    let id = format!("{}-1", client::id_prefix()?);
    match conn.request(&Request::File { to: to.clone(), id, file, caption })? {
        Reply::OkWith(_) => {}
        Reply::Ko(ko) => {
            return Err(Error::Refused { request: tr!(i18n::client::Msg::ReqSend, to = to), ko });
        }
        other => return Err(conn.unexpected(&other)),
    }
    quit(conn);
    println!("{}", tr!(Msg::SentTo, to = to));
    Ok(())
}

/// Writes every request, then reads their replies, in order.
fn pipelined(conn: &mut Connection, requests: Vec<Request>) -> Result<Vec<Reply>> {
    for request in &requests {
        conn.write_request(request)?;
    }
    requests.iter().map(|request| conn.read_reply(request)).collect()
}

/// How long `wachat send` tries again while the server answers "try
/// again" (`KO:UNAVAILABLE`: a cluster failing over takes ~10 s).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// `attempt`, again while it is refused with "try again" (1.2's
/// `KO:UNAVAILABLE`), for [`PATIENCE`] at most, waiting as the
/// interactive clients do (250 ms doubling to 4 s).
fn patiently<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let give_up = std::time::Instant::now() + PATIENCE;
    let mut wait = client::FIRST_BACKOFF;
    loop {
        match attempt() {
            Err(Error::Refused { ko, .. })
                if client::try_again(ko.code) && std::time::Instant::now() + wait < give_up =>
            {
                log::info!("{}; trying again in {wait:?}", ko.reason);
                std::thread::sleep(wait);
                wait = client::longer(wait);
            }
            other => return other,
        }
    }
}

/// Sends `request` (a `MSG`) and returns its reply; sent again, same id,
/// while the server says "try again" ([`patiently`]).
fn send_until_taken(conn: &mut Connection, request: &Request, to: &Chat) -> Result<Reply> {
    patiently(|| match conn.request(request)? {
        Reply::Ko(ko) if client::try_again(ko.code) => {
            Err(Error::Refused { request: tr!(i18n::client::Msg::ReqSend, to = to), ko })
        }
        reply => Ok(reply),
    })
}

/// `wachat users`: one online user per line.
pub fn users(options: &ClientOptions) -> Result<()> {
    for user in listing(options, Request::Users, &tr!(i18n::client::Msg::ReqUsers))?.1 {
        println!("{}", visible(&user));
    }
    Ok(())
}

/// `wachat history --with <peer>`: the conversation, oldest first, each
/// message with its time, and a date line before each day's first. Past
/// [`MAX_HISTORY`](crate::protocol::MAX_HISTORY) messages, or from
/// `--before <cursor>`, it reads the server's pages (protocol 1.2), and
/// says on stderr how to read the page before what it printed.
pub fn history(options: &ClientOptions, with: &Chat, limit: usize, before: Option<u64>) -> Result<()> {
    let paged = before.is_some() || limit > crate::protocol::MAX_HISTORY;
    let (me, messages, older) = if paged {
        let (mut conn, me) = open(options)?;
        let start = before.map_or(Start::Newest, Start::At);
        let page = client::pages::read_back(&mut |request| conn.request(&request), with, start, limit)
            .map_err(|e| match e {
                Error::Refused { ko, .. } => {
                    Error::Refused { request: tr!(Msg::ReqHistoryWith, chat = with), ko }
                }
                e => e,
            })?;
        quit(conn);
        (me, page.messages, page.before)
    } else {
        let request = Request::History { chat: with.clone(), limit, page: None };
        let (me, lines) = listing(options, request, &tr!(Msg::ReqHistoryWith, chat = with))?;
        let messages =
            lines.iter().map(|line| client::parse_history_line(line)).collect::<Result<Vec<_>>>()?;
        (me, messages, None)
    };
    for line in view::listing(i18n::current(), &me, &messages, client::now_ms()) {
        println!("{}", visible(&line));
    }
    if let Some(cursor) = older {
        eprintln!("{}", tr!(Msg::HistoryOlder, chat = with, cursor = cursor));
    }
    Ok(())
}

/// Connects to the send port and logs in (or registers, if the options
/// say so); returns the connection and the name as registered.
pub(crate) fn open(options: &ClientOptions) -> Result<(Connection, String)> {
    let o = options;
    let mut conn = Connection::open_any(o, Port::Send, o.trace.clone(), &o.preferred)?;
    let how = match &o.register {
        Some(email) => Login::Register { email: email.clone(), invite: o.invite.clone() },
        None => Login::Existing,
    };
    let name = conn.login(&o.user, &o.password, &how)?;
    Ok((conn, name))
}

/// One listing request; returns my name and the lines.
fn listing(options: &ClientOptions, request: Request, what: &str) -> Result<(String, Vec<String>)> {
    let (mut conn, me) = open(options)?;
    let lines = match conn.request(&request)? {
        Reply::Listing(lines) => lines,
        Reply::Ko(ko) => return Err(Error::Refused { request: what.to_string(), ko }),
        other => return Err(conn.unexpected(&other)),
    };
    quit(conn);
    Ok((me, lines))
}

/// Says goodbye. The work is done: a failure here changes nothing.
fn quit(mut conn: Connection) {
    let _ = conn.request(&Request::Quit);
}
