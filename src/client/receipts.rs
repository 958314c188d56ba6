//! Who has a room message of mine (protocol 1.2, §31): the `RECEIPTS`
//! request both consoles make for `/info N`.

use super::Client;
use crate::error::{Error, Result};
use crate::protocol::Request;

/// A `RECEIPTS` answer: the members who read the message and those who
/// have it, each with the time if the server still says it, or that the
/// room is too large to keep receipts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageInfo {
    Kept {
        /// The members it went to (the room's others).
        to: usize,
        /// Newest first.
        read: Vec<(String, Option<u64>)>,
        delivered: Vec<(String, Option<u64>)>,
    },
    /// `LARGE:<members>:<limit>`: its messages stay at ✓.
    Large { members: usize, limit: usize },
}

impl Client {
    /// `RECEIPTS:<#room>:<id>` of my message `id` in `room`.
    pub fn receipts(&self, room: &str, id: &str) -> Result<MessageInfo> {
        let request =
            Request::Receipts { room: room.trim_start_matches('#').to_string(), id: id.to_string() };
        parse(&self.listing(request, "RECEIPTS")?)
    }
}

/// The lines of a `RECEIPTS` listing.
pub fn parse(lines: &[String]) -> Result<MessageInfo> {
    let bad = |line: &str| Error::Protocol(format!("RECEIPTS: unexpected line {line:?}"));
    let number = |s: &str, line: &str| s.parse::<usize>().map_err(|_| bad(line));
    let (mut to, mut read, mut delivered) = (0, Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split(':').collect();
        let time = |t: &str| if t.is_empty() { Ok(None) } else { t.parse().map(Some).map_err(|_| bad(line)) };
        match f[..] {
            ["LARGE", members, limit] => {
                return Ok(MessageInfo::Large {
                    members: number(members, line)?,
                    limit: number(limit, line)?,
                });
            }
            ["TO", n] => to = number(n, line)?,
            ["READ", who, ts] => read.push((who.to_string(), time(ts)?)),
            ["DELIVERED", who, ts] => delivered.push((who.to_string(), time(ts)?)),
            _ => return Err(bad(line)),
        }
    }
    Ok(MessageInfo::Kept { to, read, delivered })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipts_listing_reads_back() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let info = parse(&lines(&["TO:2", "READ:bob:17", "DELIVERED:carl:"])).unwrap();
        let expected = MessageInfo::Kept {
            to: 2,
            read: vec![("bob".into(), Some(17))],
            delivered: vec![("carl".into(), None)],
        };
        assert_eq!(info, expected);
        assert_eq!(parse(&lines(&["LARGE:65:64"])).unwrap(), MessageInfo::Large { members: 65, limit: 64 });
        assert!(parse(&lines(&["READ:bob"])).is_err());
    }
}
