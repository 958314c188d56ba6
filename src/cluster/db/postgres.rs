//! The cluster's PostgreSQL client: libpq, PostgreSQL's own C library
//! (through the `libpq` crate), rather than a client of its own. libpq is
//! what every PostgreSQL tool uses: both forms of connection string,
//! several hosts and the one that takes writes, passwords (~/.pgpass) and
//! TLS (`sslmode`).
//!
//! What is added here: parameters sent in binary with their types and
//! values read with `postgres-types` (`ToSql`, `FromSql`), transactions
//! rolled back when dropped, a wait for `LISTEN`'s notifications with a
//! timeout, errors that carry the server's SQLSTATE code, and a deadline
//! on every call. A parameter's type is the server's: each query text
//! is prepared once per connection (`Client::statement`) and run again
//! by its name, in one round trip.
//!
//! **Deadlines.** The kernel notices a machine that is gone
//! (`tcp_user_timeout`, keepalives: `db/config.rs`). That does not help
//! when the server hangs (a SIGSTOPped primary, a machine swapping to
//! death): its kernel still acknowledges every byte and nothing ever
//! answers. So each call is libpq's asynchronous one: the request is
//! sent, and the answer waited for on the socket (`poll(2)`) until the
//! deadline the connection's holder set ([`Client::set_deadline`]).
//! Past it the connection is closed and the call fails (the client sees
//! `KO:UNAVAILABLE`); the next one is made to whichever server is primary
//! now. A connection is made the same way (`PQconnectPoll`), within the
//! time its caller gives. Nor is `statement_timeout` the answer: a
//! `COMMIT` it cancels while waiting for the synchronous standby is
//! committed on the primary alone and reported as a success
//! (`db::parse_store`).

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_void};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use libpq::result::ErrorField;
use libpq::{Connection, Format, PQResult, Status};
use postgres_types::Kind;

use postgres_types as types;
use postgres_types::{FromSql, ToSql, Type};

use crate::sys::socket::{self, Waiting};

/// A parameter of a statement.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// Query texts prepared on one connection at most; past them, a text is
/// prepared for one use (statements built at run time never fill it).
const STATEMENTS: usize = 100;

// ---------------------------------------------------------------- errors

/// What went wrong: the server's error, or the connection's.
pub struct Error(Box<ErrorKind>);

enum ErrorKind {
    /// The server refused the statement.
    Db(DbError),
    /// libpq could not connect, or the connection failed (closed now).
    Connection(String),
    /// A value could not be converted to or from its column's type.
    Conversion(String),
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
    /// libpq's message, its lines (one a host tried) on one line.
    fn connection(why: impl Into<String>) -> Error {
        let why = why.into();
        let lines: Vec<&str> = why.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        Error(Box::new(ErrorKind::Connection(lines.join("; "))))
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
            ErrorKind::Connection(why) => write!(f, "connection: {why}"),
            ErrorKind::Conversion(why) => write!(f, "conversion: {why}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

// ---------------------------------------------------------------- rows

/// A column of a result: its name and type.
pub struct Column {
    name: String,
    type_: Type,
}

/// A result of libpq, with its columns.
struct Rows {
    result: PQResult,
    columns: Vec<Column>,
}

/// A row of a result, its values in the binary format of their types.
pub struct Row {
    rows: Arc<Rows>,
    row: usize,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.rows.columns.iter().map(|c| c.name.as_str()).collect();
        write!(f, "Row {names:?}")
    }
}

impl Row {
    /// The value of column `i` as a `T`; panics if there is no such
    /// column or it does not convert: a bug of the query, not of the
    /// data (a column that may be NULL is read as an `Option`).
    pub fn get<'a, T: FromSql<'a>>(&'a self, i: usize) -> T {
        let ty = &self.rows.columns.get(i).unwrap_or_else(|| panic!("no column {i}")).type_;
        if !T::accepts(ty) {
            panic!("column {i}: a {ty} column is not read as {}", std::any::type_name::<T>());
        }
        let raw = self.rows.result.value(self.row, i);
        T::from_sql_nullable(ty, raw).unwrap_or_else(|e| panic!("column {i}: {e}"))
    }
}

/// A notification sent by `NOTIFY` to a channel this connection `LISTEN`s to.
#[derive(Debug, Clone)]
pub struct Notification {
    payload: String,
}

impl Notification {
    pub fn payload(&self) -> &str {
        &self.payload
    }
}

/// The type of `oid`: one of PostgreSQL's own, or an unknown one, which
/// no Rust type accepts.
fn type_of(oid: u32) -> Type {
    Type::from_oid(oid).unwrap_or_else(|| Type::new(format!("oid {oid}"), oid, Kind::Pseudo, String::new()))
}

// ---------------------------------------------------------------- the client

/// A session on a PostgreSQL server.
pub struct Client {
    conn: Connection,
    /// Set when a wait was given up mid-reply: the connection is not in a
    /// state to be used again.
    broken: bool,
    /// The query texts prepared on this connection: their statement's
    /// name and parameters' types.
    statements: HashMap<String, (String, Vec<Type>)>,
    /// When the calls made now must be answered by (`None`: no limit).
    until: Option<Instant>,
}

impl Client {
    /// Connects as a connection string says (libpq's: a URL
    /// `postgres://USER:PASSWORD@HOST1:PORT1,HOST2:PORT2/DB?key=value&…` or
    /// keywords `host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB`;
    /// the first host that takes it).
    pub fn connect(text: &str) -> Result<Client, Error> {
        Self::made(Connection::start(text), None)
    }

    /// Connects with these keywords and values (libpq's, not expanded),
    /// given up at `until`. (A host's name is looked up by the system's
    /// resolver, within its own timeout: `hostaddr` spares the lookup.)
    pub fn connect_with(params: &[(String, String)], until: Instant) -> Result<Client, Error> {
        let params: HashMap<String, String> = params.iter().cloned().collect();
        Self::made(Connection::start_params(&params, false), Some(until))
    }

    /// A connection started, made: libpq's steps (`PQconnectPoll`), the
    /// socket waited on as each says, until `until`.
    fn made(conn: libpq::errors::Result<Connection>, until: Option<Instant>) -> Result<Client, Error> {
        let conn = conn.map_err(|e| Error::connection(e.to_string()))?;
        // SAFETY: `notice` is a function for the connection's whole life
        // and reads only the message libpq gives it.
        unsafe { conn.set_notice_processor(Some(notice), std::ptr::null_mut()) };
        let client = Client { conn, broken: false, statements: HashMap::new(), until: None };
        let mut step = libpq::poll::Status::Writing;
        loop {
            let write = match step {
                libpq::poll::Status::Ok => return Ok(client),
                libpq::poll::Status::Failed => {
                    return Err(Error::connection(client.conn.error_message().unwrap_or("refused")));
                }
                libpq::poll::Status::Writing => true,
                libpq::poll::Status::Reading | libpq::poll::Status::Active => false,
            };
            if !client.ready(write, until)? {
                return Err(Error::connection("no answer in time"));
            }
            step = client.conn.poll();
        }
    }

    /// Calls from now on must be answered by `until` (`None`: no limit);
    /// one that is not closes the connection and fails.
    pub fn set_deadline(&mut self, until: Option<Instant>) {
        self.until = until;
    }

    /// Whether the connection broke (it is not used again).
    pub fn is_closed(&self) -> bool {
        self.broken || self.conn.status() == libpq::connection::Status::Bad
    }

    /// The rows of `result`, or its error.
    fn rows(&self, result: PQResult) -> Result<Arc<Rows>, Error> {
        match result.status() {
            Status::TuplesOk | Status::CommandOk | Status::EmptyQuery | Status::CopyIn => {}
            _ => return Err(self.error_of(&result)),
        }
        let columns = (0..result.nfields())
            .map(|i| Column {
                name: result.field_name(i).ok().flatten().unwrap_or_default(),
                type_: type_of(result.field_type(i)),
            })
            .collect();
        Ok(Arc::new(Rows { result, columns }))
    }

    /// The error a result carries: the server's (with its code), or the
    /// connection's.
    fn error_of(&self, result: &PQResult) -> Error {
        let field = |f| result.error_field(f).ok().flatten().map(str::to_string);
        if let Some(code) = field(ErrorField::Sqlstate) {
            return Error(Box::new(ErrorKind::Db(DbError {
                severity: field(ErrorField::Severity).unwrap_or_default(),
                code,
                message: field(ErrorField::MessagePrimary).unwrap_or_default(),
                detail: field(ErrorField::MessageDetail),
            })));
        }
        let why = result.error_message().ok().flatten().filter(|m| !m.is_empty());
        Error::connection(why.or_else(|| self.conn.error_message().map(str::to_string)).unwrap_or_default())
    }

    /// The statement of `query` prepared on this connection (once), with
    /// its parameters' types as the server infers them.
    fn statement(&mut self, query: &str) -> Result<(String, Vec<Type>), Error> {
        if let Some(known) = self.statements.get(query) {
            return Ok(known.clone());
        }
        let name = if self.statements.len() < STATEMENTS {
            format!("w{}", self.statements.len() + 1)
        } else {
            String::new()
        };
        let sent = self.conn.send_prepare(Some(&name), query, &[]);
        self.answer(sent)?;
        let sent = self.conn.send_describe_prepared(Some(&name));
        let described = &self.answer(sent)?.result;
        let types: Vec<Type> =
            (0..described.nparams()).map(|i| type_of(described.param_type(i).unwrap_or(0))).collect();
        if !name.is_empty() {
            self.statements.insert(query.to_string(), (name.clone(), types.clone()));
        }
        Ok((name, types))
    }

    /// Runs `query` with `params`, as the server infers their types; a
    /// query without parameters is run as it is, in one round trip, not
    /// prepared.
    fn run(&mut self, query: &str, params: &[Param<'_>]) -> Result<Arc<Rows>, Error> {
        if params.is_empty() {
            let sent = self.conn.send_query_params(query, &[], &[], &[], Format::Binary);
            return self.answer(sent);
        }
        let (name, types) = self.statement(query)?;
        if types.len() != params.len() {
            return Err(Error::conversion(format!("{} parameters given for {}", params.len(), types.len())));
        }
        let values = binary(params.iter().copied().zip(&types))?;
        let values: Vec<Option<&[u8]>> = values.iter().map(Option::as_deref).collect();
        let formats = vec![Format::Binary; values.len()];
        let sent = self.conn.send_query_prepared(Some(&name), &values, &formats, Format::Binary);
        self.answer(sent)
    }

    /// The rows `query` gives.
    pub fn query(&mut self, query: &str, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        Ok(all(self.run(query, params)?))
    }

    /// The one row `query` gives (an error if none or several).
    pub fn query_one(&mut self, query: &str, params: &[Param<'_>]) -> Result<Row, Error> {
        self.query_opt(query, params)?.ok_or_else(|| Error::conversion("no row where one was expected"))
    }

    /// The row `query` gives, if any (an error if several).
    pub fn query_opt(&mut self, query: &str, params: &[Param<'_>]) -> Result<Option<Row>, Error> {
        one_at_most(self.run(query, params)?)
    }

    /// Runs `query`: how many rows it affected.
    pub fn execute(&mut self, query: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        Ok(affected(&*self.run(query, params)?))
    }

    /// Runs `sql`, one statement or several apart by `;`, without
    /// parameters; their rows are not kept.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        let sent = self.conn.send_query(sql);
        self.answer(sent).map(drop)
    }

    /// Starts a transaction (`BEGIN`).
    pub fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        self.transaction_with("")
    }

    /// Starts a transaction with `modes`, as `BEGIN` takes them
    /// (`ISOLATION LEVEL REPEATABLE READ, READ ONLY`).
    ///
    /// Under a deadline, the server ends the transaction too if it waits
    /// for this client past it (`idle_in_transaction_session_timeout`,
    /// what is left of the deadline at `BEGIN`): by then the client has
    /// given up. A client that is frozen, or cut off without the server
    /// hearing of it, would otherwise leave the transaction open with its
    /// locks until it wakes: a fence's lock on the lease's row
    /// (`checkpoint::fenced`) would keep every node from taking the lease.
    pub fn transaction_with(&mut self, modes: &str) -> Result<Transaction<'_>, Error> {
        let bound = match self.until {
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now()).as_millis().max(1);
                format!("; SET LOCAL idle_in_transaction_session_timeout = {left}")
            }
            None => String::new(),
        };
        self.batch_execute(&format!("BEGIN {modes}{bound}"))?;
        Ok(Transaction { client: self, done: false })
    }

    /// Starts `COPY … FROM STDIN`: the rows are written to the
    /// [`CopyIn`] returned, in COPY's text format, and sent by its `finish`.
    pub fn copy_in(&mut self, query: &str) -> Result<CopyIn<'_>, Error> {
        let sent = self.conn.send_query(query);
        if self.answer(sent)?.result.status() != Status::CopyIn {
            return Err(Error::conversion(format!("not a COPY FROM STDIN: {query}")));
        }
        Ok(CopyIn { client: self, done: false })
    }

    /// The next notification, waiting up to `wait` for one (zero: only
    /// those already received). `None` if none came.
    pub fn notification(&mut self, wait: Duration) -> Result<Option<Notification>, Error> {
        let until = Instant::now() + wait;
        loop {
            self.conn.consume_input().map_err(|e| Error::connection(e.to_string()))?;
            if let Some(n) = self.conn.notifies() {
                return Ok(Some(Notification { payload: n.extra().unwrap_or_default() }));
            }
            if wait.is_zero() || !self.ready(false, Some(until))? {
                return Ok(None);
            }
        }
    }

    /// The answer to the request just `sent`: its results, each waited
    /// for within the deadline (past it the connection is closed); the
    /// first error among them, else the last one's rows. A `COPY … FROM
    /// STDIN` answers with its start: its rows go next.
    fn answer(&mut self, sent: libpq::errors::Result) -> Result<Arc<Rows>, Error> {
        sent.map_err(|e| Error::connection(e.to_string()))?;
        let mut answer = None;
        loop {
            while self.conn.is_busy() {
                if !self.ready(false, self.until)? {
                    self.broken = true;
                    log::warn!("cluster: the database did not answer in time: connection closed");
                    crate::metrics::get().pg_cut.inc();
                    return Err(Error::connection("no answer in time"));
                }
                self.conn.consume_input().map_err(|e| Error::connection(e.to_string()))?;
            }
            let Some(result) = self.conn.result() else { break };
            let copy = result.status() == Status::CopyIn;
            let rows = self.rows(result);
            if answer.as_ref().is_none_or(Result::is_ok) {
                answer = Some(rows);
            }
            if copy {
                break;
            }
        }
        answer.unwrap_or_else(|| Err(Error::connection("no answer")))
    }

    /// Waits until the socket can be read (or written, `write`): true, or
    /// false if `until` came first.
    fn ready(&self, write: bool, until: Option<Instant>) -> Result<bool, Error> {
        let fd = self.conn.socket().map_err(|e| Error::connection(e.to_string()))?;
        // SAFETY: the socket is libpq's, open as long as `self.conn` is,
        // which outlives this call.
        let libpqs = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let events = if write { socket::WRITABLE } else { socket::READABLE };
        loop {
            let ms = match until {
                None => -1,
                Some(until) => match until.saturating_duration_since(Instant::now()) {
                    left if left.is_zero() => return Ok(false),
                    left => left.as_millis().clamp(1, i32::MAX as u128) as i32,
                },
            };
            match socket::poll(&mut [Waiting::new(&libpqs, events)], ms) {
                Ok(0) => {}
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::connection(e.to_string())),
            }
        }
    }

    /// Whether the server answers within `timeout` (an empty query), the
    /// check's own time: not the deadline a connection's last holder
    /// left on it, which may be long past. One that does not is closed.
    pub fn is_valid(&mut self, timeout: Duration) -> Result<(), Error> {
        let left = self.until.replace(Instant::now() + timeout);
        let sent = self.conn.send_query("");
        let answer = self.answer(sent).map(drop);
        self.until = left;
        answer
    }
}

/// libpq's notices (a `WARNING` from the server) go to the log rather
/// than to standard error.
extern "C" fn notice(_: *mut c_void, message: *const c_char) {
    // SAFETY: libpq gives a NUL-terminated message, valid for the call.
    let message = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    log::warn!("cluster: the database says: {}", message.trim_end());
}

/// `params` in the binary format of their types.
fn binary<'a>(params: impl Iterator<Item = (Param<'a>, &'a Type)>) -> Result<Vec<Option<Vec<u8>>>, Error> {
    let one = |(param, ty): (Param<'_>, &Type)| {
        let mut buf = BytesMut::new();
        match param.to_sql_checked(ty, &mut buf) {
            Ok(types::IsNull::Yes) => Ok(None),
            Ok(types::IsNull::No) => Ok(Some(buf.to_vec())),
            Err(e) => Err(Error::conversion(format!("a parameter of type {ty}: {e}"))),
        }
    };
    params.map(one).collect()
}

/// Every row of `rows`.
fn all(rows: Arc<Rows>) -> Vec<Row> {
    (0..rows.result.ntuples()).map(|row| Row { rows: rows.clone(), row }).collect()
}

/// The one row of `rows`, if any; an error if several.
fn one_at_most(rows: Arc<Rows>) -> Result<Option<Row>, Error> {
    match rows.result.ntuples() {
        0 => Ok(None),
        1 => Ok(Some(Row { rows, row: 0 })),
        n => Err(Error::conversion(format!("{n} rows where one at most was expected"))),
    }
}

/// The rows a command affected (its tag: `INSERT 0 3`).
fn affected(rows: &Rows) -> u64 {
    rows.result.cmd_tuples().map_or(0, |n| n as u64)
}

// ---------------------------------------------------------------- transactions

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
        if !self.done && !self.client.is_closed() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
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
        self.end(None)
    }

    /// Ends the COPY, failed with `why` if given; the server's answer.
    fn end(&mut self, why: Option<&str>) -> Result<u64, Error> {
        let client = &mut *self.client;
        let sent = client.conn.put_copy_end(why);
        client.answer(sent).map(|rows| affected(&rows))
    }
}

impl io::Write for CopyIn<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.client.conn.put_copy_data(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for CopyIn<'_> {
    fn drop(&mut self) {
        if !self.done && !self.client.is_closed() {
            let _ = self.end(Some("the copy was given up"));
        }
    }
}
