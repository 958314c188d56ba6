//! What the operating system allows: open files, threads, memory maps.
//!
//! A thread per connection meets three Linux limits before it meets the
//! CPU: open files (a socket each), `vm.max_map_count` (every thread costs
//! about 4 memory maps: stack, its guard page, signal stack and its guard;
//! past the limit the process is *killed*, spawning does not fail), and
//! `kernel.pid_max` (threads take pids). The server checks them at start
//! and lowers its connection limit, saying which setting to raise, rather
//! than dying at connection 16,000.
//!
//! macOS has the open-files limit (`ulimit -n`, 256 by default in a
//! terminal) but not the two `/proc` settings, which are then skipped.
//! Windows has none of them: a socket is a handle, and handles are bounded
//! by memory only, so the open-files limit reads as unlimited there.

use std::fs;

/// Memory maps one connection thread costs (measured: 4 per thread).
const MAPS_PER_THREAD: usize = 4;
/// Maps, pids and files the process needs besides connection threads.
const RESERVE: usize = 1000;

/// Makes glibc give large blocks (argon2's 19 MiB per hash) back to the
/// system when freed. By default glibc raises its threshold for that after
/// the first such free, and then keeps every later block in its heap:
/// hundreds of MiB held for a crowd of logins long gone. Measured: at
/// 1 MiB, RSS after 2,000 logins at the default cost is 39 MiB; at 8 MiB
/// it is 812 MiB after 300 (argon2 allocates pieces smaller than 8 MiB).
pub fn return_big_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a number inside the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Raises the soft open-files limit to the hard limit; returns (soft, hard).
#[cfg(unix)]
pub fn raise_nofile_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// Windows bounds a process's sockets by memory alone: the limit reads as
/// unlimited, as `RLIM_INFINITY` does on Unix.
#[cfg(not(unix))]
pub fn raise_nofile_limit() -> std::io::Result<(u64, u64)> {
    Ok((u64::MAX, u64::MAX))
}

fn read_number(path: &str) -> Option<usize> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// How many connections this machine lets one process serve with a thread
/// each, and the advice for each limit that is lower than `wanted`.
/// `lingering` sockets may be closing besides (a descriptor each, no
/// thread: see `server::closer`).
pub fn connection_capacity(wanted: usize, lingering: usize) -> (usize, Vec<String>) {
    let mut capacity = wanted;
    let mut advice = Vec::new();
    match raise_nofile_limit() {
        Ok((soft, hard)) => {
            // Each connection is one socket, and so is each lingering
            // close; the files and listeners need a few more.
            let files = (soft as usize).saturating_sub(64 + lingering);
            if files < capacity {
                capacity = files;
                advice.push(format!(
                    "open files: the limit is {soft} (hard {hard}); raise it with `ulimit -n {}` \
                     or LimitNOFILE= in a systemd unit",
                    wanted + lingering + 64
                ));
            }
        }
        Err(e) => advice.push(format!("open files: cannot read the limit: {e}")),
    }
    if let Some(maps) = read_number("/proc/sys/vm/max_map_count") {
        let threads = maps.saturating_sub(RESERVE) / MAPS_PER_THREAD;
        if threads < capacity {
            capacity = threads;
            advice.push(format!(
                "vm.max_map_count is {maps}: about {threads} threads fit; run \
                 `sysctl -w vm.max_map_count={}`",
                (wanted + RESERVE) * MAPS_PER_THREAD * 2
            ));
        }
    }
    for (path, name) in [
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
    ] {
        if let Some(max) = read_number(path) {
            let threads = max.saturating_sub(RESERVE);
            if threads < capacity {
                capacity = threads;
                advice.push(format!("{name} is {max}; run `sysctl -w {name}={}`", wanted + 2 * RESERVE));
            }
        }
    }
    (capacity, advice)
}
