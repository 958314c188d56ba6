//! Where a subscription sends its pushes: the endpoint url the browser's
//! push service gave it, which a client hands to the server. The server
//! will POST to it, so it is hostile until checked: `https:` only, at
//! most [`MAX_ENDPOINT`] bytes, and a host that reaches the public
//! internet only, by the same rules as the TURN server's peers
//! (`turn::check::refused`: private, loopback, link-local, unspecified,
//! in any notation the resolver takes: `::ffff:127.0.0.1`, `2130706433`,
//! `0x7f.1`). The name is resolved when the subscription is given and
//! again before each connection, which goes to an address just checked.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Instant;

use crate::server::address::meaning;
use crate::server::turn::check::refused;

/// The longest endpoint taken, in bytes.
pub const MAX_ENDPOINT: usize = 1024;

/// An endpoint, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The url as given (the subscription's identity: two devices with
    /// one endpoint are one subscription).
    pub url: String,
    /// The host, without the brackets of an IPv6 address.
    pub host: String,
    pub port: u16,
    /// The path and query, `/` at least: the request's target.
    pub target: String,
}

impl Endpoint {
    /// Checks the url's form (not its addresses: [`Endpoint::addresses`]).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        if url.len() > MAX_ENDPOINT {
            return Err(format!("the endpoint is over {MAX_ENDPOINT} bytes"));
        }
        let rest = url.strip_prefix("https://").ok_or("the endpoint must be an https: url")?;
        if url.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
            return Err("the endpoint must be printable ASCII without spaces".into());
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if target.contains('#') {
            return Err("the endpoint has a fragment".into());
        }
        if authority.contains('@') {
            return Err("the endpoint has a user name".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or("no ] after the endpoint's IPv6 host")?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err("the endpoint names no host".into());
        }
        let port = match port {
            Some(port) => port.parse().ok().filter(|p| *p != 0).ok_or("the endpoint's port is not a port")?,
            None => 443,
        };
        let target = if target.is_empty() { "/".to_string() } else { target.to_string() };
        Ok(Endpoint { url: url.to_string(), host: host.to_lowercase(), port, target })
    }

    /// `https://host[:port]`: the audience of the VAPID token.
    pub fn origin(&self) -> String {
        let host = match self.host.contains(':') {
            true => format!("[{}]", self.host),
            false => self.host.clone(),
        };
        match self.port {
            443 => format!("https://{host}"),
            port => format!("https://{host}:{port}"),
        }
    }

    /// The host's addresses, every one of them allowed, or why not: a
    /// name with one refused address is refused whole. `loopback`
    /// (`serve --push-test-ca`) lets loopback addresses through, so that a
    /// test's push service can stand in for a vendor's; private and
    /// link-local stay refused.
    pub fn addresses(&self, loopback: bool) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = match (self.host.as_str(), self.port).to_socket_addrs() {
            Ok(addrs) => addrs.collect(),
            Err(e) => return Err(format!("the endpoint's host {} does not resolve: {e}", self.host)),
        };
        self.allowed(addrs, loopback)
    }

    /// [`Endpoint::addresses`], the name's lookup before `deadline`: the
    /// system's resolver has timeouts of its own (`/etc/resolv.conf`),
    /// longer than a push's, so a name is looked up by a thread of its
    /// own, left to end by itself if it is late. An address needs none.
    pub fn addresses_by(&self, loopback: bool, deadline: Instant) -> Result<Vec<SocketAddr>, String> {
        if self.host.parse::<IpAddr>().is_ok() {
            return self.addresses(loopback);
        }
        let (tell, told) = crossbeam_channel::bounded(1);
        let endpoint = self.clone();
        let looking = std::thread::Builder::new()
            .name("push-lookup".into())
            .stack_size(crate::server::threads::STACK_SIZE)
            .spawn(move || {
                let _ = tell.send(endpoint.addresses(loopback));
            });
        if let Err(e) = looking {
            return Err(format!("no thread to look {} up: {e}", self.host));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        told.recv_timeout(left).unwrap_or_else(|_| Err(format!("{} was not looked up in time", self.host)))
    }

    /// `addrs`, if every one of them is allowed.
    fn allowed(&self, addrs: Vec<SocketAddr>, loopback: bool) -> Result<Vec<SocketAddr>, String> {
        if addrs.is_empty() {
            return Err(format!("the endpoint's host {} has no address", self.host));
        }
        for addr in &addrs {
            if loopback && meaning(addr.ip()).is_loopback() {
                continue;
            }
            if let Some(what) = refused(addr.ip()) {
                let (ip, meant) = (addr.ip(), meaning(addr.ip()));
                let stands = if meant == ip { String::new() } else { format!(", which stands for {meant}") };
                return Err(format!("the endpoint's host {} is {ip}{stands} ({what})", self.host));
            }
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_urls_of_bounded_length() {
        let e = Endpoint::parse("https://fcm.googleapis.com/fcm/send/abc:def").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.target.as_str()),
            ("fcm.googleapis.com", 443, "/fcm/send/abc:def")
        );
        assert_eq!(e.origin(), "https://fcm.googleapis.com");
        let e = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.target.as_str()), ("::1", 8443, "/"));
        assert_eq!(e.origin(), "https://[::1]:8443");
        for bad in [
            "http://push.example.net/x",
            "https://",
            "https://a b/",
            "https://user@push.example.net/x",
            "https://push.example.net:0/x",
            "https://push.example.net:99999/x",
            "https://push.example.net/x#y",
            "ftp://x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://push.example.net/{}", "a".repeat(MAX_ENDPOINT));
        assert!(Endpoint::parse(&long).unwrap_err().contains("1024"));
    }

    #[test]
    fn no_endpoint_reaches_this_machine_or_its_networks_in_any_notation() {
        for host in [
            "127.0.0.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "2130706433",
            "0x7f.1",
            "0.0.0.0",
            "[::]",
            "10.1.2.3",
            "192.168.1.1",
            "169.254.169.254",
            "[fe80::1]",
            "[fd00::1]",
            "localhost",
            // IPv4-compatible, SIIT's and 6to4's forms of 127.0.0.1 and 10.0.0.1.
            "[::127.0.0.1]",
            "[::7f00:1]",
            "[::ffff:0:7f00:1]",
            "[2002:7f00:1::1]",
            "[::a00:1]",
            "[2002:a00:1::1]",
        ] {
            let e = Endpoint::parse(&format!("https://{host}/push")).unwrap();
            assert!(e.addresses(false).is_err(), "{host}");
        }
        // A test's push service: loopback only.
        for host in ["127.0.0.1", "[::1]", "localhost", "[::ffff:127.0.0.1]"] {
            let e = Endpoint::parse(&format!("https://{host}:8443/push")).unwrap();
            assert!(e.addresses(true).is_ok(), "{host}");
        }
        for host in ["10.1.2.3", "169.254.169.254", "0.0.0.0", "[::]"] {
            let e = Endpoint::parse(&format!("https://{host}/push")).unwrap();
            assert!(e.addresses(true).is_err(), "{host}");
        }
        let e = Endpoint::parse("https://93.184.215.14/push").unwrap();
        assert!(e.addresses(false).is_ok());
    }
}
