//! `INFO` (1.2): the rules of this server, as its users should know them
//! before they trust it with a class's messages: how long messages are
//! kept, how much one may store, how many devices, who may register, the
//! limits of a message. Read from the configuration, nothing stored.

use crate::protocol::{InfoLine, MAX_HISTORY, MAX_TEXT};
use crate::server::Config;
use crate::server::registration::Registration;
use crate::server::session::{Flow, listing};

use super::asking::Asking;
use super::row::{Kind, Row, Version};

pub(super) const ROW: Row = Row::new(&["INFO"], Version::V1_2, Kind::Read);

pub(super) fn serve(a: Asking) -> Flow {
    let mut lines = info(&a.base.config, a.new_accounts_left());
    // 1.3 (§27): a server with a name says it, and, in a network, how
    // many messages may wait for one peer.
    if let Some(name) = &a.base.config.name {
        lines.push(InfoLine::new("name", name));
        lines.push(InfoLine::new("link_queue_max", a.base.config.store.budget.link_queue_max));
        lines.push(InfoLine::new("peer_quota_bytes", a.base.config.store.budget.peer_quota));
    }
    a.reply(Ok(listing(lines)))
}

/// The listing of `INFO`, in the order of [`crate::protocol::info::KEYS`];
/// `new_accounts_left` is the asker's address's (`None`: exempt).
fn info(config: &Config, new_accounts_left: Option<u32>) -> Vec<InfoLine> {
    let retention = config.store.retain.map(|d| d.as_secs() / 86_400);
    let registration = match config.registration {
        Registration::Open => "open",
        Registration::Invite => "invite",
        Registration::Closed => "closed",
    };
    vec![
        InfoLine::new("version", "1.2"),
        InfoLine::new("server", concat!("wachat ", env!("CARGO_PKG_VERSION"))),
        InfoLine::new("retention_days", retention.map_or("none".to_string(), |d| d.to_string())),
        // `--user-quota`: the bytes of messages one account may have
        // stored (0: no quota; docs/RELIABILITY.md §2).
        InfoLine::new(
            "quota_bytes",
            match config.store.budget.user_quota {
                0 => "none".to_string(),
                bytes => bytes.to_string(),
            },
        ),
        // `--max-devices`: receive connections of one account at once.
        InfoLine::new("max_devices", config.max_devices),
        InfoLine::new("registration", registration),
        InfoLine::new("max_text_bytes", MAX_TEXT),
        InfoLine::new("max_frame_bytes", config.max_frame),
        InfoLine::new("max_history", MAX_HISTORY),
        InfoLine::new("rate", if config.rate > 0.0 { config.rate.to_string() } else { "none".to_string() }),
        // `--name-quarantine-days` (30 days: `30`).
        InfoLine::new("name_quarantine_days", config.name_quarantine.as_secs_f64() / 86_400.0),
        // `--timeout`: a client that knows it keeps its connections alive
        // within it, instead of within its own (a console keeping to its own
        // 10 s would be dropped every 15 s by a server at `--timeout 600`).
        InfoLine::new(crate::protocol::info::TIMEOUT_SECS, config.timeout.as_secs_f64()),
        // `wachat conform` reads it to stop before it spends a
        // class's budget of new accounts (the address is the asker's).
        InfoLine::new(
            "new_accounts_left",
            new_accounts_left.map_or("unlimited".to_string(), |n| n.to_string()),
        ),
        // `--max-file-mb`, in bytes: a client refuses a larger file before
        // reading a byte of it (an `UPLOAD` over it is `KO:TOO_LONG`, and
        // its connection is closed).
        InfoLine::new("max_file_bytes", config.files.max_size),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::info::KEYS;

    #[test]
    fn every_key_is_listed_in_order_with_the_configuration() {
        let mut config = Config::new("/nonexistent");
        let lines = info(&config, Some(59));
        assert_eq!(InfoLine::find(&lines, "new_accounts_left"), Some("59"));
        assert_eq!(InfoLine::find(&info(&config, None), "new_accounts_left"), Some("unlimited"));
        assert_eq!(lines.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), KEYS);
        assert_eq!(InfoLine::find(&lines, "retention_days"), Some("none"));
        assert_eq!(InfoLine::find(&lines, "registration"), Some("open"));
        assert_eq!(InfoLine::find(&lines, "max_devices"), Some("5"));
        assert_eq!(InfoLine::find(&lines, "quota_bytes"), Some("67108864"));
        assert_eq!(InfoLine::find(&lines, "timeout_secs"), Some("10"));
        assert_eq!(InfoLine::find(&lines, "max_file_bytes"), Some("16777216"));
        config.timeout = Duration::from_millis(600_500);
        assert_eq!(InfoLine::find(&info(&config, None), "timeout_secs"), Some("600.5"));
        config.store.retain = Some(Duration::from_secs(30 * 86_400));
        config.registration = Registration::Invite;
        config.rate = 0.0;
        config.store.budget.user_quota = 0;
        let lines = info(&config, None);
        assert_eq!(InfoLine::find(&lines, "retention_days"), Some("30"));
        assert_eq!(InfoLine::find(&lines, "registration"), Some("invite"));
        assert_eq!(InfoLine::find(&lines, "rate"), Some("none"));
        assert_eq!(InfoLine::find(&lines, "quota_bytes"), Some("none"));
        for line in &lines {
            assert_eq!(&InfoLine::parse(&line.to_string()).unwrap(), line);
        }
    }
}
