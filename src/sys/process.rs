//! What a process costs, as the benchmarks report it: resident memory and
//! CPU time, read from Linux's `/proc`. Other systems keep these figures
//! elsewhere (`task_info` on macOS, `GetProcessMemoryInfo` on Windows);
//! there the functions answer `None` and a report leaves the figure out.
//! And a child started without the right to raise its threads'
//! priority, as a user's program runs ([`without_raised_priority`]: the
//! tests' browsers, started as root).

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

/// Starts `command` without the right to raise a thread above the
/// others, as a user's program runs. On Linux a program started by root
/// may, and chromium then runs its audio threads in real time (SCHED_RR)
/// and its media threads at nice -8: the tests' browsers (run as root
/// here and on CI) in a room's call of eight took 95 % of two cores (the
/// kernel's share for real-time threads), and the pages' own threads,
/// chromedriver and the server starved. So the child drops
/// CAP_SYS_NICE from its bounding set and gets no real-time or raised
/// priority by rlimit, and every thread of it gets its fair share. A
/// user who never had the capability changes nothing. Other systems
/// give a user's program no such right: nothing to do.
#[cfg(target_os = "linux")]
pub fn without_raised_priority(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    /// linux/capability.h's number for it (libc does not name it).
    const CAP_SYS_NICE: libc::c_ulong = 23;
    // In the child, after its fork and before its exec.
    let drop_the_right = || {
        let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: plain system calls on the forked, not yet exec'd, child.
        unsafe {
            libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0);
            if libc::setrlimit(libc::RLIMIT_RTPRIO, &none) != 0
                || libc::setrlimit(libc::RLIMIT_NICE, &none) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: prctl and setrlimit are async-signal-safe, as pre_exec needs.
    unsafe { command.pre_exec(drop_the_right) };
}

/// The same where a program gets no right that a user's lacks.
#[cfg(not(target_os = "linux"))]
pub fn without_raised_priority(_command: &mut std::process::Command) {}
