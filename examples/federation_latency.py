#!/usr/bin/env python3
"""A message across two servers of a class network (docs/PROTOCOL.md §27),
measured from outside, beside the same message on one server; and a
queue of messages drained after an outage.

    cargo build --release
    python3 examples/federation_latency.py target/release/wachat [ROUNDS] [MESSAGES] [QUEUED]

Each round, in turn:

- **one server**: ana sends bob MESSAGES messages, one at a time, on one
  server; the time from her `MSG` to bob's receive connection getting it;
- **across**: the same, ana on `lab1` to `bob@lab2` (her server holds it,
  a link carries it, bob's server delivers it);
- **drained**: lab2 is down while ana sends QUEUED messages (pipelined,
  each `OK`'d by lab1); lab2 starts again; the time from its start to
  bob's client having every one of them (it acknowledges as it reads),
  and whether each came once and in order.

Printed per round: p50 and p99 of the two latencies (ms), the drain
time (s); then the medians over the rounds, and the ratio across / one
server. Each server gets its own temporary directory and free ports,
`--exempt 127.0.0.1 --rate 0` (the queue is sent at once). Standard library
only."""
import os, shutil, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lines import Line, free_port  # noqa: E402

PW = "pw-secret"
TIMEOUT = 30.0


class Server:
    def __init__(self, binary, root, name, roster=None, link=0):
        self.binary, self.name, self.roster = binary, name, roster
        self.dir = os.path.join(root, name)
        self.send, self.recv, self.link = free_port(), free_port(), link or free_port()
        self.proc = None

    def roster_line(self):
        """Its line of the roster, its link key made in its data directory."""
        args = [self.binary, "roster-line", "--data-dir", self.dir, "--name", self.name,
                "--link-addr", f"127.0.0.1:{self.link}"]
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout

    def start(self):
        args = [self.binary, "serve", "--data-dir", self.dir, "--send-port", str(self.send),
                "--recv-port", str(self.recv), "--web-port", "off", "--exempt", "127.0.0.1", "--rate", "0"]
        if self.roster:
            args += ["--name", self.name, "--peers", self.roster, "--link-port", str(self.link)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.send), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.recv), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"{self.name} did not start")
                time.sleep(0.05)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def user(self, name):
        conn = Line(self.send, timeout=TIMEOUT)
        reply = conn.request(f"REGISTER:{name}::{PW}")
        if not reply.startswith("OK"):
            reply = conn.request(f"LOGIN:{name}:{PW}")
        assert reply.startswith("OK"), reply
        return conn

    def events(self, name):
        conn = Line(self.recv, timeout=TIMEOUT)
        assert conn.request(f"LOGIN:{name}:{PW}").startswith("OK"), name
        return conn


def next_msg(events):
    while True:
        line = events.line()
        if line == "PING":
            events.send("PONG")
        elif line.startswith("MSG:"):
            return line


def latencies(ana, bob_events, to, n, tag):
    out = []
    for i in range(n):
        start = time.perf_counter()
        reply = ana.request(f"MSG:{to}:{tag}{i}:number {i}")
        assert reply.startswith(f"OK:{tag}{i}:"), reply
        line = next_msg(bob_events)
        out.append((time.perf_counter() - start) * 1000)
        bob_events.send(f"ACK:{line.split(':')[1]}")
    out.sort()
    return out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.99))]


def one_round(binary, n, queued, r):
    root = tempfile.mkdtemp(prefix="wachat-fed-")
    try:
        # One server.
        alone = Server(binary, root, "alone")
        alone.start()
        alone.user("bob").close()
        ana, bob_events = alone.user("ana"), alone.events("bob")
        local = latencies(ana, bob_events, "bob", n, f"l{r}_")
        alone.kill()
        # Two servers, linked.
        roster = os.path.join(root, "class.csv")
        lab1 = Server(binary, root, "lab1", roster)
        lab2 = Server(binary, root, "lab2", roster)
        with open(roster, "w") as f:
            f.write(lab1.roster_line() + lab2.roster_line())
        lab1.start()
        lab2.start()
        lab2.user("bob").close()
        ana, bob_events = lab1.user("ana"), lab2.events("bob")
        across = latencies(ana, bob_events, "bob@lab2", n, f"x{r}_")
        # An outage: everything waits in lab1, then drains.
        bob_events.close()
        lab2.kill()
        for i in range(queued):
            ana.send(f"MSG:bob@lab2:q{r}_{i}:queued {i}")
        for i in range(queued):
            reply = ana.line()
            assert reply.startswith(f"OK:q{r}_{i}:"), reply
        start = time.perf_counter()
        lab2.start()
        bob_events = lab2.events("bob")
        seen = []
        while len(seen) < queued:
            line = next_msg(bob_events)
            f = line.split(":")
            if f[4].startswith(f"q{r}_") and f[4] not in seen[-1:]:
                seen.append(f[4])
            bob_events.send(f"ACK:{f[1]}")
        drained = time.perf_counter() - start
        in_order = seen == [f"q{r}_{i}" for i in range(queued)]
        lab1.kill()
        lab2.kill()
        return local, across, drained, in_order
    finally:
        shutil.rmtree(root, ignore_errors=True)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    queued = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    results = []
    for r in range(rounds):
        local, across, drained, in_order = one_round(binary, n, queued, r)
        results.append((local, across, drained))
        print(f"round {r + 1}: one server p50 {local[0]:.2f} ms p99 {local[1]:.2f} ms; "
              f"across p50 {across[0]:.2f} ms p99 {across[1]:.2f} ms; "
              f"{queued} queued drained in {drained:.2f} s ({'once, in order' if in_order else 'NOT in order'})",
              flush=True)
    lp50, lp99 = median([l[0] for l, _, _ in results]), median([l[1] for l, _, _ in results])
    xp50, xp99 = median([x[0] for _, x, _ in results]), median([x[1] for _, x, _ in results])
    print(f"medians: one server p50 {lp50:.2f} p99 {lp99:.2f} ms; across p50 {xp50:.2f} p99 {xp99:.2f} ms "
          f"(x{xp50 / lp50:.1f} and x{xp99 / lp99:.1f}); drained {median([d for _, _, d in results]):.2f} s")


if __name__ == "__main__":
    main()
