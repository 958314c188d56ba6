//! What the nodes say to each other on NATS, besides the log's batches
//! (`log.rs`): a head line of words, then a body of bytes.
//!
//! ```text
//!  follower ──▶ leader  (<prefix>.lead.<epoch>)
//!    OPEN <node> <conn> <addr>[\n<user>\n<device>]
//!                                       a send connection opens here (logged
//!                                       in already, after a failover)
//!    SEND <node> <conn>\n<lines>        its requests, in order
//!    CLOSE <node> <conn>                it ended here
//!    AUTH <node> <addr> <opens>\n<line> a receive login (request: answered)
//!    ATTACH <node> <conn> <user> <addr> <minor>\n<name>\n<device>
//!                                       it comes online (request: answered)
//!    MINOR <node> <conn> <minor> · ACKED <node> <conn> <seq> · DETACH <node> <conn>
//!    ALIVE <node> <run>                 each second, and first: the node is there,
//!                                       in its run <run> (a number new each time
//!                                       it starts following this leader)
//!    WHERE <node>                       how far the log is (request: answered
//!                                       AT <position>): a read waits for it
//!
//!  leader ──▶ follower  (<prefix>.node.<node>)
//!    REPLIES <conn> <position>\n<bytes> replies of its session, in order
//!    CLOSED <conn>                      its session ended there
//!    PUSH <conn>\n<frames>              unnumbered events for a receive connection
//!    SHUT <conn>                        that connection is to close
//!    LOST                               the leader was off NATS a moment: what
//!                                       was on its way may be lost
//!
//!  the answers:  OK <user> <position>\n<name> · PAIRED <position>\n<token>
//!                · ATTACHED <after> <position> · REFUSED <position>\n<KO line>
//!                · AT <position>
//! ```
//!
//! `<node>` is a node's name as a NATS token (`node::token`), `<conn>` the
//! number of a connection on its node, `<position>` the leader's durable
//! end of the log when it said it: what the follower's copy must reach
//! before the answer's effects can be read there. Requests and frames
//! travel as the clients wrote them: nothing here knows the protocol's
//! requests, and no word here is one of theirs.

use std::net::SocketAddr;

use crate::protocol::{Ko, Reply};
use crate::store::UserId;
use crate::store::devices::Proof;
use crate::store::record::Pos;

/// A message to the leader.
#[derive(Debug, PartialEq, Eq)]
pub enum ToLeader {
    Open {
        node: String,
        conn: u64,
        peer: SocketAddr,
        user: Option<(String, Option<String>)>,
    },
    Send {
        node: String,
        conn: u64,
        lines: Vec<u8>,
    },
    Close {
        node: String,
        conn: u64,
    },
    Auth {
        node: String,
        peer: SocketAddr,
        opens: bool,
        line: String,
    },
    Attach {
        node: String,
        conn: u64,
        user: UserId,
        peer: SocketAddr,
        minor: u8,
        name: String,
        device: String,
    },
    Version {
        node: String,
        conn: u64,
        minor: u8,
    },
    Ack {
        node: String,
        conn: u64,
        seq: u64,
    },
    Detach {
        node: String,
        conn: u64,
    },
    Alive {
        node: String,
        run: u64,
    },
    Where {
        node: String,
    },
}

/// A message to a follower.
#[derive(Debug, PartialEq, Eq)]
pub enum ToNode {
    Reply { conn: u64, pos: Pos, bytes: Vec<u8> },
    Closed { conn: u64 },
    Push { conn: u64, frames: Vec<u8> },
    Shut { conn: u64 },
    Lost,
}

/// The leader's answer to `AUTH` or `ATTACH`.
#[derive(Debug, PartialEq, Eq)]
pub enum LeaderAnswer {
    LoggedIn { user: UserId, name: String, proof: Proof, pos: Pos },
    Paired { token: String, pos: Pos },
    Attached { after: u64, pos: Pos },
    Refused { ko: Ko, pos: Pos },
    At { pos: Pos },
}

/// A head line and a body.
fn message(head: String, body: &[u8]) -> Vec<u8> {
    let mut out = head.into_bytes();
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The head's words and the body.
fn split(payload: &[u8]) -> Option<(Vec<&str>, &[u8])> {
    let end = payload.iter().position(|&b| b == b'\n').unwrap_or(payload.len());
    let head = std::str::from_utf8(&payload[..end]).ok()?;
    Some((head.split(' ').collect(), payload.get(end + 1..).unwrap_or(&[])))
}

fn text(body: &[u8]) -> Option<String> {
    String::from_utf8(body.to_vec()).ok()
}

impl ToLeader {
    /// The node that says it.
    pub fn node(&self) -> &str {
        match self {
            ToLeader::Open { node, .. }
            | ToLeader::Send { node, .. }
            | ToLeader::Close { node, .. }
            | ToLeader::Auth { node, .. }
            | ToLeader::Attach { node, .. }
            | ToLeader::Version { node, .. }
            | ToLeader::Ack { node, .. }
            | ToLeader::Detach { node, .. }
            | ToLeader::Alive { node, .. }
            | ToLeader::Where { node } => node,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            ToLeader::Open { node, conn, peer, user } => {
                let body = match user {
                    Some((name, device)) => format!("{name}\n{}", device.as_deref().unwrap_or("")),
                    None => String::new(),
                };
                message(format!("OPEN {node} {conn} {peer}"), body.as_bytes())
            }
            ToLeader::Send { node, conn, lines } => message(format!("SEND {node} {conn}"), lines),
            ToLeader::Close { node, conn } => message(format!("CLOSE {node} {conn}"), b""),
            ToLeader::Auth { node, peer, opens, line } => {
                message(format!("AUTH {node} {peer} {}", u8::from(*opens)), line.as_bytes())
            }
            ToLeader::Attach { node, conn, user, peer, minor, name, device } => message(
                format!("ATTACH {node} {conn} {user} {peer} {minor}"),
                format!("{name}\n{device}").as_bytes(),
            ),
            ToLeader::Version { node, conn, minor } => message(format!("MINOR {node} {conn} {minor}"), b""),
            ToLeader::Ack { node, conn, seq } => message(format!("ACKED {node} {conn} {seq}"), b""),
            ToLeader::Detach { node, conn } => message(format!("DETACH {node} {conn}"), b""),
            ToLeader::Alive { node, run } => message(format!("ALIVE {node} {run}"), b""),
            ToLeader::Where { node } => message(format!("WHERE {node}"), b""),
        }
    }

    pub fn parse(payload: &[u8]) -> Option<ToLeader> {
        let (words, body) = split(payload)?;
        let node = words.get(1)?.to_string();
        let number = |i: usize| words.get(i)?.parse::<u64>().ok();
        Some(match (words[0], words.len()) {
            ("OPEN", 4) => {
                let user = match text(body)?.split_once('\n') {
                    Some((name, device)) => {
                        Some((name.to_string(), (!device.is_empty()).then(|| device.to_string())))
                    }
                    None if body.is_empty() => None,
                    None => return None,
                };
                ToLeader::Open { node, conn: number(2)?, peer: words[3].parse().ok()?, user }
            }
            ("SEND", 3) => ToLeader::Send { node, conn: number(2)?, lines: body.to_vec() },
            ("CLOSE", 3) => ToLeader::Close { node, conn: number(2)? },
            ("AUTH", 4) => ToLeader::Auth {
                node,
                peer: words[2].parse().ok()?,
                opens: words[3] == "1",
                line: text(body)?,
            },
            ("ATTACH", 6) => {
                let (name, device) =
                    text(body)?.split_once('\n').map(|(n, d)| (n.to_string(), d.to_string()))?;
                let (user, minor) = (number(3)? as UserId, number(5)?.min(u8::MAX as u64) as u8);
                ToLeader::Attach {
                    node,
                    conn: number(2)?,
                    user,
                    peer: words[4].parse().ok()?,
                    minor,
                    name,
                    device,
                }
            }
            ("MINOR", 4) => ToLeader::Version { node, conn: number(2)?, minor: number(3)?.min(9) as u8 },
            ("ACKED", 4) => ToLeader::Ack { node, conn: number(2)?, seq: number(3)? },
            ("DETACH", 3) => ToLeader::Detach { node, conn: number(2)? },
            ("ALIVE", 3) => ToLeader::Alive { node, run: number(2)? },
            ("WHERE", 2) => ToLeader::Where { node },
            _ => return None,
        })
    }
}

impl ToNode {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ToNode::Reply { conn, pos, bytes } => message(format!("REPLIES {conn} {pos}"), bytes),
            ToNode::Closed { conn } => message(format!("CLOSED {conn}"), b""),
            ToNode::Push { conn, frames } => message(format!("PUSH {conn}"), frames),
            ToNode::Shut { conn } => message(format!("SHUT {conn}"), b""),
            ToNode::Lost => message("LOST".into(), b""),
        }
    }

    pub fn parse(payload: &[u8]) -> Option<ToNode> {
        let (words, body) = split(payload)?;
        let number = |i: usize| words.get(i)?.parse::<u64>().ok();
        Some(match (words[0], words.len()) {
            ("REPLIES", 3) => ToNode::Reply { conn: number(1)?, pos: number(2)?, bytes: body.to_vec() },
            ("CLOSED", 2) => ToNode::Closed { conn: number(1)? },
            ("PUSH", 2) => ToNode::Push { conn: number(1)?, frames: body.to_vec() },
            ("SHUT", 2) => ToNode::Shut { conn: number(1)? },
            ("LOST", 1) => ToNode::Lost,
            _ => return None,
        })
    }
}

impl LeaderAnswer {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            LeaderAnswer::LoggedIn { user, name, proof, pos } => {
                let proof = if *proof == Proof::Token { "TOKEN" } else { "PASSWORD" };
                message(format!("OK {user} {pos} {proof}"), name.as_bytes())
            }
            LeaderAnswer::Paired { token, pos } => message(format!("PAIRED {pos}"), token.as_bytes()),
            LeaderAnswer::Attached { after, pos } => message(format!("ATTACHED {after} {pos}"), b""),
            LeaderAnswer::Refused { ko, pos } => {
                message(format!("REFUSED {pos}"), Reply::Ko(ko.clone()).to_string().trim_end().as_bytes())
            }
            LeaderAnswer::At { pos } => message(format!("AT {pos}"), b""),
        }
    }

    pub fn parse(payload: &[u8]) -> Option<LeaderAnswer> {
        let (words, body) = split(payload)?;
        let number = |i: usize| words.get(i)?.parse::<u64>().ok();
        Some(match (words[0], words.len()) {
            ("OK", 4) => LeaderAnswer::LoggedIn {
                user: number(1)? as UserId,
                name: text(body)?,
                proof: match words[3] {
                    "TOKEN" => Proof::Token,
                    "PASSWORD" => Proof::Password,
                    _ => return None,
                },
                pos: number(2)?,
            },
            ("PAIRED", 2) => LeaderAnswer::Paired { token: text(body)?, pos: number(1)? },
            ("ATTACHED", 3) => LeaderAnswer::Attached { after: number(1)?, pos: number(2)? },
            ("AT", 2) => LeaderAnswer::At { pos: number(1)? },
            ("REFUSED", 2) => match Reply::parse(&text(body)?).ok()? {
                Reply::Ko(ko) => LeaderAnswer::Refused { ko, pos: number(1)? },
                _ => return None,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_as_written() {
        let peer: SocketAddr = "10.0.0.7:51000".parse().unwrap();
        let node = "lab-a".to_string();
        for message in [
            ToLeader::Open { node: node.clone(), conn: 7, peer, user: None },
            ToLeader::Open {
                node: node.clone(),
                conn: 9,
                peer,
                user: Some(("Ana".into(), Some("phone".into()))),
            },
            ToLeader::Open { node: node.clone(), conn: 9, peer, user: Some(("Ana".into(), None)) },
            ToLeader::Send { node: node.clone(), conn: 7, lines: b"first:line\nsecond line\n".to_vec() },
            ToLeader::Close { node: node.clone(), conn: 7 },
            ToLeader::Auth { node: node.clone(), peer, opens: true, line: "a:login line".into() },
            ToLeader::Attach {
                node: node.clone(),
                conn: 8,
                user: 3,
                peer,
                minor: 2,
                name: "Ana".into(),
                device: "phone".into(),
            },
            ToLeader::Version { node: node.clone(), conn: 8, minor: 2 },
            ToLeader::Ack { node: node.clone(), conn: 8, seq: 41 },
            ToLeader::Detach { node: node.clone(), conn: 8 },
            ToLeader::Alive { node: node.clone(), run: 7_301_442_918 },
            ToLeader::Where { node },
        ] {
            assert_eq!(ToLeader::parse(&message.encode()), Some(message));
        }
        for message in [
            ToNode::Reply { conn: 7, pos: 1234, bytes: b"OK:m1:17\nOK:2\na\nb\n".to_vec() },
            ToNode::Closed { conn: 7 },
            ToNode::Push { conn: 8, frames: b"an:event\n".to_vec() },
            ToNode::Shut { conn: 8 },
            ToNode::Lost,
        ] {
            assert_eq!(ToNode::parse(&message.encode()), Some(message));
        }
        for answer in [
            LeaderAnswer::LoggedIn { user: 3, name: "Ana".into(), proof: Proof::Token, pos: 99 },
            LeaderAnswer::Paired { token: "t0k3n".into(), pos: 99 },
            LeaderAnswer::Attached { after: 4, pos: 99 },
            LeaderAnswer::Refused { ko: Ko::wrong_login(), pos: 0 },
            LeaderAnswer::At { pos: 42 },
        ] {
            assert_eq!(LeaderAnswer::parse(&answer.encode()), Some(answer));
        }
        assert_eq!(ToLeader::parse(b"SEND lab-a"), None);
        assert_eq!(ToNode::parse(b"REPLIES x 1\n"), None);
    }
}
