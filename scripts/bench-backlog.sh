#!/usr/bin/env bash
# Measures delivery with a deep queue (issue P9, target 4), in one run:
#   1. the reference: a backlog of SMALL (default 20,000) pending deliveries
#      is built with the endpoint disabled (wrk, signed Juspay webhooks), then
#      the endpoint is enabled and the drain rate measured until it is empty;
#   2. on a fresh log, a backlog of BACKLOG (default 1,000,000) is built the
#      same way; the server is restarted (so its memory is what the deep queue
#      costs, not what ingest left behind), the endpoint enabled, and the
#      deliveries that succeed in WINDOW seconds (default 30) counted;
#   3. the server's resident memory is sampled each second (VmRSS) and its
#      peak read at the end (VmHWM).
# Targets: peak RSS ≤ 300 MB with the deep queue; its drain rate ≥ 0.8× the
# reference's. Building 1,000,000 events takes minutes (wrk at the maximum
# ingest rate). Loopback only, bounded.
# Usage: scripts/bench-backlog.sh [BACKLOG] [SMALL] [WINDOW_SECONDS]
BACKLOG="${1:-1000000}"
SMALL="${2:-20000}"
WINDOW="${3:-30}"
MAX_IN_FLIGHT=64
source "$(dirname "$0")/bench-common.sh"
export SINK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
url=http://127.0.0.1:18181/juspay/webhook
counts() {  # counts FOLDER → "pending succeeded dead"
  .build/release/callbridge endpoints list --json --config "$1/callbridge.yaml" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["backlog"], r["succeeded"], r["dead"])'
}
build_backlog() {  # build_backlog FOLDER COUNT: the endpoint disabled, wrk until COUNT events are stored
  endpoint_config "$1" "$MAX_IN_FLIGHT"
  .build/release/callbridge endpoints disable sink --reason "building a backlog" --config "$1/callbridge.yaml" > /dev/null
  serve_folder "$1"
  local pending=0 round=0
  while [ "$pending" -lt "$2" ]; do
    round=$((round + 1))
    # Seconds to go at ~3,000/s, at least 2 and at most 60 per round.
    local seconds=$(( ($2 - pending) / 3000 + 1 )); [ $seconds -gt 60 ] && seconds=60; [ $seconds -lt 2 ] && seconds=2
    wrk -t2 -c32 -d"${seconds}s" -s scripts/wrk-juspay-webhooks.lua "$url" -- "b${round}" > /dev/null
    read -r pending _ _ <<<"$(counts "$1")"
    echo "   backlog $pending / $2"
  done
  stop_serve
}
sample_rss() {  # sample_rss PID FILE: VmRSS in kB each second while PID lives
  while [ -e "/proc/$1/status" ]; do awk '/VmRSS/ {print $2}' "/proc/$1/status" >> "$2" 2>/dev/null || true; sleep 1; done
}

.build/release/bare-hummingbird 18182 > "$work/bare.log" 2>&1 &
for _ in $(seq 1 50); do curl -s -o /dev/null -X POST localhost:18182/bare && break; sleep 0.1; done

echo "== reference: drain a backlog of $SMALL (max_in_flight $MAX_IN_FLIGHT) =="
build_backlog "$work/small" "$SMALL"
serve_folder "$work/small"
read -r pending before _ <<<"$(counts "$work/small")"
start=$(date +%s.%N)
.build/release/callbridge endpoints enable sink --config "$work/small/callbridge.yaml" > /dev/null
while [ "$pending" -gt 0 ]; do sleep 0.2; read -r pending after _ <<<"$(counts "$work/small")"; done
end=$(date +%s.%N)
small_rss=$(awk '/VmHWM/ {print $2}' "/proc/$serve_pid/status")
stop_serve
small_rate=$(python3 -c "import sys; print(f'{(int(sys.argv[1])-int(sys.argv[2]))/(float(sys.argv[4])-float(sys.argv[3])):.1f}')" "$after" "$before" "$start" "$end")
echo "   drained $((after - before)) in $(python3 -c "print(f'{$end-$start:.1f}')") s: $small_rate/s, peak RSS $((small_rss / 1024)) MB"
rm -rf "$work/small"

echo "== deep queue: a backlog of $BACKLOG, then ${WINDOW}s of delivery =="
build_backlog "$work/deep" "$BACKLOG"
serve_folder "$work/deep"
sample_rss "$serve_pid" "$work/rss" &
read -r pending before _ <<<"$(counts "$work/deep")"
start=$(date +%s.%N)
.build/release/callbridge endpoints enable sink --config "$work/deep/callbridge.yaml" > /dev/null
sleep "$WINDOW"
read -r pending after _ <<<"$(counts "$work/deep")"
end=$(date +%s.%N)
deep_rss=$(awk '/VmHWM/ {print $2}' "/proc/$serve_pid/status")
stop_serve
python3 - "$small_rate" "$before" "$after" "$start" "$end" "$pending" "$deep_rss" "$work/rss" <<'PY'
import sys
small = float(sys.argv[1]); before, after = int(sys.argv[2]), int(sys.argv[3])
start, end, pending, hwm = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
rss = [int(x) for x in open(sys.argv[8]).read().split()] or [0]
rate = (after - before) / (end - start)
print(f"   delivered {after-before} in {end-start:.1f} s: {rate:.0f}/s, {pending} still pending")
print(f"== RSS with {pending + after - before} queued: peak {hwm/1024:.0f} MB (sampled max {max(rss)/1024:.0f} MB; target ≤ 300 MB) ==")
print(f"== ratio: drain with the deep queue {rate:.0f}/s / with {small:.0f}/s for a small one = {rate/small:.2f} (target ≥ 0.8) ==")
PY
