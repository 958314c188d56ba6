//! What `wachat serve` can be told ([`Config`]) and the default of each
//! limit, with the reason for its number: `wachat serve --help` shows
//! these, and a test's server starts from [`Config::new`] and changes the
//! one limit it is about.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::calls::DEFAULT_RING_SECONDS;
use super::registration::Registration;
use super::turn::Turn;
use crate::protocol::MAX_FRAME;
use crate::store::files::{MAX_FILE_MB, UPLOAD_MINUTES};
use crate::store::password::DEFAULT_KDF_COST;

/// Everything `wachat serve` can be told.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the CSV files live.
    pub data_dir: PathBuf,
    /// A connection that completes no frame for this long is closed.
    pub timeout: Duration,
    /// `LOGIN` with an unknown name creates the account.
    pub auto_register: bool,
    /// Who may create an account over the network (`--registration`).
    pub registration: Registration,
    /// Size limit of a frame, `\n` included.
    pub max_frame: usize,
    /// argon2id memory cost in KiB.
    pub kdf_cost: u32,
    /// fsync before every `OK` (false only to measure what it costs).
    pub fsync: bool,
    /// Rooms with more members send no `JOINED`/`LEFT`.
    pub presence_limit: usize,
    /// Receive connections (devices) per user at once (`--max-devices`).
    pub max_devices: usize,
    /// Days after which a device not seen is forgotten (`--device-days`).
    pub device_days: f64,
    /// 1.2 `--name-quarantine-days`: a deleted account's name is free again after this.
    pub name_quarantine: Duration,
    /// Bytes that may wait for a slow receiver before `BYE:SLOW`.
    pub max_pending: usize,
    /// Connections (both ports together) beyond which new ones get `KO:BUSY`.
    pub max_connections: usize,
    /// Connections from one address (an IPv6 /64) beyond which new ones
    /// get `KO:BUSY`; 0: no limit.
    pub max_per_address: usize,
    /// Addresses to which no per-address limit applies (`--exempt`).
    pub exempt: Vec<IpAddr>,
    /// Requests per second per user (`KO:RATE_LIMITED` beyond); 0: no limit.
    pub rate: f64,
    /// How many requests a user may make at once above `rate`.
    pub rate_burst: u32,
    /// Requests per second from one address (an IPv6 /64), all its users
    /// together, unless exempt; 0: no limit. Only applies with a `rate`.
    pub address_rate: f64,
    /// How the store keeps its files: segment size, checkpoints, retention
    /// (`fsync` above overrides its `fsync`).
    pub store: crate::store::StoreOptions,
    /// TLS on both ports (`--tls-cert`, `--tls-key`); `None`: plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// 1.2: how long a minute of `MUTE`/`BAN` lasts (`--minute-ms`, for tests).
    pub minute_ms: u64,
    /// 1.2: how long after sending a message may be edited or deleted.
    pub actions: ActionLimits,
    /// 1.2: files in chats (`--max-file-mb`, `--upload-minutes`).
    pub files: FileLimits,
    /// 1.2 (§24): how long a call rings before it is missed (`--ring-seconds`).
    pub ring_seconds: u64,
    /// 1.2 (§24): the TURN server whose credentials `TURN` hands out
    /// (`--turn`, `--turn-secret`); `None`: host and STUN candidates only.
    pub turn: Option<Turn>,
    /// 1.2 (§28): `--push-test-ca FILE`, for tests only: the push
    /// services' HTTPS may also be signed by this CA, and endpoints on
    /// loopback are allowed (`server::push`).
    pub push_test_ca: Option<std::path::PathBuf>,
    /// 1.3 (§27): this server's name in a class network (`--name`), which
    /// `INFO` says; `None`: it has none.
    pub name: Option<String>,
}

/// Seconds a connection may go without completing a frame (`--timeout`).
pub use crate::protocol::DEFAULT_TIMEOUT_SECS;
/// Rooms with more members send no presence (`--presence-limit`).
pub const DEFAULT_PRESENCE_LIMIT: usize = 200;
/// Bytes that may wait for a slow receiver (`--max-pending`).
pub const DEFAULT_MAX_PENDING: usize = 1 << 20;
/// Connections on both ports together (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 20_000;
/// Connections from one address (`--max-per-address`): a lab of 100
/// students behind one NAT, each with a console (two connections) and a
/// few one-shot commands or bots, fits.
pub const DEFAULT_MAX_PER_ADDRESS: usize = 256;
/// Requests per second per user (`--rate`).
pub const DEFAULT_RATE: f64 = 1000.0;
/// Requests per second from one address (`--address-rate`): every user
/// behind it together. A class of 60 behind one NAT in one room, a message
/// each 5 s each, uses ~40 a second (12 messages, and each console's
/// `READ` of the room every 2 s, `client::reads`); 40 hostile addresses at
/// this limit, 8,000 messages a second, leave a normal user's p99 within
/// 5 ms (docs/RELIABILITY.md §7).
pub const DEFAULT_ADDRESS_RATE: f64 = 200.0;

/// The burst of an address's bucket, in seconds of its `--address-rate`:
/// a class that starts its consoles together (~7 requests each) or says
/// hello within the same second spends its burst, never its rate. What a
/// hostile script behind that address gets from it is one burst of
/// requests (2,000 at the default), then the rate: docs/RELIABILITY.md §7.
pub const ADDRESS_BURST_SECS: f64 = 10.0;
/// Default of `--device-days`.
pub const DEFAULT_DEVICE_DAYS: f64 = 30.0;

/// How long a minute of `MUTE` and `BAN` lasts, in milliseconds
/// (`wachat serve --minute-ms`, hidden: tests make it short, as
/// `--timeout` is made short elsewhere, to see a mute run out).
pub const MINUTE_MS: u64 = 60_000;

/// Default `--edit-minutes`: a typo is noticed at once, or not at all.
pub const DEFAULT_EDIT_MINUTES: u64 = 15;
/// Default `--delete-hours`.
pub const DEFAULT_DELETE_HOURS: u64 = 48;

/// How long after sending a message its author may act on it.
#[derive(Clone, Debug)]
pub struct ActionLimits {
    /// `--edit-minutes`.
    pub edit: Duration,
    /// `--delete-hours`.
    pub delete: Duration,
}

impl Default for ActionLimits {
    fn default() -> ActionLimits {
        ActionLimits {
            edit: Duration::from_secs(DEFAULT_EDIT_MINUTES * 60),
            delete: Duration::from_secs(DEFAULT_DELETE_HOURS * 3600),
        }
    }
}

/// `--max-file-mb` and `--upload-minutes`.
#[derive(Clone, Copy, Debug)]
pub struct FileLimits {
    /// Bytes of the largest file.
    pub max_size: u64,
    /// An upload not finished this long after its `UPLOAD` is removed.
    pub upload_ttl: Duration,
}

impl Default for FileLimits {
    fn default() -> FileLimits {
        FileLimits {
            max_size: MAX_FILE_MB * 1024 * 1024,
            upload_ttl: Duration::from_secs(UPLOAD_MINUTES * 60),
        }
    }
}

/// `--rate-burst` is, unless given, this many seconds' worth of `--rate`.
pub const BURST_SECS: f64 = 2.0;

/// The default `--rate-burst` for a `--rate`: [`BURST_SECS`] of it, at least 1.
pub fn default_burst(rate: f64) -> u32 {
    (rate * BURST_SECS).ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// The burst of an address's bucket for an `--address-rate`:
/// [`ADDRESS_BURST_SECS`] of it, at least 1.
pub fn address_burst(rate: f64) -> u32 {
    (rate * ADDRESS_BURST_SECS).ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

impl Config {
    /// The defaults of `wachat serve`, with another data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            auto_register: false,
            registration: Registration::Open,
            max_frame: MAX_FRAME,
            kdf_cost: DEFAULT_KDF_COST,
            fsync: true,
            presence_limit: DEFAULT_PRESENCE_LIMIT,
            max_devices: crate::protocol::DEFAULT_MAX_DEVICES,
            device_days: DEFAULT_DEVICE_DAYS,
            name_quarantine: Duration::from_secs_f64(crate::store::NAME_QUARANTINE_DAYS * 86_400.0),
            max_pending: DEFAULT_MAX_PENDING,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
            exempt: Vec::new(),
            rate: DEFAULT_RATE,
            rate_burst: default_burst(DEFAULT_RATE),
            address_rate: DEFAULT_ADDRESS_RATE,
            store: crate::store::StoreOptions::default(),
            tls: None,
            minute_ms: MINUTE_MS,
            actions: ActionLimits::default(),
            files: FileLimits::default(),
            ring_seconds: DEFAULT_RING_SECONDS,
            turn: None,
            push_test_ca: None,
            name: None,
        }
    }
}
