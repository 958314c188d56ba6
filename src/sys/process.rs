//! What a process costs, as the benchmarks report it: resident memory and
//! CPU time, read from Linux's `/proc`. Other systems keep these figures
//! elsewhere (`task_info` on macOS, `GetProcessMemoryInfo` on Windows);
//! there the functions answer `None` and a report leaves the figure out.

use std::fs;

/// A process's resident memory in bytes (`/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU time a process used so far, user and system, in seconds
/// (`/proc/<pid>/stat`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends with the last ')':
    // utime and stime are the 12th and 13th, in clock ticks.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / ticks_per_second()?)
}

#[cfg(unix)]
fn ticks_per_second() -> Option<f64> {
    // SAFETY: sysconf reads a constant of the system.
    Some(unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64)
}

/// Only Linux has `/proc`, so this is never asked.
#[cfg(not(unix))]
fn ticks_per_second() -> Option<f64> {
    None
}
