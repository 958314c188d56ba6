#!/usr/bin/env python3
"""A kill -9 series across two linked servers of a class network
(docs/PROTOCOL.md §27), with Web Push subscriptions live (§28), as their
users see it: nothing acknowledged lost or stored twice.

    cargo build --release
    python3 examples/federation_kill.py target/release/wachat [ROUNDS] [KILLS]

Each round: lab1 and lab2 on a temporary directory each, linked by a
roster, both pushing to a push service of the script's own
(examples/push_service.py, trusted with `--push-test-ca`). PAIRS senders
on each server write, one message at a time, to a receiver of the other
(`MSG:r3@lab2:…`); a message that gets no `OK` (its server killed, a cut
connection, no answer within 5 s) is sent again with the same id. Each
receiver acknowledges what it gets on its receive connection, and has a
phone subscribed for pushes: its messages, unread, are pushed to the phone
after the 2 s a live device holds them (§28), so every server's senders
push all along. Every KILL_EVERY seconds one server (lab1, lab2 in turn)
is killed (`kill -9`) and started again on its data and ports after
DOWN seconds, KILLS times; then the senders stop and the receivers get
what is left (a link comes back with its dialer's backoff).

Printed per round: the messages acknowledged (`OK`), **lost** (acknowledged,
never received), **twice** (an id received under two sequence numbers),
the pushes received by the push service (and after the last restart: the
subscriptions outlive a kill, `push.csv`), and how long the last message
took to arrive after the last restart. Standard library only."""
import os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lines import Line, free_port, receive  # noqa: E402
from push_service import PushService  # noqa: E402

PAIRS, RATE, PW = 10, 20, "password1"
KILL_EVERY, DOWN, WARM = 4.0, 1.0, 4.0


def login(port, user):
    c = Line(port)
    reply = c.request(f"LOGIN:{user}:{PW}")
    if reply != f"OK:{user.split('@')[0]}":
        c.close()
        raise ConnectionError(reply)
    return c


class Server:
    def __init__(self, wachat, root, name, roster, ca):
        self.wachat, self.name, self.data = wachat, name, os.path.join(root, name)
        self.send, self.recv, self.link = free_port(), free_port(), free_port()
        self.args = [wachat, "serve", "--name", name, "--peers", roster, "--data-dir", self.data,
                     "--send-port", str(self.send), "--recv-port", str(self.recv), "--link-port", str(self.link),
                     "--web-port", "off", "--rate", "0", "--exempt", "127.0.0.1", "--kdf-cost", "8",
                     "--give-up", "600s", "--timeout", "5", "--push-test-ca", ca, "--min-free", "100MiB"]
        self.log = os.path.join(root, f"{name}.log")
        self.proc = None

    def line(self):
        out = subprocess.run([self.wachat, "roster-line", "--data-dir", self.data, "--name", self.name,
                              "--link-addr", f"127.0.0.1:{self.link}"], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def start(self):
        log = open(self.log, "a")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.send), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit(f"{self.name} exited: see {self.log}")
                time.sleep(0.1)
        sys.exit(f"{self.name} did not start: see {self.log}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Sender(threading.Thread):
    def __init__(self, me, to, port, stop):
        super().__init__(daemon=True)
        self.me, self.to, self.port, self.stop = me, to, port, stop
        self.oks = []  # ids

    def run(self):
        conn, n = None, 0
        while not self.stop.is_set():
            mid, started = f"m{n}", time.time()
            try:
                if conn is None:
                    conn = login(self.port, self.me)
                reply = conn.request(f"MSG:{self.to}:{mid}:text {n}")
                if reply.startswith(f"OK:{mid}:"):
                    self.oks.append(mid)
                    n += 1
                    time.sleep(max(0.0, 1.0 / RATE - (time.time() - started)))
                    continue
                raise ConnectionError(reply)
            except (OSError, ConnectionError):
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.1)  # the same id again, on its server once it is back


class Receiver(threading.Thread):
    def __init__(self, me, port, stop):
        super().__init__(daemon=True)
        self.me, self.port, self.stop = me, port, stop
        self.seqs = {}  # (from, id) -> set of seqs
        self.last = 0.0

    def run(self):
        receive(self.stop, lambda: login(self.port, self.me), self.took, pause=0.1)

    def took(self, f):
        self.seqs.setdefault((f[2], f[4]), set()).add(int(f[1]))
        self.last = time.time()


def round_(wachat, kills):
    root = tempfile.mkdtemp(prefix="federation-kill.")
    push = PushService(wachat, root)
    roster = os.path.join(root, "class.csv")
    labs = [Server(wachat, root, name, roster, push.ca) for name in ("lab1", "lab2")]
    with open(roster, "w") as f:
        f.write("".join(lab.line() + "\n" for lab in labs))
    try:
        for lab in labs:
            lab.start()
        phones = []
        for k, lab in enumerate(labs):
            for i in range(PAIRS):
                for user in (f"s{i}", f"r{i}"):
                    c = Line(lab.send, timeout=60)
                    assert c.request(f"REGISTER:{user}::{PW}") == f"OK:{user}"
                    c.close()
                phone = login(lab.send, f"r{i}@phone")
                assert phone.request(push.push_line(f"r{i}-{lab.name}")) == "OK"
                phones.append(phone)
        stop_send, stop_recv = threading.Event(), threading.Event()
        senders, receivers = [], {}
        for k, lab in enumerate(labs):
            other = labs[1 - k]
            for i in range(PAIRS):
                senders.append(Sender(f"s{i}", f"r{i}@{other.name}", lab.send, stop_send))
                receivers[(other.name, i)] = Receiver(f"r{i}", other.recv, stop_recv)
        for t in senders + list(receivers.values()):
            t.start()
        time.sleep(WARM)
        last_start = time.time()
        for k in range(kills):
            lab = labs[k % 2]
            lab.kill()
            time.sleep(DOWN)
            lab.start()
            last_start = time.time()
            time.sleep(KILL_EVERY - DOWN)
        stop_send.set()
        for t in senders:
            t.join()
        acked = []
        for s in senders:
            frm = f"{s.me}@{[lab.name for lab in labs if lab.send == s.port][0]}"
            to, server = s.to.split("@")
            acked += [(server, int(to[1:]), frm, mid) for mid in s.oks]
        deadline = time.time() + 120
        missing = lambda: [a for a in acked if (a[2], a[3]) not in receivers[(a[0], a[1])].seqs]
        while time.time() < deadline and missing():
            time.sleep(0.2)
        stop_recv.set()
        lost = len(missing())
        twice = sum(1 for r in receivers.values() for seqs in r.seqs.values() if len(seqs) > 1)
        drained = max(r.last for r in receivers.values()) - last_start
        subs = sum(line.startswith("sub,") for lab in labs
                   for line in open(os.path.join(lab.data, "push.csv")).read().splitlines())
        load = open("/proc/loadavg").read().split()[0]
        print(f"{kills} kills: acked {len(acked)}, lost {lost}, twice {twice}; pushes {push.count()} "
              f"({push.count(since=last_start)} after the last restart, to {len(push.paths())} of "
              f"{2 * PAIRS} phones; {subs} subscriptions in push.csv); the last message "
              f"{drained:.1f} s after the last restart (load average {load})", flush=True)
        for phone in phones:
            phone.close()
    finally:
        for lab in labs:
            if lab.proc and lab.proc.poll() is None:
                lab.kill()
        if os.environ.get("KEEP"):
            print(f"kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.split("\n\n")[1])
    wachat = os.path.realpath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    kills = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    for _ in range(rounds):
        round_(wachat, kills)
