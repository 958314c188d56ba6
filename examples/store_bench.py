#!/usr/bin/env python3
"""Store benchmarks of docs/BENCHMARKS.md ("Store"): memory and restart time
after a large history, the cost of a big room message, HISTORY from disk.

It drives a real `wachat serve` through the wire protocol only, so the same
script measures any version of the server:

    cargo build --release
    python3 examples/store_bench.py --bin target/release/wachat restart
    python3 examples/store_bench.py --bin target/release/wachat room
    python3 examples/store_bench.py --bin target/release/wachat history
    python3 examples/store_bench.py --bin target/release/wachat restart --data-dir /tmp/big --keep

`restart` fills a fresh data directory with `wachat bench --pairs 100
--messages 10000` (1M direct messages), then the room case (1,000 offline
members of #general, 50 messages of 4,000 bytes), stops the server with
SIGTERM and starts it again: it prints the time from starting the process
to the first answered LOGIN, and the server's RSS then. With `--data-dir`
on an existing directory (`--reuse`) it only restarts (e.g. on the 10M
directory made by `wachat store fill`).

`room` measures the room case alone on a fresh server: RSS and disk growth
of 50 × 4,000-byte messages to #general with 1,000 offline members.

`history` asks `HISTORY:<peer>:1000` 1,000 times (warm) on a directory made
by the bench and prints p50/p99/max.

`limits` plays two attacks on the store: 5,000 identical `READ`s (bytes
written), 20,000 `JOIN`s of new rooms (how many are refused, RSS).

`tail` is the slowest start: the server is killed (SIGKILL, so no last
checkpoint) just before a checkpoint is due, and the start replays about
`--checkpoint-records` records of the log.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

PASSWORD = "bench-password"


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class Server:
    """A `wachat serve` on free ports, with its log read in the background."""

    # Extra `wachat serve` arguments for every server (`--serve-args`).
    EXTRA = []

    def __init__(self, binary, data_dir, extra=()):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "serve", "--send-port", "0", "--recv-port", "0", "--kdf-cost", "8",
             "--rate", "0", "--data-dir", data_dir, *Server.EXTRA, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "RUST_LOG": "info"})
        self.send = self.recv = None
        self.log = []
        while self.send is None or self.recv is None:
            line = self.proc.stderr.readline()
            if not line:
                raise SystemExit("server did not start:\n" + "".join(self.log))
            self.log.append(line)
            m = re.search(r"listening: (send|receive) (\S+)", line)
            if m:
                host, port = m.group(2).rsplit(":", 1)
                if m.group(1) == "send":
                    self.send = (host, int(port))
                else:
                    self.recv = (host, int(port))
        import threading
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


class Conn:
    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=60)
        self.file = self.sock.makefile("rb")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def line(self):
        line = self.file.readline()
        if not line:
            raise SystemExit("connection closed")
        return line.decode().rstrip("\n")

    def request(self, line):
        self.send(line)
        return self.line()

    def listing(self, line):
        head = self.request(line)
        if not head.startswith("OK:"):
            raise SystemExit(f"{line}: {head}")
        return [self.line() for _ in range(int(head[3:]))]

    def close(self):
        self.sock.close()


def login(server, user, register=True):
    c = Conn(server.send)
    reply = c.request(f"REGISTER:{user}::{PASSWORD}" if register else f"LOGIN:{user}:{PASSWORD}")
    if reply.startswith("KO:USER_EXISTS"):
        reply = c.request(f"LOGIN:{user}:{PASSWORD}")
    if not reply.startswith("OK:"):
        raise SystemExit(f"login {user}: {reply}")
    return c


def run_bench(binary, server, *args):
    cmd = [binary, "bench", "--send-port", str(server.send[1]), "--recv-port", str(server.recv[1]),
           "--json", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def room_case(server, data_dir, members=1000, messages=50, size=4000):
    """1,000 offline members of #general, then 50 × 4,000-byte messages."""
    for i in range(members):
        login(server, f"member{i}").close()
    sender = login(server, "roomsender")
    time.sleep(1)
    rss0, disk0 = rss_mib(server.proc.pid), dir_bytes(data_dir)
    text = "y" * size
    for k in range(messages):
        reply = sender.request(f"MSG:#general:big{k}:{text}")
        if not reply.startswith("OK:"):
            raise SystemExit(reply)
    time.sleep(1)
    rss1, disk1 = rss_mib(server.proc.pid), dir_bytes(data_dir)
    sender.close()
    return rss1 - rss0, disk1 - disk0


def first_login(binary, data_dir):
    """Starts the server and times the first answered LOGIN."""
    started = time.monotonic()
    server = Server(binary, data_dir)
    c = Conn(server.send)
    reply = c.request(f"LOGIN:bench-s0:{PASSWORD}")
    elapsed = time.monotonic() - started
    c.close()
    if not reply.startswith("OK:"):
        raise SystemExit(reply)
    time.sleep(0.5)
    return server, elapsed, rss_mib(server.proc.pid)


def cmd_restart(a):
    data_dir = a.data_dir or tempfile.mkdtemp(prefix="wachat-store-bench-")
    if not a.reuse:
        server = Server(a.bin, data_dir)
        print("filling: 1M direct messages ...", file=sys.stderr)
        run_bench(a.bin, server, "--pairs", "100", "--messages", "10000")
        print("room case ...", file=sys.stderr)
        rss_growth, disk_growth = room_case(server, data_dir)
        print(f"room case: RSS +{rss_growth:.1f} MiB, disk +{disk_growth / 2**20:.2f} MiB")
        server.terminate()
    print(f"data directory: {dir_bytes(data_dir) / 2**20:.0f} MiB")
    for run in range(a.runs):
        server, elapsed, rss = first_login(a.bin, data_dir)
        print(f"restart {run + 1}: first LOGIN answered after {elapsed * 1000:.0f} ms, RSS {rss:.1f} MiB")
        server.terminate()
    if not a.keep and not a.data_dir:
        subprocess.run(["rm", "-rf", data_dir])


def cmd_tail(a):
    """The slowest start: SIGKILL (no last checkpoint) just before a
    checkpoint was due, so the start replays ~--checkpoint-records records."""
    for run in range(a.runs):
        data_dir = tempfile.mkdtemp(prefix="wachat-tail-bench-")
        server = Server(a.bin, data_dir)
        run_bench(a.bin, server, "--pairs", "100", "--messages", str(a.messages))
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        started = time.monotonic()
        server = Server(a.bin, data_dir)
        replayed = [l for l in server.log if "records of the log" in l]
        c = Conn(server.send)
        reply = c.request(f"LOGIN:bench-s0:{PASSWORD}")
        elapsed = time.monotonic() - started
        print(f"start after SIGKILL {run + 1}: first LOGIN after {elapsed * 1000:.0f} ms, RSS "
              f"{rss_mib(server.proc.pid):.1f} MiB; {replayed[-1].split('store: ')[-1].strip() if replayed else ''}")
        c.close()
        server.terminate()
        subprocess.run(["rm", "-rf", data_dir])


def cmd_limits(a):
    """Attacks on the store: requests that change nothing, rooms."""
    data_dir = tempfile.mkdtemp(prefix="wachat-limits-bench-")
    server = Server(a.bin, data_dir)
    carl, ana = login(server, "carl"), login(server, "ana")
    assert carl.request("MSG:ana:n1:hello").startswith("OK:")
    assert ana.request("READ:carl:n1") == "OK"
    time.sleep(0.5)
    disk0 = dir_bytes(data_dir)
    ana.sock.sendall(b"READ:carl:n1\n" * 5000)
    assert all(ana.line() == "OK" for _ in range(5000))
    time.sleep(0.5)
    print(f"5,000 identical READ:carl:n1: {dir_bytes(data_dir) - disk0} bytes written")
    rss0 = rss_mib(server.proc.pid)
    ana.sock.sendall(b"".join(f"JOIN:#room{i}\n".encode() for i in range(20000)))
    replies = [ana.line() for _ in range(20000)]
    ok = sum(r == "OK" for r in replies)
    time.sleep(0.5)
    rss1 = rss_mib(server.proc.pid)
    ana.sock.sendall(b"".join(f"LEAVE:#room{i}\n".encode() for i in range(ok)))
    left = sum(ana.line() == "OK" for _ in range(ok))
    print(f"20,000 JOINs of new rooms: {ok} OK, {20000 - ok} refused "
          f"({replies[-1][:40]}...); RSS +{rss1 - rss0:.1f} MiB; {left} left again")
    server.terminate()
    subprocess.run(["rm", "-rf", data_dir])


def cmd_room(a):
    data_dir = tempfile.mkdtemp(prefix="wachat-room-bench-")
    server = Server(a.bin, data_dir)
    rss_growth, disk_growth = room_case(server, data_dir)
    print(f"room case: RSS +{rss_growth:.1f} MiB, disk +{disk_growth / 2**20:.2f} MiB "
          f"(texts: {50 * 4000 / 2**20:.2f} MiB)")
    server.terminate()
    subprocess.run(["rm", "-rf", data_dir])


def cmd_history(a):
    data_dir = a.data_dir or tempfile.mkdtemp(prefix="wachat-history-bench-")
    server = Server(a.bin, data_dir)
    if not a.reuse:
        run_bench(a.bin, server, "--pairs", "10", "--messages", "5000")
    conns = [login(server, f"bench-s{i}", register=False) for i in range(10)]
    times = []
    for k in range(a.requests):
        t = time.perf_counter()
        lines = conns[k % 10].listing(f"HISTORY:bench-r{k % 10}:1000")
        times.append(time.perf_counter() - t)
        assert len(lines) == 1000, len(lines)
    warm = times[len(times) // 10:]  # the first tenth warms the page cache
    warm.sort()
    p = lambda q: warm[min(len(warm) - 1, int(q * len(warm)))] * 1000
    print(f"HISTORY:<peer>:1000 ({len(warm)} warm requests): p50 {p(0.5):.2f} ms, "
          f"p99 {p(0.99):.2f} ms, max {warm[-1] * 1000:.2f} ms")
    server.terminate()
    if not a.data_dir:
        subprocess.run(["rm", "-rf", data_dir])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="target/release/wachat")
    p.add_argument("--data-dir")
    p.add_argument("--reuse", action="store_true", help="use --data-dir as it is (no filling)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--messages", type=int, default=850, help="tail: messages per sender before the kill")
    p.add_argument("what", choices=["restart", "room", "history", "tail", "limits"])
    p.add_argument("--serve-args", default="--exempt 127.0.0.1",
                   help="extra arguments of wachat serve (the bench's 200 users all come from 127.0.0.1; "
                        "give '' for a version without --exempt)")
    a = p.parse_args()
    Server.EXTRA = a.serve_args.split()
    commands = {"restart": cmd_restart, "room": cmd_room, "history": cmd_history, "tail": cmd_tail,
                "limits": cmd_limits}
    commands[a.what](a)


if __name__ == "__main__":
    main()
