#!/bin/bash
# The cluster's latency at 2,000 msgs/s, and where it goes (docs/CLUSTER-OPS.md,
# "Figures"): a fresh PostgreSQL, two
# nodes with --metrics, then three runs of `wachat bench` (100 pairs, 20
# msgs/s each, every message crossing nodes). Prints each run's latency and
# the change of every histogram of both nodes during it (bucket bounds), and
# PostgreSQL's busiest statements.
#
#   cargo build --release --features cluster
#   examples/cluster_latency.sh target/release/wachat [extra postgres -c settings]
#
# As root, PostgreSQL runs under `runuser -u postgres`. Uses ports 5433,
# 6101-6102, 9101-9102 and 9191-9192.
set -u
BIN=$(realpath "$1"); shift
D=$(mktemp -d /tmp/cluster-latency.XXXX); chmod 755 "$D"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$D"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/initdb" -D "$D/data" -A trust -U wachat --no-sync -E UTF8 >/dev/null
OPTS="-p 5433 -k $D -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB \
 -c track_wal_io_timing=on -c shared_preload_libraries=pg_stat_statements $*"
as_pg "$PGBIN/pg_ctl" -D "$D/data" -o "$OPTS" -l "$D/pg.log" -w start >/dev/null
Q() { psql -h 127.0.0.1 -p 5433 -U wachat "$@"; }
Q postgres -qc "CREATE DATABASE bench"
Q bench -qc "CREATE EXTENSION pg_stat_statements"
S="--store postgres://wachat@127.0.0.1:5433/bench --rate 0 --exempt 127.0.0.1 --web-port off"
# Each node its own data directory (its copy of the log); b started once
# a has joined the cluster (its ports are bound before that).
listening() { for _ in $(seq 300); do grep -q "listening: send" "$1" 2>/dev/null && return; sleep 0.2; done; }
"$BIN" serve $S --node a --data-dir "$D/node-a" --send-port 6101 --recv-port 9101 --metrics 127.0.0.1:9191 >"$D/a.log" 2>&1 & A=$!
trap 'kill $A ${B:-} 2>/dev/null; as_pg "$PGBIN/pg_ctl" -D "$D/data" -m fast -w stop >/dev/null' EXIT
listening "$D/a.log"
"$BIN" serve $S --node b --data-dir "$D/node-b" --send-port 6102 --recv-port 9102 --metrics 127.0.0.1:9192 >"$D/b.log" 2>&1 & B=$!
listening "$D/b.log"
N=127.0.0.1:6101:9101,127.0.0.1:6102:9102
"$BIN" bench --server $N --pairs 100 --messages 10 >/dev/null 2>&1   # the accounts
for r in 1 2 3; do
  curl -s 127.0.0.1:9191/metrics >"$D/a-before"; curl -s 127.0.0.1:9192/metrics >"$D/b-before"
  Q bench -Atc "SELECT pg_stat_statements_reset()" >/dev/null
  echo "== run $r"
  "$BIN" bench --server $N --pairs 100 --messages 200 --rate 20 2>&1 | grep latency
  curl -s 127.0.0.1:9191/metrics >"$D/a-after"; curl -s 127.0.0.1:9192/metrics >"$D/b-after"
  python3 - "$D" <<'PY'
import collections, re, sys
d = sys.argv[1]
def load(p):
    h = collections.defaultdict(dict)
    for line in open(p):
        m = re.match(r'^(\w+)_bucket\{le="([^"]+)"\} (\S+)', line)
        if m: h[m.group(1)][float(m.group(2))] = float(m.group(3))
    return h
for node in "ab":
    before, after = load(f"{d}/{node}-before"), load(f"{d}/{node}-after")
    for name in sorted(after):
        diff = [(le, after[name][le] - before.get(name, {}).get(le, 0)) for le in sorted(after[name])]
        total = diff[-1][1]
        if total <= 0: continue
        scale = 1000 if "seconds" in name else 1
        qs = [next(le for le, c in diff if c >= q * total) * scale for q in (0.5, 0.9, 0.99, 0.999)]
        print(f"  {node} {name:48} n={total:<7g} p50<={qs[0]:.3g} p90<={qs[1]:.3g} p99<={qs[2]:.3g} p99.9<={qs[3]:.3g}")
PY
  Q bench -Atc "SELECT calls, round(mean_exec_time::numeric, 2) AS mean_ms, round(max_exec_time::numeric, 1) AS max_ms, \
    left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 4" | sed 's/^/  pg /'
done
