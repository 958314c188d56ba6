//! The client side of the wire for programs that read a server which may
//! be anyone's: the conformance suite (`conform`), the fault injector's
//! users (`chaos`) and the load generator (`bench`).
//!
//! Lines are read through the protocol's [`FrameReader`], the one the
//! server and the client library read with, so a line is split, bounded
//! and timed in one place: each read has a deadline, a line is at most a
//! given size (a server that never sends `\n` costs a buffer, not all the
//! memory), and bytes that are not UTF-8 are shown as `�`, not refused —
//! a student's server may well send them, and the suite must say what it
//! got. A read that gives no line says why, in a [`NoLine`], so each program
//! words its own report.

use std::io;
use std::time::Instant;

use crate::protocol::{FrameError, FrameReader};
use crate::transport::SharedStream;

/// Longest line a tool reads from a server under test: a frame (16384
/// bytes, [`MAX_FRAME`](crate::protocol::MAX_FRAME)) with room to spare
/// for a server whose frames are larger. A longer one is a failure, not a
/// memory hog.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a read gave no line.
#[derive(Debug)]
pub enum NoLine {
    /// Nothing whole by the deadline: the connection may still be fine.
    Silent,
    /// The server closed the connection (`mid_line`: after part of a line).
    Closed { mid_line: bool },
    /// A line passed the limit; the connection is no use any more.
    TooLong,
    /// The socket failed (a reset, a TLS error).
    Failed(io::Error),
}

/// The reading half of a connection to a server.
pub struct ReadHalf {
    frames: FrameReader<SharedStream>,
}

impl ReadHalf {
    /// Reads from `stream` with a buffer of `buf_size` bytes, lines of at
    /// most `max_len` bytes (`\n` included).
    pub fn new(stream: SharedStream, buf_size: usize, max_len: usize) -> ReadHalf {
        ReadHalf { frames: FrameReader::new(stream, buf_size, max_len) }
    }

    /// The next line, without its `\r\n`, whole by `deadline`.
    pub fn next_by(&mut self, deadline: Instant) -> Result<String, NoLine> {
        match self.frames.read_frame_bytes(Some(deadline)) {
            Ok(line) => Ok(String::from_utf8_lossy(line).into_owned()),
            Err(FrameError::TimedOut) => Err(NoLine::Silent),
            Err(FrameError::Closed) => Err(NoLine::Closed { mid_line: self.frames.unfinished() > 0 }),
            Err(FrameError::TooLong) => Err(NoLine::TooLong),
            Err(FrameError::Io(e)) => Err(NoLine::Failed(e)),
            // Not returned by read_frame_bytes, which leaves UTF-8 to us.
            Err(FrameError::NotUtf8) => Err(NoLine::Failed(io::ErrorKind::InvalidData.into())),
        }
    }

    /// True if a whole line is already buffered (reading it will not block).
    pub fn has_line(&self) -> bool {
        self.frames.has_frame()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::transport::Stream;

    /// `ReadHalf` on one end of a loopback connection, the other end to write.
    fn pair(max_len: usize) -> (ReadHalf, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (ReadHalf::new(SharedStream(Arc::new(Stream::plain(client))), 64, max_len), server)
    }

    #[test]
    fn lines_silence_bad_bytes_and_a_close_mid_line() {
        use std::io::Write;
        let (mut lines, mut server) = pair(100);
        server.write_all(b"OK\r\ncaf\xe9\nPAR").unwrap();
        let soon = || Instant::now() + Duration::from_secs(5);
        assert_eq!(lines.next_by(soon()).unwrap(), "OK");
        assert_eq!(lines.next_by(soon()).unwrap(), "caf\u{FFFD}", "shown, not refused");
        let quiet = lines.next_by(Instant::now() + Duration::from_millis(20));
        assert!(matches!(quiet, Err(NoLine::Silent)), "{quiet:?}");
        drop(server);
        let end = lines.next_by(soon());
        assert!(matches!(end, Err(NoLine::Closed { mid_line: true })), "{end:?}");
    }

    #[test]
    fn a_line_past_the_limit_is_refused_without_reading_on() {
        use std::io::Write;
        let (mut lines, mut server) = pair(10);
        server.write_all(&[b'x'; 11]).unwrap();
        let got = lines.next_by(Instant::now() + Duration::from_secs(5));
        assert!(matches!(got, Err(NoLine::TooLong)), "{got:?}");
    }
}
