//! The WebSocket kind of [`super::Stream`]: the browser's
//! connections to `/ws/send` and `/ws/receive` (see `src/web/`), which
//! carry exactly the protocol's lines, one line per text message.
//!
//! The handlers of the two ports read and write lines through a `Stream`
//! and never learn that a browser is on the other end: this layer turns
//! each text message that arrives into its line (`text` + `\n`), and each
//! line written into one text message. The framing itself (masks,
//! lengths, fragments, ping/pong, close) is tungstenite's, driven here
//! through its [`WebSocketContext`], which takes the socket as an argument
//! on every call: so the state can sit behind the stream's mutex like the
//! TLS state does, and **no call waits while holding it**. The socket
//! underneath (plain, or TLS) is read and written without waiting; the
//! stream waits in `poll()` with the lock released, as for TLS.
//!
//! Limits: a message (or a frame, or a header announcing one) longer than
//! the protocol's frame limit ends the connection (tungstenite's
//! `max_message_size` and `max_frame_size`, whose defaults are megabytes);
//! one message is kept at a time on the way in, and at most
//! [`SEND_BUFFER`] bytes of lines are framed per write on the way out
//! (the caller keeps the rest, as the kernel's buffer would make it).
//!
//! **Pongs.** tungstenite answers every ping with a pong, queued in its
//! write buffer, whose size it leaves unbounded by default: a peer that
//! sends pings and never reads made the server hold every pong (8 sockets
//! took it from 10 MiB to 1.5 GiB in 10 s, before any login). So the
//! buffer is capped ([`max_write_buffer`]: one write's lines plus
//! [`MAX_UNREAD_PONGS`]), and a peer that leaves more than
//! [`MAX_UNREAD_PONGS`] of pongs unread — pinging while the socket takes
//! nothing of what is owed — is cut off, as the receive port's outlet
//! cuts off a slow reader (`BYE:SLOW`). A peer that reads its pongs may
//! ping as it likes: it pays them itself, at the speed it reads.

use std::io::{self, Read, Write};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Error as WsError, Message};

use parking_lot::Mutex;

use super::{DontWait, SEND_BUFFER, Stream};

/// Bytes of pongs a peer may leave unread before it is cut off: as much
/// as a slow reader may leave of its lines (a pong is 2 bytes more than
/// its ping's payload, at most 127).
pub const MAX_UNREAD_PONGS: usize = SEND_BUFFER;

/// Most bytes tungstenite may hold for sending: one `send_now`'s lines
/// ([`SEND_BUFFER`], and the line that crosses it), the pongs owed, and a
/// close frame. 144 KiB with the default frame limit.
pub fn max_write_buffer(max_frame: usize) -> usize {
    SEND_BUFFER + max_frame + MAX_UNREAD_PONGS + 256
}

/// One WebSocket's state, behind its stream's mutex.
pub struct Ws {
    context: WebSocketContext,
    /// The line of the last text message, `\n` included, and how much of
    /// it the reader took already.
    input: Vec<u8>,
    taken: usize,
    /// The start of an outgoing line whose `\n` was not written yet.
    partial: Vec<u8>,
    /// Longest line, `\n` included (the protocol's frame limit).
    max_frame: usize,
    /// Frames wait in tungstenite's buffer for the socket to take them.
    pub unsent: bool,
    /// Bytes of pongs queued since the socket last took everything.
    unread_pongs: usize,
    /// The peer closed (or broke) the WebSocket: reads return the end.
    ended: bool,
    /// An error met after lines that were returned first: the next read's.
    error: Option<io::Error>,
}

impl Ws {
    /// The server's side of a WebSocket whose handshake is done; `early`
    /// holds bytes the client sent after its request (already read).
    pub fn new(early: Vec<u8>, max_frame: usize) -> Ws {
        let config = WebSocketConfig::default()
            // Allocated per connection: small, since lines are.
            .read_buffer_size(4096)
            // Frames collect up to this before a write; `send_now` flushes anyway.
            .write_buffer_size(SEND_BUFFER)
            // What a peer that does not read can make us hold (the default: no limit).
            .max_write_buffer_size(max_write_buffer(max_frame))
            .max_message_size(Some(max_frame))
            .max_frame_size(Some(max_frame));
        let context = WebSocketContext::from_partially_read(early, Role::Server, Some(config));
        Ws {
            context,
            input: Vec::new(),
            taken: 0,
            partial: Vec::new(),
            max_frame,
            unsent: false,
            unread_pongs: 0,
            ended: false,
            error: None,
        }
    }

    /// Reads the protocol's bytes: the rest of the last message's line,
    /// then the lines of the messages already arrived, as many as fit, so
    /// that a burst of pipelined requests reaches the handler at once (it
    /// answers what is buffered with one write and one commit).
    /// `WouldBlock` when the socket has nothing now.
    pub fn read(&mut self, buf: &mut [u8], raw: &mut impl RawIo) -> io::Result<usize> {
        let mut written = 0;
        loop {
            if self.taken < self.input.len() {
                let n = (buf.len() - written).min(self.input.len() - self.taken);
                buf[written..written + n].copy_from_slice(&self.input[self.taken..self.taken + n]);
                self.taken += n;
                written += n;
                if written == buf.len() {
                    return Ok(written);
                }
            }
            if let Some(e) = self.error.take() {
                return if written > 0 {
                    self.error = Some(e); // after the lines before it
                    Ok(written)
                } else {
                    Err(e)
                };
            }
            if self.ended {
                return Ok(written);
            }
            match self.next_message(raw) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && written > 0 => return Ok(written),
                Err(e) if written > 0 => self.error = Some(e),
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes the next text message into `input` (or notes the end).
    fn next_message(&mut self, raw: &mut impl RawIo) -> io::Result<()> {
        loop {
            match self.context.read(raw) {
                Ok(Message::Text(text)) => {
                    self.input.clear();
                    self.taken = 0;
                    self.input.extend_from_slice(text.as_bytes());
                    if !text.ends_with('\n') {
                        self.input.push(b'\n');
                    }
                    return Ok(());
                }
                Ok(Message::Binary(_)) => {
                    self.refuse(raw, CloseCode::Unsupported, "wachat speaks text messages");
                    return Err(invalid("a binary WebSocket message (the protocol is text lines)"));
                }
                Ok(Message::Close(_)) => {
                    self.ended = true;
                    let _ = self.context.flush(raw); // tungstenite's answer to the close
                    return Ok(());
                }
                Ok(Message::Ping(payload)) => self.owe_pong(payload.len(), raw)?,
                Ok(_) => {} // a pong, or a frame of a message not whole yet
                Err(WsError::Io(e)) => return Err(e),
                Err(
                    WsError::ConnectionClosed
                    | WsError::AlreadyClosed
                    | WsError::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake),
                ) => {
                    self.ended = true;
                    return Ok(());
                }
                Err(WsError::Capacity(e)) => {
                    self.refuse(raw, CloseCode::Size, "longer than the frame limit");
                    return Err(invalid(&format!("WebSocket message too long: {e}")));
                }
                Err(e) => return Err(invalid(&format!("WebSocket: {e}"))),
            }
        }
    }

    /// tungstenite queued the pong of a ping of `payload` bytes: sends it
    /// if the socket takes it now, and cuts the peer off once it has left
    /// more than [`MAX_UNREAD_PONGS`] unread.
    fn owe_pong(&mut self, payload: usize, raw: &mut impl RawIo) -> io::Result<()> {
        self.unread_pongs += payload + 2;
        self.flush(raw)?;
        if self.unread_pongs <= MAX_UNREAD_PONGS {
            return Ok(());
        }
        self.refuse(raw, CloseCode::Policy, "pings whose pongs are not read");
        let why = format!("WebSocket: the peer left {} bytes of pongs unread", self.unread_pongs);
        Err(io::Error::new(io::ErrorKind::ConnectionAborted, why))
    }

    /// Frames the complete lines of `bytes` (up to [`SEND_BUFFER`] of
    /// them), one text message each, and writes what the socket takes now.
    /// Returns how many bytes were taken; 0 while earlier frames wait.
    pub fn send_now(&mut self, bytes: &[u8], raw: &mut impl RawIo) -> io::Result<usize> {
        if self.unsent {
            self.flush(raw)?;
            if self.unsent {
                return Ok(0);
            }
        }
        let mut taken = 0;
        while taken < bytes.len() && taken < SEND_BUFFER {
            let rest = &bytes[taken..];
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                if self.partial.len() + rest.len() > self.max_frame {
                    return Err(invalid("a line longer than the frame limit"));
                }
                self.partial.extend_from_slice(rest);
                taken = bytes.len();
                break;
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = String::from_utf8(line)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            taken += end + 1;
            match self.context.write(raw, Message::text(text)) {
                Ok(()) => {}
                // Queued all the same: tungstenite keeps the frame.
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.unsent = true;
                    break;
                }
                Err(e) => return Err(closed(e)),
            }
        }
        self.flush(raw)?;
        Ok(taken)
    }

    /// Writes the queued frames the socket takes now.
    pub fn flush(&mut self, raw: &mut impl RawIo) -> io::Result<()> {
        match self.context.flush(raw) {
            Ok(()) => {
                self.unsent = false;
                self.unread_pongs = 0;
            }
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => self.unsent = true,
            Err(e) => return Err(closed(e)),
        }
        Ok(())
    }

    /// Says goodbye with a close frame, if the socket takes it now.
    pub fn close(&mut self, raw: &mut impl RawIo) {
        let _ = self.context.close(raw, None);
    }

    /// Closes with a code that says why (the browser shows it in its
    /// developer tools), without waiting.
    fn refuse(&mut self, raw: &mut impl RawIo, code: CloseCode, reason: &'static str) {
        let _ = self.context.close(raw, Some(CloseFrame { code, reason: reason.into() }));
        self.ended = true;
    }
}

impl Stream {
    /// Reads a WebSocket's lines: tries without waiting under the lock,
    /// then waits for the socket (feeding TLS on the way) with it released.
    pub(super) fn read_websocket(&self, ws: &Mutex<Ws>, buf: &mut [u8]) -> io::Result<usize> {
        let (deadline, nonblocking) = {
            let waits = self.waits.lock();
            (self.deadline(waits.read), waits.nonblocking)
        };
        let mut ended = false;
        loop {
            match ws.lock().read(buf, &mut Raw(self)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            if ended {
                return Ok(0); // TLS said the end, and no whole message was left
            }
            if nonblocking {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            match &self.tls {
                None => {
                    self.wait(crate::sys::socket::READABLE, deadline)?;
                }
                Some(_) => ended = !self.receive(deadline)?,
            }
        }
    }
}

/// The socket under a WebSocket: plaintext or TLS, never waiting
/// (`WouldBlock` instead), for tungstenite.
pub(super) struct Raw<'a>(pub(super) &'a Stream);

impl Read for Raw<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &self.0.tls else { return DontWait(&self.0.tcp).read(buf) };
        match tls.lock().reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl Write for Raw<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.send_bytes_now(buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The socket under a WebSocket, read and written without ever waiting
/// (`WouldBlock` instead).
pub trait RawIo: Read + Write {}

impl<T: Read + Write> RawIo for T {}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// A write after the WebSocket closed, or a broken one.
fn closed(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        e => io::Error::new(io::ErrorKind::BrokenPipe, format!("WebSocket: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket in memory: what the client sent, what the server wrote.
    #[derive(Default)]
    struct Memory {
        incoming: io::Cursor<Vec<u8>>,
        outgoing: Vec<u8>,
        /// A peer that reads nothing: every write would block.
        stuck: bool,
    }

    impl Memory {
        fn with(incoming: Vec<u8>) -> Memory {
            Memory { incoming: io::Cursor::new(incoming), ..Memory::default() }
        }
    }

    impl Read for Memory {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.incoming.read(buf)? {
                0 => Err(io::ErrorKind::WouldBlock.into()),
                n => Ok(n),
            }
        }
    }

    impl Write for Memory {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.stuck {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.outgoing.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A masked client frame: FIN, `opcode`, a 7-bit or 16-bit length.
    fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x80 | opcode];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        let mask = [1u8, 2, 3, 4];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    fn read_all(ws: &mut Ws, raw: &mut Memory) -> (Vec<u8>, Option<io::Error>) {
        let (mut got, mut buf) = (Vec::new(), [0u8; 7]);
        loop {
            match ws.read(&mut buf, raw) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (got, None),
                Err(e) => return (got, Some(e)),
            }
        }
    }

    #[test]
    fn each_text_message_is_one_line() {
        let mut raw = Memory::default();
        let mut bytes = client_frame(1, b"LOGIN:ana:pw");
        bytes.extend(client_frame(1, b"PING\n"));
        raw.incoming = io::Cursor::new(bytes);
        let mut ws = Ws::new(Vec::new(), 100);
        let (got, error) = read_all(&mut ws, &mut raw);
        assert!(error.is_none());
        assert_eq!(got, b"LOGIN:ana:pw\nPING\n");
    }

    #[test]
    fn a_message_past_the_frame_limit_closes() {
        let mut raw = Memory::with(client_frame(1, &[b'a'; 200]));
        let mut ws = Ws::new(Vec::new(), 100);
        let (got, error) = read_all(&mut ws, &mut raw);
        assert!(got.is_empty());
        assert_eq!(error.unwrap().kind(), io::ErrorKind::InvalidData);
        // The close frame says why: 1009, "message too big".
        assert_eq!(&raw.outgoing[..4], &[0x88, 29, 0x03, 0xF1]);
    }

    #[test]
    fn a_fragmented_message_past_the_limit_closes_too() {
        let mut raw = Memory::default();
        let mut first = client_frame(1, &[b'a'; 60]);
        first[0] &= 0x7F; // not FIN
        let mut second = client_frame(0, &[b'a'; 60]);
        first.append(&mut second);
        raw.incoming = io::Cursor::new(first);
        let mut ws = Ws::new(Vec::new(), 100);
        let (_, error) = read_all(&mut ws, &mut raw);
        assert_eq!(error.unwrap().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_header_announcing_too_much_closes_at_once() {
        // A text frame that announces 60,000 bytes and sends none of them.
        let mut raw = Memory::with(vec![0x81, 0x80 | 126, 0xEA, 0x60, 1, 2, 3, 4]);
        let mut ws = Ws::new(Vec::new(), 100);
        let (_, error) = read_all(&mut ws, &mut raw);
        assert_eq!(error.unwrap().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn lines_written_become_text_messages() {
        let mut raw = Memory::default();
        let mut ws = Ws::new(Vec::new(), 100);
        assert_eq!(ws.send_now(b"OK:ana\nMSG:1:b", &mut raw).unwrap(), 14);
        assert_eq!(raw.outgoing, b"\x81\x06OK:ana");
        assert_eq!(ws.send_now(b"ob:ana:m1:1:hi\n", &mut raw).unwrap(), 15);
        assert_eq!(&raw.outgoing[8..], b"\x81\x15MSG:1:bob:ana:m1:1:hi");
    }

    #[test]
    fn binary_messages_are_refused() {
        let mut raw = Memory::with(client_frame(2, b"PING"));
        let mut ws = Ws::new(Vec::new(), 100);
        let (_, error) = read_all(&mut ws, &mut raw);
        assert_eq!(error.unwrap().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn pings_whose_pongs_are_never_read_close_the_socket() {
        // 10,000 pings of 125 bytes: 1.3 MB of pongs owed to a peer that
        // reads nothing.
        let ping = client_frame(9, &[b'p'; 125]);
        let mut raw = Memory::with(ping.repeat(10_000));
        raw.stuck = true;
        let mut ws = Ws::new(Vec::new(), 1000);
        let (got, error) = read_all(&mut ws, &mut raw);
        assert!(got.is_empty());
        let error = error.expect("the socket is closed");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted, "{error}");
        // Cut off once the pongs owed passed the limit, not after all of them.
        let pings_read = raw.incoming.position() as usize / ping.len();
        assert!(pings_read * 127 <= MAX_UNREAD_PONGS + 8192, "{pings_read} pings read");
    }

    #[test]
    fn pongs_that_the_peer_reads_are_never_held_against_it() {
        let mut raw = Memory::with(client_frame(9, &[b'p'; 125]).repeat(10_000));
        let mut ws = Ws::new(Vec::new(), 1000);
        let (_, error) = read_all(&mut ws, &mut raw);
        assert!(error.is_none());
        assert_eq!(raw.outgoing.len(), 10_000 * 127, "every pong sent");
    }
}
