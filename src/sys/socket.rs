//! Sockets: waiting until some are ready (`poll`), reading and writing
//! one without waiting, and waking a thread that waits.
//!
//! A server thread must never wait for one slow peer while it holds a
//! lock or serves others (the router, TLS, the closer): it asks the
//! kernel for what it can do now, and waits only in `poll`, with no lock
//! held. Unix has all of it: `poll`, and `MSG_DONTWAIT` for one call
//! that does not wait on a socket that otherwise does. Windows has
//! `WSAPoll` but no such flag, and a socket is waiting or not for all its
//! users at once (the reader thread of a connection keeps waiting on it).
//! There a send or receive "without waiting" first asks `WSAPoll`,
//! without a timeout, whether the socket is ready, and skips the call if
//! not; a send Windows takes when the socket is ready does not wait (it
//! buffers the whole send when any room is left, so a send may take more
//! than the kernel's buffer: at most what the caller hands it).

use std::io;
use std::net::TcpStream;

/// Which events to wait for, or which happened (`poll`'s bits).
pub type Events = i16;

/// Bytes (or the end of the stream) can be read.
#[cfg(unix)]
pub const READABLE: Events = libc::POLLIN;
/// Some bytes can be written.
#[cfg(unix)]
pub const WRITABLE: Events = libc::POLLOUT;
#[cfg(windows)]
pub const READABLE: Events = windows_sys::Win32::Networking::WinSock::POLLIN;
#[cfg(windows)]
pub const WRITABLE: Events = windows_sys::Win32::Networking::WinSock::POLLOUT;

/// What `poll` reports on its own: an error, a hang-up, a bad socket.
#[cfg(unix)]
const TROUBLE: Events = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
#[cfg(windows)]
const TROUBLE: Events = {
    use windows_sys::Win32::Networking::WinSock::{POLLERR, POLLHUP, POLLNVAL};
    POLLHUP | POLLERR | POLLNVAL
};

/// What a socket is, for `poll`: a descriptor on Unix, a `SOCKET` on
/// Windows. `TcpStream`, `UdpSocket` and the wake-up pair all are.
#[cfg(unix)]
pub use std::os::fd::AsFd as AsSocket;
#[cfg(windows)]
pub use std::os::windows::io::AsSocket;

#[cfg(unix)]
type PollFd = libc::pollfd;
#[cfg(windows)]
type PollFd = windows_sys::Win32::Networking::WinSock::WSAPOLLFD;

/// One socket and the events awaited on it, as `poll` takes it.
#[repr(transparent)]
pub struct Waiting(PollFd);

impl Waiting {
    /// Waits for `events` on `socket`, which must stay open while this is
    /// polled.
    pub fn new(socket: &impl AsSocket, events: Events) -> Waiting {
        #[cfg(unix)]
        let fd = std::os::fd::AsRawFd::as_raw_fd(&socket.as_fd());
        #[cfg(windows)]
        let fd = std::os::windows::io::AsRawSocket::as_raw_socket(&socket.as_socket()) as usize;
        Waiting(PollFd { fd, events, revents: 0 })
    }

    /// The events awaited that happened at the last [`poll`]. An error or
    /// a hang-up wakes `poll` without them: it counts as all of them, so
    /// that the next read or write finds out what it was.
    pub fn ready(&self) -> Events {
        if self.0.revents & TROUBLE != 0 { self.0.events } else { self.0.revents & self.0.events }
    }
}

/// Waits until one of `sockets` is ready, at most `timeout_ms` (-1:
/// forever); how many are. A signal that interrupts the wait fails with
/// `Interrupted`, for the caller to wait again.
pub fn poll(sockets: &mut [Waiting], timeout_ms: i32) -> io::Result<usize> {
    #[cfg(unix)]
    // SAFETY: `Waiting` is a `pollfd` (repr(transparent)); the slice is
    // valid for its length during the call, which writes only `revents`.
    let n = unsafe { libc::poll(sockets.as_mut_ptr().cast(), sockets.len() as libc::nfds_t, timeout_ms) };
    #[cfg(windows)]
    // SAFETY: as above, with `WSAPOLLFD`.
    let n = unsafe {
        windows_sys::Win32::Networking::WinSock::WSAPoll(
            sockets.as_mut_ptr().cast(),
            sockets.len() as u32,
            timeout_ms,
        )
    };
    if n < 0 {
        return Err(last_error());
    }
    Ok(n as usize)
}

#[cfg(unix)]
fn last_error() -> io::Error {
    io::Error::last_os_error()
}

#[cfg(windows)]
fn last_error() -> io::Error {
    // SAFETY: reads the calling thread's last socket error.
    io::Error::from_raw_os_error(unsafe { windows_sys::Win32::Networking::WinSock::WSAGetLastError() })
}

/// Sends what the kernel takes now of `bytes`; how much it took (0 if
/// nothing fits). The socket may otherwise be waiting (blocking).
pub fn send_now(tcp: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    loop {
        match send_dontwait(tcp, bytes) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            other => return other,
        }
    }
}

#[cfg(unix)]
fn send_dontwait(tcp: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    socket2::SockRef::from(tcp).send_with_flags(bytes, libc::MSG_DONTWAIT)
}

#[cfg(windows)]
fn send_dontwait(tcp: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    if !ready_now(tcp, WRITABLE)? {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    socket2::SockRef::from(tcp).send(bytes)
}

/// Receives what the kernel holds now into `buf`; `WouldBlock` if it
/// holds nothing yet, `Ok(0)` at the end of the stream.
pub fn recv_now(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(windows)]
    if !ready_now(tcp, READABLE)? {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    // SAFETY: recv writes initialised bytes only, at most buf.len().
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
    #[cfg(unix)]
    let flags = libc::MSG_DONTWAIT;
    #[cfg(windows)]
    let flags = 0;
    socket2::SockRef::from(tcp).recv_with_flags(uninit, flags)
}

/// True if `tcp` is ready for `events` now.
pub fn ready_now(tcp: &TcpStream, events: Events) -> io::Result<bool> {
    let mut waiting = [Waiting::new(tcp, events)];
    Ok(poll(&mut waiting, 0)? > 0 && waiting[0].ready() != 0)
}

/// The end that wakes a thread waiting in [`poll`] on the [`Woken`] end:
/// a byte sent between two local sockets (the "self-pipe trick"). A Unix
/// socket pair on Unix; on Windows, where `WSAPoll` takes sockets only
/// and std has no socket pair, two UDP sockets on the loopback address.
pub struct Waker(Local);

/// The end a waiting thread polls: see [`Waker`].
pub struct Woken(Local);

#[cfg(unix)]
type Local = std::os::unix::net::UnixStream;
#[cfg(windows)]
type Local = std::net::UdpSocket;

/// A new pair of ends, neither of which ever waits.
pub fn wake_pair() -> io::Result<(Waker, Woken)> {
    #[cfg(unix)]
    let (wake, woken) = Local::pair()?;
    #[cfg(windows)]
    let (wake, woken) = {
        let loopback = std::net::Ipv4Addr::LOCALHOST;
        let (wake, woken) = (Local::bind((loopback, 0))?, Local::bind((loopback, 0))?);
        wake.connect(woken.local_addr()?)?;
        woken.connect(wake.local_addr()?)?;
        (wake, woken)
    };
    wake.set_nonblocking(true)?;
    woken.set_nonblocking(true)?;
    Ok((Waker(wake), Woken(woken)))
}

impl Waker {
    /// Wakes the other end. A full buffer already wakes it, so a send
    /// that fails changes nothing.
    pub fn wake(&self) {
        #[cfg(unix)]
        let _ = io::Write::write(&mut &self.0, &[1]);
        #[cfg(windows)]
        let _ = self.0.send(&[1]);
    }
}

impl Woken {
    /// This end, for [`poll`].
    pub fn waiting(&self) -> Waiting {
        Waiting::new(&self.0, READABLE)
    }

    /// Reads away the wake-ups that came.
    pub fn drain(&self) {
        let mut sink = [0u8; 64];
        #[cfg(unix)]
        while matches!(io::Read::read(&mut &self.0, &mut sink), Ok(1..)) {}
        #[cfg(windows)]
        while matches!(self.0.recv(&mut sink), Ok(1..)) {}
    }
}
