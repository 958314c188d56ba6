//! Framing: turning a byte stream into lines, safely.
//!
//! A frame is one line of UTF-8 ending in `\n` (a `\r` just before it is
//! dropped, so `nc -C` and telnet work too). Three rules protect the server:
//!
//! - **Bounded**: a frame longer than the limit is refused as soon as the
//!   limit is passed, without reading the rest into memory.
//! - **Deadline**: a frame must be *complete* by a deadline, so a client that
//!   dribbles one byte every few seconds is closed like a silent one.
//! - **Non-UTF-8** is reported for that one frame; the connection goes on.

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Why no frame could be read.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection (possibly in the middle of a frame).
    Closed,
    /// The frame passed the size limit; the connection must be closed.
    TooLong,
    /// No complete frame arrived before the deadline.
    TimedOut,
    /// The frame is not UTF-8; it was skipped and the connection can go on.
    NotUtf8,
    /// Any other socket error.
    Io(io::Error),
}

/// Something whose blocking reads can be given a timeout: a socket, or a
/// byte slice in unit tests (which never blocks).
pub trait SetReadTimeout {
    /// Sets how long the next blocking read may wait (`None`: forever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl SetReadTimeout for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl SetReadTimeout for &TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl SetReadTimeout for &[u8] {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// Reads frames from one connection.
pub struct FrameReader<R> {
    /// Buffered input; its buffer also tells whether more frames are already
    /// waiting (pipelining), see [`FrameReader::has_frame`].
    inner: BufReader<R>,
    /// The frame being assembled when it spans several reads.
    line: Vec<u8>,
    /// Size limit of one frame, `\n` included.
    max_len: usize,
    /// The last call returned a frame: `line` must be cleared before the
    /// next one. (After a time-out it is kept: the frame goes on.)
    returned: bool,
    /// The read timeout last given to the socket (`None`: not known), so
    /// that it is not set again for every frame (see [`close_enough`]).
    timeout_set: Option<Option<Duration>>,
}

impl<R: Read + SetReadTimeout> FrameReader<R> {
    /// A reader with a buffer of `buf_size` bytes and frames of at most
    /// `max_len` bytes. A small buffer keeps idle connections cheap; the line
    /// buffer only grows when a frame spans several reads.
    pub fn new(inner: R, buf_size: usize, max_len: usize) -> FrameReader<R> {
        FrameReader {
            inner: BufReader::with_capacity(buf_size, inner),
            line: Vec::new(),
            max_len,
            returned: false,
            timeout_set: None,
        }
    }

    /// The underlying reader (to set options on a socket).
    pub fn get_ref(&self) -> &R {
        self.inner.get_ref()
    }

    /// True when a whole frame is already buffered, so that reading it will
    /// not block. Handlers use it to answer a burst of pipelined requests
    /// with one `write()` and one disk commit.
    pub fn has_frame(&self) -> bool {
        memchr::memchr(b'\n', self.inner.buffer()).is_some()
    }

    /// Reads the next frame, without its `\r\n`, before `deadline`.
    /// After `TimedOut` the bytes read so far are kept, so a caller may use
    /// short deadlines to do other work and then call again.
    pub fn read_frame(&mut self, deadline: Option<Instant>) -> Result<&str, FrameError> {
        let frame = self.read_frame_bytes(deadline)?;
        std::str::from_utf8(frame).map_err(|_| FrameError::NotUtf8)
    }

    /// The next frame as bytes, not yet checked for UTF-8: for a client
    /// that shows a server's bad bytes rather than refusing them (the
    /// conformance suite, `client::wire`). Otherwise as [`read_frame`](Self::read_frame).
    pub fn read_frame_bytes(&mut self, deadline: Option<Instant>) -> Result<&[u8], FrameError> {
        if std::mem::take(&mut self.returned) {
            self.line.clear();
        }
        loop {
            if self.inner.buffer().is_empty() {
                // About to block: allow only the time left until the deadline.
                let timeout = match deadline {
                    None => None,
                    Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => Some(left),
                        _ => return Err(FrameError::TimedOut),
                    },
                };
                self.set_timeout(timeout).map_err(FrameError::Io)?;
            }
            let available = match self.inner.fill_buf() {
                Ok([]) => return Err(FrameError::Closed),
                Ok(bytes) => bytes,
                Err(e) if is_timeout(&e) => continue, // the loop checks the deadline
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::Io(e)),
            };
            let room = self.max_len - self.line.len();
            // memchr: a `PART`'s 16 KB are searched a word at a time.
            match memchr::memchr(b'\n', available) {
                Some(end) if end < room => {
                    self.line.extend_from_slice(&available[..end]);
                    self.inner.consume(end + 1);
                    return self.finish();
                }
                _ if available.len() >= room => {
                    // Passed the limit: stop here, the rest is never read.
                    return Err(FrameError::TooLong);
                }
                _ => {
                    let n = available.len();
                    self.line.extend_from_slice(available);
                    self.inner.consume(n);
                }
            }
        }
    }

    /// Gives the socket a read timeout, unless the one it has is close
    /// enough. The reader assumes nobody else sets it meanwhile.
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.timeout_set.is_some_and(|set| close_enough(set, timeout)) {
            return Ok(());
        }
        self.timeout_set = None; // unknown if the call fails
        self.inner.get_ref().set_read_timeout(timeout)?;
        self.timeout_set = Some(timeout);
        Ok(())
    }

    fn finish(&mut self) -> Result<&[u8], FrameError> {
        self.returned = true;
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(&self.line)
    }

    /// Bytes of a frame begun and not finished: after `Closed`, whether
    /// the peer closed in the middle of a line.
    pub fn unfinished(&self) -> usize {
        if self.returned { 0 } else { self.line.len() }
    }
}

/// True if a socket whose read timeout is `set` may wait for `wanted`
/// without setting it again: within 1/32 of it (a read then waits at most
/// ~3 % longer than asked; one that returns early is simply made again).
/// Setting it is a system call: one per request otherwise, as many as the
/// reads themselves at 10,000 msgs/s (perf, BENCHMARKS.md).
fn close_enough(set: Option<Duration>, wanted: Option<Duration>) -> bool {
    match (set, wanted) {
        (None, None) => true,
        (Some(set), Some(wanted)) => set.abs_diff(wanted) <= wanted / 32,
        _ => false,
    }
}

/// True for the errors a socket read returns when its timeout passes.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max_len: usize) -> Vec<Result<String, String>> {
        let mut reader = FrameReader::new(input, 8, max_len);
        let mut out = Vec::new();
        loop {
            match reader.read_frame(None) {
                Ok(line) => out.push(Ok(line.to_string())),
                Err(FrameError::Closed) => return out,
                Err(FrameError::TooLong) => {
                    out.push(Err("too long".into()));
                    return out;
                }
                Err(e) => out.push(Err(format!("{e:?}"))),
            }
        }
    }

    #[test]
    fn splits_lines_across_small_buffers_and_drops_cr() {
        let got = frames(b"PING\r\nMSG:bob:1:hello world\nQUIT\n", 100);
        let want: Vec<Result<String, String>> =
            vec![Ok("PING".into()), Ok("MSG:bob:1:hello world".into()), Ok("QUIT".into())];
        assert_eq!(got, want);
    }

    #[test]
    fn limit_counts_the_newline() {
        assert_eq!(frames(b"12345678\n", 9), vec![Ok("12345678".to_string())]);
        assert_eq!(frames(b"123456789\n", 9), vec![Err("too long".to_string())]);
        // No newline at all: refused once the limit is passed, not at EOF.
        assert_eq!(frames(&[b'x'; 1000], 9), vec![Err("too long".to_string())]);
    }

    #[test]
    fn bad_utf8_spoils_one_frame_only() {
        let got = frames(b"\xff\xfe\nPING\n", 100);
        assert_eq!(got, vec![Err("NotUtf8".to_string()), Ok("PING".to_string())]);
    }

    #[test]
    fn a_partial_last_frame_is_a_close() {
        assert_eq!(frames(b"PING\nPIN", 100), vec![Ok("PING".to_string())]);
        let mut reader = FrameReader::new(&b"PING\nPIN"[..], 8, 100);
        reader.read_frame(None).unwrap();
        assert_eq!(reader.unfinished(), 0, "a whole frame read");
        assert!(matches!(reader.read_frame(None), Err(FrameError::Closed)));
        assert_eq!(reader.unfinished(), 3, "closed in the middle of PIN");
    }

    #[test]
    fn bytes_that_are_not_utf8_can_be_had_as_they_came() {
        let mut reader = FrameReader::new(&b"caf\xe9\r\n"[..], 8, 100);
        assert_eq!(reader.read_frame_bytes(None).unwrap(), b"caf\xe9");
    }

    #[test]
    fn has_frame_sees_pipelined_requests() {
        let input: &[u8] = b"PING\nPING\n";
        let mut reader = FrameReader::new(input, 64, 100);
        reader.read_frame(None).unwrap();
        assert!(reader.has_frame());
        reader.read_frame(None).unwrap();
        assert!(!reader.has_frame());
    }

    #[test]
    fn a_timeout_close_to_the_one_set_is_not_set_again() {
        let s = Duration::from_secs;
        assert!(close_enough(Some(s(10)), Some(s(10) - Duration::from_millis(3))));
        assert!(close_enough(Some(s(10) - Duration::from_millis(3)), Some(s(10))));
        assert!(!close_enough(Some(s(10)), Some(Duration::from_millis(50))));
        assert!(!close_enough(Some(Duration::from_millis(50)), Some(s(10))));
        assert!(close_enough(None, None));
        assert!(!close_enough(None, Some(s(1))) && !close_enough(Some(s(1)), None));
    }

    /// A socket that counts how often its timeout is set.
    #[derive(Default)]
    struct Counting(std::cell::Cell<usize>);

    impl Read for &Counting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf[..5].copy_from_slice(b"PING\n");
            Ok(5)
        }
    }

    impl SetReadTimeout for &Counting {
        fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
            self.0.set(self.0.get() + 1);
            Ok(())
        }
    }

    #[test]
    fn the_socket_timeout_is_set_once_for_frames_with_the_same_deadline_and_again_when_it_changes() {
        let socket = Counting::default();
        let mut reader = FrameReader::new(&socket, 5, 100);
        for _ in 0..100 {
            reader.read_frame(Some(Instant::now() + Duration::from_secs(10))).unwrap();
        }
        assert_eq!(socket.0.get(), 1);
        reader.read_frame(Some(Instant::now() + Duration::from_millis(50))).unwrap();
        reader.read_frame(None).unwrap();
        assert_eq!(socket.0.get(), 3);
    }
}
