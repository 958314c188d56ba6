#!/usr/bin/env bash
# What `--metrics` costs: `wachat bench` against a server
# without metrics (an older binary, or this one without the flag) and
# against this one with `--metrics` scraped every second, in turns, each
# on a fresh server and data directory. Prints one line per measurement
# and the medians.
#
# Usage: examples/metrics_cost.sh --before BIN --after BIN [--runs 3]
#   --before BIN  a wachat without metrics (e.g. a release build of main)
#   --after BIN   the release build to measure (scraped with --metrics)
#   --runs N      rounds (default 3)
# Figures: msgs/s at saturation (20 pairs × 5,000 messages) and p50/p99
# MSG→receiver at 10,000 msgs/s offered (100 pairs × 100/s × 5 s).
set -euo pipefail

BEFORE=""; AFTER=""; RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --before) BEFORE=$2; shift 2 ;;
    --after) AFTER=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BEFORE" ] && [ -x "$AFTER" ] || { echo "give --before BIN and --after BIN" >&2; exit 2; }

WORK=$(mktemp -d)
SERVER_PID=""; SCRAPER_PID=""
cleanup() {
  [ -n "$SCRAPER_PID" ] && kill "$SCRAPER_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a server ($1: before|after) on fresh ports; sets SEND, RECV.
start() {
  local kind=$1 bin extra=()
  rm -rf "$WORK/data"; : > "$WORK/log"
  if [ "$kind" = after ]; then bin=$AFTER; extra=(--metrics 0); else bin=$BEFORE; fi
  RUST_LOG=info "$bin" serve --data-dir "$WORK/data" --send-port 0 --recv-port 0 --web-port off \
    --rate 0 --exempt 127.0.0.1 --kdf-cost 8 "${extra[@]}" 2>"$WORK/log" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q "listening: receive" "$WORK/log" && break; sleep 0.1; done
  if [ "$kind" = after ]; then
    for _ in $(seq 100); do grep -q "listening: metrics" "$WORK/log" && break; sleep 0.1; done
  fi
  SEND=$(sed -n 's/.*listening: send .*:\([0-9]*\)$/\1/p' "$WORK/log")
  RECV=$(sed -n 's/.*listening: receive .*:\([0-9]*\)$/\1/p' "$WORK/log")
  if [ "$kind" = after ]; then
    local port; port=$(sed -n 's|.*listening: metrics http://127.0.0.1:\([0-9]*\)/metrics|\1|p' "$WORK/log")
    # Scrapes once a second, as Prometheus or `wachat top` would.
    ( while sleep 1; do
        exec 3<>/dev/tcp/127.0.0.1/"$port" && printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3 >/dev/null
        exec 3<&- || true
      done ) & SCRAPER_PID=$!
  fi
}

stop() {
  [ -n "$SCRAPER_PID" ] && { kill "$SCRAPER_PID" 2>/dev/null || true; wait "$SCRAPER_PID" 2>/dev/null || true; SCRAPER_PID=""; }
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

# bench $kind $label args…: prints "kind label figures".
bench() {
  local kind=$1 label=$2; shift 2
  start "$kind"
  "$AFTER" bench --send-port "$SEND" --recv-port "$RECV" --json "$@" > "$WORK/out.json"
  stop
  python3 - "$kind" "$label" "$WORK/out.json" <<'PY'
import json, sys
kind, label, path = sys.argv[1:]
r = json.load(open(path))
lat = r.get("latency_us") or {}
p50, p99 = lat.get("p50", 0) / 1000, lat.get("p99", 0) / 1000
print(f"{kind:6} {label:10} msgs/s {r.get('msgs_per_s', 0):>9.0f}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  load {open('/proc/loadavg').read().split()[0]}")
PY
}

for run in $(seq "$RUNS"); do
  order="before after"; [ $((run % 2)) -eq 0 ] && order="after before"
  for kind in $order; do bench "$kind" saturation --pairs 20 --messages 5000; done
  for kind in $order; do bench "$kind" 10k/s --pairs 100 --rate 100 --messages 500; done
done | tee "$WORK/all"
echo "medians:"
python3 - "$WORK/all" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    rows[(f[0], f[1])].append((float(f[3]), float(f[5]), float(f[8])))
for (kind, label), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    med = [statistics.median(x) for x in zip(*v)]
    print(f"{kind:6} {label:10} msgs/s {med[0]:>9.0f}  p50 {med[1]:6.2f} ms  p99 {med[2]:6.2f} ms  ({len(v)} runs)")
PY
