//! 1.2 (§24): the TURN server that relays a call's media when two
//! browsers cannot reach each other (docs/CALLS.md): the credentials the
//! `TURN` request hands out ([`Turn::credentials`]; who gets them is the
//! request's rule, `requests/call.rs`), and the check at start that the
//! server named is the safe set-up ([`check`], which speaks TURN with
//! [`stun`]'s client).
//!
//! wachat and the TURN server never talk otherwise: they share a secret.
//! A credential is coturn's "REST API" form (its `--use-auth-secret`): the
//! username `<expiry>:<user>`, the password base64(HMAC-SHA1(secret,
//! username)). coturn recomputes the password from the secret, refuses
//! the credential after its expiry, and counts its `--user-quota` by the
//! `<user>` part. wachat puts there the address the client came from
//! ([`address_label`]), not its account: every credential handed to one
//! address shares one quota, so 25 accounts registered from one address
//! hold no more relays than one, and a classmate at another address
//! still gets hers.

pub mod check;
pub mod stun;
pub mod url;

use crate::protocol::call::TurnLine;

/// What `wachat serve --turn URL --turn-secret S` gives: the TURN server
/// and the secret it shares with this server (coturn's
/// `--use-auth-secret --static-auth-secret S`).
#[derive(Clone, Debug)]
pub struct Turn {
    pub url: String,
    pub secret: String,
}

/// The longest a TURN credential is good for: five minutes. A credential
/// is needed to *make* an allocation, which a browser does as its call
/// starts (the caller before the offer, the callee as it answers), and
/// coturn keeps an allocation made with it for as long as the call
/// refreshes it; so a call may last hours, and a credential that leaks is
/// worth minutes.
pub const TURN_SECONDS: u64 = 300;

/// The `<user>` of a credential asked from `ip`: the address (an IPv6
/// client by its /64, as every per-address limit counts it), written
/// with `-` for `:` (the username's `:` ends its expiry).
pub fn address_label(ip: std::net::IpAddr) -> String {
    crate::server::throttle::address_key(ip).to_string().replace(':', "-")
}

impl Turn {
    /// `--turn`'s server, checked: `turn:<host>[:<port>]` or `turns:`.
    pub fn new(url: &str, secret: &str) -> Result<Turn, String> {
        url::Url::parse(url)?;
        if secret.is_empty() {
            return Err("--turn-secret is empty".into());
        }
        Ok(Turn { url: url.to_string(), secret: secret.to_string() })
    }

    /// The server `url` names (checked by [`Turn::new`]).
    fn parsed(&self) -> url::Url {
        url::Url::parse(&self.url).unwrap_or(url::Url { tls: false, host: self.url.clone(), port: 3478 })
    }

    /// The credential for `user` at `now` (Unix s). Its expiry is the
    /// second next multiple of half [`TURN_SECONDS`]: every request in one
    /// half gets the same credential, good for 150 to 300 s, so a user
    /// holds at most two credentials that are still good, however often
    /// it asks.
    pub fn credentials(&self, user: &str, now: u64) -> TurnLine {
        let half = TURN_SECONDS / 2;
        let expiry = (now / half + 2) * half;
        let username = format!("{expiry}:{user}");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, self.secret.as_bytes());
        let tag = ring::hmac::sign(&key, username.as_bytes());
        use base64::Engine as _;
        let password = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
        TurnLine { username, password, url: self.url.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_names_its_address_an_ipv6_one_by_its_64() {
        assert_eq!(address_label("10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(address_label("2001:db8:1:2:aa:bb:cc:dd".parse().unwrap()), "2001-db8-1-2--");
        assert_eq!(address_label("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
    }

    #[test]
    fn turn_credentials_are_coturns_rest_form() {
        // HMAC-SHA1 of "<expiry>:<user>" with the shared secret, base64,
        // as `openssl` computes it:
        let turn = Turn::new("turn:127.0.0.1:3478", "north").unwrap();
        let line = turn.credentials("ana", 1_700_000_100 - TURN_SECONDS);
        assert_eq!(line.username, "1700000100:ana");
        // `printf 1700000100:ana | openssl dgst -sha1 -hmac north -binary | base64`
        assert_eq!(line.password, "BgoPEhI0kWPLxifLE+7DqwkgK/M=");
        assert_eq!(line.url, "turn:127.0.0.1:3478");
    }

    /// Good for 150 to 300 s when handed out; the same one for a while;
    /// never more than two good at once.
    #[test]
    fn a_user_holds_at_most_two_good_credentials() {
        let turn = Turn::new("turn:127.0.0.1:3478", "north").unwrap();
        let start = 1_700_000_000;
        // The expiry of the credential handed out at each second from
        // TURN_SECONDS before the first `now` below to the last.
        let first = start - TURN_SECONDS;
        let expiries: Vec<u64> = (first..start + 2 * TURN_SECONDS)
            .map(|now| turn.credentials("ana", now).username.split(':').next().unwrap().parse().unwrap())
            .collect();
        let expiry = |now: u64| expiries[(now - first) as usize];
        for now in start..start + 2 * TURN_SECONDS {
            let left = expiry(now) - now;
            assert!(left > TURN_SECONDS / 2 && left <= TURN_SECONDS, "{now}: {left} s left");
            // Those handed out over the last TURN_SECONDS that are still good at `now`.
            let mut good: Vec<u64> = (now - TURN_SECONDS..=now).map(expiry).filter(|&e| e > now).collect();
            good.dedup();
            assert!(good.len() <= 2, "{now}: {good:?}");
        }
        assert!(Turn::new("stun:x", "s").is_err() && Turn::new("turn:x", "").is_err());
    }
}
