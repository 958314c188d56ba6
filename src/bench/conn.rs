//! A plain line connection for the bench: buffered both ways, with a
//! timeout on every read, and split into a writing and a reading half.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use super::BenchArgs;
use crate::error::{Error, Result};

pub struct LineConn {
    pub reader: LineReader,
    pub writer: LineWriter,
}

pub struct LineReader(BufReader<Shared>);
pub struct LineWriter(BufWriter<Shared>);

/// One socket for both halves: `try_clone` would `dup` the descriptor, and
/// the bench needs every descriptor it can get (10,000 users = 20,000
/// sockets, the limit here).
#[derive(Clone)]
pub struct Shared(Arc<TcpStream>);

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LineConn {
    pub fn connect(args: &BenchArgs, port: u16) -> Result<LineConn> {
        let addr = format!("{}:{port}", args.server);
        let stream = TcpStream::connect(&addr).map_err(|e| Error::io(format!("bench: connect {addr}"), e))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(args.timeout()))?;
        let shared = Shared(Arc::new(stream));
        let reader = LineReader(BufReader::with_capacity(64 * 1024, shared.clone()));
        Ok(LineConn { reader, writer: LineWriter(BufWriter::with_capacity(64 * 1024, shared)) })
    }

    pub fn split(self) -> Result<(LineWriter, LineReader)> {
        Ok((self.writer, self.reader))
    }

    /// Sends one line now.
    pub fn send(&mut self, line: &str) -> Result<()> {
        self.writer.queue(line)?;
        self.writer.flush()
    }

    /// Sends a request and reads its one-line reply.
    pub fn request(&mut self, line: &str) -> Result<String> {
        self.send(line)?;
        self.line()
    }

    pub fn line(&mut self) -> Result<String> {
        self.reader.line()
    }

    /// True if a whole line is already buffered (reading it will not block).
    pub fn has_line(&self) -> bool {
        self.reader.0.buffer().contains(&b'\n')
    }

    /// The socket, for the idle crowd's non-blocking sweeps.
    pub fn stream(&self) -> &TcpStream {
        &self.writer.0.get_ref().0
    }

    /// The socket, shared (to shut it down from another thread).
    pub fn shared(&self) -> Arc<TcpStream> {
        self.writer.0.get_ref().0.clone()
    }
}

impl LineReader {
    pub fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        match self.0.read_line(&mut line) {
            Ok(0) => Err(Error::Protocol("the server closed the connection".into())),
            Ok(_) => {
                line.pop();
                Ok(line)
            }
            Err(e) => Err(Error::io("bench: read", e)),
        }
    }
}

impl LineWriter {
    /// Buffers one line; [`LineWriter::flush`] sends everything buffered.
    pub fn queue(&mut self, line: &str) -> Result<()> {
        self.0.write_all(line.as_bytes())?;
        self.0.write_all(b"\n").map_err(|e| Error::io("bench: write", e))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.0.flush().map_err(|e| Error::io("bench: write", e))
    }
}
