#!/usr/bin/env bash
# Measures ingest throughput with wrk, in one run:
#   1. POST /juspay/webhook on Callbridge (Basic auth, JSON parse, normalize,
#      SQLite commit with synchronous=FULL, group commit) — unique ids, so
#      every request stores a new event;
#   2. POST /bare on a bare Hummingbird server (body read, fixed reply).
# Loopback only, bounded by DURATION. Usage: scripts/bench-ingest.sh [DURATION] [CONNECTIONS]
DURATION="${1:-10s}"
CONNECTIONS="${2:-64}"
source "$(dirname "$0")/bench-common.sh"
cat > "$work/callbridge.yaml" <<YAML
listen: {host: 127.0.0.1, port: 18181}
storage: {sqlite: $work/callbridge.sqlite, synchronous: full}
handlers: $PWD/handlers
YAML
.build/release/callbridge serve --config "$work/callbridge.yaml" --log-level warning > "$work/serve.log" 2>&1 &
.build/release/bare-hummingbird 18182 > "$work/bare.log" 2>&1 &
for _ in $(seq 1 100); do
  curl -s -o /dev/null localhost:18181/healthz && break
  sleep 0.1
done
body='{"id":"evt_bench","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_1","txn_id":"txn_abc","status":"CHARGED","status_id":21,"amount":100.00,"currency":"USD","customer_email":"test@example.com"}}}'
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$body" > "$work/bare.lua"

echo "== Callbridge POST /juspay/webhook (store every event, synchronous=FULL) =="
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- bench
echo "== bare Hummingbird POST /bare =="
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/bare.lua" http://127.0.0.1:18182/bare
echo "== events stored =="
.build/release/callbridge events list --config "$work/callbridge.yaml" --limit 10000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)), "events (listing capped at 10000)")'
