//! What `--store` says ([`parse_store`]): the hosts of a cluster's
//! database, the keywords to connect to each alone, with the deadlines
//! every connection to them keeps ([`super`] makes and pools the
//! connections). libpq reads the string. It would go round several hosts
//! of one string itself, but not within a deadline: a node connects with
//! libpq's asynchronous steps (`PQconnectPoll`, so that it can give up
//! on time: [`super::postgres`]), which have no timeout of their own
//! (libpq ignores `connect_timeout` there): a frozen host would take the
//! whole attempt's time, and the hosts after it would never be tried. So
//! the hosts are told apart here, and the node gives each its own
//! deadline and tries first the one where the primary was last found
//! ([`super::Db::connect`]).

use std::time::Duration;

use crate::error::{Error, Result};

/// The deadline of every database call a request waits for: a borrowed
/// connection's whole use (`Db::get`), the leader's write of a batch of
/// the log (`log.rs`). Past it the request gets `KO:UNAVAILABLE`
/// (docs/CLUSTER-OPS.md, "Nodes that never hang"). A request's calls in all
/// end within the same (`store::deadline`).
pub const DEADLINE: Duration = crate::store::deadline::DEADLINE;

/// libpq's keywords and values for one host.
pub type Keywords = Vec<(String, String)>;

/// What `--store` says: the keywords of each host, in the given order.
pub struct StoreConfig {
    pub hosts: Vec<Keywords>,
    /// `postgres://USER@HOST1:PORT1,HOST2:PORT2/DB`, without a password,
    /// for messages.
    pub shown: String,
}

/// Parses `--store`, the one place that does: a connection string of
/// libpq, a URL (`postgres://USER@HOST1:PORT1,HOST2:PORT2/DB?sslmode=require`)
/// or keywords (`host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB`);
/// one host or several (a primary and its standbys: the node writes to
/// whichever is primary). The node's own keywords are added to each
/// host's: its deadlines, and that a standby is refused.
pub fn parse_store(text: &str) -> Result<StoreConfig> {
    let usage = |why: String| {
        Error::Usage(format!(
            "--store {}: {why}; expected postgres://USER@HOST:PORT/DB (several hosts: \
             HOST1:PORT1,HOST2:PORT2) or host=HOST1,HOST2 port=PORT1,PORT2 user=USER dbname=DB",
            hide_password(text)
        ))
    };
    let parsed = libpq::connection::Info::from(text).map_err(|e| usage(e.to_string().trim_end().into()))?;
    let mut given: Keywords = parsed.into_iter().filter_map(|info| Some((info.keyword, info.val?))).collect();
    let value = |given: &Keywords, key: &str| given.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let list = |given: &Keywords, key: &str| -> Vec<String> {
        let value = value(given, key).unwrap_or_default();
        value.split(',').filter(|_| !value.is_empty()).map(str::to_string).collect()
    };
    let (names, addrs, ports) = (list(&given, "host"), list(&given, "hostaddr"), list(&given, "port"));
    let count = names.len().max(addrs.len()).max(1);
    for (what, n) in [("host", names.len()), ("hostaddr", addrs.len()), ("port", ports.len())] {
        if n > 1 && n != count {
            return Err(usage(format!("{n} values of {what} for {count} hosts")));
        }
    }
    // The node's own (a connection attempt's deadline is the caller's:
    // `Db::connect_to`). No statement_timeout: a COMMIT waiting for the
    // synchronous standby that it cancels is committed on the primary
    // alone and reported as a success (with a WARNING). The client closes
    // the connection at the deadline instead (`db/postgres.rs`): a commit
    // cut short never reaches the client. A host that is gone is noticed
    // by the kernel (unacknowledged data: tcp_user_timeout; an idle
    // connection: keepalives), one that hangs by the deadline. A node
    // writes: a standby (or a demoted primary) is refused at connection.
    let options = value(&given, "options").unwrap_or_default();
    let ours = [
        ("options", format!("{options} -c client_min_messages=warning").trim_start().to_string()),
        ("fallback_application_name", "wachat".into()),
        ("tcp_user_timeout", DEADLINE.as_millis().to_string()),
        ("keepalives", "1".into()),
        ("keepalives_idle", "2".into()),
        ("keepalives_interval", "1".into()),
        ("keepalives_count", "3".into()),
        ("target_session_attrs", "read-write".into()),
    ];
    given.retain(|(k, _)| !ours.iter().any(|(o, _)| o == k));
    given.extend(ours.into_iter().map(|(k, v)| (k.to_string(), v)));
    // Host `i`'s value of a list: its own, or the one for all (libpq
    // reads an empty one as its default).
    let nth =
        |values: &[String], i: usize| values.get(i).or(values.first()).filter(|v| !v.is_empty()).cloned();
    let mut hosts = Vec::new();
    let mut shown = Vec::new();
    for i in 0..count {
        let mut one = given.clone();
        for (key, values) in [("host", &names), ("hostaddr", &addrs), ("port", &ports)] {
            one.retain(|(k, _)| k != key);
            one.extend(nth(values, i).map(|value| (key.to_string(), value)));
        }
        let name = nth(&names, i).or_else(|| nth(&addrs, i)).unwrap_or_default();
        let name = if name.contains(':') { format!("[{name}]") } else { name };
        shown.push(match nth(&ports, i) {
            Some(port) => format!("{name}:{port}"),
            None => name,
        });
        hosts.push(one);
    }
    let user = value(&given, "user").map(|u| format!("{u}@")).unwrap_or_default();
    let dbname = value(&given, "dbname").unwrap_or_default();
    let shown = format!("postgres://{user}{}/{dbname}", shown.join(","));
    Ok(StoreConfig { hosts, shown })
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

    /// Host `i`'s value of `key`.
    fn value<'a>(store: &'a StoreConfig, i: usize, key: &str) -> Option<&'a str> {
        store.hosts[i].iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn hosts(store: &StoreConfig) -> Vec<String> {
        let place =
            |i| format!("{}:{}", value(store, i, "host").unwrap(), value(store, i, "port").unwrap_or("-"));
        (0..store.hosts.len()).map(place).collect()
    }

    #[test]
    fn both_forms_of_a_multi_host_store_give_the_same_hosts() {
        let url = parse_store("postgres://wachat@h1:5433,h2:5434/chat?sslmode=require").unwrap();
        let keywords =
            parse_store("host=h1,h2 port=5433,5434 user=wachat dbname=chat sslmode=require").unwrap();
        for store in [&url, &keywords] {
            assert_eq!(hosts(store), ["h1:5433", "h2:5434"]);
            assert_eq!(store.shown, "postgres://wachat@h1:5433,h2:5434/chat");
            for i in 0..2 {
                assert_eq!(value(store, i, "user"), Some("wachat"));
                assert_eq!(value(store, i, "dbname"), Some("chat"));
                assert_eq!(value(store, i, "sslmode"), Some("require"), "libpq's own keywords pass");
                assert_eq!(value(store, i, "target_session_attrs"), Some("read-write"));
                assert_eq!(value(store, i, "keepalives"), Some("1"));
                assert_eq!(value(store, i, "tcp_user_timeout"), Some(&*DEADLINE.as_millis().to_string()));
                assert!(
                    !value(store, i, "options").unwrap().contains("statement_timeout"),
                    "see parse_store"
                );
            }
        }
    }

    #[test]
    fn one_host_one_port_for_all_and_what_libpq_defaults_is_left_to_it() {
        let one = parse_store("postgres://wachat@127.0.0.1:5433/wachat").unwrap();
        assert_eq!(hosts(&one), ["127.0.0.1:5433"]);
        let shared = parse_store("host=a,b port=6000 user=u").unwrap();
        assert_eq!(hosts(&shared), ["a:6000", "b:6000"]);
        assert_eq!(value(&shared, 0, "dbname"), None, "libpq's default: the user's name");
        let default_port = parse_store("postgresql://u@a,b/d").unwrap();
        assert_eq!(hosts(&default_port), ["a:-", "b:-"]);
        assert_eq!(default_port.shown, "postgres://u@a,b/d");
        let socket = parse_store("host=/run/postgresql dbname=d options='-c a=b'").unwrap();
        assert_eq!(socket.shown, "postgres:///run/postgresql/d");
        assert_eq!(value(&socket, 0, "options"), Some("-c a=b -c client_min_messages=warning"));
        let nothing = parse_store("dbname=d").unwrap();
        assert_eq!((nothing.hosts.len(), value(&nothing, 0, "host")), (1, None), "libpq's default socket");
    }

    #[test]
    fn a_bad_store_is_refused_with_the_forms_it_takes_and_no_password() {
        for bad in [
            "mysql://u@h/d",
            "postgres://u@h1:1,h2:2,h3:3/d?port=1,2",
            "host=a,b,c port=1,2 user=u",
            "postgres://u@h/d?nonsense=1",
            "host=h dbname=d password=secret nonsense",
        ] {
            let e = parse_store(bad).err().unwrap_or_else(|| panic!("{bad:?} taken")).to_string();
            assert!(e.contains("host=HOST1,HOST2"), "{bad:?}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        let e = parse_store("postgres://u:secret@h:1/d?nonsense=1").err().unwrap().to_string();
        assert!(!e.contains("secret") && e.contains("u:***@h:1"), "{e}");
        let shown = parse_store("host=h port=5432 user=u password=secret dbname=d").unwrap().shown;
        assert_eq!(shown, "postgres://u@h:5432/d");
    }
}
