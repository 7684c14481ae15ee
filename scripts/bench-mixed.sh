#!/usr/bin/env bash
# Measures ingest and delivery together (issue P9, target 3), in one run:
#   1. the reference: Callbridge's maximum ingest rate on this machine now,
#      wrk -t1 -c32 for 5 s with the endpoint disabled (a log of its own);
#   2. on a fresh log with the endpoint enabled, wrk sends signed Juspay
#      webhooks at HALF that rate for DURATION seconds (paced: each connection
#      pauses between requests; a 3 s calibration run sets the pause), while
#      every event is delivered, signed, to a keep-alive sink;
#   3. the backlog (pending deliveries) is sampled every second; after the
#      load the script waits for it to drain.
# Latency: the sink subtracts each envelope's `timestamp` (when Callbridge
# received the request, in ms) from the time it arrived. The provider's ack
# comes after that timestamp, so this over-states ack → sink receipt; the
# target is p99 ≤ 50 ms. Loopback only, bounded.
# Usage: scripts/bench-mixed.sh [DURATION_SECONDS] [MAX_IN_FLIGHT]
DURATION="${1:-20}"
MAX_IN_FLIGHT="${2:-16}"
source "$(dirname "$0")/bench-common.sh"
export SINK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
rate_of() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
url=http://127.0.0.1:18181/juspay/webhook

.build/release/bare-hummingbird 18182 --record-lag > "$work/bare.log" 2>&1 &
for _ in $(seq 1 50); do curl -s -o /dev/null localhost:18182/lag && break; sleep 0.1; done

echo "== reference: maximum ingest, endpoint disabled, wrk -t1 -c32 -d5s =="
endpoint_config "$work/max" "$MAX_IN_FLIGHT"
.build/release/callbridge endpoints disable sink --reason "ingest only" --config "$work/max/callbridge.yaml" > /dev/null
serve_folder "$work/max"
out=$(wrk -t1 -c32 -d5s -s scripts/wrk-juspay-webhooks.lua "$url" -- max); echo "$out" | grep -E "Requests/sec|Non-2xx|Socket errors" || true
max=$(rate_of "$out")
stop_serve

endpoint_config "$work/mixed" "$MAX_IN_FLIGHT"
serve_folder "$work/mixed"
connections=32
python3 - "$max" "$connections" > "$work/pause" <<'PY'
import sys
target, c = float(sys.argv[1]) / 2, int(sys.argv[2])
print(max(1, round(c * 1000 / target)))
PY
pause=$(cat "$work/pause")
out=$(wrk -t1 -c$connections -d3s -s scripts/wrk-juspay-webhooks-paced.lua "$url" -- calibrate 0 "$pause")
got=$(rate_of "$out")
# Each request costs its pause plus its own time; take that time off the pause.
pause=$(python3 -c "import sys; m,c,p,g=map(float,sys.argv[1:]); t=m/2; print(max(1, round(p - (c*1000/g - c*1000/t))))" "$max" "$connections" "$pause" "$got")
curl -s -o /dev/null localhost:18182/lag  # (the calibration's deliveries are in the lag figures too: same load)
echo "== Callbridge at half that rate (target $(python3 -c "print(round($max/2))")/s, pause ${pause} ms × $connections connections) for ${DURATION}s, delivering to the sink (max_in_flight $MAX_IN_FLIGHT) =="
backlog() { curl -s localhost:18181/metrics | awk '/^callbridge_delivery_backlog\{endpoint="sink"\}/ {print int($2); found=1} END {if (!found) print 0}'; }
: > "$work/backlog"
( for _ in $(seq 1 $((DURATION + 2))); do backlog >> "$work/backlog"; sleep 1; done ) &
sampler=$!
out=$(wrk -t1 -c$connections -d"${DURATION}s" --latency -s scripts/wrk-juspay-webhooks-paced.lua "$url" -- mixed 0 "$pause"); echo "$out" | grep -E "Requests/sec|Non-2xx|Socket errors|99%|50%" || true
ingest=$(rate_of "$out")
wait "$sampler" || true
for _ in $(seq 1 300); do [ "$(backlog)" -eq 0 ] && break; sleep 0.1; done
left=$(backlog)
lag=$(curl -s localhost:18182/lag)
python3 - "$max" "$ingest" "$left" "$work/backlog" "$lag" <<'PY'
import json, sys
peak, ingest, left = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
samples = [int(x) for x in open(sys.argv[4]).read().split()]
lag = json.loads(sys.argv[5])
print(f"== ingest {ingest:.0f} req/s = {ingest/peak:.2f} × the maximum {peak:.0f} req/s measured above ==")
print(f"== backlog sampled each second: max {max(samples or [0])}, last {samples[-1] if samples else 0}; {left} left 30 s after the load ==")
print(f"== envelope timestamp → sink receipt over {lag['count']} deliveries: p50 {lag['p50']} ms, p90 {lag['p90']} ms, p99 {lag['p99']} ms, max {lag['max']} ms (target p99 ≤ 50 ms) ==")
PY
stop_serve
