#!/usr/bin/env bash
# Measures Callbridge on a PostgreSQL log, on a throw-away cluster with fsync
# on (scripts/postgres-cluster.sh), in one run:
#   1. ingest with ONE serve process: wrk -t2 -c64 POSTs unique signed Juspay
#      webhooks to it for SECONDS;
#   2. ingest with TWO serve processes on the same database: two wrk (-t1 -c32
#      each, one per process) in parallel for SECONDS; their Requests/sec summed;
#   3. delivery with TWO serve processes: the endpoint is disabled, a backlog
#      is ingested for SECONDS, the endpoint is enabled and the time until the
#      backlog is 0 is measured (as scripts/bench-delivery.sh does on SQLite).
# References in the same run, as on SQLite: a bare Hummingbird POST endpoint
# (wrk -t2 -c64) for ingest, nginx proxy_pass to the same sink for the drain.
# Each part gets a database of its own. Loopback only (ports 18181 and 18183
# for the servers, 18182 for the sink), bounded, and the servers and the
# cluster are stopped on exit, failure or Ctrl-C.
# Usage: scripts/bench-postgres.sh [SECONDS] [MAX_IN_FLIGHT]
DURATION="${1:-10}"
MAX_IN_FLIGHT="${2:-64}"
source "$(dirname "$0")/bench-common.sh"
if curl -s -o /dev/null localhost:18183/healthz; then
  echo "port 18183 is in use; stop the process holding it first" >&2
  exit 1
fi

servers=()
# SIGTERM to the servers (they release their leases), SIGKILL after 15 s.
stop_servers() {
  local pid alive
  [ ${#servers[@]} -gt 0 ] || return 0
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    alive=0
    for pid in "${servers[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${servers[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait "${servers[@]}" 2>/dev/null || true
  servers=()
}
# Under /tmp: the server runs as the postgres OS user when we are root.
pg_dir=$(mktemp -d /tmp/callbridge-bench-pg.XXXXXX)
# Replaces bench-common's trap (and does what it did); set before the cluster
# starts, so a half-started cluster is removed too.
cleanup() {
  stop_servers
  kill $(cat "$work/nginx/nginx.pid" 2>/dev/null) 2>/dev/null || true
  kill $(jobs -p) 2>/dev/null || true
  bash scripts/postgres-cluster.sh stop "$pg_dir" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting a throw-away PostgreSQL cluster (fsync on) =="
admin_url=$(CALLBRIDGE_PG_FSYNC=on bash scripts/postgres-cluster.sh start "$pg_dir")
pg_base=${admin_url%/postgres}
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$1" -c "$2"; }
sql "$admin_url" "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')"

# Writes DIR/NAME.yaml for database NAME (with the sink endpoint when $2 is "endpoint").
config() {
  sql "$admin_url" "CREATE DATABASE $1"
  cat > "$work/$1.yaml" <<YAML
listen: {host: 127.0.0.1, port: 18181}
storage: {postgres: "$pg_base/$1"}
handlers: $PWD/handlers
dispatch: {poll_interval: 100ms}
YAML
  if [ "${2:-}" = endpoint ]; then
    cat >> "$work/$1.yaml" <<YAML
endpoints:
  - name: sink
    url: http://127.0.0.1:18182/bare
    secret: \${SINK_SECRET}
    max_in_flight: $MAX_IN_FLIGHT
YAML
  fi
}
# serve CONFIG PORT: starts a server and waits until it answers.
serve() {
  .build/release/callbridge serve --config "$work/$1.yaml" --port "$2" --log-level warning > "$work/serve-$1-$2.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "localhost:$2/healthz" && return 0
    sleep 0.1
  done
  echo "callbridge serve on port $2 did not start:" >&2
  cat "$work/serve-$1-$2.log" >&2
  exit 1
}
events() { sql "$pg_base/$1" "SELECT count(*) FROM events"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# Lines of a wrk report worth keeping for a parallel run.
summary() { grep -E "requests in|Requests/sec|Non-2xx|Socket errors|Latency  " "$1" || true; }

echo
echo "== 1. ingest, ONE serve process on PostgreSQL (wrk -t2 -c64, ${DURATION}s) =="
config bench_one
serve bench_one 18181
wrk -t2 -c64 -d"${DURATION}s" --latency -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- pg1 | tee "$work/wrk-one.txt"
stop_servers
echo "events stored: $(events bench_one)"
.build/release/bare-hummingbird 18182 > "$work/bare.log" 2>&1 &
for _ in $(seq 1 50); do curl -s -o /dev/null -X POST localhost:18182/bare && break; sleep 0.1; done
echo "-- reference: bare Hummingbird POST, same wrk --"
bare_reference 2 64 "${DURATION}s" > "$work/ref.txt"; grep -E "Requests/sec|Latency  " "$work/ref.txt" || true
bare_rate=$ref_rate
ratio "one process on PostgreSQL" "$(rps "$work/wrk-one.txt")" "bare Hummingbird" "$bare_rate"

echo
echo "== 2. ingest, TWO serve processes on one database (two wrk -t1 -c32 in parallel, ${DURATION}s) =="
config bench_two
serve bench_two 18181
serve bench_two 18183
wrk -t1 -c32 -d"${DURATION}s" --latency -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- pg2a > "$work/wrk-a.txt" &
wrk_a=$!
wrk -t1 -c32 -d"${DURATION}s" --latency -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18183/juspay/webhook -- pg2b > "$work/wrk-b.txt" &
wrk_b=$!
wait "$wrk_a" "$wrk_b"
echo "-- process A (port 18181) --"; summary "$work/wrk-a.txt"
echo "-- process B (port 18183) --"; summary "$work/wrk-b.txt"
stop_servers
python3 - "$(rps "$work/wrk-a.txt")" "$(rps "$work/wrk-b.txt")" "$(events bench_two)" <<'PY'
import sys
a, b, stored = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"== two processes: {a:.0f} + {b:.0f} = {a+b:.0f} requests/s; {stored} events stored ==")
PY
ratio "two processes on PostgreSQL" "$(python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$(rps "$work/wrk-a.txt")" "$(rps "$work/wrk-b.txt")")" "bare Hummingbird" "$bare_rate"

echo
echo "== 3. delivery, TWO serve processes draining one backlog (max_in_flight $MAX_IN_FLIGHT each) =="
export SINK_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
config bench_drain endpoint
cb() { .build/release/callbridge "$@" --config "$work/bench_drain.yaml"; }
# Disabled before the servers start (this also migrates the new database),
# so no delivery goes out while the backlog builds.
cb endpoints disable sink --reason "building a backlog"
serve bench_drain 18181
serve bench_drain 18183
echo "ingesting for ${DURATION}s with the endpoint disabled (wrk -t1 -c16 to each process)"
wrk -t1 -c16 -d"${DURATION}s" -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18181/juspay/webhook -- pg3a > "$work/wrk-a.txt" &
wrk_a=$!
wrk -t1 -c16 -d"${DURATION}s" -s scripts/wrk-juspay-webhooks.lua http://127.0.0.1:18183/juspay/webhook -- pg3b > "$work/wrk-b.txt" &
wrk_b=$!
wait "$wrk_a" "$wrk_b"
summary "$work/wrk-a.txt" | grep -E "requests in|Non-2xx" || true
summary "$work/wrk-b.txt" | grep -E "requests in|Non-2xx" || true
backlog() { cb endpoints list --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["backlog"], r["succeeded"], r["dead"])'; }
read -r pending succeeded dead <<<"$(backlog)"
echo "backlog: $pending pending"
start=$(date +%s.%N)
cb endpoints enable sink >/dev/null
deadline=$(( $(date +%s) + 600 ))
while :; do
  read -r pending succeeded dead <<<"$(backlog)"
  [ "$pending" -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "the backlog did not drain within 600 s: $pending left" >&2
    exit 1
  fi
  sleep 0.2
done
end=$(date +%s.%N)
attempts() { curl -s "localhost:$1/metrics" | awk '/^callbridge_delivery_attempts_total\{/ {n += $NF} END {print n + 0}'; }
echo "delivery attempts: process A $(attempts 18181), process B $(attempts 18183)"
drain=$(python3 - "$start" "$end" "$succeeded" "$dead" <<'PY'
import sys
start, end, ok, dead = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{ok/(end-start):.1f}")
print(f"== delivered {ok} events ({dead} dead) in {end-start:.2f}s with two processes: {ok/(end-start):.0f} deliveries/s ==", file=sys.stderr)
PY
)
stop_servers
echo "-- reference: nginx proxy_pass (1 worker, upstream keep-alive) to the same sink, wrk -t1 -c$MAX_IN_FLIGHT --"
nginx_reference "$MAX_IN_FLIGHT" > "$work/ref.txt"; grep -E "Requests/sec|Latency  " "$work/ref.txt" || true
ratio "drain by two processes on PostgreSQL" "$drain" "nginx" "$ref_rate"
