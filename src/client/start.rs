//! How a client starts: [`Client::connect`], step by step.
//!
//! ```text
//!   open the local folder (locked), choose the device, a saved token
//!   log in on the send port ── which server is this? (SERVER) ── another
//!     │                         than the folder's: the folder goes aside
//!   listen for direct chats, announce the port (P2P:<port>)
//!   open the log and the outbox, hand unacknowledged direct messages back
//!   log in on the receive port
//!   start the sender, the receiver and the direct-chat threads
//! ```
//!
//! A server that cannot be reached is not an error: each login step gives
//! a [`Reached`], the connection or why not, and the client starts
//! offline with that reason ([`Notice::Offline`]); its threads keep
//! trying. A device that never reached that server is told so apart
//! ([`Client::never_reached`]): a wrong address or port is the likely
//! cause. A refused login is an error, and so is registering without a
//! server: there is nothing to wait for.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::direct::{self, announce};
use super::link::{self, Connectivity};
use super::receiver::ReceiverThread;
use super::sender::SenderThread;
use super::shared::Shared;
use super::{
    Client, ClientOptions, Connection, History, Login, Notice, Outbox, id_prefix, keepalive, login,
    server_id, token,
};
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::p2p::Tokens;
use crate::protocol::Code;
use crate::protocol::Port;

/// A connection made at start, or why it could not be (in the user's
/// words, for [`Notice::Offline`]).
type Reached<T> = std::result::Result<T, String>;

/// The send port's connection and the user's name as registered.
type SendLogin = (Connection, String);

/// The first send login, the user's name as registered, the server's id
/// (`SERVER`) and its timeout (`INFO`, [`keepalive`]), each `None` from a
/// server that cannot say.
type FirstLogin = (Connection, String, Option<String>, Option<Duration>);

impl Client {
    /// Opens the local files, logs in on both ports and starts the threads.
    ///
    /// A server that cannot be reached is not an error: the client starts
    /// offline (a [`Notice::Offline`] says so). A refused login is, and so
    /// is registering (`options.register`) without a server.
    ///
    /// The local folder is locked for as long as the client lives: a second
    /// client of the same user and server on the same data directory is
    /// refused ([`Error::Usage`], saying which program holds it).
    pub fn connect(mut options: ClientOptions) -> Result<Client> {
        let mut folder = server_id::Folder::open(&options)?;
        // The default device is the folder's: from now on it is named.
        options.device = Some(folder.device.clone());
        let uses_token = token::use_saved_or_pair(&mut options, &folder.dir)?;
        let (notices_tx, notices) = crossbeam_channel::unbounded();
        let been_here = been_here(&folder, uses_token);
        let (mut send, mut server_timeout) = login_send(&options, uses_token, &mut folder, &notices_tx)?;
        let never_reached = send.as_ref().err().filter(|_| !been_here).cloned();
        let mut uses_token = uses_token;
        if options.stay
            && !uses_token
            && let Ok((conn, _)) = &mut send
        {
            match token::stay(conn, &mut options, &folder.dir) {
                // Logged in again with the token: a session of the device as
                // it is on record now (a later `/link` checks that).
                Ok(()) => {
                    uses_token = true;
                    (send, server_timeout) = login_send(&options, uses_token, &mut folder, &notices_tx)?;
                }
                // An older server (no LINK): the password login stands.
                Err(e) => log::warn!("{e}"),
            }
        }
        // Bound once we know which local address reaches the server, and
        // before the port is announced.
        let local_ip = send.as_ref().ok().and_then(|(conn, _)| conn.local_ip());
        let (listener, p2p_port) = listen_direct(&options, local_ip)?;
        let send = send.and_then(|login| announced(login, p2p_port));
        let me = send.as_ref().map_or_else(|_| options.user.clone(), |(_, name)| name.clone());
        let options = ClientOptions { user: me, ..options };
        let mut shared = open_shared(options, folder, uses_token, p2p_port, notices_tx)?;
        shared.server_timeout.set(server_timeout);
        let recv = match &send {
            Ok(_) => login_receive(&shared)?,
            Err(why) => Err(why.clone()),
        };
        shared.link = Connectivity::new(send.is_ok(), recv.is_ok(), shared.notices.clone());
        if let Err(why) = &recv {
            let _ = shared.notices.send(Notice::Offline(why.clone()));
        }
        let mut client =
            start_threads(shared, send.ok().map(|(conn, _)| conn), recv.ok(), listener, notices)?;
        client.never_reached = never_reached;
        Ok(client)
    }
}

/// Whether this device's folder holds anything of an earlier session with
/// this server: the server's id, a message of the log or the outbox (more
/// than a header line), a device token.
fn been_here(folder: &server_id::Folder, uses_token: bool) -> bool {
    let has_records = |name: &str| {
        let mut first = [0u8; 1024];
        let read = std::fs::File::open(folder.dir.join(name))
            .and_then(|mut f| std::io::Read::read(&mut f, &mut first));
        read.is_ok_and(|n| first[..n].iter().filter(|&&b| b == b'\n').count() > 1)
    };
    uses_token || folder.files_of.is_some() || has_records("history.csv") || has_records("outbox_tmp.csv")
}

/// The first login on the send port, and the server's timeout if it said
/// it; a new server at the address moves the folder aside
/// ([`Notice::ServerChanged`]) before its files are opened. An error only
/// if waiting for the server cannot help.
fn login_send(
    options: &ClientOptions,
    uses_token: bool,
    folder: &mut server_id::Folder,
    notices: &Sender<Notice>,
) -> Result<(Reached<SendLogin>, Option<Duration>)> {
    match first_login(options, uses_token, &folder.dir) {
        Ok((conn, name, id, timeout)) => {
            // Which server this is, before its files are opened: if
            // the folder was another's, it goes aside now.
            if let Some(id) = id {
                if let Some(moved) = folder.meet(options, &id)? {
                    let _ = notices.send(Notice::ServerChanged(moved));
                }
                folder.files_of = Some(id);
            }
            Ok((Ok((conn, name)), timeout))
        }
        Err(e @ (Error::Refused { .. } | Error::Usage(_))) => Err(e),
        Err(e) if options.register.is_some() => Err(e),
        Err(e) => Ok((Err(link::why_offline(&e)), None)),
    }
}

/// The first login of [`Client::connect`] (a `REGISTER` if asked): the
/// connection, the name as registered, the server's id (`SERVER`; `None`
/// from a version-1 server) and, from a server that knows `SERVER`, its
/// timeout (`INFO`, 1.2). A refused token is forgotten, and the error says
/// why (the device was unlinked).
fn first_login(options: &ClientOptions, uses_token: bool, dir: &Path) -> Result<FirstLogin> {
    let (o, trace) = (options, options.trace.clone());
    let mut conn = Connection::open_any(o, Port::Send, trace, &o.preferred)?;
    let how = match &o.register {
        Some(email) => Login::Register { email: email.clone(), invite: o.invite.clone() },
        None => Login::Existing,
    };
    let name = match login::as_device(&mut conn, o, &how) {
        Err(Error::Refused { ko, .. }) if ko.code == Code::AuthFailed && uses_token => {
            token::forget(dir);
            let device = o.device.as_deref().unwrap_or_default();
            return Err(Error::Usage(tr!(Msg::TokenRefused, user = o.user, device = device)));
        }
        other => other?,
    };
    let id = server_id::ask(&mut conn)?;
    let timeout = if id.is_some() { keepalive::ask(&mut conn)? } else { None };
    Ok((conn, name, id, timeout))
}

/// The listener for direct chats (`--p2p-port`) on `local_ip`, and its
/// port. Direct chats are plaintext: a TLS client accepts none.
fn listen_direct(
    options: &ClientOptions,
    local_ip: Option<std::net::IpAddr>,
) -> Result<(Option<TcpListener>, Option<u16>)> {
    let listener = match options.p2p_port.filter(|_| options.tls.is_none()) {
        Some(port) => direct::listen(options, local_ip, port)?,
        None => None,
    };
    let p2p_port = match &listener {
        Some(l) => Some(l.local_addr().map_err(|e| Error::io(tr!(Msg::P2pPort), e))?.port()),
        None => None,
    };
    Ok((listener, p2p_port))
}

/// The send login, once the server knows where to reach us for direct chats.
fn announced((mut conn, name): SendLogin, p2p_port: Option<u16>) -> Reached<SendLogin> {
    match announce(&mut conn, p2p_port) {
        Ok(()) => Ok((conn, name)),
        Err(e) => Err(link::why_offline(&e)),
    }
}

/// Opens the folder's files (the log, the outbox: direct messages the
/// peer never acknowledged go back to the outbox) and what the threads
/// share. The link is said down until the logins are known.
fn open_shared(
    options: ClientOptions,
    folder: server_id::Folder,
    uses_token: bool,
    p2p_port: Option<u16>,
    notices: Sender<Notice>,
) -> Result<Shared> {
    let mut log = History::open(folder.dir.join("history.csv"))?;
    let mut outbox = Outbox::open(folder.dir.join("outbox_tmp.csv"))?;
    direct::recover(&options.user, &mut log, &mut outbox)?;
    Ok(Shared {
        me: options.user.clone(),
        options,
        folder: Mutex::new(folder),
        log: Mutex::new(log),
        outbox: Mutex::new(outbox),
        link: Connectivity::new(false, false, notices.clone()),
        notices,
        p2p_port,
        tokens: Arc::new(Tokens::default()),
        uses_token,
        new_password: Mutex::new(None),
        deleted: Default::default(),
        server_timeout: Default::default(),
        reads: Mutex::default(),
        ended: Default::default(),
    })
}

/// The login on the receive port. Refused is an error; unreachable, the
/// receiver thread will keep trying.
fn login_receive(shared: &Shared) -> Result<Reached<Connection>> {
    match shared.open(Port::Receive) {
        Ok(conn) => Ok(Ok(conn)),
        Err(e @ Error::Refused { .. }) => Err(e),
        Err(e) => Ok(Err(link::why_offline(&e))),
    }
}

/// Starts the sender, the receiver and the direct chats on what the
/// logins gave (`None`: the thread connects by itself).
fn start_threads(
    shared: Shared,
    send: Option<Connection>,
    recv: Option<Connection>,
    listener: Option<TcpListener>,
    notices: Receiver<Notice>,
) -> Result<Client> {
    // Counted before the sender starts: it may send them all before
    // anyone asks (see `Client::pending_at_start`).
    let pending_at_start = shared.outbox.lock().len();
    let shared = Arc::new(shared);
    let (jobs, jobs_rx) = crossbeam_channel::unbounded();
    let (stop, stop_rx) = crossbeam_channel::bounded(0);
    let sender = SenderThread::new(shared.clone(), send);
    let receiver = ReceiverThread::new(shared.clone(), recv, jobs.clone(), stop_rx);
    let threads = vec![
        spawn("wachat-sender", move || sender.run(jobs_rx))?,
        spawn("wachat-receiver", move || receiver.run())?,
    ];
    let p2p = direct::start(&shared, listener, jobs.clone())?;
    Ok(Client {
        shared,
        jobs: Some(jobs),
        stop: Some(stop),
        notices,
        p2p: Some(p2p),
        id_prefix: id_prefix()?,
        next_id: AtomicU64::new(1),
        typed: Mutex::default(),
        threads,
        pending_at_start,
        never_reached: None,
    })
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| Error::io(tr!(Msg::Starting, name = name), e))
}
