#!/usr/bin/env bash
# Measures ingest throughput with wrk, in one run:
#   1. POST /juspay/webhook on Callbridge (Basic auth, JSON parse, normalize,
#      SQLite commit with synchronous=FULL, group commit) — unique ids, so
#      every request stores a new event, its raw request and one delivery row
#      for an endpoint that is disabled during the run (sending does not
#      share the cores; scripts/bench-delivery.sh measures that);
#   2. POST /bare on a bare Hummingbird server (body read, fixed reply).
# Loopback only, bounded by DURATION. Usage: scripts/bench-ingest.sh [DURATION] [CONNECTIONS]
# Environment: THREADS (wrk threads, default 2).
DURATION="${1:-10s}"
CONNECTIONS="${2:-64}"
source "$(dirname "$0")/bench-common.sh"
cat > "$work/callbridge.yaml" <<YAML
listen: {host: 127.0.0.1, port: 18181}
storage: {sqlite: $work/callbridge.sqlite, synchronous: full}
handlers: $PWD/handlers
endpoints:
  - {name: sink, url: "http://127.0.0.1:18182/bare", secret: "\${SINK_SECRET}"}
YAML
export SINK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
.build/release/callbridge endpoints disable sink --reason "ingest only" --config "$work/callbridge.yaml" > /dev/null
.build/release/callbridge serve --config "$work/callbridge.yaml" --log-level warning > "$work/serve.log" 2>&1 &
.build/release/bare-hummingbird 18182 > "$work/bare.log" 2>&1 &
for _ in $(seq 1 100); do
  curl -s -o /dev/null localhost:18181/healthz && break
  sleep 0.1
done

THREADS="${THREADS:-2}"
echo "== Callbridge POST /juspay/webhook (store every event, synchronous=FULL), wrk -t$THREADS -c$CONNECTIONS =="
out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- bench); echo "$out"
ours=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
echo "== reference: bare Hummingbird POST /bare, same wrk =="
bare_reference "$THREADS" "$CONNECTIONS" "$DURATION"
ratio "Callbridge" "$ours" "bare Hummingbird" "$ref_rate"
echo "== events stored =="
.build/release/callbridge events list --config "$work/callbridge.yaml" --limit 10000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)), "events (listing capped at 10000)")'
