//! Replies on the send port: `OK`, `OK:<fields>`, a listing `OK:<n>` followed
//! by `n` lines, or `KO:<CODE>:<reason>`.

use std::fmt;

/// Declares [`Code`] with its wire spelling, and derives [`Code::ALL`] and
/// [`Code::as_str`] from the same list: a code added here is parsed,
/// written and tested at once; nothing else needs updating.
macro_rules! codes {
    ($($(#[$doc:meta])* $code:ident => $wire:literal,)+) => {
        /// The error codes of `KO` replies.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $code,)+
        }

        impl Code {
            /// Every code, in the order declared (for parsing, tests and
            /// documentation).
            pub const ALL: &'static [Code] = &[$(Code::$code,)+];

            /// The code as written on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => $wire,)+
                }
            }
        }
    };
}

codes! {
    BadRequest => "BAD_REQUEST",
    AuthRequired => "AUTH_REQUIRED",
    AuthFailed => "AUTH_FAILED",
    UserExists => "USER_EXISTS",
    UnknownUser => "UNKNOWN_USER",
    NotMember => "NOT_MEMBER",
    UnknownMessage => "UNKNOWN_MESSAGE",
    Offline => "OFFLINE",
    TooLong => "TOO_LONG",
    RateLimited => "RATE_LIMITED",
    Busy => "BUSY",
    Timeout => "TIMEOUT",
    Internal => "INTERNAL",
    /// 1.2: a budget is spent — the sender's quota of stored bytes
    /// (`--user-quota`), the recipient's inbox (`--inbox-max`), or the
    /// server's disk (`--min-free`). The connection stays usable; the same
    /// request succeeds once the budget comes back.
    Full => "FULL",
    /// 1.2: not allowed: a moderation request by someone who is not an
    /// admin of the room, a `MSG` from a muted member or to an
    /// announce-only room, a `JOIN` of an invite-only room without an
    /// invitation or while banned.
    Forbidden => "FORBIDDEN",
    /// 1.2: a login from one device more than the server allows a user
    /// (`--max-devices`) while the others are online; the connection stays
    /// open for another `LOGIN`.
    TooManyDevices => "TOO_MANY_DEVICES",
    /// 1.2: `UNLINK` of a device this user does not have.
    UnknownDevice => "UNKNOWN_DEVICE",
    /// 1.2 (§21): no such file that you may see: a `FETCH` of a file
    /// that no message you may read carries, a `PART` of an upload not
    /// yours (or removed), a `FILE` of a file not complete.
    UnknownFile => "UNKNOWN_FILE",
    /// 1.2: a cluster node cannot reach a primary database right now (a
    /// failover): the request was not done, or done and recognised when
    /// sent again with the same id. Try again; the connection stays open.
    Unavailable => "UNAVAILABLE",
    /// 1.3 (§27): an address `<user>@<server>` whose server is not in this
    /// server's roster; on a link, a hello or a frame meant for another
    /// server.
    UnknownServer => "UNKNOWN_SERVER",
}

impl Code {
    /// Parses a code from the wire.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// After these codes the server closes the connection (protocol §2).
    pub fn closes_connection(self) -> bool {
        matches!(self, Code::AuthRequired | Code::AuthFailed | Code::TooLong | Code::Busy | Code::Timeout)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the `KO` half of a reply. Server code returns `Result<_, Ko>`
/// from everything a client can get wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ko {
    pub code: Code,
    /// A reason for a human; never contains a newline.
    pub reason: String,
}

impl Ko {
    pub fn new(code: Code, reason: impl Into<String>) -> Ko {
        let reason: String = reason.into();
        Ko { code, reason: reason.replace(['\n', '\r'], " ") }
    }
}

impl fmt::Display for Ko {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KO:{}:{}", self.code, self.reason)
    }
}

/// One reply on the send port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `OK`
    Ok,
    /// `OK:<fields>`: a payload of [`lines`](super::lines) (or a name)
    /// as written; build it with [`Reply::with`].
    OkWith(String),
    /// `OK:<n>` then the `n` lines, each a [`lines`](super::lines) type as
    /// written; build it with [`Reply::listing`].
    Listing(Vec<String>),
    /// 1.2: `OK:<n>:<cursor>` then the `n` lines of a page of `HISTORY`
    /// ([`page`](super::page)); no cursor (an empty field): no page before.
    Page { lines: Vec<String>, before: Option<u64> },
    /// `KO:<CODE>:<reason>`
    Ko(Ko),
}

impl Reply {
    /// `OK:<payload>`.
    pub fn with(payload: impl fmt::Display) -> Reply {
        Reply::OkWith(payload.to_string())
    }

    /// `OK:<n>` and a line for each item.
    pub fn listing<T: fmt::Display>(lines: impl IntoIterator<Item = T>) -> Reply {
        Reply::Listing(lines.into_iter().map(|line| line.to_string()).collect())
    }

    /// Parses the first line of a reply. A listing comes back as
    /// `OkWith("<n>")`: only the caller knows that it asked for a listing
    /// and must read `n` more lines (see [`Reply::listing_len`]).
    pub fn parse(line: &str) -> Result<Reply, String> {
        if line == "OK" {
            return Ok(Reply::Ok);
        }
        if let Some(rest) = line.strip_prefix("OK:") {
            return Ok(Reply::OkWith(rest.to_string()));
        }
        if let Some(rest) = line.strip_prefix("KO:") {
            let (code, reason) = rest.split_once(':').unwrap_or((rest, ""));
            let code = Code::parse(code).ok_or_else(|| format!("unknown code in {line:?}"))?;
            return Ok(Reply::Ko(Ko::new(code, reason)));
        }
        Err(format!("not a reply: {line:?}"))
    }

    /// The lines of a listing or (1.2) of a page of `HISTORY`: a reply
    /// that may be long.
    pub fn lines(&self) -> Option<&[String]> {
        match self {
            Reply::Listing(lines) | Reply::Page { lines, .. } => Some(lines),
            _ => None,
        }
    }

    /// The `n` of an `OK:<n>` listing head.
    pub fn listing_len(&self) -> Option<usize> {
        match self {
            Reply::OkWith(n) => n.parse().ok(),
            _ => None,
        }
    }
}

impl From<Ko> for Reply {
    fn from(ko: Ko) -> Reply {
        Reply::Ko(ko)
    }
}

impl fmt::Display for Reply {
    /// Writes the reply with its final `\n` (and the lines of a listing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => writeln!(f, "OK"),
            Reply::OkWith(fields) => writeln!(f, "OK:{fields}"),
            Reply::Listing(lines) => {
                writeln!(f, "OK:{}", lines.len())?;
                lines.iter().try_for_each(|line| writeln!(f, "{line}"))
            }
            Reply::Page { lines, before } => {
                match before {
                    Some(cursor) => writeln!(f, "OK:{}:{cursor}", lines.len())?,
                    None => writeln!(f, "OK:{}:", lines.len())?,
                }
                lines.iter().try_for_each(|line| writeln!(f, "{line}"))
            }
            Reply::Ko(ko) => writeln!(f, "{ko}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_every_shape() {
        assert_eq!(Reply::Ok.to_string(), "OK\n");
        assert_eq!(Reply::OkWith("m1:17".into()).to_string(), "OK:m1:17\n");
        assert_eq!(Reply::Listing(vec!["a".into(), "b".into()]).to_string(), "OK:2\na\nb\n");
        let page = Reply::Page { lines: vec!["a".into()], before: Some(812) };
        assert_eq!(page.to_string(), "OK:1:812\na\n");
        assert_eq!(page.lines().map(<[String]>::len), Some(1), "a long reply, as a listing");
        assert_eq!(Reply::Page { lines: vec![], before: None }.to_string(), "OK:0:\n");
        let ko = Ko::new(Code::UnknownUser, "no user\nnamed x");
        assert_eq!(Reply::Ko(ko).to_string(), "KO:UNKNOWN_USER:no user named x\n");
    }

    #[test]
    fn parses_heads() {
        assert_eq!(Reply::parse("OK").unwrap(), Reply::Ok);
        assert_eq!(Reply::parse("OK:3").unwrap().listing_len(), Some(3));
        let Reply::Ko(ko) = Reply::parse("KO:NOT_MEMBER:not in #x: sorry").unwrap() else { panic!() };
        assert_eq!((ko.code, ko.reason.as_str()), (Code::NotMember, "not in #x: sorry"));
        assert!(Reply::parse("KO:NOPE:x").is_err());
        assert!(Reply::parse("HELLO").is_err());
    }

    #[test]
    fn codes_round_trip_and_know_which_close() {
        for &code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        let closing: Vec<_> = Code::ALL.iter().copied().filter(|c| c.closes_connection()).collect();
        assert_eq!(closing, [Code::AuthRequired, Code::AuthFailed, Code::TooLong, Code::Busy, Code::Timeout]);
    }
}
