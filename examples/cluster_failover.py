#!/usr/bin/env python3
"""A cluster's failover as its clients see it (docs/CLUSTER-OPS.md,
"Failover, measured"): three nodes on a PostgreSQL of the script's own,
a steady load of messages, and the leader killed or frozen under it.

    cargo build --release --features cluster
    python3 examples/cluster_failover.py target/release/wachat kill [ROUNDS]
    python3 examples/cluster_failover.py target/release/wachat stop [ROUNDS]
    python3 examples/cluster_failover.py target/release/wachat pg [ROUNDS]
    python3 examples/cluster_failover.py target/release/wachat kill [ROUNDS] push

`kill`: the leader is killed (`kill -9`). `stop`: it is frozen (SIGSTOP)
for FREEZE seconds, longer than its lease, then woken (SIGCONT). `pg`:
the nodes run on a pg_auto_failover formation instead
(`examples/cluster_ha.sh formation`: a monitor, a primary and its
synchronous secondary) and PostgreSQL's primary is killed (`kill -9` of
its keeper and its server); the leader keeps its lease, and the load
runs AFTER_PG seconds after the fault (the secondary's promotion takes
~10 s). Needs pg_autoctl (postgresql-15-auto-failover).

The load: PAIRS senders, each sending RATE messages a second, one at a
time, through the nodes in turn (each sender starts on its own node);
a message that gets no `OK` (a cut connection, `KO:UNAVAILABLE`, no
answer within 5 s) is sent again, same id, to the next node. Each
receiver is logged in on another node than its sender and acknowledges
what it gets. Printed per round:

- **without an OK**: the longest time between two acknowledged messages
  of all senders after the fault, i.e. from the fault to the first write
  the new leader accepted;
- the epoch before and after (the `lease` row);
- **lost**: acknowledged messages that never reached their receiver or
  are not in `HISTORY` on a surviving node; **twice**: an id stored
  under two sequence numbers;
- `stop` only: a client of the frozen leader's own sends messages while
  it is frozen and keeps waiting: the `OK`s it gets after the leader
  wakes (0: the woken leader accepted nothing), whether those ids are
  anywhere in the log, and rows of the old epoch written after the new
  one's first (0: the fence held).

`push`: Web Push subscriptions live through the fault. The nodes trust
a push service of the script's own (examples/push_service.py,
`--push-test-ca`); each receiver's phone subscribes (`PUSH`, through the
node that leads at first, whose data directory keeps it: push is a
node's, docs/PROTOCOL.md §28), and its messages, unread, are pushed after
the 2 s its live device holds them. Printed besides: the pushes before
and after the fault.

As root, PostgreSQL runs under `runuser -u postgres`. Standard library
only; needs PostgreSQL's binaries and `psql`."""
import glob, itertools, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lines import Line, free_port, receive  # noqa: E402
from push_service import PushService  # noqa: E402

PAIRS, RATE, PW = 20, 25, "password1"
WARM, AFTER, FREEZE = 5.0, 10.0, 8.0
AFTER_PG = 25.0
HA_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster_ha.sh")


def as_pg(argv, root):
    return ["runuser", "-u", "postgres", "--"] + argv if root else argv


def login(port, user, recv=False, timeout=5.0):
    c = Line(port, timeout=timeout)
    c.send(f"LOGIN:{user}:{PW}")
    reply = c.line()
    if reply != f"OK:{user.split('@')[0]}":
        c.close()
        raise ConnectionError(reply)
    return c


def free_ports(n):
    """The first of n consecutive free ports (a formation takes BASE and up)."""
    while True:
        base = free_port()
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()


class Cluster:
    def __init__(self, wachat, ha=False, push=False):
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="cluster-failover.")
        os.chmod(self.dir, 0o755)
        pgbin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.pgbin, self.wachat, self.ha = pgbin, wachat, ha
        self.push = PushService(wachat, self.dir) if push else None
        self.nodes = {}
        if ha:
            self.formation()
        else:
            self.single()
        for name in "abc":  # a starts first: it leads
            self.start(name)

    def formation(self):
        """A pg_auto_failover formation of cluster_ha.sh's (its settings)."""
        pgdir = os.path.join(self.dir, "pg")
        out = subprocess.run(["bash", HA_SH, "formation", pgdir, str(free_ports(3))], capture_output=True, text=True)
        if out.returncode != 0:
            subprocess.run(["bash", HA_SH, "stop", pgdir])
            sys.exit(f"no formation: {out.stderr}")
        env = dict(line.split("=", 1) for line in open(os.path.join(pgdir, "env")).read().split())
        self.pgdir, self.store, self.monitor = pgdir, env["STORE"], env["MONITOR"]

    def single(self):
        self.pg = free_port()
        data = os.path.join(self.dir, "data")
        if self.root:
            shutil.chown(self.dir, "postgres")
        subprocess.run(as_pg([f"{self.pgbin}/initdb", "-D", data, "-A", "trust", "-U", "wachat", "--no-sync", "-E", "UTF8"], self.root),
                       check=True, stdout=subprocess.DEVNULL)
        opts = f"-p {self.pg} -k {self.dir} -c listen_addresses=127.0.0.1"
        subprocess.run(as_pg([f"{self.pgbin}/pg_ctl", "-D", data, "-o", opts, "-l", f"{self.dir}/pg.log", "-w", "start"], self.root),
                       check=True, stdout=subprocess.DEVNULL)
        self.sql("postgres", "CREATE DATABASE wachat")
        self.store = f"postgres://wachat@127.0.0.1:{self.pg}/wachat"

    def sql(self, db, query):
        where = [self.store] if self.ha else ["-h", "127.0.0.1", "-p", str(self.pg), "-U", "wachat", "-d", db]
        out = subprocess.run(["psql", *where, "-Atc", query], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def kill_primary(self):
        """kill -9 of the formation's primary: its keeper's process group
        and its server (which has a session of its own once restarted)."""
        name, deadline = "", time.time() + 60
        while not name and time.time() < deadline:  # a new formation's primary: `wait_primary` a moment
            name = subprocess.run(["psql", self.monitor, "-Atc", "SELECT nodename FROM pgautofailover.node "
                                   "WHERE reportedstate = 'primary' AND goalstate = 'primary'"],
                                  capture_output=True, text=True).stdout.strip()
            time.sleep(0 if name else 0.2)
        if not name:
            sys.exit("the formation has no primary after 60 s")
        pgid = int(open(os.path.join(self.pgdir, f"{name}.pgid")).read())
        postmaster = int(open(os.path.join(self.pgdir, name, "postmaster.pid")).readline())
        fault_at = time.time()
        os.killpg(pgid, signal.SIGKILL)
        try:
            os.kill(postmaster, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return name, fault_at

    def start(self, name):
        send, recv = free_port(), free_port()
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        proc = subprocess.Popen([self.wachat, "serve", "--store", self.store, "--node", name,
                                 "--data-dir", os.path.join(self.dir, f"node-{name}"), "--send-port", str(send),
                                 "--recv-port", str(recv), "--web-port", "off", "--rate", "0", "--exempt", "127.0.0.1",
                                 # a shared machine's disk: the floor is not what is measured
                                 "--min-free", "100MiB"]
                                + (["--push-test-ca", self.push.ca] if self.push else []),
                                stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})
        self.nodes[name] = {"proc": proc, "send": send, "recv": recv}
        # Its ports are bound before it joins the cluster: ready once it
        # says where it listens (it has taken its part by then).
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if "listening: send" in self.log_of(name):
                return
            time.sleep(0.2)
        sys.exit(f"node {name} did not start: see {self.dir}/{name}.log")

    def lease(self):
        epoch, holder = self.sql("wachat", "SELECT epoch, holder FROM lease").split("|")
        return int(epoch), holder

    def log_of(self, name):
        return open(os.path.join(self.dir, f"{name}.log"), errors="replace").read()

    def stop(self):
        for node in self.nodes.values():
            p = node["proc"]
            try:
                p.send_signal(signal.SIGCONT)
                p.kill()
            except OSError:
                pass
            p.wait()
        if self.ha:
            subprocess.run(["bash", HA_SH, "stop", self.pgdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            subprocess.run(as_pg([f"{self.pgbin}/pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w", "stop"], self.root),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("KEEP"):
            print(f"kept: {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Sender(threading.Thread):
    def __init__(self, i, ports, stop):
        super().__init__(daemon=True)
        self.i, self.ports, self.stop = i, ports, stop
        self.oks = []  # (time, id)
        self.refused = 0

    def run(self):
        node, conn, n = self.i, None, 0
        while not self.stop.is_set():
            mid = f"m{n}"
            started = time.time()
            try:
                if conn is None:
                    conn = login(self.ports[node % len(self.ports)], f"s{self.i}")
                conn.send(f"MSG:r{self.i}:{mid}:text {n}")
                reply = conn.line()
                if reply.startswith(f"OK:{mid}:"):
                    self.oks.append((time.time(), mid))
                    n += 1
                    time.sleep(max(0.0, 1.0 / RATE - (time.time() - started)))
                    continue
                self.refused += 1
                if not reply.startswith("KO:UNAVAILABLE"):
                    raise ConnectionError(reply)
                time.sleep(0.05)  # the same id again, on the same node
            except (OSError, ConnectionError):
                if conn:
                    conn.close()
                conn, node = None, node + 1
                time.sleep(0.05)


class Receiver(threading.Thread):
    def __init__(self, i, ports, stop):
        super().__init__(daemon=True)
        self.i, self.ports, self.stop = i, ports, stop
        self.seqs = {}  # id -> set of seqs

    def run(self):
        nodes = itertools.count(self.i + 1)  # the node after its sender's, the next one after each break

        def connect():
            return login(self.ports[next(nodes) % len(self.ports)], f"r{self.i}", recv=True)

        receive(self.stop, connect, self.took, pause=0.05)

    def took(self, f):
        self.seqs.setdefault(f[4], set()).add(int(f[1]))


def history(port, i):
    # A check, not a figure: time for a LOGIN's password hash through a
    # follower on a loaded machine.
    c = login(port, f"s{i}", timeout=60)
    c.send(f"HISTORY:r{i}:1000")
    head = c.line()
    assert head.startswith("OK:"), head
    ids = [c.line().split(":")[2] for _ in range(int(head[3:]))]
    c.close()
    return ids


def round_(wachat, fault, push=False):
    cl = Cluster(wachat, ha=fault == "pg", push=push)
    try:
        first = cl.nodes["a"]
        for i in range(PAIRS):
            for user in (f"s{i}", f"r{i}"):
                setup = Line(first["send"], timeout=60)  # a connection is one account's
                setup.send(f"REGISTER:{user}::{PW}")
                reply = setup.line()
                assert reply == f"OK:{user}", reply
                setup.close()
            if push:
                phone = login(first["send"], f"r{i}@phone")
                phone.send(cl.push.push_line(f"r{i}"))
                assert phone.line() == "OK"
                phone.close()
        before = cl.lease()
        sends = [cl.nodes[n]["send"] for n in "abc"]
        recvs = [cl.nodes[n]["recv"] for n in "abc"]
        stop_send, stop_recv = threading.Event(), threading.Event()
        senders = [Sender(i, sends, stop_send) for i in range(PAIRS)]
        receivers = [Receiver(i, recvs, stop_recv) for i in range(PAIRS)]
        for t in senders + receivers:
            t.start()
        time.sleep(WARM)
        leader = cl.nodes[before[1]]["proc"]
        zombie, zombie_ids, zombie_oks = None, [], []
        killed = None
        if fault == "kill":
            fault_at = time.time()
            leader.kill()
        elif fault == "pg":
            killed, fault_at = cl.kill_primary()
        else:
            zombie = login(cl.nodes[before[1]]["send"], "s0")
            fault_at = time.time()
            leader.send_signal(signal.SIGSTOP)
            for k in range(5):  # into the frozen leader's socket buffer
                zombie_ids.append(f"z{k}")
                zombie.send(f"MSG:r0:z{k}:sent to a frozen leader")
            time.sleep(FREEZE)
            leader.send_signal(signal.SIGCONT)
            woke = time.time()
            zombie.sock.settimeout(5)
            try:
                while time.time() < woke + 5:
                    reply = zombie.line()
                    if reply.startswith("OK:z"):
                        zombie_oks.append(reply)
            except (OSError, ConnectionError):
                pass
            zombie.close()
        time.sleep(AFTER_PG if fault == "pg" else AFTER)
        stop_send.set()
        for t in senders:
            t.join()
        after = cl.lease()
        oks = sorted(t for s in senders for t, _ in s.oks)
        near = [t for t in oks if t >= fault_at - 1]
        gaps = [(b - a, b) for a, b in zip(near, near[1:])]
        gap, resumed = max(gaps) if gaps else (float("nan"), float("nan"))
        acked = {(s.i, mid) for s in senders for _, mid in s.oks}
        deadline = time.time() + 30
        while time.time() < deadline and any(mid not in receivers[i].seqs for i, mid in acked):
            time.sleep(0.2)
        stop_recv.set()
        lost_recv = sum(1 for i, mid in acked if mid not in receivers[i].seqs)
        twice = sum(1 for r in receivers for seqs in r.seqs.values() if len(seqs) > 1)
        survivor = cl.nodes["b" if before[1] != "b" else "c"]["send"]
        lost_hist, in_log = 0, 0
        for i in range(PAIRS):
            ids = history(survivor, i)
            lost_hist += sum(1 for s_i, mid in acked if s_i == i and mid not in ids)
            if i == 0:
                in_log = sum(1 for z in zombie_ids if z in ids)
        late = cl.sql("wachat", f"SELECT count(*) FROM log WHERE epoch = {before[0]} AND pos > "
                                f"(SELECT coalesce(min(pos), 0) FROM log WHERE epoch > {before[0]})")
        load = open("/proc/loadavg").read().split()[0]
        what = f"pg (primary {killed} killed)" if killed else fault
        line = (f"{what}: without an OK {gap:.2f} s (first write accepted {resumed - fault_at:.2f} s after the fault), "
                f"epoch {before[0]} ({before[1]}) -> {after[0]} ({after[1]}), acked {len(acked)}, "
                f"refused {sum(s.refused for s in senders)}, lost {lost_recv} received / {lost_hist} in HISTORY, "
                f"twice {twice}")
        if fault == "stop":
            deposed = "starts again as a follower" in cl.log_of(before[1])
            line += (f"; frozen leader: OKs after waking {len(zombie_oks)}, its ids in the log {in_log}, "
                     f"rows of its epoch after the new one's {late}, deposed and restarted as a follower: {deposed}")
        if push:
            line += (f"; pushes {cl.push.count()} ({cl.push.count(since=fault_at)} after the fault, "
                     f"to {len(cl.push.paths())} of {PAIRS} phones)")
        print(line + f" (load average {load})", flush=True)
    except Exception:
        for name in cl.nodes:  # what the nodes said, to see why
            print(f"--- node {name}:", *cl.log_of(name).splitlines()[-8:], sep="\n", file=sys.stderr)
        raise
    finally:
        cl.stop()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] not in ("kill", "stop", "pg"):
        sys.exit(__doc__.split("\n\n")[1])
    wachat, fault = os.path.realpath(sys.argv[1]), sys.argv[2]
    push = "push" in sys.argv[3:]
    rounds = next((int(a) for a in sys.argv[3:] if a.isdigit()), 1)
    for _ in range(rounds):
        round_(wachat, fault, push)
