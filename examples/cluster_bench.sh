#!/bin/bash
# docs/CLUSTER-OPS.md's own two runs on a fresh two-node cluster, as figures:
# a fresh PostgreSQL on free loopback ports, two nodes, then
# `wachat bench --pairs 100 --messages 2000` (throughput, P = 100) and
# `--messages 200 --rate 20` (latency at 2,000 msgs/s offered), each run
# printed with the PostgreSQL connections the nodes made during it (a
# node keeps its readers' connections: a run makes none, or a few).
#
#   cargo build --release --features cluster
#   examples/cluster_bench.sh target/release/wachat                # one round
#   examples/cluster_bench.sh OLD/wachat NEW/wachat OLD/wachat NEW/wachat
#
# Each argument is one round, on a fresh database: give two builds in
# turns (ABAB) to compare them, and take medians. PG_OPTS adds settings
# to PostgreSQL's command line: on a machine whose disk other work
# shares, PG_OPTS="-c fsync=off -c synchronous_commit=off" takes its
# fsync stalls out of the figures (they made e481098 itself measure a
# p50 of 59-77 ms beside a test suite), to compare builds, not disks.
# NODE_OPTS adds flags to both nodes' command line (on a machine whose
# disk other work fills, NODE_OPTS="--min-free 100MiB"). A build from
# before the nodes linked over TCP (one that takes `--bus`) gets a
# nats-server of its own, so that old and new compare. As root, PostgreSQL
# runs under `runuser -u postgres`. tests/cluster/latency.rs runs the
# latency run in CI.
set -u
[ $# -ge 1 ] || { echo "usage: $0 WACHAT [WACHAT ...] (one round each, in turns)" >&2; exit 2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$D"; runuser -u postgres -- "$@"; else "$@"; fi; }
# A run that cannot take place stops the script with the reason, never an
# empty line of figures (a build without the `cluster` feature, a node that
# did not start).
fail() { echo "$0: $1" >&2; shift; printf '%s\n' "$@" | tail -n 5 >&2; finish; exit 1; }
# Waits up to 60 s for a node to say where it listens: its ports are
# bound before it has joined the cluster (taken the lease, or found who
# holds it), so an answering port is not a started node. A node that
# exits or never says so fails the round with its log's last lines.
up() {
  for _ in $(seq 300); do grep -q "listening: send" "$2" 2>/dev/null && return; sleep 0.2; done
  fail "a node did not start on port $1:" "$(cat "$2")"
}
round() {
  D=$(mktemp -d /tmp/cluster-bench.XXXX); chmod 755 "$D"
  local pg nats s1 r1 s2 r2 A= B= NATS= BUS=
  pg=$(free_port); nats=$(free_port); s1=$(free_port); r1=$(free_port); s2=$(free_port); r2=$(free_port)
  as_pg "$PGBIN/initdb" -D "$D/data" -A trust -U wachat --no-sync -E UTF8 >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$D/data" -o "-p $pg -k $D -c listen_addresses=127.0.0.1 ${PG_OPTS:-}" -l "$D/pg.log" -w start >/dev/null
  Q() { psql -h 127.0.0.1 -p "$pg" -U wachat "$@"; }
  Q postgres -qc "CREATE DATABASE bench"
  if "$BIN" serve --help 2>/dev/null | grep -q -- '--bus'; then
    nats-server -p "$nats" -a 127.0.0.1 >"$D/nats.log" 2>&1 & NATS=$!
    BUS="--bus nats://127.0.0.1:$nats"
  fi
  local S="--store postgres://wachat@127.0.0.1:$pg/bench $BUS --rate 0 --exempt 127.0.0.1 --web-port off ${NODE_OPTS:-}"
  # Each node its own data directory (its copy of the log), in the round's
  # temporary one: not the checkout's data/, nor one for both.
  "$BIN" serve $S --node a --data-dir "$D/node-a" --send-port "$s1" --recv-port "$r1" >"$D/a.log" 2>&1 & A=$!
  up "$s1" "$D/a.log" # a migrates the schema (and takes the lease, on a build that has one)
  "$BIN" serve $S --node b --data-dir "$D/node-b" --send-port "$s2" --recv-port "$r2" >"$D/b.log" 2>&1 & B=$!
  up "$s2" "$D/b.log"
  local N=127.0.0.1:$s1:$r1,127.0.0.1:$s2:$r2
  sessions() { Q bench -Atc "SELECT sessions FROM pg_stat_database WHERE datname = 'bench'"; }
  "$BIN" bench --server $N --pairs 100 --messages 10 >/dev/null 2>&1 # the accounts (not measured)
  for run in "--messages 2000" "--messages 200 --rate 20"; do
    local before out all
    before=$(sessions)
    all=$("$BIN" bench --server $N --pairs 100 $run 2>&1)
    out=$(echo "$all" | grep -E '^(login|delivered|latency)') || fail "the bench printed no figures:" "$all"
    echo "  $run: $(echo "$out" | tr '\n' ' ')| connections made: $(( $(sessions) - before ))"
  done
  finish
}
# Stops the round's nodes (and an old build's NATS) and PostgreSQL, and removes its folder
# (round's locals, seen here as bash scopes them).
finish() {
  kill ${A:-} ${B:-} ${NATS:-} 2>/dev/null; wait ${A:-} ${B:-} ${NATS:-} 2>/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$D/data" -m fast -w stop >/dev/null
  rm -rf "$D"
}
r=0
for BIN in "$@"; do
  BIN=$(realpath "$BIN") || exit 2
  r=$((r + 1)); echo "round $r ($BIN, load average $(cut -d' ' -f1 /proc/loadavg))"; round
done
