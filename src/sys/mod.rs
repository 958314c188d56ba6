//! What differs between operating systems, in one place: every call that
//! exists on one system and not another is in this module, one file per
//! concern, each with a branch for the systems it serves and a portable
//! one for the rest. Elsewhere wachat calls std, the crates of
//! Cargo.toml and these functions, and never `libc` or `std::os`
//! (tests/tools/portable.rs checks it on the sources).
//!
//! wachat builds and runs on Linux, macOS and Windows (README,
//! "Install"); the `cluster` feature is for Linux. What each system gives,
//! and what wachat does where one lacks something:
//!
//! | file | what | Linux | macOS | Windows |
//! |---|---|---|---|---|
//! | [`socket`] | waiting on sockets, a send or receive that does not wait, waking a poll | `poll`, `MSG_DONTWAIT`, a Unix socket pair | the same | `WSAPoll`, asked before a send or receive; two loopback UDP sockets |
//! | [`disk`] | reads and writes at an offset, blocks reserved, a directory's names made durable | `pread`/`pwrite`, `posix_fallocate`, `fsync` on the directory | the same, `F_PREALLOCATE` (fs4) | `ReadFile`/`WriteFile` at an offset, the allocation size (fs4), none (NTFS's journal) |
//! | [`private`] | files for their owner only | modes 0600 / 0700 | the same | the folder's access list, inherited |
//! | [`owner`] | what a command run as root leaves in another user's data directory, given to that user | `lchown`, `getpwuid_r` | the same | nothing to give: a file takes its folder's access list |
//! | [`limits`] | open files, threads, memory maps | `RLIMIT_NOFILE`, `/proc/sys` | `RLIMIT_NOFILE` | no such limits |
//! | [`process`] | a process's memory and CPU time; a child without the right to raise its threads' priority | `/proc/<pid>`; `prctl`, `setrlimit` | not read; nothing to drop | not read; nothing to drop |
//! | [`signals`] | a request to stop | `SIGINT`, `SIGTERM`; `SIGXFSZ` ignored | the same | Ctrl+C |
//! | [`terminal`] | the line editor's terminal settings | termios | termios | the console's mode |
//! | [`clock`] | the local time zone | `localtime_r` | `localtime_r` | `localtime_s` |
//! | [`host`] | the machine's name | `gethostname` | `gethostname` | `COMPUTERNAME` |
//! | [`shell`] | a command line given by the user | `sh -c` | `sh -c` | `cmd /C` |
//! | [`places`] | where a user's files go, and their names | `~/.local/share`, `/dev/null` | the same | `%LOCALAPPDATA%`, `NUL`, no `:` in a name |
//!
//! File locks (`File::try_lock`: `flock`, `LockFileEx`) and syncs
//! (`File::sync_all`: `fsync`, `F_FULLFSYNC`, `FlushFileBuffers`) are
//! std's on every system, and need nothing here.

pub mod clock;
pub mod disk;
pub mod host;
pub mod limits;
pub mod owner;
pub mod places;
pub mod private;
pub mod process;
pub mod shell;
pub mod signals;
pub mod socket;
pub mod terminal;
