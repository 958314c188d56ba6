#!/bin/bash
# A wachat cluster with no single point of failure, on one machine
# (docs/CLUSTER-OPS.md, "No single point of failure"): a pg_auto_failover
# monitor, two PostgreSQL servers (a primary and its synchronous
# secondary, each run by its pg_autoctl keeper), and two wachat nodes on
# them. Kill any one and watch the chat go on.
#
#   cargo build --release --features cluster
#   examples/cluster_ha.sh target/release/wachat        # everything, until Ctrl-C
#   examples/cluster_ha.sh formation DIR [BASE_PORT]    # PostgreSQL only,
#                                                       # left running (tests/cluster/ha.rs)
#   examples/cluster_ha.sh stop DIR                     # stops what `formation` started
#   examples/cluster_ha.sh bench target/release/wachat [RUNS]
#       the cost of synchronous replication (docs/CLUSTER-OPS.md): two nodes on
#       the formation and two on a single PostgreSQL, `wachat bench` at
#       2,000 msgs/s (100 pairs, 20 msgs/s each) and flat out (100 pairs),
#       taken in turns, RUNS times each (default 3)
#
# `formation` writes DIR/env: STORE (the multi-host --store), PG1/PG2
# (the two PostgreSQL ports), MONITOR (the monitor's URL). Ports: BASE_PORT (default 24100) and up.
# As root, PostgreSQL and its keepers run under `runuser -u postgres`.
# Needs: postgresql-15-auto-failover (pg_autoctl).
set -u

# The timeouts that decide how long a failover takes (docs/CLUSTER-OPS.md,
# "How long a failover of the database takes"): Debian's defaults give ~50 s from a
# primary's death to its secondary taking writes; these give ~10 s.
MONITOR_SETTINGS="
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 3000
pgautofailover.primary_demote_timeout = 5000
pgautofailover.startup_grace_period = 2000
"
KEEPER_SETTINGS="
timeout.network_partition_timeout 5
timeout.prepare_promotion_catchup 5
timeout.prepare_promotion_walreceiver 2
timeout.postgresql_restart_failure_timeout 5
timeout.postgresql_restart_failure_max_retries 1
"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
export PATH="$PGBIN:$PATH"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- env PATH="$PATH" "$@"; else "$@"; fi
}

# Waits until $1's port answers SQL as a primary that takes writes.
wait_primary() {
  for _ in $(seq 300); do
    [ "$(psql -h 127.0.0.1 -p "$1" -U wachat -d wachat -Atc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "cluster_ha.sh: PostgreSQL on $1 is not a primary after 60 s" >&2
  return 1
}

# Waits until the formation reports a primary and a secondary.
wait_secondary() {
  for _ in $(seq 600); do
    state=$(as_pg pg_autoctl show state --pgdata "$D/monitor" 2>/dev/null)
    if echo "$state" | grep -q '| *secondary *| *secondary'; then return 0; fi
    sleep 0.2
  done
  echo "cluster_ha.sh: no secondary after 120 s:" >&2
  echo "$state" >&2
  return 1
}

# A keeper (and its PostgreSQL), in the background, logging to $D/$1.log.
keeper() {
  local name=$1 port=$2
  as_pg pg_autoctl create postgres --pgdata "$D/$name" --pgport "$port" --pghost 127.0.0.1 \
    --hostname 127.0.0.1 --name "$name" --username wachat --dbname wachat --auth trust --no-ssl \
    --monitor "$MONITOR" --replication-quorum true >"$D/$name-create.log" 2>&1 || {
      cat "$D/$name-create.log" >&2; return 1; }
  echo "$KEEPER_SETTINGS" | while read -r key value; do
    [ -n "$key" ] && as_pg pg_autoctl config set --pgdata "$D/$name" "$key" "$value" >/dev/null
  done
  setsid bash -c "$(declare -f as_pg); as_pg pg_autoctl run --pgdata '$D/$name' >'$D/$name.log' 2>&1" </dev/null >/dev/null 2>&1 &
  echo $! >"$D/$name.pgid" # the keeper and its PostgreSQL: one process group
}

formation() {
  D=$1; BASE=${2:-24100}
  mkdir -p "$D"; chmod 755 "$D"
  [ "$(id -u)" -eq 0 ] && chown postgres "$D"
  PGM=$BASE; PG1=$((BASE + 1)); PG2=$((BASE + 2))
  MONITOR="postgres://autoctl_node@127.0.0.1:$PGM/pg_auto_failover?sslmode=disable"
  as_pg pg_autoctl create monitor --pgdata "$D/monitor" --pgport "$PGM" --hostname 127.0.0.1 \
    --auth trust --no-ssl >"$D/monitor-create.log" 2>&1 || { cat "$D/monitor-create.log" >&2; return 1; }
  echo "$MONITOR_SETTINGS" | grep = >>"$D/monitor/postgresql.conf"
  setsid bash -c "$(declare -f as_pg); as_pg pg_autoctl run --pgdata '$D/monitor' >'$D/monitor.log' 2>&1" </dev/null >/dev/null 2>&1 &
  echo $! >"$D/monitor.pgid"
  for _ in $(seq 150); do
    psql "$MONITOR" -Atc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  # Synchronous replication: a commit returns once the secondary has it
  # (number_sync_standbys 0 with one secondary: that one must answer).
  keeper pg1 "$PG1" || return 1
  wait_primary "$PG1" || return 1
  keeper pg2 "$PG2" || return 1
  wait_secondary || return 1
  cat >"$D/env" <<EOF
STORE=postgres://wachat@127.0.0.1:$PG1,127.0.0.1:$PG2/wachat?target_session_attrs=read-write
MONITOR=$MONITOR
PGMONITOR=$PGM
PG1=$PG1
PG2=$PG2
EOF
}

stop() {
  D=$1
  for name in pg1 pg2 monitor; do
    [ -f "$D/$name.pgid" ] || continue
    # The keeper's process group, and its server's (restarted through
    # pg_ctl, a server has a session of its own). Woken first: a test may
    # have frozen them (SIGSTOP), as a hung machine.
    groups=$(cat "$D/$name.pgid")
    pm=$(head -1 "$D/$name/postmaster.pid" 2>/dev/null)
    [ -n "$pm" ] && groups="$groups $(ps -o pgid= "$pm" 2>/dev/null | tr -d ' ')"
    # The server's children each have a session of their own too, and
    # some (the logger, the monitor's health check) outlive a killed
    # server: they are killed first, by their parent.
    [ -n "$pm" ] && pkill -CONT -P "$pm" 2>/dev/null && pkill -9 -P "$pm" 2>/dev/null
    for g in $groups; do kill -CONT -- "-$g" 2>/dev/null; kill -9 -- "-$g" 2>/dev/null; done
  done
  return 0
}

# Waits up to 60 s for the node logging to $1 to say where it listens:
# its ports are bound before it has joined the cluster, so the next node
# starts once this one has taken the lease (or found who holds it).
listening() {
  for _ in $(seq 300); do grep -q "listening: send" "$1" 2>/dev/null && return; sleep 0.2; done
}

# Two nodes on --store $1, ports from $2; prints their --server list.
two_nodes() {
  local i
  for i in 1 2; do
    "$BIN" serve --store "$1" --rate 0 --exempt 127.0.0.1 --web-port off --node "n$2$i" \
      --send-port $(($2 + i)) --recv-port $(($2 + 10 + i)) --data-dir "$D/node$2$i" >"$D/node$2$i.log" 2>&1 &
    echo $! >>"$D/nodes.pid"
    listening "$D/node$2$i.log"
  done
  echo "127.0.0.1:$(($2 + 1)):$(($2 + 11)),127.0.0.1:$(($2 + 2)):$(($2 + 12))"
}

bench() {
  BIN=$(realpath "$1"); RUNS=${2:-3}
  D=$(mktemp -d /tmp/cluster-ha-bench.XXXX); chmod 755 "$D"
  trap 'kill $(cat "$D/nodes.pid") 2>/dev/null; as_pg pg_ctl -D "$D/single" -m fast -w stop >/dev/null; stop "$D"' EXIT
  formation "$D" 24300 || exit 1
  . "$D/env"
  # The single PostgreSQL, with the same settings but no standby.
  [ "$(id -u)" -eq 0 ] && chown postgres "$D"
  as_pg initdb -D "$D/single" -A trust -U wachat --no-sync -E UTF8 >/dev/null
  as_pg pg_ctl -D "$D/single" -o "-p 24390 -k $D -c listen_addresses=127.0.0.1 -c max_connections=200" \
    -l "$D/single.log" -w start >/dev/null
  psql -h 127.0.0.1 -p 24390 -U wachat -d postgres -qc "CREATE DATABASE wachat"
  HA=$(two_nodes "$STORE" 24400)
  ONE=$(two_nodes "postgres://wachat@127.0.0.1:24390/wachat" 24500)
  for servers in "$HA" "$ONE"; do "$BIN" bench --server "$servers" --pairs 100 --messages 10 >/dev/null 2>&1; done
  for r in $(seq "$RUNS"); do
    for setup in single synchronous; do
      servers=$ONE; [ $setup = synchronous ] && servers=$HA
      echo "== run $r, $setup, 2,000 msgs/s: $("$BIN" bench --server "$servers" --pairs 100 --messages 200 --rate 20 2>&1 | grep -E 'latency' | tr '\n' ' ')"
      echo "== run $r, $setup, flat out:     $("$BIN" bench --server "$servers" --pairs 100 --messages 300 2>&1 | grep -E 'delivered:|latency' | tr '\n' ' ')"
    done
  done
}

case "${1:-}" in
  formation) formation "$2" "${3:-24100}"; exit $? ;;
  bench) shift; bench "$@"; exit 0 ;;
  stop) stop "$2"; exit 0 ;;
  ""|-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
esac

BIN=$(realpath "$1")
D=$(mktemp -d /tmp/cluster-ha.XXXX)
trap 'kill $A $B 2>/dev/null; stop "$D"' EXIT
formation "$D" 24100 || exit 1
. "$D/env"
S=(--store "$STORE" --rate 0 --web-port off)
"$BIN" serve "${S[@]}" --node a --data-dir "$D/node-a" --send-port 6201 --recv-port 9201 --metrics 127.0.0.1:9291 >"$D/a.log" 2>&1 & A=$!
listening "$D/a.log"
"$BIN" serve "${S[@]}" --node b --data-dir "$D/node-b" --send-port 6202 --recv-port 9202 --metrics 127.0.0.1:9292 >"$D/b.log" 2>&1 & B=$!
listening "$D/b.log"
cat <<EOF
Running, in $D:
  the monitor        pg_autoctl run --pgdata $D/monitor     port $PGMONITOR
  PostgreSQL pg1     pg_autoctl run --pgdata $D/pg1         port $PG1
  PostgreSQL pg2     pg_autoctl run --pgdata $D/pg2         port $PG2
  node a             send 6201, receive 9201, metrics http://127.0.0.1:9291/metrics (pid $A)
  node b             send 6202, receive 9202, metrics http://127.0.0.1:9292/metrics (pid $B)

Chat through both nodes (two terminals):
  $BIN connect --register --user alice --server 127.0.0.1:6201:9201,127.0.0.1:6202:9202
  $BIN connect --register --user bob --server 127.0.0.1:6202:9202,127.0.0.1:6201:9201
Watch:
  watch -n1 pg_autoctl show state --pgdata $D/monitor     (as the postgres user when root)
  $BIN top --metrics 127.0.0.1:9291                      (the node's database state)
Kill one thing and watch the chat go on:
  the primary (pg1 at first) and its keeper:  kill -9 -\$(cat $D/pg1.pgid) \$(head -1 $D/pg1/postmaster.pid)
  freeze it (a hung machine):  kill -STOP -\$(cat $D/pg1.pgid); later kill -CONT -\$(cat $D/pg1.pgid)
  a node:       kill -9 $A   (node a leads at first: b takes the lease within ~5 s,
                and the clients of a reconnect to b)
  who leads:    psql "$STORE" -c 'SELECT holder, epoch FROM lease'
While no primary answers (~9 s after the kill -9), writes get KO:UNAVAILABLE
and are sent again; reads (HISTORY, ROOMS) are answered from the leader's copy.
Ctrl-C stops everything.
EOF
wait $A $B
