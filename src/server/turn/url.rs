//! The TURN server's url (`wachat serve --turn URL`): which server it
//! names and how to reach it, read once at start for the credentials'
//! `TURN` line and for the check of its set-up (`check`).

/// The server a TURN url names, and how to reach it.
#[derive(Debug, PartialEq, Eq)]
pub struct Url {
    /// `turns:`: TURN over TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Url {
    /// `turn:<host>[:<port>][?transport=…]`, `turns:` alike; IPv6 in
    /// brackets. The default ports are 3478 and 5349.
    pub fn parse(url: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("turns:") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("turn:") {
            (false, rest)
        } else {
            return Err(format!("{url:?} is no TURN url: turn:<host>:<port> or turns:<host>:<port>"));
        };
        let rest = rest.split('?').next().unwrap_or(rest);
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (host, after) =
                    v6.split_once(']').ok_or_else(|| format!("{url:?}: no ] after the IPv6 host"))?;
                (host, after.strip_prefix(':'))
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        if host.is_empty() {
            return Err(format!("{url:?} names no host"));
        }
        let port = match port {
            Some(port) => port.parse().map_err(|_| format!("{url:?}: bad port {port:?}"))?,
            None if tls => 5349,
            None => 3478,
        };
        Ok(Url { tls, host: host.to_string(), port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_urls_name_their_server() {
        let url = |s: &str| Url::parse(s).map(|u| (u.tls, u.host, u.port));
        assert_eq!(url("turn:turn.example.org:3478"), Ok((false, "turn.example.org".into(), 3478)));
        assert_eq!(url("turn:127.0.0.1"), Ok((false, "127.0.0.1".into(), 3478)));
        assert_eq!(url("turns:[::1]:5350?transport=tcp"), Ok((true, "::1".into(), 5350)));
        assert_eq!(url("turn:[2001:db8::1]"), Ok((false, "2001:db8::1".into(), 3478)));
        assert!(url("stun:x:3478").is_err());
        assert!(url("turn::3478").is_err());
        assert!(url("turn:x:port").is_err());
    }
}
