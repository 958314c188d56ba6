//! A PostgreSQL client of our own, synchronous, on `std::net`: what the
//! cluster asks of its database, and nothing more.
//!
//! Why not the `postgres` crate: since its version 0.16 it is a wrapper
//! that runs `tokio-postgres` on a tokio runtime of its own, and wachat's
//! rule is "std::net, a thread per connection, no async runtime". No
//! synchronous client we found does what a node needs (several hosts with
//! the primary found among them, deadlines, `LISTEN`). The hard parts are
//! written already, by the same author, without any runtime:
//! `postgres-protocol` encodes and decodes the protocol's messages and
//! does the authentications (SCRAM-SHA-256, MD5), `postgres-types`
//! converts Rust values to and from PostgreSQL's binary formats (`ToSql`,
//! `FromSql`). What is left is this module: a socket, and the order in
//! which messages go and come back (the protocol's chapter 55 of
//! PostgreSQL's manual, "Message Flow").
//!
//! - **Connecting** ([`Config::connect`]): a TCP connection (or a Unix
//!   socket), the startup message, the authentication the server asks for,
//!   then messages until `ReadyForQuery`. With `target_session_attrs=read-write`
//!   the server is asked `SHOW transaction_read_only` and a standby is
//!   refused, so that [`Client::connect`] goes on to the next host.
//! - **A statement with parameters** (the extended protocol): `Parse` (the
//!   SQL, once), `Describe` (the types of its parameters and columns),
//!   `Bind` (the values, in binary), `Execute`, then `Sync`, after which the
//!   server answers `ReadyForQuery`. Whatever fails in between, the server
//!   skips to the `Sync`: every exchange ends at `ReadyForQuery`, and the
//!   connection is ready for the next ([`Client::exchange`]).
//! - **Several statements without parameters** ([`Client::batch_execute`]):
//!   one `Query` message (the simple protocol).
//! - **Transactions**: `BEGIN` … `COMMIT`, or `ROLLBACK` when the
//!   [`Transaction`] is dropped unfinished.
//! - **Notifications** (`LISTEN`): the server sends them whenever it likes,
//!   between or inside exchanges; they are queued and read with
//!   [`Client::notification`], which may wait a while for one.
//!
//! Every reply is read whole before the next request is sent; a broken
//! connection (an I/O error, a cut by the watchdog) is closed for good
//! ([`Client::is_closed`]) and the caller makes another. No TLS: the
//! cluster's database is on the nodes' own network (docs/CLUSTER-OPS.md).

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::ops::{Deref, DerefMut, Range};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use parking_lot::Mutex;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::backend::{self, DataRowBody, Message};
use postgres_protocol::message::frontend;
use postgres_types::{Kind, Oid};

pub use postgres_types as types;
pub use postgres_types::{FromSql, ToSql, Type};

/// A parameter of a statement.
pub type Param<'a> = &'a (dyn ToSql + Sync);

// ---------------------------------------------------------------- errors

/// What went wrong: the server's error, or the connection's.
pub struct Error(Box<ErrorKind>);

enum ErrorKind {
    /// The server refused the statement (an `ErrorResponse`).
    Db(DbError),
    /// The connection failed (and is closed now).
    Io(io::Error),
    /// A value could not be converted to or from its column's type.
    Conversion(String),
    /// A connection string that says nothing sensible.
    Config(String),
    /// The server said something it should not have at that point.
    Protocol(String),
}

/// The server's error: its severity, SQLSTATE code and message.
#[derive(Debug, Clone)]
pub struct DbError {
    severity: String,
    code: String,
    message: String,
    detail: Option<String>,
}

impl DbError {
    /// Reads an `ErrorResponse`'s fields.
    fn parse(fields: &mut backend::ErrorFields<'_>) -> io::Result<DbError> {
        let mut e =
            DbError { severity: String::new(), code: String::new(), message: String::new(), detail: None };
        while let Some(field) = fields.next()? {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'S' => e.severity = value,
                b'C' => e.code = value,
                b'M' => e.message = value,
                b'D' => e.detail = Some(value),
                _ => {}
            }
        }
        Ok(e)
    }

    /// `ERROR`, `FATAL` or `PANIC`.
    pub fn severity(&self) -> &str {
        &self.severity
    }

    /// The SQLSTATE code (Appendix A of PostgreSQL's manual): `23505` for a
    /// unique key violated, `25006` for a write on a read-only server…
    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Error {
    fn io(e: io::Error) -> Error {
        Error(Box::new(ErrorKind::Io(e)))
    }

    fn config(why: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Config(why.into())))
    }

    fn protocol(why: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Protocol(why.into())))
    }

    fn conversion(why: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Conversion(why.into())))
    }

    /// The server's error, if it was one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        match &*self.0 {
            ErrorKind::Db(e) => Some(e),
            _ => None,
        }
    }

    /// The server's SQLSTATE code, if the server refused.
    pub fn code(&self) -> Option<&str> {
        self.as_db_error().map(DbError::code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Db(e) => {
                write!(f, "{}: {} ({})", e.severity, e.message, e.code)?;
                match &e.detail {
                    Some(detail) => write!(f, ": {detail}"),
                    None => Ok(()),
                }
            }
            ErrorKind::Io(e) => write!(f, "connection: {e}"),
            ErrorKind::Conversion(why) => write!(f, "conversion: {why}"),
            ErrorKind::Config(why) => write!(f, "connection string: {why}"),
            ErrorKind::Protocol(why) => write!(f, "protocol: {why}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::io(e)
    }
}

// ---------------------------------------------------------------- configuration

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A name or an address, with the port.
    Tcp(String),
    /// The directory of the server's Unix socket (`.s.PGSQL.PORT` in it).
    Unix(PathBuf),
}

/// How to connect to one server: what the connection string said for it.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: Host,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    /// Command-line options for the server's backend (`-c name=value`).
    pub options: String,
    pub application_name: String,
    /// Refuse a server that does not take writes (a standby).
    pub read_write: bool,
    /// How long the TCP connection may take (the startup is bounded by the
    /// caller: `Db::connect_to`).
    pub connect_timeout: Option<Duration>,
    /// How long sent data may stay unacknowledged before the kernel gives
    /// up on the connection (Linux's `TCP_USER_TIMEOUT`).
    pub tcp_user_timeout: Option<Duration>,
    /// TCP keepalives on an idle connection: first after, then every, and
    /// how many unanswered.
    pub keepalives: Option<(Duration, Duration, u32)>,
}

impl Config {
    /// Reads a connection string, libpq's two forms: a URL
    /// (`postgres://USER:PASSWORD@HOST1:PORT1,HOST2:PORT2/DB?key=value&…`) or
    /// keywords (`host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB`);
    /// one configuration per host, in order. The keys taken: `host`,
    /// `port`, `user`, `password`, `dbname`, `options`, `application_name`,
    /// `connect_timeout`, `target_session_attrs` (`any`, `read-write`) and
    /// `sslmode` (`disable`, `allow`, `prefer`: this client has no TLS).
    pub fn parse(text: &str) -> Result<Vec<Config>, Error> {
        let pairs =
            if let Some(rest) = text.strip_prefix("postgres://").or(text.strip_prefix("postgresql://")) {
                url_pairs(rest)?
            } else {
                keyword_pairs(text)?
            };
        let (mut hosts, mut ports) = (Vec::new(), Vec::new());
        let mut one = Config {
            host: Host::Tcp(String::new()),
            port: 5432,
            user: String::new(),
            password: None,
            dbname: String::new(),
            options: String::new(),
            application_name: String::new(),
            read_write: false,
            connect_timeout: None,
            tcp_user_timeout: None,
            keepalives: None,
        };
        for (key, value) in pairs {
            match key.as_str() {
                "host" => {
                    hosts =
                        value
                            .split(',')
                            .map(|h| {
                                if h.starts_with('/') {
                                    Host::Unix(h.into())
                                } else {
                                    Host::Tcp(h.to_string())
                                }
                            })
                            .collect()
                }
                "port" => {
                    let parse = |p: &str| p.parse::<u16>().map_err(|_| Error::config(format!("port {p:?}")));
                    ports = value.split(',').map(parse).collect::<Result<_, _>>()?;
                }
                "user" => one.user = value,
                "password" => one.password = Some(value),
                "dbname" => one.dbname = value,
                "options" => one.options = value,
                "application_name" => one.application_name = value,
                "connect_timeout" => {
                    let secs =
                        value.parse().map_err(|_| Error::config(format!("connect_timeout {value:?}")))?;
                    one.connect_timeout = Some(Duration::from_secs(secs)).filter(|d| !d.is_zero());
                }
                "target_session_attrs" => match value.as_str() {
                    "any" => one.read_write = false,
                    "read-write" => one.read_write = true,
                    other => return Err(Error::config(format!("target_session_attrs {other:?}"))),
                },
                "sslmode" => match value.as_str() {
                    "disable" | "allow" | "prefer" => {}
                    other => {
                        return Err(Error::config(format!("sslmode {other:?} (this client has no TLS)")));
                    }
                },
                other => return Err(Error::config(format!("unknown key {other:?}"))),
            }
        }
        if hosts.is_empty() {
            return Err(Error::config("no host"));
        }
        if one.user.is_empty() {
            return Err(Error::config("no user"));
        }
        if ports.len() > 1 && ports.len() != hosts.len() {
            return Err(Error::config(format!("{} hosts but {} ports", hosts.len(), ports.len())));
        }
        if one.dbname.is_empty() {
            one.dbname = one.user.clone(); // libpq's default
        }
        let configs = hosts.into_iter().enumerate().map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            Config { host, port, ..one.clone() }
        });
        Ok(configs.collect())
    }

    /// Connects to this server and makes ready a session on it.
    pub fn connect(&self) -> Result<Client, Error> {
        let stream = match &self.host {
            Host::Tcp(name) => Stream::Tcp(self.tcp(name)?),
            #[cfg(unix)]
            Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{}", self.port));
                Stream::Unix(std::os::unix::net::UnixStream::connect(path)?)
            }
            #[cfg(not(unix))]
            Host::Unix(_) => return Err(Error::config("Unix sockets on this system")),
        };
        let mut client = Client::new(stream);
        client.startup(self)?;
        if self.read_write {
            let row = client.query_one("SHOW transaction_read_only", &[])?;
            if row.get::<_, &str>(0) == "on" {
                return Err(Error::protocol("the server is read-only (a standby), and read-write was asked"));
            }
        }
        Ok(client)
    }

    /// The TCP connection, with the kernel's deadlines set.
    fn tcp(&self, name: &str) -> Result<TcpStream, Error> {
        let mut last = None;
        for addr in (name, self.port).to_socket_addrs()? {
            let tried = match self.connect_timeout {
                Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
                None => TcpStream::connect(addr),
            };
            match tried {
                Ok(tcp) => {
                    // A request is one small message: sent at once, not
                    // held back for more (Nagle's algorithm).
                    tcp.set_nodelay(true)?;
                    let socket = socket2::SockRef::from(&tcp);
                    if let Some((idle, interval, retries)) = self.keepalives {
                        let keepalive = socket2::TcpKeepalive::new().with_time(idle).with_interval(interval);
                        #[cfg(not(any(windows, target_os = "openbsd")))]
                        let keepalive = keepalive.with_retries(retries);
                        #[cfg(any(windows, target_os = "openbsd"))]
                        let _ = retries;
                        socket.set_tcp_keepalive(&keepalive)?;
                    }
                    #[cfg(target_os = "linux")]
                    socket.set_tcp_user_timeout(self.tcp_user_timeout)?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(Error::io(last.unwrap_or_else(|| io::Error::other(format!("{name}: no address")))))
    }
}

/// A URL's parts as keys and values: `USER:PASSWORD@HOSTS/DB?key=value&…`.
fn url_pairs(rest: &str) -> Result<Vec<(String, String)>, Error> {
    let (place, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, dbname) = place.split_once('/').unwrap_or((place, ""));
    let (userinfo, hosts) = authority.rsplit_once('@').unwrap_or(("", authority));
    let mut pairs = Vec::new();
    if !userinfo.is_empty() {
        let (user, password) = userinfo.split_once(':').map_or((userinfo, None), |(u, p)| (u, Some(p)));
        pairs.push(("user".into(), decode(user)?));
        if let Some(password) = password {
            pairs.push(("password".into(), decode(password)?));
        }
    }
    if !hosts.is_empty() {
        let (mut names, mut ports) = (Vec::new(), Vec::new());
        for host in hosts.split(',') {
            // `[::1]:5432`, `name:5432` or `name`.
            let (name, port) = match host.strip_prefix('[') {
                Some(v6) => {
                    let (name, after) =
                        v6.split_once(']').ok_or_else(|| Error::config(format!("host {host:?}")))?;
                    (name, after.strip_prefix(':'))
                }
                None => host.split_once(':').map_or((host, None), |(n, p)| (n, Some(p))),
            };
            names.push(decode(name)?);
            ports.extend(port.map(str::to_string));
        }
        pairs.push(("host".into(), names.join(",")));
        if !ports.is_empty() {
            if ports.len() != names.len() {
                return Err(Error::config("a port for every host or for none"));
            }
            pairs.push(("port".into(), ports.join(",")));
        }
    }
    if !dbname.is_empty() {
        pairs.push(("dbname".into(), decode(dbname)?));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| Error::config(format!("{pair:?} has no value")))?;
        pairs.push((decode(key)?, decode(value)?));
    }
    Ok(pairs)
}

/// A URL's percent-encoded text (`%40` for `@`).
fn decode(text: &str) -> Result<String, Error> {
    let bad = || Error::config(format!("bad percent-encoding in {text:?}"));
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, after)) = rest.split_first() {
        if b == b'%' {
            let hex = after.get(..2).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(bad)?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            rest = &after[2..];
        } else {
            bytes.push(b);
            rest = after;
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

/// libpq's keyword form: `key=value` pairs apart by spaces; a value may be
/// in single quotes, with `\'` and `\\` inside.
fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(Error::config(format!("{key:?} has no value")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(Error::config(format!("{key}: an unclosed quote"))),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        pairs.push((key, value));
    }
}

// ---------------------------------------------------------------- the socket

/// The connection to the server.
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(nonblocking),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_nonblocking(nonblocking),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------- rows

/// A column of a result: its name and type.
#[derive(Debug)]
pub struct Column {
    name: String,
    type_: Type,
}

impl Column {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn type_(&self) -> &Type {
        &self.type_
    }
}

/// A row of a result, its values in the binary format of their types.
pub struct Row {
    columns: Arc<[Column]>,
    body: DataRowBody,
    /// Where each value is in `body` (`None`: NULL).
    ranges: Vec<Option<Range<usize>>>,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        write!(f, "Row {names:?}")
    }
}

/// What names a column of a [`Row`]: its place, or its name.
pub trait RowIndex {
    fn index(&self, columns: &[Column]) -> Option<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl RowIndex for str {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        columns.iter().position(|c| c.name == self)
    }
}

impl<T: RowIndex + ?Sized> RowIndex for &T {
    fn index(&self, columns: &[Column]) -> Option<usize> {
        (**self).index(columns)
    }
}

impl Row {
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The value of column `idx` as a `T`; panics if there is no such
    /// column or it does not convert (a bug of the query, not of the data:
    /// use [`Row::try_get`] otherwise).
    pub fn get<'a, I: RowIndex + fmt::Debug, T: FromSql<'a>>(&'a self, idx: I) -> T {
        match self.try_get(&idx) {
            Ok(value) => value,
            Err(e) => panic!("column {idx:?}: {e}"),
        }
    }

    /// The value of column `idx` as a `T`.
    pub fn try_get<'a, I: RowIndex + fmt::Debug, T: FromSql<'a>>(&'a self, idx: I) -> Result<T, Error> {
        let i = idx.index(&self.columns).ok_or_else(|| Error::conversion(format!("no column {idx:?}")))?;
        let ty = &self.columns[i].type_;
        if !T::accepts(ty) {
            let rust = std::any::type_name::<T>();
            return Err(Error::conversion(format!("a {ty} column is not read as {rust}")));
        }
        let raw = self.ranges[i].clone().map(|r| &self.body.buffer()[r]);
        T::from_sql_nullable(ty, raw).map_err(|e| Error::conversion(format!("column {idx:?}: {e}")))
    }
}

/// A notification sent by `NOTIFY` to a channel this connection `LISTEN`s to.
#[derive(Debug, Clone)]
pub struct Notification {
    pub process_id: i32,
    pub channel: String,
    payload: String,
}

impl Notification {
    pub fn payload(&self) -> &str {
        &self.payload
    }
}

// ---------------------------------------------------------------- statements

/// A statement parsed once by the server, run many times with other
/// parameters ([`Client::prepare`]). Closed on the server when dropped
/// (with the connection's next request).
pub struct Statement {
    name: String,
    params: Vec<Type>,
    columns: Arc<[Column]>,
    closing: Arc<Mutex<Vec<String>>>,
}

impl Statement {
    pub fn params(&self) -> &[Type] {
        &self.params
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        self.closing.lock().push(std::mem::take(&mut self.name));
    }
}

/// What a query may be: SQL text, or a [`Statement`] already parsed.
pub trait ToStatement {
    fn to_statement(&self) -> Query<'_>;
}

/// See [`ToStatement`].
pub enum Query<'a> {
    Text(&'a str),
    Prepared(&'a Statement),
}

impl ToStatement for str {
    fn to_statement(&self) -> Query<'_> {
        Query::Text(self)
    }
}

impl ToStatement for String {
    fn to_statement(&self) -> Query<'_> {
        Query::Text(self)
    }
}

impl ToStatement for Statement {
    fn to_statement(&self) -> Query<'_> {
        Query::Prepared(self)
    }
}

/// What the server answered to one exchange (requests up to `Sync`).
#[derive(Default)]
struct Reply {
    /// The parameters' types (`ParameterDescription`).
    params: Vec<Oid>,
    /// The columns (`RowDescription`), if any were described.
    columns: Option<Arc<[Column]>>,
    rows: Vec<DataRowBody>,
    /// Rows affected, by the last `CommandComplete`'s tag (`INSERT 0 3`).
    affected: u64,
    /// The tag of the last `CommandComplete` (`COMMIT`, `ROLLBACK`…).
    tag: String,
    /// The server's error; the rest of the exchange was skipped.
    error: Option<DbError>,
}

/// The type of `oid`: one of PostgreSQL's own, or an unknown one, which
/// no Rust type accepts.
fn type_of(oid: Oid) -> Type {
    Type::from_oid(oid).unwrap_or_else(|| Type::new(format!("oid {oid}"), oid, Kind::Pseudo, String::new()))
}

// ---------------------------------------------------------------- the client

/// A session on a PostgreSQL server.
pub struct Client {
    stream: Stream,
    /// Received and not yet read as messages.
    received: BytesMut,
    /// Requests not yet sent.
    out: BytesMut,
    closed: bool,
    /// Notifications received and not yet read.
    notifications: VecDeque<Notification>,
    /// Statements dropped, to be closed on the server.
    closing: Arc<Mutex<Vec<String>>>,
    /// The number of the next statement prepared (its name: `s1`, `s2`…).
    statements: u64,
}

impl Client {
    fn new(stream: Stream) -> Client {
        Client {
            stream,
            received: BytesMut::with_capacity(16 * 1024),
            out: BytesMut::with_capacity(1024),
            closed: false,
            notifications: VecDeque::new(),
            closing: Arc::default(),
            statements: 0,
        }
    }

    /// Connects to the first server of `text` (a connection string,
    /// [`Config::parse`]) that takes the connection.
    pub fn connect(text: &str) -> Result<Client, Error> {
        let mut last = Error::config("no host");
        for config in Config::parse(text)? {
            match config.connect() {
                Ok(client) => return Ok(client),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The startup message, the authentication, and the server's
    /// parameters until it is ready.
    fn startup(&mut self, config: &Config) -> Result<(), Error> {
        let mut params = vec![
            ("user", config.user.as_str()),
            ("database", config.dbname.as_str()),
            ("client_encoding", "UTF8"),
        ];
        if !config.options.is_empty() {
            params.push(("options", &config.options));
        }
        if !config.application_name.is_empty() {
            params.push(("application_name", &config.application_name));
        }
        frontend::startup_message(params, &mut self.out)?;
        self.send()?;
        let password = || {
            config
                .password
                .as_deref()
                .map(str::as_bytes)
                .ok_or_else(|| Error::config("the server asks a password"))
        };
        let mut scram = None;
        loop {
            match self.recv()? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password()?, &mut self.out)?;
                    self.send()?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash = md5_hash(config.user.as_bytes(), password()?, body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.out)?;
                    self.send()?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    if !mechanisms.any(|m| Ok(m == sasl::SCRAM_SHA_256))? {
                        return Err(Error::protocol("the server offers no SASL mechanism known here"));
                    }
                    let state = sasl::ScramSha256::new(password()?, sasl::ChannelBinding::unsupported());
                    frontend::sasl_initial_response(sasl::SCRAM_SHA_256, state.message(), &mut self.out)?;
                    self.send()?;
                    scram = Some(state);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let state = scram.as_mut().ok_or_else(|| Error::protocol("SASL out of turn"))?;
                    state.update(body.data())?;
                    frontend::sasl_response(state.message(), &mut self.out)?;
                    self.send()?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let state = scram.as_mut().ok_or_else(|| Error::protocol("SASL out of turn"))?;
                    state.finish(body.data())?;
                }
                Message::BackendKeyData(_) => {}
                Message::ReadyForQuery(_) => return Ok(()),
                Message::ErrorResponse(body) => {
                    return Err(Error(Box::new(ErrorKind::Db(DbError::parse(&mut body.fields())?))));
                }
                _ => return Err(Error::protocol("an unexpected message at startup")),
            }
        }
    }

    /// Sends the requests written in `out`.
    fn send(&mut self) -> Result<(), Error> {
        if self.closed {
            return Err(Error::io(io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")));
        }
        let sent = self.stream.write_all(&self.out);
        self.out.clear();
        sent.map_err(|e| self.broke(e))
    }

    /// The connection failed: it is closed for good.
    fn broke(&mut self, e: io::Error) -> Error {
        self.closed = true;
        Error::io(e)
    }

    /// The next message, waiting for it as long as the socket's read
    /// timeout lets (none: for ever).
    fn recv(&mut self) -> Result<Message, Error> {
        loop {
            if let Some(message) = self.next_received()? {
                return Ok(message);
            }
            self.fill().map_err(|e| self.broke(e))?;
        }
    }

    /// The next whole message in `received`, if there is one. Notices are
    /// skipped, notifications queued for [`Client::notification`].
    fn next_received(&mut self) -> Result<Option<Message>, Error> {
        loop {
            match Message::parse(&mut self.received).map_err(|e| self.broke(e))? {
                Some(Message::NoticeResponse(_) | Message::ParameterStatus(_)) => {}
                Some(Message::NotificationResponse(n)) => {
                    let channel = n.channel()?.to_string();
                    let payload = n.message()?.to_string();
                    self.notifications.push_back(Notification {
                        process_id: n.process_id(),
                        channel,
                        payload,
                    });
                }
                other => return Ok(other),
            }
        }
    }

    /// Reads what the socket has into `received`: at least a byte.
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0; 8192];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Ok(n) => {
                    self.received.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the requests in `out` (they end with `Sync` or are a `Query`)
    /// and reads every answer up to `ReadyForQuery`.
    fn exchange(&mut self) -> Result<Reply, Error> {
        // Statements dropped since the last exchange are closed first.
        for name in std::mem::take(&mut *self.closing.lock()) {
            let mut close = BytesMut::new();
            frontend::close(b'S', &name, &mut close)?;
            let requests = std::mem::replace(&mut self.out, close);
            self.out.extend_from_slice(&requests);
        }
        self.send()?;
        self.reply()
    }

    /// The answers to what was sent, up to `ReadyForQuery`.
    fn reply(&mut self) -> Result<Reply, Error> {
        let mut reply = Reply::default();
        loop {
            match self.recv()? {
                Message::ReadyForQuery(_) => return Ok(reply),
                Message::ParseComplete | Message::BindComplete | Message::CloseComplete => {}
                Message::NoData | Message::EmptyQueryResponse | Message::PortalSuspended => {}
                Message::ParameterDescription(body) => reply.params = body.parameters().collect()?,
                Message::RowDescription(body) => {
                    let column = |f: backend::Field<'_>| {
                        Ok(Column { name: f.name().into(), type_: type_of(f.type_oid()) })
                    };
                    let columns: Vec<Column> = body.fields().map(column).collect()?;
                    reply.columns = Some(columns.into());
                }
                Message::DataRow(body) => reply.rows.push(body),
                Message::CommandComplete(body) => {
                    reply.tag = body.tag()?.to_string();
                    reply.affected = reply.tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                }
                Message::ErrorResponse(body) => reply.error = Some(DbError::parse(&mut body.fields())?),
                // A COPY is [`Client::copy_in`]'s: anything else is a
                // protocol the two ends no longer agree on.
                _ => return Err(self.desync("an unexpected message")),
            }
        }
    }

    /// The server and this client no longer agree on where they are.
    fn desync(&mut self, why: &str) -> Error {
        self.closed = true;
        Error::protocol(why)
    }

    /// The server's error as an [`Error`], if it answered one.
    fn checked(reply: Reply) -> Result<Reply, Error> {
        match reply.error {
            Some(e) => Err(Error(Box::new(ErrorKind::Db(e)))),
            None => Ok(reply),
        }
    }

    /// Parses `query` on the server as a statement of its own, to be run
    /// many times.
    pub fn prepare(&mut self, query: &str) -> Result<Statement, Error> {
        self.statements += 1;
        let name = format!("s{}", self.statements);
        self.prepare_named(&name, query)
    }

    /// `Parse` and `Describe`: the statement `name` (`""`: the unnamed one,
    /// replaced by the next).
    fn prepare_named(&mut self, name: &str, query: &str) -> Result<Statement, Error> {
        frontend::parse(name, query, std::iter::empty(), &mut self.out)?;
        frontend::describe(b'S', name, &mut self.out)?;
        frontend::sync(&mut self.out);
        let reply = Self::checked(self.exchange()?)?;
        Ok(Statement {
            name: name.to_string(),
            params: reply.params.into_iter().map(type_of).collect(),
            columns: reply.columns.unwrap_or_else(|| Arc::new([])),
            closing: self.closing.clone(),
        })
    }

    /// `Bind` `params` (converted to `types`) to `statement`, then
    /// `Execute` it; `Describe` the result first if `describe`.
    fn bind_execute(
        &mut self,
        statement: &str,
        types: &[Type],
        params: &[Param<'_>],
        describe: bool,
    ) -> Result<(), Error> {
        if types.len() != params.len() {
            let e = format!("{} parameters given for {}", params.len(), types.len());
            self.out.clear();
            return Err(Error::conversion(e));
        }
        let values = params.iter().zip(types);
        let bound = frontend::bind(
            "",
            statement,
            Some(1), // every parameter in binary
            values,
            |(param, ty), buf| match param.to_sql_checked(ty, buf)? {
                types::IsNull::Yes => Ok(postgres_protocol::IsNull::Yes),
                types::IsNull::No => Ok(postgres_protocol::IsNull::No),
            },
            Some(1), // every column in binary
            &mut self.out,
        );
        if let Err(e) = bound {
            self.out.clear();
            return Err(match e {
                frontend::BindError::Conversion(e) => Error::conversion(e.to_string()),
                frontend::BindError::Serialization(e) => Error::io(e),
            });
        }
        if describe {
            frontend::describe(b'P', "", &mut self.out)?;
        }
        frontend::execute("", 0, &mut self.out)?;
        frontend::sync(&mut self.out);
        Ok(())
    }

    /// Runs `query` with `params`: the rows it gave and the rows it
    /// affected.
    fn run<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<(Vec<Row>, u64), Error> {
        let unnamed;
        let statement = match query.to_statement() {
            Query::Prepared(statement) => statement,
            // Without parameters, the types need not be known before: one
            // round trip, the result described on the way.
            Query::Text(text) if params.is_empty() => return self.run_typed(text, &[]),
            Query::Text(text) => {
                unnamed = self.prepare_named("", text)?;
                &unnamed
            }
        };
        self.bind_execute(&statement.name, &statement.params, params, false)?;
        let reply = Self::checked(self.exchange()?)?;
        Ok((rows(&statement.columns, reply.rows)?, reply.affected))
    }

    /// Runs `query` with parameters of the types given, in one round trip.
    fn run_typed(
        &mut self,
        query: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<(Vec<Row>, u64), Error> {
        let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
        let values: Vec<Param<'_>> = params.iter().map(|(value, _)| *value).collect();
        frontend::parse("", query, types.iter().map(Type::oid), &mut self.out)?;
        self.bind_execute("", &types, &values, true)?;
        let reply = Self::checked(self.exchange()?)?;
        let columns = reply.columns.unwrap_or_else(|| Arc::new([]));
        Ok((rows(&columns, reply.rows)?, reply.affected))
    }

    /// The rows `query` gives.
    pub fn query<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, Error> {
        self.run(query, params).map(|(rows, _)| rows)
    }

    /// The one row `query` gives (an error if none or several).
    pub fn query_one<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<Row, Error> {
        self.query_opt(query, params)?.ok_or_else(|| Error::conversion("no row where one was expected"))
    }

    /// The row `query` gives, if any (an error if several).
    pub fn query_opt<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, Error> {
        one_at_most(self.query(query, params)?)
    }

    /// [`Client::query`], with the parameters' types given: one round trip.
    pub fn query_typed(
        &mut self,
        query: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        self.run_typed(query, params).map(|(rows, _)| rows)
    }

    /// [`Client::query_opt`], with the parameters' types given.
    pub fn query_typed_opt(
        &mut self,
        query: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Option<Row>, Error> {
        one_at_most(self.query_typed(query, params)?)
    }

    /// [`Client::execute`], with the parameters' types given.
    pub fn execute_typed(
        &mut self,
        query: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<u64, Error> {
        self.run_typed(query, params).map(|(_, affected)| affected)
    }

    /// Runs `query`: how many rows it affected.
    pub fn execute<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<u64, Error> {
        self.run(query, params).map(|(_, affected)| affected)
    }

    /// Runs `sql`, one statement or several apart by `;`, without
    /// parameters (the simple protocol); their rows are not kept.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.simple(sql).map(drop)
    }

    fn simple(&mut self, sql: &str) -> Result<Reply, Error> {
        frontend::query(sql, &mut self.out)?;
        Self::checked(self.exchange()?)
    }

    /// Starts a transaction (`BEGIN`).
    pub fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        self.build_transaction().start()
    }

    /// A transaction with an isolation level, or read only.
    pub fn build_transaction(&mut self) -> TransactionBuilder<'_> {
        TransactionBuilder { client: self, isolation: None, read_only: false }
    }

    /// Starts `COPY … FROM STDIN`: the rows are written to the
    /// [`CopyIn`] returned, in COPY's text format, and sent by its `finish`.
    pub fn copy_in(&mut self, query: &str) -> Result<CopyIn<'_>, Error> {
        frontend::query(query, &mut self.out)?;
        self.send()?;
        match self.recv()? {
            Message::CopyInResponse(_) => Ok(CopyIn { client: self, done: false }),
            Message::ErrorResponse(body) => {
                let e = DbError::parse(&mut body.fields())?;
                while !matches!(self.recv()?, Message::ReadyForQuery(_)) {}
                Err(Error(Box::new(ErrorKind::Db(e))))
            }
            _ => Err(self.desync("no COPY where one was asked")),
        }
    }

    /// The next notification, waiting up to `wait` for one (zero: only
    /// those already received). `None` if none came.
    pub fn notification(&mut self, wait: Duration) -> Result<Option<Notification>, Error> {
        if self.notifications.is_empty() {
            let blocking = if wait.is_zero() {
                self.stream.set_nonblocking(true)
            } else {
                self.stream.set_read_timeout(Some(wait))
            };
            blocking.map_err(|e| self.broke(e))?;
            let waited = self.wait_for_notification();
            let restored = if wait.is_zero() {
                self.stream.set_nonblocking(false)
            } else {
                self.stream.set_read_timeout(None)
            };
            restored.map_err(|e| self.broke(e))?;
            waited?;
        }
        Ok(self.notifications.pop_front())
    }

    /// Reads until a notification is queued or the socket's timeout. What
    /// is read stays in `received`, a message begun included: a wait that
    /// ends mid-message loses nothing.
    fn wait_for_notification(&mut self) -> Result<(), Error> {
        while self.notifications.is_empty() {
            if self.next_received()?.is_some() {
                return Err(self.desync("a message outside any exchange"));
            }
            if !self.notifications.is_empty() {
                return Ok(()); // one came whole with what was read
            }
            match self.fill() {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Ok(());
                }
                Err(e) => return Err(self.broke(e)),
            }
        }
        Ok(())
    }

    /// Whether the connection broke (it is not used again).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether the server answers within `timeout` (an empty query).
    pub fn is_valid(&mut self, timeout: Duration) -> Result<(), Error> {
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| self.broke(e))?;
        let answered = self.batch_execute("");
        self.stream.set_read_timeout(None).map_err(|e| self.broke(e))?;
        answered
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.closed {
            frontend::terminate(&mut self.out);
            let _ = self.stream.write_all(&self.out);
        }
    }
}

/// The rows of a result, with their columns.
fn rows(columns: &Arc<[Column]>, bodies: Vec<DataRowBody>) -> Result<Vec<Row>, Error> {
    let row = |body: DataRowBody| {
        let ranges: Vec<_> = body.ranges().collect()?;
        if ranges.len() != columns.len() {
            return Err(Error::protocol("a row of another length than its columns"));
        }
        Ok(Row { columns: columns.clone(), body, ranges })
    };
    bodies.into_iter().map(row).collect()
}

/// The one row of `rows`, if any; an error if several.
fn one_at_most(mut rows: Vec<Row>) -> Result<Option<Row>, Error> {
    match rows.len() {
        0 | 1 => Ok(rows.pop()),
        n => Err(Error::conversion(format!("{n} rows where one at most was expected"))),
    }
}

// ---------------------------------------------------------------- transactions

/// The isolation levels of PostgreSQL (its manual, "Transaction Isolation").
#[derive(Clone, Copy, Debug)]
pub enum IsolationLevel {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// A transaction about to start ([`Client::build_transaction`]).
pub struct TransactionBuilder<'a> {
    client: &'a mut Client,
    isolation: Option<IsolationLevel>,
    read_only: bool,
}

impl<'a> TransactionBuilder<'a> {
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// `BEGIN`, with what was asked.
    pub fn start(self) -> Result<Transaction<'a>, Error> {
        let mut begin = String::from("BEGIN");
        if let Some(level) = self.isolation {
            begin.push_str(match level {
                IsolationLevel::ReadCommitted => " ISOLATION LEVEL READ COMMITTED",
                IsolationLevel::RepeatableRead => " ISOLATION LEVEL REPEATABLE READ",
                IsolationLevel::Serializable => " ISOLATION LEVEL SERIALIZABLE",
            });
        }
        if self.read_only {
            begin.push_str(" READ ONLY");
        }
        self.client.batch_execute(&begin)?;
        Ok(Transaction { client: self.client, done: false })
    }
}

/// A transaction: its statements are run through it as through the
/// [`Client`] (it derefs to it), and take effect at [`Transaction::commit`];
/// dropped without it, it is rolled back.
pub struct Transaction<'a> {
    client: &'a mut Client,
    done: bool,
}

impl Transaction<'_> {
    /// `COMMIT`.
    pub fn commit(mut self) -> Result<(), Error> {
        self.done = true;
        self.client.batch_execute("COMMIT")
    }

    /// `ROLLBACK`.
    pub fn rollback(mut self) -> Result<(), Error> {
        self.done = true;
        self.client.batch_execute("ROLLBACK")
    }
}

impl Deref for Transaction<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done && !self.client.closed {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// A client or a transaction: what a function that only runs statements
/// takes.
pub trait GenericClient {
    fn client(&mut self) -> &mut Client;

    fn query<T: ToStatement + ?Sized>(&mut self, query: &T, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        self.client().query(query, params)
    }

    fn query_one<T: ToStatement + ?Sized>(&mut self, query: &T, params: &[Param<'_>]) -> Result<Row, Error> {
        self.client().query_one(query, params)
    }

    fn query_opt<T: ToStatement + ?Sized>(
        &mut self,
        query: &T,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, Error> {
        self.client().query_opt(query, params)
    }

    fn execute<T: ToStatement + ?Sized>(&mut self, query: &T, params: &[Param<'_>]) -> Result<u64, Error> {
        self.client().execute(query, params)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.client().batch_execute(sql)
    }

    fn prepare(&mut self, query: &str) -> Result<Statement, Error> {
        self.client().prepare(query)
    }
}

impl GenericClient for Client {
    fn client(&mut self) -> &mut Client {
        self
    }
}

impl GenericClient for Transaction<'_> {
    fn client(&mut self) -> &mut Client {
        self.client
    }
}

// ---------------------------------------------------------------- COPY

/// The rows of a `COPY … FROM STDIN` under way ([`Client::copy_in`]).
pub struct CopyIn<'a> {
    client: &'a mut Client,
    done: bool,
}

impl CopyIn<'_> {
    /// Ends the COPY: how many rows it took.
    pub fn finish(mut self) -> Result<u64, Error> {
        self.done = true;
        frontend::copy_done(&mut self.client.out);
        self.client.send()?;
        Ok(Client::checked(self.client.reply()?)?.affected)
    }
}

impl Write for CopyIn<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        frontend::CopyData::new(buf)?.write(&mut self.client.out);
        if self.client.out.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.client.send().map_err(io::Error::other)
    }
}

impl Drop for CopyIn<'_> {
    fn drop(&mut self) {
        if !self.done && !self.client.closed {
            let _ = frontend::copy_fail("the copy was given up", &mut self.client.out);
            let _ = self.client.send().and_then(|()| self.client.reply());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_and_keywords_say_the_same_hosts_users_and_options() {
        let url = "postgresql://us%40er:p%3Ass@[::1]:5433,db.example:5434/chat?options=-c%20a%3Db&application_name=x";
        let keywords = r"host=::1,db.example port=5433,5434 user=us@er password='p:ss' dbname=chat options='-c a=b' application_name=x";
        for text in [url, keywords] {
            let hosts = Config::parse(text).unwrap();
            let places: Vec<_> = hosts.iter().map(|c| (c.host.clone(), c.port)).collect();
            assert_eq!(
                places,
                [(Host::Tcp("::1".into()), 5433), (Host::Tcp("db.example".into()), 5434)],
                "{text}"
            );
            for one in &hosts {
                assert_eq!((one.user.as_str(), one.password.as_deref()), ("us@er", Some("p:ss")));
                assert_eq!((one.dbname.as_str(), one.options.as_str()), ("chat", "-c a=b"));
                assert_eq!(one.application_name, "x");
                assert!(!one.read_write);
            }
        }
        let quoted = Config::parse(r"host=/run/pg user=u options='it\'s \\ here'").unwrap();
        assert_eq!(quoted[0].host, Host::Unix("/run/pg".into()));
        assert_eq!(quoted[0].options, r"it's \ here");
        assert_eq!((quoted[0].port, quoted[0].dbname.as_str()), (5432, "u"), "libpq's defaults");
    }

    #[test]
    fn what_this_client_cannot_honour_is_refused() {
        for bad in [
            "postgres://u@h/d?sslmode=require",
            "postgres://u@h/d?target_session_attrs=standby",
            "postgres://u@h/d?nonsense=1",
            "postgres://u@h1:1,h2/d",
            "postgres://u@h:99999/d",
            "postgres://u@h/d%zz",
            "host=h user=u password='open",
            "host=h user",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad:?} taken");
        }
    }
}
