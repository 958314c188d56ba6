//! Who may open a WebSocket, and from which address it counts.
//!
//! - **Origin.** A browser says in `Origin` which page opens a WebSocket,
//!   and sends it to any host that page names: without a check, a page on
//!   another site could talk to a class server through a student's browser.
//!   So the page's own origin (the scheme and the `Host` it asked for) is
//!   allowed, and the origins given with `--web-origin`; a handshake with
//!   no `Origin` at all comes from a tool that is not a browser (a script,
//!   `websocat`), which could send any `Origin` anyway: allowed.
//! - **Host.** The Origin check trusts `Host`, and a page can choose
//!   both: with *DNS rebinding*, the attacker's name first resolves to
//!   its own server, which sends the page, then to 127.0.0.1 (or a
//!   school's address), so that the page, its `Host` and its `Origin` all
//!   say the attacker's name while the requests reach this server from a
//!   visitor's browser. So every request, for the app's files and for the
//!   WebSockets, must name the server as it knows itself: an IP address
//!   (any: a rebinding needs a name, and a server bound to 0.0.0.0 is
//!   reached at addresses it cannot list), `localhost`, or a name given
//!   with `--web-host`. A request without `Host` is not a browser's
//!   (browsers always send it): allowed, as for `Origin`.
//! - **Address.** The login throttles and per-address limits count the
//!   peer's address. Behind a reverse proxy every peer is the proxy, so
//!   `--trusted-proxy IP` believes the last `X-Forwarded-For` entry (the
//!   address that proxy saw) from that proxy only; from anyone else the
//!   header is ignored, since a client can write whatever it likes there.

use std::net::{IpAddr, SocketAddr};

/// True if a page of `origin` may open a WebSocket on this server, which
/// the browser reached as `host` (`tls`: over HTTPS).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, tls: bool, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    let origin = origin.trim().trim_end_matches('/');
    if let Some(host) = host {
        let scheme = if tls { "https" } else { "http" };
        let own = format!("{scheme}://{}", host.trim());
        if origin.eq_ignore_ascii_case(&own) {
            return true;
        }
    }
    allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// True if `host` (a request's `Host`) names this server: an IP address,
/// `localhost`, or one of `names` (`--web-host`); any case, with or
/// without its port and final dot.
pub fn host_allowed(host: Option<&str>, names: &[String]) -> bool {
    let Some(host) = host else { return true };
    let name = host_name(host);
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let same = |other: &str| host_name(other).eq_ignore_ascii_case(name);
    same("localhost") || names.iter().any(|n| same(n))
}

/// The name or address of a `Host` header: no port, brackets or final dot.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        },
    };
    name.strip_suffix('.').unwrap_or(name)
}

/// The address a connection counts as: the peer's, or, from a trusted
/// proxy, the last address of its `X-Forwarded-For`. `None` if a trusted
/// proxy sent an address that does not parse.
pub fn client_address(peer: SocketAddr, forwarded: Option<&str>, trusted: &[IpAddr]) -> Option<SocketAddr> {
    let Some(forwarded) = forwarded.filter(|_| trusted.contains(&peer.ip())) else { return Some(peer) };
    let last = forwarded.rsplit(',').next()?.trim();
    let ip = last.parse::<IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|a| a.ip()))?;
    Some(SocketAddr::new(ip, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_and_listed_ones_are_allowed() {
        let host = Some("127.0.0.1:8080");
        assert!(origin_allowed(Some("http://127.0.0.1:8080"), host, false, &[]));
        assert!(!origin_allowed(Some("https://127.0.0.1:8080"), host, false, &[]));
        assert!(origin_allowed(Some("https://127.0.0.1:8080"), host, true, &[]));
        assert!(!origin_allowed(Some("http://evil.example"), host, false, &[]));
        let listed = ["https://chat.school.example/".to_string()];
        assert!(origin_allowed(Some("https://chat.school.example"), host, false, &listed));
        assert!(!origin_allowed(Some("null"), host, false, &listed));
        // No Origin: not a browser.
        assert!(origin_allowed(None, host, false, &[]));
        // No Host: only the listed origins.
        assert!(!origin_allowed(Some("http://127.0.0.1:8080"), None, false, &[]));
    }

    #[test]
    fn hosts_are_addresses_localhost_or_the_names_given() {
        let names = ["chat.school.example".to_string(), "LAB.example.".to_string()];
        for host in [
            "127.0.0.1:8080",
            "10.1.2.3",
            "[::1]:8080",
            "[2001:db8::7]",
            "localhost:8080",
            "LocalHost.",
            "chat.school.example",
            "Chat.School.Example.:443",
            "lab.example:8080",
        ] {
            assert!(host_allowed(Some(host), &names), "{host}");
        }
        for host in
            ["rebind.evil.example:8080", "evil.example", "", "localhost.evil.example", "chat", "127.1"]
        {
            assert!(!host_allowed(Some(host), &names), "{host}");
        }
        assert!(!host_allowed(Some("chat.school.example"), &[]));
        // No Host: not a browser.
        assert!(host_allowed(None, &[]));
    }

    #[test]
    fn forwarded_addresses_only_from_a_trusted_proxy() {
        let proxy: SocketAddr = "10.0.0.1:5555".parse().unwrap();
        let trusted = [proxy.ip()];
        let header = Some("1.2.3.4, 192.0.2.7");
        assert_eq!(client_address(proxy, header, &trusted), Some("192.0.2.7:0".parse().unwrap()));
        assert_eq!(client_address(proxy, None, &trusted), Some(proxy));
        let stranger: SocketAddr = "10.0.0.2:5555".parse().unwrap();
        assert_eq!(client_address(stranger, header, &trusted), Some(stranger));
        assert_eq!(
            client_address(proxy, Some("2001:db8::1"), &trusted),
            Some("[2001:db8::1]:0".parse().unwrap())
        );
        assert_eq!(client_address(proxy, Some("nonsense"), &trusted), None);
    }
}
