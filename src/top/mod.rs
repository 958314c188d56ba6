//! `wachat top`: a live view of one running server (or cluster node), read
//! from its metrics endpoint (`wachat serve --metrics`), for a teacher
//! watching a lab session or an operator on an SSH session.
//!
//! - [`scrape`]: one `GET /metrics` and the text it returns, as samples;
//! - [`figures`]: rates, percentiles and gauges from two scrapes;
//! - [`dashboard`]: the full screen (ratatui): messages/s and
//!   deliveries/s as sparklines, the figures beside them, every second.
//!
//! `--once` prints the figures as plain text after two scrapes one
//! `--interval` apart, for scripts; without a terminal, `top` says so.
//! `top` only reads the endpoint: it needs no account and changes nothing.

pub mod dashboard;
pub mod figures;
pub mod scrape;

use std::time::Duration;

use clap::Args;

use crate::error::{Error, Result};
use figures::Figures;

/// `wachat top`'s arguments.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// The server's metrics endpoint (its --metrics): PORT on this
    /// machine, or HOST:PORT.
    #[arg(default_value = "127.0.0.1:9100", value_name = "[HOST:]PORT")]
    pub metrics: String,
    /// Seconds between two scrapes.
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Print one plain-text snapshot (rates over one interval) and exit.
    #[arg(long)]
    pub once: bool,
}

fn parse_interval(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: a number of seconds from 0.1 to 3600")),
    }
}

/// How long one scrape may take, its whole answer read (a slower
/// endpoint is given up, with an error that says so).
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

pub fn run(args: TopArgs) -> Result<()> {
    let interval = Duration::from_secs_f64(args.interval);
    if args.once {
        let before = scrape::fetch(&args.metrics, SCRAPE_TIMEOUT)?;
        std::thread::sleep(interval); // the interval the rates are measured over
        let now = scrape::fetch(&args.metrics, SCRAPE_TIMEOUT)?;
        print!("{}", Figures::new(Some(&before), &now).text(&args.metrics));
        return Ok(());
    }
    crate::tui::check().map_err(|e| Error::Usage(format!("{e} (wachat top --once prints plain text)")))?;
    dashboard::run(&args.metrics, interval)
}
