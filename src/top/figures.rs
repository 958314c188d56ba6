//! What `wachat top` shows, worked out from two scrapes a moment apart:
//! rates from the counters' differences, percentiles from the histograms'
//! buckets, and the gauges as they are. Apart from the screen, so that the
//! text of `--once` and the dashboard say the same, and the arithmetic is
//! tested on its own.

use std::fmt::Write as _;

use super::scrape::Scrape;

/// Everything `top` shows about one moment of a server.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Seconds between the two scrapes (0: only one so far).
    pub interval_s: f64,
    pub messages: f64,
    pub deliveries: f64,
    pub messages_per_s: f64,
    pub deliveries_per_s: f64,
    /// Percentiles over the interval if anything happened in it, else
    /// since the server started (`latest` says which).
    pub request: Percentiles,
    pub delivery: Percentiles,
    pub fsync: Percentiles,
    /// Records per group commit, over the interval (else since the start).
    pub batch_mean: Option<f64>,
    pub connections: Vec<(String, f64)>,
    pub online: f64,
    pub inbox: f64,
    pub disk_used: f64,
    pub disk_free: f64,
    pub logins_ok: f64,
    pub logins_failed: f64,
    pub rate_limited: f64,
    /// `KO` replies by code since the start, the most frequent first.
    pub kos: Vec<(String, f64)>,
    /// Who was refused or reconnected in the last minute, by user and by
    /// address, the most first (the server's `wachat_watch_*`).
    pub watched: Vec<WatchedRow>,
    /// A cluster node's own figures (`None` on a single server).
    pub cluster: Option<Cluster>,
    /// 1.3: the class network's peers, by name (none without `--peers`).
    pub links: Vec<PeerRow>,
}

/// 1.3 (§27): one peer of the class network, as its link is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerRow {
    pub peer: String,
    pub up: bool,
    /// Unreachable since (Unix seconds; 0: it is not).
    pub retrying_since: f64,
    pub queued: f64,
    /// Age of the oldest frame waiting for it, seconds.
    pub oldest_age: f64,
    pub behind: bool,
}

/// A user or an address the limits refused, or that logs in again and
/// again, in the last minute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchedRow {
    /// `user` or `address`.
    pub who: String,
    pub name: String,
    /// Refusals by the limit that refused them (`--address-rate`, `--rate`,
    /// `failed-logins`, `new-accounts`), the most first.
    pub refused: Vec<(String, f64)>,
    pub logins: f64,
}

impl WatchedRow {
    fn refusals(&self) -> f64 {
        self.refused.iter().map(|(_, n)| n).sum()
    }

    /// `user st13: 12 refused (--address-rate 12), 5 logins`.
    fn show(&self) -> String {
        let mut said = format!("{} {}:", self.who, crate::display::visible(&self.name));
        if !self.refused.is_empty() {
            let by: Vec<String> = self.refused.iter().map(|(limit, n)| format!("{limit} {n}")).collect();
            let _ = write!(said, " {} refused ({})", self.refusals(), by.join(", "));
        }
        if self.logins > 0.0 {
            let _ = write!(said, "{} {} logins", if self.refused.is_empty() { "" } else { "," }, self.logins);
        }
        said
    }
}

/// The users and addresses of the `wachat_watch_*` samples, most refused
/// (then most logged in) first.
fn watched(now: &Scrape) -> Vec<WatchedRow> {
    let mut all: Vec<WatchedRow> = Vec::new();
    let label = |s: &super::scrape::Sample, key: &str| {
        s.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    for sample in
        now.samples.iter().filter(|s| s.name == name("watch_refused") || s.name == name("watch_logins"))
    {
        let (who, who_name) = (label(sample, "who"), label(sample, "name"));
        let at = match all.iter().position(|w| w.who == who && w.name == who_name) {
            Some(at) => at,
            None => {
                all.push(WatchedRow { who, name: who_name, ..WatchedRow::default() });
                all.len() - 1
            }
        };
        if sample.name == name("watch_logins") {
            all[at].logins = sample.value;
        } else {
            all[at].refused.push((label(sample, "limit"), sample.value));
        }
    }
    for w in &mut all {
        w.refused.sort_by(|a, b| b.1.total_cmp(&a.1));
    }
    all.sort_by(|a, b| {
        (b.refusals(), b.logins).partial_cmp(&(a.refusals(), a.logins)).unwrap_or(std::cmp::Ordering::Equal)
    });
    all
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// Measured over the last interval (else since the server started).
    pub latest: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Cluster {
    /// The epoch the node leads or follows.
    pub epoch: f64,
    /// It leads (else it follows).
    pub leading: bool,
    /// Batches it read from the log's table and applied (a follower).
    pub batches_read: f64,
    /// A primary database answers (else: failing over, writes refused).
    pub pg_reachable: bool,
    /// Times the node found the primary on another host of `--store`.
    pub pg_switches: f64,
    /// Connections cut for no answer within the deadline.
    pub pg_cut: f64,
}

const PREFIX: &str = "wachat_";

fn name(short: &str) -> String {
    format!("{PREFIX}{short}")
}

impl Figures {
    /// The figures of `now`, with rates since `before` (if any).
    pub fn new(before: Option<&Scrape>, now: &Scrape) -> Figures {
        let interval_s = match (before.and_then(|b| b.at), now.at) {
            (Some(b), Some(n)) => n.duration_since(b).as_secs_f64(),
            _ => 0.0,
        };
        let total = |short: &str| now.value(&name(short), &[]);
        let rate = |short: &str| match before {
            Some(b) if interval_s > 0.0 => (total(short) - b.value(&name(short), &[])).max(0.0) / interval_s,
            _ => 0.0,
        };
        let mut kos: Vec<(String, f64)> =
            now.by_label(&name("ko_replies_total"), "code").map(|(c, n)| (c.to_string(), n)).collect();
        kos.retain(|(_, n)| *n > 0.0);
        kos.sort_by(|a, b| b.1.total_cmp(&a.1));
        let cluster = (total("cluster_epoch") > 0.0).then(|| Cluster {
            epoch: total("cluster_epoch"),
            leading: total("cluster_leading") > 0.0,
            batches_read: total("cluster_batches_read_total"),
            pg_reachable: total("cluster_pg_reachable") > 0.0,
            pg_switches: total("cluster_pg_switches_total"),
            pg_cut: total("cluster_pg_cut_total"),
        });
        let link = |short: &str, peer: &str| now.value(&name(&format!("link_{short}")), &[("peer", peer)]);
        let mut links: Vec<PeerRow> = now
            .by_label(&name("link_up"), "peer")
            .map(|(peer, up)| PeerRow {
                peer: crate::display::visible(peer).into_owned(),
                up: up > 0.0,
                retrying_since: link("retrying_since", peer),
                queued: link("queue", peer),
                oldest_age: link("oldest_age_seconds", peer),
                behind: link("behind", peer) > 0.0,
            })
            .collect();
        links.sort_by(|a, b| a.peer.cmp(&b.peer));
        Figures {
            interval_s,
            links,
            messages: total("messages_accepted_total"),
            deliveries: total("deliveries_total"),
            messages_per_s: rate("messages_accepted_total"),
            deliveries_per_s: rate("deliveries_total"),
            request: percentiles(before, now, "request_latency_seconds"),
            delivery: percentiles(before, now, "delivery_latency_seconds"),
            fsync: percentiles(before, now, "fsync_seconds"),
            batch_mean: batch_mean(before, now),
            connections: now
                .by_label(&name("connections"), "port")
                .map(|(p, n)| (p.to_string(), n))
                .collect(),
            online: total("online_users"),
            inbox: total("inbox_events"),
            disk_used: total("disk_used_bytes"),
            disk_free: total("disk_free_bytes"),
            logins_ok: now.value(&name("logins_total"), &[("result", "ok")]),
            logins_failed: now.value(&name("logins_total"), &[("result", "failed")]),
            rate_limited: total("rate_limited_total"),
            kos,
            watched: watched(now),
            cluster,
        }
    }

    /// The plain-text snapshot of `wachat top --once`.
    pub fn text(&self, addr: &str) -> String {
        let mut out = String::new();
        let over = if self.interval_s > 0.0 {
            format!(" (rates over {:.1} s)", self.interval_s)
        } else {
            String::new()
        };
        let _ = writeln!(out, "wachat top: {addr}{over}");
        for line in self.lines() {
            let _ = writeln!(out, "{line}");
        }
        out
    }

    /// The figures as `label  value` lines (the dashboard shows them
    /// beside its sparklines).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("messages       {:>10} total  {:>9.1}/s", self.messages, self.messages_per_s),
            format!("deliveries     {:>10} total  {:>9.1}/s", self.deliveries, self.deliveries_per_s),
            format!("request        {}", self.request.show()),
            format!("delivery       {}", self.delivery.show()),
            format!(
                "connections    {}",
                self.connections.iter().map(|(p, n)| format!("{p} {n}")).collect::<Vec<_>>().join("   ")
            ),
            format!("online users   {}", self.online),
            format!("inbox events   {}", self.inbox),
            format!(
                "group commit   {} records/batch   fsync p99 {}",
                self.batch_mean.map_or("-".to_string(), |m| format!("{m:.1}")),
                ms(self.fsync.p99)
            ),
            format!("disk           used {}   free {}", bytes(self.disk_used), bytes(self.disk_free)),
            format!(
                "logins         ok {}   failed {}   rate-limited requests {}",
                self.logins_ok, self.logins_failed, self.rate_limited
            ),
            format!(
                "KO replies     {}",
                if self.kos.is_empty() {
                    "none".to_string()
                } else {
                    self.kos.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
                }
            ),
        ];
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        for (i, link) in self.links.iter().enumerate() {
            let label = if i == 0 { "links" } else { "" };
            lines.push(format!("{label:<15}{}", link.show(now_s)));
        }
        // Who, when anyone: a count of refusals points at nobody (one
        // student's loop, or a whole class over its address's budget).
        for (i, watched) in self.watched.iter().enumerate() {
            let head = if i == 0 { "last minute" } else { "" };
            lines.push(format!("{head:<14} {}", watched.show()));
        }
        if let Some(cluster) = &self.cluster {
            lines.push(format!(
                "cluster        {} in epoch {}   batches read from the log {}",
                if cluster.leading { "leads" } else { "follows" },
                cluster.epoch,
                cluster.batches_read
            ));
            lines.push(cluster.database());
        }
        lines
    }
}

impl PeerRow {
    /// `lab2  linked   0 waiting` or `lab3  retrying for 42 s   120
    /// waiting, oldest 40 s   behind`.
    fn show(&self, now_s: f64) -> String {
        let state = if self.up {
            "linked".to_string()
        } else if self.retrying_since > 0.0 {
            format!("retrying for {} s", (now_s - self.retrying_since).max(0.0).round())
        } else {
            "idle".to_string()
        };
        let mut out = format!("{:<10} {state:<22} {} waiting", self.peer, self.queued);
        if self.queued > 0.0 {
            out.push_str(&format!(", oldest {} s", self.oldest_age));
        }
        if self.behind {
            out.push_str("   behind: catches up when back");
        }
        out
    }
}

impl Cluster {
    /// The database's state as the node sees it: reachable, or failing over.
    fn database(&self) -> String {
        let state = if self.pg_reachable {
            "reachable"
        } else {
            "UNREACHABLE: failing over, writes get KO:UNAVAILABLE"
        };
        format!(
            "database       {state}   primary moved {}   connections cut (no answer in time) {}",
            self.pg_switches, self.pg_cut
        )
    }
}

impl Percentiles {
    fn show(&self) -> String {
        let when = if self.latest { "" } else { "  (since start)" };
        format!("p50 {}   p99 {}{when}", ms(self.p50), ms(self.p99))
    }
}

/// Milliseconds, or `-` for nothing measured.
pub fn ms(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_string(),
        Some(s) if s.is_infinite() => "> 2.8 s".to_string(),
        Some(s) if s < 0.01 => format!("{:.2} ms", s * 1000.0),
        Some(s) => format!("{:.1} ms", s * 1000.0),
    }
}

/// Bytes in the largest unit that keeps a number ≥ 1.
pub fn bytes(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{value:.1} {}", units[unit]) }
}

/// p50 and p99 of histogram `short`: over the interval if it saw
/// observations, else since the start.
fn percentiles(before: Option<&Scrape>, now: &Scrape, short: &str) -> Percentiles {
    let all = now.buckets(&name(short));
    if let Some(before) = before {
        let old = before.buckets(&name(short));
        if old.len() == all.len() {
            let delta: Vec<(f64, f64)> =
                all.iter().zip(&old).map(|(n, o)| (n.0, (n.1 - o.1).max(0.0))).collect();
            if delta.last().is_some_and(|(_, n)| *n > 0.0) {
                return Percentiles { p50: quantile(&delta, 0.5), p99: quantile(&delta, 0.99), latest: true };
            }
        }
    }
    Percentiles { p50: quantile(&all, 0.5), p99: quantile(&all, 0.99), latest: false }
}

/// The `q` quantile of cumulative buckets, as Prometheus's
/// `histogram_quantile` works it out: linear within the bucket it falls
/// in; the largest finite bound if it falls in `+Inf`.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let within = if count > lower.1 { (rank - lower.1) / (count - lower.1) } else { 1.0 };
            return Some(lower.0 + (le - lower.0) * within);
        }
        lower = (le, count);
    }
    Some(lower.0)
}

/// Records per group commit.
fn batch_mean(before: Option<&Scrape>, now: &Scrape) -> Option<f64> {
    let (sum, count) = (name("batch_records_sum"), name("batch_records_count"));
    let (mut s, mut c) = (now.value(&sum, &[]), now.value(&count, &[]));
    if let Some(b) = before {
        let (ds, dc) = (s - b.value(&sum, &[]), c - b.value(&count, &[]));
        if dc > 0.0 {
            (s, c) = (ds, dc);
        }
    }
    (c > 0.0).then(|| s / c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        let buckets = [(0.001, 50.0), (0.002, 90.0), (0.004, 100.0), (f64::INFINITY, 100.0)];
        assert_eq!(quantile(&buckets, 0.5), Some(0.001));
        assert!((quantile(&buckets, 0.7).unwrap() - 0.0015).abs() < 1e-9);
        assert!((quantile(&buckets, 0.99).unwrap() - 0.0038).abs() < 1e-9);
        assert_eq!(quantile(&[(0.1, 0.0), (f64::INFINITY, 0.0)], 0.5), None);
        assert_eq!(quantile(&[(0.1, 1.0), (f64::INFINITY, 5.0)], 0.99), Some(0.1));
    }

    #[test]
    fn rates_come_from_two_scrapes() {
        let mut before = Scrape::parse(
            "wachat_messages_accepted_total 10\nwachat_batch_records_sum 10\nwachat_batch_records_count 5\n",
        );
        let mut now = Scrape::parse(
            "wachat_messages_accepted_total 30\nwachat_batch_records_sum 40\nwachat_batch_records_count 10\n",
        );
        let t = std::time::Instant::now();
        before.at = Some(t);
        now.at = Some(t + std::time::Duration::from_secs(2));
        let figures = Figures::new(Some(&before), &now);
        assert_eq!(figures.messages, 30.0);
        assert_eq!(figures.messages_per_s, 10.0);
        assert_eq!(figures.batch_mean, Some(6.0));
        assert!(figures.cluster.is_none());
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(ms(Some(0.0004)), "0.40 ms");
    }

    #[test]
    fn each_peer_of_the_class_network_shows_its_link() {
        let text = "wachat_link_up{peer=\"lab2\"} 1\nwachat_link_queue{peer=\"lab2\"} 0\n\
                    wachat_link_up{peer=\"lab3\"} 0\nwachat_link_retrying_since{peer=\"lab3\"} 1000\n\
                    wachat_link_queue{peer=\"lab3\"} 120\nwachat_link_oldest_age_seconds{peer=\"lab3\"} 40\n\
                    wachat_link_behind{peer=\"lab3\"} 1\n";
        let figures = Figures::new(None, &Scrape::parse(text));
        assert_eq!(figures.links.len(), 2);
        let lines: Vec<String> = figures.links.iter().map(|l| l.show(1042.0)).collect();
        assert_eq!(lines[0], "lab2       linked                 0 waiting");
        assert_eq!(
            lines[1],
            "lab3       retrying for 42 s      120 waiting, oldest 40 s   behind: catches up when back"
        );
        assert!(
            figures.lines().iter().any(|l| l.starts_with("links          lab2")),
            "{:?}",
            figures.lines()
        );
        assert!(Figures::new(None, &Scrape::parse("")).links.is_empty());
    }

    #[test]
    fn who_is_refused_or_reconnecting_is_shown_per_user_and_address() {
        let text = "wachat_watch_refused{who=\"user\",name=\"st13\",limit=\"--address-rate\"} 12\n\
                    wachat_watch_refused{who=\"address\",name=\"10.0.0.1\",limit=\"--address-rate\"} 790\n\
                    wachat_watch_refused{who=\"address\",name=\"10.0.0.1\",limit=\"--rate\"} 3\n\
                    wachat_watch_logins{who=\"user\",name=\"loopy\"} 9\n\
                    wachat_watch_logins{who=\"user\",name=\"st13\"} 4\n";
        let lines = Figures::new(None, &Scrape::parse(text)).lines();
        let who: Vec<&String> = lines.iter().skip_while(|l| !l.starts_with("last minute")).collect();
        assert_eq!(
            who,
            [
                "last minute    address 10.0.0.1: 793 refused (--address-rate 790, --rate 3)",
                "               user st13: 12 refused (--address-rate 12), 4 logins",
                "               user loopy: 9 logins",
            ]
        );
        assert!(!Figures::new(None, &Scrape::parse("")).lines().iter().any(|l| l.starts_with("last minute")));
    }

    #[test]
    fn a_cluster_node_shows_its_database_state() {
        let up = "wachat_cluster_epoch 3\nwachat_cluster_leading 1\nwachat_cluster_pg_reachable 1\n\
                  wachat_cluster_pg_switches_total 1\nwachat_cluster_pg_cut_total 2\n";
        let lines = Figures::new(None, &Scrape::parse(up)).lines();
        assert!(lines.iter().any(|l| l.starts_with("cluster        leads in epoch 3 ")), "{lines:?}");
        let database = lines.iter().find(|l| l.starts_with("database")).unwrap();
        assert!(
            database.contains("reachable   primary moved 1   connections cut (no answer in time) 2"),
            "{database}"
        );
        let down = "wachat_cluster_epoch 3\nwachat_cluster_pg_reachable 0\n";
        let lines = Figures::new(None, &Scrape::parse(down)).lines();
        assert!(lines.iter().any(|l| l.starts_with("cluster        follows in epoch 3 ")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("UNREACHABLE: failing over")), "{lines:?}");
    }
}
