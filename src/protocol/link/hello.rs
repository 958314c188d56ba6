//! The hello family: a link's first frame ([`Opening`]: `HELLO`, and
//! `VERIFY`, the dialback that is gone, refused in words), and the frames
//! that keep a link: `PING` (answered `PONG`) and `QUIT` (answered `OK`,
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

/// Checks a dialback key: 16–64 characters from `A-Z a-z 0-9`.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = (16..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err("a key has 16 to 64 characters from A-Z a-z 0-9".into()) }
}

/// Checks a server identity: 32 hex digits (what `SERVER` answers).
pub fn check_identity(id: &str) -> Result<(), String> {
    let ok = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err("an identity is 32 hex digits".into()) }
}

/// The first frame of a connection to a link port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// `HELLO:1.3:<from>:<to>:<secret>:<key>:<identity>`.
    Hello { from: String, to: String, secret: String, key: String, identity: String },
    /// `VERIFY:<asker>:<dialer>:<key>`: the dialback.
    Verify { asker: String, dialer: String, key: String },
}

impl Opening {
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
                let s = |i: usize| f[i].to_string();
                Ok(Opening::Hello { from: s(2), to: s(3), secret: s(4), key: s(5), identity: s(6) })
            }
            "VERIFY" => {
                if f.len() != 4 {
                    return Err("VERIFY:<asker>:<dialer>:<key>".into());
                }
                check_name(f[1])?;
                check_name(f[2])?;
                check_key(f[3])?;
                Ok(Opening::Verify { asker: f[1].into(), dialer: f[2].into(), key: f[3].into() })
            }
            other => Err(format!("a link starts with HELLO or VERIFY, not {other:?}")),
        }
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opening::Hello { from, to, secret, key, identity } => {
                write!(f, "HELLO:{LINK_VERSION}:{from}:{to}:{secret}:{key}:{identity}")
            }
            Opening::Verify { asker, dialer, key } => write!(f, "VERIFY:{asker}:{dialer}:{key}"),
        }
    }
}
