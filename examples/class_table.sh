#!/bin/bash
# How long `wachat conform federation --class` takes for a class: N
# `wachat serve` processes on loopback linked by one roster (docs/CONFORM.md,
# "The class table"), the table taken RUNS times, each run's time printed,
# then the median. Every server is up: the table is N×(N−1) "ok".
#
#   cargo build --release
#   examples/class_table.sh target/release/wachat [N] [RUNS] [PARALLEL]
#
# N servers (default 30), RUNS tables (default 5), PARALLEL hellos at once
# (default 16, the command's own default). Link ports from BASE_PORT
# (default 27000) up; the servers' other ports are any free ones.
set -u
WACHAT=${1:?usage: $0 path/to/wachat [N] [RUNS] [PARALLEL]}
N=${2:-30}
RUNS=${3:-5}
PARALLEL=${4:-16}
BASE_PORT=${BASE_PORT:-27000}
DIR=$(mktemp -d)
PIDS=()

stop() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DIR"
}
trap stop EXIT

for i in $(seq 1 "$N"); do
    "$WACHAT" roster-line --data-dir "$DIR/lab$i" --name "lab$i" --link-addr "127.0.0.1:$((BASE_PORT + i))"
done > "$DIR/class.csv"

for i in $(seq 1 "$N"); do
    "$WACHAT" serve --name "lab$i" --peers "$DIR/class.csv" --link-port $((BASE_PORT + i)) \
        --data-dir "$DIR/lab$i" --send-port 0 --recv-port 0 --web-port off >"$DIR/lab$i.log" 2>&1 &
    PIDS+=($!)
done
# Each server says where its link port listens once it is up.
for i in $(seq 1 "$N"); do
    until grep -q "listening: link" "$DIR/lab$i.log"; do sleep 0.1; done
done
echo "$N servers up"

TIMES=()
for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    "$WACHAT" conform federation --class "$DIR/class.csv" --parallel "$PARALLEL" >"$DIR/table.txt"
    end=$(date +%s.%N)
    secs=$(printf "%.3f" "$(echo "$end - $start" | bc)")
    TIMES+=("$secs")
    echo "run $run: $secs s, $(grep 'links can be made' "$DIR/table.txt")"
done
median=$(printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median of $RUNS: $median s for $N servers ($((N * (N - 1))) hellos, $PARALLEL at a time)"
