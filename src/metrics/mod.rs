//! What a running server counts, for its operator: the Prometheus metrics
//! of `wachat serve --metrics ADDR` (docs/RELIABILITY.md, "Metrics").
//!
//! - this file: every counter, gauge and histogram, registered once in a
//!   `prometheus-client` [`Registry`], which also writes the text format
//!   (nothing here formats a metric by hand);
//! - [`sample`]: the gauges read at scrape time (online users, inboxes,
//!   bytes on disk, free disk) instead of on every change;
//! - the small HTTP listener that serves them, to loopback unless told
//!   otherwise (`--metrics-allow`), is `web::metrics`, beside the web
//!   port: this module is a leaf, which the store, the router and the
//!   server count into and which imports none of them.
//!
//! **Why one process-wide set.** Like the log, the metrics belong to the
//! process: the store's group commit (batch sizes, fsync time), the router
//! (deliveries), the handlers (replies) and a cluster's committer and tail
//! all count into them, and handing a handle through every one of those
//! layers would change a dozen signatures for the sake of a few atomics.
//! So [`get`] gives the one set, made on first use; a process that never
//! serves `--metrics` pays a few atomic adds and nothing else: its
//! histograms are observed only once it serves them ([`timed`]).
//!
//! **Cheap on the hot path.** A counter is an atomic add. Labelled
//! children (`port`, `result`) are looked up once, here, and kept; only a
//! `KO`'s code is looked up by label when it happens (refusals are not
//! the hot path). A histogram observation takes a short lock of its own
//! (prometheus-client's) and scans its buckets, once per reply batch or
//! message, never under another lock of the server's: two a message, some
//! 590 instructions, which a server that serves no metrics does not pay.
//! BENCHMARKS.md, "Metrics", has the before/after figures.

pub mod sample;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::protocol::Code;

/// A label set of one pair, e.g. `code="RATE_LIMITED"`.
type Label = [(&'static str, &'static str); 1];

/// 1.3: the label of a peer server of the class network, `peer="lab2"`.
type PeerLabel = [(&'static str, String); 1];

/// 1.3 (§27): one peer's link as a scrape sees it (the federation reads
/// it; this leaf only shows it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerLink {
    pub peer: String,
    /// A link to it is up now.
    pub up: bool,
    /// Unreachable since (Unix seconds; 0: it is not).
    pub retrying_since: u64,
    /// Frames waiting for it.
    pub queued: u64,
    /// Age of the oldest of them, in seconds (0: none).
    pub oldest_age: u64,
    /// Frames of rooms homed here were dropped for it (it will catch up).
    pub behind: bool,
}

/// The labels of who was refused or logged in lately: `who` (`user` or
/// `address`), `name`, and for a refusal the `limit`.
type WhoLabels = Vec<(&'static str, String)>;

/// One user or address of `wachat top`'s "who" (see [`Metrics::set_watch`]).
pub struct Watched {
    /// `user` or `address`.
    pub who: &'static str,
    pub name: String,
    /// Refusals in the last minute, by the limit's name (`--address-rate`).
    pub refused: Vec<(&'static str, u32)>,
    /// Logins in the last minute.
    pub logins: u32,
}

/// Every metric of a server (see the module documentation for why there
/// is one set per process).
pub struct Metrics {
    registry: Registry,
    /// `MSG`s accepted for storage (counted by the store as it takes each
    /// one; resends of a message it has are not counted).
    pub messages: Counter,
    /// Numbered events (`MSG`, `STATUS`) written to an online recipient's
    /// receive connection as they happened (inbox replays not counted).
    pub deliveries: Counter,
    /// `KO` replies on the send port, by code.
    ko: Family<Label, Counter>,
    /// Requests refused with `KO:RATE_LIMITED` (`--rate`, `--address-rate`,
    /// failed logins).
    pub rate_limited: Counter,
    /// Logins (`LOGIN`, `REGISTER`, `REDEEM`) accepted, on either port.
    pub logins_ok: Counter,
    /// Logins refused: a wrong password, an unknown or disabled account.
    pub logins_failed: Counter,
    /// Connections open on the send port.
    pub connections_send: Gauge,
    /// Connections open on the receive port.
    pub connections_receive: Gauge,
    /// Connections open on the web port (a WebSocket counts here only).
    pub connections_web: Gauge,
    /// Users logged in on the receive port (of this server or node).
    pub online: Gauge,
    /// Events waiting in inboxes for an acknowledgement, all users together.
    pub inbox_events: Gauge,
    /// Bytes of the data directory's files.
    pub disk_bytes: Gauge,
    /// Bytes free for the server on the data directory's file system.
    pub disk_free: Gauge,
    /// From reading a request to writing its reply (for `MSG`, the `OK`
    /// that says it is durable), in seconds.
    pub request_latency: Histogram,
    /// From a message's acceptance to its event written to an online
    /// recipient, in seconds (from the message's `<ts>`, so at millisecond
    /// resolution, and across the nodes of a cluster).
    pub delivery_latency: Histogram,
    /// Records written by one group commit (one fsync).
    pub batch_records: Histogram,
    /// Time of one fsync of the log, in seconds.
    pub fsync: Histogram,
    /// Cluster: a transaction of upload parts (`cluster::parts`), begin
    /// to commit, seconds.
    pub pg_transaction: Histogram,
    /// Cluster: a transaction of upload parts' `COMMIT`, seconds: a round
    /// trip and the flush of PostgreSQL's log.
    pub pg_commit: Histogram,
    /// Cluster: transactions that stored upload parts (`cluster::parts`).
    pub part_commits: Counter,
    /// Cluster: upload parts those transactions stored: divided by
    /// `part_commits`, how many shared a commit.
    pub parts_committed: Counter,
    /// Cluster: batches a follower read from the log's table and applied.
    pub batches_read: Counter,
    /// Cluster: the epoch this node leads or follows (0 on a single
    /// server): it grows by one with each new leader.
    pub epoch: Gauge,
    /// Cluster: 1 while this node leads, 0 while it follows.
    pub leading: Gauge,
    /// Cluster: 1 while this node reaches a primary PostgreSQL, 0 while
    /// it cannot (a failover: writes get `KO:UNAVAILABLE`); 0 on a single
    /// server.
    pub pg_reachable: Gauge,
    /// Cluster: database connections closed for no answer within the
    /// deadline (a frozen server: `cluster/db/postgres.rs`).
    pub pg_cut: Counter,
    /// Cluster: times this node found the primary on another host of
    /// `--store` than before (a failover followed).
    pub pg_switches: Counter,
    /// 1.3 (§27): each peer's link, by `peer` (see [`PeerLink`]).
    link_up: Family<PeerLabel, Gauge>,
    link_retrying_since: Family<PeerLabel, Gauge>,
    link_queue: Family<PeerLabel, Gauge>,
    link_oldest_age: Family<PeerLabel, Gauge>,
    link_behind: Family<PeerLabel, Gauge>,
    /// Requests refused in the last minute, by user and by address and by
    /// the limit that refused them: the most refused few, set at each
    /// scrape (`server::auth::watch`), for `wachat top`.
    watch_refused: Family<WhoLabels, Gauge>,
    /// Logins in the last minute of the users and addresses that log in
    /// more than a console does (reconnecting), the most few.
    watch_logins: Family<WhoLabels, Gauge>,
}

/// The server's metrics (made on first use).
pub fn get() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// This process serves its metrics (`--metrics`): from then on its
/// histograms are observed.
static SERVED: AtomicBool = AtomicBool::new(false);

/// The process serves its metrics from now on (`web::metrics::spawn`).
pub fn serving() {
    SERVED.store(true, Ordering::Relaxed);
}

/// The metrics, if this process serves them: where a histogram is
/// observed (the counters count whether or not).
pub fn timed() -> Option<&'static Metrics> {
    SERVED.load(Ordering::Relaxed).then(get)
}

/// Latency buckets: 50 µs to ~2.8 s, each 1.5 times the one before, so
/// that a p99 read from them (`wachat top`) is within 50 % of the truth
/// and a sub-millisecond p50 is still seen.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 1.5, 28))
}

impl Metrics {
    fn new() -> Metrics {
        let ko = Family::<Label, Counter>::default();
        let connections = Family::<Label, Gauge>::default();
        let logins = Family::<Label, Counter>::default();
        let mut metrics = Metrics {
            registry: Registry::with_prefix("wachat"),
            messages: Counter::default(),
            deliveries: Counter::default(),
            rate_limited: Counter::default(),
            logins_ok: logins.get_or_create_owned(&[("result", "ok")]),
            logins_failed: logins.get_or_create_owned(&[("result", "failed")]),
            connections_send: connections.get_or_create_owned(&[("port", "send")]),
            connections_receive: connections.get_or_create_owned(&[("port", "receive")]),
            connections_web: connections.get_or_create_owned(&[("port", "web")]),
            ko,
            online: Gauge::default(),
            inbox_events: Gauge::default(),
            disk_bytes: Gauge::default(),
            disk_free: Gauge::default(),
            request_latency: latency_buckets(),
            delivery_latency: latency_buckets(),
            batch_records: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            fsync: latency_buckets(),
            pg_transaction: latency_buckets(),
            pg_commit: latency_buckets(),
            part_commits: Counter::default(),
            parts_committed: Counter::default(),
            batches_read: Counter::default(),
            epoch: Gauge::default(),
            leading: Gauge::default(),
            pg_reachable: Gauge::default(),
            pg_cut: Counter::default(),
            pg_switches: Counter::default(),
            link_up: Family::default(),
            link_retrying_since: Family::default(),
            link_queue: Family::default(),
            link_oldest_age: Family::default(),
            link_behind: Family::default(),
            watch_refused: Family::default(),
            watch_logins: Family::default(),
        };
        // The registry is taken out while the metrics are registered in
        // it, as each registration borrows a metric of `self`.
        let mut registry = std::mem::take(&mut metrics.registry);
        metrics.register_server(&mut registry, logins, connections);
        metrics.register_cluster(registry.sub_registry_with_prefix("cluster"));
        metrics.register_links(registry.sub_registry_with_prefix("link"));
        metrics.registry = registry;
        metrics
    }

    /// The metrics of a server (and of every node of a cluster), under
    /// `wachat_`.
    fn register_server(
        &self,
        r: &mut Registry,
        logins: Family<Label, Counter>,
        connections: Family<Label, Gauge>,
    ) {
        r.register("messages_accepted", "MSG requests stored and answered OK", self.messages.clone());
        r.register(
            "deliveries",
            "Events written to online recipients as they happened",
            self.deliveries.clone(),
        );
        r.register("ko_replies", "KO replies on the send port, by code", self.ko.clone());
        r.register("rate_limited", "Requests refused with KO:RATE_LIMITED", self.rate_limited.clone());
        r.register("logins", "Logins on either port, by result", logins);
        r.register("connections", "Open connections, by port", connections);
        r.register("online_users", "Users logged in on the receive port", self.online.clone());
        r.register("inbox_events", "Events waiting in inboxes, all users", self.inbox_events.clone());
        r.register_with_unit(
            "disk_used",
            "Bytes of the data directory's files",
            Unit::Bytes,
            self.disk_bytes.clone(),
        );
        r.register_with_unit(
            "disk_free",
            "Bytes free on the data directory's file system",
            Unit::Bytes,
            self.disk_free.clone(),
        );
        r.register_with_unit(
            "request_latency",
            "From reading a request to writing its reply",
            Unit::Seconds,
            self.request_latency.clone(),
        );
        r.register_with_unit(
            "delivery_latency",
            "From a message's acceptance to its event written to a recipient",
            Unit::Seconds,
            self.delivery_latency.clone(),
        );
        r.register("batch_records", "Records per group commit", self.batch_records.clone());
        r.register_with_unit("fsync", "Time of one fsync of the log", Unit::Seconds, self.fsync.clone());
        r.register(
            "watch_refused",
            "Requests refused in the last minute, the most refused users and addresses, by limit",
            self.watch_refused.clone(),
        );
        r.register(
            "watch_logins",
            "Logins in the last minute of the users and addresses that reconnect most",
            self.watch_logins.clone(),
        );
    }

    /// The metrics only a cluster's node moves, under `wachat_cluster_`
    /// (a single server shows them at zero).
    fn register_cluster(&self, r: &mut Registry) {
        r.register(
            "epoch",
            "The epoch this node leads or follows; one more with each new leader",
            self.epoch.clone(),
        );
        r.register(
            "leading",
            "1 while this node leads the cluster, 0 while it follows",
            self.leading.clone(),
        );
        r.register_with_unit(
            "pg_transaction",
            "A transaction of upload parts, begin to commit",
            Unit::Seconds,
            self.pg_transaction.clone(),
        );
        r.register_with_unit(
            "pg_commit",
            "A transaction of upload parts' COMMIT: the flush of PostgreSQL's log",
            Unit::Seconds,
            self.pg_commit.clone(),
        );
        r.register("part_commits", "Transactions that stored upload parts", self.part_commits.clone());
        r.register(
            "parts_committed",
            "Upload parts stored by those transactions",
            self.parts_committed.clone(),
        );
        r.register(
            "batches_read",
            "Batches a follower read from PostgreSQL's log and applied",
            self.batches_read.clone(),
        );
        r.register(
            "pg_reachable",
            "1 while a primary PostgreSQL answers, 0 while failing over (writes get KO:UNAVAILABLE)",
            self.pg_reachable.clone(),
        );
        r.register(
            "pg_cut",
            "Database connections cut for no answer within the deadline",
            self.pg_cut.clone(),
        );
        r.register(
            "pg_switches",
            "Times the primary was found on another host of --store",
            self.pg_switches.clone(),
        );
    }

    /// The class network's links (1.3), under `wachat_link_`, one series
    /// per peer of the roster (none on a server without `--peers`).
    fn register_links(&self, r: &mut Registry) {
        r.register("up", "1 while a link to the peer is up", self.link_up.clone());
        r.register(
            "retrying_since",
            "Since when the peer is unreachable, Unix seconds (0: it is not)",
            self.link_retrying_since.clone(),
        );
        r.register("queue", "Frames waiting for the peer", self.link_queue.clone());
        r.register_with_unit(
            "oldest_age",
            "Age of the oldest frame waiting for the peer",
            Unit::Seconds,
            self.link_oldest_age.clone(),
        );
        r.register(
            "behind",
            "1 while the peer is behind: rooms' frames dropped for it, caught up when it is back",
            self.link_behind.clone(),
        );
    }

    /// The links of the class network as they are now: the peers given,
    /// and no other (a peer gone from the roster goes from the metrics).
    pub fn set_links(&self, links: &[PeerLink]) {
        let families = [
            &self.link_up,
            &self.link_retrying_since,
            &self.link_queue,
            &self.link_oldest_age,
            &self.link_behind,
        ];
        for family in families {
            family.clear();
        }
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for link in links {
            let label = [("peer", link.peer.clone())];
            self.link_up.get_or_create(&label).set(i64::from(link.up));
            self.link_retrying_since.get_or_create(&label).set(clamp(link.retrying_since));
            self.link_queue.get_or_create(&label).set(clamp(link.queued));
            self.link_oldest_age.get_or_create(&label).set(clamp(link.oldest_age));
            self.link_behind.get_or_create(&label).set(i64::from(link.behind));
        }
    }

    /// Counts a `KO` reply (and a rate-limited request).
    pub fn ko(&self, code: Code) {
        if code == Code::RateLimited {
            self.rate_limited.inc();
        }
        self.ko.get_or_create(&[("code", code.as_str())]).inc();
    }

    /// Sets who was refused or logged in lately (`server::auth::watch`),
    /// replacing what the last scrape showed: a user or address that
    /// is no longer among them goes.
    pub fn set_watch(&self, watched: &[Watched]) {
        self.watch_refused.clear();
        self.watch_logins.clear();
        for w in watched {
            let who = vec![("who", w.who.to_string()), ("name", w.name.clone())];
            for &(limit, n) in w.refused.iter().filter(|(_, n)| *n > 0) {
                let mut labels = who.clone();
                labels.push(("limit", limit.to_string()));
                self.watch_refused.get_or_create(&labels).set(i64::from(n));
            }
            if w.logins > 0 {
                self.watch_logins.get_or_create(&who).set(i64::from(w.logins));
            }
        }
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// A duration as a histogram's seconds.
pub fn seconds(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.messages.inc_by(3);
        metrics.ko(Code::RateLimited);
        metrics.connections_send.inc();
        metrics.request_latency.observe(0.001);
        let text = metrics.encode();
        for line in [
            "wachat_messages_accepted_total 3",
            "wachat_ko_replies_total{code=\"RATE_LIMITED\"} 1",
            "wachat_rate_limited_total 1",
            "wachat_connections{port=\"send\"} 1",
            "wachat_connections{port=\"web\"} 0",
            "wachat_logins_total{result=\"failed\"} 0",
            "wachat_request_latency_seconds_count 1",
            "wachat_cluster_batches_read_total 0",
            "wachat_cluster_epoch 0",
            "wachat_cluster_leading 0",
            "wachat_cluster_pg_reachable 0",
            "wachat_cluster_pg_cut_total 0",
            "wachat_disk_free_bytes 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert!(!text.contains("wachat_link_up{"), "no peer, no series");
        let lab2 = PeerLink {
            peer: "lab2".into(),
            up: false,
            retrying_since: 1_795_500_000,
            queued: 12,
            oldest_age: 40,
            behind: true,
        };
        metrics.set_links(&[lab2, PeerLink { peer: "lab3".into(), up: true, ..PeerLink::default() }]);
        let text = metrics.encode();
        for line in [
            "wachat_link_up{peer=\"lab2\"} 0",
            "wachat_link_up{peer=\"lab3\"} 1",
            "wachat_link_retrying_since{peer=\"lab2\"} 1795500000",
            "wachat_link_queue{peer=\"lab2\"} 12",
            "wachat_link_oldest_age_seconds{peer=\"lab2\"} 40",
            "wachat_link_behind{peer=\"lab2\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        metrics.set_links(&[]);
        assert!(!metrics.encode().contains("peer=\"lab2\""), "a peer gone from the roster goes");
    }

    #[test]
    fn who_was_refused_is_replaced_at_each_scrape() {
        let metrics = Metrics::new();
        let st13 =
            |n| Watched { who: "user", name: "st13".into(), refused: vec![("--address-rate", n)], logins: 4 };
        metrics.set_watch(&[st13(7)]);
        let text = metrics.encode();
        for line in [
            "wachat_watch_refused{who=\"user\",name=\"st13\",limit=\"--address-rate\"} 7",
            "wachat_watch_logins{who=\"user\",name=\"st13\"} 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        metrics.set_watch(&[]);
        assert!(!metrics.encode().contains("st13"));
    }
}
