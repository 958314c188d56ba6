#!/usr/bin/env python3
"""A console and the browser app chat through an installed server.

    .ci/package-chat.py WACHAT SEND_PORT RECV_PORT WEB_PORT

WACHAT is the console (the installed /usr/bin/wachat); the browser's side
is what the app does over the web port: GET / for the app, then its two
WebSockets (docs/PROTOCOL.md §13), spoken here with the standard library
only. ana (console) writes to bob (browser), bob answers, and ana's
`wachat history` shows the answer. Exits non-zero, saying why, otherwise.
"""

import base64
import os
import socket
import struct
import subprocess
import sys
import tempfile

TIMEOUT_S = 20


class WebSocket:
    """A client WebSocket of text messages (RFC 6455), enough for one line each way."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise SystemExit(f"{path}: closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"{path}: no handshake: {head.decode(errors='replace')}")

    def send(self, line):
        data = line.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise SystemExit("the server closed a WebSocket")
            data += chunk
        return data

    def recv(self):
        """The next text message (the server's pings are answered on the way)."""
        while True:
            first, second = self.read_exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.read_exact(8))[0]
            payload = self.read_exact(length)
            opcode = first & 0x0F
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x8:
                raise SystemExit(f"the server closed a WebSocket: {payload!r}")
            if opcode == 0x9:
                mask = os.urandom(4)
                pong = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + pong)

    def request(self, line):
        self.send(line)
        return self.recv()


def expect(what, got, want):
    if not got.startswith(want):
        raise SystemExit(f"{what}: expected {want!r}, got {got!r}")


def main():
    wachat, send_port, recv_port, web_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    local = tempfile.mkdtemp(prefix="wachat-console-")

    def console(args, password):
        ports = ["--send-port", send_port, "--recv-port", recv_port, "--data-dir", local, "--password-stdin"]
        done = subprocess.run(
            [wachat, *args, *ports], input=password + "\n", capture_output=True, text=True, timeout=TIMEOUT_S
        )
        if done.returncode != 0:
            raise SystemExit(f"wachat {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    # The app, as a browser loads it.
    with socket.create_connection(("127.0.0.1", web_port), timeout=TIMEOUT_S) as http:
        http.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{web_port}\r\nConnection: close\r\n\r\n".encode())
        page = b""
        while chunk := http.recv(65536):
            page += chunk
    expect("GET /", page.decode(errors="replace"), "HTTP/1.1 200")
    if b"<html" not in page.lower():
        raise SystemExit("GET /: no page")
    print("browser: GET / is the app")

    bob_send = WebSocket(web_port, "/ws/send")
    expect("bob registers", bob_send.request("REGISTER:bob::hunter22"), "OK:bob")
    bob_recv = WebSocket(web_port, "/ws/receive")
    expect("bob logs in", bob_recv.request("LOGIN:bob:hunter22"), "OK:bob")

    console(["register", "--user", "ana"], "s3cret-ana")
    console(["send", "--user", "ana", "--to", "bob", "hola from the console"], "s3cret-ana")
    event = bob_recv.recv()
    while event.startswith("PING"):
        bob_recv.send("PONG")
        event = bob_recv.recv()
    fields = event.split(":", 6)
    if fields[0] != "MSG" or fields[2] != "ana" or fields[6] != "hola from the console":
        raise SystemExit(f"bob's browser: expected ana's message, got {event!r}")
    bob_recv.send(f"ACK:{fields[1]}")
    print("browser: bob got ana's message from the console")

    expect("bob answers", bob_send.request("MSG:ana:b1:hola from the browser"), "OK:b1")
    history = console(["history", "--user", "ana", "--with", "bob"], "s3cret-ana")
    if "hola from the browser" not in history:
        raise SystemExit(f"ana's console: bob's answer is not in her history:\n{history}")
    print("console: ana's history has bob's answer from the browser")


if __name__ == "__main__":
    main()
