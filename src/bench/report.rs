//! What the bench prints: throughput, latency percentiles, login time and
//! the server's memory, as text or as one JSON object.

use std::time::{Duration, Instant};

use super::BenchArgs;

#[derive(Default)]
pub struct Report {
    workload: String,
    size: u64,
    rate: f64,
    pub login_time: Option<Duration>,
    pub idle_users: Option<(usize, Duration)>,
    pub rss_idle: Option<u64>,
    pub rss_end: Option<u64>,
    delivered: usize,
    elapsed: Option<Duration>,
    /// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
    latency_us: Option<[u32; 5]>,
}

impl Report {
    pub fn new(args: &BenchArgs) -> Report {
        let workload = if args.room_size > 0 {
            format!("fan-out: 1 sender, room of {}, {} messages", args.room_size, args.messages)
        } else if args.pairs > 0 {
            format!("pairs: {} x {} messages, window {}", args.pairs, args.messages, args.window)
        } else {
            "idle crowd only".to_string()
        };
        Report { workload, size: args.size, rate: args.rate, ..Report::default() }
    }

    /// Records a finished run: `delivered` messages, each receiver's
    /// latencies and the time it got its last message.
    pub fn add_run<'a>(
        &mut self,
        epoch: Instant,
        delivered: usize,
        receivers: impl Iterator<Item = (&'a Vec<u32>, Instant)>,
    ) {
        let mut all: Vec<u32> = Vec::with_capacity(delivered);
        let mut last = epoch;
        for (latencies, at) in receivers {
            all.extend_from_slice(latencies);
            last = last.max(at);
        }
        all.sort_unstable();
        let pick = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        if !all.is_empty() {
            self.latency_us = Some([pick(0.5), pick(0.9), pick(0.99), pick(0.999), all[all.len() - 1]]);
        }
        self.delivered = delivered;
        self.elapsed = Some(last.duration_since(epoch));
    }

    fn throughput(&self) -> Option<f64> {
        self.elapsed.map(|e| self.delivered as f64 / e.as_secs_f64())
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json());
        } else {
            print!("{}", self.text());
        }
    }

    fn text(&self) -> String {
        let mut out = format!("workload: {}, {} bytes", self.workload, self.size);
        if self.rate > 0.0 {
            out.push_str(&format!(", {} msg/s per sender offered", self.rate));
        }
        out.push('\n');
        if let Some((n, t)) = self.idle_users {
            out.push_str(&format!("idle users: {n} logged in on both ports in {:.2} s\n", t.as_secs_f64()));
        }
        if let Some(t) = self.login_time {
            out.push_str(&format!("login of the workload's users: {:.2} s\n", t.as_secs_f64()));
        }
        if let (Some(rate), Some(e)) = (self.throughput(), self.elapsed) {
            out.push_str(&format!(
                "delivered: {} messages in {:.3} s = {rate:.0} msg/s end to end\n",
                self.delivered,
                e.as_secs_f64()
            ));
        }
        if let Some([p50, p90, p99, p999, max]) = self.latency_us {
            out.push_str(&format!(
                "latency MSG -> receiver: p50 {} p90 {} p99 {} p99.9 {} max {}\n",
                ms(p50),
                ms(p90),
                ms(p99),
                ms(p999),
                ms(max)
            ));
        }
        for (what, rss) in [("with the idle crowd", self.rss_idle), ("at the end", self.rss_end)] {
            if let Some(bytes) = rss {
                out.push_str(&format!("server RSS {what}: {:.1} MiB\n", bytes as f64 / 1048576.0));
            }
        }
        out
    }

    fn json(&self) -> String {
        let mut fields =
            vec![format!("\"workload\":\"{}\"", self.workload), format!("\"size\":{}", self.size)];
        fields.push(format!("\"rate_per_sender\":{}", self.rate));
        if let Some((n, t)) = self.idle_users {
            fields.push(format!("\"idle_users\":{n},\"idle_login_s\":{:.3}", t.as_secs_f64()));
        }
        if let Some(t) = self.login_time {
            fields.push(format!("\"login_s\":{:.3}", t.as_secs_f64()));
        }
        if let (Some(rate), Some(e)) = (self.throughput(), self.elapsed) {
            fields.push(format!(
                "\"delivered\":{},\"elapsed_s\":{:.4},\"msgs_per_s\":{rate:.0}",
                self.delivered,
                e.as_secs_f64()
            ));
        }
        if let Some([p50, p90, p99, p999, max]) = self.latency_us {
            fields.push(format!(
                "\"latency_us\":{{\"p50\":{p50},\"p90\":{p90},\"p99\":{p99},\"p99_9\":{p999},\"max\":{max}}}"
            ));
        }
        if let Some(rss) = self.rss_idle {
            fields.push(format!("\"rss_idle_bytes\":{rss}"));
        }
        if let Some(rss) = self.rss_end {
            fields.push(format!("\"rss_end_bytes\":{rss}"));
        }
        format!("{{{}}}", fields.join(","))
    }
}

fn ms(us: u32) -> String {
    format!("{:.3} ms", f64::from(us) / 1000.0)
}
