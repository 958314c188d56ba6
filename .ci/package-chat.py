#!/usr/bin/env python3
"""A console and the browser app chat through an installed server.

    .ci/package-chat.py WACHAT SEND_PORT RECV_PORT WEB_PORT [--suffix S]
                        [--proxy PORT NAME CAFILE]

WACHAT is the console (the installed /usr/bin/wachat); the browser's side
is what the app does over the web port: GET / for the app, then its two
WebSockets (docs/PROTOCOL.md §13), spoken here with the standard library
only. ana (console) writes to bob (browser), bob answers, and ana's
`wachat history` shows the answer. Exits non-zero, saying why, otherwise.

--proxy: the browser reaches the app as a phone would, over HTTPS at
https://NAME:PORT (a reverse proxy on 127.0.0.1 whose certificate CAFILE
signed), sending the page's Origin. --suffix: added to the users' names,
for a second run on the same data.
"""

import argparse
import base64
import os
import socket
import ssl
import struct
import subprocess
import tempfile

# Each read, connection and console's run: ample on a machine that CI's
# other steps keep busy; a passing check never waits for it.
TIMEOUT_S = 60


class WebSocket:
    """A client WebSocket of text messages (RFC 6455), enough for one line each way."""

    def __init__(self, web, path):
        self.sock = web.connect()
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {web.host}\r\n{web.origin}Upgrade: websocket\r\n"
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


class Web:
    """Where the browser reaches the app: the web port, or a proxy over TLS."""

    def __init__(self, port, proxy):
        self.port = port
        self.tls = None
        self.host = f"127.0.0.1:{port}"
        self.origin = ""
        if proxy:
            self.port, self.name = int(proxy[0]), proxy[1]
            self.tls = ssl.create_default_context(cafile=proxy[2])
            self.host = f"{self.name}:{self.port}"
            self.origin = f"Origin: https://{self.host}\r\n"

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S)
        return self.tls.wrap_socket(sock, server_hostname=self.name) if self.tls else sock


def expect(what, got, want):
    if not got.startswith(want):
        raise SystemExit(f"{what}: expected {want!r}, got {got!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("wachat")
    parser.add_argument("send_port")
    parser.add_argument("recv_port")
    parser.add_argument("web_port", type=int)
    parser.add_argument("--suffix", default="")
    parser.add_argument("--proxy", nargs=3, metavar=("PORT", "NAME", "CAFILE"))
    args = parser.parse_args()
    wachat, send_port, recv_port, web = args.wachat, args.send_port, args.recv_port, Web(args.web_port, args.proxy)
    ana, bob = "ana" + args.suffix, "bob" + args.suffix
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
    with web.connect() as http:
        http.sendall(f"GET / HTTP/1.1\r\nHost: {web.host}\r\nConnection: close\r\n\r\n".encode())
        page = b""
        while chunk := http.recv(65536):
            page += chunk
    expect("GET /", page.decode(errors="replace"), "HTTP/1.1 200")
    if b"<html" not in page.lower():
        raise SystemExit("GET /: no page")
    print(f"browser: GET {'https' if web.tls else 'http'}://{web.host}/ is the app")

    bob_send = WebSocket(web, "/ws/send")
    expect("bob registers", bob_send.request(f"REGISTER:{bob}::hunter22"), f"OK:{bob}")
    bob_recv = WebSocket(web, "/ws/receive")
    expect("bob logs in", bob_recv.request(f"LOGIN:{bob}:hunter22"), f"OK:{bob}")

    console(["register", "--user", ana], "s3cret-ana")
    console(["send", "--user", ana, "--to", bob, "hola from the console"], "s3cret-ana")
    event = bob_recv.recv()
    while event.startswith("PING"):
        bob_recv.send("PONG")
        event = bob_recv.recv()
    fields = event.split(":", 6)
    if fields[0] != "MSG" or fields[2] != ana or fields[6] != "hola from the console":
        raise SystemExit(f"bob's browser: expected ana's message, got {event!r}")
    bob_recv.send(f"ACK:{fields[1]}")
    print("browser: bob got ana's message from the console")

    expect("bob answers", bob_send.request(f"MSG:{ana}:b1:hola from the browser"), "OK:b1")
    history = console(["history", "--user", ana, "--with", bob], "s3cret-ana")
    if "hola from the browser" not in history:
        raise SystemExit(f"ana's console: bob's answer is not in her history:\n{history}")
    print("console: ana's history has bob's answer from the browser")


if __name__ == "__main__":
    main()
