#!/bin/sh
# A restart for `wachat chaos --restart` and `wachat conform --allow-restart`:
# kill -9 the `wachat serve` that holds DATA_DIR, then start it again on the
# same data with the same options, in the background.
#
#   examples/restart_server.sh DATA_DIR [SERVE OPTIONS…]
#
#   wachat serve --data-dir chaos-data --exempt 127.0.0.1 &     # the first start
#   wachat chaos --faults delay,reset,partition,restart \
#       --restart 'examples/restart_server.sh chaos-data --exempt 127.0.0.1'
#
# The server's pid is in DATA_DIR/wachat.lock (wachat writes it there and
# holds the lock while it runs), so nothing else needs to remember it. The
# new server's log is appended to DATA_DIR.log, beside the directory.
# WACHAT names the program (default: wachat on the PATH). Without a running
# server, it only starts one. Exits once the new server has taken the lock
# (chaos and conform then wait for its ports themselves).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DATA_DIR [SERVE OPTIONS...]" >&2
    exit 2
fi
data=$1
shift
wachat=${WACHAT:-wachat}

pid=$(cat "$data/wachat.lock" 2>/dev/null || true)
if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
    # The lock is the kernel's: it is free once the process is gone.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.05
    done
fi

nohup "$wachat" serve --data-dir "$data" "$@" >>"$data.log" 2>&1 </dev/null &
new=$!
# Wait (5 s at most) until the new server holds the lock and says so.
tries=0
while [ "$(cat "$data/wachat.lock" 2>/dev/null || true)" != "$new" ]; do
    if ! kill -0 "$new" 2>/dev/null; then
        echo "$0: the server did not start; see $data.log" >&2
        exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
        echo "$0: the server has not taken $data/wachat.lock after 5 s; see $data.log" >&2
        exit 1
    fi
    sleep 0.05
done
