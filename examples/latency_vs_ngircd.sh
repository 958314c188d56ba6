#!/usr/bin/env bash
# The latency comparison: wachat (durable: fsync before every OK and every
# delivery) against ngircd (C, in memory), driven by the same independent
# load generator, chatload, in the same run. Prints a table:
#
#   - p50 / p99 MSG→receiver and server CPU per message at 10,000 msgs/s
#     offered (100 pairs, 100 msgs/s each);
#   - msgs/s at saturation (100 pairs, 100 in flight each);
#
# as medians of --runs runs, the servers taking turns within each run, on
# a fresh server (and data directory) for every measurement. The 1-minute
# load average seen before each measurement is printed with the figures:
# the machine is shared, and a latency tail means little on a busy one.
#
# Usage (from anywhere; release builds):
#   examples/latency_vs_ngircd.sh [--chatload DIR] [--runs 3] [--before BIN]
#
#   --chatload DIR  the chatload sources (default: $CHATLOAD_DIR, else
#                   ../shared/tools/chatload next to the repository)
#   --runs N        runs per figure (default 3; medians are printed)
#   --before BIN    another wachat binary measured alongside (e.g. a release
#                   build of an older commit): before/after in one session
#   --wachat BIN    the wachat binary to measure (default: builds this
#                   repository's with `cargo build --release`)
#   --floor BIN     examples/bare_relay's release binary: measures it too,
#                   in memory ("relay") and with --durable ("durable"), the
#                   cost of the fixed shape without wachat's own work
#   --lat-msgs N    messages per sender at 10k msgs/s (default 500: 5 s)
#   --sat-msgs N    messages per sender at saturation (default 4000)
#
# Needs ngircd (installed with apt-get if missing) and the Rust toolchain.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CHATLOAD_DIR=${CHATLOAD_DIR:-$REPO/../shared/tools/chatload}
RUNS=3
BEFORE=""
WACHAT=""
FLOOR=""
LAT_MSGS=500
SAT_MSGS=4000
PAIRS=100
RATE=100   # per sender: 100 pairs × 100/s = 10,000 msgs/s offered
WINDOW=100

while [ $# -gt 0 ]; do
  case "$1" in
    --chatload) CHATLOAD_DIR=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --wachat) WACHAT=$2; shift 2 ;;
    --floor) FLOOR=$2; shift 2 ;;
    --lat-msgs) LAT_MSGS=$2; shift 2 ;;
    --sat-msgs) SAT_MSGS=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "latency_vs_ngircd: $*" >&2; exit 1; }

# ----- tools -----------------------------------------------------------------

[ -f "$CHATLOAD_DIR/Cargo.toml" ] || die "no chatload sources in $CHATLOAD_DIR (give --chatload DIR or CHATLOAD_DIR)"
if ! command -v ngircd >/dev/null 2>&1 && [ ! -x /usr/sbin/ngircd ]; then
  echo "installing ngircd ..." >&2
  apt-get install -y -qq ngircd >/dev/null || { apt-get update -qq && apt-get install -y -qq ngircd >/dev/null; }
fi
NGIRCD=$(command -v ngircd || echo /usr/sbin/ngircd)

WORK=$(mktemp -d /tmp/latency_vs_ngircd.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building chatload ($CHATLOAD_DIR) ..." >&2
cargo build --release --quiet --manifest-path "$CHATLOAD_DIR/Cargo.toml" --target-dir "$WORK/chatload-target"
CHATLOAD=$WORK/chatload-target/release/chatload
if [ -z "$WACHAT" ]; then
  echo "building wachat ..." >&2
  cargo build --release --quiet --manifest-path "$REPO/Cargo.toml" --bin wachat
  WACHAT=$REPO/target/release/wachat
fi

# ----- servers ---------------------------------------------------------------

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1 (10 s at most).
await_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  die "nothing listens on port $1"
}

# Starts a server of kind $1 (wachat | before | ngircd); sets SERVER_PID and ARGS.
start() {
  case "$1" in
    ngircd)
      local port; port=$(free_port)
      sed "s/Ports = 16667/Ports = $port/" "$REPO/examples/ngircd.conf" >"$WORK/ngircd.conf"
      "$NGIRCD" -n -f "$WORK/ngircd.conf" >"$WORK/ngircd.log" 2>&1 &
      SERVER_PID=$!
      await_port "$port"
      ARGS=(--proto irc --addr "127.0.0.1:$port")
      ;;
    relay | durable)
      local send recv durable=(); send=$(free_port); recv=$(free_port)
      rm -f "$WORK/relay.log"
      [ "$1" = durable ] && durable=(--durable "$WORK/relay.log")
      "$FLOOR" "$send" "$recv" "${durable[@]}" >"$WORK/$1.log" 2>&1 &
      SERVER_PID=$!
      await_port "$send"; await_port "$recv"
      ARGS=(--proto wachat --addr "127.0.0.1:$send" --recv-addr "127.0.0.1:$recv")
      ;;
    *)
      local bin=$WACHAT
      [ "$1" = before ] && bin=$BEFORE
      local send recv; send=$(free_port); recv=$(free_port)
      rm -rf "$WORK/data"
      "$bin" serve --data-dir "$WORK/data" --rate 0 --kdf-cost 8 --exempt 127.0.0.1 \
        --send-port "$send" --recv-port "$recv" >"$WORK/$1.log" 2>&1 &
      SERVER_PID=$!
      await_port "$send"; await_port "$recv"
      ARGS=(--proto wachat --addr "127.0.0.1:$send" --recv-addr "127.0.0.1:$recv")
      ;;
  esac
  PIDS+=("$SERVER_PID")
}

stop() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# A field of chatload's REP line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# One measurement: kind, phase (lat | sat); appends to $WORK/results.
measure() {
  local kind=$1 phase=$2 load; load=$(load1)
  start "$kind"
  local opts
  if [ "$phase" = lat ]; then
    opts=(--rate "$RATE" --msgs "$LAT_MSGS")
  else
    opts=(--msgs "$SAT_MSGS")
  fi
  local rep
  rep=$("$CHATLOAD" "${ARGS[@]}" --pairs "$PAIRS" --window "$WINDOW" --reps 1 \
    --server-pid "$SERVER_PID" --label "$kind" "${opts[@]}" | grep '^REP ' || true)
  stop
  [ -n "$rep" ] || die "$kind: chatload printed no result (server log: $WORK/$kind.log)"
  echo "$rep load1=$load" >&2
  [ "$(field "$rep" complete)" = true ] || echo "  warning: $kind $phase run incomplete" >&2
  echo "$kind $phase $(field "$rep" p50_us) $(field "$rep" p99_us) $(field "$rep" srv_us_per_msg) $(field "$rep" msgs_per_s) $load" >>"$WORK/results"
}

KINDS=(wachat)
[ -n "$BEFORE" ] && KINDS+=(before)
[ -n "$FLOOR" ] && KINDS+=(relay durable)
KINDS+=(ngircd)

for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS ..." >&2
  # The servers take turns, each run starting with the next one.
  n=${#KINDS[@]}
  for k in $(seq 0 $((n - 1))); do
    kind=${KINDS[$(((k + run - 1) % n))]}
    measure "$kind" lat
    measure "$kind" sat
  done
done

# ----- the table -------------------------------------------------------------

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
col() { awk -v k="$1" -v p="$2" -v c="$3" '$1==k && $2==p {print $c}' "$WORK/results" | median; }
range() { awk -v k="$1" '$1==k {print $7}' "$WORK/results" | sort -g | sed -n '1p;$p' | paste -sd- -; }
ms() { awk -v v="$1" 'BEGIN {printf "%.2f ms", v/1000}'; }
num() { awk -v v="$1" 'BEGIN {printf "%.1f", v}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b>0) printf "%.2f×", a/b; else print "-"}'; }

declare -A P50 P99 CPU SATCPU SAT
for kind in "${KINDS[@]}"; do
  P50[$kind]=$(col "$kind" lat 3); P99[$kind]=$(col "$kind" lat 4)
  CPU[$kind]=$(col "$kind" lat 5); SATCPU[$kind]=$(col "$kind" sat 5); SAT[$kind]=$(col "$kind" sat 6)
done

label() {
  case "$1" in
    wachat) echo "wachat (durable)" ;;
    before) echo "wachat before" ;;
    relay) echo "bare relay (in memory)" ;;
    durable) echo "bare relay (durable)" ;;
    ngircd) echo "ngircd (in memory)" ;;
  esac
}
header="| medians of $RUNS runs, P = $PAIRS, 100-byte texts |"
rule="| --- |"
for kind in "${KINDS[@]}"; do header="$header $(label "$kind") |"; rule="$rule ---: |"; done
header="$header wachat / ngircd | goal |"; rule="$rule ---: | --- |"
echo
echo "$header"
echo "$rule"
row() {
  local name=$1 fmt=$2 arr=$3 goal=$4 line="| $1 |"
  local -n values=$arr
  for kind in "${KINDS[@]}"; do line="$line $($fmt "${values[$kind]}") |"; done
  echo "$line $(ratio "${values[wachat]}" "${values[ngircd]}") | $goal |"
}
row "p50 MSG→receiver at 10,000 msgs/s" ms P50 "≤ 0.5 ms"
row "p99 MSG→receiver at 10,000 msgs/s" ms P99 "≤ 2 ms"
row "server CPU per message at 10,000 msgs/s (µs)" num CPU "≤ 1.5× ngircd"
row "server CPU per message at saturation (µs)" num SATCPU "≤ 1.8× ngircd"
row "saturation, $WINDOW in flight per pair (msgs/s)" num SAT ""
line="| 1-minute load average seen |"
for kind in "${KINDS[@]}"; do line="$line $(range "$kind") |"; done
echo "$line | < 0.7 for figures worth quoting |"
