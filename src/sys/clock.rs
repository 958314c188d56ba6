//! The local time zone, as the C library knows it: `localtime_r` on Unix
//! (the thread-safe form), `localtime_s` on Windows.

/// `secs` since the Unix epoch, broken down in the local time zone;
/// `None` for a time the C library cannot convert.
pub fn local(secs: i64) -> Option<libc::tm> {
    let secs = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `tm` is plain data that the call fills; both pointers are
    // valid for the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        #[cfg(unix)]
        let converted = !libc::localtime_r(&secs, &mut tm).is_null();
        #[cfg(windows)]
        let converted = libc::localtime_s(&mut tm, &secs) == 0;
        converted.then_some(tm)
    }
}
