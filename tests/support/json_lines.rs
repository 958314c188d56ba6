//! Reading the `--json` output of `wachat conform` (one object per case,
//! JSON Lines) in tests: which cases passed, failed or were skipped.

use std::collections::BTreeSet;
use std::process::Output;

/// The value of `"key":"…"` in one JSON line (the suite writes no
/// escaped quote in names and statuses).
pub fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!("\"{key}\":\"")).map(|at| at + key.len() + 4).unwrap_or(line.len());
    let rest = &line[start..];
    &rest[..rest.find('"').unwrap_or(0)]
}

/// The cases of a `--json` run that have `status`.
pub fn with_status(out: &Output, status: &str) -> BTreeSet<String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().filter(|l| field(l, "status") == status).map(|l| field(l, "case").to_string()).collect()
}
