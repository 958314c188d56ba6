//! `wachat chaos` as a test runs it: the `--json` report read back.

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

/// Runs `wachat chaos` with `args` (at most `timeout`), its output kept.
pub fn run(args: &[&str], timeout: Duration) -> Output {
    super::run_wachat_output("chaos", args, timeout)
}

/// The report of a `--json` run, and each guarantee's status by name.
pub fn report(out: &Output) -> (serde_json::Value, BTreeMap<String, String>) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let statuses = json["guarantees"]
        .as_array()
        .expect("guarantees")
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_string(), g["status"].as_str().unwrap().to_string()))
        .collect();
    (json, statuses)
}

/// The guarantees violated.
pub fn violated(statuses: &BTreeMap<String, String>) -> Vec<String> {
    statuses.iter().filter(|(_, s)| *s == "violated").map(|(n, _)| n.clone()).collect()
}
