//! The machine's name, from which a device's default name is made
//! (`client::device`): `gethostname` on Unix, `COMPUTERNAME` on Windows
//! (set by the system for every process).

/// The machine's host name; empty if the system says none.
#[cfg(unix)]
pub fn name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes (and may leave the name unterminated if cut,
    // hence the search for the NUL within the buffer).
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(not(unix))]
pub fn name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_default()
}
