//! A [`Stream`] as `std::io` sees it: `Read` and `Write` on `&Stream`
//! (so that two threads holding one `Arc<Stream>` read and write it at
//! once) and on [`SharedStream`]. A plaintext stream goes straight to the
//! socket; a TLS one waits in `poll()` with no lock held and takes its
//! state's lock only for work that cannot block (see the module
//! documentation of [`transport`](super)).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use super::Stream;
use crate::protocol::framing::SetReadTimeout;

impl Read for &Stream {
    /// Plaintext from the peer; `Ok(0)` at its end. A read waits at most
    /// the read timeout, then fails with `WouldBlock` like a socket.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(ws) = &self.ws {
            return self.read_websocket(ws, buf);
        }
        let Some(tls) = &self.tls else { return (&self.tcp).read(buf) };
        let deadline = self.deadline(self.waits.lock().read);
        loop {
            match tls.lock().reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer hung up without `close_notify`: an end all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if !self.receive(deadline)? {
                // The end of the stream: rustls now says how it ended.
                match tls.lock().reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

impl Write for &Stream {
    /// Takes some of `buf` (waiting, up to the write timeout, until some
    /// fits) and hands it to the kernel before returning, so that nothing
    /// stays behind in TLS without a later call to push it.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.is_plain() {
            return (&self.tcp).write(buf);
        }
        let deadline = self.deadline(self.waits.lock().write);
        let timed_out = |e: io::Error| {
            if e.kind() == io::ErrorKind::WouldBlock && deadline.is_some() {
                io::Error::new(io::ErrorKind::TimedOut, "the peer did not read in time")
            } else {
                e
            }
        };
        let taken = loop {
            let taken = self.send_now(buf)?;
            if taken > 0 || buf.is_empty() {
                break taken;
            }
            self.wait(crate::sys::socket::WRITABLE, deadline).map_err(timed_out)?;
        };
        if self.waits.lock().nonblocking {
            return Ok(taken); // the next call pushes the rest on
        }
        while self.unsent() {
            self.wait(crate::sys::socket::WRITABLE, deadline).map_err(timed_out)?;
            self.send_now(&[])?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // `write` leaves nothing behind
    }
}

impl SetReadTimeout for &Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self, timeout)
    }
}

/// A stream shared by owners in several threads (a reader and a writer
/// half, a connection and whoever must shut it down).
#[derive(Clone)]
pub struct SharedStream(pub Arc<Stream>);

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SetReadTimeout for SharedStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }
}
