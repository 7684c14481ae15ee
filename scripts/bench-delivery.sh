#!/usr/bin/env bash
# Measures delivery throughput to a local sink with keep-alive:
#   1. the endpoint is disabled and wrk ingests signed Juspay webhooks for
#      INGEST_SECONDS, building a backlog of pending deliveries;
#   2. the endpoint is enabled and the time until the backlog is drained is
#      measured (every delivery signed, sent through libcurl, its attempt
#      recorded and the delivery marked succeeded in SQLite);
#   3. the reference, in the same run: nginx (one worker, proxy_pass with
#      upstream keep-alive) in front of the same sink, loaded by wrk with as
#      many connections as the endpoint's max_in_flight; the ratio is
#      Callbridge's drain rate over nginx's request rate.
# Loopback only, bounded. Usage: scripts/bench-delivery.sh [INGEST_SECONDS] [MAX_IN_FLIGHT]
# Environment: ORDERING=none|per_order (the endpoint's `ordering:`, default
# none); ORDERS=N makes the webhooks share N order ids per wrk thread (default
# 0: every webhook its own order). The endpoint takes `order_events: all`, so
# every webhook is one delivery whatever the orders.
INGEST_SECONDS="${1:-5}"
MAX_IN_FLIGHT="${2:-64}"
ORDERING="${ORDERING:-none}"
ORDERS="${ORDERS:-0}"
source "$(dirname "$0")/bench-common.sh"
export SINK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
endpoint_config "$work" "$MAX_IN_FLIGHT" "$ORDERING"
cb() { .build/release/callbridge "$@" --config "$work/callbridge.yaml"; }
.build/release/bare-hummingbird 18182 > "$work/bare.log" 2>&1 &
# Disabled before the server starts, so no delivery goes out while the backlog builds.
cb endpoints disable sink --reason "building a backlog"
serve_folder "$work"
echo "== ingesting for ${INGEST_SECONDS}s with the endpoint disabled (ordering: $ORDERING, orders per thread: $ORDERS) =="
wrk -t2 -c32 -d"${INGEST_SECONDS}s" -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- dl "$ORDERS" | grep -E "requests in|Requests/sec|Non-2xx" || true
backlog() { cb endpoints list --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["backlog"], r["succeeded"], r["dead"])'; }
read -r pending succeeded dead <<<"$(backlog)"
echo "backlog: $pending pending"
start=$(date +%s.%N)
cb endpoints enable sink >/dev/null
while :; do
  read -r pending succeeded dead <<<"$(backlog)"
  [ "$pending" -eq 0 ] && break
  sleep 0.2
done
end=$(date +%s.%N)
python3 - "$start" "$end" "$succeeded" "$dead" "$work/rate" <<'PY'
import sys
start, end, ok, dead = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"== delivered {ok} events ({dead} dead) in {end-start:.2f}s: {ok/(end-start):.0f} deliveries/s ==")
open(sys.argv[5], "w").write(f"{ok/(end-start):.1f}")
PY
# The reference: nginx proxying to the same sink, one worker, keep-alive upstream.
stop_serve  # nothing else shares the cores
echo "== reference: nginx proxy_pass (1 worker, upstream keep-alive) to the same sink, wrk -t1 -c$MAX_IN_FLIGHT =="
nginx_reference "$MAX_IN_FLIGHT"
ratio "Callbridge drain" "$(cat "$work/rate")" "nginx" "$ref_rate"
