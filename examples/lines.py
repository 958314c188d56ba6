"""What the example scripts (examples/federation_kill.py,
examples/cluster_failover.py, examples/federation_latency.py) speak
wachat with: a connection that sends and reads lines, every read within
a deadline, a receiver's loop, and a free port for a server to listen
on. Standard library only."""
import socket
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Line:
    """One connection, lines in and out, every read with a deadline."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def request(self, text):
        self.send(text)
        return self.line()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def receive(stop, connect, took, pause):
    """A receiver's loop, until `stop` is set: logs in with `connect()` (and
    again after any break, `pause` seconds later), hands each `MSG` to
    `took` as its fields (`f[1]` the sequence number, `f[2]` the author,
    `f[4]` the id) and acknowledges it, and answers the server's `PING`. A
    read that times out is no break: the server may have nothing to say."""
    conn = None
    while not stop.is_set():
        try:
            if conn is None:
                conn = connect()
            line = conn.line()
            if line.startswith("MSG:"):
                f = line.split(":", 6)
                took(f)
                conn.send(f"ACK:{f[1]}")
            elif line == "PING":
                conn.send("PONG")
        except socket.timeout:
            continue
        except (OSError, ConnectionError):
            if conn:
                conn.close()
            conn = None
            time.sleep(pause)
