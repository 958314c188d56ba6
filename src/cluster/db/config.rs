//! What `--store` says ([`parse_store`]): the hosts of a cluster's
//! database, one configuration each, with the deadlines every connection
//! to them keeps (`db/mod.rs` makes and pools the connections).

use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Host, TargetSessionAttrs};

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
    pub hosts: Vec<postgres::Config>,
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
    let all = postgres::Config::from_str(text).map_err(|e| usage(e.to_string()))?;
    let hosts = all.get_hosts();
    let ports = all.get_ports();
    if hosts.is_empty() {
        return Err(usage("no host".into()));
    }
    if ports.len() > 1 && ports.len() != hosts.len() {
        return Err(usage(format!("{} hosts but {} ports", hosts.len(), ports.len())));
    }
    let user = all.get_user().ok_or_else(|| usage("no user".into()))?;
    let dbname = all.get_dbname().unwrap_or(user).to_string();
    let mut configs = Vec::new();
    let mut shown = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let mut one = postgres::Config::new();
        match host {
            Host::Tcp(name) => {
                one.host(name);
                shown.push(if name.contains(':') {
                    format!("[{name}]:{port}")
                } else {
                    format!("{name}:{port}")
                });
            }
            Host::Unix(path) => {
                one.host_path(path);
                shown.push(path.display().to_string());
            }
        }
        one.port(port).user(user).dbname(&dbname).ssl_mode(all.get_ssl_mode());
        if let Some(password) = all.get_password() {
            one.password(password);
        }
        // No statement_timeout: a COMMIT waiting for the synchronous
        // standby that it cancels is committed on the primary alone and
        // reported as a success (with a WARNING). The watchdog cuts the
        // connection instead: a commit cut short never reaches the client.
        let options = format!("{} -c client_min_messages=warning", all.get_options().unwrap_or_default());
        one.options(options.trim_start());
        one.application_name(all.get_application_name().unwrap_or("wachat"));
        // The deadlines: a host that is gone is noticed by the kernel
        // (connect timeout; unacknowledged data: tcp_user_timeout; an idle
        // connection: keepalives), one that hangs by the watchdog.
        one.connect_timeout(CONNECT_TIMEOUT);
        one.tcp_user_timeout(DEADLINE);
        one.keepalives(true).keepalives_idle(Duration::from_secs(2));
        one.keepalives_interval(Duration::from_secs(1)).keepalives_retries(3);
        // A node writes: a standby (or a demoted primary) is refused at
        // connection, and the next host is tried.
        one.target_session_attrs(TargetSessionAttrs::ReadWrite);
        configs.push(one);
    }
    let shown = format!("postgres://{user}@{}/{dbname}", shown.join(","));
    Ok(StoreConfig { hosts: configs, dbname, shown })
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
        let host = |c: &postgres::Config| match &c.get_hosts()[0] {
            Host::Tcp(h) => format!("{h}:{}", c.get_ports()[0]),
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
                assert_eq!(one.get_user(), Some("wachat"));
                assert_eq!(one.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
                assert_eq!(one.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
                assert_eq!(one.get_tcp_user_timeout(), Some(&DEADLINE));
                assert!(!one.get_options().unwrap().contains("statement_timeout"), "see parse_store");
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
