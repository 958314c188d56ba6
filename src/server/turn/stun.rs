//! A TURN client, as small as a check needs (RFC 5389 STUN, RFC 5766
//! TURN, RFC 6156 for IPv6): it allocates a relay address with wachat's
//! own credentials and asks the TURN server for permissions, and says
//! what the server answered, its error code included (`403` for a peer
//! address it refuses, `442` for a transport it does not relay, `486`
//! past a user's quota). It never sends a byte through the relay.
//!
//! A STUN message, as on the wire (every number big-endian):
//!
//! ```text
//!   0       2       4               8                          20
//!   | type  | length| magic cookie  | transaction id (12 bytes)  | attributes…
//!   attribute: | type (2) | length (2) | value, padded to 4 bytes |
//! ```
//!
//! The type packs a method (Allocate, Refresh, CreatePermission) and a
//! class (request, success, error). A request with credentials ends with
//! MESSAGE-INTEGRITY, an HMAC-SHA1 of the message before it, keyed by
//! MD5(`username:realm:password`) (the "long-term credential"): the
//! server's first answer is a `401` that gives the realm and a nonce, and
//! the client asks again with them.
//!
//! A TURN server knows a client by its address and port (the "5-tuple"),
//! and keeps what it knew of one for a while after the client is gone:
//! coturn keeps the session of a client it refused, with the credential
//! it signed with, for 60 s, and an allocation until it expires (one
//! given back: 1 s more). A client the system gives that same port (it
//! picks one at random among those free now) is answered `437`
//! (Allocation Mismatch: "wrong credentials", "wrong transaction ID") for
//! what it never asked, before anything is made for it or counted in its
//! user's quota. So a first Allocate answered `437` is asked again from
//! another port, as RFC 5766 §6.4 suggests ([`FRESH_PORTS`] in all).
//! coturn's other `437` to an Allocate, no relay port it could open,
//! counts in the quota until its session ends 60 s later: a client
//! spends [`FRESH_PORTS`] of those at most.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// The fixed second word of every STUN message (RFC 5389).
const MAGIC: u32 = 0x2112_A442;

/// The waits before each send of one request over UDP, which may lose it:
/// RFC 5389's 500 ms, doubled, three sends in all (3.5 s).
const RETRANSMIT: [Duration; 3] =
    [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)];

/// The ports a first Allocate is asked from while each is answered `437`
/// (the server's state of a gone client on it: see the module's text).
/// The system picks each at random among its ~28,000 ephemeral ports:
/// three in a row each remembered for a gone client is all but
/// impossible, so a third `437` is the server's own answer.
pub const FRESH_PORTS: usize = 3;

/// The largest answer read (a TURN answer is a few hundred bytes).
const MAX_MESSAGE: usize = 2048;

/// The requests this client makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Allocate,
    Refresh,
    CreatePermission,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Allocate => 0x003,
            Method::Refresh => 0x004,
            Method::CreatePermission => 0x008,
        }
    }
}

/// Attribute types (RFC 5389 §15, RFC 5766 §14, RFC 6156 §4.1.1).
mod attr {
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const LIFETIME: u16 = 0x000D;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
}

/// The transport a relay address is asked for (REQUESTED-TRANSPORT: an IP
/// protocol number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp = 17,
    Tcp = 6,
}

/// A TURN server's refusal: its error code and reason phrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnRefusal {
    pub code: u16,
    pub reason: String,
}

impl fmt::Display for TurnRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

/// What one request came to: answered (a success, or a refusal with its
/// code), or no answer at all (`Err`: the network's error).
pub type StunResult<T> = io::Result<Result<T, TurnRefusal>>;

/// One request, built attribute by attribute.
struct StunRequest {
    bytes: Vec<u8>,
    id: [u8; 12],
}

impl StunRequest {
    fn new(method: Method) -> StunRequest {
        let mut id = [0u8; 12];
        // A transaction id only matches an answer to its request: the
        // time would do if the system's generator failed.
        if getrandom::fill(&mut id).is_err() {
            id[..8].copy_from_slice(&crate::store::now_ms().to_be_bytes());
        }
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&method.code().to_be_bytes()); // class "request": no class bits
        bytes.extend_from_slice(&[0, 0]); // the length, set as attributes come
        bytes.extend_from_slice(&MAGIC.to_be_bytes());
        bytes.extend_from_slice(&id);
        StunRequest { bytes, id }
    }

    fn attr(mut self, kind: u16, value: &[u8]) -> StunRequest {
        self.bytes.extend_from_slice(&kind.to_be_bytes());
        self.bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(value);
        self.bytes.resize(self.bytes.len().next_multiple_of(4), 0);
        self.set_length(self.bytes.len());
        self
    }

    /// The header's length field: the bytes after the 20 of the header.
    fn set_length(&mut self, total: usize) {
        let length = (total - 20) as u16;
        self.bytes[2..4].copy_from_slice(&length.to_be_bytes());
    }

    fn xor_address(self, kind: u16, addr: SocketAddr) -> StunRequest {
        let value = xor_address(addr, &self.id);
        self.attr(kind, &value)
    }

    /// MESSAGE-INTEGRITY over the message so far, its length counting
    /// the attribute itself (RFC 5389 §15.4).
    fn signed(mut self, key: &[u8]) -> StunRequest {
        let at = self.bytes.len();
        self.set_length(at + 24);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
        let tag = ring::hmac::sign(&key, &self.bytes[..at]);
        self.attr(attr::MESSAGE_INTEGRITY, tag.as_ref())
    }
}

/// An address as XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS carry it: the
/// port XOR the cookie's high half, the address XOR the cookie (and, for
/// IPv6, the transaction id), so that a NAT rewriting addresses in
/// packets cannot recognise it.
fn xor_address(addr: SocketAddr, id: &[u8; 12]) -> Vec<u8> {
    let mut mask = MAGIC.to_be_bytes().to_vec();
    mask.extend_from_slice(id);
    let port = addr.port() ^ (MAGIC >> 16) as u16;
    let (family, ip) = match addr.ip() {
        IpAddr::V4(ip) => (1u8, ip.octets().to_vec()),
        IpAddr::V6(ip) => (2u8, ip.octets().to_vec()),
    };
    let mut value = vec![0, family];
    value.extend_from_slice(&port.to_be_bytes());
    value.extend(ip.iter().zip(&mask).map(|(b, m)| b ^ m));
    value
}

fn read_xor_address(value: &[u8], id: &[u8; 12]) -> Option<SocketAddr> {
    let mut mask = MAGIC.to_be_bytes().to_vec();
    mask.extend_from_slice(id);
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]) ^ (MAGIC >> 16) as u16;
    let ip: Vec<u8> = value.get(4..)?.iter().zip(&mask).map(|(b, m)| b ^ m).collect();
    let ip = match (value.get(1)?, ip.len()) {
        (1, 4) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip).ok()?)),
        (2, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// An answer, read: what this client uses of it.
#[derive(Debug, Default)]
struct StunResponse {
    error: Option<TurnRefusal>,
    realm: Option<Vec<u8>>,
    nonce: Option<Vec<u8>>,
    relayed: Option<SocketAddr>,
}

/// Reads `bytes` as the answer to the request `id` (`None`: another
/// message, or not STUN).
fn read_answer(bytes: &[u8], id: &[u8; 12]) -> Option<StunResponse> {
    if bytes.len() < 20 || bytes[4..8] != MAGIC.to_be_bytes() || &bytes[8..20] != id {
        return None;
    }
    let kind = u16::from_be_bytes([bytes[0], bytes[1]]);
    let class = ((kind >> 7) & 0b10) | ((kind >> 4) & 0b01);
    if class < 2 {
        return None; // a request or an indication: no answer
    }
    let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    let mut rest = bytes.get(20..20 + length)?;
    let mut answer = StunResponse::default();
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        match kind {
            attr::ERROR_CODE if len >= 4 => {
                let code = u16::from(value[2] & 0x07) * 100 + u16::from(value[3]);
                let reason = String::from_utf8_lossy(&value[4..]).into_owned();
                answer.error = Some(TurnRefusal { code, reason });
            }
            attr::REALM => answer.realm = Some(value.to_vec()),
            attr::NONCE => answer.nonce = Some(value.to_vec()),
            attr::XOR_RELAYED_ADDRESS => answer.relayed = read_xor_address(value, id),
            _ => {}
        }
        rest = rest.get((4 + len).next_multiple_of(4)..).unwrap_or(&[]);
    }
    if class == 3 && answer.error.is_none() {
        answer.error = Some(TurnRefusal { code: 0, reason: "an error without a code".into() });
    }
    Some(answer)
}

/// A TURN client over UDP: one socket, so one allocation at most (the
/// server tells allocations apart by the client's address and port).
pub struct TurnClient {
    socket: UdpSocket,
    /// Whether the server granted this socket an allocation (and it was
    /// not released): a `437` is then about it.
    allocated: bool,
    username: String,
    password: String,
    /// The realm and nonce of the server's last challenge, and the key
    /// they make: none until the first `401`.
    realm: Vec<u8>,
    nonce: Vec<u8>,
    key: Option<[u8; 16]>,
}

impl TurnClient {
    /// A client of the TURN server at `server`, with these credentials.
    pub fn new(server: SocketAddr, username: &str, password: &str) -> io::Result<TurnClient> {
        let any: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        TurnClient::bound(any, server, username, password)
    }

    /// A client whose socket is bound to `local` (a port of 0: one the
    /// system picks, as [`TurnClient::new`] does).
    pub fn bound(
        local: SocketAddr,
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> io::Result<TurnClient> {
        let socket = UdpSocket::bind(local)?;
        socket.connect(server)?;
        let (username, password) = (username.to_string(), password.to_string());
        let (realm, nonce) = (Vec::new(), Vec::new());
        Ok(TurnClient { socket, allocated: false, username, password, realm, nonce, key: None })
    }

    /// The address and port the server knows this client by.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Asks for a relay address of `family` (IPv4 or IPv6: the peers it
    /// may reach) for `transport`.
    ///
    /// A first Allocate answered `437` is asked again from another port
    /// ([`FRESH_PORTS`] in all): the server's `437` was about a gone
    /// client's state on this one.
    pub fn allocate(&mut self, ipv6: bool, transport: Transport) -> StunResult<SocketAddr> {
        let mut ports = 1;
        loop {
            let answer = self.ask(Method::Allocate, |r| {
                let r = r.attr(attr::REQUESTED_TRANSPORT, &[transport as u8, 0, 0, 0]);
                if ipv6 { r.attr(attr::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0]) } else { r }
            })?;
            match answer {
                Err(TurnRefusal { code: 437, .. }) if !self.allocated && ports < FRESH_PORTS => {
                    self.move_to_another_port()?;
                    ports += 1;
                }
                answer => {
                    self.allocated |= answer.is_ok();
                    let relayed =
                        |a: StunResponse| a.relayed.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                    return Ok(answer.map(relayed));
                }
            }
        }
    }

    /// A new socket on the same address, at a port the system picks, for
    /// a server that knows nothing of it yet: no realm, nonce nor key.
    fn move_to_another_port(&mut self) -> io::Result<()> {
        let (local, server) = (self.socket.local_addr()?, self.socket.peer_addr()?);
        self.socket = UdpSocket::bind(SocketAddr::new(local.ip(), 0))?;
        self.socket.connect(server)?;
        (self.realm, self.nonce, self.key) = (Vec::new(), Vec::new(), None);
        Ok(())
    }

    /// Asks the server to let `peer` send to and receive from this
    /// client's relay address (what ICE does for each remote candidate):
    /// `403` is the server's refusal of that peer.
    pub fn permit(&mut self, peer: IpAddr) -> StunResult<()> {
        let answer = self.ask(Method::CreatePermission, |r| {
            r.xor_address(attr::XOR_PEER_ADDRESS, SocketAddr::new(peer, 0))
        })?;
        Ok(answer.map(|_| ()))
    }

    /// Gives the allocation back at once (a Refresh with a lifetime of 0).
    pub fn release(&mut self) -> StunResult<()> {
        let answer = self.ask(Method::Refresh, |r| r.attr(attr::LIFETIME, &0u32.to_be_bytes()))?;
        self.allocated &= answer.is_err();
        Ok(answer.map(|_| ()))
    }

    /// One request with the attributes `build` adds, signed once the
    /// server has challenged; asked again, signed, after a `401` (the
    /// first challenge) or a `438` (a stale nonce).
    fn ask(
        &mut self,
        method: Method,
        build: impl Fn(StunRequest) -> StunRequest,
    ) -> StunResult<StunResponse> {
        for _ in 0..3 {
            let request = self.sign(build(StunRequest::new(method)));
            let answer = self.exchange(&request)?;
            match &answer.error {
                Some(TurnRefusal { code: 401 | 438, .. })
                    if answer.nonce.is_some() && answer.realm.is_some() =>
                {
                    let again = self.key.is_some() && answer.error.as_ref().is_some_and(|e| e.code == 401);
                    self.realm = answer.realm.clone().unwrap_or_default();
                    self.nonce = answer.nonce.clone().unwrap_or_default();
                    self.key = Some(long_term_key(&self.username, &self.realm, &self.password));
                    if again {
                        // Signed and still refused: the credentials are wrong.
                        return Ok(Err(answer
                            .error
                            .unwrap_or(TurnRefusal { code: 401, reason: String::new() })));
                    }
                }
                Some(refused) => return Ok(Err(refused.clone())),
                None => return Ok(Ok(answer)),
            }
        }
        Ok(Err(TurnRefusal { code: 401, reason: "challenged again and again".into() }))
    }

    fn sign(&self, request: StunRequest) -> StunRequest {
        match &self.key {
            None => request,
            Some(key) => request
                .attr(attr::USERNAME, self.username.as_bytes())
                .attr(attr::REALM, &self.realm)
                .attr(attr::NONCE, &self.nonce)
                .signed(key),
        }
    }

    /// Sends `request` and reads its answer, sending again after each
    /// wait of [`RETRANSMIT`] (UDP may lose either).
    fn exchange(&self, request: &StunRequest) -> io::Result<StunResponse> {
        let mut buffer = [0u8; MAX_MESSAGE];
        for wait in RETRANSMIT {
            self.socket.send(&request.bytes)?;
            self.socket.set_read_timeout(Some(wait))?;
            loop {
                match self.socket.recv(&mut buffer) {
                    Ok(n) => match read_answer(&buffer[..n], &request.id) {
                        Some(answer) => return Ok(answer),
                        None => continue, // a late answer to an earlier send
                    },
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in 3.5 s"))
    }
}

/// The long-term credential's key: MD5 of `username:realm:password`.
fn long_term_key(username: &str, realm: &[u8], password: &str) -> [u8; 16] {
    use md5::Digest as _;
    let mut md5 = md5::Md5::new();
    md5.update(username.as_bytes());
    md5.update(b":");
    md5.update(realm);
    md5.update(b":");
    md5.update(password.as_bytes());
    md5.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of RFC 5769 §2.4's sample long-term credential, as
    /// `md5sum` computes it.
    #[test]
    fn the_long_term_key_is_rfc_5769s() {
        let key = long_term_key("マトリックス", b"example.org", "TheMatrIX");
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        // `printf 'マトリックス:example.org:TheMatrIX' | md5sum`
        assert_eq!(hex, "e8ca7ad59d5eb0518e312911d2dab2a9");
    }

    #[test]
    fn an_xor_address_reads_back_and_a_request_is_padded_and_signed() {
        let id = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        for addr in ["10.1.2.3:0", "192.0.2.1:32853", "[fd00::1]:0", "[2001:db8::1]:3478"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(read_xor_address(&xor_address(addr, &id), &id), Some(addr), "{addr}");
        }
        // RFC 5389 §15.2's example: 192.0.2.1:32853 is sent as 0xA147 and E1 12 A6 43.
        let sent = xor_address("192.0.2.1:32853".parse().unwrap(), &id);
        assert_eq!(sent, [0, 1, 0xA1, 0x47, 0xE1, 0x12, 0xA6, 0x43]);

        let request = StunRequest::new(Method::Allocate).attr(attr::USERNAME, b"ana").signed(&[0; 16]);
        let b = &request.bytes;
        assert_eq!(b.len(), 20 + 8 + 24, "a 3-byte name padded to 4, and the 24 bytes of the integrity");
        assert_eq!(u16::from_be_bytes([b[2], b[3]]), 32, "the length counts the attributes");
        assert_eq!((b[0], b[1]), (0, 3), "an Allocate request");
    }

    #[test]
    fn an_error_answer_reads_its_code_and_a_challenge_its_realm_and_nonce() {
        let id = [9; 12];
        let mut bytes = vec![0x01, 0x13, 0, 0];
        bytes.extend_from_slice(&MAGIC.to_be_bytes());
        bytes.extend_from_slice(&id);
        let mut add = |kind: u16, value: &[u8]| {
            bytes.extend_from_slice(&kind.to_be_bytes());
            bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
            bytes.extend_from_slice(value);
            bytes.resize(bytes.len().next_multiple_of(4), 0);
        };
        add(attr::ERROR_CODE, b"\0\0\x04\x01Unauthorized");
        add(attr::REALM, b"wachat");
        add(attr::NONCE, b"abc");
        let length = (bytes.len() - 20) as u16;
        bytes[2..4].copy_from_slice(&length.to_be_bytes());
        let answer = read_answer(&bytes, &id).unwrap();
        assert_eq!(answer.error, Some(TurnRefusal { code: 401, reason: "Unauthorized".into() }));
        assert_eq!((answer.realm.unwrap(), answer.nonce.unwrap()), (b"wachat".to_vec(), b"abc".to_vec()));
        assert!(read_answer(&bytes, &[8; 12]).is_none(), "another transaction's");
        assert!(read_answer(&bytes[..19], &id).is_none(), "cut short");
    }
}
