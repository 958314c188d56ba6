//! A line connection for the bench: buffered both ways, with a timeout on
//! every read, plaintext or TLS (`--tls`, `--ca`), and split into a
//! writing and a reading half. Lines from the server are read by
//! [`client::wire`](crate::client::wire), as conform's and chaos's are, on
//! the protocol's `FrameReader`: at most [`MAX_FRAME`] bytes each, so a
//! server that never sends `\n` costs the bench 80 kB, not all its memory.

use std::fmt;
use std::io::{BufWriter, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BenchArgs;
use crate::client::tls;
use crate::client::wire::{NoLine, ReadHalf};
use crate::error::{Error, Result};
use crate::protocol::Port;
use crate::protocol::{MAX_FRAME, Reply, Request};
use crate::transport::{SharedStream, Stream};

pub struct LineConn {
    pub reader: LineReader,
    pub writer: LineWriter,
}

/// Both halves share one stream (`SharedStream`): `try_clone` would `dup` the
/// descriptor, and the bench needs every descriptor it can get (10,000
/// users = 20,000 sockets, the limit here); and a TLS connection is one
/// state for both directions anyway.
pub struct LineReader {
    lines: ReadHalf,
    /// How long one line may take (`--timeout`).
    timeout: Duration,
}
pub struct LineWriter(BufWriter<SharedStream>);

impl LineConn {
    /// Connects to `port` of the `node`-th server of `--server` (modulo
    /// their number: users are spread over a cluster's nodes).
    pub fn connect(args: &BenchArgs, node: usize, port: Port) -> Result<LineConn> {
        let endpoints = args.endpoints();
        let endpoint = &endpoints[node % endpoints.len()];
        let addr = format!("{}:{}", endpoint.host, endpoint.port(port));
        let context = || format!("bench: connect {addr}");
        let tcp = TcpStream::connect(&addr).map_err(|e| Error::io(context(), e))?;
        tcp.set_nodelay(true)?;
        let deadline = Instant::now() + args.timeout();
        let stream = Stream::connect(tcp, args.tls_config.as_ref(), &endpoint.host, deadline)
            .map_err(|e| Error::io(context(), tls::explain(e)))?;
        let shared = SharedStream(Arc::new(stream));
        let lines = ReadHalf::new(shared.clone(), 64 * 1024, MAX_FRAME);
        let reader = LineReader { lines, timeout: args.timeout() };
        Ok(LineConn { reader, writer: LineWriter(BufWriter::with_capacity(64 * 1024, shared)) })
    }

    pub fn split(self) -> Result<(LineWriter, LineReader)> {
        Ok((self.writer, self.reader))
    }

    /// Sends one line now.
    /// Sends one frame: a [`Request`] or an [`EventReply`](crate::protocol::EventReply).
    pub fn send(&mut self, frame: &impl fmt::Display) -> Result<()> {
        self.writer.queue(frame)?;
        self.writer.flush()
    }

    /// Sends a request and reads its one-line reply.
    pub fn request(&mut self, request: &Request) -> Result<Reply> {
        self.send(request)?;
        self.reader.reply()
    }

    pub fn line(&mut self) -> Result<String> {
        self.reader.line()
    }

    /// True if a whole line is already buffered (reading it will not block).
    pub fn has_line(&self) -> bool {
        self.reader.lines.has_line()
    }

    /// The stream, for the idle crowd's non-blocking sweeps.
    pub fn stream(&self) -> &Stream {
        &self.writer.0.get_ref().0
    }

    /// The stream, shared (to shut it down from another thread).
    pub fn shared(&self) -> Arc<Stream> {
        self.writer.0.get_ref().0.clone()
    }
}

impl LineReader {
    /// The next line, as a reply.
    pub fn reply(&mut self) -> Result<Reply> {
        Reply::parse(&self.line()?).map_err(Error::Protocol)
    }

    /// The next line, which must be whole within `--timeout`.
    pub fn line(&mut self) -> Result<String> {
        match self.lines.next_by(Instant::now() + self.timeout) {
            Ok(line) => Ok(line),
            Err(NoLine::Closed { .. }) => Err(Error::Protocol("the server closed the connection".into())),
            Err(NoLine::TooLong) => {
                Err(Error::Protocol(format!("a line from the server passed {MAX_FRAME} bytes")))
            }
            Err(NoLine::Silent) => Err(Error::io(
                "bench: read",
                std::io::Error::new(std::io::ErrorKind::TimedOut, "no whole line within --timeout"),
            )),
            Err(NoLine::Failed(e)) => Err(Error::io("bench: read", tls::explain(e))),
        }
    }
}

impl LineWriter {
    /// Buffers one frame; [`LineWriter::flush`] sends everything buffered.
    pub fn queue(&mut self, frame: &impl fmt::Display) -> Result<()> {
        writeln!(self.0, "{frame}").map_err(|e| Error::io("bench: write", e))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.0.flush().map_err(|e| Error::io("bench: write", e))
    }
}
