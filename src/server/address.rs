//! What an address stands for: the one reading of an IP address wherever
//! what it reaches or who holds it matters (TURN's and Web Push's denied
//! ranges, the per-address limits).

use std::net::{IpAddr, Ipv4Addr};

/// What an address stands for: the IPv4 address an IPv6 form of one
/// carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
/// SIIT's IPv4-translated `::ffff:0:a.b.c.d`, NAT64's `64:ff9b::a.b.c.d`,
/// and 6to4's `2002:aabb:ccdd::/48`, the network of `a.b.c.d`), or the
/// address itself (`::` and `::1` are IPv6's own). The one reading of an
/// address wherever what it reaches matters: the denied ranges
/// ([`crate::server::turn::check::refused`], a push's loopback exception) and the per-address limits
/// ([`crate::server::throttle::address_key`]).
pub fn meaning(addr: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = addr else { return addr };
    let s = v6.segments();
    let o = v6.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
            IpAddr::V4(low)
        }
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => IpAddr::V4(low),
        [0x2002, ..] => IpAddr::V4(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => addr,
    }
}
