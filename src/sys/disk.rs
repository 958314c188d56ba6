//! Files on disk: reads and writes at a position, blocks reserved ahead,
//! and making a new or renamed file's name durable.
//!
//! What a sync promises differs (docs/RELIABILITY.md, "Each system"):
//! `File::sync_all`/`sync_data` is `fsync`/`fdatasync` on Linux,
//! `fcntl(F_FULLFSYNC)` on macOS (a plain `fsync` there leaves the data in
//! the drive's cache; Rust's std asks for the full flush), and
//! `FlushFileBuffers` on Windows. The store calls them and nothing else.
//! Free space is read through `fs4::statvfs` (`statvfs`, or
//! `GetDiskFreeSpaceExW`), which needs nothing here.

use std::fs::File;
use std::io;
use std::path::Path;

/// Reads and writes at an offset, leaving the others' view of the file
/// alone: `pread`/`pwrite` on Unix; on Windows `ReadFile`/`WriteFile`
/// with the offset given, which also moves the handle's own position
/// (wachat never reads through that position on a file read at offsets).
pub trait At {
    /// Reads up to `buf.len()` bytes at `offset`; how many (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Reads exactly `buf.len()` bytes at `offset`, or fails.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `bytes` at `offset`.
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()>;
}

#[cfg(unix)]
impl At for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, bytes, offset)
    }
}

#[cfg(windows)]
impl At for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }

    fn write_all_at(&self, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
        while !bytes.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(self, bytes, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    bytes = &bytes[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Gives `file` `len` bytes of blocks allocated (not written) from its
/// start, growing it to `len`: a ballast that a full disk cannot take
/// away. Linux: `posix_fallocate`, which glibc carries out by writing
/// zeros on a file system that cannot allocate.
#[cfg(target_os = "linux")]
pub fn reserve(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a plain call on a descriptor `file` owns for its length.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// macOS (`F_PREALLOCATE`, then the length) and Windows (the allocation
/// size, then the length), through fs4.
#[cfg(not(target_os = "linux"))]
pub fn reserve(file: &File, len: u64) -> io::Result<()> {
    fs4::FileExt::allocate(file, len)
}

/// Makes the names created, renamed or removed in `dir` durable, as a
/// file's sync makes its bytes durable. Unix: `fsync` on the directory.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file, and has no call to flush a
/// directory's names: NTFS keeps them in its journal, which it writes on
/// its own within seconds (docs/RELIABILITY.md says what that costs).
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
