//! The hello family: a link's first frame ([`Opening`], a `HELLO`; a
//! `VERIFY`, the dialback that is gone, is read only to be refused in
//! words, [`NO_DIALBACK`]), and the frames that keep a link: `PING` (answered `PONG`) and `QUIT` (answered `OK`,
//! then closed), each its word alone, read by their row of
//! [`FAMILIES`](super::FAMILIES) as [`Frame::Ping`](super::Frame::Ping)
//! and [`Frame::Quit`](super::Frame::Quit). None is numbered.

use std::fmt;

use super::super::names::check_name;

/// The version a `HELLO` says.
pub const LINK_VERSION: &str = "1.3";

/// Checks a secret of the roster: 1–128 characters from `A-Z a-z 0-9 _ . -`.
pub fn check_secret(secret: &str) -> Result<(), String> {
    let ok = !secret.is_empty()
        && secret.len() <= 128
        && secret.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok { Ok(()) } else { Err("a secret has 1 to 128 characters from A-Z a-z 0-9 _ . -".into()) }
}

/// Checks a hello's `<key>`: 16–64 characters from `A-Z a-z 0-9`.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = (16..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err("a key has 16 to 64 characters from A-Z a-z 0-9".into()) }
}

/// Checks a server identity: 32 hex digits (what `SERVER` answers).
pub fn check_identity(id: &str) -> Result<(), String> {
    let ok = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err("an identity is 32 hex digits".into()) }
}

/// What a hello's `<secret>` says: the field has no role (the roster's
/// secret of earlier rosters), any well-formed word is taken.
pub const UNUSED_SECRET: &str = "-";
/// What a hello's `<key>` says: the field has no role (the dialback's key,
/// which is gone), any well-formed word is taken.
pub const UNUSED_KEY: &str = "0000000000000000";

/// What a `VERIFY` is told: links prove who they are by their keys.
pub const NO_DIALBACK: &str = "there is no dialback: a link proves which server it is by its TLS key (§27)";

/// The first frame of a connection to a link port, a hello:
/// `HELLO:1.3:<from>:<to>:<secret>:<key>:<identity>`. Its `<secret>` and
/// `<key>` are checked for their form and dropped; it is said with
/// [`UNUSED_SECRET`] and [`UNUSED_KEY`] in them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    pub from: String,
    pub to: String,
    pub identity: String,
}

impl Opening {
    /// A hello, or why the line is none: a malformed one, a `VERIFY`
    /// (well-formed or not, it gets what it always got), anything else.
    pub fn parse(line: &str) -> Result<Opening, String> {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            "HELLO" => {
                if f.len() != 7 {
                    return Err("HELLO:1.3:<from>:<to>:<secret>:<key>:<identity>".into());
                }
                if f[1] != LINK_VERSION {
                    return Err(format!("this server speaks link version {LINK_VERSION}, not {:?}", f[1]));
                }
                check_name(f[2])?;
                check_name(f[3])?;
                check_secret(f[4])?;
                check_key(f[5])?;
                check_identity(f[6])?;
                Ok(Opening { from: f[2].into(), to: f[3].into(), identity: f[6].into() })
            }
            "VERIFY" => {
                if f.len() != 4 {
                    return Err("VERIFY:<asker>:<dialer>:<key>".into());
                }
                check_name(f[1])?;
                check_name(f[2])?;
                check_key(f[3])?;
                Err(NO_DIALBACK.into())
            }
            other => Err(format!("a link starts with HELLO or VERIFY, not {other:?}")),
        }
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Opening { from, to, identity } = self;
        write!(f, "HELLO:{LINK_VERSION}:{from}:{to}:{UNUSED_SECRET}:{UNUSED_KEY}:{identity}")
    }
}
