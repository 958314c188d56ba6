//! Whether the TURN server wachat names is the safe one docs/CALLS.md
//! starts, asked of the server itself: a TURN server relays UDP for
//! whoever holds a credential, and every logged-in student can hold one.
//! Started as it comes (coturn refuses only 127.0.0.1 and 0.0.0.0), it
//! relays into the host's private networks, its cloud's metadata service
//! (169.254.169.254) and, over TCP, wachat's own ports.
//!
//! So `wachat serve --turn` checks, once at start, with a credential of
//! its own (the user `+check`, a name no account can have): it allocates
//! a relay address and asks for a permission to one address of each
//! range that must be refused ([`DENIED`]), expecting `403`; asks for a
//! TCP relay, expecting `442` (`--no-tcp-relay`); and allocates as one
//! user until refused, expecting `486` by [`QUOTA_PROBE`] (`--user-quota`).
//! It logs what it checked, as a warning if anything was granted or
//! could not be checked. A permission only opens the relay's door: no
//! byte is ever sent through it. The total quota is not checked: that
//! would take every relay port the server has.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use super::Turn;
use super::stun::{Transport, TurnClient, TurnRefusal};
use crate::server::address::meaning;

/// A range of peer addresses the TURN server must refuse, and the one
/// address of it that the check asks for.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub first: IpAddr,
    pub last: IpAddr,
    /// The address asked for: the range's best-known one.
    pub probe: IpAddr,
    /// What lies there, as the warning names it.
    pub what: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
}

const fn range(first: IpAddr, last: IpAddr, probe: IpAddr, what: &'static str) -> Range {
    Range { first, last, probe, what }
}

const X: u16 = 0xffff;

/// The peer addresses a class's TURN server refuses: everything that is
/// not the public internet, where only the machine itself, its networks
/// and its cloud live. docs/CALLS.md's coturn line denies each
/// (`--denied-peer-ip=<first>-<last>`, coturn's form), and a unit test
/// holds the two together.
pub const DENIED: [Range; 24] = [
    range(v4(0, 0, 0, 0), v4(0, 255, 255, 255), v4(0, 0, 0, 1), "\"this network\""),
    range(v4(10, 0, 0, 0), v4(10, 255, 255, 255), v4(10, 1, 2, 3), "private"),
    range(v4(100, 64, 0, 0), v4(100, 127, 255, 255), v4(100, 64, 0, 1), "carrier-grade NAT"),
    range(v4(127, 0, 0, 0), v4(127, 255, 255, 255), v4(127, 0, 0, 1), "loopback: this machine's own ports"),
    range(
        v4(169, 254, 0, 0),
        v4(169, 254, 255, 255),
        v4(169, 254, 169, 254),
        "link-local: the cloud's metadata",
    ),
    range(v4(172, 16, 0, 0), v4(172, 31, 255, 255), v4(172, 16, 0, 1), "private"),
    range(v4(192, 0, 0, 0), v4(192, 0, 0, 255), v4(192, 0, 0, 1), "IETF protocol assignments"),
    range(v4(192, 0, 2, 0), v4(192, 0, 2, 255), v4(192, 0, 2, 1), "documentation (TEST-NET-1)"),
    range(v4(192, 168, 0, 0), v4(192, 168, 255, 255), v4(192, 168, 1, 1), "private"),
    range(v4(198, 18, 0, 0), v4(198, 19, 255, 255), v4(198, 18, 0, 1), "benchmarking networks"),
    range(v4(198, 51, 100, 0), v4(198, 51, 100, 255), v4(198, 51, 100, 7), "documentation (TEST-NET-2)"),
    range(v4(203, 0, 113, 0), v4(203, 0, 113, 255), v4(203, 0, 113, 5), "documentation (TEST-NET-3)"),
    range(v4(224, 0, 0, 0), v4(239, 255, 255, 255), v4(224, 0, 0, 251), "multicast"),
    range(v4(240, 0, 0, 0), v4(255, 255, 255, 255), v4(255, 255, 255, 255), "reserved and broadcast"),
    // `::1` alone: coturn 4.6 reads a range from `::` (all zeros) as one
    // without a lower end, and then refuses every IPv4 peer with it.
    // (`::` itself it always refuses.)
    range(
        v6(0, 0, 0, 0, 0, 0, 0, 1),
        v6(0, 0, 0, 0, 0, 0, 0, 1),
        v6(0, 0, 0, 0, 0, 0, 0, 1),
        "IPv6 loopback",
    ),
    // The IPv6 forms of IPv4 addresses, whole: what they stand for
    // ([`meaning`]) is an IPv4 peer, reached by its own address. coturn
    // cannot read what a form stands for, so the ranges are denied whole.
    range(
        v6(0, 0, 0, 0, 0, X, 0, 0),
        v6(0, 0, 0, 0, 0, X, X, X),
        v6(0, 0, 0, 0, 0, X, 0x0a00, 1),
        "IPv4-mapped: IPv4 behind an IPv6 relay",
    ),
    range(
        v6(0, 0, 0, 0, X, 0, 0, 0),
        v6(0, 0, 0, 0, X, 0, X, X),
        v6(0, 0, 0, 0, X, 0, 0x7f00, 1),
        "SIIT's IPv4-translated: an IPv4 address in IPv6 form",
    ),
    range(
        v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        v6(0x64, 0xff9b, 0, 0, 0, 0, X, X),
        v6(0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1),
        "NAT64",
    ),
    range(
        v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        v6(0x64, 0xff9b, 1, X, X, X, X, X),
        v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 1),
        "local NAT64",
    ),
    range(
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        v6(0x2001, 0xdb8, X, X, X, X, X, X),
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7),
        "IPv6 documentation",
    ),
    range(
        v6(0x2002, 0, 0, 0, 0, 0, 0, 0),
        v6(0x2002, X, X, X, X, X, X, X),
        v6(0x2002, 0x7f00, 1, 0, 0, 0, 0, 1),
        "6to4 (deprecated): an IPv4 address's network in IPv6 form",
    ),
    range(
        v6(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        v6(0xfdff, X, X, X, X, X, X, X),
        v6(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        "IPv6 private (unique local)",
    ),
    range(
        v6(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        v6(0xfeff, X, X, X, X, X, X, X),
        v6(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        "IPv6 link-local and site-local",
    ),
    range(
        v6(0xff00, 0, 0, 0, 0, 0, 0, 0),
        v6(X, X, X, X, X, X, X, X),
        v6(0xff02, 0, 0, 0, 0, 0, 0, 0xfb),
        "IPv6 multicast",
    ),
];

/// The most allocations the check makes as one user to find its quota:
/// docs/CALLS.md sets 12 (`--user-quota=12`), so more than twice that
/// means no quota worth the name.
pub const QUOTA_PROBE: usize = 25;

/// The TURN user the check allocates as: `+` is in no account's name, so
/// its allocations count against nobody's quota.
const USER: &str = "+check";

/// What the check found.
#[derive(Debug)]
pub struct Findings {
    /// The TURN server, as `--turn` names it.
    pub url: String,
    /// Why nothing was checked (no answer, credentials refused, TLS), if so.
    pub unchecked: Option<String>,
    /// Each address asked for, with its range, and the answer: `Ok` if
    /// the server granted the permission.
    pub peers: Vec<(Range, Result<(), TurnRefusal>)>,
    /// Why IPv6 peers were not asked for: the server relays no IPv6.
    pub no_ipv6: Option<TurnRefusal>,
    /// A TCP relay asked for: `Ok` if allowed (a `400` over UDP: it would
    /// be granted over TCP), the refusal otherwise.
    pub tcp: Option<Result<(), TurnRefusal>>,
    /// Allocations one user got before a refusal (`None`: all of
    /// [`QUOTA_PROBE`], or not asked), and that refusal.
    pub quota: Option<(usize, TurnRefusal)>,
    /// The TURN server's own address (the one `--turn` names), asked for
    /// as a peer, and the answer: a relay to it reaches every port of that
    /// machine from outside, wachat's among them.
    pub own: Option<(IpAddr, Result<(), TurnRefusal>)>,
}

impl Findings {
    fn new(url: &str) -> Findings {
        Findings {
            url: url.to_string(),
            unchecked: None,
            peers: Vec::new(),
            no_ipv6: None,
            tcp: None,
            quota: None,
            own: None,
        }
    }

    /// Every denied range refused, TCP relays refused, a user quota.
    pub fn is_safe(&self) -> bool {
        self.unchecked.is_none()
            && !self.peers.is_empty()
            && self.peers.iter().all(|(_, answer)| answer.is_err())
            && matches!(self.tcp, Some(Err(_)))
            && self.quota.is_some()
            && !matches!(self.own, Some((_, Ok(()))))
    }

    /// The addresses the server granted.
    pub fn granted(&self) -> Vec<IpAddr> {
        self.peers.iter().filter(|(_, answer)| answer.is_ok()).map(|(range, _)| range.probe).collect()
    }

    /// The log line: what was checked, and what is wrong.
    pub fn line(&self) -> String {
        let url = &self.url;
        if let Some(why) = &self.unchecked {
            return format!(
                "TURN {url}: its safety flags are unconfirmed ({why}); start it with docs/CALLS.md's \
                 coturn line, which refuses peers in private networks, and restart wachat to check again"
            );
        }
        let mut wrong = Vec::new();
        let granted: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, answer)| answer.is_ok())
            .map(|(range, _)| format!("{} ({})", range.probe, range.what))
            .collect();
        if !granted.is_empty() {
            wrong.push(format!("it relays to {} (add --denied-peer-ip for each range)", granted.join(", ")));
        }
        if let Some((own, Ok(()))) = &self.own {
            wrong.push(format!("it relays to its own address {own} (add --denied-peer-ip={own})"));
        }
        match &self.tcp {
            Some(Ok(())) => wrong.push("it allows TCP relays (add --no-tcp-relay)".into()),
            Some(Err(refused)) if refused.code != 442 => {
                wrong.push(format!("a TCP relay was refused with {refused}, not 442 (add --no-tcp-relay)"))
            }
            _ => {}
        }
        if self.quota.is_none() {
            wrong.push(format!(
                "one user got all {QUOTA_PROBE} relay allocations asked for (add --user-quota)"
            ));
        }
        let refused = self.peers.iter().filter(|(_, answer)| answer.is_err()).count();
        let asked = self.peers.len();
        let mut checked =
            format!("checked with a test allocation: {refused} of {asked} denied ranges refused");
        if let Some(why) = &self.no_ipv6 {
            checked.push_str(&format!(" (IPv6 peers not asked: no IPv6 relay, {why})"));
        }
        if let Some((own, Err(_))) = &self.own {
            checked.push_str(&format!(", its own address {own} refused"));
        }
        if let Some(Err(refused)) = &self.tcp {
            checked.push_str(&format!(", TCP relays refused ({})", refused.code));
        }
        if let Some((n, refused)) = &self.quota {
            checked.push_str(&format!(", one user held to {n} allocations ({})", refused.code));
        }
        checked.push_str("; the total quota is not checked");
        if wrong.is_empty() {
            format!("TURN {url}: {checked}")
        } else {
            format!(
                "TURN {url} is not docs/CALLS.md's safe set-up: {}; students' credentials reach there. {checked}",
                wrong.join("; ")
            )
        }
    }
}

/// Checks the TURN server of `turn` (see the module). Takes a few
/// seconds, most of them when it does not answer.
pub fn check(turn: &Turn) -> Findings {
    let mut report = Findings::new(&turn.url);
    if let Err(why) = check_into(turn, &mut report) {
        report.unchecked = Some(why);
    }
    report
}

fn check_into(turn: &Turn, report: &mut Findings) -> Result<(), String> {
    let url = turn.parsed();
    if url.tls {
        return Err("a turns: server is not checked: wachat asks over UDP".into());
    }
    let server = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", url.host))?
        .next()
        .ok_or_else(|| format!("{} has no address", url.host))?;
    let credential = turn.credentials(USER, crate::store::now_ms() / 1000);
    let client = || TurnClient::new(server, &credential.username, &credential.password);
    let unreachable = |e: std::io::Error| format!("no answer from {server}: {e}");

    let mut ipv4 = client().map_err(unreachable)?;
    match ipv4.allocate(false, Transport::Udp).map_err(unreachable)? {
        Ok(_) => {}
        Err(refused) if refused.code == 401 => {
            return Err(format!(
                "it refused wachat's credentials ({refused}): is --turn-secret its --static-auth-secret?"
            ));
        }
        Err(refused) => return Err(format!("it refused an allocation: {refused}")),
    }
    let mut ipv6 = client().map_err(unreachable)?;
    let ipv6_relay = match ipv6.allocate(true, Transport::Udp).map_err(unreachable)? {
        Ok(_) => true,
        Err(refused) => {
            report.no_ipv6 = Some(refused);
            false
        }
    };
    for range in DENIED {
        let relay = match range.probe {
            IpAddr::V4(_) => &mut ipv4,
            IpAddr::V6(_) if ipv6_relay => &mut ipv6,
            IpAddr::V6(_) => continue,
        };
        report.peers.push((range, relay.permit(range.probe).map_err(unreachable)?));
    }
    let own = server.ip();
    let relay = match own {
        IpAddr::V4(_) => Some(&mut ipv4),
        IpAddr::V6(_) if ipv6_relay => Some(&mut ipv6),
        IpAddr::V6(_) => None,
    };
    if let Some(relay) = relay {
        report.own = Some((own, relay.permit(own).map_err(unreachable)?));
    }

    // A TCP relay asked over UDP: refused by --no-tcp-relay with 442 before
    // the server looks at the socket; without it, a 400 (ask over TCP).
    let mut tcp = client().map_err(unreachable)?;
    report.tcp = Some(match tcp.allocate(false, Transport::Tcp).map_err(unreachable)? {
        Ok(_) => {
            let _ = tcp.release();
            Ok(())
        }
        Err(refused) if refused.code == 400 => Ok(()),
        Err(refused) => Err(refused),
    });

    // As one user, allocations until one is refused; the first two count.
    let mut held = vec![ipv4];
    if ipv6_relay {
        held.push(ipv6);
    }
    while held.len() < QUOTA_PROBE {
        let mut more = client().map_err(unreachable)?;
        match more.allocate(false, Transport::Udp).map_err(unreachable)? {
            Ok(_) => held.push(more),
            Err(refused) => {
                report.quota = Some((held.len(), refused));
                break;
            }
        }
    }
    for mut allocation in held {
        let _ = allocation.release();
    }
    Ok(())
}

/// Runs [`check`] on its own thread and logs its line: an `info` if the
/// server is the safe one, a warning otherwise. wachat serves meanwhile.
pub fn check_in_background(turn: Turn) {
    let url = turn.url.clone();
    let spawned = std::thread::Builder::new().name("turn-check".into()).spawn(move || {
        let report = check(&turn);
        if report.is_safe() {
            log::info!("{}", report.line());
        } else {
            log::warn!("{}", report.line());
        }
    });
    if let Err(e) = spawned {
        log::warn!("TURN {url}: its safety flags are unconfirmed (no thread to check them: {e})");
    }
}

/// What `addr` is if it lies where no relay (and no push, `server::push`)
/// may reach: the range of [`DENIED`] that holds what it stands for
/// ([`meaning`]: `::127.0.0.1` is loopback) or the address itself (every
/// IPv6 form of IPv4 is a range of its own), or unspecified (`::`, which
/// coturn refuses on its own, and `0.0.0.0`).
pub fn refused(addr: IpAddr) -> Option<&'static str> {
    let meant = meaning(addr);
    if addr.is_unspecified() || meant.is_unspecified() {
        return Some("unspecified");
    }
    let holding = |addr: IpAddr| DENIED.iter().find(|range| in_range(range, addr)).map(|range| range.what);
    holding(meant).or_else(|| holding(addr))
}

/// Whether `addr` lies in `range` (an IPv4 address is never in an IPv6
/// range: coturn compares them so).
pub fn in_range(range: &Range, addr: IpAddr) -> bool {
    match (range.first, range.last, addr) {
        (IpAddr::V4(first), IpAddr::V4(last), IpAddr::V4(a)) => first <= a && a <= last,
        (IpAddr::V6(first), IpAddr::V6(last), IpAddr::V6(a)) => first <= a && a <= last,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// coturn's flags that deny [`DENIED`], one `--denied-peer-ip` a range.
    fn denied_flags() -> Vec<String> {
        DENIED.iter().map(|r| format!("--denied-peer-ip={}-{}", r.first, r.last)).collect()
    }

    #[test]
    fn each_range_holds_its_probe_and_the_ranges_do_not_overlap() {
        for range in &DENIED {
            assert!(in_range(range, range.probe), "{range:?}");
            assert!(in_range(range, range.first) && in_range(range, range.last), "{range:?}");
        }
        for (i, a) in DENIED.iter().enumerate() {
            for b in &DENIED[i + 1..] {
                assert!(!in_range(a, b.first) && !in_range(b, a.first), "{a:?} and {b:?}");
            }
        }
        // A range from all zeros has no lower end for coturn: only IPv4's
        // "this network" may (an IPv6 one would match every IPv4 peer).
        assert!(DENIED.iter().filter(|r| r.first.is_unspecified()).all(|r| r.first.is_ipv4()));
        let flags = denied_flags();
        assert_eq!(flags[1], "--denied-peer-ip=10.0.0.0-10.255.255.255");
        assert_eq!(flags[15], "--denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255");
    }

    #[test]
    fn an_ipv6_form_of_a_denied_ipv4_address_is_refused_as_what_it_stands_for() {
        let loopback = Some("loopback: this machine's own ports");
        for form in [
            "::127.0.0.1",
            "::7f00:1",
            "::ffff:127.0.0.1",
            "::ffff:0:7f00:1",
            "2002:7f00:1::1",
            "64:ff9b::7f00:1",
        ] {
            let addr: IpAddr = form.parse().unwrap();
            assert_eq!(meaning(addr), v4(127, 0, 0, 1), "{form}");
            assert_eq!(refused(addr), loopback, "{form}");
        }
        assert_eq!(refused("2002:a01:203::1".parse().unwrap()), Some("private"));
        assert_eq!(refused("::ffff:0:0.0.0.0".parse().unwrap()), Some("unspecified"));
        // IPv6's own loopback and unspecified are themselves; a public
        // address's 6to4 form is refused as 6to4 (coturn denies it whole).
        for own in ["::1", "::", "2606:4700::1111"] {
            let addr: IpAddr = own.parse().unwrap();
            assert_eq!(meaning(addr), addr, "{own}");
        }
        assert_eq!(refused("::1".parse().unwrap()), Some("IPv6 loopback"));
        assert_eq!(refused("2606:4700::1111".parse().unwrap()), None);
        let public_6to4: IpAddr = "2002:5db8:d70e::1".parse().unwrap();
        assert_eq!(meaning(public_6to4), v4(93, 184, 215, 14));
        assert!(refused(public_6to4).unwrap().starts_with("6to4"));
        assert_eq!(refused(v4(93, 184, 215, 14)), None);
    }

    /// docs/CALLS.md's coturn line denies every range of [`DENIED`], and
    /// has the other flags the check asks for.
    #[test]
    fn the_documented_coturn_line_has_every_safety_flag() {
        let docs = include_str!("../../../docs/CALLS.md");
        for flag in denied_flags().iter().map(String::as_str).chain([
            "--no-tcp-relay",
            "--no-multicast-peers",
            "--user-quota=12",
            "--total-quota=",
        ]) {
            assert!(docs.contains(&format!(" {flag}")), "docs/CALLS.md's coturn line lacks {flag}");
        }
        assert!(!docs.contains(" --allow-loopback-peers \\"), "the safe line allows no loopback peer");
    }

    #[test]
    fn a_report_says_what_was_granted_and_what_was_checked() {
        let mut report = Findings::new("turn:127.0.0.1:3478");
        let forbidden = TurnRefusal { code: 403, reason: "Forbidden IP".into() };
        report.peers = DENIED.iter().map(|r| (*r, Err(forbidden.clone()))).collect();
        report.tcp = Some(Err(TurnRefusal { code: 442, reason: "TCP Transport is not allowed".into() }));
        report.quota = Some((12, TurnRefusal { code: 486, reason: "Allocation Quota Reached".into() }));
        assert!(report.is_safe(), "{}", report.line());
        report.own = Some((v4(127, 0, 0, 1), Err(forbidden.clone())));
        assert!(report.line().contains("24 of 24 denied ranges refused, its own address 127.0.0.1 refused, TCP relays refused (442), one user held to 12 allocations (486)"), "{}", report.line());
        report.peers[4].1 = Ok(());
        report.quota = None;
        report.own = Some((v4(198, 51, 100, 9), Ok(())));
        assert!(!report.is_safe());
        let line = report.line();
        assert!(line.contains("it relays to 169.254.169.254 (link-local: the cloud's metadata)"), "{line}");
        assert!(line.contains("add --user-quota"), "{line}");
        assert!(
            line.contains("it relays to its own address 198.51.100.9 (add --denied-peer-ip=198.51.100.9)"),
            "{line}"
        );
        assert_eq!(report.granted(), [v4(169, 254, 169, 254)]);
    }
}
