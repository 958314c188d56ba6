//! One connection to a wachat server, as a client sees it: connect, log
//! in, write a request, read its reply (with the `n` lines of a listing),
//! or read pushed events. Every read has a deadline, every frame can be
//! traced.
//!
//! It is built on the same [`FrameReader`] as the server and the same
//! [`Request`]/[`Reply`] types: the client never splits strings itself.
//! The one-shot subcommands (`wachat send`, `wachat users`, …) use a
//! `Connection` directly; the console and bots use [`super::Client`], whose
//! two threads each own one.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::options::Trace;
use super::options::port_name;
use super::tls;
use crate::error::{Error, Result};
use crate::i18n::client::Msg;
use crate::i18n::tr;
use crate::protocol::Port;
use crate::protocol::{FrameError, FrameReader, MAX_FRAME, Reply, Request};
use crate::transport::{SharedStream, Stream, Tls};

/// Most lines a listing reply may announce (`OK:<n>`): more than any
/// real server sends (10,000 users online, the longest `HISTORY` the
/// console asks for), far less than what would exhaust memory.
pub const MAX_LISTING_LINES: usize = 100_000;
/// Most bytes all the lines of one listing may hold together.
pub const MAX_LISTING_BYTES: usize = 16 << 20;

/// How many times [`Connection::request_patiently`] asks again after a
/// `KO:RATE_LIMITED` (each after the wait it says, at most 4 s).
pub const PATIENCE: u32 = 3;

/// How long a login asks again while the server answers `KO:RATE_LIMITED`
/// (each time after the wait it says, at most 4 s): a class that logs in
/// together from one address past what its failed-login bucket holds in
/// flight, or a neighbour's guesses at one's account emptying it.
pub const LOGIN_PATIENCE: Duration = Duration::from_secs(120);

/// How to log in: with an existing account, or by creating it.
#[derive(Clone)]
pub enum Login {
    Existing,
    /// `REGISTER` with this email address (may be empty); with an invite
    /// code, `REDEEM` (protocol 1.2).
    Register {
        email: String,
        invite: Option<String>,
    },
}

/// One open connection to one port of the server.
pub struct Connection {
    port: Port,
    /// Where it goes, for error messages: `127.0.0.1:6666`.
    addr: String,
    /// The write half (the stream the reader reads, shared: plaintext or TLS).
    stream: SharedStream,
    reader: FrameReader<SharedStream>,
    /// How long the server may take to answer.
    timeout: Duration,
    trace: Option<Trace>,
}

impl Connection {
    /// Connects to `host:port`, giving up after `timeout`; with `tls`, the
    /// TLS handshake is done (and the server's certificate checked) too.
    pub fn open(
        host: &str,
        port_number: u16,
        port: Port,
        timeout: Duration,
        trace: Option<Trace>,
        tls: Option<&Tls>,
    ) -> Result<Self> {
        let addr = format!("{host}:{port_number}");
        let context = || tr!(Msg::CannotConnect, port = port_name(port), addr = addr);
        let target = (host, port_number)
            .to_socket_addrs()
            .map_err(|e| Error::io(context(), e))?
            .next()
            .ok_or_else(|| Error::Usage(tr!(Msg::NoAddress, host = format!("{host:?}"))))?;
        let deadline = Instant::now() + timeout;
        let tcp = TcpStream::connect_timeout(&target, timeout).map_err(|e| Error::io(context(), e))?;
        // Frames are small and interactive: send each at once.
        tcp.set_nodelay(true).map_err(|e| Error::io(context(), e))?;
        let stream =
            Stream::connect(tcp, tls, host, deadline).map_err(|e| Error::io(context(), tls::explain(e)))?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| Error::io(context(), e))?;
        let stream = SharedStream(Arc::new(stream));
        let reader = FrameReader::new(stream.clone(), 16 * 1024, MAX_FRAME);
        Ok(Connection { port, addr, stream, reader, timeout, trace })
    }

    /// Connects to the first server of `options.endpoints()` that answers,
    /// starting with the one at `*preferred` (the last that worked) and
    /// going round the list; `*preferred` then names the one reached. The
    /// error is the first server's if none answers.
    pub fn open_any(
        options: &super::options::ClientOptions,
        port: Port,
        trace: Option<Trace>,
        preferred: &std::sync::atomic::AtomicUsize,
    ) -> Result<Self> {
        use std::sync::atomic::Ordering;
        let endpoints = options.endpoints();
        let start = preferred.load(Ordering::Relaxed) % endpoints.len();
        let mut first_error = None;
        for k in 0..endpoints.len() {
            let i = (start + k) % endpoints.len();
            let e = &endpoints[i];
            match Connection::open(
                &e.host,
                e.port(port),
                port,
                options.timeout,
                trace.clone(),
                options.tls.as_ref(),
            ) {
                Ok(conn) => {
                    preferred.store(i, Ordering::Relaxed);
                    return Ok(conn);
                }
                Err(error) => {
                    log::debug!("{}:{}: {error}", e.host, e.port(port));
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.expect("at least one server"))
    }

    /// Sends `LOGIN` (or `REGISTER`) and returns the name as registered.
    pub fn login(&mut self, user: &str, password: &str, how: &Login) -> Result<String> {
        let (request, what) = match how {
            Login::Existing => return self.login_device(user, None, password),
            Login::Register { email, invite: None } => (
                Request::Register { user: user.into(), email: email.clone(), password: password.into() },
                tr!(Msg::ReqRegister, user = user),
            ),
            Login::Register { email, invite: Some(code) } => (
                Request::Redeem {
                    // As the teacher printed it, whatever the keyboard did.
                    code: crate::protocol::codes::normalize(code),
                    user: user.into(),
                    email: email.clone(),
                    password: password.into(),
                },
                tr!(Msg::ReqRegister, user = user),
            ),
        };
        self.logged_in(&request, what, user)
    }

    /// Sends `LOGIN:<user>@<device>:<secret>` (protocol 1.2; with no
    /// device, `LOGIN:<user>:<secret>`) and returns the name as registered.
    pub fn login_device(&mut self, user: &str, device: Option<&str>, secret: &str) -> Result<String> {
        let request =
            Request::Login { user: user.into(), device: device.map(str::to_string), password: secret.into() };
        self.logged_in(&request, tr!(Msg::ReqLogin, user = user), user)
    }

    /// Sends a first frame that logs in and reads its `OK:<user>`. Told
    /// `KO:RATE_LIMITED` ("try again in N s"), it waits as long as the
    /// server says and asks again on the same connection, for
    /// [`LOGIN_PATIENCE`] at most: a refusal for the rate says the login
    /// was not tried, not that it failed.
    fn logged_in(&mut self, request: &Request, what: String, user: &str) -> Result<String> {
        let deadline = Instant::now() + LOGIN_PATIENCE;
        loop {
            match self.request(request)? {
                // The name as registered: the same name, spelled the server's
                // way. Anything else (a server that lies, or is not wachat) is
                // not taken: the name is shown on every line and names files.
                Reply::OkWith(name)
                    if crate::protocol::names::fold(&name) == crate::protocol::names::fold(user) =>
                {
                    return Ok(name);
                }
                Reply::Ko(ko) => match super::backoff::rate_wait(&ko) {
                    Some(wait) if Instant::now() + wait < deadline => {
                        log::warn!("{what}: {}; asking again in {} ms", ko.reason, wait.as_millis());
                        std::thread::sleep(wait);
                    }
                    _ => return Err(Error::Refused { request: what, ko }),
                },
                other => return Err(self.unexpected(&other)),
            }
        }
    }

    /// Sends a request and reads its reply; a listing comes back whole, as
    /// [`Reply::Listing`].
    pub fn request(&mut self, request: &Request) -> Result<Reply> {
        self.write_request(request)?;
        self.read_reply(request)
    }

    /// [`Connection::request`], asked again after the wait that a
    /// `KO:RATE_LIMITED` says, [`PATIENCE`] times at most: for the
    /// questions every login asks (`SERVER`, `INFO`, `P2P`), whose answers
    /// the session needs, when a class that logs in together (a server
    /// restarted under it) is over its address's budget for a moment.
    pub fn request_patiently(&mut self, request: &Request) -> Result<Reply> {
        let mut tries = 0;
        loop {
            let reply = self.request(request)?;
            match &reply {
                Reply::Ko(ko) if tries < PATIENCE && super::backoff::rate_wait(ko).is_some() => {
                    tries += 1;
                    std::thread::sleep(super::backoff::rate_wait(ko).unwrap_or_default());
                }
                _ => return Ok(reply),
            }
        }
    }

    /// Sends a request without waiting for its reply (pipelining): the
    /// replies come back in the order of the requests.
    pub fn write_request(&mut self, request: &Request) -> Result<()> {
        // The password never reaches the trace: `redacted` masks it.
        self.write_frame(&request.to_string(), &request.redacted())
    }

    /// Reads the reply to `request`, sent earlier.
    ///
    /// A listing is read only within bounds: at most [`MAX_LISTING_LINES`]
    /// lines (and no more than a `HISTORY`'s limit), [`MAX_LISTING_BYTES`]
    /// in all, the whole within the timeout. A server that announces more,
    /// or sends more, gets a protocol error, and the caller drops the
    /// connection: what a server can make a client hold is bounded too.
    pub fn read_reply(&mut self, request: &Request) -> Result<Reply> {
        let deadline = Instant::now() + self.timeout;
        let head = self.read_line(deadline)?;
        // Not a reply at all (another program on that port?): said in the
        // user's words, with the line as it came.
        let not_a_reply = || self.protocol_error(&tr!(Msg::UnexpectedReply, reply = format!("{head:?}")));
        let reply = Reply::parse(&head).map_err(|_| not_a_reply())?;
        // 1.2: a page of `HISTORY` says where the page before it starts.
        let paged = matches!(request, Request::History { page: Some(_), .. });
        let (n, before) = match (&reply, listing_limit(request)) {
            (Reply::OkWith(head), Some(max)) => {
                let (n, before) = match paged {
                    true => crate::protocol::page::parse_head(head).ok_or_else(not_a_reply)?,
                    false => (reply.listing_len().ok_or_else(not_a_reply)?, None),
                };
                if n > max {
                    return Err(self.protocol_error(&tr!(Msg::ListingTooLong, n = n, max = max)));
                }
                (n, before)
            }
            _ => return Ok(reply),
        };
        let mut lines = Vec::with_capacity(n.min(1024));
        let mut bytes = 0;
        for _ in 0..n {
            let line = self.read_line(deadline)?;
            bytes += line.len() + 1;
            if bytes > MAX_LISTING_BYTES {
                return Err(self.protocol_error(&tr!(Msg::ListingTooBig, max = MAX_LISTING_BYTES >> 20)));
            }
            lines.push(line);
        }
        Ok(if paged { Reply::Page { lines, before } } else { Reply::Listing(lines) })
    }

    /// Writes one frame (`ACK:3`, `PONG`, a request); `shown` is what the
    /// trace prints.
    pub fn write_frame(&mut self, frame: &str, shown: &str) -> Result<()> {
        self.trace(">", shown);
        let bytes = format!("{frame}\n");
        self.stream.write_all(bytes.as_bytes()).map_err(|e| self.io_error(Msg::WriteOn, e))
    }

    /// Reads one frame; `None` if none is complete by `deadline` (the bytes
    /// of a partial frame are kept for the next call).
    pub fn poll_frame(&mut self, deadline: Instant) -> Result<Option<String>> {
        match self.reader.read_frame(Some(deadline)) {
            Ok(line) => {
                let line = line.to_string();
                self.trace("<", &line);
                Ok(Some(line))
            }
            Err(FrameError::TimedOut) => Ok(None),
            Err(e) => Err(self.frame_error(e)),
        }
    }

    /// How long the server may take to answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The local address of this connection: the one that reaches the server.
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.stream.0.tcp().local_addr().ok().map(|addr| addr.ip())
    }

    /// True when a whole frame is already buffered: reading it won't block.
    pub fn has_frame(&self) -> bool {
        self.reader.has_frame()
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String> {
        match self.poll_frame(deadline)? {
            Some(line) => Ok(line),
            None => Err(self.io_error(
                Msg::ReadOn,
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    tr!(Msg::NoReplyWithin, secs = self.timeout.as_secs_f32()),
                ),
            )),
        }
    }

    fn trace(&self, arrow: &str, frame: &str) {
        if let Some(trace) = &self.trace {
            trace(&format!("{} {arrow} {frame}", self.port));
        }
    }

    fn frame_error(&self, e: FrameError) -> Error {
        match e {
            FrameError::Closed => self.io_error(
                Msg::ReadOn,
                std::io::Error::new(std::io::ErrorKind::ConnectionAborted, tr!(Msg::ServerClosed)),
            ),
            FrameError::Io(e) => self.io_error(Msg::ReadOn, tls::explain(e)),
            FrameError::TooLong => self.protocol_error(&tr!(Msg::FrameTooLong)),
            FrameError::NotUtf8 => self.protocol_error(&tr!(Msg::FrameNotUtf8)),
            FrameError::TimedOut => self.protocol_error(&tr!(Msg::TimedOut)),
        }
    }

    /// `what` is [`Msg::ReadOn`] or [`Msg::WriteOn`].
    fn io_error(&self, what: Msg, e: std::io::Error) -> Error {
        Error::io(tr!(what, port = port_name(self.port), addr = self.addr), e)
    }

    fn protocol_error(&self, what: &str) -> Error {
        Error::Protocol(format!("{} {}: {what}", port_name(self.port), self.addr))
    }

    /// An answer that does not fit the request (a bug on one side).
    pub fn unexpected(&self, reply: &Reply) -> Error {
        let reply = format!("{:?}", reply.to_string().trim_end());
        self.protocol_error(&tr!(Msg::UnexpectedReply, reply = reply))
    }
}

/// For the requests whose `OK:<n>` is followed by `n` lines (the one
/// rule of which those are: [`Request::lists`]), the largest `n` taken;
/// `None` for the others. A listing the protocol bounds is held to its
/// bound, any other to [`MAX_LISTING_LINES`].
fn listing_limit(request: &Request) -> Option<usize> {
    if !request.lists() {
        return None;
    }
    Some(match request {
        Request::History { limit, .. } => (*limit).min(MAX_LISTING_LINES),
        Request::Search { .. } => crate::protocol::request::MAX_SEARCH_RESULTS,
        Request::Blocks => crate::protocol::prefs::MAX_BLOCKS,
        Request::Prefs => crate::protocol::prefs::MAX_PREFS,
        Request::Archived => crate::protocol::prefs::MAX_ARCHIVED,
        // 1.2 (§31): `TO`, then a line per member of a room of at most 64.
        Request::Receipts { .. } => crate::store::state::receipts::RECEIPTS_MAX_MEMBERS + 1,
        Request::People { .. } => crate::protocol::request::MAX_PEOPLE,
        _ => MAX_LISTING_LINES,
    })
}
