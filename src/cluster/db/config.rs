//! What `--store` says ([`parse_store`]): the hosts of a cluster's
//! database, one configuration each, with the deadlines every connection
//! to them keeps (`db/mod.rs` makes and pools the connections).

use std::time::Duration;

use super::postgres::{Config, Host};
use crate::error::{Error, Result};

/// How long the TCP connection to one host may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The deadline of every database call a request waits for: a borrowed
/// connection's whole use (`Db::get`), the leader's write of a batch of
/// the log (`log.rs`). Past it the request gets `KO:UNAVAILABLE`
/// (docs/CLUSTER-OPS.md, "Nodes that never hang"). A request's calls in all
/// end within the same (`store::deadline`).
pub const DEADLINE: Duration = crate::store::deadline::DEADLINE;

/// What `--store` says: one configuration per host, in the given order.
pub struct StoreConfig {
    pub hosts: Vec<Config>,
    /// The database's name.
    pub dbname: String,
    /// `postgres://USER@HOST1:PORT1,HOST2:PORT2/DB`, without a password,
    /// for messages.
    pub shown: String,
}

/// Parses `--store`, the one place that does: a URL
/// (`postgres://USER@HOST1:PORT1,HOST2:PORT2/DB?target_session_attrs=read-write`)
/// or libpq's keywords (`host=HOST1,HOST2 port=PORT1,PORT2 user=USER
/// dbname=DB`); one host or several (a primary and its standbys: the node
/// writes to whichever is primary). The deadlines of `Db` are set on
/// each host's configuration.
pub fn parse_store(text: &str) -> Result<StoreConfig> {
    let usage = |why: String| {
        Error::Usage(format!(
            "--store {}: {why}; expected postgres://USER@HOST:PORT/DB (several hosts: \
             HOST1:PORT1,HOST2:PORT2) or host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB",
            hide_password(text)
        ))
    };
    let mut hosts = Config::parse(text).map_err(|e| usage(e.to_string()))?;
    let mut shown = Vec::new();
    for one in &mut hosts {
        shown.push(match &one.host {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", one.port),
            Host::Tcp(name) => format!("{name}:{}", one.port),
            Host::Unix(path) => path.display().to_string(),
        });
        // No statement_timeout: a COMMIT waiting for the synchronous
        // standby that it cancels is committed on the primary alone and
        // reported as a success (with a WARNING). The watchdog cuts the
        // connection instead: a commit cut short never reaches the client.
        one.options = format!("{} -c client_min_messages=warning", one.options).trim_start().to_string();
        if one.application_name.is_empty() {
            one.application_name = "wachat".into();
        }
        // The deadlines: a host that is gone is noticed by the kernel
        // (connect timeout; unacknowledged data: tcp_user_timeout; an idle
        // connection: keepalives), one that hangs by the watchdog.
        one.connect_timeout = Some(CONNECT_TIMEOUT);
        one.tcp_user_timeout = Some(DEADLINE);
        one.keepalives = Some((Duration::from_secs(2), Duration::from_secs(1), 3));
        // A node writes: a standby (or a demoted primary) is refused at
        // connection, and the next host is tried.
        one.read_write = true;
    }
    let (user, dbname) = (hosts[0].user.clone(), hosts[0].dbname.clone());
    let shown = format!("postgres://{user}@{}/{dbname}", shown.join(","));
    Ok(StoreConfig { hosts, dbname, shown })
}

/// `text` with the value of a password (in a URL or a keyword) as `***`.
fn hide_password(text: &str) -> String {
    if let Some(at) = text.find("password=") {
        let rest = &text[at + "password=".len()..];
        let end = rest.find([' ', '&']).unwrap_or(rest.len());
        return format!("{}password=***{}", &text[..at], &rest[end..]);
    }
    match text.split_once('@') {
        Some((before, after)) if before.matches(':').count() > 1 => {
            format!("{}:***@{after}", before.rsplit_once(':').map_or(before, |b| b.0))
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(store: &StoreConfig) -> Vec<String> {
        let host = |c: &Config| match &c.host {
            Host::Tcp(h) => format!("{h}:{}", c.port),
            Host::Unix(p) => p.display().to_string(),
        };
        store.hosts.iter().map(host).collect()
    }

    #[test]
    fn both_forms_of_a_multi_host_store_give_the_same_hosts() {
        let url =
            parse_store("postgres://wachat@h1:5433,h2:5434/chat?target_session_attrs=read-write").unwrap();
        let keywords =
            parse_store("host=h1,h2 port=5433,5434 user=wachat dbname=chat target_session_attrs=read-write")
                .unwrap();
        for store in [&url, &keywords] {
            assert_eq!(hosts(store), ["h1:5433", "h2:5434"]);
            assert_eq!(store.dbname, "chat");
            assert_eq!(store.shown, "postgres://wachat@h1:5433,h2:5434/chat");
            for one in &store.hosts {
                assert_eq!(one.user, "wachat");
                assert!(one.read_write);
                assert_eq!(one.connect_timeout, Some(CONNECT_TIMEOUT));
                assert_eq!(one.tcp_user_timeout, Some(DEADLINE));
                assert!(!one.options.contains("statement_timeout"), "see parse_store");
            }
        }
    }

    #[test]
    fn one_host_one_port_for_all_and_defaults() {
        let one = parse_store("postgres://wachat@127.0.0.1:5433/wachat").unwrap();
        assert_eq!(hosts(&one), ["127.0.0.1:5433"]);
        let shared = parse_store("host=a,b port=6000 user=u").unwrap();
        assert_eq!(hosts(&shared), ["a:6000", "b:6000"]);
        assert_eq!(shared.dbname, "u", "libpq's default: the user's name");
        let default_port = parse_store("postgresql://u@a,b/d").unwrap();
        assert_eq!(hosts(&default_port), ["a:5432", "b:5432"]);
    }

    #[test]
    fn a_bad_store_is_refused_with_the_forms_it_takes_and_no_password() {
        for bad in [
            "mysql://u@h/d",
            "postgres://u@h1:1,h2:2,h3:3/d?port=1,2",
            "host=a,b,c port=1,2 user=u",
            "postgres:///d",
            "host=h dbname=d password=secret nonsense",
        ] {
            let e = parse_store(bad).err().unwrap_or_else(|| panic!("{bad:?} taken")).to_string();
            assert!(e.contains("host=HOST1,HOST2"), "{bad:?}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        let e = parse_store("postgres://u:secret@h:1/d?sslmode=nonsense").err().unwrap().to_string();
        assert!(!e.contains("secret") && e.contains("u:***@h:1"), "{e}");
        let shown = parse_store("host=h user=u password=secret dbname=d").unwrap().shown;
        assert_eq!(shown, "postgres://u@h:5432/d");
    }
}
